//! The plan: which (check x cluster) pairs a command runs, after `--check` and
//! `--cluster` filters, and which of them one replica of `vitals serve` owns
//! ([`Shard`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

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

/// One replica's share of the pairs (`vitals serve --shard I/N`): replica `index`
/// of `count` (0-based, as StatefulSet ordinals are) runs the pairs that
/// rendezvous hashing gives it. Every replica computes the same split from the
/// names alone; changing `count` from N to N+1 moves only the pairs the new
/// replica wins, about 1/(N+1) of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    /// The only replica: every pair.
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// Whether this shard runs the pair.
    pub fn owns(&self, check: &str, cluster: &str) -> bool {
        owner(check, cluster, self.count) == self.index
    }
}

/// The replica of `count` that owns a pair: the one whose hash with the pair's
/// names weighs most (rendezvous, or highest-random-weight, hashing).
pub fn owner(check: &str, cluster: &str, count: u32) -> u32 {
    (0..count.max(1))
        .max_by_key(|replica| {
            let mut h = Sha256::new();
            for part in [check.as_bytes(), b"\0", cluster.as_bytes(), b"\0"] {
                h.update(part);
            }
            h.update(replica.to_be_bytes());
            let digest = h.finalize();
            u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
        })
        .unwrap_or(0)
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`: replica I (from 0) of N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = || format!("{s:?}: expected I/N, replica I (from 0) of N, e.g. 0/3");
        let (index, count) = s.split_once('/').ok_or_else(usage)?;
        let index: u32 = index.trim().parse().map_err(|_| usage())?;
        let count: u32 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(format!("{s:?}: I must be below N (replicas are 0 to N-1)"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(String, String)> {
        (0..10_000)
            .map(|i| (format!("check-{}", i % 7), format!("cluster-{}", i / 7)))
            .collect()
    }

    #[test]
    fn every_pair_has_one_owner_and_the_shares_are_even() {
        for count in [1, 2, 3, 4, 7] {
            let mut shares = vec![0usize; count as usize];
            for (check, cluster) in pairs() {
                let owners: Vec<u32> = (0..count)
                    .filter(|&index| Shard { index, count }.owns(&check, &cluster))
                    .collect();
                assert_eq!(owners.len(), 1, "{check}/{cluster} of {count}: {owners:?}");
                shares[owners[0] as usize] += 1;
            }
            let even = 10_000 / count as usize;
            for share in &shares {
                assert!(share.abs_diff(even) < even / 10, "{count}: {shares:?}");
            }
        }
    }

    #[test]
    fn one_more_replica_takes_about_its_share_and_moves_nothing_else() {
        for count in [1, 3, 6] {
            let moved: Vec<u32> = pairs()
                .iter()
                .filter(|(check, cluster)| {
                    owner(check, cluster, count) != owner(check, cluster, count + 1)
                })
                .map(|(check, cluster)| owner(check, cluster, count + 1))
                .collect();
            assert!(
                moved.iter().all(|&to| to == count),
                "only to the new replica"
            );
            let expected = 10_000 / (count as usize + 1);
            assert!(
                moved.len().abs_diff(expected) < expected / 10,
                "{count}: {}",
                moved.len()
            );
        }
    }

    #[test]
    fn shards_are_read_as_index_slash_count() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::default());
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
        for bad in ["3/3", "1/0", "-1/3", "1", "a/b", "1/3/4", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
