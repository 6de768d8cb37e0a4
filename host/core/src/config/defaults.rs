//! `[defaults]` of `vitals.toml`: the limits a check takes unless it sets its own.

use std::time::Duration;

use super::raw::RawDefaults;
use super::source::Source;
use super::{
    ConfigError, DEFAULT_INTERVAL, DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, DEFAULT_RETRY_DELAY,
    DEFAULT_TIMEOUT, MEMORY_LIMITS, OUTPUT_LIMITS,
};

pub(super) struct CheckDefaults {
    pub(super) timeout: Duration,
    pub(super) interval: Duration,
    pub(super) retries: u32,
    pub(super) retry_delay: Duration,
    pub(super) memory_limit: u64,
    pub(super) output_limit: u64,
}

impl CheckDefaults {
    /// Validate `[defaults]`; what it leaves out takes the `DEFAULT_*` constants.
    pub(super) fn load(src: &Source, raw: &RawDefaults) -> Result<Self, ConfigError> {
        Ok(CheckDefaults {
            timeout: src.duration("defaults.timeout", &raw.timeout, DEFAULT_TIMEOUT)?,
            interval: src.duration("defaults.interval", &raw.interval, DEFAULT_INTERVAL)?,
            retries: src.retries("defaults.retries", &raw.retries, 0)?,
            retry_delay: src.duration(
                "defaults.retry_delay",
                &raw.retry_delay,
                DEFAULT_RETRY_DELAY,
            )?,
            memory_limit: src.size(
                "defaults.memory_limit",
                &raw.memory_limit,
                DEFAULT_MEMORY_LIMIT,
                MEMORY_LIMITS,
            )?,
            output_limit: src.size(
                "defaults.output_limit",
                &raw.output_limit,
                DEFAULT_OUTPUT_LIMIT,
                OUTPUT_LIMITS,
            )?,
        })
    }
}
