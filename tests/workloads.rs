//! The workloads check (a plugin written in C, built with clang, wasi-libc,
//! wit-bindgen and wasm-tools) against the fixture API server serving Pods and
//! PersistentVolumeClaims (tests/fixtures/kubernetes/workloads.json).

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago};
use support::vitals::{ConfigDir, findings, summary};

fn config(api: &ApiServer, params: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_built("workloads");
    cfg.check(
        "workloads",
        &format!(
            "plugin = \"workloads\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"kubernetes\"]\nkubernetes = [\"pods\", \"persistentvolumeclaims\"]\n[params]\n{params}\n"
        ),
    );
    cfg
}

fn object<'a>(objects: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A copy of the orders-api Pod named `name`, created `age` seconds ago, with
/// `status` (phase, conditions, containerStatuses).
fn new_pod(objects: &mut Vec<Value>, name: &str, age: i64, status: Value) {
    let mut pod = object(objects, "Pod", "orders-api-5f6d8b7c9-m4n2p").clone();
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["uid"] = json!(format!("0000{name}"));
    pod["metadata"]["creationTimestamp"] = json!(ago(age));
    pod["status"] = status;
    objects.push(pod);
}

#[test]
fn running_pods_and_bound_claims_are_ok_and_a_crash_loop_is_critical() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    let (out, r, _) = cfg.record_check("workloads", "workloads", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert_eq!(
        summary(&r),
        "5 Pods: 4 Running, 1 Succeeded; 2/2 PersistentVolumeClaims Bound",
        "{r}"
    );

    api.update(|o| {
        let pod = object(o, "Pod", "orders-api-5f6d8b7c9-t8r6q");
        pod["status"]["conditions"][2]["status"] = json!("False");
        pod["status"]["containerStatuses"][0] = json!({
            "name": "orders-api", "ready": false, "started": false, "restartCount": 7,
            "image": "registry.example.com/shop/orders-api:2.14.1",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=orders-api pod=orders-api-5f6d8b7c9-t8r6q_apps(2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c04)"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(400), "finishedAt": ago(390)}}
        });
    });
    let (_, r, _) = cfg.record_check("workloads", "workloads", "crash-loop", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"pod apps/orders-api-5f6d8b7c9-t8r6q\": \"Running container orders-api CrashLoopBackOff (7 restarts), last exit Error code 1: back-off 5m0s restarting failed container"),
        "{}",
        findings(&r)
    );
    // The summary names the worst problem first, then the context.
    assert!(
        summary(&r).starts_with(
            "pod apps/orders-api-5f6d8b7c9-t8r6q: Running container orders-api CrashLoopBackOff (7 restarts)"
        ) && summary(&r)
            .ends_with("; 5 Pods: 3 Running, 1 Succeeded, 1 not running; 2/2 PersistentVolumeClaims Bound"),
        "{r}"
    );
}

#[test]
fn image_pulls_and_long_pending_pods_are_critical_young_ones_are_not() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "pending_grace_seconds = 300");
    api.update(|o| {
        new_pod(o, "orders-api-7c9d-pull", 60, json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": ago(60)}],
            "containerStatuses": [{"name": "orders-api", "ready": false, "restartCount": 0, "image": "registry.example.com/shop/orders-api:2.15.0",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.example.com/shop/orders-api:2.15.0\""}}}]
        }));
        new_pod(o, "orders-api-7c9d-unsched", 900, json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": ago(900),
                "message": "0/5 nodes are available: 2 Insufficient memory, 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: true}."}]
        }));
        new_pod(o, "orders-api-7c9d-young", 20, json!({
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": ago(20), "message": "0/5 nodes are available"}]
        }));
    });
    let (_, r, _) = cfg.record_check("workloads", "workloads", "pending", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("\"pod apps/orders-api-7c9d-pull\": \"Pending container orders-api ImagePullBackOff: Back-off pulling image"),
        "{text}"
    );
    assert!(
        text.contains("\"pod apps/orders-api-7c9d-unsched\": \"Pending for 15m, not scheduled: Unschedulable: 0/5 nodes are available: 2 Insufficient memory"),
        "{text}"
    );
    assert!(!text.contains("young"), "{text}");
    assert!(summary(&r).contains("1 starting, 2 not running"), "{r}");

    // Only the namespaces asked for.
    let scoped = config(&api, "namespaces = [\"monitoring\", \"ingress\"]");
    let (_, r) = scoped.run_check("workloads", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(
        summary(&r),
        "2 Pods: 2 Running, 0 Succeeded; 1/1 PersistentVolumeClaims Bound",
        "{r}"
    );
}

#[test]
fn claims_lost_or_pending_are_critical_and_unreadable_claims_warn() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    api.update(|o| {
        object(o, "PersistentVolumeClaim", "data-orders-db-0")["status"] = json!({"phase": "Lost"});
        let mut pending = object(o, "PersistentVolumeClaim", "grafana").clone();
        pending["metadata"]["name"] = json!("loki-data");
        pending["metadata"]["creationTimestamp"] = json!(ago(3 * 3600));
        pending["spec"]["volumeName"] = json!(null);
        pending["spec"]["storageClassName"] = json!("fast-ssd");
        pending["status"] = json!({"phase": "Pending"});
        o.push(pending);
    });
    let (_, r, _) = cfg.record_check("workloads", "workloads", "claims", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    let text = findings(&r);
    assert!(
        text.contains("\"pvc apps/data-orders-db-0\": \"Lost: its PersistentVolume pvc-7f8a9b0c-1d2e-4f3a-8b4c-5d6e7f8a9b07 is gone"),
        "{text}"
    );
    assert!(
        text.contains("\"pvc monitoring/loki-data\": \"Pending for 3h: no volume bound (storage class fast-ssd)"),
        "{text}"
    );
    assert!(
        summary(&r).ends_with("; 1/3 PersistentVolumeClaims Bound"),
        "{r}"
    );

    // Claims forbidden by RBAC: the Pods are still judged, and the gap is a warning.
    api.fail("/api/v1/persistentvolumeclaims", Some(403));
    let (_, r) = cfg.run_check("workloads", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("cannot list PersistentVolumeClaims: HTTP 403"),
        "{}",
        findings(&r)
    );
    // Pods unreadable: nothing to judge, unknown.
    api.fail("/api/v1/pods", Some(500));
    let (_, r) = cfg.run_check("workloads", &[]);
    assert_eq!(r["status"], "unknown", "{r}");
    assert!(summary(&r).contains("cannot list Pods: HTTP 500"), "{r}");
}
