//! The command line: `vitals run`, `serve`, `list`, `validate`, `rbac`, `precompile`,
//! `test` and `plugin new`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use vitals_core::config::{Check, Config};
use vitals_core::exit::Exit;
use vitals_core::plan::{self, PlannedRun};
use vitals_runtime::engine::Engine;
use vitals_runtime::runner::{self, Plugins};

mod args;
mod deploy;
mod list;
mod plugin;
mod run;
mod test;

use args::{Cli, Command, ConfigArg, PluginCommand};

/// Entry point of the `vitals` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            });
        }
    };
    let level = cli.log_level.clone().unwrap_or_else(|| {
        match cli.command {
            Command::Serve { .. } => "info",
            _ => "warn",
        }
        .into()
    });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("vitals={level},wasmtime_wasi_http={level}"))
    });
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(Exit::Software, format!("cannot start the runtime: {e}")),
    };
    // The one place where how a command ended becomes the process's exit code.
    let code = match rt.block_on(dispatch(cli.command)) {
        Ok(verdict) => verdict,
        Err(stop) => stop.code(),
    };
    // Every command has finished its work and written its output: the exiting
    // process lets the kernel take the runtime's threads and memory rather
    // than joining and freeing them one by one.
    std::mem::forget(rt);
    ExitCode::from(code)
}

fn fail(code: Exit, message: String) -> ExitCode {
    eprintln!("vitals: {message}");
    ExitCode::from(code.code())
}

/// How a command ended: `Ok` with its verdict (`vitals run`: 0 ok, 1 warning,
/// 2 critical, 3 unknown; `vitals test`: 0 as expected, 1 not), or `Err` when it
/// stopped without one (the reason already printed).
type Outcome = Result<u8, Exit>;

/// Print an error; `code` is why the command stops.
fn stop(code: Exit, message: impl std::fmt::Display) -> Exit {
    eprintln!("vitals: error: {message}");
    code
}

/// Print an error and stop the command with `code`.
fn error(code: Exit, message: impl std::fmt::Display) -> Outcome {
    Err(stop(code, message))
}

/// What a command works on, after loading the configuration.
struct Prepared {
    cfg: Config,
    /// The checks the command is about (their plugins are loaded).
    checks: Vec<Arc<Check>>,
    runs: Vec<PlannedRun>,
    engine: Arc<Engine>,
    plugins: Plugins,
}

/// Load the configuration, plan, start the engine and load the plugins of the
/// selected checks (`all`: every check, enabled or not, even without clusters).
async fn prepare(
    config: &ConfigArg,
    checks: &[String],
    clusters: &[String],
    all: bool,
) -> Result<Prepared, Exit> {
    let cfg = Config::load(&config.config).map_err(|e| stop(Exit::Config, e))?;
    let runs = plan::plan(&cfg, checks, clusters).map_err(|e| stop(Exit::Usage, e))?;
    let selected: Vec<Arc<Check>> = cfg
        .checks
        .iter()
        .filter(|c| all || runs.iter().any(|r| r.check.name == c.name))
        .cloned()
        .collect();
    // At most `concurrency` runs at once, or as many as there are; before them,
    // every plugin loads at once (its `describe` is a run too).
    let at_once = cfg.concurrency.min(runs.len()).max(selected.len()).max(1);
    let engine = Engine::pooled(cfg.cache_dir.clone(), at_once)
        .map_err(|e| stop(Exit::Software, format!("cannot start the engine: {e:#}")))?;
    let engine = Arc::new(engine);
    let plugins = runner::load_plugins(&engine, &selected).await;
    Ok(Prepared {
        cfg,
        checks: selected,
        runs,
        engine,
        plugins,
    })
}

/// Report plugin load errors and parameter errors; returns the exit code they call for.
fn report_problems(p: &Prepared) -> Option<Exit> {
    let mut code = None;
    for e in p.plugins.values().filter_map(|l| l.as_ref().err()) {
        code = Some(stop(Exit::Plugin, e));
    }
    for check in &p.checks {
        if let Some(Ok(plugin)) = p.plugins.get(&check.plugin)
            && let Err(e) = vitals_core::schema::check_params(check, &plugin.info)
        {
            code = Some(stop(Exit::Config, e));
        }
    }
    code
}

async fn dispatch(command: Command) -> Outcome {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Test(args) => test::test(args).await,
        Command::Plugin(PluginCommand::New { name, lang, dir }) => plugin::new(&name, lang, dir),
        Command::Serve {
            config,
            listen,
            shard,
        } => {
            crate::serve::serve(&config.config, listen, shard).await?;
            Ok(0)
        }
        Command::List { config, format } => {
            let p = prepare(&config, &[], &[], true).await?;
            list::list(&p.cfg, &p.plugins, format);
            report_problems(&p).map_or(Ok(0), Err)
        }
        Command::Rbac {
            config,
            namespace,
            service_account,
            name,
            checks,
        } => {
            let who = crate::rbac::Identity {
                name,
                namespace,
                service_account,
            };
            deploy::rbac(&config, &checks, &who)
        }
        Command::Precompile {
            out,
            cache_dir,
            plugins,
        } => deploy::precompile(&out, cache_dir, &plugins).await,
        Command::Validate { config } => list::validate(&config).await,
    }
}
