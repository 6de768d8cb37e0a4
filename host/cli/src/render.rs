//! Output formats: results as a human table, one JSON document, JUnit XML or the
//! Prometheus exposition (stdout, a node_exporter textfile). The renderers live in
//! the `vitals-render` crate.

pub use vitals_render::{human, json, junit, prometheus};

/// Output formats of `vitals run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table, coloured on a terminal.
    Human,
    /// One JSON document: `{"results": [...]}`.
    Json,
    /// JUnit XML: a testsuite per cluster, a testcase per check.
    Junit,
    /// The Prometheus text exposition format.
    Prometheus,
}
