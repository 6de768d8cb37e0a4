//! The runner's own metrics: runs, failures by kind, instantiation and compile
//! times. One set lives as long as the process (`vitals serve`) or the invocation
//! (`vitals run`); each exposition registers it beside the results.

use prometheus_client::metrics::counter::Counter;
use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use vitals_core::report::{CheckResult, Failure};

/// Label pairs of one series.
pub type Labels = Vec<(String, String)>;
/// A family of float gauges.
pub type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;

/// The `check` and `cluster` labels of a result.
pub fn labels(check: &str, cluster: &str) -> Labels {
    vec![
        ("check".into(), check.to_string()),
        ("cluster".into(), cluster.to_string()),
    ]
}

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn one(name: &str, value: &str) -> Labels {
    vec![(name.into(), value.into())]
}

/// The runner's own metrics. Cloning shares the series, so one set can live as
/// long as `vitals serve` and be registered in each scrape's registry.
#[derive(Clone)]
pub struct RunnerMetrics {
    runs: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    instantiate: HistogramFamily,
    compile: GaugeFamily,
}

impl Default for RunnerMetrics {
    fn default() -> Self {
        let m = RunnerMetrics {
            runs: Family::default(),
            failures: Family::default(),
            instantiate: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 4.0, 9))
            }),
            compile: GaugeFamily::default(),
        };
        // Every failure kind is visible, at zero until it happens.
        for kind in [
            Failure::Timeout,
            Failure::OutOfMemory,
            Failure::Panic,
            Failure::Trap,
            Failure::Load,
        ] {
            let _ = m.failures.get_or_create(&one("kind", kind.as_str()));
        }
        m
    }
}

impl RunnerMetrics {
    /// Count the runs behind a result: their failure kinds and instantiation times.
    pub fn observe(&self, r: &CheckResult) {
        self.runs
            .get_or_create(&labels(&r.check, &r.cluster))
            .inc_by(r.attempts.len() as u64);
        for a in &r.attempts {
            if let Some(f) = a.failure {
                self.failures.get_or_create(&one("kind", f.as_str())).inc();
            }
            if let Some(s) = a.instantiate_seconds {
                self.instantiate
                    .get_or_create(&one("plugin", &r.plugin))
                    .observe(s);
            }
        }
    }

    /// The metrics of one invocation's results; `compile`: each loaded plugin's
    /// name and compile (or cache load) seconds.
    pub fn of<'a>(
        results: &[CheckResult],
        compile: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> RunnerMetrics {
        let m = RunnerMetrics::default();
        for r in results {
            m.observe(r);
        }
        m.set_compile(compile);
        m
    }

    /// Record the compile (or cache load) time of each loaded plugin, by name.
    pub fn set_compile<'a>(&self, compile: impl IntoIterator<Item = (&'a str, f64)>) {
        self.compile.clear();
        for (plugin, seconds) in compile {
            self.compile
                .get_or_create(&one("plugin", plugin))
                .set(seconds);
        }
    }

    /// Add the runner's families to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "vitals_runner_runs",
            "Plugin runs, retries included, by check and cluster",
            self.runs.clone(),
        );
        registry.register(
            "vitals_runner_failures",
            "Runs the host ended without a report, by kind (timeout, out_of_memory, panic, trap, load)",
            self.failures.clone(),
        );
        registry.register(
            "vitals_runner_instantiate_seconds",
            "Seconds to instantiate a plugin in a fresh sandbox",
            self.instantiate.clone(),
        );
        registry.register(
            "vitals_plugin_compile_seconds",
            "Seconds spent compiling the plugin, or loading it from the compile cache",
            self.compile.clone(),
        );
    }
}
