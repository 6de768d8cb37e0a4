//! The alerts check (a plugin written in Python) against a real Prometheus whose
//! rule files fire: critical and warning alerts with their summaries, the Watchdog
//! ignored, a pending alert not reported, an ignore list, an HA pair, a server down.

mod support;

use std::time::Duration;

use support::prometheus::Prometheus;
use support::vitals::{
    ConfigDir, assert_summary_names_the_worst_finding, findings, summary, toml_list,
};

const RULES: &str = r#"groups:
  - name: firing
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
        annotations: {summary: "always firing, to show the alerting pipeline works"}
      - alert: EtcdDatabaseAlmostFull
        expr: vector(1)
        labels: {severity: critical, cluster: prod}
        annotations: {summary: "etcd database is 96% of its quota"}
      - alert: CertificateExpiring
        expr: vector(1)
        labels: {severity: warning, namespace: web}
        annotations: {summary: "certificate web/tls expires in 6 days"}
      - alert: NodeRebootPending
        expr: vector(1)
        for: 1h
        labels: {severity: critical}
"#;

/// A Prometheus evaluating RULES, once all three alerts without `for` fire.
fn prometheus(dir: &std::path::Path) -> Prometheus {
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let p = Prometheus::start_with_rules(&[], &[rules]);
    p.wait_for(
        "ALERTS{alertstate=\"firing\"}",
        Duration::from_secs(30),
        |got| got.len() == 3,
    );
    p
}

fn config(urls: &[String], params: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.prod.endpoints.prometheus]\nkind = \"http\"\nurls = {}\n",
        toml_list(urls)
    ));
    cfg.install_built("alerts");
    cfg.check(
        "alerts",
        &format!(
            "plugin = \"alerts\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"prometheus\"]\n[params]\n{params}"
        ),
    );
    cfg
}

#[test]
fn firing_alerts_are_findings_by_severity() {
    let dir = tempfile::tempdir().unwrap();
    let p = prometheus(dir.path());
    let cfg = config(std::slice::from_ref(&p.url), "");
    let (out, r, _) = cfg.record_check("alerts", "alerts", "firing", &[]);
    assert_eq!(r["status"], "critical", "{}\n{}", findings(&r), out.stderr);
    // Two alerts, then the note of what was ignored.
    let list = r["findings"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{}", findings(&r));
    assert_eq!(list[2]["subject"], "ignored", "{}", findings(&r));
    assert_eq!(
        list[0]["subject"],
        "EtcdDatabaseAlmostFull{cluster=\"prod\"}"
    );
    assert_eq!(list[0]["status"], "critical");
    let message = list[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("firing (critical) since ")
            && message.ends_with(": etcd database is 96% of its quota"),
        "{message}"
    );
    assert_eq!(list[1]["subject"], "CertificateExpiring{namespace=\"web\"}");
    assert_eq!(list[1]["status"], "warning");
    // The Watchdog is ignored, and said so; the pending alert is not reported.
    let text = findings(&r);
    assert!(text.contains("ignored by name: Watchdog"), "{text}");
    assert!(!text.contains("NodeRebootPending"), "{text}");
    assert!(
        summary(&r).starts_with("2 alerts firing (1 critical, 1 warning)"),
        "{r:#}"
    );
    assert_summary_names_the_worst_finding(&r);

    // Ignoring the critical one leaves a warning; pending alerts when asked.
    let cfg = config(
        std::slice::from_ref(&p.url),
        "ignore = [\"Watchdog\", \"EtcdDatabaseAlmostFull\"]\n",
    );
    let (_, r, _) = cfg.record_check("alerts", "alerts", "ignored", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    let cfg = config(
        std::slice::from_ref(&p.url),
        "ignore = [\"Watchdog\", \"EtcdDatabaseAlmostFull\", \"CertificateExpiring\"]\n",
    );
    let (_, r, _) = cfg.record_check("alerts", "alerts", "quiet", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "no alerts firing (3 ignored)", "{r:#}");
    let cfg = config(std::slice::from_ref(&p.url), "include_pending = true\n");
    let (_, r) = cfg.run_check("alerts", &[]);
    assert!(
        findings(&r).contains("pending (critical)"),
        "{}",
        findings(&r)
    );
}

#[test]
fn an_ha_pair_reports_each_alert_once_and_a_server_down_warns() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (prometheus(dir.path()), prometheus(dir.path()));
    let cfg = config(&[a.url.clone(), b.url.clone()], "");
    let (_, r) = cfg.run_check("alerts", &[]);
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        3,
        "{}",
        findings(&r)
    );

    // One of the pair down: its alerts still seen through the other, a warning
    // finding for it; all down: critical, nothing can be seen.
    let down = format!("http://127.0.0.1:{}", support::process::free_port());
    let cfg = config(
        &[a.url.clone(), down.clone()],
        "ignore = [\"Watchdog\", \"EtcdDatabaseAlmostFull\"]\n",
    );
    let (_, r) = cfg.run_check("alerts", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains(&format!("\"{down}\": \"not read: ")),
        "{}",
        findings(&r)
    );
    assert!(summary(&r).contains(&format!("not read: {down}")), "{r:#}");
    let cfg = config(std::slice::from_ref(&down), "");
    let (_, r, _) = cfg.record_check("alerts", "alerts", "unreachable", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(summary(&r).starts_with("no Prometheus reachable"), "{r:#}");
    assert_summary_names_the_worst_finding(&r);
}
