//! The etcd check compiled natively: the same `run`, its requests through a plain
//! HTTP client (the SDK's `native` feature) instead of the host, to show what
//! running it as a WebAssembly component costs. Prints the median duration of
//! RUNS runs in milliseconds and the last run's status. `PARAMS` (JSON, default
//! `{}`) are the check's parameters.
//!
//!   cargo run --release --manifest-path plugins/Cargo.toml -p vitals-etcd \
//!       --example native -- RUNS URL...
//!
//! `--fleet CONCURRENCY` runs it once per cluster read from stdin (a line of
//! member URLs each), CONCURRENCY at once, as `vitals run` does a fleet
//! (benches/fleet-scale), and prints the wall time in seconds and how many were ok.

use std::io::BufRead;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use vitals_plugin::{Endpoint, Plugin, RunInput, Status};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.next_if(|a| a == "--fleet").is_some() {
        match args.next().map(|n| n.parse()) {
            Some(Ok(n)) if n > 0 => return fleet(n),
            _ => usage(),
        }
    }
    let runs: usize = match args.next().map(|n| n.parse()) {
        Some(Ok(n)) if n > 0 => n,
        _ => usage(),
    };
    let urls: Vec<String> = args.collect();
    if urls.is_empty() {
        usage();
    }
    let input = input(urls);
    let mut times = Vec::with_capacity(runs);
    let mut status = None;
    for _ in 0..runs {
        let start = Instant::now();
        let report = vitals_etcd::Etcd::run(input.clone());
        times.push(start.elapsed());
        status = Some(report.status);
    }
    times.sort();
    let median = times[times.len() / 2].as_secs_f64() * 1000.0;
    println!("{median:.2} {status:?}");
}

/// The check's input for one cluster's member URLs.
fn input(urls: Vec<String>) -> RunInput {
    RunInput {
        check: "etcd".into(),
        cluster: "native".into(),
        params: std::env::var("PARAMS").unwrap_or_else(|_| "{}".into()),
        endpoints: vec![Endpoint {
            name: "etcd".into(),
            kind: "http".into(),
            urls,
        }],
    }
}

/// One run per cluster of stdin, `concurrency` at once.
fn fleet(concurrency: usize) {
    let clusters: Vec<Vec<String>> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|urls| !urls.is_empty())
        .collect();
    let (next, ok) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency.min(clusters.len()) {
            s.spawn(|| {
                while let Some(urls) = clusters.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if vitals_etcd::Etcd::run(input(urls.clone())).status == Status::Ok {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let wall = start.elapsed().as_secs_f64();
    println!("{wall:.2} {}/{}", ok.into_inner(), clusters.len());
}

fn usage() -> ! {
    eprintln!(
        "usage: native RUNS URL...   (the etcd members' client URLs)\n       native --fleet CONCURRENCY < CLUSTERS   (a line of member URLs per cluster)"
    );
    std::process::exit(2);
}
