//! vitals-core: what vitals works with, as plain data, without running anything
//! (no wasmtime, no tokio, no Kubernetes client).
//!
//! [`config`] reads vitals.toml and checks.d, validating every key with its file
//! and line, into checks and clusters whose [`grants`] say what each may reach;
//! [`plan`] pairs checks with clusters; [`schema`] checks a check's params against
//! what its plugin describes; [`report`] is what a run yields; [`cassette`] is a
//! recorded run; [`allow`] what the read-only capabilities let through; [`exit`]
//! the process exit codes; [`secrets`] and [`tls`] the
//! credential references and TLS material endpoints name; [`wit`] the contract's
//! name and version.

pub mod allow;
pub mod cassette;
pub mod config;
pub mod exit;
pub mod grants;
pub mod plan;
pub mod report;
pub mod schema;
pub mod secrets;
pub mod tls;
pub mod wit;
