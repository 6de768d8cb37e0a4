//! Redis commands through the host's read-only `redis` capability, plus parsers
//! for the replies a health check reads (`INFO` sections, `SENTINEL` field lists).

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::bindings::vitals::check::redis::Error;
use crate::bindings::vitals::check::redis::Request;

crate::capability_error!(Error);

/// Run a command on `url` of the granted redis endpoint `endpoint`; the reply as JSON.
pub fn command(endpoint: &str, url: &str, args: &[&str]) -> Result<Value, Error> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let json = crate::bindings::vitals::check::redis::command(endpoint, url, &args)?;
    reply(json)
}

/// Several commands at once, each `(endpoint, url, args)` as for [`command`]: the
/// replies in the same order, after about the slowest one's time (ask every
/// sentinel or node together).
pub fn command_all(calls: &[(&str, &str, &[&str])]) -> Vec<Result<Value, Error>> {
    let requests: Vec<Request> = calls
        .iter()
        .map(|(endpoint, url, args)| Request {
            endpoint: endpoint.to_string(),
            url: url.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        })
        .collect();
    crate::bindings::vitals::check::redis::command_all(&requests)
        .into_iter()
        .map(|answer| answer.and_then(reply))
        .collect()
}

fn reply(json: String) -> Result<Value, Error> {
    serde_json::from_str(&json).map_err(|e| Error::Server(format!("unparsable reply: {e}")))
}

/// Parse an `INFO` reply (`key:value` lines, `# Section` headers) into a map.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Parse a flat `[field, value, field, value, ...]` reply (`SENTINEL MASTER`, each
/// entry of `SENTINEL MASTERS`/`REPLICAS`/`SENTINELS`), or a RESP3 map, into a map.
pub fn parse_fields(v: &Value) -> BTreeMap<String, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match v {
        Value::Array(items) => items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (text(&c[0]), text(&c[1])))
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_and_fields_parse() {
        let info = parse_info(
            "# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=1,lag=0\r\n",
        );
        assert_eq!(info["role"], "master");
        assert_eq!(
            info["slave0"],
            "ip=127.0.0.1,port=6380,state=online,offset=1,lag=0"
        );
        let fields = parse_fields(&serde_json::json!([
            "name", "mymaster", "port", "6379", "odd"
        ]));
        assert_eq!(fields["name"], "mymaster");
        assert_eq!(fields.len(), 2);
    }
}
