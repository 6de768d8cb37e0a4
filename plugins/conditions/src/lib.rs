//! vitals check `conditions`: `status.conditions` of any Kubernetes resource, core
//! or CRD, judged as `kubectl wait --for=condition=...` would; configured only
//! through parameters (API version, resource, required condition types, grace,
//! fields that must agree, a timestamp that must be fresh). [`assess::assess`]
//! judges the listed objects.

pub mod assess;

use vitals_plugin::kubernetes::{self, now};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, optional_param, param,
    parse_params,
};

use assess::Params;

struct Conditions;

impl Plugin for Conditions {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "conditions".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "status.conditions of any resource (Flux, CloudNativePG, Gateway API, ...): \
                          required condition types True, grace while reconciling, suspended \
                          objects noted, fields that must agree, a timestamp that must be fresh"
                    .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted kubernetes endpoint",
                    Some("\"kubernetes\""),
                ),
                param(
                    "api_version",
                    "string",
                    "The resource's API version, as in apiVersion: \"v1\", \"helm.toolkit.fluxcd.io/v2\"",
                    None,
                ),
                param(
                    "resource",
                    "string",
                    "The resource's plural name, as granted: \"helmreleases\"",
                    None,
                ),
                optional_param(
                    "namespaces",
                    "list<string>",
                    "Only these namespaces (default: all)",
                ),
                optional_param(
                    "label_selector",
                    "string",
                    "Only objects matching this label selector",
                ),
                param(
                    "conditions",
                    "list<string>",
                    "Condition types that must be True",
                    Some("[\"Ready\"]"),
                ),
                param(
                    "conditions_at",
                    "string",
                    "JSON pointer to the conditions list; a * segment takes every element (\"/status/parents/*/conditions\": every parent of an HTTPRoute)",
                    Some("\"/status/conditions\""),
                ),
                param(
                    "status",
                    "string",
                    "Status of an object whose conditions are not met: critical or warning",
                    Some("\"critical\""),
                ),
                param(
                    "grace_seconds",
                    "number",
                    "An object created, or changed (generation newer than observedGeneration), less than this ago is reconciling: a warning",
                    Some("300"),
                ),
                optional_param(
                    "suspended_at",
                    "string",
                    "JSON pointer to a boolean that marks the object suspended: noted, not judged (\"/spec/suspend\")",
                ),
                optional_param(
                    "equal",
                    "list",
                    "Pairs of JSON pointers whose values must be equal ([[\"/status/readyInstances\", \"/spec/instances\"]])",
                ),
                optional_param(
                    "fresh_at",
                    "string",
                    "JSON pointer to a timestamp that must be recent (\"/status/lastHandledReconcileAt\")",
                ),
                param(
                    "fresh_seconds",
                    "number",
                    "How recent the timestamp at fresh_at must be",
                    Some("86400"),
                ),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let params: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        if let Err(e) = params.validate() {
            return ReportBuilder::unknown(e);
        }
        if let Err(unknown) = granted_endpoint(&input, &params.endpoint, "kubernetes") {
            return unknown;
        }
        let paths = params.paths();
        let lists: Vec<_> = paths
            .iter()
            .map(|path| {
                (
                    params.endpoint.as_str(),
                    path.as_str(),
                    params.label_selector.as_deref(),
                )
            })
            .collect();
        let mut objects = Vec::new();
        for listed in kubernetes::list_all_of(&lists) {
            match listed {
                Ok(items) => objects.extend(items),
                Err(e) => {
                    let hint = if e.is_not_found() {
                        " (is the resource installed, in this API version?)"
                    } else {
                        ""
                    };
                    return ReportBuilder::unknown(format!(
                        "listing {}: {}: {}{hint}",
                        params.resource,
                        e.kind(),
                        e.message()
                    ));
                }
            }
        }
        assess::assess(&params, &objects, now())
    }
}

vitals_plugin::export_plugin!(Conditions);
