//! The loadbalancers check (a plugin written in JavaScript) with the shipped
//! `checks.d/loadbalancers.toml` against the fixture API server serving the
//! recorded RKE2 + Cilium LoadBalancer Services (ingress-nginx 10.20.0.200,
//! grafana 10.20.0.201).

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago};
use support::vitals::{ConfigDir, assert_summary_names_the_worst_finding, findings, summary};

fn config(api: &ApiServer, params: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_built("loadbalancers");
    let shipped =
        std::fs::read_to_string(support::vitals::root().join("checks.d/loadbalancers.toml"))
            .unwrap();
    cfg.check("lb", &format!("{shipped}{params}"));
    cfg
}

fn service<'a>(objects: &'a mut [Value], name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Service {name}"))
}

fn run(cfg: &ConfigDir, scenario: Option<&str>) -> Value {
    let r = match scenario {
        Some(s) => cfg.record_check("lb", "loadbalancers", s, &[]).1,
        None => cfg.run_check("lb", &[]).1,
    };
    assert!(r.get("failure").is_none(), "{r:#}");
    assert_summary_names_the_worst_finding(&r);
    r
}

#[test]
fn the_shipped_example_finds_the_ingress_address() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let r = run(&config(&api, ""), Some("healthy"));
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "2/2 LoadBalancer Services with an address");
    assert!(
        findings(&r).contains("\"service ingress/ingress-nginx-controller\": \"10.20.0.200\""),
        "{}",
        findings(&r)
    );
}

#[test]
fn a_wrong_or_missing_address_is_critical_an_unrequired_one_warns() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let expect = |ip: &str| {
        format!(
            "[params.required]\n\"ingress/ingress-nginx-controller\" = {ip:?}\n\"ingress/missing\" = \"\"\n"
        )
    };
    // The shipped file's `required` is an inline table: replace it.
    let cfg = config(&api, "");
    let shipped = std::fs::read_to_string(cfg.path().join("checks.d/lb.toml")).unwrap();
    let without = shipped.replace(
        "required = { \"ingress/ingress-nginx-controller\" = \"\" }\n",
        "",
    );
    cfg.check("lb", &format!("{without}{}", expect("10.20.0.250")));
    let r = run(&cfg, Some("wrong-address"));
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("has 10.20.0.200, expected 10.20.0.250"),
        "{text}"
    );
    assert!(
        text.contains("\"service ingress/missing\": \"not found"),
        "{text}"
    );

    // grafana (not required) loses its address: a warning; the ingress one too,
    // created long ago: critical; created a minute ago: still being assigned.
    cfg.check(
        "lb",
        &format!(
            "{without}{}",
            expect("10.20.0.200").replace("\"ingress/missing\" = \"\"\n", "")
        ),
    );
    api.update(|o| {
        service(o, "grafana")["status"]["loadBalancer"] = json!({});
    });
    let r = run(&cfg, Some("unassigned"));
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"service monitoring/grafana\": \"no external address"),
        "{}",
        findings(&r)
    );
    api.update(|o| {
        let s = service(o, "ingress-nginx-controller");
        s["status"]["loadBalancer"] = json!({});
        s["metadata"]["creationTimestamp"] = json!(ago(60));
    });
    let r = run(&cfg, None);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("no external address yet (created 6"),
        "{}",
        findings(&r)
    );
    api.update(|o| {
        service(o, "ingress-nginx-controller")["metadata"]["creationTimestamp"] = json!(ago(3600));
    });
    let r = run(&cfg, None);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert_eq!(
        summary(&r),
        "0/2 LoadBalancer Services with an address; service ingress/ingress-nginx-controller: no external address: the load balancer has not assigned one"
    );
}
