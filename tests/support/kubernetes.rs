//! Test support: a fixture Kubernetes API server.
//!
//! No Kubernetes API server can be installed on the test machines, so this
//! serves recorded objects the way a real one does: HTTPS with a CA made for
//! each server (rcgen), bearer-token authentication, discovery (aggregated
//! `apidiscovery.k8s.io/v2` when asked for, else the legacy `/api`, `/apis`,
//! `/apis/<group>/<version>` lists), GET and LIST with label and field selectors,
//! `limit`/`continue` paging, server-side `Table` printing (what `kubectl get`
//! shows) and `Status` errors. It is read-only: no writes and no watches.
//!
//! Its answers are checked against the real `kubectl` in
//! `tests/kubernetes_fixture.rs`; `kubectl_path()` finds the one that
//! `scripts/install-deps` installs.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use rcgen::ExtendedKeyUsagePurpose;
use serde_json::{Map, Value, json};
use tokio_rustls::TlsAcceptor;

use super::pki::{new_ca, new_leaf};
use super::tls_server;
pub use super::tools::kubectl_path;

/// The recorded cluster, relative to the crate root.
const RKE2_CILIUM_FIXTURE: &str = "tests/fixtures/kubernetes/rke2-cilium.json";
/// What the fixture server says it is (`/version`).
const GIT_VERSION: &str = "v1.33.5+rke2r1";
/// The time the fixture files' backups, snapshots and metrics were written as of: the
/// loader moves every timestamp of theirs ([`FRESH_KINDS`]) by now minus this,
/// so that a snapshot written 4 hours before it is always 4 hours old (names keep
/// the stamps they were recorded with).
pub const FIXTURE_NOW: &str = "2026-12-01T10:00:00Z";
/// The kinds whose times [`FIXTURE_NOW`] moves.
const FRESH_KINDS: &[&str] = &[
    "Schedule",
    "Backup",
    "BackupStorageLocation",
    "ETCDSnapshotFile",
    "NodeMetrics",
    "PodMetrics",
];
/// The cluster name in generated kubeconfigs.
pub const CONTEXT: &str = "rke2-fixture";

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A fixture Kubernetes API server on 127.0.0.1, on its own thread with its
/// own tokio runtime; it stops when dropped.
pub struct ApiServer {
    state: Arc<State>,
    url: String,
    ca_file: PathBuf,
    ca_pem: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    kubeconfigs: AtomicUsize,
    // Declared last: removed after the server thread has stopped.
    dir: tempfile::TempDir,
}

struct State {
    token: String,
    /// Answer `/api` and `/apis` with aggregated discovery when asked.
    aggregated_discovery: AtomicBool,
    store: Mutex<Store>,
    /// (path prefix, HTTP status) pairs set by `fail`.
    failures: Mutex<Vec<(String, u16)>>,
    /// (path prefix, delay) pairs set by `stall`.
    stalls: Mutex<Vec<(String, std::time::Duration)>>,
    requests: Mutex<Vec<String>>,
    /// RBAC in force (`enforce_rbac`): requests outside it get 403.
    rbac: Mutex<Option<Vec<RbacRule>>>,
    /// `verb path` of every request refused by `rbac`.
    forbidden: Mutex<Vec<String>>,
    /// The protocol each connection chose (ALPN: `h2` or `http/1.1`), in order.
    connections: Mutex<Vec<String>>,
}

/// One rule of a ClusterRole (`namespace` None: every namespace and the cluster
/// scope) or of a Role (its namespace only).
#[derive(Debug, Clone)]
struct RbacRule {
    namespace: Option<String>,
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
}

impl RbacRule {
    fn allows(&self, r: &ResourceAccess) -> bool {
        let any = |list: &[String], want: &str| list.iter().any(|x| x == "*" || x == want);
        (self.namespace.is_none() || self.namespace == r.namespace)
            && any(&self.groups, &r.group)
            && any(&self.resources, &r.resource)
            && any(&self.verbs, r.verb)
    }
}

/// What a request asks of the authorizer, as Kubernetes' RBAC sees it.
#[derive(Debug)]
struct ResourceAccess {
    verb: &'static str,
    group: String,
    /// With its subresource, `pods/log`.
    resource: String,
    namespace: Option<String>,
}

impl ResourceAccess {
    /// A resource request (`/api/v1/...`, `/apis/G/V/...`); `None` for discovery
    /// and other non-resource paths (readable by every authenticated user).
    fn of(path: &str, params: &HashMap<String, String>) -> Option<ResourceAccess> {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (group, rest) = match segs.as_slice() {
            ["api", "v1", rest @ ..] => ("", rest),
            ["apis", g, _, rest @ ..] => (*g, rest),
            _ => return None,
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, r @ ..] if !r.is_empty() => (Some(ns.to_string()), r),
            r => (None, r),
        };
        let (resource, named) = match rest {
            [] => return None,
            [r] => (r.to_string(), false),
            [r, _] => (r.to_string(), true),
            [r, _, sub, ..] => (format!("{r}/{sub}"), true),
        };
        let verb = match (named, params.get("watch").map(String::as_str)) {
            (_, Some("true" | "1")) => "watch",
            (true, _) => "get",
            (false, _) => "list",
        };
        Some(ResourceAccess {
            verb,
            group: group.to_string(),
            resource,
            namespace,
        })
    }

    /// The real API server's words for a refusal.
    fn forbidden_message(&self) -> String {
        let scope = match &self.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        format!(
            "{} is forbidden: User \"system:serviceaccount:vitals:vitals\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            self.resource, self.verb, self.resource, self.group
        )
    }
}

struct Store {
    objects: Vec<Value>,
    /// The cluster's current resourceVersion (lists report it).
    resource_version: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ApiServer {
    /// Serve `objects` (full objects with `apiVersion` and `kind`) over HTTPS
    /// on a free 127.0.0.1 port, with a freshly generated CA and a server
    /// certificate for `127.0.0.1` and `localhost`, requiring a bearer token.
    pub fn start(objects: Vec<Value>) -> ApiServer {
        ApiServer::offering(objects, &["h2", "http/1.1"])
    }

    /// [`ApiServer::start`] behind something that speaks HTTP/1.1 only (a
    /// proxy, an older load balancer): ALPN offers `http/1.1` alone.
    pub fn start_http1_only(objects: Vec<Value>) -> ApiServer {
        ApiServer::offering(objects, &["http/1.1"])
    }

    fn offering(objects: Vec<Value>, protocols: &[&str]) -> ApiServer {
        let dir = tempfile::Builder::new()
            .prefix("vitals-kube-apiserver-")
            .tempdir()
            .expect("temp dir for the fixture API server");

        let (ca_pem, issuer) = new_ca("rke2-server-ca@fixture").expect("generating the fixture CA");
        let sans = [
            "127.0.0.1",
            "localhost",
            "kubernetes",
            "kubernetes.default.svc",
        ];
        let (cert_pem, key_pem) = new_leaf(
            &issuer,
            "kube-apiserver",
            sans.iter().map(|s| s.to_string()).collect(),
            &[ExtendedKeyUsagePurpose::ServerAuth],
        )
        .expect("generating a server cert");
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, &ca_pem).expect("writing ca.crt");

        let acceptor = tls_server::acceptor(&cert_pem, &key_pem, protocols);

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();

        let resource_version = objects
            .iter()
            .filter_map(|o| {
                o.pointer("/metadata/resourceVersion")?
                    .as_str()?
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(1000u64)
            + 1;
        let state = Arc::new(State {
            token: new_token(),
            aggregated_discovery: AtomicBool::new(true),
            store: Mutex::new(Store {
                objects,
                resource_version,
            }),
            failures: Mutex::new(Vec::new()),
            stalls: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            rbac: Mutex::new(None),
            forbidden: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        });

        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("kube-apiserver-{port}"))
            .spawn(move || serve(listener, acceptor, thread_state, shutdown_rx))
            .expect("spawning the fixture API server thread");

        ApiServer {
            state,
            url: format!("https://127.0.0.1:{port}"),
            ca_file,
            ca_pem,
            shutdown: Some(shutdown),
            thread: Some(thread),
            kubeconfigs: AtomicUsize::new(0),
            dir,
        }
    }

    /// [`ApiServer::rke2_cilium`] plus the workloads of
    /// `tests/fixtures/kubernetes/workloads.json`: healthy Pods (and a finished
    /// Job's), bound PersistentVolumeClaims, Ready cert-manager Certificates,
    /// passing PolicyReports, a Ready Flux HelmRelease and Kustomization,
    /// CloudNativePG Cluster, Gateway and HTTPRoute, a Velero schedule with recent
    /// Completed backups and an Available storage location, and recent etcd
    /// snapshots of the three servers; and the metrics API's NodeMetrics and
    /// PodMetrics of `tests/fixtures/kubernetes/metrics.json` (metrics.k8s.io/v1beta1,
    /// every node below 30 % CPU and 61 % memory): the demo's healthy cluster.
    pub fn with_workloads() -> Vec<Value> {
        let mut objects = Self::rke2_cilium_and("workloads");
        objects.extend(Self::fixture("metrics"));
        objects
    }

    /// [`ApiServer::rke2_cilium`] plus the Kyverno PolicyReports and
    /// ClusterPolicyReports of `tests/fixtures/kubernetes/policyreports.json`
    /// (wgpolicyk8s.io/v1alpha2): failures in two namespaces, an error, a cluster
    /// report failing.
    pub fn with_policy_reports() -> Vec<Value> {
        Self::rke2_cilium_and("policyreports")
    }

    /// [`ApiServer::rke2_cilium`] plus the objects of
    /// `tests/fixtures/kubernetes/conditions.json`, written from the published
    /// CRD types: Flux HelmReleases and Kustomizations, CloudNativePG Clusters,
    /// Gateway API Gateways and HTTPRoutes, healthy, failing, suspended and
    /// reconciling.
    pub fn with_conditions() -> Vec<Value> {
        Self::rke2_cilium_and("conditions")
    }

    /// [`ApiServer::rke2_cilium`] plus the Velero Schedules, Backups and
    /// BackupStorageLocations and the RKE2 ETCDSnapshotFiles of
    /// `tests/fixtures/kubernetes/backups.json` (velero.io/v1, k3s.cattle.io/v1):
    /// a schedule whose newest backup failed validation (its location
    /// Unavailable), one partially failed behind one in progress, a paused one;
    /// snapshots of three servers as RKE2 writes them, one healthy (with an
    /// on-demand snapshot besides), one whose newest failed, one past its
    /// retention with an older S3 upload failed, and more S3 copies than
    /// etcd-s3-retention. Times are recent, as [`FIXTURE_NOW`] says.
    pub fn with_backups() -> Vec<Value> {
        Self::rke2_cilium_and("backups")
    }

    /// [`ApiServer::rke2_cilium`] plus the objects of
    /// `tests/fixtures/kubernetes/<fixture>.json`.
    fn rke2_cilium_and(fixture: &str) -> Vec<Value> {
        let mut objects = Self::rke2_cilium();
        objects.extend(Self::fixture(fixture));
        objects
    }

    /// The objects of `tests/fixtures/kubernetes/<fixture>.json`, the times of
    /// backups, snapshots and metrics moved to now ([`FIXTURE_NOW`]).
    fn fixture(fixture: &str) -> Vec<Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/kubernetes/{fixture}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut extra: Vec<Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        let shift = now_micros() / 1_000_000 - parse_time(FIXTURE_NOW).unwrap_or(0);
        for obj in extra
            .iter_mut()
            .filter(|o| FRESH_KINDS.contains(&o["kind"].as_str().unwrap_or("")))
        {
            move_times(obj, shift);
        }
        extra
    }

    /// The recorded RKE2 (v1.33.5+rke2r1) + Cilium 1.17 objects from
    /// `tests/fixtures/kubernetes/rke2-cilium.json`, made fresh: every Lease
    /// renewed ~2 s ago (its acquireTime moved back to that if it was later)
    /// and every Node condition's lastHeartbeatTime ~30 s ago.
    pub fn rke2_cilium() -> Vec<Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(RKE2_CILIUM_FIXTURE);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut objects: Vec<Value> = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        let renewed = ago_micro(2);
        let heartbeat = ago(30);
        for obj in &mut objects {
            match obj["kind"].as_str() {
                Some("Lease") => {
                    let spec = &mut obj["spec"];
                    let renewed_at = parse_time(&renewed);
                    let acquired_at = spec["acquireTime"].as_str().and_then(parse_time);
                    if acquired_at.is_some_and(|a| Some(a) > renewed_at) {
                        spec["acquireTime"] = json!(renewed);
                    }
                    spec["renewTime"] = json!(renewed);
                }
                Some("Node") => {
                    if let Some(conds) = obj["status"]["conditions"].as_array_mut() {
                        for c in conds {
                            c["lastHeartbeatTime"] = json!(heartbeat);
                        }
                    }
                }
                _ => {}
            }
        }
        objects
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The server's temp dir (kubeconfigs, the CA, kubectl's cache).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `vitals.toml` table of an endpoint `kubernetes` of `cluster` that reaches
    /// this server through [`ApiServer::kubeconfig`].
    pub fn endpoint_toml(&self, cluster: &str) -> String {
        format!(
            "[clusters.{cluster}.endpoints.kubernetes]\nkind = \"kubernetes\"\nkubeconfig = {:?}\n",
            self.kubeconfig().display().to_string()
        )
    }

    /// A kubeconfig (`<dir>/kubeconfig`) whose current context
    /// `rke2-fixture` reaches this server with the right token.
    pub fn kubeconfig(&self) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        if !path.exists() {
            self.write_kubeconfig(&path, &self.state.token);
        }
        path
    }

    /// Like `kubeconfig` (a new file each call), with `token` as the user's
    /// bearer token.
    pub fn kubeconfig_with_token(&self, token: &str) -> PathBuf {
        let n = self.kubeconfigs.fetch_add(1, AtomicOrdering::Relaxed);
        let path = self.dir.path().join(format!("kubeconfig-{n}"));
        self.write_kubeconfig(&path, token);
        path
    }

    fn write_kubeconfig(&self, path: &Path, token: &str) {
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: {CONTEXT}
  user:
    token: {token}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
current-context: {CONTEXT}
preferences: {{}}
",
            url = self.url,
            ca = BASE64.encode(&self.ca_pem),
            token = yaml_quote(token),
        );
        // Written aside and renamed: a reader never sees half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("writing a kubeconfig");
        std::fs::rename(&tmp, path).expect("renaming a kubeconfig");
    }

    /// A `kubectl --kubeconfig <kubeconfig()>` command, with its cache in the
    /// server's temp dir.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .env("KUBECACHEDIR", self.dir.path().join("kubectl-cache"));
        cmd
    }

    /// `kubectl ARGS` against this server: its stdout; panics with its stderr
    /// (and the requests the server saw) when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl().args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {} (run scripts/install-deps): {e}",
                kubectl_path().display()
            )
        });
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\nrequests: {:#?}",
            String::from_utf8_lossy(&out.stderr),
            self.requests()
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Change the served objects while the server runs. Objects that changed
    /// (or were added) get a new resourceVersion.
    pub fn update(&self, f: impl FnOnce(&mut Vec<Value>)) {
        let mut store = lock(&self.state.store);
        let before: HashMap<String, Value> = store
            .objects
            .iter()
            .map(|o| (object_key(o), without_resource_version(o)))
            .collect();
        f(&mut store.objects);
        store.resource_version += 1;
        let rv = store.resource_version.to_string();
        for obj in &mut store.objects {
            let changed = before
                .get(&object_key(obj))
                .is_none_or(|old| *old != without_resource_version(obj));
            if changed && obj["metadata"].is_object() {
                obj["metadata"]["resourceVersion"] = json!(rv);
            }
        }
    }

    /// A snapshot of the served objects.
    pub fn objects(&self) -> Vec<Value> {
        lock(&self.state.store).objects.clone()
    }

    /// Make requests whose path starts with `prefix` answer `code` with a
    /// `Status` object (e.g. 500, 403) until `fail(prefix, None)`.
    pub fn fail(&self, prefix: &str, code: Option<u16>) {
        let mut failures = lock(&self.state.failures);
        failures.retain(|(p, _)| p != prefix);
        if let Some(code) = code {
            failures.push((prefix.to_string(), code));
        }
    }

    /// Make requests whose path starts with `prefix` wait `delay` before the
    /// answer (a hung API server) until `stall(prefix, None)`.
    pub fn stall(&self, prefix: &str, delay: Option<std::time::Duration>) {
        let mut stalls = lock(&self.state.stalls);
        stalls.retain(|(p, _)| p != prefix);
        if let Some(d) = delay {
            stalls.push((prefix.to_string(), d));
        }
    }

    /// Whether `/api` and `/apis` answer clients that ask for aggregated
    /// discovery (`apidiscovery.k8s.io/v2`, on by default as in 1.33) or
    /// only with the legacy lists, as servers before 1.26 did.
    pub fn set_aggregated_discovery(&self, enabled: bool) {
        self.state
            .aggregated_discovery
            .store(enabled, AtomicOrdering::Relaxed);
    }

    /// Enforce RBAC from now on: the ClusterRoles and Roles in `manifests` (a YAML
    /// stream, e.g. from `vitals rbac`) are the only permissions, as if bound to
    /// the token's user; any other resource request gets 403 Forbidden. Discovery
    /// stays open, as for every authenticated user.
    pub fn enforce_rbac(&self, manifests: &str) {
        let docs: Vec<Value> = serde_saphyr::from_multiple(manifests)
            .unwrap_or_else(|e| panic!("parsing RBAC manifests: {e}\n{manifests}"));
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut rules = Vec::new();
        for doc in &docs {
            let namespace = match doc["kind"].as_str() {
                Some("ClusterRole") => None,
                Some("Role") => Some(
                    doc["metadata"]["namespace"]
                        .as_str()
                        .expect("a Role has a namespace")
                        .to_string(),
                ),
                _ => continue,
            };
            for rule in doc["rules"].as_array().into_iter().flatten() {
                rules.push(RbacRule {
                    namespace: namespace.clone(),
                    groups: strings(&rule["apiGroups"]),
                    resources: strings(&rule["resources"]),
                    verbs: strings(&rule["verbs"]),
                });
            }
        }
        *lock(&self.state.rbac) = Some(rules);
    }

    /// `verb path` of every request that the enforced RBAC refused.
    pub fn forbidden(&self) -> Vec<String> {
        lock(&self.state.forbidden).clone()
    }

    /// Paths (with `?query` when there is one) requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state.requests).clone()
    }

    /// The protocol each connection so far chose (`h2` or `http/1.1`), in order.
    pub fn connections(&self) -> Vec<String> {
        lock(&self.state.connections).clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime for the fixture API server");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    // As Go's servers (the API server) do.
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    let state = state.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let h2 = tls_server::is_h2(&tls);
                        lock(&state.connections).push(if h2 { "h2" } else { "http/1.1" }.to_string());
                        let service = service_fn(move |req: Request<Incoming>| {
                            let delay = lock(&state.stalls)
                                .iter()
                                .find(|(prefix, _)| req.uri().path().starts_with(prefix.as_str()))
                                .map(|(_, d)| *d);
                            let resp = handle(&state, &req);
                            async move {
                                if let Some(d) = delay {
                                    tokio::time::sleep(d).await;
                                }
                                Ok::<_, Infallible>(resp)
                            }
                        });
                        tls_server::serve(tls, service).await;
                    });
                }
            }
        }
    });
    // Dropping the runtime cancels the connections still open.
    drop(rt);
}

fn new_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = nanos ^ ((std::process::id() as u128) << 64);
    format!(
        "fixture-{:032x}",
        mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

fn yaml_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

/// How a resource is printed as a `Table` (what `kubectl get` shows).
#[derive(Clone, Copy)]
enum Printer {
    Namespace,
    Node,
    ConfigMap,
    Service,
    Pod,
    Lease,
    LbIpPool,
    /// A CRD whose only printer column is Age.
    CrdAge,
}

struct Resource {
    group: &'static str,
    /// Served versions, most preferred first.
    versions: &'static [&'static str],
    /// Served but deprecated (answers carry a `Warning` header).
    deprecated: &'static [&'static str],
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    /// Field selector labels the real server accepts for the resource.
    field_labels: &'static [&'static str],
    /// Has a `/status` subresource.
    status: bool,
    /// Custom resource: list items keep their apiVersion and kind.
    crd: bool,
    printer: Printer,
}

const META_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

const RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        field_labels: &["metadata.name", "status.phase"],
        status: true,
        crd: false,
        printer: Printer::Namespace,
    },
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "Node",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        field_labels: &["metadata.name", "spec.unschedulable"],
        status: true,
        crd: false,
        printer: Printer::Node,
    },
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: false,
        printer: Printer::ConfigMap,
    },
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "Service",
        plural: "services",
        singular: "service",
        namespaced: true,
        short_names: &["svc"],
        categories: &["all"],
        field_labels: &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        status: true,
        crd: false,
        printer: Printer::Service,
    },
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        field_labels: &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        status: true,
        crd: false,
        printer: Printer::Pod,
    },
    Resource {
        group: "",
        versions: &["v1"],
        deprecated: &[],
        kind: "PersistentVolumeClaim",
        plural: "persistentvolumeclaims",
        singular: "persistentvolumeclaim",
        namespaced: true,
        short_names: &["pvc"],
        categories: &[],
        field_labels: META_FIELDS,
        status: true,
        crd: false,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "cert-manager.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Certificate",
        plural: "certificates",
        singular: "certificate",
        namespaced: true,
        short_names: &["cert", "certs"],
        categories: &["cert-manager"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "coordination.k8s.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        namespaced: true,
        short_names: &[],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: false,
        printer: Printer::Lease,
    },
    Resource {
        group: "cilium.io",
        versions: &["v2", "v2alpha1"],
        deprecated: &["v2alpha1"],
        kind: "CiliumLoadBalancerIPPool",
        plural: "ciliumloadbalancerippools",
        singular: "ciliumloadbalancerippool",
        namespaced: false,
        short_names: &["ippools", "ippool", "lbippool", "lbippools"],
        categories: &["cilium"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::LbIpPool,
    },
    Resource {
        group: "helm.toolkit.fluxcd.io",
        versions: &["v2"],
        deprecated: &[],
        kind: "HelmRelease",
        plural: "helmreleases",
        singular: "helmrelease",
        namespaced: true,
        short_names: &["hr"],
        categories: &["fluxcd"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "kustomize.toolkit.fluxcd.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Kustomization",
        plural: "kustomizations",
        singular: "kustomization",
        namespaced: true,
        short_names: &["ks"],
        categories: &["fluxcd"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "postgresql.cnpg.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Cluster",
        plural: "clusters",
        singular: "cluster",
        namespaced: true,
        short_names: &[],
        categories: &[],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "gateway.networking.k8s.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Gateway",
        plural: "gateways",
        singular: "gateway",
        namespaced: true,
        short_names: &["gtw"],
        categories: &["gateway-api"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "gateway.networking.k8s.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "HTTPRoute",
        plural: "httproutes",
        singular: "httproute",
        namespaced: true,
        short_names: &[],
        categories: &["gateway-api"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "wgpolicyk8s.io",
        versions: &["v1alpha2"],
        deprecated: &[],
        kind: "PolicyReport",
        plural: "policyreports",
        singular: "policyreport",
        namespaced: true,
        short_names: &["polr"],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "wgpolicyk8s.io",
        versions: &["v1alpha2"],
        deprecated: &[],
        kind: "ClusterPolicyReport",
        plural: "clusterpolicyreports",
        singular: "clusterpolicyreport",
        namespaced: false,
        short_names: &["cpolr"],
        categories: &[],
        field_labels: &["metadata.name"],
        status: false,
        crd: true,
        printer: Printer::CrdAge,
    },
    // metrics-server's aggregated API (what `kubectl top` reads): items of its
    // lists carry no apiVersion and kind, as a built-in type's.
    Resource {
        group: "metrics.k8s.io",
        versions: &["v1beta1"],
        deprecated: &[],
        kind: "NodeMetrics",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        short_names: &[],
        categories: &[],
        field_labels: &["metadata.name"],
        status: false,
        crd: false,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "metrics.k8s.io",
        versions: &["v1beta1"],
        deprecated: &[],
        kind: "PodMetrics",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        short_names: &[],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: false,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "velero.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Schedule",
        plural: "schedules",
        singular: "schedule",
        namespaced: true,
        short_names: &[],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "velero.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "Backup",
        plural: "backups",
        singular: "backup",
        namespaced: true,
        short_names: &[],
        categories: &[],
        field_labels: META_FIELDS,
        status: false,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "velero.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "BackupStorageLocation",
        plural: "backupstoragelocations",
        singular: "backupstoragelocation",
        namespaced: true,
        short_names: &["bsl"],
        categories: &[],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "k3s.cattle.io",
        versions: &["v1"],
        deprecated: &[],
        kind: "ETCDSnapshotFile",
        plural: "etcdsnapshotfiles",
        singular: "etcdsnapshotfile",
        namespaced: false,
        short_names: &[],
        categories: &[],
        field_labels: &["metadata.name"],
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
    Resource {
        group: "cilium.io",
        versions: &["v2alpha1"],
        deprecated: &[],
        kind: "CiliumL2AnnouncementPolicy",
        plural: "ciliuml2announcementpolicies",
        singular: "ciliuml2announcementpolicy",
        namespaced: false,
        short_names: &["l2announcement"],
        categories: &["cilium"],
        field_labels: META_FIELDS,
        status: true,
        crd: true,
        printer: Printer::CrdAge,
    },
];

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

impl Resource {
    fn serves(&self, group: &str, version: &str) -> bool {
        self.group == group && self.versions.contains(&version)
    }

    fn holds(&self, obj: &Value) -> bool {
        let api_version = obj["apiVersion"].as_str().unwrap_or("");
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        group == self.group && obj["kind"].as_str() == Some(self.kind)
    }

    /// `nodes` or `leases.coordination.k8s.io`, as in NotFound messages.
    fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn deprecation_warning(&self, version: &str) -> Option<String> {
        if !self.deprecated.contains(&version) {
            return None;
        }
        let preferred = self
            .versions
            .iter()
            .find(|v| !self.deprecated.contains(v))?;
        Some(format!(
            "{g}/{version} {k} is deprecated; use {g}/{preferred} {k}",
            g = self.group,
            k = self.kind
        ))
    }
}

/// API groups (other than the core group) in discovery order, each with its
/// versions, most preferred first.
fn api_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        let idx = match groups.iter().position(|(g, _)| *g == r.group) {
            Some(i) => i,
            None => {
                groups.push((r.group, Vec::new()));
                groups.len() - 1
            }
        };
        for v in r.versions {
            if !groups[idx].1.contains(v) {
                groups[idx].1.push(v);
            }
        }
    }
    for (_, versions) in &mut groups {
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    }
    groups
}

/// Kubernetes' version ordering: GA > beta > alpha, then by number.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.strip_prefix('v').unwrap_or(v);
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    for (stability, rank) in [("alpha", 1u8), ("beta", 2u8)] {
        if let Some(n) = tail.strip_prefix(stability) {
            return (rank, major, n.parse().unwrap_or(0));
        }
    }
    (3, major, 0)
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Resp = Response<Full<Bytes>>;

fn handle(state: &State, req: &Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    lock(&state.requests).push(if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    });

    if !authorized(&state.token, req.headers()) {
        return status_response(401, "Unauthorized", "Unauthorized", None);
    }
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        return status_response(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            None,
        );
    }
    let failure = lock(&state.failures)
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, code)| *code);
    if let Some(code) = failure {
        return injected_failure(code, &path);
    }

    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some(rules) = lock(&state.rbac).as_ref()
        && let Some(access) = ResourceAccess::of(&path, &params)
        && !rules.iter().any(|r| r.allows(&access))
    {
        lock(&state.forbidden).push(format!("{} {path}", access.verb));
        return status_response(403, "Forbidden", &access.forbidden_message(), None);
    }
    let mut resp = route(state, &path, &params, req.headers());
    if head {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    resp
}

fn authorized(token: &str, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, presented)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && presented.trim() == token
}

fn route(state: &State, path: &str, params: &HashMap<String, String>, headers: &HeaderMap) -> Resp {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let aggregated = state.aggregated_discovery.load(AtomicOrdering::Relaxed);
    match segs.as_slice() {
        ["version"] => json_response(200, &version_info()),
        ["healthz"] | ["livez"] | ["readyz"] => text_response(200, "ok"),
        ["api"] | ["apis"] if aggregated && discovery_v2(headers) => {
            aggregated_discovery(segs[0] == "api")
        }
        ["api"] => json_response(
            200,
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.20.0.11:6443"}
                ],
            }),
        ),
        ["api", "v1"] => json_response(200, &resource_list("", "v1")),
        ["api", "v1", rest @ ..] => resource_request(state, "", "v1", rest, params, headers),
        ["apis"] => {
            let groups: Vec<Value> = api_groups()
                .iter()
                .map(|(g, vs)| api_group(g, vs))
                .collect();
            json_response(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["apis", group] => match api_groups().iter().find(|(g, _)| g == group) {
            Some((g, vs)) => {
                let mut body = api_group(g, vs);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                json_response(200, &body)
            }
            None => page_not_found(),
        },
        ["apis", group, version, rest @ ..] => {
            if !RESOURCES.iter().any(|r| r.serves(group, version)) {
                return page_not_found();
            }
            if rest.is_empty() {
                json_response(200, &resource_list(group, version))
            } else {
                resource_request(state, group, version, rest, params, headers)
            }
        }
        _ => page_not_found(),
    }
}

fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "a4c61f3b1b7d1c9a0f0d7a6ffd94c4e1b45c0b6e",
        "gitTreeState": "clean",
        "buildDate": "2025-09-10T21:47:39Z",
        "goVersion": "go1.24.6 X:boringcrypto",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn api_group(group: &str, versions: &[&str]) -> Value {
    let gvs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": gvs, "preferredVersion": gvs[0].clone()})
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.serves(group, version)) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "list", "watch"],
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get"],
            }));
        }
    }
    let mut list = json!({
        "kind": "APIResourceList",
        "groupVersion": group_version(group, version),
        "resources": resources,
    });
    // The core group's list has no apiVersion; the named groups' lists do.
    if !group.is_empty() {
        list["apiVersion"] = json!("v1");
    }
    list
}

/// Whether the client asks for aggregated discovery (kubectl does first).
fn discovery_v2(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get("accept").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        if parts.next() != Some("application/json") {
            continue;
        }
        let params: HashMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        match params.get("as") {
            None => return false,
            Some(&"APIGroupDiscoveryList")
                if params.get("g") == Some(&"apidiscovery.k8s.io")
                    && params.get("v") == Some(&"v2") =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// `/api` (the core group) or `/apis` (the named groups) as an
/// `apidiscovery.k8s.io/v2` APIGroupDiscoveryList.
fn aggregated_discovery(core: bool) -> Resp {
    let groups: Vec<(&str, Vec<&str>)> = if core {
        vec![("", vec!["v1"])]
    } else {
        api_groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|version| {
                    let resources: Vec<Value> = RESOURCES
                        .iter()
                        .filter(|r| r.serves(group, version))
                        .map(|r| {
                            let kind = json!({"group": group, "version": version, "kind": r.kind});
                            let mut entry = json!({
                                "resource": r.plural,
                                "responseKind": kind,
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": ["get", "list", "watch"],
                            });
                            if !r.short_names.is_empty() {
                                entry["shortNames"] = json!(r.short_names);
                            }
                            if !r.categories.is_empty() {
                                entry["categories"] = json!(r.categories);
                            }
                            if r.status {
                                entry["subresources"] = json!([{
                                    "subresource": "status",
                                    "responseKind": kind,
                                    "verbs": ["get"],
                                }]);
                            }
                            entry
                        })
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut metadata = json!({"creationTimestamp": null});
            if !group.is_empty() {
                metadata["name"] = json!(group);
            }
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    let mut resp = json_response(
        200,
        &json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }),
    );
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        ),
    );
    resp.headers_mut()
        .insert("vary", HeaderValue::from_static("Accept"));
    resp
}

/// `rest` is what follows `/api/v1` or `/apis/<group>/<version>`.
fn resource_request(
    state: &State,
    group: &str,
    version: &str,
    rest: &[&str],
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Resp {
    // `namespaces/<ns>/<plural>...`, except `namespaces/<name>/status` (the
    // Namespace's own subresource).
    let namespaced_path = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, tail) = if namespaced_path {
        (Some(rest[1]), &rest[2..])
    } else {
        (None, rest)
    };
    let (plural, name, sub) = match tail {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return resource_not_found(),
    };
    let Some(res) = RESOURCES
        .iter()
        .find(|r| r.plural == plural && r.serves(group, version))
    else {
        return resource_not_found();
    };
    if namespace.is_some() && !res.namespaced
        || namespace.is_none() && res.namespaced && name.is_some()
        || sub.is_some_and(|s| s != "status" || !res.status)
    {
        return resource_not_found();
    }
    if params.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return status_response(
            405,
            "MethodNotAllowed",
            "the fixture API server does not support watch",
            None,
        );
    }

    let table = table_version(headers);
    let include_object = params
        .get("includeObject")
        .map(String::as_str)
        .unwrap_or("Metadata");
    let mut resp = match name {
        Some(name) => get_one(state, res, version, namespace, name, table, include_object),
        None => list(
            state,
            res,
            version,
            namespace,
            params,
            table,
            include_object,
        ),
    };
    if let Some(warning) = res.deprecation_warning(version) {
        let value = format!("299 - \"{warning}\"");
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert("warning", v);
        }
    }
    resp
}

fn get_one(
    state: &State,
    res: &Resource,
    version: &str,
    namespace: Option<&str>,
    name: &str,
    table: Option<&'static str>,
    include_object: &str,
) -> Resp {
    let store = lock(&state.store);
    let found = store.objects.iter().find(|o| {
        res.holds(o)
            && object_name(o) == name
            && namespace.is_none_or(|ns| object_namespace(o) == ns)
    });
    let Some(obj) = found else {
        let mut details = json!({"name": name, "kind": res.plural});
        if !res.group.is_empty() {
            details["group"] = json!(res.group);
        }
        return status_response(
            404,
            "NotFound",
            &format!("{} \"{name}\" not found", res.qualified_plural()),
            Some(details),
        );
    };
    let obj = present(obj, res, version, false);
    match table {
        Some(tv) => {
            let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"].clone()});
            json_response(200, &build_table(res, &[obj], tv, include_object, meta))
        }
        None => json_response(200, &obj),
    }
}

fn list(
    state: &State,
    res: &Resource,
    version: &str,
    namespace: Option<&str>,
    params: &HashMap<String, String>,
    table: Option<&'static str>,
    include_object: &str,
) -> Resp {
    let label_selector = params
        .get("labelSelector")
        .map(String::as_str)
        .unwrap_or("");
    let field_selector = params
        .get("fieldSelector")
        .map(String::as_str)
        .unwrap_or("");
    let labels = match parse_label_selector(label_selector) {
        Ok(l) => l,
        Err(e) => return status_response(400, "BadRequest", &e, None),
    };
    let fields = match parse_field_selector(field_selector) {
        Ok(f) => f,
        Err(e) => return status_response(400, "BadRequest", &e, None),
    };
    if let Some((key, _, _)) = fields
        .iter()
        .find(|(k, _, _)| !res.field_labels.contains(&k.as_str()))
    {
        return status_response(
            400,
            "BadRequest",
            &format!("field label not supported: {key}"),
            None,
        );
    }
    let limit = match params.get("limit").map(|l| l.parse::<i64>()) {
        None => 0,
        Some(Ok(l)) if l >= 0 => l as usize,
        Some(_) => {
            return status_response(
                400,
                "BadRequest",
                "limit: Invalid value: must be a non-negative integer",
                None,
            );
        }
    };
    let start_after = match params.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => match decode_continue(token) {
            Some(key) => Some(key),
            None => {
                return status_response(
                    400,
                    "BadRequest",
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                    None,
                );
            }
        },
    };

    let store = lock(&state.store);
    let mut items: Vec<&Value> = store
        .objects
        .iter()
        .filter(|o| res.holds(o))
        .filter(|o| namespace.is_none_or(|ns| object_namespace(o) == ns))
        .filter(|o| labels.iter().all(|r| r.matches(o)))
        .filter(|o| {
            fields
                .iter()
                .all(|(k, eq, v)| (field_value(o, k) == *v) == *eq)
        })
        .collect();
    items.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    if let Some(start) = &start_after {
        items.retain(|o| {
            sort_key(o).cmp(&(start.0.as_str(), start.1.as_str())) == Ordering::Greater
        });
    }
    let mut metadata = json!({"resourceVersion": store.resource_version.to_string()});
    if limit > 0 && items.len() > limit {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = sort_key(items[limit - 1]);
        metadata["continue"] = json!(encode_continue(store.resource_version, last));
        // The real server counts what is left only for unfiltered lists.
        if labels.is_empty() && fields.is_empty() {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    let items: Vec<Value> = items
        .into_iter()
        .map(|o| present(o, res, version, true))
        .collect();
    drop(store);

    match table {
        Some(tv) => json_response(200, &build_table(res, &items, tv, include_object, metadata)),
        None => json_response(
            200,
            &json!({
                "kind": format!("{}List", res.kind),
                "apiVersion": group_version(res.group, version),
                "metadata": metadata,
                "items": items,
            }),
        ),
    }
}

/// The object as served at `version`: apiVersion rewritten (a CRD serves
/// the same objects at each of its versions); list items of built-in types
/// carry no apiVersion and kind, as from the real server.
fn present(obj: &Value, res: &Resource, version: &str, in_list: bool) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        if in_list && !res.crd {
            map.remove("apiVersion");
            map.remove("kind");
        } else {
            map.insert(
                "apiVersion".into(),
                json!(group_version(res.group, version)),
            );
            map.insert("kind".into(), json!(res.kind));
        }
    }
    obj
}

fn object_name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

fn object_namespace(o: &Value) -> &str {
    o["metadata"]["namespace"].as_str().unwrap_or("")
}

fn sort_key(o: &Value) -> (&str, &str) {
    (object_namespace(o), object_name(o))
}

fn object_key(o: &Value) -> String {
    format!(
        "{}|{}|{}|{}",
        o["apiVersion"].as_str().unwrap_or(""),
        o["kind"].as_str().unwrap_or(""),
        object_namespace(o),
        object_name(o)
    )
}

fn without_resource_version(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    o
}

/// Opaque to clients, like the real server's: base64 of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"<namespace>/<name>\u0000"}`.
fn encode_continue(rv: u64, last: (&str, &str)) -> String {
    let start = if last.0.is_empty() {
        format!("{}\u{0}", last.1)
    } else {
        format!("{}/{}\u{0}", last.0, last.1)
    };
    BASE64.encode(json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).to_string())
}

fn decode_continue(token: &str) -> Option<(String, String)> {
    let bytes = BASE64.decode(token).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v["v"] != "meta.k8s.io/v1" {
        return None;
    }
    let start = v["start"].as_str()?.trim_end_matches('\u{0}');
    Some(match start.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (String::new(), start.to_string()),
    })
}

/// `Some("v1")` when the client asks for a `meta.k8s.io` Table (as
/// `kubectl get` does for its human-readable output).
fn table_version(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get("accept")?.to_str().ok()?;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if media != "application/json" && media != "*/*" {
            continue;
        }
        let params: HashMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        match (params.get("as"), params.get("g"), params.get("v")) {
            (None, _, _) => return None,
            (Some(&"Table"), Some(&"meta.k8s.io"), Some(&"v1")) => return Some("v1"),
            (Some(&"Table"), Some(&"meta.k8s.io"), Some(&"v1beta1")) => return Some("v1beta1"),
            _ => continue,
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn json_response(code: u16, body: &Value) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn text_response(code: u16, body: &str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn status_body(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    body
}

fn status_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Resp {
    json_response(code, &status_body(code, reason, message, details))
}

/// A path under a known group/version naming no resource.
fn resource_not_found() -> Resp {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

/// Any other unknown path (the real server's mux answers in plain text).
fn page_not_found() -> Resp {
    text_response(404, "404 page not found\n")
}

fn injected_failure(code: u16, path: &str) -> Resp {
    let (reason, message) = match code {
        400 => ("BadRequest", "the server rejected our request for an unknown reason".to_string()),
        401 => ("Unauthorized", "Unauthorized".to_string()),
        403 => (
            "Forbidden",
            format!(
                "forbidden: User \"system:serviceaccount:kube-system:vitals\" cannot get path \"{path}\""
            ),
        ),
        404 => ("NotFound", "the server could not find the requested resource".to_string()),
        405 => (
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".to_string(),
        ),
        409 => ("Conflict", "the server reported a conflict".to_string()),
        410 => (
            "Expired",
            "The provided continue parameter is too old to display a consistent list result."
                .to_string(),
        ),
        422 => ("Invalid", "the server rejected our request due to an error in our request".to_string()),
        429 => ("TooManyRequests", "Too many requests, please try again later.".to_string()),
        500 => (
            "InternalError",
            "Internal error occurred: fixture API server: injected failure".to_string(),
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request".to_string(),
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request".to_string(),
        ),
        _ => ("", "fixture API server: injected failure".to_string()),
    };
    status_response(code, reason, &message, None)
}

// ---------------------------------------------------------------------------
// Tables (server-side printing)
// ---------------------------------------------------------------------------

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of a name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn column(name: &str, ty: &str, priority: u32, description: &str) -> Value {
    let mut c = json!({"name": name, "type": ty, "format": "", "description": description, "priority": priority});
    if name == "Name" {
        c["format"] = json!("name");
    }
    c
}

fn columns(printer: Printer) -> Vec<Value> {
    let name = column("Name", "string", 0, NAME_DESCRIPTION);
    let age = column("Age", "string", 0, AGE_DESCRIPTION);
    match printer {
        Printer::Namespace => vec![
            name,
            column("Status", "string", 0, "The status of the namespace"),
            age,
        ],
        Printer::Node => vec![
            name,
            column("Status", "string", 0, "The status of the node"),
            column("Roles", "string", 0, "The roles of the node"),
            age,
            column(
                "Version",
                "string",
                0,
                "Kubelet Version reported by the node.",
            ),
            column(
                "Internal-IP",
                "string",
                1,
                "List of addresses reachable to the node.",
            ),
            column(
                "External-IP",
                "string",
                1,
                "List of addresses reachable to the node.",
            ),
            column(
                "OS-Image",
                "string",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            column(
                "Kernel-Version",
                "string",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            column(
                "Container-Runtime",
                "string",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        Printer::ConfigMap => vec![
            name,
            column("Data", "string", 0, "Data contains the configuration data."),
            age,
        ],
        Printer::Service => vec![
            name,
            column(
                "Type",
                "string",
                0,
                "type determines how the Service is exposed.",
            ),
            column(
                "Cluster-IP",
                "string",
                0,
                "clusterIP is the IP address of the service and is usually assigned randomly.",
            ),
            column(
                "External-IP",
                "string",
                0,
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            column(
                "Port(s)",
                "string",
                0,
                "The list of ports that are exposed by this service.",
            ),
            age,
            column(
                "Selector",
                "string",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        Printer::Pod => vec![
            name,
            column(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            column(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            column(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            column(
                "IP",
                "string",
                1,
                "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            column(
                "Node",
                "string",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            column(
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            column(
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        Printer::Lease => vec![
            name,
            column(
                "Holder",
                "string",
                0,
                "holderIdentity contains the identity of the holder of a current lease.",
            ),
            age,
        ],
        Printer::LbIpPool => vec![
            name,
            column(
                "Disabled",
                "boolean",
                0,
                "Custom resource definition column (in JSONPath format): .spec.disabled",
            ),
            column(
                "Conflicting",
                "string",
                0,
                "Custom resource definition column (in JSONPath format): .status.conditions[?(@.type==\"cilium.io/PoolConflict\")].status",
            ),
            column(
                "IPs Available",
                "string",
                0,
                "Custom resource definition column (in JSONPath format): .status.conditions[?(@.type==\"cilium.io/IPsAvailable\")].message",
            ),
            column(
                "Age",
                "date",
                0,
                "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp",
            ),
        ],
        Printer::CrdAge => vec![
            name,
            column(
                "Age",
                "date",
                0,
                "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp",
            ),
        ],
    }
}

fn str_or<'a>(v: &'a Value, default: &'a str) -> &'a str {
    v.as_str().filter(|s| !s.is_empty()).unwrap_or(default)
}

fn age(obj: &Value) -> String {
    match obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(parse_time)
    {
        Some(t) => human_duration(now_micros() / 1_000_000 - t),
        None => "<unknown>".to_string(),
    }
}

fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
}

fn cells(printer: Printer, obj: &Value) -> Vec<Value> {
    let name = json!(object_name(obj));
    match printer {
        Printer::Namespace => vec![
            name,
            json!(str_or(&obj["status"]["phase"], "")),
            json!(age(obj)),
        ],
        Printer::Node => {
            let mut status = match condition(obj, "Ready").map(|c| &c["status"]) {
                Some(s) if s == "True" => "Ready".to_string(),
                Some(_) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if obj["spec"]["unschedulable"] == true {
                status.push_str(",SchedulingDisabled");
            }
            let mut roles = BTreeSet::new();
            if let Some(labels) = obj["metadata"]["labels"].as_object() {
                for (k, v) in labels {
                    if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                        if !role.is_empty() {
                            roles.insert(role.to_string());
                        }
                    } else if k == "kubernetes.io/role"
                        && let Some(v) = v.as_str().filter(|v| !v.is_empty())
                    {
                        roles.insert(v.to_string());
                    }
                }
            }
            let roles = if roles.is_empty() {
                "<none>".to_string()
            } else {
                roles.into_iter().collect::<Vec<_>>().join(",")
            };
            let address = |ty: &str| -> String {
                obj["status"]["addresses"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["type"] == ty))
                    .and_then(|x| x["address"].as_str())
                    .unwrap_or("<none>")
                    .to_string()
            };
            let info = &obj["status"]["nodeInfo"];
            vec![
                name,
                json!(status),
                json!(roles),
                json!(age(obj)),
                json!(str_or(&info["kubeletVersion"], "")),
                json!(address("InternalIP")),
                json!(address("ExternalIP")),
                json!(str_or(&info["osImage"], "<unknown>")),
                json!(str_or(&info["kernelVersion"], "<unknown>")),
                json!(str_or(&info["containerRuntimeVersion"], "<unknown>")),
            ]
        }
        Printer::ConfigMap => {
            let count = |k: &str| obj[k].as_object().map_or(0, Map::len);
            vec![
                name,
                json!(count("data") + count("binaryData")),
                json!(age(obj)),
            ]
        }
        Printer::Service => {
            let spec = &obj["spec"];
            let ty = str_or(&spec["type"], "ClusterIP");
            let external_ips: Vec<&str> = spec["externalIPs"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let external = match ty {
                "LoadBalancer" => {
                    let mut ips: Vec<String> = obj["status"]["loadBalancer"]["ingress"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|i| i["ip"].as_str().or(i["hostname"].as_str()))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    ips.extend(external_ips.iter().map(|s| s.to_string()));
                    if ips.is_empty() {
                        "<pending>".to_string()
                    } else {
                        ips.join(",")
                    }
                }
                "ExternalName" => str_or(&spec["externalName"], "<none>").to_string(),
                _ if !external_ips.is_empty() => external_ips.join(","),
                _ => "<none>".to_string(),
            };
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let proto = str_or(&p["protocol"], "TCP");
                            match p["nodePort"].as_i64().filter(|n| *n > 0) {
                                Some(np) => format!("{}:{np}/{proto}", p["port"]),
                                None => format!("{}/{proto}", p["port"]),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ports = if ports.is_empty() {
                "<none>".to_string()
            } else {
                ports.join(",")
            };
            let selector = spec["selector"]
                .as_object()
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_else(|| "<none>".to_string());
            vec![
                name,
                json!(ty),
                json!(str_or(&spec["clusterIP"], "<none>")),
                json!(external),
                json!(ports),
                json!(age(obj)),
                json!(selector),
            ]
        }
        Printer::Pod => {
            let statuses = obj["status"]["containerStatuses"].as_array();
            let total = obj["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses.map_or(0, |s| s.iter().filter(|c| c["ready"] == true).count());
            let restarts: i64 = statuses.map_or(0, |s| {
                s.iter().filter_map(|c| c["restartCount"].as_i64()).sum()
            });
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(str_or(&obj["status"]["phase"], "Unknown")),
                json!(restarts.to_string()),
                json!(age(obj)),
                json!(str_or(&obj["status"]["podIP"], "<none>")),
                json!(str_or(&obj["spec"]["nodeName"], "<none>")),
                json!(str_or(&obj["status"]["nominatedNodeName"], "<none>")),
                json!("<none>"),
            ]
        }
        Printer::Lease => vec![
            name,
            json!(obj["spec"]["holderIdentity"].as_str().unwrap_or("")),
            json!(age(obj)),
        ],
        Printer::LbIpPool => vec![
            name,
            obj["spec"]["disabled"].clone(),
            condition(obj, "cilium.io/PoolConflict").map_or(Value::Null, |c| c["status"].clone()),
            condition(obj, "cilium.io/IPsAvailable").map_or(Value::Null, |c| c["message"].clone()),
            json!(age(obj)),
        ],
        Printer::CrdAge => vec![name, json!(age(obj))],
    }
}

fn build_table(
    res: &Resource,
    objects: &[Value],
    table_version: &str,
    include_object: &str,
    metadata: Value,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = json!({"cells": cells(res.printer, obj)});
            match include_object {
                "None" => {}
                "Object" => {
                    let mut full = obj.clone();
                    if let Some(map) = full.as_object_mut() {
                        map.insert(
                            "apiVersion".into(),
                            json!(group_version(res.group, obj_version(obj, res))),
                        );
                        map.insert("kind".into(), json!(res.kind));
                    }
                    row["object"] = full;
                }
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": format!("meta.k8s.io/{table_version}"),
                        "metadata": obj["metadata"].clone(),
                    });
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{table_version}"),
        "metadata": metadata,
        "columnDefinitions": columns(res.printer),
        "rows": rows,
    })
}

fn obj_version<'a>(obj: &'a Value, res: &Resource) -> &'a str {
    obj["apiVersion"]
        .as_str()
        .and_then(|a| a.rsplit('/').next())
        .filter(|v| res.versions.contains(v))
        .unwrap_or(res.versions[0])
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

#[derive(Debug)]
enum LabelOp {
    Exists,
    DoesNotExist,
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Debug)]
struct Requirement {
    key: String,
    op: LabelOp,
}

impl Requirement {
    fn matches(&self, obj: &Value) -> bool {
        let value = obj["metadata"]["labels"][self.key.as_str()].as_str();
        match &self.op {
            LabelOp::Exists => value.is_some(),
            LabelOp::DoesNotExist => value.is_none(),
            LabelOp::Equals(v) => value == Some(v.as_str()),
            LabelOp::NotEquals(v) => value != Some(v.as_str()),
            LabelOp::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelOp::NotIn(vs) => !value.is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelOp::GreaterThan(n) => value
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            LabelOp::LessThan(n) => value
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Greater,
    Less,
    Open,
    Close,
    Comma,
    End,
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident(s) => s.clone(),
        Token::Not => "!".into(),
        Token::Equals => "=".into(),
        Token::DoubleEquals => "==".into(),
        Token::NotEquals => "!=".into(),
        Token::In => "in".into(),
        Token::NotIn => "notin".into(),
        Token::Greater => ">".into(),
        Token::Less => "<".into(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
        Token::Comma => ",".into(),
        Token::End => "".into(),
    }
}

fn lex_labels(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '!' if next == Some('=') => {
                tokens.push(Token::NotEquals);
                i += 2;
            }
            '!' => {
                tokens.push(Token::Not);
                i += 1;
            }
            '=' if next == Some('=') => {
                tokens.push(Token::DoubleEquals);
                i += 2;
            }
            '=' => {
                tokens.push(Token::Equals);
                i += 1;
            }
            '(' | ')' | ',' | '>' | '<' => {
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ',' => Token::Comma,
                    '>' => Token::Greater,
                    _ => Token::Less,
                });
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"!=(),<>".contains(chars[i])
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                });
            }
        }
    }
    tokens.push(Token::End);
    tokens
}

/// A label selector as the API server parses one (`a=b,c!=d,e in (f,g),!h`).
fn parse_label_selector(s: &str) -> Result<Vec<Requirement>, String> {
    let mut p = Tokens {
        tokens: lex_labels(s),
        pos: 0,
    };
    let mut reqs = Vec::new();
    if *p.peek() == Token::End {
        return Ok(reqs);
    }
    loop {
        reqs.push(
            parse_requirement(&mut p).map_err(|e| format!("unable to parse requirement: {e}"))?,
        );
        match p.next() {
            Token::End => return Ok(reqs),
            Token::Comma => {}
            t => {
                return Err(format!(
                    "unable to parse requirement: found '{}', expected: ',' or 'end of string'",
                    describe(&t)
                ));
            }
        }
    }
}

struct Tokens {
    tokens: Vec<Token>,
    pos: usize,
}

impl Tokens {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }
}

fn parse_requirement(p: &mut Tokens) -> Result<Requirement, String> {
    let found =
        |t: &Token, expected: &str| format!("found '{}', expected: {expected}", describe(t));
    let (key, does_not_exist) = match p.next() {
        Token::Not => match p.next() {
            Token::Ident(k) => (k, true),
            t => return Err(found(&t, "identifier")),
        },
        Token::Ident(k) => (k, false),
        t => return Err(found(&t, "!, identifier, or 'end of string'")),
    };
    validate_key(&key)?;
    if does_not_exist {
        return Ok(Requirement {
            key,
            op: LabelOp::DoesNotExist,
        });
    }
    if matches!(p.peek(), Token::Comma | Token::End) {
        return Ok(Requirement {
            key,
            op: LabelOp::Exists,
        });
    }
    let op = match p.next() {
        t @ (Token::Equals | Token::DoubleEquals | Token::NotEquals) => {
            let value = match p.peek().clone() {
                Token::Ident(v) => {
                    p.next();
                    v
                }
                _ => String::new(),
            };
            validate_value(&value)?;
            if t == Token::NotEquals {
                LabelOp::NotEquals(value)
            } else {
                LabelOp::Equals(value)
            }
        }
        t @ (Token::In | Token::NotIn) => {
            let open = p.next();
            if open != Token::Open {
                return Err(found(&open, "'('"));
            }
            let mut values = Vec::new();
            let mut expect_value = true;
            loop {
                match p.next() {
                    Token::Ident(v) if expect_value => {
                        values.push(v);
                        expect_value = false;
                    }
                    Token::Comma => {
                        if expect_value {
                            values.push(String::new());
                        }
                        expect_value = true;
                    }
                    Token::Close => {
                        if expect_value && !values.is_empty() {
                            values.push(String::new());
                        }
                        break;
                    }
                    t => return Err(found(&t, "',', ')' or identifier")),
                }
            }
            if values.is_empty() {
                return Err("for 'in', 'notin' operators, values set can't be empty".into());
            }
            for v in &values {
                validate_value(v)?;
            }
            if t == Token::In {
                LabelOp::In(values)
            } else {
                LabelOp::NotIn(values)
            }
        }
        t @ (Token::Greater | Token::Less) => {
            let n = match p.next() {
                Token::Ident(v) => v.parse::<i64>().map_err(|_| {
                    format!("for 'Gt', 'Lt' operators, the value must be an integer: {v}")
                })?,
                t => return Err(found(&t, "identifier")),
            };
            if t == Token::Greater {
                LabelOp::GreaterThan(n)
            } else {
                LabelOp::LessThan(n)
            }
        }
        t => return Err(found(&t, "in, notin, =, ==, !=, gt, lt")),
    };
    Ok(Requirement { key, op })
}

fn valid_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn valid_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn validate_key(key: &str) -> Result<(), String> {
    let parts: Vec<&str> = key.split('/').collect();
    let ok = match parts.as_slice() {
        [name] => valid_name_part(name),
        [prefix, name] => valid_dns_subdomain(prefix) && valid_name_part(name),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

fn validate_value(value: &str) -> Result<(), String> {
    if value.is_empty() || valid_name_part(value) {
        Ok(())
    } else {
        Err(format!(
            "values[0][{value}]: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

/// A field selector (`a=b,c!=d`, `\` escapes `,` `=` `\`): (field, equal?, value).
fn parse_field_selector(s: &str) -> Result<Vec<(String, bool, String)>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            ',' => terms.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    terms.push(current);

    let mut out = Vec::new();
    for term in terms {
        let bad = || format!("invalid selector: '{s}'; can't understand '{term}'");
        let chars: Vec<char> = term.chars().collect();
        let mut i = 0;
        let mut split = None;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '!' if chars.get(i + 1) == Some(&'=') => {
                    split = Some((i, 2, false));
                    break;
                }
                '=' if chars.get(i + 1) == Some(&'=') => {
                    split = Some((i, 2, true));
                    break;
                }
                '=' => {
                    split = Some((i, 1, true));
                    break;
                }
                _ => i += 1,
            }
        }
        let (at, len, eq) = split.ok_or_else(bad)?;
        let key: String = chars[..at].iter().collect();
        let raw: String = chars[at + len..].iter().collect();
        if key.trim().is_empty() {
            return Err(bad());
        }
        let mut value = String::new();
        let mut it = raw.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                if let Some(n) = it.next() {
                    value.push(n);
                }
            } else {
                value.push(c);
            }
        }
        out.push((key.trim().to_string(), eq, value));
    }
    Ok(out)
}

/// The value the real server compares a field selector against.
fn field_value(obj: &Value, field: &str) -> String {
    let mut v = obj;
    for part in field.split('.') {
        v = &v[part];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null if matches!(field, "spec.unschedulable" | "spec.hostNetwork") => "false".into(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// RFC 3339 UTC time `secs` seconds before now, to the second
/// (`2026-11-20T09:14:03Z`, as in creationTimestamp or lastHeartbeatTime).
pub fn ago(secs: i64) -> String {
    format_time(now_micros() - secs * 1_000_000, false)
}

/// Like `ago`, with microseconds (`2026-11-20T09:14:03.512345Z`, a
/// MicroTime as in a Lease's renewTime).
pub fn ago_micro(secs: i64) -> String {
    format_time(now_micros() - secs * 1_000_000, true)
}

fn format_time(micros: i64, with_micros: bool) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if with_micros {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    }
}

/// Every RFC 3339 time in `v` moved by `shift` seconds.
fn move_times(v: &mut Value, shift: i64) {
    match v {
        Value::String(s) => {
            if let Some(t) = parse_time(s) {
                *s = format_time((t + shift) * 1_000_000, false);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| move_times(i, shift)),
        Value::Object(map) => map.values_mut().for_each(|i| move_times(i, shift)),
        _ => {}
    }
}

/// Seconds since the epoch of an RFC 3339 time (fractions dropped).
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(char::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// apimachinery's `duration.HumanDuration`, as in the AGE column.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}
