//! Offline plugin tests: every cassette under `plugins/<plugin>/cassettes/`
//! (Rust, Python, JavaScript and C plugins alike),
//! recorded from the real-server tests (`VITALS_UPDATE_CASSETTES=1 cargo test`),
//! replayed through the built plugin by `vitals test`, which must reproduce the
//! recorded status and findings without touching the network.

mod support;

use std::path::{Path, PathBuf};

use support::vitals::{Outcome, built_plugin, plugin_wasm, root, run};

/// The committed cassettes of the plugin in `plugins/<dir>`.
fn cassettes(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root().join("plugins").join(dir).join("cassettes"))
            .unwrap_or_else(|e| panic!("plugins/{dir}/cassettes: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
    files.sort();
    files
}

/// `vitals test` of the plugin built from `plugins/<plugin>` (a Rust crate
/// `vitals_<plugin>`, or another language's component under target/plugins).
fn vitals_test(plugin: &str, cassette: &Path, extra: &[&str]) -> Outcome {
    let wasm = if [
        "vault",
        "alerts",
        "certificates",
        "loadbalancers",
        "policyreports",
        "workloads",
    ]
    .contains(&plugin)
    {
        built_plugin(plugin)
    } else {
        plugin_wasm(plugin)
    };
    let cache = support::vitals::target_dir().join("test-cache");
    let mut args = vec![
        "test",
        wasm.to_str().unwrap(),
        "--cassette",
        cassette.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, None)
}

/// Replay each cassette of a plugin; at least `min` of them, with these statuses.
fn replay_all(dir: &str, plugin: &str, statuses: &[&str]) {
    let files = cassettes(dir);
    assert!(!files.is_empty(), "no cassettes for {dir}");
    let mut seen = Vec::new();
    for file in &files {
        let out = vitals_test(plugin, file, &["--same-findings"]);
        assert_eq!(out.code, 0, "{}:\n{out:?}", file.display());
        assert!(out.stdout.contains("PASS "), "{out:?}");
        let recorded: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        seen.push(recorded["result"]["status"].as_str().unwrap().to_string());
    }
    for status in statuses {
        assert!(
            seen.iter().any(|s| s == status),
            "{dir}: no cassette recorded {status} (have {seen:?})"
        );
    }
}

#[test]
fn etcd_cassettes_replay() {
    replay_all("etcd", "etcd", &["ok", "warning", "critical"]);
}

#[test]
fn redis_sentinel_cassettes_replay() {
    replay_all(
        "redis-sentinel",
        "redis_sentinel",
        &["ok", "warning", "critical"],
    );
}

#[test]
fn galera_cassettes_replay() {
    replay_all("galera", "galera", &["ok", "warning", "critical"]);
}

#[test]
fn node_cassettes_replay() {
    replay_all("node", "node", &["ok", "warning", "critical"]);
}

#[test]
fn cilium_l2_cassettes_replay() {
    replay_all("cilium-l2", "cilium_l2", &["ok", "critical"]);
}

#[test]
fn vault_cassettes_replay() {
    replay_all("vault", "vault", &["ok", "critical"]);
}

#[test]
fn conditions_cassettes_replay() {
    replay_all("conditions", "conditions", &["ok", "warning", "critical"]);
}

#[test]
fn backups_cassettes_replay() {
    replay_all("backups", "backups", &["ok", "warning", "critical"]);
}

#[test]
fn usage_cassettes_replay() {
    replay_all("usage", "usage", &["ok", "warning", "critical"]);
}

#[test]
fn dns_cassettes_replay() {
    replay_all("dns", "dns", &["ok", "warning", "critical"]);
}

#[test]
fn loadbalancers_cassettes_replay() {
    replay_all(
        "loadbalancers",
        "loadbalancers",
        &["ok", "warning", "critical"],
    );
}

#[test]
fn policyreports_cassettes_replay() {
    replay_all(
        "policyreports",
        "policyreports",
        &["ok", "warning", "critical"],
    );
}

#[test]
fn alerts_cassettes_replay() {
    replay_all("alerts", "alerts", &["ok", "warning", "critical"]);
}

#[test]
fn certificates_cassettes_replay() {
    replay_all(
        "certificates",
        "certificates",
        &["ok", "warning", "critical"],
    );
}

#[test]
fn workloads_cassettes_replay() {
    replay_all("workloads", "workloads", &["ok", "critical"]);
}

#[test]
fn params_expectations_and_unexpected_calls() {
    let healthy = root().join("plugins/node/cassettes/healthy.json");
    let dir = tempfile::tempdir().unwrap();

    // Other parameters, other verdict: the same cluster is critical when more
    // Ready nodes are required than it has.
    let params = dir.path().join("strict.toml");
    std::fs::write(&params, "min_ready = 9\n").unwrap();
    let out = vitals_test(
        "node",
        &healthy,
        &["--params", params.to_str().unwrap(), "--expect", "critical"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("at least 9 expected"), "{out:?}");

    // A wrong expectation fails, saying what differed.
    let out = vitals_test(
        "node",
        &healthy,
        &["--expect", "warning", "--expect-finding", "no such text"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("status: expected warning, got ok"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("no finding mentions \"no such text\""),
        "{out:?}"
    );

    // A call the cassette lacks fails the test and names the call.
    let mut cassette: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&healthy).unwrap()).unwrap();
    cassette["calls"]
        .as_array_mut()
        .unwrap()
        .retain(|c| !c["request"]["path"].as_str().unwrap().contains("leases"));
    let short = dir.path().join("short.json");
    std::fs::write(&short, cassette.to_string()).unwrap();
    let out = vitals_test("node", &short, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("unexpected call (not in the cassette): kubernetes.list")
            && out.stdout.contains("/namespaces/kube-node-lease/leases"),
        "{out:?}"
    );

    // Bad input: a plugin that is not there, a cassette that is not one,
    // parameters of the wrong kind.
    let missing = dir.path().join("missing.wasm");
    let out = run(
        &[
            "test",
            missing.to_str().unwrap(),
            "--cassette",
            healthy.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 65, "{out:?}");
    assert!(out.stderr.contains("missing.wasm: not found"), "{out:?}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"vitals_cassette\": 1,\n").unwrap();
    let out = vitals_test("node", &bad, &[]);
    assert_eq!(out.code, 66, "{out:?}");
    assert!(out.stderr.contains("bad.json:2:"), "{out:?}");
    std::fs::write(&params, "\nmin_ready = \"x\"\n").unwrap();
    let out = vitals_test("node", &healthy, &["--params", params.to_str().unwrap()]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("strict.toml:2") && out.stderr.contains("expected integer"),
        "{out:?}"
    );
}
