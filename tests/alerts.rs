//! The shipped alert rules and Grafana dashboard, checked by promtool: the
//! rules parse and their unit tests pass (each alert fires when it should, not
//! on a single flap), and every query of the dashboard is valid PromQL. The
//! real-Prometheus test in `tests/serve.rs` evaluates both against real series.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use support::monitoring::{dashboard, dashboard_queries, rules_file, rules_test_file};
use support::process::outcome;

/// promtool, from Debian's package prometheus.
fn promtool(args: &[&str]) -> (bool, String) {
    outcome(Command::new("promtool").args(args))
}

#[test]
fn the_alert_rules_parse_and_their_unit_tests_pass() {
    let (ok, text) = promtool(&["check", "rules", rules_file().to_str().unwrap()]);
    assert!(ok, "{text}");
    let (ok, text) = promtool(&["test", "rules", rules_test_file().to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains("SUCCESS"), "{text}");

    // Every alert has a unit test, and the ones the deployment docs promise exist.
    let rules = std::fs::read_to_string(rules_file()).unwrap();
    let tests = std::fs::read_to_string(rules_test_file()).unwrap();
    let alerts: BTreeSet<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    for promised in [
        "VitalsCheckCritical",
        "VitalsCheckUnknown",
        "VitalsCheckStale",
        "VitalsDailyRunStale",
        "VitalsPluginLoadFailed",
        "VitalsConfigReloadFailed",
        "VitalsDown",
    ] {
        assert!(alerts.contains(promised), "{promised} missing: {alerts:?}");
    }
    for alert in &alerts {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - exp_labels"
            )),
            "{alert} has no unit test in which it fires"
        );
    }
}

#[test]
fn a_broken_rule_test_fails() {
    // The unit tests can fail: an expectation that the rules do not meet.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(rules_file(), dir.path().join("vitals.rules.yml")).unwrap();
    let tests = std::fs::read_to_string(rules_test_file())
        .unwrap()
        .replacen("      - eval_time: 1m\n        alertname: VitalsCheckCritical\n        exp_alerts: []",
                  "      - eval_time: 1m\n        alertname: VitalsCheckCritical\n        exp_alerts:\n          - exp_labels: {severity: critical}", 1);
    let file = dir.path().join("t.yml");
    std::fs::write(&file, tests).unwrap();
    let (ok, text) = promtool(&["test", "rules", file.to_str().unwrap()]);
    assert!(!ok, "{text}");
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    let dash = dashboard();
    assert_eq!(dash["uid"], "vitals-overview");
    let panels = dash["panels"].as_array().unwrap();
    let ids: BTreeSet<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let text = dash.to_string();
    for metric in [
        "vitals_check_status",
        "vitals_check_duration_seconds",
        "vitals_runner_failures_total",
        "vitals_check_consecutive_failures",
    ] {
        assert!(text.contains(metric), "the dashboard shows no {metric}");
    }

    // promtool checks PromQL in rule files: each query as a recording rule.
    let queries = dashboard_queries();
    assert!(queries.len() > panels.len(), "{queries:?}");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (panel, expr)) in queries.iter().enumerate() {
        rules.push_str(&format!(
            "      # {panel}\n      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(expr).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    std::fs::write(&file, &rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(ok, "{out}\n{rules}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{out}"
    );

    // And promtool does reject a broken one.
    std::fs::write(
        &file,
        rules.replace("vitals_check_status{", "vitals_check_status{{"),
    )
    .unwrap();
    let (ok, out) = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(!ok, "{out}");
}
