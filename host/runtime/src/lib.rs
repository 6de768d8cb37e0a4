//! vitals-runtime: runs checks. The [`runner`] loads the plugins a plan needs
//! and runs every (check × cluster) pair on tokio, bounded by the concurrency;
//! the [`engine`] compiles plugins with wasmtime (through the compile [`cache`])
//! against the [`contract`] and runs each in a fresh [`sandbox`] whose
//! [`capabilities`] (one module each, listed in one registry) reach only what the
//! check grants. Every capability call passes the [`tape`], which can record it
//! into a cassette or answer it from one ([`replay`], `vitals test`).

pub mod cache;
pub mod capabilities;
pub mod contract;
pub mod engine;
pub mod output;
pub mod replay;
pub mod runner;
pub mod sandbox;
pub mod tape;
