//! The runner: loads the plugins a plan needs, then runs every (check x cluster)
//! pair in parallel on tokio, bounded by the configured concurrency. Every run
//! yields a result, whatever happened to the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::capabilities::{Clients, Gates, RunGrants};
use crate::contract;
use crate::engine::{Engine, LoadError, LoadedPlugin, RunLimits};
use crate::sandbox::RunState;
use crate::tape::Tape;
use vitals_core::cassette::{self, Cassette, EndpointRef, RunRef};
use vitals_core::config::{Check, Endpoint, Pin};
use vitals_core::plan::PlannedRun;
use vitals_core::report::{CheckResult, Failure, Status};

/// A plugin as loading left it: loaded, or why not.
pub type Loaded = Result<Arc<LoadedPlugin>, Arc<LoadError>>;

/// Plugins by file, each loaded once.
pub type Plugins = BTreeMap<PathBuf, Loaded>;

/// The name and compile (or cache load) seconds of each plugin that loaded.
pub fn compile_times(plugins: &Plugins) -> impl Iterator<Item = (&str, f64)> {
    plugins
        .values()
        .filter_map(|l| l.as_ref().ok())
        .map(|p| (p.info.name.as_str(), p.compile_seconds))
}

/// Load (compile or fetch from the cache) every plugin the runs need, in
/// parallel; a file whose digest is not the one a check pins is refused.
pub async fn load_plugins(engine: &Arc<Engine>, checks: &[Arc<Check>]) -> Plugins {
    let mut pins: BTreeMap<PathBuf, Vec<Pin>> = BTreeMap::new();
    for c in checks {
        let pins = pins.entry(c.plugin.clone()).or_default();
        pins.extend(c.pin.clone());
    }
    let mut set = JoinSet::new();
    for (path, pins) in pins {
        let engine = engine.clone();
        set.spawn(async move {
            let loaded = engine
                .load_pinned(&path, pins)
                .await
                .map(Arc::new)
                .map_err(Arc::new);
            (path, loaded)
        });
    }
    let mut out = Plugins::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((path, loaded)) = joined {
            out.insert(path, loaded);
        }
    }
    out
}

/// Run every planned pair with at most `concurrency` at once; results come back in
/// plan order. With `record`, each run's capability calls are written to a
/// cassette in that directory.
pub async fn run_all(
    engine: &Arc<Engine>,
    clients: &Clients,
    plugins: &Plugins,
    runs: &[PlannedRun],
    concurrency: usize,
    record: Option<&Path>,
) -> Vec<CheckResult> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut set = JoinSet::new();
    for (i, run) in runs.iter().enumerate() {
        let (engine, clients) = (engine.clone(), clients.clone());
        let (permits, run) = (permits.clone(), run.clone());
        let plugin = plugins.get(&run.check.plugin).cloned();
        let record = record.map(Path::to_path_buf);
        set.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            (
                i,
                run_with_retries(&engine, &clients, plugin, &run, record.as_deref()).await,
            )
        });
    }
    let mut results: Vec<Option<CheckResult>> = vec![None; runs.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => results[i] = Some(r),
            Err(e) => tracing::error!("a run task failed: {e}"),
        }
    }
    results
        .into_iter()
        .zip(runs)
        .map(|(r, run)| {
            r.unwrap_or_else(|| {
                CheckResult::failed(
                    &run.check.name,
                    &run.cluster.name,
                    "",
                    Failure::Trap,
                    "the run's task ended abnormally".into(),
                )
            })
        })
        .collect()
}

/// Run one pair, re-running it up to the check's `retries` times (after its
/// `retry_delay`) while the result is worse than ok. Returns the last result, with
/// every attempt's outcome and the duration of all of them.
pub async fn run_with_retries(
    engine: &Engine,
    clients: &Clients,
    plugin: Option<Loaded>,
    run: &PlannedRun,
    record: Option<&Path>,
) -> CheckResult {
    let started = Instant::now();
    let mut result = run_one(engine, clients, plugin.clone(), run, record).await;
    let first_started_at = result.started_at;
    let retryable = !matches!(plugin, None | Some(Err(_)));
    while retryable
        && result.status != Status::Ok
        && result.attempts.len() <= run.check.retries as usize
    {
        tracing::info!(
            check = %run.check.name, cluster = %run.cluster.name,
            "{} ({}); retrying in {:?}", result.status, result.summary, run.check.retry_delay
        );
        tokio::time::sleep(run.check.retry_delay).await;
        let mut attempts = std::mem::take(&mut result.attempts);
        result = run_one(engine, clients, plugin.clone(), run, record).await;
        attempts.append(&mut result.attempts);
        result.attempts = attempts;
    }
    result.started_at = first_started_at;
    result.duration_seconds = started.elapsed().as_secs_f64();
    result
}

/// Run one (check x cluster) pair once, in a fresh sandbox; with `record`, write
/// its cassette into that directory.
pub async fn run_one(
    engine: &Engine,
    clients: &Clients,
    plugin: Option<Loaded>,
    run: &PlannedRun,
    record: Option<&Path>,
) -> CheckResult {
    let (check, cluster) = (&run.check, &run.cluster);
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let started = Instant::now();
    let not_loaded = |message: String| {
        let file_stem = check.plugin.file_stem().unwrap_or_default();
        let name = file_stem.to_string_lossy();
        CheckResult::failed(&check.name, &cluster.name, &name, Failure::Load, message)
    };
    let mut result = match plugin {
        None => not_loaded("plugin not loaded".into()),
        Some(Err(e)) => not_loaded(e.to_string()),
        Some(Ok(plugin)) => run_loaded(engine, clients, &plugin, run, record, started_at).await,
    };
    result.started_at = started_at;
    result.duration_seconds = started.elapsed().as_secs_f64();
    result
}

/// Run a loaded plugin on a pair, granted what its check grants in its cluster.
async fn run_loaded(
    engine: &Engine,
    clients: &Clients,
    plugin: &LoadedPlugin,
    run: &PlannedRun,
    record: Option<&Path>,
    started_at: f64,
) -> CheckResult {
    let (check, cluster) = (&run.check, &run.cluster);
    let granted: Vec<_> = check
        .grants
        .iter()
        .filter_map(|g| cluster.endpoints.get(g).cloned())
        .collect();
    let run_ref = RunRef {
        check: check.name.clone(),
        cluster: cluster.name.clone(),
        params: check.params.clone(),
        endpoints: granted.iter().map(|e| endpoint_ref(e)).collect(),
    };
    let redactor = clients.redactor();
    let gates = Gates::new(&RunGrants {
        check,
        cluster: &cluster.name,
        endpoints: &granted,
        clients,
        redactor: &redactor,
    });
    let mut state = RunState::new(gates, check.memory_limit, check.output_limit);
    let calls = record.map(|_| Arc::new(Mutex::new(Vec::new())));
    if let Some(calls) = &calls {
        state.set_tape(Tape::record(calls.clone(), redactor.clone()), None);
    }
    let limits = RunLimits {
        timeout: check.timeout,
        memory_limit: check.memory_limit,
        output_limit: check.output_limit,
    };
    let outcome = engine
        .run(plugin, state, limits, contract::run_input(&run_ref))
        .await;
    if let Err(f) = &outcome.report {
        let message = redactor.text(&f.message);
        tracing::warn!(check = %check.name, cluster = %cluster.name, "run failed: {message}");
    }
    let result = outcome.into_result(&check.name, &cluster.name, &plugin.info.name, &redactor);
    if let (Some(dir), Some(calls)) = (record, calls) {
        let calls = std::mem::take(&mut *calls.lock().expect("tape lock"));
        let cassette = Cassette::of_run(plugin_ref(plugin), run_ref, started_at, &result, calls);
        let path = dir.join(cassette::file_name(&check.name, &cluster.name));
        if let Err(e) = std::fs::write(&path, cassette.to_text(&redactor)) {
            tracing::error!("cannot write the cassette {}: {e}", path.display());
        }
    }
    result
}

/// A granted endpoint as the plugin sees it: name, kind and URLs, no credentials.
fn endpoint_ref(e: &Endpoint) -> EndpointRef {
    EndpointRef {
        name: e.name.clone(),
        kind: e.kind.as_str().into(),
        urls: e
            .urls
            .iter()
            .map(|u| u.to_string().trim_end_matches('/').to_string())
            .collect(),
    }
}

/// The plugin a cassette is recorded with.
fn plugin_ref(plugin: &LoadedPlugin) -> cassette::PluginRef {
    cassette::PluginRef {
        name: plugin.info.name.clone(),
        version: plugin.info.version.clone(),
        file: plugin
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}
