//! The command line: `vitals run`, `serve`, `list`, `validate`, `rbac`, `precompile`,
//! `test` and `plugin new`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::metrics::RunnerMetrics;
use crate::render::{self, Format};
use vitals_core::config::{Check, Config};
use vitals_core::exit::Exit;
use vitals_core::plan::{self, PlannedRun};
use vitals_core::report::{self, Status};
use vitals_runtime::capabilities::{self, Clients};
use vitals_runtime::engine::Engine;
use vitals_runtime::runner::{self, Plugins};

const ABOUT: &str = "Sandboxed WebAssembly health checks for platform clusters";

const LONG_ABOUT: &str = "\
vitals runs health checks (WebAssembly components) against live clusters: etcd, Redis
Sentinel, Galera, Kubernetes nodes, Cilium L2, Vault, cert-manager Certificates,
workloads, and plugins of your own in Rust, Python, JavaScript or C. Each check runs
sandboxed: it reaches only the endpoints its check grants and never sees a credential.

Configuration lives in one directory:
  vitals.toml      plugin_dir, cache_dir, concurrency, [defaults], [clusters.*]
                   (plugin_dir and cache_dir default to $VITALS_PLUGIN_DIR and
                   $VITALS_CACHE_DIR when set, as in the container image)
  checks.d/*.toml  one check per file: plugin, clusters, timeout, [grants], [params]

Exit codes: 0 ok, 1 warning, 2 critical, 3 unknown (the worst result; see --fail-on),
64 usage error, 65 plugin load error, 66 unreadable cassette (test), 69 --pushgateway
failed, 70 internal error, 71 serve cannot listen, 73 cannot write --textfile,
--output or --record, 78 configuration error.";

const AFTER_HELP: &str = "\
Examples:
  vitals run --config /etc/vitals
  vitals run --config /etc/vitals --check etcd --cluster prod --format json
  vitals run --config /etc/vitals --fail-on critical      # warnings do not fail CI
  vitals serve --config /etc/vitals --listen 0.0.0.0:9927 # for Prometheus
  vitals validate --config /etc/vitals                    # no network
  vitals list --config /etc/vitals
  vitals rbac --config /etc/vitals | kubectl apply -f -   # least-privilege RBAC
  vitals run --config /etc/vitals --check etcd --record ./cassettes
  vitals test etcd.wasm --cassette ./cassettes/etcd@prod.json   # offline replay
  vitals plugin new my_check --lang python                # rust, python, js, c";

#[derive(Parser, Debug)]
#[command(name = "vitals", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log level for the host's own log on stderr (error, warn, info, debug, trace;
    /// default: info for serve, warn otherwise). RUST_LOG overrides it.
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
}

#[derive(clap::Args, Debug)]
struct ConfigArg {
    /// Configuration directory (holding vitals.toml and checks.d/), or the vitals.toml file.
    #[arg(
        long,
        short = 'c',
        env = "VITALS_CONFIG",
        default_value = "/etc/vitals",
        value_name = "DIR"
    )]
    config: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run checks once and report; the exit code is the worst status.
    #[command(after_help = "\
Examples:
  vitals run --config ./demo
  vitals run --config /etc/vitals --check etcd --cluster prod --cluster staging
  vitals run --config /etc/vitals --format json | jq '.results[] | select(.status != \"ok\")'
  vitals run --config /etc/vitals --fail-on warning      # CI: fail on warning or worse
  vitals run --config /etc/vitals --format junit --fail-on critical > vitals.xml
  vitals run --config /etc/vitals --format json --output /results/vitals.json
  vitals run --config /etc/vitals --textfile /var/lib/node_exporter/textfile/vitals.prom  # cron
  vitals run --config /etc/vitals --pushgateway http://pushgateway:9091

Exit codes: the worst status of the runs, 0 ok, 1 warning, 2 critical, 3 unknown.
With --fail-on LEVEL the exit is 0 unless the worst status is at or above LEVEL.
A configuration error exits 78, a plugin that cannot be loaded 65 (after reporting
the other checks), a bad --check or --cluster 64, a failed --pushgateway 69, an
unwritable --textfile or --output 73.")]
    Run(RunArgs),
    /// Run every enabled check on its interval and serve the latest results to
    /// Prometheus.
    #[command(after_help = "\
Endpoints:
  /metrics                         latest results and the runner's metrics (OpenMetrics
                                   when the scraper asks for it, else the text format)
  /probe?check=NAME&cluster=NAME   run one check now and return its metrics
  /api/v1/results                  latest results, as `vitals run --format json`
  /healthz, /readyz                liveness; ready once every check has a result
  POST /-/reload                   reload the configuration, as SIGHUP does

Each check runs every `interval` (±5 %), the first run within a tenth of it; a
check never overlaps itself, and scrapes never wait on a run. With `retries` a
result worse than ok is re-run before it is reported. SIGHUP reloads the
configuration: unchanged checks keep their latest result, and a configuration that
does not load (or whose plugins do not) is refused while the old one keeps running.
SIGTERM and SIGINT stop.

Examples:
  vitals serve --config /etc/vitals
  vitals serve --config /etc/vitals --listen 0.0.0.0:9927
  curl -s localhost:9927/probe?check=etcd\\&cluster=prod
  kill -HUP $(pidof vitals)                              # reload
  curl -X POST localhost:9927/-/reload                   # reload, answering 200 or 500

Prometheus:
  scrape_configs:
    - job_name: vitals
      static_configs: [{targets: ['vitals-host:9927']}]")]
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9927", value_name = "ADDR")]
        listen: std::net::SocketAddr,
    },
    /// List the checks, their clusters and plugins, and each plugin's parameters.
    #[command(after_help = "Example:\n  vitals list --config /etc/vitals")]
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value = "human")]
        format: Format,
    },
    /// Run a plugin offline against a cassette recorded by `vitals run --record`:
    /// its capability calls are answered from the cassette, never the network.
    #[command(after_help = "\
Examples:
  vitals run --config /etc/vitals --check etcd --record ./cassettes
  vitals test target/plugins/etcd.wasm --cassette ./cassettes/etcd@prod.json
  vitals test plugin.wasm --cassette quorum-lost.json --expect critical --expect-finding 'quorum lost'
  vitals test plugin.wasm --cassette healthy.json --params strict.toml --expect warning

The expected status defaults to the one the cassette recorded. A call the cassette
has no answer for gets a `denied` error and fails the test, naming the call. The
plugin's wall clock starts at the recording time, so ages and expiries are judged
as they were then.

Exit codes: 0 as expected, 1 not as expected, 64 usage error, 65 the plugin cannot
be loaded, 66 the cassette cannot be read, 78 bad --params.")]
    Test(TestArgs),
    /// Make and develop plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print the least-privilege Kubernetes RBAC for the configuration: get and
    /// list on exactly the resources the checks' `[grants] kubernetes` name.
    #[command(after_help = "\
A ClusterRole and ClusterRoleBinding hold the cluster-wide grants (`nodes`,
`cilium.io/*`), and a Role and RoleBinding per namespace the `resource@namespace`
grants (`coordination.k8s.io/leases@kube-node-lease`) that the cluster-wide rules
do not already cover. Verbs are only get and list; Secrets cannot be granted. A
grant added to a check changes the output: apply it again.

Examples:
  vitals rbac --config /etc/vitals | kubectl apply -f -
  vitals rbac --config /etc/vitals --namespace monitoring --service-account vitals
  vitals rbac --config /etc/vitals --check node --name vitals-node

Exit codes: 0 printed, 64 unknown --check, 78 configuration error.")]
    Rbac {
        #[command(flatten)]
        config: ConfigArg,
        /// Namespace of the service account vitals runs as.
        #[arg(long, default_value = "vitals", value_name = "NAMESPACE")]
        namespace: String,
        /// The service account vitals runs as.
        #[arg(long, default_value = "vitals", value_name = "NAME")]
        service_account: String,
        /// Name of the roles and bindings.
        #[arg(long, default_value = "vitals", value_name = "NAME")]
        name: String,
        /// Only the grants of this check (repeatable; default: every check,
        /// disabled ones too, since `serve` can probe them).
        #[arg(long = "check", value_name = "NAME")]
        checks: Vec<String>,
    },
    /// Compile plugins ahead of time into a directory that `VITALS_PRECOMPILED_DIR`
    /// names, so that the first run loads them warm (container images).
    #[command(after_help = "\
Each plugin is compiled for this host's wasmtime and CPU and checked like `vitals
validate` checks it (contract version, describe). The directory is written
readable by everyone and writable by its owner only; vitals loads an entry from it
only when the directory and the file are owned by root or by the user running
vitals and nobody else can write them, and only for the very plugin file it was
compiled from (the key is the plugin's SHA-256 and the engine's compatibility
hash). A plugin changed since, or a host on another CPU, compiles into the
ordinary cache (`cache_dir`) instead.

Examples:
  vitals precompile --out /usr/lib/vitals/precompiled /usr/lib/vitals/plugins/*.wasm
  VITALS_PRECOMPILED_DIR=/usr/lib/vitals/precompiled vitals run --config /etc/vitals

Exit codes: 0 compiled, 65 a plugin cannot be loaded, 73 the directory cannot be
written.")]
    Precompile {
        /// Directory to write the compiled plugins to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Compile cache to compile through (default: $XDG_CACHE_HOME/vitals or
        /// ~/.cache/vitals).
        #[arg(long, env = "VITALS_CACHE_DIR", value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Plugin components to compile.
        #[arg(value_name = "PLUGIN.wasm", required = true)]
        plugins: Vec<PathBuf>,
    },
    /// Check the configuration and that every plugin loads and matches the contract
    /// and its check's parameters. Makes no network connection.
    #[command(
        after_help = "Example:\n  vitals validate --config /etc/vitals && systemctl reload vitals"
    )]
    Validate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Arguments of `vitals run`.
#[derive(clap::Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Run only this check (repeatable). Named checks run even when disabled.
    #[arg(long = "check", value_name = "NAME")]
    checks: Vec<String>,
    /// Run only against this cluster (repeatable).
    #[arg(long = "cluster", value_name = "NAME")]
    clusters: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
    /// Exit non-zero only when the worst status is at or above this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<FailOn>,
    /// Also list the findings of healthy runs, and a failed plugin's output.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Also write the Prometheus exposition to this file, atomically, for
    /// node_exporter's textfile collector (name it *.prom).
    #[arg(long, value_name = "PATH")]
    textfile: Option<PathBuf>,
    /// Also push the exposition to this Pushgateway, one group per cluster
    /// (job="vitals", instance=<host>, cluster=<cluster>).
    #[arg(long, value_name = "URL")]
    pushgateway: Option<String>,
    /// Write the report (in --format) to this file, atomically, instead of
    /// stdout: JUnit or JSON into a CI artefact or a volume.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// The `instance` grouping label of --pushgateway (default: the hostname).
    #[arg(long, value_name = "NAME", requires = "pushgateway")]
    instance: Option<String>,
    /// Write each run's capability calls and answers to a cassette in this
    /// directory (`<check>@<cluster>.json`, secrets scrubbed), for `vitals test`.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
}

/// `vitals plugin ...`.
#[derive(Subcommand, Debug)]
enum PluginCommand {
    /// Create a new check plugin: source, SDK, contract (wit/), build.sh, an example
    /// checks.d entry, and test.sh, which builds it and replays recorded cassettes.
    #[command(after_help = "\
Examples:
  vitals plugin new queue_depth --lang rust
  vitals plugin new vault_seal --lang python
  vitals plugin new cert_expiry --lang js
  vitals plugin new pod_check --lang c
  cd queue_depth && ./test.sh          # build, then test offline

The example plugin GETs /healthz on every URL of an http endpoint (in C: lists
the Kubernetes nodes); its cassettes (cassettes/*.json) hold a healthy and a
failing answer. Record real ones with `vitals run --record DIR` and replay them
with `vitals test`.

Toolchains (each build.sh says so too): rust `rustup target add wasm32-wasip2`;
python componentize-py 0.25.1 (pip); js @bytecodealliance/componentize-js 0.23.0
with @bytecodealliance/preview2-shim 0.25.0 (npm); c clang-19, lld-19, wasi-libc
and libclang-rt-19-dev-wasm32 (apt), wit-bindgen-cli 0.63.0 and wasm-tools 1.263.0
(cargo install). See docs/plugin-authoring.md.")]
    New {
        /// Plugin name: lowercase letters, digits and `_` (it names the metrics).
        name: String,
        /// Language of the plugin.
        #[arg(long, value_enum)]
        lang: crate::scaffold::Lang,
        /// Directory to create (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Arguments of `vitals test`.
#[derive(clap::Args, Debug)]
struct TestArgs {
    /// The plugin component to test.
    #[arg(value_name = "PLUGIN.wasm")]
    plugin: PathBuf,
    /// The cassette to answer its calls from.
    #[arg(long, value_name = "FILE")]
    cassette: PathBuf,
    /// Parameters to run with instead of the recorded ones: TOML (top-level keys,
    /// or a check file's [params]) or a JSON object.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// The status expected (default: the recorded one).
    #[arg(long, value_enum, value_name = "STATUS")]
    expect: Option<Status>,
    /// A text expected in the summary or some finding (`subject: message`);
    /// repeatable.
    #[arg(long = "expect-finding", value_name = "TEXT")]
    expect_findings: Vec<String>,
    /// Expect the recorded findings: the same subjects with the same statuses.
    #[arg(long)]
    same_findings: bool,
    /// Stop the plugin after this long.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: std::time::Duration,
    /// The plugin's memory cap, as in a check's `memory_limit` (same default).
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    memory_limit: bytesize::ByteSize,
    /// Compile cache (default: $XDG_CACHE_HOME/vitals or ~/.cache/vitals).
    #[arg(long, env = "VITALS_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Also list the findings when the status is ok.
    #[arg(long, short = 'v')]
    verbose: bool,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Levels for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Warning,
    Critical,
    Unknown,
}

impl FailOn {
    fn status(self) -> Status {
        match self {
            FailOn::Warning => Status::Warning,
            FailOn::Critical => Status::Critical,
            FailOn::Unknown => Status::Unknown,
        }
    }
}

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
    ExitCode::from(rt.block_on(dispatch(cli.command)))
}

fn fail(code: Exit, message: String) -> ExitCode {
    eprintln!("vitals: {message}");
    ExitCode::from(code.code())
}

fn error(code: Exit, message: impl std::fmt::Display) -> u8 {
    eprintln!("vitals: error: {message}");
    code.code()
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
) -> Result<Prepared, u8> {
    let cfg = Config::load(&config.config).map_err(|e| error(Exit::Config, e))?;
    let runs = plan::plan(&cfg, checks, clusters).map_err(|e| error(Exit::Usage, e))?;
    let selected: Vec<Arc<Check>> = cfg
        .checks
        .iter()
        .filter(|c| all || runs.iter().any(|r| r.check.name == c.name))
        .cloned()
        .collect();
    let engine = Engine::new(cfg.cache_dir.clone())
        .map_err(|e| error(Exit::Software, format!("cannot start the engine: {e:#}")))?;
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
fn report_problems(p: &Prepared) -> Option<u8> {
    let mut code = None;
    for e in p.plugins.values().filter_map(|l| l.as_ref().err()) {
        code = Some(error(Exit::Plugin, e));
    }
    for check in &p.checks {
        if let Some(Ok(plugin)) = p.plugins.get(&check.plugin)
            && let Err(e) = vitals_core::schema::check_params(check, &plugin.info)
        {
            code = Some(error(Exit::Config, e));
        }
    }
    code
}

async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run(args) => run(args).await,
        Command::Test(args) => test(args).await,
        Command::Plugin(PluginCommand::New { name, lang, dir }) => {
            use crate::scaffold::{self, ScaffoldError};
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            match scaffold::new_plugin(&name, lang, &dir) {
                Ok(files) => {
                    println!("created {} ({} files):", dir.display(), files.len());
                    for f in files.iter().filter(|f| {
                        !f.starts_with("wit")
                            && !f.starts_with("vitals-plugin")
                            && !f.starts_with("sdk")
                    }) {
                        println!("  {}", f.display());
                    }
                    println!(
                        "  wit/ (the contract), and the SDK\n\nnext: cd {} && ./test.sh",
                        dir.display()
                    );
                    0
                }
                Err(e @ ScaffoldError::Write { .. }) => error(Exit::CantCreat, e),
                Err(e) => error(Exit::Usage, e),
            }
        }
        Command::Serve { config, listen } => crate::serve::serve(&config.config, listen).await,
        Command::List { config, format } => {
            let p = match prepare(&config, &[], &[], true).await {
                Ok(p) => p,
                Err(code) => return code,
            };
            list(&p.cfg, &p.plugins, format);
            report_problems(&p).unwrap_or(0)
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
            rbac(&config, &checks, &who)
        }
        Command::Precompile {
            out,
            cache_dir,
            plugins,
        } => precompile(&out, cache_dir, &plugins).await,
        Command::Validate { config } => {
            let p = match prepare(&config, &[], &[], true).await {
                Ok(p) => p,
                Err(code) => return code,
            };
            if let Some(code) = report_problems(&p) {
                return code;
            }
            for c in p.cfg.checks.iter().filter(|c| c.clusters.is_empty()) {
                eprintln!(
                    "vitals: warning: check {:?} matches no cluster (no cluster has all its granted endpoints)",
                    c.name
                );
            }
            for c in p
                .cfg
                .checks
                .iter()
                .filter(|c| c.grants.is_empty() && capabilities::describe(c).is_empty())
            {
                eprintln!(
                    "vitals: warning: check {:?} ({}) grants nothing: its plugin can reach no endpoint, so runs that need one are unknown (add `[grants] endpoints = [...]`)",
                    c.name,
                    c.file.display()
                );
            }
            println!(
                "configuration ok: {} checks, {} clusters, {} plugins, {} runs planned",
                p.cfg.checks.len(),
                p.cfg.clusters.len(),
                p.plugins.len(),
                p.runs.len()
            );
            0
        }
    }
}

/// `vitals run`: run the plan once, render, write the sinks, and return the exit code.
async fn run(args: RunArgs) -> u8 {
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
    let p = match prepare(&config, &checks, &clusters, false).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    if p.runs.is_empty() && !(checks.is_empty() && clusters.is_empty()) {
        return error(
            Exit::Usage,
            "the --check and --cluster filters select no run",
        );
    }
    let problem = report_problems(&p);
    if problem == Some(Exit::Config.code()) {
        return Exit::Config.code();
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
        return code;
    }
    let worst = report::worst(&results);
    match fail_on {
        Some(level) if worst < level.status() => 0,
        _ => worst.code(),
    }
}

/// `vitals rbac`: print the RBAC of the selected checks' grants.
fn rbac(config: &ConfigArg, checks: &[String], who: &crate::rbac::Identity) -> u8 {
    let cfg = match Config::load(&config.config) {
        Ok(cfg) => cfg,
        Err(e) => return error(Exit::Config, e),
    };
    if let Some(unknown) = checks
        .iter()
        .find(|n| !cfg.checks.iter().any(|c| &&c.name == n))
    {
        let known: Vec<&str> = cfg.checks.iter().map(|c| c.name.as_str()).collect();
        return error(
            Exit::Usage,
            format!("no check named {unknown:?} (checks: {})", known.join(", ")),
        );
    }
    let selected: Vec<&Check> = cfg
        .checks
        .iter()
        .filter(|c| checks.is_empty() || checks.contains(&c.name))
        .map(|c| c.as_ref())
        .collect();
    match crate::rbac::render(&selected, who) {
        Ok(yaml) => {
            print!("{yaml}");
            0
        }
        Err(e) => error(Exit::Software, e),
    }
}

/// `vitals precompile`: compile and check each plugin, and write its compiled
/// code into `out`, readable by all.
async fn precompile(out: &Path, cache_dir: Option<PathBuf>, plugins: &[PathBuf]) -> u8 {
    let cache_dir = cache_dir.or_else(vitals_core::config::default_cache_dir);
    let engine = match Engine::new(cache_dir) {
        Ok(e) => e,
        Err(e) => return error(Exit::Software, format!("cannot start the engine: {e:#}")),
    };
    let mut code = 0;
    for path in plugins {
        let plugin = match engine.load(path).await {
            Ok(p) => p,
            Err(e) => {
                code = error(Exit::Plugin, e);
                continue;
            }
        };
        match engine.export(&plugin, out) {
            Ok(file) => println!(
                "{} ({} {}, contract {}): {}",
                path.display(),
                plugin.info.name,
                plugin.info.version,
                plugin.contract_version,
                file.display()
            ),
            Err(e) => return error(Exit::CantCreat, format!("--out {}: {e:#}", out.display())),
        }
    }
    code
}

/// `vitals test`: replay a cassette through a plugin and compare.
async fn test(args: TestArgs) -> u8 {
    use vitals_runtime::replay::{self, TestError, TestSpec};
    let spec = TestSpec {
        plugin: args.plugin,
        cassette: args.cassette,
        params: args.params,
        expect: args.expect,
        expect_findings: args.expect_findings,
        same_findings: args.same_findings,
        timeout: args.timeout,
        memory_limit: args.memory_limit.as_u64(),
        cache_dir: args.cache_dir,
    };
    let outcome = match replay::run(&spec).await {
        Ok(o) => o,
        Err(e) => {
            let code = match &e {
                TestError::Cassette(_) => Exit::NoInput,
                TestError::Params(_) => Exit::Config,
                TestError::Plugin(_) => Exit::Plugin,
                TestError::Engine(_) => Exit::Software,
                TestError::Usage(_) => Exit::Usage,
            };
            return error(code, e);
        }
    };
    let mut out = render::human::render(std::slice::from_ref(&outcome.result), args.verbose);
    let what = format!(
        "{} with {} ({} recorded calls)",
        spec.plugin.display(),
        spec.cassette.display(),
        outcome.calls
    );
    for note in &outcome.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    if !outcome.unused.is_empty() {
        out.push_str(&format!(
            "note: {} recorded calls were not asked for: {}\n",
            outcome.unused.len(),
            outcome.unused.join(", ")
        ));
    }
    let code = if outcome.mismatches.is_empty() {
        out.push_str(&format!("PASS {what}: {}\n", outcome.result.status));
        0
    } else {
        out.push_str(&format!("FAIL {what}\n"));
        for m in &outcome.mismatches {
            out.push_str(&format!("  - {m}\n"));
        }
        1
    };
    use std::io::Write;
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    code
}

fn list(cfg: &Config, plugins: &Plugins, format: Format) {
    if format == Format::Json {
        let checks: Vec<serde_json::Value> = cfg
            .checks
            .iter()
            .map(|c| {
                let plugin = match plugins.get(&c.plugin) {
                    Some(Ok(p)) => serde_json::json!({
                        "file": p.path, "name": p.info.name, "version": p.info.version,
                        "contract": p.contract_version.to_string(), "description": p.info.description,
                        "compiled_from_cache": p.cached, "compile_seconds": p.compile_seconds,
                        "params": p.info.params.iter().map(|s| serde_json::json!({
                            "name": s.name, "kind": s.kind, "description": s.description,
                            "default": s.default_value, "required": s.required})).collect::<Vec<_>>(),
                    }),
                    Some(Err(e)) => serde_json::json!({"file": c.plugin, "error": e.to_string()}),
                    None => serde_json::json!({"file": c.plugin}),
                };
                let mut grants = serde_json::Map::new();
                grants.insert("endpoints".into(), c.grants.clone().into());
                for (capability, granted) in capabilities::describe(c) {
                    grants.insert(capability.into(), granted);
                }
                serde_json::json!({
                    "check": c.name, "enabled": c.enabled, "clusters": c.clusters,
                    "timeout_seconds": c.timeout.as_secs_f64(), "interval_seconds": c.interval.as_secs_f64(),
                    "grants": grants, "params": c.params, "plugin": plugin,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"checks": checks}))
                .expect("serialises")
        );
        return;
    }
    for c in &cfg.checks {
        let state = if c.enabled { "" } else { " (disabled)" };
        println!("{}{state}", c.name);
        println!(
            "  clusters: {}",
            if c.clusters.is_empty() {
                "(none)".into()
            } else {
                c.clusters.join(", ")
            }
        );
        println!(
            "  timeout {:?}, interval {:?}, grants: {}",
            c.timeout,
            c.interval,
            c.grants.join(", ")
        );
        for (capability, granted) in capabilities::describe(c) {
            println!("  {capability}: {}", one_line(&granted));
        }
        match plugins.get(&c.plugin) {
            Some(Ok(p)) => {
                println!(
                    "  plugin: {} {} ({}, contract {}@{})",
                    p.info.name,
                    p.info.version,
                    p.path.display(),
                    vitals_runtime::contract::PACKAGE,
                    p.contract_version
                );
                println!("    {}", p.info.description);
                for s in &p.info.params {
                    let default = match (&s.default_value, s.required) {
                        (Some(d), _) => format!(" (default {d})"),
                        (None, true) => " (required)".into(),
                        (None, false) => " (optional)".into(),
                    };
                    let set = c
                        .params
                        .get(&s.name)
                        .map(|v| format!(" = {v}"))
                        .unwrap_or_default();
                    println!(
                        "    {} <{}>{set}{default}: {}",
                        s.name, s.kind, s.description
                    );
                }
            }
            Some(Err(e)) => println!("  plugin: {e}"),
            None => println!("  plugin: {}", c.plugin.display()),
        }
    }
}

/// A grant description on one line: lists joined by ", ", objects as
/// `key list; key list` (empty lists left out).
fn one_line(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => {
            items.iter().map(one_line).collect::<Vec<_>>().join(", ")
        }
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.as_array().is_some_and(Vec::is_empty))
            .map(|(k, v)| format!("{k} {}", one_line(v)))
            .collect::<Vec<_>>()
            .join("; "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
