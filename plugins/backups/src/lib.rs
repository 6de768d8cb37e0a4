//! vitals check `backups`: whether backups happen, from one of two sources chosen
//! by the `source` parameter. `velero`: every Velero Schedule's newest Backup
//! finished Completed within the schedule's period plus a grace, and the
//! BackupStorageLocations Available. `etcd-snapshots`: RKE2/K3s ETCDSnapshotFiles
//! per node and storage, the newest recent and usable, none failed, no more than
//! the retention. [`assess`] judges what is listed; [`period`] reads cron schedules.

pub mod assess;
pub mod period;

use serde_json::Value;
use vitals_plugin::kubernetes::{self, now};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, optional_param, param,
    parse_params,
};

use assess::Params;

struct Backups;

/// Every object of each `(path, label selector)`, read at once, or an unknown
/// report naming the first that could not be listed.
#[allow(clippy::result_large_err)]
fn list<const N: usize>(
    endpoint: &str,
    lists: [(&str, Option<&str>); N],
    hint: &str,
) -> Result<[Vec<Value>; N], Report> {
    let listed = kubernetes::list_each(lists.map(|(path, selector)| (endpoint, path, selector)));
    for ((path, _), answer) in lists.iter().zip(&listed) {
        if let Err(e) = answer {
            let hint = if e.is_not_found() { hint } else { "" };
            return Err(ReportBuilder::unknown(format!(
                "listing {path}: {}: {}{hint}",
                e.kind(),
                e.message()
            )));
        }
    }
    Ok(listed.map(Result::unwrap_or_default))
}

fn velero(params: &Params, limits: &assess::Limits) -> Result<Report, Report> {
    let ns = &params.namespace;
    let hint = " (is Velero installed?)";
    let base = format!("/apis/velero.io/v1/namespaces/{ns}");
    let ep = &params.endpoint;
    let [schedules, backups, locations] = list(
        ep,
        [
            (&format!("{base}/schedules"), None),
            (&format!("{base}/backups"), Some("velero.io/schedule-name")),
            (&format!("{base}/backupstoragelocations"), None),
        ],
        hint,
    )?;
    Ok(assess::velero(
        limits,
        &schedules,
        &backups,
        &locations,
        now(),
    ))
}

fn etcd_snapshots(params: &Params, limits: &assess::Limits) -> Result<Report, Report> {
    let ep = &params.endpoint;
    const FILES: &str = "/apis/k3s.cattle.io/v1/etcdsnapshotfiles";
    let hint = " (an RKE2 or K3s cluster with embedded etcd, v1.27 or later?)";
    let (files, nodes) = if params.etcd_nodes.is_empty() {
        let [files] = list(ep, [(FILES, None)], hint)?;
        (files, None)
    } else {
        let [files, nodes] = list(
            ep,
            [(FILES, None), ("/api/v1/nodes", Some(&params.etcd_nodes))],
            hint,
        )?;
        let names = nodes
            .iter()
            .map(|n| kubernetes::str_at(n, "/metadata/name").to_string())
            .collect::<Vec<_>>();
        (files, Some(names))
    };
    Ok(assess::etcd_snapshots(
        limits,
        &files,
        nodes.as_deref(),
        now(),
    ))
}

impl Plugin for Backups {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "backups".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Backups happen: Velero schedules' newest backups Completed within their \
                          period and storage locations Available, or RKE2/K3s etcd snapshots per \
                          node recent, usable and within the retention"
                .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted kubernetes endpoint",
                    Some("\"kubernetes\""),
                ),
                param(
                    "source",
                    "string",
                    "What to judge: \"velero\" or \"etcd-snapshots\"",
                    None,
                ),
                param(
                    "namespace",
                    "string",
                    "velero: the namespace Velero runs in",
                    Some("\"velero\""),
                ),
                param(
                    "grace",
                    "string",
                    "How late a backup may be beyond its schedule's period (or snapshot_interval)",
                    Some("\"1h\""),
                ),
                optional_param(
                    "max_age",
                    "string",
                    "How old the newest backup or snapshot may be, instead of the period plus grace (\"26h\")",
                ),
                param(
                    "snapshot_interval",
                    "string",
                    "etcd-snapshots: how often snapshots are taken (stock RKE2/K3s: every 12h, etcd-snapshot-schedule-cron \"0 */12 * * *\")",
                    Some("\"12h\""),
                ),
                optional_param(
                    "schedule",
                    "string",
                    "etcd-snapshots: the etcd-snapshot-schedule-cron, instead of snapshot_interval (\"0 */6 * * *\")",
                ),
                param(
                    "snapshot_name",
                    "string",
                    "etcd-snapshots: the name scheduled snapshots start with (etcd-snapshot-name); others (on-demand) are not pruned, not counted against the retention",
                    Some("\"etcd-snapshot\""),
                ),
                param(
                    "retention",
                    "number",
                    "etcd-snapshots: scheduled snapshots kept per node locally (etcd-snapshot-retention)",
                    Some("5"),
                ),
                param(
                    "s3_retention",
                    "number",
                    "etcd-snapshots: scheduled snapshots kept in S3, all nodes' together (etcd-s3-retention)",
                    Some("5"),
                ),
                param(
                    "etcd_nodes",
                    "string",
                    "etcd-snapshots: label selector of the nodes that must have snapshots (\"\": any)",
                    Some("\"node-role.kubernetes.io/etcd=true\""),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let limits = match params.validate() {
            Ok(l) => l,
            Err(e) => return ReportBuilder::unknown(format!("invalid parameters: {e}")),
        };
        if let Err(unknown) = granted_endpoint(&input, &params.endpoint, "kubernetes") {
            return unknown;
        }
        let result = if params.source == "velero" {
            velero(&params, &limits)
        } else {
            etcd_snapshots(&params, &limits)
        };
        result.unwrap_or_else(|unknown| unknown)
    }
}

vitals_plugin::export_plugin!(Backups);
