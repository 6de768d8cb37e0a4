//! A small blocking HTTP client over `wasi:http/outgoing-handler`, with fan-out:
//! [`start`] sends a request and returns at once, so that a check asks every member
//! together and waits about one round trip ([`get_all`], [`Pending`]).
//!
//! The host only lets requests through to endpoints the check was granted, and
//! applies their TLS material and credentials itself; a plugin just names the URL.

use std::fmt;
use std::time::Duration;

use crate::bindings::wasi::http::types::ErrorCode;
pub use crate::bindings::wasi::http::types::Method;

// The plugin's requests go through the host (`wasi:http`); natively, with the
// `native` feature, through a plain HTTP client, so that a plugin's whole `run`
// can be measured or debugged as a native program.
#[cfg(not(all(feature = "native", not(target_family = "wasm"))))]
#[path = "http/wasi.rs"]
mod backend;
#[cfg(all(feature = "native", not(target_family = "wasm")))]
#[path = "http/native.rs"]
mod backend;

/// Largest response body read into memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A response: status code and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError {
            kind: ErrorKind::Protocol,
            message: format!("invalid JSON in response (HTTP {}): {e}", self.status),
        })
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Broad classes of failure a check reacts to differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host refused the destination: it is not a granted endpoint.
    Denied,
    /// Connection refused, timed out, DNS failure, connection reset: the target is down.
    Unreachable,
    /// TLS handshake or certificate failure: a configuration problem, not an outage.
    Tls,
    /// Malformed URL, bad answer, body too large, other protocol problems.
    Protocol,
}

/// A failed request.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        HttpError {
            kind: ErrorKind::Protocol,
            message: message.into(),
        }
    }
}

impl From<&ErrorCode> for HttpError {
    fn from(code: &ErrorCode) -> Self {
        let (kind, message) = classify(code);
        HttpError { kind, message }
    }
}

fn classify(code: &ErrorCode) -> (ErrorKind, String) {
    use ErrorCode as E;
    let kind = match code {
        E::HttpRequestDenied => ErrorKind::Denied,
        E::DnsTimeout
        | E::DnsError(_)
        | E::DestinationNotFound
        | E::DestinationUnavailable
        | E::DestinationIpProhibited
        | E::DestinationIpUnroutable
        | E::ConnectionRefused
        | E::ConnectionTerminated
        | E::ConnectionTimeout
        | E::ConnectionReadTimeout
        | E::ConnectionWriteTimeout
        | E::ConnectionLimitReached
        | E::HttpResponseTimeout
        | E::HttpResponseIncomplete => ErrorKind::Unreachable,
        E::TlsProtocolError | E::TlsCertificateError | E::TlsAlertReceived(_) => ErrorKind::Tls,
        _ => ErrorKind::Protocol,
    };
    let message = match code {
        E::HttpRequestDenied => "request denied by the host: destination is not a granted endpoint".into(),
        E::ConnectionRefused => "connection refused".into(),
        E::ConnectionTimeout => "connection timed out".into(),
        E::ConnectionReadTimeout | E::HttpResponseTimeout => "timed out waiting for the response".into(),
        E::ConnectionTerminated => "connection closed by the peer".into(),
        E::DnsError(p) => format!("DNS error: {}", p.rcode.clone().unwrap_or_default()),
        E::TlsCertificateError => {
            "TLS certificate verification failed (the server's certificate is not trusted by the endpoint's CA)".into()
        }
        E::TlsAlertReceived(p) => format!(
            "TLS alert from the server: {} (client certificate rejected?)",
            p.alert_message.clone().unwrap_or_else(|| "unspecified".into())
        ),
        E::TlsProtocolError => "TLS handshake failed".into(),
        E::InternalError(Some(m)) => m.clone(),
        other => format!("{other:?}"),
    };
    (kind, message)
}

/// Options for a request.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Connect timeout, and also first-byte and between-bytes timeouts.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
        }
    }
}

/// `GET url`.
pub fn get(url: &str, opts: Options) -> Result<Response, HttpError> {
    request(Method::Get, url, None, opts)
}

/// `POST url` with a JSON body.
pub fn post_json(
    url: &str,
    body: &serde_json::Value,
    opts: Options,
) -> Result<Response, HttpError> {
    let body = serde_json::to_vec(body).expect("JSON values serialise");
    request(Method::Post, url, Some(&body), opts)
}

/// Send one request and read the whole response.
pub fn request(
    method: Method,
    url: &str,
    body: Option<&[u8]>,
    opts: Options,
) -> Result<Response, HttpError> {
    start(method, url, body, opts)?.wait()
}

/// `GET url`, in flight until [`Pending::wait`].
pub fn start_get(url: &str, opts: Options) -> Result<Pending, HttpError> {
    start(Method::Get, url, None, opts)
}

/// `POST url` with a JSON body, in flight until [`Pending::wait`].
pub fn start_post_json(
    url: &str,
    body: &serde_json::Value,
    opts: Options,
) -> Result<Pending, HttpError> {
    let body = serde_json::to_vec(body).expect("JSON values serialise");
    start(Method::Post, url, Some(&body), opts)
}

/// `GET` every URL at once: the answers in the same order, after about the
/// slowest one's time rather than the sum of all.
pub fn get_all(urls: &[&str], opts: Options) -> Vec<Result<Response, HttpError>> {
    wait_all(urls.iter().map(|u| start_get(u, opts)).collect())
}

/// Wait for every request started (see [`Pending`]) and read every response,
/// taking whichever answer or body bytes arrive first: the answers in the same
/// order, after about the slowest one's time. Better than [`Pending::wait`] on
/// each in turn when bodies are large: the host reads a body only as the plugin
/// does. A request that failed to start gives its error back.
pub fn wait_all(pending: Vec<Result<Pending, HttpError>>) -> Vec<Result<Response, HttpError>> {
    let mut answers: Vec<Option<Result<Response, HttpError>>> = Vec::with_capacity(pending.len());
    let mut in_flight = Vec::new();
    for p in pending {
        match p {
            Ok(p) => {
                in_flight.push(p.in_flight);
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(e))),
        }
    }
    let mut waited = backend::wait_all(in_flight).into_iter();
    answers
        .into_iter()
        .map(|a| {
            a.or_else(|| waited.next())
                .unwrap_or_else(|| Err(HttpError::protocol("no answer")))
        })
        .collect()
}

/// A request in flight. Requests started one after another are sent at once
/// (the host sends each as it starts); [`Pending::wait`] reads one's response.
/// Fan out by starting every request first and then [`wait_all`].
pub struct Pending {
    in_flight: backend::InFlight,
}

/// Start a request without waiting for its answer (see [`Pending`]).
pub fn start(
    method: Method,
    url: &str,
    body: Option<&[u8]>,
    opts: Options,
) -> Result<Pending, HttpError> {
    backend::start(method, url, body, opts).map(|in_flight| Pending { in_flight })
}

impl Pending {
    /// Wait for the response and read its whole body.
    pub fn wait(self) -> Result<Response, HttpError> {
        backend::wait(self.in_flight)
    }
}
