//! Capability `vitals:check/log`: plugin messages into the host's tracing log.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RunGrants, StoreView, no_grants_of_its_own};
use crate::contract::vitals::check::log::{self, Host, Level};
use crate::tape::Tape;
use vitals_core::secrets::Redactor;

/// Largest message kept; longer ones are truncated.
const MAX_MESSAGE: usize = 4096;
/// Messages per run; more are dropped (a plugin cannot flood the log).
const MAX_MESSAGES: u32 = 1000;

/// Where a run's log messages go, tagged with its check and cluster.
pub struct LogSink {
    pub check: String,
    pub cluster: String,
    count: u32,
    redactor: Redactor,
}

impl LogSink {
    pub fn new(check: &str, cluster: &str) -> Self {
        LogSink {
            check: check.into(),
            cluster: cluster.into(),
            count: 0,
            redactor: Redactor::default(),
        }
    }
}

impl Default for LogSink {
    fn default() -> Self {
        LogSink::new("-", "-")
    }
}

impl Capability for LogSink {
    const NAME: &'static str = "log";

    fn gate(run: &RunGrants<'_>) -> Self {
        LogSink::new(&run.check.name, run.cluster)
    }

    /// Log messages are not recorded; the tape's secrets are redacted from them.
    fn set_tape(&mut self, tape: Tape) {
        self.redactor = tape.redactor().clone();
    }

    fn add_to_linker<T: StoreView>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        log::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }

    no_grants_of_its_own!();
}

impl Host for LogSink {
    fn log(&mut self, level: Level, message: String) {
        let sink = self;
        sink.count += 1;
        if sink.count > MAX_MESSAGES {
            return;
        }
        // No control characters: a plugin cannot forge log lines.
        let msg = vitals_core::report::clean(&sink.redactor.text(&message), MAX_MESSAGE);
        let (check, cluster) = (sink.check.as_str(), sink.cluster.as_str());
        match level {
            Level::Trace => tracing::trace!(target: "vitals::plugin", check, cluster, "{msg}"),
            Level::Debug => tracing::debug!(target: "vitals::plugin", check, cluster, "{msg}"),
            Level::Info => tracing::info!(target: "vitals::plugin", check, cluster, "{msg}"),
            Level::Warn => tracing::warn!(target: "vitals::plugin", check, cluster, "{msg}"),
            Level::Error => tracing::error!(target: "vitals::plugin", check, cluster, "{msg}"),
        }
    }
}
