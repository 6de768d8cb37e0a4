//! The policyreports check (a plugin written in C) with the shipped
//! `checks.d/policyreports.toml` against the fixture API server serving Kyverno's
//! PolicyReports and ClusterPolicyReports
//! (tests/fixtures/kubernetes/policyreports.json, wgpolicyk8s.io/v1alpha2).

mod support;

use serde_json::Value;
use support::kubernetes::ApiServer;
use support::vitals::{ConfigDir, assert_summary_names_the_worst_finding, findings, summary};

fn config(api: &ApiServer, params: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_built("policyreports");
    let shipped =
        std::fs::read_to_string(support::vitals::root().join("checks.d/policyreports.toml"))
            .unwrap();
    cfg.check("policies", &format!("{shipped}{params}"));
    cfg
}

fn run(cfg: &ConfigDir, scenario: Option<&str>) -> Value {
    let r = match scenario {
        Some(s) => cfg.record_check("policies", "policyreports", s, &[]).1,
        None => cfg.run_check("policies", &[]).1,
    };
    assert!(r.get("failure").is_none(), "{r:#}");
    assert_summary_names_the_worst_finding(&r);
    r
}

#[test]
fn failures_per_namespace_and_policy_warn_with_their_first_resources() {
    let api = ApiServer::start(ApiServer::with_policy_reports());
    let r = run(&config(&api, ""), Some("failures"));
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("\"warning\" \"apps/require-requests-limits\": \"2 failed: validate-resources Deployment/web: validation error: CPU and memory"),
        "{text}"
    );
    assert!(
        text.contains("; validate-resources Deployment/api: "),
        "{text}"
    );
    assert!(
        text.contains(
            "\"monitoring/disallow-host-path\": \"1 failed: host-path DaemonSet/node-exporter"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\"kube-system/restrict-seccomp\": \"0 failed, 1 could not be evaluated: check-seccomp"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\"(cluster)/require-ns-labels\": \"1 failed: check-team-label Namespace/legacy"
        ),
        "{text}"
    );
    assert!(!text.contains("disallow-latest-tag"), "{text}");
    assert_eq!(
        summary(&r),
        "4 failed results in 4 namespace/policy pairs (5 reports); worst: apps/require-requests-limits"
    );
    let samples = r["samples"].as_array().unwrap();
    assert!(
        samples.iter().any(|s| s["name"] == "failures"
            && s["labels"]["namespace"] == "apps"
            && s["labels"]["policy"] == "require-requests-limits"
            && s["value"] == 2.0),
        "{samples:#?}"
    );
}

#[test]
fn thresholds_and_the_allow_list() {
    let api = ApiServer::start(ApiServer::with_policy_reports());
    // Two failures of one policy in one namespace are critical at critical_at = 2.
    let r = run(&config(&api, "critical_at = 2\n"), Some("critical"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"critical\" \"apps/require-requests-limits\""),
        "{}",
        findings(&r)
    );

    // Allowed policies (everywhere, or in one namespace) are not judged; with the
    // engine's error allowed too, nothing is left.
    let cfg = config(&api, "");
    let shipped = std::fs::read_to_string(cfg.path().join("checks.d/policies.toml")).unwrap();
    cfg.check(
        "policies",
        &shipped.replace(
            "# allow = [\"disallow-host-path\", \"monitoring/disallow-privileged-containers\"]",
            "allow = [\"require-requests-limits\", \"monitoring/disallow-host-path\", \"restrict-seccomp\", \"require-ns-labels\"]",
        ),
    );
    let r = run(&cfg, Some("allowed"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "0 failed results (5 reports)");
}

#[test]
fn no_policy_engine_is_unknown() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    // As a cluster without Kyverno answers: the resource is not served.
    api.fail("/apis/wgpolicyk8s.io", Some(404));
    let (_, r) = config(&api, "").run_check("policies", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        summary(&r).starts_with("cannot list PolicyReports: api: HTTP 404"),
        "{r:#}"
    );
}
