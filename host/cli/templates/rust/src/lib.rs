//! {{name}}: a vitals check plugin. GETs `path` on every URL of the granted http
//! endpoint `endpoint`: an answer below 400 is ok; another status, or none, is
//! critical.

use serde::Deserialize;
use vitals_plugin::http::{self, Options};
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, Status, export_plugin, granted_endpoint,
    param, parse_params,
};

/// The check's `[params]`.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Params {
    endpoint: String,
    path: String,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            endpoint: "service".into(),
            path: "/healthz".into(),
        }
    }
}

struct Check;

impl Plugin for Check {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "GET `path` on every URL of an http endpoint".into(),
            params: vec![
                param("endpoint", "string", "the http endpoint to probe", Some("\"service\"")),
                param("path", "string", "the path to GET", Some("\"/healthz\"")),
            ],
        }
    }

    fn run(input: RunInput) -> Report {
        let p: Params = match parse_params(&input.params) {
            Ok(p) => p,
            Err(e) => return ReportBuilder::unknown(e),
        };
        let endpoint = match granted_endpoint(&input, &p.endpoint, "http") {
            Ok(e) => e,
            Err(report) => return report,
        };
        let mut r = ReportBuilder::new();
        let mut up = 0;
        for url in &endpoint.urls {
            match http::get(&format!("{url}{}", p.path), Options::default()) {
                Ok(resp) if resp.status < 400 => {
                    up += 1;
                    r.finding(url, Status::Ok, format!("HTTP {}", resp.status));
                }
                Ok(resp) => r.finding(url, Status::Critical, format!("HTTP {}", resp.status)),
                Err(e) => r.finding(url, Status::Critical, format!("unreachable: {e}")),
            }
        }
        r.sample("up", "URLs that answered below 400", up as f64, &[]);
        r.finish(format!("{up}/{} URLs answered", endpoint.urls.len()))
    }
}

export_plugin!(Check);
