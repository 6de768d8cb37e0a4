//! Results as the host reports them: one [`CheckResult`] per (check x cluster).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::secrets::Redactor;

/// Status of a check or finding, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// Nagios-compatible exit code / metric value: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn code(self) -> u8 {
        self as u8
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }
    /// The status named `s` (`ok`, `warning`, `critical`, `unknown`).
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Ok,
            Status::Warning,
            Status::Critical,
            Status::Unknown,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin's report as the plugin gave it, before the host bounds and cleans it
/// ([`CheckResult::from_report`]).
#[derive(Debug, Clone)]
pub struct PluginReport {
    pub status: Status,
    pub summary: String,
    pub findings: Vec<Finding>,
    pub samples: Vec<PluginSample>,
}

impl PluginReport {
    /// Redact every secret from the report's text: summary, findings, and the
    /// samples' names, help, label names and values.
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        redactor.string(&mut self.summary);
        for f in &mut self.findings {
            redactor.string(&mut f.subject);
            redactor.string(&mut f.message);
        }
        for s in &mut self.samples {
            redactor.string(&mut s.name);
            redactor.string(&mut s.help);
            for (name, value) in &mut s.labels {
                redactor.string(name);
                redactor.string(value);
            }
        }
    }
}

/// A sample as the plugin gave it: its labels unchecked, in its order.
#[derive(Debug, Clone)]
pub struct PluginSample {
    pub name: String,
    pub help: String,
    pub value: f64,
    pub labels: Vec<(String, String)>,
}

/// A per-subject observation.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub subject: String,
    pub status: Status,
    pub message: String,
}

/// A metric sample from a plugin (name without the `vitals_<plugin>_` prefix).
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub name: String,
    pub help: String,
    pub value: f64,
    pub labels: BTreeMap<String, String>,
}

/// Why a run produced no report of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The run exceeded its timeout (epoch deadline or host I/O timeout).
    Timeout,
    /// The plugin tried to grow its memory beyond the limit.
    OutOfMemory,
    /// The plugin panicked (a trap with a panic message on stderr).
    Panic,
    /// Any other trap.
    Trap,
    /// The plugin could not be loaded or instantiated.
    Load,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::OutOfMemory => "out_of_memory",
            Failure::Panic => "panic",
            Failure::Trap => "trap",
            Failure::Load => "load",
        }
    }
}

/// Prefixes of the host's own metric families (`vitals_check_*`, ...): a plugin
/// may not be named after one, nor start with one and `_` ([`is_reserved_plugin_name`]).
pub const RESERVED_PLUGIN_NAMES: [&str; 4] = ["check", "runner", "plugin", "config"];

/// Whether a plugin's metric families (`vitals_<name>_*`) could be the host's
/// own: `check`, or `check_duration` whose `seconds` would be
/// `vitals_check_duration_seconds`.
pub fn is_reserved_plugin_name(name: &str) -> bool {
    RESERVED_PLUGIN_NAMES.iter().any(|r| {
        name.strip_prefix(r)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
    })
}

/// Label names the host sets on every plugin sample; a plugin's own are dropped.
pub const HOST_LABELS: [&str; 2] = ["check", "cluster"];

// Caps on what a plugin's report may hold; beyond them text is cut and items dropped.
const MAX_TEXT: usize = 4096;
const MAX_SUBJECT: usize = 256;
const MAX_FINDINGS: usize = 1000;
const MAX_SAMPLES: usize = 10_000;

/// Plugin text made safe to print: control characters (terminal escapes, newlines)
/// become spaces, and the length is capped.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// A label name a plugin may use: `[a-zA-Z][a-zA-Z0-9_]*`. Names starting with
/// `_` are reserved (`__name__` would break the whole scrape; OpenMetrics reserves
/// them all).
fn is_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why a plugin's label is dropped, if it is.
fn dropped_label(name: &str, value: &str) -> Option<&'static str> {
    if HOST_LABELS.contains(&name) {
        Some("set by the host")
    } else if name.starts_with('_') {
        Some("reserved")
    } else if !is_label_name(name) {
        Some("not a label name")
    } else if value.is_empty() {
        // Prometheus reads `{a=""}` as `{}`: two series that would collide.
        Some("empty value")
    } else {
        None
    }
}

/// A sample name as a metric-name fragment: `[a-zA-Z0-9_]`, other characters become `_`.
fn metric_name(n: &str) -> String {
    let s: String = n
        .chars()
        .take(MAX_SUBJECT)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "unnamed".into() } else { s }
}

/// One run of a plugin, for the runner's metrics.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// Why the host ended it, if it did.
    pub failure: Option<Failure>,
    /// Seconds the instantiation took, when it got that far.
    pub instantiate_seconds: Option<f64>,
}

/// `attempts` in JSON: how many runs the result took.
fn count<S: serde::Serializer>(attempts: &[Attempt], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(attempts.len() as u64)
}

/// The outcome of one (check x cluster) run.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: String,
    pub cluster: String,
    pub plugin: String,
    pub status: Status,
    pub summary: String,
    pub duration_seconds: f64,
    /// Unix time the run started.
    pub started_at: f64,
    /// Every run behind this result: one, or more when `retries` re-ran a failing
    /// check. The last is this result.
    #[serde(serialize_with = "count")]
    pub attempts: Vec<Attempt>,
    pub findings: Vec<Finding>,
    pub samples: Vec<Sample>,
    /// Set when the host, not the plugin, decided the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The tail of the plugin's captured stdout/stderr, when it failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// How much of the worst finding's message the summary repeats.
const HEADLINE_MESSAGE: usize = 160;

/// The summary a person reads first, the JUnit message and the alert text: a
/// result worse than ok names its worst problem first. When the plugin's summary
/// does not mention the subject of the first finding at the overall status, that
/// finding (`subject: message`, and how many more share its status) leads, then
/// the plugin's summary as the context.
pub fn headline(status: Status, summary: &str, findings: &[Finding]) -> String {
    if status == Status::Ok {
        return summary.to_string();
    }
    let worst: Vec<&Finding> = findings.iter().filter(|f| f.status == status).collect();
    let Some(first) = worst.first() else {
        return summary.to_string();
    };
    if first.subject.is_empty() || names(summary, &first.subject) {
        return summary.to_string();
    }
    let mut lead = format!(
        "{}: {}",
        first.subject,
        clean(&first.message, HEADLINE_MESSAGE)
    );
    if worst.len() > 1 {
        lead += &format!(" (and {} more {status})", worst.len() - 1);
    }
    if summary.is_empty() {
        lead
    } else {
        format!("{lead}; {summary}")
    }
}

/// Whether `summary` names `subject`: the whole of it, or its name before a
/// parenthesised address (`m3` of `m3 (https://10.0.0.13:2379)`).
pub fn names(summary: &str, subject: &str) -> bool {
    summary.contains(subject)
        || subject
            .split_once(" (")
            .is_some_and(|(name, _)| !name.is_empty() && summary.contains(name))
}

impl CheckResult {
    /// Convert a plugin's report; the summary gets its [`headline`].
    pub fn from_report(check: &str, cluster: &str, plugin: &str, r: PluginReport) -> Self {
        let mut result = CheckResult::from_report_as_is(check, cluster, plugin, r);
        result.summary = clean(
            &headline(result.status, &result.summary, &result.findings),
            MAX_TEXT,
        );
        result
    }

    fn from_report_as_is(check: &str, cluster: &str, plugin: &str, r: PluginReport) -> Self {
        let mut dropped = Vec::new();
        let samples = r
            .samples
            .into_iter()
            .take(MAX_SAMPLES)
            .map(|s| {
                let name = metric_name(&s.name);
                let mut labels = BTreeMap::new();
                for (label, value) in s.labels {
                    let value = clean(&value, MAX_SUBJECT);
                    match dropped_label(&label, &value) {
                        Some(why) => {
                            dropped.push(format!("{name}{{{}}}: {why}", clean(&label, 64)));
                        }
                        None => {
                            labels.insert(label, value);
                        }
                    }
                }
                Sample {
                    name,
                    help: clean(&s.help, MAX_TEXT),
                    value: s.value,
                    labels,
                }
            })
            .collect();
        if !dropped.is_empty() {
            tracing::warn!(
                check,
                cluster,
                plugin,
                "labels dropped from the plugin's samples: {}",
                dropped.join(", ")
            );
        }
        CheckResult {
            check: check.into(),
            cluster: cluster.into(),
            plugin: plugin.into(),
            status: r.status,
            summary: clean(&r.summary, MAX_TEXT),
            duration_seconds: 0.0,
            started_at: 0.0,
            attempts: vec![Attempt {
                failure: None,
                instantiate_seconds: None,
            }],
            findings: r
                .findings
                .into_iter()
                .take(MAX_FINDINGS)
                .map(|f| Finding {
                    subject: clean(&f.subject, MAX_SUBJECT),
                    status: f.status,
                    message: clean(&f.message, MAX_TEXT),
                })
                .collect(),
            samples,
            failure: None,
            output: String::new(),
        }
    }

    /// A run the host had to end or could not start: `unknown` with the reason.
    pub fn failed(
        check: &str,
        cluster: &str,
        plugin: &str,
        failure: Failure,
        reason: String,
    ) -> Self {
        CheckResult {
            check: check.into(),
            cluster: cluster.into(),
            plugin: plugin.into(),
            status: Status::Unknown,
            summary: reason,
            duration_seconds: 0.0,
            started_at: 0.0,
            attempts: vec![Attempt {
                failure: None,
                instantiate_seconds: None,
            }],
            findings: Vec::new(),
            samples: Vec::new(),
            failure: Some(failure),
            output: String::new(),
        }
        .with_failure(failure)
    }

    /// Redact every secret from the result's text once more, after cleaning
    /// (which could join the parts of one): names that held one are made names
    /// again, labels whose name held one dropped.
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        redactor.string(&mut self.summary);
        redactor.string(&mut self.output);
        for f in &mut self.findings {
            redactor.string(&mut f.subject);
            redactor.string(&mut f.message);
        }
        for s in &mut self.samples {
            if redactor.string(&mut s.name) {
                s.name = metric_name(&s.name);
            }
            redactor.string(&mut s.help);
            s.labels = std::mem::take(&mut s.labels)
                .into_iter()
                .filter_map(|(mut name, mut value)| {
                    if redactor.string(&mut name) {
                        return None;
                    }
                    redactor.string(&mut value);
                    Some((name, value))
                })
                .collect();
        }
    }

    fn with_failure(mut self, failure: Failure) -> Self {
        for a in &mut self.attempts {
            a.failure = Some(failure);
        }
        self
    }
}

/// The worst status of a set of results (ok when empty).
pub fn worst(results: &[CheckResult]) -> Status {
    results.iter().map(|r| r.status).max().unwrap_or(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_text_cannot_fake_output() {
        assert_eq!(clean("ok\x1b[2J\nFAKE", 100), "ok [2J FAKE");
        assert_eq!(clean("ééé", 3), "é…");
        assert!(is_label_name("member_1") && !is_label_name("1x") && !is_label_name("a-b"));
        assert_eq!(metric_name("db size.bytes"), "db_size_bytes");
    }

    #[test]
    fn reserved_names_cannot_reach_an_exposition() {
        for (name, value, why) in [
            ("__name__", "up", Some("reserved")),
            ("_x", "1", Some("reserved")),
            ("check", "forged", Some("set by the host")),
            ("a-b", "1", Some("not a label name")),
            ("", "1", Some("not a label name")),
            ("member", "", Some("empty value")),
            ("member", "m1", None),
        ] {
            assert_eq!(dropped_label(name, value), why, "{name}={value}");
        }
        for (name, reserved) in [
            ("check", true),
            ("check_duration", true),
            ("runner_runs", true),
            ("plugin", true),
            ("checker", false),
            ("etcd", false),
            ("my_check", false),
        ] {
            assert_eq!(is_reserved_plugin_name(name), reserved, "{name}");
        }
    }

    fn finding(subject: &str, status: Status, message: &str) -> Finding {
        Finding {
            subject: subject.into(),
            status,
            message: message.into(),
        }
    }

    #[test]
    fn a_summary_worse_than_ok_names_the_worst_problem_first() {
        let findings = [
            finding("rke2-agent-1", Status::Warning, "cordoned"),
            finding(
                "rke2-agent-2",
                Status::Critical,
                "kubelet heartbeat stale: Lease not renewed for 10m",
            ),
            finding("rke2-agent-3", Status::Critical, "NetworkUnavailable"),
        ];
        assert_eq!(
            headline(Status::Critical, "5/5 nodes Ready", &findings),
            "rke2-agent-2: kubelet heartbeat stale: Lease not renewed for 10m (and 1 more critical); 5/5 nodes Ready"
        );
        // The warning is the worst when the criticals are gone.
        assert_eq!(
            headline(Status::Warning, "5/5 nodes Ready", &findings[..1]),
            "rke2-agent-1: cordoned; 5/5 nodes Ready"
        );
        // A summary that already names it, an ok result, or no finding at the
        // overall status (a plugin that raised without one) stay as they are.
        let named = "unreachable: rke2-agent-2; 4/5 nodes Ready";
        assert_eq!(headline(Status::Critical, named, &findings), named);
        let etcd = [finding(
            "m3 (http://10.0.0.13:2379)",
            Status::Warning,
            "unreachable",
        )];
        let named = "unreachable: m3; 2/3 voting members healthy";
        assert_eq!(headline(Status::Warning, named, &etcd), named);
        assert_eq!(headline(Status::Ok, "fine", &findings), "fine");
        assert_eq!(
            headline(Status::Unknown, "cannot observe", &findings),
            "cannot observe"
        );
        // Long messages are cut.
        let long = [finding("m1", Status::Warning, &"x".repeat(500))];
        assert!(headline(Status::Warning, "ctx", &long).len() < 200);
    }
}
