//! `mysql` endpoints: `mysql://` URLs, a `username` with a password, or a
//! `username` alone (over a socket with `unix_socket` authentication).

use super::{Credentials, UrlKind};
use crate::config::{Auth, EndpointKind};

pub(super) struct Mysql;

impl UrlKind for Mysql {
    const KIND: EndpointKind = EndpointKind::Mysql;
    const SCHEMES: &'static [&'static str] = &["mysql"];

    fn auth(credentials: Credentials) -> Result<Option<Auth>, String> {
        match credentials {
            Credentials { token: Some(_), .. }
            | Credentials {
                token: None,
                username: None,
                password: Some(_),
            } => Err(
                "a mysql endpoint takes `username` and `password_env`/`password_file`".to_string(),
            ),
            Credentials {
                token: None,
                username: Some(username),
                password: None,
            } => Ok(Some(Auth::User(username))),
            other => other.auth(),
        }
    }
}
