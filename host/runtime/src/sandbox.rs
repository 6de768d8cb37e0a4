//! The per-run sandbox: the `Store` data of one plugin run. Deny by default: no
//! arguments, environment, files, sockets or stdin; HTTP only through the gate of
//! the endpoints granted to this run; memory capped; output captured and capped.

use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capabilities::{Gates, StoreView};
use crate::output::CappedOutput;
use crate::tape::Tape;

/// Caps the total of a run's linear memories (and its tables and instances);
/// remembers whether the memory cap was hit.
pub struct Limiter {
    pub memory_limit: usize,
    pub hit_memory_limit: bool,
    /// Bytes of linear memory in use across all memories of the run.
    in_use: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.in_use.saturating_sub(current).saturating_add(desired);
        if total > self.memory_limit {
            self.hit_memory_limit = true;
            return Ok(false);
        }
        self.in_use = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        100
    }

    fn tables(&self) -> usize {
        1000
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Everything a run's `Store` holds.
pub struct RunState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    /// What the run may reach, one gate per capability.
    pub gates: Gates,
    pub limiter: Limiter,
    pub stdout: CappedOutput,
    pub stderr: CappedOutput,
}

impl RunState {
    /// A fresh sandbox for one run, granted what `gates` let through.
    pub fn new(gates: Gates, memory_limit: u64, output_limit: u64) -> Self {
        let cap = usize::try_from(output_limit).unwrap_or(usize::MAX);
        let stdout = CappedOutput::new(cap);
        let stderr = CappedOutput::new(cap);
        // WasiCtxBuilder starts empty: no args, env, preopens or stdin, TCP/UDP and
        // name lookup disabled and every socket address refused.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build();
        RunState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            gates,
            limiter: Limiter {
                memory_limit: usize::try_from(memory_limit).unwrap_or(usize::MAX),
                hit_memory_limit: false,
                in_use: 0,
            },
            stdout,
            stderr,
        }
    }

    /// Serve every capability call through `tape`. When replaying, the wall clock
    /// starts at `recorded_at` (Unix seconds), the time the cassette was recorded.
    pub fn set_tape(&mut self, tape: Tape, recorded_at: Option<f64>) {
        if let Some(at) = recorded_at {
            self.wasi = WasiCtxBuilder::new()
                .stdout(self.stdout.clone())
                .stderr(self.stderr.clone())
                .wall_clock(ReplayClock {
                    start: Duration::from_secs_f64(at.max(0.0)),
                    since: Instant::now(),
                })
                .build();
        }
        self.gates.set_tape(&tape);
    }

    /// Captured stdout and stderr, lossily decoded.
    pub fn output(&self) -> String {
        self.stdout.contents() + &self.stderr.contents()
    }
}

/// A wall clock that starts at a recorded time and runs at the real pace.
struct ReplayClock {
    start: Duration,
    since: Instant,
}

impl HostWallClock for ReplayClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.start + self.since.elapsed()
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RunState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gates.http,
        }
    }
}

impl StoreView for RunState {
    fn gates(&mut self) -> &mut Gates {
        &mut self.gates
    }
}
