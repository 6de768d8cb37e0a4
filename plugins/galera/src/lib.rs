//! vitals check `galera`: MariaDB Galera cluster health and split-brain.
//!
//! On every node of the granted mysql endpoint it reads `SHOW GLOBAL STATUS LIKE
//! 'wsrep_%'` and the node's name, then [`assess::assess`] groups the nodes into
//! Primary components by membership and judges.

pub mod assess;

use vitals_plugin::sql::{self, name_values};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, optional_param, param,
    parse_params,
};

use assess::{NoAnswer, Node, Params};

struct Galera;

impl Plugin for Galera {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "galera".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "MariaDB Galera: split-brain (several Primary components), quorum lost \
                          with the node to bootstrap from, non-Primary nodes, cluster size, \
                          node states, readiness, flow control"
                .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted mysql endpoint whose urls are the nodes",
                    Some("\"galera\""),
                ),
                optional_param(
                    "expected_size",
                    "integer",
                    "Nodes the cluster should have (default: the configured urls)",
                ),
                param(
                    "flow_control_warning",
                    "number",
                    "Fraction of time paused by flow control that warns",
                    Some("0.1"),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let ep = match granted_endpoint(&input, &params.endpoint, "mysql") {
            Ok(ep) => ep,
            Err(unknown) => return unknown,
        };
        let urls: Vec<&str> = ep.urls.iter().map(String::as_str).collect();
        let nodes: Vec<Node> = urls
            .iter()
            .zip(ask_all(&ep.name, &urls))
            .map(|(url, answer)| Node {
                addr: url.split_once("://").map_or(*url, |(_, r)| r).to_string(),
                answer,
            })
            .collect();
        assess::assess(&params, &nodes)
    }
}

/// Every node's wsrep status and node name, in two rounds of queries sent
/// together: every node's status, then the name of each node that answered.
fn ask_all(
    endpoint: &str,
    urls: &[&str],
) -> Vec<Result<std::collections::BTreeMap<String, String>, NoAnswer>> {
    let failure = |e: sql::Error| NoAnswer {
        kind: e.kind().into(),
        message: e.message().into(),
    };
    let status = sql::query_all(&each(endpoint, urls, "SHOW GLOBAL STATUS LIKE 'wsrep_%'"));
    let answered: Vec<&str> = urls
        .iter()
        .zip(&status)
        .filter(|(_, s)| s.is_ok())
        .map(|(u, _)| *u)
        .collect();
    let mut names = sql::query_all(&each(
        endpoint,
        &answered,
        "SHOW GLOBAL VARIABLES LIKE 'wsrep_node_name'",
    ))
    .into_iter();
    status
        .into_iter()
        .map(|status| {
            let mut status = name_values(&status.map_err(failure)?);
            let name = names.next().expect("one answer per node that answered");
            status.extend(name_values(&name.map_err(failure)?));
            Ok(status)
        })
        .collect()
}

/// The same statement for each URL of `endpoint`.
fn each<'a>(
    endpoint: &'a str,
    urls: &[&'a str],
    statement: &'a str,
) -> Vec<(&'a str, &'a str, &'a str)> {
    urls.iter().map(|u| (endpoint, *u, statement)).collect()
}

vitals_plugin::export_plugin!(Galera);
