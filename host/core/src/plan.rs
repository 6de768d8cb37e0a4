//! The plan: which (check x cluster) pairs a command runs, after `--check` and
//! `--cluster` filters.

use std::sync::Arc;

use crate::config::{Check, Cluster, Config};

/// One (check x cluster) pair to run.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub check: Arc<Check>,
    pub cluster: Arc<Cluster>,
}

/// A filter naming a check or cluster that does not exist.
#[derive(Debug, thiserror::Error)]
#[error("no {what} named {name:?} (known: {known})")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub known: String,
}

/// Every enabled check against each of its clusters, restricted to the named checks
/// and clusters when any are given (a disabled check runs when named explicitly).
pub fn plan(
    config: &Config,
    checks: &[String],
    clusters: &[String],
) -> Result<Vec<PlannedRun>, UnknownName> {
    for name in checks {
        if !config.checks.iter().any(|c| &c.name == name) {
            let known: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
            return Err(UnknownName {
                what: "check",
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    for name in clusters {
        if !config.clusters.contains_key(name) {
            let known: Vec<&str> = config.clusters.keys().map(String::as_str).collect();
            return Err(UnknownName {
                what: "cluster",
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    let mut runs = Vec::new();
    for check in &config.checks {
        let named = checks.contains(&check.name);
        if !(named || checks.is_empty() && check.enabled) {
            continue;
        }
        for cluster in &check.clusters {
            if !clusters.is_empty() && !clusters.contains(cluster) {
                continue;
            }
            runs.push(PlannedRun {
                check: check.clone(),
                cluster: config.clusters[cluster].clone(),
            });
        }
    }
    Ok(runs)
}
