//! Requests through the host: `wasi:http/outgoing-handler`.

use super::{ErrorKind, HttpError, MAX_BODY_BYTES, Method, Options, Response};
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    Fields, FutureIncomingResponse, IncomingBody, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};
use crate::bindings::wasi::io::poll::{Pollable, poll};
use crate::bindings::wasi::io::streams::{InputStream, StreamError};

/// The host's promise of a response.
pub(super) type InFlight = FutureIncomingResponse;

/// Send a request through the host; its response comes with [`wait`].
pub(super) fn start(
    method: Method,
    url: &str,
    body: Option<&[u8]>,
    opts: Options,
) -> Result<InFlight, HttpError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| HttpError::protocol(format!("invalid URL {url:?}: {e}")))?;
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        Some("https") => Scheme::Https,
        other => {
            return Err(HttpError::protocol(format!(
                "unsupported URL scheme {other:?} in {url:?}"
            )));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| HttpError::protocol(format!("URL without host: {url:?}")))?
        .as_str()
        .to_owned();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();

    let headers = Fields::new();
    if body.is_some() {
        headers
            .append("content-type", b"application/json")
            .map_err(|e| HttpError::protocol(format!("header: {e:?}")))?;
    }
    let req = OutgoingRequest::new(headers);
    let bad = |what: &str| HttpError::protocol(format!("invalid {what} in {url:?}"));
    req.set_method(&method).map_err(|()| bad("method"))?;
    req.set_scheme(Some(&scheme)).map_err(|()| bad("scheme"))?;
    req.set_authority(Some(&authority))
        .map_err(|()| bad("authority"))?;
    req.set_path_with_query(Some(&path))
        .map_err(|()| bad("path"))?;

    let outgoing = req
        .body()
        .map_err(|()| HttpError::protocol("request body already taken"))?;
    let options = RequestOptions::new();
    let ns = u64::try_from(opts.timeout.as_nanos()).unwrap_or(u64::MAX);
    // The host may not support every option; a refusal just keeps its defaults.
    let _ = options.set_connect_timeout(Some(ns));
    let _ = options.set_first_byte_timeout(Some(ns));
    let _ = options.set_between_bytes_timeout(Some(ns));

    let future = outgoing_handler::handle(req, Some(options)).map_err(|c| HttpError::from(&c))?;
    // Write the body after `handle`: the host buffers little, so the request must
    // already be in flight for a larger body not to block.
    if let Some(bytes) = body {
        let stream = outgoing
            .write()
            .map_err(|()| HttpError::protocol("request body stream"))?;
        for chunk in bytes.chunks(4096) {
            // A failed write means the request already failed (e.g. connection
            // refused): the response future below carries the real error.
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing, None);
    Ok(future)
}

/// Wait for the response and read its whole body.
pub(super) fn wait(future: InFlight) -> Result<Response, HttpError> {
    wait_all(vec![future])
        .pop()
        .expect("one answer per request")
}

/// One request's progress in [`wait_all`].
enum Progress {
    Head(FutureIncomingResponse),
    /// The stream is a child of the body: dropped first (field order, and
    /// explicitly when done).
    Body {
        stream: InputStream,
        body: IncomingBody,
        status: u16,
        buf: Vec<u8>,
    },
    Done(Result<Response, HttpError>),
}

impl Progress {
    fn pollable(&self) -> Option<Pollable> {
        match self {
            Progress::Head(future) => Some(future.subscribe()),
            Progress::Body { stream, .. } => Some(stream.subscribe()),
            Progress::Done(_) => None,
        }
    }

    /// Take every step that does not block: the response head if it is here,
    /// then whatever body bytes have arrived.
    fn advance(self) -> Progress {
        match self {
            Progress::Head(future) => match future.get() {
                None => Progress::Head(future),
                Some(Ok(Ok(response))) => {
                    let status = response.status();
                    let Ok(body) = response.consume() else {
                        return Progress::Done(Err(HttpError::protocol(
                            "response body already taken",
                        )));
                    };
                    let Ok(stream) = body.stream() else {
                        return Progress::Done(Err(HttpError::protocol("response body stream")));
                    };
                    Progress::Body {
                        stream,
                        body,
                        status,
                        buf: Vec::new(),
                    }
                    .advance()
                }
                Some(Ok(Err(code))) => Progress::Done(Err(HttpError::from(&code))),
                Some(Err(())) => Progress::Done(Err(HttpError::protocol(
                    "response future in an invalid state",
                ))),
            },
            Progress::Body {
                stream,
                body,
                status,
                mut buf,
            } => loop {
                let outcome = match stream.read(64 * 1024) {
                    Ok(chunk) if chunk.is_empty() => {
                        return Progress::Body {
                            stream,
                            body,
                            status,
                            buf,
                        };
                    }
                    Ok(chunk) if buf.len() + chunk.len() > MAX_BODY_BYTES => {
                        Err(HttpError::protocol(format!(
                            "response body larger than {MAX_BODY_BYTES} bytes"
                        )))
                    }
                    Ok(chunk) => {
                        buf.extend_from_slice(&chunk);
                        continue;
                    }
                    Err(StreamError::Closed) => Ok(Response {
                        status,
                        body: std::mem::take(&mut buf),
                    }),
                    Err(StreamError::LastOperationFailed(e)) => Err(HttpError {
                        kind: ErrorKind::Unreachable,
                        message: format!("reading response body: {}", e.to_debug_string()),
                    }),
                };
                drop(stream);
                drop(body);
                return Progress::Done(outcome);
            },
            done @ Progress::Done(_) => done,
        }
    }
}

/// Wait for every response and read every body, all at once: whichever
/// response or body bytes arrive first are taken first, so that one large body
/// does not hold the others back in the host.
pub(super) fn wait_all(futures: Vec<InFlight>) -> Vec<Result<Response, HttpError>> {
    let mut all: Vec<Progress> = futures
        .into_iter()
        .map(|f| Progress::Head(f).advance())
        .collect();
    loop {
        let waiting: Vec<(usize, Pollable)> = all
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.pollable().map(|pollable| (i, pollable)))
            .collect();
        if waiting.is_empty() {
            break;
        }
        let pollables: Vec<&Pollable> = waiting.iter().map(|(_, p)| p).collect();
        let ready = poll(&pollables);
        drop(pollables);
        let ready: Vec<usize> = ready.iter().map(|&r| waiting[r as usize].0).collect();
        drop(waiting);
        for i in ready {
            let taken = Progress::Done(Err(HttpError::protocol("request not finished")));
            let p = std::mem::replace(&mut all[i], taken);
            all[i] = p.advance();
        }
    }
    all.into_iter()
        .map(|p| match p {
            Progress::Done(result) => result,
            // Every request is done once nothing is waited for.
            _ => Err(HttpError::protocol("request not finished")),
        })
        .collect()
}
