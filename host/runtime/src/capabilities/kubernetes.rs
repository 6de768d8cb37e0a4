//! Capability `vitals:check/kubernetes`: read-only GET and LIST of Kubernetes API
//! paths against the granted `kubernetes` endpoint, with the credentials of its
//! kubeconfig (or service account) applied by the host through the `kube` client.
//! Deny by default: a path is served only if the check grants its resource.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use serde_json::Value;

use super::{Capability, Granted, RunGrants, is_tls_error, tape_and_linker};
use crate::contract::vitals::check::kubernetes::{
    self as wit, ApiStatus, Error, Host, ListOptions, Read,
};
use crate::tape::{self, Tape};
use vitals_core::allow;
use vitals_core::config::{Check, EndpointKind};
use vitals_core::grants::{KubeSource, ResourceGrant};
use vitals_core::secrets::RedactorBuilder;

/// Largest answer handed to a plugin; larger lists must be paginated.
const MAX_ANSWER: usize = 16 << 20;

/// What a client is built from: the endpoint's source and timeouts.
type ClientKey = (KubeSource, Duration, Duration);

/// The Kubernetes clients of one loaded configuration: one per endpoint source,
/// built on first use and then shared by every run against it (one connection
/// pool). A reloaded configuration gets new ones (kubeconfigs may have changed).
#[derive(Clone, Default)]
pub struct KubeClients(Arc<Mutex<HashMap<ClientKey, Arc<OnceCell<kube::Client>>>>>);

impl KubeClients {
    /// The client of `source`, built once.
    async fn client(
        &self,
        source: &KubeSource,
        connect_timeout: Duration,
        read_timeout: Duration,
    ) -> Result<kube::Client, Error> {
        let cell = self
            .0
            .lock()
            .expect("clients lock")
            .entry((source.clone(), connect_timeout, read_timeout))
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
            let mut config = match source {
                KubeSource::InCluster => kube::Config::incluster()
                    .map_err(|e| Error::Unreachable(format!("in-cluster configuration: {e}")))?,
                KubeSource::Kubeconfig { path, context } => {
                    let kc = Kubeconfig::read_from(path).map_err(|e| {
                        Error::Unreachable(format!("kubeconfig {}: {e}", path.display()))
                    })?;
                    let options = KubeConfigOptions {
                        context: context.clone(),
                        ..Default::default()
                    };
                    kube::Config::from_custom_kubeconfig(kc, &options)
                        .await
                        .map_err(|e| {
                            Error::Unreachable(format!("kubeconfig {}: {e}", path.display()))
                        })?
                }
            };
            config.connect_timeout = Some(connect_timeout);
            config.read_timeout = Some(read_timeout);
            config.write_timeout = Some(read_timeout);
            config.reset_reader_on_write = true;
            // A health check reports what it sees; retrying is the runner's job.
            config.default_retry = false;
            super::kube_client::client(config)
                .map_err(|e| Error::Unreachable(format!("building the client: {e}")))
        })
        .await
        .cloned()
    }
}

/// The service account token a pod's client reads.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Add the credentials a Kubernetes source holds to `secrets` (the kubeconfig's
/// users' tokens and passwords, or the service account's token): an API server,
/// a webhook or a proxy in between could echo them back. Returns the files read.
pub fn add_secrets(source: &KubeSource, secrets: &mut RedactorBuilder) -> Vec<PathBuf> {
    let read = |file: &Path| std::fs::read_to_string(file).ok();
    match source {
        KubeSource::InCluster => {
            let file = PathBuf::from(SERVICE_ACCOUNT_TOKEN);
            if let Some(token) = read(&file) {
                secrets.secret(token.trim());
            }
            vec![file]
        }
        KubeSource::Kubeconfig { path, .. } => {
            let mut files = vec![path.clone()];
            let Ok(kc) = Kubeconfig::read_from(path) else {
                return files; // the client reports it when a run needs it
            };
            for user in kc.auth_infos.iter().filter_map(|u| u.auth_info.as_ref()) {
                if let Some(token) = &user.token {
                    secrets.secret(token.expose_secret());
                }
                if let Some(file) = &user.token_file {
                    let file = PathBuf::from(file);
                    if let Some(token) = read(&file) {
                        secrets.secret(token.trim());
                    }
                    files.push(file);
                }
                if let Some(password) = &user.password {
                    let username = user.username.as_deref().unwrap_or_default();
                    secrets.basic(username, password.expose_secret());
                }
            }
            files
        }
    }
}

/// The kubernetes endpoints of a run and the resources the check grants.
#[derive(Default)]
pub struct KubeGate {
    endpoints: Granted,
    grants: Arc<Vec<ResourceGrant>>,
    clients: KubeClients,
    tape: Tape,
}

impl KubeGate {
    /// Whether `path` may be read with `verb` (`get` or `list`).
    fn authorize(&self, path: &str, verb: &str) -> Result<(), Error> {
        allow::kube_read(&self.grants, path, verb).map_err(Error::Denied)
    }

    async fn request(&self, endpoint: &str, path: &str, query: String) -> Result<String, Error> {
        let ep = self.endpoints.find(endpoint).map_err(Error::Denied)?;
        let source = ep.kube.as_ref().ok_or_else(|| {
            Error::Denied(format!(
                "endpoint {endpoint:?} is not a kubernetes endpoint"
            ))
        })?;
        let client = self
            .clients
            .client(source, ep.connect_timeout, ep.query_timeout)
            .await?;
        let uri = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        let request = ::http::Request::get(&uri)
            .header(::http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| Error::Denied(format!("{uri}: {e}")))?;
        let limit = ep.connect_timeout + ep.query_timeout;
        let text = match tokio::time::timeout(limit, client.request_text(request)).await {
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "GET {uri}: no answer within {limit:?}"
                )));
            }
            Ok(r) => r.map_err(|e| classify(&uri, e))?,
        };
        if text.len() > MAX_ANSWER {
            return Err(Error::Denied(format!(
                "GET {uri}: answer of {} bytes is larger than the {MAX_ANSWER} bytes a plugin may receive; list with a limit and continue",
                text.len()
            )));
        }
        Ok(text)
    }
}

/// Map a client error to the capability's error.
fn classify(uri: &str, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(s) => Error::Api(ApiStatus {
            code: s.code,
            reason: s.reason.clone(),
            message: if s.message.is_empty() {
                format!("GET {uri}: HTTP {}", s.code)
            } else {
                s.message.clone()
            },
        }),
        other => {
            // Classified by the error alone: the path may name anything
            // (`/apis/cert-manager.io/v1/certificates`).
            let chain = error_chain(&other);
            let lower = chain.to_ascii_lowercase();
            let text = format!("GET {uri}: {chain}");
            if lower.contains("timed out") || lower.contains("timeout") {
                Error::Timeout(text)
            } else if is_tls_error(&chain) {
                Error::Tls(text)
            } else {
                Error::Unreachable(text)
            }
        }
    }
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn list_query(o: &ListOptions) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(s) = &o.label_selector {
        q.append_pair("labelSelector", s);
    }
    if let Some(s) = &o.field_selector {
        q.append_pair("fieldSelector", s);
    }
    if let Some(n) = o.limit {
        q.append_pair("limit", &n.to_string());
    }
    if let Some(c) = &o.continue_token {
        q.append_pair("continue", c);
    }
    q.finish()
}

impl Capability for KubeGate {
    const NAME: &'static str = "kubernetes";

    fn gate(run: &RunGrants<'_>) -> Self {
        KubeGate {
            endpoints: Granted::new(run.endpoints, EndpointKind::Kubernetes),
            grants: run.check.kube_grants.clone(),
            clients: run.clients.kube.clone(),
            tape: Tape::default(),
        }
    }

    tape_and_linker!();

    /// The granted resources (`[grants] kubernetes`).
    fn describe(check: &Check) -> Option<Value> {
        let list: Vec<String> = check.kube_grants.iter().map(|g| g.to_string()).collect();
        Some(list.into())
    }

    fn fingerprint(check: &Check) -> String {
        format!("{:?}", check.kube_grants)
    }
}

impl KubeGate {
    /// A GET (`options` none) or LIST of `path`, through the tape: what `get`,
    /// `list` and each read of `batch` do.
    async fn read(
        &self,
        endpoint: String,
        path: String,
        options: Option<ListOptions>,
    ) -> Result<String, Error> {
        match options {
            None => {
                let request = serde_json::json!({"endpoint": endpoint, "path": path});
                let live = async {
                    self.authorize(&path, "get")?;
                    self.request(&endpoint, &path, String::new()).await
                };
                self.tape.call("kubernetes.get", request, live).await
            }
            Some(options) => {
                let query = list_query(&options);
                let request =
                    serde_json::json!({"endpoint": endpoint, "path": path, "query": query});
                let live = async {
                    self.authorize(&path, "list")?;
                    self.request(&endpoint, &path, query.clone()).await
                };
                self.tape.call("kubernetes.list", request, live).await
            }
        }
    }
}

impl Host for KubeGate {
    async fn get(&mut self, endpoint: String, path: String) -> Result<String, Error> {
        self.read(endpoint, path, None).await
    }

    async fn list(
        &mut self,
        endpoint: String,
        path: String,
        options: ListOptions,
    ) -> Result<String, Error> {
        self.read(endpoint, path, Some(options)).await
    }

    async fn batch(&mut self, reads: Vec<Read>) -> Vec<Result<String, Error>> {
        let this = &*self;
        super::at_once(
            reads
                .into_iter()
                .map(|r| this.read(r.endpoint, r.path, r.list)),
        )
        .await
    }
}

tape::answer!(String, Error, tape::json_text, tape::text_json);

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(grants: &[&str]) -> KubeGate {
        KubeGate {
            endpoints: Granted::default(),
            grants: Arc::new(
                grants
                    .iter()
                    .map(|g| ResourceGrant::parse(g).unwrap())
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn grants_parse_and_refuse_secrets() {
        let g = ResourceGrant::parse("coordination.k8s.io/leases@kube-node-lease").unwrap();
        assert_eq!(g.group, "coordination.k8s.io");
        assert_eq!(g.resource, "leases");
        assert_eq!(g.namespace.as_deref(), Some("kube-node-lease"));
        assert_eq!(g.to_string(), "coordination.k8s.io/leases@kube-node-lease");
        assert!(ResourceGrant::parse("cilium.io/*").is_ok());
        for bad in [
            "secrets",
            "secrets@kube-system",
            "*",
            "Nodes",
            "a//b",
            "nodes@",
            "",
        ] {
            assert!(ResourceGrant::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn paths_are_authorized_by_grant() {
        let g = gate(&[
            "nodes",
            "coordination.k8s.io/leases@kube-node-lease",
            "cilium.io/*",
            "configmaps@kube-system",
        ]);
        for (path, verb) in [
            ("/api/v1/nodes", "list"),
            ("/api/v1/nodes/n1", "get"),
            (
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                "list",
            ),
            (
                "/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies",
                "list",
            ),
            ("/apis/cilium.io/v2/ciliumloadbalancerippools/pool", "get"),
            (
                "/api/v1/namespaces/kube-system/configmaps/cilium-config",
                "get",
            ),
            ("/api", "get"),
            ("/apis/cilium.io/v2", "get"),
            ("/version", "get"),
        ] {
            assert!(g.authorize(path, verb).is_ok(), "{verb} {path}");
        }
        for (path, verb) in [
            ("/api/v1/secrets", "list"),
            ("/api/v1/namespaces/kube-system/secrets/x", "get"),
            ("/apis/coordination.k8s.io/v1/leases", "list"),
            (
                "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
                "list",
            ),
            ("/api/v1/configmaps", "list"),
            ("/api/v1/nodes/n1/proxy", "get"),
            ("/api/v1/nodes/n1/status", "get"),
            ("/api/v1/nodes?limit=1", "list"),
            ("/api/v1/nodes/../secrets", "list"),
            ("/api/v1/nodes", "get"),
            ("/api/v1/nodes/n1", "list"),
            ("/api", "list"),
            ("/healthz", "get"),
            ("api/v1/nodes", "list"),
        ] {
            assert!(g.authorize(path, verb).is_err(), "{verb} {path} allowed");
        }
        let Err(Error::Denied(m)) = g.authorize("/api/v1/pods", "list") else {
            panic!("pods allowed")
        };
        assert!(m.contains("pods is not granted"), "{m}");
    }

    #[test]
    fn list_options_become_a_query() {
        let q = list_query(&ListOptions {
            label_selector: Some("a=b,c in (d)".into()),
            field_selector: None,
            limit: Some(100),
            continue_token: Some("eyJ2=".into()),
        });
        assert_eq!(
            q,
            "labelSelector=a%3Db%2Cc+in+%28d%29&limit=100&continue=eyJ2%3D"
        );
    }
}
