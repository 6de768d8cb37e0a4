//! Capabilities: the imports of the `check` world, implemented by the host. Each
//! module holds everything about one capability: its gate (what a run was
//! granted, and the run's connections), its linker registration, its record and
//! replay encoding, what `vitals list` shows of its grants and its part of the
//! reload fingerprint. The [`registry!`] line at the end lists them all; nothing
//! else names a capability.

pub mod dns;
pub mod http;
mod kube_client;
pub mod kubernetes;
pub mod log;
pub mod net;
mod protocols;
pub mod redis;
pub mod sql;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::Value;
use wasmtime::component::Linker;
use wasmtime_wasi_http::WasiHttpView;

use crate::tape::Tape;
use vitals_core::config::{Check, Config, Endpoint, EndpointKind};
use vitals_core::grants::KubeSource;
use vitals_core::secrets::{Redactor, RedactorBuilder};

/// What one capability provides; one implementation per module, listed in the
/// registry.
pub trait Capability: Default + Send + 'static {
    /// The interface it implements (`redis` for `vitals:check/redis`).
    const NAME: &'static str;

    /// The gate of one run: what the run is granted, and its per-run state.
    fn gate(run: &RunGrants<'_>) -> Self;

    /// Serve the run's calls through `tape` (live, recording or replaying).
    fn set_tape(&mut self, tape: Tape);

    /// Link the capability's imports to its gate, which `get` reaches in a store.
    fn add_to_linker<T: StoreView>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()>;

    /// What a check grants of this capability beyond its endpoints (`vitals
    /// list`), empty when it grants none; `None` for a capability that has no
    /// grants of its own.
    fn describe(check: &Check) -> Option<Value>;

    /// Everything of a check that this capability's runs depend on beyond its
    /// endpoints, params and limits: a reload that changes it re-runs the check
    /// (empty for a capability that has no grants of its own).
    fn fingerprint(check: &Check) -> String;
}

/// What a run is granted: the gates are built from it.
pub struct RunGrants<'a> {
    pub check: &'a Check,
    pub cluster: &'a str,
    /// The cluster's endpoints the check grants, of every kind.
    pub endpoints: &'a [Arc<Endpoint>],
    pub clients: &'a Clients,
    /// The secrets redacted from every answer.
    pub redactor: &'a Redactor,
}

/// A run's store data, as the capabilities reach it.
pub trait StoreView: WasiHttpView + Send + 'static {
    fn gates(&mut self) -> &mut Gates;
}

/// The connections a loaded configuration's runs share, made afresh for each
/// loaded configuration (a reload may change what they are built from), and the
/// secrets it names.
#[derive(Clone, Default)]
pub struct Clients {
    /// One Kubernetes client per endpoint source.
    pub kube: kubernetes::KubeClients,
    secrets: Arc<Secrets>,
}

impl Clients {
    /// No connections yet, and every secret `config` names.
    pub fn new(config: &Config) -> Clients {
        let mut secrets = Secrets::default();
        for endpoint in config.clusters.values().flat_map(|c| c.endpoints.values()) {
            endpoint.add_secrets(&mut secrets.endpoints);
            if let Some(source) = &endpoint.kube
                && !secrets.kube.contains(source)
            {
                secrets.kube.push(source.clone());
            }
        }
        Clients {
            kube: kubernetes::KubeClients::default(),
            secrets: Arc::new(secrets),
        }
    }

    /// The redactor of every secret the configuration names, as of now: the
    /// endpoints' credentials and those their kubeconfigs (or the pod's service
    /// account) hold.
    pub fn redactor(&self) -> Redactor {
        self.secrets.current()
    }
}

/// Every secret a configuration names, kept current: the files Kubernetes
/// credentials are read from (kube reads them again; a projected service-account
/// token is rotated hourly) are read again when they change.
#[derive(Default)]
struct Secrets {
    endpoints: RedactorBuilder,
    kube: Vec<KubeSource>,
    /// The redactor built, once built.
    current: Mutex<Option<Built>>,
}

/// A redactor, and the files it was built from with their modification times.
type Built = (Vec<(PathBuf, Option<SystemTime>)>, Redactor);

impl Secrets {
    fn current(&self) -> Redactor {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = current
            .as_ref()
            .is_some_and(|(files, _)| files.iter().all(|(path, stamp)| modified(path) == *stamp));
        if !fresh {
            let mut secrets = self.endpoints.clone();
            let mut files = Vec::new();
            for source in &self.kube {
                files.extend(kubernetes::add_secrets(source, &mut secrets));
            }
            let stamps = files
                .into_iter()
                .map(|path| {
                    let stamp = modified(&path);
                    (path, stamp)
                })
                .collect();
            *current = Some((stamps, secrets.build()));
        }
        current
            .as_ref()
            .map(|(_, redactor)| redactor.clone())
            .unwrap_or_default()
    }
}

/// The granted endpoints of one kind, as a capability addresses them: by endpoint
/// name and one of its URLs.
#[derive(Default)]
pub struct Granted(Vec<Arc<Endpoint>>);

impl Granted {
    /// Keep the endpoints of `kind`.
    pub fn new(endpoints: &[Arc<Endpoint>], kind: EndpointKind) -> Self {
        Granted(
            endpoints
                .iter()
                .filter(|e| e.kind == kind)
                .cloned()
                .collect(),
        )
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

    /// The endpoints, in grant order.
    pub fn all(&self) -> &[Arc<Endpoint>] {
        &self.0
    }
}

impl Gates {
    /// Gates that grant nothing (describing a plugin, replaying a cassette),
    /// with log lines tagged with `check` and `cluster`.
    pub fn none(check: &str, cluster: &str) -> Self {
        Gates {
            log: log::LogSink::new(check, cluster),
            ..Default::default()
        }
    }
}

/// A run's connections to the URLs of its granted endpoints of one kind, one per
/// URL, opened on first use and reused for the rest of the run.
pub struct Connections<C> {
    endpoints: Granted,
    open: HashMap<String, C>,
}

impl<C> Default for Connections<C> {
    fn default() -> Self {
        Connections {
            endpoints: Granted::default(),
            open: HashMap::new(),
        }
    }
}

impl<C> Connections<C> {
    /// None open yet, to the granted endpoints of `kind`.
    pub fn new(endpoints: &[Arc<Endpoint>], kind: EndpointKind) -> Self {
        Connections {
            endpoints: Granted::new(endpoints, kind),
            open: HashMap::new(),
        }
    }

    /// The endpoint and URL a plugin names (or why they are not granted), and
    /// the URL's open connection, taken out: [`Connections::put_back`] it after
    /// use unless it broke.
    pub fn take(&mut self, endpoint: &str, url: &str) -> Result<Checkout<C>, String> {
        let (endpoint, uri, key) = self.endpoints.resolve(endpoint, url)?;
        let open = self.open.remove(&key);
        Ok(Checkout {
            endpoint,
            uri,
            key,
            open,
        })
    }

    /// Keep a connection for the next call to the same URL.
    pub fn put_back(&mut self, key: String, connection: C) {
        self.open.insert(key, connection);
    }
}

/// A granted URL and its open connection, if any.
pub struct Checkout<C> {
    pub endpoint: Arc<Endpoint>,
    pub uri: ::http::Uri,
    /// Where [`Connections::put_back`] files the connection.
    pub key: String,
    pub open: Option<C>,
}

/// Calls a batch (`command-all`, `query-all`) sends at once, at most this many in
/// flight together.
pub const MAX_IN_FLIGHT: usize = 16;

/// A batch's calls, at most [`MAX_IN_FLIGHT`] in flight together: their
/// answers in the order of `calls`.
pub async fn at_once<F: Future>(calls: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    use futures_util::StreamExt;
    futures_util::stream::iter(calls)
        .buffered(MAX_IN_FLIGHT)
        .collect()
        .await
}

/// A live call of a connection-per-URL capability: its answer, and the
/// connection to keep for the URL (under its key) unless it broke.
pub type Returned<A, C> = (A, Option<(String, C)>);

/// Send `calls` (each its taped request and its live call) through the tape at
/// once, at most [`MAX_IN_FLIGHT`] together: the answers in the order of
/// `calls`; the connections that still work go back into `connections`. Each is
/// taped as a single `call`, so a cassette does not tell a batch from single calls.
pub async fn all_at_once<A, C, F>(
    tape: &Tape,
    connections: &mut Connections<C>,
    call: &str,
    calls: Vec<(Value, F)>,
) -> Vec<A>
where
    A: crate::tape::Answer,
    F: Future<Output = Returned<A, C>>,
{
    let returned = Mutex::new(Vec::new());
    let answers = at_once(calls.into_iter().map(|(request, live)| {
        let returned = &returned;
        tape.call(call, request, async move {
            let (answer, connection) = live.await;
            returned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(connection);
            answer
        })
    }))
    .await;
    for (key, connection) in returned.into_inner().unwrap_or_else(|e| e.into_inner()) {
        connections.put_back(key, connection);
    }
    answers
}

/// Whether a client library's error message is about TLS (certificates, the
/// handshake, alerts): one word list for every capability.
pub fn is_tls_error(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "ssl",
        "handshake",
        "unknownissuer",
        "alert",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// The [`Capability`] items of a gate that keeps its [`Tape`] in a `tape` field
/// and whose WIT interface module is imported as `wit`: `set_tape` and
/// `add_to_linker` (the WIT `Host` implemented on the gate itself).
macro_rules! tape_and_linker {
    () => {
        fn set_tape(&mut self, tape: $crate::tape::Tape) {
            self.tape = tape;
        }

        fn add_to_linker<T: $crate::capabilities::StoreView>(
            linker: &mut wasmtime::component::Linker<T>,
            get: fn(&mut T) -> &mut Self,
        ) -> wasmtime::Result<()> {
            wit::add_to_linker::<T, wasmtime::component::HasSelf<Self>>(linker, get)
        }
    };
}
use tape_and_linker;

/// The [`Capability`] items of a capability with no grants of its own: it reaches
/// only its granted endpoints (or nothing), which the fingerprint already has.
macro_rules! no_grants_of_its_own {
    () => {
        fn describe(_check: &vitals_core::config::Check) -> Option<serde_json::Value> {
            None
        }

        fn fingerprint(_check: &vitals_core::config::Check) -> String {
            String::new()
        }
    };
}
use no_grants_of_its_own;

/// Declares the capabilities: a run's [`Gates`] (one field per capability) and
/// the functions that go over all of them.
macro_rules! registry {
    ($($field:ident: $gate:ty),* $(,)?) => {
        /// One run's gates, one per capability; `Default` grants nothing.
        #[derive(Default)]
        pub struct Gates {
            $(pub $field: $gate,)*
        }

        impl Gates {
            /// The gates of a run granted what `run` says.
            /// Their calls go to the live systems, with every secret of the loaded
            /// configuration redacted from the answers.
            pub fn new(run: &RunGrants<'_>) -> Self {
                let mut gates = Gates { $($field: <$gate as Capability>::gate(run),)* };
                gates.set_tape(&Tape::live(run.redactor.clone()));
                gates
            }

            /// Serve every capability's calls through `tape`.
            pub fn set_tape(&mut self, tape: &Tape) {
                $(self.$field.set_tape(tape.clone());)*
            }
        }

        /// Link every capability's imports, each to its own gate.
        pub fn add_to_linker<T: StoreView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
            $(<$gate as Capability>::add_to_linker(linker, |s: &mut T| &mut s.gates().$field)?;)*
            Ok(())
        }

        /// What `check` grants beyond its endpoints, by capability (those that
        /// have grants of their own).
        pub fn describe(check: &Check) -> Vec<(&'static str, Value)> {
            let mut out = Vec::new();
            $(if let Some(v) = <$gate as Capability>::describe(check) {
                out.push((<$gate as Capability>::NAME, v));
            })*
            out
        }

        /// Every capability's part of a check's reload fingerprint, each named.
        pub fn fingerprint(check: &Check) -> Vec<(&'static str, String)> {
            vec![$((<$gate as Capability>::NAME, <$gate as Capability>::fingerprint(check))),*]
        }
    };
}

registry! {
    http: http::HttpGate,
    log: log::LogSink,
    redis: redis::RedisGate,
    sql: sql::SqlGate,
    kubernetes: kubernetes::KubeGate,
    net: net::NetGate,
    dns: dns::DnsGate,
}

#[cfg(test)]
mod tests;
