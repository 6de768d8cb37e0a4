//! vitals check `redis_sentinel`: is a Redis Sentinel deployment healthy, failing
//! over, or split?
//!
//! It asks every sentinel of the granted sentinel endpoint (`SENTINEL MASTERS`,
//! `SENTINEL CKQUORUM`, `INFO sentinel`) and every data node of the optional node
//! endpoint (`INFO replication`), all of them together in each round of
//! commands, then [`assess::assess`] judges.

pub mod assess;

use vitals_plugin::redis::{self, parse_fields, parse_info};
use vitals_plugin::{
    Endpoint, Plugin, PluginInfo, Report, ReportBuilder, RunInput, optional_param, param,
    parse_params,
};

use assess::{Failure, MasterView, NodeView, Observation, Params, ReplicaLink, SentinelView};

struct RedisSentinel;

impl Plugin for RedisSentinel {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "redis_sentinel".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Redis Sentinel: sentinels agree on the master, quorum (CKQUORUM), \
                          master down or failing over, one master among the data nodes \
                          (split-brain), replica links and lag, TILT"
                .into(),
            params: vec![
                param(
                    "sentinels",
                    "string",
                    "Granted redis endpoint whose urls are the sentinels",
                    Some("\"sentinels\""),
                ),
                param(
                    "nodes",
                    "string",
                    "Granted redis endpoint whose urls are the data nodes (optional: without it the replicas are judged from the sentinels' view)",
                    Some("\"redis\""),
                ),
                optional_param(
                    "masters",
                    "list<string>",
                    "Master names to check (default: every master the sentinels monitor)",
                ),
                optional_param(
                    "expected_replicas",
                    "integer",
                    "Replicas each master should have (default: the data nodes minus one)",
                ),
                param(
                    "lag_warning_seconds",
                    "integer",
                    "Replica lag that warns",
                    Some("10"),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let find = |name: &str| {
            input
                .endpoints
                .iter()
                .find(|e| e.name == name && e.kind == "redis")
        };
        let Some(sentinels) = find(&params.sentinels) else {
            return ReportBuilder::unknown(format!(
                "no granted redis endpoint {:?} in cluster {} (the sentinels); grant it in `grants.endpoints`",
                params.sentinels, input.cluster
            ));
        };
        let obs = observe(sentinels, find(&params.nodes), &params.masters);
        assess::assess(&params, &obs)
    }
}

/// host:port of a `redis://host:port` (or `rediss://`) URL, the form sentinels
/// report addresses in.
fn addr(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.trim_end_matches('/').to_string()
}

fn failure(e: redis::Error) -> Failure {
    Failure {
        kind: e.kind().into(),
        message: e.message().into(),
    }
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Everything the sentinels and nodes say, in two rounds of commands sent to
/// all of them together (the commands to one sentinel or node share its
/// connection): `INFO sentinel` and `SENTINEL MASTERS` of every sentinel, `INFO
/// replication` and `INFO server` of every node; then `SENTINEL CKQUORUM` and
/// `SENTINEL REPLICAS` of each master each sentinel that answered monitors.
fn observe(sentinels: &Endpoint, nodes: Option<&Endpoint>, only: &[String]) -> Observation {
    fn urls(e: Option<&Endpoint>) -> Vec<&str> {
        e.map(|e| e.urls.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
    let (s_urls, n_urls) = (urls(Some(sentinels)), urls(nodes));
    let (s_name, n_name) = (
        sentinels.name.as_str(),
        nodes.map_or("", |n| n.name.as_str()),
    );

    let mut calls: Vec<(&str, &str, &[&str])> = Vec::new();
    for u in &s_urls {
        calls.push((s_name, u, &["INFO", "sentinel"]));
        calls.push((s_name, u, &["SENTINEL", "MASTERS"]));
    }
    for u in &n_urls {
        calls.push((n_name, u, &["INFO", "replication"]));
        calls.push((n_name, u, &["INFO", "server"]));
    }
    let mut answers = redis::command_all(&calls).into_iter();
    let mut next = || answers.next().expect("one answer per command");
    let (s_info, masters): (Vec<_>, Vec<_>) = s_urls.iter().map(|_| (next(), next())).unzip();
    let node_views: Vec<Result<NodeView, Failure>> = n_urls
        .iter()
        .map(|_| {
            let (replication, server) = (next(), next());
            let mut view = node_view(&parse_info(&text(&replication.map_err(failure)?)));
            // A master that started moments ago may be a demoted master back
            // from a restart, which Sentinel reconfigures as a replica.
            if view.role == "master" {
                view.uptime_seconds = server
                    .ok()
                    .and_then(|v| parse_info(&text(&v)).get("uptime_in_seconds")?.parse().ok());
            }
            Ok(view)
        })
        .collect();

    // Each (sentinel, master) pair of the sentinels that answered both.
    let mut pairs: Vec<(usize, std::collections::BTreeMap<String, String>)> = Vec::new();
    for (i, (info, m)) in s_info.iter().zip(&masters).enumerate() {
        if let (Ok(_), Ok(m)) = (info, m) {
            for f in m.as_array().into_iter().flatten().map(parse_fields) {
                let name = f.get("name").map_or("", String::as_str);
                if only.is_empty() || only.iter().any(|o| o == name) {
                    pairs.push((i, f));
                }
            }
        }
    }
    let args: Vec<[[&str; 3]; 2]> = pairs
        .iter()
        .map(|(_, f)| {
            let name = f.get("name").map_or("", String::as_str);
            [
                ["SENTINEL", "CKQUORUM", name],
                ["SENTINEL", "REPLICAS", name],
            ]
        })
        .collect();
    let calls: Vec<(&str, &str, &[&str])> = pairs
        .iter()
        .zip(&args)
        .flat_map(|((i, _), [ckquorum, replicas])| {
            [
                (s_name, s_urls[*i], &ckquorum[..]),
                (s_name, s_urls[*i], &replicas[..]),
            ]
        })
        .collect();
    let mut answers = redis::command_all(&calls).into_iter();
    let mut next = || answers.next().expect("one answer per command");
    let both: Vec<_> = pairs.iter().map(|_| (next(), next())).collect();

    let mut views: Vec<Result<SentinelView, Failure>> = s_info
        .into_iter()
        .zip(masters)
        .map(|(info, masters)| {
            let info = parse_info(&text(&info.map_err(failure)?));
            masters.map_err(failure)?;
            Ok(SentinelView {
                tilt: info.get("sentinel_tilt").is_some_and(|v| v == "1"),
                masters: Default::default(),
            })
        })
        .collect();
    for ((i, f), (ckquorum, replicas)) in pairs.into_iter().zip(both) {
        let ckquorum = ckquorum
            .map(|v| text(&v))
            .map_err(|e| e.message().to_string());
        if let Ok(view) = &mut views[i] {
            let name = f.get("name").cloned().unwrap_or_default();
            view.masters
                .insert(name, master_view(&f, ckquorum, replicas.ok()));
        }
    }
    Observation {
        sentinels: s_urls.iter().map(|u| addr(u)).zip(views).collect(),
        nodes: n_urls.iter().map(|u| addr(u)).zip(node_views).collect(),
    }
}

/// A master as one sentinel sees it: its `SENTINEL MASTERS` fields, its
/// `CKQUORUM` answer and its `SENTINEL REPLICAS` reply (if it answered).
fn master_view(
    f: &std::collections::BTreeMap<String, String>,
    ckquorum: Result<String, String>,
    replicas: Option<serde_json::Value>,
) -> MasterView {
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
    // The master's replicas as the sentinel knows them: whether it would
    // promote each, and those that still report role master (a demoted
    // master it has yet to reconfigure).
    let mut demoting = std::collections::BTreeMap::new();
    let mut candidates = None;
    if let Some(replicas) = replicas {
        let known = candidates.insert(std::collections::BTreeMap::new());
        for r in replicas.as_array().into_iter().flatten() {
            let r = parse_fields(r);
            let at = format!(
                "{}:{}",
                r.get("ip").map_or("", String::as_str),
                r.get("port").map_or("", String::as_str)
            );
            known.insert(at.clone(), unpromotable(&r));
            if r.get("role-reported").is_some_and(|v| v == "master") {
                let ms = r
                    .get("role-reported-time")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                demoting.insert(at, ms);
            }
        }
    }
    MasterView {
        addr: format!(
            "{}:{}",
            f.get("ip").map_or("", String::as_str),
            f.get("port").map_or("", String::as_str)
        ),
        flags: f
            .get("flags")
            .map(|s| s.split(',').map(String::from).collect())
            .unwrap_or_default(),
        quorum: num("quorum").unwrap_or(0) as u32,
        other_sentinels: num("num-other-sentinels").unwrap_or(0) as u32,
        replicas: num("num-slaves").unwrap_or(0) as u32,
        config_epoch: num("config-epoch").unwrap_or(0),
        failover_timeout_ms: num("failover-timeout").unwrap_or(0),
        failover_state: f.get("failover-state").cloned(),
        o_down_ms: num("o-down-time"),
        s_down_ms: num("s-down-time"),
        last_ok_ping_ms: num("last-ok-ping-reply"),
        down_after_ms: num("down-after-milliseconds").unwrap_or(0),
        role_reported_ms: num("role-reported-time"),
        ckquorum,
        demoting,
        candidates,
    }
}

/// Why Sentinel would not promote this replica (`SENTINEL REPLICAS` fields), as
/// its leader's replica selection rules it out; `None` when it could.
fn unpromotable(r: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let flags = r.get("flags").map_or("", String::as_str);
    let flagged: Vec<&str> = flags
        .split(',')
        .filter(|f| ["s_down", "o_down", "disconnected"].contains(f))
        .collect();
    if !flagged.is_empty() {
        return Some(flagged.join(","));
    }
    let priority = r
        .get("slave-priority")
        .or_else(|| r.get("replica-priority"));
    (priority.map(String::as_str) == Some("0")).then(|| "replica-priority 0".to_string())
}

/// A data node as its `INFO replication` shows it (its uptime comes later, for
/// masters).
fn node_view(info: &std::collections::BTreeMap<String, String>) -> NodeView {
    let role = info.get("role").cloned().unwrap_or_default();
    let mut view = NodeView {
        link_up: info.get("master_link_status").is_some_and(|s| s == "up"),
        link_down_seconds: info
            .get("master_link_down_since_seconds")
            .and_then(|s| s.parse().ok()),
        sync_io_seconds: (info.get("master_sync_in_progress").map(String::as_str) == Some("1"))
            .then(|| {
                info.get("master_sync_last_io_seconds_ago")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }),
        master_addr: info
            .get("master_host")
            .map(|h| format!("{h}:{}", info.get("master_port").map_or("", String::as_str))),
        role,
        replicas: Vec::new(),
        uptime_seconds: None,
        was_replica: info
            .get("second_repl_offset")
            .is_some_and(|o| o.trim() != "-1"),
    };
    // slave0:ip=127.0.0.1,port=6380,state=online,offset=123,lag=0
    for (k, v) in info {
        if !(k.starts_with("slave") && k[5..].chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        let f: std::collections::BTreeMap<&str, &str> =
            v.split(',').filter_map(|kv| kv.split_once('=')).collect();
        view.replicas.push(ReplicaLink {
            addr: format!(
                "{}:{}",
                f.get("ip").unwrap_or(&""),
                f.get("port").unwrap_or(&"")
            ),
            state: f.get("state").unwrap_or(&"").to_string(),
            lag: f.get("lag").and_then(|l| l.parse().ok()).unwrap_or(0),
        });
    }
    view
}

vitals_plugin::export_plugin!(RedisSentinel);
