//! vitals check `dns`: names resolve through every resolver of the cluster's
//! granted `dns` endpoint (e.g. the cluster DNS service), to the expected data,
//! in time. All queries go out at once; [`assess::assess`] judges the answers.

pub mod assess;

use vitals_plugin::dns;
use vitals_plugin::{
    Plugin, PluginInfo, Report, ReportBuilder, RunInput, granted_endpoint, param, parse_params,
};

use assess::{Asked, Params};

struct Dns;

impl Plugin for Dns {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "dns".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "names resolve through the cluster's resolvers (A, AAAA, SRV, ...), \
                          to the expected data, in time; NXDOMAIN, SERVFAIL and silent resolvers reported"
                .into(),
            params: vec![
                param(
                    "endpoint",
                    "string",
                    "Granted dns endpoint whose resolvers (URLs) are asked",
                    Some("\"dns\""),
                ),
                param(
                    "names",
                    "list<table>",
                    "Names to resolve: { name, type = \"A\", expect = [data...], absent = false, status = \"critical\" }",
                    None,
                ),
                param(
                    "slow_seconds",
                    "number",
                    "An answer slower than this is a warning",
                    Some("0.5"),
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
        let endpoint = match granted_endpoint(&input, &params.endpoint, "dns") {
            Ok(e) => e,
            Err(unknown) => return unknown,
        };
        let mut calls = Vec::new();
        for url in &endpoint.urls {
            for name in &params.names {
                calls.push((
                    params.endpoint.as_str(),
                    url.as_str(),
                    name.name.as_str(),
                    name.query_type(),
                ));
            }
        }
        let answers = dns::query_all(&calls);
        let asked: Vec<Asked> = calls
            .iter()
            .zip(answers)
            .zip(params.names.iter().cycle())
            .map(|((call, answer), name)| Asked {
                name,
                resolver: resolver(call.1),
                answer,
            })
            .collect();
        assess::assess(&params, &asked)
    }
}

/// A resolver as findings name it: its URL without the scheme (`10.43.0.10` for
/// `dns://10.43.0.10`, `127.0.0.1:5353` for `dns://127.0.0.1:5353`).
fn resolver(url: &str) -> &str {
    url.trim_start_matches("dns://").trim_end_matches('/')
}

vitals_plugin::export_plugin!(Dns);
