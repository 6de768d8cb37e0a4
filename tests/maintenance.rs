//! The maintenance suite: planned maintenance on real servers (rolling restarts
//! of etcd and Galera, planned and automatic Redis Sentinel failovers) and on
//! the fixture Kubernetes API (a node drained, rebooted, uncordoned) while
//! `vitals run` runs the check continuously with the shipped `checks.d` file
//! (without its retries: every run counts). Planned maintenance never pages (no
//! result critical or unknown); the real outages are critical within one run.
//! Each scenario prints, and leaves for `scripts/test` to show, how many results
//! had each status and how long the check saw anything worse than ok.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::etcd::EtcdCluster;
use support::galera::{Galera, PASSWORD, USER};
use support::kubernetes::{ApiServer, ago, ago_micro};
use support::maintenance::{all_ok, shipped_check, watch};
use support::redis::{MASTER, Topology};
use support::vitals::{ConfigDir, findings, summary, toml_list, toml_str};

/// Between two runs of the check.
const PAUSE: Duration = Duration::from_millis(300);
/// How long the cluster may take to be ok again after the maintenance.
const SETTLE: Duration = Duration::from_secs(60);

/// Planned maintenance `name`: every check of `cfg` runs throughout `scenario`
/// and until a run is `settled`; no result pages, and the maintenance was seen.
fn never_pages(
    cfg: &ConfigDir,
    name: &str,
    scenario: impl FnOnce(),
    settled: impl Fn(&[Value]) -> bool + Sync,
) {
    let seen = watch(cfg, name, PAUSE, scenario, settled, SETTLE);
    seen.assert_never_paged();
    seen.assert_seen();
}

#[test]
fn etcd_rolling_restart_never_pages() {
    // Each member stopped (SIGTERM: the leader among them, which forces an
    // election), down for a moment, started again and healthy before the next.
    let mut cluster = EtcdCluster::start(3, None, None).unwrap();
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = {}\n",
        toml_list(&cluster.client_urls())
    ));
    shipped_check(&cfg, "etcd", "etcd");
    never_pages(
        &cfg,
        "etcd rolling restart",
        || {
            std::thread::sleep(Duration::from_secs(1));
            for i in 0..3 {
                cluster.stop(i);
                std::thread::sleep(Duration::from_secs(2));
                cluster.restart(i).unwrap();
            }
        },
        all_ok,
    );
}

/// The topology as cluster `cache`, endpoints `sentinels` and `redis` as the
/// shipped check file grants them.
fn redis_config(t: &Topology) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.cache.endpoints.sentinels]\nkind = \"redis\"\nurls = {}\n\
         [clusters.cache.endpoints.redis]\nkind = \"redis\"\nurls = {}\n",
        toml_list(&t.sentinel_urls()),
        toml_list(&t.node_urls())
    ));
    cfg.install_plugin("redis_sentinel", "redis_sentinel");
    shipped_check(&cfg, "redis-sentinel", "redis-sentinel");
    cfg
}

/// The master every sentinel names, once they agree on one other than `old`.
fn new_master(t: &Topology, old: &str) -> Option<String> {
    let addrs: Vec<String> = (0..3).map(|i| t.master_addr(i)).collect();
    (addrs.iter().all(|a| *a == addrs[0] && a != old)).then(|| addrs[0].clone())
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    support::process::eventually(timeout, Duration::from_millis(200), || {
        done().then_some(()).ok_or(format!("waiting for {what}"))
    })
}

#[test]
fn redis_planned_failover_never_pages() {
    // An operator moves the master away (maintenance of its host): Sentinel
    // promotes a replica and reconfigures the others and the old master.
    let t = Topology::start(None);
    let cfg = redis_config(&t);
    let old = format!("127.0.0.1:{}", t.node_ports[0]);
    let moved = |rs: &[Value]| {
        all_ok(rs)
            && rs
                .iter()
                .all(|r| !summary(r).contains(&format!("master {old} ")))
    };
    never_pages(
        &cfg,
        "redis planned failover",
        || {
            std::thread::sleep(Duration::from_secs(1));
            assert!(
                t.cli(t.sentinel_ports[0], &["SENTINEL", "FAILOVER", MASTER])
                    .contains("OK")
            );
            wait_for("the sentinels to agree", SETTLE, || {
                new_master(&t, &old).is_some()
            });
        },
        moved,
    );
}

#[test]
fn redis_automatic_failover_never_pages_while_within_its_timeout() {
    // The master's host dies: the sentinels mark it down after
    // down-after-milliseconds, fail over to a replica, and when the host is
    // back its Redis starts as a master and Sentinel turns it into a replica.
    let mut t = Topology::start(None);
    let cfg = redis_config(&t);
    let old = format!("127.0.0.1:{}", t.node_ports[0]);
    never_pages(
        &cfg,
        "redis automatic failover (master killed, back later)",
        || {
            std::thread::sleep(Duration::from_secs(1));
            t.stop_node(0);
            wait_for("the sentinels to fail over", SETTLE, || {
                new_master(&t, &old).is_some()
            });
            std::thread::sleep(Duration::from_secs(3));
            t.restart_node(0);
        },
        all_ok,
    );
}

#[test]
fn redis_failover_with_no_replica_to_promote_is_critical_within_one_run() {
    let mut t = Topology::start(None);
    let cfg = redis_config(&t);
    // Neither replica may be promoted; the sentinels read it within 10 s.
    for &port in &t.node_ports[1..] {
        t.cli(port, &["CONFIG", "SET", "replica-priority", "0"]);
    }
    wait_for("the sentinels to see replica-priority 0", SETTLE, || {
        t.sentinel_ports.iter().all(|&s| {
            let out = t.cli(s, &["SENTINEL", "REPLICAS", MASTER]);
            let lines: Vec<&str> = out.lines().collect();
            lines
                .windows(2)
                .filter(|w| w[0] == "slave-priority")
                .filter(|w| w[1] == "0")
                .count()
                == 2
        })
    });
    let (_, r) = cfg.run_check("redis-sentinel", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    t.stop_node(0);
    let (_, r) = cfg.run_check("redis-sentinel", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    // Once the sentinels see it down, they say why no failover can follow.
    let r = cfg.run_check_until("redis-sentinel", &[], SETTLE, |r| {
        findings(r).contains("no replica can be promoted")
    });
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains(&format!(
            "127.0.0.1:{} (replica-priority 0)",
            t.node_ports[1]
        )),
        "{}",
        findings(&r)
    );
}

/// The cluster as `db`, endpoint `galera` as the shipped check file grants it
/// (password from a file), with a table `app.t` to write to.
fn galera_config(g: &Galera, secret: &tempfile::NamedTempFile) -> ConfigDir {
    std::fs::write(secret.path(), PASSWORD).unwrap();
    let cfg = ConfigDir::new(&format!(
        "[clusters.db.endpoints.galera]\nkind = \"mysql\"\nurls = {}\nusername = \"{USER}\"\npassword_file = {}\n",
        toml_list(&g.urls()),
        toml_str(secret.path().display().to_string())
    ));
    cfg.install_plugin("galera", "galera");
    shipped_check(&cfg, "galera", "galera");
    g.sql(
        0,
        "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)",
    );
    cfg
}

/// Stop node `i` cleanly (`rebuilt`: and forget its state, as a rebuilt node
/// has), write rows on another node while it is away, start it again and
/// assert that its log gained a `transfer` line ("IST received", "SST
/// succeeded"): how it rejoined.
fn rejoin(g: &mut Galera, i: usize, rebuilt: bool, transfer: &str) {
    let transfers = |g: &Galera| g.log_text(i).matches(transfer).count();
    let before = transfers(g);
    g.stop(i);
    if rebuilt {
        g.forget_state(i);
    }
    for _ in 0..20 {
        g.sql(
            (i + 1) % 3,
            "INSERT INTO app.t (v) VALUES (REPEAT('x', 1000))",
        );
    }
    g.start_node(i, false);
    assert!(
        transfers(g) > before,
        "node {} did not rejoin with {transfer:?}:\n{}",
        i + 1,
        g.log(i)
    );
}

#[test]
fn galera_rolling_restart_never_pages() {
    // Each node stopped cleanly, written to while it is away, started again
    // (it catches up by IST) and Synced before the next.
    let mut g = Galera::start(3);
    let secret = tempfile::NamedTempFile::new().unwrap();
    let cfg = galera_config(&g, &secret);
    never_pages(
        &cfg,
        "galera rolling restart (IST)",
        || {
            std::thread::sleep(Duration::from_secs(1));
            for i in 0..3 {
                rejoin(&mut g, i, false, "IST received");
            }
        },
        all_ok,
    );
}

/// The object of `kind` named `name` among `objects`.
fn object<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the fixture"))
}

/// Set condition `kind` of `node` to `status` (`reason`) from now on.
fn set_condition(node: &mut Value, kind: &str, status: &str, reason: &str) {
    for c in node["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == kind {
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["lastTransitionTime"] = json!(ago(0));
            c["lastHeartbeatTime"] = json!(ago(0));
        }
    }
}

#[test]
fn node_drain_reboot_and_l2_handover_never_page() {
    // `kubectl drain rke2-agent-1`, its reboot and `kubectl uncordon`, as the
    // fixture Kubernetes API shows them to the node, workloads and cilium_l2
    // checks.
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_plugin("node", "node");
    cfg.install_plugin("cilium_l2", "cilium_l2");
    cfg.install_built("workloads");
    shipped_check(&cfg, "node", "node");
    shipped_check(&cfg, "workloads", "workloads");
    shipped_check(&cfg, "cilium-l2", "cilium-l2");
    const NODE: &str = "rke2-agent-1";
    const L2_LEASE: &str = "cilium-l2announce-ingress-ingress-nginx-controller";
    // Every live kubelet renews its Lease (every 10 s in Kubernetes; here at
    // each step), the rebooting one does not.
    let renew = |except: Option<&str>| {
        api.update(|o| {
            for lease in o.iter_mut().filter(|o| o["kind"] == "Lease") {
                if lease["metadata"]["namespace"] == "kube-node-lease"
                    && Some(lease["metadata"]["name"].as_str().unwrap_or("")) == except
                {
                    continue;
                }
                lease["spec"]["renewTime"] = json!(ago_micro(0));
            }
        })
    };
    let step = || std::thread::sleep(Duration::from_secs(2));
    never_pages(
        &cfg,
        "node drain, reboot and uncordon",
        || {
            renew(None);
            step();
            // Cordon: unschedulable, with the taint the API server adds.
            api.update(|o| {
                let n = object(o, "Node", NODE);
                n["spec"]["unschedulable"] = json!(true);
                n["spec"]["taints"] = json!([{
                    "key": "node.kubernetes.io/unschedulable",
                    "effect": "NoSchedule",
                    "timeAdded": ago(0)
                }]);
            });
            step();
            // Drain: its Pods evicted, their ReplicaSets' replacements Pending
            // on the other agent, then Running.
            let moved: Vec<Value> = api
                .objects()
                .into_iter()
                .filter(|o| o["kind"] == "Pod" && o["spec"]["nodeName"] == NODE)
                .collect();
            assert!(!moved.is_empty(), "no Pod on {NODE} in the fixture");
            api.update(|o| {
                o.retain(|p| !(p["kind"] == "Pod" && p["spec"]["nodeName"] == NODE));
                for p in &moved {
                    let mut new = p.clone();
                    let name = format!("{}-r", p["metadata"]["name"].as_str().unwrap());
                    new["metadata"]["name"] = json!(name);
                    new["metadata"]["uid"] = json!(format!("0000-{name}"));
                    new["metadata"]["creationTimestamp"] = json!(ago(0));
                    new["spec"]["nodeName"] = json!("rke2-agent-2");
                    new["status"] = json!({"phase": "Pending", "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": ago(0)}
                    ]});
                    o.push(new);
                }
            });
            step();
            api.update(|o| {
                for p in &moved {
                    let name = format!("{}-r", p["metadata"]["name"].as_str().unwrap());
                    let new = object(o, "Pod", &name);
                    new["status"] = p["status"].clone();
                }
            });
            renew(None);
            step();
            // Reboot: its Cilium agent stops and releases the L2 Lease of the
            // ingress IP it announced, which the other agent takes over.
            api.update(|o| {
                let lease = object(o, "Lease", L2_LEASE);
                assert_eq!(lease["spec"]["holderIdentity"], NODE);
                lease["spec"]["holderIdentity"] = json!("");
                lease["spec"]["renewTime"] = json!(ago_micro(0));
            });
            std::thread::sleep(Duration::from_secs(1));
            api.update(|o| {
                let lease = object(o, "Lease", L2_LEASE);
                lease["spec"]["holderIdentity"] = json!("rke2-agent-2");
                lease["spec"]["acquireTime"] = json!(ago_micro(0));
                lease["spec"]["renewTime"] = json!(ago_micro(0));
            });
            // The kubelet stops posting, the node controller marks it
            // Unknown, its Lease ages.
            api.update(|o| {
                set_condition(
                    object(o, "Node", NODE),
                    "Ready",
                    "Unknown",
                    "NodeStatusUnknown",
                );
                object(o, "Lease", NODE)["spec"]["renewTime"] = json!(ago_micro(50));
            });
            renew(Some(NODE));
            step();
            // Back: Ready, renewing, then uncordoned.
            api.update(|o| {
                set_condition(object(o, "Node", NODE), "Ready", "True", "KubeletReady");
            });
            renew(None);
            step();
            api.update(|o| {
                let n = object(o, "Node", NODE);
                n["spec"]["unschedulable"] = json!(false);
                n["spec"]["taints"] = json!([]);
            });
            renew(None);
        },
        all_ok,
    );
}

#[test]
fn galera_node_rebuilt_by_sst_never_pages() {
    // A node replaced (its state forgotten, as a rebuilt one): it rejoins by a
    // full state transfer (rsync SST) from a donor.
    let mut g = Galera::start(3);
    let secret = tempfile::NamedTempFile::new().unwrap();
    let cfg = galera_config(&g, &secret);
    never_pages(
        &cfg,
        "galera node rebuilt (SST)",
        || {
            std::thread::sleep(Duration::from_secs(1));
            rejoin(&mut g, 2, true, "SST succeeded");
        },
        all_ok,
    );
}
