//! vitals check `cilium_l2`: whether Cilium's L2 announcements make the
//! LoadBalancer IPs of Services reachable.
//!
//! It reads `cilium-config`, the `CiliumL2AnnouncementPolicy` and
//! `CiliumLoadBalancerIPPool` objects, the Services, the Nodes and the
//! `cilium-l2announce-*` Leases of the granted kubernetes endpoint; then
//! [`assess::assess`] follows each LoadBalancer Service from its IP to the node
//! that announces it.

pub mod assess;

use serde_json::Value;
use vitals_plugin::kubernetes::{self, Error, now};
use vitals_plugin::net;
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, param, parse_params,
};

use assess::{Objects, Params};

struct CiliumL2;

impl Plugin for CiliumL2 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "cilium_l2".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Cilium L2 announcements: enabled in cilium-config, every LoadBalancer \
                          Service selected by a policy that announces its IP, given an IP by a \
                          pool that is not exhausted or conflicting, and announced by a live \
                          Lease held by a Ready node the policy allows"
                .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted kubernetes endpoint",
                    Some("\"kubernetes\""),
                ),
                param(
                    "cilium_namespace",
                    "string",
                    "Namespace of Cilium: its cilium-config ConfigMap and the L2 announcement Leases",
                    Some("\"kube-system\""),
                ),
                param(
                    "namespaces",
                    "list<string>",
                    "Only Services in these namespaces (empty: all)",
                    Some("[]"),
                ),
                param(
                    "ignore",
                    "list<string>",
                    "Services not to check, as namespace/name",
                    Some("[]"),
                ),
                param(
                    "require_policy",
                    "boolean",
                    "A LoadBalancer Service that no policy selects is a warning (false: it is skipped, e.g. announced by BGP)",
                    Some("true"),
                ),
                param(
                    "arp_probe",
                    "boolean",
                    "ARP-probe each LoadBalancer IP from the host: no answer or answers from several MACs is critical (grant the networks in `[grants.net] arp`)",
                    Some("false"),
                ),
                param(
                    "handover_seconds",
                    "number",
                    "After a Lease expired or was released, how long another node taking it over is a hand-over (warning) rather than nobody announcing (critical); Cilium's agents retry every l2-announcements-retry-period (2 s)",
                    Some("5.0"),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        if let Err(unknown) = granted_endpoint(&input, &params.endpoint, "kubernetes") {
            return unknown;
        }
        match read(&params) {
            Ok(mut objects) => {
                if params.arp_probe {
                    objects.arp = probe(&objects.services);
                }
                assess::assess(&params, &objects, now())
            }
            Err(e) => ReportBuilder::unknown(e),
        }
    }
}

/// A list under the first API version the server serves, of the lists of every
/// version asked (404: not served).
fn first_served(versions: Vec<Result<Vec<Value>, Error>>) -> Result<Vec<Value>, Error> {
    let mut last = None;
    for listed in versions {
        match listed {
            Err(e) if e.is_not_found() => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| Error::Denied("no API version asked".into())))
}

/// What a read returned, `None` where the API answered 404 (not installed or not
/// served); any other error ends the run.
fn served<T>(read: Result<T, Error>, what: &str) -> Result<Option<T>, String> {
    match read {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(format!("reading {what}: {}", e.message())),
    }
}

/// Every object the check reads, in two rounds of reads at once: the
/// configuration, then every collection (both API versions of Cilium's).
fn read(p: &Params) -> Result<Objects, String> {
    let ep = p.endpoint.as_str();
    let ns = &p.cilium_namespace;
    fn ctx(what: &'static str) -> impl Fn(Error) -> String {
        move |e| format!("reading {what}: {}", e.message())
    }
    let config = served(
        kubernetes::get(
            ep,
            &format!("/api/v1/namespaces/{ns}/configmaps/cilium-config"),
        ),
        "cilium-config",
    )?;
    let leases = format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases");
    let [p1, p2, i1, i2, services, nodes, leases] = kubernetes::list_each([
        (
            ep,
            "/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies",
            None,
        ),
        (ep, "/apis/cilium.io/v2/ciliuml2announcementpolicies", None),
        (ep, "/apis/cilium.io/v2/ciliumloadbalancerippools", None),
        (
            ep,
            "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools",
            None,
        ),
        (ep, "/api/v1/services", None),
        (ep, "/api/v1/nodes", None),
        (ep, &leases, None),
    ]);
    Ok(Objects {
        config,
        policies: served(first_served(vec![p1, p2]), "CiliumL2AnnouncementPolicies")?,
        pools: served(first_served(vec![i1, i2]), "CiliumLoadBalancerIPPools")?,
        services: services.map_err(ctx("Services"))?,
        nodes: nodes.map_err(ctx("Nodes"))?,
        leases: leases.map_err(ctx("Leases"))?,
        arp: Default::default(),
    })
}

/// ARP-probe every LoadBalancer ingress IP once, all of them together.
fn probe(services: &[Value]) -> std::collections::BTreeMap<String, Result<Vec<String>, String>> {
    let ips: std::collections::BTreeSet<&str> = services
        .iter()
        .filter(|s| kubernetes::str_at(s, "/spec/type") == "LoadBalancer")
        .filter_map(|s| s.pointer("/status/loadBalancer/ingress")?.as_array())
        .flatten()
        .filter_map(|i| i.get("ip")?.as_str())
        .collect();
    let ips: Vec<&str> = ips.into_iter().collect();
    let answers = net::arp_probe_all(&ips);
    ips.iter()
        .zip(answers)
        .map(|(ip, answer)| {
            let answer = answer
                .map(|replies| replies.into_iter().map(|r| r.mac).collect())
                .map_err(|e| format!("{}: {}", e.kind(), e.message()));
            (ip.to_string(), answer)
        })
        .collect()
}

vitals_plugin::export_plugin!(CiliumL2);
