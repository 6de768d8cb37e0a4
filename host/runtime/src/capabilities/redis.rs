//! Capability `vitals:check/redis`: read-only Redis commands against the granted
//! `redis` endpoints, with the endpoint's credentials applied by the host and one
//! connection per URL for the run, shared by the commands of a batch to that URL
//! (pipelined on it).

use std::collections::HashMap;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, IntoConnectionInfo, Value};

use super::{
    Capability, Connections, Returned, RunGrants, all_at_once, is_tls_error, no_grants_of_its_own,
    tape_and_linker,
};
use crate::contract::vitals::check::redis::{self as wit, Error, Host};
use crate::tape::{self, Tape};
use vitals_core::allow;
use vitals_core::config::{Auth, Endpoint, EndpointKind};

/// Largest reply handed to a plugin, as JSON.
const MAX_REPLY: usize = 4 << 20;
/// The redis endpoints of a run and its open connections.
#[derive(Default)]
pub struct RedisGate {
    connections: Connections<MultiplexedConnection>,
    tape: Tape,
}

/// A URL's connection as the commands of one batch share it: the one kept from
/// earlier calls, or opened once by whichever of them goes first.
type Opening = Shared<BoxFuture<'static, Result<MultiplexedConnection, Error>>>;

impl RedisGate {
    /// The live call of one command: its URL's connection taken out of the gate
    /// now (or shared with the batch's earlier commands to the URL, in
    /// `opening`), the command sent when awaited, the connection handed back
    /// unless it broke.
    fn live(
        &mut self,
        opening: &mut HashMap<String, Opening>,
        endpoint: &str,
        url: &str,
        args: Vec<String>,
    ) -> impl Future<Output = Returned<Result<String, Error>, MultiplexedConnection>> + use<> {
        let to = allow::redis_command(&args)
            .and_then(|()| self.connections.take(endpoint, url))
            .map(|to| {
                let opened = opening.entry(to.key.clone()).or_insert_with(|| {
                    let (open, endpoint, uri) = (to.open, to.endpoint, to.uri);
                    async move {
                        match open {
                            Some(c) => Ok(c),
                            None => connect(&endpoint, &uri).await,
                        }
                    }
                    .boxed()
                    .shared()
                });
                (to.key, opened.clone())
            });
        async move {
            let (key, opened) = match to {
                Ok(to) => to,
                Err(e) => return (Err(Error::Denied(e)), None),
            };
            let mut conn = match opened.await {
                Ok(c) => c,
                Err(e) => return (Err(e), None),
            };
            let mut cmd = redis::cmd(&args[0]);
            cmd.arg(&args[1..]);
            let reply: Result<Value, _> = cmd.query_async(&mut conn).await;
            // A dropped or timed-out connection is opened anew by the next command.
            let keep = !reply
                .as_ref()
                .is_err_and(|e| e.is_connection_dropped() || e.is_timeout());
            let back = keep.then_some((key, conn));
            (
                reply.map_err(|e| classify(&e, false)).and_then(reply_json),
                back,
            )
        }
    }
}

/// A reply as the plugin receives it, unless it is too large.
fn reply_json(reply: Value) -> Result<String, Error> {
    let json = to_json(reply).to_string();
    if json.len() > MAX_REPLY {
        return Err(Error::Denied(format!(
            "reply of {} bytes is larger than the {MAX_REPLY} bytes a plugin may receive",
            json.len()
        )));
    }
    Ok(json)
}

async fn connect(ep: &Endpoint, uri: &http::Uri) -> Result<MultiplexedConnection, Error> {
    let host = uri.host().unwrap_or("localhost");
    let port = uri.port_u16().unwrap_or(6379);
    let scheme = uri.scheme_str().unwrap_or("redis");
    let info = format!("{scheme}://{host}:{port}")
        .into_connection_info()
        .map_err(|e| Error::Unreachable(format!("{uri}: {e}")))?;
    let mut settings = info.redis_settings().clone().set_skip_set_lib_name();
    match &ep.auth {
        Some(Auth::Password(p)) => settings = settings.set_password(p.expose()),
        Some(Auth::Basic { username, password }) => {
            settings = settings
                .set_username(username)
                .set_password(password.expose())
        }
        _ => {}
    }
    let info = info.set_redis_settings(settings);
    let client = match (scheme, &ep.tls) {
        ("rediss", tls) => {
            // The redis client builds its rustls configuration with the process's
            // default provider: make it ring, as for the rest of the host.
            let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
            let pem = tls.as_ref().map(|t| t.pem.clone()).unwrap_or_default();
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: pem.client.map(|(client_cert, client_key)| {
                        redis::ClientTlsConfig {
                            client_cert,
                            client_key,
                        }
                    }),
                    root_cert: pem.ca,
                },
            )
        }
        _ => redis::Client::open(info),
    }
    .map_err(|e| Error::Tls(format!("{uri}: {e}")))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(ep.connect_timeout))
        .set_response_timeout(Some(ep.query_timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| classify(&e, true))
}

/// Map a client error to the capability's error.
fn classify(e: &redis::RedisError, connecting: bool) -> Error {
    use redis::ErrorKind;
    let message = e.to_string();
    let code = e.code().unwrap_or("");
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(code, "NOAUTH" | "WRONGPASS" | "NOPERM")
        || message.contains("WRONGPASS")
    {
        return Error::Auth(message);
    }
    if is_tls_error(&message) {
        return Error::Tls(message);
    }
    if e.is_timeout() {
        return if connecting {
            Error::Unreachable(format!("connect timed out: {message}"))
        } else {
            Error::Timeout(message)
        };
    }
    if connecting || e.is_connection_refusal() || e.is_connection_dropped() {
        return Error::Unreachable(message);
    }
    Error::Server(message)
}

/// A reply as JSON (see the WIT documentation of `command`).
fn to_json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Int(i) => J::from(i),
        Value::BulkString(b) => J::String(String::from_utf8_lossy(&b).into_owned()),
        Value::SimpleString(s) => J::String(s),
        Value::Okay => J::String("OK".into()),
        Value::Array(items) | Value::Set(items) => {
            J::Array(items.into_iter().map(to_json).collect())
        }
        Value::Push { data, .. } => J::Array(data.into_iter().map(to_json).collect()),
        Value::Map(pairs) => J::Object(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Attribute { data, .. } => to_json(*data),
        Value::Double(d) => serde_json::Number::from_f64(d).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::Bool(b),
        Value::VerbatimString { text, .. } => J::String(text),
        Value::BigNumber(n) => J::String(String::from_utf8_lossy(&n).into_owned()),
        Value::ServerError(e) => serde_json::json!({"error": e.to_string()}),
        _ => J::Null,
    }
}

impl Capability for RedisGate {
    const NAME: &'static str = "redis";

    fn gate(run: &RunGrants<'_>) -> Self {
        RedisGate {
            connections: Connections::new(run.endpoints, EndpointKind::Redis),
            tape: Tape::default(),
        }
    }

    tape_and_linker!();

    no_grants_of_its_own!();
}

impl Host for RedisGate {
    async fn command(
        &mut self,
        endpoint: String,
        url: String,
        args: Vec<String>,
    ) -> Result<String, Error> {
        let request = wit::Request {
            endpoint,
            url,
            args,
        };
        let mut answers = self.command_all(vec![request]).await;
        answers.pop().expect("one answer per request")
    }

    async fn command_all(&mut self, requests: Vec<wit::Request>) -> Vec<Result<String, Error>> {
        let mut opening = HashMap::new();
        let calls = requests
            .into_iter()
            .map(|r| {
                let request =
                    serde_json::json!({"endpoint": r.endpoint, "url": r.url, "args": r.args});
                (
                    request,
                    self.live(&mut opening, &r.endpoint, &r.url, r.args),
                )
            })
            .collect();
        all_at_once(&self.tape, &mut self.connections, "redis.command", calls).await
    }
}

tape::answer!(String, Error, tape::json_text, tape::text_json);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_json() {
        let v = Value::Array(vec![
            Value::BulkString(b"name".to_vec()),
            Value::Int(3),
            Value::Nil,
            Value::Map(vec![(
                Value::SimpleString("a".into()),
                Value::Boolean(true),
            )]),
        ]);
        assert_eq!(to_json(v).to_string(), r#"["name",3,null,{"a":true}]"#);
    }
}
