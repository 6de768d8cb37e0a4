//! `http` endpoints: `http://` or `https://` base URLs, reached through the
//! host's HTTP gate, with a bearer token or basic credentials.

use super::UrlKind;
use crate::config::EndpointKind;

pub(super) struct Http;

impl UrlKind for Http {
    const KIND: EndpointKind = EndpointKind::Http;
    const SCHEMES: &'static [&'static str] = &["http", "https"];
    /// A request's time is the check's `timeout`.
    const QUERY_TIMEOUT: bool = false;
}
