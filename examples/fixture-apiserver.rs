//! The tests' fixture Kubernetes API server as a program, for the local demo
//! (`scripts/demo`): it serves the recorded RKE2 + Cilium objects over HTTPS on a
//! free loopback port, writes a kubeconfig for it to the path given, prints the
//! URL, and renews the Leases every two seconds as live kubelets and Cilium agents
//! do, until it is stopped.
//!
//! `cargo run --example fixture-apiserver -- KUBECONFIG`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use support::kubernetes::{ApiServer, ago_micro};

fn main() {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!(
            "usage: fixture-apiserver KUBECONFIG\n\nServes the recorded RKE2 + Cilium objects and writes a kubeconfig for them to KUBECONFIG."
        );
        std::process::exit(2);
    };
    let api = ApiServer::start(ApiServer::rke2_cilium());
    if let Err(e) = std::fs::copy(api.kubeconfig(), &out) {
        eprintln!("fixture-apiserver: writing {}: {e}", out.to_string_lossy());
        std::process::exit(1);
    }
    println!("{}", api.url());
    loop {
        std::thread::sleep(Duration::from_secs(2));
        api.update(|objects| {
            for lease in objects.iter_mut().filter(|o| o["kind"] == "Lease") {
                lease["spec"]["renewTime"] = serde_json::json!(ago_micro(0));
            }
        });
    }
}
