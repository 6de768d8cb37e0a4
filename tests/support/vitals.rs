//! Test support: build and run the real `vitals` binary against a configuration
//! directory made by the test, with the real plugin components.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Build the host binary and the plugins once per test process (no-ops when they
/// are up to date), and return the binary's path.
pub fn vitals_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = target_dir();
        let status = Command::new(&cargo)
            .args(["build", "-q", "-p", "vitals", "--bin", "vitals"])
            .current_dir(root())
            .status()
            .expect("run cargo build for the host");
        assert!(status.success(), "building the vitals binary failed");
        let status = Command::new(&cargo)
            .args([
                "build",
                "-q",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
                "plugins/Cargo.toml",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(root())
            .status()
            .expect("run cargo build for the plugins");
        assert!(
            status.success(),
            "building the plugins failed (is the wasm32-wasip2 target installed?)"
        );
        target.join("debug/vitals")
    })
}

/// A built plugin component, by crate name suffix: `etcd`, `test_chaos`, ...
pub fn plugin_wasm(name: &str) -> PathBuf {
    vitals_bin();
    target_dir().join(format!("wasm32-wasip2/release/vitals_{name}.wasm"))
}

/// A configuration directory: `vitals.toml`, `checks.d/`, `plugins/`.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    /// A directory whose `vitals.toml` is `main` plus a shared compile cache, with the
    /// etcd and chaos plugins installed as `etcd.wasm` and `chaos.wasm`.
    pub fn new(main: &str) -> ConfigDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = target_dir().join("test-cache");
        std::fs::write(
            dir.path().join("vitals.toml"),
            format!("cache_dir = {:?}\n{main}", cache.display().to_string()),
        )
        .expect("write vitals.toml");
        std::fs::create_dir_all(dir.path().join("checks.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        let cfg = ConfigDir { dir };
        cfg.install_plugin("etcd", "etcd");
        cfg.install_plugin("chaos", "test_chaos");
        cfg
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copy `vitals_<crate_suffix>.wasm` to `plugins/<name>.wasm`.
    pub fn install_plugin(&self, name: &str, crate_suffix: &str) {
        std::fs::copy(
            plugin_wasm(crate_suffix),
            self.path().join(format!("plugins/{name}.wasm")),
        )
        .expect("copy plugin");
    }

    /// Write `checks.d/<name>.toml`.
    pub fn check(&self, name: &str, toml: &str) -> &Self {
        std::fs::write(self.path().join(format!("checks.d/{name}.toml")), toml)
            .expect("write check");
        self
    }

    /// Run `vitals <args> --config DIR`.
    pub fn vitals(&self, args: &[&str]) -> Outcome {
        run(args, Some(self.path()))
    }

    /// Like [`ConfigDir::vitals`], with extra environment variables for the host.
    pub fn vitals_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        run_with_env(args, Some(self.path()), env)
    }
}

/// What a `vitals` invocation did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// stdout parsed as the JSON document of `--format json`.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The result of `check` (first cluster) in the JSON document.
    pub fn result(&self, check: &str) -> Value {
        self.json()["results"]
            .as_array()
            .expect("results array")
            .iter()
            .find(|r| r["check"] == check)
            .cloned()
            .unwrap_or_else(|| panic!("no result for {check}: {}", self.stdout))
    }
}

/// Run the binary; `config` adds `--config DIR`.
pub fn run(args: &[&str], config: Option<&Path>) -> Outcome {
    run_with_env(args, config, &[])
}

/// Run the binary with extra environment variables.
pub fn run_with_env(args: &[&str], config: Option<&Path>, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(vitals_bin());
    cmd.args(args);
    if let Some(dir) = config {
        cmd.arg("--config").arg(dir);
    }
    cmd.env_remove("VITALS_CONFIG").env_remove("RUST_LOG");
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run vitals");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A TOML string literal.
pub fn toml_str(s: impl AsRef<str>) -> String {
    format!("{:?}", s.as_ref())
}

/// A TOML array of string literals.
pub fn toml_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(toml_str).collect::<Vec<_>>().join(", ")
    )
}
