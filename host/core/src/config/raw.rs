//! The files as written: serde structs that reject unknown keys and keep each
//! value's span, for errors that name the line.

use std::collections::BTreeMap;

use bytesize::ByteSize;
use serde::Deserialize;
use toml::Spanned;

/// `vitals.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMain {
    pub(super) plugin_dir: Option<Spanned<String>>,
    pub(super) cache_dir: Option<Spanned<String>>,
    pub(super) concurrency: Option<Spanned<usize>>,
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) clusters: BTreeMap<Spanned<String>, RawCluster>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) retries: Option<Spanned<u32>>,
    pub(super) retry_delay: Option<Spanned<String>>,
    pub(super) memory_limit: Option<Spanned<ByteSize>>,
    pub(super) output_limit: Option<Spanned<ByteSize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) endpoints: BTreeMap<Spanned<String>, Spanned<RawEndpoint>>,
}

/// Every key any endpoint kind takes; each kind refuses the ones it does not.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoint {
    pub(super) kind: Spanned<String>,
    pub(super) urls: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) kubeconfig: Option<Spanned<String>>,
    pub(super) context: Option<Spanned<String>>,
    pub(super) in_cluster: Option<Spanned<bool>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) cert_file: Option<Spanned<String>>,
    pub(super) key_file: Option<Spanned<String>>,
    pub(super) bearer_token_env: Option<Spanned<String>>,
    pub(super) bearer_token_file: Option<Spanned<String>>,
    pub(super) username: Option<String>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) connect_timeout: Option<Spanned<String>>,
    pub(super) query_timeout: Option<Spanned<String>>,
}

/// `checks.d/<name>.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub(super) name: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    pub(super) plugin: Spanned<String>,
    pub(super) sha256: Option<Spanned<String>>,
    pub(super) clusters: Option<Vec<Spanned<String>>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) retries: Option<Spanned<u32>>,
    pub(super) retry_delay: Option<Spanned<String>>,
    pub(super) memory_limit: Option<Spanned<ByteSize>>,
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) grants: RawGrants,
    #[serde(default)]
    pub(super) params: BTreeMap<Spanned<String>, toml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrants {
    #[serde(default)]
    pub(super) endpoints: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) kubernetes: Vec<Spanned<String>>,
    pub(super) net: Option<RawNetGrants>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetGrants {
    #[serde(default)]
    pub(super) tcp: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) arp: Vec<Spanned<String>>,
    pub(super) interface: Option<String>,
    pub(super) timeout: Option<Spanned<String>>,
}
