//! The usage check with the shipped `checks.d/usage.toml`, as it is, against the
//! fixture API server serving the metrics API (metrics.k8s.io/v1beta1 NodeMetrics
//! and PodMetrics of tests/fixtures/kubernetes/metrics.json for the recorded RKE2
//! nodes); the real `kubectl top` reads the same numbers from it.

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, parse_time};
use support::vitals::{ConfigDir, assert_summary_names_the_worst_finding, findings, summary};

fn config(api: &ApiServer, extra: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_plugin("usage", "usage");
    let shipped =
        std::fs::read_to_string(support::vitals::root().join("checks.d/usage.toml")).unwrap();
    cfg.check("usage", &format!("{shipped}{extra}"));
    cfg
}

fn run(cfg: &ConfigDir, scenario: Option<&str>) -> Value {
    let (out, r) = match scenario {
        Some(s) => {
            let (out, r, _) = cfg.record_check("usage", "usage", s, &[]);
            (out, r)
        }
        None => cfg.run_check("usage", &[]),
    };
    assert!(r.get("failure").is_none(), "{r:#}\n{}", out.stderr);
    assert_summary_names_the_worst_finding(&r);
    r
}

fn set_usage(api: &ApiServer, node: &str, cpu: &str, memory: &str) {
    api.update(|objects| {
        let m = objects
            .iter_mut()
            .find(|o| o["kind"] == "NodeMetrics" && o["metadata"]["name"] == node)
            .unwrap_or_else(|| panic!("no NodeMetrics {node}"));
        m["usage"] = json!({"cpu": cpu, "memory": memory});
    });
}

#[test]
fn usage_over_allocatable_per_node() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    let r = run(&cfg, Some("usage-ok"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(
        summary(&r),
        "5/5 nodes ok, busiest: cpu 29% (rke2-agent-1), memory 60% (rke2-agent-1)"
    );
    let ratio = r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "cpu_usage_ratio" && s["labels"]["node"] == "rke2-server-1")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert!((ratio - 0.612_345_678 / 4.0).abs() < 1e-9, "{ratio}");

    // A busy worker, one short of memory, one whose metrics are missing.
    set_usage(&api, "rke2-agent-1", "7450m", "9876543Ki");
    set_usage(&api, "rke2-agent-2", "1987654321n", "13500000Ki");
    api.update(|objects| {
        objects
            .retain(|o| !(o["kind"] == "NodeMetrics" && o["metadata"]["name"] == "rke2-server-3"))
    });
    let r = run(&cfg, Some("usage-critical"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains(
            "\"critical\" \"rke2-agent-1\": \"cpu 7.45/8 cores (93%), memory 9.4/15.6 GiB (60%)\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\"warning\" \"rke2-agent-2\": \"cpu 1.99/8 cores (25%), memory 12.9/15.6 GiB (82%)\""
        ),
        "{text}"
    );
    assert!(
        text.contains("\"warning\" \"rke2-server-3\": \"no metrics (kubelet or metrics-server not reporting it)\""),
        "{text}"
    );
    assert!(
        summary(&r).starts_with("2/5 nodes ok, busiest: cpu 93% (rke2-agent-1), memory 82% (rke2-agent-2); rke2-agent-1: "),
        "{r:#}"
    );
}

#[test]
fn node_age_when_asked_and_the_metrics_api_down() {
    let objects = ApiServer::with_workloads();
    // The recorded nodes joined in March 2026 (their times are not moved to now):
    // how many whole days old the oldest is today.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let oldest_days = objects
        .iter()
        .filter(|o| o["kind"] == "Node")
        .map(|o| now - parse_time(o["metadata"]["creationTimestamp"].as_str().unwrap()).unwrap())
        .max()
        .unwrap()
        / 86400;
    assert!(
        oldest_days > 30,
        "the fixture's nodes are {oldest_days} days old"
    );
    let api = ApiServer::start(objects);
    // Older than 30 days, all of them.
    let r = run(
        &config(&api, "max_node_age = \"30d\"\n"),
        Some("usage-old-nodes"),
    );
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    let text = findings(&r);
    assert_eq!(
        text.matches(" old, more than max_node_age 30d\"").count(),
        5,
        "{text}"
    );
    assert!(
        text.contains(&format!("\"warning\" \"rke2-server-1\": \"{oldest_days}d")),
        "{text}"
    );
    // A max_node_age a day beyond the oldest node: none is too old, whatever the date.
    let r = run(
        &config(&api, &format!("max_node_age = \"{}d\"\n", oldest_days + 1)),
        None,
    );
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    // A bad one is named.
    let (_, r) = config(&api, "max_node_age = \"a month\"\n").run_check("usage", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(summary(&r).contains("max_node_age \"a month\""), "{r:#}");

    // metrics-server down: the aggregated API answers 503.
    api.fail("/apis/metrics.k8s.io", Some(503));
    let (_, r) = config(&api, "").run_check("usage", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert_eq!(
        summary(&r),
        "the metrics API is unavailable (is metrics-server running? kubectl top nodes fails too): api: HTTP 503 ServiceUnavailable: the server is currently unable to handle the request"
    );
}

/// The fixture's metrics API as the real client sees it: `kubectl top nodes`
/// prints the usage and percentages of allocatable that the check judges.
#[test]
fn kubectl_top_reads_the_fixture_metrics() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let get = |args: &[&str]| api.kubectl_ok(args);
    let top = get(&["top", "nodes"]);
    let row = |name: &str| -> Vec<String> {
        top.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{top}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // kubectl rounds CPU up to millicores and prints memory in whole MiB.
    assert_eq!(
        row("rke2-server-1"),
        ["rke2-server-1", "613m", "15%", "3375Mi", "42%"],
        "{top}"
    );
    assert_eq!(
        row("rke2-agent-1"),
        ["rke2-agent-1", "2346m", "29%", "9645Mi", "60%"],
        "{top}"
    );
    assert_eq!(top.lines().count(), 6, "{top}");

    let raw: Value = serde_json::from_str(&get(&[
        "get",
        "--raw",
        "/apis/metrics.k8s.io/v1beta1/nodes",
    ]))
    .unwrap();
    assert_eq!(raw["kind"], "NodeMetricsList");
    assert_eq!(raw["items"].as_array().unwrap().len(), 5);
    assert_eq!(raw["items"][0]["usage"]["cpu"], "2345678901n", "{raw:#}");

    let pods = get(&["top", "pods", "-n", "apps"]);
    assert!(
        pods.contains("orders-api-5f6d8b7c9-m4n2p") && pods.contains("13m"),
        "{pods}"
    );
}

#[test]
fn on_the_demos_healthy_cluster_the_example_is_ok() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let r = run(&config(&api, ""), None);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert!(summary(&r).starts_with("5/5 nodes ok"), "{r:#}");
}
