//! The verdict on Cilium L2 announcements from the objects read. Pure:
//! unit-tested natively.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use vitals_plugin::kubernetes::{object_ref, parse_time, selector_matches, str_at};
use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub endpoint: String,
    /// Namespace of cilium-config and of the announcement Leases.
    pub cilium_namespace: String,
    /// Only Services in these namespaces (empty: all).
    pub namespaces: Vec<String>,
    /// Services not to check, as namespace/name.
    pub ignore: Vec<String>,
    /// Whether a LoadBalancer Service that no policy selects warns.
    pub require_policy: bool,
    /// ARP-probe each LoadBalancer IP from the host (needs `[grants.net] arp`).
    pub arp_probe: bool,
    /// Seconds after a Lease expired or was released in which it is a hand-over
    /// to another node (they try every `l2-announcements-retry-period`, 2 s).
    pub handover_seconds: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            endpoint: "kubernetes".into(),
            cilium_namespace: "kube-system".into(),
            namespaces: Vec::new(),
            ignore: Vec::new(),
            require_policy: true,
            arp_probe: false,
            handover_seconds: 5.0,
        }
    }
}

/// What the check read; `None` where the API does not serve it (404).
#[derive(Debug, Default, Clone)]
pub struct Objects {
    pub config: Option<Value>,
    pub policies: Option<Vec<Value>>,
    pub pools: Option<Vec<Value>>,
    pub services: Vec<Value>,
    pub nodes: Vec<Value>,
    pub leases: Vec<Value>,
    /// ARP probe of each LoadBalancer IP: the MAC addresses that answered, or why
    /// the probe failed. Empty when the probe is off.
    pub arp: BTreeMap<String, Result<Vec<String>, String>>,
}

/// The class Cilium's L2 announcer handles besides services without a class.
const L2_CLASS: &str = "io.cilium/l2-announcer";

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| str_at(c, "/type") == kind)
}

fn is_true(obj: &Value, pointer: &str) -> bool {
    obj.pointer(pointer) == Some(&Value::Bool(true))
}

/// A Service's labels plus the pseudo-labels Cilium selectors may use.
fn service_labels(svc: &Value) -> Value {
    let mut labels = svc
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    labels.insert(
        "io.kubernetes.service.namespace".into(),
        str_at(svc, "/metadata/namespace").into(),
    );
    labels.insert(
        "io.kubernetes.service.name".into(),
        str_at(svc, "/metadata/name").into(),
    );
    Value::Object(labels)
}

fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name")
}

/// Judge the announcements; `now` is seconds since the Unix epoch.
pub fn assess(p: &Params, o: &Objects, now: f64) -> Report {
    let mut r = ReportBuilder::new();
    let candidates: Vec<&Value> = o
        .services
        .iter()
        .filter(|s| str_at(s, "/spec/type") == "LoadBalancer")
        .filter(|s| matches!(str_at(s, "/spec/loadBalancerClass"), "" | L2_CLASS))
        .filter(|s| {
            p.namespaces.is_empty()
                || p.namespaces
                    .iter()
                    .any(|n| n == str_at(s, "/metadata/namespace"))
        })
        .filter(|s| !p.ignore.contains(&object_ref(s)))
        .collect();

    let enabled = l2_enabled(p, o, &mut r);
    let policies = o.policies.as_deref().unwrap_or_default();
    if o.policies.is_none() {
        r.finding(
            "CiliumL2AnnouncementPolicy",
            Status::Critical,
            "the API does not serve ciliuml2announcementpolicies (cilium.io v2alpha1 or v2): the CRD is missing",
        );
    }

    let exhausted = pool_findings(o, &mut r);
    let nodes: BTreeMap<&str, &Value> = o.nodes.iter().map(|n| (name(n), n)).collect();
    let leases: BTreeMap<&str, &Value> = o
        .leases
        .iter()
        .filter(|l| {
            str_at(l, "/metadata/namespace") == p.cilium_namespace
                || str_at(l, "/metadata/namespace").is_empty()
        })
        .map(|l| (name(l), l))
        .collect();
    let mut announced = 0u32;
    let mut problems = Vec::new();
    for svc in &candidates {
        let svc_ref = object_ref(svc);
        let subject = format!("service {svc_ref}");
        let labels = service_labels(svc);
        let ips: Vec<&str> = svc
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| str_at(i, "/ip"))
                    .filter(|ip| !ip.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let ip_label = ips.first().copied().unwrap_or("");
        let before = r.status();
        let mut ok = enabled;

        let selecting: Vec<&Value> = policies
            .iter()
            .filter(|pol| selector_matches(pol.pointer("/spec/serviceSelector"), Some(&labels)))
            .collect();
        let announcing: Vec<&Value> = selecting
            .iter()
            .copied()
            .filter(|pol| is_true(pol, "/spec/loadBalancerIPs"))
            .collect();
        if selecting.is_empty() {
            if !p.require_policy {
                continue;
            }
            ok = false;
            r.finding(
                &subject,
                Status::Warning,
                "no CiliumL2AnnouncementPolicy selects it: its IP is not announced on L2",
            );
        } else if announcing.is_empty() {
            ok = false;
            let names: Vec<&str> = selecting.iter().map(|p| name(p)).collect();
            r.finding(
                &subject,
                Status::Critical,
                format!("selected by {} but none sets loadBalancerIPs: true, so its IP is not announced", names.join(", ")),
            );
        }

        if ips.is_empty() {
            ok = false;
            let why = pending_reason(o, svc, &labels, &exhausted);
            r.finding(
                &subject,
                Status::Critical,
                format!("pending: no LoadBalancer ingress IP ({why})"),
            );
        }

        if !announcing.is_empty() && !ips.is_empty() {
            let lease_name = format!(
                "cilium-l2announce-{}-{}",
                str_at(svc, "/metadata/namespace"),
                name(svc)
            );
            match leases.get(lease_name.as_str()) {
                None => {
                    ok = false;
                    r.finding(
                        &subject,
                        Status::Critical,
                        format!(
                            "no Lease {}/{lease_name}: no node announces {}",
                            p.cilium_namespace,
                            ips.join(", ")
                        ),
                    );
                }
                Some(lease) => {
                    let (holder, age, problem) =
                        lease_problem(p, lease, &nodes, &announcing, &ips, now);
                    if let Some(age) = age {
                        r.sample(
                            "lease_age_seconds",
                            "Seconds since the announcing node renewed the Service's L2 Lease",
                            age.max(0.0),
                            &[("service", &svc_ref)],
                        );
                    }
                    match problem {
                        Some((status, m)) => {
                            ok = false;
                            r.finding(&subject, status, m);
                        }
                        None if enabled => r.note(
                            &subject,
                            Status::Ok,
                            format!("{} announced by {holder}", ips.join(", ")),
                        ),
                        None => {}
                    }
                }
            }
        }
        ok &= arp_findings(o, &ips, &subject, &mut r);
        r.sample(
            "service_announced",
            "1 when the Service's LoadBalancer IP is announced by a live Lease on an allowed Ready node",
            f64::from(u8::from(ok)),
            &[("service", &svc_ref), ("ip", ip_label)],
        );
        if ok {
            announced += 1;
        } else if r.status() > before || !enabled {
            problems.push(svc_ref);
        }
    }
    let total = candidates.len() as u32;
    r.sample(
        "services",
        "LoadBalancer Services checked",
        f64::from(total),
        &[],
    );
    r.sample(
        "services_announced",
        "LoadBalancer Services whose IP is announced",
        f64::from(announced),
        &[],
    );
    let mut summary = format!("{announced}/{total} LoadBalancer Services announced");
    if !enabled {
        summary += "; L2 announcements are not enabled";
    }
    if !problems.is_empty() {
        summary += &format!(" (not: {})", problems.join(", "));
    }
    r.finish(summary)
}

/// Whether cilium-config enables L2 announcements (a finding when not).
fn l2_enabled(p: &Params, o: &Objects, r: &mut ReportBuilder) -> bool {
    let cfg_subject = format!("configmap {}/cilium-config", p.cilium_namespace);
    match &o.config {
        None => {
            r.finding(
                &cfg_subject,
                Status::Critical,
                "not found: is Cilium installed in this namespace?",
            );
            false
        }
        Some(c) => match str_at(c, "/data/enable-l2-announcements") {
            "true" => true,
            v => {
                r.finding(
                    &cfg_subject,
                    Status::Critical,
                    format!(
                        "enable-l2-announcements is {}: no LoadBalancer IP is announced",
                        if v.is_empty() {
                            "not set".to_string()
                        } else {
                            format!("{v:?}")
                        }
                    ),
                );
                false
            }
        },
    }
}

/// IP pools: conflicts and exhaustion; returns the exhausted pools.
fn pool_findings<'a>(o: &'a Objects, r: &mut ReportBuilder) -> Vec<&'a str> {
    let mut exhausted: Vec<&str> = Vec::new();
    for pool in o.pools.as_deref().unwrap_or_default() {
        let subject = format!("pool {}", name(pool));
        if is_true(pool, "/spec/disabled") {
            r.note(&subject, Status::Ok, "disabled: it allocates no new IPs");
            continue;
        }
        if let Some(c) =
            condition(pool, "cilium.io/PoolConflict").filter(|c| str_at(c, "/status") == "True")
        {
            r.finding(
                &subject,
                Status::Critical,
                format!("conflict: {}", str_at(c, "/message")),
            );
        }
        if let Some(c) = condition(pool, "cilium.io/IPsAvailable")
            && let Ok(n) = str_at(c, "/message").trim().parse::<f64>()
        {
            r.sample(
                "pool_ips_available",
                "IPs a CiliumLoadBalancerIPPool can still allocate",
                n,
                &[("pool", name(pool))],
            );
            if n == 0.0 {
                exhausted.push(name(pool));
            }
        }
    }
    if o.pools.is_none() {
        r.note(
            "CiliumLoadBalancerIPPool",
            Status::Warning,
            "the API does not serve ciliumloadbalancerippools (cilium.io v2 or v2alpha1)",
        );
    }
    exhausted
}

/// Why a Service has no ingress IP: no pool selects it, its pools are
/// exhausted, or what Cilium's IPAM says.
fn pending_reason(o: &Objects, svc: &Value, labels: &Value, exhausted: &[&str]) -> String {
    let matching: Vec<&str> = o
        .pools
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|pool| !is_true(pool, "/spec/disabled"))
        .filter(|pool| selector_matches(pool.pointer("/spec/serviceSelector"), Some(labels)))
        .map(name)
        .collect();
    if matching.is_empty() {
        "no enabled CiliumLoadBalancerIPPool selects it".to_string()
    } else if matching.iter().all(|m| exhausted.contains(m)) {
        format!("pool {} exhausted", matching.join(", "))
    } else {
        condition(svc, "cilium.io/IPAMRequestSatisfied")
            .filter(|c| str_at(c, "/status") == "False")
            .map(|c| format!("{}: {}", str_at(c, "/reason"), str_at(c, "/message")))
            .unwrap_or_else(|| "no IP assigned yet".into())
    }
}

/// What is wrong with the Lease of a Service's L2 announcement, if anything:
/// its holder, its age (renewTime), a hand-over under way.
fn lease_problem(
    p: &Params,
    lease: &Value,
    nodes: &BTreeMap<&str, &Value>,
    announcing: &[&Value],
    ips: &[&str],
    now: f64,
) -> (String, Option<f64>, Option<(Status, String)>) {
    let holder = str_at(lease, "/spec/holderIdentity");
    let duration = lease
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_f64)
        .unwrap_or(15.0);
    let age = parse_time(str_at(lease, "/spec/renewTime")).map(|t| now - t);
    let node = nodes.get(holder);
    let node_ready = node
        .and_then(|n| condition(n, "Ready"))
        .is_some_and(|c| str_at(c, "/status") == "True");
    let allowed: Vec<&&Value> = announcing
        .iter()
        .filter(|pol| {
            node.is_some_and(|n| {
                selector_matches(
                    pol.pointer("/spec/nodeSelector"),
                    n.pointer("/metadata/labels"),
                )
            })
        })
        .collect();
    // A hand-over: the holder released the Lease (its agent
    // stopped) or it expired (its agent died), and the other
    // nodes' agents take it within their retry period.
    let handover = p.handover_seconds;
    let problem = if holder.is_empty() {
        Some(match age {
            Some(a) if a <= handover => (
                Status::Warning,
                format!(
                    "its Lease was released {a:.0}s ago: hand-over under way, another node takes it within {handover:.0}s"
                ),
            ),
            _ => (
                Status::Critical,
                "its Lease has no holder: no node announces it".to_string(),
            ),
        })
    } else if age.is_none_or(|a| a > duration) {
        let expired = format!(
            "its Lease expired: {holder} last renewed it {} ago (duration {duration}s)",
            age.map_or("never".into(), |a| format!("{a:.0}s")),
        );
        Some(match age {
            Some(a) if a - duration <= handover => (
                Status::Warning,
                format!(
                    "{expired}: hand-over under way, another node takes it within {handover:.0}s of the expiry"
                ),
            ),
            _ => (
                Status::Critical,
                format!("{expired}; no node announces {}", ips.join(", ")),
            ),
        })
    } else if node.is_none() {
        Some((
            Status::Critical,
            format!("announced by {holder}, which is not a node of the cluster"),
        ))
    } else if !node_ready {
        // Its agent still renews the Lease, so it still
        // announces; if the agent is gone, the Lease expires
        // and another node takes it.
        Some((
            Status::Warning,
            format!(
                "announced by {holder}, which is not Ready; its Cilium agent still renews the Lease, and if it stops, another node takes it within {duration}s + {handover:.0}s"
            ),
        ))
    } else if allowed.is_empty() {
        Some((
            Status::Critical,
            format!("announced by {holder}, which the nodeSelector of its policies does not allow"),
        ))
    } else {
        None
    };
    (holder.to_string(), age, problem)
}

/// The ARP probe of each IP (when on): nobody or several hosts answering is
/// critical. Returns whether the probes found nothing wrong.
fn arp_findings(o: &Objects, ips: &[&str], subject: &str, r: &mut ReportBuilder) -> bool {
    let mut ok = true;
    for ip in ips {
        match o.arp.get(*ip) {
            None => {}
            Some(Err(e)) => r.note(
                subject,
                Status::Unknown,
                format!("ARP probe of {ip} failed: {e}"),
            ),
            Some(Ok(macs)) if macs.is_empty() => {
                ok = false;
                r.finding(
                    subject,
                    Status::Critical,
                    format!("no ARP answer for {ip}: nobody announces it on this network"),
                );
            }
            Some(Ok(macs)) if macs.len() > 1 => {
                ok = false;
                r.finding(
                    subject,
                    Status::Critical,
                    format!(
                        "ARP conflict: {ip} answered by {} hosts ({})",
                        macs.len(),
                        macs.join(", ")
                    ),
                );
            }
            Some(Ok(macs)) => r.note(
                subject,
                Status::Ok,
                format!("ARP: {ip} answered by {}", macs[0]),
            ),
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The recorded RKE2 + Cilium cluster the end-to-end tests serve.
    const FIXTURE: &str = include_str!("../../../tests/fixtures/kubernetes/rke2-cilium.json");
    /// Shortly after the recorded L2 Leases were renewed (2026-11-20T09:14:10Z).
    const NOW: f64 = 1_795_166_050.0;

    fn objects() -> Objects {
        let all: Vec<Value> = serde_json::from_str(FIXTURE).unwrap();
        let of = |kind: &str| -> Vec<Value> {
            all.iter()
                .filter(|o| str_at(o, "/kind") == kind)
                .cloned()
                .collect()
        };
        Objects {
            config: of("ConfigMap")
                .into_iter()
                .find(|c| name(c) == "cilium-config"),
            policies: Some(of("CiliumL2AnnouncementPolicy")),
            pools: Some(of("CiliumLoadBalancerIPPool")),
            services: of("Service"),
            nodes: of("Node"),
            leases: of("Lease"),
            arp: BTreeMap::new(),
        }
    }

    fn text(r: &Report) -> String {
        r.findings
            .iter()
            .map(|f| format!("{:?} {}: {}\n", f.status, f.subject, f.message))
            .collect()
    }

    fn service<'a>(o: &'a mut Objects, name_: &str) -> &'a mut Value {
        o.services.iter_mut().find(|s| name(s) == name_).unwrap()
    }

    fn lease<'a>(o: &'a mut Objects, name_: &str) -> &'a mut Value {
        o.leases.iter_mut().find(|s| name(s) == name_).unwrap()
    }

    const NGINX_LEASE: &str = "cilium-l2announce-ingress-ingress-nginx-controller";

    #[test]
    fn the_recorded_cluster_is_ok() {
        let r = assess(&Params::default(), &objects(), NOW);
        assert_eq!(r.status, Status::Ok, "{}", text(&r));
        assert!(
            r.summary.starts_with("2/2 LoadBalancer Services announced"),
            "{}",
            r.summary
        );
        assert!(
            text(&r).contains("10.20.0.200 announced by rke2-agent-1"),
            "{}",
            text(&r)
        );
    }

    #[test]
    fn disabled_announcements_are_critical() {
        let mut o = objects();
        o.config.as_mut().unwrap()["data"]["enable-l2-announcements"] = json!("false");
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("enable-l2-announcements is \"false\""),
            "{}",
            text(&r)
        );
        assert!(r.summary.contains("0/2"), "{}", r.summary);
        o.config = None;
        assert_eq!(assess(&Params::default(), &o, NOW).status, Status::Critical);
    }

    #[test]
    fn a_policy_must_select_the_service_and_announce_lb_ips() {
        let mut o = objects();
        service(&mut o, "grafana")["metadata"]["labels"] = json!({"app": "grafana"});
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(
            text(&r)
                .contains("service monitoring/grafana: no CiliumL2AnnouncementPolicy selects it")
        );
        let p = Params {
            require_policy: false,
            ..Params::default()
        };
        assert_eq!(assess(&p, &o, NOW).status, Status::Ok);

        let mut o = objects();
        o.policies.as_mut().unwrap()[0]["spec"]["loadBalancerIPs"] = json!(false);
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("none sets loadBalancerIPs: true"),
            "{}",
            text(&r)
        );
    }

    #[test]
    fn a_pending_service_names_the_exhausted_pool() {
        let mut o = objects();
        service(&mut o, "grafana")["status"] = json!({"loadBalancer": {}});
        o.pools.as_mut().unwrap()[0]["status"]["conditions"][2]["message"] = json!("0");
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("pending: no LoadBalancer ingress IP (pool lb-pool exhausted)"),
            "{}",
            text(&r)
        );
        o.pools = Some(vec![]);
        let r = assess(&Params::default(), &o, NOW);
        assert!(
            text(&r).contains("no enabled CiliumLoadBalancerIPPool selects it"),
            "{}",
            text(&r)
        );
    }

    #[test]
    fn a_pool_conflict_is_critical() {
        let mut o = objects();
        let c = &mut o.pools.as_mut().unwrap()[0]["status"]["conditions"][0];
        c["status"] = json!("True");
        c["message"] = json!("Pool overlaps with CIDRs of pool other-pool");
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("pool lb-pool: conflict: Pool overlaps"),
            "{}",
            text(&r)
        );
    }

    #[test]
    fn the_lease_must_be_live_and_held_by_an_allowed_ready_node() {
        let mut o = objects();
        o.leases.retain(|l| name(l) != NGINX_LEASE);
        let r = assess(&Params::default(), &o, NOW);
        assert!(
            text(&r).contains(
                "no Lease kube-system/cilium-l2announce-ingress-ingress-nginx-controller"
            ),
            "{}",
            text(&r)
        );
        assert_eq!(r.status, Status::Critical);

        // Expired moments ago: the other agents take it over (a hand-over).
        let renewed = parse_time(str_at(
            lease(&mut objects(), NGINX_LEASE),
            "/spec/renewTime",
        ))
        .unwrap();
        let r = assess(&Params::default(), &objects(), renewed + 15.0 + 3.0);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(text(&r).contains("hand-over under way"), "{}", text(&r));
        let mut o = objects();
        lease(&mut o, NGINX_LEASE)["spec"]["holderIdentity"] = json!("");
        let r = assess(&Params::default(), &o, renewed + 2.0);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(
            text(&r).contains("its Lease was released 2s ago: hand-over under way"),
            "{}",
            text(&r)
        );
        // Released or expired for longer: nobody announces it.
        let r = assess(&Params::default(), &o, renewed + 10.0);
        assert_eq!(r.status, Status::Critical, "{}", text(&r));
        let r = assess(&Params::default(), &objects(), NOW + 60.0);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("its Lease expired: rke2-agent-1 last renewed it"),
            "{}",
            text(&r)
        );

        let mut o = objects();
        lease(&mut o, NGINX_LEASE)["spec"]["holderIdentity"] = json!("rke2-server-1");
        let r = assess(&Params::default(), &o, NOW);
        assert!(
            text(&r).contains("which the nodeSelector of its policies does not allow"),
            "{}",
            text(&r)
        );

        let mut o = objects();
        let agent = o
            .nodes
            .iter_mut()
            .find(|n| name(n) == "rke2-agent-1")
            .unwrap();
        for c in agent["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = json!("Unknown");
            }
        }
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(
            text(&r).contains("announced by rke2-agent-1, which is not Ready"),
            "{}",
            text(&r)
        );
        assert!(
            r.summary
                .contains("(not: ingress/ingress-nginx-controller)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn lease_problem_tells_a_hand_over_from_nobody_announcing() {
        let o = objects();
        let nodes: BTreeMap<&str, &Value> = o.nodes.iter().map(|n| (name(n), n)).collect();
        let policies: Vec<&Value> = o.policies.as_deref().unwrap_or_default().iter().collect();
        let mut l = o
            .leases
            .iter()
            .find(|l| name(l) == NGINX_LEASE)
            .unwrap()
            .clone();
        let renewed = parse_time(str_at(&l, "/spec/renewTime")).unwrap();
        let judge = |l: &Value, now: f64| {
            lease_problem(&Params::default(), l, &nodes, &policies, &["10.0.0.1"], now)
        };
        let (holder, age, problem) = judge(&l, renewed + 1.0);
        assert_eq!(
            (holder.as_str(), age, problem),
            ("rke2-agent-1", Some(1.0), None)
        );
        // Released a moment ago: a hand-over; long ago: nobody announces.
        l["spec"]["holderIdentity"] = json!("");
        assert_eq!(judge(&l, renewed + 1.0).2.unwrap().0, Status::Warning);
        assert_eq!(judge(&l, renewed + 30.0).2.unwrap().0, Status::Critical);
        // Held by something that is not a node.
        l["spec"]["holderIdentity"] = json!("ghost");
        let (_, _, problem) = judge(&l, renewed + 1.0);
        assert_eq!(
            problem,
            Some((
                Status::Critical,
                "announced by ghost, which is not a node of the cluster".to_string()
            ))
        );
    }

    #[test]
    fn namespaces_and_ignore_narrow_the_services() {
        let mut o = objects();
        o.leases.retain(|l| name(l) != NGINX_LEASE);
        let p = Params {
            namespaces: vec!["monitoring".into()],
            ..Params::default()
        };
        assert_eq!(assess(&p, &o, NOW).status, Status::Ok);
        let p = Params {
            ignore: vec!["ingress/ingress-nginx-controller".into()],
            ..Params::default()
        };
        let r = assess(&p, &o, NOW);
        assert_eq!(r.status, Status::Ok);
        assert!(r.summary.starts_with("1/1"), "{}", r.summary);
    }

    #[test]
    fn arp_answers_judge_reachability() {
        let mut o = objects();
        let one = |mac: &str| Ok(vec![mac.to_string()]);
        o.arp.insert("10.20.0.200".into(), one("02:00:00:00:00:01"));
        o.arp.insert(
            "10.20.0.201".into(),
            Err("failed: ARP probes need root or CAP_NET_RAW".into()),
        );
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Ok, "{}", text(&r));
        assert!(
            text(&r).contains("ARP: 10.20.0.200 answered by 02:00:00:00:00:01"),
            "{}",
            text(&r)
        );
        assert!(
            text(&r)
                .contains("Unknown service monitoring/grafana: ARP probe of 10.20.0.201 failed"),
            "{}",
            text(&r)
        );

        o.arp.insert("10.20.0.201".into(), Ok(vec![]));
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("no ARP answer for 10.20.0.201"),
            "{}",
            text(&r)
        );

        o.arp.insert(
            "10.20.0.201".into(),
            Ok(vec!["02:00:00:00:00:02".into(), "02:00:00:00:00:03".into()]),
        );
        let r = assess(&Params::default(), &o, NOW);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("ARP conflict: 10.20.0.201 answered by 2 hosts"),
            "{}",
            text(&r)
        );
        assert!(
            r.summary.contains("(not: monitoring/grafana)"),
            "{}",
            r.summary
        );
    }
}
