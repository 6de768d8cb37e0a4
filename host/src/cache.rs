//! The compile cache: compiled components on disk, keyed by the SHA-256 of the
//! component and the engine's compatibility hash, written atomically, and loaded
//! only from a directory and files that the current user owns and nobody else can
//! write (deserialising runs native code).

use std::hash::{Hash, Hasher};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::Digest;
use wasmtime::component::Component;

/// The hex SHA-256 of a component, its cache key (with the engine's hash).
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Compile `bytes` (whose [`digest`] is `digest`), through the cache in `dir` when
/// there is one. Returns the component and whether it came from the cache.
pub fn compile(
    engine: &wasmtime::Engine,
    dir: Option<&Path>,
    bytes: &[u8],
    digest: &str,
) -> anyhow::Result<(Component, bool)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    let file = entry(engine, dir, digest);
    if file.exists() {
        match trusted(dir).and_then(|()| trusted(&file)) {
            // SAFETY: the artifact sits in a directory that only the current user can
            // write, was written there by this host (`store`) from a component it
            // compiled, and is keyed by the engine's compatibility hash; wasmtime
            // still checks its header and refuses an incompatible or corrupt file,
            // which is then recompiled.
            Ok(()) => match unsafe { Component::deserialize_file(engine, &file) } {
                Ok(c) => {
                    touch(&file);
                    return Ok((c, true));
                }
                Err(e) => {
                    tracing::warn!(file = %file.display(), "ignoring unusable cache entry: {e}")
                }
            },
            Err(e) => tracing::warn!(file = %file.display(), "not using the compile cache: {e:#}"),
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(dir, &file, &component) {
        tracing::warn!(dir = %dir.display(), "cannot write the compile cache: {e:#}");
    }
    prune(dir, MAX_UNUSED, MAX_BYTES);
    Ok((component, false))
}

fn entry(engine: &wasmtime::Engine, dir: &Path, digest: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
}

/// Entries not used for this long are removed when a new one is written.
const MAX_UNUSED: std::time::Duration = std::time::Duration::from_secs(30 * 86400);
/// Past this total the least recently used entries are removed (a Python or
/// JavaScript plugin compiles to some 35 MB, and every rebuild is a new entry).
const MAX_BYTES: u64 = 2 << 30;

/// Mark an entry as used (its modification time orders [`prune`]).
fn touch(file: &Path) {
    let _ = std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()));
}

/// Remove the cache entries (`*.cwasm`) unused for longer than `max_unused`,
/// then the least recently used ones until the rest fit in `max_bytes`.
fn prune(dir: &Path, max_unused: std::time::Duration, max_bytes: u64) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = read
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    entries.sort();
    let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
    for (modified, len, path) in entries {
        let stale = now
            .duration_since(modified)
            .is_ok_and(|age| age > max_unused);
        if !stale && total <= max_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            tracing::info!(file = %path.display(), "removed from the compile cache");
            total = total.saturating_sub(len);
        }
    }
}

/// Owned by the current user and not writable by group or others.
fn trusted(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        anyhow::bail!(
            "{} is owned by uid {}, not by the current user ({me})",
            path.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o022 != 0 {
        anyhow::bail!("{} is writable by group or others", path.display());
    }
    Ok(())
}

fn store(dir: &Path, file: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    trusted(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &component.serialize()?)?;
    tmp.persist(file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn entry(dir: &Path, name: &str, len: usize, age: Duration) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; len]).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn prune_removes_the_unused_then_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(86400);
        let ancient = entry(dir.path(), "a.cwasm", 10, 40 * day);
        let old = entry(dir.path(), "b.cwasm", 100, 3 * day);
        let recent = entry(dir.path(), "c.cwasm", 100, day);
        let fresh = entry(dir.path(), "d.cwasm", 100, Duration::from_secs(3600));
        let other = entry(dir.path(), "notes.txt", 1000, 40 * day);
        prune(dir.path(), 30 * day, 250);
        assert!(!ancient.exists(), "unused for 40 days");
        assert!(!old.exists(), "least recently used, over the size cap");
        assert!(recent.exists() && fresh.exists());
        assert!(other.exists(), "only cache entries are touched");
        // Using an entry makes it the most recently used.
        touch(&recent);
        prune(dir.path(), 30 * day, 100);
        assert!(recent.exists() && !fresh.exists());
    }
}
