//! The etcd check compiled natively: the same `run`, its requests through a plain
//! HTTP client (the SDK's `native` feature) instead of the host, to show what
//! running it as a WebAssembly component costs. Prints the median duration of
//! RUNS runs in milliseconds and the last run's status. `PARAMS` (JSON, default
//! `{}`) are the check's parameters.
//!
//!   cargo run --release --manifest-path plugins/Cargo.toml -p vitals-etcd \
//!       --example native -- RUNS URL...

use std::time::Instant;

use vitals_plugin::{Endpoint, Plugin, RunInput};

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = match args.next().map(|n| n.parse()) {
        Some(Ok(n)) if n > 0 => n,
        _ => usage(),
    };
    let urls: Vec<String> = args.collect();
    if urls.is_empty() {
        usage();
    }
    let input = RunInput {
        check: "etcd".into(),
        cluster: "native".into(),
        params: std::env::var("PARAMS").unwrap_or_else(|_| "{}".into()),
        endpoints: vec![Endpoint {
            name: "etcd".into(),
            kind: "http".into(),
            urls,
        }],
    };
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

fn usage() -> ! {
    eprintln!("usage: native RUNS URL...   (the etcd members' client URLs)");
    std::process::exit(2);
}
