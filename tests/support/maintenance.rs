//! Test support for the maintenance suite: the checks run continuously, with the
//! shipped `checks.d` files, while a scenario (a rolling restart, a failover, a
//! drain) plays out on the real servers; what it saw, counted and timed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::vitals::{
    ConfigDir, assert_summary_names_the_worst_finding, findings, root, summary, target_dir,
};

/// Install the shipped `checks.d/<file>.toml` as check `name`, without its
/// `retries`: every run then shows what the check sees at that moment, so
/// "never critical" here holds with any retry setting.
pub fn shipped_check(cfg: &ConfigDir, name: &str, file: &str) {
    let text = std::fs::read_to_string(root().join(format!("checks.d/{file}.toml")))
        .unwrap_or_else(|e| panic!("checks.d/{file}.toml: {e}"));
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("retries") && !l.starts_with("retry_delay"))
        .map(|l| format!("{l}\n"))
        .collect();
    cfg.check(name, &text);
}

/// Every result of the checks during one scenario, with when it was read.
pub struct Seen {
    pub scenario: String,
    pub results: Vec<(Duration, Value)>,
}

/// One `vitals run` of every check of `cfg`: their results.
fn run_all(cfg: &ConfigDir) -> Vec<Value> {
    let out = cfg.vitals(&["run", "--format", "json"]);
    let results = out.json()["results"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no results: {out:?}"));
    for r in &results {
        assert_summary_names_the_worst_finding(r);
    }
    results
}

/// Every result of the run is ok.
pub fn all_ok(results: &[Value]) -> bool {
    results.iter().all(|r| r["status"] == "ok")
}

/// Run every check of `cfg` again and again (`pause` apart) on another thread
/// while `scenario` runs on this one; after it returns, go on until a run's
/// results satisfy `settled` (at most `settle_within`).
pub fn watch(
    cfg: &ConfigDir,
    name: &str,
    pause: Duration,
    scenario: impl FnOnce(),
    settled: impl Fn(&[Value]) -> bool + Sync,
    settle_within: Duration,
) -> Seen {
    let start = Instant::now();
    let done = AtomicBool::new(false);
    let runs = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut runs = Vec::new();
            let mut deadline = None;
            loop {
                let results = run_all(cfg);
                let ok = settled(&results);
                runs.push((start.elapsed(), results));
                if done.load(Ordering::SeqCst) {
                    let until = *deadline.get_or_insert_with(|| Instant::now() + settle_within);
                    if ok || Instant::now() > until {
                        return runs;
                    }
                }
                std::thread::sleep(pause);
            }
        });
        // Stop the watcher whatever happens to the scenario.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(scenario));
        done.store(true, Ordering::SeqCst);
        let runs = watcher.join().expect("watcher thread");
        match out {
            Ok(()) => runs,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let settled_at_last = runs.last().is_some_and(|(_, r)| settled(r));
    let seen = Seen {
        scenario: name.to_string(),
        results: runs
            .into_iter()
            .flat_map(|(t, rs)| rs.into_iter().map(move |r| (t, r)))
            .collect(),
    };
    assert!(
        settled_at_last,
        "{name}: not settled within {settle_within:?}: {}",
        seen.line()
    );
    seen.report();
    seen
}

impl Seen {
    /// How many results had each status.
    pub fn tally(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, r) in &self.results {
            *counts
                .entry(r["status"].as_str().unwrap_or("?").to_string())
                .or_insert(0) += 1;
        }
        counts
    }

    /// From the first result worse than ok to the last one.
    pub fn not_ok_span(&self) -> Duration {
        let not_ok: Vec<Duration> = self
            .results
            .iter()
            .filter(|(_, r)| r["status"] != "ok")
            .map(|(t, _)| *t)
            .collect();
        match (not_ok.first(), not_ok.last()) {
            (Some(a), Some(b)) => *b - *a,
            _ => Duration::ZERO,
        }
    }

    /// `scenario: N results: ok 4, warning 9; worse than ok for 12.3 s`.
    pub fn line(&self) -> String {
        let counts: Vec<String> = self
            .tally()
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        format!(
            "{}: {} results: {}; worse than ok for {:.1} s",
            self.scenario,
            self.results.len(),
            counts.join(", "),
            self.not_ok_span().as_secs_f64()
        )
    }

    /// Print [`Seen::line`] and keep it in `<target>/tmp/maintenance/`, where
    /// `scripts/test` shows every scenario's line after the tests.
    fn report(&self) {
        eprintln!("maintenance: {}", self.line());
        let dir = target_dir().join("tmp/maintenance");
        let _ = std::fs::create_dir_all(&dir);
        let file: String = self
            .scenario
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let _ = std::fs::write(dir.join(format!("{file}.txt")), self.line() + "\n");
    }

    /// Planned maintenance pages no one: no result critical or unknown.
    pub fn assert_never_paged(&self) {
        let paged: Vec<String> = self
            .results
            .iter()
            .filter(|(_, r)| r["status"] == "critical" || r["status"] == "unknown")
            .map(|(t, r)| {
                format!(
                    "at {:.1} s {} {}: {}\n{}",
                    t.as_secs_f64(),
                    r["check"],
                    r["status"],
                    summary(r),
                    findings(r)
                )
            })
            .collect();
        assert!(
            paged.is_empty(),
            "{} paged:\n{}",
            self.line(),
            paged.join("\n")
        );
    }

    /// The scenario was seen at all: some result worse than ok.
    pub fn assert_seen(&self) {
        assert!(
            self.results.iter().any(|(_, r)| r["status"] != "ok"),
            "the scenario was not seen: {}",
            self.line()
        );
    }
}
