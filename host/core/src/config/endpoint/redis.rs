//! `redis` endpoints: `redis://host:port` (a server or a Sentinel), or
//! `rediss://` when TLS files are given; a password (`requirepass`), with a
//! `username` for an ACL user.

use ::http::Uri;

use super::{Credentials, UrlKind};
use crate::config::{Auth, EndpointKind};

pub(super) struct Redis;

impl UrlKind for Redis {
    const KIND: EndpointKind = EndpointKind::Redis;
    const SCHEMES: &'static [&'static str] = &["redis", "rediss"];

    fn check_url(url: &str, uri: &Uri) -> Result<(), String> {
        match uri.port_u16() {
            Some(_) => Ok(()),
            None => Err(format!(
                "{url:?} needs a port (redis://host:6379, a sentinel redis://host:26379)"
            )),
        }
    }

    fn check_tls(urls: &[Uri]) -> Result<(), String> {
        match urls.iter().find(|u| u.scheme_str() == Some("redis")) {
            Some(plain) => Err(format!(
                "TLS files are given but {plain} is not a rediss:// URL"
            )),
            None => Ok(()),
        }
    }

    fn auth(credentials: Credentials) -> Result<Option<Auth>, String> {
        match credentials {
            Credentials {
                token: None,
                username: None,
                password: Some(p),
            } => Ok(Some(Auth::Password(p))),
            Credentials { token: Some(_), .. } => Err(
                "a redis endpoint takes `password_env`/`password_file` (and `username` for an ACL user), not a bearer token"
                    .to_string(),
            ),
            other => other.auth(),
        }
    }
}
