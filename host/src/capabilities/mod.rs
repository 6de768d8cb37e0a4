//! Capabilities: the imports of the `check` world, implemented by the host.

pub mod http;
pub mod log;
pub mod redis;
pub mod sql;
