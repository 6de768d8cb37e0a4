//! Host bindings of the WIT contract (`wit/check.wit`, `vitals:check@0.4.0`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "vitals:check/check",
    imports: {
        "vitals:check/redis.command": async,
        "vitals:check/sql.query": async,
        "vitals:check/kubernetes.get": async,
        "vitals:check/kubernetes.list": async,
        "vitals:check/net.tcp-connect": async,
        "vitals:check/net.arp-probe": async,
    },
    exports: { default: async },
    // Cassettes store capability answers and errors as JSON.
    additional_derives: [serde::Serialize, serde::Deserialize],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

/// The contract package this host implements.
pub const PACKAGE: &str = "vitals:check";
/// The version of the contract this host was built with.
pub const VERSION: &str = "0.4.0";
/// The exported interface every plugin must provide, without version.
pub const PLUGIN_INTERFACE: &str = "vitals:check/plugin";

/// Whether a plugin built against contract `version` can be loaded (semver-compatible).
pub fn is_compatible(version: &semver::Version) -> bool {
    let host = semver::Version::parse(VERSION).expect("valid contract version");
    if host.major == 0 {
        version.major == 0 && version.minor == host.minor
    } else {
        version.major == host.major
    }
}

/// The versions this host supports, for error messages.
pub fn supported() -> String {
    let host = semver::Version::parse(VERSION).expect("valid contract version");
    format!("{PACKAGE}@{}.{}.x", host.major, host.minor)
}

pub use self::exports::vitals::check::plugin::{PluginInfo, Report, RunInput};
pub use self::vitals::check::types::{Endpoint as WitEndpoint, Status as WitStatus};
