//! Requests from a native build (feature `native`): each on its own thread, so
//! that requests started together are in flight together, as through the host.
//! Nothing is filtered: there is no sandbox natively.

use std::thread::{self, JoinHandle};

use super::{ErrorKind, HttpError, MAX_BODY_BYTES, Method, Options, Response};

/// The thread sending the request.
pub(super) type InFlight = JoinHandle<Result<Response, HttpError>>;

/// Send a request on a new thread; its response comes with [`wait`].
pub(super) fn start(
    method: Method,
    url: &str,
    body: Option<&[u8]>,
    opts: Options,
) -> Result<InFlight, HttpError> {
    let method = match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
        other => return Err(HttpError::protocol(format!("unsupported method {other:?}"))),
    };
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.unwrap_or_default().to_vec())
        .map_err(|e| HttpError::protocol(format!("invalid request to {url:?}: {e}")))?;
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .build()
        .new_agent();
    Ok(thread::spawn(move || {
        let mut response = agent.run(request).map_err(error)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES as u64)
            .read_to_vec()
            .map_err(error)?;
        Ok(Response { status, body })
    }))
}

/// Wait for every thread's response (they ran at once already).
pub(super) fn wait_all(in_flight: Vec<InFlight>) -> Vec<Result<Response, HttpError>> {
    in_flight.into_iter().map(wait).collect()
}

/// Wait for the thread's response.
pub(super) fn wait(in_flight: InFlight) -> Result<Response, HttpError> {
    in_flight
        .join()
        .unwrap_or_else(|_| Err(HttpError::protocol("the request's thread panicked")))
}

fn error(e: ureq::Error) -> HttpError {
    use ureq::Error as E;
    let kind = match &e {
        E::Io(_) | E::Timeout(_) | E::HostNotFound | E::ConnectionFailed => ErrorKind::Unreachable,
        _ => ErrorKind::Protocol,
    };
    HttpError {
        kind,
        message: e.to_string(),
    }
}
