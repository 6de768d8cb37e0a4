//! vitals check `usage`: what `kubectl top nodes` shows, judged. Each node's CPU
//! and memory usage from the metrics API (`metrics.k8s.io/v1beta1` NodeMetrics,
//! served by metrics-server) over its `status.allocatable`, against warning and
//! critical ratios; nodes without metrics; optionally nodes older than
//! `max_node_age`. [`assess::assess`] judges what is listed.

pub mod assess;

use vitals_plugin::kubernetes::{list_each, now};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, optional_param, param,
    parse_params,
};

use assess::Params;

struct Usage;

impl Plugin for Usage {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "usage".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Node CPU and memory usage over allocatable, as kubectl top nodes \
                          (metrics.k8s.io); nodes without metrics; node age"
                .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted kubernetes endpoint",
                    Some("\"kubernetes\""),
                ),
                optional_param(
                    "label_selector",
                    "string",
                    "Only nodes matching this label selector",
                ),
                param(
                    "cpu_warning",
                    "number",
                    "CPU usage over allocatable that warns",
                    Some("0.8"),
                ),
                param(
                    "cpu_critical",
                    "number",
                    "CPU usage over allocatable that is critical",
                    Some("0.9"),
                ),
                param(
                    "memory_warning",
                    "number",
                    "Memory usage over allocatable that warns",
                    Some("0.8"),
                ),
                param(
                    "memory_critical",
                    "number",
                    "Memory usage over allocatable that is critical",
                    Some("0.9"),
                ),
                optional_param(
                    "max_node_age",
                    "string",
                    "Nodes older than this warn (\"30d\"): for clusters whose nodes are replaced regularly",
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let max_node_age = match params.validate() {
            Ok(a) => a,
            Err(e) => return ReportBuilder::unknown(format!("invalid parameters: {e}")),
        };
        if let Err(unknown) = granted_endpoint(&input, &params.endpoint, "kubernetes") {
            return unknown;
        }
        let selector = params.label_selector.as_deref();
        let [nodes, metrics] = list_each([
            (&params.endpoint, "/api/v1/nodes", selector),
            (
                &params.endpoint,
                "/apis/metrics.k8s.io/v1beta1/nodes",
                selector,
            ),
        ]);
        let nodes = match nodes {
            Ok(n) => n,
            Err(e) => {
                return ReportBuilder::unknown(format!(
                    "listing nodes: {}: {}",
                    e.kind(),
                    e.message()
                ));
            }
        };
        let metrics = match metrics {
            Ok(m) => m,
            Err(e) => {
                return ReportBuilder::unknown(format!(
                    "the metrics API is unavailable (is metrics-server running? kubectl top nodes fails too): {}: {}",
                    e.kind(),
                    e.message()
                ));
            }
        };
        assess::assess(&params, max_node_age, &nodes, &metrics, now())
    }
}

vitals_plugin::export_plugin!(Usage);
