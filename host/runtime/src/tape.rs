//! The tape between a plugin and the live systems: every capability call goes
//! through it. Live, it only passes calls on; recording, it also notes each call
//! and its answer for the run's cassette; replaying, it answers from a cassette
//! and never touches the network.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use vitals_core::cassette::Call;
pub use vitals_core::cassette::Replayer;
use vitals_core::secrets::Redactor;

/// How a run's capability calls are served, and the secrets redacted from every
/// live answer before the plugin (or a cassette) sees it.
#[derive(Clone, Default)]
pub struct Tape {
    mode: Mode,
    redactor: Redactor,
}

#[derive(Clone, Default)]
enum Mode {
    /// Calls go to the live systems.
    #[default]
    Live,
    /// Calls go to the live systems and are noted.
    Record(Arc<Mutex<Vec<Call>>>),
    /// Calls are answered from a cassette.
    Replay(Arc<Mutex<Replayer>>),
}

/// How one capability's answers are written to and read from a cassette.
pub trait Answer: Sized {
    /// The answer as the cassette stores it.
    fn to_tape(&self) -> Value;
    /// Back from the cassette.
    fn from_tape(v: Value) -> Result<Self, String>;
    /// The answer for a call the cassette lacks (a `denied` error).
    fn not_recorded(message: String) -> Self;
}

/// `{"ok": value}` or `{"error": error}` for a `result` whose error is a WIT
/// variant (serialised as `{"Variant": payload}`).
pub fn encode<T, E: Serialize>(r: &Result<T, E>, ok: impl Fn(&T) -> Value) -> Value {
    match r {
        Ok(v) => json!({ "ok": ok(v) }),
        Err(e) => json!({ "error": serde_json::to_value(e).unwrap_or(Value::Null) }),
    }
}

/// The inverse of [`encode`].
pub fn decode<T, E: DeserializeOwned>(
    v: Value,
    ok: impl Fn(Value) -> Result<T, String>,
) -> Result<Result<T, E>, String> {
    let Value::Object(mut m) = v else {
        return Err("an answer is {\"ok\": ...} or {\"error\": ...}".into());
    };
    if let Some(v) = m.remove("ok") {
        return ok(v).map(Ok);
    }
    if let Some(e) = m.remove("error") {
        return serde_json::from_value(e)
            .map(Err)
            .map_err(|e| format!("bad error: {e}"));
    }
    Err("an answer is {\"ok\": ...} or {\"error\": ...}".into())
}

/// Answers that are JSON text (Kubernetes objects, Redis replies) are stored as
/// JSON, readable in the cassette; text that is not JSON as `{"$text": ...}`.
pub fn json_text(s: &String) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!({ "$text": s }))
}

/// The inverse of [`json_text`].
pub fn text_json(v: Value) -> Result<String, String> {
    if let Some(Value::String(s)) = v.get("$text")
        && v.as_object().is_some_and(|m| m.len() == 1)
    {
        return Ok(s.clone());
    }
    Ok(v.to_string())
}

/// Any serde value, as is.
pub fn plain<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The inverse of [`plain`].
pub fn unplain<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Implement [`Answer`] for `Result<$ok, $err>` of a capability whose error
/// variant has `Denied(String)`: `$enc`/`$dec` store the ok value.
macro_rules! answer {
    ($ok:ty, $err:ty, $enc:path, $dec:path) => {
        impl $crate::tape::Answer for Result<$ok, $err> {
            fn to_tape(&self) -> serde_json::Value {
                $crate::tape::encode(self, $enc)
            }
            fn from_tape(v: serde_json::Value) -> Result<Self, String> {
                $crate::tape::decode(v, $dec)
            }
            fn not_recorded(message: String) -> Self {
                Err(<$err>::Denied(message))
            }
        }
    };
}
pub(crate) use answer;

impl Tape {
    /// Calls go to the live systems; `redactor` cleans their answers.
    pub fn live(redactor: Redactor) -> Tape {
        Tape {
            mode: Mode::Live,
            redactor,
        }
    }

    /// Calls go to the live systems and are noted in `calls`, redacted.
    pub fn record(calls: Arc<Mutex<Vec<Call>>>, redactor: Redactor) -> Tape {
        Tape {
            mode: Mode::Record(calls),
            redactor,
        }
    }

    /// Calls are answered from a cassette (recorded redacted).
    pub fn replay(replayer: Arc<Mutex<Replayer>>) -> Tape {
        Tape {
            mode: Mode::Replay(replayer),
            redactor: Redactor::default(),
        }
    }

    /// The secrets redacted from live answers.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Serve one call: from the cassette when replaying, else by `live` with the
    /// secrets redacted from its answer (noting it when recording).
    pub async fn call<A: Answer>(
        &self,
        call: &str,
        request: Value,
        live: impl Future<Output = A>,
    ) -> A {
        match &self.mode {
            Mode::Live => self.redacted(live.await).0,
            Mode::Record(calls) => {
                let (answer, tape) = self.redacted(live.await);
                calls.lock().expect("tape lock").push(Call {
                    call: call.into(),
                    request,
                    answer: tape.unwrap_or_else(|| answer.to_tape()),
                });
                answer
            }
            Mode::Replay(replayer) => {
                let recorded = replayer.lock().expect("tape lock").answer(call, &request);
                match recorded {
                    Some(v) => A::from_tape(v).unwrap_or_else(|e| {
                        A::not_recorded(format!(
                            "cassette answer to {call} {request} is unreadable: {e}"
                        ))
                    }),
                    None => A::not_recorded(format!("not in the cassette: {call} {request}")),
                }
            }
        }
    }

    /// A live answer with the secrets redacted (through its cassette form, which
    /// every capability has), and that form when it had any.
    fn redacted<A: Answer>(&self, answer: A) -> (A, Option<Value>) {
        if self.redactor.is_empty() {
            return (answer, None);
        }
        let mut v = answer.to_tape();
        // The payload only: `ok`, `error` and the error's variant stay as they are.
        let changed = match &mut v {
            Value::Object(m) => {
                let ok = m.get_mut("ok").is_some_and(|ok| self.redactor.json(ok));
                let error = match m.get_mut("error") {
                    Some(Value::Object(e)) => e
                        .values_mut()
                        .fold(false, |changed, x| self.redactor.json(x) | changed),
                    Some(e) => self.redactor.json(e),
                    None => false,
                };
                ok | error
            }
            other => self.redactor.json(other),
        };
        if !changed {
            return (answer, Some(v));
        }
        let redacted = A::from_tape(v.clone())
            .unwrap_or_else(|e| A::not_recorded(format!("answer with a secret redacted: {e}")));
        (redacted, Some(v))
    }

    /// Note a call answered outside [`Tape::call`] (HTTP, whose answer is built
    /// from a streamed body).
    pub fn note(&self, call: Call) {
        if let Mode::Record(calls) = &self.mode {
            calls.lock().expect("tape lock").push(call);
        }
    }

    /// The recorded answer to a request, when replaying; `None` when it is not in
    /// the cassette (noted as unexpected).
    pub fn recorded(&self, call: &str, request: &Value) -> Option<Value> {
        match &self.mode {
            Mode::Replay(r) => r.lock().expect("tape lock").answer(call, request),
            _ => None,
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.mode, Mode::Replay(_))
    }

    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every capability's live answer passes `Tape::call`: its secrets are
    /// redacted before the plugin gets it, and before it is recorded; the
    /// answer's envelope (`ok`, `error`, the error's variant) is left alone.
    #[tokio::test]
    async fn live_answers_are_redacted_before_the_plugin_or_the_cassette_sees_them() {
        use crate::contract::vitals::check::{redis, sql};
        let redactor = vitals_core::secrets::RedactorBuilder::default()
            .secret("hunter2-redis")
            .secret("ok")
            .build();
        let request = json!({"endpoint": "cache"});
        let reply =
            || async { Ok::<_, redis::Error>(r#"["requirepass","hunter2-redis"]"#.to_string()) };
        let live = Tape::live(redactor.clone());
        let answer = live.call("redis.command", request.clone(), reply()).await;
        assert_eq!(answer.unwrap(), r#"["requirepass","<redacted>"]"#);

        let calls = Arc::new(Mutex::new(Vec::new()));
        let recording = Tape::record(calls.clone(), redactor.clone());
        let failed = || async {
            Err::<sql::Rows, _>(sql::Error::Denied("login hunter2-redis refused".into()))
        };
        let answer = recording.call("sql.query", request.clone(), failed()).await;
        let Err(sql::Error::Denied(message)) = answer else {
            panic!("the error variant stays: {answer:?}")
        };
        assert_eq!(message, "login <redacted> refused");
        let recorded = calls.lock().unwrap()[0].answer.to_string();
        assert!(!recorded.contains("hunter2"), "{recorded}");
        assert!(recorded.contains("Denied"), "{recorded}");
        let answer = recording.call("redis.command", request, reply()).await;
        assert!(
            answer.is_ok(),
            "a short secret equal to `ok` leaves the envelope alone"
        );
    }

    #[test]
    fn json_text_round_trips() {
        for s in [r#"{"a":[1,2]}"#, "not json", r#""quoted""#, "3"] {
            assert_eq!(text_json(json_text(&s.to_string())).unwrap(), s);
        }
    }
}
