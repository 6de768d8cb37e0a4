//! The Galera check against a real 3-node MariaDB Galera cluster on loopback
//! (Debian's mariadb-server 10.11 and galera-4 26.4).

mod support;

use std::time::Duration;

use serde_json::Value;
use support::galera::{Galera, PASSWORD, USER};
use support::vitals::{ConfigDir, findings, summary, toml_list};

/// The cluster as `db`, endpoint `galera` logged in as [`USER`] with the password
/// from `$GALERA_PASSWORD`, and the galera check granted it.
fn config(g: &Galera) -> ConfigDir {
    config_with(
        &g.urls(),
        &format!("username = \"{USER}\"\npassword_env = \"GALERA_PASSWORD\""),
    )
}

/// Like [`config`] with other URLs and endpoint settings (`endpoint` lines).
fn config_with(urls: &[String], endpoint: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.db.endpoints.galera]\nkind = \"mysql\"\nurls = {}\n{endpoint}\n",
        toml_list(urls)
    ));
    cfg.install_plugin("galera", "galera");
    cfg.check(
        "galera",
        "plugin = \"galera\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"galera\"]\n[params]\nexpected_size = 3\n",
    );
    cfg
}

fn check(cfg: &ConfigDir, password: &str) -> Value {
    let (out, r) = cfg.run_check("galera", &[("GALERA_PASSWORD", password)]);
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    r
}

fn check_until(cfg: &ConfigDir, ok: impl Fn(&Value) -> bool) -> Value {
    cfg.run_check_until(
        "galera",
        &[("GALERA_PASSWORD", PASSWORD)],
        Duration::from_secs(60),
        ok,
    )
}

#[test]
fn healthy_desync_refused_login_node_down_and_quorum_lost() {
    let mut g = Galera::start(3);
    let cfg = config(&g);
    let selects = |g: &Galera| {
        (0..3)
            .map(|i| g.status(i, "Com_select"))
            .collect::<Vec<_>>()
    };
    let before = selects(&g);
    let r = check(&cfg, PASSWORD);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    // The check's statements are SHOWs: a new connection asks the server for
    // no settings (`SELECT @@max_allowed_packet, @@wait_timeout`) first.
    assert_eq!(selects(&g), before, "SELECTs counted by each node");
    assert!(summary(&r).contains("Primary component of 3/3"), "{r}");
    let env = [("GALERA_PASSWORD", PASSWORD)];
    let (_, r, cassette) = cfg.record_check("galera", "galera", "healthy", &env);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(cassette.contains("wsrep_cluster_status"), "{cassette}");
    assert!(!cassette.contains(PASSWORD), "{cassette}");

    // Over a Unix socket, as root without a password (no TLS, no password).
    let socket = config_with(&[g.socket_url(0)], "username = \"root\"");
    let r = check(&socket, PASSWORD);
    assert_eq!(r["status"], "ok", "{}", findings(&r));

    // Over TLS with the endpoint's CA and client certificate; a wrong CA is unknown.
    let tls = |ca: &std::path::Path| {
        format!(
            "username = \"{USER}\"\npassword_env = \"GALERA_PASSWORD\"\nca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}",
            ca.display().to_string(),
            g.tls.client_cert.display().to_string(),
            g.tls.client_key.display().to_string()
        )
    };
    let r = check(&config_with(&g.urls(), &tls(&g.tls.ca_file)), PASSWORD);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let r = check(
        &config_with(&g.urls(), &tls(&g.tls.wrong_ca_file)),
        PASSWORD,
    );
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(findings(&r).contains("tls:"), "{}", findings(&r));

    // The host refuses writes before they reach the server.
    for statement in [
        "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'",
        "CREATE DATABASE vitals_was_here",
        "SELECT 1; DROP DATABASE mysql",
    ] {
        cfg.check(
            "writer",
            &format!(
                "plugin = \"chaos\"\n[grants]\nendpoints = [\"galera\"]\n[params]\nmode = \"sql\"\ncommand = {statement:?}\n"
            ),
        );
        let (_, w) = cfg.run_check("writer", &[("GALERA_PASSWORD", PASSWORD)]);
        assert!(summary(&w).starts_with("denied:"), "{statement}: {w}");
    }
    assert_eq!(g.sql(0, "SHOW DATABASES LIKE 'vitals_was_here'"), "");

    // A query slower than the endpoint's query_timeout is a timeout error value.
    let slow = config_with(
        &g.urls(),
        &format!(
            "username = \"{USER}\"\npassword_env = \"GALERA_PASSWORD\"\nquery_timeout = \"1s\""
        ),
    );
    slow.check(
        "sleeper",
        "plugin = \"chaos\"\n[grants]\nendpoints = [\"galera\"]\n[params]\nmode = \"sql\"\ncommand = \"SELECT SLEEP(5)\"\n",
    );
    let (_, s) = slow.run_check("sleeper", &[("GALERA_PASSWORD", PASSWORD)]);
    assert!(
        summary(&s).starts_with("timeout: no answer within 1s"),
        "{s}"
    );

    // A donor-like desync: warning.
    g.sql(1, "SET GLOBAL wsrep_desync=ON");
    let r = check_until(&cfg, |r| r["status"] == "warning");
    assert!(
        findings(&r).contains("not Synced: Donor/Desynced"),
        "{}",
        findings(&r)
    );
    g.sql(1, "SET GLOBAL wsrep_desync=OFF");
    check_until(&cfg, |r| r["status"] == "ok");

    // One node refuses the login (its password changed locally, not replicated):
    // that node is unknown, the others decide.
    g.sql(
        2,
        &format!("SET SESSION wsrep_on=OFF; ALTER USER '{USER}'@'%' IDENTIFIED BY 'other'; FLUSH PRIVILEGES"),
    );
    let r = check(&cfg, PASSWORD);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains(&format!(
            "\"unknown\" \"{}\": \"refuses the login",
            g.addr(2)
        )),
        "{text}"
    );

    g.sql(
        2,
        &format!("SET SESSION wsrep_on=OFF; ALTER USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; FLUSH PRIVILEGES"),
    );

    // One node down: 2/3, a warning.
    g.kill(0);
    let r = check_until(&cfg, |r| r["status"] == "warning");
    assert!(
        findings(&r).contains("cluster size 2 of 3 expected"),
        "{}",
        findings(&r)
    );
    let (_, r, _) = cfg.record_check("galera", "galera", "node-down", &env);
    assert_eq!(r["status"], "warning", "{}", findings(&r));

    // Two down: the survivor is non-Primary; bootstrap from it.
    g.kill(1);
    let r = check_until(&cfg, |r| summary(r).contains("no Primary component"));
    assert_eq!(r["status"], "critical");
    assert!(summary(&r).contains("bootstrap from n3"), "{r}");
    let (_, r, _) = cfg.record_check("galera", "galera", "no-primary", &env);
    assert_eq!(r["status"], "critical", "{}", findings(&r));

    // A wrong password for every node: nothing observable, unknown.
    let r = check(&cfg, "wrong");
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(
        findings(&r).contains("refuses the login"),
        "{}",
        findings(&r)
    );
}

#[test]
fn isolated_node_then_bootstrapped_is_a_split_brain() {
    let g = Galera::start(3);
    let cfg = config(&g);
    assert_eq!(check(&cfg, PASSWORD)["status"], "ok");

    g.sql(2, "SET GLOBAL wsrep_provider_options='gmcast.isolate=1'");
    g.wait_status(
        2,
        "wsrep_cluster_status",
        "non-Primary",
        Duration::from_secs(60),
    );
    let r = check_until(&cfg, |r| r["status"] == "critical");
    let text = findings(&r);
    assert!(
        text.contains("n3 (")
            && text.contains("non-Primary")
            && text.contains("form the Primary component"),
        "{text}"
    );

    // Bootstrapping the isolated node makes a second Primary component, and the
    // majority moves on with a write.
    g.sql(2, "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'");
    g.wait_status(
        2,
        "wsrep_cluster_status",
        "Primary",
        Duration::from_secs(60),
    );
    g.sql(
        0,
        "CREATE DATABASE IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1)",
    );
    // Critical within one run: the first run after the bootstrap sees it.
    let r = check(&cfg, PASSWORD);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("2 Primary components")
            && text.contains(&format!("{{n1 ({}), n2 ({})}}", g.addr(0), g.addr(1)))
            && text.contains(&format!("{{n3 ({})}}", g.addr(2))),
        "{text}"
    );
    // The majority has the write: it is the most advanced node.
    assert!(
        text.contains("the most advanced node is n1")
            || text.contains("the most advanced node is n2"),
        "{text}"
    );
    let (_, r, _) = cfg.record_check(
        "galera",
        "galera",
        "split-brain",
        &[("GALERA_PASSWORD", PASSWORD)],
    );
    assert_eq!(r["status"], "critical", "{}", findings(&r));
}
