//! `vitals plugin new`: the plugin it makes in each language builds with the
//! toolchain scripts/install-deps installs, and passes its own offline test
//! (test.sh: build.sh, then `vitals test` over the cassettes it came with)
//! without edits.

mod support;

use std::process::Command;

use support::http_fixture::HttpFixture;
use support::kubernetes::ApiServer;
use support::vitals::{run, target_dir, vitals_bin};

fn new_plugin_passes_its_test(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("new_check");
    let name = format!("new_{lang}_check");
    let out = run(
        &[
            "plugin",
            "new",
            &name,
            "--lang",
            lang,
            "--dir",
            plugin.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("test.sh"), "{out:?}");
    // build.sh finds the tools scripts/install-deps installed by itself (none of
    // COMPONENTIZE_PY, COMPONENTIZE_JS, WIT_BINDGEN, WASM_TOOLS is set).
    let test = Command::new("bash")
        .arg(plugin.join("test.sh"))
        .env("VITALS", vitals_bin())
        .env("VITALS_CACHE_DIR", target_dir().join("test-cache"))
        // Rust: the dependencies the project's own plugins built are reused.
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("COMPONENTIZE_PY")
        .env_remove("COMPONENTIZE_JS")
        .env_remove("WIT_BINDGEN")
        .env_remove("WASM_TOOLS")
        .output()
        .expect("run test.sh");
    let stdout = String::from_utf8_lossy(&test.stdout);
    let stderr = String::from_utf8_lossy(&test.stderr);
    assert!(
        test.status.success(),
        "{lang}: test.sh failed\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.matches("PASS ").count(), 2, "{stdout}");
    assert!(plugin.join(format!("{name}.wasm")).exists());

    // Installed as its example check says, it runs against a live target: an
    // HTTP server answering /healthz, or (C) the fixture Kubernetes API.
    let http =
        HttpFixture::start([("/healthz".to_string(), (200, serde_json::json!("ok")))].into());
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let endpoint = if lang == "c" {
        api.endpoint_toml("example")
    } else {
        format!(
            "[clusters.example.endpoints.service]\nkind = \"http\"\nurls = [{:?}]\n",
            http.url()
        )
    };
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("checks.d")).unwrap();
    std::fs::create_dir_all(config.join("plugins")).unwrap();
    std::fs::copy(
        plugin.join(format!("{name}.wasm")),
        config.join(format!("plugins/{name}.wasm")),
    )
    .unwrap();
    std::fs::copy(
        plugin.join(format!("checks.d/{name}.toml")),
        config.join(format!("checks.d/{name}.toml")),
    )
    .unwrap();
    std::fs::write(
        config.join("vitals.toml"),
        format!(
            "cache_dir = {:?}\n{endpoint}",
            target_dir().join("test-cache").display().to_string()
        ),
    )
    .unwrap();
    let out = run(&["run", "--format", "json"], Some(&config));
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.result(&name);
    assert_eq!(r["status"], "ok", "{r:#}");
    let expected = if lang == "c" {
        "5/5 nodes Ready"
    } else {
        "1/1 URLs answered"
    };
    assert_eq!(r["summary"], expected, "{r:#}");
}

#[test]
fn rust_plugin() {
    new_plugin_passes_its_test("rust");
}

#[test]
fn python_plugin() {
    new_plugin_passes_its_test("python");
}

#[test]
fn js_plugin() {
    new_plugin_passes_its_test("js");
}

#[test]
fn c_plugin() {
    new_plugin_passes_its_test("c");
}

#[test]
fn bad_names_and_existing_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "plugin",
            "new",
            "Bad-Name",
            "--lang",
            "rust",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 64, "{out:?}");
    assert!(
        out.stderr.contains("invalid plugin name \"Bad-Name\""),
        "{out:?}"
    );
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let out = run(
        &[
            "plugin",
            "new",
            "fine",
            "--lang",
            "c",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 64, "{out:?}");
    assert!(out.stderr.contains("exists and is not empty"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}
