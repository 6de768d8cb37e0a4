//! Capabilities: the imports of the `check` world, implemented by the host.

pub mod http;
pub mod kubernetes;
pub mod log;
pub mod net;
pub mod redis;
pub mod sql;

use std::sync::Arc;

use crate::config::{Endpoint, EndpointKind};

/// The granted endpoints of one kind, as a capability addresses them: by endpoint
/// name and one of its URLs.
#[derive(Default)]
pub struct Granted(Vec<Arc<Endpoint>>);

impl Granted {
    /// Keep the endpoints of `kind`.
    pub fn new(endpoints: Vec<Arc<Endpoint>>, kind: EndpointKind) -> Self {
        Granted(endpoints.into_iter().filter(|e| e.kind == kind).collect())
    }

    /// The endpoint a plugin names, or why it is not granted.
    pub fn find(&self, endpoint: &str) -> Result<Arc<Endpoint>, String> {
        self.0
            .iter()
            .find(|e| e.name == endpoint)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no {} endpoint {endpoint:?} is granted to this check",
                    self.0.first().map_or("such", |e| e.kind.as_str())
                )
            })
    }

    /// The endpoint and URL a plugin names, and a key for the URL's connection;
    /// or why they are not granted.
    pub fn resolve(
        &self,
        endpoint: &str,
        url: &str,
    ) -> Result<(Arc<Endpoint>, ::http::Uri, String), String> {
        let ep = self.find(endpoint)?;
        let wanted = url.trim_end_matches('/');
        let uri = ep
            .urls
            .iter()
            .find(|u| u.to_string().trim_end_matches('/') == wanted)
            .ok_or_else(|| format!("{url:?} is not a URL of endpoint {endpoint:?}"))?;
        Ok((ep.clone(), uri.clone(), format!("{endpoint}\n{wanted}")))
    }
}
