//! `--textfile PATH`: the exposition written for node_exporter's textfile collector,
//! atomically (a temporary file in the same directory, then a rename), so that a
//! scrape never sees a half-written file.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

/// Write `contents` to `path` atomically, readable by other users (node_exporter
/// usually runs as its own user).
pub fn write_atomic(path: &Path, contents: &str) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.extension().is_none_or(|e| e != "prom") {
        tracing::warn!(path = %path.display(), "node_exporter's textfile collector reads only *.prom files");
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".vitals-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path)
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    Ok(())
}
