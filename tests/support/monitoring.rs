//! Test support: the shipped alert rules and Grafana dashboard
//! (`deploy/prometheus`, `deploy/grafana`), and the dashboard's PromQL made
//! plain (Grafana's variables replaced) for promtool and a real Prometheus.

use std::path::PathBuf;

use serde_json::Value;

use super::vitals::root;

pub fn rules_file() -> PathBuf {
    root().join("deploy/prometheus/vitals.rules.yml")
}

pub fn rules_test_file() -> PathBuf {
    root().join("deploy/prometheus/vitals.rules.test.yml")
}

pub fn dashboard_file() -> PathBuf {
    root().join("deploy/grafana/vitals-dashboard.json")
}

pub fn dashboard() -> Value {
    let text = std::fs::read_to_string(dashboard_file()).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("dashboard JSON: {e}"))
}

/// Grafana's variables as a query of "all" sees them.
fn plain(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$check", ".*")
        .replace("$cluster", ".*")
}

/// Every panel query of the dashboard, `(panel title, PromQL)`, and the
/// variables' `label_values(SELECTOR, label)` as `count by (label) (SELECTOR)`.
pub fn dashboard_queries() -> Vec<(String, String)> {
    let dash = dashboard();
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("every target has an expr");
            out.push((title.clone(), plain(expr)));
        }
    }
    for var in dash["templating"]["list"].as_array().into_iter().flatten() {
        let Some(q) = var["query"]["query"].as_str() else {
            continue;
        };
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable query {q:?}"));
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        out.push((
            format!("variable {}", var["name"]),
            plain(&format!(
                "count by ({}) ({})",
                label.trim(),
                selector.trim()
            )),
        ));
    }
    out
}
