//! The hostile plugin suite: every way a plugin can misbehave, in one `vitals
//! run` beside a check that behaves. Each is contained (the right status and
//! failure kind), the good check still reports ok, the outputs stay valid, and
//! the runner's memory stays bounded.

mod support;

use serde_json::Value;
use support::process::promtool_check;
use support::vitals::ConfigDir;

/// Peak resident memory of this test process's largest finished child, in MiB.
fn children_max_rss_mib() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss / 1024
}

fn hostile() -> ConfigDir {
    let cfg = ConfigDir::new("[clusters.local]\n");
    let chaos = |mode: &str, limits: &str| {
        format!("plugin = \"chaos\"\n{limits}[params]\nmode = \"{mode}\"\n")
    };
    let limits = "timeout = \"2s\"\nmemory_limit = \"32MiB\"\n";
    for mode in [
        "ok",
        "spin",
        "hog",
        "panic",
        "recurse",
        "logflood",
        "hostloop",
        "sleep",
        "bigreport",
        "chatty",
        "garbage",
    ] {
        cfg.check(mode, &chaos(mode, limits));
    }
    for (name, crate_suffix) in [
        ("describe_panic", "test_describe_panic"),
        ("describe_spin", "test_describe_spin"),
    ] {
        cfg.install_plugin(name, crate_suffix);
        cfg.check(name, &format!("plugin = \"{name}\"\n"));
    }
    // Files that are not components.
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let files: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("text", b"#!/bin/sh\necho pwned\n".to_vec()),
        (
            "random",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("core_module", core_module),
    ];
    for (name, bytes) in files {
        std::fs::write(cfg.path().join(format!("plugins/{name}.wasm")), bytes).unwrap();
        cfg.check(name, &format!("plugin = \"{name}\"\n"));
    }
    cfg
}

fn result<'a>(results: &'a [Value], check: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no result for {check}"))
}

#[test]
fn every_misbehaviour_is_contained_and_the_good_check_reports() {
    let cfg = hostile();
    let out = cfg.vitals(&["run", "--format", "json", "--log-level", "info"]);
    // Plugins that cannot load make the exit code 65, after every result.
    assert_eq!(out.code, 65, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 17, "{doc:#}");

    assert_eq!(result(results, "ok")["status"], "ok");
    for (check, status, failure, text) in [
        ("spin", "unknown", Some("timeout"), "timed out"),
        ("hostloop", "unknown", Some("timeout"), "timed out"),
        ("sleep", "unknown", Some("timeout"), "timed out"),
        ("hog", "unknown", Some("out_of_memory"), "memory limit"),
        ("panic", "unknown", Some("panic"), "panicked on purpose"),
        ("recurse", "unknown", Some("trap"), "stack"),
        ("logflood", "ok", None, "mode logflood"),
        ("chatty", "ok", None, "mode chatty"),
        ("bigreport", "warning", None, "subject 0"),
        ("garbage", "warning", None, "garbage"),
        (
            "describe_panic",
            "unknown",
            Some("load"),
            "describe panicked on purpose",
        ),
        (
            "describe_spin",
            "unknown",
            Some("load"),
            "describe failed (timeout)",
        ),
        ("empty", "unknown", Some("load"), "not a valid component"),
        ("text", "unknown", Some("load"), "not a valid component"),
        ("random", "unknown", Some("load"), "not a valid component"),
        (
            "core_module",
            "unknown",
            Some("load"),
            "not a valid component",
        ),
    ] {
        let r = result(results, check);
        assert_eq!(r["status"], status, "{check}: {r:#}");
        assert_eq!(r["failure"].as_str(), failure, "{check}: {r:#}");
        let summary = r["summary"].as_str().unwrap();
        assert!(
            summary.contains(text),
            "{check}: no {text:?} in {summary:?}"
        );
    }
    // Reports are capped, not refused.
    let big = result(results, "bigreport");
    assert_eq!(big["findings"].as_array().unwrap().len(), 1000);
    assert_eq!(big["samples"].as_array().unwrap().len(), 10_000);
    // The log takes the first 1,000 of a plugin's 200,000 lines.
    let flood = out
        .stderr
        .lines()
        .filter(|l| l.contains("xxxxxxxx"))
        .count();
    assert_eq!(flood, 1000, "log lines from the flood");
    // Every failed load names its file.
    for name in ["empty", "text", "random", "core_module", "describe_panic"] {
        assert!(
            out.stderr.contains(&format!("plugins/{name}.wasm")),
            "{name}: {}",
            out.stderr
        );
    }

    // The same run as Prometheus text: promtool accepts it.
    let text = cfg.vitals(&["run", "--format", "prometheus"]).stdout;
    promtool_check(&text);
    assert!(
        text.contains("vitals_check_status{check=\"ok\",cluster=\"local\"} 0"),
        "{text}"
    );

    // The runner's memory: 17 runs with up to 32 MiB of plugin memory each, a
    // 200,000-line flood and a 20 MiB report stay below 256 MiB (93 MiB measured).
    let rss = children_max_rss_mib();
    assert!(rss < 256, "peak RSS of vitals: {rss} MiB");
    println!("peak RSS of vitals run over the hostile suite: {rss} MiB");
}
