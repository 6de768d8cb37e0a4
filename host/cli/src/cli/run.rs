//! `vitals run`.

use std::path::Path;

use vitals_core::exit::Exit;
use vitals_core::report::{self, CheckResult, Status};
use vitals_runtime::capabilities::Clients;
use vitals_runtime::runner::{self, Plugins, compile_times};

use super::args::{FailOn, RunArgs};
use super::{Outcome, error, prepare, report_problems, stop};
use crate::render::{self, Format};
use vitals_render::metrics::RunnerMetrics;

/// `vitals run`: run the plan once, render, write the sinks, and return the exit code.
pub(super) async fn run(args: RunArgs) -> Outcome {
    if let Some(dir) = &args.record
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return error(Exit::CantCreat, format!("--record {}: {e}", dir.display()));
    }
    let p = prepare(&args.config, &args.checks, &args.clusters, false).await?;
    if p.runs.is_empty() && !(args.checks.is_empty() && args.clusters.is_empty()) {
        return error(
            Exit::Usage,
            "the --check and --cluster filters select no run",
        );
    }
    let problem = report_problems(&p);
    if problem == Some(Exit::Config) {
        return Err(Exit::Config);
    }
    let results = runner::run_all(
        &p.engine,
        &Clients::new(&p.cfg),
        &p.plugins,
        &p.runs,
        p.cfg.concurrency,
        args.record.as_deref(),
    )
    .await;
    let metrics = RunnerMetrics::of(&results, compile_times(&p.plugins));
    print(&args, &results, &metrics)?;
    sinks(&args, &results, &metrics, &p.plugins).await?;
    // The process ends with this command: the kernel takes the engine's pools
    // and the loaded plugins at exit, rather than the host unmapping and freeing
    // them one by one (0.4 ms of a short run).
    std::mem::forget(p);
    if let Some(code) = problem {
        return Err(code);
    }
    let worst = report::worst(&results);
    match args.fail_on {
        Some(level) if worst < level.status() => Ok(0),
        _ => Ok(worst.code()),
    }
}

/// The results in `--format`, on stdout or into `--output`.
fn print(args: &RunArgs, results: &[CheckResult], metrics: &RunnerMetrics) -> Result<(), Exit> {
    let out = match args.format {
        Format::Human => render::human::render(results, args.verbose),
        Format::Json => render::json::render(results) + "\n",
        Format::Junit => {
            let fail_at = args.fail_on.map_or(Status::Warning, FailOn::status);
            render::junit::render(results, fail_at) + "\n"
        }
        Format::Prometheus => render::prometheus::render(results, metrics),
    };
    match &args.output {
        Some(path) => {
            // A file gets no terminal colours.
            let plain = anstream::adapter::strip_str(&out).to_string();
            write(path, "--output", &plain)
        }
        None => {
            use std::io::Write;
            let mut stdout = anstream::stdout();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            Ok(())
        }
    }
}

/// The exposition into `--textfile`, and pushed to `--pushgateway`.
async fn sinks(
    args: &RunArgs,
    results: &[CheckResult],
    metrics: &RunnerMetrics,
    plugins: &Plugins,
) -> Result<(), Exit> {
    if let Some(path) = &args.textfile {
        write(
            path,
            "--textfile",
            &render::prometheus::render(results, metrics),
        )?;
    }
    if let Some(url) = args.pushgateway.clone() {
        let instance = args
            .instance
            .clone()
            .unwrap_or_else(crate::pushgateway::hostname);
        let (results, plugins) = (results.to_vec(), plugins.clone());
        let pushed = tokio::task::spawn_blocking(move || {
            crate::pushgateway::push(&url, &instance, &results, |r| {
                render::prometheus::render(r, &RunnerMetrics::of(r, compile_times(&plugins)))
            })
        })
        .await;
        match pushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(stop(Exit::Unavailable, format!("--pushgateway: {e:#}"))),
            Err(e) => return Err(stop(Exit::Software, format!("--pushgateway: {e}"))),
        }
    }
    Ok(())
}

/// Write `text` into `path` atomically; `what` names the option in the error.
fn write(path: &Path, what: &str, text: &str) -> Result<(), Exit> {
    crate::textfile::write_atomic(path, text)
        .map_err(|e| stop(Exit::CantCreat, format!("{what} {}: {e:#}", path.display())))
}
