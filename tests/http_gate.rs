//! The host's HTTP gate against a misbehaving server: a body that stalls half-way
//! fails that request (a finding the plugin reports), not the whole run.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use support::process::{raw_http_server, raw_http_server_counting};
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

/// A server that answers no request until `n` are in flight together: requests
/// sent one after the other would never all be answered (each gives up after
/// 20 s with a 503).
fn barrier_server(n: usize) -> u16 {
    use std::sync::{Condvar, Mutex};
    let arrived = (Mutex::new(0usize), Condvar::new());
    raw_http_server(move |_| {
        let (count, all_here) = &arrived;
        let mut count = count.lock().unwrap();
        *count += 1;
        all_here.notify_all();
        let (count, _) = all_here
            .wait_timeout_while(count, Duration::from_secs(20), |c| *c < n)
            .unwrap();
        let (status, body) = if *count >= n {
            ("200 OK", "together")
        } else {
            ("503 Service Unavailable", "alone")
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

/// Check `mode` of the chaos plugin (`fanout`: the URLs at once; `fetches`: one
/// after the other), granted `endpoint`, asking `urls`.
fn chaos_check(cfg: &ConfigDir, mode: &str, endpoint: &str, urls: &[String]) {
    cfg.check(
        mode,
        &format!(
            "plugin = \"chaos\"\ntimeout = \"60s\"\n[grants]\nendpoints = [{endpoint:?}]\n[params]\nmode = {mode:?}\nurl = {:?}\n",
            urls.join(" ")
        ),
    );
}

/// A configuration granting endpoint `members`, a [`barrier_server`] for three,
/// and three URLs on it.
fn three_members_at_a_barrier() -> (ConfigDir, Vec<String>) {
    let port = barrier_server(3);
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.members]\nkind = \"http\"\nurls = [\"http://127.0.0.1:{port}\"]\n"
    ));
    let urls = (1..=3)
        .map(|i| format!("http://127.0.0.1:{port}/member/{i}"))
        .collect();
    (cfg, urls)
}

/// The findings of a fan-out over `urls`: one per URL, in order; a URL with
/// `denied` in it critical with a message starting with `denied_prefix`, the
/// others answered together.
fn assert_fanned_out(r: &serde_json::Value, urls: &[String], denied_prefix: &str) {
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), urls.len(), "{r:#}");
    for (f, url) in findings.iter().zip(urls) {
        assert_eq!(f["subject"], url.as_str(), "{r:#}");
        if url.contains("denied") {
            assert_eq!(f["status"], "critical", "{r:#}");
            assert!(
                f["message"].as_str().unwrap().starts_with(denied_prefix),
                "{r:#}"
            );
        } else {
            assert_eq!(f["status"], "ok", "{r:#}");
            assert_eq!(f["message"], "HTTP 200: together", "{r:#}");
        }
    }
}

#[test]
fn a_plugin_fans_out_its_requests_at_once() {
    let (cfg, mut urls) = three_members_at_a_barrier();
    // A request that cannot start (not granted) answers with its error, in its place.
    urls.insert(1, "http://127.0.0.2:9/member/denied".to_string());
    chaos_check(&cfg, "fanout", "members", &urls);
    let (out, r) = cfg.run_check("fanout", &[]);
    assert_eq!(r["status"], "critical", "{r:#}\n{}", out.stderr);
    assert_fanned_out(&r, &urls, "Denied");
}

#[test]
fn a_javascript_plugin_fans_out_with_promise_all_of_fetch() {
    let (cfg, urls) = three_members_at_a_barrier();
    cfg.install_built("test_js_sdk");
    cfg.check(
        "fanout",
        &format!(
            "plugin = \"test_js_sdk\"\ntimeout = \"60s\"\n[grants]\nendpoints = [\"members\"]\n[params]\nfanout = {urls:?}\n"
        ),
    );
    let (out, r) = cfg.run_check("fanout", &[]);
    assert_eq!(r["status"], "ok", "{r:#}\n{}", out.stderr);
    assert_fanned_out(&r, &urls, "");
}

#[test]
fn a_c_plugin_fans_out_with_vitals_http_get_all() {
    let (cfg, mut urls) = three_members_at_a_barrier();
    // A request the host refuses (not granted) answers with its error, in its place.
    urls.insert(1, "http://127.0.0.2:9/member/denied".to_string());
    cfg.install_built("test_c_sdk");
    cfg.check(
        "fanout",
        &format!(
            "plugin = \"test_c_sdk\"\ntimeout = \"60s\"\n[grants]\nendpoints = [\"members\"]\n[params]\nfanout = {urls:?}\n"
        ),
    );
    let (out, r) = cfg.run_check("fanout", &[]);
    assert_eq!(r["status"], "critical", "{r:#}\n{}", out.stderr);
    // The worst finding comes before the plugin's summary: `<url>: denied: ...; 4 fetched`.
    assert!(
        r["summary"].as_str().unwrap().ends_with("4 fetched"),
        "{r:#}"
    );
    assert_fanned_out(&r, &urls, "denied: ");
}

#[test]
fn a_run_keeps_its_connections_alive() {
    let (port, accepted) =
        raw_http_server_counting(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec());
    let cfg = ConfigDir::new(&format!(
        "[clusters.local.endpoints.member]\nkind = \"http\"\nurls = [\"http://127.0.0.1:{port}\"]\n"
    ));
    let urls: Vec<String> = (1..=5)
        .map(|i| format!("http://127.0.0.1:{port}/request/{i}"))
        .collect();
    chaos_check(&cfg, "fetches", "member", &urls);
    let (out, r) = cfg.run_check("fetches", &[]);
    assert_eq!(r["status"], "ok", "{r:#}\n{}", out.stderr);
    assert_eq!(r["findings"].as_array().unwrap().len(), 5, "{r:#}");
    // Five requests one after the other on one connection (a second may open
    // while the first is still on its way back to the pool); without keep-alive, 5.
    let accepted = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(accepted <= 2, "{accepted} connections\n{r:#}");
}

/// A TLS server with a CA of its own (written to `dir/ca.crt`), offering
/// HTTP/2 and HTTP/1.1 (ALPN) or HTTP/1.1 only, that answers no request until
/// `n` are in flight together (503 after 20 s alone), with the HTTP version it
/// was asked in; and the number of connections it accepted.
fn tls_barrier_server(
    n: usize,
    h2: bool,
    dir: &std::path::Path,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let (ca_pem, issuer) = support::pki::new_ca("h2-test-ca").unwrap();
    let (cert, key) = support::pki::new_leaf(
        &issuer,
        "member",
        vec!["127.0.0.1".into()],
        &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
    )
    .unwrap();
    std::fs::write(dir.join("ca.crt"), ca_pem).unwrap();
    let protocols: &[&str] = if h2 {
        &["h2", "http/1.1"]
    } else {
        &["http/1.1"]
    };
    let acceptor = support::tls_server::acceptor(&cert, &key, protocols);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (arrived, _) = tokio::sync::watch::channel(0usize);
            let arrived = Arc::new(arrived);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let (acceptor, arrived) = (acceptor.clone(), arrived.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                        let arrived = arrived.clone();
                        async move {
                            arrived.send_modify(|c| *c += 1);
                            let together = tokio::time::timeout(
                                Duration::from_secs(20),
                                arrived.subscribe().wait_for(|c| *c >= n),
                            )
                            .await
                            .is_ok();
                            let body = format!("{:?}", req.version());
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(if together { 200 } else { 503 })
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    support::tls_server::serve(stream, service).await;
                });
            }
        });
    });
    (port, accepted)
}

#[test]
fn a_tls_server_offering_http2_gets_one_connection_for_requests_at_once() {
    // Four requests in flight together (the server answers none before all four
    // have arrived): over HTTP/2 one connection carries them; a server offering
    // HTTP/1.1 only gets a connection each, the one that asked its protocol among them.
    // Over HTTP/2, one connection; once in a CI run hyper-util's pool opened a
    // second while the first went into it (the same allowance as keep-alive's below).
    for (h2, version, connections) in [(true, "HTTP/2.0", 1..=2), (false, "HTTP/1.1", 4..=4)] {
        let dir = tempfile::tempdir().unwrap();
        let (port, accepted) = tls_barrier_server(4, h2, dir.path());
        let cfg = ConfigDir::new(&format!(
            "[clusters.local.endpoints.members]\nkind = \"http\"\nurls = [\"https://127.0.0.1:{port}\"]\nca_file = {:?}\n",
            dir.path().join("ca.crt")
        ));
        let urls: Vec<String> = (1..=4)
            .map(|i| format!("https://127.0.0.1:{port}/member/{i}"))
            .collect();
        chaos_check(&cfg, "fanout", "members", &urls);
        let (out, r) = cfg.run_check("fanout", &[]);
        assert_eq!(r["status"], "ok", "{r:#}\n{}", out.stderr);
        let findings = r["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 4, "{r:#}");
        for f in findings {
            assert_eq!(f["message"], format!("HTTP 200: {version}"), "{r:#}");
        }
        let accepted = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            connections.contains(&accepted),
            "{accepted} connections, h2 offered: {h2}\n{r:#}"
        );
    }
}
