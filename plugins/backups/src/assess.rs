//! The judgement of the `backups` check, without I/O: Velero schedules, their
//! backups and storage locations, or RKE2/K3s etcd snapshots (ETCDSnapshotFiles).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use vitals_plugin::kubernetes::{parse_time, str_at};
use vitals_plugin::{Report, ReportBuilder, Status};

use vitals_plugin::units::{human, parse_duration};

use crate::period::cron_period;

/// The check's parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// `velero` or `etcd-snapshots`.
    pub source: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default = "default_grace")]
    pub grace: String,
    pub max_age: Option<String>,
    /// etcd-snapshots: how often snapshots are taken; default [`DEFAULT_SNAPSHOT_INTERVAL`].
    pub snapshot_interval: Option<String>,
    /// etcd-snapshots: the `etcd-snapshot-schedule-cron`, instead of `snapshot_interval`.
    pub schedule: Option<String>,
    #[serde(default = "default_snapshot_name")]
    pub snapshot_name: String,
    #[serde(default = "default_retention")]
    pub retention: u32,
    #[serde(default = "default_retention")]
    pub s3_retention: u32,
    #[serde(default = "default_etcd_nodes")]
    pub etcd_nodes: String,
}

/// How often stock RKE2/K3s take etcd snapshots: `etcd-snapshot-schedule-cron`
/// is `0 */12 * * *`.
pub const DEFAULT_SNAPSHOT_INTERVAL: &str = "12h";

fn default_endpoint() -> String {
    "kubernetes".into()
}
fn default_namespace() -> String {
    "velero".into()
}
fn default_grace() -> String {
    "1h".into()
}
fn default_snapshot_name() -> String {
    "etcd-snapshot".into()
}
/// `etcd-snapshot-retention` and `etcd-s3-retention`, stock RKE2/K3s.
fn default_retention() -> u32 {
    5
}
fn default_etcd_nodes() -> String {
    "node-role.kubernetes.io/etcd=true".into()
}

/// The parameters' durations, in seconds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub grace: f64,
    pub max_age: Option<f64>,
    /// etcd-snapshots: how often snapshots are taken (`snapshot_interval`, or
    /// the period of `schedule`).
    pub snapshot_interval: f64,
    /// etcd-snapshots: the prefix of scheduled snapshots' names, which RKE2/K3s
    /// prune (on-demand ones are kept).
    pub snapshot_name: String,
    /// etcd-snapshots: scheduled snapshots kept per node (local) and in all of S3.
    pub retention: u32,
    pub s3_retention: u32,
}

impl Params {
    /// The durations, or an error naming the parameter that is wrong.
    pub fn validate(&self) -> Result<Limits, String> {
        if self.source != "velero" && self.source != "etcd-snapshots" {
            return Err(format!(
                "source {:?}: expected \"velero\" or \"etcd-snapshots\"",
                self.source
            ));
        }
        let named = |name: &str, v: &str| parse_duration(v).map_err(|e| format!("{name}: {e}"));
        let snapshot_interval = match (&self.snapshot_interval, &self.schedule) {
            (Some(_), Some(_)) => {
                return Err("set snapshot_interval or schedule, not both".into());
            }
            (None, Some(cron)) => cron_period(cron)
                .map_err(|e| format!("schedule {cron:?}: {e}: set snapshot_interval or max_age"))?,
            (interval, None) => named(
                "snapshot_interval",
                interval.as_deref().unwrap_or(DEFAULT_SNAPSHOT_INTERVAL),
            )?,
        };
        let limits = Limits {
            grace: named("grace", &self.grace)?,
            max_age: self
                .max_age
                .as_deref()
                .map(|m| named("max_age", m))
                .transpose()?,
            snapshot_interval,
            snapshot_name: self.snapshot_name.clone(),
            retention: self.retention,
            s3_retention: self.s3_retention,
        };
        if limits.max_age == Some(0.0) || limits.snapshot_interval == 0.0 {
            return Err("max_age and snapshot_interval must be longer than 0".into());
        }
        for (name, value) in [
            ("retention", self.retention),
            ("s3_retention", self.s3_retention),
        ] {
            if value == 0 {
                return Err(format!("{name}: must be at least 1"));
            }
        }
        if self.snapshot_name.is_empty() {
            return Err("snapshot_name: empty (etcd-snapshot-name is \"etcd-snapshot\")".into());
        }
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if self.namespace.is_empty() || !self.namespace.chars().all(ok) {
            return Err(format!(
                "namespace {:?} is not a namespace name",
                self.namespace
            ));
        }
        Ok(limits)
    }
}

/// The time at a JSON pointer, in seconds since the epoch.
fn time_at(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(parse_time)
}

fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name")
}

/// Findings: an ok one as a note, the others as findings; the summary names the
/// worst ([`ReportBuilder::finish_naming_worst`]).
struct Findings {
    r: ReportBuilder,
}

impl Findings {
    fn new() -> Self {
        Findings {
            r: ReportBuilder::new(),
        }
    }

    fn add(&mut self, status: Status, subject: &str, message: String) {
        if status == Status::Ok {
            self.r.note(subject, status, message);
        } else {
            self.r.finding(subject, status, message);
        }
    }

    /// The summary: `head`, then the worst finding (the host lists them that way too).
    fn finish(self, head: String) -> Report {
        self.r.finish_naming_worst(head)
    }
}

/// Velero backup phases that are not finished yet (or going away): the newest
/// backup in one of them is passed over for the one before.
const UNFINISHED: &[&str] = &[
    "",
    "New",
    // Velero 1.17: waiting in the backup queue, then taken off it.
    "Queued",
    "ReadyToStart",
    "InProgress",
    "WaitingForPluginOperations",
    "WaitingForPluginOperationsPartiallyFailed",
    "Finalizing",
    "FinalizingPartiallyFailed",
    "Deleting",
];

/// When a backup was made, for ordering: started, else created.
fn started(b: &Value) -> f64 {
    time_at(b, "/status/startTimestamp")
        .or_else(|| time_at(b, "/metadata/creationTimestamp"))
        .unwrap_or(0.0)
}

/// Judge Velero: every schedule's newest finished backup, and the storage locations.
pub fn velero(
    limits: &Limits,
    schedules: &[Value],
    backups: &[Value],
    locations: &[Value],
    now: f64,
) -> Report {
    let mut f = Findings::new();
    let mut by_schedule: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for b in backups {
        let label = str_at(b, "/metadata/labels/velero.io~1schedule-name");
        if !label.is_empty() {
            by_schedule.entry(label).or_default().push(b);
        }
    }
    let (mut good, mut paused) = (0, 0);
    for s in schedules {
        let sched = name(s);
        let mut mine = by_schedule.remove(sched).unwrap_or_default();
        mine.sort_by(|a, b| started(b).total_cmp(&started(a)));
        if s.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
            paused += 1;
            f.add(Status::Ok, sched, "paused: not judged".into());
            continue;
        }
        let (status, message) = schedule(limits, s, &mine, now, &mut f.r);
        if status == Status::Ok {
            good += 1;
        }
        f.add(status, sched, message);
    }
    let available = locations
        .iter()
        .filter(|l| str_at(l, "/status/phase") == "Available")
        .count();
    for l in locations {
        let phase = str_at(l, "/status/phase");
        let message = str_at(l, "/status/message");
        let bucket = str_at(l, "/spec/objectStorage/bucket");
        let subject = format!("BackupStorageLocation/{}", name(l));
        match phase {
            "Available" => {}
            "" => f.add(
                Status::Warning,
                &subject,
                format!("not validated yet (bucket {bucket})"),
            ),
            _ => f.add(
                Status::Critical,
                &subject,
                format!(
                    "{phase} (bucket {bucket}){}",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                ),
            ),
        }
    }
    if locations.is_empty() {
        f.add(
            Status::Critical,
            "BackupStorageLocation",
            "none: Velero has nowhere to write backups".into(),
        );
    }
    if schedules.is_empty() {
        f.add(
            Status::Warning,
            "Schedule",
            "no Velero Schedule: nothing backs up on its own".into(),
        );
    }
    let r = &mut f.r;
    r.sample(
        "schedules",
        "Velero Schedules (paused ones included)",
        schedules.len() as f64,
        &[],
    );
    r.sample(
        "schedules_ok",
        "Velero Schedules whose newest backup is recent and Completed",
        good as f64,
        &[],
    );
    r.sample(
        "storage_locations_available",
        "BackupStorageLocations Available",
        available as f64,
        &[],
    );
    let mut head = format!(
        "{good}/{} schedules ok, {available}/{} storage locations available",
        schedules.len() - paused,
        locations.len()
    );
    if paused > 0 {
        head.push_str(&format!(", {paused} paused"));
    }
    f.finish(head)
}

/// The `status.validationErrors` of a Velero object (a Schedule or a Backup).
fn validation_errors(obj: &Value) -> Vec<&str> {
    obj.pointer("/status/validationErrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// One schedule: its status and message; its samples go to `r`.
fn schedule(
    limits: &Limits,
    s: &Value,
    backups: &[&Value],
    now: f64,
    r: &mut ReportBuilder,
) -> (Status, String) {
    let sched = name(s);
    let cron = str_at(s, "/spec/schedule");
    if str_at(s, "/status/phase") == "FailedValidation" {
        let errors = validation_errors(s);
        return (
            Status::Critical,
            format!(
                "schedule failed validation, no backups run: {}",
                errors.join("; ")
            ),
        );
    }
    // How old the newest backup may be: max_age, or the schedule's period + grace.
    let (allowed, why, period_error) = match (limits.max_age, cron_period(cron)) {
        (Some(m), _) => (Some(m), format!("max_age {}", human(m)), None),
        (None, Ok(p)) => (
            Some(p + limits.grace),
            format!("every {} + {} grace", human(p), human(limits.grace)),
            None,
        ),
        (None, Err(e)) => (
            None,
            String::new(),
            Some(format!(
                "cannot tell how often {cron:?} runs ({e}): set max_age"
            )),
        ),
    };
    if let Some(a) = allowed {
        r.sample(
            "schedule_max_age_seconds",
            "How old a schedule's newest backup may be (its period plus the grace, or max_age)",
            a,
            &[("schedule", sched)],
        );
    }
    let in_progress = backups
        .iter()
        .take_while(|b| UNFINISHED.contains(&str_at(b, "/status/phase")))
        .count();
    let Some(newest) = backups.get(in_progress) else {
        let created = time_at(s, "/metadata/creationTimestamp").unwrap_or(0.0);
        let young = allowed.is_some_and(|a| now - created < a);
        let last = str_at(s, "/status/lastBackup");
        let what = match (in_progress, last) {
            (0, "") => "no backup".to_string(),
            (0, last) => format!(
                "no Backup labelled velero.io/schedule-name={sched} (status.lastBackup is {last}: expired or deleted?)"
            ),
            (n, _) => format!("no finished backup ({n} in progress)"),
        };
        let (status, mut message) = if young {
            (
                Status::Warning,
                format!(
                    "{what} yet: the schedule was created {} ago",
                    human(now - created)
                ),
            )
        } else {
            (Status::Critical, what)
        };
        // Without a period, say how to give the check one.
        if let Some(e) = period_error {
            message.push_str(&format!(", {e}"));
        }
        return (status, message);
    };
    let backup = name(newest);
    let phase = str_at(newest, "/status/phase");
    let completed = time_at(newest, "/status/completionTimestamp");
    let mut status = Status::Ok;
    let mut parts = Vec::new();
    match phase {
        "Completed" => parts.push(format!("{backup} Completed")),
        "PartiallyFailed" => {
            status = Status::Warning;
            let errors = newest.pointer("/status/errors").and_then(Value::as_i64);
            parts.push(format!(
                "{backup} PartiallyFailed ({} errors; velero backup logs {backup})",
                errors.unwrap_or(0)
            ));
        }
        "Failed" | "FailedValidation" => {
            status = Status::Critical;
            let reason = str_at(newest, "/status/failureReason");
            let errors = validation_errors(newest);
            let why = if !reason.is_empty() {
                format!(": {reason}")
            } else if !errors.is_empty() {
                format!(": {}", errors.join("; "))
            } else {
                String::new()
            };
            parts.push(format!("{backup} {phase}{why}"));
        }
        other => {
            status = Status::Warning;
            parts.push(format!("{backup} in phase {other:?}"));
        }
    }
    if in_progress > 0 {
        parts.push(format!("{} newer in progress", in_progress));
    }
    if phase == "Completed" || phase == "PartiallyFailed" {
        match completed {
            Some(t) => {
                let age = now - t;
                r.sample(
                    "newest_backup_age_seconds",
                    "Age of a schedule's newest finished backup (since its completion)",
                    age,
                    &[("schedule", sched)],
                );
                match allowed {
                    Some(a) if age > a => {
                        status = Status::Critical;
                        parts.push(format!(
                            "completed {} ago, more than {} ({why})",
                            human(age),
                            human(a)
                        ));
                    }
                    _ => parts.push(format!("completed {} ago", human(age))),
                }
            }
            None => {
                status = status.max(Status::Warning);
                parts.push("no completionTimestamp".into());
            }
        }
    }
    if let Some(e) = period_error {
        status = status.max(Status::Warning);
        parts.push(e);
    }
    (status, parts.join(", "))
}

/// One ETCDSnapshotFile, as the judgement needs it.
struct Snapshot<'a> {
    name: &'a str,
    created: f64,
    failed: Option<String>,
}

impl Snapshot<'_> {
    /// Whether RKE2/K3s prune it: a scheduled snapshot (named
    /// `<etcd-snapshot-name>-<node>-<timestamp>`, not `on-demand-...`) that was
    /// written (a failed one is only a record, kept for a day).
    fn pruned(&self, snapshot_name: &str) -> bool {
        self.failed.is_none() && self.name.starts_with(snapshot_name)
    }
}

/// Where an S3 snapshot is: `s3://bucket/prefix` (its endpoint apart).
fn s3_location(file: &Value) -> String {
    let bucket = str_at(file, "/spec/s3/bucket");
    let prefix = str_at(file, "/spec/s3/prefix").trim_matches('/');
    if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    }
}

/// Judge RKE2/K3s etcd snapshots per node and storage (local, s3): the newest
/// recent and usable, no failures; the scheduled ones no more than the
/// retention, per node locally and in all of each S3 bucket (RKE2/K3s prune S3
/// across the nodes). `etcd_nodes` are the nodes that must have snapshots (None:
/// not asked).
pub fn etcd_snapshots(
    limits: &Limits,
    files: &[Value],
    etcd_nodes: Option<&[String]>,
    now: f64,
) -> Report {
    let mut f = Findings::new();
    let allowed = limits
        .max_age
        .unwrap_or(limits.snapshot_interval + limits.grace);
    let why = match limits.max_age {
        Some(m) => format!("max_age {}", human(m)),
        None => format!(
            "every {} + {} grace",
            human(limits.snapshot_interval),
            human(limits.grace)
        ),
    };
    let prefix = limits.snapshot_name.as_str();
    let mut groups: BTreeMap<(&str, &str), Vec<Snapshot>> = BTreeMap::new();
    // Scheduled S3 snapshots per endpoint and location.
    let mut in_s3: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for file in files {
        let node = str_at(file, "/spec/nodeName");
        let s3 = file.pointer("/spec/s3").is_some_and(|s| !s.is_null());
        let storage = if s3 { "s3" } else { "local" };
        let error = str_at(file, "/status/error/message");
        let ready = file.pointer("/status/readyToUse").and_then(Value::as_bool);
        let failed = if !error.is_empty() {
            Some(error.to_string())
        } else if ready == Some(false) {
            Some("not ready to use".into())
        } else {
            None
        };
        let snapshot = Snapshot {
            name: file
                .pointer("/spec/snapshotName")
                .and_then(Value::as_str)
                .unwrap_or_else(|| name(file)),
            created: time_at(file, "/status/creationTime")
                .or_else(|| time_at(file, "/status/error/time"))
                .or_else(|| time_at(file, "/metadata/creationTimestamp"))
                .unwrap_or(0.0),
            failed,
        };
        if s3 && snapshot.pruned(prefix) {
            *in_s3
                .entry((str_at(file, "/spec/s3/endpoint"), s3_location(file)))
                .or_default() += 1;
        }
        groups.entry((node, storage)).or_default().push(snapshot);
    }
    let mut good = 0;
    for ((node, storage), snaps) in &mut groups {
        snaps.sort_by(|a, b| b.created.total_cmp(&a.created));
        let subject = if *storage == "local" {
            node.to_string()
        } else {
            format!("{node} ({storage})")
        };
        let labels = [("node", *node), ("storage", *storage)];
        f.r.sample(
            "snapshots",
            "etcd snapshots (ETCDSnapshotFiles) per node and storage",
            snaps.len() as f64,
            &labels,
        );
        let failures: Vec<&Snapshot> = snaps.iter().filter(|s| s.failed.is_some()).collect();
        f.r.sample(
            "snapshots_failed",
            "etcd snapshots that failed or are not ready to use",
            failures.len() as f64,
            &labels,
        );
        let mut status = Status::Ok;
        let mut parts = Vec::new();
        let newest = &snaps[0];
        if let Some(e) = &newest.failed {
            status = Status::Critical;
            parts.push(format!("newest snapshot {} failed: {e}", newest.name));
        }
        match snaps.iter().find(|s| s.failed.is_none()) {
            Some(ok) => {
                let age = now - ok.created;
                f.r.sample(
                    "snapshot_age_seconds",
                    "Age of the newest usable etcd snapshot per node and storage",
                    age,
                    &labels,
                );
                if age > allowed {
                    status = Status::Critical;
                    parts.push(format!(
                        "newest usable snapshot {} is {} old, more than {} ({why})",
                        ok.name,
                        human(age),
                        human(allowed)
                    ));
                } else if status == Status::Ok {
                    parts.push(format!("newest {} ago", human(age)));
                }
            }
            None => {
                status = Status::Critical;
                parts.push("no usable snapshot".into());
            }
        }
        let older: Vec<String> = failures
            .iter()
            .filter(|s| !std::ptr::eq(**s, newest))
            .map(|s| format!("{}: {}", s.name, s.failed.as_deref().unwrap_or("")))
            .collect();
        if !older.is_empty() {
            status = status.max(Status::Warning);
            parts.push(format!(
                "{} older failed ({})",
                older.len(),
                older.join("; ")
            ));
        }
        // Locally each node prunes its own scheduled snapshots.
        let scheduled = snaps.iter().filter(|s| s.pruned(prefix)).count();
        if *storage == "local" && scheduled > limits.retention as usize {
            status = status.max(Status::Warning);
            parts.push(format!(
                "retention not applied: {scheduled} scheduled snapshots, retention {}",
                limits.retention
            ));
        }
        if status == Status::Ok {
            good += 1;
        }
        f.add(status, &subject, parts.join(", "));
    }
    // In S3 the newest uploads of all nodes together are kept (etcd-s3-retention).
    for ((_, location), count) in &in_s3 {
        f.r.sample(
            "s3_scheduled_snapshots",
            "Scheduled etcd snapshots in an S3 location, all nodes' together",
            *count as f64,
            &[("location", location.as_str())],
        );
        if *count > limits.s3_retention as usize {
            f.add(
                Status::Warning,
                location,
                format!(
                    "retention not applied: {count} scheduled snapshots of all nodes, s3_retention {}",
                    limits.s3_retention
                ),
            );
        }
    }
    let mut missing = 0;
    for node in etcd_nodes.unwrap_or(&[]) {
        if !groups.keys().any(|(n, _)| n == node) {
            missing += 1;
            f.add(
                Status::Critical,
                node,
                "etcd node without any snapshot".into(),
            );
        }
    }
    if groups.is_empty() && missing == 0 {
        f.add(
            Status::Critical,
            "etcd",
            "no ETCDSnapshotFile at all: are scheduled snapshots enabled (etcd-disable-snapshots)?"
                .into(),
        );
    }
    let head = format!(
        "{good}/{} node snapshot sets ok ({} snapshots)",
        groups.len() + missing,
        files.len()
    );
    f.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0; // 2027-01-15T08:00:00Z

    fn at(ago: f64) -> String {
        let t = (NOW - ago) as i64;
        let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
        let (y, m, d) = crate::period::civil(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }

    fn limits(p: Value) -> Limits {
        let mut all = json!({"source": "velero"});
        all.as_object_mut()
            .unwrap()
            .extend(p.as_object().unwrap().clone());
        let p: Params = serde_json::from_value(all).unwrap();
        p.validate().unwrap()
    }

    fn sched(name: &str, cron: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero",
                            "creationTimestamp": "2026-01-01T00:00:00Z"},
               "spec": {"schedule": cron, "template": {"ttl": "720h0m0s"}},
               "status": {"phase": "Enabled", "lastBackup": at(3600.0)}})
    }

    fn backup(schedule: &str, name: &str, phase: &str, done_ago: f64) -> Value {
        json!({"metadata": {"name": name, "namespace": "velero",
                            "labels": {"velero.io/schedule-name": schedule},
                            "creationTimestamp": at(done_ago + 600.0)},
               "status": {"phase": phase, "startTimestamp": at(done_ago + 600.0),
                          "completionTimestamp": at(done_ago), "errors": 3,
                          "failureReason": "error getting backup store"}})
    }

    fn bsl(phase: &str) -> Value {
        json!({"metadata": {"name": "default", "namespace": "velero"},
               "spec": {"provider": "aws", "objectStorage": {"bucket": "backups"}},
               "status": {"phase": phase, "message": "BackupStorageLocation \"default\" is unavailable: rpc error"}})
    }

    fn findings(r: &Report) -> Vec<(String, Status, String)> {
        r.findings
            .iter()
            .map(|f| (f.subject.clone(), f.status, f.message.clone()))
            .collect()
    }

    #[test]
    fn a_recent_completed_backup_is_ok_a_stale_one_critical() {
        let l = limits(json!({}));
        let s = [sched("daily", "0 3 * * *")];
        let r = velero(
            &l,
            &s,
            &[backup("daily", "daily-2", "Completed", 3600.0)],
            &[bsl("Available")],
            NOW,
        );
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        assert_eq!(
            r.summary,
            "1/1 schedules ok, 1/1 storage locations available"
        );
        let age = r
            .samples
            .iter()
            .find(|s| s.name == "newest_backup_age_seconds")
            .unwrap();
        assert_eq!(age.value, 3600.0);

        // 26 hours: more than a day plus an hour.
        let r = velero(
            &l,
            &s,
            &[backup("daily", "daily-1", "Completed", 26.0 * 3600.0)],
            &[bsl("Available")],
            NOW,
        );
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
        assert_eq!(
            findings(&r)[0].2,
            "daily-1 Completed, completed 1d2h ago, more than 1d1h (every 1d + 1h grace)"
        );
        // max_age overrides the schedule.
        let r = velero(
            &limits(json!({"max_age": "2d"})),
            &s,
            &[backup("daily", "daily-1", "Completed", 26.0 * 3600.0)],
            &[bsl("Available")],
            NOW,
        );
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
    }

    #[test]
    fn phases_of_the_newest_backup() {
        let l = limits(json!({}));
        let s = [sched("six", "@every 6h")];
        let run = |backups: &[Value]| velero(&l, &s, backups, &[bsl("Available")], NOW);
        let r = run(&[backup("six", "six-2", "PartiallyFailed", 60.0)]);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(
            findings(&r)[0]
                .2
                .starts_with("six-2 PartiallyFailed (3 errors")
        );
        let r = run(&[backup("six", "six-2", "Failed", 60.0)]);
        assert_eq!(r.status, Status::Critical);
        assert_eq!(
            findings(&r)[0].2,
            "six-2 Failed: error getting backup store"
        );
        // The newest in progress: the one before it is judged.
        let r = run(&[
            backup("six", "six-3", "InProgress", -60.0),
            backup("six", "six-2", "Completed", 6.0 * 3600.0),
        ]);
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        assert_eq!(
            findings(&r)[0].2,
            "six-2 Completed, 1 newer in progress, completed 6h ago"
        );
        // Velero 1.17 queues backups: queued and ready to start are not finished either.
        for phase in ["Queued", "ReadyToStart", "New", ""] {
            let r = run(&[
                backup("six", "six-4", phase, -120.0),
                backup("six", "six-3", "InProgress", -60.0),
                backup("six", "six-2", "Completed", 6.0 * 3600.0),
            ]);
            assert_eq!(r.status, Status::Ok, "{phase}: {}", r.summary);
            assert_eq!(
                findings(&r)[0].2,
                "six-2 Completed, 2 newer in progress, completed 6h ago",
                "{phase}"
            );
        }
        // Other schedules' backups and manual ones do not count.
        let r = run(&[backup("other", "other-1", "Completed", 60.0)]);
        assert_eq!(r.status, Status::Critical);
        assert!(
            findings(&r)[0]
                .2
                .starts_with("no Backup labelled velero.io/schedule-name=six")
        );
    }

    #[test]
    fn paused_unparsable_new_and_empty() {
        let l = limits(json!({}));
        let mut paused = sched("old", "0 3 * * *");
        paused["spec"]["paused"] = json!(true);
        let odd = sched("odd", "0 3 * *");
        let r = velero(
            &l,
            &[paused, odd],
            &[backup("odd", "odd-1", "Completed", 60.0)],
            &[bsl("Available")],
            NOW,
        );
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        let f = findings(&r);
        assert_eq!(
            f[0],
            ("old".into(), Status::Ok, "paused: not judged".into())
        );
        assert_eq!(f[1].1, Status::Warning);
        assert!(
            f[1].2
                .contains("cannot tell how often \"0 3 * *\" runs (4 fields"),
            "{}",
            f[1].2
        );
        assert!(
            r.summary
                .starts_with("0/1 schedules ok, 1/1 storage locations available, 1 paused; odd: ")
        );

        // A schedule made an hour ago with no backup yet is a warning; an old one critical.
        let mut new = sched("new", "0 3 * * *");
        new["metadata"]["creationTimestamp"] = json!(at(3600.0));
        new["status"] = json!({"phase": "Enabled"});
        let r = velero(&l, &[new.clone()], &[], &[bsl("Available")], NOW);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        new["metadata"]["creationTimestamp"] = json!(at(30.0 * 86400.0));
        let r = velero(&l, &[new], &[], &[bsl("Available")], NOW);
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
        assert_eq!(findings(&r)[0].2, "no backup");

        // No backup and a schedule whose period cannot be read: the hint stays.
        let mut odd = sched("odd", "0 0 29 2 *");
        odd["status"] = json!({"phase": "Enabled"});
        let r = velero(&l, &[odd], &[], &[bsl("Available")], NOW);
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
        assert_eq!(
            findings(&r)[0].2,
            "no backup, cannot tell how often \"0 0 29 2 *\" runs (it runs too rarely to judge, on one day in two years): set max_age"
        );
    }

    #[test]
    fn storage_locations() {
        let l = limits(json!({}));
        let r = velero(&l, &[], &[], &[bsl("Unavailable")], NOW);
        assert_eq!(r.status, Status::Critical);
        assert_eq!(
            findings(&r)[0],
            (
                "BackupStorageLocation/default".into(),
                Status::Critical,
                "Unavailable (bucket backups): BackupStorageLocation \"default\" is unavailable: rpc error".into()
            )
        );
        let r = velero(
            &l,
            &[sched("s", "@daily")],
            &[backup("s", "s-1", "Completed", 5.0)],
            &[],
            NOW,
        );
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.summary.contains("BackupStorageLocation: none"),
            "{}",
            r.summary
        );
    }

    fn snap(node: &str, ago_h: f64, s3: bool, error: Option<&str>) -> Value {
        let stamp = (NOW - ago_h * 3600.0) as i64;
        let snapshot = format!("etcd-snapshot-{node}-{stamp}");
        let mut v = json!({
            "metadata": {"name": format!("{}-{snapshot}-abc123", if s3 {"s3"} else {"local"})},
            "spec": {"snapshotName": snapshot, "nodeName": node,
                     "location": format!("file:///var/lib/rancher/rke2/server/db/snapshots/{snapshot}")},
            "status": {"creationTime": at(ago_h * 3600.0), "readyToUse": true, "size": "12345678"}
        });
        if s3 {
            v["spec"]["s3"] =
                json!({"bucket": "etcd", "endpoint": "s3.example.com", "region": "eu-1"});
        }
        if let Some(e) = error {
            v["status"]["readyToUse"] = json!(false);
            v["status"]["error"] = json!({"message": e, "time": at(ago_h * 3600.0)});
            v["status"].as_object_mut().unwrap().remove("size");
        }
        v
    }

    fn etcd(files: &[Value], nodes: Option<&[String]>) -> Report {
        let l = limits(json!({"source": "etcd-snapshots", "snapshot_interval": "6h"}));
        etcd_snapshots(&l, files, nodes, NOW)
    }

    #[test]
    fn snapshots_per_node_recent_and_retained() {
        let files: Vec<Value> = (0..5)
            .map(|i| snap("server-1", 1.0 + 6.0 * i as f64, false, None))
            .collect();
        let r = etcd(&files, Some(&["server-1".into()]));
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        assert_eq!(r.summary, "1/1 node snapshot sets ok (5 snapshots)");
        assert_eq!(findings(&r)[0].2, "newest 1h ago");

        // Eight hours: more than 6h + 1h.
        let r = etcd(&[snap("server-1", 8.0, false, None)], None);
        assert_eq!(r.status, Status::Critical);
        assert!(
            findings(&r)[0]
                .2
                .contains("is 8h old, more than 7h (every 6h + 1h grace)"),
            "{r:?}"
        );

        // More than the retention: a warning; the s3 copies are counted apart.
        let mut files: Vec<Value> = (0..7)
            .map(|i| snap("server-1", 1.0 + 6.0 * i as f64, false, None))
            .collect();
        files.extend((0..5).map(|i| snap("server-1", 1.0 + 6.0 * i as f64, true, None)));
        let r = etcd(&files, None);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        let f = findings(&r);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[1],
            ("server-1 (s3)".into(), Status::Ok, "newest 1h ago".into())
        );
        assert_eq!(f[0].0, "server-1");
        assert!(
            f[0].2
                .ends_with("retention not applied: 7 scheduled snapshots, retention 5"),
            "{f:?}"
        );
    }

    /// A snapshot taken by `rke2 etcd-snapshot save`: named on-demand-..., never pruned.
    fn on_demand(node: &str, ago_h: f64) -> Value {
        let mut v = snap(node, ago_h, false, None);
        let name = v["spec"]["snapshotName"]
            .as_str()
            .unwrap()
            .replace("etcd-snapshot-", "on-demand-");
        v["spec"]["snapshotName"] = json!(name);
        v
    }

    #[test]
    fn only_scheduled_written_snapshots_count_against_the_retention() {
        // Five scheduled, two on-demand (kept by RKE2/K3s) and a failed one (a
        // record without a file): within the retention.
        let mut files: Vec<Value> = (0..5)
            .map(|i| snap("server-1", 1.0 + 6.0 * i as f64, false, None))
            .collect();
        files.push(on_demand("server-1", 100.0));
        files.push(on_demand("server-1", 200.0));
        files.push(snap("server-1", 3.0, false, Some("etcd snapshot failed")));
        let r = etcd(&files, None);
        let f = findings(&r);
        assert!(!f[0].2.contains("retention"), "{f:?}");
        assert_eq!(f[0].1, Status::Warning, "the failed one: {f:?}");
        // One more scheduled: six.
        files.push(snap("server-1", 31.0, false, None));
        let f = findings(&etcd(&files, None));
        assert!(
            f[0].2
                .ends_with("retention not applied: 6 scheduled snapshots, retention 5"),
            "{f:?}"
        );
        // Another etcd-snapshot-name.
        let l = limits(json!({"source": "etcd-snapshots", "snapshot_name": "nightly"}));
        let f = findings(&etcd_snapshots(&l, &files, None, NOW));
        assert!(!f[0].2.contains("retention"), "{f:?}");
    }

    #[test]
    fn s3_retention_counts_all_nodes_together() {
        // Three servers, two uploads each in the same bucket: six, one over.
        let mut files: Vec<Value> = Vec::new();
        for node in ["server-1", "server-2", "server-3"] {
            files.extend((0..2).map(|i| snap(node, 1.0 + 6.0 * i as f64, true, None)));
        }
        files.push(on_demand("server-1", 50.0));
        files[6]["spec"]["s3"] = json!({"bucket": "etcd", "endpoint": "s3.example.com"});
        let r = etcd(&files, None);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        let f = findings(&r);
        assert_eq!(
            f[3],
            (
                "s3://etcd".into(),
                Status::Warning,
                "retention not applied: 6 scheduled snapshots of all nodes, s3_retention 5".into()
            ),
            "{f:?}"
        );
        // Each node's own S3 copies are fine.
        assert!(
            f[..3]
                .iter()
                .all(|(s, st, _)| s.ends_with("(s3)") && *st == Status::Ok),
            "{f:?}"
        );
        let l = limits(
            json!({"source": "etcd-snapshots", "snapshot_interval": "6h",
                              "s3_retention": 6}),
        );
        assert_eq!(etcd_snapshots(&l, &files, None, NOW).status, Status::Ok);
    }

    #[test]
    fn snapshot_interval_defaults_to_stock_rke2_or_comes_from_the_schedule() {
        let l = |p: Value| {
            let p: Params = serde_json::from_value(p).unwrap();
            p.validate()
        };
        let h = 3600.0;
        let stock = l(json!({"source": "etcd-snapshots"})).unwrap();
        assert_eq!(stock.snapshot_interval, 12.0 * h);
        assert_eq!((stock.retention, stock.s3_retention), (5, 5));
        assert_eq!(stock.snapshot_name, "etcd-snapshot");
        // Eleven hours is fine every 12h; thirteen and a half is not.
        let r = etcd_snapshots(&stock, &[snap("server-1", 11.0, false, None)], None, NOW);
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        let r = etcd_snapshots(&stock, &[snap("server-1", 13.5, false, None)], None, NOW);
        assert!(
            findings(&r)[0]
                .2
                .contains("more than 13h (every 12h + 1h grace)"),
            "{r:?}"
        );
        let six = l(json!({"source": "etcd-snapshots", "schedule": "0 */6 * * *"})).unwrap();
        assert_eq!(six.snapshot_interval, 6.0 * h);
        let e = l(
            json!({"source": "etcd-snapshots", "schedule": "0 */6 * * *",
                         "snapshot_interval": "6h"}),
        )
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = l(json!({"source": "etcd-snapshots", "schedule": "0 0 29 2 *"})).unwrap_err();
        assert!(
            e.starts_with("schedule \"0 0 29 2 *\": it runs too rarely to judge")
                && e.ends_with("set snapshot_interval or max_age"),
            "{e}"
        );
        // The old name is refused, not silently ignored.
        let e = serde_json::from_value::<Params>(json!({"source": "etcd-snapshots",
                                                       "interval": "6h"}))
        .unwrap_err();
        assert!(e.to_string().contains("interval"), "{e}");
    }

    #[test]
    fn failed_snapshots_and_missing_nodes() {
        // The newest failed: critical; an older one failed: a warning.
        let r = etcd(
            &[
                snap(
                    "server-1",
                    0.5,
                    true,
                    Some("failed to upload: Access Denied"),
                ),
                snap("server-1", 6.5, true, None),
                snap("server-2", 1.0, false, None),
                snap(
                    "server-2",
                    7.0,
                    false,
                    Some("snapshot failed: context deadline exceeded"),
                ),
            ],
            Some(&["server-1".into(), "server-2".into(), "server-3".into()]),
        );
        assert_eq!(r.status, Status::Critical);
        let f = findings(&r);
        assert_eq!(f[0].0, "server-1 (s3)");
        assert_eq!(f[0].1, Status::Critical);
        assert!(
            f[0].2
                .starts_with("newest snapshot etcd-snapshot-server-1-"),
            "{f:?}"
        );
        assert!(
            f[0].2.contains(" failed: failed to upload: Access Denied"),
            "{f:?}"
        );
        assert_eq!(f[1].0, "server-2");
        assert_eq!(f[1].1, Status::Warning);
        assert!(
            f[1].2.contains("1 older failed (etcd-snapshot-server-2-"),
            "{f:?}"
        );
        assert_eq!(
            f[2],
            (
                "server-3".into(),
                Status::Critical,
                "etcd node without any snapshot".into()
            )
        );
        assert!(
            r.summary
                .starts_with("0/3 node snapshot sets ok (4 snapshots); server-1 (s3): "),
            "{}",
            r.summary
        );

        let r = etcd(&[], None);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.summary.contains("no ETCDSnapshotFile at all"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (p, want) in [
            (json!({"source": "restic"}), "source"),
            (json!({"source": "velero", "grace": "soon"}), "grace"),
            (json!({"source": "velero", "max_age": "0h"}), "max_age"),
            (
                json!({"source": "etcd-snapshots", "retention": 0}),
                "retention",
            ),
            (
                json!({"source": "etcd-snapshots", "s3_retention": 0}),
                "s3_retention",
            ),
            (
                json!({"source": "etcd-snapshots", "snapshot_interval": "often"}),
                "snapshot_interval",
            ),
            (
                json!({"source": "etcd-snapshots", "snapshot_name": ""}),
                "snapshot_name",
            ),
            (
                json!({"source": "velero", "namespace": "Velero"}),
                "namespace",
            ),
        ] {
            let p: Params = serde_json::from_value(p).unwrap();
            let e = p.validate().unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let e = serde_json::from_value::<Params>(json!({"source": "velero", "grace_period": "1h"}))
            .unwrap_err();
        assert!(e.to_string().contains("grace_period"), "{e}");
    }
}
