//! Secrets read from credential references (`*_env`, `*_file`). They stay in the
//! host: `Debug` never shows them and nothing passes them to a plugin.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A secret value; its `Debug` output is redacted.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// The secret itself, for the host's own use when it talks to an endpoint.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Read a secret from an environment variable of the host process.
pub fn from_env(var: &str) -> Result<Secret, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Secret(v.into())),
        Ok(_) => Err(format!("environment variable {var} is empty")),
        Err(_) => Err(format!("environment variable {var} is not set")),
    }
}

/// Read a secret from a file (surrounding whitespace trimmed).
pub fn from_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret(text.into()))
}
