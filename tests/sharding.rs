//! `vitals serve --shard I/N`: replicas of one configuration split its (check x
//! cluster) pairs. Three local replicas run every pair exactly once between them,
//! a real Prometheus scraping all three sees each pair once, and a fourth replica
//! takes about a quarter of the pairs from the others and moves nothing else.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::prometheus::Prometheus;
use support::vitals::{ConfigDir, Served};

/// 30 clusters x 3 checks of the chaos plugin (ok at once, hourly).
fn config() -> (ConfigDir, BTreeSet<(String, String)>) {
    let clusters: Vec<String> = (0..30).map(|i| format!("c{i:02}")).collect();
    let mut main = String::new();
    for c in &clusters {
        main.push_str(&format!("[clusters.{c}]\n"));
    }
    let cfg = ConfigDir::new(&main);
    let mut pairs = BTreeSet::new();
    for check in ["alpha", "beta", "gamma"] {
        cfg.check(
            check,
            &format!(
                "plugin = \"chaos\"\nclusters = {clusters:?}\ninterval = \"1h\"\n[params]\nmode = \"ok\"\n"
            ),
        );
        for c in &clusters {
            pairs.insert((check.to_string(), c.clone()));
        }
    }
    (cfg, pairs)
}

/// The pairs a replica reports, once it has run them all.
fn owned(served: &Served) -> BTreeSet<(String, String)> {
    served.wait_ready();
    let (code, body) = served.get("/api/v1/results");
    assert_eq!(code, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check"].as_str().unwrap().to_string(),
                r["cluster"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Start `n` replicas: each pair's owner.
fn split(cfg: &ConfigDir, n: u32) -> (Vec<Served>, BTreeMap<(String, String), u32>) {
    let replicas: Vec<Served> = (0..n)
        .map(|i| cfg.serve_with_env(&[("VITALS_SHARD", &format!("{i}/{n}"))]))
        .collect();
    let mut owners = BTreeMap::new();
    for (i, served) in replicas.iter().enumerate() {
        let mine = owned(served);
        assert!(!mine.is_empty(), "replica {i}/{n} runs nothing");
        for pair in mine {
            let before = owners.insert(pair.clone(), i as u32);
            assert_eq!(before, None, "{pair:?} runs on two replicas of {n}");
        }
        let (_, metrics) = served.get("/metrics");
        assert!(
            metrics.contains(&format!("vitals_serve_pairs{{shard=\"{i}/{n}\"}}")),
            "{metrics}"
        );
    }
    (replicas, owners)
}

#[test]
fn replicas_split_the_pairs_and_prometheus_sees_each_once() {
    let (cfg, pairs) = config();
    let (three, by_three) = split(&cfg, 3);
    assert_eq!(
        by_three.keys().cloned().collect::<BTreeSet<_>>(),
        pairs,
        "every pair runs on one of three replicas"
    );

    let targets: Vec<String> = three
        .iter()
        .map(|s| {
            s.url("")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let prometheus = Prometheus::start(&targets);
    prometheus.wait_for_value(
        "count(vitals_check_status)",
        pairs.len() as f64,
        Duration::from_secs(60),
    );
    let twice = prometheus.query("count by (check, cluster) (vitals_check_status) > 1");
    assert!(twice.is_empty(), "pairs scraped twice: {twice:?}");
    prometheus.wait_for_value(
        "sum(vitals_serve_pairs)",
        pairs.len() as f64,
        Duration::from_secs(30),
    );
    drop(three);

    // A fourth replica: the pairs that move all go to it, about a quarter.
    let (_four, by_four) = split(&cfg, 4);
    let moved: Vec<_> = pairs
        .iter()
        .filter(|p| by_three[*p] != by_four[*p])
        .collect();
    assert!(
        moved.iter().all(|p| by_four[*p] == 3),
        "a pair moved between old replicas: {moved:?}"
    );
    let quarter = pairs.len() / 4;
    assert!(
        moved.len().abs_diff(quarter) <= quarter / 2,
        "{} of {} pairs moved",
        moved.len(),
        pairs.len()
    );
}
