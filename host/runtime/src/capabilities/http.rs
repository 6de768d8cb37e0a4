//! Capability `wasi:http/outgoing-handler`, filtered: the [`HttpGate`] lets a
//! request through only to a granted endpoint (matched by the URL's authority),
//! connects with that endpoint's scheme, TLS material and credentials, and refuses
//! everything else with `HTTP-request-denied`. Connections are kept alive for the
//! run (hyper-util's pool, one per authority), so a check's later requests to a
//! member skip the TCP and TLS handshakes; a TLS server that offers HTTP/2 (ALPN)
//! gets one connection for all the run's requests to it, at once or not.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, HeaderValue, IF_RANGE, RANGE,
};
use http::uri::Scheme;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, TlsAlertReceivedPayload};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use wasmtime::component::Linker;

use super::protocols::Protocols;
use super::{Capability, Granted, RunGrants, StoreView, no_grants_of_its_own};
use crate::tape::Tape;
use vitals_core::cassette::Call;
use vitals_core::config::{Auth, Endpoint, EndpointKind};
use vitals_core::secrets::{Redactor, StreamRedactor};

/// Longest the host waits for a response's first byte, whatever the plugin asks.
const MAX_FIRST_BYTE: Duration = Duration::from_secs(60);

/// The granted HTTP endpoints of one run and its open connections.
pub struct HttpGate {
    endpoints: Arc<[Arc<Endpoint>]>,
    /// The run's connections, kept alive between requests (from the first).
    clients: Option<Clients>,
    /// Records or replays the requests (see [`crate::tape`]).
    pub tape: Tape,
}

impl Default for HttpGate {
    fn default() -> Self {
        HttpGate::new(Vec::new())
    }
}

impl HttpGate {
    pub fn new(endpoints: Vec<Arc<Endpoint>>) -> Self {
        HttpGate {
            endpoints: endpoints.into(),
            clients: None,
            tape: Tape::default(),
        }
    }

    /// The run's pools of connections, made at its first request.
    fn clients(&mut self) -> Clients {
        let endpoints = &self.endpoints;
        self.clients
            .get_or_insert_with(|| {
                let connector = Connector {
                    endpoints: endpoints.clone(),
                    protocols: Arc::default(),
                };
                let mut builder = Client::builder(TokioExecutor::new());
                // Idle connections end with the run (the gate is dropped), or earlier.
                builder
                    .pool_idle_timeout(Duration::from_secs(30))
                    .pool_timer(hyper_util::rt::TokioTimer::new());
                Clients {
                    h1: builder.build(connector.clone()),
                    h2: builder.http2_only(true).build(connector.clone()),
                    protocols: connector.protocols,
                }
            })
            .clone()
    }

    /// The granted endpoint whose URLs include this authority, with the scheme to use.
    fn route(&self, uri: &http::Uri) -> Option<(Arc<Endpoint>, bool, String)> {
        route(&self.endpoints, uri)
    }
}

/// The granted endpoint among `endpoints` whose URLs include the URI's authority,
/// whether to use TLS (the endpoint's scheme decides), and `host:port`.
fn route(endpoints: &[Arc<Endpoint>], uri: &http::Uri) -> Option<(Arc<Endpoint>, bool, String)> {
    let authority = uri.authority()?;
    for ep in endpoints {
        for u in &ep.urls {
            let tls = u.scheme() == Some(&Scheme::HTTPS);
            let Some(ua) = u.authority() else { continue };
            let port = |a: &http::uri::Authority, tls: bool| {
                a.port_u16().unwrap_or(if tls { 443 } else { 80 })
            };
            let req_tls = uri.scheme() == Some(&Scheme::HTTPS);
            if ua.host().eq_ignore_ascii_case(authority.host())
                && port(ua, tls) == port(authority, req_tls)
            {
                return Some((ep.clone(), tls, format!("{}:{}", ua.host(), port(ua, tls))));
            }
        }
    }
    None
}

/// The I/O that keeps a connection going while the plugin reads the body.
type Driver = Box<dyn Future<Output = Result<(), Error>> + Send>;
/// A response, or why there is none.
type Sent = Result<(http::Response<WasiBody>, Driver), Error>;
type SendFuture = Box<dyn Future<Output = Sent> + Send>;

/// A run's two pools: HTTP/1.1 (plain `http`, and TLS servers without HTTP/2),
/// and HTTP/2, one connection per authority (see [`Protocols`]).
#[derive(Clone)]
struct Clients {
    h1: Client<Connector, WasiBody>,
    h2: Client<Connector, WasiBody>,
    protocols: Arc<Protocols<Stream, ConnectError>>,
}

impl Capability for HttpGate {
    const NAME: &'static str = "http";

    fn gate(run: &RunGrants<'_>) -> Self {
        HttpGate::new(
            Granted::new(run.endpoints, EndpointKind::Http)
                .all()
                .to_vec(),
        )
    }

    fn set_tape(&mut self, tape: Tape) {
        self.tape = tape;
    }

    /// `wasi:http/outgoing-handler`, whose hooks (the store's `WasiHttpView`)
    /// are this gate.
    fn add_to_linker<T: StoreView>(
        linker: &mut Linker<T>,
        _get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
    }

    no_grants_of_its_own!();
}

impl WasiHttpHooks for HttpGate {
    fn forbidden_header_filter(&mut self) -> wasmtime_wasi_http::ForbiddenHeaderFilter {
        // The host owns authentication: a plugin cannot set its own credentials.
        Arc::new(|name| {
            *name == AUTHORIZATION || wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Driver,
    ) -> SendFuture {
        let route = self.route(request.uri());
        let tape = self.tape.clone();
        let clients = self.clients();
        Box::new(async move {
            let live = |request: http::Request<WasiBody>| async move {
                let Some(route) = route else {
                    tracing::warn!(uri = %request.uri(), "plugin request denied: not a granted endpoint");
                    return Err(Error::HttpRequestDenied);
                };
                send(&clients, route, request, options).await
            };
            if tape.is_live() {
                let redactor = tape.redactor().clone();
                live(request)
                    .await
                    .map(|(response, io)| (redacted(response, &redactor), io))
            } else {
                taped(&tape, request, live).await
            }
        })
    }

    fn p2_error_from_tls(&mut self, err: &std::io::Error) -> ErrorCode {
        tracing::warn!("TLS error: {err}");
        tls_error_code(err)
    }
}

/// Record or replay one request. Both read the request body first; recording
/// also reads the whole response body before the plugin sees it.
async fn taped<F, Fut>(tape: &Tape, request: http::Request<WasiBody>, live: F) -> Sent
where
    F: FnOnce(http::Request<WasiBody>) -> Fut,
    Fut: Future<Output = Sent>,
{
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut described = json!({"method": parts.method.as_str(), "url": parts.uri.to_string()});
    if !body.is_empty() {
        described["body"] = body_to_tape(&body);
    }
    if tape.is_replay() {
        let Some(answer) = tape.recorded("http", &described) else {
            return Err(Error::HttpRequestDenied);
        };
        return replayed(answer).unwrap_or_else(|e| {
            tracing::warn!("cassette answer to {described} is unreadable: {e}");
            Err(Error::HttpResponseIncomplete)
        });
    }
    let request = http::Request::from_parts(parts, full(body));
    let (answer, sent) = match live(request).await {
        Ok((response, io)) => {
            let (parts, body) = response.into_parts();
            let mut io = Box::into_pin(io);
            let mut collect = pin!(body.collect());
            let collected = tokio::select! {
                b = &mut collect => b,
                _ = &mut io => (&mut collect).await,
            };
            match collected {
                Ok(c) => {
                    let redactor = tape.redactor();
                    let body = Bytes::from(redactor.bytes(&c.to_bytes()).into_owned());
                    let mut parts = redacted_headers(parts, redactor);
                    if parts.headers.contains_key(CONTENT_LENGTH) {
                        parts
                            .headers
                            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                    }
                    let mut headers = serde_json::Map::new();
                    for (name, value) in &parts.headers {
                        if name != http::header::SET_COOKIE {
                            headers.insert(
                                name.to_string(),
                                String::from_utf8_lossy(value.as_bytes()).into(),
                            );
                        }
                    }
                    let answer = json!({"ok": {
                        "status": parts.status.as_u16(),
                        "headers": headers,
                        "body": body_to_tape(&body),
                    }});
                    let done: Driver = Box::new(async { Ok(()) });
                    (
                        answer,
                        Ok((http::Response::from_parts(parts, full(body)), done)),
                    )
                }
                Err(e) => (error_to_tape(&e), Err(e)),
            }
        }
        Err(e) => (error_to_tape(&e), Err(e)),
    };
    tape.note(Call {
        call: "http".into(),
        request: described,
        answer,
    });
    sent
}

/// A live response with every secret redacted from its headers and, as it
/// streams, its body.
fn redacted(response: http::Response<WasiBody>, redactor: &Redactor) -> http::Response<WasiBody> {
    if redactor.is_empty() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Redaction changes the length.
    parts.headers.remove(CONTENT_LENGTH);
    let body = RedactedBody {
        inner: body,
        redactor: redactor.stream(),
        trailers: None,
        ended: false,
    };
    http::Response::from_parts(redacted_headers(parts, redactor), body.boxed_unsync())
}

/// Response headers with every secret redacted from their values.
fn redacted_headers(
    mut parts: http::response::Parts,
    redactor: &Redactor,
) -> http::response::Parts {
    for value in parts.headers.values_mut() {
        if let std::borrow::Cow::Owned(clean) = redactor.bytes(value.as_bytes())
            && let Ok(clean) = HeaderValue::from_bytes(&clean)
        {
            *value = clean;
        }
    }
    parts
}

/// A body whose secrets are redacted as it streams (see [`StreamRedactor`]).
struct RedactedBody {
    inner: WasiBody,
    redactor: StreamRedactor,
    trailers: Option<http::HeaderMap>,
    ended: bool,
}

impl http_body::Body for RedactedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(
                    this.trailers
                        .take()
                        .map(|t| Ok(http_body::Frame::trailers(t))),
                );
            }
            let rest = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = this.redactor.push(&data);
                        if out.is_empty() {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(http_body::Frame::data(out.into()))));
                    }
                    Err(frame) => {
                        this.trailers = frame.into_trailers().ok();
                        this.redactor.finish()
                    }
                },
                None => this.redactor.finish(),
            };
            this.ended = true;
            if !rest.is_empty() {
                return Poll::Ready(Some(Ok(http_body::Frame::data(rest.into()))));
            }
        }
    }
}

fn full(bytes: Bytes) -> WasiBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body as a cassette stores it: JSON as JSON, other text as `{"$text": ...}`,
/// anything else as `{"$base64": ...}`.
fn body_to_tape(body: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v;
    }
    match std::str::from_utf8(body) {
        Ok(s) => json!({ "$text": s }),
        Err(_) => json!({ "$base64": base64::engine::general_purpose::STANDARD.encode(body) }),
    }
}

fn body_from_tape(v: &Value) -> Result<Bytes, String> {
    if let Some(m) = v.as_object().filter(|m| m.len() == 1) {
        if let Some(Value::String(s)) = m.get("$text") {
            return Ok(Bytes::from(s.clone()));
        }
        if let Some(Value::String(s)) = m.get("$base64") {
            return base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Bytes::from)
                .map_err(|e| format!("bad $base64: {e}"));
        }
    }
    Ok(Bytes::from(v.to_string()))
}

fn error_to_tape(e: &Error) -> Value {
    let debug = format!("{e:?}");
    let kind = debug.split(['(', ' ', '{']).next().unwrap_or_default();
    json!({"error": {"kind": kind, "message": e.to_string()}})
}

/// A recorded answer as the plugin would have got it; `Err` when it cannot be read.
fn replayed(answer: Value) -> Result<Sent, String> {
    if let Some(e) = answer.get("error") {
        let kind = e.get("kind").and_then(Value::as_str).unwrap_or_default();
        let message = e.get("message").and_then(Value::as_str).unwrap_or(kind);
        return Ok(Err(match kind {
            "ConnectionRefused" => Error::ConnectionRefused,
            "ConnectionTimeout" => Error::ConnectionTimeout,
            "ConnectionReadTimeout" => Error::ConnectionReadTimeout,
            "ConnectionTerminated" => Error::ConnectionTerminated,
            "HttpRequestDenied" => Error::HttpRequestDenied,
            "TlsCertificateError" => Error::TlsCertificateError,
            "TlsProtocolError" | "Tls" => Error::TlsProtocolError,
            "DestinationUnavailable" => Error::DestinationUnavailable,
            _ => Error::Connect(std::io::Error::other(message.to_string())),
        }));
    }
    let ok = answer
        .get("ok")
        .ok_or("an answer is {\"ok\": ...} or {\"error\": ...}")?;
    let status = ok
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("no status")?;
    let mut response = http::Response::builder().status(status);
    if let Some(headers) = ok.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            response = response.header(name, value.as_str().unwrap_or_default());
        }
    }
    let body = body_from_tape(ok.get("body").unwrap_or(&Value::Null))?;
    let response = response.body(full(body)).map_err(|e| e.to_string())?;
    let done: Driver = Box::new(async { Ok(()) });
    Ok(Ok((response, done)))
}

/// Map a TLS handshake error to the most precise `wasi:http` error code.
fn tls_error_code(err: &std::io::Error) -> ErrorCode {
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => ErrorCode::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => {
            ErrorCode::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(u8::from(*alert)),
                alert_message: Some(format!("{alert:?}")),
            })
        }
        _ => ErrorCode::TlsProtocolError,
    }
}

/// Send the request on one of the run's connections to its authority (a new one
/// when none is idle: see [`Connector`]; HTTP/2 when a TLS server offers it),
/// with the endpoint's credentials.
async fn send(
    clients: &Clients,
    (endpoint, tls, authority): (Arc<Endpoint>, bool, String),
    mut req: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Sent {
    // The connector bounds each handshake by the endpoint's connect timeout; a
    // shorter one the plugin asks for bounds the whole wait for the response head.
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .map_or(endpoint.connect_timeout, |t| {
            t.min(endpoint.connect_timeout)
        });
    let first_byte_timeout = options
        .and_then(|o| o.first_byte_timeout)
        .map_or(MAX_FIRST_BYTE, |t| t.min(MAX_FIRST_BYTE));
    let between_bytes_timeout = options
        .and_then(|o| o.between_bytes_timeout)
        .map_or(MAX_FIRST_BYTE, |t| t.min(MAX_FIRST_BYTE))
        .max(Duration::from_millis(1));
    prepare(&mut req, &endpoint)?;
    let sent = async {
        let h2 = tls
            && clients
                .protocols
                .speaks_h2(&authority, || {
                    let (endpoint, authority) = (endpoint.clone(), authority.clone());
                    async move {
                        let stream = connect(&endpoint, true, &authority, endpoint.connect_timeout)
                            .await
                            .map_err(ConnectError)?;
                        let h2 = stream.h2;
                        Ok((stream, h2))
                    }
                })
                .await
                .map_err(|e| e.recreate())?;
        let client = if h2 { &clients.h2 } else { &clients.h1 };
        client.request(req).await.map_err(client_error)
    };
    let res = tokio::time::timeout(connect_timeout + first_byte_timeout, sent)
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    // Asked for `identity`; a server that encodes anyway is refused, as its body
    // could not be redacted.
    if let Some(coding) = res.headers().get(CONTENT_ENCODING)
        && !coding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        let coding = String::from_utf8_lossy(coding.as_bytes()).into_owned();
        return Err(Error::HttpResponseContentCoding(Some(coding)));
    }
    let res = res.map(|body| {
        StallTimeout {
            body,
            timeout: between_bytes_timeout,
            sleep: Box::pin(tokio::time::sleep(between_bytes_timeout)),
        }
        .boxed_unsync()
    });
    // The pool's own task drives the connection.
    let io: Driver = Box::new(async { Ok(()) });
    Ok((res, io))
}

/// The error of a request the pool could not send: the connector's own (see
/// [`Connector`]) or hyper's.
fn client_error(e: hyper_util::client::legacy::Error) -> Error {
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(error) = cause.downcast_ref::<ConnectError>() {
            return error.recreate();
        }
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            if hyper_error.is_timeout() {
                return Error::ConnectionReadTimeout;
            }
            if hyper_error.is_incomplete_message() || hyper_error.is_closed() {
                return Error::ConnectionTerminated;
            }
            return Error::HttpProtocolError;
        }
        source = cause.source();
    }
    Error::InternalError(Some(e.to_string()))
}

/// Opens the pools' connections: routes the URI to its granted endpoint and
/// connects as [`connect`] does, or hands over the first connection to a TLS
/// authority (see [`Protocols`]).
#[derive(Clone)]
struct Connector {
    endpoints: Arc<[Arc<Endpoint>]>,
    protocols: Arc<Protocols<Stream, ConnectError>>,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let route = route(&self.endpoints, &uri);
        let protocols = self.protocols.clone();
        Box::pin(async move {
            let (endpoint, tls, authority) = route.ok_or(ConnectError(Error::HttpRequestDenied))?;
            if tls && let Some(first) = protocols.take_first(&authority) {
                return Ok(TokioIo::new(first));
            }
            connect(&endpoint, tls, &authority, endpoint.connect_timeout)
                .await
                .map(TokioIo::new)
                .map_err(ConnectError)
        })
    }
}

/// Why a connection could not be opened, as it crosses hyper-util's pool.
#[derive(Debug)]
struct ConnectError(Error);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    /// The error again, owned (the pool hands out its errors by reference only):
    /// every error [`connect`] returns, with what `wasi:http` reports of it.
    fn recreate(&self) -> Error {
        match &self.0 {
            Error::ConnectionRefused => Error::ConnectionRefused,
            Error::ConnectionTimeout => Error::ConnectionTimeout,
            Error::HttpRequestDenied => Error::HttpRequestDenied,
            Error::Connect(e) => Error::Connect(std::io::Error::new(e.kind(), e.to_string())),
            Error::Tls(e) => match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                Some(tls) => Error::Tls(std::io::Error::new(e.kind(), tls.clone())),
                None => Error::Tls(std::io::Error::new(e.kind(), e.to_string())),
            },
            Error::InvalidDnsNameError(_) => {
                Error::InvalidDnsNameError(rustls::pki_types::InvalidDnsNameError)
            }
            other => Error::InternalError(Some(other.to_string())),
        }
    }
}

/// A connection as the pools hold it: whether its TLS handshake chose HTTP/2.
struct Stream {
    io: Box<dyn Io>,
    h2: bool,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        let connected = Connected::new();
        if self.h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A connection to `authority`, through TLS with the endpoint's material when
/// `tls` (offering HTTP/2 and HTTP/1.1: see [`vitals_core::tls::TlsMaterial`]), within `timeout` (TCP and TLS
/// handshakes each).
async fn connect(
    endpoint: &Endpoint,
    tls: bool,
    authority: &str,
    timeout: Duration,
) -> Result<Stream, Error> {
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(authority)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(Error::ConnectionRefused);
        }
        Ok(Err(e)) => return Err(Error::Connect(e)),
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    // Requests are written whole; HTTP/2 frames of several streams one after the
    // other would otherwise wait, small ones, for the last one's ACK (Nagle).
    let _ = tcp.set_nodelay(true);
    if !tls {
        return Ok(Stream {
            io: Box::new(tcp),
            h2: false,
        });
    }
    let config = match &endpoint.tls {
        Some(m) => m.config.clone(),
        None => default_tls_config(),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(Error::InvalidDnsNameError)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Stream {
            h2: s.get_ref().1.alpn_protocol() == Some(b"h2"),
            io: Box::new(s),
        }),
        Ok(Err(e)) => Err(Error::Tls(e)),
        Err(_) => Err(Error::ConnectionTimeout),
    }
}

/// The request as it goes out: the endpoint's credentials, no compression, no
/// ranges (the pool sends the origin-form request line).
fn prepare(req: &mut http::Request<WasiBody>, endpoint: &Endpoint) -> Result<(), Error> {
    // Answers the host can redact: whole, and not compressed (a compressed or
    // partial echo of the credentials would pass the redactor unrecognised).
    let headers = req.headers_mut();
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers.remove(RANGE);
    headers.remove(IF_RANGE);
    let header = match &endpoint.auth {
        Some(Auth::Bearer(token)) => format!("Bearer {}", token.expose()),
        Some(Auth::Basic { username, password }) => format!(
            "Basic {}",
            base64_encode(&format!("{username}:{}", password.expose()))
        ),
        // Not accepted by the configuration for http endpoints.
        Some(Auth::Password(_) | Auth::User(_)) | None => return Ok(()),
    };
    let value = HeaderValue::from_str(&header).map_err(|_| Error::ConfigurationError)?;
    req.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// A response body that fails with `connection-read-timeout` when no frame arrives
/// within `timeout`, so that a member which stalls mid-body is reported as such
/// instead of consuming the whole run's deadline.
struct StallTimeout {
    body: hyper::body::Incoming,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for StallTimeout {
    type Data = bytes::Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + self.timeout;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Error::from)))
            }
            Poll::Pending => {
                ready!(self.sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static> Io for T {}

fn default_tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            vitals_core::tls::TlsMaterial::load(None, None)
                .expect("webpki roots form a valid configuration")
                .config
        })
        .clone()
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::EndpointKind;

    fn gate(urls: &[&str]) -> HttpGate {
        HttpGate::new(vec![Arc::new(Endpoint {
            name: "etcd".into(),
            kind: EndpointKind::Http,
            urls: urls.iter().map(|u| u.parse().unwrap()).collect(),
            tls: None,
            auth: None,
            connect_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(1),
            kube: None,
        })])
    }

    #[test]
    fn routes_only_granted_authorities() {
        let g = gate(&["https://127.0.0.1:2379", "http://etcd.example:80/"]);
        let (_, tls, auth) = g
            .route(
                &"https://127.0.0.1:2379/v3/maintenance/status"
                    .parse()
                    .unwrap(),
            )
            .unwrap();
        assert!(tls);
        assert_eq!(auth, "127.0.0.1:2379");
        assert!(
            g.route(&"http://etcd.example/health".parse().unwrap())
                .is_some()
        );
        assert!(
            g.route(&"https://127.0.0.1:2380/".parse().unwrap())
                .is_none()
        );
        assert!(
            g.route(&"https://10.0.0.1:2379/".parse().unwrap())
                .is_none()
        );
        assert!(g.route(&"/relative".parse().unwrap()).is_none());
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;
    use std::collections::VecDeque;
    use vitals_core::secrets::RedactorBuilder;

    /// A body that arrives in the given chunks.
    struct Chunks(VecDeque<Bytes>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Error>>> {
            Poll::Ready(self.0.pop_front().map(|c| Ok(http_body::Frame::data(c))))
        }
    }

    /// A live response whose body arrives in small chunks that cut the secret.
    #[tokio::test]
    async fn a_live_response_is_redacted_in_its_headers_and_streamed_body() {
        let redactor = RedactorBuilder::default().secret("tok-3f9a7c1e55").build();
        let text = b"authorization: Bearer tok-3f9a7c1e55\r\nhost: x\r\ntok-3f9a7c1e55";
        let body = Chunks(text.chunks(5).map(Bytes::copy_from_slice).collect()).boxed_unsync();
        let response = http::Response::builder()
            .header("content-length", text.len())
            .header("x-echo", "Bearer tok-3f9a7c1e55")
            .header("x-other", "fine")
            .body(body)
            .unwrap();
        let response = redacted(response, &redactor);
        assert_eq!(response.headers()["x-echo"], "Bearer <redacted>");
        assert_eq!(response.headers()["x-other"], "fine");
        assert!(
            response.headers().get("content-length").is_none(),
            "redaction changes the length"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            b"authorization: Bearer <redacted>\r\nhost: x\r\n<redacted>"
        );
    }
}
