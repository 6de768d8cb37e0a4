//! Secrets never leave the host: a server that echoes the request's headers
//! hands the plugin the credentials the host added, and a plugin that puts that
//! answer everywhere it can write (summary, findings, samples, log, stdout, a
//! panic) still shows no secret in any output format, nor in a cassette. The
//! same for what real Redis, MariaDB and Kubernetes servers answer.

mod support;

use serde_json::json;
use support::galera::Galera;
use support::kubernetes::ApiServer;
use support::process::raw_http_server;
use support::redis;
use support::vitals::{ConfigDir, findings};

const TOKEN: &str = "tok-3f9a7c1e55";
const PASSWORD: &str = "pa55-w0rd-81c2";

/// A server that answers every request with its head (request line and
/// headers) as the body: what a debug endpoint or some error pages do. Under
/// `/gzip` it says the body is gzip-encoded (which the host cannot redact).
fn echo_server() -> u16 {
    raw_http_server(|head| {
        let coding = if head.starts_with(b"GET /gzip") {
            "Content-Encoding: gzip\r\n"
        } else {
            ""
        };
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{coding}Content-Length: {}\r\nConnection: close\r\n\r\n",
            head.len()
        )
        .into_bytes();
        response.extend_from_slice(head);
        response
    })
}

fn config(port: u16) -> ConfigDir {
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.bearer]\nkind = \"http\"\nurls = [\"http://127.0.0.1:{port}\"]\nbearer_token_env = \"ECHO_TOKEN\"\n\
         [clusters.local.endpoints.basic]\nkind = \"http\"\nurls = [\"http://localhost:{port}\"]\nusername = \"admin\"\npassword_env = \"ECHO_PASSWORD\"\n"
    ));
    for (name, endpoint, host, path, command) in [
        ("bearer", "bearer", "127.0.0.1", "debug/echo", ""),
        ("basic", "basic", "localhost", "debug/echo", ""),
        ("bearer-panic", "bearer", "127.0.0.1", "debug/echo", "panic"),
        ("bearer-gzip", "bearer", "127.0.0.1", "gzip", ""),
    ] {
        cfg.check(
            name,
            &format!(
                "plugin = \"chaos\"\n[grants]\nendpoints = [\"{endpoint}\"]\n[params]\nmode = \"smuggle\"\nurl = \"http://{host}:{port}/{path}\"\ncommand = \"{command}\"\n"
            ),
        );
    }
    cfg
}

const ENV: [(&str, &str); 2] = [("ECHO_TOKEN", TOKEN), ("ECHO_PASSWORD", PASSWORD)];

/// `admin:PASSWORD` as a basic `Authorization` header carries it.
fn basic_pair() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}"))
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        TOKEN,
        PASSWORD,
        &basic_pair(),
        basic_pair().trim_end_matches('='),
    ] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

#[test]
fn a_plugin_cannot_smuggle_a_credential_into_any_output() {
    let port = echo_server();
    let cfg = config(port);
    let textfile = cfg.path().join("vitals.prom");
    for format in ["json", "human", "junit", "prometheus"] {
        let out = cfg.vitals_with_env(
            &[
                "run",
                "--format",
                format,
                "--verbose",
                "--log-level",
                "debug",
                "--textfile",
                textfile.to_str().unwrap(),
            ],
            &ENV,
        );
        assert!(!out.stdout.is_empty(), "{format}: {out:?}");
        assert_no_secret(&format!("{format} output"), &out.stdout);
        assert_no_secret(&format!("the log of --format {format}"), &out.stderr);
        assert_no_secret("the textfile", &std::fs::read_to_string(&textfile).unwrap());
    }

    // The plugin did get the echo, with the credentials redacted where they stood.
    let (out, r) = cfg.run_check("bearer", &ENV);
    assert_eq!(r["status"], "warning", "{r:#}\n{}", out.stderr);
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.contains("authorization: Bearer <redacted>"),
        "{summary}"
    );
    assert!(summary.contains("GET /debug/echo"), "{summary}");
    // Asked for an answer the host can redact: whole, not compressed.
    assert!(summary.contains("accept-encoding: identity"), "{summary}");
    // A server that compresses anyway is refused.
    let (_, r) = cfg.run_check("bearer-gzip", &ENV);
    assert_eq!(r["status"], "unknown", "{r:#}");
    assert!(
        r["summary"].as_str().unwrap().contains("ContentCoding"),
        "{r:#}"
    );
    let (_, r) = cfg.run_check("basic", &ENV);
    let summary = r["summary"].as_str().unwrap();
    assert!(summary.contains("authorization: Basic <redacted>"), "{r:#}");
    // A panic's message and the captured stdout are redacted too.
    let (_, r) = cfg.run_check("bearer-panic", &ENV);
    assert_eq!(r["failure"], "panic", "{r:#}");
    let output = r["output"].as_str().unwrap();
    assert!(output.contains("Bearer <redacted>"), "{output}");
    assert_no_secret("a panic's output", output);

    // A recorded cassette holds the redacted answer, and its replay still passes.
    let (out, r, cassette) = cfg.record_check("bearer", "chaos", "smuggle", &ENV);
    assert_eq!(r["status"], "warning", "{r:#}\n{}", out.stderr);
    assert_no_secret("the cassette", &cassette);
    assert!(cassette.contains("Bearer <redacted>"), "{cassette}");
}

#[test]
fn serve_shows_no_credential_on_any_page() {
    let port = echo_server();
    let cfg = config(port);
    let served = cfg.serve_with_env(&ENV);
    served.wait_ready();
    let (_, results) = served.get("/api/v1/results");
    assert!(results.contains("Bearer <redacted>"), "{results}");
    assert_no_secret("/api/v1/results", &results);
    for path in ["/metrics", "/probe?check=bearer", "/probe?check=basic"] {
        let (status, body) = served.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.contains("<redacted>") || path == "/metrics",
            "{path}: {body}"
        );
        assert_no_secret(path, &body);
    }
    let (_, om) = served.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_no_secret("/metrics (OpenMetrics)", &om);
    assert_no_secret("serve's log", &served.log());
}

/// A check `leak` of the chaos plugin in `mode` with `command`, granted `endpoint`
/// (and `kubernetes` resources when given): its findings. The JSON, Prometheus
/// and human outputs, and a cassette recorded of it, show none of `secrets`.
fn leak_findings(
    cfg: &ConfigDir,
    endpoint: &str,
    mode: &str,
    command: &str,
    env: &[(&str, &str)],
    secrets: &[&str],
) -> String {
    let kubernetes = if endpoint == "kubernetes" {
        "kubernetes = [\"configmaps@default\"]\n"
    } else {
        ""
    };
    cfg.check(
        "leak",
        &format!(
            "plugin = \"chaos\"\ntimeout = \"20s\"\n[grants]\nendpoints = [\"{endpoint}\"]\n{kubernetes}[params]\nmode = \"{mode}\"\ncommand = {command:?}\n"
        ),
    );
    let (out, r) = cfg.run_check("leak", env);
    assert_eq!(r["status"], "ok", "{mode}: {r:#}\n{}", out.stderr);
    for format in ["json", "prometheus", "human"] {
        let out = cfg.vitals_with_env(&["run", "--format", format, "--verbose"], env);
        for secret in secrets {
            assert!(!out.stdout.contains(secret), "{mode}, {format}: {out:?}");
            assert!(!out.stderr.contains(secret), "{mode}, {format}: {out:?}");
        }
    }
    let (_, _, cassette) = cfg.record_check("leak", "chaos", mode, env);
    assert!(cassette.contains("<redacted>"), "{cassette}");
    for secret in secrets {
        assert!(!cassette.contains(secret), "{mode}: {cassette}");
    }
    findings(&r)
}

#[test]
fn credentials_in_real_servers_answers_are_redacted() {
    // Redis: the read-only allow-list lets no stored value through, so ECHO
    // stands in for a reply that carries the password the host logs in with.
    const REDIS_PASSWORD: &str = "r3dis-pass-9x7";
    let server = redis::Server::start();
    let port = server.port.to_string();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "--no-auth-warning",
                "-a",
                REDIS_PASSWORD,
            ])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = cli(&["CONFIG", "SET", "requirepass", REDIS_PASSWORD]);
    assert!(said.contains("OK"), "{said}");
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.cache]\nkind = \"redis\"\nurls = [{:?}]\npassword_env = \"REDIS_PASSWORD\"\n",
        server.url()
    ));
    let seen = leak_findings(
        &cfg,
        "cache",
        "redis",
        &format!("ECHO redis://:{REDIS_PASSWORD}@cache:6379/0"),
        &[("REDIS_PASSWORD", REDIS_PASSWORD)],
        &[REDIS_PASSWORD],
    );
    assert!(seen.contains("redis://:<redacted>@cache:6379/0"), "{seen}");

    // MariaDB: a row that holds the password the host logs in with.
    let g = Galera::start(1);
    let user = support::galera::USER;
    let password = support::galera::PASSWORD;
    g.sql(
        0,
        &format!(
            "CREATE DATABASE app; CREATE TABLE app.settings (v TEXT); \
             INSERT INTO app.settings VALUES ('db password: {password}'); \
             GRANT SELECT ON app.* TO '{user}'@'%'"
        ),
    );
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.db]\nkind = \"mysql\"\nurls = [{:?}]\nusername = \"{user}\"\npassword_env = \"DB_PASSWORD\"\n",
        g.urls()[0]
    ));
    let seen = leak_findings(
        &cfg,
        "db",
        "sql",
        "SELECT v FROM app.settings",
        &[("DB_PASSWORD", password)],
        &[password],
    );
    assert!(seen.contains("db password: <redacted>"), "{seen}");

    // Kubernetes: a ConfigMap that holds the bearer token of the kubeconfig the
    // host reaches the API with.
    let api = ApiServer::start(vec![json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "ci-settings", "namespace": "default", "resourceVersion": "1"},
        "data": {"deploy-token": "placeholder"}
    })]);
    let token = api.token().to_string();
    api.update(|objects| objects[0]["data"]["deploy-token"] = json!(format!("Bearer {token}")));
    let cfg = ConfigDir::new(&api.endpoint_toml("local"));
    let seen = leak_findings(
        &cfg,
        "kubernetes",
        "kube",
        "get /api/v1/namespaces/default/configmaps/ci-settings",
        &[],
        &[&token],
    );
    assert!(seen.contains("Bearer <redacted>"), "{seen}");
}
