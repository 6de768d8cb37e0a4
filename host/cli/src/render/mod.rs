//! Renderers: results as a human table, one JSON document, JUnit XML or the
//! Prometheus exposition (stdout, a node_exporter textfile).

pub mod human;
pub mod json;
pub mod junit;
pub mod prometheus;
#[cfg(test)]
mod proptests;

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
