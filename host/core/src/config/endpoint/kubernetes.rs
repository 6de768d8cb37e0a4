//! `kubernetes` endpoints: a kubeconfig (`kubeconfig`, default `$KUBECONFIG` or
//! `~/.kube/config`, and `context`) or `in_cluster = true`. The API server URL
//! is read from it; credentials stay in the kubeconfig and the `kube` client.

use std::path::PathBuf;

use ::http::Uri;

use super::Entry;
use crate::config::raw::RawEndpoint;
use crate::config::{
    ConfigError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUERY_TIMEOUT, Endpoint, EndpointKind,
    resolve_path,
};
use crate::grants::KubeSource;

pub(super) fn load(e: &Entry, re: &RawEndpoint) -> Result<Endpoint, ConfigError> {
    refuse_url_keys(e, re)?;
    let source = source(e, re)?;
    let url = server(e, re, &source)?;
    Ok(Endpoint {
        name: e.name.to_owned(),
        kind: EndpointKind::Kubernetes,
        urls: vec![url],
        tls: None,
        auth: None,
        connect_timeout: e.timeout(
            "connect_timeout",
            &re.connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
        )?,
        query_timeout: e.timeout("query_timeout", &re.query_timeout, DEFAULT_QUERY_TIMEOUT)?,
        kube: Some(source),
    })
}

/// The keys only kubernetes endpoints take, refused on the other kinds.
pub(super) fn refuse_kubeconfig_keys(e: &Entry, re: &RawEndpoint) -> Result<(), ConfigError> {
    for (field, present) in [
        ("kubeconfig", re.kubeconfig.as_ref().map(|v| v.span())),
        ("context", re.context.as_ref().map(|v| v.span())),
        ("in_cluster", re.in_cluster.as_ref().map(|v| v.span())),
    ] {
        if let Some(span) = present {
            return Err(e.error(
                span,
                format!("`{}.{field}` applies to kubernetes endpoints", e.key),
            ));
        }
    }
    Ok(())
}

/// The keys of URL-based endpoints: the kubeconfig has all that.
fn refuse_url_keys(e: &Entry, re: &RawEndpoint) -> Result<(), ConfigError> {
    let only_for_others = [
        ("urls", re.urls.as_ref().map(|v| v.span())),
        ("ca_file", re.ca_file.as_ref().map(|v| v.span())),
        ("cert_file", re.cert_file.as_ref().map(|v| v.span())),
        ("key_file", re.key_file.as_ref().map(|v| v.span())),
        (
            "bearer_token_env",
            re.bearer_token_env.as_ref().map(|v| v.span()),
        ),
        (
            "bearer_token_file",
            re.bearer_token_file.as_ref().map(|v| v.span()),
        ),
        ("password_env", re.password_env.as_ref().map(|v| v.span())),
        ("password_file", re.password_file.as_ref().map(|v| v.span())),
    ];
    if let Some((field, Some(span))) = only_for_others.into_iter().find(|(_, s)| s.is_some()) {
        return Err(e.error(
            span,
            format!(
                "`{}.{field}`: a kubernetes endpoint takes its server, CA and credentials from `kubeconfig` (and `context`) or `in_cluster = true`",
                e.key
            ),
        ));
    }
    if re.username.is_some() {
        return Err(e.error(
            re.kind.span(),
            format!(
                "`{}.username`: a kubernetes endpoint takes its user from the kubeconfig context",
                e.key
            ),
        ));
    }
    Ok(())
}

/// `in_cluster = true`, or `kubeconfig` (else the default one) and `context`.
fn source(e: &Entry, re: &RawEndpoint) -> Result<KubeSource, ConfigError> {
    let in_cluster = re.in_cluster.as_ref().is_some_and(|v| *v.get_ref());
    match (in_cluster, &re.kubeconfig) {
        (true, Some(k)) => Err(e.error(
            k.span(),
            format!(
                "`{}`: give `kubeconfig` or `in_cluster = true`, not both",
                e.key
            ),
        )),
        (true, None) => Ok(KubeSource::InCluster),
        (false, k) => {
            let file = match k {
                Some(k) => resolve_path(e.dir, k.get_ref()),
                None => default_kubeconfig().ok_or_else(|| {
                    e.error(
                        re.kind.span(),
                        format!(
                            "`{}`: no `kubeconfig` given, and neither KUBECONFIG nor HOME is set",
                            e.key
                        ),
                    )
                })?,
            };
            Ok(KubeSource::Kubeconfig {
                path: file,
                context: re.context.as_ref().map(|c| c.get_ref().clone()),
            })
        }
    }
}

/// The API server URL `source` names, read without connecting; errors are
/// reported at `kubeconfig`, else `context`, else `kind`.
fn server(e: &Entry, re: &RawEndpoint, source: &KubeSource) -> Result<Uri, ConfigError> {
    let span = re
        .kubeconfig
        .as_ref()
        .or(re.context.as_ref())
        .map_or(re.kind.span(), |v| v.span());
    let server = source
        .server_url()
        .map_err(|m| e.error(span.clone(), format!("`{}`: {m}", e.key)))?;
    server
        .parse()
        .map_err(|err| e.error(span, format!("`{}`: server URL {server:?}: {err}", e.key)))
}

/// `$KUBECONFIG` (its first file), else `~/.kube/config`, as kubectl does.
fn default_kubeconfig() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        return std::env::split_paths(&k).next();
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config"))
}
