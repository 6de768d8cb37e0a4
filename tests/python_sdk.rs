//! The Python SDK's Kubernetes helpers (sdk/python/vitals_sdk.py), through a
//! test plugin built with componentize-py, against the fixture API server:
//! paged LIST, GET, and the errors a missing object and an ungranted resource raise.

mod support;

use support::kubernetes::ApiServer;
use support::vitals::{ConfigDir, findings, summary};

#[test]
fn kubernetes_helpers_page_get_and_raise_capability_errors() {
    let api = ApiServer::start(ApiServer::rke2_cilium());
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_built("test_py_sdk");
    cfg.check(
        "sdk",
        "plugin = \"test_py_sdk\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"kubernetes\"]\nkubernetes = [\"nodes\", \"configmaps@kube-system\"]\n",
    );
    let (out, r) = cfg.run_check("sdk", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert_eq!(summary(&r), "5 nodes", "{r}");
    let text = findings(&r);
    assert!(
        text.contains(
            "\"nodes\": \"rke2-agent-1 rke2-agent-2 rke2-server-1 rke2-server-2 rke2-server-3\""
        ),
        "{text}"
    );
    assert!(
        text.contains("\"cilium-config\": \"\\\"true\\\"\""),
        "{text}"
    );
    assert!(
        text.contains("\"missing\": \"api 404: api: HTTP 404 NotFound"),
        "{text}"
    );
    assert!(
        text.contains("\"ungranted\": \"denied None: denied:"),
        "{text}"
    );
    // Five nodes two to a page: three LISTs, the later ones continuing.
    let pages: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|p| p.starts_with("/api/v1/nodes?"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[1].contains("continue="), "{pages:?}");
    assert!(
        !api.requests().iter().any(|p| p.contains("secrets")),
        "the ungranted read reached the server"
    );
}
