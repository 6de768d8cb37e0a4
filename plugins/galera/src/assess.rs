//! The verdict on a Galera cluster from every node's `wsrep_%` status. Pure:
//! unit-tested natively.

use std::collections::BTreeMap;

use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Granted mysql endpoint whose URLs are the nodes.
    pub endpoint: String,
    /// Nodes the cluster should have; default: the configured URLs.
    pub expected_size: Option<u32>,
    /// Fraction of time paused by flow control (since the last check) that warns.
    pub flow_control_warning: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            endpoint: "galera".into(),
            expected_size: None,
            flow_control_warning: 0.1,
        }
    }
}

/// Why a node did not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct NoAnswer {
    /// unreachable, auth, timeout, tls, server, denied.
    pub kind: String,
    pub message: String,
}

/// One node: its address and `wsrep_%` status and variables, or why it did not answer.
#[derive(Debug, Clone)]
pub struct Node {
    pub addr: String,
    pub answer: Result<BTreeMap<String, String>, NoAnswer>,
}

/// A reachable node's state, read from its status.
#[derive(Debug, Clone)]
struct State<'a> {
    name: String,
    status: &'a BTreeMap<String, String>,
}

impl State<'_> {
    fn get(&self, k: &str) -> &str {
        self.status.get(k).map_or("", String::as_str)
    }
    fn num(&self, k: &str) -> f64 {
        self.get(k).parse().unwrap_or(0.0)
    }
    fn primary(&self) -> bool {
        self.get("wsrep_cluster_status") == "Primary"
    }
    /// The component's size and configuration, as people read them.
    fn shape(&self) -> String {
        format!(
            "size {}, conf {}",
            self.get("wsrep_cluster_size"),
            self.get("wsrep_cluster_conf_id")
        )
    }
    /// What identifies the component a node belongs to: its membership as the node
    /// sees it. The conf id alone is not enough: separately bootstrapped
    /// components can have equal ids. (The addresses read `AUTO` where
    /// `wsrep_node_incoming_address` is not set: people are shown node names.)
    fn component(&self) -> String {
        let mut addrs: Vec<&str> = self.get("wsrep_incoming_addresses").split(',').collect();
        addrs.sort_unstable();
        format!(
            "size {}, conf {}, members {}",
            self.get("wsrep_cluster_size"),
            self.get("wsrep_cluster_conf_id"),
            addrs.join(",")
        )
    }
}

/// Judge the cluster.
pub fn assess(p: &Params, nodes: &[Node]) -> Report {
    let mut r = ReportBuilder::new();
    let mut states = Vec::new();
    for n in nodes {
        match &n.answer {
            Ok(status) => {
                let name = match status.get("wsrep_node_name") {
                    Some(name) if !name.is_empty() => format!("{name} ({})", n.addr),
                    _ => n.addr.clone(),
                };
                states.push(State { name, status });
            }
            Err(f) => {
                let what = if f.kind == "auth" {
                    format!("refuses the login: {}", f.message)
                } else {
                    format!("{}: {}", f.kind, f.message)
                };
                r.note(n.addr.clone(), Status::Unknown, what);
            }
        }
    }
    if states.is_empty() {
        let mut report = r.finish(if nodes.is_empty() {
            "no node configured".to_string()
        } else {
            format!("no node could be observed (0/{})", nodes.len())
        });
        report.status = Status::Unknown;
        return report;
    }
    node_samples(&states, &mut r);
    let bootstrap = bootstrap_node(&states);
    let (summary, members_named) = component_findings(p, nodes.len(), &states, &bootstrap, &mut r);
    node_findings(p, &states, &mut r);
    if r.status() == Status::Ok {
        for s in &states {
            r.finding(
                &s.name,
                Status::Ok,
                format!("Synced, Primary, size {}", s.get("wsrep_cluster_size")),
            );
        }
    }
    let summary = match members_named {
        Some(names) if r.status() == Status::Ok => format!("{}: {names}", summary),
        _ => summary,
    };
    r.finish(summary)
}

/// Per node: size, Primary, ready, state, history, flow control, queue.
fn node_samples(states: &[State], r: &mut ReportBuilder) {
    for s in states {
        let l = [("node", s.name.as_str())];
        r.sample(
            "cluster_size",
            "Nodes in the node's component",
            s.num("wsrep_cluster_size"),
            &l,
        );
        r.sample(
            "primary",
            "1 when the node is in a Primary component",
            f64::from(u8::from(s.primary())),
            &l,
        );
        r.sample(
            "ready",
            "1 when wsrep_ready is ON",
            f64::from(u8::from(s.get("wsrep_ready") == "ON")),
            &l,
        );
        r.sample(
            "local_state",
            "wsrep_local_state: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced",
            s.num("wsrep_local_state"),
            &l,
        );
        r.sample(
            "last_committed",
            "wsrep_last_committed",
            s.num("wsrep_last_committed"),
            &l,
        );
        r.sample(
            "flow_control_paused",
            "Fraction of time paused by flow control",
            s.num("wsrep_flow_control_paused"),
            &l,
        );
        r.sample(
            "recv_queue",
            "wsrep_local_recv_queue",
            s.num("wsrep_local_recv_queue"),
            &l,
        );
    }
}

/// The node to bootstrap from: the highest last committed among reachable
/// nodes, as `name (wsrep_last_committed N)`.
fn bootstrap_node(states: &[State]) -> String {
    states
        .iter()
        .max_by(|a, b| {
            a.num("wsrep_last_committed")
                .total_cmp(&b.num("wsrep_last_committed"))
        })
        .map(|s| {
            format!(
                "{} (wsrep_last_committed {})",
                s.name,
                s.get("wsrep_last_committed")
            )
        })
        .unwrap_or_default()
}

/// Primary components by membership: none (quorum lost), one (non-Primary
/// nodes, size), several (split-brain). Returns the summary and, with one
/// component, its members' names.
fn component_findings(
    p: &Params,
    configured: usize,
    states: &[State],
    bootstrap: &str,
    r: &mut ReportBuilder,
) -> (String, Option<String>) {
    // The most nodes the cluster can have: a node is in one component at most.
    let nodes = p.expected_size.unwrap_or(0).max(configured as u32);
    let mut components: BTreeMap<String, Vec<&State>> = BTreeMap::new();
    for s in states.iter().filter(|s| s.primary()) {
        components.entry(s.component()).or_default().push(s);
    }
    let names = |members: &[&State]| {
        members
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut members_named = None;
    let summary = match components.len() {
        0 => {
            r.finding(
                "cluster",
                Status::Critical,
                format!(
                    "no Primary component: quorum lost on every reachable node; bootstrap from {bootstrap} \
                     (SET GLOBAL wsrep_provider_options='pc.bootstrap=YES' on it)"
                ),
            );
            format!("no Primary component; bootstrap from {bootstrap}")
        }
        1 => {
            let (_, members) = components.iter().next().expect("one component");
            let size = members[0].num("wsrep_cluster_size") as u32;
            let expected = p.expected_size.unwrap_or(configured as u32);
            let outside: Vec<&State> = states.iter().filter(|s| !s.primary()).collect();
            // A node belongs to one component: when the Primary counts more
            // nodes than the cluster has besides the non-Primary ones, it
            // still counts them: a view change is under way (a node just
            // started and joining, or one cut off and about to be dropped).
            let joining = size as usize + outside.len() > nodes as usize;
            for s in outside {
                let what = format!(
                    "{} (wsrep_connected {}) while {} form the Primary component",
                    s.get("wsrep_cluster_status"),
                    s.get("wsrep_connected"),
                    names(members)
                );
                if joining {
                    r.finding(
                        &s.name,
                        Status::Warning,
                        format!(
                            "{what} of size {size}, which counts it: a view change in progress \
                             (a node joining becomes Primary with the next view; one cut off is \
                             dropped from it after Galera's suspect timeout)"
                        ),
                    );
                } else {
                    r.finding(&s.name, Status::Critical, what);
                }
            }
            if size < expected {
                r.finding(
                    "cluster",
                    Status::Warning,
                    format!(
                        "cluster size {size} of {expected} expected (Primary: {})",
                        names(members)
                    ),
                );
            }
            // The members are named when all is well; otherwise the host puts
            // the worst finding first, and a list of every node would hide it.
            members_named = Some(names(members));
            format!(
                "Primary component of {size}/{expected} ({})",
                members[0].shape()
            )
        }
        n => {
            let sides: Vec<String> = components
                .values()
                .map(|members| format!("{{{}}} ({})", names(members), members[0].shape()))
                .collect();
            // A node belongs to one component: components whose sizes add up
            // to more nodes than the cluster has share nodes, so they are the
            // views of one cluster before and after a view change that has
            // not reached every node yet, not a split.
            let sizes: u32 = components
                .values()
                .map(|members| members[0].num("wsrep_cluster_size") as u32)
                .sum();
            if sizes > nodes {
                r.finding(
                    "cluster",
                    Status::Warning,
                    format!(
                        "view change in progress: {}: sizes adding up to {sizes}, more than the \
                         cluster's {nodes} nodes, so these are one cluster's views before and after \
                         a member left or joined; they agree within seconds",
                        sides.join(" and ")
                    ),
                );
                return (
                    format!("view change in progress ({})", sides.join(" and ")),
                    None,
                );
            }
            r.finding(
                "cluster",
                Status::Critical,
                format!(
                    "split-brain: {n} Primary components: {}; stop the writes to all but one and \
                     rejoin the others; the most advanced node is {bootstrap}",
                    sides.join(" and ")
                ),
            );
            format!("split-brain: {n} Primary components; most advanced node {bootstrap}")
        }
    };
    (summary, members_named)
}

/// Per node: state, readiness, history, flow control.
fn node_findings(p: &Params, states: &[State], r: &mut ReportBuilder) {
    let uuids: BTreeMap<&str, Vec<&str>> = states.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.get("wsrep_cluster_state_uuid"))
            .or_default()
            .push(s.name.as_str());
        m
    });
    let majority_uuid = uuids
        .iter()
        .max_by_key(|(_, v)| v.len())
        .map(|(u, _)| *u)
        .unwrap_or("");
    for s in states {
        let uuid = s.get("wsrep_cluster_state_uuid");
        if uuids.len() > 1 && uuid != majority_uuid {
            r.finding(
                &s.name,
                Status::Critical,
                format!("cluster state UUID {uuid} differs from the others' {majority_uuid}: another cluster's history"),
            );
        }
        let state = s.get("wsrep_local_state_comment");
        // A node joining refuses queries until it is Synced: part of the join.
        // `Joining`, `Joining: receiving State Transfer`, `Joiner`, `Joined`.
        let joining = state.starts_with("Join");
        if s.primary() && s.get("wsrep_ready") != "ON" && !joining {
            r.finding(
                &s.name,
                Status::Critical,
                "wsrep_ready is OFF: the node refuses queries",
            );
        }
        if s.primary() && state != "Synced" {
            // The steps of a node (re)joining: which transition, and when it ends.
            let why = match state {
                "Joined" => {
                    " (applying the write-sets queued during its state transfer; Synced next)"
                }
                s if s.starts_with("Join") => {
                    " (receiving a state transfer: IST, or SST when the donor's gcache no longer \
                     holds what it missed; Synced once applied)"
                }
                "Donor/Desynced" => {
                    " (sending a state transfer to a joining node, or desynced by wsrep_desync; \
                     Synced again when that ends)"
                }
                _ => "",
            };
            r.finding(
                &s.name,
                Status::Warning,
                format!("not Synced: {state}{why}"),
            );
        }
        let paused = s.num("wsrep_flow_control_paused");
        if paused > p.flow_control_warning {
            r.finding(
                &s.name,
                Status::Warning,
                format!(
                    "paused by flow control {:.0} % of the time (warning above {:.0} %)",
                    paused * 100.0,
                    p.flow_control_warning * 100.0
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, size: u32, conf: u32, status: &str, members: &str, committed: u64) -> Node {
        let kv = [
            ("wsrep_node_name", name.to_string()),
            ("wsrep_cluster_size", size.to_string()),
            ("wsrep_cluster_conf_id", conf.to_string()),
            ("wsrep_cluster_status", status.to_string()),
            ("wsrep_incoming_addresses", members.to_string()),
            ("wsrep_last_committed", committed.to_string()),
            (
                "wsrep_ready",
                if status == "Primary" { "ON" } else { "OFF" }.to_string(),
            ),
            ("wsrep_connected", "ON".to_string()),
            (
                "wsrep_local_state_comment",
                if status == "Primary" {
                    "Synced"
                } else {
                    "Initialized"
                }
                .to_string(),
            ),
            ("wsrep_local_state", "4".to_string()),
            ("wsrep_cluster_state_uuid", "u1".to_string()),
            ("wsrep_flow_control_paused", "0".to_string()),
        ];
        Node {
            addr: format!("{name}:3306"),
            answer: Ok(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        }
    }

    const ALL: &str = "a:3306,b:3306,c:3306";

    fn healthy() -> Vec<Node> {
        vec![
            node("a", 3, 3, "Primary", ALL, 10),
            node("b", 3, 3, "Primary", ALL, 10),
            node("c", 3, 3, "Primary", ALL, 10),
        ]
    }

    fn set(n: &mut Node, k: &str, v: &str) {
        n.answer.as_mut().unwrap().insert(k.into(), v.into());
    }

    /// The reachable nodes' states, named by address.
    fn states(nodes: &[Node]) -> Vec<State<'_>> {
        nodes
            .iter()
            .map(|n| State {
                name: n.addr.clone(),
                status: n.answer.as_ref().unwrap(),
            })
            .collect()
    }

    #[test]
    fn the_node_to_bootstrap_from_is_the_most_advanced() {
        let nodes = [
            node("n1", 1, 5, "non-Primary", "a", 5),
            node("n2", 1, 5, "non-Primary", "b", 9),
        ];
        assert_eq!(
            bootstrap_node(&states(&nodes)),
            "n2:3306 (wsrep_last_committed 9)"
        );
    }

    #[test]
    fn node_findings_name_the_state_transfer_step() {
        let mut nodes = [node("n1", 2, 5, "Primary", "a,b", 9)];
        for (state, says) in [
            ("Joining", "receiving a state transfer: IST, or SST"),
            (
                "Joining: receiving State Transfer",
                "receiving a state transfer: IST, or SST",
            ),
            ("Joined", "applying the write-sets queued"),
            (
                "Donor/Desynced",
                "sending a state transfer to a joining node",
            ),
        ] {
            if let Ok(kv) = &mut nodes[0].answer {
                kv.insert("wsrep_local_state_comment".into(), state.into());
            }
            let mut r = ReportBuilder::new();
            node_findings(&Params::default(), &states(&nodes), &mut r);
            let report = r.finish("");
            assert_eq!(report.status, Status::Warning);
            assert!(
                report.findings[0]
                    .message
                    .starts_with(&format!("not Synced: {state} ("))
                    && report.findings[0].message.contains(says),
                "{:?}",
                report.findings
            );
        }
    }

    #[test]
    fn healthy_is_ok() {
        let r = assess(&Params::default(), &healthy());
        assert_eq!(r.status, Status::Ok, "{:?}", r.findings);
        assert_eq!(
            r.summary,
            "Primary component of 3/3 (size 3, conf 3): a (a:3306), b (b:3306), c (c:3306)"
        );
    }

    #[test]
    fn members_are_named_even_without_incoming_addresses() {
        // wsrep_node_incoming_address unset: every node reports AUTO.
        let nodes: Vec<Node> = ["a", "b", "c"]
            .iter()
            .map(|n| node(n, 3, 3, "Primary", "AUTO,AUTO,AUTO", 10))
            .collect();
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Ok, "{:?}", r.findings);
        assert!(!r.summary.contains("AUTO"), "{}", r.summary);
        assert!(
            r.summary.contains("a (a:3306), b (b:3306), c (c:3306)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_summary_not_ok_leaves_the_problem_to_the_host_headline() {
        // A desynced node: the members are not listed, so that the host's
        // headline (the worst finding first) applies.
        let mut nodes = healthy();
        set(&mut nodes[1], "wsrep_local_state_comment", "Donor/Desynced");
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Warning);
        assert_eq!(r.summary, "Primary component of 3/3 (size 3, conf 3)");
    }

    #[test]
    fn a_node_down_warns_and_the_others_decide() {
        let mut nodes = vec![
            node("a", 2, 4, "Primary", "a:3306,b:3306", 10),
            node("b", 2, 4, "Primary", "a:3306,b:3306", 10),
        ];
        nodes.push(Node {
            addr: "c:3306".into(),
            answer: Err(NoAnswer {
                kind: "unreachable".into(),
                message: "refused".into(),
            }),
        });
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.subject == "c:3306" && f.status == Status::Unknown)
        );
    }

    #[test]
    fn an_isolated_node_is_critical() {
        let mut nodes = healthy();
        nodes[0] = node("a", 2, 4, "Primary", "a:3306,b:3306", 10);
        nodes[1] = node("b", 2, 4, "Primary", "a:3306,b:3306", 10);
        nodes[2] = node("c", 1, u32::MAX, "non-Primary", "c:3306", 10);
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.findings
                .iter()
                .any(|f| f.subject.starts_with("c ") && f.message.contains("non-Primary")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn a_view_change_not_yet_seen_by_every_node_is_no_split_brain() {
        // c left cleanly: b already sees the new view (size 2), a not yet.
        let nodes = vec![
            node("a", 3, 3, "Primary", "a:3306,b:3306,c:3306", 7),
            node("b", 2, 4, "Primary", "a:3306,b:3306", 7),
        ];
        let p = Params {
            expected_size: Some(3),
            ..Params::default()
        };
        let r = assess(&p, &nodes);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.starts_with("view change in progress")),
            "{:?}",
            r.findings
        );
        assert!(
            r.summary.starts_with("view change in progress"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_non_primary_node_the_primary_counts_is_joining_one_it_excludes_is_cut_off() {
        // c just started: the Primary counts it (size 3), it is not Primary yet.
        let mut nodes = vec![
            node("a", 3, 6, "Primary", "a:3306,b:3306,c:3306", 9),
            node("b", 3, 6, "Primary", "a:3306,b:3306,c:3306", 9),
            node("c", 1, 0, "non-Primary", "", 0),
        ];
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("which counts it: a view change")),
            "{:?}",
            r.findings
        );
        // c cut off: the Primary (size 2) goes on without it.
        for i in 0..2 {
            nodes[i] = node(["a", "b"][i], 2, 7, "Primary", "a:3306,b:3306", 10);
        }
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Critical);
    }

    #[test]
    fn a_joined_node_refusing_queries_is_still_joining() {
        let mut nodes = vec![
            node("a", 2, 5, "Primary", "a:3306,b:3306", 9),
            node("b", 2, 5, "Primary", "a:3306,b:3306", 9),
        ];
        if let Ok(kv) = &mut nodes[1].answer {
            kv.insert("wsrep_ready".into(), "OFF".into());
            kv.insert("wsrep_local_state_comment".into(), "Joined".into());
        }
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Warning);
        if let Ok(kv) = &mut nodes[1].answer {
            kv.insert(
                "wsrep_local_state_comment".into(),
                "Joining: receiving State Transfer".into(),
            );
        }
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Warning);
        // Synced yet refusing queries: critical.
        if let Ok(kv) = &mut nodes[1].answer {
            kv.insert("wsrep_local_state_comment".into(), "Synced".into());
        }
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Critical);
    }

    #[test]
    fn two_primaries_with_equal_conf_ids_are_a_split_brain() {
        let nodes = vec![
            node("a", 2, 4, "Primary", "a:3306,b:3306", 12),
            node("b", 2, 4, "Primary", "a:3306,b:3306", 12),
            node("c", 1, 4, "Primary", "c:3306", 9),
        ];
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Critical);
        let f = r
            .findings
            .iter()
            .find(|f| f.message.contains("split-brain"))
            .expect("split-brain finding");
        assert!(
            f.message.contains("{a (a:3306), b (b:3306)}") && f.message.contains("{c (c:3306)}"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("(wsrep_last_committed 12)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn no_primary_recommends_the_most_advanced_node() {
        let nodes = vec![
            node("a", 1, u32::MAX, "non-Primary", "a:3306", 7),
            node("b", 1, u32::MAX, "non-Primary", "b:3306", 9),
        ];
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.summary
                .contains("bootstrap from b (b:3306) (wsrep_last_committed 9)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn desync_flow_control_and_foreign_history() {
        let mut nodes = healthy();
        set(&mut nodes[1], "wsrep_local_state_comment", "Donor/Desynced");
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Warning);
        let mut nodes = healthy();
        set(&mut nodes[0], "wsrep_flow_control_paused", "0.5");
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Warning);
        let mut nodes = healthy();
        set(&mut nodes[2], "wsrep_cluster_state_uuid", "u2");
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Critical);
        let mut nodes = healthy();
        set(&mut nodes[2], "wsrep_ready", "OFF");
        assert_eq!(assess(&Params::default(), &nodes).status, Status::Critical);
    }

    #[test]
    fn nothing_observable_is_unknown() {
        let nodes = vec![Node {
            addr: "a:3306".into(),
            answer: Err(NoAnswer {
                kind: "auth".into(),
                message: "Access denied".into(),
            }),
        }];
        let r = assess(&Params::default(), &nodes);
        assert_eq!(r.status, Status::Unknown);
        assert!(r.findings[0].message.contains("refuses the login"));
    }
}
