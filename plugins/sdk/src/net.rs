//! Network probes sent by the host (`net` capability): TCP connect and ARP, to the
//! addresses the check's `[grants.net]` allows.

pub use crate::bindings::vitals::check::net::{ArpReply, Error};

impl Error {
    /// The message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m)
            | Self::Refused(m)
            | Self::Timeout(m)
            | Self::Unreachable(m)
            | Self::Failed(m) => m,
        }
    }

    /// The kind as a word: denied, refused, timeout, unreachable, failed.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::Refused(_) => "refused",
            Self::Timeout(_) => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Failed(_) => "failed",
        }
    }
}

/// Open and close a TCP connection to `address` (`10.20.0.200:443`): the seconds
/// it took.
pub fn tcp_connect(address: &str) -> Result<f64, Error> {
    crate::bindings::vitals::check::net::tcp_connect(address)
}

/// ARP-probe the IPv4 `address`: one reply per MAC address that answered.
pub fn arp_probe(address: &str) -> Result<Vec<ArpReply>, Error> {
    crate::bindings::vitals::check::net::arp_probe(address)
}

/// [`tcp_connect`] of several addresses at once (at most 16 in flight; contract
/// 0.4.4): the answers in the order of `addresses`.
pub fn tcp_connect_all(addresses: &[&str]) -> Vec<Result<f64, Error>> {
    let addresses: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    crate::bindings::vitals::check::net::tcp_connect_all(&addresses)
}

/// [`arp_probe`] of several addresses at once, listening for all of them
/// together (contract 0.4.4): the answers in the order of `addresses`.
pub fn arp_probe_all(addresses: &[&str]) -> Vec<Result<Vec<ArpReply>, Error>> {
    let addresses: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
    crate::bindings::vitals::check::net::arp_probe_all(&addresses)
}
