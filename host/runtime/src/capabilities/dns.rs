//! Capability `vitals:check/dns`: DNS queries to the resolvers of the granted
//! `dns` endpoints, over UDP (TCP when an answer is truncated), one client per
//! resolver URL for the run. Every answer is handed back with its response code:
//! NXDOMAIN is the resolver's verdict for the check to judge, not an error.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_net::NetError;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::proto::op::{DnsResponse, ResponseCode};
use hickory_net::proto::rr::{DNSClass, Name, RecordType};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use serde_json::json;

use super::{
    Capability, Connections, Returned, RunGrants, all_at_once, no_grants_of_its_own,
    tape_and_linker,
};
use crate::contract::vitals::check::dns::{self as wit, Answer, DnsRecord, Error, Host, QueryType};
use crate::tape::{self, Tape};
use vitals_core::config::EndpointKind;

type DnsClient = Client<TokioRuntimeProvider>;

/// The dns endpoints of a run and a client per resolver URL.
#[derive(Default)]
pub struct DnsGate {
    connections: Connections<DnsClient>,
    tape: Tape,
}

impl DnsGate {
    /// The live call of one query: the URL's client taken out of the gate now,
    /// the question sent when awaited, the client handed back unless it failed.
    fn live(
        &mut self,
        endpoint: &str,
        url: &str,
        name: &str,
        query_type: QueryType,
    ) -> impl Future<Output = Returned<Result<Answer, Error>, DnsClient>> + use<> {
        let to = self.connections.take(endpoint, url);
        let name = parse_name(name);
        async move {
            let (to, name) = match (to, name) {
                (Ok(to), Ok(name)) => (to, name),
                (Err(e), _) | (_, Err(e)) => return (Err(Error::Denied(e)), None),
            };
            let server = match server_address(&to.uri) {
                Ok(a) => a,
                Err(e) => return (Err(Error::Denied(e)), None),
            };
            let (timeout, connect_timeout) =
                (to.endpoint.query_timeout, to.endpoint.connect_timeout);
            let client = to.open.unwrap_or_else(|| udp_client(server, timeout));
            let start = Instant::now();
            let rtype = record_type(query_type);
            let mut reply = client
                .clone()
                .query(name.clone(), DNSClass::IN, rtype)
                .await
                .map_err(|e| classify(server, timeout, e));
            if reply.as_ref().is_ok_and(|r| r.metadata.truncation) {
                reply = tcp_query(server, connect_timeout, timeout, name, rtype).await;
            }
            let seconds = start.elapsed().as_secs_f64();
            match reply {
                Ok(response) => (Ok(answer(&response, seconds)), Some((to.key, client))),
                Err(e) => (Err(e), None),
            }
        }
    }
}

/// `name` as a fully qualified domain name.
fn parse_name(name: &str) -> Result<Name, String> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name:?} is not a domain name"));
    }
    let mut parsed =
        Name::from_str(name).map_err(|e| format!("{name:?} is not a domain name: {e}"))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// The resolver's address of a `dns://IP[:PORT]` URL (port 53 by default).
fn server_address(uri: &http::Uri) -> Result<SocketAddr, String> {
    let host = uri.host().unwrap_or_default();
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("{uri}: the resolver is not an IP address"))?;
    Ok(SocketAddr::new(ip, uri.port_u16().unwrap_or(53)))
}

fn udp_client(server: SocketAddr, timeout: Duration) -> DnsClient {
    let stream = UdpClientStream::builder(server, TokioRuntimeProvider::default())
        .with_timeout(Some(timeout))
        .build();
    let (client, background) = Client::from_sender(stream);
    tokio::spawn(background);
    client
}

/// The same question over TCP, for an answer too large for UDP: connected
/// within `connect_timeout`, answered within `timeout`.
async fn tcp_query(
    server: SocketAddr,
    connect_timeout: Duration,
    timeout: Duration,
    name: Name,
    rtype: RecordType,
) -> Result<DnsResponse, Error> {
    let (connect, sender) = TcpClientStream::new(
        server,
        None,
        Some(connect_timeout),
        TokioRuntimeProvider::default(),
    );
    let connected = match tokio::time::timeout(connect_timeout, connect).await {
        Err(_) => {
            return Err(Error::Timeout(format!(
                "{server}: the TCP connection for a truncated answer: not connected within {connect_timeout:?}"
            )));
        }
        Ok(connected) => connected.map_err(|e| classify(server, timeout, e))?,
    };
    let (mut client, background) =
        Client::<TokioRuntimeProvider>::with_timeout(connected, sender, timeout);
    tokio::spawn(background);
    client
        .query(name, DNSClass::IN, rtype)
        .await
        .map_err(|e| classify(server, timeout, e))
}

fn record_type(t: QueryType) -> RecordType {
    match t {
        QueryType::A => RecordType::A,
        QueryType::Aaaa => RecordType::AAAA,
        QueryType::Cname => RecordType::CNAME,
        QueryType::Srv => RecordType::SRV,
        QueryType::Txt => RecordType::TXT,
        QueryType::Ptr => RecordType::PTR,
        QueryType::Ns => RecordType::NS,
        QueryType::Mx => RecordType::MX,
        QueryType::Soa => RecordType::SOA,
    }
}

/// The response code's mnemonic (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, ...).
fn rcode(code: ResponseCode) -> String {
    match code {
        ResponseCode::Unknown(n) => format!("RCODE{n}"),
        known => format!("{known:?}").to_ascii_uppercase(),
    }
}

fn answer(response: &DnsResponse, seconds: f64) -> Answer {
    Answer {
        rcode: rcode(response.metadata.response_code),
        authoritative: response.metadata.authoritative,
        records: response
            .answers
            .iter()
            .map(|r| DnsRecord {
                name: r.name.to_string(),
                type_: r.record_type().to_string(),
                ttl: r.ttl,
                data: r.data.to_string(),
            })
            .collect(),
        seconds,
    }
}

/// Map a client error to the capability's error.
fn classify(server: SocketAddr, timeout: Duration, e: NetError) -> Error {
    match e {
        NetError::Timeout => Error::Timeout(format!("{server}: no answer within {timeout:?}")),
        NetError::Io(io) => Error::Unreachable(format!("{server}: {io}")),
        other => Error::Failed(format!("{server}: {other}")),
    }
}

impl Capability for DnsGate {
    const NAME: &'static str = "dns";

    fn gate(run: &RunGrants<'_>) -> Self {
        DnsGate {
            connections: Connections::new(run.endpoints, EndpointKind::Dns),
            tape: Tape::default(),
        }
    }

    tape_and_linker!();

    no_grants_of_its_own!();
}

impl Host for DnsGate {
    async fn query(
        &mut self,
        endpoint: String,
        url: String,
        name: String,
        query_type: QueryType,
    ) -> Result<Answer, Error> {
        let request = wit::Request {
            endpoint,
            url,
            name,
            query_type,
        };
        let mut answers = self.query_all(vec![request]).await;
        answers.pop().expect("one answer per request")
    }

    async fn query_all(&mut self, requests: Vec<wit::Request>) -> Vec<Result<Answer, Error>> {
        let calls = requests
            .into_iter()
            .map(|r| {
                let request = json!({
                    "endpoint": r.endpoint,
                    "url": r.url,
                    "name": r.name,
                    "type": record_type(r.query_type).to_string(),
                });
                (
                    request,
                    self.live(&r.endpoint, &r.url, &r.name, r.query_type),
                )
            })
            .collect();
        all_at_once(&self.tape, &mut self.connections, "dns.query", calls).await
    }
}

tape::answer!(Answer, Error, tape::plain, tape::unplain);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_fully_qualified_and_checked() {
        assert_eq!(
            parse_name("kubernetes.default.svc.cluster.local")
                .unwrap()
                .to_string(),
            "kubernetes.default.svc.cluster.local."
        );
        assert_eq!(parse_name("a.example.").unwrap().to_string(), "a.example.");
        assert!(parse_name("").is_err());
        assert!(parse_name("a b.example").is_err());
        let long = format!("{}.example", "x".repeat(64));
        assert!(
            parse_name(&long)
                .unwrap_err()
                .contains("is not a domain name")
        );
    }

    #[test]
    fn resolver_addresses_default_to_port_53() {
        let uri: http::Uri = "dns://10.43.0.10".parse().unwrap();
        assert_eq!(server_address(&uri).unwrap().to_string(), "10.43.0.10:53");
        let uri: http::Uri = "dns://[fd00::a]:5353".parse().unwrap();
        assert_eq!(server_address(&uri).unwrap().to_string(), "[fd00::a]:5353");
    }

    #[test]
    fn response_codes_are_mnemonics() {
        assert_eq!(rcode(ResponseCode::NoError), "NOERROR");
        assert_eq!(rcode(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode(ResponseCode::ServFail), "SERVFAIL");
        assert_eq!(rcode(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode(ResponseCode::Unknown(3841)), "RCODE3841");
    }
}
