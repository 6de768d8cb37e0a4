//! The conditions check with the shipped `checks.d/conditions/` examples, as they
//! are, against the fixture API server serving Flux, CloudNativePG and Gateway API
//! objects (tests/fixtures/kubernetes/conditions.json, written from the published
//! CRD types); the fixture serving those kinds is proven against the real kubectl.

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago};
use support::vitals::{ConfigDir, assert_summary_names_the_worst_finding, findings, summary};

/// A configuration with the example `checks.d/conditions/<example>.toml` as check
/// `<example>`.
fn config(api: &ApiServer, example: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("prod"));
    cfg.install_plugin("conditions", "conditions");
    let path = support::vitals::root().join(format!("checks.d/conditions/{example}.toml"));
    cfg.check(example, &std::fs::read_to_string(path).unwrap());
    cfg
}

fn object<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The status, findings (`"status" "subject": "message"` lines) and summary.
fn run(cfg: &ConfigDir, check: &str, scenario: Option<&str>) -> Value {
    let (out, r) = match scenario {
        Some(s) => {
            let (out, r, _) = cfg.record_check(check, "conditions", s, &[]);
            (out, r)
        }
        None => cfg.run_check(check, &[]),
    };
    assert!(r.get("failure").is_none(), "{r:#}\n{}", out.stderr);
    assert_summary_names_the_worst_finding(&r);
    r
}

#[test]
fn each_shipped_example_judges_its_resource() {
    let api = ApiServer::start(ApiServer::with_conditions());

    let r = run(
        &config(&api, "flux-helmreleases"),
        "flux-helmreleases",
        Some("helmrelease-failed"),
    );
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("\"critical\" \"monitoring/kube-prometheus-stack\": \"Ready=False (UpgradeFailed): Helm upgrade failed"),
        "{text}"
    );
    assert!(
        text.contains("\"ok\" \"apps/legacy-app\": \"suspended: not judged\""),
        "{text}"
    );
    assert!(!text.contains("ingress-nginx"), "{text}");
    assert!(
        summary(&r)
            .starts_with("1/2 helmreleases ok, 1 suspended; monitoring/kube-prometheus-stack: "),
        "{r:#}"
    );

    let r = run(
        &config(&api, "flux-kustomizations"),
        "flux-kustomizations",
        None,
    );
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r)
            .contains("\"flux-system/apps\": \"Ready=False (BuildFailed): kustomize build failed"),
        "{}",
        findings(&r)
    );

    let r = run(
        &config(&api, "cnpg-clusters"),
        "cnpg-clusters",
        Some("cnpg-degraded"),
    );
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains(
            "\"gitlab/gitlab-db\": \"/status/readyInstances is 2 but /spec/instances is 3\""
        ),
        "{}",
        findings(&r)
    );
    assert_eq!(
        summary(&r),
        "1/2 clusters ok; gitlab/gitlab-db: /status/readyInstances is 2 but /spec/instances is 3"
    );

    let r = run(&config(&api, "gateways"), "gateways", None);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"gateway/internal\": \"Programmed=False (AddressNotAssigned): no address assigned to the Gateway\""),
        "{}",
        findings(&r)
    );

    // A route is one team's: a warning, naming the parent that did not resolve it.
    let r = run(
        &config(&api, "httproutes"),
        "httproutes",
        Some("httproute-unresolved"),
    );
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"apps/shop\": \"ResolvedRefs=False (#2) (BackendNotFound): Service \\\"shop\\\" not found\""),
        "{}",
        findings(&r)
    );
    assert!(
        !findings(&r).contains("monitoring/grafana"),
        "{}",
        findings(&r)
    );
}

#[test]
fn a_release_being_reconciled_warns_then_healthy_is_ok() {
    let api = ApiServer::start(ApiServer::with_conditions());
    let cfg = config(&api, "flux-helmreleases");
    // A new generation Flux has not observed yet, its condition changed 10 s ago.
    api.update(|o| {
        let hr = object(o, "HelmRelease", "kube-prometheus-stack");
        hr["metadata"]["generation"] = json!(2);
        hr["status"]["conditions"][0]["lastTransitionTime"] = json!(ago(10));
    });
    let r = run(&cfg, "flux-helmreleases", Some("helmrelease-reconciling"));
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("reconciling (generation 2 not yet observed (status has 1)): Ready=False (UpgradeFailed)"),
        "{}",
        findings(&r)
    );
    // Reconciled and Ready.
    api.update(|o| {
        let hr = object(o, "HelmRelease", "kube-prometheus-stack");
        hr["status"]["observedGeneration"] = json!(2);
        hr["status"]["conditions"][0]["status"] = json!("True");
        hr["status"]["conditions"][0]["reason"] = json!("UpgradeSucceeded");
    });
    let r = run(&cfg, "flux-helmreleases", Some("helmreleases-ready"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "2/2 helmreleases ok, 1 suspended");
}

#[test]
fn a_resource_the_cluster_does_not_serve_is_unknown() {
    let api = ApiServer::start(ApiServer::with_conditions());
    let cfg = config(&api, "cnpg-clusters");
    let toml = std::fs::read_to_string(cfg.path().join("checks.d/cnpg-clusters.toml")).unwrap();
    cfg.check(
        "cnpg-clusters",
        &toml.replace("postgresql.cnpg.io/v1", "postgresql.cnpg.io/v2"),
    );
    let (_, r) = cfg.run_check("cnpg-clusters", &[]);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        summary(&r).contains("is the resource installed, in this API version?"),
        "{r:#}"
    );
}

#[test]
fn kubectl_lists_the_fixture_kinds() {
    let api = ApiServer::start(ApiServer::with_conditions());
    let get = |args: &[&str]| api.kubectl_ok(args);
    let hr = get(&["get", "helmreleases.helm.toolkit.fluxcd.io", "-A"]);
    assert!(
        hr.contains("kube-prometheus-stack") && hr.contains("legacy-app"),
        "{hr}"
    );
    assert!(get(&["get", "ks", "-n", "flux-system"]).contains("infrastructure"));
    assert!(get(&["get", "clusters.postgresql.cnpg.io", "-A"]).contains("gitlab-db"));
    let routes = get(&[
        "get",
        "httproutes",
        "-n",
        "apps",
        "-o",
        "jsonpath={.items[*].status.parents[*].conditions[*].reason}",
    ]);
    assert!(routes.contains("BackendNotFound"), "{routes}");
    assert!(
        get(&["api-resources", "--api-group", "gateway.networking.k8s.io"]).contains("gateways")
    );
}

#[test]
fn on_the_demos_healthy_cluster_every_example_is_ok() {
    let api = ApiServer::start(ApiServer::with_workloads());
    for example in [
        "flux-helmreleases",
        "flux-kustomizations",
        "cnpg-clusters",
        "gateways",
        "httproutes",
    ] {
        let r = run(&config(&api, example), example, None);
        assert_eq!(r["status"], "ok", "{example}: {r:#}");
        assert!(summary(&r).starts_with("1/1 "), "{example}: {r:#}");
    }
}
