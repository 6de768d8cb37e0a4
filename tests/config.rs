//! Bad input gets a clear error naming the file, line and key, with its own exit
//! code; `validate`, `list` and `--help` teach.

mod support;

use support::vitals::{ConfigDir, run};

const CLUSTER: &str =
    "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = [\"http://127.0.0.1:9\"]\n";
const CHECK: &str = "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n";

#[test]
fn malformed_toml_names_file_and_line() {
    let cfg = ConfigDir::new(&format!("{CLUSTER}concurrency = = 3\n"));
    let out = cfg.vitals(&["run"]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains("vitals.toml:5"), "{}", out.stderr);
}

#[test]
fn unknown_keys_are_errors_naming_file_line_and_key() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.check("etcd", "plugin = \"etcd\"\n\ntiemout = \"5s\"\n");
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("checks.d/etcd.toml:3"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unknown field `tiemout`"),
        "{}",
        out.stderr
    );

    let cfg = ConfigDir::new(&format!("{CLUSTER}ca_flie = \"x\"\n"));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("vitals.toml:5") && out.stderr.contains("ca_flie"),
        "{}",
        out.stderr
    );
}

#[test]
fn semantic_errors_name_the_key() {
    let cases = [
        (
            "plugin = \"etcd\"\nclusters = [\"prod\"]\n",
            "etcd.toml:2",
            "unknown cluster \"prod\"",
        ),
        (
            "plugin = \"etcd\"\ntimeout = \"soon\"\n",
            "etcd.toml:2",
            "`timeout`: invalid duration",
        ),
        (
            "plugin = \"etcd\"\n[grants]\nendpoints = [\"redis\"]\n",
            "etcd.toml:3",
            "no cluster defines an endpoint named \"redis\"",
        ),
        (
            "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n[params]\ndb_size_warning_ratio = 0.7\ndb_size_warnign = 0.7\n",
            "etcd.toml:6",
            "plugin etcd has no parameter \"db_size_warnign\"",
        ),
        (
            "plugin = \"etcd\"\ntimeout = \"300000000000y\"\n",
            "etcd.toml:2",
            "at most 7 days",
        ),
        (
            "plugin = \"etcd\"\nretries = 50\n",
            "etcd.toml:2",
            "`retries`: 50 is more than 10",
        ),
        (
            "plugin = \"etcd\"\nretry_delay = \"0s\"\n",
            "etcd.toml:2",
            "`retry_delay`: \"0s\" must be more than 0",
        ),
        (
            "plugin = \"etcd\"\nmemory_limit = \"64TiB\"\n",
            "etcd.toml:2",
            "`memory_limit`: 64.0 TiB is out of range",
        ),
        (
            "plugin = \"etcd\"\n[grants]\nendpoints = [\"etcd\"]\n[params]\ndb_size_warning_ratio = \"high\"\n",
            "etcd.toml:5",
            "expected number",
        ),
    ];
    for (check, location, message) in cases {
        let cfg = ConfigDir::new(CLUSTER);
        cfg.check("etcd", check);
        let out = cfg.vitals(&["validate"]);
        assert_eq!(out.code, 78, "{check}: {out:?}");
        assert!(
            out.stderr.contains(location) && out.stderr.contains(message),
            "{check}:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
}

#[test]
fn credential_references_must_resolve() {
    let cfg = ConfigDir::new(&format!(
        "{CLUSTER}bearer_token_env = \"VITALS_NO_SUCH_VARIABLE\"\n"
    ));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("vitals.toml:5")
            && out.stderr.contains("VITALS_NO_SUCH_VARIABLE is not set"),
        "{}",
        out.stderr
    );

    let cfg = ConfigDir::new(&format!("{CLUSTER}ca_file = \"/nonexistent/ca.pem\"\n"));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78);
    assert!(out.stderr.contains("/nonexistent/ca.pem"), "{}", out.stderr);
}

#[test]
fn wrong_version_plugin_is_refused_with_both_versions() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.install_plugin("future", "test_wrong_version");
    cfg.check("etcd", CHECK);
    cfg.check("future", "plugin = \"future\"\n");
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 65, "{out:?}");
    assert!(out.stderr.contains("plugins/future.wasm"), "{}", out.stderr);
    assert!(
        out.stderr.contains("vitals:check@9.0.0")
            && out.stderr.contains(&vitals_core::wit::supported()),
        "{}",
        out.stderr
    );
    // The other check still ran and reported (its endpoint is down: critical).
    let json = out.json();
    assert_eq!(out.result("etcd")["status"], "critical", "{json:#}");
    assert_eq!(out.result("future")["failure"], "load");

    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 65);
}

#[test]
fn a_plugin_of_the_older_0_4_0_contract_still_loads_and_runs() {
    let redis = support::redis::Server::start();
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.cache]\nkind = \"redis\"\nurls = [{:?}]\n",
        redis.url()
    ));
    cfg.install_plugin("older", "test_contract_0_4_0");
    cfg.check(
        "older",
        "plugin = \"older\"\n[grants]\nendpoints = [\"cache\"]\n",
    );
    let out = cfg.vitals(&["list", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json()["checks"][0]["plugin"]["contract"],
        "0.4.0",
        "{}",
        out.stdout
    );
    // Its calls reach a host speaking 0.4.1, and a real Redis.
    let (out, r) = cfg.run_check("older", &[]);
    assert_eq!(r["status"], "ok", "{r:#}\n{}", out.stderr);
    assert_eq!(r["findings"][0]["message"], "\"PONG\"", "{r:#}");
}

#[test]
fn missing_plugin_and_bad_filters() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.check("ghost", "plugin = \"ghost\"\n");
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 65);
    assert!(
        out.stderr.contains("plugins/ghost.wasm") && out.stderr.contains("not found"),
        "{}",
        out.stderr
    );

    let cfg = ConfigDir::new(CLUSTER);
    cfg.check("etcd", CHECK);
    let out = cfg.vitals(&["run", "--check", "nope"]);
    assert_eq!(out.code, 64);
    assert!(
        out.stderr.contains("no check named \"nope\" (known: etcd)"),
        "{}",
        out.stderr
    );
    let out = cfg.vitals(&["run", "--frobnicate"]);
    assert_eq!(out.code, 64);

    let out = run(&["run"], Some(std::path::Path::new("/nonexistent/vitals")));
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("/nonexistent/vitals") && out.stderr.contains("cannot read"),
        "{}",
        out.stderr
    );
}

#[test]
fn validate_and_list_describe_the_configuration() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.check("etcd", &format!("{CHECK}[params]\nexpected_members = 3\n"));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("configuration ok: 1 checks, 1 clusters, 1 plugins"),
        "{}",
        out.stdout
    );

    let out = cfg.vitals(&["list"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("plugin: etcd 0.1.0"), "{}", out.stdout);
    assert!(
        out.stdout.contains("expected_members <integer> = 3"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "contract vitals:check@{}",
            vitals_core::wit::VERSION
        )),
        "{}",
        out.stdout
    );

    let out = cfg.vitals(&["list", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["checks"][0]["plugin"]["name"], "etcd");
    // Every kind of grant is listed, granted or not.
    let grants = &json["checks"][0]["grants"];
    assert_eq!(grants["endpoints"], serde_json::json!(["etcd"]), "{grants}");
    assert_eq!(grants["kubernetes"], serde_json::json!([]), "{grants}");
    assert_eq!(
        grants["net"],
        serde_json::json!({"tcp": [], "arp": []}),
        "{grants}"
    );
    assert!(
        json["checks"][0]["plugin"]["params"]
            .as_array()
            .unwrap()
            .len()
            >= 5
    );
    assert!(!out.stderr.contains("grants nothing"), "{}", out.stderr);

    // A check without `[grants]` loads, and validate says why its runs will fail;
    // a list parameter's elements are checked against the plugin's schema.
    cfg.check("bare", "plugin = \"etcd\"\n");
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("check \"bare\"") && out.stderr.contains("grants nothing"),
        "{}",
        out.stderr
    );
}

#[test]
fn list_parameters_have_their_elements_checked() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.install_plugin("redis-sentinel", "redis_sentinel");
    cfg.check(
        "sentinel",
        "plugin = \"redis-sentinel\"\n[grants]\nendpoints = [\"etcd\"]\n[params]\nmasters = [\"mymaster\", 1]\n",
    );
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(
        out.stderr.contains("checks.d/sentinel.toml:5")
            && out.stderr.contains("expected list<string>")
            && out.stderr.contains("element 2 is 1"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_teaches_with_examples() {
    for cmd in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["list", "--help"],
        vec!["validate", "--help"],
        vec!["serve", "--help"],
        vec!["test", "--help"],
        vec!["plugin", "new", "--help"],
    ] {
        let out = run(&cmd, None);
        assert_eq!(out.code, 0, "{cmd:?}");
        assert!(out.stdout.contains("Example"), "{cmd:?}:\n{}", out.stdout);
    }
    let out = run(&["run", "--help"], None);
    assert!(out.stdout.contains("--fail-on") && out.stdout.contains("Exit codes"));
}

#[test]
fn second_invocation_uses_the_compile_cache() {
    let cache = tempfile::tempdir().unwrap();
    let cfg = ConfigDir::new(&format!(
        "cache_dir = {:?}\n{CLUSTER}",
        cache.path().display().to_string()
    ));
    // ConfigDir's own cache_dir line comes first; a second key would be a duplicate.
    let main = std::fs::read_to_string(cfg.path().join("vitals.toml")).unwrap();
    let main: String = main.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(cfg.path().join("vitals.toml"), main).unwrap();
    cfg.check("etcd", CHECK);
    let cached = |out: &support::vitals::Outcome| {
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        json["checks"][0]["plugin"]["compiled_from_cache"]
            .as_bool()
            .unwrap()
    };
    let first = cfg.vitals(&["list", "--format", "json"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(!cached(&first), "a fresh cache cannot hold the plugin");
    assert_eq!(compiled_entries(cache.path()), 1, "one artifact written");
    let second = cfg.vitals(&["list", "--format", "json"]);
    assert!(cached(&second), "the second invocation must not recompile");
}

#[test]
fn limits_and_urls_are_validated() {
    let cfg = ConfigDir::new(&format!("concurrency = 4000000000000000000\n{CLUSTER}"));
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("vitals.toml:2")
            && out
                .stderr
                .contains("`concurrency` must be between 1 and 1024"),
        "{}",
        out.stderr
    );

    let cfg = ConfigDir::new(
        "[clusters.local.endpoints.etcd]\nkind = \"http\"\nurls = [\"https://root:hunter2@127.0.0.1:2379\"]\n",
    );
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 78);
    assert!(
        out.stderr.contains("vitals.toml:4")
            && out.stderr.contains("credentials do not belong in a URL"),
        "{}",
        out.stderr
    );

    // Redis endpoints: redis://host:port, a password reference, no bearer token.
    for (endpoint, line, message) in [
        ("urls = [\"redis://127.0.0.1\"]", 4, "needs a port"),
        (
            "urls = [\"redis://127.0.0.1:6379\"]\nca_file = \"/etc/hostname\"",
            3,
            "is not a rediss:// URL",
        ),
        (
            "urls = [\"http://127.0.0.1:6379\"]",
            4,
            "must be an absolute redis:// or rediss:// URL",
        ),
        (
            "urls = [\"redis://:pw@127.0.0.1:6379\"]",
            4,
            "credentials do not belong in a URL",
        ),
        (
            "urls = [\"redis://127.0.0.1:6379\"]\nbearer_token_env = \"HOME\"",
            3,
            "not a bearer token",
        ),
        (
            "urls = [\"redis://127.0.0.1:6379\"]\nquery_timeout = \"forever\"",
            5,
            "`clusters.c.endpoints.r.query_timeout`: invalid duration",
        ),
    ] {
        let cfg = ConfigDir::new(&format!(
            "[clusters.c.endpoints.r]\nkind = \"redis\"\n{endpoint}\n"
        ));
        let out = cfg.vitals(&["validate"]);
        assert_eq!(out.code, 78, "{endpoint}: {out:?}");
        assert!(
            out.stderr.contains(&format!("vitals.toml:{line}")) && out.stderr.contains(message),
            "{endpoint}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn fail_on_takes_only_failure_levels_and_filters_must_select_something() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.check("etcd", CHECK);
    let out = cfg.vitals(&["run", "--fail-on", "ok"]);
    assert_eq!(out.code, 64, "{out:?}");
    cfg.check(
        "other",
        "plugin = \"chaos\"\nclusters = []\n[params]\nmode = \"ok\"\n",
    );
    let out = cfg.vitals(&["run", "--check", "other"]);
    assert_eq!(out.code, 64, "{out:?}");
    assert!(out.stderr.contains("select no run"), "{}", out.stderr);
}

#[test]
fn output_beyond_the_limit_is_cut_not_fatal() {
    let cfg = ConfigDir::new(CLUSTER);
    cfg.check(
        "chatty",
        "plugin = \"chaos\"\n[params]\nmode = \"chatty\"\n",
    );
    let out = cfg.vitals(&["run", "--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.result("chatty")["status"], "ok");
}

#[test]
fn plugin_dir_and_cache_dir_default_to_the_environment_and_yield_to_vitals_toml() {
    // vitals.toml without plugin_dir: $VITALS_PLUGIN_DIR (as the container image
    // sets it), else `plugins` beside vitals.toml.
    let cfg = ConfigDir::new("[clusters.local]\n");
    cfg.check("quick", "plugin = \"chaos\"\n[params]\nmode = \"ok\"\n");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::rename(
        cfg.path().join("plugins/chaos.wasm"),
        elsewhere.path().join("chaos.wasm"),
    )
    .unwrap();
    let out = cfg.vitals(&["validate"]);
    assert_eq!(out.code, 65, "{out:?}");
    assert!(out.stderr.contains("plugins/chaos.wasm"), "{}", out.stderr);
    let dir = elsewhere.path().to_str().unwrap();
    let out = cfg.vitals_with_env(&["validate"], &[("VITALS_PLUGIN_DIR", dir)]);
    assert_eq!(out.code, 0, "{out:?}");

    // A cache_dir left out: $VITALS_CACHE_DIR, created private to the user.
    let main = std::fs::read_to_string(cfg.path().join("vitals.toml")).unwrap();
    let main: String = main
        .lines()
        .filter(|l| !l.starts_with("cache_dir"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        cfg.path().join("vitals.toml"),
        format!("plugin_dir = {dir:?}\n{main}"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let compiled = cache.path().join("compiled");
    let out = cfg.vitals_with_env(
        &["validate"],
        &[
            ("VITALS_CACHE_DIR", compiled.to_str().unwrap()),
            ("VITALS_PLUGIN_DIR", "/nonexistent"),
        ],
    );
    assert_eq!(out.code, 0, "plugin_dir in vitals.toml wins: {out:?}");
    assert_eq!(compiled_entries(&compiled), 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&compiled).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// The compiled plugins (`*.cwasm`) in a compile cache (which also keeps the
/// digests remembered for warm runs, in `digests/`).
fn compiled_entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count()
}
