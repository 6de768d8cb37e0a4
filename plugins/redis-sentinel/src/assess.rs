//! The verdict on a Redis Sentinel deployment from what every sentinel and data
//! node answered. Pure: unit-tested natively.

use std::collections::{BTreeMap, BTreeSet};

use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Granted redis endpoint listing the sentinels.
    pub sentinels: String,
    /// Granted redis endpoint listing the data nodes (optional).
    pub nodes: String,
    /// Master names to check; default: every master the sentinels monitor.
    pub masters: Vec<String>,
    /// Replicas each master should have; default: the data nodes minus one.
    pub expected_replicas: Option<u32>,
    /// Replica lag (seconds) that warns.
    pub lag_warning_seconds: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            sentinels: "sentinels".into(),
            nodes: "redis".into(),
            masters: Vec::new(),
            expected_replicas: None,
            lag_warning_seconds: 10,
        }
    }
}

/// Why an endpoint did not answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// unreachable, auth, timeout, tls, server, denied.
    pub kind: String,
    pub message: String,
}

/// One master as a sentinel sees it (`SENTINEL MASTERS` fields).
#[derive(Debug, Clone)]
pub struct MasterView {
    pub addr: String,
    pub flags: BTreeSet<String>,
    pub quorum: u32,
    pub other_sentinels: u32,
    pub replicas: u32,
    pub config_epoch: u64,
    pub failover_timeout_ms: u64,
    pub failover_state: Option<String>,
    /// Milliseconds since the master was objectively down, when it is.
    pub o_down_ms: Option<u64>,
    /// Milliseconds since this sentinel marked the master subjectively down.
    pub s_down_ms: Option<u64>,
    /// Milliseconds since the master last answered this sentinel's PING.
    pub last_ok_ping_ms: Option<u64>,
    /// `down-after-milliseconds`: how long without a reply before `s_down`.
    pub down_after_ms: u64,
    /// Milliseconds since the sentinel saw the master report its role: recent
    /// after a failover promoted it.
    pub role_reported_ms: Option<u64>,
    /// `SENTINEL CKQUORUM`: Ok(message) or Err(the NOQUORUM message).
    pub ckquorum: Result<String, String>,
    /// Replicas of the master (`SENTINEL REPLICAS`) that still report role
    /// master, with the milliseconds since they began to: a demoted master that
    /// Sentinel reconfigures as a replica (`+convert-to-slave`) once it has
    /// reported so for 8 s.
    pub demoting: BTreeMap<String, u64>,
    /// The master's replicas (`SENTINEL REPLICAS`, when it answered): address,
    /// and why Sentinel would not promote it (`None`: it could).
    pub candidates: Option<BTreeMap<String, Option<String>>>,
}

/// How long a demoted master may go on reporting role master (beyond the
/// failover timeout, or since it started again) before it is no longer a
/// transition: Sentinel converts it 8 s after it reports so, and reads a
/// replica's role every 10 s.
const DEMOTION_GRACE_MS: u64 = 20_000;

/// Redis's default `repl-timeout`: a full sync that transfers nothing for this
/// long is aborted.
const REPL_TIMEOUT_S: u64 = 60;

/// What one sentinel answered.
#[derive(Debug, Clone, Default)]
pub struct SentinelView {
    pub tilt: bool,
    pub masters: BTreeMap<String, MasterView>,
}

/// A replica as the master's `INFO replication` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaLink {
    pub addr: String,
    pub state: String,
    pub lag: u64,
}

/// What one data node answered (`INFO replication`).
#[derive(Debug, Clone, Default)]
pub struct NodeView {
    /// `master` or `slave`.
    pub role: String,
    /// For a replica: the master it follows, host:port.
    pub master_addr: Option<String>,
    /// For a replica: `up` or `down`.
    pub link_up: bool,
    pub link_down_seconds: Option<u64>,
    /// For a replica in a full sync from its master (`master_sync_in_progress`):
    /// seconds since the sync last transferred data.
    pub sync_io_seconds: Option<u64>,
    /// For a master: its replicas.
    pub replicas: Vec<ReplicaLink>,
    /// For a master: seconds since the server started (`INFO server`), when read.
    pub uptime_seconds: Option<u64>,
    /// For a master: it was a replica before (`second_repl_offset` set: it
    /// keeps its former master's replication id), as a promoted one is and a
    /// freshly started one is not.
    pub was_replica: bool,
}

/// Everything gathered for one run.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// (address, answer) per configured sentinel.
    pub sentinels: Vec<(String, Result<SentinelView, Failure>)>,
    /// (address, answer) per configured data node.
    pub nodes: Vec<(String, Result<NodeView, Failure>)>,
}

fn join<T: AsRef<str>>(items: &[T]) -> String {
    items
        .iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Judge the deployment.
pub fn assess(p: &Params, obs: &Observation) -> Report {
    let mut r = ReportBuilder::new();
    let configured = obs.sentinels.len();
    let reachable: Vec<(&String, &SentinelView)> = obs
        .sentinels
        .iter()
        .filter_map(|(a, s)| s.as_ref().ok().map(|v| (a, v)))
        .collect();
    r.sample(
        "sentinels_configured",
        "Sentinels configured",
        configured as f64,
        &[],
    );
    r.sample(
        "sentinels_reachable",
        "Sentinels that answered",
        reachable.len() as f64,
        &[],
    );
    for (addr, s) in &obs.sentinels {
        r.sample(
            "sentinel_up",
            "1 when the sentinel answered",
            f64::from(u8::from(s.is_ok())),
            &[("sentinel", addr)],
        );
        let subject = format!("sentinel {addr}");
        match s {
            Err(f) if f.kind == "auth" => r.finding(
                subject,
                Status::Warning,
                format!("authentication failed: {}", f.message),
            ),
            Err(f) => r.finding(
                subject,
                Status::Warning,
                format!("{}: {}", f.kind, f.message),
            ),
            Ok(v) if v.tilt => r.finding(
                subject,
                Status::Warning,
                "in TILT mode (clock jump or overload): it acts on nothing until it leaves TILT",
            ),
            Ok(_) => {}
        }
    }
    if reachable.is_empty() {
        let failures: Vec<&Failure> = obs
            .sentinels
            .iter()
            .filter_map(|(_, s)| s.as_ref().err())
            .collect();
        let same_kind = |k: &str| !failures.is_empty() && failures.iter().all(|f| f.kind == k);
        let first = failures.first().map(|f| f.message.as_str()).unwrap_or("");
        let why = if configured == 0 {
            "no sentinel configured".to_string()
        } else if same_kind("auth") {
            format!("authentication failed on every sentinel ({configured}): {first}")
        } else if same_kind("tls") {
            format!("TLS failed on every sentinel ({configured}): {first}")
        } else {
            format!("no sentinel reachable (0/{configured}): {first}")
        };
        let mut report = r.finish(why.clone());
        report.status = Status::Unknown;
        report.summary = why;
        return report;
    }

    let names: Vec<String> = if p.masters.is_empty() {
        let mut all = BTreeSet::new();
        for (_, v) in &reachable {
            all.extend(v.masters.keys().cloned());
        }
        all.into_iter().collect()
    } else {
        p.masters.clone()
    };
    if names.is_empty() {
        r.finding(
            "sentinels",
            Status::Critical,
            "the sentinels monitor no master",
        );
    }
    let mut summaries = Vec::new();
    for name in &names {
        summaries.push(assess_master(p, obs, &reachable, name, &mut r));
    }
    let summary = format!(
        "{}; {}/{} sentinels reachable",
        join(&summaries),
        reachable.len(),
        configured
    );
    r.finish(summary)
}

/// Judge one master; returns its part of the summary.
/// When the sentinels disagree because some have not yet learnt of a completed
/// failover, the address the newest configuration names: every sentinel naming it
/// has a higher config epoch than every sentinel naming another address.
fn converging(views: &[(&String, &MasterView)]) -> Option<String> {
    let newest = views.iter().max_by_key(|(_, m)| m.config_epoch)?.1;
    let lowest_newest = views
        .iter()
        .filter(|(_, m)| m.addr == newest.addr)
        .map(|(_, m)| m.config_epoch)
        .min()?;
    let highest_other = views
        .iter()
        .filter(|(_, m)| m.addr != newest.addr)
        .map(|(_, m)| m.config_epoch)
        .max()?;
    (lowest_newest > highest_other).then(|| newest.addr.clone())
}

/// Why no replica can take over a master that is down, when every sentinel
/// that listed its replicas would promote none (`None`: one could, or no
/// sentinel answered `SENTINEL REPLICAS`).
fn no_candidate(views: &[&MasterView]) -> Option<String> {
    let mut why: BTreeMap<&str, &str> = BTreeMap::new();
    let mut read = false;
    for m in views {
        let Some(candidates) = &m.candidates else {
            continue;
        };
        read = true;
        for (addr, reason) in candidates {
            match reason {
                None => return None,
                Some(r) => {
                    why.entry(addr).or_insert(r);
                }
            }
        }
    }
    if !read {
        return None;
    }
    Some(if why.is_empty() {
        "the sentinels know no replica".into()
    } else {
        why.iter()
            .map(|(a, r)| format!("{a} ({r})"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn assess_master(
    p: &Params,
    obs: &Observation,
    reachable: &[(&String, &SentinelView)],
    name: &str,
    r: &mut ReportBuilder,
) -> String {
    let subject = format!("master {name}");
    let mut views = Vec::new();
    for (addr, v) in reachable {
        match v.masters.get(name) {
            Some(m) => views.push((*addr, m)),
            None => r.finding(
                format!("sentinel {addr}"),
                Status::Warning,
                format!("does not monitor master {name}"),
            ),
        }
    }
    let Some((_, first)) = views.first() else {
        r.finding(
            subject,
            Status::Critical,
            format!("no reachable sentinel monitors {name}"),
        );
        return format!("{name}: not monitored");
    };
    // A transition Sentinel is carrying out within its own bound (a failover,
    // the sentinels converging after one): the status is at most a warning
    // while it lasts, and says which transition.
    let failover = failover(&views);
    let (master_addr, converging) = agreed_master(&views, failover.as_ref(), &subject, r);
    let (quorum, known) = quorum_findings(&views, reachable.len(), name, &subject, r);
    let (state, transition) =
        master_state(obs, &views, &master_addr, failover.as_ref(), &subject, r);
    let transition = transition.or(converging);
    let epoch = views.iter().map(|(_, m)| m.config_epoch).max().unwrap_or(0);
    r.sample(
        "config_epoch",
        "Config epoch of the master: it grows with every failover",
        epoch as f64,
        &[("master", name)],
    );

    // Data nodes.
    let replicas = if obs.nodes.is_empty() {
        first.replicas
    } else {
        let demoting = demoting(obs, &views, &master_addr);
        let reconfiguring = reconfiguring(&views, &master_addr);
        let transitions = Transitions {
            any: transition.as_deref(),
            reconfiguring: reconfiguring.as_deref(),
        };
        assess_nodes(p, obs, name, &master_addr, transitions, &demoting, r)
    };
    r.sample(
        "replicas_connected",
        "Replicas connected to the master",
        f64::from(replicas),
        &[("master", name)],
    );
    if state == "ok" && r.status() == Status::Ok {
        r.finding(
            &subject,
            Status::Ok,
            format!(
                "master {master_addr}, {replicas} replicas, quorum {quorum} of {known} sentinels"
            ),
        );
    }
    format!("{name}: master {master_addr} {state}, {replicas} replicas")
}

/// A failover a sentinel reports, and whether it is still within Sentinel's
/// own bound, `failover-timeout` (from when the master went objectively down;
/// a failover asked for with SENTINEL FAILOVER has no such start).
struct Failover<'a> {
    leader: &'a str,
    view: &'a MasterView,
    elapsed_ms: u64,
    within: bool,
}

fn failover<'a>(views: &[(&'a String, &'a MasterView)]) -> Option<Failover<'a>> {
    views
        .iter()
        .find(|(_, m)| m.flags.contains("failover_in_progress") || m.failover_state.is_some())
        .map(|(leader, m)| {
            let elapsed_ms = m.o_down_ms.unwrap_or(0);
            Failover {
                leader: leader.as_str(),
                view: m,
                elapsed_ms,
                within: m.failover_timeout_ms == 0 || elapsed_ms <= m.failover_timeout_ms,
            }
        })
}

/// The master's address as the sentinels agree on it, or the one a transition
/// leads to (a failover's promoted replica, the newest configuration), with
/// that transition; disagreement without one is critical.
fn agreed_master(
    views: &[(&String, &MasterView)],
    failover: Option<&Failover>,
    subject: &str,
    r: &mut ReportBuilder,
) -> (String, Option<String>) {
    // Which address each sentinel reports.
    let mut by_addr: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (addr, m) in views {
        by_addr
            .entry(m.addr.as_str())
            .or_default()
            .push(addr.as_str());
    }
    let mut transition: Option<String> = None;
    let master_addr = if by_addr.len() > 1 {
        let sides: Vec<String> = by_addr
            .iter()
            .map(|(a, s)| {
                let epochs: BTreeSet<u64> = views
                    .iter()
                    .filter(|(_, m)| m.addr == *a)
                    .map(|(_, m)| m.config_epoch)
                    .collect();
                let epochs: Vec<String> = epochs.iter().map(u64::to_string).collect();
                format!("{a} (according to {}, epoch {})", join(s), epochs.join("/"))
            })
            .collect();
        // The sentinel carrying out a failover already names the promoted
        // replica; the others learn it when it is done.
        let leading = failover
            .filter(|f| f.within)
            .map(|f| (f.leader, f.view.addr.clone()));
        match (converging(views), leading) {
            (_, Some((leader, promoted))) => {
                r.finding(
                    subject,
                    Status::Warning,
                    format!(
                        "sentinels disagree on the master while {leader} carries out a failover to {promoted}: {}",
                        sides.join(" vs ")
                    ),
                );
                promoted
            }
            // Some sentinels have not yet heard of the failover that the others
            // carried out: they learn it from the others' hello messages within
            // seconds.
            (Some(newest), None) => {
                let what = format!(
                    "sentinels converging on the master chosen by the latest failover: {}; the others learn it within seconds",
                    sides.join(" vs ")
                );
                r.finding(subject, Status::Warning, &what);
                transition = Some("the sentinels converge after a failover".into());
                newest
            }
            (None, None) => {
                r.finding(
                    subject,
                    Status::Critical,
                    format!("sentinels disagree on the master: {}", sides.join(" vs ")),
                );
                // The address most sentinels report.
                by_addr
                    .iter()
                    .max_by_key(|(_, s)| s.len())
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default()
            }
        }
    } else {
        views[0].1.addr.clone()
    };
    (master_addr, transition)
}

/// Quorum: CKQUORUM on every sentinel, and the sentinels we reach; returns
/// (quorum, sentinels known).
fn quorum_findings(
    views: &[(&String, &MasterView)],
    reachable: usize,
    name: &str,
    subject: &str,
    r: &mut ReportBuilder,
) -> (u32, u32) {
    let quorum = views.iter().map(|(_, m)| m.quorum).max().unwrap_or(0);
    let known = views
        .iter()
        .map(|(_, m)| m.other_sentinels + 1)
        .max()
        .unwrap_or(0);
    r.sample(
        "quorum",
        "Sentinel quorum of the master",
        f64::from(quorum),
        &[("master", name)],
    );
    r.sample(
        "sentinels_known",
        "Sentinels monitoring the master, as the sentinels know them",
        f64::from(known),
        &[("master", name)],
    );
    let noquorum: Vec<String> = views
        .iter()
        .filter_map(|(a, m)| m.ckquorum.as_ref().err().map(|e| format!("{a}: {e}")))
        .collect();
    if !noquorum.is_empty() {
        r.finding(
            subject,
            Status::Critical,
            format!(
                "CKQUORUM fails, no failover possible: {}",
                noquorum.join("; ")
            ),
        );
    } else if (reachable as u32) < quorum {
        r.finding(
            subject,
            Status::Critical,
            format!("only {} sentinels reachable, quorum is {quorum}", reachable),
        );
    }
    (quorum, known)
}

/// Whether the master is down or failing over, and within which of Sentinel's
/// bounds: its state for the summary and the transition under way, if any.
fn master_state(
    obs: &Observation,
    views: &[(&String, &MasterView)],
    master_addr: &str,
    failover: Option<&Failover>,
    subject: &str,
    r: &mut ReportBuilder,
) -> (&'static str, Option<String>) {
    let mut state = "ok";
    let mut transition = None;
    let down: Vec<String> = views
        .iter()
        .filter(|(_, m)| m.flags.contains("s_down") || m.flags.contains("o_down"))
        .map(|(a, m)| {
            let f: Vec<&str> = m
                .flags
                .iter()
                .filter(|f| *f == "s_down" || *f == "o_down")
                .map(String::as_str)
                .collect();
            format!("{a} ({})", f.join(","))
        })
        .collect();
    // The master gone: the sentinels' flags, or, before they flag it, no answer
    // to vitals, confirmed by its replicas (their link down) or the sentinels
    // (no PING reply for a second: they PING every second). How long: the
    // longest either has gone without it.
    let ours: Vec<&MasterView> = views
        .iter()
        .filter(|(_, m)| m.addr == *master_addr)
        .map(|(_, m)| *m)
        .collect();
    let no_ping_ms = ours
        .iter()
        .filter_map(|m| m.last_ok_ping_ms)
        .min()
        .unwrap_or(0);
    let link_down_ms = obs
        .nodes
        .iter()
        .filter_map(|(_, n)| n.as_ref().ok())
        .filter(|v| {
            v.role != "master" && !v.link_up && v.master_addr.as_deref() == Some(master_addr)
        })
        .map(|v| v.link_down_seconds.unwrap_or(0).saturating_mul(1000))
        .max();
    let silent_ms = no_ping_ms.max(link_down_ms.unwrap_or(0));
    let unanswered = obs
        .nodes
        .iter()
        .any(|(a, n)| a == master_addr && n.as_ref().is_err_and(|f| f.kind != "auth"))
        && (link_down_ms.is_some() || (!ours.is_empty() && no_ping_ms >= 1000));
    let timeout_ms = views[0].1.failover_timeout_ms;
    let seconds = |ms: u64| ms as f64 / 1000.0;
    if let Some(&Failover {
        leader: a,
        view: m,
        elapsed_ms: elapsed,
        within,
    }) = failover
    {
        let over = !within;
        let what = format!(
            "failover in progress ({}, reported by {a}), master down for {:.1} s, failover timeout {:.1} s",
            m.failover_state.as_deref().unwrap_or("started"),
            seconds(elapsed),
            seconds(m.failover_timeout_ms)
        );
        state = "failing over";
        if over {
            r.finding(
                subject,
                Status::Critical,
                format!("{what}: it is taking longer than the timeout"),
            );
        } else {
            r.finding(subject, Status::Warning, what);
            transition = Some(format!(
                "a failover is in progress ({}, failover timeout {:.0} s)",
                m.failover_state.as_deref().unwrap_or("started"),
                seconds(m.failover_timeout_ms)
            ));
        }
    } else if !down.is_empty() || unanswered {
        state = "down";
        let down_for = ours.iter().filter_map(|m| m.s_down_ms).max().unwrap_or(0);
        let down_after = ours.iter().map(|m| m.down_after_ms).max().unwrap_or(0);
        let what = if down.is_empty() {
            format!(
                "master {master_addr} does not answer (for {:.1} s, by its replicas' links and the sentinels' PING)",
                seconds(silent_ms)
            )
        } else {
            format!(
                "master {master_addr} is down according to {}, for {:.1} s",
                join(&down),
                seconds(down_for)
            )
        };
        // Sentinel starts a failover once a quorum agrees; a leader election
        // that fails is retried after 2 x failover-timeout.
        let bound = 2 * timeout_ms;
        if let Some(why) = no_candidate(&ours) {
            r.finding(
                subject,
                Status::Critical,
                format!("{what}, and no replica can be promoted: {why}"),
            );
        } else if down.is_empty() && silent_ms <= down_after + bound {
            r.finding(
                subject,
                Status::Warning,
                format!(
                    "{what}: the sentinels mark it down after down-after-milliseconds ({:.1} s) and fail over",
                    seconds(down_after)
                ),
            );
            transition = Some("the sentinels are about to fail over a master that is down".into());
        } else if down.is_empty() {
            r.finding(
                subject,
                Status::Critical,
                format!(
                    "{what}, and the sentinels have not marked it down (down-after-milliseconds {:.1} s)",
                    seconds(down_after)
                ),
            );
        } else if down_for <= bound {
            r.finding(
                subject,
                Status::Warning,
                format!(
                    "{what}: the sentinels start a failover once a quorum agrees (a failed leader election is retried within 2 x failover-timeout, {:.0} s)",
                    seconds(bound)
                ),
            );
            transition = Some("the sentinels fail over a master that is down".into());
        } else {
            r.finding(
                subject,
                Status::Critical,
                format!(
                    "{what}, and no failover started within 2 x failover-timeout ({:.0} s)",
                    seconds(bound)
                ),
            );
        }
    }
    (state, transition)
}

/// How long ago (ms) the master was promoted by a failover, if that was within
/// failover-timeout plus a grace: the configuration has an epoch, and every
/// sentinel saw the master begin reporting its role within that bound.
fn promoted_ms(views: &[(&String, &MasterView)], master_addr: &str) -> Option<u64> {
    let bound = views[0].1.failover_timeout_ms + DEMOTION_GRACE_MS;
    let ours: Vec<&MasterView> = views
        .iter()
        .filter(|(_, m)| m.addr == *master_addr)
        .map(|(_, m)| *m)
        .collect();
    let ages: Option<Vec<u64>> = ours
        .iter()
        .map(|m| {
            m.role_reported_ms
                .filter(|t| m.config_epoch > 0 && *t <= bound)
        })
        .collect();
    ages.filter(|a| !a.is_empty())
        .and_then(|a| a.into_iter().max())
}

/// The transition right after a failover: Sentinel reconfigures the replicas to
/// follow the promoted master (their links are down until they connect).
fn reconfiguring(views: &[(&String, &MasterView)], master_addr: &str) -> Option<String> {
    let bound = views[0].1.failover_timeout_ms + DEMOTION_GRACE_MS;
    promoted_ms(views, master_addr).map(|ms| {
        format!(
            "the sentinels reconfigure the replicas after a failover ({master_addr} promoted {} s ago; bound {} s)",
            ms / 1000,
            bound / 1000
        )
    })
}

/// Nodes that still report role master while the sentinels reconfigure them
/// as replicas of `master_addr`, with how long they have (in ms).
fn demoting<'a>(
    obs: &'a Observation,
    views: &[(&'a String, &'a MasterView)],
    master_addr: &str,
) -> BTreeMap<&'a str, u64> {
    // Demoted masters the sentinels reconfigure, with the longest time any
    // sentinel has seen each of them still reporting role master.
    let mut demoting: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, m) in views.iter().filter(|(_, m)| m.addr == *master_addr) {
        for (addr, ms) in &m.demoting {
            let e = demoting.entry(addr.as_str()).or_default();
            *e = (*e).max(*ms);
        }
    }
    // Only right after a failover: a replica promoted by hand while no
    // failover happened is a split-brain at once.
    let bound = views[0].1.failover_timeout_ms + DEMOTION_GRACE_MS;
    let just_promoted = promoted_ms(views, master_addr).is_some();
    demoting.retain(|_, ms| just_promoted && *ms <= bound);
    // Or it has just started again (its host rebooted after the failover)
    // and the sentinels list it as a replica, whatever role they last read
    // from it: it comes back as a master until Sentinel reconfigures it.
    for (addr, n) in &obs.nodes {
        let Ok(v) = n else { continue };
        let listed = views
            .iter()
            .filter(|(_, m)| m.addr == *master_addr)
            .any(|(_, m)| m.candidates.as_ref().is_some_and(|c| c.contains_key(addr)));
        if let Some(up) = v.uptime_seconds.map(|u| u.saturating_mul(1000))
            && v.role == "master"
            && !v.was_replica
            && listed
            && up <= DEMOTION_GRACE_MS
        {
            demoting.entry(addr.as_str()).or_insert(up);
        }
    }
    demoting
}

/// The transitions under way that can make a finding a warning: any one
/// Sentinel carries out, and (for the replicas' links only) the reconfiguration
/// right after a failover.
#[derive(Clone, Copy)]
struct Transitions<'a> {
    any: Option<&'a str>,
    reconfiguring: Option<&'a str>,
}

/// Judge the data nodes of master `name`; returns the replicas connected to it.
fn assess_nodes(
    p: &Params,
    obs: &Observation,
    name: &str,
    master_addr: &str,
    transitions: Transitions<'_>,
    demoting: &BTreeMap<&str, u64>,
    r: &mut ReportBuilder,
) -> u32 {
    let mut masters = Vec::new();
    let mut replicas_up = 0;
    let mut following_up = 0;
    let mut syncing = 0;
    let mut replicas_down = Vec::new();
    let mut connected = 0;
    for (addr, n) in &obs.nodes {
        let subject = format!("node {addr}");
        let view = match n {
            Ok(v) => v,
            Err(f) => {
                let status = if f.kind == "auth" {
                    Status::Unknown
                } else {
                    Status::Warning
                };
                r.finding(subject, status, format!("{}: {}", f.kind, f.message));
                continue;
            }
        };
        if view.role == "master" {
            masters.push(addr.as_str());
            if addr == master_addr {
                connected = view.replicas.iter().filter(|l| l.state == "online").count() as u32;
                for l in &view.replicas {
                    if l.lag > p.lag_warning_seconds {
                        r.finding(
                            format!("node {}", l.addr),
                            Status::Warning,
                            format!(
                                "replica lags {} s behind the master (warning at {} s)",
                                l.lag, p.lag_warning_seconds
                            ),
                        );
                    }
                }
            }
            continue;
        }
        let down_for = view.link_down_seconds.unwrap_or(0);
        r.sample(
            "master_link_down_seconds",
            "Seconds since the replica's link to its master went down (0 when up)",
            if view.link_up { 0.0 } else { down_for as f64 },
            &[("node", addr)],
        );
        let follows = view.master_addr.as_deref().unwrap_or("?");
        if follows != master_addr {
            r.finding(
                &subject,
                Status::Warning,
                format!("replicates from {follows}, but the sentinels' master of {name} is {master_addr}"),
            );
        }
        if view.link_up {
            replicas_up += 1;
            if follows == master_addr {
                following_up += 1;
            }
        } else if let Some(io) = view.sync_io_seconds.filter(|s| *s <= REPL_TIMEOUT_S) {
            syncing += 1;
            r.finding(
                &subject,
                Status::Warning,
                format!(
                    "resynchronising from {follows}: a full sync in progress, last transfer {io} s ago (Redis aborts a sync idle for repl-timeout, {REPL_TIMEOUT_S} s by default)"
                ),
            );
        } else {
            replicas_down.push(addr.as_str());
            r.finding(
                &subject,
                Status::Warning,
                format!("replication link to {follows} is down (for {down_for} s)"),
            );
        }
    }
    let subject = format!("master {name}");
    // What a failover does on its way (promote a replica, then reconfigure the
    // others and the old master) only warns while Sentinel carries it out; two
    // masters of which the sentinels know neither are a split-brain whatever
    // happens.
    let transition = transitions.any;
    let during = |what: String| match transition {
        Some(t) => (Status::Warning, format!("{what} while {t}")),
        None => (Status::Critical, what),
    };
    let (status, what) = match masters.as_slice() {
        // Its replicas replicate from it: only vitals cannot reach it.
        [] if following_up > 0 => (Status::Ok, String::new()),
        [] => during("no reachable data node reports role master".into()),
        [one] if *one != master_addr => during(format!(
            "node {one} reports role master, but the sentinels say the master is {master_addr}"
        )),
        [_] => (Status::Ok, String::new()),
        many => {
            let what = format!(
                "split-brain: {} nodes report role master: {}",
                many.len(),
                join(many)
            );
            let others: Vec<&&str> = many.iter().filter(|a| **a != master_addr).collect();
            if !many.contains(&master_addr) {
                (Status::Critical, what)
            } else if others.iter().all(|a| demoting.contains_key(**a)) {
                let since: Vec<String> = others
                    .iter()
                    .map(|a| format!("{a} for {:.0} s", demoting[**a] as f64 / 1000.0))
                    .collect();
                (
                    Status::Warning,
                    format!(
                        "demoted master still reports role master ({}): the sentinels list it as a replica of {master_addr} and reconfigure it (+convert-to-slave) within seconds",
                        since.join(", ")
                    ),
                )
            } else {
                during(what)
            }
        }
    };
    if status != Status::Ok {
        r.finding(&subject, status, what);
    }
    if !replicas_down.is_empty() && replicas_up == 0 && syncing == 0 {
        let what = format!("every replica's link is down: {}", join(&replicas_down));
        let (status, what) = match transition.or(transitions.reconfiguring) {
            Some(t) => (Status::Warning, format!("{what} while {t}")),
            None => (Status::Critical, what),
        };
        r.finding(&subject, status, what);
    }
    let expected = p
        .expected_replicas
        .unwrap_or_else(|| obs.nodes.len().saturating_sub(1) as u32);
    if connected < expected {
        r.finding(
            &subject,
            Status::Warning,
            format!("{connected} replicas connected to the master, {expected} expected"),
        );
    }
    connected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(addr: &str) -> MasterView {
        MasterView {
            addr: addr.into(),
            flags: ["master".to_string()].into(),
            quorum: 2,
            other_sentinels: 2,
            replicas: 2,
            config_epoch: 0,
            failover_timeout_ms: 10_000,
            failover_state: None,
            o_down_ms: None,
            s_down_ms: None,
            last_ok_ping_ms: Some(300),
            down_after_ms: 5_000,
            role_reported_ms: Some(600_000),
            ckquorum: Ok("OK 3 usable Sentinels".into()),
            demoting: BTreeMap::new(),
            candidates: Some(
                [
                    ("10.0.0.2:6379".to_string(), None),
                    ("10.0.0.3:6379".to_string(), None),
                ]
                .into(),
            ),
        }
    }

    /// Every sentinel's view of `mymaster`, to change them all.
    fn views(o: &mut Observation) -> impl Iterator<Item = &mut MasterView> {
        o.sentinels
            .iter_mut()
            .map(|(_, s)| s.as_mut().unwrap().masters.get_mut("mymaster").unwrap())
    }

    fn sentinel(m: MasterView) -> Result<SentinelView, Failure> {
        Ok(SentinelView {
            tilt: false,
            masters: [("mymaster".to_string(), m)].into(),
        })
    }

    fn node_master(replicas: &[&str]) -> Result<NodeView, Failure> {
        Ok(NodeView {
            role: "master".into(),
            replicas: replicas
                .iter()
                .map(|a| ReplicaLink {
                    addr: a.to_string(),
                    state: "online".into(),
                    lag: 0,
                })
                .collect(),
            ..Default::default()
        })
    }

    fn node_replica(of: &str, up: bool) -> Result<NodeView, Failure> {
        Ok(NodeView {
            role: "slave".into(),
            master_addr: Some(of.into()),
            link_up: up,
            link_down_seconds: (!up).then_some(7),
            ..Default::default()
        })
    }

    fn healthy() -> Observation {
        let m = "10.0.0.1:6379";
        Observation {
            sentinels: (1..=3)
                .map(|i| (format!("10.0.0.{i}:26379"), sentinel(master(m))))
                .collect(),
            nodes: vec![
                (m.into(), node_master(&["10.0.0.2:6379", "10.0.0.3:6379"])),
                ("10.0.0.2:6379".into(), node_replica(m, true)),
                ("10.0.0.3:6379".into(), node_replica(m, true)),
            ],
        }
    }

    fn down() -> Failure {
        Failure {
            kind: "unreachable".into(),
            message: "connection refused".into(),
        }
    }

    #[test]
    fn healthy_is_ok() {
        let r = assess(&Params::default(), &healthy());
        assert_eq!(r.status, Status::Ok, "{:?}", r.findings);
        assert!(
            r.summary
                .contains("mymaster: master 10.0.0.1:6379 ok, 2 replicas"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn one_sentinel_down_warns_and_no_quorum_is_critical() {
        let mut o = healthy();
        o.sentinels[2].1 = Err(down());
        assert_eq!(assess(&Params::default(), &o).status, Status::Warning);
        o.sentinels[1].1 = Err(down());
        if let Ok(v) = &mut o.sentinels[0].1 {
            v.masters.get_mut("mymaster").unwrap().ckquorum =
                Err("NOQUORUM 1 usable Sentinels".into());
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical);
        assert!(r.findings.iter().any(|f| f.message.contains("NOQUORUM")));
    }

    #[test]
    fn disagreement_and_two_masters_are_critical() {
        let mut o = healthy();
        o.sentinels[2].1 = sentinel(master("10.0.0.2:6379"));
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.findings.iter().any(|f| f.message.contains("disagree")),
            "{:?}",
            r.findings
        );

        let mut o = healthy();
        o.nodes[1].1 = node_master(&[]);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.findings.iter().any(|f| f.message.contains("split-brain")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn failover_warns_then_is_critical_past_its_timeout() {
        let mut o = healthy();
        for m in views(&mut o) {
            m.flags
                .extend(["o_down".to_string(), "failover_in_progress".to_string()]);
            m.failover_state = Some("wait_promotion".into());
            m.o_down_ms = Some(2_000);
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Warning);
        for m in views(&mut o) {
            m.o_down_ms = Some(60_000);
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    fn failing_over(o: &mut Observation, state: &str) {
        for m in views(o) {
            m.flags.insert("failover_in_progress".to_string());
            m.failover_state = Some(state.into());
        }
    }

    #[test]
    fn a_failovers_steps_warn_while_sentinel_carries_it_out() {
        // Promoted, the old master not yet reconfigured, the replica's link down
        // while it is pointed at the new master: all steps of a failover.
        let mut o = healthy();
        failing_over(&mut o, "reconf_slaves");
        o.nodes[1].1 = node_master(&[]);
        o.nodes[2].1 = node_replica("10.0.0.2:6379", false);
        for m in views(&mut o) {
            m.addr = "10.0.0.2:6379".into();
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.message.contains("split-brain")
                && f.message
                    .contains("while a failover is in progress (reconf_slaves")),
            "{:?}",
            r.findings
        );
        // The same two masters with no failover under way: critical.
        for m in views(&mut o) {
            m.flags.remove("failover_in_progress");
            m.failover_state = None;
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        // Two masters the sentinels know neither of: critical even mid-failover.
        let mut o = healthy();
        failing_over(&mut o, "wait_promotion");
        o.nodes[0].1 = node_replica("10.0.0.9:6379", true);
        o.nodes[1].1 = node_master(&[]);
        o.nodes[2].1 = node_master(&[]);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
    }

    #[test]
    fn replica_links_down_right_after_a_failover_warn_until_its_bound() {
        // The sentinels promoted 10.0.0.2 seconds ago; the replicas they point at
        // it have not connected yet.
        let mut o = healthy();
        for m in views(&mut o) {
            m.addr = "10.0.0.2:6379".into();
            m.config_epoch = 1;
            m.role_reported_ms = Some(4_000);
        }
        o.nodes[0].1 = node_replica("10.0.0.2:6379", false);
        o.nodes[1].1 = node_master(&[]);
        o.nodes[2].1 = node_replica("10.0.0.2:6379", false);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.message.contains("every replica's link is down")
                && f.message.contains("while the sentinels reconfigure the replicas after a failover (10.0.0.2:6379 promoted 4 s ago")),
            "{:?}",
            r.findings
        );
        // Past failover-timeout and the grace: the replicas are cut off.
        for m in views(&mut o) {
            m.role_reported_ms = Some(600_000);
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        // No failover behind it (epoch 0): critical at once.
        for m in views(&mut o) {
            m.role_reported_ms = Some(4_000);
            m.config_epoch = 0;
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    #[test]
    fn a_demoted_master_the_sentinels_reconfigure_warns_until_its_bound() {
        // After the failover: the sentinels agree on 10.0.0.2 and list the old
        // master as its replica, which still reports role master for 5 s.
        let mut o = healthy();
        for m in views(&mut o) {
            m.addr = "10.0.0.2:6379".into();
            m.config_epoch = 1;
            m.role_reported_ms = Some(6_000);
            m.demoting = [("10.0.0.1:6379".to_string(), 5_000)].into();
        }
        o.nodes[1].1 = node_master(&["10.0.0.3:6379"]);
        o.nodes[2].1 = node_replica("10.0.0.2:6379", true);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f
                .message
                .contains("demoted master still reports role master (10.0.0.1:6379 for 5 s)")),
            "{:?}",
            r.findings
        );
        // Past the failover timeout and the grace: a split-brain.
        for m in views(&mut o) {
            m.demoting = [("10.0.0.1:6379".to_string(), 31_000)].into();
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        // No failover behind it (epoch 0, a master of long standing): a replica
        // promoted by hand, which the sentinels list as a replica: a split-brain.
        for m in views(&mut o) {
            m.demoting = [("10.0.0.1:6379".to_string(), 1_000)].into();
            m.config_epoch = 0;
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        // The old master back from a restart long after the failover: it
        // started seconds ago, and Sentinel reconfigures it.
        for m in views(&mut o) {
            m.config_epoch = 1;
            m.role_reported_ms = Some(3_600_000);
            m.demoting.clear();
            m.candidates = Some(
                [
                    ("10.0.0.1:6379".to_string(), None),
                    ("10.0.0.3:6379".to_string(), None),
                ]
                .into(),
            );
        }
        let restarted = |uptime| {
            let mut n = node_master(&[]);
            n.as_mut().unwrap().uptime_seconds = Some(uptime);
            n
        };
        o.nodes[0].1 = restarted(4);
        assert_eq!(assess(&Params::default(), &o).status, Status::Warning);
        o.nodes[0].1 = restarted(3_600);
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        // Up for seconds but a replica promoted by hand (it keeps its former
        // master's replication id): a split-brain.
        o.nodes[0].1 = restarted(4);
        o.nodes[0].1.as_mut().unwrap().was_replica = true;
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    #[test]
    fn sentinels_that_have_not_yet_heard_of_a_failover_converge_with_a_warning() {
        // Two sentinels know the failover (epoch 1), one still names the old
        // master (epoch 0): a warning, and the new master is the one judged.
        let mut o = healthy();
        for m in views(&mut o).take(2) {
            m.addr = "10.0.0.2:6379".into();
            m.config_epoch = 1;
        }
        o.nodes[0].1 = node_replica("10.0.0.2:6379", true);
        o.nodes[1].1 = node_master(&["10.0.0.1:6379", "10.0.0.3:6379"]);
        o.nodes[2].1 = node_replica("10.0.0.2:6379", true);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(r.summary.contains("master 10.0.0.2:6379"), "{}", r.summary);
        assert!(
            r.findings.iter().any(|f| f.message.contains("converging")),
            "{:?}",
            r.findings
        );
        // The same disagreement within one epoch is no transition: critical.
        for m in views(&mut o) {
            m.config_epoch = 1;
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    /// The master killed: the sentinels see it down, the replicas lose their link.
    fn master_killed(o: &mut Observation, down_ms: u64) {
        for m in views(o) {
            m.flags.insert("s_down".to_string());
            m.s_down_ms = Some(down_ms);
            m.last_ok_ping_ms = Some(down_ms + 5_000);
        }
        o.nodes[0].1 = Err(down());
        o.nodes[1].1 = node_replica("10.0.0.1:6379", false);
        o.nodes[2].1 = node_replica("10.0.0.1:6379", false);
    }

    #[test]
    fn master_down_warns_while_the_sentinels_can_fail_it_over() {
        // Not yet flagged: no answer to vitals nor to the sentinels for 2 s.
        let mut o = healthy();
        o.nodes[0].1 = Err(down());
        o.nodes[1].1 = node_replica("10.0.0.1:6379", false);
        o.nodes[2].1 = node_replica("10.0.0.1:6379", false);
        for m in views(&mut o) {
            m.last_ok_ping_ms = Some(2_000);
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.message.contains(
                "does not answer (for 7.0 s, by its replicas' links and the sentinels' PING): the sentinels mark it down after down-after-milliseconds (5.0 s)"
            )),
            "{:?}",
            r.findings
        );
        // Unanswered for longer than down-after-milliseconds + 2 x
        // failover-timeout and never flagged: critical.
        o.nodes[1].1 = node_replica("10.0.0.1:6379", false);
        if let Ok(v) = &mut o.nodes[1].1 {
            v.link_down_seconds = Some(40);
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("the sentinels have not marked it down")),
            "{:?}",
            r.findings
        );
        // Only vitals cannot reach it (its replicas and the sentinels can): no
        // master-down transition.
        let mut o = healthy();
        o.nodes[0].1 = Err(down());
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            !r.findings
                .iter()
                .any(|f| f.message.contains("does not answer")),
            "{:?}",
            r.findings
        );

        // Flagged down, within 2 x failover-timeout: the sentinels fail over.
        let mut o = healthy();
        master_killed(&mut o, 3_000);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("is down according to")
                    && f.message.contains("for 3.0 s")
                    && f.message.contains("2 x failover-timeout, 20 s")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn a_failover_is_within_its_bound_until_failover_timeout() {
        let a = "10.0.0.1:26379".to_string();
        let mut m = master("10.0.0.1:6379");
        assert!(failover(&[(&a, &m)]).is_none());
        m.failover_state = Some("select_slave".into());
        m.o_down_ms = Some(9_000);
        let f = failover(&[(&a, &m)]).unwrap();
        assert!(f.within && f.leader == a && f.elapsed_ms == 9_000);
        m.o_down_ms = Some(11_000);
        assert!(!failover(&[(&a, &m)]).unwrap().within);
    }

    #[test]
    fn quorum_needs_ckquorum_and_enough_sentinels() {
        let a = "10.0.0.1:26379".to_string();
        let m = master("10.0.0.1:6379");
        let mut r = ReportBuilder::new();
        assert_eq!(
            quorum_findings(&[(&a, &m)], 3, "mymaster", "master mymaster", &mut r),
            (2, 3)
        );
        assert_eq!(r.status(), Status::Ok);
        quorum_findings(&[(&a, &m)], 1, "mymaster", "master mymaster", &mut r);
        assert_eq!(r.status(), Status::Critical);
    }

    #[test]
    fn demoting_lists_a_just_demoted_or_restarted_master() {
        let a = "10.0.0.1:26379".to_string();
        let mut m = master("10.0.0.2:6379");
        m.config_epoch = 1;
        m.role_reported_ms = Some(5_000);
        m.demoting = [("10.0.0.1:6379".to_string(), 4_000)].into();
        let o = healthy();
        assert_eq!(
            demoting(&o, &[(&a, &m)], "10.0.0.2:6379"),
            [("10.0.0.1:6379", 4_000)].into()
        );
        // Long after the failover: only a master that has just started counts.
        m.role_reported_ms = Some(3_600_000);
        assert!(demoting(&o, &[(&a, &m)], "10.0.0.2:6379").is_empty());
        m.candidates = Some([("10.0.0.1:6379".to_string(), None)].into());
        let mut o = healthy();
        if let Ok(v) = &mut o.nodes[0].1 {
            v.uptime_seconds = Some(3);
        }
        assert_eq!(
            demoting(&o, &[(&a, &m)], "10.0.0.2:6379"),
            [("10.0.0.1:6379", 3_000)].into()
        );
    }

    #[test]
    fn a_replica_in_a_full_sync_warns_and_is_no_broken_link() {
        let mut o = healthy();
        o.nodes[0].1 = node_master(&[]);
        for i in 1..3 {
            o.nodes[i].1 = node_replica("10.0.0.1:6379", false);
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
        if let Ok(v) = &mut o.nodes[1].1 {
            v.sync_io_seconds = Some(0);
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.subject == "node 10.0.0.2:6379"
                && f.message
                    .contains("resynchronising from 10.0.0.1:6379: a full sync in progress")),
            "{:?}",
            r.findings
        );
        // A sync idle for longer than repl-timeout is no progress.
        if let Ok(v) = &mut o.nodes[1].1 {
            v.sync_io_seconds = Some(61);
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    #[test]
    fn master_down_without_failover_past_its_bound_is_critical() {
        let mut o = healthy();
        master_killed(&mut o, 25_000);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
        assert!(
            r.findings
                .iter()
                .any(|f| f.message.contains("no failover started within")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn master_down_with_no_replica_to_promote_is_critical_at_once() {
        let mut o = healthy();
        master_killed(&mut o, 1_000);
        for m in views(&mut o) {
            m.candidates = Some(
                [
                    (
                        "10.0.0.2:6379".to_string(),
                        Some("replica-priority 0".into()),
                    ),
                    ("10.0.0.3:6379".to_string(), Some("s_down".into())),
                ]
                .into(),
            );
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.message.contains(
                "no replica can be promoted: 10.0.0.2:6379 (replica-priority 0), 10.0.0.3:6379 (s_down)"
            )),
            "{:?}",
            r.findings
        );
        // One sentinel would promote one: the failover can still succeed.
        views(&mut o).next().unwrap().candidates =
            Some([("10.0.0.2:6379".to_string(), None)].into());
        assert_eq!(assess(&Params::default(), &o).status, Status::Warning);
    }

    #[test]
    fn replica_links() {
        let mut o = healthy();
        o.nodes[2].1 = node_replica("10.0.0.1:6379", false);
        o.nodes[0].1 = node_master(&["10.0.0.2:6379"]);
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        o.nodes[1].1 = node_replica("10.0.0.1:6379", false);
        o.nodes[0].1 = node_master(&[]);
        assert_eq!(assess(&Params::default(), &o).status, Status::Critical);
    }

    #[test]
    fn unreachable_or_unauthenticated_sentinels_are_unknown() {
        let mut o = healthy();
        for (_, s) in &mut o.sentinels {
            *s = Err(Failure {
                kind: "auth".into(),
                message: "WRONGPASS".into(),
            });
        }
        let r = assess(&Params::default(), &o);
        assert_eq!(r.status, Status::Unknown);
        assert!(r.summary.contains("authentication failed"), "{}", r.summary);
        for (_, s) in &mut o.sentinels {
            *s = Err(down());
        }
        assert_eq!(assess(&Params::default(), &o).status, Status::Unknown);
    }

    #[test]
    fn tilt_warns() {
        let mut o = healthy();
        o.sentinels[0].1.as_mut().unwrap().tilt = true;
        assert_eq!(assess(&Params::default(), &o).status, Status::Warning);
    }
}
