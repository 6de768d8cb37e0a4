//! vitals check `etcd`: cluster health from every member's HTTP/JSON gateway.
//!
//! For each member URL of the granted endpoint it reads `/v3/maintenance/status`,
//! `/health`, `/v3/cluster/member/list`, `/v3/maintenance/alarm` and `/metrics`,
//! then [`assess::assess`] judges quorum, leader agreement, alarms and database size.

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

/// Ask every member everything we need, in two rounds of requests sent together:
/// each member's status, then the rest of what the members that answered know. A
/// member whose status fails is unreachable, and is asked nothing more.
fn probe_all(urls: &[String], opts: Options, read_metrics: bool) -> Vec<Probe> {
    let bases: Vec<&str> = urls.iter().map(|u| u.trim_end_matches('/')).collect();
    let pending: Vec<_> = bases
        .iter()
        .map(|base| {
            http::start_post_json(&format!("{base}/v3/maintenance/status"), &json!({}), opts)
        })
        .collect();
    let probes: Vec<Probe> = bases
        .iter()
        .zip(pending)
        .map(|(base, status)| Probe {
            url: base.to_string(),
            status: status.and_then(http::Pending::wait).and_then(|r| {
                if r.status != 200 {
                    return Err(http::HttpError {
                        kind: http::ErrorKind::Protocol,
                        message: format!("status: HTTP {}: {}", r.status, r.text().trim()),
                    });
                }
                r.json::<gateway::Status>()
            }),
            health: None,
            members: None,
            alarms: None,
            metrics: None,
        })
        .collect();
    let asked: Vec<_> = probes
        .iter()
        .map(|p| {
            p.status
                .is_ok()
                .then(|| ask_the_rest(&p.url, opts, read_metrics))
        })
        .collect();
    probes
        .into_iter()
        .zip(asked)
        .map(|(p, asked)| match asked {
            Some(rest) => rest.read(p),
            None => p,
        })
        .collect()
}

/// The requests after a member's status, in flight.
struct Rest {
    health: Result<http::Pending, http::HttpError>,
    members: Result<http::Pending, http::HttpError>,
    alarms: Result<http::Pending, http::HttpError>,
    metrics: Option<Result<http::Pending, http::HttpError>>,
}

fn ask_the_rest(base: &str, opts: Options, read_metrics: bool) -> Rest {
    let url = |path: &str| format!("{base}{path}");
    Rest {
        health: http::start_get(&url("/health"), opts),
        members: http::start_post_json(&url("/v3/cluster/member/list"), &json!({}), opts),
        alarms: http::start_post_json(
            &url("/v3/maintenance/alarm"),
            &json!({"action": "GET"}),
            opts,
        ),
        metrics: read_metrics.then(|| http::start_get(&url("/metrics"), opts)),
    }
}

impl Rest {
    /// The answers, into the member's probe.
    fn read(self, mut p: Probe) -> Probe {
        let ok = |pending: Result<http::Pending, http::HttpError>| {
            pending
                .and_then(http::Pending::wait)
                .ok()
                .filter(|r| r.status == 200)
        };
        // /health answers 503 with a JSON body when unhealthy: read the body either way.
        p.health = self
            .health
            .and_then(http::Pending::wait)
            .ok()
            .and_then(|r| r.json().ok());
        p.members = ok(self.members).and_then(|r| r.json().ok());
        p.alarms = ok(self.alarms).and_then(|r| r.json().ok());
        p.metrics = self
            .metrics
            .and_then(ok)
            .map(|r| gateway::Metrics::parse(&r.text()));
        p
    }
}

vitals_plugin::export_plugin!(Etcd);
