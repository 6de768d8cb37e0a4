//! The Prometheus exposition of results, rendered with `prometheus-client`:
//!
//! - `vitals_check_status{check,cluster}` 0 ok, 1 warning, 2 critical, 3 unknown
//! - `vitals_check_success{check,cluster}` 1 when ok
//! - `vitals_check_duration_seconds{check,cluster}`
//! - `vitals_check_last_run_timestamp_seconds{check,cluster}`
//! - `vitals_<plugin>_<sample>{check,cluster,...}` for each plugin sample
//! - the runner's own: `vitals_runner_runs{check,cluster}` and
//!   `vitals_runner_failures{kind}` (runs in this invocation, as gauges: the text
//!   format read by promtool, the textfile collector and the Pushgateway wants a
//!   counter's metadata under its `_total` name, which OpenMetrics encoders do not
//!   write), and `vitals_plugin_compile_seconds{plugin}`.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::report::{CheckResult, Failure, Status};

type Labels = Vec<(String, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;

/// Prefixes of the host's own families; plugins may not use them as names.
pub const RESERVED_PLUGIN_NAMES: [&str; 3] = ["check", "runner", "plugin"];

/// Compile time of each loaded plugin, by plugin name.
pub type CompileSeconds = BTreeMap<String, f64>;

fn gauge(registry: &mut Registry, name: &str, help: &str) -> GaugeFamily {
    let family = GaugeFamily::default();
    registry.register(name, help, family.clone());
    family
}

fn labels(r: &CheckResult) -> Labels {
    vec![
        ("check".into(), r.check.clone()),
        ("cluster".into(), r.cluster.clone()),
    ]
}

/// Render the results (and the runner's metrics) as the text exposition format.
pub fn render(results: &[CheckResult], compile: &CompileSeconds) -> String {
    let mut registry = Registry::default();
    let status = gauge(
        &mut registry,
        "vitals_check_status",
        "Status of the check's last run: 0 ok, 1 warning, 2 critical, 3 unknown",
    );
    let success = gauge(
        &mut registry,
        "vitals_check_success",
        "1 when the check's last run was ok",
    );
    let duration = gauge(
        &mut registry,
        "vitals_check_duration_seconds",
        "Duration of the check's last run",
    );
    let last_run = gauge(
        &mut registry,
        "vitals_check_last_run_timestamp_seconds",
        "Unix time the check's last run started",
    );
    let runs = gauge(
        &mut registry,
        "vitals_runner_runs",
        "Runs in this invocation, by check and cluster",
    );
    let failures = gauge(
        &mut registry,
        "vitals_runner_failures",
        "Runs in this invocation that the host ended without a report, by kind (timeout, out_of_memory, panic, trap, load)",
    );
    let compile_seconds = gauge(
        &mut registry,
        "vitals_plugin_compile_seconds",
        "Seconds spent compiling the plugin, or loading it from the compile cache",
    );

    // Plugin samples, one family per metric name (help from its first sample).
    let mut plugin_families: BTreeMap<String, GaugeFamily> = BTreeMap::new();
    for r in results {
        let base = labels(r);
        status.get_or_create(&base).set(f64::from(r.status.code()));
        success
            .get_or_create(&base)
            .set(f64::from(r.status == Status::Ok));
        duration.get_or_create(&base).set(r.duration_seconds);
        last_run.get_or_create(&base).set(r.started_at);
        runs.get_or_create(&base).inc();
        if let Some(f) = r.failure {
            failures
                .get_or_create(&vec![("kind".into(), f.as_str().into())])
                .inc();
        }
        if r.plugin.is_empty() || RESERVED_PLUGIN_NAMES.contains(&r.plugin.as_str()) {
            continue;
        }
        for s in &r.samples {
            let name = format!("vitals_{}_{}", r.plugin, s.name);
            let family = plugin_families.entry(name.clone()).or_insert_with(|| {
                let help = if s.help.is_empty() {
                    format!("{} sample {}", r.plugin, s.name)
                } else {
                    s.help.clone()
                };
                gauge(&mut registry, &name, &help)
            });
            let mut l = base.clone();
            l.extend(s.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            family.get_or_create(&l).set(s.value);
        }
    }
    // Make the failure kinds visible even when zero.
    for kind in [
        Failure::Timeout,
        Failure::OutOfMemory,
        Failure::Panic,
        Failure::Trap,
        Failure::Load,
    ] {
        let _ = failures.get_or_create(&vec![("kind".into(), kind.as_str().into())]);
    }
    for (plugin, seconds) in compile {
        compile_seconds
            .get_or_create(&vec![("plugin".into(), plugin.clone())])
            .set(*seconds);
    }

    let mut out = String::new();
    encode(&mut out, &registry).expect("writing to a String cannot fail");
    // The OpenMetrics `# EOF` trailer is not part of the text format that the
    // textfile collector and the Pushgateway read.
    if let Some(stripped) = out.strip_suffix("# EOF\n") {
        out.truncate(stripped.len());
    }
    out
}
