//! Guest SDK for vitals check plugins.
//!
//! The WIT contract in `wit/` is the single source of truth; this crate holds its
//! generated bindings plus small helpers: a report builder, parameter parsing, a
//! blocking HTTP client over `wasi:http`, Redis commands with reply parsers, SQL
//! queries, Kubernetes reads, network probes and DNS queries, and durations as
//! people write and read them ([`units`]).
//!
//! A plugin implements [`Plugin`] and exports it:
//!
//! ```ignore
//! struct MyCheck;
//! impl vitals_plugin::Plugin for MyCheck { /* describe, run */ }
//! vitals_plugin::export_plugin!(MyCheck);
//! ```

pub mod dns;
pub mod http;
pub mod kubernetes;
pub mod net;
pub mod params;
pub mod redis;
pub mod report;
pub mod sql;
pub mod units;

/// Bindings generated from the `vitals:check` world.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "vitals:check/check",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_check",
        default_bindings_module: "vitals_plugin::bindings",
    });
}

pub use bindings::exports::vitals::check::plugin::Guest as Plugin;
pub use bindings::vitals::check::types::{
    Endpoint, Finding, Label, ParamSpec, PluginInfo, Report, RunInput, Sample, Status,
};
pub use params::parse_params;
pub use report::ReportBuilder;

/// Export a type implementing [`Plugin`] as this component's `plugin` interface.
/// The export exists only on wasm targets, so that a plugin's pure logic can be
/// unit-tested natively with `cargo test`.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ident) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
    $crate::bindings::__export_check!($ty with_types_in $crate::bindings);
        };
        // Natively, keep the plugin "used" so that unit tests build without warnings.
        #[cfg(not(target_family = "wasm"))]
        const _: (
            fn() -> $crate::PluginInfo,
            fn($crate::RunInput) -> $crate::Report,
        ) = (
            <$ty as $crate::Plugin>::describe,
            <$ty as $crate::Plugin>::run,
        );
    };
}

/// `kind()` and `message()` for a capability's error variant (the WIT `error` of
/// `redis` and `sql`, which have the same cases).
#[macro_export]
#[doc(hidden)]
macro_rules! capability_error {
    ($error:ty) => {
        impl $error {
            /// The message, whatever the kind.
            pub fn message(&self) -> &str {
                match self {
                    Self::Denied(m)
                    | Self::Unreachable(m)
                    | Self::Auth(m)
                    | Self::Timeout(m)
                    | Self::Tls(m)
                    | Self::Server(m) => m,
                }
            }

            /// The kind as a word: denied, unreachable, auth, timeout, tls, server.
            pub fn kind(&self) -> &'static str {
                match self {
                    Self::Denied(_) => "denied",
                    Self::Unreachable(_) => "unreachable",
                    Self::Auth(_) => "auth",
                    Self::Timeout(_) => "timeout",
                    Self::Tls(_) => "tls",
                    Self::Server(_) => "server",
                }
            }
        }
    };
}

/// The granted endpoint `name` of `kind` (`http`, `redis`, `mysql`, `kubernetes`, `dns`),
/// or an `unknown` report that says how to grant it.
#[allow(clippy::result_large_err)]
pub fn granted_endpoint<'a>(
    input: &'a RunInput,
    name: &str,
    kind: &str,
) -> Result<&'a Endpoint, Report> {
    input
        .endpoints
        .iter()
        .find(|e| e.name == name && e.kind == kind)
        .ok_or_else(|| {
            ReportBuilder::unknown(format!(
                "no granted {kind} endpoint {name:?} in cluster {}; grant it in `grants.endpoints`",
                input.cluster
            ))
        })
}

/// Log a message into the host's log.
pub fn log(level: LogLevel, message: &str) {
    bindings::vitals::check::log::log(level, message);
}

pub use bindings::vitals::check::log::Level as LogLevel;

impl Status {
    /// Severity rank: ok 0, warning 1, critical 2, unknown 3.
    pub fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// The more severe of two statuses.
    pub fn max(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Build a [`ParamSpec`].
pub fn param(name: &str, kind: &str, description: &str, default: Option<&str>) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        kind: kind.into(),
        description: description.into(),
        required: default.is_none(),
        default_value: default.map(Into::into),
    }
}

/// Build an optional [`ParamSpec`] without a default (absent means "not used").
pub fn optional_param(name: &str, kind: &str, description: &str) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        kind: kind.into(),
        description: description.into(),
        required: false,
        default_value: None,
    }
}
