//! Host bindings of the WIT contract (`wit/check.wit`, `vitals:check@0.4.4`).

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "vitals:check/check",
    imports: {
        "vitals:check/redis.command": async,
        "vitals:check/redis.command-all": async,
        "vitals:check/sql.query": async,
        "vitals:check/sql.query-all": async,
        "vitals:check/kubernetes.get": async,
        "vitals:check/kubernetes.list": async,
        "vitals:check/kubernetes.batch": async,
        "vitals:check/net.tcp-connect": async,
        "vitals:check/net.arp-probe": async,
        "vitals:check/net.tcp-connect-all": async,
        "vitals:check/net.arp-probe-all": async,
        "vitals:check/dns.query": async,
        "vitals:check/dns.query-all": async,
    },
    exports: { default: async },
    // Cassettes store capability answers and errors as JSON.
    additional_derives: [serde::Serialize, serde::Deserialize],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

use vitals_core::cassette::RunRef;
use vitals_core::report::{Finding, PluginReport, PluginSample, Status};
use vitals_core::schema::{ParamSpec, PluginDescription};
pub use vitals_core::wit::{PACKAGE, PLUGIN_INTERFACE, VERSION, is_compatible, supported};

pub use self::exports::vitals::check::plugin::{PluginInfo, Report, RunInput};
pub use self::vitals::check::types::{Endpoint as WitEndpoint, Status as WitStatus};

impl From<WitStatus> for Status {
    fn from(s: WitStatus) -> Self {
        match s {
            WitStatus::Ok => Status::Ok,
            WitStatus::Warning => Status::Warning,
            WitStatus::Critical => Status::Critical,
            WitStatus::Unknown => Status::Unknown,
        }
    }
}

impl From<Report> for PluginReport {
    fn from(r: Report) -> Self {
        PluginReport {
            status: r.status.into(),
            summary: r.summary,
            findings: r
                .findings
                .into_iter()
                .map(|f| Finding {
                    subject: f.subject,
                    status: f.status.into(),
                    message: f.message,
                })
                .collect(),
            samples: r
                .samples
                .into_iter()
                .map(|s| PluginSample {
                    name: s.name,
                    help: s.help,
                    value: s.value,
                    labels: s.labels.into_iter().map(|l| (l.name, l.value)).collect(),
                })
                .collect(),
        }
    }
}

impl From<PluginInfo> for PluginDescription {
    fn from(i: PluginInfo) -> Self {
        PluginDescription {
            name: i.name,
            version: i.version,
            description: i.description,
            params: i
                .params
                .into_iter()
                .map(|p| ParamSpec {
                    name: p.name,
                    kind: p.kind,
                    description: p.description,
                    default_value: p.default_value,
                    required: p.required,
                })
                .collect(),
        }
    }
}

/// A run's input: the check's params as JSON and the granted endpoints.
pub fn run_input(run: &RunRef) -> RunInput {
    RunInput {
        check: run.check.clone(),
        cluster: run.cluster.clone(),
        params: serde_json::Value::Object(run.params.clone()).to_string(),
        endpoints: run
            .endpoints
            .iter()
            .map(|e| WitEndpoint {
                name: e.name.clone(),
                kind: e.kind.clone(),
                urls: e.urls.clone(),
            })
            .collect(),
    }
}
