//! DNS queries sent by the host (`dns` capability) to the resolvers of the
//! cluster's granted `dns` endpoints. Every answer comes back with its response
//! code: NXDOMAIN is an [`Answer`], not an [`Error`].

use crate::bindings::vitals::check::dns::{self as wit, Request};
pub use crate::bindings::vitals::check::dns::{Answer, DnsRecord, Error, QueryType};

impl Error {
    /// The message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Self::Denied(m) | Self::Timeout(m) | Self::Unreachable(m) | Self::Failed(m) => m,
        }
    }

    /// The kind as a word: denied, timeout, unreachable, failed.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Denied(_) => "denied",
            Self::Timeout(_) => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Failed(_) => "failed",
        }
    }
}

impl QueryType {
    /// The type by its name (`A`, `aaaa`, `SRV`, ...), if it is one a check may ask.
    pub fn parse(name: &str) -> Option<QueryType> {
        Some(match name.to_ascii_uppercase().as_str() {
            "A" => QueryType::A,
            "AAAA" => QueryType::Aaaa,
            "CNAME" => QueryType::Cname,
            "SRV" => QueryType::Srv,
            "TXT" => QueryType::Txt,
            "PTR" => QueryType::Ptr,
            "NS" => QueryType::Ns,
            "MX" => QueryType::Mx,
            "SOA" => QueryType::Soa,
            _ => return None,
        })
    }

    /// Its name, upper case as in a zone file.
    pub fn name(self) -> &'static str {
        match self {
            QueryType::A => "A",
            QueryType::Aaaa => "AAAA",
            QueryType::Cname => "CNAME",
            QueryType::Srv => "SRV",
            QueryType::Txt => "TXT",
            QueryType::Ptr => "PTR",
            QueryType::Ns => "NS",
            QueryType::Mx => "MX",
            QueryType::Soa => "SOA",
        }
    }
}

impl Answer {
    /// The data of the answer's records of `type_` (`A`, `SRV`, ...): for an
    /// address query, the addresses the name resolves to (after any CNAME).
    pub fn data_of(&self, type_: &str) -> Vec<&str> {
        self.records
            .iter()
            .filter(|r| r.type_.eq_ignore_ascii_case(type_))
            .map(|r| r.data.as_str())
            .collect()
    }
}

/// Ask `url` of the granted dns endpoint `endpoint` for the `query_type`
/// records of `name`.
pub fn query(
    endpoint: &str,
    url: &str,
    name: &str,
    query_type: QueryType,
) -> Result<Answer, Error> {
    wit::query(endpoint, url, name, query_type)
}

/// Several queries at once, each `(endpoint, url, name, type)` as for [`query`]:
/// the answers in the same order, after about the slowest one's time.
pub fn query_all(calls: &[(&str, &str, &str, QueryType)]) -> Vec<Result<Answer, Error>> {
    let requests: Vec<Request> = calls
        .iter()
        .map(|(endpoint, url, name, query_type)| Request {
            endpoint: endpoint.to_string(),
            url: url.to_string(),
            name: name.to_string(),
            query_type: *query_type,
        })
        .collect();
    wit::query_all(&requests)
}
