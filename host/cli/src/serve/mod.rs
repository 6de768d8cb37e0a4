//! `vitals serve`: run every check on its interval, keep the latest results and
//! serve them over HTTP (see [`http`]); reload on SIGHUP, stop on SIGTERM/SIGINT.

pub mod exposition;
pub mod http;
pub mod state;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use state::Service;
use vitals_core::config::{Config, MAX_CONCURRENCY};
use vitals_core::exit::Exit;
use vitals_core::plan::Shard;
use vitals_runtime::engine::Engine;

/// How long open connections get to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Reload the configuration (on SIGHUP or `POST /-/reload`, named by `cause`),
/// logging the outcome.
pub(crate) async fn reload(service: &Arc<Service>, cause: &str) -> Result<(), state::LoadProblem> {
    let outcome = service.reload().await;
    match &outcome {
        Ok(()) => tracing::info!("reloaded the configuration ({cause})"),
        Err(e) => tracing::error!(
            "reload failed ({cause}), still serving the previous configuration: {e}"
        ),
    }
    outcome
}

/// Serve until SIGTERM or SIGINT. An error that keeps it from starting is
/// printed; the [`Exit`] says why.
pub async fn serve(config: &Path, listen: SocketAddr, shard: Shard) -> Result<(), Exit> {
    let fail = |code: Exit, message: String| {
        eprintln!("vitals: error: {message}");
        Err(code)
    };
    let cfg = match Config::load(config) {
        Ok(cfg) => cfg,
        Err(e) => return fail(Exit::Config, e.to_string()),
    };
    // Pools for as many runs as any configuration may have at once: a reload
    // may raise `concurrency`.
    let engine = match Engine::pooled(cfg.cache_dir.clone(), MAX_CONCURRENCY) {
        Ok(e) => Arc::new(e),
        Err(e) => return fail(Exit::Software, format!("cannot start the engine: {e:#}")),
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => return fail(Exit::OsErr, format!("cannot listen on {listen}: {e}")),
    };
    let service = match Service::start(engine, config, cfg, shard).await {
        Ok(s) => s,
        Err(e) => return fail(Exit::Config, e.to_string()),
    };
    let (mut hup, mut term, mut int) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(h), Ok(t), Ok(i)) => (h, t, i),
        _ => return fail(Exit::Software, "cannot install signal handlers".into()),
    };
    let addr = listener.local_addr().unwrap_or(listen);
    tracing::info!(
        "serving on http://{addr}/metrics (SIGHUP or POST /-/reload reloads, SIGTERM stops)"
    );

    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let service = service.clone();
                let conn = hyper::server::conn::http1::Builder::new().serve_connection(
                    TokioIo::new(stream),
                    service_fn(move |req| http::handle(service.clone(), req)),
                );
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection: {e}");
                    }
                });
            }
            _ = hup.recv() => {
                let service = service.clone();
                tokio::spawn(async move { reload(&service, "SIGHUP").await });
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    service.stop();
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
    }
    Ok(())
}
