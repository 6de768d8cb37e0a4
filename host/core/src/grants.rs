//! What a check may reach beyond its endpoints, as plain data read from its
//! `[grants]`: Kubernetes resources, network probes, and where a `kubernetes`
//! endpoint's configuration comes from. The capabilities enforce them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnetwork::IpNetwork;
use serde::Deserialize;

/// Resources never served, whatever the grants say: plugins never see secrets.
pub const NEVER: &[(&str, &str)] = &[("", "secrets")];

/// One `[grants] kubernetes` entry: `resource`, `group/resource` or `group/*`,
/// optionally `@namespace` (only objects in that namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceGrant {
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name, or `*` for every resource of the group.
    pub resource: String,
    pub namespace: Option<String>,
}

impl ResourceGrant {
    /// Parse a grant as written in a check file.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (what, namespace) = match s.split_once('@') {
            Some((w, ns)) if is_name(ns) => (w, Some(ns.to_string())),
            Some((_, ns)) => return Err(format!("{s:?}: invalid namespace {ns:?}")),
            None => (s, None),
        };
        let (group, resource) = match what.rsplit_once('/') {
            Some((g, r)) => (g, r),
            None => ("", what),
        };
        let group_ok = group.is_empty() || group.split('.').all(is_name);
        if !group_ok || !(resource == "*" || is_name(resource)) {
            return Err(format!(
                "{s:?}: expected `resource`, `group/resource` or `group/*`, optionally `@namespace` (e.g. \"nodes\", \"coordination.k8s.io/leases\", \"cilium.io/*\", \"configmaps@kube-system\")"
            ));
        }
        if resource == "*" && group.is_empty() {
            return Err(format!(
                "{s:?}: name the core resources one by one (\"nodes\", \"services\", ...); `*` is for API groups"
            ));
        }
        if NEVER.contains(&(group, resource)) {
            return Err(format!(
                "{s:?}: plugins never read Secrets; the host keeps secrets out of the sandbox"
            ));
        }
        Ok(ResourceGrant {
            group: group.to_string(),
            resource: resource.to_string(),
            namespace,
        })
    }

    /// Whether the grant covers `resource` of `group`, in `namespace` (`None`:
    /// cluster-wide or across namespaces).
    pub fn allows(&self, group: &str, resource: &str, namespace: Option<&str>) -> bool {
        self.group == group
            && (self.resource == "*" || self.resource == resource)
            && !NEVER.contains(&(group, resource))
            && match (&self.namespace, namespace) {
                (None, _) => true,
                (Some(g), Some(n)) => g == n,
                (Some(_), None) => false,
            }
    }
}

impl fmt::Display for ResourceGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        f.write_str(&self.resource)?;
        if let Some(ns) = &self.namespace {
            write!(f, "@{ns}")?;
        }
        Ok(())
    }
}

/// A DNS-1123 label or subdomain segment, as resource, namespace and object names are.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
}

/// Where a `kubernetes` endpoint's configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KubeSource {
    /// A kubeconfig file and, optionally, a context other than its current one.
    Kubeconfig {
        path: PathBuf,
        context: Option<String>,
    },
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token).
    InCluster,
}

impl KubeSource {
    /// The API server URL the source points at, read without connecting; an
    /// error names what is missing (file, context, cluster, server).
    pub fn server_url(&self) -> Result<String, String> {
        match self {
            KubeSource::InCluster => {
                let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
                    "in_cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)"
                        .to_string()
                })?;
                let port =
                    std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                Ok(format!("https://{host}:{port}"))
            }
            KubeSource::Kubeconfig { path, context } => kubeconfig_server(path, context.as_deref()),
        }
    }
}

/// The parts of a kubeconfig that name the API server; the runtime's Kubernetes
/// client reads the whole file (credentials included) itself.
#[derive(Default)]
struct Kubeconfig {
    current_context: Option<String>,
    contexts: Vec<Named<KubeContext>>,
    clusters: Vec<Named<KubeCluster>>,
}

/// One YAML document of a kubeconfig file (a list may be null).
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct KubeconfigDoc {
    #[serde(default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Option<Vec<Named<KubeContext>>>,
    #[serde(default)]
    clusters: Option<Vec<Named<KubeCluster>>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster")]
    context: Option<T>,
}

#[derive(Deserialize)]
struct KubeContext {
    cluster: String,
}

#[derive(Deserialize)]
struct KubeCluster {
    server: Option<String>,
}

/// Every YAML document of a kubeconfig file merged as kubectl and the kube
/// client do: the first current-context, and contexts and clusters by name, the
/// first of a name winning.
fn merged(text: &str) -> Result<Kubeconfig, serde_saphyr::Error> {
    fn add<T>(all: &mut Vec<Named<T>>, more: Option<Vec<Named<T>>>) {
        for item in more.unwrap_or_default() {
            if !all.iter().any(|a| a.name == item.name) {
                all.push(item);
            }
        }
    }
    let mut out = Kubeconfig::default();
    for doc in serde_saphyr::from_multiple::<KubeconfigDoc>(text)? {
        out.current_context = out.current_context.or(doc.current_context);
        add(&mut out.contexts, doc.contexts);
        add(&mut out.clusters, doc.clusters);
    }
    Ok(out)
}

fn kubeconfig_server(path: &Path, context: Option<&str>) -> Result<String, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("kubeconfig {shown}: {e}"))?;
    let kc: Kubeconfig = merged(&text).map_err(|e| format!("kubeconfig {shown}: {e}"))?;
    let name = context
        .map(str::to_string)
        .or(kc.current_context.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("kubeconfig {shown}: no current-context; set `context`"))?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| {
            let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            format!(
                "kubeconfig {shown}: no context {name:?} (contexts: {})",
                known.join(", ")
            )
        })?;
    kc.clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.server.clone())
        .ok_or_else(|| {
            format!(
                "kubeconfig {shown}: context {name:?} names cluster {:?}, which has no server",
                ctx.cluster
            )
        })
}

/// How long a probe waits when `[grants.net]` does not say.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a check may probe (`[grants.net]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetGrants {
    /// Networks the plugin may open TCP connections to.
    pub tcp: Vec<IpNetwork>,
    /// IPv4 networks the plugin may ARP-probe.
    pub arp: Vec<IpNetwork>,
    /// Interface ARP probes go out of; default: the one whose network holds the address.
    pub interface: Option<String>,
    /// TCP connect timeout, and how long an ARP probe listens for replies.
    pub timeout: Duration,
}

impl Default for NetGrants {
    fn default() -> Self {
        NetGrants {
            tcp: Vec::new(),
            arp: Vec::new(),
            interface: None,
            timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}

/// Parse a granted network: a CIDR (`10.20.0.0/24`) or one address.
pub fn parse_network(s: &str) -> Result<IpNetwork, String> {
    s.parse::<IpNetwork>()
        .map_err(|e| format!("{s:?}: expected an address or a CIDR such as 10.20.0.0/24: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: one, user: u}\n- name: b\n  context: {cluster: two, user: u}\nclusters:\n- name: one\n  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: eA==}\n- name: two\n  cluster: {insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\n";

    #[test]
    fn the_server_comes_from_the_current_or_named_context() {
        let f = write(KUBECONFIG);
        let source = |context: Option<&str>| KubeSource::Kubeconfig {
            path: f.path().into(),
            context: context.map(Into::into),
        };
        assert_eq!(source(None).server_url().unwrap(), "https://127.0.0.1:6443");
        let err = source(Some("b")).server_url().unwrap_err();
        assert!(
            err.contains("names cluster \"two\", which has no server"),
            "{err}"
        );
        let err = source(Some("c")).server_url().unwrap_err();
        assert!(err.contains("no context \"c\" (contexts: a, b)"), "{err}");
        let missing = KubeSource::Kubeconfig {
            path: "/nonexistent/kubeconfig".into(),
            context: None,
        };
        assert!(
            missing
                .server_url()
                .unwrap_err()
                .contains("/nonexistent/kubeconfig")
        );
    }

    #[test]
    fn documents_are_merged_and_null_lists_are_empty() {
        let f = write(
            "clusters: null\ncontexts: null\n---\ncurrent-context: b\ncontexts:\n- name: b\n  context: {cluster: two}\n---\ncurrent-context: a\nclusters:\n- name: two\n  cluster: {server: 'https://10.0.0.2:6443'}\n- name: two\n  cluster: {server: 'https://10.0.0.3:6443'}\n",
        );
        let source = KubeSource::Kubeconfig {
            path: f.path().into(),
            context: None,
        };
        assert_eq!(source.server_url().unwrap(), "https://10.0.0.2:6443");
    }

    #[test]
    fn a_kubeconfig_without_current_context_asks_for_one() {
        let f = write("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n");
        let source = KubeSource::Kubeconfig {
            path: f.path().into(),
            context: None,
        };
        assert!(
            source
                .server_url()
                .unwrap_err()
                .contains("no current-context")
        );
    }
}
