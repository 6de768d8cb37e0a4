//! End to end: the `vitals` binary with the etcd plugin against real etcd clusters.

mod support;

use support::etcd::{EtcdCluster, Tls};
use support::vitals::{ConfigDir, toml_list, toml_str};

const ETCD_CHECK: &str = "plugin = \"etcd\"\ntimeout = \"20s\"\n[grants]\nendpoints = [\"etcd\"]\n";

fn config_for(cluster: &EtcdCluster, extra_endpoint_keys: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = {}\n{extra_endpoint_keys}\n",
        toml_list(&cluster.client_urls())
    ));
    cfg.check("etcd", ETCD_CHECK);
    cfg
}

/// The first finding whose `field` satisfies `matches` (`what` names it in a failure).
fn first_finding<'a>(
    result: &'a serde_json::Value,
    field: &str,
    what: &str,
    matches: impl Fn(&str) -> bool,
) -> &'a serde_json::Value {
    result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| matches(f[field].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no finding with {field} {what:?}: {result:#}"))
}

fn finding<'a>(result: &'a serde_json::Value, subject_prefix: &str) -> &'a serde_json::Value {
    first_finding(result, "subject", subject_prefix, |s| {
        s.starts_with(subject_prefix)
    })
}

fn finding_saying<'a>(result: &'a serde_json::Value, text: &str) -> &'a serde_json::Value {
    first_finding(result, "message", text, |m| m.contains(text))
}

fn sample(result: &serde_json::Value, name: &str) -> f64 {
    result["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["value"].as_f64())
        .unwrap_or_else(|| panic!("no sample {name}: {result:#}"))
}

#[test]
fn healthy_cluster_is_ok() {
    let cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = config_for(&cluster, "");
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.result("etcd");
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(r["plugin"], "etcd");
    assert_eq!(r["findings"].as_array().unwrap().len(), 3);
    for i in 0..3 {
        assert_eq!(finding(&r, &cluster.member_name(i))["status"], "ok");
    }
    assert_eq!(sample(&r, "members_healthy"), 3.0);
    assert_eq!(sample(&r, "has_leader"), 1.0);
    assert!(
        sample(&r, "quota_backend_bytes") > 1e9,
        "quota read from /metrics"
    );
    assert!(r["duration_seconds"].as_f64().unwrap() > 0.0);

    // The human report says the same.
    let out = cfg.vitals(&["run"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("OK") && out.stdout.contains("3/3 voting members healthy"),
        "{}",
        out.stdout
    );
    let (_, r, cassette) = cfg.record_check("etcd", "etcd", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert!(sample(&r, "leader_changes_seen") >= 1.0, "{r:#}");
    assert_eq!(cassette.matches("/metrics").count(), 3, "{cassette}");
    // Alarms come with each member's status: no alarm list request, which
    // etcd answers through a raft proposal.
    assert_eq!(
        cassette.matches("/v3/maintenance/alarm").count(),
        0,
        "{cassette}"
    );
}

#[test]
fn the_first_member_down_is_a_warning_and_the_others_tell_the_alarms() {
    let mut cluster = EtcdCluster::start(3, None, Some(2 * 1024 * 1024)).unwrap();
    cluster.fill_until_nospace().unwrap();
    let cfg = config_for(&cluster, "");
    cluster.kill(0);
    cluster.wait_for_stable_leader().unwrap();
    let (_, r, cassette) = cfg.record_check("etcd", "etcd", "first-member-down", &[]);
    assert_eq!(r["status"], "critical", "{r:#}");
    assert_eq!(finding(&r, &cluster.member_name(0))["status"], "warning");
    // Read from the status of the members that are up.
    let alarm = finding_saying(&r, "alarm NOSPACE");
    assert_eq!(alarm["status"], "critical");
    assert!(
        !cassette.contains("/v3/maintenance/alarm"),
        "no alarm list request: {cassette}"
    );
}

#[test]
fn without_metrics_the_check_asks_no_member_for_them() {
    let cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = config_for(&cluster, "");
    cfg.check(
        "etcd",
        &format!("{ETCD_CHECK}[params]\nread_metrics = false\nquota_backend_bytes = 4294967296\n"),
    );
    let (_, r, cassette) = cfg.record_check("etcd", "etcd", "no-metrics", &[]);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(sample(&r, "members_healthy"), 3.0);
    assert_eq!(sample(&r, "quota_backend_bytes"), 4294967296.0);
    assert!(
        !r["samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "leader_changes_seen"),
        "{r:#}"
    );
    assert!(!cassette.contains("/metrics"), "{cassette}");
    assert!(
        !serde_json::to_string(&r["findings"])
            .unwrap()
            .contains("assumed"),
        "{r:#}"
    );
    // Without the parameter either, the quota is etcd's default, and said to be.
    cfg.check(
        "etcd",
        &format!("{ETCD_CHECK}[params]\nread_metrics = false\n"),
    );
    let (_, r) = cfg.run_check("etcd", &[]);
    assert_eq!(r["status"], "ok", "{r:#}");
    assert_eq!(sample(&r, "quota_backend_bytes"), 2147483648.0);
    let m = finding(&r, &cluster.member_name(0))["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        m.contains("of 2.0 GiB quota (assumed: etcd's default; set quota_backend_bytes)"),
        "{m}"
    );
}

#[test]
fn one_member_killed_is_warning_naming_it() {
    let mut cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = config_for(&cluster, "");
    cluster.kill(2);
    // If m3 led, the others elect a new leader first; the check reports the
    // election itself as a warning too (unit-tested), but here we want steady state.
    cluster.wait_for_stable_leader().unwrap();
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let r = out.result("etcd");
    assert_eq!(r["status"], "warning");
    let dead = finding(&r, &cluster.member_name(2));
    assert_eq!(dead["status"], "warning");
    assert!(
        dead["message"].as_str().unwrap().contains("unreachable"),
        "{dead}"
    );
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains(&cluster.member_name(2))
    );
    assert_eq!(sample(&r, "members_healthy"), 2.0);
    let (_, r, _) = cfg.record_check("etcd", "etcd", "member-down", &[]);
    assert_eq!(r["status"], "warning", "{r:#}");

    // --fail-on: a warning fails CI only when asked to.
    assert_eq!(cfg.vitals(&["run", "--fail-on", "critical"]).code, 0);
    assert_eq!(cfg.vitals(&["run", "--fail-on", "warning"]).code, 1);
}

#[test]
fn two_members_killed_is_critical_quorum_lost() {
    let mut cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = config_for(&cluster, "");
    cluster.kill(1);
    cluster.kill(2);
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 2, "{out:?}");
    let r = out.result("etcd");
    assert_eq!(r["status"], "critical");
    assert!(
        r["summary"].as_str().unwrap().contains("quorum lost"),
        "{r:#}"
    );
    assert_eq!(finding(&r, &cluster.member_name(1))["status"], "critical");
    assert_eq!(finding(&r, &cluster.member_name(2))["status"], "critical");
    assert_eq!(out.json()["status"], "critical");
    let (_, r, _) = cfg.record_check("etcd", "etcd", "quorum-lost", &[]);
    assert_eq!(r["status"], "critical", "{r:#}");
}

#[test]
fn nospace_alarm_is_critical() {
    let cluster = EtcdCluster::start(3, None, Some(2 * 1024 * 1024)).unwrap();
    cluster.fill_until_nospace().unwrap();
    let cfg = config_for(&cluster, "");
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 2, "{out:?}");
    let r = out.result("etcd");
    let alarm = finding_saying(&r, "alarm NOSPACE");
    assert_eq!(alarm["status"], "critical");
    let subject = alarm["subject"].as_str().unwrap();
    assert!(
        (0..3).any(|i| subject == cluster.member_name(i)),
        "alarm names a member: {subject}"
    );
    assert!(r["summary"].as_str().unwrap().contains("NOSPACE"));
    // The alarm is its own finding, not also each member's "errors" warning.
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["message"].as_str().unwrap().contains("memberID")),
        "{r:#}"
    );
    // The database is at its (small) quota: the size threshold fires too.
    assert_eq!(sample(&r, "quota_backend_bytes"), 2.0 * 1024.0 * 1024.0);
    let (_, r, _) = cfg.record_check("etcd", "etcd", "nospace-alarm", &[]);
    assert_eq!(r["status"], "critical", "{r:#}");
}

#[test]
fn tls_with_client_certificate_is_ok_and_wrong_ca_is_unknown() {
    let certs = tempfile::tempdir().unwrap();
    let tls = Tls::generate(certs.path()).unwrap();
    let cluster = EtcdCluster::start(3, Some(&tls), None).unwrap();
    assert!(cluster.client_urls()[0].starts_with("https://"));

    let good = format!(
        "ca_file = {}\ncert_file = {}\nkey_file = {}",
        toml_str(tls.ca_file.display().to_string()),
        toml_str(tls.client_cert.display().to_string()),
        toml_str(tls.client_key.display().to_string())
    );
    let cfg = config_for(&cluster, &good);
    let out = cfg.vitals_with_env(
        &["run", "--format", "json"],
        &[("RUST_LOG", "vitals_runtime::capabilities::protocols=debug")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // etcd's TLS port offers HTTP/2: each member's requests share one connection.
    assert_eq!(
        out.stderr.matches("speaks HTTP/2").count(),
        3,
        "{}",
        out.stderr
    );
    assert_eq!(out.result("etcd")["status"], "ok");

    let wrong = good.replace(
        &tls.ca_file.display().to_string(),
        &tls.wrong_ca_file.display().to_string(),
    );
    let cfg = config_for(&cluster, &wrong);
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 3, "{out:?}");
    let r = out.result("etcd");
    assert_eq!(r["status"], "unknown");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("TLS certificate verification failed"),
        "{r:#}"
    );

    // Without a client certificate the server refuses the handshake: also unknown.
    let no_client = format!("ca_file = {}", toml_str(tls.ca_file.display().to_string()));
    let cfg = config_for(&cluster, &no_client);
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.result("etcd")["status"], "unknown", "{}", out.stdout);
}

#[test]
fn misbehaving_plugins_are_contained_and_etcd_still_reports() {
    let cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = config_for(&cluster, "");
    for mode in ["spin", "hog", "panic"] {
        cfg.check(
            &format!("chaos-{mode}"),
            &format!("plugin = \"chaos\"\ntimeout = \"2s\"\nmemory_limit = \"32MiB\"\n[params]\nmode = \"{mode}\"\n"),
        );
    }
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 3, "{out:?}");
    let expect = [
        ("chaos-spin", "timeout", "timed out"),
        ("chaos-hog", "out_of_memory", "memory limit"),
        ("chaos-panic", "panic", "panicked on purpose"),
    ];
    for (check, failure, text) in expect {
        let r = out.result(check);
        assert_eq!(r["status"], "unknown", "{r:#}");
        assert_eq!(r["failure"], failure, "{r:#}");
        assert!(r["summary"].as_str().unwrap().contains(text), "{r:#}");
    }
    let etcd = out.result("etcd");
    assert_eq!(etcd["status"], "ok", "{etcd:#}");
    assert_eq!(sample(&etcd, "members_healthy"), 3.0);
}

#[test]
fn plugins_reach_only_granted_endpoints_and_see_no_host_state() {
    let cluster = EtcdCluster::start(1, None, None).unwrap();
    let cfg = config_for(&cluster, "bearer_token_env = \"VITALS_TEST_TOKEN\"");
    let url = cluster.client_urls()[0].clone();
    // The peer port of the same host is not granted.
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    cfg.check("fetch-granted", &format!("plugin = \"chaos\"\n[grants]\nendpoints = [\"etcd\"]\n[params]\nmode = \"fetch\"\nurl = \"{url}/health\"\n"));
    cfg.check("fetch-denied", &format!("plugin = \"chaos\"\n[grants]\nendpoints = [\"etcd\"]\n[params]\nmode = \"fetch\"\nurl = \"http://127.0.0.1:{}/\"\n", port + 1));
    cfg.check(
        "fetch-ungranted",
        &format!("plugin = \"chaos\"\n[params]\nmode = \"fetch\"\nurl = \"{url}/health\"\n"),
    );
    cfg.check("snoop", "plugin = \"chaos\"\n[params]\nmode = \"snoop\"\n");
    let out = cfg.vitals_with_env(
        &["run", "--format", "json"],
        &[("VITALS_TEST_TOKEN", "s3cret-token")],
    );
    assert_eq!(
        out.result("fetch-granted")["status"],
        "ok",
        "{}",
        out.stdout
    );
    for check in ["fetch-denied", "fetch-ungranted"] {
        let r = out.result(check);
        assert_eq!(r["status"], "critical", "{r:#}");
        assert!(
            r["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("denied by the host"),
            "{r:#}"
        );
    }
    let snoop = out.result("snoop");
    assert_eq!(snoop["status"], "ok", "plugin saw host state: {snoop:#}");
    assert_eq!(snoop["findings"][0]["message"], "env=0 args=0 files=0");
    assert!(!out.stdout.contains("s3cret-token") && !out.stderr.contains("s3cret-token"));
}
