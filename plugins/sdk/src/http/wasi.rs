//! Requests through the host: `wasi:http/outgoing-handler`.

use super::{ErrorKind, HttpError, MAX_BODY_BYTES, Method, Options, Response};
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    Fields, FutureIncomingResponse, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

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
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(code))) => return Err(HttpError::from(&code)),
        Some(Err(())) | None => {
            return Err(HttpError::protocol("response future in an invalid state"));
        }
    };
    let status = response.status();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::protocol("response body already taken"))?;
    let mut buf = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::protocol("response body stream"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if buf.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(HttpError::protocol(format!(
                            "response body larger than {MAX_BODY_BYTES} bytes"
                        )));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError {
                        kind: ErrorKind::Unreachable,
                        message: format!("reading response body: {}", e.to_debug_string()),
                    });
                }
            }
        }
    }
    drop(incoming);
    Ok(Response { status, body: buf })
}
