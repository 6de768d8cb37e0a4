//! `vitals rbac`: the RBAC it prints for the shipped Kubernetes checks is enforced
//! by the fixture API server (anything outside it is 403, as real `kubectl`
//! shows), and every shipped Kubernetes check passes under it with no 403.

mod support;

use support::kubernetes::ApiServer;
use support::process::outcome;
use support::vitals::{ConfigDir, findings, root};

/// The shipped Kubernetes checks, their `checks.d/` files as they are, and the
/// plugin each one loads (Rust ones built by cargo, the others by build-plugins).
const CHECKS: [(&str, &str, bool); 4] = [
    ("node", "node", false),
    ("cilium-l2", "cilium_l2", false),
    ("certificates", "certificates", true),
    ("workloads", "workloads", true),
];

fn shipped_checks(api: &ApiServer) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    for (check, plugin, built) in CHECKS {
        if built {
            cfg.install_built(plugin);
        } else {
            cfg.install_plugin(plugin, plugin);
        }
        let toml = std::fs::read_to_string(root().join(format!("checks.d/{check}.toml"))).unwrap();
        cfg.check(check, &toml);
    }
    // Compile now, so that a run takes less time than a Lease lasts.
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    cfg
}

fn rbac(cfg: &ConfigDir, extra: &[&str]) -> String {
    let mut args = vec!["rbac"];
    args.extend(extra);
    let out = cfg.vitals(&args);
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

#[test]
fn every_shipped_kubernetes_check_passes_under_the_generated_rbac_and_nothing_else_is_allowed() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = shipped_checks(&api);
    let yaml = rbac(&cfg, &["--namespace", "monitoring"]);
    for expected in [
        "kind: ClusterRole",
        "kind: ClusterRoleBinding",
        "namespace: monitoring",
        "- cilium.io",
        "- cert-manager.io",
        "kind: Role\n",
        "namespace: kube-system",
        "namespace: kube-node-lease",
    ] {
        assert!(yaml.contains(expected), "{expected:?} missing:\n{yaml}");
    }
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(
        docs.len(),
        6,
        "a ClusterRole, two Roles and their bindings:\n{yaml}"
    );
    for rule in docs
        .iter()
        .flat_map(|d| d["rules"].as_array().into_iter().flatten())
    {
        assert_eq!(rule["verbs"], serde_json::json!(["get", "list"]), "{rule}");
        assert!(!rule["resources"].to_string().contains("secrets"), "{rule}");
    }

    api.enforce_rbac(&yaml);
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for (check, _, _) in CHECKS {
        let r = out.result(check);
        assert_eq!(r["status"], "ok", "{check}: {}", findings(&r));
    }
    assert_eq!(
        api.forbidden(),
        Vec::<String>::new(),
        "requests refused by RBAC"
    );

    // The rules really bind: real kubectl may read nodes and the node Leases,
    // and is refused Secrets, other namespaces' Leases and anything written.
    let get = |args: &[&str]| outcome(api.kubectl().args(args));
    let (ok, text) = get(&["get", "nodes"]);
    assert!(ok, "{text}");
    let (ok, text) = get(&["get", "leases", "-n", "kube-node-lease"]);
    assert!(ok, "{text}");
    for denied in [
        vec!["get", "--raw", "/api/v1/secrets"],
        vec![
            "get",
            "--raw",
            "/api/v1/namespaces/kube-system/secrets/rke2-serving",
        ],
        vec!["get", "leases", "-n", "default"],
        vec!["get", "configmaps", "-n", "default"],
        vec!["get", "--raw", "/apis/apps/v1/deployments"],
    ] {
        let (ok, text) = get(&denied);
        assert!(!ok, "kubectl {denied:?} was allowed: {text}");
        assert!(
            text.contains("Forbidden") || text.contains("forbidden"),
            "{denied:?}: {text}"
        );
    }
}

#[test]
fn a_check_without_its_rules_is_refused_and_a_grant_change_changes_the_output() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = shipped_checks(&api);
    // RBAC for the node check alone: workloads' Pods are refused.
    let node_only = rbac(&cfg, &["--check", "node"]);
    assert!(!node_only.contains("pods"), "{node_only}");
    api.enforce_rbac(&node_only);
    let out = cfg.vitals(&[
        "run",
        "--format",
        "json",
        "--check",
        "node",
        "--check",
        "workloads",
    ]);
    assert_eq!(out.result("node")["status"], "ok", "{}", out.stdout);
    let workloads = out.result("workloads");
    assert_ne!(workloads["status"], "ok", "{workloads}");
    assert!(
        findings(&workloads).contains("403") || workloads["summary"].to_string().contains("403"),
        "{workloads}"
    );
    assert!(
        api.forbidden()
            .iter()
            .any(|r| r.starts_with("list /api/v1/pods")),
        "{:?}",
        api.forbidden()
    );

    // A new grant changes the output.
    let before = rbac(&cfg, &[]);
    let node = std::fs::read_to_string(cfg.path().join("checks.d/node.toml")).unwrap();
    cfg.check(
        "node",
        &node.replace(
            "kubernetes = [\"nodes\",",
            "kubernetes = [\"nodes\", \"events@kube-system\",",
        ),
    );
    let after = rbac(&cfg, &[]);
    assert_ne!(before, after);
    assert!(after.contains("- events"), "{after}");

    // Unknown --check: a usage error naming the checks.
    let out = cfg.vitals(&["rbac", "--check", "nope"]);
    assert_eq!(out.code, 64, "{out:?}");
    assert!(
        out.stderr.contains("no check named \"nope\""),
        "{}",
        out.stderr
    );
}
