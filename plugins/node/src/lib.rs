//! vitals check `node`: Kubernetes node health.
//!
//! It lists the Nodes (optionally by label selector) and the node Leases in
//! `kube-node-lease` of the granted kubernetes endpoint, then [`assess::assess`]
//! judges each node: its conditions, the kubelet's heartbeat (the Lease's
//! renewTime against its duration), cordons and kubelet version skew.

pub mod assess;

use vitals_plugin::kubernetes::{self, now};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, optional_param, param,
    parse_params,
};

use assess::Params;

struct Node;

impl Plugin for Node {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "node".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Kubernetes nodes: Ready, pressure conditions, NetworkUnavailable, \
                          kubelet heartbeat from the node Lease, cordoned nodes, a minimum of \
                          Ready nodes, kubelet version skew"
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
                    "Only nodes matching this label selector (e.g. \"node-role.kubernetes.io/worker=true\")",
                ),
                param(
                    "min_ready",
                    "integer",
                    "Fewer Ready nodes than this is critical",
                    Some("1"),
                ),
                param(
                    "not_ready_grace_seconds",
                    "integer",
                    "A node NotReady for less than this is a warning, not yet critical",
                    Some("0"),
                ),
                param(
                    "join_grace_seconds",
                    "integer",
                    "A node created less than this ago and not yet Ready is joining the cluster: a warning",
                    Some("600"),
                ),
                optional_param(
                    "lease_stale_seconds",
                    "integer",
                    "A node Lease not renewed for this long is a stale kubelet heartbeat (default: the Lease's leaseDurationSeconds)",
                ),
                param(
                    "version_skew",
                    "string",
                    "Kubelet versions that differ across nodes: \"minor\" warns when minor versions differ, \"patch\" when any version differs, \"off\" never",
                    Some("\"minor\""),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        if let Err(e) = params.validate() {
            return ReportBuilder::unknown(e);
        }
        if let Err(unknown) = granted_endpoint(&input, &params.endpoint, "kubernetes") {
            return unknown;
        }
        const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        let [nodes, leases] = kubernetes::list_each([
            (
                &params.endpoint,
                "/api/v1/nodes",
                params.label_selector.as_deref(),
            ),
            (&params.endpoint, LEASES, None),
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
        // Without the Leases the heartbeat cannot be judged; the rest still can.
        let leases: Result<Vec<assess::Lease>, _> = leases.and_then(|l| {
            l.into_iter()
                .map(|v| kubernetes::typed(LEASES, v))
                .collect()
        });
        assess::assess(&params, &nodes, leases.map_err(|e| e.message()), now())
    }
}

vitals_plugin::export_plugin!(Node);
