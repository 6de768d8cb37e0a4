//! What `vitals serve` keeps: the current configuration (a [`Generation`]), one
//! [`Slot`] per (check x cluster) with its latest result, and the runner's
//! metrics. Scrapes read the latest results under short locks that runs never hold
//! while running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::Digest;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use vitals_core::config::{Check, Cluster, Config};
use vitals_core::grants::KubeSource;
use vitals_core::plan::{self, PlannedRun, Shard};
use vitals_core::report::{CheckResult, Status};
use vitals_render::metrics::RunnerMetrics;
use vitals_runtime::capabilities::{self, Clients};
use vitals_runtime::engine::Engine;
use vitals_runtime::runner::{self, Plugins, compile_times};

/// One scheduled (check x cluster) pair.
pub struct Slot {
    pub run: PlannedRun,
    pub plugin: Option<runner::Loaded>,
    /// Digest of everything that makes a result (check settings, endpoints, plugin).
    fingerprint: String,
    latest: RwLock<Option<CheckResult>>,
    consecutive_failures: AtomicU64,
    /// Held for the whole of a run: never two runs of the pair at once.
    running: tokio::sync::Mutex<()>,
    task: Mutex<Option<AbortHandle>>,
}

impl Slot {
    /// The latest result, if the pair has run.
    pub fn latest(&self) -> Option<CheckResult> {
        self.latest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Results worse than ok in a row, up to the latest.
    pub fn consecutive_failures(&self) -> u64 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// One loaded configuration with its plugins and slots.
pub struct Generation {
    pub cfg: Config,
    pub plugins: Plugins,
    /// The connections this configuration's runs share.
    clients: Clients,
    /// Scheduled pairs in plan order.
    pub slots: Vec<Arc<Slot>>,
    permits: Arc<Semaphore>,
}

impl Generation {
    /// The slot of a pair.
    pub fn slot(&self, check: &str, cluster: &str) -> Option<&Arc<Slot>> {
        self.slots
            .iter()
            .find(|s| s.run.check.name == check && s.run.cluster.name == cluster)
    }

    /// The latest results, in plan order.
    pub fn results(&self) -> Vec<CheckResult> {
        self.slots.iter().filter_map(|s| s.latest()).collect()
    }
}

/// The outcome of the last (re)load, for `/metrics` (the log says why it failed).
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    pub successful: bool,
    /// Unix time of the last successful load.
    pub success_at: f64,
}

/// The state of `vitals serve`.
pub struct Service {
    pub engine: Arc<Engine>,
    config_path: PathBuf,
    /// This replica's share of the pairs.
    pub shard: Shard,
    pub runner: RunnerMetrics,
    current: RwLock<Arc<Generation>>,
    pub reload_status: Mutex<ReloadStatus>,
    /// `/metrics` as last rendered; told of every change it shows.
    pub exposition: super::exposition::Cache,
    /// Serialises reloads.
    reloading: tokio::sync::Mutex<()>,
}

/// Why a configuration could not be (re)loaded: the configuration error, or every
/// plugin and parameter problem, one per line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadProblem(String);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Service {
    /// Start scheduling `cfg`, loaded from `config_path` (reloads read it again).
    /// Plugins that fail to load are reported as `unknown` results (there is no
    /// older configuration to keep); a parameter error is returned.
    pub async fn start(
        engine: Arc<Engine>,
        config_path: &Path,
        cfg: Config,
        shard: Shard,
    ) -> Result<Arc<Service>, LoadProblem> {
        let plugins = load_plugins(&engine, &cfg, false).await?;
        let service = Arc::new(Service {
            engine,
            config_path: config_path.to_owned(),
            shard,
            runner: RunnerMetrics::default(),
            current: RwLock::new(Arc::new(Generation {
                cfg: Config {
                    dir: PathBuf::new(),
                    plugin_dir: PathBuf::new(),
                    cache_dir: None,
                    concurrency: 1,
                    clusters: BTreeMap::new(),
                    checks: Vec::new(),
                },
                plugins: Plugins::new(),
                clients: Clients::default(),
                slots: Vec::new(),
                permits: Arc::new(Semaphore::new(1)),
            })),
            reload_status: Mutex::new(ReloadStatus::default()),
            exposition: Default::default(),
            reloading: tokio::sync::Mutex::new(()),
        });
        service.install(cfg, plugins);
        Ok(service)
    }

    /// The current generation.
    pub fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reload the configuration (SIGHUP). On any problem (configuration, plugin,
    /// parameters) the old configuration stays in force and the error is returned.
    pub async fn reload(self: &Arc<Self>) -> Result<(), LoadProblem> {
        let _one_at_a_time = self.reloading.lock().await;
        let loaded = match Config::load(&self.config_path) {
            Ok(cfg) => load_plugins(&self.engine, &cfg, true)
                .await
                .map(|plugins| (cfg, plugins)),
            Err(e) => Err(LoadProblem(e.to_string())),
        };
        match loaded {
            Ok((cfg, plugins)) => {
                self.install(cfg, plugins);
                Ok(())
            }
            Err(e) => {
                self.reload_status
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .successful = false;
                self.exposition.changed();
                Err(e)
            }
        }
    }

    /// Make `cfg` current: pairs whose definition is unchanged keep their latest
    /// result, failure count and cadence; the others start afresh; pairs no longer
    /// configured stop.
    fn install(self: &Arc<Self>, cfg: Config, plugins: Plugins) {
        let old = self.current();
        let runs: Vec<PlannedRun> = plan::plan(&cfg, &[], &[])
            .unwrap_or_default()
            .into_iter()
            .filter(|r| self.shard.owns(&r.check.name, &r.cluster.name))
            .collect();
        let mut slots = Vec::with_capacity(runs.len());
        let mut clusters: BTreeMap<String, String> = BTreeMap::new();
        for run in runs {
            let plugin = plugins.get(&run.check.plugin).cloned();
            let digest = match &plugin {
                Some(Ok(p)) => p.digest.as_str(),
                _ => "",
            };
            let cluster = clusters
                .entry(run.cluster.name.clone())
                .or_insert_with(|| cluster_fingerprint(&run.cluster));
            let fingerprint = fingerprint(&run.check, cluster, digest);
            let previous = old
                .slot(&run.check.name, &run.cluster.name)
                .filter(|s| s.fingerprint == fingerprint);
            let (latest, failures) =
                previous.map_or((None, 0), |s| (s.latest(), s.consecutive_failures()));
            slots.push(Arc::new(Slot {
                run,
                plugin,
                fingerprint,
                latest: RwLock::new(latest),
                consecutive_failures: AtomicU64::new(failures),
                running: tokio::sync::Mutex::new(()),
                task: Mutex::new(None),
            }));
        }
        self.runner.set_compile(compile_times(&plugins));
        let generation = Arc::new(Generation {
            permits: Arc::new(Semaphore::new(cfg.concurrency)),
            clients: Clients::new(&cfg),
            cfg,
            plugins,
            slots,
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = generation.clone();
        for slot in &old.slots {
            slot.stop();
        }
        for slot in &generation.slots {
            let task = tokio::spawn(schedule(self.clone(), generation.clone(), slot.clone()));
            *slot.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
        }
        *self.reload_status.lock().unwrap_or_else(|e| e.into_inner()) = ReloadStatus {
            successful: true,
            success_at: now(),
        };
        self.exposition.changed();
        let share = if self.shard.count > 1 {
            format!(" (shard {}'s share)", self.shard)
        } else {
            String::new()
        };
        tracing::info!(
            "configuration loaded: {} checks, {} clusters, {} pairs scheduled{share}",
            generation.cfg.checks.len(),
            generation.cfg.clusters.len(),
            generation.slots.len()
        );
    }

    /// Stop every scheduled run.
    pub fn stop(&self) {
        for slot in &self.current().slots {
            slot.stop();
        }
    }

    /// Run a slot now, unless a run of the pair is already under way: then wait for
    /// it and return its result. Either way the result is the pair's latest.
    pub async fn run_slot(&self, generation: &Generation, slot: &Slot) -> CheckResult {
        let _running = match slot.running.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let guard = slot.running.lock().await;
                if let Some(latest) = slot.latest() {
                    return latest;
                }
                guard
            }
        };
        let result = {
            let _permit = generation.permits.acquire().await;
            runner::run_with_retries(
                &self.engine,
                &generation.clients,
                slot.plugin.clone(),
                &slot.run,
                None,
            )
            .await
        };
        self.runner.observe(&result);
        if result.status == Status::Ok {
            slot.consecutive_failures.store(0, Ordering::Relaxed);
        } else {
            slot.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        }
        *slot.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(result.clone());
        self.exposition.changed();
        result
    }

    /// Run a pair that has no slot (a disabled check named by `/probe`), once.
    pub async fn run_unscheduled(&self, generation: &Generation, run: &PlannedRun) -> CheckResult {
        let _permit = generation.permits.acquire().await;
        let plugin = generation.plugins.get(&run.check.plugin).cloned();
        let result =
            runner::run_with_retries(&self.engine, &generation.clients, plugin, run, None).await;
        self.runner.observe(&result);
        self.exposition.changed();
        result
    }
}

/// Load the plugins of a configuration and check each check's parameters against
/// its plugin. With `strict`, a plugin that fails to load is a problem too.
async fn load_plugins(
    engine: &Arc<Engine>,
    cfg: &Config,
    strict: bool,
) -> Result<Plugins, LoadProblem> {
    let plugins = runner::load_plugins(engine, &cfg.checks).await;
    let mut problems = Vec::new();
    for e in plugins.values().filter_map(|l| l.as_ref().err()) {
        if strict {
            problems.push(e.to_string());
        } else {
            tracing::error!("{e}");
        }
    }
    for check in &cfg.checks {
        if let Some(Ok(plugin)) = plugins.get(&check.plugin)
            && let Err(e) = vitals_core::schema::check_params(check, &plugin.info)
        {
            problems.push(e.to_string());
        }
    }
    if problems.is_empty() {
        Ok(plugins)
    } else {
        Err(LoadProblem(problems.join("\n")))
    }
}

/// A digest of what determines a pair's result: the check's settings (limits,
/// params, every grant kind), its cluster's part ([`cluster_fingerprint`]), and
/// the plugin.
fn fingerprint(check: &Check, cluster: &str, plugin_digest: &str) -> String {
    let mut text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{cluster}|{plugin_digest}",
        check.plugin,
        check.pin,
        check.timeout,
        check.interval,
        check.retries,
        check.retry_delay,
        check.memory_limit,
        check.output_limit,
        check.grants,
        check.params,
    );
    for (capability, part) in capabilities::fingerprint(check) {
        text.push_str(&format!("|{capability}:{part}"));
    }
    digest(text.as_bytes())
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A cluster's part of its pairs' fingerprints, made once per cluster: its
/// endpoints (addresses, credential references, and digests of the secrets,
/// kubeconfigs and TLS files they hold, so that a rotated credential re-runs the
/// check).
fn cluster_fingerprint(cluster: &Cluster) -> String {
    let mut text = format!("{:?}", cluster.endpoints);
    for (name, endpoint) in &cluster.endpoints {
        for secret in endpoint.secrets() {
            text.push_str(&format!("|{name} secret:{}", digest(secret.as_bytes())));
        }
        if let Some(KubeSource::Kubeconfig { path, .. }) = &endpoint.kube {
            let content = std::fs::read(path).unwrap_or_default();
            text.push_str(&format!("|{name} kubeconfig:{}", digest(&content)));
        }
        // The TLS files as loaded (a CA or client certificate rotated in place).
        if let Some(tls) = &endpoint.tls {
            let pem = &tls.pem;
            let mut files = vec![pem.ca.as_deref().unwrap_or_default()];
            if let Some((cert, key)) = &pem.client {
                files.extend([cert.as_slice(), key.as_slice()]);
            }
            for (i, file) in files.into_iter().enumerate() {
                text.push_str(&format!("|{name} tls{i}:{}", digest(file)));
            }
        }
    }
    digest(text.as_bytes())
}

/// Run a slot on its interval until aborted. The first run comes after a random
/// offset (within a tenth of the interval, at most 10 s) so that checks do not
/// start together, or one interval after an inherited result; each later run one
/// interval (±5 %) after the previous one started.
async fn schedule(service: Arc<Service>, generation: Arc<Generation>, slot: Arc<Slot>) {
    let interval = slot.run.check.interval;
    let first = match slot.latest() {
        Some(r) => {
            let since = (now() - r.started_at).max(0.0);
            interval.saturating_sub(Duration::from_secs_f64(since))
        }
        None => (interval / 10)
            .min(Duration::from_secs(10))
            .mul_f64(fastrand::f64()),
    };
    tokio::time::sleep(first).await;
    loop {
        let started = tokio::time::Instant::now();
        service.run_slot(&generation, &slot).await;
        let next = interval.mul_f64(0.95 + 0.1 * fastrand::f64());
        tokio::time::sleep_until(started + next).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::fixture;

    /// A cluster with an http endpoint `api` and a kubernetes endpoint `k8s`
    /// (whose kubeconfig lives as long as the returned file).
    fn main() -> (tempfile::NamedTempFile, String) {
        let kubeconfig = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            kubeconfig.path(),
            "current-context: a\ncontexts: [{name: a, context: {cluster: a}}]\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:6443'}}]\n",
        )
        .unwrap();
        let main = format!(
            "[clusters.a.endpoints.api]\nkind = \"http\"\nurls = [\"http://127.0.0.1:9\"]\n[clusters.a.endpoints.k8s]\nkind = \"kubernetes\"\nkubeconfig = {:?}\n",
            kubeconfig.path().display().to_string()
        );
        (kubeconfig, main)
    }

    /// The fingerprint of the only check of a configuration with `check` as its file.
    fn of(main: &str, check: &str) -> String {
        let (_dir, cfg) = fixture::load(main, &[("c", check)]);
        let cfg = cfg.expect("configuration loads");
        let check = &cfg.checks[0];
        fingerprint(check, &cluster_fingerprint(&cfg.clusters["a"]), "digest")
    }

    #[test]
    fn a_reload_that_changes_any_grant_kind_changes_the_fingerprint() {
        let (_kubeconfig, main) = main();
        let base = "plugin = \"/plugins/x.wasm\"\n[grants]\nendpoints = [\"api\", \"k8s\"]\n";
        let same = of(&main, base);
        assert_eq!(
            same,
            of(&main, base),
            "the same configuration, the same fingerprint"
        );
        let changed = [
            (
                "endpoints",
                "plugin = \"/plugins/x.wasm\"\n[grants]\nendpoints = []\n".to_string(),
            ),
            ("kubernetes", format!("{base}kubernetes = [\"nodes\"]\n")),
            (
                "net tcp",
                format!("{base}[grants.net]\ntcp = [\"10.0.0.0/24\"]\n"),
            ),
            (
                "net arp",
                format!("{base}[grants.net]\narp = [\"10.0.0.0/24\"]\n"),
            ),
            (
                "net timeout",
                format!("{base}[grants.net]\ntimeout = \"3s\"\n"),
            ),
            ("params", format!("{base}[params]\nx = 1\n")),
            ("timeout", format!("timeout = \"7s\"\n{base}")),
            ("memory_limit", format!("memory_limit = \"32MiB\"\n{base}")),
            ("retries", format!("retries = 2\n{base}")),
            ("pin", format!("sha256 = \"{}\"\n{base}", "0".repeat(64))),
        ];
        for (what, check) in changed {
            assert_ne!(same, of(&main, &check), "{what}");
        }
        let endpoint = main.replace("127.0.0.1:9", "127.0.0.1:10");
        assert_ne!(same, of(&endpoint, base), "endpoint URL");
    }

    #[test]
    fn a_rotated_credential_changes_the_fingerprint() {
        let (kubeconfig, main) = main();
        let token = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(token.path(), "first-token").unwrap();
        let main = main.replacen(
            "urls = [\"http://127.0.0.1:9\"]\n",
            &format!(
                "urls = [\"http://127.0.0.1:9\"]\nbearer_token_file = {:?}\n",
                token.path().display().to_string()
            ),
            1,
        );
        let check = "plugin = \"/plugins/x.wasm\"\n[grants]\nendpoints = [\"api\", \"k8s\"]\n";
        let first = of(&main, check);
        assert_eq!(first, of(&main, check));
        std::fs::write(token.path(), "second-token").unwrap();
        let rotated = of(&main, check);
        assert_ne!(first, rotated, "a new token in the same file");
        let mut text = std::fs::read_to_string(kubeconfig.path()).unwrap();
        text.push_str("users: [{name: u, user: {token: rotated}}]\n");
        std::fs::write(kubeconfig.path(), text).unwrap();
        assert_ne!(rotated, of(&main, check), "a kubeconfig rewritten in place");
    }

    #[test]
    fn a_rotated_ca_file_changes_the_fingerprint() {
        // Two real CA certificates: the system's bundle (Debian's ca-certificates).
        let bundle = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt")
            .expect("Debian's ca-certificates");
        let certs: Vec<&str> = bundle
            .split_inclusive("-----END CERTIFICATE-----\n")
            .filter(|c| c.contains("BEGIN CERTIFICATE"))
            .collect();
        assert!(certs.len() >= 2, "{bundle}");
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), certs[0]).unwrap();
        let main = format!(
            "[clusters.a.endpoints.api]\nkind = \"http\"\nurls = [\"https://127.0.0.1:9\"]\nca_file = {:?}\n",
            ca.path().display().to_string()
        );
        let check = "plugin = \"/plugins/x.wasm\"\n[grants]\nendpoints = [\"api\"]\n";
        let first = of(&main, check);
        assert_eq!(first, of(&main, check));
        std::fs::write(ca.path(), certs[1]).unwrap();
        assert_ne!(first, of(&main, check), "a new CA in the same file");
    }
}
