//! vitals: sandboxed WebAssembly health checks for platform clusters.
//!
//! Data flows through these modules, in order:
//! [`config`] (vitals.toml + checks.d) → [`plan`] (checks × clusters) →
//! [`runner`] (tokio, bounded concurrency) → [`engine`] (wasmtime, compile cache,
//! fresh [`sandbox`] per run) → plugin `run` → [`capabilities`] (host I/O with the
//! cluster's endpoints) → [`report`] → [`render`] (human, JSON, JUnit, Prometheus)
//! and the sinks [`textfile`] and [`pushgateway`]. [`serve`] runs the same
//! pipeline on each check's interval and serves the latest results over HTTP.
//! Every capability call passes the [`tape`], which can record it into a
//! [`cassette`] (`vitals run --record`) or answer it from one (`vitals test`,
//! [`replay`]). [`scaffold`] makes new plugins (`vitals plugin new`); [`rbac`] derives the
//! Kubernetes RBAC that the checks' grants need (`vitals rbac`).

pub mod cache;
pub mod capabilities;
pub mod cassette;
pub mod cli;
pub mod config;
pub mod contract;
pub mod engine;
pub mod exit;
pub mod grants;
pub mod metrics;
pub mod output;
pub mod plan;
pub mod pushgateway;
pub mod rbac;
pub mod render;
pub mod replay;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
pub mod schema;
pub mod secrets;
pub mod serve;
pub mod tape;
pub mod textfile;
pub mod tls;
