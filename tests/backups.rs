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
    assert!(
        text.contains("\"critical\" \"gitlab-offsite\": \"gitlab-offsite-20261201060000 Failed: backup storage location offsite is unavailable\""),
        "{text}"
    );
    assert!(
        text.contains("\"critical\" \"BackupStorageLocation/offsite\": \"Unavailable (bucket rke2-velero-offsite): BackupStorageLocation \\\"offsite\\\" is unavailable: rpc error"),
        "{text}"
    );
    // The newest hourly backup is in progress: the one before it partially failed.
    assert!(
        text.contains("\"warning\" \"hourly-apps\": \"hourly-apps-20261201085500 PartiallyFailed (2 errors; velero backup logs hourly-apps-20261201085500), 1 newer in progress, completed 56m ago\""),
        "{text}"
    );
    assert!(
        text.contains("\"ok\" \"daily-cluster\": \"daily-cluster-20261201030000 Completed, completed 6h48m ago\""),
        "{text}"
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

    // The location back, the GitLab backup retried and done: the partial failure is left.
    api.update(|objects| {
        for o in objects.iter_mut() {
            if o["kind"] == "BackupStorageLocation" {
                o["status"] = json!({"phase": "Available", "lastValidationTime": ago(20)});
            }
            if o["metadata"]["name"] == "gitlab-offsite-20261201060000" {
                o["status"]["phase"] = json!("Completed");
                o["status"]["completionTimestamp"] = json!(ago(1800));
                o["status"].as_object_mut().unwrap().remove("failureReason");
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
    assert!(
        findings(&r).contains("\"daily-cluster\": \"daily-cluster-20261201030000 Completed, completed 6h48m ago, more than 30m (max_age 30m)\""),
        "{}",
        findings(&r)
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
    assert!(
        text.contains("\"warning\" \"rke2-server-3\": \"newest 4h ago, retention not applied: 7 snapshots, retention 5\""),
        "{text}"
    );
    assert!(
        text.contains("\"warning\" \"rke2-server-3 (s3)\": \"newest 4h ago, 1 older failed (etcd-snapshot-rke2-server-3-1796061600: failed to upload snapshot: Put "),
        "{text}"
    );
    assert!(
        text.contains("\"ok\" \"rke2-server-1\": \"newest 4h ago\"")
            && text.contains("\"ok\" \"rke2-server-1 (s3)\": \"newest 4h ago\""),
        "{text}"
    );
    assert!(
        summary(&r).starts_with("2/5 node snapshot sets ok (27 snapshots); rke2-server-2: "),
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
    let get = |args: &[&str]| {
        let out = api
            .kubectl()
            .args(args)
            .output()
            .expect("kubectl (scripts/install-deps)");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
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
    assert!(get(&["get", "bsl", "-n", "velero"]).contains("offsite"));
    let nodes = get(&[
        "get",
        "etcdsnapshotfiles",
        "-o",
        "jsonpath={.items[*].spec.nodeName}",
    ]);
    assert_eq!(nodes.split(' ').count(), 27, "{nodes}");
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
