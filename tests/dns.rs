//! The dns check with the shipped `checks.d/dns.toml` against real resolvers:
//! dnsmasq on loopback answering for `cluster.local` as CoreDNS would, one that
//! answers wrongly or not at all, and a resolver that never answers.

mod support;

use support::dns::{Dnsmasq, Silent};
use support::vitals::{
    ConfigDir, assert_summary_names_the_worst_finding, findings, summary, toml_list,
};

/// What CoreDNS answers in an RKE2 cluster for the shipped example's names.
const CLUSTER: &[&str] = &[
    "--host-record=kubernetes.default.svc.cluster.local,10.43.0.1",
    "--srv-host=_https._tcp.kubernetes.default.svc.cluster.local,kubernetes.default.svc.cluster.local,443,0,100",
    "--host-record=rke2-coredns-rke2-coredns.kube-system.svc.cluster.local,10.43.0.10",
];

/// The shipped check (or its plugin with `params`) granted a `dns` endpoint
/// with these resolvers.
fn config(urls: &[String], params: Option<&str>) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.rke2.endpoints.dns]\nkind = \"dns\"\nurls = {}\nquery_timeout = \"2s\"\n",
        toml_list(urls)
    ));
    cfg.install_built("dns");
    let shipped =
        std::fs::read_to_string(support::vitals::root().join("checks.d/dns.toml")).unwrap();
    // A loaded machine may take more than the shipped half second to answer:
    // slowness is unit-tested.
    let check = match params {
        None => format!("{shipped}slow_seconds = 5\n"),
        Some(p) => format!(
            "plugin = \"dns\"\ntimeout = \"15s\"\n[grants]\nendpoints = [\"dns\"]\n[params]\nslow_seconds = 5\n{p}"
        ),
    };
    cfg.check("dns", &check);
    cfg
}

#[test]
fn the_shipped_names_resolve_through_a_healthy_resolver() {
    let dns = Dnsmasq::start(CLUSTER);
    let cfg = config(std::slice::from_ref(&dns.url), None);
    let (out, r, _) = cfg.record_check("dns", "dns", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    let resolver = dns.url.trim_start_matches("dns://");
    assert!(
        summary(&r).starts_with("3/3 lookups ok through 1 resolver"),
        "{r:#}"
    );
    let text = findings(&r);
    assert!(
        text.contains(&format!(
            "\"ok\" \"kubernetes.default.svc.cluster.local A @{resolver}\": \"10.43.0.1 ("
        )),
        "{text}"
    );
    assert!(
        text.contains("\"0 100 443 kubernetes.default.svc.cluster.local. ("),
        "{text}"
    );
    // The answer times and results as metrics.
    let prom = cfg.vitals(&["run", "--check", "dns", "--format", "prometheus"]);
    assert!(
        prom.stdout.contains(&format!(
            "vitals_dns_resolved{{check=\"dns\",cluster=\"rke2\",name=\"kubernetes.default.svc.cluster.local\",resolver=\"{resolver}\",type=\"A\"}} 1"
        )),
        "{}",
        prom.stdout
    );
    assert!(
        prom.stdout.contains("vitals_dns_answer_seconds{"),
        "{}",
        prom.stdout
    );
}

#[test]
fn a_missing_name_and_a_wrong_address_are_critical() {
    // The cluster DNS service's record is gone, and the API service moved.
    let dns = Dnsmasq::start(&[
        "--host-record=kubernetes.default.svc.cluster.local,10.43.0.2",
        CLUSTER[1],
    ]);
    let cfg = config(std::slice::from_ref(&dns.url), None);
    let (_, r, _) = cfg.record_check("dns", "dns", "nxdomain", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains(
            "\"critical\" \"rke2-coredns-rke2-coredns.kube-system.svc.cluster.local A @127.0.0.1:"
        ) && text.contains("\": \"NXDOMAIN: the name does not exist\""),
        "{text}"
    );
    assert!(
        text.contains("\"resolves to 10.43.0.2, expected 10.43.0.1\""),
        "{text}"
    );
    assert!(summary(&r).starts_with("1/3 lookups ok"), "{r:#}");
    assert_summary_names_the_worst_finding(&r);
}

#[test]
fn a_silent_resolver_warns_while_another_answers_and_is_critical_alone() {
    let dns = Dnsmasq::start(CLUSTER);
    let silent = Silent::bind();
    let cfg = config(&[dns.url.clone(), silent.url.clone()], None);
    let (_, r, _) = cfg.record_check("dns", "dns", "one-silent", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    let quiet = silent.url.trim_start_matches("dns://");
    assert!(
        summary(&r).starts_with(&format!(
            "3/6 lookups ok through 2 resolvers; not answering: {quiet}"
        )),
        "{r:#}"
    );
    assert!(
        findings(&r).contains("\"timeout: 127.0.0.1:"),
        "{}",
        findings(&r)
    );
    let cfg = config(std::slice::from_ref(&silent.url), None);
    let (_, r) = cfg.run_check("dns", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
}

#[test]
fn an_answer_too_large_for_udp_comes_over_tcp_and_absent_names_pass() {
    // 2 KB of TXT data over UDP limited to 512 bytes: the answer is truncated.
    let chunk = "x".repeat(200);
    let big = format!(
        "--txt-record=big.cluster.local,{}",
        [chunk.as_str(); 10].join(",")
    );
    let dns = Dnsmasq::start(&[&big, "--edns-packet-max=512"]);
    let cfg = config(
        std::slice::from_ref(&dns.url),
        Some(
            "names = [{ name = \"big.cluster.local\", type = \"TXT\" }, { name = \"old-api.apps.svc.cluster.local\", absent = true }]\n",
        ),
    );
    let (_, r) = cfg.run_check("dns", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let text = findings(&r);
    assert_eq!(text.matches(&chunk).count(), 10, "{text}");
    assert!(text.contains("does not exist, as expected"), "{text}");
}

#[test]
fn bad_parameters_and_a_missing_endpoint_are_unknown_with_the_reason() {
    let dns = Dnsmasq::start(CLUSTER);
    let cfg = config(
        std::slice::from_ref(&dns.url),
        Some("names = [{ name = \"a.cluster.local\", type = \"AXFR\" }]\n"),
    );
    let (_, r) = cfg.run_check("dns", &[]);
    assert_eq!(r["status"], "unknown");
    assert!(summary(&r).contains("type \"AXFR\""), "{r:#}");
    let cfg = config(
        std::slice::from_ref(&dns.url),
        Some("endpoint = \"coredns\"\nnames = [{ name = \"a.cluster.local\" }]\n"),
    );
    let (_, r) = cfg.run_check("dns", &[]);
    assert_eq!(r["status"], "unknown");
    assert!(
        summary(&r).contains("no granted dns endpoint \"coredns\""),
        "{r:#}"
    );
}
