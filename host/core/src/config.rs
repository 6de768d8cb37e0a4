//! Configuration: `vitals.toml` (plugins, limits, clusters and their endpoints) and
//! `checks.d/*.toml` (one check per file). Unknown keys are errors, and every error
//! names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;
use toml::Spanned;

use crate::grants::{DEFAULT_PROBE_TIMEOUT, KubeSource, NetGrants, ResourceGrant, parse_network};
use crate::secrets::{self, Secret};
use crate::tls::{self, TlsMaterial};

/// A configuration error located in a file.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    fn at(
        path: &Path,
        src: &str,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            path: path.to_owned(),
            line: Some(line_of(src, span.start)),
            message: with_source_line(message.into(), src, span.start),
        }
    }
    fn file(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_owned(),
            line: None,
            message: message.into(),
        }
    }
}

/// Append the source line at `offset`, so the message shows the key as written.
fn with_source_line(message: String, src: &str, offset: usize) -> String {
    let offset = offset.min(src.len());
    let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line = src[start..end].trim();
    if line.is_empty() {
        message
    } else {
        format!("{message}\n    {} | {line}", line_of(src, offset))
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Parse TOML into `T`, turning syntax and schema errors into a [`ConfigError`].
fn parse<T: for<'de> Deserialize<'de>>(path: &Path, src: &str) -> Result<T, ConfigError> {
    toml::from_str(src).map_err(|e| {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => ConfigError::at(path, src, span, message),
            None => ConfigError::file(path, message),
        }
    })
}

/// A check's parameters, as JSON values.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// Parameters from a file for `vitals test --params`: a JSON object (`*.json`), or
/// TOML whose `[params]` table (a check file) or top level holds them. Returns
/// the parameters and the line of each key (TOML).
pub fn load_params(path: &Path) -> Result<(Params, BTreeMap<String, usize>), ConfigError> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::file(path, format!("cannot read: {e}")))?;
    if path.extension().is_some_and(|e| e == "json") {
        return match serde_json::from_str::<serde_json::Value>(&src) {
            Ok(serde_json::Value::Object(m)) => Ok((m, BTreeMap::new())),
            Ok(_) => Err(ConfigError::file(
                path,
                "expected a JSON object of parameters",
            )),
            Err(e) => Err(ConfigError {
                path: path.to_owned(),
                line: Some(e.line()),
                message: e.to_string(),
            }),
        };
    }
    #[derive(Deserialize)]
    struct CheckFile {
        params: BTreeMap<Spanned<String>, toml::Value>,
    }
    let doc: toml::Table = parse(path, &src)?;
    let raw: BTreeMap<Spanned<String>, toml::Value> = if doc.contains_key("params") {
        parse::<CheckFile>(path, &src)?.params
    } else {
        parse(path, &src)?
    };
    let mut params = Params::new();
    let mut lines = BTreeMap::new();
    for (k, v) in raw {
        let line = line_of(&src, k.span().start);
        let value = serde_json::to_value(&v).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: Some(line),
            message: format!("`{}`: {e}", k.get_ref()),
        })?;
        lines.insert(k.get_ref().clone(), line);
        params.insert(k.into_inner(), value);
    }
    Ok((params, lines))
}

// ---------------------------------------------------------------- raw files

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMain {
    plugin_dir: Option<Spanned<String>>,
    cache_dir: Option<Spanned<String>>,
    concurrency: Option<Spanned<usize>>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    clusters: BTreeMap<Spanned<String>, RawCluster>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    retries: Option<Spanned<u32>>,
    retry_delay: Option<Spanned<String>>,
    memory_limit: Option<Spanned<ByteSize>>,
    output_limit: Option<Spanned<ByteSize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    description: Option<String>,
    #[serde(default)]
    endpoints: BTreeMap<Spanned<String>, Spanned<RawEndpoint>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    kind: Spanned<String>,
    urls: Option<Spanned<Vec<Spanned<String>>>>,
    kubeconfig: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    in_cluster: Option<Spanned<bool>>,
    ca_file: Option<Spanned<String>>,
    cert_file: Option<Spanned<String>>,
    key_file: Option<Spanned<String>>,
    bearer_token_env: Option<Spanned<String>>,
    bearer_token_file: Option<Spanned<String>>,
    username: Option<String>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    query_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: Option<Spanned<String>>,
    description: Option<String>,
    plugin: Spanned<String>,
    clusters: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    retries: Option<Spanned<u32>>,
    retry_delay: Option<Spanned<String>>,
    memory_limit: Option<Spanned<ByteSize>>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    grants: RawGrants,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, toml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    #[serde(default)]
    endpoints: Vec<Spanned<String>>,
    #[serde(default)]
    kubernetes: Vec<Spanned<String>>,
    net: Option<RawNetGrants>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetGrants {
    #[serde(default)]
    tcp: Vec<Spanned<String>>,
    #[serde(default)]
    arp: Vec<Spanned<String>>,
    interface: Option<String>,
    timeout: Option<Spanned<String>>,
}

// ---------------------------------------------------------------- resolved

/// The whole configuration, validated.
#[derive(Debug)]
pub struct Config {
    /// The configuration directory (holding `vitals.toml` and `checks.d/`).
    pub dir: PathBuf,
    pub plugin_dir: PathBuf,
    /// Where compiled plugins are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    pub concurrency: usize,
    pub clusters: BTreeMap<String, Arc<Cluster>>,
    pub checks: Vec<Arc<Check>>,
}

/// A cluster: named endpoints with their addresses and credentials.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub description: Option<String>,
    pub endpoints: BTreeMap<String, Arc<Endpoint>>,
}

/// Kinds of endpoint; each is reached through its own capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    Http,
    Redis,
    Mysql,
    Kubernetes,
}

impl EndpointKind {
    /// The name used in configuration and in the WIT `endpoint.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Http => "http",
            EndpointKind::Redis => "redis",
            EndpointKind::Mysql => "mysql",
            EndpointKind::Kubernetes => "kubernetes",
        }
    }

    /// URL schemes an endpoint of this kind takes.
    fn schemes(self) -> &'static [&'static str] {
        match self {
            EndpointKind::Http => &["http", "https"],
            EndpointKind::Redis => &["redis", "rediss"],
            EndpointKind::Mysql => &["mysql"],
            EndpointKind::Kubernetes => &["https", "http"],
        }
    }
}

/// Credentials the host adds to requests; never shown to plugins.
#[derive(Debug, Clone)]
pub enum Auth {
    Bearer(Secret),
    Basic {
        username: String,
        password: Secret,
    },
    /// A password alone (Redis `requirepass`).
    Password(Secret),
    /// A user without a password (MySQL over a socket with `unix_socket` auth).
    User(String),
}

/// One endpoint of a cluster.
#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    pub kind: EndpointKind,
    pub urls: Vec<http::Uri>,
    pub tls: Option<Arc<TlsMaterial>>,
    pub auth: Option<Auth>,
    pub connect_timeout: Duration,
    /// Per command or query (redis, mysql and kubernetes endpoints).
    pub query_timeout: Duration,
    /// Where a `kubernetes` endpoint's configuration comes from (the runtime builds its client).
    pub kube: Option<KubeSource>,
}

impl Endpoint {
    /// The endpoint's secret values, to scrub from anything written out.
    pub fn secrets(&self) -> Vec<&str> {
        match &self.auth {
            Some(Auth::Bearer(s) | Auth::Password(s) | Auth::Basic { password: s, .. }) => {
                vec![s.expose()]
            }
            Some(Auth::User(_)) | None => vec![],
        }
    }
}

/// One check (from one `checks.d/*.toml`).
#[derive(Debug)]
pub struct Check {
    pub name: String,
    pub description: Option<String>,
    /// The file it came from, for error messages.
    pub file: PathBuf,
    pub plugin: PathBuf,
    pub clusters: Vec<String>,
    pub timeout: Duration,
    /// Time between two scheduled runs (`vitals serve`).
    pub interval: Duration,
    /// Re-runs after a result worse than ok before reporting it (flap damping).
    pub retries: u32,
    /// Pause before each re-run.
    pub retry_delay: Duration,
    pub memory_limit: u64,
    pub output_limit: u64,
    pub enabled: bool,
    pub grants: Vec<String>,
    /// Kubernetes resources the plugin may read (`[grants] kubernetes`).
    pub kube_grants: Arc<Vec<ResourceGrant>>,
    /// Network probes the plugin may send (`[grants.net]`).
    pub net_grants: Arc<NetGrants>,
    /// `[params]` as a JSON object.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Line of each parameter key, for validating them against the plugin's schema.
    pub param_lines: BTreeMap<String, usize>,
}

/// Limits applied when `[defaults]` says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Largest accepted `retries`.
pub const MAX_RETRIES: u32 = 10;
pub const DEFAULT_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;
pub const DEFAULT_OUTPUT_LIMIT: u64 = 64 * 1024;
/// Accepted range of `memory_limit` (wasm32 memories are at most 4 GiB).
pub const MEMORY_LIMITS: (u64, u64) = (1 << 20, 4 << 30);
/// Accepted range of `output_limit`.
pub const OUTPUT_LIMITS: (u64, u64) = (0, 16 << 20);
/// Longest accepted duration (timeouts, intervals).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Largest accepted `concurrency`.
pub const MAX_CONCURRENCY: usize = 1024;
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// A duration setting (at most [`MAX_DURATION`]), or `default` when absent.
fn duration(
    path: &Path,
    src: &str,
    key: &str,
    v: &Option<Spanned<String>>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let d = humantime::parse_duration(v.get_ref()).map_err(|e| {
        ConfigError::at(
            path,
            src,
            v.span(),
            format!(
                "`{key}`: invalid duration {:?}: {e} (e.g. \"10s\", \"1m30s\")",
                v.get_ref()
            ),
        )
    })?;
    if d.is_zero() || d > MAX_DURATION {
        return Err(ConfigError::at(
            path,
            src,
            v.span(),
            format!(
                "`{key}`: {:?} must be more than 0 and at most 7 days",
                v.get_ref()
            ),
        ));
    }
    Ok(d)
}

/// A size setting within `range`, or `default` when absent.
fn size(
    path: &Path,
    src: &str,
    key: &str,
    v: &Option<Spanned<ByteSize>>,
    default: u64,
    range: (u64, u64),
) -> Result<u64, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let n = v.get_ref().as_u64();
    if n < range.0 || n > range.1 {
        return Err(ConfigError::at(
            path,
            src,
            v.span(),
            format!(
                "`{key}`: {} is out of range ({} to {})",
                v.get_ref(),
                ByteSize(range.0),
                ByteSize(range.1)
            ),
        ));
    }
    Ok(n)
}

/// A `retries` setting (at most [`MAX_RETRIES`]), or `default` when absent.
fn retries(
    path: &Path,
    src: &str,
    key: &str,
    v: &Option<Spanned<u32>>,
    default: u32,
) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if *n.get_ref() > MAX_RETRIES => Err(ConfigError::at(
            path,
            src,
            n.span(),
            format!("`{key}`: {} is more than {MAX_RETRIES}", n.get_ref()),
        )),
        Some(n) => Ok(*n.get_ref()),
    }
}

fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl Config {
    /// Load `DIR/vitals.toml` and `DIR/checks.d/*.toml`. `path` may also name the
    /// `vitals.toml` file itself.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (dir, main_path) = if path.is_dir() {
            (path.to_owned(), path.join("vitals.toml"))
        } else {
            (
                path.parent()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| ".".into()),
                path.to_owned(),
            )
        };
        let src = std::fs::read_to_string(&main_path).map_err(|e| {
            ConfigError::file(&main_path, format!("cannot read configuration: {e}"))
        })?;
        let raw: RawMain = parse(&main_path, &src)?;
        let p = &main_path;

        let timeout = duration(
            p,
            &src,
            "defaults.timeout",
            &raw.defaults.timeout,
            DEFAULT_TIMEOUT,
        )?;
        let interval = duration(
            p,
            &src,
            "defaults.interval",
            &raw.defaults.interval,
            DEFAULT_INTERVAL,
        )?;
        let retries = retries(p, &src, "defaults.retries", &raw.defaults.retries, 0)?;
        let retry_delay = duration(
            p,
            &src,
            "defaults.retry_delay",
            &raw.defaults.retry_delay,
            DEFAULT_RETRY_DELAY,
        )?;
        let memory_limit = size(
            p,
            &src,
            "defaults.memory_limit",
            &raw.defaults.memory_limit,
            DEFAULT_MEMORY_LIMIT,
            MEMORY_LIMITS,
        )?;
        let output_limit = size(
            p,
            &src,
            "defaults.output_limit",
            &raw.defaults.output_limit,
            DEFAULT_OUTPUT_LIMIT,
            OUTPUT_LIMITS,
        )?;
        let concurrency = match &raw.concurrency {
            Some(c) if *c.get_ref() == 0 || *c.get_ref() > MAX_CONCURRENCY => {
                return Err(ConfigError::at(
                    p,
                    &src,
                    c.span(),
                    format!("`concurrency` must be between 1 and {MAX_CONCURRENCY}"),
                ));
            }
            Some(c) => *c.get_ref(),
            None => 16,
        };
        // vitals.toml, else the environment (a container image's defaults).
        let env_plugin_dir = std::env::var(PLUGIN_DIR_ENV).ok().filter(|d| !d.is_empty());
        let plugin_dir = resolve_path(
            &dir,
            raw.plugin_dir
                .as_ref()
                .map(|s| s.get_ref().as_str())
                .or(env_plugin_dir.as_deref())
                .unwrap_or("plugins"),
        );
        let cache_dir = match &raw.cache_dir {
            Some(s) if s.get_ref().is_empty() => None,
            Some(s) => Some(resolve_path(&dir, s.get_ref())),
            None => default_cache_dir(),
        };

        let mut clusters = BTreeMap::new();
        for (name, rc) in raw.clusters {
            let mut endpoints = BTreeMap::new();
            for (ename, re) in rc.endpoints {
                let ep = endpoint(
                    p,
                    &src,
                    &dir,
                    &format!("clusters.{}.endpoints.{}", name.get_ref(), ename.get_ref()),
                    ename.get_ref(),
                    re.into_inner(),
                )?;
                endpoints.insert(ename.into_inner(), Arc::new(ep));
            }
            let name = name.into_inner();
            clusters.insert(
                name.clone(),
                Arc::new(Cluster {
                    name,
                    description: rc.description,
                    endpoints,
                }),
            );
        }

        let mut cfg = Config {
            dir: dir.clone(),
            plugin_dir,
            cache_dir,
            concurrency,
            clusters,
            checks: Vec::new(),
        };
        let checks_dir = dir.join("checks.d");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&checks_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(ConfigError::file(
                    &checks_dir,
                    format!("cannot list checks: {e}"),
                ));
            }
        };
        files.sort();
        let defaults = CheckDefaults {
            timeout,
            interval,
            retries,
            retry_delay,
            memory_limit,
            output_limit,
        };
        for file in files {
            let check = cfg.load_check(&file, &defaults)?;
            if let Some(other) = cfg.checks.iter().find(|c| c.name == check.name) {
                return Err(ConfigError::file(
                    &file,
                    format!(
                        "check name {:?} is already used by {}",
                        check.name,
                        other.file.display()
                    ),
                ));
            }
            cfg.checks.push(Arc::new(check));
        }
        Ok(cfg)
    }

    fn load_check(&self, path: &Path, d: &CheckDefaults) -> Result<Check, ConfigError> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file(path, format!("cannot read: {e}")))?;
        let raw: RawCheck = parse(path, &src)?;
        let name = match &raw.name {
            Some(n) => n.get_ref().clone(),
            None => path
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
            let span = raw.name.as_ref().map_or(0..0, |n| n.span());
            return Err(ConfigError::at(
                path,
                &src,
                span,
                format!(
                    "`name`: {name:?} must be non-empty and use only letters, digits, '-', '_' and '.'"
                ),
            ));
        }
        let plugin = raw.plugin.get_ref();
        let plugin_path = if plugin.ends_with(".wasm") || plugin.contains('/') {
            resolve_path(path.parent().unwrap_or(Path::new(".")), plugin)
        } else {
            self.plugin_dir.join(format!("{plugin}.wasm"))
        };

        for g in &raw.grants.endpoints {
            if !self
                .clusters
                .values()
                .any(|c| c.endpoints.contains_key(g.get_ref()))
            {
                return Err(ConfigError::at(
                    path,
                    &src,
                    g.span(),
                    format!(
                        "`grants.endpoints`: no cluster defines an endpoint named {:?}",
                        g.get_ref()
                    ),
                ));
            }
        }
        let grants: Vec<String> = raw
            .grants
            .endpoints
            .iter()
            .map(|g| g.get_ref().clone())
            .collect();
        let mut kube_grants = Vec::new();
        for g in &raw.grants.kubernetes {
            let grant = ResourceGrant::parse(g.get_ref()).map_err(|m| {
                ConfigError::at(path, &src, g.span(), format!("`grants.kubernetes`: {m}"))
            })?;
            kube_grants.push(grant);
        }
        if let Some(first) = raw.grants.kubernetes.first() {
            let has_kube = grants.iter().any(|g| {
                self.clusters
                    .values()
                    .filter_map(|c| c.endpoints.get(g))
                    .any(|e| e.kind == EndpointKind::Kubernetes)
            });
            if !has_kube {
                return Err(ConfigError::at(
                    path,
                    &src,
                    first.span(),
                    "`grants.kubernetes`: grant a kubernetes endpoint in `grants.endpoints` too",
                ));
            }
        }
        let net_grants = match &raw.grants.net {
            None => NetGrants::default(),
            Some(n) => {
                let networks = |list: &[Spanned<String>], key: &str| {
                    list.iter()
                        .map(|v| {
                            parse_network(v.get_ref()).map_err(|m| {
                                ConfigError::at(
                                    path,
                                    &src,
                                    v.span(),
                                    format!("`grants.net.{key}`: {m}"),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                };
                let arp = networks(&n.arp, "arp")?;
                if let Some(v6) = n.arp.iter().zip(&arp).find(|(_, a)| a.is_ipv6()) {
                    return Err(ConfigError::at(
                        path,
                        &src,
                        v6.0.span(),
                        "`grants.net.arp`: ARP is for IPv4 networks",
                    ));
                }
                NetGrants {
                    tcp: networks(&n.tcp, "tcp")?,
                    arp,
                    interface: n.interface.clone(),
                    timeout: duration(
                        path,
                        &src,
                        "grants.net.timeout",
                        &n.timeout,
                        DEFAULT_PROBE_TIMEOUT,
                    )?,
                }
            }
        };
        let clusters = match &raw.clusters {
            Some(list) => {
                let mut out = Vec::new();
                for c in list {
                    let Some(cluster) = self.clusters.get(c.get_ref()) else {
                        let known: Vec<&str> = self.clusters.keys().map(String::as_str).collect();
                        return Err(ConfigError::at(
                            path,
                            &src,
                            c.span(),
                            format!(
                                "`clusters`: unknown cluster {:?} (defined: {})",
                                c.get_ref(),
                                known.join(", ")
                            ),
                        ));
                    };
                    if let Some(missing) =
                        grants.iter().find(|g| !cluster.endpoints.contains_key(*g))
                    {
                        return Err(ConfigError::at(
                            path,
                            &src,
                            c.span(),
                            format!(
                                "`clusters`: cluster {:?} has no endpoint {missing:?} granted to this check",
                                c.get_ref()
                            ),
                        ));
                    }
                    out.push(c.get_ref().clone());
                }
                out
            }
            // Default: every cluster that has all the granted endpoints.
            None => self
                .clusters
                .values()
                .filter(|c| grants.iter().all(|g| c.endpoints.contains_key(g)))
                .map(|c| c.name.clone())
                .collect(),
        };
        let mut params = serde_json::Map::new();
        let mut param_lines = BTreeMap::new();
        for (k, v) in raw.params {
            let line = line_of(&src, k.span().start);
            let value = serde_json::to_value(&v).map_err(|e| ConfigError {
                path: path.to_owned(),
                line: Some(line),
                message: format!("`params.{}`: {e}", k.get_ref()),
            })?;
            param_lines.insert(k.get_ref().clone(), line);
            params.insert(k.into_inner(), value);
        }
        Ok(Check {
            name,
            description: raw.description,
            file: path.to_owned(),
            plugin: plugin_path,
            clusters,
            timeout: duration(path, &src, "timeout", &raw.timeout, d.timeout)?,
            interval: duration(path, &src, "interval", &raw.interval, d.interval)?,
            retries: retries(path, &src, "retries", &raw.retries, d.retries)?,
            retry_delay: duration(path, &src, "retry_delay", &raw.retry_delay, d.retry_delay)?,
            memory_limit: size(
                path,
                &src,
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
}

struct CheckDefaults {
    timeout: Duration,
    interval: Duration,
    retries: u32,
    retry_delay: Duration,
    memory_limit: u64,
    output_limit: u64,
}

/// Where `<plugin>.wasm` files are when vitals.toml has no `plugin_dir`.
pub const PLUGIN_DIR_ENV: &str = "VITALS_PLUGIN_DIR";
/// The compile cache when vitals.toml has no `cache_dir`.
pub const CACHE_DIR_ENV: &str = "VITALS_CACHE_DIR";

/// `$VITALS_CACHE_DIR`, else `$XDG_CACHE_HOME/vitals`, else `~/.cache/vitals`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vitals"))
}

fn endpoint(
    path: &Path,
    src: &str,
    dir: &Path,
    key: &str,
    name: &str,
    re: RawEndpoint,
) -> Result<Endpoint, ConfigError> {
    let err = |span: std::ops::Range<usize>, msg: String| ConfigError::at(path, src, span, msg);
    let kind = match re.kind.get_ref().as_str() {
        "http" => EndpointKind::Http,
        "redis" => EndpointKind::Redis,
        "mysql" => EndpointKind::Mysql,
        "kubernetes" => EndpointKind::Kubernetes,
        other => {
            return Err(err(
                re.kind.span(),
                format!(
                    "`{key}.kind`: unknown endpoint kind {other:?} (supported: http, redis, mysql, kubernetes)"
                ),
            ));
        }
    };
    if kind == EndpointKind::Kubernetes {
        return kube_endpoint(path, src, dir, key, name, re);
    }
    for (field, present) in [
        ("kubeconfig", re.kubeconfig.as_ref().map(|v| v.span())),
        ("context", re.context.as_ref().map(|v| v.span())),
        ("in_cluster", re.in_cluster.as_ref().map(|v| v.span())),
    ] {
        if let Some(span) = present {
            return Err(err(
                span,
                format!("`{key}.{field}` applies to kubernetes endpoints"),
            ));
        }
    }
    let Some(raw_urls) = re.urls.as_ref().filter(|u| !u.get_ref().is_empty()) else {
        let span = re.urls.as_ref().map_or(re.kind.span(), |u| u.span());
        return Err(err(
            span,
            format!("`{key}.urls`: at least one URL is required"),
        ));
    };
    let mut urls = Vec::new();
    for u in raw_urls.get_ref() {
        let uri: http::Uri = u.get_ref().parse().map_err(|e| {
            err(
                u.span(),
                format!("`{key}.urls`: invalid URL {:?}: {e}", u.get_ref()),
            )
        })?;
        let schemes = kind.schemes();
        match (uri.scheme_str(), uri.authority()) {
            (Some(s), Some(a)) if schemes.contains(&s) && a.as_str().contains('@') => {
                return Err(err(
                    u.span(),
                    format!(
                        "`{key}.urls`: credentials do not belong in a URL (use username and password_env/password_file)"
                    ),
                ));
            }
            (Some(s), Some(_)) if schemes.contains(&s) && uri.query().is_some() => {
                return Err(err(
                    u.span(),
                    format!("`{key}.urls`: {:?}: a base URL takes no query", u.get_ref()),
                ));
            }
            (Some(s), Some(a))
                if schemes.contains(&s)
                    && kind == EndpointKind::Redis
                    && a.port_u16().is_none() =>
            {
                return Err(err(
                    u.span(),
                    format!(
                        "`{key}.urls`: {:?} needs a port (redis://host:6379, a sentinel redis://host:26379)",
                        u.get_ref()
                    ),
                ));
            }
            (Some(s), Some(_)) if schemes.contains(&s) => urls.push(uri),
            _ => {
                return Err(err(
                    u.span(),
                    format!(
                        "`{key}.urls`: {:?} must be an absolute {} URL",
                        u.get_ref(),
                        schemes
                            .iter()
                            .map(|s| format!("{s}://"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ));
            }
        }
    }
    let file = |v: &Option<Spanned<String>>| {
        v.as_ref()
            .map(|s| (resolve_path(dir, s.get_ref()), s.span()))
    };
    let (ca, cert, key_file) = (file(&re.ca_file), file(&re.cert_file), file(&re.key_file));
    if kind == EndpointKind::Redis
        && (ca.is_some() || cert.is_some())
        && let Some(plain) = urls.iter().find(|u| u.scheme_str() == Some("redis"))
    {
        return Err(err(
            re.kind.span(),
            format!("`{key}`: TLS files are given but {plain} is not a rediss:// URL"),
        ));
    }
    if cert.is_some() != key_file.is_some() {
        let span = cert
            .as_ref()
            .or(key_file.as_ref())
            .map(|c| c.1.clone())
            .unwrap_or(0..0);
        return Err(err(
            span,
            format!("`{key}`: `cert_file` and `key_file` go together"),
        ));
    }
    let tls = if ca.is_some() || cert.is_some() {
        let m = tls::TlsMaterial::load(
            ca.as_ref().map(|c| c.0.as_path()),
            cert.as_ref()
                .map(|c| c.0.as_path())
                .zip(key_file.as_ref().map(|k| k.0.as_path())),
        )
        .map_err(|e| {
            let span = ca
                .as_ref()
                .or(cert.as_ref())
                .map(|c| c.1.clone())
                .unwrap_or(0..0);
            err(span, format!("`{key}`: {e:#}"))
        })?;
        Some(Arc::new(m))
    } else {
        None
    };
    let secret = |env: &Option<Spanned<String>>,
                  file: &Option<Spanned<String>>,
                  what: &str|
     -> Result<Option<Secret>, ConfigError> {
        match (env, file) {
            (Some(e), Some(_)) => Err(err(
                e.span(),
                format!("`{key}`: give `{what}_env` or `{what}_file`, not both"),
            )),
            (Some(e), None) => secrets::from_env(e.get_ref())
                .map(Some)
                .map_err(|m| err(e.span(), format!("`{key}.{what}_env`: {m}"))),
            (None, Some(f)) => secrets::from_file(&resolve_path(dir, f.get_ref()))
                .map(Some)
                .map_err(|m| err(f.span(), format!("`{key}.{what}_file`: {m}"))),
            (None, None) => Ok(None),
        }
    };
    let token = secret(&re.bearer_token_env, &re.bearer_token_file, "bearer_token")?;
    let password = secret(&re.password_env, &re.password_file, "password")?;
    let auth = match (token, re.username, password) {
        (None, None, Some(p)) if kind == EndpointKind::Redis => Some(Auth::Password(p)),
        (Some(_), _, _) if kind == EndpointKind::Redis => {
            return Err(err(
                re.kind.span(),
                format!(
                    "`{key}`: a redis endpoint takes `password_env`/`password_file` (and `username` for an ACL user), not a bearer token"
                ),
            ));
        }
        (Some(_), _, _) | (None, None, Some(_)) if kind == EndpointKind::Mysql => {
            return Err(err(
                re.kind.span(),
                format!(
                    "`{key}`: a mysql endpoint takes `username` and `password_env`/`password_file`"
                ),
            ));
        }
        (None, Some(username), None) if kind == EndpointKind::Mysql => Some(Auth::User(username)),
        (Some(t), None, None) => Some(Auth::Bearer(t)),
        (None, Some(username), Some(password)) => Some(Auth::Basic { username, password }),
        (None, None, None) => None,
        (None, Some(_), None) => {
            return Err(err(
                re.kind.span(),
                format!("`{key}`: `username` needs `password_env` or `password_file`"),
            ));
        }
        _ => {
            return Err(err(
                re.kind.span(),
                format!("`{key}`: use either a bearer token or username and password"),
            ));
        }
    };
    let connect_timeout = duration(
        path,
        src,
        &format!("{key}.connect_timeout"),
        &re.connect_timeout,
        DEFAULT_CONNECT_TIMEOUT,
    )?;
    if let (Some(q), EndpointKind::Http) = (&re.query_timeout, kind) {
        return Err(err(
            q.span(),
            format!("`{key}.query_timeout` applies to redis, mysql and kubernetes endpoints"),
        ));
    }
    let query_timeout = duration(
        path,
        src,
        &format!("{key}.query_timeout"),
        &re.query_timeout,
        DEFAULT_QUERY_TIMEOUT,
    )?;
    Ok(Endpoint {
        name: name.to_owned(),
        kind,
        urls,
        tls,
        auth,
        connect_timeout,
        query_timeout,
        kube: None,
    })
}

/// A `kubernetes` endpoint: a kubeconfig (`kubeconfig`, default `$KUBECONFIG` or
/// `~/.kube/config`, and `context`) or `in_cluster = true`. The API server URL
/// is read from it; credentials stay in the kubeconfig and the `kube` client.
fn kube_endpoint(
    path: &Path,
    src: &str,
    dir: &Path,
    key: &str,
    name: &str,
    re: RawEndpoint,
) -> Result<Endpoint, ConfigError> {
    let err = |span: std::ops::Range<usize>, msg: String| ConfigError::at(path, src, span, msg);
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
        return Err(err(
            span,
            format!(
                "`{key}.{field}`: a kubernetes endpoint takes its server, CA and credentials from `kubeconfig` (and `context`) or `in_cluster = true`"
            ),
        ));
    }
    if re.username.is_some() {
        return Err(err(
            re.kind.span(),
            format!(
                "`{key}.username`: a kubernetes endpoint takes its user from the kubeconfig context"
            ),
        ));
    }
    let in_cluster = re.in_cluster.as_ref().is_some_and(|v| *v.get_ref());
    let source = match (in_cluster, &re.kubeconfig) {
        (true, Some(k)) => {
            return Err(err(
                k.span(),
                format!("`{key}`: give `kubeconfig` or `in_cluster = true`, not both"),
            ));
        }
        (true, None) => KubeSource::InCluster,
        (false, k) => {
            let file = match k {
                Some(k) => resolve_path(dir, k.get_ref()),
                None => default_kubeconfig().ok_or_else(|| {
                    err(
                        re.kind.span(),
                        format!(
                            "`{key}`: no `kubeconfig` given, and neither KUBECONFIG nor HOME is set"
                        ),
                    )
                })?,
            };
            KubeSource::Kubeconfig {
                path: file,
                context: re.context.as_ref().map(|c| c.get_ref().clone()),
            }
        }
    };
    let span = re
        .kubeconfig
        .as_ref()
        .or(re.context.as_ref())
        .map_or(re.kind.span(), |v| v.span());
    let server = source
        .server_url()
        .map_err(|m| err(span.clone(), format!("`{key}`: {m}")))?;
    let url: http::Uri = server
        .parse()
        .map_err(|e| err(span, format!("`{key}`: server URL {server:?}: {e}")))?;
    let timeout = |field: &str, v: &Option<Spanned<String>>, default| {
        duration(path, src, &format!("{key}.{field}"), v, default)
    };
    Ok(Endpoint {
        name: name.to_owned(),
        kind: EndpointKind::Kubernetes,
        urls: vec![url],
        tls: None,
        auth: None,
        connect_timeout: timeout(
            "connect_timeout",
            &re.connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
        )?,
        query_timeout: timeout("query_timeout", &re.query_timeout, DEFAULT_QUERY_TIMEOUT)?,
        kube: Some(source),
    })
}

/// `$KUBECONFIG` (its first file), else `~/.kube/config`, as kubectl does.
fn default_kubeconfig() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        return std::env::split_paths(&k).next();
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config"))
}

/// Configurations written from text and loaded in-process, for unit tests.
#[cfg(any(test, feature = "fixture"))]
pub mod fixture {
    use super::{Config, ConfigError};

    /// Write `vitals.toml` (`main`) and `checks.d/<name>.toml` for each check
    /// into a new directory and load it. The directory lives as long as the
    /// returned guard.
    pub fn load(
        main: &str,
        checks: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<Config, ConfigError>) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("vitals.toml"), main).expect("write vitals.toml");
        std::fs::create_dir_all(dir.path().join("checks.d")).expect("checks.d");
        for (name, text) in checks {
            std::fs::write(dir.path().join(format!("checks.d/{name}.toml")), text)
                .expect("write check");
        }
        let loaded = Config::load(dir.path());
        (dir, loaded)
    }
}
