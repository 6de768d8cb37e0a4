//! The judgement of the `conditions` check, without I/O.

use serde::Deserialize;
use serde_json::Value;
use vitals_plugin::kubernetes::parse_time;
use vitals_plugin::{Report, ReportBuilder, Status};

/// The check's parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    pub api_version: String,
    pub resource: String,
    #[serde(default)]
    pub namespaces: Vec<String>,
    pub label_selector: Option<String>,
    #[serde(default = "default_conditions")]
    pub conditions: Vec<String>,
    #[serde(default = "default_conditions_at")]
    pub conditions_at: String,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default = "default_grace")]
    pub grace_seconds: f64,
    pub suspended_at: Option<String>,
    #[serde(default)]
    pub equal: Vec<(String, String)>,
    pub fresh_at: Option<String>,
    #[serde(default = "default_fresh")]
    pub fresh_seconds: f64,
}

fn default_endpoint() -> String {
    "kubernetes".into()
}
fn default_conditions() -> Vec<String> {
    vec!["Ready".into()]
}
fn default_conditions_at() -> String {
    "/status/conditions".into()
}
fn default_status() -> String {
    "critical".into()
}
fn default_grace() -> f64 {
    300.0
}
fn default_fresh() -> f64 {
    86400.0
}

impl Params {
    /// Parameters that cannot work, named.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_version.is_empty() || self.api_version.matches('/').count() > 1 {
            return Err(format!(
                "api_version {:?}: expected \"v1\" or \"GROUP/VERSION\"",
                self.api_version
            ));
        }
        let name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        if !name(&self.resource) {
            return Err(format!(
                "resource {:?}: expected a plural name such as \"helmreleases\"",
                self.resource
            ));
        }
        if let Some(bad) = self.namespaces.iter().find(|n| !name(n)) {
            return Err(format!("namespaces: {bad:?} is not a namespace name"));
        }
        if self.status != "critical" && self.status != "warning" {
            return Err(format!(
                "status {:?}: expected \"critical\" or \"warning\"",
                self.status
            ));
        }
        let pointers = [
            Some(&self.conditions_at),
            self.suspended_at.as_ref(),
            self.fresh_at.as_ref(),
        ];
        let pairs = self.equal.iter().flat_map(|(a, b)| [a, b]);
        if let Some(bad) = pointers
            .into_iter()
            .flatten()
            .chain(pairs)
            .find(|p| !p.starts_with('/'))
        {
            return Err(format!("{bad:?} is not a JSON pointer (it starts with /)"));
        }
        if self.conditions.is_empty() && self.equal.is_empty() && self.fresh_at.is_none() {
            return Err("nothing to judge: give conditions, equal or fresh_at".into());
        }
        Ok(())
    }

    /// The collections to list: every namespace at once, or each given one.
    pub fn paths(&self) -> Vec<String> {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        if self.namespaces.is_empty() {
            return vec![format!("{base}/{}", self.resource)];
        }
        self.namespaces
            .iter()
            .map(|ns| format!("{base}/namespaces/{ns}/{}", self.resource))
            .collect()
    }

    fn failing(&self) -> Status {
        if self.status == "warning" {
            Status::Warning
        } else {
            Status::Critical
        }
    }
}

/// The values at `pointer` in `v`; a `*` segment takes every element of an array.
fn at<'a>(v: &'a Value, pointer: &str) -> Vec<&'a Value> {
    match pointer.split_once("/*") {
        None => v.pointer(pointer).into_iter().collect(),
        Some((head, tail)) => {
            let items = v.pointer(head).and_then(Value::as_array);
            items
                .into_iter()
                .flatten()
                .flat_map(|item| at(item, tail))
                .collect()
        }
    }
}

/// `namespace/name`, or `name` for a cluster-scoped object.
fn subject(obj: &Value) -> String {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// What is wrong with one object's conditions, fields and timestamp, if anything.
fn problems(params: &Params, obj: &Value, now: f64) -> Vec<String> {
    let mut out = Vec::new();
    let lists = at(obj, &params.conditions_at);
    if lists.is_empty() && !params.conditions.is_empty() {
        out.push(format!("no conditions at {}", params.conditions_at));
    }
    for (i, list) in lists.iter().enumerate() {
        let of = if lists.len() > 1 {
            format!(" (#{})", i + 1)
        } else {
            String::new()
        };
        for wanted in &params.conditions {
            let cond = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(wanted.as_str()));
            match cond {
                None => out.push(format!("no {wanted} condition{of}")),
                Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {}
                Some(c) => {
                    let status = c.get("status").and_then(Value::as_str).unwrap_or("Unknown");
                    let reason = c.get("reason").and_then(Value::as_str).unwrap_or("");
                    let message = c.get("message").and_then(Value::as_str).unwrap_or("");
                    let mut line = format!("{wanted}={status}{of}");
                    if !reason.is_empty() {
                        line.push_str(&format!(" ({reason})"));
                    }
                    if !message.is_empty() {
                        line.push_str(&format!(": {message}"));
                    }
                    out.push(line);
                }
            }
        }
    }
    for (a, b) in &params.equal {
        let (va, vb) = (obj.pointer(a), obj.pointer(b));
        if va != vb || va.is_none() {
            out.push(format!("{a} is {} but {b} is {}", text(va), text(vb)));
        }
    }
    if let Some(p) = &params.fresh_at {
        match obj.pointer(p).and_then(Value::as_str).and_then(parse_time) {
            None => out.push(format!("no timestamp at {p}")),
            Some(t) if now - t > params.fresh_seconds => out.push(format!(
                "{p} is {:.0} s old (more than {:.0} s)",
                now - t,
                params.fresh_seconds
            )),
            Some(_) => {}
        }
    }
    out
}

/// Created, or changed and not yet reconciled, within the grace: seconds ago.
fn reconciling(params: &Params, obj: &Value, now: f64) -> Option<String> {
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_time);
    if let Some(t) = created.filter(|t| now - t < params.grace_seconds) {
        return Some(format!("created {:.0} s ago", now - t));
    }
    let generation = obj
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)?;
    let observed = obj
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)?;
    if observed >= generation {
        return None;
    }
    // Since when: the newest transition of its conditions, the best clue there is.
    let changed = at(obj, &params.conditions_at)
        .into_iter()
        .flat_map(|l| l.as_array().into_iter().flatten())
        .filter_map(|c| {
            c.get("lastTransitionTime")
                .and_then(Value::as_str)
                .and_then(parse_time)
        })
        .fold(f64::NEG_INFINITY, f64::max);
    (now - changed < params.grace_seconds || !changed.is_finite())
        .then(|| format!("generation {generation} not yet observed (status has {observed})"))
}

/// Judge every object.
pub fn assess(params: &Params, objects: &[Value], now: f64) -> Report {
    let mut r = ReportBuilder::new();
    let (mut good, mut suspended) = (0, 0);
    for obj in objects {
        let who = subject(obj);
        let is_suspended = params
            .suspended_at
            .as_ref()
            .and_then(|p| obj.pointer(p))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if is_suspended {
            suspended += 1;
            r.note(who, Status::Ok, "suspended: not judged");
            continue;
        }
        let wrong = problems(params, obj, now);
        if wrong.is_empty() {
            good += 1;
            continue;
        }
        let (status, message) = match reconciling(params, obj, now) {
            Some(why) => (
                Status::Warning,
                format!("reconciling ({why}): {}", wrong.join("; ")),
            ),
            None => (params.failing(), wrong.join("; ")),
        };
        r.finding(&who, status, message);
    }
    let total = objects.len();
    r.sample(
        "objects",
        "Objects judged (suspended ones included)",
        total as f64,
        &[],
    );
    r.sample(
        "objects_ok",
        "Objects whose conditions are met",
        good as f64,
        &[],
    );
    r.sample(
        "objects_suspended",
        "Objects suspended (not judged)",
        suspended as f64,
        &[],
    );
    let mut summary = format!("{good}/{} {} ok", total - suspended, params.resource);
    if suspended > 0 {
        summary.push_str(&format!(", {suspended} suspended"));
    }
    r.finish_naming_worst(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_800_000_000.0; // 2027-01-15T08:00:00Z

    fn params(extra: Value) -> Params {
        let mut p = json!({"api_version": "helm.toolkit.fluxcd.io/v2", "resource": "helmreleases"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let p: Params = serde_json::from_value(p).unwrap();
        p.validate().unwrap();
        p
    }

    fn release(name: &str, ready: &str, reason: &str, generation: i64, observed: i64) -> Value {
        json!({
            "metadata": {"name": name, "namespace": "apps", "generation": generation,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"suspend": false},
            "status": {"observedGeneration": observed, "conditions": [
                {"type": "Ready", "status": ready, "reason": reason, "message": "msg",
                 "lastTransitionTime": "2027-01-15T07:59:00Z"}]}
        })
    }

    #[test]
    fn ready_is_ok_not_ready_is_critical_naming_the_reason() {
        let p = params(json!({}));
        let r = assess(
            &p,
            &[
                release("a", "True", "Succeeded", 1, 1),
                release("b", "False", "InstallFailed", 2, 2),
            ],
            NOW,
        );
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].subject, "apps/b");
        assert_eq!(r.findings[0].message, "Ready=False (InstallFailed): msg");
        assert_eq!(
            r.summary,
            "1/2 helmreleases ok; apps/b: Ready=False (InstallFailed): msg"
        );
    }

    #[test]
    fn a_new_generation_within_the_grace_is_reconciling_then_critical() {
        let p = params(json!({}));
        let r = assess(&p, &[release("a", "False", "Progressing", 3, 2)], NOW);
        assert_eq!(r.status, Status::Warning, "{}", r.summary);
        assert!(
            r.findings[0]
                .message
                .starts_with("reconciling (generation 3 not yet observed"),
            "{}",
            r.findings[0].message
        );
        let r = assess(
            &p,
            &[release("a", "False", "Progressing", 3, 2)],
            NOW + 3600.0,
        );
        assert_eq!(r.status, Status::Critical, "{}", r.summary);
    }

    #[test]
    fn suspended_objects_are_noted_not_judged() {
        let p = params(json!({"suspended_at": "/spec/suspend"}));
        let mut obj = release("a", "False", "Failed", 1, 1);
        obj["spec"]["suspend"] = json!(true);
        let r = assess(&p, &[obj], NOW);
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        assert_eq!(r.summary, "0/0 helmreleases ok, 1 suspended");
        assert_eq!(r.findings[0].message, "suspended: not judged");
    }

    #[test]
    fn every_parent_of_a_route_and_fields_that_must_agree() {
        let p = params(json!({"conditions": ["Accepted", "ResolvedRefs"],
                              "conditions_at": "/status/parents/*/conditions",
                              "status": "warning"}));
        let route = json!({"metadata": {"name": "web", "namespace": "apps"}, "status": {"parents": [
            {"conditions": [{"type": "Accepted", "status": "True"}, {"type": "ResolvedRefs", "status": "True"}]},
            {"conditions": [{"type": "Accepted", "status": "True"},
                            {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound"}]}]}});
        let r = assess(&p, &[route], NOW);
        assert_eq!(r.status, Status::Warning);
        assert_eq!(
            r.findings[0].message,
            "ResolvedRefs=False (#2) (BackendNotFound)"
        );

        let p = params(json!({"equal": [["/status/readyInstances", "/spec/instances"]]}));
        let mut cluster = release("pg", "True", "", 1, 1);
        cluster["spec"]["instances"] = json!(3);
        cluster["status"]["readyInstances"] = json!(2);
        let r = assess(&p, &[cluster], NOW);
        assert_eq!(
            r.findings[0].message,
            "/status/readyInstances is 2 but /spec/instances is 3"
        );
    }

    #[test]
    fn stale_timestamps_and_bad_parameters() {
        let p = params(
            json!({"conditions": [], "fresh_at": "/status/lastBackup", "fresh_seconds": 3600}),
        );
        let mut obj = release("a", "True", "", 1, 1);
        obj["status"]["lastBackup"] = json!("2027-01-15T05:00:00Z");
        let r = assess(&p, &[obj], NOW);
        assert_eq!(
            r.findings[0].message,
            "/status/lastBackup is 10800 s old (more than 3600 s)"
        );
        for bad in [
            json!({"api_version": "a/b/c", "resource": "x"}),
            json!({"api_version": "v1", "resource": "Pods"}),
            json!({"api_version": "v1", "resource": "pods", "status": "red"}),
            json!({"api_version": "v1", "resource": "pods", "conditions_at": "status.conditions"}),
            json!({"api_version": "v1", "resource": "pods", "conditions": []}),
        ] {
            let p: Params = serde_json::from_value(bad.clone()).unwrap();
            assert!(p.validate().is_err(), "{bad}");
        }
        let p = params(json!({"namespaces": ["a", "b"]}));
        assert_eq!(
            p.paths(),
            [
                "/apis/helm.toolkit.fluxcd.io/v2/namespaces/a/helmreleases",
                "/apis/helm.toolkit.fluxcd.io/v2/namespaces/b/helmreleases"
            ]
        );
    }
}
