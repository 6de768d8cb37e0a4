//! The certificates check (a plugin written in JavaScript, built with
//! componentize-js) against the fixture API server serving cert-manager
//! Certificates (tests/fixtures/kubernetes/workloads.json).

mod support;

use serde_json::{Value, json};
use support::kubernetes::{ApiServer, ago};
use support::vitals::{ConfigDir, findings, summary};

const DAY: i64 = 86400;

fn config(api: &ApiServer, params: &str) -> ConfigDir {
    let cfg = ConfigDir::new(&api.endpoint_toml("rke2"));
    cfg.install_built("certificates");
    cfg.check(
        "certs",
        &format!(
            "plugin = \"certificates\"\ntimeout = \"30s\"\n[grants]\nendpoints = [\"kubernetes\"]\nkubernetes = [\"cert-manager.io/certificates\"]\n[params]\n{params}\n"
        ),
    );
    cfg
}

fn certificate<'a>(objects: &'a mut [Value], name: &str) -> &'a mut Value {
    objects
        .iter_mut()
        .find(|o| o["kind"] == "Certificate" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no Certificate {name}"))
}

/// Every Certificate issued 30 days ago for 90 days, renewal due in 30 days.
fn fresh(api: &ApiServer) {
    api.update(|o| {
        for c in o.iter_mut().filter(|o| o["kind"] == "Certificate") {
            c["status"]["notBefore"] = json!(ago(30 * DAY));
            c["status"]["notAfter"] = json!(ago(-60 * DAY));
            c["status"]["renewalTime"] = json!(ago(-30 * DAY));
        }
    });
}

fn expiring_in(api: &ApiServer, name: &str, seconds: i64) {
    api.update(|o| {
        let c = certificate(o, name);
        c["status"]["notAfter"] = json!(ago(-seconds));
        c["status"]["renewalTime"] = json!(ago(-seconds / 2));
    });
}

#[test]
fn ready_certificates_far_from_expiry_are_ok_and_expiry_warns_then_is_critical() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    fresh(&api);
    let (out, r, _) = cfg.record_check("certs", "certificates", "healthy", &[]);
    assert_eq!(r["status"], "ok", "{}\n{}", findings(&r), out.stderr);
    assert_eq!(summary(&r), "3/3 Certificates Ready", "{r}");

    expiring_in(&api, "grafana-tls", 10 * DAY);
    let (_, r, _) = cfg.record_check("certs", "certificates", "expiring-soon", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"certificate monitoring/grafana-tls\": \"expires in 9 days")
            || findings(&r)
                .contains("\"certificate monitoring/grafana-tls\": \"expires in 10 days"),
        "{}",
        findings(&r)
    );
    assert!(summary(&r).contains("1 expiring within 14 days"), "{r}");

    expiring_in(&api, "grafana-tls", DAY);
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(findings(&r).contains("expires in 23h"), "{}", findings(&r));

    expiring_in(&api, "grafana-tls", -3 * DAY);
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("expired 3 days ago"),
        "{}",
        findings(&r)
    );

    // Thresholds are parameters.
    expiring_in(&api, "grafana-tls", 20 * DAY);
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    let strict = config(&api, "warning_days = 30\ncritical_days = 21");
    let (_, r) = strict.run_check("certs", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
}

#[test]
fn not_ready_certificates_are_critical_after_the_issuing_grace() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    fresh(&api);

    // Issuance failed: the ACME order was refused.
    api.update(|o| {
        let c = certificate(o, "orders-api-mtls");
        c["status"]["conditions"] = json!([
            {"type": "Ready", "status": "False", "reason": "Failed", "message": "The certificate request has failed to complete and will be retried: issuer internal-ca is not ready", "lastTransitionTime": ago(3600), "observedGeneration": 1},
            {"type": "Issuing", "status": "False", "reason": "Failed", "message": "The certificate request has failed to complete and will be retried", "lastTransitionTime": ago(3600), "observedGeneration": 1}
        ]);
    });
    let (_, r, _) = cfg.record_check("certs", "certificates", "not-ready", &[]);
    assert_eq!(r["status"], "critical", "{}", findings(&r));
    assert!(
        findings(&r).contains("\"certificate apps/orders-api-mtls\": \"not Ready (orders-api.apps.svc.cluster.local, issuer Issuer/internal-ca): Failed: The certificate request has failed"),
        "{}",
        findings(&r)
    );
    // The summary names the worst problem first, then the context.
    assert!(
        summary(&r).starts_with("certificate apps/orders-api-mtls: not Ready (orders-api.apps.svc.cluster.local, issuer Issuer/internal-ca): Failed")
            && summary(&r).ends_with("; 2/3 Certificates Ready"),
        "{r}"
    );

    // Being issued for a minute: a warning, not yet critical.
    api.update(|o| {
        let c = certificate(o, "orders-api-mtls");
        c["status"]["conditions"] = json!([
            {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist", "lastTransitionTime": ago(60), "observedGeneration": 1},
            {"type": "Issuing", "status": "True", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist", "lastTransitionTime": ago(60), "observedGeneration": 1}
        ]);
    });
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "warning", "{}", findings(&r));
    assert!(
        findings(&r).contains("being issued, not Ready yet for 1m"),
        "{}",
        findings(&r)
    );

    // Only the namespaces asked for.
    let scoped = config(&api, "namespaces = [\"monitoring\", \"ingress\"]");
    let (_, r) = scoped.run_check("certs", &[]);
    assert_eq!(r["status"], "ok", "{}", findings(&r));
    assert_eq!(summary(&r), "2/2 Certificates Ready", "{r}");
}

#[test]
fn cert_manager_missing_or_forbidden_is_unknown() {
    let api = ApiServer::start(ApiServer::with_workloads());
    let cfg = config(&api, "");
    api.fail("/apis/cert-manager.io", Some(404));
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "unknown", "{r}");
    assert!(summary(&r).contains("cert-manager is not installed"), "{r}");
    api.fail("/apis/cert-manager.io", Some(403));
    let (_, r) = cfg.run_check("certs", &[]);
    assert_eq!(r["status"], "unknown", "{r}");
    assert!(summary(&r).contains("HTTP 403"), "{r}");
}
