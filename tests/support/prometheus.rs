//! Test support: a real Prometheus server (Debian package `prometheus`) on a
//! loopback port, scraping given targets every second, and queries of its HTTP API.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::process::{Killed, eventually, free_port, get, spawn_quiet};

/// A running Prometheus; killed when dropped.
pub struct Prometheus {
    pub url: String,
    _child: Killed,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Start Prometheus scraping `targets` (host:port) as job `vitals` every second.
    pub fn start(targets: &[String]) -> Prometheus {
        Self::start_with_rules(targets, &[])
    }

    /// [`Prometheus::start`], also evaluating these rule files every second.
    pub fn start_with_rules(targets: &[String], rule_files: &[std::path::PathBuf]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files: {}\n\
                 scrape_configs:\n  - job_name: vitals\n    static_configs:\n      - targets: {}\n",
                serde_json::to_string(rule_files).unwrap(),
                serde_json::to_string(targets).unwrap()
            ),
        )
        .unwrap();
        let port = free_port();
        let child = spawn_quiet(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        );
        let url = format!("http://127.0.0.1:{port}");
        get(&format!("{url}/-/ready"));
        Prometheus {
            url,
            _child: child,
            _dir: dir,
        }
    }

    /// The rule groups as `/api/v1/rules` reports them (health, lastError).
    pub fn rules(&self) -> Value {
        let mut resp = ureq::get(&format!("{}/api/v1/rules", self.url))
            .call()
            .unwrap_or_else(|e| panic!("rules: {e}"));
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["groups"].clone()
    }

    /// An instant query: each series' labels and value.
    pub fn query(&self, expr: &str) -> Vec<(Value, f64)> {
        let mut resp = ureq::get(&format!("{}/api/v1/query", self.url))
            .query("query", expr)
            .call()
            .unwrap_or_else(|e| panic!("query {expr}: {e}"));
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let v = s["value"][1].as_str().unwrap().parse().unwrap();
                (s["metric"].clone(), v)
            })
            .collect()
    }

    /// Wait (at most `timeout`) until `expr` returns series for which `ok` holds;
    /// returns them, or panics with the last answer.
    pub fn wait_for(
        &self,
        expr: &str,
        timeout: Duration,
        ok: impl Fn(&[(Value, f64)]) -> bool,
    ) -> Vec<(Value, f64)> {
        eventually(timeout, Duration::from_millis(250), || {
            let got = self.query(expr);
            if ok(&got) {
                Ok(got)
            } else {
                Err(format!("{expr} is still {got:?}"))
            }
        })
    }

    /// Wait until `expr` has exactly one series, with `value`.
    pub fn wait_for_value(&self, expr: &str, value: f64, timeout: Duration) {
        self.wait_for(expr, timeout, |got| got.len() == 1 && got[0].1 == value);
    }
}
