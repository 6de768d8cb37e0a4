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
        let nodes: Vec<Node> = ep
            .urls
            .iter()
            .map(|url| Node {
                addr: url
                    .split_once("://")
                    .map_or(url.as_str(), |(_, r)| r)
                    .to_string(),
                answer: ask(&ep.name, url),
            })
            .collect();
        assess::assess(&params, &nodes)
    }
}

fn ask(endpoint: &str, url: &str) -> Result<std::collections::BTreeMap<String, String>, NoAnswer> {
    let failure = |e: sql::Error| NoAnswer {
        kind: e.kind().into(),
        message: e.message().into(),
    };
    let mut status = name_values(
        &sql::query(endpoint, url, "SHOW GLOBAL STATUS LIKE 'wsrep_%'").map_err(failure)?,
    );
    let vars = sql::query(
        endpoint,
        url,
        "SHOW GLOBAL VARIABLES LIKE 'wsrep_node_name'",
    )
    .map_err(failure)?;
    status.extend(name_values(&vars));
    Ok(status)
}

vitals_plugin::export_plugin!(Galera);
