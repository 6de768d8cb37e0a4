//! vitals: sandboxed WebAssembly health checks for platform clusters.
//!
//! Data flows through four crates. `vitals_core`: configuration (vitals.toml +
//! checks.d) → plan (checks × clusters). `vitals_runtime`: runner (tokio,
//! bounded concurrency) → engine (wasmtime, compile cache, fresh sandbox per run)
//! → plugin `run` → capabilities (host I/O with the cluster's endpoints) →
//! results (`vitals_core::report`). `vitals_render`: human, JSON, JUnit and
//! Prometheus outputs, with the runner's metrics. This crate: the output
//! [`render`] formats and the sinks [`textfile`] and
//! [`pushgateway`]; [`serve`] runs the same pipeline on each check's interval and
//! serves the latest results over HTTP; [`cli`] parses the command line and is
//! the one place that maps outcomes to exit codes. [`scaffold`] makes new plugins
//! (`vitals plugin new`); [`rbac`] derives the Kubernetes RBAC that the checks'
//! grants need (`vitals rbac`).

pub mod cli;
pub mod pushgateway;
pub mod rbac;
pub mod render;
pub mod scaffold;
pub mod serve;
pub mod textfile;

/// jemalloc, not glibc's malloc, for every program built on this crate (the
/// shipped binary and the one the tests run): at fleet scale the runs' many
/// small allocations, freed on other worker threads than made them, contended
/// for glibc's arenas (`benches/fleet-scale`: the host's CPU -13 %, 1,000 pairs
/// 1.23 -> 1.10 s; docs/testing.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
