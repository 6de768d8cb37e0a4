//! The Redis Sentinel check against real topologies: redis-server (a master and two
//! replicas) and three redis-sentinel processes on loopback, from Debian's packages.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::redis::{MASTER, Topology};
use support::vitals::{ConfigDir, Outcome, findings, summary, toml_list};

/// A configuration with the topology as cluster `cache`: endpoints `sentinels` and
/// `redis`, the redis_sentinel check granted both. `sentinel_extra` and
/// `node_extra` are added to the endpoints (credentials, TLS files).
fn config_with(t: &Topology, sentinel_extra: &str, node_extra: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.cache.endpoints.sentinels]\nkind = \"redis\"\nurls = {}\n{sentinel_extra}\n\
         [clusters.cache.endpoints.redis]\nkind = \"redis\"\nurls = {}\n{node_extra}\n",
        toml_list(&t.sentinel_urls()),
        toml_list(&t.node_urls())
    ));
    cfg.install_plugin("redis_sentinel", "redis_sentinel");
    cfg.check(
        "sentinel",
        "plugin = \"redis_sentinel\"\ntimeout = \"20s\"\n[grants]\nendpoints = [\"sentinels\", \"redis\"]\n",
    );
    cfg
}

fn config(t: &Topology) -> ConfigDir {
    config_with(t, "", "")
}

fn check(cfg: &ConfigDir, env: &[(&str, &str)]) -> (Outcome, Value) {
    cfg.run_check("sentinel", env)
}

fn check_until(
    cfg: &ConfigDir,
    env: &[(&str, &str)],
    timeout: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    cfg.run_check_until("sentinel", env, timeout, ok)
}

fn sample(r: &Value, name: &str) -> f64 {
    r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no sample {name}: {r}"))["value"]
        .as_f64()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(45);

#[test]
fn healthy_then_sentinels_lost_and_writes_refused() {
    let mut t = Topology::start(None);
    let cfg = config(&t);
    let (out, r) = check(&cfg, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let master = format!("127.0.0.1:{}", t.node_ports[0]);
    assert!(
        summary(&r).contains(&format!("{MASTER}: master {master} ok, 2 replicas")),
        "{r}"
    );
    assert_eq!(sample(&r, "sentinels_reachable"), 3.0);
    assert_eq!(sample(&r, "replicas_connected"), 2.0);
    assert_eq!(sample(&r, "quorum"), 2.0);

    // One connection per server for the whole run (two rounds, two commands to
    // each server in each): a server's commands share it. Counted by each
    // server, around the run: redis-cli's own connection and the check's.
    let ports: Vec<u16> = t
        .node_ports
        .iter()
        .chain(&t.sentinel_ports)
        .copied()
        .collect();
    let connections = || -> Vec<u64> {
        ports
            .iter()
            .map(|&p| {
                let stats = t.cli(p, &["INFO", "stats"]);
                stats
                    .lines()
                    .find_map(|l| l.strip_prefix("total_connections_received:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no total_connections_received on {p}: {stats}"))
            })
            .collect()
    };
    let before = connections();
    let (_, r) = check(&cfg, &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let opened: Vec<u64> = connections()
        .iter()
        .zip(&before)
        .map(|(a, b)| a - b)
        .collect();
    assert_eq!(
        opened,
        vec![2; ports.len()],
        "connections opened on {ports:?}"
    );
    let (_, r, _) = cfg.record_check("sentinel", "redis_sentinel", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));

    // The host refuses writes and admin commands before they reach the server.
    for command in [
        "SET vitals-was-here 1",
        "CONFIG SET maxmemory 1",
        "SHUTDOWN NOSAVE",
    ] {
        cfg.check(
            "writer",
            &format!("plugin = \"chaos\"\n[grants]\nendpoints = [\"redis\"]\n[params]\nmode = \"redis\"\ncommand = \"{command}\"\n"),
        );
        let (_, w) = cfg.run_check("writer", &[]);
        assert_eq!(w["status"], "unknown", "{command}: {w}");
        let summary = summary(&w);
        assert!(
            summary.starts_with("denied:") && summary.contains("read-only"),
            "{command}: {summary}"
        );
    }
    assert_eq!(
        t.cli(t.node_ports[0], &["EXISTS", "vitals-was-here"])
            .trim(),
        "0"
    );
    assert!(t.cli(t.node_ports[0], &["PING"]).contains("PONG"));

    // One sentinel down: quorum kept, a warning naming it.
    t.stop_sentinel(2);
    let r = check_until(&cfg, &[], WAIT, |r| r["status"] == "warning");
    let text = findings(&r);
    assert!(
        text.contains(&format!("sentinel 127.0.0.1:{}", t.sentinel_ports[2]))
            && text.contains("unreachable"),
        "{text}"
    );
    assert_eq!(sample(&r, "sentinels_reachable"), 2.0);
    let (_, r, _) = cfg.record_check("sentinel", "redis_sentinel", "sentinel-down", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));

    // Two down: the last one cannot reach the quorum.
    t.stop_sentinel(1);
    let r = check_until(&cfg, &[], WAIT, |r| r["status"] == "critical");
    let text = findings(&r);
    assert!(
        text.contains("NOQUORUM") || text.contains("quorum is 2"),
        "{text}"
    );
}

#[test]
fn master_shut_down_fails_over_to_a_replica() {
    let mut t = Topology::start(None);
    let cfg = config(&t);
    let old = format!("127.0.0.1:{}", t.node_ports[0]);
    assert_eq!(check(&cfg, &[]).1["status"], "ok");

    t.stop_node(0);
    // Down, then failing over: critical or warning, never ok.
    let r = check_until(&cfg, &[], WAIT, |r| r["status"] != "ok");
    assert!(
        r["status"] == "critical" || r["status"] == "warning",
        "{}",
        findings(&r)
    );
    // Then every sentinel reports the same new master, a former replica, and
    // the check agrees. A short failover timeout can make the sentinels retry
    // and promote the other replica too; until they turn the first one back
    // into a replica there really are two masters (the check says critical), so
    // the test waits for the topology to converge to one master.
    let agreed = || {
        let addrs: Vec<String> = (0..3).map(|i| t.master_addr(i)).collect();
        (addrs.iter().all(|a| *a == addrs[0] && *a != old)).then(|| addrs[0].clone())
    };
    let r = check_until(&cfg, &[], WAIT, |r| {
        r["status"] == "warning"
            && agreed().is_some_and(|new| summary(r).contains(&format!("master {new} ok")))
    });
    let text = findings(&r);
    assert!(!text.contains("disagree"), "{text}");
    // The old master's node is gone: a warning about it, not a second master.
    assert_eq!(r["status"], "warning", "{text}");
    assert!(text.contains(&format!("node {old}")), "{text}");
    assert!(sample(&r, "config_epoch") >= 1.0, "{r}");
}

#[test]
fn a_replica_promoted_by_hand_is_a_split_brain() {
    let mut t = Topology::start(None);
    let cfg = config(&t);
    for i in 0..3 {
        t.stop_sentinel(i);
    }
    // No sentinel to ask: unknown.
    let (out, r) = check(&cfg, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(summary(&r).contains("no sentinel reachable"), "{r}");
    let promoted = t.node_ports[2];
    assert!(t.cli(promoted, &["REPLICAOF", "NO", "ONE"]).contains("OK"));
    for i in 0..3 {
        t.restart_sentinel(i);
    }
    // The sentinels still name the old master, and two nodes say they are master.
    let (_, r) = check(&cfg, &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("split-brain: 2 nodes report role master")
            && text.contains(&format!("127.0.0.1:{promoted}")),
        "{text}"
    );
    let (_, r, _) = cfg.record_check("sentinel", "redis_sentinel", "split-brain", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
}

#[test]
fn a_replica_with_its_link_down_warns() {
    let t = Topology::start(None);
    let cfg = config(&t);
    let replica = t.node_ports[1];
    // The replica can no longer authenticate to its master, and its link drops.
    t.cli(replica, &["CONFIG", "SET", "masteruser", "ghost"]);
    t.cli(replica, &["CONFIG", "SET", "masterauth", "wrong"]);
    t.cli(replica, &["CLIENT", "KILL", "TYPE", "master"]);
    let r = check_until(&cfg, &[], WAIT, |r| r["status"] == "warning");
    let text = findings(&r);
    assert!(
        text.contains(&format!("node 127.0.0.1:{replica}")) && text.contains("link"),
        "{text}"
    );
    assert!(
        text.contains("1 replicas connected to the master, 2 expected"),
        "{text}"
    );
    let (_, r, _) = cfg.record_check("sentinel", "redis_sentinel", "replica-link-down", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
}

#[test]
fn password_and_acl_user_by_reference_work_and_a_wrong_password_is_unknown() {
    let t = Topology::start(Some("s3cret-sentinel"));
    // The data nodes are read as an ACL user allowed only the commands the check needs.
    for &port in &t.node_ports {
        let out = t.cli(
            port,
            &[
                "ACL", "SETUSER", "vitals", "on", ">acl-pw", "-@all", "+info", "+ping", "+role",
            ],
        );
        assert!(out.contains("OK"), "{out}");
    }
    let cfg = config_with(
        &t,
        "password_env = \"REDIS_PASSWORD\"",
        "username = \"vitals\"\npassword_file = \"acl-password\"",
    );
    std::fs::write(cfg.path().join("acl-password"), "acl-pw\n").unwrap();
    let (out, r) = check(&cfg, &[("REDIS_PASSWORD", "s3cret-sentinel")]);
    assert_eq!(r["status"], "ok", "{}\n{out:?}", findings(&r));
    assert_eq!(sample(&r, "replicas_connected"), 2.0);
    assert!(!out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"));
    assert!(!out.stdout.contains("acl-pw") && !out.stderr.contains("acl-pw"));
    let env = [("REDIS_PASSWORD", "s3cret-sentinel")];
    let (_, r, cassette) = cfg.record_check("sentinel", "redis_sentinel", "with-passwords", &env);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(!cassette.contains("s3cret") && !cassette.contains("acl-pw"));

    // A wrong ACL password: the data nodes cannot be read, which is unknown.
    std::fs::write(cfg.path().join("acl-password"), "nope\n").unwrap();
    let (_, r) = check(&cfg, &[("REDIS_PASSWORD", "s3cret-sentinel")]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(findings(&r).contains("auth"), "{}", findings(&r));
    std::fs::write(cfg.path().join("acl-password"), "acl-pw\n").unwrap();

    let (out, r) = check(&cfg, &[("REDIS_PASSWORD", "wrong")]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(r["status"], "unknown");
    assert!(
        summary(&r).contains("authentication failed on every sentinel"),
        "{r}"
    );
}

#[test]
fn tls_with_client_certificates() {
    let certs = tempfile::tempdir().unwrap();
    let tls = support::etcd::Tls::generate(certs.path()).unwrap();
    let t = Topology::start_with(None, Some(tls.clone()));
    let files = |ca: &std::path::Path| {
        format!(
            "ca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}",
            ca.display().to_string(),
            tls.client_cert.display().to_string(),
            tls.client_key.display().to_string()
        )
    };
    let good = files(&tls.ca_file);
    let cfg = config_with(&t, &good, &good);
    let (out, r) = check(&cfg, &[]);
    assert_eq!(r["status"], "ok", "{}\n{out:?}", findings(&r));
    assert!(summary(&r).contains("3/3 sentinels reachable"), "{r}");

    // A CA that did not sign the servers' certificates: unknown, saying why.
    let wrong = files(&tls.wrong_ca_file);
    let cfg = config_with(&t, &wrong, &wrong);
    let (out, r) = check(&cfg, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(summary(&r).contains("TLS failed on every sentinel"), "{r}");
}
