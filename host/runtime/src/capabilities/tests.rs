//! Each capability's gate with the tape as its test double: a call recorded live
//! (against closed local ports, or refused by the gate before any I/O) is answered
//! identically from the cassette by a gate that is granted nothing, so the answer
//! can only have come from the tape; a call the cassette lacks is denied.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};
use vitals_core::cassette::Call;
use vitals_core::config::{Config, fixture};

use super::{Clients, Gates, RunGrants};
use crate::contract::vitals::check::{dns, kubernetes, net, redis, sql};
use crate::tape::{Replayer, Tape};

/// A cluster with one endpoint of each kind on ports where nothing listens, and
/// a check granted all of them, `nodes`, and TCP probes to loopback.
fn config() -> (tempfile::TempDir, tempfile::NamedTempFile, Config) {
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        kubeconfig.path(),
        "current-context: a\ncontexts: [{name: a, context: {cluster: a, user: a}}]\nclusters: [{name: a, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: a, user: {token: t}}]\n",
    )
    .unwrap();
    let main = format!(
        "[clusters.c.endpoints.cache]\nkind = \"redis\"\nurls = [\"redis://127.0.0.1:1\"]\n\
         [clusters.c.endpoints.db]\nkind = \"mysql\"\nurls = [\"mysql://127.0.0.1:1\"]\nusername = \"u\"\n\
         [clusters.c.endpoints.k8s]\nkind = \"kubernetes\"\nkubeconfig = {:?}\n\
         [clusters.c.endpoints.resolver]\nkind = \"dns\"\nurls = [\"dns://127.0.0.1:1\"]\nquery_timeout = \"200ms\"\n",
        kubeconfig.path().display().to_string()
    );
    let check = "plugin = \"/p/x.wasm\"\n[grants]\nendpoints = [\"cache\", \"db\", \"k8s\", \"resolver\"]\nkubernetes = [\"nodes\"]\n[grants.net]\ntcp = [\"127.0.0.1/32\"]\n";
    let (dir, cfg) = fixture::load(&main, &[("x", check)]);
    (dir, kubeconfig, cfg.expect("configuration loads"))
}

/// Every call, through the gates' own WIT `Host` implementations.
async fn calls(g: &mut Gates) -> Vec<Value> {
    fn v<T: Serialize, E: Serialize>(r: Result<T, E>) -> Value {
        match r {
            Ok(v) => json!({ "ok": v }),
            Err(e) => json!({ "error": e }),
        }
    }
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let url = |s: &str| s.to_string();
    let mut answers = vec![
        v(redis::Host::command(
            &mut g.redis,
            url("cache"),
            url("redis://127.0.0.1:1"),
            args("PING"),
        )
        .await),
        v(redis::Host::command(
            &mut g.redis,
            url("cache"),
            url("redis://127.0.0.1:1"),
            args("FLUSHALL"),
        )
        .await),
        v(redis::Host::command(
            &mut g.redis,
            url("other"),
            url("redis://127.0.0.1:1"),
            args("PING"),
        )
        .await),
        v(sql::Host::query(
            &mut g.sql,
            url("db"),
            url("mysql://127.0.0.1:1"),
            url("SELECT 1"),
        )
        .await),
        v(sql::Host::query(
            &mut g.sql,
            url("db"),
            url("mysql://127.0.0.1:1"),
            url("DELETE FROM t"),
        )
        .await),
        v(kubernetes::Host::get(&mut g.kubernetes, url("k8s"), url("/api/v1/nodes/n1")).await),
        v(kubernetes::Host::get(
            &mut g.kubernetes,
            url("k8s"),
            url("/api/v1/namespaces/a/secrets/s"),
        )
        .await),
        v(net::Host::tcp_connect(&mut g.net, url("127.0.0.1:1")).await),
        v(net::Host::tcp_connect(&mut g.net, url("10.0.0.1:80")).await),
        v(dns::Host::query(
            &mut g.dns,
            url("resolver"),
            url("dns://127.0.0.1:1"),
            url("kubernetes.default.svc.cluster.local"),
            dns::QueryType::A,
        )
        .await),
        v(dns::Host::query(
            &mut g.dns,
            url("resolver"),
            url("dns://10.43.0.10"),
            url("kubernetes.default.svc.cluster.local"),
            dns::QueryType::A,
        )
        .await),
        v(dns::Host::query(
            &mut g.dns,
            url("resolver"),
            url("dns://127.0.0.1:1"),
            url("not a name"),
            dns::QueryType::Srv,
        )
        .await),
    ];
    // The batches: each answer as its single call's.
    let redis_request = |command: &str| redis::Request {
        endpoint: url("cache"),
        url: url("redis://127.0.0.1:1"),
        args: args(command),
    };
    let batch = vec![redis_request("PING"), redis_request("FLUSHALL")];
    answers.extend(
        redis::Host::command_all(&mut g.redis, batch)
            .await
            .into_iter()
            .map(v),
    );
    let sql_request = |statement: &str| sql::Request {
        endpoint: url("db"),
        url: url("mysql://127.0.0.1:1"),
        statement: url(statement),
    };
    let batch = vec![sql_request("SELECT 1"), sql_request("DELETE FROM t")];
    answers.extend(
        sql::Host::query_all(&mut g.sql, batch)
            .await
            .into_iter()
            .map(v),
    );
    let kube_read = |path: &str, list: bool| kubernetes::Read {
        endpoint: url("k8s"),
        path: url(path),
        list: list.then_some(kubernetes::ListOptions {
            label_selector: None,
            field_selector: None,
            limit: Some(5),
            continue_token: None,
        }),
    };
    // A denied read answers at once, so it is recorded first either way.
    let batch = vec![
        kube_read("/api/v1/namespaces/a/secrets/s", false),
        kube_read("/api/v1/nodes", true),
    ];
    answers.extend(
        kubernetes::Host::batch(&mut g.kubernetes, batch)
            .await
            .into_iter()
            .map(v),
    );
    // Denied first: it answers at once, so it is recorded first either way.
    let batch = vec![url("10.0.0.1:80"), url("127.0.0.1:1")];
    answers.extend(
        net::Host::tcp_connect_all(&mut g.net, batch)
            .await
            .into_iter()
            .map(v),
    );
    let batch = vec![url("127.0.0.1"), url("not an address")];
    answers.extend(
        net::Host::arp_probe_all(&mut g.net, batch)
            .await
            .into_iter()
            .map(v),
    );
    answers
}

#[tokio::test]
async fn every_capability_answers_a_replay_as_it_answered_the_recording() {
    let (_dir, _kubeconfig, cfg) = config();
    let (check, cluster) = (&cfg.checks[0], &cfg.clusters["c"]);
    let granted: Vec<_> = cluster.endpoints.values().cloned().collect();
    let clients = Clients::default();
    let mut live = Gates::new(&RunGrants {
        check,
        cluster: "c",
        endpoints: &granted,
        clients: &clients,
        redactor: &Default::default(),
    });
    let recorded = Arc::new(Mutex::new(Vec::<Call>::new()));
    live.set_tape(&Tape::record(recorded.clone(), Default::default()));
    let answers = calls(&mut live).await;

    let error = |i: usize| {
        answers[i]["error"]
            .as_object()
            .map(|e| e.keys().next().unwrap().clone())
    };
    let expected = [
        "Unreachable", // PING to a closed port
        "Denied",      // FLUSHALL is not a query
        "Denied",      // endpoint not granted
        "Unreachable", // SELECT to a closed port
        "Denied",      // DELETE is not read-only
        "Unreachable", // GET from a closed port
        "Denied",      // Secrets are never served
        "Refused",     // TCP to a closed port
        "Denied",      // TCP to a network not granted
        "Timeout",     // DNS to a closed port: no answer
        "Denied",      // DNS to a resolver not granted
        "Denied",      // DNS for a name that is none
        "Unreachable", // a batch: PING to a closed port
        "Denied",      // and FLUSHALL
        "Unreachable", // a batch: SELECT to a closed port
        "Denied",      // and DELETE
        "Denied",      // a batch: a Secret
        "Unreachable", // and a LIST from a closed port
        "Denied",      // a batch: TCP to a network not granted
        "Refused",     // and to a closed port
        "Denied",      // a batch: ARP not granted
        "Denied",      // and not an address
    ];
    for (i, kind) in expected.iter().enumerate() {
        assert_eq!(error(i).as_deref(), Some(*kind), "call {i}: {}", answers[i]);
    }
    let recorded = recorded.lock().unwrap().clone();
    let names: Vec<&str> = recorded.iter().map(|c| c.call.as_str()).collect();
    assert_eq!(
        names,
        [
            "redis.command",
            "redis.command",
            "redis.command",
            "sql.query",
            "sql.query",
            "kubernetes.get",
            "kubernetes.get",
            "net.tcp-connect",
            "net.tcp-connect",
            "dns.query",
            "dns.query",
            "dns.query",
            "redis.command",
            "redis.command",
            "sql.query",
            "sql.query",
            "kubernetes.get",
            "kubernetes.list",
            "net.tcp-connect",
            "net.tcp-connect",
            "net.arp-probe",
            "net.arp-probe"
        ]
    );

    let mut replaying = Gates::default();
    let replayer = Arc::new(Mutex::new(Replayer::new(recorded)));
    replaying.set_tape(&Tape::replay(replayer.clone()));
    assert_eq!(calls(&mut replaying).await, answers);
    assert!(replayer.lock().unwrap().unused().is_empty());

    let mut empty = Gates::default();
    empty.set_tape(&Tape::replay(Arc::new(Mutex::new(Replayer::new(vec![])))));
    let missing = calls(&mut empty).await;
    assert!(
        missing.iter().all(|a| a["error"]["Denied"]
            .as_str()
            .is_some_and(|m| m.contains("not in the cassette"))),
        "{missing:?}"
    );
}

#[test]
fn one_word_list_says_which_client_errors_are_about_tls() {
    for message in [
        "invalid peer certificate: UnknownIssuer",
        "TLS handshake failed",
        "SSL connection error: protocol version mismatch",
        "received fatal alert: BadCertificate",
    ] {
        assert!(super::is_tls_error(message), "{message}");
    }
    for message in [
        "Connection refused (os error 111)",
        "timed out",
        "WRONGPASS",
    ] {
        assert!(!super::is_tls_error(message), "{message}");
    }
}

/// The secrets of a configuration: its endpoints' and those of its kubeconfig,
/// including a token file read again when it is rotated.
#[test]
fn the_redactor_knows_every_secret_and_follows_a_rotated_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first-token-0451\n").unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "current-context: a\ncontexts: [{{name: a, context: {{cluster: a, user: a}}}}]\nclusters: [{{name: a, cluster: {{server: 'https://127.0.0.1:1'}}}}]\nusers: [{{name: a, user: {{token: inline-token-77}}}}, {{name: b, user: {{tokenFile: {:?}}}}}]\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("password"), "redis-pass-9\n").unwrap();
    let main = format!(
        "[clusters.c.endpoints.cache]\nkind = \"redis\"\nurls = [\"redis://127.0.0.1:1\"]\npassword_file = {:?}\n\
         [clusters.c.endpoints.k8s]\nkind = \"kubernetes\"\nkubeconfig = {:?}\n",
        dir.path().join("password").display().to_string(),
        kubeconfig.display().to_string()
    );
    let (_dir, cfg) = fixture::load(&main, &[]);
    let clients = Clients::new(&cfg.expect("configuration loads"));
    let text = "redis-pass-9 inline-token-77 first-token-0451 second-token-0452";
    assert_eq!(
        clients.redactor().text(text),
        "<redacted> <redacted> <redacted> second-token-0452"
    );
    // kube reads the file again; so does the redactor once it has changed.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&token, "second-token-0452\n").unwrap();
    assert_eq!(
        clients.redactor().text(text),
        "<redacted> <redacted> first-token-0451 <redacted>"
    );
}

/// A batch's calls are in flight together (each waits at a barrier for all the
/// others: one after the other they would never finish), at most
/// `MAX_IN_FLIGHT` of them; the answers come in the order of the calls although
/// the last started finishes first; each is taped as a single call, and every
/// connection comes back.
#[tokio::test]
async fn a_batch_sends_its_calls_at_once_and_answers_in_order() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    let n = super::MAX_IN_FLIGHT + 4;
    let barrier = Arc::new(tokio::sync::Barrier::new(super::MAX_IN_FLIGHT));
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, running, most) = (barrier.clone(), running.clone(), most.clone());
            let live = async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                if i < super::MAX_IN_FLIGHT {
                    barrier.wait().await;
                }
                let later = (n - i) as u64;
                tokio::time::sleep(Duration::from_millis(later)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                let answer: Result<String, redis::Error> = Ok(format!("answer {i}"));
                (answer, Some((format!("redis://10.0.0.{i}:6379"), i)))
            };
            (json!({ "n": i }), live)
        })
        .collect();
    let recorded = Arc::new(Mutex::new(Vec::<Call>::new()));
    let tape = Tape::record(recorded.clone(), Default::default());
    let mut connections = super::Connections::default();
    let answers = tokio::time::timeout(
        Duration::from_secs(60),
        super::all_at_once(&tape, &mut connections, "redis.command", calls),
    )
    .await
    .expect("the calls of a batch were not in flight together");
    let answers: Vec<String> = answers.into_iter().map(Result::unwrap).collect();
    let expected: Vec<String> = (0..n).map(|i| format!("answer {i}")).collect();
    assert_eq!(answers, expected);
    assert_eq!(most.load(Ordering::SeqCst), super::MAX_IN_FLIGHT);
    let mut back: Vec<usize> = connections.open.into_values().collect();
    back.sort();
    assert_eq!(back, (0..n).collect::<Vec<_>>());
    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.len(), n);
    assert!(recorded.iter().all(|c| c.call == "redis.command"));
}
