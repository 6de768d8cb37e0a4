//! Host overhead per run (instantiate from the cached `InstancePre`, call `run`,
//! convert the report) for a trivial plugin, instances allocated on demand and
//! from wasmtime's pooling allocator, and a whole `vitals run` with a cold
//! versus a warm compile cache.
//!
//! `cargo bench --bench host_overhead`; targets: < 100 µs per run of host overhead,
//! and a warm `vitals run` < 50 ms beyond the checks' own latency.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use vitals_core::report::CheckResult;
use vitals_runtime::capabilities::Gates;
use vitals_runtime::contract::RunInput;
use vitals_runtime::engine::{Engine, RunLimits};
use vitals_runtime::sandbox::RunState;

fn host_overhead(c: &mut Criterion) {
    // Instances allocated on demand (`vitals test`), then from the pooling
    // allocator (`vitals run`, `vitals serve`).
    run_trivial_plugin(c, "run_trivial_plugin", Engine::new(None).unwrap());
    let pooled = Engine::pooled(None, 16).unwrap();
    run_trivial_plugin(c, "run_trivial_plugin_pooled", pooled);
}

fn run_trivial_plugin(c: &mut Criterion, name: &str, engine: Engine) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = Arc::new(engine);
    let plugin = rt
        .block_on(engine.load(&support::vitals::plugin_wasm("test_chaos")))
        .unwrap();
    let limits = RunLimits {
        timeout: std::time::Duration::from_secs(5),
        memory_limit: 64 << 20,
        output_limit: 64 << 10,
    };
    let input = RunInput {
        check: "bench".into(),
        cluster: "local".into(),
        params: r#"{"mode":"ok"}"#.into(),
        endpoints: vec![],
    };
    c.bench_function(name, |b| {
        b.to_async(&rt).iter(|| {
            let (engine, plugin, input) = (&engine, &plugin, input.clone());
            async move {
                let gates = Gates::none("bench", "local");
                let state = RunState::new(gates, limits.memory_limit, limits.output_limit);
                let report = engine
                    .run(plugin, state, limits, input)
                    .await
                    .report
                    .unwrap();
                CheckResult::from_report("bench", "local", "chaos", report.into())
            }
        })
    });
}

fn vitals_run(c: &mut Criterion) {
    let bin = support::vitals::vitals_bin();
    let make = |cache: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("checks.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        std::fs::copy(
            support::vitals::plugin_wasm("etcd"),
            dir.path().join("plugins/etcd.wasm"),
        )
        .unwrap();
        std::fs::copy(
            support::vitals::plugin_wasm("test_chaos"),
            dir.path().join("plugins/chaos.wasm"),
        )
        .unwrap();
        // The etcd endpoint refuses connections at once (port 9): the runs spend
        // (almost) nothing waiting on a target, so what is measured is the host.
        let main = format!(
            "cache_dir = {cache:?}\n[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = [\"http://127.0.0.1:9\"]\n"
        );
        std::fs::write(dir.path().join("vitals.toml"), main).unwrap();
        std::fs::write(
            dir.path().join("checks.d/etcd.toml"),
            "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("checks.d/ok.toml"),
            "plugin = \"chaos\"\n[params]\nmode = \"ok\"\n",
        )
        .unwrap();
        dir
    };
    let run = |dir: &std::path::Path| {
        let out = Command::new(bin)
            .args(["run", "--config"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(2),
            "{out:?}"
        );
    };
    let mut g = c.benchmark_group("vitals_run");
    g.sample_size(10);
    let cold = make("");
    g.bench_function("cold_cache", |b| b.iter(|| run(cold.path())));
    let cache = tempfile::tempdir().unwrap();
    let warm = make(&cache.path().display().to_string());
    run(warm.path());
    g.bench_function("warm_cache", |b| b.iter(|| run(warm.path())));
    g.finish();
}

criterion_group!(benches, host_overhead, vitals_run);
criterion_main!(benches);
