//! Plugin pinning: a check's `sha256` lets only that file run with the check's
//! grants. A file that differs is refused before it is compiled (exit 65, naming
//! the file and both digests), by `vitals run`, `validate` and `serve`'s reload
//! (which keeps the old configuration in force); `vitals list` shows each
//! plugin's digest.

mod support;

use support::vitals::{ConfigDir, plugin_wasm};

/// The digest as `sha256sum` prints it, as an operator would take it.
fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

fn pinned(cfg: &ConfigDir, digest: &str) {
    cfg.check(
        "pinned",
        &format!("plugin = \"chaos\"\nsha256 = \"{digest}\"\n[params]\nmode = \"ok\"\n"),
    );
}

#[test]
fn a_plugin_that_is_not_the_pinned_one_is_refused() {
    let cfg = ConfigDir::new("[clusters.local]\n");
    let chaos = cfg.path().join("plugins/chaos.wasm");
    let digest = sha256(&chaos);
    pinned(&cfg, &digest.to_uppercase());
    let out = cfg.vitals(&["run"]);
    assert_eq!(out.code, 0, "{out:?}");
    let list = cfg.vitals(&["list", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let plugin = &doc["checks"][0]["plugin"];
    assert_eq!(plugin["sha256"], digest.as_str(), "{doc:#}");
    assert_eq!(plugin["pinned"], true, "{doc:#}");
    let human = cfg.vitals(&["list"]).stdout;
    assert!(
        human.contains(&format!("sha256 {digest} (pinned)")),
        "{human}"
    );

    // Someone who can write to the plugin directory swaps the file.
    std::fs::copy(plugin_wasm("etcd"), &chaos).unwrap();
    let found = sha256(&chaos);
    for args in [&["run"][..], &["validate"][..]] {
        let out = cfg.vitals(args);
        assert_eq!(out.code, 65, "{args:?}: {out:?}");
        let said = format!("{}{}", out.stdout, out.stderr);
        for part in [
            chaos.display().to_string(),
            format!("SHA-256 is {found}"),
            format!("pins {digest}"),
            "pinned.toml".to_string(),
        ] {
            assert!(said.contains(&part), "{args:?}: no {part:?} in\n{said}");
        }
    }
    // A run reports the check unknown, as a plugin that cannot load.
    let (_, r) = cfg.run_check("pinned", &[]);
    assert_eq!(
        (&r["status"], &r["failure"]),
        (&"unknown".into(), &"load".into()),
        "{r:#}"
    );
}

#[test]
fn serve_refuses_a_swapped_plugin_on_reload() {
    let cfg = ConfigDir::new("[clusters.local]\n");
    let chaos = cfg.path().join("plugins/chaos.wasm");
    pinned(&cfg, &sha256(&chaos));
    let served = cfg.serve();
    served.wait_ready();
    std::fs::copy(plugin_wasm("etcd"), &chaos).unwrap();
    let (code, body) = served.post("/-/reload");
    assert_eq!(code, 500, "{body}");
    assert!(
        body.contains("pins") && body.contains("SHA-256 is"),
        "{body}"
    );
    let (_, metrics) = served.get("/metrics");
    assert!(
        metrics.contains("vitals_config_last_reload_successful 0"),
        "{metrics}"
    );
    // The configuration in force still runs the pinned plugin it loaded.
    let (_, results) = served.get("/api/v1/results");
    let doc: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert_eq!(doc["results"][0]["status"], "ok", "{doc:#}");
}
