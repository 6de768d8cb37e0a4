//! The SDKs of every language take the same steps with the same results: one
//! test plugin per language (`plugins/testing/{rust,py,js,c}-sdk`) exercises the
//! report verbs, `granted_endpoint`, the Redis, SQL, net, DNS and Kubernetes
//! helpers and `log`, through the real `vitals` binary, against a real Redis, a
//! real MariaDB, TCP ports on loopback, a network of the test's own for ARP,
//! dnsmasq and the fixture Kubernetes API. The Rust plugin is the reference: its findings are
//! checked here, and every other language must report exactly the same ones.

mod support;

use std::net::TcpListener;

use serde_json::Value;
use support::dns::{Dnsmasq, Silent};
use support::galera::{Galera, PASSWORD, USER};
use support::kubernetes::ApiServer;
use support::netns::Lab;
use support::redis::Server;
use support::vitals::{ConfigDir, findings, summary, toml_list};

/// `(subject, status, message)` of every finding, in order.
fn steps(result: &Value) -> Vec<(String, String, String)> {
    result["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("subject"), s("status"), s("message"))
        })
        .collect()
}

/// The message of the step `subject`.
fn message<'a>(steps: &'a [(String, String, String)], subject: &str) -> &'a str {
    steps
        .iter()
        .find(|(s, ..)| s == subject)
        .map(|(_, _, m)| m.as_str())
        .unwrap_or_else(|| panic!("no step {subject:?} in {steps:#?}"))
}

/// `(name, labels)` of every sample.
fn samples(result: &Value) -> Vec<String> {
    result["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{} {}", s["name"], s["labels"]))
        .collect()
}

/// A loopback port nothing listens on (any more).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn every_sdk_takes_the_same_steps_with_the_same_findings() {
    let redis = Server::start();
    let db = Galera::start(1);
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let resolver = Dnsmasq::start(&[
        "--host-record=kubernetes.default.svc.cluster.local,10.43.0.1",
        "--srv-host=_https._tcp.kubernetes.default.svc.cluster.local,kubernetes.default.svc.cluster.local,443,0,100",
    ]);
    let silent = Silent::bind();
    // One host on a bridge of the test's own, holding .10; nobody holds .40.
    let lab = Lab::start(&[&[10]]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed_tcp = format!("127.0.0.1:{}", closed_port());
    let closed_redis = format!("redis://127.0.0.1:{}", closed_port());

    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.redis]\nkind = \"redis\"\nurls = {}\n\
         [clusters.local.endpoints.db]\nkind = \"mysql\"\nurls = {}\n\
         username = \"{USER}\"\npassword_env = \"DB_PASSWORD\"\n\
         [clusters.local.endpoints.dns]\nkind = \"dns\"\nurls = {}\nquery_timeout = \"1s\"\n{}",
        toml_list(&[redis.url(), closed_redis.clone()]),
        toml_list(&db.urls()),
        toml_list(&[resolver.url.clone(), silent.url.clone()]),
        api.endpoint_toml("local"),
    ));
    let arp = [lab.addr(10), lab.addr(40), "10.99.0.1".to_string()];
    let check = |plugin: &str, extra: &str| {
        format!(
            "plugin = \"{plugin}\"\ntimeout = \"60s\"\n\
             [grants]\nendpoints = [\"redis\", \"db\", \"kubernetes\", \"dns\"]\n\
             kubernetes = [\"nodes\", \"configmaps@kube-system\"]\n\
             [grants.net]\ntcp = [\"127.0.0.1/32\"]\narp = [\"{}.0/24\"]\ntimeout = \"300ms\"\n\
             [params]\ntcp_open = \"{open}\"\ntcp_closed = \"{closed_tcp}\"\n\
             tcp_denied = \"127.0.0.2:22\"\narp = {}\n{extra}",
            lab.prefix,
            toml_list(&arp),
        )
    };
    let run = |plugin: &str| -> Value {
        let out = cfg.vitals_with_env(
            &[
                "run",
                "--check",
                plugin,
                "--format",
                "json",
                "--log-level",
                "info",
            ],
            &[("DB_PASSWORD", PASSWORD)],
        );
        let r = out.result(plugin);
        assert_eq!(
            r["status"],
            "ok",
            "{plugin}:\n{}\n{}",
            findings(&r),
            out.stderr
        );
        // log(level, message) reaches the host's log.
        assert!(
            out.stderr.contains("sdk test: done"),
            "{plugin}: no log line:\n{}",
            out.stderr
        );
        r
    };

    // The reference.
    cfg.install_plugin("test_rust_sdk", "test_rust_sdk");
    cfg.check("test_rust_sdk", &check("test_rust_sdk", ""));
    let reference = run("test_rust_sdk");
    let want = steps(&reference);
    let text = findings(&reference);
    assert_eq!(
        summary(&reference),
        format!("{} steps", want.len()),
        "{text}"
    );
    let ok = |subject: &str, expected: &str| {
        assert_eq!(message(&want, subject), expected, "{subject}:\n{text}");
    };
    let starts = |subject: &str, prefix: &str| {
        let m = message(&want, subject);
        assert!(
            m.starts_with(prefix),
            "{subject}: {m:?} is not {prefix:?}...\n{text}"
        );
    };
    // The report verbs and granted_endpoint.
    ok(
        "endpoint redis",
        &format!("redis redis {} {closed_redis}", redis.url()),
    );
    ok(
        "endpoint nope",
        "denied: no granted redis endpoint \"nope\" in cluster local; grant it in `grants.endpoints`",
    );
    // Redis: replies parsed from JSON, INFO parsed, errors by kind.
    ok("redis PING", "\"PONG\"");
    ok("redis ECHO", "\"vitals sdk\"");
    ok("redis DBSIZE", "0");
    starts("redis ROLE", "[\"master\",");
    ok("redis INFO", "redis_mode=standalone");
    ok("redis fields", "a=1 b=2");
    starts("redis SET", "denied: ");
    starts("redis SENTINEL", "server: ");
    starts("redis down", "unreachable: ");
    ok("redis all", "\"PONG\" \"together\" unreachable denied");
    // SQL: columns and rows (NULL), records, name_values, errors by kind.
    ok("sql SELECT", "columns one,nothing,letter; rows 1|NULL|x");
    ok("sql records", "one=1 nothing=NULL letter=x");
    ok(
        "sql SHOW",
        &format!("port={}", db.urls()[0].rsplit(':').next().unwrap()),
    );
    starts("sql DELETE", "denied: ");
    starts("sql missing", "server: ");
    ok("sql all", "1 x denied");
    // Net: seconds, refused, denied; ARP replies, none, denied.
    ok("tcp open", "connected");
    starts("tcp closed", "refused: ");
    starts("tcp denied", "denied: ");
    starts(&format!("arp {}", lab.addr(10)), "1 replies: ");
    ok(&format!("arp {}", lab.addr(40)), "0 replies: ");
    starts("arp 10.99.0.1", "denied: ");
    // All at once (contract 0.4.4): in order, each as alone.
    ok("tcp all", "connected refused denied");
    ok("arp all", "1 0 denied");
    // DNS: an address, an SRV record, NXDOMAIN as an answer, a resolver not granted.
    ok("dns A", "NOERROR A 10.43.0.1");
    ok(
        "dns SRV",
        "NOERROR SRV 0 100 443 kubernetes.default.svc.cluster.local.",
    );
    ok("dns NXDOMAIN", "NXDOMAIN");
    starts(
        "dns denied",
        "denied: \"dns://10.9.9.9\" is not a URL of endpoint \"dns\"",
    );
    starts("dns silent", "timeout: ");
    ok("dns all", "NOERROR A 10.43.0.1; NXDOMAIN; denied; timeout");
    // Kubernetes: GET, LIST, denied, api 404.
    ok("k8s get", "enable-l2-announcements=true");
    ok(
        "k8s list",
        "rke2-agent-1 rke2-agent-2 rke2-server-1 rke2-server-2 rke2-server-3",
    );
    starts("k8s secret", "denied: ");
    starts("k8s missing", "api 404: HTTP 404 NotFound");
    // The same reads at once: answers in order, the lists two items a page (five
    // nodes: two more rounds for the nodes' later pages).
    ok(
        "k8s batch",
        "get: cilium-config, denied, api 404; list: rke2-agent-1 rke2-agent-2 rke2-server-1 rke2-server-2 rke2-server-3, denied",
    );
    let later_pages = || {
        api.requests()
            .iter()
            .filter(|p| {
                p.starts_with("/api/v1/nodes?") && p.contains("limit=2") && p.contains("continue=")
            })
            .count()
    };
    assert_eq!(later_pages(), 2, "{:?}", api.requests());
    // Successes are findings, errors notes: the status stays ok.
    for (subject, status, _) in &want {
        let error = message(&want, subject).split(':').next().is_some_and(|k| {
            [
                "denied",
                "server",
                "unreachable",
                "refused",
                "timeout",
                "api 404",
            ]
            .contains(&k)
        });
        let expected = if error { "unknown" } else { "ok" };
        assert_eq!(status, expected, "{subject}:\n{text}");
    }
    let want_samples = samples(&reference);
    assert_eq!(want_samples.len(), 1, "{want_samples:?}");

    // Every other language: the same steps, statuses and messages.
    for (plugin, extra) in [
        ("test_py_sdk", "mode = \"helpers\"\n"),
        ("test_js_sdk", ""),
        ("test_c_sdk", ""),
    ] {
        cfg.install_built(plugin);
        cfg.check(plugin, &check(plugin, extra));
        let r = run(plugin);
        let got = steps(&r);
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(g, w, "{plugin}, step {i}:\n{}", findings(&r));
        }
        assert_eq!(got.len(), want.len(), "{plugin}:\n{}", findings(&r));
        assert_eq!(summary(&r), summary(&reference), "{plugin}");
        assert_eq!(samples(&r), want_samples, "{plugin}");
    }
    // Python and JavaScript page their batch too (C reads 500 a page).
    assert_eq!(later_pages(), 6, "{:?}", api.requests());
    drop(listener);
}
