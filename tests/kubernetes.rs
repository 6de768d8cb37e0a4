//! The node and cilium_l2 checks, and the host's kubernetes capability, against
//! the fixture API server serving recorded RKE2 + Cilium objects over HTTPS with
//! bearer-token auth (tests/support/kubernetes.rs; its shape is proven against
//! the real kubectl in tests/kubernetes_fixture.rs).

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago, ago_micro};
use support::netns::Lab;
use support::vitals::{ConfigDir, findings, summary};

const NODE_GRANTS: &str = r#"["nodes", "coordination.k8s.io/leases@kube-node-lease"]"#;
const CILIUM_GRANTS: &str = r#"["nodes", "services", "configmaps@kube-system", "coordination.k8s.io/leases@kube-system", "cilium.io/*"]"#;

/// The fixture cluster as `rke2` (endpoint `kubernetes` from `kubeconfig`) with a
/// check `name` of plugin `plugin`, granted `resources`, with `params`.
fn config(
    kubeconfig: &std::path::Path,
    name: &str,
    plugin: &str,
    resources: &str,
    params: &str,
) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.rke2.endpoints.kubernetes]\nkind = \"kubernetes\"\nkubeconfig = {:?}\nquery_timeout = \"5s\"\n",
        kubeconfig.display().to_string()
    ));
    if plugin != "chaos" {
        cfg.install_plugin(plugin, plugin);
    }
    cfg.check(
        name,
        &format!(
            "plugin = \"{plugin}\"\ntimeout = \"20s\"\n[grants]\nendpoints = [\"kubernetes\"]\nkubernetes = {resources}\n[params]\n{params}\n"
        ),
    );
    // Compile the plugin now, so that a run takes less time than a Lease lasts.
    let out = cfg.vitals(&["validate"]);
    assert!(matches!(out.code, 0 | 78), "{out:?}");
    cfg
}

/// Every Lease renewed a moment ago, as live kubelets and Cilium agents do; the
/// recorded times age while a test runs.
fn renew_leases(api: &ApiServer) {
    api.update(|o| {
        for lease in o.iter_mut().filter(|o| o["kind"] == "Lease") {
            lease["spec"]["renewTime"] = json!(ago_micro(1));
        }
    });
}

/// The object of `kind` named `name` among `objects`.
fn object<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the fixture"))
}

fn set_condition(node: &mut Value, kind: &str, status: &str, reason: &str, since: &str) {
    for c in node["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == kind {
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(format!("{reason} (set by the test)"));
            c["lastTransitionTime"] = json!(since);
        }
    }
}

#[test]
fn node_check_follows_the_cluster() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let cfg = config(
        &api.kubeconfig(),
        "nodes",
        "node",
        NODE_GRANTS,
        "min_ready = 4",
    );
    renew_leases(&api);
    let (out, r, cassette) = cfg.record_check("nodes", "node", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert_eq!(summary(&r), "5/5 nodes Ready", "{r}");
    assert!(
        !cassette.contains(api.token()),
        "the token reached the cassette"
    );
    assert!(
        !out.stdout.contains(api.token()),
        "the token reached the output"
    );
    let asked = api.requests();
    assert!(
        asked.iter().any(|p| p.starts_with("/api/v1/nodes?")),
        "{asked:?}"
    );
    assert!(
        asked
            .iter()
            .any(|p| p
                .starts_with("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?")),
        "{asked:?}"
    );

    // A node whose kubelet stopped: Ready Unknown and its Lease not renewed.
    api.update(|o| {
        set_condition(
            object(o, "Node", "rke2-agent-1"),
            "Ready",
            "Unknown",
            "NodeStatusUnknown",
            &ago(120),
        );
        object(o, "Lease", "rke2-agent-1")["spec"]["renewTime"] = json!(ago_micro(180));
    });
    let (_, r, _) = cfg.record_check("nodes", "node", "kubelet-stopped", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(text.contains("node rke2-agent-1"), "{text}");
    assert!(
        text.contains("Ready Unknown (the kubelet stopped posting node status) for 2m"),
        "{text}"
    );
    assert!(
        text.contains("kubelet heartbeat stale: its Lease was last renewed 3m"),
        "{text}"
    );
    assert!(
        summary(&r).contains("4/5 nodes Ready (not Ready: rke2-agent-1)"),
        "{r}"
    );

    // Cordoned for maintenance: reported, a warning, never critical.
    api.update(|o| {
        object(o, "Node", "rke2-agent-1")["spec"]["unschedulable"] = json!(true);
    });
    let (_, r, _) = cfg.record_check("nodes", "node", "cordoned", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(findings(&r).contains("cordoned"), "{}", findings(&r));

    // Back, but under disk pressure.
    renew_leases(&api);
    api.update(|o| {
        let n = object(o, "Node", "rke2-agent-1");
        n["spec"]["unschedulable"] = json!(false);
        set_condition(n, "Ready", "True", "KubeletReady", &ago(10));
        set_condition(
            n,
            "DiskPressure",
            "True",
            "KubeletHasDiskPressure",
            &ago(10),
        );
    });
    let (_, r) = cfg.run_check("nodes", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("DiskPressure: KubeletHasDiskPressure"),
        "{}",
        findings(&r)
    );
}

#[test]
fn api_errors_are_findings_not_crashes() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let cfg = config(&api.kubeconfig(), "nodes", "node", NODE_GRANTS, "");
    renew_leases(&api);

    // Leases forbidden by RBAC: the heartbeat is not judged, the rest is.
    api.fail("/apis/coordination.k8s.io", Some(403));
    let (_, r) = cfg.run_check("nodes", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(
        findings(&r).contains("HTTP 403 Forbidden"),
        "{}",
        findings(&r)
    );

    // Nodes failing: nothing to judge, unknown.
    api.fail("/api/v1/nodes", Some(500));
    let (out, r) = cfg.run_check("nodes", &[]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(summary(&r).contains("HTTP 500"), "{r}");

    // A wrong token: 401 Unauthorized, unknown.
    let wrong = config(
        &api.kubeconfig_with_token("not-the-token"),
        "nodes",
        "node",
        NODE_GRANTS,
        "",
    );
    let (_, r) = wrong.run_check("nodes", &[]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(summary(&r).contains("401"), "{r}");

    // A hung API server (30 s): the endpoint's query timeout (5 s here) ends the
    // wait, so the check reports a timeout instead of the answer.
    api.fail("/api/v1/nodes", None);
    api.stall("/api/v1/nodes", Some(std::time::Duration::from_secs(30)));
    let (_, r) = cfg.run_check("nodes", &[]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(summary(&r).contains("timeout:"), "{r}");
    api.stall("/api/v1/nodes", None);

    // The API server gone: unknown, with the reason.
    let kubeconfig = wrong.path().join("kubeconfig");
    std::fs::copy(api.kubeconfig(), &kubeconfig).unwrap();
    let gone = config(&kubeconfig, "nodes", "node", NODE_GRANTS, "");
    drop(api);
    let (_, r) = gone.run_check("nodes", &[]);
    assert_eq!(r["status"], "unknown", "{}", findings(&r));
    assert!(summary(&r).contains("listing nodes"), "{r}");
}

/// The recorded RKE2 + Cilium objects and a Secret `kube-system/db-password`,
/// which no plugin may read.
fn with_a_secret() -> Vec<Value> {
    let mut objects = ApiServer::rke2_cilium();
    objects.push(json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db-password", "namespace": "kube-system", "resourceVersion": "1"},
        "data": {"password": "aHVudGVyMg=="}
    }));
    objects
}

#[test]
fn only_granted_resources_are_read_and_never_secrets() {
    let api = ApiServer::start(with_a_secret());
    let run = |command: &str| {
        let cfg = config(
            &api.kubeconfig(),
            "probe",
            "chaos",
            r#"["nodes", "configmaps@kube-system"]"#,
            &format!("mode = \"kube\"\ncommand = {command:?}"),
        );
        cfg.run_check("probe", &[]).1
    };
    let r = run("list /api/v1/nodes");
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(findings(&r).contains("answer 5"), "{}", findings(&r));
    let r = run("get /api/v1/namespaces/kube-system/configmaps/cilium-config");
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let r = run("get /apis/cilium.io/v2alpha1");
    assert_eq!(
        r["status"],
        "ok",
        "discovery is always readable: {}",
        findings(&r)
    );

    for (command, why) in [
        (
            "get /api/v1/namespaces/kube-system/secrets/db-password",
            "Secrets are never readable",
        ),
        ("list /api/v1/secrets", "Secrets are never readable"),
        ("list /api/v1/configmaps", "configmaps is not granted"),
        (
            "list /api/v1/namespaces/default/configmaps",
            "configmaps@default is not granted",
        ),
        ("list /api/v1/pods", "pods is not granted"),
        (
            "get /api/v1/nodes/rke2-agent-1/proxy",
            "subresource \"proxy\"",
        ),
        ("list /api/v1/nodes?labelSelector=a", "without a query"),
    ] {
        let r = run(command);
        assert_eq!(r["status"], "unknown", "{command}: {}", findings(&r));
        assert!(summary(&r).contains("denied:"), "{command}: {r}");
        assert!(summary(&r).contains(why), "{command}: {r}");
    }
    let asked = api.requests();
    assert!(
        !asked
            .iter()
            .any(|p| p.contains("secrets") || p.contains("pods") || p.contains("proxy")),
        "a denied request reached the API server: {asked:?}"
    );

    // Granting Secrets is refused when the configuration loads.
    let cfg = config(
        &api.kubeconfig(),
        "probe",
        "chaos",
        r#"["nodes", "secrets"]"#,
        "mode = \"ok\"",
    );
    let out = cfg.vitals(&["validate"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("probe.toml:5"), "{}", out.stderr);
    assert!(
        out.stderr.contains("plugins never read Secrets"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_batch_reads_each_as_get_or_list_would_in_order() {
    let api = ApiServer::start(with_a_secret());
    batch_reads_in_order(&api);
    // The API server offers HTTP/2: every read of the run over one connection (a
    // second at most, as hyper-util's pool may open while the first goes into it).
    let connections = api.connections();
    assert!(
        (1..=2).contains(&connections.len()) && connections.iter().all(|c| c == "h2"),
        "{connections:?}"
    );
}

#[test]
fn a_batch_reads_over_http1_where_the_server_offers_nothing_else() {
    let api = ApiServer::start_http1_only(with_a_secret());
    batch_reads_in_order(&api);
    let connections = api.connections();
    assert!(
        !connections.is_empty() && connections.iter().all(|c| c == "http/1.1"),
        "{connections:?}"
    );
}

/// A batch of reads through the chaos plugin against `api`: granted ones
/// answered, denied ones never sent, each answer in the order asked.
fn batch_reads_in_order(api: &ApiServer) {
    let reads = [
        "list /api/v1/nodes",
        "get /api/v1/namespaces/kube-system/secrets/db-password",
        "get /api/v1/namespaces/kube-system/configmaps/cilium-config",
        "list /api/v1/pods",
        "get /api/v1/namespaces/kube-system/configmaps/no-such-map",
    ];
    let cfg = config(
        &api.kubeconfig(),
        "batch",
        "chaos",
        r#"["nodes", "configmaps@kube-system"]"#,
        &format!("mode = \"kube-batch\"\ncommand = {:?}", reads.join("; ")),
    );
    let (_, r) = cfg.run_check("batch", &[]);
    let got: Vec<(&str, &str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), reads.len(), "{}", findings(&r));
    for ((subject, status, message), read) in got.iter().zip(reads) {
        assert_eq!(
            *subject,
            read,
            "answers in the order asked: {}",
            findings(&r)
        );
        let expected = if read.contains("secrets") {
            ("critical", "Secrets are never readable")
        } else if read.contains("pods") {
            ("critical", "pods is not granted")
        } else if read.contains("no-such-map") {
            ("critical", "api: HTTP 404")
        } else {
            ("ok", "bytes")
        };
        assert_eq!(*status, expected.0, "{read}: {message}");
        assert!(message.contains(expected.1), "{read}: {message}");
        if expected.0 == "critical" && !read.contains("no-such-map") {
            assert!(message.starts_with("denied: "), "{read}: {message}");
        }
    }
    let asked = api.requests();
    assert!(
        !asked
            .iter()
            .any(|p| p.contains("secrets") || p.contains("pods")),
        "a denied read reached the API server: {asked:?}"
    );
    assert!(
        asked.iter().any(|p| p.starts_with("/api/v1/nodes"))
            && asked.iter().any(|p| p.contains("configmaps/cilium-config")),
        "{asked:?}"
    );
}

#[test]
fn kubeconfig_problems_name_the_file_and_the_context() {
    let api = ApiServer::start(vec![]);
    let cfg = ConfigDir::new(&format!(
        "[clusters.rke2.endpoints.kubernetes]\nkind = \"kubernetes\"\nkubeconfig = {:?}\ncontext = \"prod\"\n",
        api.kubeconfig().display().to_string()
    ));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("vitals.toml:4"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("no context \"prod\" (contexts: rke2-fixture)"),
        "{}",
        out.stderr
    );

    let cfg = ConfigDir::new(
        "[clusters.rke2.endpoints.kubernetes]\nkind = \"kubernetes\"\nkubeconfig = \"/nonexistent/kubeconfig\"\n",
    );
    let out = cfg.vitals(&["validate"]);
    assert!(out.stderr.contains("vitals.toml:4"), "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/kubeconfig"),
        "{}",
        out.stderr
    );
}

#[test]
fn cilium_l2_follows_ips_to_the_announcing_node() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let cfg = config(&api.kubeconfig(), "l2", "cilium_l2", CILIUM_GRANTS, "");
    renew_leases(&api);
    let (out, r, _) = cfg.record_check("l2", "cilium_l2", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert!(
        summary(&r).starts_with("2/2 LoadBalancer Services announced"),
        "{r}"
    );
    assert!(
        findings(&r).contains("10.20.0.201 announced by rke2-agent-2"),
        "{}",
        findings(&r)
    );

    // A cluster serving the pools only as v2alpha1 (Cilium before 1.18... or a
    // CRD without v2): the plugin falls back.
    api.fail("/apis/cilium.io/v2/ciliumloadbalancerippools", Some(404));
    renew_leases(&api);
    let (_, r) = cfg.run_check("l2", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(
        api.requests()
            .iter()
            .any(|p| p.starts_with("/apis/cilium.io/v2alpha1/ciliumloadbalancerippools"))
    );
    api.fail("/apis/cilium.io/v2/ciliumloadbalancerippools", None);

    // The announcing agent stopped renewing: the Lease expires, critical.
    renew_leases(&api);
    api.update(|o| {
        object(o, "Lease", "cilium-l2announce-monitoring-grafana")["spec"]["renewTime"] =
            json!(ago_micro(60));
    });
    let (_, r, _) = cfg.record_check("l2", "cilium_l2", "lease-expired", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"service monitoring/grafana\": \"its Lease expired: rke2-agent-2"),
        "{}",
        findings(&r)
    );
    assert!(summary(&r).contains("(not: monitoring/grafana)"), "{r}");

    // A new Service with the pool exhausted: pending, critical.
    renew_leases(&api);
    api.update(|o| {
        let pool = object(o, "CiliumLoadBalancerIPPool", "lb-pool");
        for c in pool["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "cilium.io/IPsAvailable" {
                c["message"] = json!("0");
            }
        }
        let mut svc = object(o, "Service", "grafana").clone();
        svc["metadata"]["name"] = json!("loki");
        svc["metadata"]["uid"] = json!("5b0d3b8e-0c1e-4c55-9a0e-3f1a2b7c9d10");
        svc["status"] = json!({"loadBalancer": {}});
        o.push(svc);
    });
    let (_, r, _) = cfg.record_check("l2", "cilium_l2", "pool-exhausted", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains(
            "\"service monitoring/loki\": \"pending: no LoadBalancer ingress IP (pool lb-pool exhausted)"
        ),
        "{}",
        findings(&r)
    );

    // L2 announcements switched off in cilium-config.
    renew_leases(&api);
    api.update(|o| {
        object(o, "ConfigMap", "cilium-config")["data"]["enable-l2-announcements"] = json!("false");
    });
    let (_, r) = cfg.run_check("l2", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("enable-l2-announcements is \\\"false\\\""),
        "{}",
        findings(&r)
    );
}

/// Point the fixture's two LoadBalancer Services at `nginx` and `grafana`.
fn set_ingress_ips(api: &ApiServer, nginx: &str, grafana: &str) {
    renew_leases(api);
    api.update(|o| {
        for (name, ip) in [("ingress-nginx-controller", nginx), ("grafana", grafana)] {
            object(o, "Service", name)["status"]["loadBalancer"]["ingress"][0]["ip"] = json!(ip);
        }
    });
}

#[test]
fn cilium_l2_arp_probes_find_missing_and_conflicting_announcers() {
    // Two hosts on a bridge of the test's own: .10 on the first, .20 on the second,
    // and .30 on both (a conflict); nobody has .40.
    let lab = Lab::start(&[&[10, 30], &[20, 30]]);
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let params = format!(
        "arp_probe = true\n[grants.net]\narp = [\"{}.0/24\"]\ntimeout = \"500ms\"",
        lab.prefix
    );
    let cfg = config(&api.kubeconfig(), "l2", "cilium_l2", CILIUM_GRANTS, &params);

    set_ingress_ips(&api, &lab.addr(10), &lab.addr(20));
    let (out, r) = cfg.run_check("l2", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert!(
        findings(&r).contains(&format!("ARP: {} answered by", lab.addr(10))),
        "{}",
        findings(&r)
    );

    set_ingress_ips(&api, &lab.addr(10), &lab.addr(40));
    let (_, r) = cfg.run_check("l2", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains(&format!(
            "no ARP answer for {}: nobody announces it",
            lab.addr(40)
        )),
        "{}",
        findings(&r)
    );

    set_ingress_ips(&api, &lab.addr(10), &lab.addr(30));
    let (_, r, _) = cfg.record_check("l2", "cilium_l2", "arp-conflict", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains(&format!(
            "ARP conflict: {} answered by 2 hosts",
            lab.addr(30)
        )),
        "{}",
        findings(&r)
    );

    // An address outside the granted network is never probed.
    set_ingress_ips(&api, &lab.addr(10), "10.214.0.9");
    let (_, r) = cfg.run_check("l2", &[]);
    assert!(
        findings(&r).contains("ARP probe of 10.214.0.9 failed: denied"),
        "{}",
        findings(&r)
    );
}

#[test]
fn tcp_probes_through_the_net_capability() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let run = |command: &str| {
        let cfg = ConfigDir::new("[clusters.local]\n");
        cfg.check(
            "probe",
            &format!(
                "plugin = \"chaos\"\n[grants.net]\ntcp = [\"127.0.0.1/32\"]\n[params]\nmode = \"net\"\ncommand = {command:?}\n"
            ),
        );
        cfg.run_check("probe", &[]).1
    };
    let r = run(&format!("tcp {open}"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert!(findings(&r).contains("connected in"), "{}", findings(&r));
    let r = run(&format!("tcp {closed}"));
    assert_eq!(summary(&r).split(':').next(), Some("refused"), "{r}");
    let r = run("tcp 127.0.0.2:22");
    assert!(
        summary(&r).starts_with("denied: TCP to 127.0.0.2 is not granted"),
        "{r}"
    );
    let r = run("tcp localhost:22");
    assert!(summary(&r).contains("no host names"), "{r}");
    drop(listener);
}
