//! `vitals list`: the checks, their grants and their plugins.

use vitals_core::config::{Check, Config};
use vitals_runtime::capabilities;
use vitals_runtime::runner::Plugins;

use super::args::ConfigArg;
use super::{Outcome, prepare, report_problems};
use crate::render::Format;

/// Print the checks, their grants and their plugins.
pub(super) fn list(cfg: &Config, plugins: &Plugins, format: Format) {
    if format == Format::Json {
        let checks: Vec<serde_json::Value> =
            cfg.checks.iter().map(|c| check_json(c, plugins)).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"checks": checks}))
                .expect("serialises")
        );
        return;
    }
    human(cfg, plugins);
}

/// One check as `vitals list --format json` shows it.
fn check_json(c: &Check, plugins: &Plugins) -> serde_json::Value {
    let plugin = match plugins.get(&c.plugin) {
        Some(Ok(p)) => serde_json::json!({
            "file": p.path, "name": p.info.name, "version": p.info.version,
            "contract": p.contract_version.to_string(), "description": p.info.description,
            "sha256": p.digest, "pinned": c.pin.is_some(),
            "compiled_from_cache": p.cached, "compile_seconds": p.compile_seconds,
            "params": p.info.params.iter().map(|s| serde_json::json!({
                "name": s.name, "kind": s.kind, "description": s.description,
                "default": s.default_value, "required": s.required})).collect::<Vec<_>>(),
        }),
        Some(Err(e)) => serde_json::json!({"file": c.plugin, "error": e.to_string()}),
        None => serde_json::json!({"file": c.plugin}),
    };
    let mut grants = serde_json::Map::new();
    grants.insert("endpoints".into(), c.grants.clone().into());
    for (capability, granted) in capabilities::describe(c) {
        grants.insert(capability.into(), granted);
    }
    serde_json::json!({
        "check": c.name, "enabled": c.enabled, "clusters": c.clusters,
        "timeout_seconds": c.timeout.as_secs_f64(), "interval_seconds": c.interval.as_secs_f64(),
        "grants": grants, "params": c.params, "plugin": plugin,
    })
}

/// The checks for a person.
fn human(cfg: &Config, plugins: &Plugins) {
    for c in &cfg.checks {
        let state = if c.enabled { "" } else { " (disabled)" };
        println!("{}{state}", c.name);
        println!(
            "  clusters: {}",
            if c.clusters.is_empty() {
                "(none)".into()
            } else {
                c.clusters.join(", ")
            }
        );
        println!(
            "  timeout {:?}, interval {:?}, grants: {}",
            c.timeout,
            c.interval,
            c.grants.join(", ")
        );
        for (capability, granted) in capabilities::describe(c) {
            if !nothing(&granted) {
                println!("  {capability}: {}", one_line(&granted));
            }
        }
        match plugins.get(&c.plugin) {
            Some(Ok(p)) => {
                println!(
                    "  plugin: {} {} ({}, contract {}@{})",
                    p.info.name,
                    p.info.version,
                    p.path.display(),
                    vitals_runtime::contract::PACKAGE,
                    p.contract_version
                );
                println!("    {}", p.info.description);
                let pinned = if c.pin.is_some() {
                    "pinned"
                } else {
                    "not pinned"
                };
                println!("    sha256 {} ({pinned})", p.digest);
                for s in &p.info.params {
                    let default = match (&s.default_value, s.required) {
                        (Some(d), _) => format!(" (default {d})"),
                        (None, true) => " (required)".into(),
                        (None, false) => " (optional)".into(),
                    };
                    let set = c
                        .params
                        .get(&s.name)
                        .map(|v| format!(" = {v}"))
                        .unwrap_or_default();
                    println!(
                        "    {} <{}>{set}{default}: {}",
                        s.name, s.kind, s.description
                    );
                }
            }
            Some(Err(e)) => println!("  plugin: {e}"),
            None => println!("  plugin: {}", c.plugin.display()),
        }
    }
}

/// Whether a grant description grants nothing: an empty list, or a table of
/// empty lists.
fn nothing(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Array(items) => items.is_empty(),
        serde_json::Value::Object(m) => m.values().all(nothing),
        _ => false,
    }
}

/// A grant description on one line: lists joined by ", ", objects as
/// `key list; key list` (empty lists left out).
fn one_line(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => {
            items.iter().map(one_line).collect::<Vec<_>>().join(", ")
        }
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.as_array().is_some_and(Vec::is_empty))
            .map(|(k, v)| format!("{k} {}", one_line(v)))
            .collect::<Vec<_>>()
            .join("; "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `vitals validate`: load everything, report problems, warn about checks that
/// will not run as meant.
pub(super) async fn validate(config: &ConfigArg) -> Outcome {
    let p = prepare(config, &[], &[], true).await?;
    if let Some(code) = report_problems(&p) {
        return Err(code);
    }
    for c in p.cfg.checks.iter().filter(|c| c.clusters.is_empty()) {
        eprintln!(
            "vitals: warning: check {:?} matches no cluster (no cluster has all its granted endpoints)",
            c.name
        );
    }
    for c in p.cfg.checks.iter().filter(|c| {
        c.grants.is_empty() && capabilities::describe(c).iter().all(|(_, g)| nothing(g))
    }) {
        eprintln!(
            "vitals: warning: check {:?} ({}) grants nothing: its plugin can reach no endpoint, so runs that need one are unknown (add `[grants] endpoints = [...]`)",
            c.name,
            c.file.display()
        );
    }
    println!(
        "configuration ok: {} checks, {} clusters, {} plugins, {} runs planned",
        p.cfg.checks.len(),
        p.cfg.clusters.len(),
        p.plugins.len(),
        p.runs.len()
    );
    Ok(0)
}
