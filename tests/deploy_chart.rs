//! The Helm chart (`deploy/helm/vitals`), checked with real tools that
//! `scripts/install-deps` installs into `${XDG_CACHE_HOME:-~/.cache}/vitals-tools`:
//! `helm` (bin/helm), `kubernetes-validate` and `yamllint` (venv/bin), and the
//! Prometheus Operator's API schemas (chart-node, driven by
//! `scripts/chart-tools/validate-monitoring.mjs`).
//!
//! - `helm lint --strict` with the default values and each `ci/*-values.yaml`;
//! - `helm template` of each of them passes `kubernetes-validate --strict` for
//!   Kubernetes 1.28 (the chart's oldest) and the newest it knows (only the
//!   Prometheus Operator's kinds are left to their own validation), `yamllint`,
//!   and the operator's schemas for the monitoring.coreos.com objects;
//! - the values schema rejects unknown and wrong-typed values;
//! - monitoring.coreos.com objects only when the cluster serves that API;
//! - locked-down pods, the service account token only for an in_cluster
//!   endpoint, `checksum/config` following the configuration, the RBAC rules,
//!   the CronJob's failure policy and the probes' scrape timeouts.
//!
//! Rendered YAML is turned into JSON by PyYAML (it comes with yamllint) and
//! asserted on with serde_json. Every failure shows the tool's own output.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod support;

use support::tools::{helm_path, tools_dir, venv_bin};

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/helm/vitals");
/// The chart's kubeVersion floor.
const OLDEST_KUBERNETES: &str = "1.28.0";
/// What `--api-versions` adds so that the chart renders its Prometheus Operator objects.
const OPERATOR_API: &str = "monitoring.coreos.com/v1";
/// yamllint's default rules, but long lines (TOML, PromQL) and either style of
/// sequence indentation (helm's toYaml does not indent them) are fine, and
/// files need no `---`.
const YAMLLINT_CONFIG: &str = "{extends: default, rules: {line-length: disable, \
     document-start: disable, indentation: {spaces: consistent, indent-sequences: whatever}}}";

// ---------------------------------------------------------------------------
// Tools

/// Runs `cmd` (with `stdin`), panicking with a hint when the tool is missing.
fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): run scripts/install-deps"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A helm command with its own (empty) configuration, cache and data directories,
/// removed after it (a static directory would outlive the test process: statics
/// are never dropped).
fn helm(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    run(
        Command::new(helm_path())
            .args(args)
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_DATA_HOME", home.join("data")),
        None,
    )
}

/// `helm template` of the chart with `args` (values files, --set, ...): the
/// rendered YAML, or helm's error output.
fn try_template(args: &[&str]) -> Result<String, String> {
    let mut all = vec!["template", "vitals", CHART, "--namespace", "monitoring"];
    all.extend_from_slice(args);
    let out = helm(&all);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(text(&out))
    }
}

fn template(args: &[&str]) -> String {
    try_template(args).unwrap_or_else(|e| panic!("helm template {args:?} failed:\n{e}"))
}

/// The objects of a YAML stream, as JSON values (PyYAML's safe loader).
fn parse(yaml: &str) -> Vec<Value> {
    let out = run(
        Command::new(venv_bin("python")).args([
            "-c",
            "import json, sys, yaml\n\
             json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)",
        ]),
        Some(yaml.as_bytes()),
    );
    assert!(
        out.status.success(),
        "PyYAML cannot read:\n{}\n---\n{yaml}",
        text(&out)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn render(args: &[&str]) -> Vec<Value> {
    parse(&template(args))
}

/// The newest Kubernetes version kubernetes-validate has schemas for.
fn newest_kubernetes() -> String {
    let out = run(
        Command::new(venv_bin("python")).args([
            "-c",
            "from kubernetes_validate.utils import latest_version; print(latest_version())",
        ]),
        None,
    );
    assert!(out.status.success(), "kubernetes-validate: {}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every `ci/*-values.yaml`, by path relative to the chart.
fn ci_values_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(Path::new(CHART).join("ci"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-values.yaml"))
        .map(|n| format!("{CHART}/ci/{n}"))
        .collect();
    files.sort();
    for required in [
        "serve",
        "cronjob",
        "with-operator",
        "in-cluster",
        "rke2-etcd",
        "sharded",
    ] {
        assert!(
            files
                .iter()
                .any(|f| f.ends_with(&format!("/ci/{required}-values.yaml"))),
            "ci/{required}-values.yaml is missing: {files:?}"
        );
    }
    files
}

fn ci(name: &str) -> String {
    format!("{CHART}/ci/{name}-values.yaml")
}

// ---------------------------------------------------------------------------
// Rendered objects

fn kind_of(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or_default()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| kind_of(o) == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = find(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects.iter().map(|o| kind_of(o).to_string()).collect()
}

/// The pod specs of the workloads (Deployment, CronJob), with what they are.
fn pod_specs(objects: &[Value]) -> Vec<(String, &Value)> {
    let mut specs = Vec::new();
    for o in objects {
        let name = format!("{} {}", kind_of(o), o["metadata"]["name"]);
        match kind_of(o) {
            "Deployment" | "StatefulSet" => specs.push((name, &o["spec"]["template"]["spec"])),
            "CronJob" => specs.push((name, &o["spec"]["jobTemplate"]["spec"]["template"]["spec"])),
            _ => {}
        }
    }
    specs
}

fn vitals_container(pod: &Value) -> &Value {
    pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vitals")
        .expect("a container named vitals")
}

fn is_monitoring(o: &Value) -> bool {
    o["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .starts_with("monitoring.coreos.com/")
}

fn config_checksum(objects: &[Value]) -> String {
    let d = one(objects, "Deployment");
    d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        .as_str()
        .expect("checksum/config on the pod template")
        .to_string()
}

fn write_temp(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

/// The Prometheus Operator objects through validate-monitoring.mjs; its output.
fn validate_monitoring(objects: &[Value]) -> Result<String, String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/chart-tools/validate-monitoring.mjs"
    );
    let out = run(
        Command::new("node")
            .arg(script)
            .arg(tools_dir().join("chart-node")),
        Some(serde_json::to_string(objects).unwrap().as_bytes()),
    );
    if out.status.success() {
        Ok(text(&out))
    } else {
        Err(text(&out))
    }
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn helm_lint_strict_accepts_the_defaults_and_every_ci_values_file() {
    let out = helm(&["lint", "--strict", CHART]);
    assert!(
        out.status.success(),
        "helm lint --strict (defaults):\n{}",
        text(&out)
    );
    for file in ci_values_files() {
        let out = helm(&["lint", "--strict", CHART, "-f", &file]);
        assert!(
            out.status.success(),
            "helm lint --strict -f {file}:\n{}",
            text(&out)
        );
    }
}

#[test]
fn every_ci_values_file_renders_valid_kubernetes_objects() {
    let dir = tempfile::tempdir().unwrap();
    let newest = newest_kubernetes();
    let mut files = ci_values_files();
    files.insert(0, String::new()); // the defaults
    for file in &files {
        let label = if file.is_empty() {
            "the default values"
        } else {
            file.as_str()
        };
        for version in [OLDEST_KUBERNETES, newest.as_str()] {
            let mut args = vec!["--kube-version", version, "--api-versions", OPERATOR_API];
            if !file.is_empty() {
                args.extend(["-f", file.as_str()]);
            }
            let yaml = template(&args);
            let rendered = write_temp(dir.path(), "rendered.yaml", &yaml);

            // The API's own schemas, rejecting unknown fields. It warns about
            // kinds it has no schema for: only the Prometheus Operator's may be so.
            let out = run(
                Command::new(venv_bin("kubernetes-validate"))
                    .args(["--strict", "--quiet", "-k", version])
                    .arg(&rendered),
                None,
            );
            let report = text(&out);
            assert!(
                out.status.success(),
                "kubernetes-validate --strict -k {version} rejects {label}:\n{report}\n---\n{yaml}"
            );
            for line in report.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    line.starts_with("WARN ")
                        && line.contains("with api version monitoring.coreos.com/"),
                    "kubernetes-validate -k {version}, {label}: {line}"
                );
            }

            // YAML itself: syntax, duplicate keys, ...
            let out = run(
                Command::new(venv_bin("yamllint"))
                    .args(["--strict", "-f", "parsable", "-d", YAMLLINT_CONFIG])
                    .arg(&rendered),
                None,
            );
            assert!(
                out.status.success(),
                "yamllint, {label} for {version}:\n{}\n---\n{yaml}",
                text(&out)
            );

            // The Prometheus Operator's objects against its schemas.
            let objects = parse(&yaml);
            if objects.iter().any(is_monitoring)
                && let Err(e) = validate_monitoring(&objects)
            {
                panic!("Prometheus Operator objects of {label} are invalid:\n{e}");
            }
            assert!(
                !pod_specs(&objects).is_empty(),
                "{label}: no workload rendered"
            );
        }
    }
}

#[test]
fn chart_sources_pass_yamllint() {
    let out = run(
        Command::new(venv_bin("yamllint"))
            .args(["--strict", "-f", "parsable", "-d", YAMLLINT_CONFIG])
            .current_dir(CHART)
            .args(["Chart.yaml", "values.yaml", "ci", "files/vitals.rules.yml"]),
        None,
    );
    assert!(out.status.success(), "yamllint:\n{}", text(&out));
}

#[test]
fn with_operator_values_render_servicemonitor_rules_and_dashboard_that_the_operator_accepts() {
    let objects = render(&["-f", &ci("with-operator"), "--api-versions", OPERATOR_API]);
    let sm = one(&objects, "ServiceMonitor");
    assert_eq!(
        sm["metadata"]["labels"]["release"], "kube-prometheus-stack",
        "{sm:#}"
    );
    assert_eq!(sm["spec"]["jobLabel"], "app.kubernetes.io/name", "{sm:#}");
    let service = one(&objects, "Service");
    assert_eq!(service["spec"]["ports"][0]["name"], "http-metrics");
    assert_eq!(
        service["metadata"]["labels"]["app.kubernetes.io/name"], "vitals",
        "the job label the rules expect (up{{job=\"vitals\"}})"
    );
    let endpoints = sm["spec"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints[0]["path"], "/metrics");
    assert_eq!(endpoints[0]["port"], "http-metrics");

    // The rules file's groups, as they are.
    let rule = one(&objects, "PrometheusRule");
    let file = std::fs::read_to_string(format!("{CHART}/files/vitals.rules.yml")).unwrap();
    let groups = &parse(&file)[0]["groups"];
    assert!(!groups.as_array().unwrap().is_empty(), "{file}");
    assert_eq!(&rule["spec"]["groups"], groups);

    let dashboards: Vec<&Value> = find(&objects, "ConfigMap")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(
        dashboards.len(),
        1,
        "one dashboard ConfigMap labelled grafana_dashboard: \"1\""
    );
    let json_text = dashboards[0]["data"]["vitals-dashboard.json"]
        .as_str()
        .unwrap();
    let dashboard: Value = serde_json::from_str(json_text).expect("the dashboard is JSON");
    assert!(
        dashboard["title"].is_string() && dashboard["panels"].is_array(),
        "{dashboard:#}"
    );

    let report = validate_monitoring(&objects).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.contains("2 monitoring.coreos.com objects, 0 invalid"),
        "{report}"
    );

    // The validator itself rejects what the API would drop or refuse.
    let mut broken = objects.clone();
    for o in broken.iter_mut().filter(|o| kind_of(o) == "ServiceMonitor") {
        o["spec"]["endpoints"][0]["scrapeTimout"] = json!("10s");
        o["spec"]["endpoints"][0]["interval"] = json!("one minute");
    }
    let err = validate_monitoring(&broken).expect_err("a misspelt field and a bad duration");
    assert!(
        err.contains("/spec/endpoints/0/scrapeTimout: unknown field"),
        "{err}"
    );
    assert!(err.contains("interval must match pattern"), "{err}");
}

#[test]
fn monitoring_objects_only_when_the_cluster_serves_the_operator_api() {
    let without = render(&["-f", &ci("with-operator")]);
    let found: Vec<String> = without
        .iter()
        .filter(|o| is_monitoring(o))
        .map(|o| kind_of(o).to_string())
        .collect();
    assert!(found.is_empty(), "without {OPERATOR_API}: {found:?}");
    // The dashboard is a plain ConfigMap: it does not need the operator.
    assert_eq!(find(&without, "ConfigMap").len(), 2);

    let with = render(&["-f", &ci("with-operator"), "--api-versions", OPERATOR_API]);
    let kinds = kinds(&with);
    assert!(
        kinds.contains("ServiceMonitor") && kinds.contains("PrometheusRule"),
        "{kinds:?}"
    );

    // A real cluster's discovery names each kind: only the installed ones render.
    let only_sm = render(&[
        "-f",
        &ci("with-operator"),
        "--api-versions",
        OPERATOR_API,
        "--api-versions",
        "monitoring.coreos.com/v1/ServiceMonitor",
    ]);
    let kinds = self::kinds(&only_sm);
    assert!(
        kinds.contains("ServiceMonitor") && !kinds.contains("PrometheusRule"),
        "{kinds:?}"
    );

    // In cronjob mode there is nothing to scrape: no Service, no ServiceMonitor.
    let cron = render(&[
        "-f",
        &ci("cronjob"),
        "--set",
        "serviceMonitor.enabled=true",
        "--api-versions",
        OPERATOR_API,
    ]);
    let kinds = self::kinds(&cron);
    assert!(
        !kinds.contains("ServiceMonitor") && !kinds.contains("Service"),
        "{kinds:?}"
    );
}

#[test]
fn sharded_serve_is_a_statefulset_whose_pods_take_their_ordinal() {
    let objects = render(&["-f", &ci("sharded")]);
    assert!(find(&objects, "Deployment").is_empty());
    let sts = one(&objects, "StatefulSet");
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(
        sts["spec"]["serviceName"],
        one(&objects, "Service")["metadata"]["name"]
    );
    let pod = &sts["spec"]["template"]["spec"];
    let vitals = vitals_container(pod);
    let args: Vec<&str> = vitals["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&"--shard=$(VITALS_SHARD_INDEX)/3"),
        "{args:?}"
    );
    let env = vitals["env"].as_array().expect("env");
    let index = env
        .iter()
        .find(|e| e["name"] == "VITALS_SHARD_INDEX")
        .expect("VITALS_SHARD_INDEX");
    assert_eq!(
        index["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );
    // The Service (and a ServiceMonitor through it) reaches every pod.
    let selector = &one(&objects, "Service")["spec"]["selector"];
    for (label, value) in selector.as_object().unwrap() {
        assert_eq!(&sts["spec"]["template"]["metadata"]["labels"][label], value);
    }

    // One pod per shard; replicas of every pair are another setup.
    let unsharded = render(&[]);
    assert!(find(&unsharded, "StatefulSet").is_empty());
    let e = try_template(&["--set", "serve.shards=2", "--set", "serve.replicas=2"]).unwrap_err();
    assert!(e.contains("install the chart twice"), "{e}");
    let e = try_template(&["--set", "serve.shards=0"]).unwrap_err();
    assert!(e.contains("/serve/shards"), "{e}");
}

#[test]
fn the_values_schema_rejects_unknown_and_wrong_typed_values() {
    for (args, expected) in [
        (
            vec!["--set", "replicaCount=2"],
            "additional properties 'replicaCount' not allowed",
        ),
        (
            vec!["--set", "serviceMonitor.intervall=1m"],
            "additional properties 'intervall' not allowed",
        ),
        (
            vec!["--set", "cronjob.output.persistance.enabled=true"],
            "additional properties 'persistance' not allowed",
        ),
        (vec!["--set", "serve.port=http"], "/serve/port"),
        (vec!["--set-string", "serve.replicas=2"], "/serve/replicas"),
        (vec!["--set", "mode=daemonset"], "/mode"),
        (
            vec!["--set", "serviceMonitor.interval=1 minute"],
            "/serviceMonitor/interval",
        ),
        (
            vec!["--set", "rbac.clusterRules[0].verbs[0]=watch"],
            "/rbac/clusterRules/0/verbs/0",
        ),
        (
            vec!["--set", "cronjob.failJobOnExitCodes[0]=0"],
            "/cronjob/failJobOnExitCodes/0",
        ),
    ] {
        match try_template(&args) {
            Ok(_) => panic!("helm template {args:?} was accepted"),
            Err(e) => {
                assert!(
                    e.contains("values don't meet the specifications of the schema"),
                    "{args:?}:\n{e}"
                );
                assert!(
                    e.contains(expected),
                    "{args:?}: expected {expected:?} in:\n{e}"
                );
            }
        }
    }
    // And the defaults with a values file of the wrong shape.
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(
        dir.path(),
        "bad.yaml",
        "config:\n  checks:\n    node.toml: 5\n",
    );
    let e = try_template(&["-f", &file]).expect_err("a check that is not a string");
    assert!(e.contains("/config/checks/node.toml"), "{e}");
}

#[test]
fn pods_are_locked_down() {
    let mut files = ci_values_files();
    files.insert(0, String::new());
    for file in &files {
        let label = if file.is_empty() {
            "the default values"
        } else {
            file.as_str()
        };
        let args: Vec<&str> = if file.is_empty() {
            vec![]
        } else {
            vec!["-f", file]
        };
        let objects = render(&args);
        // Two examples run as root on purpose, each saying why in its values:
        // RKE2's root-only etcd keys, and ARP probes without a file capability.
        let as_root =
            file.ends_with("/rke2-etcd-values.yaml") || file.ends_with("/arp-probe-values.yaml");
        for (what, pod) in pod_specs(&objects) {
            let psc = &pod["securityContext"];
            let c = vitals_container(pod);
            let sc = &c["securityContext"];
            let ctx = format!("{label}, {what}:\npod {psc:#}\ncontainer {sc:#}");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{ctx}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{ctx}");
            assert_eq!(sc["privileged"], false, "{ctx}");
            assert!(
                sc["capabilities"]["drop"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("ALL")),
                "{ctx}"
            );
            let added: Vec<&Value> = sc["capabilities"]["add"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            assert!(
                added.iter().all(|a| *a == "NET_RAW"),
                "only NET_RAW may be added: {ctx}"
            );
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{ctx}");
            assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{ctx}");
            if as_root {
                assert_eq!(psc["runAsUser"], 0, "{ctx}");
                assert_eq!(psc["runAsNonRoot"], false, "{ctx}");
            } else {
                assert_eq!(psc["runAsNonRoot"], true, "{ctx}");
                assert_eq!(psc["runAsUser"], 65532, "{ctx}");
                assert_eq!(psc["runAsGroup"], 65532, "{ctx}");
                assert!(added.is_empty(), "{ctx}");
                assert!(pod["hostNetwork"].is_null(), "{label}, {what}: hostNetwork");
            }
            // A memory limit, the writable compile cache and the read-only config.
            assert!(
                c["resources"]["limits"]["memory"].is_string(),
                "{label}, {what}: {c:#}"
            );
            let mounts = c["volumeMounts"].as_array().unwrap();
            let mount = |path: &str| mounts.iter().find(|m| m["mountPath"] == path);
            assert!(
                mount("/var/cache/vitals").is_some(),
                "{label}, {what}: {mounts:?}"
            );
            assert_eq!(
                mount("/etc/vitals").map(|m| &m["readOnly"]),
                Some(&json!(true))
            );
            // Secrets only by reference, never as a literal.
            for env in c["env"].as_array().into_iter().flatten() {
                if env["valueFrom"].is_object() {
                    assert!(env["value"].is_null(), "{label}: {env}");
                }
            }
        }
    }

    // ARP probes: NET_RAW and the node's network, as uid 0 with that capability
    // alone (the image has no file capability), still without escalation.
    let objects = render(&["--set", "arpProbe.enabled=true"]);
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    let sc = &vitals_container(pod)["securityContext"];
    assert_eq!(sc["capabilities"]["add"], json!(["NET_RAW"]), "{sc:#}");
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{sc:#}");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{sc:#}");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{sc:#}");
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], false);
}

#[test]
fn service_account_token_only_for_an_in_cluster_endpoint() {
    let token = |objects: &[Value]| -> (Value, Value) {
        let sa = one(objects, "ServiceAccount");
        let pod = pod_specs(objects)[0].1;
        (
            sa["automountServiceAccountToken"].clone(),
            pod["automountServiceAccountToken"].clone(),
        )
    };
    // The defaults read this cluster with `in_cluster = true`.
    assert_eq!(token(&render(&[])), (json!(true), json!(true)));
    assert_eq!(
        token(&render(&["-f", &ci("cronjob")])),
        (json!(true), json!(true))
    );
    // Redis Sentinel only: no kubernetes endpoint.
    assert_eq!(
        token(&render(&["-f", &ci("serve")])),
        (json!(false), json!(false))
    );
    assert_eq!(
        token(&render(&["-f", &ci("etcd-secret")])),
        (json!(false), json!(false))
    );
    // A kubeconfig, or in_cluster only in a comment or set to false: no token.
    let dir = tempfile::tempdir().unwrap();
    for (name, toml) in [
        (
            "kubeconfig",
            "kind = \"kubernetes\"\nkubeconfig = \"/etc/vitals-secrets/kube/config\"\n",
        ),
        (
            "comment",
            "kind = \"kubernetes\"\nkubeconfig = \"/k/config\"\n# in_cluster = true\n",
        ),
        (
            "false",
            "kind = \"kubernetes\"\nin_cluster = false\nkubeconfig = \"/k/config\"\n",
        ),
    ] {
        let values = format!(
            "config:\n  vitalsToml: |\n    [clusters.c.endpoints.kubernetes]\n{}",
            toml.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let file = write_temp(dir.path(), &format!("{name}.yaml"), &values);
        assert_eq!(
            token(&render(&["-f", &file])),
            (json!(false), json!(false)),
            "{values}"
        );
    }
    // An explicit value wins.
    assert_eq!(
        token(&render(&["--set", "serviceAccount.automountToken=false"])),
        (json!(false), json!(false))
    );
    assert_eq!(
        token(&render(&[
            "-f",
            &ci("serve"),
            "--set",
            "serviceAccount.automountToken=true"
        ])),
        (json!(true), json!(true))
    );
    // A vitals.toml that is not TOML fails the render, naming the problem.
    let e = try_template(&["--set", "config.vitalsToml=plugin_dir ="]).expect_err("broken TOML");
    assert!(e.contains("config.vitalsToml is not valid TOML"), "{e}");
}

#[test]
fn checksum_config_follows_the_configuration() {
    let base = config_checksum(&render(&[]));
    assert_eq!(base.len(), 64, "a sha256: {base}");
    assert_eq!(base, config_checksum(&render(&[])), "stable across renders");
    // Something that is not configuration does not roll the pods.
    assert_eq!(
        base,
        config_checksum(&render(&["--set", "resources.limits.memory=2Gi"]))
    );
    // The cluster's name (templated into vitals.toml) and a check's TOML do.
    let renamed = config_checksum(&render(&["--set", "config.clusterName=prod"]));
    assert_ne!(base, renamed);
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(
        dir.path(),
        "check.yaml",
        "config:\n  checks:\n    node.toml: |\n      plugin = \"node\"\n      timeout = \"10s\"\n      \
         [grants]\n      endpoints = [\"kubernetes\"]\n      kubernetes = [\"nodes\"]\n",
    );
    let changed = config_checksum(&render(&["-f", &file]));
    assert_ne!(base, changed);
    assert_ne!(renamed, changed);

    // The ConfigMap is what the pods mount at /etc/vitals, checks in checks.d.
    let objects = render(&[]);
    let cm = find(&objects, "ConfigMap")[0];
    let toml = cm["data"]["vitals.toml"].as_str().unwrap();
    // The image's plugin_dir and cache_dir apply (tests/image.rs runs the pods).
    assert!(
        !toml.contains("plugin_dir") && !toml.contains("cache_dir"),
        "{toml}"
    );
    assert!(
        toml.contains("[clusters.in-cluster.endpoints.kubernetes]"),
        "{toml}"
    );
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    let config = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    let paths: BTreeSet<&str> = config["configMap"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "vitals.toml",
            "checks.d/node.toml",
            "checks.d/workloads.toml"
        ])
    );
    for item in config["configMap"]["items"].as_array().unwrap() {
        let key = item["key"].as_str().unwrap();
        assert!(
            cm["data"][key].is_string(),
            "the ConfigMap has no key {key}"
        );
    }
    let args = &vitals_container(pod)["args"];
    assert_eq!(
        args,
        &json!([
            "serve",
            "--config",
            "/etc/vitals",
            "--listen",
            "0.0.0.0:9927"
        ])
    );

    // With the reloader sidecar the configuration is reloaded in place instead.
    let objects = render(&["-f", &ci("in-cluster")]);
    let template = &one(&objects, "Deployment")["spec"]["template"];
    assert!(template["metadata"]["annotations"]["checksum/config"].is_null());
    let reloader = template["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "config-reloader")
        .expect("the config-reloader sidecar");
    assert!(
        reloader["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--webhook-url=http://127.0.0.1:9927/-/reload")),
        "{reloader:#}"
    );
}

#[test]
fn rbac_rules_come_from_values_and_match_the_default_checks_grants() {
    let objects = render(&[]);
    let verbs = json!(["get", "list"]);
    let role = one(&objects, "ClusterRole");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["nodes", "persistentvolumeclaims", "pods"], "verbs": verbs}])
    );
    let binding = one(&objects, "ClusterRoleBinding");
    let sa = one(&objects, "ServiceAccount");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], sa["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["namespace"], "monitoring");
    let lease = one(&objects, "Role");
    assert_eq!(lease["metadata"]["namespace"], "kube-node-lease");
    assert_eq!(
        lease["rules"],
        json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": verbs}])
    );
    assert_eq!(
        one(&objects, "RoleBinding")["metadata"]["namespace"],
        "kube-node-lease"
    );

    // The default checks' grants, which `vitals rbac` turns into these rules.
    let cm = find(&objects, "ConfigMap")[0];
    assert!(
        cm["data"]["checks.d_node.toml"]
            .as_str()
            .unwrap()
            .contains("kubernetes = [\"nodes\", \"coordination.k8s.io/leases@kube-node-lease\"]")
    );
    assert!(
        cm["data"]["checks.d_workloads.toml"]
            .as_str()
            .unwrap()
            .contains("kubernetes = [\"pods\", \"persistentvolumeclaims\"]")
    );

    // Resources sorted whatever their order in values; Secrets refused.
    let objects = render(&[
        "--set",
        "rbac.clusterRules[0].apiGroups[0]=",
        "--set",
        "rbac.clusterRules[0].resources={pods,nodes}",
        "--set",
        "rbac.clusterRules[0].verbs={get,list}",
    ]);
    assert_eq!(
        one(&objects, "ClusterRole")["rules"][0]["resources"],
        json!(["nodes", "pods"])
    );
    let e = try_template(&[
        "--set",
        "rbac.clusterRules[0].apiGroups[0]=",
        "--set",
        "rbac.clusterRules[0].resources={secrets}",
        "--set",
        "rbac.clusterRules[0].verbs={get}",
    ])
    .expect_err("Secrets in the rules");
    assert!(e.contains("vitals never reads Secrets"), "{e}");
    // Without Kubernetes checks there is nothing to bind.
    let objects = render(&["-f", &ci("serve")]);
    let kinds = kinds(&objects);
    assert!(!kinds.iter().any(|k| k.contains("Role")), "{kinds:?}");
    // No write verb anywhere in any example.
    for file in ci_values_files() {
        for o in render(&["-f", &file]) {
            if kind_of(&o).ends_with("Role") {
                for rule in o["rules"].as_array().unwrap() {
                    assert_eq!(rule["verbs"], verbs, "{file}: {rule}");
                    assert!(
                        !rule["resources"]
                            .as_array()
                            .unwrap()
                            .contains(&json!("secrets")),
                        "{file}: {rule}"
                    );
                }
            }
        }
    }
}

/// The configuration directory that the chart's ConfigMap mounts at /etc/vitals.
fn config_dir_of(objects: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("checks.d")).unwrap();
    let cm = find(objects, "ConfigMap")[0];
    for (key, value) in cm["data"].as_object().unwrap() {
        let file = match key.strip_prefix("checks.d_") {
            Some(check) => format!("checks.d/{check}"),
            None => key.clone(),
        };
        std::fs::write(dir.path().join(file), value.as_str().unwrap()).unwrap();
    }
    dir
}

/// The rules of the ClusterRole, and of each Role by namespace.
fn rbac_rules(objects: &[Value]) -> Vec<(String, Value)> {
    let mut rules: Vec<(String, Value)> = objects
        .iter()
        .filter(|o| matches!(kind_of(o), "ClusterRole" | "Role"))
        .map(|o| {
            let scope = o["metadata"]["namespace"].as_str().unwrap_or("(cluster)");
            (format!("{} {scope}", kind_of(o)), o["rules"].clone())
        })
        .collect();
    rules.sort_by(|a, b| a.0.cmp(&b.0));
    rules
}

#[test]
fn the_charts_rbac_is_what_vitals_rbac_prints_for_the_charts_configuration() {
    for args in [vec![], vec!["-f".to_string(), ci("in-cluster")]] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let objects = render(&args);
        let config = config_dir_of(&objects);
        let sa = one(&objects, "ServiceAccount")["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        // in_cluster endpoints read where the API server is from the pod's environment.
        let out = support::vitals::run_with_env(
            &[
                "rbac",
                "--namespace",
                "monitoring",
                "--service-account",
                &sa,
            ],
            Some(config.path()),
            &[
                ("KUBERNETES_SERVICE_HOST", "10.43.0.1"),
                ("KUBERNETES_SERVICE_PORT", "443"),
            ],
        );
        assert_eq!(out.code, 0, "{out:?}");
        let printed = parse(&out.stdout);
        assert_eq!(
            rbac_rules(&objects),
            rbac_rules(&printed),
            "{args:?}: the chart's rules differ from `vitals rbac`:\n{}",
            out.stdout
        );
        for binding in printed.iter().filter(|o| kind_of(o).ends_with("Binding")) {
            assert_eq!(binding["subjects"][0]["name"], sa.as_str());
            assert_eq!(binding["subjects"][0]["namespace"], "monitoring");
        }
    }
    // A grant the values' rules do not cover: the two differ, and the test says so.
    let tmp = tempfile::tempdir().unwrap();
    let values = write_temp(
        tmp.path(),
        "events-values.yaml",
        "config:\n  checks:\n    workloads.toml: |\n      plugin = \"workloads\"\n      [grants]\n      endpoints = [\"kubernetes\"]\n      kubernetes = [\"pods\", \"events\"]\n",
    );
    let objects = render(&["-f", &values]);
    let config = config_dir_of(&objects);
    let out = support::vitals::run_with_env(
        &["rbac", "--namespace", "monitoring"],
        Some(config.path()),
        &[("KUBERNETES_SERVICE_HOST", "10.43.0.1")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_ne!(rbac_rules(&objects), rbac_rules(&parse(&out.stdout)));
}

#[test]
fn cronjob_runs_daily_and_results_do_not_retry() {
    let objects = render(&["-f", &ci("cronjob")]);
    let kinds = kinds(&objects);
    assert!(
        !kinds.contains("Deployment") && !kinds.contains("Service"),
        "{kinds:?}"
    );
    let cron = one(&objects, "CronJob");
    let spec = &cron["spec"];
    assert_eq!(spec["schedule"], "30 5 * * *");
    assert_eq!(spec["timeZone"], "Europe/Berlin");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert!(spec["successfulJobsHistoryLimit"].is_u64() && spec["failedJobsHistoryLimit"].is_u64());
    let job = &spec["jobTemplate"]["spec"];
    let backoff = job["backoffLimit"].as_u64().expect("backoffLimit");
    assert!((1..=6).contains(&backoff), "backoffLimit {backoff}");
    let pod = &job["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let rules = job["podFailurePolicy"]["rules"].as_array().unwrap();
    let fail = rules
        .iter()
        .find(|r| r["action"] == "FailJob")
        .expect("a FailJob rule");
    assert_eq!(fail["onExitCodes"]["operator"], "In");
    assert_eq!(fail["onExitCodes"]["containerName"], "vitals");
    let codes: Vec<u64> = fail["onExitCodes"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for result in [1, 2, 3] {
        assert!(
            codes.contains(&result),
            "exit {result} (a result) must not be retried: {codes:?}"
        );
    }
    assert!(
        !codes.contains(&69),
        "a failed push (69) is worth a retry: {codes:?}"
    );
    assert!(
        codes.windows(2).all(|w| w[0] < w[1]),
        "increasing, as the API requires: {codes:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r["action"] == "Ignore"
                && r["onPodConditions"][0]["type"] == "DisruptionTarget")
    );

    let c = vitals_container(pod);
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let report = "/var/lib/vitals/reports/vitals-junit.xml";
    assert_eq!(
        args,
        [
            "run",
            "--config",
            "/etc/vitals",
            "--format",
            "junit",
            "--fail-on",
            "critical",
            "--pushgateway",
            "http://prometheus-pushgateway.monitoring.svc:9091",
            "--instance",
            "prod-daily",
            "--output",
            report,
        ]
    );
    // The report's volume: the claim the chart makes.
    let claim = one(&objects, "PersistentVolumeClaim");
    let output = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "output")
        .unwrap();
    assert_eq!(
        output["persistentVolumeClaim"]["claimName"],
        claim["metadata"]["name"]
    );
    assert!(
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "output" && m["mountPath"] == "/var/lib/vitals/reports")
    );

    // Defaults of the mode: daily, human report on the log, and a Pushgateway
    // instance that stays the same from one day's pod to the next.
    let objects = render(&[
        "--set",
        "mode=cronjob",
        "--set",
        "cronjob.pushgateway.url=http://pgw:9091",
    ]);
    let cron = one(&objects, "CronJob");
    let schedule = cron["spec"]["schedule"].as_str().unwrap();
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    assert!(
        fields.len() == 5 && fields[2..] == ["*", "*", "*"],
        "daily: {schedule}"
    );
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let args = &vitals_container(pod)["args"];
    assert_eq!(
        args,
        &json!([
            "run",
            "--config",
            "/etc/vitals",
            "--format",
            "human",
            "--pushgateway",
            "http://pgw:9091",
            "--instance",
            "vitals"
        ])
    );
    // Output on a volume of the user's choice, here an emptyDir.
    let objects = render(&[
        "--set",
        "mode=cronjob",
        "--set",
        "cronjob.output.enabled=true",
        "--set",
        "cronjob.format=json",
        "--set",
        "cronjob.output.fileName=vitals.json",
    ]);
    assert!(find(&objects, "PersistentVolumeClaim").is_empty());
    let pod = &one(&objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let output = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "output")
        .unwrap();
    assert_eq!(output["emptyDir"], json!({}));
    assert!(
        vitals_container(pod)["args"]
            .as_array()
            .unwrap()
            .contains(&json!("/var/lib/vitals/reports/vitals.json"))
    );
}

#[test]
fn probe_scrape_timeouts_cover_the_checks_timeouts() {
    let objects = render(&["-f", &ci("with-operator"), "--api-versions", OPERATOR_API]);
    let sm = one(&objects, "ServiceMonitor");
    let endpoints = sm["spec"]["endpoints"].as_array().unwrap();
    let probe = |check: &str| {
        endpoints
            .iter()
            .find(|e| e["path"] == "/probe" && e["params"]["check"] == json!([check]))
            .unwrap_or_else(|| panic!("no /probe endpoint for {check}: {sm:#}"))
    };
    // node: timeout = "20s" in its TOML, so 20s + 5s by default.
    let node = probe("node");
    assert_eq!(node["params"]["cluster"], json!(["in-cluster"]));
    assert_eq!(node["scrapeTimeout"], "25s");
    assert_eq!(node["interval"], "5m");
    let relabel = node["relabelings"].as_array().unwrap();
    assert!(
        relabel
            .iter()
            .any(|r| r["targetLabel"] == "job" && r["replacement"] == "vitals-probe"),
        "{node:#}"
    );
    assert!(
        relabel
            .iter()
            .any(|r| r["targetLabel"] == "probe" && r["replacement"] == "node@in-cluster"),
        "{node:#}"
    );
    assert_eq!(probe("workloads")["scrapeTimeout"], "45s");

    let with = |extra: &[&str]| {
        let mut args = vec![
            "--api-versions",
            OPERATOR_API,
            "--set",
            "serviceMonitor.enabled=true",
        ];
        args.extend_from_slice(extra);
        try_template(&args)
    };
    // workloads: timeout = "30s"; a shorter scrape would cut every run.
    let e = with(&[
        "--set",
        "serviceMonitor.probes[0].check=workloads",
        "--set",
        "serviceMonitor.probes[0].scrapeTimeout=20s",
    ])
    .expect_err("scrapeTimeout below the check's timeout");
    assert!(e.contains("below the check's timeout"), "{e}");
    let e = with(&[
        "--set",
        "serviceMonitor.probes[0].check=workloads",
        "--set",
        "serviceMonitor.probes[0].interval=30s",
    ])
    .expect_err("interval below the default scrapeTimeout (35s)");
    assert!(e.contains("below its scrapeTimeout"), "{e}");
    let e = with(&["--set", "serviceMonitor.probes[0].check=nodes"]).expect_err("no such check");
    assert!(e.contains("no check named \"nodes\""), "{e}");
    // A check without a timeout of its own takes [defaults] timeout (30s).
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(
        dir.path(),
        "probe.yaml",
        "serviceMonitor:\n  enabled: true\n  probes: [{check: quick}]\nconfig:\n  checks:\n    quick.toml: |\n      \
         name = \"quick\"\n      plugin = \"node\"\n      [grants]\n      endpoints = [\"kubernetes\"]\n      kubernetes = [\"nodes\"]\n",
    );
    let objects = render(&["-f", &file, "--api-versions", OPERATOR_API]);
    let sm = one(&objects, "ServiceMonitor");
    assert_eq!(sm["spec"]["endpoints"][1]["scrapeTimeout"], "35s", "{sm:#}");
}

#[test]
fn rules_and_dashboard_files_are_valid() {
    let rules = format!("{CHART}/files/vitals.rules.yml");
    let out = run(
        Command::new("promtool").args(["check", "rules", &rules]),
        None,
    );
    assert!(
        out.status.success(),
        "promtool check rules {rules}:\n{}",
        text(&out)
    );
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{CHART}/files/vitals-dashboard.json")).unwrap(),
    )
    .expect("files/vitals-dashboard.json is JSON");
    assert!(dashboard["title"].is_string(), "{dashboard:#}");
    assert!(dashboard["panels"].is_array(), "{dashboard:#}");
    assert!(dashboard["schemaVersion"].is_u64(), "{dashboard:#}");
}

#[test]
fn chart_metadata() {
    let chart = parse(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap());
    let chart = &chart[0];
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["version"], "0.1.0");
    assert_eq!(chart["appVersion"], "0.1.0");
    assert_eq!(chart["kubeVersion"], ">=1.28.0-0");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{CHART}/values.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    // Every object of ours closed to unknown keys (free-form Kubernetes objects
    // and maps of labels are typed, not closed).
    fn closed(schema: &Value, path: &str, open: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            if schema["additionalProperties"] != false {
                open.push(path.to_string());
            }
            for (k, v) in props {
                closed(v, &format!("{path}.{k}"), open);
            }
        }
        if schema["items"].is_object() {
            closed(&schema["items"], &format!("{path}[]"), open);
        }
        if schema["additionalProperties"].is_object() {
            closed(&schema["additionalProperties"], &format!("{path}.*"), open);
        }
    }
    let mut open = Vec::new();
    closed(&schema, "", &mut open);
    assert!(
        open.is_empty(),
        "objects of the values schema that accept unknown keys: {open:?}"
    );
    // The images: the vitals image's tag defaults to the appVersion.
    let objects = render(&[]);
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(vitals_container(pod)["image"], "vitals:0.1.0");
    let labels = &one(&objects, "Deployment")["metadata"]["labels"];
    for key in [
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/managed-by",
        "helm.sh/chart",
    ] {
        assert!(labels[key].is_string(), "label {key}: {labels:#}");
    }
    // An optional PodDisruptionBudget, off by default.
    assert!(find(&objects, "PodDisruptionBudget").is_empty());
    let objects = render(&[
        "--set",
        "podDisruptionBudget.enabled=true",
        "--set",
        "podDisruptionBudget.minAvailable=1",
    ]);
    let pdb = one(&objects, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1, "{pdb:#}");
    assert!(pdb["spec"]["maxUnavailable"].is_null(), "{pdb:#}");
}
