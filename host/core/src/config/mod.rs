//! Configuration: `vitals.toml` (plugins, limits, clusters and their endpoints) and
//! `checks.d/*.toml` (one check per file). Unknown keys are errors, and every error
//! names the file, the line and the key.
//!
//! The files are read as written (`raw`), then validated: `[defaults]`
//! (`defaults`), each endpoint by the module of its kind (`endpoint`), each
//! check (`check`) and its parameters (`params`); `source` locates errors.

mod check;
mod defaults;
mod endpoint;
mod params;
mod raw;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use crate::grants::{KubeSource, NetGrants, ResourceGrant};
use crate::secrets::{RedactorBuilder, Secret};
use crate::tls::TlsMaterial;
use defaults::CheckDefaults;
use raw::{RawCluster, RawMain};
use source::Source;

pub use params::load_params;

/// A configuration error located in a file.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    /// An error about a whole file (no line).
    fn file(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_owned(),
            line: None,
            message: message.into(),
        }
    }
}

/// A check's parameters, as JSON values.
pub type Params = serde_json::Map<String, serde_json::Value>;

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
    Dns,
}

impl EndpointKind {
    /// The name used in configuration and in the WIT `endpoint.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Http => "http",
            EndpointKind::Redis => "redis",
            EndpointKind::Mysql => "mysql",
            EndpointKind::Kubernetes => "kubernetes",
            EndpointKind::Dns => "dns",
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
    /// Add the endpoint's secrets to those redacted from everything a plugin
    /// gets and reports.
    pub fn add_secrets(&self, secrets: &mut RedactorBuilder) {
        match &self.auth {
            Some(Auth::Basic { username, password }) => {
                secrets.basic(username, password.expose());
            }
            Some(Auth::Bearer(s) | Auth::Password(s)) => {
                secrets.secret(s.expose());
            }
            Some(Auth::User(_)) | None => {}
        }
    }

    /// The endpoint's secret values.
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
    /// The plugin file's pin: a file with another digest is refused.
    pub pin: Option<Pin>,
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

/// A pin on a plugin file (`sha256` in a check): the digest it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// The check file that says so.
    pub file: PathBuf,
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
/// `concurrency` when absent: runs wait mostly on the network, and 1,000 runs
/// against far-away clusters (50 to 200 ms) finish soonest from 64 to 256 at
/// once on two cores, 128 never far off (`benches/fleet-scale`).
pub const DEFAULT_CONCURRENCY: usize = 128;
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

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

impl Config {
    /// Load `DIR/vitals.toml` and `DIR/checks.d/*.toml`. `path` may also name the
    /// `vitals.toml` file itself.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let (dir, main_path) = if path.is_dir() {
            (path.to_owned(), path.join("vitals.toml"))
        } else {
            let dir = path.parent().map_or_else(|| ".".into(), Path::to_owned);
            (dir, path.to_owned())
        };
        let src = Source::read(&main_path, "cannot read configuration")?;
        let raw: RawMain = src.parse()?;
        let defaults = CheckDefaults::load(&src, &raw.defaults)?;
        let mut cfg = Config {
            concurrency: concurrency(&src, raw.concurrency.as_ref())?,
            plugin_dir: plugin_dir(&dir, raw.plugin_dir.as_ref()),
            cache_dir: cache_dir(&dir, raw.cache_dir.as_ref()),
            clusters: clusters(&src, &dir, raw.clusters)?,
            checks: Vec::new(),
            dir,
        };
        let mut checks: Vec<Check> = Vec::new();
        for file in check_files(&cfg.dir)? {
            let check = cfg.load_check(&file, &defaults)?;
            if let Some(other) = checks.iter().find(|c| c.name == check.name) {
                return Err(ConfigError::file(
                    &file,
                    format!(
                        "check name {:?} is already used by {}",
                        check.name,
                        other.file.display()
                    ),
                ));
            }
            checks.push(check);
        }
        share_pins(&mut checks)?;
        cfg.checks = checks.into_iter().map(Arc::new).collect();
        Ok(cfg)
    }
}

/// A pin is on the plugin file: every check that runs a pinned file gets its pin
/// (so that a check selected alone cannot run it unverified), and two checks
/// that pin one file differently are an error naming both.
fn share_pins(checks: &mut [Check]) -> Result<(), ConfigError> {
    let mut pins: BTreeMap<PathBuf, Pin> = BTreeMap::new();
    for c in checks.iter() {
        let Some(pin) = &c.pin else { continue };
        match pins.get(&c.plugin) {
            Some(other) if other.sha256 != pin.sha256 => {
                return Err(ConfigError::file(
                    &c.file,
                    format!(
                        "`sha256`: {} is pinned to {} by {}, here to {}",
                        c.plugin.display(),
                        other.sha256,
                        other.file.display(),
                        pin.sha256
                    ),
                ));
            }
            Some(_) => {}
            None => {
                pins.insert(c.plugin.clone(), pin.clone());
            }
        }
    }
    for c in checks.iter_mut() {
        c.pin = pins.get(&c.plugin).cloned();
    }
    Ok(())
}

/// `concurrency`: 1 to [`MAX_CONCURRENCY`], [`DEFAULT_CONCURRENCY`] when absent.
fn concurrency(src: &Source, v: Option<&Spanned<usize>>) -> Result<usize, ConfigError> {
    match v {
        Some(c) if *c.get_ref() == 0 || *c.get_ref() > MAX_CONCURRENCY => Err(src.error(
            c.span(),
            format!("`concurrency` must be between 1 and {MAX_CONCURRENCY}"),
        )),
        Some(c) => Ok(*c.get_ref()),
        None => Ok(DEFAULT_CONCURRENCY),
    }
}

/// `plugin_dir`, else the environment (a container image's defaults), else `plugins`.
fn plugin_dir(dir: &Path, v: Option<&Spanned<String>>) -> PathBuf {
    let env_plugin_dir = std::env::var(PLUGIN_DIR_ENV).ok().filter(|d| !d.is_empty());
    resolve_path(
        dir,
        v.map(|s| s.get_ref().as_str())
            .or(env_plugin_dir.as_deref())
            .unwrap_or("plugins"),
    )
}

/// `cache_dir` (empty: no cache), else [`default_cache_dir`].
fn cache_dir(dir: &Path, v: Option<&Spanned<String>>) -> Option<PathBuf> {
    match v {
        Some(s) if s.get_ref().is_empty() => None,
        Some(s) => Some(resolve_path(dir, s.get_ref())),
        None => default_cache_dir(),
    }
}

/// `[clusters.NAME]` with their endpoints.
fn clusters(
    src: &Source,
    dir: &Path,
    raw: BTreeMap<Spanned<String>, RawCluster>,
) -> Result<BTreeMap<String, Arc<Cluster>>, ConfigError> {
    let mut clusters = BTreeMap::new();
    for (name, rc) in raw {
        let mut endpoints = BTreeMap::new();
        for (ename, re) in rc.endpoints {
            let key = format!("clusters.{}.endpoints.{}", name.get_ref(), ename.get_ref());
            let ep = endpoint::load(src, dir, &key, ename.get_ref(), re.get_ref())?;
            endpoints.insert(ename.into_inner(), Arc::new(ep));
        }
        let name = name.into_inner();
        let cluster = Cluster {
            name: name.clone(),
            description: rc.description,
            endpoints,
        };
        clusters.insert(name, Arc::new(cluster));
    }
    Ok(clusters)
}

/// `checks.d/*.toml`, sorted; none when there is no `checks.d`.
fn check_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
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
    Ok(files)
}

/// `p`, relative to `base` unless absolute.
fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

/// Configurations written from text and loaded in-process, for the tests of
/// every crate (not used by vitals itself).
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

#[cfg(test)]
mod tests;
