//! The host's HTTP gate against a misbehaving server: a body that stalls half-way
//! fails that request (a finding the plugin reports), not the whole run.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use support::vitals::ConfigDir;

#[test]
fn a_body_that_stalls_fails_the_request_not_the_run() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
            .unwrap();
        conn.flush().unwrap();
        // Stall (bounded), then hang up.
        std::thread::sleep(Duration::from_secs(8));
    });
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.slow]\nkind = \"http\"\nurls = [\"http://127.0.0.1:{port}\"]\n"
    ));
    cfg.check(
        "fetch",
        &format!(
            "plugin = \"chaos\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"slow\"]\n[params]\nmode = \"fetch\"\nurl = \"http://127.0.0.1:{port}/\"\n"
        ),
    );
    let out = cfg.vitals(&["run", "--format", "json"]);
    let r = out.result("fetch");
    // The plugin asked for a 5 s between-bytes timeout: its request fails with a
    // read timeout, which it reports, long before the check's own 30 s timeout.
    assert_eq!(r["status"], "critical", "{r:#}");
    assert!(r.get("failure").is_none(), "{r:#}");
    assert!(
        r["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("read timeout"),
        "{r:#}"
    );
    assert!(r["duration_seconds"].as_f64().unwrap() < 30.0);
    drop(server); // the server thread ends by itself; the test need not wait for it
}

#[test]
fn recording_scrubs_secrets_and_the_replay_needs_no_network() {
    // A server that echoes the request's Authorization header, once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let auth = head
            .lines()
            .find_map(|l| l.strip_prefix("authorization: "))
            .unwrap_or("none")
            .to_string();
        let body = format!("{{\"seen\": {auth:?}}}");
        write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // The listener is dropped here: a replay that reached for the network
        // would be refused and report critical, not the recorded ok.
    });
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.echo]\nkind = \"http\"\nurls = [\"http://127.0.0.1:{port}\"]\nbearer_token_env = \"ECHO_TOKEN\"\n"
    ));
    cfg.check(
        "fetch",
        &format!(
            "plugin = \"chaos\"\n[grants]\nendpoints = [\"echo\"]\n[params]\nmode = \"fetch\"\nurl = \"http://127.0.0.1:{port}/v1/echo\"\n"
        ),
    );
    let (out, r, cassette) = cfg.record_check(
        "fetch",
        "chaos",
        "echo",
        &[("ECHO_TOKEN", "s3cret-token-42")],
    );
    server.join().unwrap();
    assert_eq!(r["status"], "ok", "{r:#}\n{}", out.stderr);
    // The server saw the token, and the answer carried it back...
    assert!(
        cassette.contains("\"seen\": \"Bearer <redacted>\""),
        "{cassette}"
    );
    // ...but the cassette does not.
    assert!(!cassette.contains("s3cret-token-42"), "{cassette}");
    assert!(
        cassette.contains("\"url\": \"http://127.0.0.1:"),
        "{cassette}"
    );
    assert!(cassette.contains("/v1/echo\""), "{cassette}");
}
