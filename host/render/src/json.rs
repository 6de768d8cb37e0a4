//! `--format json`: `{"results": [{check, cluster, plugin, status, summary,
//! duration_seconds, findings, samples, ...}]}`.

use serde::Serialize;

use vitals_core::report::{CheckResult, Status};

#[derive(Serialize)]
struct Document<'a> {
    /// The worst status of all results.
    status: Status,
    results: &'a [CheckResult],
}

/// Render the results as one JSON document.
pub fn render(results: &[CheckResult]) -> String {
    let doc = Document {
        status: vitals_core::report::worst(results),
        results,
    };
    serde_json::to_string_pretty(&doc).expect("results serialise")
}
