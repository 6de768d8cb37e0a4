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

/// The host binary (`cargo test` builds it as `vitals-under-test`); the first
/// call of a test process also builds the Rust plugins (a no-op when they are up
/// to date).
pub fn vitals_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = target_dir();
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
        // Set for tests and benches; the examples that share this module never ask.
        match option_env!("CARGO_BIN_EXE_vitals-under-test") {
            Some(bin) => PathBuf::from(bin),
            None => panic!("vitals-under-test is built by cargo test and cargo bench"),
        }
    })
}

/// A built plugin component, by crate name suffix: `etcd`, `test_chaos`, ...
pub fn plugin_wasm(name: &str) -> PathBuf {
    vitals_bin();
    target_dir().join(format!("wasm32-wasip2/release/vitals_{name}.wasm"))
}

/// `target/plugins/<name>.wasm`, built by `scripts/build-plugins` (plugins in
/// Python, JavaScript and C, which cargo does not build).
pub fn built_plugin(name: &str) -> PathBuf {
    vitals_bin();
    let wasm = target_dir().join(format!("plugins/{name}.wasm"));
    assert!(
        wasm.exists(),
        "{} is missing: build the plugins with scripts/build-plugins",
        wasm.display()
    );
    wasm
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

    /// Copy `target/plugins/<name>.wasm`, a plugin that `scripts/build-plugins`
    /// builds from another language, to `plugins/<name>.wasm`. The first call of
    /// a test process compiles it into the shared cache, so that tests running in
    /// parallel do not each compile the same large component.
    pub fn install_built(&self, name: &str) {
        let wasm = built_plugin(name);
        std::fs::copy(&wasm, self.path().join(format!("plugins/{name}.wasm")))
            .expect("copy plugin");
        static COMPILED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
        if !compiled.iter().any(|n| n == name) {
            let warm = ConfigDir::new("");
            std::fs::copy(&wasm, warm.path().join(format!("plugins/{name}.wasm"))).unwrap();
            warm.check(name, &format!("plugin = {name:?}\n"));
            let out = warm.vitals(&["validate"]);
            assert!(matches!(out.code, 0 | 78), "{name} does not load: {out:?}");
            compiled.push(name.to_string());
        }
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

    /// `vitals run --check CHECK --format json` with extra environment variables:
    /// the outcome and the check's (first) result.
    pub fn run_check(&self, check: &str, env: &[(&str, &str)]) -> (Outcome, Value) {
        let out = self.vitals_with_env(&["run", "--check", check, "--format", "json"], env);
        let result = out.result(check);
        (out, result)
    }

    /// [`ConfigDir::run_check`] with `--record`, then the recorded cassette replayed
    /// offline by `vitals test` (plugin `plugins/<plugin>.wasm`), which must give
    /// the same status and findings: the outcome, the result and the cassette's
    /// text. With `VITALS_UPDATE_CASSETTES=1` the cassette is also saved as
    /// `plugins/<crate>/cassettes/<scenario>.json`, where `tests/cassettes.rs`
    /// replays it in every test run.
    pub fn record_check(
        &self,
        check: &str,
        plugin: &str,
        scenario: &str,
        env: &[(&str, &str)],
    ) -> (Outcome, Value, String) {
        let dir = self.path().join("cassettes");
        let _ = std::fs::remove_dir_all(&dir);
        let record = dir.to_str().expect("utf-8 path");
        let out = self.vitals_with_env(
            &[
                "run", "--check", check, "--format", "json", "--record", record,
            ],
            env,
        );
        let result = out.result(check);
        let cassette = dir.join(format!(
            "{check}@{}.json",
            result["cluster"].as_str().unwrap()
        ));
        let text = std::fs::read_to_string(&cassette)
            .unwrap_or_else(|e| panic!("no cassette {}: {e}\n{out:?}", cassette.display()));
        let wasm = self.path().join(format!("plugins/{plugin}.wasm"));
        let replay = run(
            &[
                "test",
                wasm.to_str().unwrap(),
                "--cassette",
                cassette.to_str().unwrap(),
                "--same-findings",
                "--cache-dir",
                target_dir().join("test-cache").to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(
            replay.code, 0,
            "replaying {scenario} did not give the recorded result:\n{replay:?}\nrecorded:\n{}",
            out.stdout
        );
        let crate_dir = root().join("plugins").join(plugin.replace('_', "-"));
        if std::env::var_os("VITALS_UPDATE_CASSETTES").is_some() && crate_dir.is_dir() {
            let keep = crate_dir.join(format!("cassettes/{scenario}.json"));
            std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
            std::fs::write(&keep, &text).unwrap();
        }
        (out, result, text)
    }

    /// [`ConfigDir::run_check`] until `ok` holds for the result (every 300 ms, for
    /// at most `timeout`); the result.
    pub fn run_check_until(
        &self,
        check: &str,
        env: &[(&str, &str)],
        timeout: std::time::Duration,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        super::process::eventually(timeout, std::time::Duration::from_millis(300), || {
            let (out, r) = self.run_check(check, env);
            if ok(&r) {
                Ok(r)
            } else {
                Err(format!("{check} is still not as expected:\n{}", out.stdout))
            }
        })
    }

    /// Start `vitals serve` on a free loopback port and wait until it answers.
    pub fn serve(&self) -> Served {
        self.serve_with_env(&[])
    }

    /// [`ConfigDir::serve`] with extra environment variables for the host.
    pub fn serve_with_env(&self, env: &[(&str, &str)]) -> Served {
        let port = super::process::free_port();
        // One log per process: several may serve one configuration (--shard).
        let log = self.path().join(format!("serve-{port}.log"));
        let child = Command::new(vitals_bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(self.path())
            .env_remove("VITALS_CONFIG")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .expect("start vitals serve");
        let served = Served {
            addr: format!("127.0.0.1:{port}"),
            child,
            log,
        };
        super::process::get(&served.url("/healthz"));
        served
    }

    /// Like [`ConfigDir::vitals`], with extra environment variables for the host.
    pub fn vitals_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        run_with_env(args, Some(self.path()), env)
    }
}

/// A running `vitals serve`; killed when dropped.
pub struct Served {
    /// host:port it listens on.
    pub addr: String,
    child: std::process::Child,
    log: PathBuf,
}

impl Served {
    /// Wait (at most a minute) until /readyz answers 200: every scheduled pair
    /// has a result.
    pub fn wait_ready(&self) {
        super::process::eventually(
            std::time::Duration::from_secs(60),
            std::time::Duration::from_millis(100),
            || match self.get("/readyz") {
                (200, _) => Ok(()),
                (_, body) => Err(format!("never ready: {body}\n{}", self.log())),
            },
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET a path: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.get_with(path, &[])
    }

    /// GET a path with extra headers: status and body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut req = agent.get(&self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()));
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// POST to a path with an empty body: status and body.
    pub fn post(&self, path: &str) -> (u16, String) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut resp = agent
            .post(&self.url(path))
            .send_empty()
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log()));
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    /// Send a signal (`HUP`, `TERM`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the process to exit (at most `timeout`); its exit code.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    /// The (first) result of `check`; every result a test reads this way must
    /// keep the rule that a summary worse than ok names its worst problem.
    pub fn result(&self, check: &str) -> Value {
        let result = self.json()["results"]
            .as_array()
            .expect("results array")
            .iter()
            .find(|r| r["check"] == check)
            .cloned()
            .unwrap_or_else(|| panic!("no result for {check}: {}", self.stdout));
        assert_summary_names_the_worst_finding(&result);
        result
    }
}

/// A result worse than ok whose findings include one at its status: the summary
/// mentions that finding's subject (the first at the status, the one the host
/// puts first).
pub fn assert_summary_names_the_worst_finding(result: &Value) {
    let status = &result["status"];
    if status == "ok" {
        return;
    }
    let worst = result["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| &f["status"] == status);
    if let Some(f) = worst {
        let subject = f["subject"].as_str().unwrap_or_default();
        // Its name before a parenthesised address will do (`m3 (http://...)`).
        let name = subject.split_once(" (").map_or(subject, |(n, _)| n);
        assert!(
            summary(result).contains(name),
            "the {status} summary does not name its worst finding's subject {subject:?}: {result:#}"
        );
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

/// A result's findings, one line each: `"status" "subject": "message"`.
pub fn findings(result: &Value) -> String {
    result["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| format!("{} {}: {}\n", f["status"], f["subject"], f["message"]))
        .collect()
}

/// A result's summary.
pub fn summary(result: &Value) -> &str {
    result["summary"].as_str().expect("summary string")
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
