//! The verdict on a cluster's nodes from the Node objects and their Leases. Pure:
//! unit-tested natively.

use std::collections::BTreeMap;

use serde_json::Value;
use vitals_plugin::kubernetes::{parse_time, str_at};
use vitals_plugin::units::human;
use vitals_plugin::{Report, ReportBuilder, Status};

/// What the heartbeat check reads of a node's `coordination.k8s.io/v1` Lease.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Lease {
    pub metadata: LeaseMeta,
    #[serde(default)]
    pub spec: LeaseSpec,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct LeaseMeta {
    pub name: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    pub lease_duration_seconds: Option<f64>,
    pub renew_time: Option<String>,
}

/// The check's parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Granted kubernetes endpoint.
    pub endpoint: String,
    /// Only nodes matching this label selector.
    pub label_selector: Option<String>,
    /// Fewer Ready nodes than this is critical.
    pub min_ready: u32,
    /// A node NotReady for less than this is a warning, not yet critical.
    pub not_ready_grace_seconds: u64,
    /// A node created less than this ago that is not yet Ready is joining the
    /// cluster (its CNI starting, images pulled): a warning.
    pub join_grace_seconds: u64,
    /// A Lease older than this is a stale heartbeat; default: its leaseDurationSeconds.
    pub lease_stale_seconds: Option<u64>,
    /// `minor`, `patch` or `off`: which kubelet version differences warn.
    pub version_skew: String,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            endpoint: "kubernetes".into(),
            label_selector: None,
            min_ready: 1,
            not_ready_grace_seconds: 0,
            join_grace_seconds: 600,
            lease_stale_seconds: None,
            version_skew: "minor".into(),
        }
    }
}

impl Params {
    /// Values serde cannot check.
    pub fn validate(&self) -> Result<(), String> {
        match self.version_skew.as_str() {
            "minor" | "patch" | "off" => Ok(()),
            other => Err(format!(
                "invalid parameters: version_skew {other:?} must be \"minor\", \"patch\" or \"off\""
            )),
        }
    }
}

/// Lease duration the kubelet uses when a Lease does not say.
const DEFAULT_LEASE_SECONDS: f64 = 40.0;
const PRESSURES: [&str; 3] = ["MemoryPressure", "DiskPressure", "PIDPressure"];

fn condition<'a>(node: &'a Value, kind: &str) -> Option<&'a Value> {
    node.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| str_at(c, "/type") == kind)
}

/// `Reason: message` of a condition, or what is known.
fn explain(c: &Value) -> String {
    match (str_at(c, "/reason"), str_at(c, "/message")) {
        ("", "") => "no reason given".into(),
        (r, "") => r.into(),
        ("", m) => m.into(),
        (r, m) => format!("{r}: {m}"),
    }
}

/// `(major, minor)` of a kubelet version such as `v1.33.5+rke2r1`.
fn minor_of(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim_start_matches('v').split(['.', '+', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Judge the nodes. `leases` are the Leases of `kube-node-lease`, or why they
/// could not be read; `now` is seconds since the Unix epoch.
pub fn assess(p: &Params, nodes: &[Value], leases: Result<Vec<Lease>, String>, now: f64) -> Report {
    let mut r = ReportBuilder::new();
    let mut nodes: Vec<&Value> = nodes.iter().collect();
    nodes.sort_by_key(|n| str_at(n, "/metadata/name"));
    let leases: Result<BTreeMap<&str, &Lease>, &String> = leases
        .as_ref()
        .map(|l| l.iter().map(|l| (l.metadata.name.as_str(), l)).collect());
    if let Err(e) = &leases {
        r.note(
            "node leases",
            Status::Unknown,
            format!(
                "cannot read the Leases in kube-node-lease, kubelet heartbeats not judged: {e}"
            ),
        );
    }
    let (mut ready_count, mut cordoned_count, mut pressure_count) = (0u32, 0u32, 0u32);
    let mut not_ready = Vec::new();
    let mut versions: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for node in &nodes {
        let name = str_at(node, "/metadata/name");
        let subject = format!("node {name}");
        let cordoned = is_cordoned(node);
        let severe = severity(cordoned);
        if cordoned {
            cordoned_count += 1;
            r.note(
                &subject,
                Status::Ok,
                "cordoned (spec.unschedulable): no new pods are scheduled here",
            );
        }
        versions
            .entry(str_at(node, "/status/nodeInfo/kubeletVersion").to_string())
            .or_default()
            .push(name);

        let ready = condition(node, "Ready");
        let is_ready = ready.is_some_and(|c| str_at(c, "/status") == "True");
        r.sample(
            "node_ready",
            "1 when the node's Ready condition is True",
            f64::from(u8::from(is_ready)),
            &[("node", name)],
        );
        if is_ready {
            ready_count += 1;
        } else {
            not_ready.push(name);
            not_ready_finding(p, node, now, &mut r);
        }
        let mut pressured = false;
        for kind in PRESSURES {
            if let Some(c) = condition(node, kind).filter(|c| str_at(c, "/status") == "True") {
                pressured = true;
                r.finding(&subject, Status::Warning, format!("{kind}: {}", explain(c)));
            }
        }
        if pressured {
            pressure_count += 1;
        }
        if let Some(c) =
            condition(node, "NetworkUnavailable").filter(|c| str_at(c, "/status") == "True")
        {
            r.finding(
                &subject,
                severe,
                format!("NetworkUnavailable: {}", explain(c)),
            );
        }
        let Ok(leases) = &leases else { continue };
        lease_finding(p, leases.get(name).copied(), severe, now, name, &mut r);
    }

    let total = nodes.len() as u32;
    if ready_count < p.min_ready {
        r.finding(
            "cluster",
            Status::Critical,
            format!(
                "{ready_count} Ready nodes, at least {} expected",
                p.min_ready
            ),
        );
    }
    version_skew(p, &versions, &mut r);
    let labels: &[(&str, &str)] = &[];
    r.sample("nodes_total", "Nodes selected", f64::from(total), labels);
    r.sample(
        "nodes_ready",
        "Nodes whose Ready condition is True",
        f64::from(ready_count),
        labels,
    );
    r.sample(
        "nodes_cordoned",
        "Nodes cordoned (unschedulable)",
        f64::from(cordoned_count),
        labels,
    );
    r.sample(
        "nodes_under_pressure",
        "Nodes with memory, disk or PID pressure",
        f64::from(pressure_count),
        labels,
    );
    let mut summary = format!("{ready_count}/{total} nodes Ready");
    if !not_ready.is_empty() {
        summary += &format!(" (not Ready: {})", not_ready.join(", "));
    }
    if cordoned_count > 0 {
        summary += &format!(", {cordoned_count} cordoned");
    }
    if pressure_count > 0 {
        summary += &format!(", {pressure_count} under pressure");
    }
    r.finish(summary)
}

/// Cordoned (`spec.unschedulable`): in maintenance.
fn is_cordoned(node: &Value) -> bool {
    node.pointer("/spec/unschedulable") == Some(&Value::Bool(true))
}

/// What a problem of a node is worth: a cordoned node is in maintenance, so
/// what is wrong with it warns, never more.
fn severity(cordoned: bool) -> Status {
    if cordoned {
        Status::Warning
    } else {
        Status::Critical
    }
}

/// A node that is not Ready: how long, and whether it is critical (`severe`)
/// or only warns (within `not_ready_grace_seconds`, joining, cordoned).
fn not_ready_finding(p: &Params, node: &Value, now: f64, r: &mut ReportBuilder) {
    let subject = format!("node {}", str_at(node, "/metadata/name"));
    let subject = subject.as_str();
    let cordoned = is_cordoned(node);
    let severe = severity(cordoned);
    match condition(node, "Ready") {
        None => r.finding(
            subject,
            severe,
            "no Ready condition: the kubelet never reported",
        ),
        Some(c) => {
            let since = parse_time(str_at(c, "/lastTransitionTime")).map(|t| now - t);
            let state = if str_at(c, "/status") == "Unknown" {
                "Ready Unknown (the kubelet stopped posting node status)"
            } else {
                "NotReady"
            };
            let how_long = since
                .map(|s| format!(" for {}", human(s)))
                .unwrap_or_default();
            let within_grace = since.is_some_and(|s| s < p.not_ready_grace_seconds as f64);
            let age = parse_time(str_at(node, "/metadata/creationTimestamp"))
                .map(|t| now - t)
                .filter(|a| *a < p.join_grace_seconds as f64);
            let status = if within_grace || age.is_some() {
                Status::Warning
            } else {
                severe
            };
            let note = match (age, within_grace, cordoned) {
                (Some(a), _, _) => format!(
                    " (joining: created {} ago, ready within join_grace_seconds {}s)",
                    human(a),
                    p.join_grace_seconds
                ),
                (_, true, _) => " (within the grace period)".into(),
                (_, false, true) => " (cordoned: treated as maintenance)".into(),
                _ => String::new(),
            };
            r.finding(
                subject,
                status,
                format!("{state}{how_long}: {}{note}", explain(c)),
            );
        }
    }
}

/// The kubelet heartbeat: the node's Lease renewed within its duration (or
/// `lease_stale_seconds`); stale is `severe`.
fn lease_finding(
    p: &Params,
    lease: Option<&Lease>,
    severe: Status,
    now: f64,
    name: &str,
    r: &mut ReportBuilder,
) {
    let subject = format!("node {name}");
    match lease {
        None => r.finding(
            &subject,
            Status::Warning,
            "no Lease in kube-node-lease: the kubelet heartbeat cannot be judged",
        ),
        Some(lease) => {
            let duration = lease
                .spec
                .lease_duration_seconds
                .unwrap_or(DEFAULT_LEASE_SECONDS);
            let stale_after = p.lease_stale_seconds.map_or(duration, |s| s as f64);
            match lease.spec.renew_time.as_deref().and_then(parse_time) {
                None => r.finding(
                    &subject,
                    Status::Warning,
                    "its Lease has no renewTime: the kubelet never renewed it",
                ),
                Some(renewed) => {
                    let age = now - renewed;
                    r.sample(
                        "node_lease_age_seconds",
                        "Seconds since the kubelet last renewed the node's Lease",
                        age.max(0.0),
                        &[("node", name)],
                    );
                    if age > stale_after {
                        r.finding(
                            &subject,
                            severe,
                            format!(
                                "kubelet heartbeat stale: its Lease was last renewed {} ago (allowed {})",
                                human(age),
                                human(stale_after)
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Kubelet versions that differ (`version_skew`: by minor, by patch, or off).
fn version_skew(p: &Params, versions: &BTreeMap<String, Vec<&str>>, r: &mut ReportBuilder) {
    if p.version_skew == "off" || versions.len() < 2 {
        return;
    }
    let minors: std::collections::BTreeSet<_> = versions.keys().map(|v| minor_of(v)).collect();
    let status = if p.version_skew == "patch" || minors.len() > 1 {
        Status::Warning
    } else {
        Status::Ok
    };
    let list: Vec<String> = versions
        .iter()
        .map(|(v, names)| match names.len() {
            1..=3 => format!(
                "{} on {}",
                if v.is_empty() { "unknown" } else { v },
                names.join(", ")
            ),
            n => format!("{v} on {n} nodes"),
        })
        .collect();
    r.note(
        "kubelet versions",
        status,
        format!("versions differ: {}", list.join("; ")),
    );
    r.raise(status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_795_166_043.0; // 2026-11-20T09:14:03Z

    fn at(secs_ago: f64) -> String {
        // Whole seconds are enough here: build the timestamp back from NOW.
        let t = (NOW - secs_ago) as i64;
        let days = t.div_euclid(86_400);
        let rem = t.rem_euclid(86_400);
        // 2026-11-20 is day 20_777 since the epoch.
        assert!((20_770..20_790).contains(&days), "test times stay near NOW");
        format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}Z",
            20 + days - 20_777,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }

    fn node(name: &str, ready: &str, since: f64) -> Value {
        json!({
            "metadata": {"name": name},
            "spec": {},
            "status": {
                "nodeInfo": {"kubeletVersion": "v1.33.5+rke2r1"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                    {"type": "Ready", "status": ready, "reason": if ready == "True" { "KubeletReady" } else { "KubeletNotReady" },
                     "message": "kubelet is posting ready status", "lastTransitionTime": at(since),
                     "lastHeartbeatTime": at(600.0)}
                ]
            }
        })
    }

    fn lease(name: &str, renewed_ago: f64) -> Lease {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "kube-node-lease"},
               "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": at(renewed_ago)}}))
        .unwrap()
    }

    fn cluster() -> (Vec<Value>, Vec<Lease>) {
        let names = ["rke2-server-1", "rke2-agent-1", "rke2-agent-2"];
        (
            names.iter().map(|n| node(n, "True", 86_400.0)).collect(),
            names.iter().map(|n| lease(n, 3.0)).collect(),
        )
    }

    fn judge(p: &Params, nodes: &[Value], leases: Vec<Lease>) -> Report {
        assess(p, nodes, Ok(leases), NOW)
    }

    fn text(r: &Report) -> String {
        r.findings
            .iter()
            .map(|f| format!("{:?} {}: {}\n", f.status, f.subject, f.message))
            .collect()
    }

    #[test]
    fn healthy_nodes_are_ok_even_with_an_old_heartbeat_time() {
        let (nodes, leases) = cluster();
        let r = judge(&Params::default(), &nodes, leases);
        assert_eq!(r.status, Status::Ok, "{}", text(&r));
        assert_eq!(r.summary, "3/3 nodes Ready");
    }

    #[test]
    fn not_ready_is_critical_after_the_grace_period() {
        let (mut nodes, leases) = cluster();
        nodes[1] = node("rke2-agent-1", "False", 30.0);
        let r = judge(&Params::default(), &nodes, leases.clone());
        assert_eq!(r.status, Status::Critical, "{}", text(&r));
        assert!(
            text(&r).contains("node rke2-agent-1: NotReady for 30s"),
            "{}",
            text(&r)
        );
        let p = Params {
            not_ready_grace_seconds: 120,
            ..Params::default()
        };
        let r = judge(&p, &nodes, leases);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(text(&r).contains("within the grace period"), "{}", text(&r));
    }

    #[test]
    fn a_new_node_not_yet_ready_is_joining_within_its_grace() {
        let (mut nodes, leases) = cluster();
        let mut new = node("rke2-agent-3", "False", 90.0);
        new["metadata"]["creationTimestamp"] = json!(at(120.0));
        nodes.push(new);
        let r = judge(&Params::default(), &nodes, leases.clone());
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(
            text(&r).contains("NotReady for 1m30s")
                && text(&r)
                    .contains("(joining: created 2m ago, ready within join_grace_seconds 600s)"),
            "{}",
            text(&r)
        );
        // Still not Ready long after it was created: critical.
        nodes[3]["metadata"]["creationTimestamp"] = json!(at(3_600.0));
        assert_eq!(
            judge(&Params::default(), &nodes, leases).status,
            Status::Critical
        );
    }

    #[test]
    fn a_lease_is_stale_past_its_duration_and_severe_as_asked() {
        let judge = |renewed_ago: f64, severe: Status| {
            let mut r = ReportBuilder::new();
            let l = lease("n1", renewed_ago);
            lease_finding(&Params::default(), Some(&l), severe, NOW, "n1", &mut r);
            r.finish("")
        };
        assert_eq!(judge(30.0, Status::Critical).status, Status::Ok);
        let stale = judge(50.0, Status::Critical);
        assert_eq!(stale.status, Status::Critical);
        assert!(
            stale.findings[0]
                .message
                .contains("kubelet heartbeat stale")
        );
        assert_eq!(judge(50.0, severity(true)).status, Status::Warning);
        let mut r = ReportBuilder::new();
        lease_finding(
            &Params::default(),
            None,
            Status::Critical,
            NOW,
            "n1",
            &mut r,
        );
        assert_eq!(r.status(), Status::Warning);
    }

    #[test]
    fn unknown_ready_and_a_stale_lease_are_critical() {
        let (mut nodes, mut leases) = cluster();
        nodes[2] = node("rke2-agent-2", "Unknown", 300.0);
        leases[2] = lease("rke2-agent-2", 95.0);
        let r = judge(&Params::default(), &nodes, leases);
        assert_eq!(r.status, Status::Critical);
        let t = text(&r);
        assert!(
            t.contains("Ready Unknown (the kubelet stopped posting node status) for 5m:"),
            "{t}"
        );
        assert!(t.contains("last renewed 1m35s ago (allowed 40s)"), "{t}");
    }

    #[test]
    fn stale_lease_alone_is_critical_and_its_threshold_is_configurable() {
        let (nodes, mut leases) = cluster();
        leases[0] = lease("rke2-server-1", 60.0);
        assert_eq!(
            judge(&Params::default(), &nodes, leases.clone()).status,
            Status::Critical
        );
        let p = Params {
            lease_stale_seconds: Some(90),
            ..Params::default()
        };
        assert_eq!(judge(&p, &nodes, leases).status, Status::Ok);
    }

    #[test]
    fn pressure_warns_and_network_unavailable_is_critical() {
        let (mut nodes, leases) = cluster();
        nodes[0]["status"]["conditions"][1] = json!({"type": "DiskPressure", "status": "True", "reason": "KubeletHasDiskPressure", "message": "kubelet has disk pressure"});
        let r = judge(&Params::default(), &nodes, leases.clone());
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(r.summary.contains("1 under pressure"), "{}", r.summary);
        nodes[1]["status"]["conditions"].as_array_mut().unwrap().push(
            json!({"type": "NetworkUnavailable", "status": "True", "reason": "NoRouteCreated", "message": "Node created without a route"}),
        );
        assert_eq!(
            judge(&Params::default(), &nodes, leases).status,
            Status::Critical
        );
    }

    #[test]
    fn cordoned_nodes_are_reported_never_critical() {
        let (mut nodes, leases) = cluster();
        nodes[1] = node("rke2-agent-1", "False", 600.0);
        nodes[1]["spec"]["unschedulable"] = json!(true);
        let r = judge(&Params::default(), &nodes, leases);
        assert_eq!(r.status, Status::Warning, "{}", text(&r));
        assert!(
            text(&r).contains("cordoned (spec.unschedulable)"),
            "{}",
            text(&r)
        );
        assert!(r.summary.contains("1 cordoned"));
    }

    #[test]
    fn too_few_ready_nodes_is_critical() {
        let (nodes, leases) = cluster();
        let p = Params {
            min_ready: 4,
            ..Params::default()
        };
        let r = judge(&p, &nodes, leases);
        assert_eq!(r.status, Status::Critical);
        assert!(
            text(&r).contains("3 Ready nodes, at least 4 expected"),
            "{}",
            text(&r)
        );
        let r = judge(&Params::default(), &[], vec![]);
        assert_eq!(r.status, Status::Critical);
    }

    #[test]
    fn kubelet_version_skew_warns_by_minor_or_patch() {
        let (mut nodes, leases) = cluster();
        nodes[2]["status"]["nodeInfo"]["kubeletVersion"] = json!("v1.33.4+rke2r1");
        assert_eq!(
            judge(&Params::default(), &nodes, leases.clone()).status,
            Status::Ok
        );
        let p = Params {
            version_skew: "patch".into(),
            ..Params::default()
        };
        assert_eq!(judge(&p, &nodes, leases.clone()).status, Status::Warning);
        nodes[2]["status"]["nodeInfo"]["kubeletVersion"] = json!("v1.32.9+rke2r1");
        let r = judge(&Params::default(), &nodes, leases.clone());
        assert_eq!(r.status, Status::Warning);
        assert!(
            text(&r).contains("v1.32.9+rke2r1 on rke2-agent-2"),
            "{}",
            text(&r)
        );
        let p = Params {
            version_skew: "off".into(),
            ..Params::default()
        };
        assert_eq!(judge(&p, &nodes, leases).status, Status::Ok);
    }

    #[test]
    fn missing_leases_warn_and_unreadable_leases_are_noted() {
        let (nodes, mut leases) = cluster();
        leases.pop();
        let r = judge(&Params::default(), &nodes, leases);
        assert_eq!(r.status, Status::Warning);
        let r = assess(
            &Params::default(),
            &nodes,
            Err("HTTP 403 Forbidden".into()),
            NOW,
        );
        assert_eq!(r.status, Status::Ok, "{}", text(&r));
        assert!(text(&r).contains("heartbeats not judged"), "{}", text(&r));
    }
}
