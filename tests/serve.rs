//! `vitals serve` against real etcd clusters, scraped by a real Prometheus server;
//! its expositions checked by promtool; SIGHUP reloads and SIGTERM.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::etcd::EtcdCluster;
use support::process::{eventually, promtool_check};
use support::prometheus::Prometheus;
use support::vitals::{ConfigDir, Served, toml_list};

const WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

fn etcd_endpoint(cluster: &str, etcd: &EtcdCluster) -> String {
    format!(
        "[clusters.{cluster}.endpoints.etcd]\nkind = \"http\"\nurls = {}\n",
        toml_list(&etcd.client_urls())
    )
}

fn results(served: &Served) -> Vec<Value> {
    let (code, body) = served.get("/api/v1/results");
    assert_eq!(code, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    doc["results"].as_array().unwrap().clone()
}

fn result<'a>(results: &'a [Value], check: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no result for {check} in {results:?}"))
}

#[test]
fn prometheus_scrapes_serve_and_sees_a_member_go_down() {
    let mut prod = EtcdCluster::start(3, None, None).unwrap();
    let staging = EtcdCluster::start(1, None, None).unwrap();
    let cfg = ConfigDir::new(&format!(
        "[defaults]\ninterval = \"1s\"\n{}{}",
        etcd_endpoint("prod", &prod),
        etcd_endpoint("staging", &staging)
    ));
    cfg.check(
        "etcd",
        "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n",
    );
    cfg.check(
        "panics",
        "plugin = \"chaos\"\nclusters = [\"staging\"]\nretries = 1\nretry_delay = \"100ms\"\n[params]\nmode = \"panic\"\n",
    );
    let mut served = cfg.serve();
    let prometheus = Prometheus::start_with_rules(
        std::slice::from_ref(&served.addr),
        &[support::monitoring::rules_file()],
    );

    // Every check and cluster, with its status, as Prometheus stores it.
    for (check, cluster, status) in [
        ("etcd", "prod", 0.0),
        ("etcd", "staging", 0.0),
        ("panics", "staging", 3.0),
    ] {
        prometheus.wait_for_value(
            &format!(
                "vitals_check_status{{job=\"vitals\",check=\"{check}\",cluster=\"{cluster}\"}}"
            ),
            status,
            WAIT,
        );
    }
    prometheus.wait_for_value("up{job=\"vitals\"}", 1.0, WAIT);
    // Runner metrics: real counters; a retried panic counts twice per result.
    prometheus.wait_for(
        "vitals_runner_failures_total{kind=\"panic\"}",
        WAIT,
        |got| got.len() == 1 && got[0].1 >= 4.0,
    );
    prometheus.wait_for(
        "vitals_check_consecutive_failures{check=\"panics\"}",
        WAIT,
        |got| got.len() == 1 && got[0].1 >= 2.0,
    );
    prometheus.wait_for_value(
        "vitals_check_consecutive_failures{check=\"etcd\",cluster=\"prod\"}",
        0.0,
        WAIT,
    );
    prometheus.wait_for(
        "vitals_runner_instantiate_seconds_count{plugin=\"etcd\"}",
        WAIT,
        |got| got.len() == 1 && got[0].1 >= 2.0,
    );

    // Every query of the shipped Grafana dashboard finds data, and every shipped
    // alert rule evaluates without error against these real series.
    for (panel, expr) in support::monitoring::dashboard_queries() {
        let got = eventually(WAIT, POLL, || match prometheus.query(&expr) {
            got if !got.is_empty() => Ok(got),
            _ => Err(format!("dashboard panel {panel:?}: no data for {expr}")),
        });
        assert!(!got.is_empty());
    }
    eventually(WAIT, POLL, || {
        let groups = prometheus.rules();
        let rules: Vec<&Value> = groups
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .collect();
        match rules.iter().find(|r| r["health"] != "ok") {
            _ if rules.len() < 9 => Err(format!("the shipped rules are not loaded: {groups}")),
            Some(bad) => Err(format!("a rule does not evaluate: {bad}")),
            None => Ok(()),
        }
    });
    prometheus.wait_for_value(
        "vitals_check_interval_seconds{check=\"etcd\",cluster=\"prod\"}",
        1.0,
        WAIT,
    );

    // A member goes down: prod turns to warning, staging stays ok.
    prod.kill(2);
    prometheus.wait_for_value(
        "vitals_check_status{check=\"etcd\",cluster=\"prod\"}",
        1.0,
        WAIT,
    );
    prometheus.wait_for_value(
        "vitals_etcd_members_healthy{check=\"etcd\",cluster=\"prod\"}",
        2.0,
        WAIT,
    );
    prometheus.wait_for_value(
        "vitals_check_status{check=\"etcd\",cluster=\"staging\"}",
        0.0,
        WAIT,
    );

    // promtool accepts /metrics (text format) and /probe.
    let (code, metrics) = served.get("/metrics");
    assert_eq!(code, 200);
    promtool_check(&metrics);
    assert!(
        metrics.contains("# TYPE vitals_runner_runs_total counter"),
        "{metrics}"
    );
    let (code, probe) = served.get("/probe?check=etcd&cluster=prod");
    assert_eq!(code, 200, "{probe}");
    promtool_check(&probe);
    assert!(
        probe.contains("vitals_check_status{check=\"etcd\",cluster=\"prod\"} 1.0"),
        "{probe}"
    );
    assert!(
        !probe.contains("cluster=\"staging\""),
        "a probe returns only its own pair: {probe}"
    );
    // The OpenMetrics exposition when asked for, as Prometheus does.
    let (code, om) = served.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert_eq!(code, 200);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE vitals_runner_runs counter"), "{om}");

    // The JSON of `vitals run --format json`.
    let latest = results(&served);
    assert_eq!(latest.len(), 3, "{latest:?}");
    let panics = result(&latest, "panics");
    assert_eq!(panics["status"], "unknown");
    assert_eq!(panics["failure"], "panic");
    assert_eq!(panics["attempts"], 2, "retries = 1 re-ran it once");

    served.signal("TERM");
    assert_eq!(
        served.wait_exit(Duration::from_secs(15)),
        Some(0),
        "{}",
        served.log()
    );
}

#[test]
fn sighup_reloads_keeps_unchanged_results_and_refuses_a_broken_configuration() {
    let etcd = EtcdCluster::start(1, None, None).unwrap();
    // Runs once an hour: a kept result keeps its start time.
    let cfg = ConfigDir::new(&format!(
        "[defaults]\ninterval = \"1h\"\n{}",
        etcd_endpoint("local", &etcd)
    ));
    let etcd_check = "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n";
    cfg.check("etcd", etcd_check);
    cfg.check(
        "other",
        "plugin = \"chaos\"\nclusters = [\"local\"]\n[params]\nmode = \"ok\"\n",
    );
    let served = cfg.serve();
    served.wait_ready();
    let before = results(&served);
    let etcd_started = result(&before, "etcd")["started_at"].clone();
    let other_started = result(&before, "other")["started_at"].clone();

    // HTTP errors say what is wrong.
    assert_eq!(served.get("/probe").0, 400);
    let (code, body) = served.get("/probe?check=nope");
    assert_eq!(code, 404);
    assert!(body.contains("etcd, other"), "{body}");
    assert_eq!(served.get("/nothing-here").0, 404);

    // A broken check file: the reload is refused, with the file and line, and the
    // old configuration keeps serving.
    cfg.check("etcd", &format!("timeout = \"soon\"\n{etcd_check}"));
    served.signal("HUP");
    wait_for_metric(&served, "vitals_config_last_reload_successful 0");
    let log = served.log();
    assert!(
        log.contains("reload failed")
            && log.contains("etcd.toml:1")
            && log.contains("`timeout`: invalid duration"),
        "{log}"
    );
    let after = results(&served);
    assert_eq!(result(&after, "etcd")["started_at"], etcd_started);
    let (code, probe) = served.get("/probe?check=etcd");
    assert_eq!(code, 200);
    assert!(
        probe.contains("vitals_check_status{check=\"etcd\",cluster=\"local\"} 0.0"),
        "{probe}"
    );
    // The probe's run is now etcd's latest result.
    let etcd_started = result(&results(&served), "etcd")["started_at"].clone();

    // A plugin that no longer loads: refused too.
    cfg.check("etcd", etcd_check);
    let plugin = cfg.path().join("plugins/chaos.wasm");
    let good = std::fs::read(&plugin).unwrap();
    std::fs::write(&plugin, b"not a component").unwrap();
    served.signal("HUP");
    wait_for_log(&served, "not a valid component");
    wait_for_metric(&served, "vitals_config_last_reload_successful 0");
    std::fs::write(&plugin, good).unwrap();

    // A good reload: etcd unchanged keeps its result; `other` changed and runs
    // afresh; `added` appears; `gone` was never there.
    cfg.check(
        "other",
        "plugin = \"chaos\"\nclusters = [\"local\"]\nretries = 1\n[params]\nmode = \"ok\"\n",
    );
    cfg.check(
        "added",
        "plugin = \"chaos\"\nclusters = [\"local\"]\n[params]\nmode = \"ok\"\n",
    );
    served.signal("HUP");
    wait_for_metric(&served, "vitals_config_last_reload_successful 1");
    served.wait_ready();
    let reloaded = results(&served);
    assert_eq!(reloaded.len(), 3, "{reloaded:?}\n{}", served.log());
    assert_eq!(
        result(&reloaded, "etcd")["started_at"],
        etcd_started,
        "an unchanged check keeps its last result"
    );
    assert_ne!(result(&reloaded, "other")["started_at"], other_started);
    assert_eq!(result(&reloaded, "added")["status"], "ok");
}

#[test]
fn post_reload_reloads_like_sighup_and_answers_with_the_outcome() {
    let cfg = ConfigDir::new("[defaults]\ninterval = \"1h\"\n[clusters.local]\n");
    let quick = "plugin = \"chaos\"\nclusters = [\"local\"]\n[params]\nmode = \"ok\"\n";
    cfg.check("quick", quick);
    let served = cfg.serve();
    served.wait_ready();
    let started = result(&results(&served), "quick")["started_at"].clone();

    // Only POST (or PUT) reloads: a GET changes nothing and says how.
    let (code, body) = served.get("/-/reload");
    assert_eq!(code, 405, "{body}");
    assert!(body.contains("POST /-/reload"), "{body}");

    // A broken check file: 500 with the file, line and key; the old configuration
    // keeps serving.
    cfg.check("quick", &format!("timeout = \"soon\"\n{quick}"));
    let (code, body) = served.post("/-/reload");
    assert_eq!(code, 500, "{body}");
    assert!(
        body.contains("quick.toml:1") && body.contains("`timeout`: invalid duration"),
        "{body}"
    );
    wait_for_metric(&served, "vitals_config_last_reload_successful 0");
    assert!(served.log().contains("reload failed (POST /-/reload)"));

    // A good one: 200 once it is in force; the unchanged check keeps its result.
    cfg.check("quick", quick);
    cfg.check("added", quick);
    let (code, body) = served.post("/-/reload");
    assert_eq!((code, body.as_str()), (200, "reloaded the configuration\n"));
    wait_for_metric(&served, "vitals_config_last_reload_successful 1");
    served.wait_ready();
    let reloaded = results(&served);
    assert_eq!(reloaded.len(), 2, "{reloaded:?}");
    assert_eq!(result(&reloaded, "quick")["started_at"], started);
    assert_eq!(result(&reloaded, "added")["status"], "ok");
}

#[test]
fn scrapes_do_not_wait_on_a_running_check() {
    let cfg = ConfigDir::new("[clusters.local]\n");
    cfg.check(
        "quick",
        "plugin = \"chaos\"\nclusters = [\"local\"]\n[params]\nmode = \"ok\"\n",
    );
    // Spins until its 20 s timeout; its first run is due within 0.1 s.
    cfg.check(
        "spin",
        "plugin = \"chaos\"\nclusters = [\"local\"]\ninterval = \"1s\"\ntimeout = \"20s\"\n[params]\nmode = \"spin\"\n",
    );
    let served = cfg.serve();
    wait_for_metric(
        &served,
        "vitals_check_status{check=\"quick\",cluster=\"local\"} 0.0",
    );
    // The spinning run is still under way, yet /metrics and the API answer.
    let (code, body) = served.get("/readyz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("spin/local"), "{body}");
    let (code, metrics) = served.get("/metrics");
    assert_eq!(code, 200);
    assert!(!metrics.contains("check=\"spin\""), "{metrics}");
    assert_eq!(results(&served).len(), 1);
    let (code, body) = served.get("/readyz");
    assert_eq!(
        code, 503,
        "the run was still going after the scrape: {body}"
    );
}

/// GET `path` over a plain socket, asking for gzip when `gzip`: the response head
/// (lowercase) and the body as sent, not decoded.
fn raw_get(served: &Served, path: &str, gzip: bool) -> (String, Vec<u8>) {
    use std::io::{Read, Write};
    let url = served.url(path);
    let authority = url
        .strip_prefix("http://")
        .and_then(|u| u.split('/').next())
        .unwrap();
    let mut conn = std::net::TcpStream::connect(authority).unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..end]).to_lowercase();
    (head, answer[end + 4..].to_vec())
}

#[test]
fn metrics_are_gzipped_when_asked_and_rendered_anew_after_each_change() {
    use std::io::Read;
    let cfg = ConfigDir::new("[clusters.local]\n");
    cfg.check(
        "quick",
        "plugin = \"chaos\"\nclusters = [\"local\"]\ninterval = \"1h\"\n[params]\nmode = \"ok\"\n",
    );
    let served = cfg.serve();
    wait_for_metric(
        &served,
        "vitals_check_status{check=\"quick\",cluster=\"local\"} 0.0",
    );
    let (head, plain) = raw_get(&served, "/metrics", false);
    assert!(!head.contains("content-encoding"), "{head}");
    let (head, gz) = raw_get(&served, "/metrics", true);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("vary: accept, accept-encoding"), "{head}");
    assert!(gz.len() < plain.len(), "{} >= {}", gz.len(), plain.len());
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&text),
        String::from_utf8_lossy(&plain)
    );

    // A reload is a change: the next scrape shows its time, not the cached one.
    let reloaded_at = |body: &[u8]| {
        String::from_utf8_lossy(body)
            .lines()
            .find(|l| l.starts_with("vitals_config_last_reload_success_timestamp_seconds "))
            .map(str::to_string)
            .unwrap()
    };
    let before = reloaded_at(&plain);
    std::thread::sleep(Duration::from_millis(20));
    let (code, body) = served.post("/-/reload");
    assert_eq!(code, 200, "{body}");
    for gzip in [false, true] {
        let (_, body) = raw_get(&served, "/metrics", gzip);
        let body = if gzip {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut text)
                .unwrap();
            text
        } else {
            body
        };
        assert_ne!(before, reloaded_at(&body), "gzip {gzip}");
    }
}

fn wait_for_metric(served: &Served, line: &str) {
    eventually(WAIT, POLL, || {
        let (_, metrics) = served.get("/metrics");
        if metrics.lines().any(|l| l.starts_with(line)) {
            Ok(())
        } else {
            Err(format!("no {line:?} in:\n{metrics}\n{}", served.log()))
        }
    })
}

fn wait_for_log(served: &Served, text: &str) {
    eventually(WAIT, POLL, || {
        let log = served.log();
        if log.contains(text) {
            Ok(())
        } else {
            Err(format!("no {text:?} in the log:\n{log}"))
        }
    })
}

#[test]
fn serve_refuses_to_start_on_a_bad_configuration_or_a_busy_port() {
    let cfg = ConfigDir::new("[clusters.local]\nconcurrency = 0\n");
    let out = cfg.vitals(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("vitals.toml"), "{}", out.stderr);

    let cfg = ConfigDir::new("[clusters.local]\n");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = cfg.vitals(&["serve", "--listen", &addr]);
    assert_eq!(out.code, 71, "{out:?}");
    assert!(out.stderr.contains("cannot listen on"), "{}", out.stderr);
}
