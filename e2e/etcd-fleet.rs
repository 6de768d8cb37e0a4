//! A fleet of etcd clusters far away, for the fleet-scale benchmark
//! (`benches/fleet-scale`): a thousand real clusters cannot run on one machine,
//! so this answers as each member of CLUSTERS healthy 3-member etcd 3.4 clusters
//! would through its gateway (the JSON of a real 3.4 member's answers, with each
//! cluster's own IDs and URLs), every answer LATENCY_MS late, as a cluster in
//! another data centre. Cluster `k` (from 0) is the address `127.1.{k / 256}.{k %
//! 256}` (all of 127.0.0.0/8 is loopback), its members the three ports printed
//! on the first line; the clusters' URLs as TOML tables
//! (`[clusters.cN.endpoints.etcd]`) are written to the file given.
//!
//! With `--tls DIR`, each cluster's members serve HTTPS as etcd does (a
//! certificate of the cluster's own address, signed by the CA written to
//! `DIR/ca.crt`; HTTP/2 and HTTP/1.1 offered), and the endpoints name the CA.
//!
//! `etcd-fleet CLUSTERS LATENCY_MS ENDPOINTS_TOML [--tls DIR]` runs until stopped.

#[path = "../tests/support/pki.rs"]
mod pki;
#[path = "../tests/support/tls_server.rs"]
mod tls_server;

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio_rustls::TlsAcceptor;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(clusters), Some(latency), Some(out)) = (
        args.first().and_then(|n| n.parse::<u32>().ok()),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
        args.get(2),
    ) else {
        eprintln!("usage: etcd-fleet CLUSTERS LATENCY_MS ENDPOINTS_TOML [--tls DIR]");
        std::process::exit(2);
    };
    if clusters == 0 || clusters > 65_536 {
        eprintln!("etcd-fleet: CLUSTERS must be 1 to 65536");
        std::process::exit(2);
    }
    let tls = match (args.get(3).map(String::as_str), args.get(4)) {
        (Some("--tls"), Some(dir)) => Some(tls(clusters, std::path::Path::new(dir))),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let acceptors: &'static [TlsAcceptor] =
        Box::leak(tls.iter().flat_map(|t| t.0.clone()).collect());
    let latency = Duration::from_millis(latency);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let mut ports = Vec::new();
        let mut listeners = Vec::new();
        for _ in 0..3 {
            let l = listen();
            ports.push(l.local_addr().expect("local address").port());
            listeners.push(l);
        }
        let mut toml = String::new();
        for k in 0..clusters {
            let urls: Vec<String> = (0..3).map(|j| url(scheme, k, ports[j])).collect();
            let _ = writeln!(
                toml,
                "[clusters.c{k}.endpoints.etcd]\nkind = \"http\"\nurls = {urls:?}"
            );
            if let Some((_, ca)) = &tls {
                let _ = writeln!(toml, "ca_file = {ca:?}");
            }
            toml.push('\n');
        }
        std::fs::write(out, toml).expect("write the endpoints");
        println!("{} {} {}", ports[0], ports[1], ports[2]);
        let mut tasks = Vec::new();
        for (member, listener) in listeners.into_iter().enumerate() {
            // Every answer made once (the fleet's CPU is not the host's to spend).
            let answers: Vec<Vec<Answer>> = (0..clusters)
                .map(|k| {
                    PATHS
                        .iter()
                        .map(|p| {
                            let (content_type, body) = answer(p, k, member, &ports, scheme);
                            (content_type, Bytes::from(body))
                        })
                        .collect()
                })
                .collect();
            let answers: &'static [Vec<Answer>] = Box::leak(answers.into_boxed_slice());
            tasks.push(tokio::spawn(serve(listener, answers, latency, acceptors)));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// A listener on a free port of every IPv4 address, its accept queue as long as
/// the kernel allows (`net.core.somaxconn`), as etcd's (Go's) is: with tokio's
/// 1,024, a hundred runs connecting at once overflow it and a dropped SYN costs
/// a run a second.
fn listen() -> tokio::net::TcpListener {
    let backlog = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::from(([0, 0, 0, 0], 0)))
        .expect("bind a port");
    socket.listen(backlog).expect("listen")
}

fn url(scheme: &str, cluster: u32, port: u16) -> String {
    format!(
        "{scheme}://127.1.{}.{}:{port}",
        cluster / 256,
        cluster % 256
    )
}

/// A CA written to `dir/ca.crt`, and for each cluster a TLS acceptor with a
/// certificate for its address, offering HTTP/2 and HTTP/1.1 as etcd does.
fn tls(clusters: u32, dir: &std::path::Path) -> (Vec<TlsAcceptor>, std::path::PathBuf) {
    let (ca_pem, issuer) = pki::new_ca("etcd-fleet-ca").expect("a CA");
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, ca_pem).expect("write the CA");
    let acceptors = (0..clusters)
        .map(|k| {
            let address = format!("127.1.{}.{}", k / 256, k % 256);
            let (cert, key) = pki::new_leaf(
                &issuer,
                "etcd",
                vec![address],
                &[rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            )
            .expect("a server certificate");
            tls_server::acceptor(&cert, &key, &["h2", "http/1.1"])
        })
        .collect();
    (acceptors, ca)
}

/// The paths a member answers, in the order of its [`Answer`]s.
const PATHS: [&str; 4] = [
    "/v3/maintenance/status",
    "/health",
    "/v3/cluster/member/list",
    "/metrics",
];

/// A content type and body.
type Answer = (&'static str, Bytes);

/// Serve one member of every cluster: `answers[cluster]`, in the order of [`PATHS`].
async fn serve(
    listener: tokio::net::TcpListener,
    answers: &'static [Vec<Answer>],
    latency: Duration,
    acceptors: &'static [TlsAcceptor],
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // As etcd (Go) does.
        let _ = stream.set_nodelay(true);
        let Ok(SocketAddr::V4(local)) = stream.local_addr().map(canonical) else {
            continue;
        };
        let [_, _, hi, lo] = local.ip().octets();
        let cluster = usize::from(hi) * 256 + usize::from(lo);
        let Some(answers) = answers.get(cluster) else {
            continue;
        };
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| async move {
                tokio::time::sleep(latency).await;
                let found = PATHS.iter().position(|p| *p == req.uri().path());
                let (content_type, body) =
                    found.map_or(("text/plain", Bytes::new()), |i| answers[i].clone());
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(if found.is_some() { 200 } else { 404 })
                        .header("content-type", content_type)
                        .body(Full::new(body))
                        .expect("a response"),
                )
            });
            let Some(acceptor) = acceptors.get(cluster) else {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                return;
            };
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            tls_server::serve(stream, service).await;
        });
    }
}

/// An IPv4 address accepted on a dual-stack socket, as IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(a, |v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        IpAddr::V4(_) => a,
    }
}

/// What member `member` of cluster `cluster` answers at `path` (3.4's gateway:
/// integers as strings; the answers of [`PATHS`]).
fn answer(
    path: &str,
    cluster: u32,
    member: usize,
    ports: &[u16],
    scheme: &str,
) -> (&'static str, String) {
    let id = |j: usize| ((u64::from(cluster) << 8) | (j as u64 + 1)).to_string();
    let header = json!({
        "cluster_id": (u64::from(cluster) + 1).to_string(),
        "member_id": id(member),
        "revision": "1",
        "raft_term": "2",
    });
    let body = match path {
        "/v3/maintenance/status" => json!({
            "header": header, "version": "3.4.23", "dbSize": "20480", "leader": id(0),
            "raftIndex": "10", "raftTerm": "2", "raftAppliedIndex": "10", "dbSizeInUse": "16384",
        }),
        "/health" => json!({"health": "true"}),
        "/v3/cluster/member/list" => json!({
            "header": header,
            "members": (0..3).map(|j| json!({
                "ID": id(j),
                "name": format!("m{}", j + 1),
                "peerURLs": [format!("http://127.1.{}.{}:{}", cluster / 256, cluster % 256, 2380)],
                "clientURLs": [url(scheme, cluster, ports[j])],
            })).collect::<Vec<_>>(),
        }),
        "/metrics" => {
            return (
                "text/plain; version=0.0.4",
                "# TYPE etcd_server_quota_backend_bytes gauge\netcd_server_quota_backend_bytes 2.147483648e+09\n\
                 # TYPE etcd_server_leader_changes_seen_total counter\netcd_server_leader_changes_seen_total 1\n"
                    .to_string(),
            );
        }
        _ => return ("application/json", String::new()),
    };
    ("application/json", body.to_string())
}
