//! One check file (`checks.d/<name>.toml`), validated against the clusters and
//! endpoints `vitals.toml` defines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use super::defaults::CheckDefaults;
use super::raw::{RawCheck, RawNetGrants};
use super::source::Source;
use super::{Check, Config, ConfigError, EndpointKind, MEMORY_LIMITS, Pin, params, resolve_path};
use crate::grants::{DEFAULT_PROBE_TIMEOUT, NetGrants, ResourceGrant, parse_network};

impl Config {
    /// Load the check in `path`; what it leaves out takes the defaults `d`.
    pub(super) fn load_check(&self, path: &Path, d: &CheckDefaults) -> Result<Check, ConfigError> {
        let src = Source::read(path, "cannot read")?;
        let raw: RawCheck = src.parse()?;
        let name = name(&src, &raw.name)?;
        let plugin = self.plugin_path(path, raw.plugin.get_ref());
        let pin = pin(&src, &raw.sha256)?;
        let grants = self.endpoint_grants(&src, &raw.grants.endpoints)?;
        let kube_grants = self.kube_grants(&src, &raw.grants.kubernetes, &grants)?;
        let net_grants = match &raw.grants.net {
            None => NetGrants::default(),
            Some(n) => net_grants(&src, n)?,
        };
        let clusters = self.check_clusters(&src, raw.clusters.as_deref(), &grants)?;
        let (params, param_lines) = params::to_json(&src, raw.params, "params.")?;
        Ok(Check {
            name,
            description: raw.description,
            file: path.to_owned(),
            plugin,
            pin,
            clusters,
            timeout: src.duration("timeout", &raw.timeout, d.timeout)?,
            interval: src.duration("interval", &raw.interval, d.interval)?,
            retries: src.retries("retries", &raw.retries, d.retries)?,
            retry_delay: src.duration("retry_delay", &raw.retry_delay, d.retry_delay)?,
            memory_limit: src.size(
                "memory_limit",
                &raw.memory_limit,
                d.memory_limit,
                MEMORY_LIMITS,
            )?,
            output_limit: d.output_limit,
            enabled: raw.enabled,
            grants,
            kube_grants: Arc::new(kube_grants),
            net_grants: Arc::new(net_grants),
            params,
            param_lines,
        })
    }

    /// A plugin given by path (`*.wasm`, or containing `/`; relative to the
    /// check file), else by name: `<plugin_dir>/<name>.wasm`.
    fn plugin_path(&self, check_file: &Path, plugin: &str) -> PathBuf {
        if plugin.ends_with(".wasm") || plugin.contains('/') {
            resolve_path(check_file.parent().unwrap_or(Path::new(".")), plugin)
        } else {
            self.plugin_dir.join(format!("{plugin}.wasm"))
        }
    }

    /// `[grants] endpoints`: each must be defined by some cluster.
    fn endpoint_grants(
        &self,
        src: &Source,
        list: &[Spanned<String>],
    ) -> Result<Vec<String>, ConfigError> {
        for g in list {
            if !self
                .clusters
                .values()
                .any(|c| c.endpoints.contains_key(g.get_ref()))
            {
                return Err(src.error(
                    g.span(),
                    format!(
                        "`grants.endpoints`: no cluster defines an endpoint named {:?}",
                        g.get_ref()
                    ),
                ));
            }
        }
        Ok(list.iter().map(|g| g.get_ref().clone()).collect())
    }

    /// `[grants] kubernetes`: resource grants, which need a granted kubernetes
    /// endpoint to read through.
    fn kube_grants(
        &self,
        src: &Source,
        list: &[Spanned<String>],
        endpoints: &[String],
    ) -> Result<Vec<ResourceGrant>, ConfigError> {
        let grants = list
            .iter()
            .map(|g| {
                ResourceGrant::parse(g.get_ref())
                    .map_err(|m| src.error(g.span(), format!("`grants.kubernetes`: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(first) = list.first() {
            let has_kube = endpoints.iter().any(|g| {
                self.clusters
                    .values()
                    .filter_map(|c| c.endpoints.get(g))
                    .any(|e| e.kind == EndpointKind::Kubernetes)
            });
            if !has_kube {
                return Err(src.error(
                    first.span(),
                    "`grants.kubernetes`: grant a kubernetes endpoint in `grants.endpoints` too",
                ));
            }
        }
        Ok(grants)
    }

    /// The clusters the check runs on: those it names, each of which must have
    /// every granted endpoint; by default, every cluster that has them all.
    fn check_clusters(
        &self,
        src: &Source,
        named: Option<&[Spanned<String>]>,
        grants: &[String],
    ) -> Result<Vec<String>, ConfigError> {
        let Some(list) = named else {
            return Ok(self
                .clusters
                .values()
                .filter(|c| grants.iter().all(|g| c.endpoints.contains_key(g)))
                .map(|c| c.name.clone())
                .collect());
        };
        list.iter()
            .map(|c| self.named_cluster(src, c, grants))
            .collect()
    }

    /// One entry of the check's `clusters`.
    fn named_cluster(
        &self,
        src: &Source,
        c: &Spanned<String>,
        grants: &[String],
    ) -> Result<String, ConfigError> {
        let Some(cluster) = self.clusters.get(c.get_ref()) else {
            let known: Vec<&str> = self.clusters.keys().map(String::as_str).collect();
            return Err(src.error(
                c.span(),
                format!(
                    "`clusters`: unknown cluster {:?} (defined: {})",
                    c.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        if let Some(missing) = grants.iter().find(|g| !cluster.endpoints.contains_key(*g)) {
            return Err(src.error(
                c.span(),
                format!(
                    "`clusters`: cluster {:?} has no endpoint {missing:?} granted to this check",
                    c.get_ref()
                ),
            ));
        }
        Ok(c.get_ref().clone())
    }
}

/// The check's name: `name`, else the file name without `.toml`.
/// `sha256`: the plugin's pinned digest, 64 hexadecimal digits (lowercased).
fn pin(src: &Source, raw: &Option<Spanned<String>>) -> Result<Option<Pin>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let digest = raw.get_ref().trim().to_ascii_lowercase();
    if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(src.error(
            raw.span(),
            format!(
                "`sha256`: {:?} is not a SHA-256 digest (64 hexadecimal digits, as `sha256sum PLUGIN.wasm` or `vitals list` print it)",
                raw.get_ref()
            ),
        ));
    }
    Ok(Some(Pin {
        sha256: digest,
        file: src.path.clone(),
    }))
}

fn name(src: &Source, raw: &Option<Spanned<String>>) -> Result<String, ConfigError> {
    let name = match raw {
        Some(n) => n.get_ref().clone(),
        None => src
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        let span = raw.as_ref().map_or(0..0, |n| n.span());
        return Err(src.error(
            span,
            format!(
                "`name`: {name:?} must be non-empty and use only letters, digits, '-', '_' and '.'"
            ),
        ));
    }
    Ok(name)
}

/// `[grants.net]`: networks to probe over TCP and ARP (IPv4 only), and how.
fn net_grants(src: &Source, n: &RawNetGrants) -> Result<NetGrants, ConfigError> {
    let networks = |list: &[Spanned<String>], key: &str| {
        list.iter()
            .map(|v| {
                parse_network(v.get_ref())
                    .map_err(|m| src.error(v.span(), format!("`grants.net.{key}`: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let arp = networks(&n.arp, "arp")?;
    if let Some(v6) = n.arp.iter().zip(&arp).find(|(_, a)| a.is_ipv6()) {
        return Err(src.error(v6.0.span(), "`grants.net.arp`: ARP is for IPv4 networks"));
    }
    Ok(NetGrants {
        tcp: networks(&n.tcp, "tcp")?,
        arp,
        interface: n.interface.clone(),
        timeout: src.duration("grants.net.timeout", &n.timeout, DEFAULT_PROBE_TIMEOUT)?,
    })
}
