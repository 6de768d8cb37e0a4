//! Test support: a real DNS server (Debian's `dnsmasq`) on a loopback port,
//! authoritative for `cluster.local` with the records given on its command line
//! (any other name in the zone is NXDOMAIN), and a resolver that never answers.

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use super::process::{Killed, eventually, free_port, spawn_quiet};

/// A running dnsmasq; killed when dropped.
pub struct Dnsmasq {
    /// `dns://127.0.0.1:PORT`.
    pub url: String,
    _child: Killed,
}

impl Dnsmasq {
    /// dnsmasq answering from `records`: dnsmasq options such as
    /// `--host-record=NAME,ADDRESS`, `--srv-host=...`, `--txt-record=...`.
    pub fn start(records: &[&str]) -> Dnsmasq {
        let port = free_port();
        let child = spawn_quiet(
            Command::new("dnsmasq")
                .args([
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--pid-file=",
                    "--user=",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--no-resolv",
                    "--no-hosts",
                    "--local=/cluster.local/",
                ])
                .arg(format!("--port={port}"))
                .args(records),
        );
        // Ready once it listens on TCP too (it opens UDP first).
        eventually(Duration::from_secs(10), Duration::from_millis(50), || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .map_err(|e| format!("dnsmasq on {port}: {e}"))
        });
        Dnsmasq {
            url: format!("dns://127.0.0.1:{port}"),
            _child: child,
        }
    }
}

/// A UDP socket on loopback that reads every question and answers none: a
/// resolver that is down without refusing anything. Closed when dropped.
pub struct Silent {
    /// `dns://127.0.0.1:PORT`.
    pub url: String,
    _socket: UdpSocket,
}

impl Silent {
    pub fn bind() -> Silent {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let url = format!("dns://{}", socket.local_addr().unwrap());
        Silent {
            url,
            _socket: socket,
        }
    }
}
