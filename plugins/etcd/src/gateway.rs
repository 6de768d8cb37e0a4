//! etcd's HTTP/JSON gateway (`/v3/...`, grpc-gateway): the answers we read.
//!
//! Shapes differ between etcd 3.4 and 3.5+ only in details, which this module
//! absorbs: 64-bit integers arrive as JSON strings (sometimes as numbers), fields
//! with their zero value are omitted (an `alarms` list, `isLearner: false`, even a
//! whole header), and `/health` gained a `reason` in 3.5.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Accept a 64-bit integer encoded as a JSON string or number; missing means 0.
fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.parse().map_err(serde::de::Error::custom)?,
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected an integer, got {other}"
            )));
        }
    })
}

/// Accept a boolean encoded as JSON bool or string (`/health` uses `"true"`).
fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    })
}

/// `ResponseHeader`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Header {
    #[serde(deserialize_with = "u64_lenient")]
    pub cluster_id: u64,
    #[serde(deserialize_with = "u64_lenient")]
    pub member_id: u64,
    #[serde(deserialize_with = "u64_lenient")]
    pub raft_term: u64,
}

/// `POST /v3/maintenance/status`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    pub header: Header,
    pub version: String,
    #[serde(deserialize_with = "u64_lenient")]
    pub db_size: u64,
    /// 3.4+; absent (0) on older servers.
    #[serde(deserialize_with = "u64_lenient")]
    pub db_size_in_use: u64,
    #[serde(deserialize_with = "u64_lenient")]
    pub leader: u64,
    #[serde(deserialize_with = "u64_lenient")]
    pub raft_index: u64,
    #[serde(deserialize_with = "u64_lenient")]
    pub raft_term: u64,
    #[serde(deserialize_with = "bool_lenient")]
    pub is_learner: bool,
    pub errors: Vec<String>,
}

/// One entry of `POST /v3/cluster/member/list`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Member {
    #[serde(rename = "ID", deserialize_with = "u64_lenient")]
    pub id: u64,
    pub name: String,
    #[serde(rename = "peerURLs")]
    pub peer_urls: Vec<String>,
    #[serde(rename = "clientURLs")]
    pub client_urls: Vec<String>,
    #[serde(rename = "isLearner", deserialize_with = "bool_lenient")]
    pub is_learner: bool,
}

/// `POST /v3/cluster/member/list`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct MemberList {
    pub header: Header,
    pub members: Vec<Member>,
}

/// One active alarm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Alarm {
    /// 0 means "every member".
    pub member_id: u64,
    /// `NOSPACE`, `CORRUPT`.
    pub kind: String,
}

impl Alarm {
    /// One entry of a status's `errors`, if it is an alarm: etcd 3.4+ lists the
    /// cluster's active alarms there as `memberID:<id> alarm:<KIND> ` (protobuf
    /// text; `memberID` omitted when 0).
    fn parse(error: &str) -> Option<Alarm> {
        let (mut member_id, mut kind) = (0, None);
        for field in error.split_whitespace() {
            match field.split_once(':')? {
                ("memberID", id) => member_id = id.parse().ok()?,
                ("alarm", k) if !k.is_empty() => kind = Some(k.to_string()),
                _ => return None,
            }
        }
        Some(Alarm {
            member_id,
            kind: kind?,
        })
    }
}

impl Status {
    /// The cluster's active alarms as this member has applied them, read from
    /// `errors`: no `/v3/maintenance/alarm` request, which is a raft proposal
    /// the leader writes to its log on every read.
    pub fn alarms(&self) -> impl Iterator<Item = Alarm> + '_ {
        self.errors
            .iter()
            .filter_map(|e| Alarm::parse(e))
            .filter(|a| a.kind != "NONE")
    }

    /// The errors that are not alarms (`etcdserver: no leader`, ...).
    pub fn other_errors(&self) -> impl Iterator<Item = &str> {
        self.errors
            .iter()
            .filter(|e| Alarm::parse(e).is_none())
            .map(String::as_str)
    }
}

/// `GET /health`. etcd answers 503 with `{"health":"false"}` when unhealthy.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Health {
    #[serde(deserialize_with = "bool_lenient")]
    pub health: bool,
    /// 3.5+.
    pub reason: String,
}

/// Values read from the member's Prometheus `/metrics`, where available.
#[derive(Debug, Default, Clone, Copy)]
pub struct Metrics {
    pub quota_backend_bytes: Option<f64>,
    pub leader_changes_seen: Option<f64>,
}

impl Metrics {
    /// Pick the few unlabelled gauges and counters we need from the text exposition.
    pub fn parse(text: &str) -> Metrics {
        let mut m = Metrics::default();
        // A member's exposition is ~1,500 lines (150 KB): only the few that
        // start with `etcd_server_` are split.
        for line in text.lines().filter(|l| l.starts_with("etcd_server_")) {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let value = value.parse::<f64>().ok();
            match name {
                "etcd_server_quota_backend_bytes" => m.quota_backend_bytes = value,
                "etcd_server_leader_changes_seen_total" => m.leader_changes_seen = value,
                _ => {}
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_etcd_34_status_with_string_integers() {
        let s: Status = serde_json::from_str(
            r#"{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"3319814642761637952","raftIndex":"4","raftTerm":"2","raftAppliedIndex":"4","dbSizeInUse":"16384"}"#,
        )
        .unwrap();
        assert_eq!(s.header.member_id, 3319814642761637952);
        assert_eq!(s.leader, 3319814642761637952);
        assert_eq!(s.db_size, 20480);
        assert_eq!(s.db_size_in_use, 16384);
        assert!(!s.is_learner);
    }

    #[test]
    fn parses_numbers_learners_and_empty_answers() {
        let s: Status = serde_json::from_str(r#"{"dbSize":20480,"isLearner":true}"#).unwrap();
        assert_eq!(s.db_size, 20480);
        assert!(s.is_learner);
        assert_eq!(s.alarms().count(), 0);
        let h: Health = serde_json::from_str(r#"{"health":"true","reason":""}"#).unwrap();
        assert!(h.health);
    }

    #[test]
    fn alarms_are_read_from_status_errors() {
        // As a real 3.4.23 member answered with NOSPACE raised.
        let s: Status = serde_json::from_str(
            r#"{"header":{"member_id":"10276657743932975437"},"version":"3.4.23","leader":"1",
                "errors":["memberID:10276657743932975437 alarm:NOSPACE ","etcdserver: no leader",
                          "alarm:CORRUPT ","alarm:NONE "]}"#,
        )
        .unwrap();
        let alarms: Vec<Alarm> = s.alarms().collect();
        assert_eq!(
            alarms,
            [
                Alarm {
                    member_id: 10276657743932975437,
                    kind: "NOSPACE".into()
                },
                Alarm {
                    member_id: 0,
                    kind: "CORRUPT".into()
                }
            ]
        );
        assert_eq!(
            s.other_errors().collect::<Vec<_>>(),
            ["etcdserver: no leader"]
        );
    }

    #[test]
    fn reads_quota_and_leader_changes_from_metrics() {
        let m = Metrics::parse(
            "# HELP x\netcd_server_quota_backend_bytes 2.147483648e+09\netcd_server_leader_changes_seen_total 3\n",
        );
        assert_eq!(m.quota_backend_bytes, Some(2147483648.0));
        assert_eq!(m.leader_changes_seen, Some(3.0));
    }
}
