//! The Prometheus exposition of results, rendered with `prometheus-client`:
//!
//! - `vitals_check_status{check,cluster}` 0 ok, 1 warning, 2 critical, 3 unknown
//! - `vitals_check_success{check,cluster}` 1 when ok
//! - `vitals_check_duration_seconds{check,cluster}`
//! - `vitals_check_last_run_timestamp_seconds{check,cluster}`
//! - `vitals_check_attempts{check,cluster}` runs of the last result (with retries)
//! - `vitals_<plugin>_<sample>{check,cluster,...}` for each plugin sample
//! - the runner's own, from [`RunnerMetrics`].
//!
//! prometheus-client writes OpenMetrics; [`encode`] also gives the classic text
//! format (0.0.4) that promtool, node_exporter's textfile collector and the
//! Pushgateway read, by naming counter metadata after their `_total` samples.

use std::collections::BTreeMap;

use prometheus_client::registry::Registry;

use crate::metrics::RunnerMetrics;
use crate::metrics::{GaugeFamily, labels};
use vitals_core::report::{CheckResult, Status};

use vitals_core::report::is_reserved_plugin_name;

/// Content type of [`Exposition::OpenMetrics`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of [`Exposition::Text`].
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The two exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exposition {
    /// OpenMetrics 1.0, what Prometheus asks for when scraping.
    OpenMetrics,
    /// The classic text format 0.0.4.
    Text,
}

/// Register a gauge family. Its HELP ends with exactly one full stop: the
/// exposition library appends one, so a trailing one in `help` is dropped first.
pub fn gauge(registry: &mut Registry, name: &str, help: &str) -> GaugeFamily {
    let family = GaugeFamily::default();
    registry.register(name, help_text(help.trim_end_matches('.')), family.clone());
    family
}

/// HELP text that both formats read: the exposition library writes it as is, the
/// text format allows only `\\` and `\n` as escapes and OpenMetrics no bare `"`
/// (and the text format no `\"`), so backslashes are doubled and double quotes
/// become single ones. (Plugin text has no control characters left.)
fn help_text(help: &str) -> String {
    help.replace('\\', "\\\\").replace('"', "'")
}

/// Register the families of the results: the `vitals_check_*` gauges and the
/// plugins' samples.
pub fn register_results(registry: &mut Registry, results: &[CheckResult]) {
    let status = gauge(
        registry,
        "vitals_check_status",
        "Status of the check's last run: 0 ok, 1 warning, 2 critical, 3 unknown",
    );
    let success = gauge(
        registry,
        "vitals_check_success",
        "1 when the check's last run was ok",
    );
    let duration = gauge(
        registry,
        "vitals_check_duration_seconds",
        "Duration of the check's last run, retries included",
    );
    let last_run = gauge(
        registry,
        "vitals_check_last_run_timestamp_seconds",
        "Unix time the check's last run started",
    );
    let attempts = gauge(
        registry,
        "vitals_check_attempts",
        "Runs the check's last result took (more than 1 when retries re-ran it)",
    );
    // Plugin samples, one family per metric name (help from its first sample).
    let mut plugin_families: BTreeMap<String, GaugeFamily> = BTreeMap::new();
    for r in results {
        let base = labels(&r.check, &r.cluster);
        status.get_or_create(&base).set(f64::from(r.status.code()));
        success
            .get_or_create(&base)
            .set(f64::from(r.status == Status::Ok));
        duration.get_or_create(&base).set(r.duration_seconds);
        last_run.get_or_create(&base).set(r.started_at);
        attempts.get_or_create(&base).set(r.attempts.len() as f64);
        if r.plugin.is_empty() || is_reserved_plugin_name(&r.plugin) {
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
                gauge(registry, &name, &help)
            });
            let mut l = base.clone();
            l.extend(s.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            family.get_or_create(&l).set(s.value);
        }
    }
}

/// Encode a registry in the given format.
pub fn encode(registry: &Registry, format: Exposition) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    let out = canonical_infinities(out);
    match format {
        Exposition::OpenMetrics => out,
        Exposition::Text => openmetrics_to_text(&out),
    }
}

/// Infinite values as both formats spell them (`+Inf`, `-Inf`); the library
/// writes `inf`. A sample line ends with its value, after the last space.
fn canonical_infinities(text: String) -> String {
    if !text.contains("inf\n") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.rsplit_once(' ') {
            Some((head, "inf")) if !line.starts_with('#') => out.push_str(&format!("{head} +Inf")),
            Some((head, "-inf")) if !line.starts_with('#') => out.push_str(&format!("{head} -Inf")),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The classic text format of an OpenMetrics exposition written by
/// prometheus-client: a counter's HELP and TYPE name its `_total` samples, and
/// there is no `# EOF` trailer. Everything else is the same in both formats.
fn openmetrics_to_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut help: Option<&str> = None;
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with("# HELP ") {
            // Held until its TYPE line says whether it is a counter.
            if let Some(h) = help.replace(line) {
                out.push_str(h);
                out.push('\n');
            }
            continue;
        }
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|t| t.strip_suffix(" counter"))
        {
            if let Some(h) = help.take() {
                let text = h.strip_prefix("# HELP ").unwrap_or(h);
                let text = text.strip_prefix(name).unwrap_or(text);
                out.push_str(&format!("# HELP {name}_total{text}\n"));
            }
            out.push_str(&format!("# TYPE {name}_total counter\n"));
            continue;
        }
        if let Some(h) = help.take() {
            out.push_str(h);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(h) = help {
        out.push_str(h);
        out.push('\n');
    }
    out
}

/// The text exposition of one invocation's results and runner metrics (`vitals
/// run --format prometheus`, `--textfile`, `--pushgateway`).
pub fn render(results: &[CheckResult], runner: &RunnerMetrics) -> String {
    let mut registry = Registry::default();
    register_results(&mut registry, results);
    runner.register(&mut registry);
    encode(&registry, Exposition::Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_after_their_samples_in_the_text_format() {
        let om = "# HELP a_runs Runs.\n# TYPE a_runs counter\na_runs_total{x=\"1\"} 2\n\
                  # HELP g A gauge.\n# TYPE g gauge\ng 1.0\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP a_runs_total Runs.\n# TYPE a_runs_total counter\na_runs_total{x=\"1\"} 2\n\
             # HELP g A gauge.\n# TYPE g gauge\ng 1.0\n"
        );
    }

    #[test]
    fn help_ends_with_one_full_stop_whether_or_not_it_had_one() {
        let mut registry = Registry::default();
        for (name, help) in [
            ("with_stop", "Written with a full stop."),
            ("without_stop", "Written without one"),
        ] {
            gauge(&mut registry, name, help)
                .get_or_create(&Vec::new())
                .set(1.0);
        }
        let text = encode(&registry, Exposition::Text);
        assert!(
            text.contains("# HELP with_stop Written with a full stop.\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP without_stop Written without one.\n"),
            "{text}"
        );
    }
}
