//! The runner in-process (no `vitals` binary): timeouts, retries, bounded
//! concurrency, results in plan order, and a plugin that fails to load. Plans come
//! from configurations loaded with `vitals_core::config::fixture`; the plugin is
//! the test-only `chaos` plugin. Last, the binary in a process that may not
//! reserve the pooling allocator's address space.

mod support;

use std::net::TcpListener;
use std::sync::Arc;

use vitals_core::config::{Config, fixture};
use vitals_core::plan;
use vitals_core::report::{CheckResult, Failure, Status};
use vitals_runtime::capabilities::Clients;
use vitals_runtime::engine::Engine;
use vitals_runtime::runner;

/// A cluster `local` whose http endpoint `api` is `url`.
fn main(url: &str) -> String {
    format!("[clusters.local.endpoints.api]\nkind = \"http\"\nurls = [{url:?}]\n")
}

/// A chaos check in `mode`, granted `api`, with `extra` settings.
fn chaos(mode: &str, extra: &str) -> String {
    let wasm = support::vitals::plugin_wasm("test_chaos");
    format!(
        "plugin = {:?}\n{extra}\n[grants]\nendpoints = [\"api\"]\n[params]\nmode = {mode:?}\nurl = \"http://127.0.0.1:1/\"\n",
        wasm.display().to_string()
    )
}

/// Load the configuration and run every planned pair with `concurrency`.
fn run(main: &str, checks: &[(&str, &str)], concurrency: usize) -> Vec<CheckResult> {
    let (_dir, cfg) = fixture::load(main, checks);
    let cfg: Config = cfg.expect("configuration loads");
    let runs = plan::plan(&cfg, &[], &[]).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cache = support::vitals::target_dir().join("test-cache");
        let engine = Arc::new(Engine::new(Some(cache)).unwrap());
        let plugins = runner::load_plugins(&engine, &cfg.checks).await;
        runner::run_all(
            &engine,
            &Clients::default(),
            &plugins,
            &runs,
            concurrency,
            None,
        )
        .await
    })
}

#[test]
fn a_plugin_past_its_timeout_is_stopped_and_unknown() {
    let results = run(
        &main("http://127.0.0.1:1"),
        &[("spin", &chaos("spin", "timeout = \"300ms\""))],
        1,
    );
    let r = &results[0];
    assert_eq!(r.status, Status::Unknown, "{r:?}");
    assert_eq!(r.failure, Some(Failure::Timeout), "{r:?}");
    assert!(r.summary.contains("300ms"), "{}", r.summary);
}

#[test]
fn retries_rerun_while_worse_than_ok_and_keep_every_attempt() {
    let results = run(
        &main("http://127.0.0.1:1"),
        &[
            (
                "panics",
                &chaos("panic", "retries = 2\nretry_delay = \"10ms\""),
            ),
            ("ok", &chaos("ok", "retries = 2\nretry_delay = \"10ms\"")),
        ],
        2,
    );
    let (ok, panics) = (&results[0], &results[1]);
    assert_eq!(panics.check, "panics");
    assert_eq!(panics.status, Status::Unknown, "{panics:?}");
    assert_eq!(panics.attempts.len(), 3, "the first run and two retries");
    assert!(
        panics
            .attempts
            .iter()
            .all(|a| a.failure == Some(Failure::Panic)),
        "{:?}",
        panics.attempts
    );
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert_eq!(ok.attempts.len(), 1, "an ok run is not retried");
}

#[test]
fn a_plugin_that_does_not_load_is_an_unknown_result_and_the_others_run() {
    let checks = [
        ("a-missing", "plugin = \"/nonexistent/missing.wasm\"\n"),
        ("b-ok", &chaos("ok", "")),
    ];
    let results = run(&main("http://127.0.0.1:1"), &checks, 4);
    let names: Vec<&str> = results.iter().map(|r| r.check.as_str()).collect();
    assert_eq!(names, ["a-missing", "b-ok"], "results come in plan order");
    assert_eq!(results[0].status, Status::Unknown);
    assert_eq!(results[0].failure, Some(Failure::Load), "{:?}", results[0]);
    assert!(
        results[0].summary.contains("missing.wasm"),
        "{}",
        results[0].summary
    );
    assert_eq!(results[1].status, Status::Ok, "{:?}", results[1]);
}

/// A server that accepts connections and never answers.
fn hanging_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            // Hold the connection until the client gives up.
            std::thread::spawn(move || std::io::copy(&mut stream, &mut std::io::sink()));
        }
    });
    url
}

/// The most runs whose time spans overlap (each span shrunk by a millisecond at
/// both ends: one run's permit passes to the next within that).
fn most_at_once(results: &[CheckResult]) -> usize {
    let spans: Vec<(f64, f64)> = results
        .iter()
        .map(|r| {
            (
                r.started_at + 0.001,
                r.started_at + r.duration_seconds - 0.001,
            )
        })
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn no_more_runs_at_once_than_the_concurrency() {
    let url = hanging_server();
    let check = chaos("fetch", "timeout = \"400ms\"").replace("http://127.0.0.1:1/", &url);
    let files: Vec<(String, String)> = (0..6).map(|i| (format!("f{i}"), check.clone())).collect();
    let checks: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_str()))
        .collect();
    for concurrency in [1, 2, 6] {
        let results = run(&main(&url), &checks, concurrency);
        assert_eq!(results.len(), 6);
        assert!(
            results.iter().all(|r| r.failure == Some(Failure::Timeout)),
            "{results:?}"
        );
        assert_eq!(
            most_at_once(&results),
            concurrency,
            "concurrency {concurrency}: {:?}",
            results
                .iter()
                .map(|r| (r.started_at, r.duration_seconds))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn without_address_space_for_the_pools_runs_allocate_on_demand() {
    let cfg = support::vitals::ConfigDir::new("concurrency = 4\n[clusters.local]\n");
    cfg.check("ok", "plugin = \"chaos\"\n[params]\nmode = \"ok\"\n");
    // 12 GB: room for a few memories allocated on demand, not for pools of them.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 12000000 && exec \"$0\" \"$@\"")
        .arg(support::vitals::vitals_bin())
        .args(["run", "--format", "json", "--config"])
        .arg(cfg.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("pooling allocator unavailable"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["results"][0]["status"], "ok", "{report:#}");
}
