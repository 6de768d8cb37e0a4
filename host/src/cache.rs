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
                Ok(c) => return Ok((c, true)),
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
    Ok((component, false))
}

fn entry(engine: &wasmtime::Engine, dir: &Path, digest: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
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
