//! Commands that prepare a deployment: `vitals rbac` and `vitals precompile`.

use std::path::{Path, PathBuf};

use vitals_core::config::{Check, Config};
use vitals_core::exit::Exit;
use vitals_runtime::engine::Engine;

use super::args::ConfigArg;
use super::{Outcome, error};

/// `vitals rbac`: print the RBAC of the selected checks' grants.
pub(super) fn rbac(config: &ConfigArg, checks: &[String], who: &crate::rbac::Identity) -> Outcome {
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
            Ok(0)
        }
        Err(e) => error(Exit::Software, e),
    }
}

/// `vitals precompile`: compile and check each plugin, and write its compiled
/// code into `out`, readable by all.
pub(super) async fn precompile(
    out: &Path,
    cache_dir: Option<PathBuf>,
    plugins: &[PathBuf],
) -> Outcome {
    let cache_dir = cache_dir.or_else(vitals_core::config::default_cache_dir);
    let engine = match Engine::new(cache_dir) {
        Ok(e) => e,
        Err(e) => return error(Exit::Software, format!("cannot start the engine: {e:#}")),
    };
    let mut outcome = Ok(0);
    for path in plugins {
        let plugin = match engine.load(path).await {
            Ok(p) => p,
            Err(e) => {
                outcome = error(Exit::Plugin, e);
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
    outcome
}
