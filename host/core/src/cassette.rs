//! Cassettes: what one run asked of its capabilities and what it was answered,
//! written by `vitals run --record DIR` and replayed by `vitals test`.
//!
//! A cassette is a pretty-printed JSON document: the run's input (check, cluster,
//! params, endpoints), the time it was recorded (replays see the wall clock start
//! there, so ages and expiries judge the same), its result, and every capability
//! call in order. Credentials never reach a plugin, so they are not in the calls;
//! every secret of the configuration is redacted from the whole file all the same.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::CheckResult;
use crate::secrets::Redactor;

/// The format version this host writes and reads.
pub const FORMAT: u32 = 1;

/// One recorded run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cassette {
    /// Format version ([`FORMAT`]).
    pub vitals_cassette: u32,
    /// The contract the host spoke, e.g. `vitals:check@0.4.0`.
    pub contract: String,
    /// When the run started (Unix seconds); a replay's wall clock starts here.
    pub recorded_at: f64,
    pub check: String,
    pub cluster: String,
    pub plugin: PluginRef,
    /// The check's `[params]`.
    pub params: serde_json::Map<String, Value>,
    pub endpoints: Vec<EndpointRef>,
    /// What the run reported (absent if it produced no report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RecordedResult>,
    pub calls: Vec<Call>,
}

/// What a run is asked: the check, the cluster, the check's params and the
/// granted endpoints (the plugin's `run-input`, as plain data).
#[derive(Debug, Clone)]
pub struct RunRef {
    pub check: String,
    pub cluster: String,
    pub params: serde_json::Map<String, Value>,
    pub endpoints: Vec<EndpointRef>,
}

/// The plugin a cassette was recorded with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    /// The component's file name.
    pub file: String,
}

/// A granted endpoint as the plugin saw it (no credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRef {
    pub name: String,
    pub kind: String,
    pub urls: Vec<String>,
}

/// The recorded outcome of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedResult {
    pub status: String,
    pub summary: String,
    #[serde(default)]
    pub findings: Vec<RecordedFinding>,
}

/// One finding of the recorded outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedFinding {
    pub subject: String,
    pub status: String,
    pub message: String,
}

/// One capability call: which (`kubernetes.list`, `http`, ...), with what, and
/// the answer: `{"ok": ...}` or `{"error": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub call: String,
    pub request: Value,
    pub answer: Value,
}

/// Why a cassette cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a vitals cassette: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: cassette format {found} is not supported (this host reads format {FORMAT})")]
    Format { path: String, found: u32 },
}

impl Cassette {
    /// The cassette of a finished run.
    pub fn of_run(
        plugin: PluginRef,
        run: RunRef,
        started_at: f64,
        result: &CheckResult,
        calls: Vec<Call>,
    ) -> Cassette {
        Cassette {
            vitals_cassette: FORMAT,
            contract: format!("{}@{}", crate::wit::PACKAGE, crate::wit::VERSION),
            recorded_at: started_at,
            check: run.check,
            cluster: run.cluster,
            plugin,
            params: run.params,
            endpoints: run.endpoints,
            result: result.failure.is_none().then(|| RecordedResult {
                status: result.status.as_str().into(),
                summary: result.summary.clone(),
                findings: result
                    .findings
                    .iter()
                    .map(|f| RecordedFinding {
                        subject: f.subject.clone(),
                        status: f.status.as_str().into(),
                        message: f.message.clone(),
                    })
                    .collect(),
            }),
            calls,
        }
    }

    /// Read and check a cassette file.
    pub fn load(path: &Path) -> Result<Cassette, CassetteError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CassetteError::Read {
            path: shown.clone(),
            source,
        })?;
        Cassette::parse(&text, shown)
    }

    /// Read and check a cassette's text (`shown` names it in errors).
    pub fn parse(text: &str, shown: String) -> Result<Cassette, CassetteError> {
        let cassette: Cassette = serde_json::from_str(text).map_err(|e| CassetteError::Parse {
            path: shown.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if cassette.vitals_cassette != FORMAT {
            return Err(CassetteError::Format {
                path: shown,
                found: cassette.vitals_cassette,
            });
        }
        Ok(cassette)
    }

    /// The cassette as text, with every secret `redactor` knows redacted (the
    /// answers were already; the report's text too, this makes sure).
    pub fn to_text(&self, redactor: &Redactor) -> String {
        let mut value = serde_json::to_value(self).expect("a cassette serialises");
        redactor.json(&mut value);
        let mut text = serde_json::to_string_pretty(&value).expect("a cassette serialises");
        text.push('\n');
        text
    }
}

/// Answers calls from a cassette's calls: each recorded call answers the first
/// equal request not yet answered; a request asked more often than recorded gets
/// the last recorded answer again. Requests the cassette lacks are noted.
pub struct Replayer {
    calls: Vec<(Call, bool)>,
    /// Requests the cassette has no answer for, described for a person.
    pub unexpected: Vec<String>,
}

impl Replayer {
    pub fn new(calls: Vec<Call>) -> Self {
        Replayer {
            calls: calls.into_iter().map(|c| (c, false)).collect(),
            unexpected: Vec::new(),
        }
    }

    /// The answer to a request, or `None` (noted as unexpected).
    pub fn answer(&mut self, call: &str, request: &Value) -> Option<Value> {
        let matches = |c: &Call| c.call == call && &c.request == request;
        if let Some((c, used)) = self.calls.iter_mut().find(|(c, used)| !*used && matches(c)) {
            *used = true;
            return Some(c.answer.clone());
        }
        if let Some((c, _)) = self.calls.iter().rev().find(|(c, _)| matches(c)) {
            return Some(c.answer.clone());
        }
        self.unexpected.push(format!("{call} {request}"));
        None
    }

    /// Recorded calls the replay never asked for.
    pub fn unused(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|(_, used)| !used)
            .map(|(c, _)| format!("{} {}", c.call, c.request))
            .collect()
    }
}

/// The file a run's cassette is written to: `DIR/<check>@<cluster>.json`, with
/// characters other than `[A-Za-z0-9._-]` replaced.
pub fn file_name(check: &str, cluster: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}@{}.json", clean(check), clean(cluster))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_text_redacts_secrets_and_their_json_escapes() {
        let redactor = crate::secrets::RedactorBuilder::default()
            .secret("s3cr\"et!")
            .secret("pw")
            .build();
        let call = |answer: Value| Call {
            call: "http".into(),
            request: serde_json::json!({}),
            answer,
        };
        let mut cassette: Cassette = serde_json::from_value(serde_json::json!({
            "vitals_cassette": FORMAT, "contract": "vitals:check@0.4.0", "recorded_at": 0.0,
            "plugin": {"name": "p", "version": "1", "file": "p.wasm"},
            "check": "c", "cluster": "k", "params": {}, "endpoints": [],
            "result": {"status": "ok", "summary": "token s3cr\"et!"}, "calls": []
        }))
        .unwrap_or_else(|e| panic!("a cassette: {e}"));
        cassette.calls = vec![call(serde_json::json!({"b": "pw", "c": "pwx"}))];
        let text = cassette.to_text(&redactor);
        assert!(!text.contains("s3cr"), "{text}");
        assert!(text.contains(r#""summary": "token <redacted>""#), "{text}");
        assert!(text.contains(r#""b": "<redacted>""#), "{text}");
        assert!(text.contains(r#""c": "pwx""#), "{text}");
    }

    fn call(path: &str, answer: &str) -> Call {
        Call {
            call: "kubernetes.get".into(),
            request: serde_json::json!({"endpoint": "k8s", "path": path}),
            answer: serde_json::json!({"ok": answer}),
        }
    }

    #[test]
    fn replay_answers_in_order_then_repeats_the_last() {
        let mut r = Replayer::new(vec![call("/a", "1"), call("/b", "x"), call("/a", "2")]);
        let a = serde_json::json!({"endpoint": "k8s", "path": "/a"});
        assert_eq!(
            r.answer("kubernetes.get", &a),
            Some(serde_json::json!({"ok": "1"}))
        );
        assert_eq!(
            r.answer("kubernetes.get", &a),
            Some(serde_json::json!({"ok": "2"}))
        );
        assert_eq!(
            r.answer("kubernetes.get", &a),
            Some(serde_json::json!({"ok": "2"}))
        );
        assert_eq!(r.unused().len(), 1);
        let c = serde_json::json!({"endpoint": "k8s", "path": "/c"});
        assert_eq!(r.answer("kubernetes.get", &c), None);
        assert_eq!(r.answer("kubernetes.list", &a), None);
        assert_eq!(r.unexpected.len(), 2);
        assert!(r.unexpected[0].contains("/c"), "{:?}", r.unexpected);
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("etcd", "prod/eu 1"), "etcd@prod_eu_1.json");
    }
}
