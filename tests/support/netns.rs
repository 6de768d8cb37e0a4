//! A small network of the test's own: a bridge on this host with two network
//! namespaces plugged into it, each a "host" that answers ARP for the addresses
//! given to it. Removed on drop. Needs root (CAP_NET_ADMIN), as CI has.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A bridge with address `prefix.1/24` and namespaces plugged into it.
pub struct Lab {
    /// The /24's first three octets, e.g. `10.213.7`.
    pub prefix: String,
    bridge: String,
    namespaces: Vec<String>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("running ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    /// A bridge and `hosts` namespaces, each with the addresses (last octets) listed
    /// for it: `&[&[10, 30], &[20, 30]]` gives .10 and .30 to the first and .20 and
    /// .30 to the second (.30 in conflict).
    pub fn start(hosts: &[&[u8]]) -> Lab {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id() % 100_000);
        let prefix = format!("10.213.{}", (std::process::id() + n) % 250 + 1);
        let bridge = format!("vb{id}");
        ip(&["link", "add", &bridge, "type", "bridge"]);
        let mut lab = Lab {
            prefix,
            bridge,
            namespaces: Vec::new(),
        };
        ip(&[
            "addr",
            "add",
            &format!("{}.1/24", lab.prefix),
            "dev",
            &lab.bridge,
        ]);
        ip(&["link", "set", &lab.bridge, "up"]);
        for (k, addrs) in hosts.iter().enumerate() {
            let ns = format!("vitals-{id}-{k}");
            ip(&["netns", "add", &ns]);
            lab.namespaces.push(ns.clone());
            let (outer, inner) = (format!("vh{id}{k}"), format!("vp{id}{k}"));
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ]);
            ip(&["link", "set", &outer, "master", &lab.bridge]);
            ip(&["link", "set", &outer, "up"]);
            ip(&["link", "set", &inner, "netns", &ns]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &ns, "link", "set", &inner, "up"]);
            for a in addrs.iter() {
                ip(&[
                    "-n",
                    &ns,
                    "addr",
                    "add",
                    &format!("{}.{a}/24", lab.prefix),
                    "dev",
                    &inner,
                ]);
            }
        }
        lab
    }

    /// The address `prefix.last`.
    pub fn addr(&self, last: u8) -> String {
        format!("{}.{last}", self.prefix)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
}
