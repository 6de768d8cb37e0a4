//! The tests' fixture Kubernetes API server as a program, for the local demo
//! (`scripts/demo`): it serves the recorded RKE2 + Cilium objects and the
//! workloads (Pods, PersistentVolumeClaims, cert-manager Certificates issued 30
//! days ago for 90) over HTTPS on a free loopback port, writes a kubeconfig for it
//! to the path given, prints the URL, and renews the Leases every two seconds as
//! live kubelets and Cilium agents do, until SIGTERM or SIGINT (then it removes
//! its temporary files and exits 0). With VAULT_URLS, it
//! also serves a Vault HA cluster's recorded answers (one active server, two
//! standbys) and writes their URLs there, as a TOML list.
//!
//! `cargo run --bin fixture-apiserver -- KUBECONFIG [VAULT_URLS]` (a binary, not an example:
//! it builds without the benchmarks' dev-dependencies)

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::http_fixture::HttpFixture;
use support::kubernetes::{ApiServer, ago, ago_micro};

fn main() {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!(
            "usage: fixture-apiserver KUBECONFIG\n\nServes the recorded RKE2 + Cilium objects and writes a kubeconfig for them to KUBECONFIG."
        );
        std::process::exit(2);
    };
    let api = ApiServer::start(ApiServer::with_workloads());
    api.update(|objects| {
        for c in objects.iter_mut().filter(|o| o["kind"] == "Certificate") {
            c["status"]["notBefore"] = serde_json::json!(ago(30 * 86400));
            c["status"]["notAfter"] = serde_json::json!(ago(-60 * 86400));
            c["status"]["renewalTime"] = serde_json::json!(ago(-30 * 86400));
        }
    });
    let _vault: Vec<HttpFixture> = match std::env::args_os().nth(2) {
        Some(file) => {
            let servers: Vec<HttpFixture> = ["active", "standby", "standby"]
                .iter()
                .map(|s| HttpFixture::start(vault_state(s)))
                .collect();
            let urls: Vec<String> = servers.iter().map(|s| format!("{:?}", s.url())).collect();
            if let Err(e) = std::fs::write(&file, format!("[{}]\n", urls.join(", "))) {
                eprintln!("fixture-apiserver: writing {}: {e}", file.to_string_lossy());
                std::process::exit(1);
            }
            servers
        }
        None => Vec::new(),
    };
    if let Err(e) = std::fs::copy(api.kubeconfig(), &out) {
        eprintln!("fixture-apiserver: writing {}: {e}", out.to_string_lossy());
        std::process::exit(1);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Handled from before the URL is printed, for whoever stops it on reading it.
    let _runtime = rt.enter();
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    println!("{}", api.url());
    rt.block_on(async {
        let mut renew = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = renew.tick() => api.update(|objects| {
                    for lease in objects.iter_mut().filter(|o| o["kind"] == "Lease") {
                        lease["spec"]["renewTime"] = serde_json::json!(ago_micro(0));
                    }
                }),
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
    });
    // Stopped: the servers and their temporary directories are dropped.
}

/// The recorded answers of a Vault server in `state` (tests/fixtures/vault).
fn vault_state(state: &str) -> std::collections::HashMap<String, (u16, serde_json::Value)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vault/responses.json"
    );
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the Vault fixture"))
            .expect("parse the Vault fixture");
    all[state]
        .as_object()
        .expect("a Vault state")
        .iter()
        .map(|(path, a)| {
            (
                path.clone(),
                (a[0].as_u64().unwrap_or(500) as u16, a[1].clone()),
            )
        })
        .collect()
}
