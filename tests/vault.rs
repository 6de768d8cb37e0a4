//! The vault check (a plugin written in Python, built with componentize-py)
//! against real HTTP servers answering recorded Vault 1.15 responses
//! (tests/fixtures/vault/responses.json) for each server state.

mod support;

use std::collections::HashMap;

use serde_json::Value;
use support::http_fixture::HttpFixture;
use support::vitals::{ConfigDir, findings, summary, toml_list};

/// The recorded answers of a server in `state` (`active`, `standby`, ...).
fn state(state: &str) -> HashMap<String, (u16, Value)> {
    let path = support::vitals::root().join("tests/fixtures/vault/responses.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[state]
        .as_object()
        .unwrap_or_else(|| panic!("no state {state}"))
        .iter()
        .map(|(path, answer)| {
            let status = answer[0].as_u64().unwrap() as u16;
            (path.clone(), (status, answer[1].clone()))
        })
        .collect()
}

/// Servers answering as Vault servers in these states.
fn servers(states: &[&str]) -> Vec<HttpFixture> {
    states
        .iter()
        .map(|s| HttpFixture::start(state(s)))
        .collect()
}

/// A configuration whose endpoint `vault` has these URLs, and the vault check.
fn config(urls: &[String]) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.secrets.endpoints.vault]\nkind = \"http\"\nurls = {}\n",
        toml_list(urls)
    ));
    cfg.install_built("vault");
    cfg.check(
        "vault",
        "plugin = \"vault\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"vault\"]\n",
    );
    cfg
}

/// Servers in these states, and a configuration granting them as endpoint `vault`.
fn cluster(states: &[&str]) -> (Vec<HttpFixture>, ConfigDir) {
    let servers = servers(states);
    let urls: Vec<String> = servers.iter().map(|s| s.url().to_string()).collect();
    let cfg = config(&urls);
    (servers, cfg)
}

#[test]
fn healthy_ha_cluster_is_ok() {
    let (servers, cfg) = cluster(&["active", "standby", "standby"]);
    let (out, r, _) = cfg.record_check("vault", "vault", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert_eq!(summary(&r), "1 active, 2 standby (Vault 1.15.2)", "{r}");
    let text = findings(&r);
    assert!(text.contains("following https://10.40.0.11:8200"), "{text}");
    assert!(text.contains(servers[0].url()), "{text}");
}

#[test]
fn a_sealed_server_is_critical_with_its_unseal_progress() {
    let (servers, cfg) = cluster(&["active", "sealed", "standby"]);
    let (_, r, _) = cfg.record_check("vault", "vault", "one-sealed", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains(&format!(
            "\"{}\": \"sealed (unseal progress 1/3 of 5 key shares)",
            servers[1].url()
        )),
        "{text}"
    );
    assert!(summary(&r).contains("1 sealed"), "{r}");
}

#[test]
fn standbys_without_an_active_leader_are_critical() {
    let (_servers, cfg) = cluster(&["standby-without-leader", "standby-without-leader"]);
    let (_, r, _) = cfg.record_check("vault", "vault", "no-leader", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(text.contains("standby without an active leader"), "{text}");
    assert!(text.contains("no active server"), "{text}");
}

#[test]
fn an_uninitialised_server_is_critical() {
    let (_servers, cfg) = cluster(&["uninitialized"]);
    let (_, r, _) = cfg.record_check("vault", "vault", "uninitialized", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(findings(&r).contains("not initialised"), "{}", findings(&r));
}

#[test]
fn a_server_that_cannot_be_observed_is_noted_and_the_others_decide() {
    // The third server is configured as https but speaks plain HTTP: the TLS
    // handshake fails, so nothing about it is known.
    let servers = servers(&["active", "standby", "standby"]);
    let mut urls: Vec<String> = servers.iter().map(|s| s.url().to_string()).collect();
    urls[2] = urls[2].replace("http://", "https://");
    let cfg = config(&urls);
    let (_, r) = cfg.run_check("vault", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(
        findings(&r).contains(&format!("\"unknown\" \"{}\": \"not observed: TLS", urls[2])),
        "{}",
        findings(&r)
    );

    // None observed at all: unknown, not critical.
    let only = config(&urls[2..]);
    let (_, r) = only.run_check("vault", &[]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    // The summary names the server first, then what it means.
    assert!(
        summary(&r).starts_with(&format!("{}: not observed: TLS", urls[2]))
            && summary(&r).contains("; no Vault server could be observed: TLS"),
        "{r}"
    );
}

#[test]
fn one_server_down_warns_while_another_is_active() {
    let (mut servers, cfg) = cluster(&["active", "standby", "standby"]);
    drop(servers.pop());
    let (_, r) = cfg.run_check("vault", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(findings(&r).contains("unreachable"), "{}", findings(&r));

    // The servers change state under a running configuration: the active one seals.
    servers[0].set(state("sealed"));
    servers[1].set(state("standby-without-leader"));
    let (_, r) = cfg.run_check("vault", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("no active server"),
        "{}",
        findings(&r)
    );
}
