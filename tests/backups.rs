//! The backups check with the shipped `checks.d/velero.toml` and
//! `checks.d/etcd-snapshots.toml`, as they are, against the fixture API server
//! serving Velero Schedules, Backups and BackupStorageLocations and RKE2
//! ETCDSnapshotFiles (tests/fixtures/kubernetes/backups.json, written from
//! velero.io/v1 and k3s.cattle.io/v1 types, times moved to now); the fixture
//! serving those kinds is proven against the real kubectl.

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago};
use support::vitals::{ConfigDir, assert_summary_names_the_worst_finding, findings, summary};

/// A configuration with the shipped `checks.d/<example>.toml` as check `<example>`.
fn config(api: &ApiServer, example: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_plugin("backups", "backups");
    let path = support::vitals::root().join(format!("checks.d/{example}.toml"));
    cfg.check(example, &std::fs::read_to_string(path).unwrap());
    cfg
}

/// The result, recorded as cassette `scenario` when given.
fn run(cfg: &ConfigDir, check: &str, scenario: Option<&str>) -> Value {
    let (out, r) = match scenario {
        Some(s) => {
            let (out, r, _) = cfg.record_check(check, "backups", s, &[]);
            (out, r)
        }
        None => cfg.run_check(check, &[]),
    };
    assert!(r.get("failure").is_none(), "{r:#}\n{}", out.stderr);
    assert_summary_names_the_worst_finding(&r);
    r
}

/// Seconds of an age as the check writes it: `4h`, `6h48m`, `56m3s`, `2d6h`.
fn seconds(age: &str) -> Option<u64> {
    let (mut total, mut number) = (0, String::new());
    for c in age.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total += number.parse::<u64>().ok()? * unit;
        number.clear();
    }
    (number.is_empty() && !age.is_empty()).then_some(total)
}

/// Assert that `text` holds `before`, an age, then `after`: the age no less than
/// `secs` and less than two minutes more. The fixture's times are moved to when it
/// was loaded, and the run comes a moment later (a loaded CI machine takes more
/// than a moment); the check writes ages truncated to their two largest units.
fn assert_age(text: &str, before: &str, secs: u64, after: &str) {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("no {before:?} in:\n{text}"))
        + before.len();
    let rest = &text[at..];
    let end = rest
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} after {before:?} in:\n{text}"));
    let age = seconds(&rest[..end])
        .unwrap_or_else(|| panic!("{:?} after {before:?} is not an age", &rest[..end]));
    assert!(
        (secs..secs + 120).contains(&age),
        "{before}{}{after}: expected {secs}s to {}s",
        &rest[..end],
        secs + 119
    );
}

#[test]
fn ages_are_read_as_the_check_writes_them() {
    assert_eq!(seconds("4h"), Some(14_400));
    assert_eq!(seconds("6h48m"), Some(24_480));
    assert_eq!(seconds("56m3s"), Some(3363));
    assert_eq!(seconds("2d6h"), Some(194_400));
    for bad in ["", "4", "4x", "h", "4h ago"] {
        assert_eq!(seconds(bad), None, "{bad}");
    }
    assert_age("x: \"newest 4h1m ago\"", "x: \"newest ", 4 * 3600, " ago\"");
}

fn sample(r: &Value, name: &str, label: (&str, &str)) -> f64 {
    r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name && s["labels"][label.0] == label.1)
        .unwrap_or_else(|| panic!("no sample {name} {label:?}: {r:#}"))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn velero_schedules_and_locations() {
    let api = ApiServer::start(ApiServer::with_backups());
    let cfg = config(&api, "velero");
    let r = run(&cfg, "velero", Some("velero-failed"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    // As Velero writes it: the location Unavailable, the backup fails validation.
    assert!(
        text.contains("\"critical\" \"gitlab-offsite\": \"gitlab-offsite-20261201060000 FailedValidation: backup can't be created because BackupStorageLocation offsite is in Unavailable status.\""),
        "{text}"
    );
    assert!(
        text.contains("\"critical\" \"BackupStorageLocation/offsite\": \"Unavailable (bucket rke2-velero-offsite): BackupStorageLocation \\\"offsite\\\" is unavailable: rpc error"),
        "{text}"
    );
    // The newest hourly backup is in progress: the one before it partially failed.
    assert_age(
        &text,
        "\"warning\" \"hourly-apps\": \"hourly-apps-20261201085500 PartiallyFailed (2 errors; velero backup logs hourly-apps-20261201085500), 1 newer in progress, completed ",
        56 * 60,
        " ago\"",
    );
    assert_age(
        &text,
        "\"ok\" \"daily-cluster\": \"daily-cluster-20261201030000 Completed, completed ",
        6 * 3600 + 48 * 60,
        " ago\"",
    );
    assert!(
        text.contains("\"ok\" \"weekly-archive\": \"paused: not judged\""),
        "{text}"
    );
    assert!(!text.contains("pre-upgrade"), "{text}");
    assert!(
        summary(&r).starts_with("1/3 schedules ok, 1/2 storage locations available, 1 paused; "),
        "{r:#}"
    );
    let age = sample(
        &r,
        "newest_backup_age_seconds",
        ("schedule", "daily-cluster"),
    );
    assert!((age - 6.8 * 3600.0).abs() < 120.0, "{age}");
    assert_eq!(
        sample(
            &r,
            "schedule_max_age_seconds",
            ("schedule", "daily-cluster")
        ),
        25.0 * 3600.0
    );

    // The location back, a GitLab backup taken from the schedule and done
    // (`velero backup create --from-schedule gitlab-offsite`, which labels it so):
    // the partial failure is left.
    api.update(|objects| {
        let failed = objects
            .iter()
            .find(|o| o["metadata"]["name"] == "gitlab-offsite-20261201060000")
            .unwrap();
        let mut retried = failed.clone();
        retried["metadata"]["name"] = json!("gitlab-offsite-20261201092000");
        retried["metadata"]["uid"] = json!("0d6e3b1a-52c4-4f0e-9a57-6c1b2f8e4d93");
        retried["metadata"]["creationTimestamp"] = json!(ago(2400));
        retried["status"] = json!({
            "expiration": failed["status"]["expiration"], "formatVersion": "1.1.0",
            "phase": "Completed", "startTimestamp": ago(2400), "version": 1,
            "completionTimestamp": ago(1800),
            "progress": {"itemsBackedUp": 207, "totalItems": 207}
        });
        objects.push(retried);
        for o in objects.iter_mut() {
            if o["kind"] == "BackupStorageLocation" {
                o["status"] = json!({"phase": "Available", "lastValidationTime": ago(20)});
            }
        }
    });
    let r = run(&cfg, "velero", Some("velero-partially-failed"));
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(summary(&r).contains("; hourly-apps: "), "{r:#}");

    // Stale: the daily backups stopped two days ago.
    api.update(|objects| {
        objects.retain(|o| {
            !(o["kind"] == "Backup"
                && o["metadata"]["labels"]["velero.io/schedule-name"] == "daily-cluster"
                && o["metadata"]["name"] != "daily-cluster-20261129030000")
        });
        for o in objects.iter_mut() {
            if o["metadata"]["name"] == "hourly-apps-20261201095500" {
                o["status"]["phase"] = json!("Completed");
                o["status"]["completionTimestamp"] = json!(ago(60));
            }
        }
    });
    let r = run(&cfg, "velero", Some("velero-stale"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"critical\" \"daily-cluster\": \"daily-cluster-20261129030000 Completed, completed 2d6h ago, more than 1d1h (every 1d + 1h grace)\""),
        "{}",
        findings(&r)
    );

    // All recent again.
    api.update(|objects| {
        for o in objects.iter_mut() {
            if o["metadata"]["name"] == "daily-cluster-20261129030000" {
                o["status"]["completionTimestamp"] = json!(ago(3600));
            }
        }
    });
    let r = run(&cfg, "velero", Some("velero-ok"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(
        summary(&r),
        "3/3 schedules ok, 2/2 storage locations available, 1 paused"
    );
}

#[test]
fn velero_parameters_and_a_cluster_without_velero() {
    let api = ApiServer::start(ApiServer::with_backups());
    let cfg = config(&api, "velero");
    let shipped = std::fs::read_to_string(cfg.path().join("checks.d/velero.toml")).unwrap();
    // An unknown duration is named, not guessed.
    cfg.check(
        "velero",
        &shipped.replace("grace = \"1h\"", "grace = \"an hour\""),
    );
    let (_, r) = cfg.run_check("velero", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        summary(&r).starts_with("invalid parameters: grace: \"an hour\" is not a duration"),
        "{r:#}"
    );
    // A max_age overrides every schedule's period.
    cfg.check(
        "velero",
        &shipped.replace("# max_age = \"26h\"", "max_age = \"30m\""),
    );
    let r = run(&cfg, "velero", None);
    assert_age(
        &findings(&r),
        "\"daily-cluster\": \"daily-cluster-20261201030000 Completed, completed ",
        6 * 3600 + 48 * 60,
        " ago, more than 30m (max_age 30m)\"",
    );

    // As a cluster without Velero answers: the resource is not served.
    let api = ApiServer::start(ApiServer::rke2_cilium());
    api.fail("/apis/velero.io", Some(404));
    let (_, r) = config(&api, "velero").run_check("velero", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        summary(&r)
            .starts_with("listing /apis/velero.io/v1/namespaces/velero/schedules: api: HTTP 404")
            && summary(&r).ends_with("(is Velero installed?)"),
        "{r:#}"
    );
}

#[test]
fn etcd_snapshots_per_node() {
    let api = ApiServer::start(ApiServer::with_backups());
    let cfg = config(&api, "etcd-snapshots");
    let r = run(&cfg, "etcd-snapshots", Some("etcd-snapshots-failed"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("\"critical\" \"rke2-server-2\": \"newest snapshot etcd-snapshot-rke2-server-2-1796104800 failed: etcd snapshot failed: context deadline exceeded, newest usable snapshot etcd-snapshot-rke2-server-2-1796083200 is 10h old, more than 7h (every 6h + 1h grace)\""),
        "{text}"
    );
    let four_hours = 4 * 3600;
    assert_age(
        &text,
        "\"warning\" \"rke2-server-3\": \"newest ",
        four_hours,
        " ago, retention not applied: 7 scheduled snapshots, retention 5\"",
    );
    assert_age(
        &text,
        "\"warning\" \"rke2-server-3 (s3)\": \"newest ",
        four_hours,
        " ago, 1 older failed (etcd-snapshot-rke2-server-3-1796061600: failed to upload snapshot: Put ",
    );
    // Five scheduled snapshots and one taken by hand before the upgrade, which
    // RKE2 keeps: within the retention.
    assert_age(
        &text,
        "\"ok\" \"rke2-server-1\": \"newest ",
        four_hours,
        " ago\"",
    );
    assert_age(
        &text,
        "\"ok\" \"rke2-server-1 (s3)\": \"newest ",
        four_hours,
        " ago\"",
    );
    // S3 keeps etcd-s3-retention snapshots of all servers together: nine is four too many.
    assert!(
        text.contains("\"warning\" \"s3://rke2-etcd-snapshots/prod\": \"retention not applied: 9 scheduled snapshots of all nodes, s3_retention 5\""),
        "{text}"
    );
    assert!(
        summary(&r).starts_with("2/5 node snapshot sets ok (28 snapshots); rke2-server-2: "),
        "{r:#}"
    );
    let age = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["name"] == "snapshot_age_seconds"
                && s["labels"]["node"] == "rke2-server-1"
                && s["labels"]["storage"] == "s3"
        })
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!((age - 4.0 * 3600.0).abs() < 120.0, "{age}");

    // A server whose snapshots are all gone, the others healthy: it is named.
    api.update(|objects| {
        objects.retain(|o| {
            o["kind"] != "ETCDSnapshotFile"
                || o["spec"]["nodeName"] == "rke2-server-1" && o["spec"]["s3"].is_null()
                || o["spec"]["nodeName"] == "rke2-server-3" && o["spec"]["s3"].is_object()
        });
        for o in objects.iter_mut() {
            if o["kind"] == "ETCDSnapshotFile" && o["status"]["error"].is_object() {
                o["status"] = json!({"creationTime": o["status"]["creationTime"], "readyToUse": true, "size": "18374688"});
            }
        }
    });
    let r = run(&cfg, "etcd-snapshots", Some("etcd-snapshots-node-missing"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"critical\" \"rke2-server-2\": \"etcd node without any snapshot\""),
        "{}",
        findings(&r)
    );

    // Every server's snapshots again (from the healthy cluster): ok.
    let healthy = ApiServer::with_workloads();
    api.update(|objects| {
        objects.retain(|o| o["kind"] != "ETCDSnapshotFile");
        objects.extend(
            healthy
                .into_iter()
                .filter(|o| o["kind"] == "ETCDSnapshotFile"),
        );
    });
    let r = run(&cfg, "etcd-snapshots", Some("etcd-snapshots-ok"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "3/3 node snapshot sets ok (9 snapshots)");
}

#[test]
fn no_etcd_snapshot_resource_is_unknown() {
    let api = ApiServer::start(ApiServer::with_backups());
    // As a cluster that is not RKE2/K3s (or older) answers.
    api.fail("/apis/k3s.cattle.io", Some(404));
    let (_, r) = config(&api, "etcd-snapshots").run_check("etcd-snapshots", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        summary(&r).starts_with("listing /apis/k3s.cattle.io/v1/etcdsnapshotfiles: api: HTTP 404")
            && summary(&r).contains("RKE2 or K3s"),
        "{r:#}"
    );
}

#[test]
fn kubectl_lists_the_fixture_kinds() {
    let api = ApiServer::start(ApiServer::with_backups());
    let get = |args: &[&str]| api.kubectl_ok(args);
    let schedules = get(&["get", "schedules.velero.io", "-n", "velero"]);
    assert!(
        schedules.contains("daily-cluster") && schedules.contains("weekly-archive"),
        "{schedules}"
    );
    let phases = get(&[
        "get",
        "backups.velero.io",
        "-n",
        "velero",
        "-l",
        "velero.io/schedule-name=hourly-apps",
        "-o",
        "jsonpath={.items[*].status.phase}",
    ]);
    assert_eq!(phases, "Completed PartiallyFailed InProgress");
    let failed = get(&[
        "get",
        "backups.velero.io",
        "-n",
        "velero",
        "-l",
        "velero.io/storage-location=offsite",
        "-o",
        "jsonpath={.items[*].status.phase}",
    ]);
    assert_eq!(failed, "Completed FailedValidation");
    assert!(get(&["get", "bsl", "-n", "velero"]).contains("offsite"));
    let nodes = get(&[
        "get",
        "etcdsnapshotfiles",
        "-o",
        "jsonpath={.items[*].spec.nodeName}",
    ]);
    assert_eq!(nodes.split(' ').count(), 28, "{nodes}");
    // RKE2 labels them by where they are stored (etcd.<program>.cattle.io).
    let s3 = get(&[
        "get",
        "etcdsnapshotfiles",
        "-l",
        "etcd.rke2.cattle.io/snapshot-storage-node=s3",
        "-o",
        "name",
    ]);
    assert_eq!(s3.lines().count(), 10, "{s3}");
    assert!(get(&["api-resources", "--api-group", "k3s.cattle.io"]).contains("etcdsnapshotfiles"));
}

#[test]
fn on_the_demos_healthy_cluster_both_examples_are_ok() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let r = run(&config(&api, "velero"), "velero", None);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(
        summary(&r),
        "1/1 schedules ok, 1/1 storage locations available"
    );
    let r = run(&config(&api, "etcd-snapshots"), "etcd-snapshots", None);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(summary(&r), "3/3 node snapshot sets ok (9 snapshots)");
}
