//! Outputs for Prometheus and CI, checked by the real consumers: `promtool check
//! metrics`, node_exporter's textfile collector, and a JUnit parser (junitparser).

mod support;

use std::process::Command;

use support::etcd::EtcdCluster;
use support::process::{free_port, get, promtool_check, spawn_quiet};
use support::vitals::{ConfigDir, Outcome, toml_list};

fn config_for(cluster: &EtcdCluster) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = {}\n",
        toml_list(&cluster.client_urls())
    ));
    cfg.check(
        "etcd",
        "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n",
    );
    cfg
}

#[test]
fn exposition_passes_promtool_and_node_exporter_serves_the_textfile() {
    let mut cluster = EtcdCluster::start(3, None, None).unwrap();
    cluster.kill(2);
    cluster.wait_for_stable_leader().unwrap();
    let cfg = config_for(&cluster);
    cfg.check("panics", "plugin = \"chaos\"\n[params]\nmode = \"panic\"\n");
    let textdir = tempfile::tempdir().unwrap();
    let prom = textdir.path().join("vitals.prom");
    let out = cfg.vitals(&[
        "run",
        "--format",
        "prometheus",
        "--textfile",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    let exposition = out.stdout.clone();
    for line in [
        "vitals_check_status{check=\"etcd\",cluster=\"local\"} 1.0",
        "vitals_check_success{check=\"etcd\",cluster=\"local\"} 0.0",
        "vitals_check_status{check=\"panics\",cluster=\"local\"} 3.0",
        "vitals_etcd_members_healthy{check=\"etcd\",cluster=\"local\"} 2.0",
        "vitals_runner_failures_total{kind=\"panic\"} 1",
        "# TYPE vitals_check_duration_seconds gauge",
    ] {
        assert!(
            exposition.contains(line),
            "missing {line:?} in:\n{exposition}"
        );
    }
    promtool_check(&exposition);
    let file = std::fs::read_to_string(&prom).unwrap();
    promtool_check(&file);
    let sorted = |s: &str| {
        let mut v: Vec<&str> = s.lines().collect();
        v.sort_unstable();
        v.join("\n")
    };
    assert_eq!(
        sorted(&file),
        sorted(&exposition),
        "the textfile holds the same exposition"
    );
    // No temporary files are left beside it.
    assert_eq!(std::fs::read_dir(textdir.path()).unwrap().count(), 1);

    // A real node_exporter exposes the series.
    let port = free_port();
    let _exporter = spawn_quiet(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--collector.textfile.directory={}",
                textdir.path().display()
            ))
            .args(["--collector.disable-defaults", "--collector.textfile"]),
    );
    let scraped = get(&format!("http://127.0.0.1:{port}/metrics"));
    assert!(
        scraped.contains("vitals_check_status{check=\"etcd\",cluster=\"local\"} 1"),
        "{scraped}"
    );
    assert!(
        scraped
            .contains("vitals_etcd_db_size_bytes{check=\"etcd\",cluster=\"local\",member=\"m1\"}"),
        "{scraped}"
    );
    assert!(
        scraped.contains("\nnode_textfile_scrape_error 0\n"),
        "{scraped}"
    );
}

/// Parse JUnit XML with junitparser; returns per suite (name, tests, failures, errors).
fn junit_counts(xml: &str) -> Vec<(String, u64, u64, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xml");
    std::fs::write(&path, xml).unwrap();
    let script = "import sys, json\nfrom junitparser import JUnitXml\nx = JUnitXml.fromfile(sys.argv[1])\nprint(json.dumps([[s.name, s.tests, s.failures, s.errors] for s in x]))";
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3 with junitparser");
    assert!(
        out.status.success(),
        "junitparser failed: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<(String, u64, u64, u64)> = serde_json::from_slice(&out.stdout).unwrap();
    v
}

/// A 1-member etcd as cluster `a`, and an unreachable endpoint as cluster `second`,
/// with the etcd check granted on both.
fn two_clusters(second: &str) -> (EtcdCluster, ConfigDir) {
    let cluster = EtcdCluster::start(1, None, None).unwrap();
    let url = &cluster.client_urls()[0];
    let cfg = ConfigDir::new(&format!(
        "[clusters.a.endpoints.etcd]\nkind = \"http\"\nurls = [\"{url}\"]\n[clusters.{second}.endpoints.etcd]\nkind = \"http\"\nurls = [\"http://127.0.0.1:9\"]\n"
    ));
    cfg.check(
        "etcd",
        "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n",
    );
    (cluster, cfg)
}

#[test]
fn junit_has_a_suite_per_cluster_and_follows_fail_on() {
    let (_cluster, cfg) = two_clusters("b");
    cfg.check(
        "spin",
        "plugin = \"chaos\"\nclusters = [\"a\"]\ntimeout = \"1s\"\n[params]\nmode = \"spin\"\n",
    );
    let out: Outcome = cfg.vitals(&["run", "--format", "junit"]);
    assert_eq!(out.code, 3, "{out:?}");
    let suites = junit_counts(&out.stdout);
    // Cluster a: etcd ok, spin unknown (an error). Cluster b: etcd unreachable (critical: a failure).
    assert_eq!(
        suites,
        vec![("a".to_string(), 2, 0, 1), ("b".to_string(), 1, 1, 0)],
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("no etcd member reachable"),
        "findings and summary in the message: {}",
        out.stdout
    );

    // With --fail-on unknown, the critical result no longer fails the suite (nor the exit code).
    let out = cfg.vitals(&[
        "run",
        "--format",
        "junit",
        "--fail-on",
        "unknown",
        "--check",
        "etcd",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let suites = junit_counts(&out.stdout);
    assert_eq!(
        suites,
        vec![("a".to_string(), 1, 0, 0), ("b".to_string(), 1, 0, 0)],
        "{}",
        out.stdout
    );
}

#[test]
fn pushgateway_keeps_clusters_and_hosts_apart() {
    let (_cluster, cfg) = two_clusters("\"eu/b\"");
    let port = free_port();
    let _gateway = spawn_quiet(
        Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
    );
    let gw = format!("http://127.0.0.1:{port}");
    get(&format!("{gw}/-/ready"));
    // Two clusters pushed separately, and the same cluster from a second host.
    for args in [
        vec![
            "run",
            "--cluster",
            "a",
            "--pushgateway",
            &gw,
            "--instance",
            "host1",
        ],
        vec![
            "run",
            "--cluster",
            "eu/b",
            "--pushgateway",
            &gw,
            "--instance",
            "host1",
        ],
        vec![
            "run",
            "--cluster",
            "a",
            "--pushgateway",
            &gw,
            "--instance",
            "host2",
        ],
    ] {
        let out = cfg.vitals(&args);
        assert!(out.code == 0 || out.code == 2, "{out:?}");
    }
    let scraped = get(&format!("{gw}/metrics"));
    for series in [
        "vitals_check_status{check=\"etcd\",cluster=\"a\",instance=\"host1\",job=\"vitals\"} 0",
        "vitals_check_status{check=\"etcd\",cluster=\"a\",instance=\"host2\",job=\"vitals\"} 0",
        "vitals_check_status{check=\"etcd\",cluster=\"eu/b\",instance=\"host1\",job=\"vitals\"} 2",
    ] {
        assert!(
            scraped.contains(series),
            "missing {series:?} in:\n{scraped}"
        );
    }

    // An unreachable Pushgateway is an error of vitals itself, not a check result.
    let out = cfg.vitals(&[
        "run",
        "--cluster",
        "a",
        "--pushgateway",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(out.code, 69, "{out:?}");
    assert!(out.stderr.contains("--pushgateway"), "{}", out.stderr);
}
