//! How vitals exits when it stops before, or instead of, a verdict. A verdict
//! exits in the Nagios range (0 ok, 1 warning, 2 critical, 3 unknown:
//! `Status::exit_code`); everything else with one of these, after sysexits.h.

/// Why vitals stopped without a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Bad command line, or a `--check`/`--cluster` that does not exist.
    Usage = 64,
    /// A plugin could not be loaded (missing, invalid, incompatible contract).
    Plugin = 65,
    /// An input file could not be read (`vitals test --cassette`).
    NoInput = 66,
    /// The Pushgateway could not be reached or refused the push.
    Unavailable = 69,
    /// Internal error (could not start the engine or the runtime).
    Software = 70,
    /// `vitals serve` cannot listen on its address.
    OsErr = 71,
    /// An output file could not be written (`--textfile`, `--output`).
    CantCreat = 73,
    /// Invalid configuration.
    Config = 78,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}
