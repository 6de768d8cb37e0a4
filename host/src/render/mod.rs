//! Renderers: results as a human table or one JSON document.

pub mod human;
pub mod json;

/// Output formats of `vitals run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table, coloured on a terminal.
    Human,
    /// One JSON document: `{"results": [...]}`.
    Json,
}
