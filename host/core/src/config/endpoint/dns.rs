//! `dns` endpoints: resolvers reached at `dns://IP` or `dns://IP:PORT` (port 53
//! by default), such as the cluster DNS service. The address is an IP literal
//! (finding a resolver by name would need a resolver); no credentials, no TLS.

use std::net::IpAddr;

use ::http::Uri;

use super::{Credentials, UrlKind};
use crate::config::{Auth, EndpointKind};

pub(super) struct Dns;

impl UrlKind for Dns {
    const KIND: EndpointKind = EndpointKind::Dns;
    const SCHEMES: &'static [&'static str] = &["dns"];

    fn check_url(url: &str, uri: &Uri) -> Result<(), String> {
        let host = uri.host().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if literal.parse::<IpAddr>().is_err() {
            return Err(format!(
                "{url:?}: a resolver is named by its IP address (dns://10.43.0.10, dns://[fd00::a]:53)"
            ));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(format!("{url:?}: a resolver URL has no path"));
        }
        Ok(())
    }

    fn check_tls(_urls: &[Uri]) -> Result<(), String> {
        Err("a dns endpoint takes no TLS files (DNS over TLS is not supported)".to_string())
    }

    fn auth(credentials: Credentials) -> Result<Option<Auth>, String> {
        match credentials {
            Credentials {
                token: None,
                username: None,
                password: None,
            } => Ok(None),
            _ => Err("a dns endpoint takes no credentials".to_string()),
        }
    }
}
