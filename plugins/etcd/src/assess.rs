//! Turning what every member said into a verdict. Pure: no I/O, unit-tested natively.

use std::collections::{BTreeMap, BTreeSet};

use vitals_plugin::http::{ErrorKind, HttpError};
use vitals_plugin::{Report, ReportBuilder, Status};

use crate::gateway::{self, Health, MemberList, Metrics};

/// etcd's default `--quota-backend-bytes` (2 GiB).
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Thresholds and options (the check's `[params]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Name of the granted HTTP endpoint listing the members; default: the first one.
    pub endpoint: Option<String>,
    pub db_size_warning_ratio: f64,
    pub db_size_critical_ratio: f64,
    /// Overrides the quota read from each member's `/metrics`.
    pub quota_backend_bytes: Option<u64>,
    /// Whether to read each member's `/metrics` at all.
    pub read_metrics: bool,
    pub request_timeout_seconds: f64,
    /// Warn when the number of voting members differs.
    pub expected_members: Option<usize>,
    /// The cluster's `--election-timeout`: a member that knows no leader is
    /// looked at again after twice this.
    pub election_timeout_ms: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            endpoint: None,
            db_size_warning_ratio: 0.8,
            db_size_critical_ratio: 0.95,
            quota_backend_bytes: None,
            read_metrics: true,
            request_timeout_seconds: 3.0,
            expected_members: None,
            election_timeout_ms: 1000,
        }
    }
}

/// Everything one configured member URL answered.
#[derive(Debug, Clone)]
pub struct Probe {
    pub url: String,
    pub status: Result<gateway::Status, HttpError>,
    pub health: Option<Health>,
    pub members: Option<MemberList>,
    pub metrics: Option<Metrics>,
}

/// A member as we know it: from the member list, or only from a status answer.
struct Member<'a> {
    id: u64,
    name: String,
    learner: bool,
    probe: Option<&'a Probe>,
    /// A configured URL that answered nothing and matches no listed member: reported,
    /// but not counted as a member.
    stray: bool,
}

impl Member<'_> {
    fn subject(&self) -> String {
        if self.stray {
            return self.name.clone();
        }
        match self.probe {
            Some(p) => format!("{} ({})", self.name, p.url),
            None => self.name.clone(),
        }
    }
    fn status(&self) -> Option<&gateway::Status> {
        self.probe.and_then(|p| p.status.as_ref().ok())
    }
    /// Answered and knows a leader: counts toward quorum if voting.
    fn healthy(&self) -> bool {
        self.status().is_some_and(|s| s.leader != 0)
    }
}

fn norm(url: &str) -> &str {
    url.trim_end_matches('/')
}

fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Why a member may be in a moment of transition rather than broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passing {
    /// Answers but knows no leader: an election under way, or a member that has
    /// just started and not yet heard from the leader.
    NoLeader,
    /// Knows the leader, yet its `/health` (a read through raft) fails while
    /// most members' is fine and no alarm is raised: a member that has just
    /// restarted and is still catching up.
    Unhealthy,
}

/// `settled`: no alarm is raised and a majority of the probed members report
/// `/health` healthy ([`settled`]); only then is one unhealthy member a
/// transition rather than the cluster's state.
fn passing(p: &Probe, settled: bool) -> Option<Passing> {
    let s = p.status.as_ref().ok()?;
    if s.leader == 0 {
        return Some(Passing::NoLeader);
    }
    let unhealthy = p.health.as_ref().is_some_and(|h| !h.health);
    (unhealthy && settled && s.errors.is_empty()).then_some(Passing::Unhealthy)
}

/// No alarm raised (alarms are the cluster's: any member's status tells), and
/// a majority of the probed members report `/health` healthy.
fn settled(probes: &[Probe]) -> bool {
    let alarmed = probes
        .iter()
        .filter_map(|p| p.status.as_ref().ok())
        .any(|s| s.alarms().next().is_some());
    let healthy = probes
        .iter()
        .filter(|p| p.health.as_ref().is_some_and(|h| h.health))
        .count();
    !alarmed && healthy * 2 > probes.len()
}

/// Some member is in a moment that ends within the election timeout (it knows
/// no leader, or it knows one but its `/health` fails while most members' is
/// fine and no alarm is raised), so the
/// check looks again after it ([`after_election`]).
pub fn electing(probes: &[Probe]) -> bool {
    let settled = settled(probes);
    probes.iter().any(|p| passing(p, settled).is_some())
}

/// The verdict on a second look, taken `waited_ms` after a first one in which
/// some members were in transition ([`electing`]): the second look's verdict,
/// with a warning for each such member that is well now (the transition, and
/// its bound), and the wait named where one still is not.
pub fn after_election(
    params: &Params,
    first: &[Probe],
    again: &[Probe],
    waited_ms: u64,
    election_timeout_ms: u64,
) -> Report {
    let mut report = assess(params, again);
    let name = |id: u64| {
        again
            .iter()
            .chain(first)
            .filter_map(|p| p.members.as_ref())
            .flat_map(|l| l.members.iter())
            .find(|m| m.id == id && !m.name.is_empty())
            .map_or_else(|| format!("{id:x}"), |m| m.name.clone())
    };
    let now: BTreeMap<u64, &Probe> = again
        .iter()
        .filter_map(|p| p.status.as_ref().ok().map(|s| (s.header.member_id, p)))
        .collect();
    let waited = waited_ms as f64 / 1000.0;
    let (settled_then, settled_now) = (settled(first), settled(again));
    for p in first {
        let (Ok(s), Some(was)) = (&p.status, passing(p, settled_then)) else {
            continue;
        };
        let id = s.header.member_id;
        let subject = format!("{} ({})", name(id), p.url);
        let well_now = now
            .get(&id)
            .filter(|q| passing(q, settled_now).is_none())
            .and_then(|q| q.status.as_ref().ok());
        match well_now {
            Some(s) => {
                let then = match was {
                    Passing::NoLeader => "knew no leader",
                    Passing::Unhealthy => "reported /health unhealthy",
                };
                report.status = report.status.max(Status::Warning);
                report.findings.push(vitals_plugin::Finding {
                    subject,
                    status: Status::Warning,
                    message: format!(
                        "{then} {waited:.1} s ago and follows {} in term {} now: a leader election, or the member had just started; either ends within the election timeout ({election_timeout_ms} ms)",
                        name(s.leader),
                        s.raft_term
                    ),
                });
            }
            None => {
                for f in report.findings.iter_mut().filter(|f| f.subject == subject) {
                    f.message.push_str(&format!(
                        "; also {waited:.1} s earlier, longer than an election takes (election timeout {election_timeout_ms} ms)"
                    ));
                }
            }
        }
    }
    report
}

/// Assess the cluster from the probes of every configured member URL.
pub fn assess(params: &Params, probes: &[Probe]) -> Report {
    let mut r = ReportBuilder::new();
    let responsive: Vec<&Probe> = probes.iter().filter(|p| p.status.is_ok()).collect();

    if responsive.is_empty() {
        return nobody_answered(r, probes);
    }

    // Membership: from the leader's member list if it answered, else any member's.
    let list = responsive
        .iter()
        .filter(|p| p.members.is_some())
        .max_by_key(|p| {
            let s = p.status.as_ref().unwrap();
            (
                s.leader != 0 && s.leader == s.header.member_id,
                s.raft_index,
            )
        })
        .and_then(|p| p.members.as_ref());
    let members = build_members(list, probes);
    let names = Names(members.iter().map(|m| (m.id, m.name.as_str())).collect());
    let lead = leadership(&members);
    let quorum = Quorum::of(&members, lead.agreed.is_some());

    let mut headline = leader_headline(&lead, &names, &mut r);
    let read = responsive
        .iter()
        .find_map(|p| p.metrics.and_then(|m| m.quota_backend_bytes));
    let quota = match (params.quota_backend_bytes, read) {
        (Some(q), _) => Quota {
            bytes: q as f64,
            assumed: false,
        },
        (None, Some(q)) => Quota {
            bytes: q,
            assumed: false,
        },
        (None, None) => Quota {
            bytes: DEFAULT_QUOTA_BYTES as f64,
            assumed: true,
        },
    };
    let unreachable = member_findings(params, &members, &lead, &quorum, &names, quota, &mut r);
    if !unreachable.is_empty() {
        headline.push(format!("unreachable: {}", unreachable.join(", ")));
    }
    if let Some((status, what)) = quorum.verdict() {
        r.raise(status);
        headline.insert(0, what);
    }
    let alarms = alarm_findings(&responsive, &names, &mut r, &mut headline);
    membership_findings(params, &responsive, quorum.voting, &mut r, &mut headline);
    samples(&members, &lead, &quorum, quota, alarms, &mut r);

    let leader = match lead.agreed {
        Some(one) => format!("leader {}", names.of(one)),
        _ => "no agreed leader".into(),
    };
    let counts = if quorum.ok() {
        format!(
            "{}/{} voting members healthy, {leader}",
            quorum.healthy, quorum.voting
        )
    } else {
        leader
    };
    let summary = if headline.is_empty() {
        counts
    } else {
        format!("{}; {counts}", headline.join("; "))
    };
    r.finish(summary)
}

/// Member names by ID; an unknown ID reads as hex.
struct Names<'a>(BTreeMap<u64, &'a str>);

impl Names<'_> {
    fn of(&self, id: u64) -> String {
        self.0
            .get(&id)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("{id:x}"))
    }
}

/// Who leads, as the members that answered see it. Raft terms tell a real
/// split (different leaders in the same term) from an election in progress (a
/// member still following the leader of an older term, e.g. one that just died).
struct Leadership {
    newest_term: u64,
    /// The leaders named in the newest term.
    current: BTreeSet<u64>,
    /// The one leader of the newest term, when there is one.
    agreed: Option<u64>,
    /// Members following another leader than the agreed one, with the severity.
    followers_of_old: BTreeMap<u64, Status>,
    /// (member name, leader it names, its term), for members that know a leader.
    claims: Vec<(String, u64, u64)>,
}

fn leadership(members: &[Member]) -> Leadership {
    let views: Vec<(&Member, &gateway::Status)> = members
        .iter()
        .filter_map(|m| m.status().map(|s| (m, s)))
        .filter(|(_, s)| s.leader != 0)
        .collect();
    let newest_term = views.iter().map(|(_, s)| s.raft_term).max().unwrap_or(0);
    let current: BTreeSet<u64> = views
        .iter()
        .filter(|(_, s)| s.raft_term == newest_term)
        .map(|(_, s)| s.leader)
        .collect();
    let agreed = match current.len() {
        1 => current.first().copied(),
        _ => None,
    };
    let mut followers_of_old: BTreeMap<u64, Status> = BTreeMap::new();
    if let Some(leader) = agreed {
        for (m, s) in views.iter().filter(|(_, s)| s.leader != leader) {
            // A deposed leader that still acts as one is dangerous; a follower that has
            // not yet heard of the new term is an election in progress.
            let old = members.iter().find(|o| o.id == s.leader);
            let deposed_acting = old
                .and_then(|o| o.status())
                .is_some_and(|os| os.leader == os.header.member_id && os.raft_term < newest_term);
            let status = if deposed_acting {
                Status::Critical
            } else {
                Status::Warning
            };
            followers_of_old.insert(m.id, status);
        }
    }
    Leadership {
        newest_term,
        current,
        agreed,
        followers_of_old,
        claims: views
            .iter()
            .map(|(m, s)| (m.name.clone(), s.leader, s.raft_term))
            .collect(),
    }
}

/// The headline parts about the leader (raising the status where it is wrong).
fn leader_headline(lead: &Leadership, names: &Names, r: &mut ReportBuilder) -> Vec<String> {
    let mut headline = Vec::new();
    match lead.agreed {
        None if lead.current.is_empty() => {
            r.raise(Status::Critical);
            headline.push("no leader".into());
        }
        None => {
            r.raise(Status::Critical);
            let sides: Vec<String> = lead
                .current
                .iter()
                .map(|l| {
                    let who: Vec<&str> = lead
                        .claims
                        .iter()
                        .filter(|(_, leader, term)| leader == l && *term == lead.newest_term)
                        .map(|(name, _, _)| name.as_str())
                        .collect();
                    format!("{} say {}", who.join(", "), names.of(*l))
                })
                .collect();
            headline.push(format!(
                "members disagree about the leader in term {}: {}",
                lead.newest_term,
                sides.join("; ")
            ));
        }
        Some(one) => {
            if !names.0.contains_key(&one) {
                r.raise(Status::Critical);
                headline.push(format!("leader {one:x} is not in the member list"));
            }
            if !lead.followers_of_old.is_empty() {
                headline.push("leader election in progress".into());
            }
        }
    }
    headline
}

/// Voting members and how many of them are healthy.
struct Quorum {
    voting: usize,
    healthy: usize,
    unprobed: usize,
    /// Voting members needed for quorum.
    needed: usize,
    /// A leader is agreed on: members not probed may then well be healthy.
    leader_agreed: bool,
}

impl Quorum {
    fn of(members: &[Member], leader_agreed: bool) -> Quorum {
        let voting: Vec<&Member> = members.iter().filter(|m| !m.learner && !m.stray).collect();
        Quorum {
            voting: voting.len(),
            healthy: voting.iter().filter(|m| m.healthy()).count(),
            unprobed: voting.iter().filter(|m| m.probe.is_none()).count(),
            needed: voting.len() / 2 + 1,
            leader_agreed,
        }
    }
    fn kept(&self) -> bool {
        self.healthy >= self.needed
    }
    /// Members whose URL is not configured may well be healthy: with an agreed
    /// leader, quorum is then unverified rather than lost.
    fn unverified(&self) -> bool {
        !self.kept() && self.leader_agreed && self.healthy + self.unprobed >= self.needed
    }
    fn ok(&self) -> bool {
        self.kept() || self.unverified()
    }
    /// The headline part and status when quorum is not known kept.
    fn verdict(&self) -> Option<(Status, String)> {
        if self.unverified() {
            Some((
                Status::Warning,
                format!(
                    "quorum not verified: {}/{} voting members probed healthy, {} not probed (add their URLs to the endpoint)",
                    self.healthy, self.voting, self.unprobed
                ),
            ))
        } else if !self.kept() {
            Some((
                Status::Critical,
                format!(
                    "quorum lost ({}/{} voting members healthy, need {})",
                    self.healthy, self.voting, self.needed
                ),
            ))
        } else {
            None
        }
    }
}

/// One finding per member; returns the names of the unreachable ones.
fn member_findings(
    params: &Params,
    members: &[Member],
    lead: &Leadership,
    quorum: &Quorum,
    names: &Names,
    quota: Quota,
    r: &mut ReportBuilder,
) -> Vec<String> {
    let mut unreachable = Vec::new();
    for m in members {
        let subject = m.subject();
        let role = if m.learner {
            "learner"
        } else {
            "voting member"
        };
        if m.stray {
            if let Some(Err(e)) = m.probe.map(|p| &p.status) {
                r.finding(
                    subject,
                    Status::Warning,
                    format!("unreachable: {e} (not matched to a member of the member list)"),
                );
            }
            continue;
        }
        match (m.probe, m.status()) {
            (None, _) => r.finding(
                subject,
                Status::Warning,
                "not probed: none of its client URLs is among the endpoint's urls",
            ),
            (Some(p), None) => {
                let err = p.status.as_ref().unwrap_err();
                let status = if m.learner || quorum.ok() {
                    Status::Warning
                } else {
                    Status::Critical
                };
                unreachable.push(m.name.clone());
                let detail = if m.learner {
                    "learner, not counted toward quorum".to_string()
                } else if quorum.ok() {
                    format!(
                        "quorum kept: {}/{} voting members healthy",
                        quorum.healthy, quorum.voting
                    )
                } else {
                    format!(
                        "quorum lost: {}/{} voting members healthy, need {}",
                        quorum.healthy, quorum.voting, quorum.needed
                    )
                };
                r.finding(subject, status, format!("unreachable: {err} ({detail})"));
            }
            (Some(p), Some(s)) => {
                let problems = member_problems(params, m, p, s, lead, names, quota);
                let db = database(s, quota);
                let leader_note = if s.leader == s.header.member_id {
                    ", leader"
                } else {
                    ""
                };
                if problems.is_empty() {
                    r.finding(
                        subject,
                        Status::Ok,
                        format!("healthy {role}{leader_note}, etcd {}, {db}", s.version),
                    );
                } else {
                    let worst = problems.iter().fold(Status::Ok, |a, (s, _)| a.max(*s));
                    let text: Vec<String> = problems.into_iter().map(|(_, t)| t).collect();
                    r.finding(
                        subject,
                        worst,
                        format!("{role}{leader_note}: {}", text.join("; ")),
                    );
                }
            }
        }
    }
    unreachable
}

/// The backend quota the database sizes are judged against.
#[derive(Clone, Copy)]
struct Quota {
    bytes: f64,
    /// Neither given (`quota_backend_bytes`) nor read from `/metrics`: etcd's default.
    assumed: bool,
}

/// `database 20.0 KiB of 2.0 GiB quota (0 %)`.
fn database(s: &gateway::Status, quota: Quota) -> String {
    format!(
        "database {} of {} quota{} ({:.0} %)",
        human_bytes(s.db_size as f64),
        human_bytes(quota.bytes),
        if quota.assumed {
            " (assumed: etcd's default; set quota_backend_bytes)"
        } else {
            ""
        },
        s.db_size as f64 / quota.bytes * 100.0
    )
}

/// What is wrong with a member that answered its status.
fn member_problems(
    params: &Params,
    m: &Member,
    p: &Probe,
    s: &gateway::Status,
    lead: &Leadership,
    names: &Names,
    quota: Quota,
) -> Vec<(Status, String)> {
    let mut problems: Vec<(Status, String)> = Vec::new();
    if s.leader == 0 {
        problems.push((Status::Critical, "has no leader".into()));
    } else if lead.agreed.is_none() {
        problems.push((
            Status::Critical,
            format!("believes the leader is {}", names.of(s.leader)),
        ));
    } else if let Some(status) = lead.followers_of_old.get(&m.id) {
        let what = if s.leader == m.id {
            "deposed leader, still acts as leader".to_string()
        } else {
            format!("still follows {}", names.of(s.leader))
        };
        problems.push((
            *status,
            format!(
                "{what} from term {}; the cluster is at term {}",
                s.raft_term, lead.newest_term
            ),
        ));
    }
    if let Some(h) = &p.health
        && !h.health
    {
        let reason = if h.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", h.reason)
        };
        problems.push((
            Status::Critical,
            format!("/health reports unhealthy{reason}"),
        ));
    }
    let errors: Vec<&str> = s.other_errors().collect();
    if !errors.is_empty() {
        problems.push((Status::Warning, format!("errors: {}", errors.join("; "))));
    }
    let ratio = s.db_size as f64 / quota.bytes;
    if ratio >= params.db_size_critical_ratio {
        problems.push((Status::Critical, database(s, quota)));
    } else if ratio >= params.db_size_warning_ratio {
        problems.push((Status::Warning, database(s, quota)));
    }
    problems
}

/// Active alarms, deduplicated across members; returns how many.
fn alarm_findings(
    responsive: &[&Probe],
    names: &Names,
    r: &mut ReportBuilder,
    headline: &mut Vec<String>,
) -> usize {
    let alarms: BTreeSet<gateway::Alarm> = responsive
        .iter()
        .filter_map(|p| p.status.as_ref().ok())
        .flat_map(|s| s.alarms())
        .collect();
    for gateway::Alarm { member_id, kind } in &alarms {
        let who = if *member_id == 0 {
            "cluster".to_string()
        } else {
            names.of(*member_id)
        };
        let hint = match kind.as_str() {
            "NOSPACE" => {
                ": the database reached its quota and etcd refuses writes; compact, defragment, then disarm"
            }
            "CORRUPT" => ": data inconsistency between members detected",
            _ => "",
        };
        r.finding(
            who.clone(),
            Status::Critical,
            format!("alarm {kind} active{hint}"),
        );
        headline.push(format!("alarm {kind} on {who}"));
    }
    alarms.len()
}

/// The URLs answer for one cluster, of the expected size.
fn membership_findings(
    params: &Params,
    responsive: &[&Probe],
    voting: usize,
    r: &mut ReportBuilder,
    headline: &mut Vec<String>,
) {
    let cluster_ids: BTreeSet<u64> = responsive
        .iter()
        .filter_map(|p| p.status.as_ref().ok())
        .map(|s| s.header.cluster_id)
        .filter(|id| *id != 0)
        .collect();
    if cluster_ids.len() > 1 {
        r.finding(
            "membership",
            Status::Critical,
            format!(
                "the endpoint's URLs belong to {} different etcd clusters (split or misconfigured)",
                cluster_ids.len()
            ),
        );
        headline.push("URLs answer for different clusters".into());
    }
    if let Some(expected) = params.expected_members
        && expected != voting
    {
        r.finding(
            "membership",
            Status::Warning,
            format!("{voting} voting members, expected {expected}"),
        );
        headline.push(format!("{voting} voting members, expected {expected}"));
    }
}

/// The cluster's and every member's samples.
fn samples(
    members: &[Member],
    lead: &Leadership,
    quorum: &Quorum,
    quota: Quota,
    alarms: usize,
    r: &mut ReportBuilder,
) {
    r.sample(
        "members",
        "Members in the member list",
        members.len() as f64,
        &[],
    );
    r.sample(
        "voting_members",
        "Voting (non-learner) members",
        quorum.voting as f64,
        &[],
    );
    r.sample(
        "members_healthy",
        "Voting members that answered and know a leader",
        quorum.healthy as f64,
        &[],
    );
    r.sample(
        "quorum",
        "Voting members needed for quorum",
        quorum.needed as f64,
        &[],
    );
    r.sample(
        "has_leader",
        "1 when the responsive members agree on one leader",
        f64::from(lead.agreed.is_some()),
        &[],
    );
    r.sample(
        "quota_backend_bytes",
        "Backend quota used for the database size ratios",
        quota.bytes,
        &[],
    );
    r.sample("alarms_active", "Active alarms", alarms as f64, &[]);
    // The cluster's term, not each member's (they agree but during an election),
    // and no raft index (progress, not health): the exposition's largest families
    // are per member, so only what alerting or a diagnosis needs is.
    let term = members
        .iter()
        .filter_map(|m| m.status())
        .map(|s| s.raft_term)
        .max();
    if let Some(term) = term {
        r.sample(
            "raft_term",
            "Newest raft term among the members",
            term as f64,
            &[],
        );
    }
    for m in members {
        let labels = [("member", m.name.as_str())];
        r.sample(
            "member_up",
            "1 when the member answered its status",
            f64::from(m.status().is_some()),
            &labels,
        );
        let Some(s) = m.status() else { continue };
        r.sample(
            "member_is_leader",
            "1 when the member is the leader",
            f64::from(s.leader == m.id && m.id != 0),
            &labels,
        );
        r.sample(
            "member_is_learner",
            "1 when the member is a learner",
            f64::from(m.learner),
            &labels,
        );
        r.sample(
            "db_size_bytes",
            "Size of the backend database",
            s.db_size as f64,
            &labels,
        );
        r.sample(
            "db_size_in_use_bytes",
            "Bytes of the backend database in use",
            s.db_size_in_use as f64,
            &labels,
        );
        if let Some(changes) = m
            .probe
            .and_then(|p| p.metrics)
            .and_then(|x| x.leader_changes_seen)
        {
            r.sample(
                "leader_changes_seen",
                "Leader changes seen by the member since it started",
                changes,
                &labels,
            );
        }
    }
}

/// Pair members with the probes of the configured URLs: by member ID (from the status
/// answer), then by client URL, then unreachable URLs with still unprobed members.
fn build_members<'a>(list: Option<&MemberList>, probes: &'a [Probe]) -> Vec<Member<'a>> {
    let mut members: Vec<Member<'a>> = match list {
        Some(l) => l
            .members
            .iter()
            .map(|m| Member {
                id: m.id,
                name: if m.name.is_empty() {
                    format!("{:x}", m.id)
                } else {
                    m.name.clone()
                },
                learner: m.is_learner,
                probe: None,
                stray: false,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut used = vec![false; probes.len()];
    for (i, p) in probes.iter().enumerate() {
        if let Ok(s) = &p.status {
            let id = s.header.member_id;
            match members.iter_mut().find(|m| m.id == id) {
                Some(m) => m.probe = Some(p),
                None => members.push(Member {
                    id,
                    name: format!("{id:x}"),
                    learner: s.is_learner,
                    probe: Some(p),
                    stray: false,
                }),
            }
            used[i] = true;
        }
    }
    if let Some(l) = list {
        for (i, p) in probes.iter().enumerate() {
            if used[i] {
                continue;
            }
            let by_url = l
                .members
                .iter()
                .find(|m| m.client_urls.iter().any(|u| norm(u) == norm(&p.url)));
            if let Some(lm) = by_url
                && let Some(m) = members
                    .iter_mut()
                    .find(|m| m.id == lm.id && m.probe.is_none())
            {
                m.probe = Some(p);
                used[i] = true;
            }
        }
    }
    // A single unreachable URL left and a single unprobed member: they are the same
    // (its advertised URL is spelled differently). Otherwise do not guess.
    let left: Vec<usize> = (0..probes.len()).filter(|i| !used[*i]).collect();
    let unprobed = members.iter().filter(|m| m.probe.is_none()).count();
    if let ([i], 1) = (left.as_slice(), unprobed) {
        if let Some(m) = members.iter_mut().find(|m| m.probe.is_none()) {
            m.probe = Some(&probes[*i]);
        }
    } else {
        for i in left {
            members.push(Member {
                id: 0,
                name: probes[i].url.clone(),
                learner: false,
                probe: Some(&probes[i]),
                stray: true,
            });
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    members
}

/// No member answered: a cluster outage, unless every failure says we could not
/// observe (TLS, denied), which is `unknown`.
fn nobody_answered(mut r: ReportBuilder, probes: &[Probe]) -> Report {
    let errors: Vec<&HttpError> = probes
        .iter()
        .filter_map(|p| p.status.as_ref().err())
        .collect();
    let observable = errors.iter().any(|e| e.kind == ErrorKind::Unreachable);
    for p in probes {
        if let Err(e) = &p.status {
            let s = if observable && e.kind == ErrorKind::Unreachable {
                Status::Critical
            } else {
                Status::Unknown
            };
            r.finding(p.url.clone(), s, format!("unreachable: {e}"));
        }
    }
    r.sample(
        "members_healthy",
        "Voting members that answered and know a leader",
        0.0,
        &[],
    );
    if probes.is_empty() {
        return ReportBuilder::unknown("no member URLs configured on the endpoint");
    }
    if observable {
        r.raise(Status::Critical);
        r.finish(format!(
            "no etcd member reachable (0/{} answered)",
            probes.len()
        ))
    } else {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        let mut rep = r.finish(format!("cannot observe etcd: {first}"));
        rep.status = Status::Unknown;
        rep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{Header, Member as GwMember};

    fn status(id: u64, leader: u64, db: u64) -> gateway::Status {
        gateway::Status {
            header: Header {
                cluster_id: 1,
                member_id: id,
                raft_term: 2,
            },
            version: "3.4.23".into(),
            db_size: db,
            db_size_in_use: db,
            leader,
            raft_index: 10,
            raft_term: 2,
            ..Default::default()
        }
    }

    fn list(n: u64) -> MemberList {
        MemberList {
            header: Header::default(),
            members: (1..=n)
                .map(|i| GwMember {
                    id: i,
                    name: format!("m{i}"),
                    client_urls: vec![format!("http://h{i}")],
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn up(i: u64, leader: u64, n: u64) -> Probe {
        Probe {
            url: format!("http://h{i}"),
            status: Ok(status(i, leader, 20480)),
            health: Some(Health {
                health: leader != 0,
                reason: String::new(),
            }),
            members: Some(list(n)),
            metrics: None,
        }
    }

    /// Probe `i` of 3 following `leader` in `term`.
    fn at_term(i: u64, leader: u64, term: u64) -> Probe {
        let mut p = up(i, leader, 3);
        if let Ok(s) = &mut p.status {
            s.raft_term = term;
        }
        p
    }

    #[test]
    fn leadership_tells_an_election_from_a_deposed_leader_and_a_split() {
        let list = list(3);
        // m3 still follows m1 of term 2; m1 and m2 follow m2 in term 3.
        let probes = vec![at_term(1, 2, 3), at_term(2, 2, 3), at_term(3, 1, 2)];
        let lead = leadership(&build_members(Some(&list), &probes));
        assert_eq!((lead.agreed, lead.newest_term), (Some(2), 3));
        assert_eq!(lead.followers_of_old, [(3, Status::Warning)].into());
        // m1 still acts as leader of term 2: dangerous.
        let probes = vec![at_term(1, 1, 2), at_term(2, 2, 3), at_term(3, 2, 3)];
        let lead = leadership(&build_members(Some(&list), &probes));
        assert_eq!(lead.followers_of_old, [(1, Status::Critical)].into());
        // Two leaders in one term: no agreed leader.
        let probes = vec![at_term(1, 1, 3), at_term(2, 2, 3), at_term(3, 2, 3)];
        let lead = leadership(&build_members(Some(&list), &probes));
        assert_eq!(lead.agreed, None);
        assert_eq!(lead.current, [1, 2].into());
    }

    #[test]
    fn quorum_is_kept_lost_or_unverified() {
        let list = list(3);
        let q =
            |probes: Vec<Probe>, agreed| Quorum::of(&build_members(Some(&list), &probes), agreed);
        let kept = q(
            vec![up(1, 1, 3), up(2, 1, 3), down(3, ErrorKind::Unreachable)],
            true,
        );
        assert!(kept.kept() && kept.verdict().is_none());
        let lost = q(
            vec![
                up(1, 1, 3),
                down(2, ErrorKind::Unreachable),
                down(3, ErrorKind::Unreachable),
            ],
            true,
        );
        assert_eq!(lost.verdict().unwrap().0, Status::Critical);
        // Only m1's URL configured: the others are not probed, not lost.
        let unverified = q(vec![up(1, 1, 3)], true);
        assert!(unverified.unverified() && unverified.ok());
        assert_eq!(unverified.verdict().unwrap().0, Status::Warning);
        assert!(!q(vec![up(1, 1, 3)], false).ok());
    }

    /// The probe with `errors` in its status, where 3.4+ lists active alarms.
    fn with_errors(mut p: Probe, errors: &[&str]) -> Probe {
        if let Ok(s) = &mut p.status {
            s.errors = errors.iter().map(|e| e.to_string()).collect();
        }
        p
    }

    #[test]
    fn alarms_are_deduplicated_and_named() {
        let a = with_errors(up(1, 1, 3), &["memberID:2 alarm:NOSPACE "]);
        let b = with_errors(up(2, 1, 3), &["memberID:2 alarm:NOSPACE "]);
        let names = Names([(2, "m2")].into());
        let (mut r, mut headline) = (ReportBuilder::new(), Vec::new());
        assert_eq!(alarm_findings(&[&a, &b], &names, &mut r, &mut headline), 1);
        assert_eq!(headline, ["alarm NOSPACE on m2"]);
        assert_eq!(r.status(), Status::Critical);
        // The alarm is its own finding, not also a member's "errors" warning.
        let r = assess(&Params::default(), &[a, b, up(3, 1, 3)]);
        assert!(
            r.findings
                .iter()
                .all(|f| !f.message.contains("errors:") && !f.message.contains("memberID")),
            "{:?}",
            r.findings
        );
        let (mut r, mut headline) = (ReportBuilder::new(), Vec::new());
        let c = up(3, 1, 3);
        assert_eq!(alarm_findings(&[&c], &names, &mut r, &mut headline), 0);
        assert_eq!(r.status(), Status::Ok);
    }

    #[test]
    fn membership_is_one_cluster_of_the_expected_size() {
        let a = up(1, 1, 3);
        let mut b = up(2, 1, 3);
        if let Ok(s) = &mut b.status {
            s.header.cluster_id = 9;
        }
        let p = Params {
            expected_members: Some(5),
            ..Params::default()
        };
        let (mut r, mut headline) = (ReportBuilder::new(), Vec::new());
        membership_findings(&p, &[&a, &b], 3, &mut r, &mut headline);
        assert_eq!(
            headline,
            [
                "URLs answer for different clusters",
                "3 voting members, expected 5"
            ]
        );
        assert_eq!(r.status(), Status::Critical);
    }

    #[test]
    fn a_member_without_a_leader_warns_if_it_has_one_a_moment_later() {
        // m3 just started (or an election ran): no leader at the first look.
        let first = vec![up(1, 1, 3), up(2, 1, 3), up(3, 0, 3)];
        assert!(electing(&first));
        assert_eq!(assess(&Params::default(), &first).status, Status::Critical);
        let again = vec![up(1, 1, 3), up(2, 1, 3), up(3, 1, 3)];
        assert!(!electing(&again));
        let r = after_election(&Params::default(), &first, &again, 2000, 1000);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        let f = r
            .findings
            .iter()
            .find(|f| f.status == Status::Warning)
            .unwrap();
        assert_eq!(f.subject, "m3 (http://h3)");
        assert!(
            f.message
                .contains("knew no leader 2.0 s ago and follows m1 in term 2 now")
                && f.message.contains("election timeout (1000 ms)"),
            "{}",
            f.message
        );
        // Still none: critical, and the finding says it lasted.
        let r = after_election(&Params::default(), &first, &first, 2000, 1000);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.subject == "m3 (http://h3)"
                && f.message.contains("has no leader")
                && f.message.contains("also 2.0 s earlier")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn a_member_whose_health_fails_a_moment_after_restart_warns_if_well_later() {
        // m2 has just restarted: it follows m1, but its linearizable /health read
        // fails until it has caught up (seen in the rolling-restart test).
        let mut m2 = up(2, 1, 3);
        m2.health = Some(Health {
            health: false,
            reason: String::new(),
        });
        let first = vec![up(1, 1, 3), m2.clone(), up(3, 1, 3)];
        assert!(electing(&first));
        assert_eq!(assess(&Params::default(), &first).status, Status::Critical);
        let again = vec![up(1, 1, 3), up(2, 1, 3), up(3, 1, 3)];
        let r = after_election(&Params::default(), &first, &again, 2000, 1000);
        assert_eq!(r.status, Status::Warning, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.subject == "m2 (http://h2)"
                && f.status == Status::Warning
                && f.message
                    .contains("reported /health unhealthy 2.0 s ago and follows m1 in term 2 now")),
            "{:?}",
            r.findings
        );
        // Still unhealthy: critical, and the finding says it lasted.
        let r = after_election(&Params::default(), &first, &first, 2000, 1000);
        assert_eq!(r.status, Status::Critical, "{:?}", r.findings);
        assert!(
            r.findings.iter().any(|f| f.subject == "m2 (http://h2)"
                && f.message.contains("/health reports unhealthy")
                && f.message.contains("also 2.0 s earlier")),
            "{:?}",
            r.findings
        );
        // Unhealthy with an alarm raised is no transition: no second look. Alarms
        // are the cluster's: one member's status listing it is enough.
        let m1 = with_errors(up(1, 1, 3), &["memberID:2 alarm:NOSPACE "]);
        assert!(!electing(&[m1, m2.clone(), up(3, 1, 3)]));
        // Unhealthy with quorum lost (the others unreachable) is the cluster's
        // state, not a restart: no second look either.
        assert!(!electing(&[
            down(1, ErrorKind::Unreachable),
            m2,
            down(3, ErrorKind::Unreachable)
        ]));
    }

    fn down(i: u64, kind: ErrorKind) -> Probe {
        Probe {
            url: format!("http://h{i}"),
            status: Err(HttpError {
                kind,
                message: "connection refused".into(),
            }),
            health: None,
            members: None,
            metrics: None,
        }
    }

    #[test]
    fn healthy_cluster_is_ok() {
        let r = assess(&Params::default(), &[up(1, 1, 3), up(2, 1, 3), up(3, 1, 3)]);
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        assert_eq!(r.findings.len(), 3);
    }

    #[test]
    fn one_down_keeps_quorum_two_down_loses_it() {
        let r = assess(
            &Params::default(),
            &[up(1, 1, 3), up(2, 1, 3), down(3, ErrorKind::Unreachable)],
        );
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(
            r.findings
                .iter()
                .any(|f| f.subject.starts_with("m3") && f.status == Status::Warning)
        );
        let r = assess(
            &Params::default(),
            &[
                up(1, 0, 3),
                down(2, ErrorKind::Unreachable),
                down(3, ErrorKind::Unreachable),
            ],
        );
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("quorum lost"), "{}", r.summary);
    }

    #[test]
    fn learners_do_not_count_toward_quorum() {
        let mut l = list(4);
        l.members[3].is_learner = true;
        let mut probes = vec![
            up(1, 1, 4),
            up(2, 1, 4),
            up(3, 1, 4),
            down(4, ErrorKind::Unreachable),
        ];
        for p in &mut probes {
            p.members = Some(l.clone());
        }
        let r = assess(&Params::default(), &probes);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(r.summary.contains("3/3 voting"), "{}", r.summary);
    }

    #[test]
    fn unconfigured_members_leave_quorum_unverified_not_lost() {
        // Only one of three members is configured; it knows the leader.
        let r = assess(&Params::default(), &[up(1, 2, 3)]);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(r.summary.contains("quorum not verified"), "{}", r.summary);
    }

    #[test]
    fn unmatched_unreachable_urls_are_not_members() {
        let mut a = down(8, ErrorKind::Unreachable);
        a.url = "http://elsewhere-a".into();
        let mut b = down(9, ErrorKind::Unreachable);
        b.url = "http://elsewhere-b".into();
        let r = assess(&Params::default(), &[up(1, 1, 1), a, b]);
        assert!(r.summary.contains("1/1 voting"), "{}", r.summary);
        assert!(
            r.findings
                .iter()
                .any(|f| f.subject == "http://elsewhere-a" && f.status == Status::Warning)
        );
    }

    #[test]
    fn a_follower_of_a_dead_old_leader_is_an_election_in_progress() {
        // m3 (the leader of term 2) died; m2 elected m1 in term 3; m1 still follows m3.
        let mut m1 = up(1, 3, 3);
        let mut m2 = up(2, 1, 3);
        if let (Ok(s1), Ok(s2)) = (&mut m1.status, &mut m2.status) {
            s1.raft_term = 2;
            s2.raft_term = 3;
        }
        let r = assess(
            &Params::default(),
            &[m1, m2, down(3, ErrorKind::Unreachable)],
        );
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(r.summary.contains("election in progress"), "{}", r.summary);
        // One cluster-wide term, the newest; nothing of raft per member.
        let terms: Vec<_> = r.samples.iter().filter(|s| s.name == "raft_term").collect();
        assert_eq!(terms.len(), 1);
        assert_eq!((terms[0].value, terms[0].labels.len()), (3.0, 0));
        assert!(r.samples.iter().all(|s| s.name != "raft_index"));
        let per_member = r.samples.iter().filter(|s| !s.labels.is_empty()).count();
        // Two members up (five each: no /metrics here, so no leader changes), one down.
        assert_eq!(per_member, 2 * 5 + 1);
    }

    #[test]
    fn a_deposed_leader_still_acting_is_critical() {
        let mut m1 = up(1, 1, 3);
        let mut m2 = up(2, 2, 3);
        let mut m3 = up(3, 2, 3);
        for (p, term) in [(&mut m1, 2), (&mut m2, 3), (&mut m3, 3)] {
            if let Ok(s) = &mut p.status {
                s.raft_term = term;
            }
        }
        let r = assess(&Params::default(), &[m1, m2, m3]);
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
    }

    #[test]
    fn leader_disagreement_and_alarms_are_critical() {
        let r = assess(&Params::default(), &[up(1, 1, 3), up(2, 1, 3), up(3, 3, 3)]);
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("disagree"), "{}", r.summary);

        let p = with_errors(up(1, 1, 3), &["memberID:2 alarm:NOSPACE "]);
        let r = assess(&Params::default(), &[p, up(2, 1, 3), up(3, 1, 3)]);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.findings
                .iter()
                .any(|f| f.subject == "m2" && f.message.contains("NOSPACE"))
        );
    }

    #[test]
    fn db_size_thresholds() {
        let params = Params {
            quota_backend_bytes: Some(100_000),
            ..Params::default()
        };
        let mut p = up(1, 1, 1);
        p.status = Ok(status(1, 1, 85_000));
        assert_eq!(assess(&params, &[p.clone()]).status, Status::Warning);
        p.status = Ok(status(1, 1, 96_000));
        assert_eq!(assess(&params, &[p]).status, Status::Critical);
    }

    #[test]
    fn all_tls_failures_are_unknown_but_outage_is_critical() {
        let r = assess(
            &Params::default(),
            &[down(1, ErrorKind::Tls), down(2, ErrorKind::Tls)],
        );
        assert_eq!(r.status, Status::Unknown);
        let r = assess(
            &Params::default(),
            &[
                down(1, ErrorKind::Unreachable),
                down(2, ErrorKind::Unreachable),
            ],
        );
        assert_eq!(r.status, Status::Critical);
    }
}
