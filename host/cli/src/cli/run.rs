//! `vitals run`.

use vitals_core::exit::Exit;
use vitals_core::report::{self, Status};
use vitals_runtime::capabilities::Clients;
use vitals_runtime::runner;

use super::args::{FailOn, RunArgs};
use super::{Outcome, error, prepare, report_problems};
use crate::metrics::RunnerMetrics;
use crate::render::{self, Format};

/// `vitals run`: run the plan once, render, write the sinks, and return the exit code.
pub(super) async fn run(args: RunArgs) -> Outcome {
    let RunArgs {
        config,
        checks,
        clusters,
        format,
        fail_on,
        verbose,
        textfile,
        pushgateway,
        instance,
        record,
        output,
    } = args;
    if let Some(dir) = &record
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return error(Exit::CantCreat, format!("--record {}: {e}", dir.display()));
    }
    let p = prepare(&config, &checks, &clusters, false).await?;
    if p.runs.is_empty() && !(checks.is_empty() && clusters.is_empty()) {
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
        &Clients::default(),
        &p.plugins,
        &p.runs,
        p.cfg.concurrency,
        record.as_deref(),
    )
    .await;
    let metrics = RunnerMetrics::of(&results, &p.plugins);
    let out = match format {
        Format::Human => render::human::render(&results, verbose),
        Format::Json => render::json::render(&results) + "\n",
        Format::Junit => {
            let fail_at = fail_on.map_or(Status::Warning, FailOn::status);
            render::junit::render(&results, fail_at) + "\n"
        }
        Format::Prometheus => render::prometheus::render(&results, &metrics),
    };
    match &output {
        Some(path) => {
            // A file gets no terminal colours.
            let plain = anstream::adapter::strip_str(&out).to_string();
            if let Err(e) = crate::textfile::write_atomic(path, &plain) {
                return error(
                    Exit::CantCreat,
                    format!("--output {}: {e:#}", path.display()),
                );
            }
        }
        None => {
            use std::io::Write;
            let mut stdout = anstream::stdout();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
        }
    }
    if let Some(path) = &textfile {
        let exposition = render::prometheus::render(&results, &metrics);
        if let Err(e) = crate::textfile::write_atomic(path, &exposition) {
            return error(
                Exit::CantCreat,
                format!("--textfile {}: {e:#}", path.display()),
            );
        }
    }
    if let Some(url) = pushgateway {
        let instance = instance.unwrap_or_else(crate::pushgateway::hostname);
        let (results, plugins) = (results.clone(), p.plugins.clone());
        let pushed = tokio::task::spawn_blocking(move || {
            crate::pushgateway::push(&url, &instance, &results, |r| {
                render::prometheus::render(r, &RunnerMetrics::of(r, &plugins))
            })
        })
        .await;
        match pushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return error(Exit::Unavailable, format!("--pushgateway: {e:#}")),
            Err(e) => return error(Exit::Software, format!("--pushgateway: {e}")),
        }
    }
    if let Some(code) = problem {
        return Err(code);
    }
    let worst = report::worst(&results);
    match fail_on {
        Some(level) if worst < level.status() => Ok(0),
        _ => Ok(worst.code()),
    }
}
