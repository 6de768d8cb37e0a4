//! vitals check `etcd`: cluster health from every member's HTTP/JSON gateway.
//!
//! For each member URL of the granted endpoint it reads `/v3/maintenance/status`
//! (alarms included), `/health`, `/v3/cluster/member/list` and `/metrics`, then
//! [`assess::assess`] judges quorum, leader agreement, alarms and database size.

pub mod assess;
pub mod gateway;

use std::time::Duration;

use serde_json::json;
use vitals_plugin::http::{self, Options};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, optional_param, param, parse_params,
};

use assess::{Params, Probe};

/// The check (public so that `examples/native.rs` can run it natively).
pub struct Etcd;

impl Plugin for Etcd {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "etcd".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "etcd cluster health: member reachability and quorum, leader agreement, \
                          alarms (NOSPACE, CORRUPT), database size against the quota; \
                          works with the 3.4 and 3.5+ HTTP gateways"
                .into(),
            params: vec![
                optional_param(
                    "endpoint",
                    "string",
                    "Granted HTTP endpoint whose urls are the members (default: the first granted)",
                ),
                param(
                    "db_size_warning_ratio",
                    "number",
                    "Database size / quota at which a member warns",
                    Some("0.8"),
                ),
                param(
                    "db_size_critical_ratio",
                    "number",
                    "Database size / quota at which a member is critical",
                    Some("0.95"),
                ),
                optional_param(
                    "quota_backend_bytes",
                    "integer",
                    "Backend quota; default: read from /metrics, else etcd's default 2 GiB",
                ),
                param(
                    "request_timeout_seconds",
                    "number",
                    "Timeout of each request to a member",
                    Some("3.0"),
                ),
                optional_param(
                    "expected_members",
                    "integer",
                    "Warn when the number of voting members differs",
                ),
                param(
                    "read_metrics",
                    "boolean",
                    "Read each member's /metrics (the quota, unless quota_backend_bytes is given, and the leader changes it has seen); false skips the largest answer (~150 KB each) for a faster check",
                    Some("true"),
                ),
                param(
                    "election_timeout_ms",
                    "integer",
                    "The cluster's --election-timeout: a member that knows no leader is looked at again after twice this, and warns if it then knows one",
                    Some("1000"),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let endpoint = match &params.endpoint {
            Some(name) => input.endpoints.iter().find(|e| &e.name == name),
            None => input.endpoints.iter().find(|e| e.kind == "http"),
        };
        let Some(endpoint) = endpoint else {
            return ReportBuilder::unknown(format!(
                "no granted HTTP endpoint{} in cluster {}; grant one in the check's `grants.endpoints`",
                params
                    .endpoint
                    .as_deref()
                    .map(|n| format!(" named {n:?}"))
                    .unwrap_or_default(),
                input.cluster
            ));
        };
        let opts = Options {
            timeout: Duration::from_secs_f64(params.request_timeout_seconds.clamp(0.05, 300.0)),
        };
        let probe = || probe_all(&endpoint.urls, opts, params.read_metrics);
        let probes = probe();
        if !assess::electing(&probes) {
            return assess::assess(&params, &probes);
        }
        // A member knows no leader: an election, or a member just started.
        // Look again once an election would have ended.
        let timeout = params.election_timeout_ms.clamp(10, 60_000);
        std::thread::sleep(Duration::from_millis(2 * timeout));
        assess::after_election(&params, &probes, &probe(), 2 * timeout, timeout)
    }
}

/// Ask every member everything we need, all at once: each member's status,
/// `/health`, member list (and `/metrics`). Alarms come with the status
/// (`errors`, 3.4+): an alarm list request would be a raft proposal the leader
/// writes to its log on every run. What a member whose status fails answered
/// else is dropped: it is unreachable.
fn probe_all(urls: &[String], opts: Options, read_metrics: bool) -> Vec<Probe> {
    let bases: Vec<&str> = urls.iter().map(|u| u.trim_end_matches('/')).collect();
    let pending = bases
        .iter()
        .flat_map(|base| ask(base, opts, read_metrics))
        .collect();
    let mut answers = http::wait_all(pending).into_iter();
    bases
        .iter()
        .map(|base| {
            let mut next = || answers.next().unwrap_or_else(not_asked);
            let [status, health, members, metrics] = std::array::from_fn(|_| next());
            probe(base, status, health, members, metrics)
        })
        .collect()
}

type Answer = Result<http::Response, http::HttpError>;

/// What was not asked: read as no answer.
fn not_asked<T>() -> Result<T, http::HttpError> {
    Err(http::HttpError {
        kind: http::ErrorKind::Protocol,
        message: "not asked".into(),
    })
}

/// A member's requests: status, health, member list, metrics.
fn ask(
    base: &str,
    opts: Options,
    read_metrics: bool,
) -> [Result<http::Pending, http::HttpError>; 4] {
    let url = |path: &str| format!("{base}{path}");
    [
        http::start_post_json(&url("/v3/maintenance/status"), &json!({}), opts),
        http::start_get(&url("/health"), opts),
        http::start_post_json(&url("/v3/cluster/member/list"), &json!({}), opts),
        if read_metrics {
            http::start_get(&url("/metrics"), opts)
        } else {
            not_asked()
        },
    ]
}

/// The answer if the request succeeded with 200.
fn ok(answer: Answer) -> Option<http::Response> {
    answer.ok().filter(|r| r.status == 200)
}

/// A member's answers, as its probe.
fn probe(base: &str, status: Answer, health: Answer, members: Answer, metrics: Answer) -> Probe {
    let status = status.and_then(|r| {
        if r.status != 200 {
            return Err(http::HttpError {
                kind: http::ErrorKind::Protocol,
                message: format!("status: HTTP {}: {}", r.status, r.text().trim()),
            });
        }
        r.json::<gateway::Status>()
    });
    if status.is_err() {
        return Probe {
            url: base.to_string(),
            status,
            health: None,
            members: None,
            metrics: None,
        };
    }
    Probe {
        url: base.to_string(),
        status,
        // /health answers 503 with a JSON body when unhealthy: read the body either way.
        health: health.ok().and_then(|r| r.json().ok()),
        members: ok(members).and_then(|r| r.json().ok()),
        metrics: ok(metrics).map(|r| gateway::Metrics::parse(&r.text())),
    }
}

vitals_plugin::export_plugin!(Etcd);
