//! Capability `vitals:check/net`: network probes sent by the host, TCP connect and
//! ARP, to addresses the check's `[grants.net]` allows. The plugin names an IP
//! literal; the host checks it against the granted networks before any packet
//! leaves.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use pnet_datalink::{Channel, MacAddr, NetworkInterface};
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::{MutablePacket, Packet};

use serde_json::{Value, json};

use super::{Capability, RunGrants, at_once, tape_and_linker};
use crate::contract::vitals::check::net::{self as wit, ArpReply, Error, Host};
use crate::tape::{self, Tape};
use vitals_core::config::Check;
use vitals_core::grants::NetGrants;

fn granted(networks: &[IpNetwork], ip: IpAddr, what: &str) -> Result<(), Error> {
    if networks.iter().any(|n| n.contains(ip)) {
        return Ok(());
    }
    let list: Vec<String> = networks.iter().map(|n| n.to_string()).collect();
    Err(Error::Denied(format!(
        "{what} to {ip} is not granted to this check (granted: {})",
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    )))
}

/// The probes of a run.
#[derive(Default)]
pub struct NetGate {
    grants: Arc<NetGrants>,
    tape: Tape,
}

impl NetGate {
    async fn probe_tcp(&self, address: &str) -> Result<f64, Error> {
        let addr: SocketAddr = address.parse().map_err(|_| {
            Error::Denied(format!(
                "{address:?}: expected IP:PORT such as 10.20.0.200:443 or [fd00::1]:443 (no host names)"
            ))
        })?;
        granted(&self.grants.tcp, addr.ip(), "TCP")?;
        let timeout = self.grants.timeout;
        let start = Instant::now();
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Err(_) => Err(Error::Timeout(format!(
                "TCP {addr}: no answer within {timeout:?}"
            ))),
            Ok(Ok(_stream)) => Ok(start.elapsed().as_secs_f64()),
            Ok(Err(e)) => Err(match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    Error::Refused(format!("TCP {addr}: connection refused"))
                }
                std::io::ErrorKind::TimedOut => Error::Timeout(format!("TCP {addr}: {e}")),
                _ => Error::Unreachable(format!("TCP {addr}: {e}")),
            }),
        }
    }

    async fn probe_arp(&self, address: &str) -> Result<Vec<ArpReply>, Error> {
        let ip: IpAddr = address.parse().map_err(|_| {
            Error::Denied(format!(
                "{address:?}: expected an IPv4 address such as 10.20.0.200"
            ))
        })?;
        let IpAddr::V4(ip) = ip else {
            return Err(Error::Denied(format!(
                "{ip}: ARP is for IPv4 addresses (IPv6 neighbour discovery is not supported)"
            )));
        };
        granted(&self.grants.arp, IpAddr::V4(ip), "ARP")?;
        let grants = self.grants.clone();
        tokio::task::spawn_blocking(move || {
            arp_probe(grants.interface.as_deref(), ip, grants.timeout)
        })
        .await
        .map_err(|e| Error::Failed(format!("ARP {ip}: {e}")))?
    }
}

/// The interface to probe `target` from: the named one, or the one up whose IPv4
/// network holds the target.
fn interface_for(name: Option<&str>, target: Ipv4Addr) -> Result<NetworkInterface, Error> {
    let all = pnet_datalink::interfaces();
    match name {
        Some(name) => all.into_iter().find(|i| i.name == name).ok_or_else(|| {
            Error::Failed(format!("ARP {target}: no interface {name:?} (`[grants.net] interface`)"))
        }),
        None => all
            .into_iter()
            .find(|i| {
                i.is_up()
                    && !i.is_loopback()
                    && i.ips
                        .iter()
                        .any(|n| matches!(n, IpNetwork::V4(v4) if v4.contains(target)))
            })
            .ok_or_else(|| {
                Error::Unreachable(format!(
                    "ARP {target}: no interface of this host is on a network holding it; name one with `[grants.net] interface`"
                ))
            }),
    }
}

/// An ARP request for `target`, broadcast from `iface` as `source`.
fn request(mac: MacAddr, source: Ipv4Addr, target: Ipv4Addr) -> [u8; 42] {
    let mut frame = [0u8; 42];
    let mut eth = MutableEthernetPacket::new(&mut frame).expect("42 bytes hold an ARP frame");
    eth.set_destination(MacAddr::broadcast());
    eth.set_source(mac);
    eth.set_ethertype(EtherTypes::Arp);
    let mut arp = MutableArpPacket::new(eth.payload_mut()).expect("28 bytes hold an ARP packet");
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(ArpOperations::Request);
    arp.set_sender_hw_addr(mac);
    arp.set_sender_proto_addr(source);
    arp.set_target_hw_addr(MacAddr::zero());
    arp.set_target_proto_addr(target);
    frame
}

/// The sender's MAC if `frame` is an ARP reply from `target`.
fn reply_from(frame: &[u8], target: Ipv4Addr) -> Option<MacAddr> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let arp = ArpPacket::new(eth.payload())?;
    (arp.get_operation() == ArpOperations::Reply && arp.get_sender_proto_addr() == target)
        .then(|| arp.get_sender_hw_addr())
}

/// Broadcast ARP requests for `target` (at the start and halfway) and collect the
/// replies for `wait`: one per MAC address that answered.
fn arp_probe(
    interface: Option<&str>,
    target: Ipv4Addr,
    wait: Duration,
) -> Result<Vec<ArpReply>, Error> {
    let iface = interface_for(interface, target)?;
    let failed = |what: String| Error::Failed(format!("ARP {target} on {}: {what}", iface.name));
    let mac = iface
        .mac
        .ok_or_else(|| failed("the interface has no MAC address".into()))?;
    let source = iface
        .ips
        .iter()
        .find_map(|n| match n {
            IpNetwork::V4(v4) if v4.contains(target) => Some(v4.ip()),
            _ => None,
        })
        .or_else(|| {
            iface.ips.iter().find_map(|n| match n {
                IpNetwork::V4(v4) => Some(v4.ip()),
                _ => None,
            })
        })
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let config = pnet_datalink::Config {
        read_timeout: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    let (mut tx, mut rx) = match pnet_datalink::channel(&iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
        Ok(_) => return Err(failed("not an Ethernet interface".into())),
        Err(e) => {
            return Err(failed(format!(
                "opening a raw socket: {e} (ARP probes need root or CAP_NET_RAW)"
            )));
        }
    };
    let frame = request(mac, source, target);
    let start = Instant::now();
    let mut sent = 0;
    let mut replies: Vec<ArpReply> = Vec::new();
    while start.elapsed() < wait {
        if sent == 0 || (sent == 1 && start.elapsed() >= wait / 2) {
            match tx.send_to(&frame, None) {
                Some(Ok(())) => sent += 1,
                Some(Err(e)) => return Err(failed(format!("sending: {e}"))),
                None => return Err(failed("sending: no room in the send buffer".into())),
            }
        }
        match rx.next() {
            Ok(frame) => {
                if let Some(from) = reply_from(frame, target) {
                    let from = from.to_string();
                    if !replies.iter().any(|r| r.mac == from) {
                        replies.push(ArpReply {
                            mac: from,
                            seconds: start.elapsed().as_secs_f64(),
                        });
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(failed(format!("receiving: {e}"))),
        }
    }
    Ok(replies)
}

impl Capability for NetGate {
    const NAME: &'static str = "net";

    fn gate(run: &RunGrants<'_>) -> Self {
        NetGate {
            grants: run.check.net_grants.clone(),
            tape: Tape::default(),
        }
    }

    tape_and_linker!();

    /// The granted networks (`[grants.net]`), by probe.
    fn describe(check: &Check) -> Option<Value> {
        let g = &check.net_grants;
        let list = |n: &[IpNetwork]| n.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        Some(json!({"tcp": list(&g.tcp), "arp": list(&g.arp)}))
    }

    fn fingerprint(check: &Check) -> String {
        format!("{:?}", check.net_grants)
    }
}

impl NetGate {
    /// A TCP probe as the plugin asked it: taped as `net.tcp-connect`.
    async fn taped_tcp(&self, address: String) -> Result<f64, Error> {
        let live = self.probe_tcp(&address);
        let request = json!({ "address": address });
        self.tape.call("net.tcp-connect", request, live).await
    }

    /// An ARP probe as the plugin asked it: taped as `net.arp-probe`.
    async fn taped_arp(&self, address: String) -> Result<Vec<ArpReply>, Error> {
        let live = self.probe_arp(&address);
        let request = json!({ "address": address });
        self.tape.call("net.arp-probe", request, live).await
    }
}

impl Host for NetGate {
    async fn tcp_connect(&mut self, address: String) -> Result<f64, Error> {
        self.taped_tcp(address).await
    }

    async fn arp_probe(&mut self, address: String) -> Result<Vec<ArpReply>, Error> {
        self.taped_arp(address).await
    }

    // The batches: each probe taped as a single call, as `all_at_once` does.
    async fn tcp_connect_all(&mut self, addresses: Vec<String>) -> Vec<Result<f64, Error>> {
        let gate = &*self;
        at_once(addresses.into_iter().map(|a| gate.taped_tcp(a))).await
    }

    async fn arp_probe_all(&mut self, addresses: Vec<String>) -> Vec<Result<Vec<ArpReply>, Error>> {
        let gate = &*self;
        at_once(addresses.into_iter().map(|a| gate.taped_arp(a))).await
    }
}

tape::answer!(f64, Error, tape::plain, tape::unplain);
tape::answer!(Vec<ArpReply>, Error, tape::plain, tape::unplain);

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::grants::parse_network;

    fn gate(tcp: &[&str], arp: &[&str]) -> NetGate {
        NetGate {
            grants: Arc::new(NetGrants {
                tcp: tcp.iter().map(|n| parse_network(n).unwrap()).collect(),
                arp: arp.iter().map(|n| parse_network(n).unwrap()).collect(),
                ..NetGrants::default()
            }),
            tape: Tape::default(),
        }
    }

    #[tokio::test]
    async fn only_granted_addresses_are_probed() {
        let g = gate(&["127.0.0.0/8"], &["10.20.0.192/26"]);
        for (addr, why) in [
            ("10.0.0.1:80", "not granted"),
            ("localhost:80", "no host names"),
            ("127.0.0.1", "IP:PORT"),
        ] {
            match g.probe_tcp(addr).await {
                Err(Error::Denied(m)) => assert!(m.contains(why), "{addr}: {m}"),
                other => panic!("{addr}: {other:?}"),
            }
        }
        for (addr, why) in [
            ("10.20.0.1", "(granted: 10.20.0.192/26)"),
            ("fd00::1", "IPv4"),
            ("10.20.0.200:80", "IPv4 address"),
        ] {
            match g.probe_arp(addr).await {
                Err(Error::Denied(m)) => assert!(m.contains(why), "{addr}: {m}"),
                other => panic!("{addr}: {other:?}"),
            }
        }
        assert!(parse_network("10.20.0.0/33").is_err());
        assert!(
            parse_network("10.20.0.5")
                .unwrap()
                .contains("10.20.0.5".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn tcp_connect_reports_refused_and_connected() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let g = gate(&["127.0.0.1"], &[]);
        assert!(g.probe_tcp(&open.to_string()).await.unwrap() >= 0.0);
        drop(listener);
        match g.probe_tcp(&open.to_string()).await {
            Err(Error::Refused(m)) => assert!(m.contains("refused"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arp_frames_round_trip() {
        let mac: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        let target = Ipv4Addr::new(10, 20, 0, 200);
        let frame = request(mac, Ipv4Addr::new(10, 20, 0, 1), target);
        // A request is not a reply.
        assert_eq!(reply_from(&frame, target), None);
        let mut reply = frame;
        {
            let mut eth = MutableEthernetPacket::new(&mut reply).unwrap();
            let mut arp = MutableArpPacket::new(eth.payload_mut()).unwrap();
            arp.set_operation(ArpOperations::Reply);
            arp.set_sender_proto_addr(target);
        }
        assert_eq!(reply_from(&reply, target), Some(mac));
        assert_eq!(reply_from(&reply, Ipv4Addr::new(10, 20, 0, 201)), None);
    }
}
