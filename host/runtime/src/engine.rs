//! The engine: one shared wasmtime `Engine` and `Linker`, a compile cache on disk,
//! one `InstancePre` per plugin, and a fresh sandboxed `Store` per run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Store, Trap, UpdateDeadline};

use crate::capabilities::{self, Gates};
use crate::contract::{self, CheckPre, Report, RunInput};
use crate::sandbox::RunState;
use vitals_core::config::Pin;
use vitals_core::report::{CheckResult, Failure, PluginReport};
use vitals_core::schema::PluginDescription;
use vitals_core::secrets::Redactor;

/// How often the epoch advances; the granularity of run deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A plugin that failed to load, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("plugin {}: {message}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

/// A loaded plugin: compiled, linked, described.
pub struct LoadedPlugin {
    pub path: PathBuf,
    pub pre: CheckPre<RunState>,
    pub info: PluginDescription,
    /// The contract version the plugin was built against.
    pub contract_version: semver::Version,
    /// Whether the compiled code came from the cache.
    pub cached: bool,
    /// Seconds spent compiling (or deserialising from the cache).
    pub compile_seconds: f64,
    /// SHA-256 of the component file, hex.
    pub digest: String,
}

/// Limits for one run.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    pub timeout: Duration,
    pub memory_limit: u64,
    pub output_limit: u64,
}

/// What one run did: the plugin's report or why there is none, and how long the
/// instantiation took (when it got that far).
#[derive(Debug)]
pub struct RunOutcome {
    pub report: Result<Report, NoReport>,
    pub instantiate_seconds: Option<f64>,
}

impl RunOutcome {
    /// The run's result: the plugin's report, bounded and cleaned, or the
    /// failure that ended it, with its captured output; every secret `redactor`
    /// knows redacted (before any text is cut, so no part of one is left).
    pub fn into_result(
        self,
        check: &str,
        cluster: &str,
        plugin: &str,
        redactor: &Redactor,
    ) -> CheckResult {
        let mut result = match self.report {
            Ok(report) => {
                let mut report: PluginReport = report.into();
                report.redact(redactor);
                let mut result = CheckResult::from_report(check, cluster, plugin, report);
                result.redact(redactor);
                result
            }
            Err(f) => {
                let mut r = CheckResult::failed(check, cluster, plugin, f.failure, f.message);
                r.output = f.output;
                r.redact(redactor);
                r
            }
        };
        result.attempts[0].instantiate_seconds = self.instantiate_seconds;
        result
    }
}

/// Why a run ended without a report.
#[derive(Debug)]
pub struct NoReport {
    pub failure: Failure,
    pub message: String,
    pub output: String,
}

/// The shared engine. Cheap to share behind an `Arc`; its ticker thread stops on drop.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<RunState>,
    dirs: crate::cache::Dirs,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Instances, memories and stacks from pools reserved once: a run instantiates
/// in about half the time of on-demand allocation (`benches/host_overhead.rs`),
/// but reserving costs the process about 10 ms at start for a pool sized for
/// 1,024 runs at once. Sized for `runs` runs at once twice over (plugins being
/// loaded, `/probe`), components of several core modules (Python, JavaScript)
/// and memories up to 4 GiB (all a 32-bit memory can be); it reserves address
/// space, not memory.
fn pooling(runs: usize) -> wasmtime::InstanceAllocationStrategy {
    let components = u32::try_from(2 * runs + 8).unwrap_or(u32::MAX / 8);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(components)
        .total_stacks(components)
        .total_core_instances(8 * components)
        .total_memories(2 * components)
        .total_tables(8 * components)
        .max_memories_per_module(2)
        .max_tables_per_module(4)
        .table_elements(100_000)
        // A slot's tables and async stack are zeroed in place up to 64 KiB
        // rather than given back to the kernel and faulted in again by the
        // next run: 56 -> 42.5 µs per run (`benches/host_overhead.rs`, medians
        // of five). Linear memories are not: kept resident they measured slower.
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10);
    wasmtime::InstanceAllocationStrategy::Pooling(pool)
}

impl Engine {
    /// Build the engine and its linker, allocating each instance on demand.
    /// `cache_dir`: where compiled plugins are kept; precompiled ones are also
    /// looked up in `$VITALS_PRECOMPILED_DIR`.
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Engine> {
        Engine::build(cache_dir, None)
    }

    /// [`Engine::new`], instances allocated from pools sized for `runs` runs at
    /// once ([`pooling`]): for many runs. Allocated on demand after all when the
    /// process may not reserve the address space (`ulimit -v`), or with
    /// `VITALS_ALLOCATOR=on-demand`.
    pub fn pooled(cache_dir: Option<PathBuf>, runs: usize) -> anyhow::Result<Engine> {
        let runs =
            (std::env::var("VITALS_ALLOCATOR").as_deref() != Ok("on-demand")).then_some(runs);
        Engine::build(cache_dir, runs)
    }

    fn build(cache_dir: Option<PathBuf>, pooled_runs: Option<usize>) -> anyhow::Result<Engine> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = match pooled_runs {
            None => wasmtime::Engine::new(&config)?,
            Some(runs) => {
                config.allocation_strategy(pooling(runs));
                wasmtime::Engine::new(&config).or_else(|e| {
                    tracing::warn!(
                        "pooling allocator unavailable ({e:#}): instances allocated on demand \
                         (VITALS_ALLOCATOR=on-demand skips the attempt)"
                    );
                    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
                    wasmtime::Engine::new(&config)
                })?
            }
        };

        let mut linker = Linker::<RunState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        capabilities::add_to_linker(&mut linker)?;

        // The epoch ticker runs on its own thread, off the async executor.
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("vitals-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    e.increment_epoch();
                }
            })?;
        Ok(Engine {
            engine,
            linker,
            dirs: crate::cache::Dirs::new(cache_dir),
            stop_ticker: stop,
        })
    }

    /// Write a loaded plugin's compiled code into `dir` for
    /// `$VITALS_PRECOMPILED_DIR` (see [`crate::cache::export`]).
    pub fn export(&self, plugin: &LoadedPlugin, dir: &Path) -> anyhow::Result<PathBuf> {
        let component = plugin.pre.instance_pre().component();
        crate::cache::export(&self.engine, dir, &plugin.digest, component)
    }

    /// Compile (or load from the cache), check the contract version, link, and
    /// call `describe`.
    pub async fn load(&self, path: &Path) -> Result<LoadedPlugin, LoadError> {
        self.load_pinned(path, Vec::new()).await
    }

    /// [`Engine::load`] a file only if its digest is the one every pin expects:
    /// a file that differs is refused before it is compiled.
    pub async fn load_pinned(
        &self,
        path: &Path,
        pins: Vec<Pin>,
    ) -> Result<LoadedPlugin, LoadError> {
        let err = |message: String| LoadError {
            path: path.to_owned(),
            message,
        };
        // Reading and compiling block: keep them off the async executor.
        let started = Instant::now();
        let (engine, dirs, file) = (self.engine.clone(), self.dirs.clone(), path.to_owned());
        let compiled = tokio::task::spawn_blocking(move || {
            let unreadable = |e: std::io::Error| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    "not found (build the plugins, or check `plugin_dir` in vitals.toml and `plugin` in the check)".to_string()
                } else {
                    format!("cannot read: {e}")
                }
            };
            // One open file for its stamp and its bytes: a path swapped meanwhile
            // cannot pair one file's stamp with another's digest.
            let now = std::time::SystemTime::now();
            let mut opened = std::fs::File::open(&file).map_err(unreadable)?;
            let meta = opened.metadata().map_err(unreadable)?;
            // Unchanged since it was last hashed (and pinned by no check, whose
            // pin is always checked against the bytes): its compiled code as is.
            if pins.is_empty()
                && let Some(digest) = crate::cache::remembered_digest(&dirs, &file, &meta)
                && let Some(component) = crate::cache::cached(&engine, &dirs, &digest)
            {
                return Ok((component, true, digest));
            }
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            std::io::Read::read_to_end(&mut opened, &mut bytes).map_err(unreadable)?;
            let digest = crate::cache::digest(&bytes);
            // Remembered only if the file did not change while it was read.
            if pins.is_empty() && opened.metadata().is_ok_and(|after| crate::cache::same_stamp(&meta, &after)) {
                crate::cache::remember_digest(&dirs, &file, &meta, &digest, now);
            }
            if let Some(pin) = pins.iter().find(|p| p.sha256 != digest) {
                return Err(format!(
                    "SHA-256 is {digest}, but {} pins {}: refused (a file that is not the pinned one; after checking the new file, update `sha256`)",
                    pin.file.display(),
                    pin.sha256
                ));
            }
            crate::cache::compile(&engine, &dirs, &bytes, &digest)
                .map(|(component, cached)| (component, cached, digest))
                .map_err(|e| {
                    // One line: some parse errors print byte arrays over many lines.
                    let message = format!("{e:#}");
                    format!("not a valid component: {}", message.split_whitespace().collect::<Vec<_>>().join(" "))
                })
        })
        .await
        .map_err(|e| err(format!("compilation task failed: {e}")))?;
        let (component, cached, digest) = compiled.map_err(err)?;
        let compile_seconds = started.elapsed().as_secs_f64();
        let contract_version = self.contract_version(&component).map_err(err)?;
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| {
            err(format!(
                "imports something this host does not provide ({e:#}); supported contract: {}",
                contract::supported()
            ))
        })?;
        let pre = CheckPre::new(instance_pre)
            .map_err(|e| err(format!("does not match the contract: {e:#}")))?;
        let mut plugin = LoadedPlugin {
            path: path.to_owned(),
            pre,
            info: PluginDescription::default(),
            contract_version,
            cached,
            compile_seconds,
            digest,
        };
        let limits = RunLimits {
            timeout: Duration::from_secs(10),
            memory_limit: 256 << 20,
            output_limit: 64 << 10,
        };
        let gates = Gates::none("describe", "-");
        let state = RunState::new(gates, limits.memory_limit, limits.output_limit);
        plugin.info = self
            .call(&plugin, state, limits, |check, store| {
                Box::pin(async move { check.vitals_check_plugin().call_describe(store).await })
            })
            .await
            .0
            .map_err(|f| {
                err(format!(
                    "describe failed ({}): {}",
                    f.failure.as_str(),
                    f.message
                ))
            })?
            .into();
        if !plugin
            .info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || plugin.info.name.is_empty()
        {
            return Err(err(format!(
                "describe returned the invalid name {:?} (use [a-z0-9_]+)",
                plugin.info.name
            )));
        }
        if vitals_core::report::is_reserved_plugin_name(&plugin.info.name) {
            return Err(err(format!(
                "describe returned the reserved name {:?} (its metrics vitals_{}_* could be the host's own: a plugin name may not be, nor start with, {} and `_`)",
                plugin.info.name,
                plugin.info.name,
                vitals_core::report::RESERVED_PLUGIN_NAMES.join(", ")
            )));
        }
        Ok(plugin)
    }

    /// Find the version of `vitals:check/plugin` the component exports.
    fn contract_version(&self, component: &Component) -> Result<semver::Version, String> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .map(|(name, _)| name.to_string())
            .collect();
        let Some(export) = exports
            .iter()
            .find(|n| n.starts_with(contract::PLUGIN_INTERFACE))
        else {
            return Err(format!(
                "does not export {} (exports: {}); is it a vitals check plugin built against {}?",
                contract::PLUGIN_INTERFACE,
                if exports.is_empty() {
                    "none".to_string()
                } else {
                    exports.join(", ")
                },
                contract::supported()
            ));
        };
        let version = export
            .strip_prefix(contract::PLUGIN_INTERFACE)
            .and_then(|v| v.strip_prefix('@'))
            .ok_or_else(|| {
                format!(
                    "exports {export} without a version; this host supports {}",
                    contract::supported()
                )
            })?;
        let version = semver::Version::parse(version)
            .map_err(|e| format!("exports {export}: bad version: {e}"))?;
        if !contract::is_compatible(&version) {
            return Err(format!(
                "was built for {}@{version}, which this host does not support (it supports {}); rebuild the plugin against the host's wit/",
                contract::PACKAGE,
                contract::supported()
            ));
        }
        Ok(version)
    }

    /// Run a plugin once in a fresh store.
    pub async fn run(
        &self,
        plugin: &LoadedPlugin,
        state: RunState,
        limits: RunLimits,
        input: RunInput,
    ) -> RunOutcome {
        let (report, instantiate_seconds) = self
            .call(plugin, state, limits, move |check, store| {
                Box::pin(async move { check.vitals_check_plugin().call_run(store, &input).await })
            })
            .await;
        RunOutcome {
            report,
            instantiate_seconds,
        }
    }

    /// Instantiate from the plugin's `InstancePre` in a fresh store with the run's
    /// limits and call `f`; traps, timeouts and memory exhaustion become a
    /// [`NoReport`]. Also returns the seconds the instantiation took.
    async fn call<R, F>(
        &self,
        plugin: &LoadedPlugin,
        state: RunState,
        limits: RunLimits,
        f: F,
    ) -> (Result<R, NoReport>, Option<f64>)
    where
        R: Send + 'static,
        F: for<'a> FnOnce(
                &'a contract::Check,
                &'a mut Store<RunState>,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>,
            > + Send,
    {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let deadline = Instant::now() + limits.timeout;
        store.set_epoch_deadline(1);
        // On every tick: trap once past the deadline, else yield to the executor so a
        // busy plugin cannot starve the others.
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        let mut instantiate_seconds = None;
        let fut = async {
            let started = Instant::now();
            let check = plugin.pre.instantiate_async(&mut store).await?;
            instantiate_seconds = Some(started.elapsed().as_secs_f64());
            f(&check, &mut store).await
        };
        // Host I/O is not interrupted by epochs: bound the whole call as well.
        let outcome = tokio::time::timeout(limits.timeout + Duration::from_millis(500), fut).await;
        let output = tail(&store.data().output(), 2048);
        let result = match outcome {
            Ok(Ok(r)) => Ok(r),
            Err(_) => Err(NoReport {
                failure: Failure::Timeout,
                message: format!("timed out after {:?} (waiting on host I/O)", limits.timeout),
                output,
            }),
            Ok(Err(e)) => Err(classify(&e, store.data(), limits, output)),
        };
        (result, instantiate_seconds)
    }
}

fn classify(e: &wasmtime::Error, state: &RunState, limits: RunLimits, output: String) -> NoReport {
    let trap = e.downcast_ref::<Trap>().copied();
    let (failure, message) = if trap == Some(Trap::Interrupt) {
        (
            Failure::Timeout,
            format!("timed out after {:?}", limits.timeout),
        )
    } else if state.limiter.hit_memory_limit {
        (
            Failure::OutOfMemory,
            format!(
                "out of memory: exceeded the memory limit of {}",
                bytesize::ByteSize(limits.memory_limit)
            ),
        )
    } else if let Some(at) = output.find("panicked at ") {
        // Rust: "thread '<unnamed>' panicked at src/lib.rs:1:2:\nmessage".
        let mut lines = output[at..].lines();
        let location = lines.next().unwrap_or("").trim_end_matches(':');
        let detail = lines.next().unwrap_or("").trim();
        (
            Failure::Panic,
            format!("plugin {location}: {detail}")
                .trim_end_matches([' ', ':'])
                .to_string(),
        )
    } else {
        (Failure::Trap, format!("plugin trapped: {}", e.root_cause()))
    };
    NoReport {
        failure,
        message,
        output,
    }
}

/// The last `max` bytes of a plugin's output, with control characters other than
/// newlines (terminal escapes) replaced.
fn tail(s: &str, max: usize) -> String {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let cleaned: String = s[start..]
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    if start > 0 {
        format!("…{cleaned}")
    } else {
        cleaned
    }
}
