//! One endpoint of a cluster, validated by the module of its `kind`. The
//! URL-based kinds (`http`, `redis`, `mysql`, `dns`) share [`url_based`] (URLs, TLS
//! files, credential references, timeouts) and add their own rules through
//! [`UrlKind`]; `kubernetes` reads its server from a kubeconfig instead.
//!
//! Adding a kind: its [`EndpointKind`] variant and name (in [`kind`]), a module
//! here, and an arm in [`load`].

mod dns;
mod http;
mod kubernetes;
mod mysql;
mod redis;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ::http::Uri;
use toml::Spanned;

use super::raw::RawEndpoint;
use super::source::Source;
use super::{
    Auth, ConfigError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUERY_TIMEOUT, Endpoint, EndpointKind,
    resolve_path,
};
use crate::secrets::{self, Secret};
use crate::tls::TlsMaterial;

/// Validate the endpoint `name`, written at `key` (`clusters.C.endpoints.E`) of
/// `src`; relative paths start from `dir`.
pub(super) fn load(
    src: &Source,
    dir: &Path,
    key: &str,
    name: &str,
    re: &RawEndpoint,
) -> Result<Endpoint, ConfigError> {
    let e = Entry {
        src,
        dir,
        key,
        name,
    };
    match kind(&e, &re.kind)? {
        EndpointKind::Http => url_based::<http::Http>(&e, re),
        EndpointKind::Redis => url_based::<redis::Redis>(&e, re),
        EndpointKind::Mysql => url_based::<mysql::Mysql>(&e, re),
        EndpointKind::Kubernetes => kubernetes::load(&e, re),
        EndpointKind::Dns => url_based::<dns::Dns>(&e, re),
    }
}

/// `kind`, one of the supported names.
fn kind(e: &Entry, kind: &Spanned<String>) -> Result<EndpointKind, ConfigError> {
    Ok(match kind.get_ref().as_str() {
        "http" => EndpointKind::Http,
        "redis" => EndpointKind::Redis,
        "mysql" => EndpointKind::Mysql,
        "kubernetes" => EndpointKind::Kubernetes,
        "dns" => EndpointKind::Dns,
        other => {
            return Err(e.error(
                kind.span(),
                format!(
                    "`{}.kind`: unknown endpoint kind {other:?} (supported: http, redis, mysql, kubernetes, dns)",
                    e.key
                ),
            ));
        }
    })
}

/// The endpoint being validated: its file, the directory relative paths start
/// from, its key and its name.
struct Entry<'a> {
    src: &'a Source,
    dir: &'a Path,
    key: &'a str,
    name: &'a str,
}

impl Entry<'_> {
    fn error(&self, span: Range<usize>, message: String) -> ConfigError {
        self.src.error(span, message)
    }

    /// The duration `{key}.{field}`, or `default`.
    fn timeout(
        &self,
        field: &str,
        v: &Option<Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.src
            .duration(&format!("{}.{field}", self.key), v, default)
    }

    /// A file setting, resolved, with its span.
    fn path(&self, v: &Option<Spanned<String>>) -> Option<(PathBuf, Range<usize>)> {
        v.as_ref()
            .map(|s| (resolve_path(self.dir, s.get_ref()), s.span()))
    }

    /// The secret `{what}_env` or `{what}_file` names, if either.
    fn secret(
        &self,
        env: &Option<Spanned<String>>,
        file: &Option<Spanned<String>>,
        what: &str,
    ) -> Result<Option<Secret>, ConfigError> {
        let key = self.key;
        match (env, file) {
            (Some(e), Some(_)) => Err(self.error(
                e.span(),
                format!("`{key}`: give `{what}_env` or `{what}_file`, not both"),
            )),
            (Some(e), None) => secrets::from_env(e.get_ref())
                .map(Some)
                .map_err(|m| self.error(e.span(), format!("`{key}.{what}_env`: {m}"))),
            (None, Some(f)) => secrets::from_file(&resolve_path(self.dir, f.get_ref()))
                .map(Some)
                .map_err(|m| self.error(f.span(), format!("`{key}.{what}_file`: {m}"))),
            (None, None) => Ok(None),
        }
    }
}

/// What sets a URL-based kind apart. The provided methods are the rules every
/// kind shares; an error message follows "`{key}`: " (`{key}.urls` for URLs).
trait UrlKind {
    const KIND: EndpointKind;
    /// The URL schemes the kind takes.
    const SCHEMES: &'static [&'static str];
    /// Whether `query_timeout` applies (per command or query).
    const QUERY_TIMEOUT: bool = true;

    /// A rule on each URL (`url` as written) beyond scheme, credentials and query.
    fn check_url(_url: &str, _uri: &Uri) -> Result<(), String> {
        Ok(())
    }

    /// A rule on the URLs when TLS files (`ca_file` or `cert_file`) are given.
    fn check_tls(_urls: &[Uri]) -> Result<(), String> {
        Ok(())
    }

    /// The credentials the kind takes, as the host will use them.
    fn auth(credentials: Credentials) -> Result<Option<Auth>, String> {
        credentials.auth()
    }
}

/// An endpoint reached at URLs: `urls`, TLS files, credential references and
/// timeouts, with the rules of its kind `K`.
fn url_based<K: UrlKind>(e: &Entry, re: &RawEndpoint) -> Result<Endpoint, ConfigError> {
    kubernetes::refuse_kubeconfig_keys(e, re)?;
    let urls = urls::<K>(e, re)?;
    let tls = tls::<K>(e, re, &urls)?;
    let auth = auth::<K>(e, re)?;
    let connect_timeout = e.timeout(
        "connect_timeout",
        &re.connect_timeout,
        DEFAULT_CONNECT_TIMEOUT,
    )?;
    if let Some(q) = re.query_timeout.as_ref().filter(|_| !K::QUERY_TIMEOUT) {
        return Err(e.error(
            q.span(),
            format!(
                "`{}.query_timeout` applies to redis, mysql, kubernetes and dns endpoints",
                e.key
            ),
        ));
    }
    let query_timeout = e.timeout("query_timeout", &re.query_timeout, DEFAULT_QUERY_TIMEOUT)?;
    Ok(Endpoint {
        name: e.name.to_owned(),
        kind: K::KIND,
        urls,
        tls,
        auth,
        connect_timeout,
        query_timeout,
        kube: None,
    })
}

/// `urls`: at least one.
fn urls<K: UrlKind>(e: &Entry, re: &RawEndpoint) -> Result<Vec<Uri>, ConfigError> {
    let Some(raw) = re.urls.as_ref().filter(|u| !u.get_ref().is_empty()) else {
        let span = re.urls.as_ref().map_or(re.kind.span(), |u| u.span());
        return Err(e.error(
            span,
            format!("`{}.urls`: at least one URL is required", e.key),
        ));
    };
    raw.get_ref().iter().map(|u| url::<K>(e, u)).collect()
}

/// One URL: absolute, with a scheme of the kind, and neither credentials nor a query.
fn url<K: UrlKind>(e: &Entry, u: &Spanned<String>) -> Result<Uri, ConfigError> {
    let text = u.get_ref();
    let fail = |m: String| e.error(u.span(), format!("`{}.urls`: {m}", e.key));
    let uri: Uri = text
        .parse()
        .map_err(|err| fail(format!("invalid URL {text:?}: {err}")))?;
    let known_scheme = uri.scheme_str().is_some_and(|s| K::SCHEMES.contains(&s));
    let Some(authority) = uri.authority().filter(|_| known_scheme) else {
        let schemes: Vec<String> = K::SCHEMES.iter().map(|s| format!("{s}://")).collect();
        return Err(fail(format!(
            "{text:?} must be an absolute {} URL",
            schemes.join(" or ")
        )));
    };
    if authority.as_str().contains('@') {
        return Err(fail(
            "credentials do not belong in a URL (use username and password_env/password_file)"
                .to_string(),
        ));
    }
    if uri.query().is_some() {
        return Err(fail(format!("{text:?}: a base URL takes no query")));
    }
    K::check_url(text, &uri).map_err(fail)?;
    Ok(uri)
}

/// `ca_file`, and `cert_file` with `key_file`: loaded now, so that a bad file is
/// reported with its line.
fn tls<K: UrlKind>(
    e: &Entry,
    re: &RawEndpoint,
    urls: &[Uri],
) -> Result<Option<Arc<TlsMaterial>>, ConfigError> {
    let (ca, cert, key) = (
        e.path(&re.ca_file),
        e.path(&re.cert_file),
        e.path(&re.key_file),
    );
    if ca.is_some() || cert.is_some() {
        K::check_tls(urls).map_err(|m| e.error(re.kind.span(), format!("`{}`: {m}", e.key)))?;
    }
    if cert.is_some() != key.is_some() {
        let span = cert.as_ref().or(key.as_ref()).map_or(0..0, |c| c.1.clone());
        return Err(e.error(
            span,
            format!("`{}`: `cert_file` and `key_file` go together", e.key),
        ));
    }
    if ca.is_none() && cert.is_none() {
        return Ok(None);
    }
    let client = cert.as_ref().zip(key.as_ref());
    let material = TlsMaterial::load(
        ca.as_ref().map(|c| c.0.as_path()),
        client.map(|(c, k)| (c.0.as_path(), k.0.as_path())),
    )
    .map_err(|err| {
        let span = ca.as_ref().or(cert.as_ref()).map_or(0..0, |c| c.1.clone());
        e.error(span, format!("`{}`: {err:#}", e.key))
    })?;
    Ok(Some(Arc::new(material)))
}

/// The credential references, read, and turned into [`Auth`] by the kind.
fn auth<K: UrlKind>(e: &Entry, re: &RawEndpoint) -> Result<Option<Auth>, ConfigError> {
    let credentials = Credentials {
        token: e.secret(&re.bearer_token_env, &re.bearer_token_file, "bearer_token")?,
        username: re.username.clone(),
        password: e.secret(&re.password_env, &re.password_file, "password")?,
    };
    K::auth(credentials).map_err(|m| e.error(re.kind.span(), format!("`{}`: {m}", e.key)))
}

/// What an endpoint's credential settings name.
struct Credentials {
    token: Option<Secret>,
    username: Option<String>,
    password: Option<Secret>,
}

impl Credentials {
    /// A bearer token, or a username and password, or nothing.
    fn auth(self) -> Result<Option<Auth>, String> {
        match (self.token, self.username, self.password) {
            (Some(t), None, None) => Ok(Some(Auth::Bearer(t))),
            (None, Some(username), Some(password)) => Ok(Some(Auth::Basic { username, password })),
            (None, None, None) => Ok(None),
            (None, Some(_), None) => {
                Err("`username` needs `password_env` or `password_file`".to_string())
            }
            _ => Err("use either a bearer token or username and password".to_string()),
        }
    }
}
