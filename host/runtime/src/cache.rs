//! The compile cache: compiled components on disk, keyed by the SHA-256 of the
//! component and the engine's compatibility hash, written atomically, and loaded
//! only from a directory and files that the current user owns and nobody else can
//! write (deserialising runs native code).
//!
//! A read-only directory of precompiled plugins (`vitals precompile`, named by
//! `VITALS_PRECOMPILED_DIR`, e.g. in a container image) is consulted first; its
//! directory and files may also be owned by root, who alone can write them.

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

/// The environment variable naming the read-only directory of precompiled plugins.
pub const PRECOMPILED_ENV: &str = "VITALS_PRECOMPILED_DIR";

/// Where compiled plugins are looked up and kept.
#[derive(Debug, Clone, Default)]
pub struct Dirs {
    /// The writable cache (`cache_dir`); `None` disables it.
    pub cache: Option<PathBuf>,
    /// Read-only precompiled plugins, looked up first.
    pub precompiled: Option<PathBuf>,
}

impl Dirs {
    /// `cache` and the precompiled directory named by [`PRECOMPILED_ENV`].
    pub fn new(cache: Option<PathBuf>) -> Dirs {
        let precompiled = std::env::var_os(PRECOMPILED_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        Dirs { cache, precompiled }
    }
}

/// Who may own a directory or file that compiled code is loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The current user only (the writable cache).
    Me,
    /// The current user or root (a read-only precompiled directory).
    MeOrRoot,
}

/// The compiled component for `digest` from the precompiled directory or the
/// cache in `dirs`, if either has a usable one.
pub fn cached(engine: &wasmtime::Engine, dirs: &Dirs, digest: &str) -> Option<Component> {
    if let Some(dir) = &dirs.precompiled
        && let Some(c) = lookup(engine, dir, digest, Owner::MeOrRoot)
    {
        return Some(c);
    }
    let dir = dirs.cache.as_deref()?;
    let c = lookup(engine, dir, digest, Owner::Me)?;
    touch(&entry(engine, dir, digest));
    Some(c)
}

/// Compile `bytes` (whose [`digest`] is `digest`), through the precompiled
/// directory and the cache in `dirs` when there are any. Returns the component
/// and whether it came from one of them.
pub fn compile(
    engine: &wasmtime::Engine,
    dirs: &Dirs,
    bytes: &[u8],
    digest: &str,
) -> anyhow::Result<(Component, bool)> {
    if let Some(c) = cached(engine, dirs, digest) {
        return Ok((c, true));
    }
    let Some(dir) = dirs.cache.as_deref() else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    let file = entry(engine, dir, digest);
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(dir, &file, &component) {
        tracing::warn!(dir = %dir.display(), "cannot write the compile cache: {e:#}");
    }
    prune(dir, MAX_UNUSED, MAX_BYTES);
    Ok((component, false))
}

/// The compiled component for `digest` in `dir`, if there is a usable one.
fn lookup(engine: &wasmtime::Engine, dir: &Path, digest: &str, owner: Owner) -> Option<Component> {
    let file = entry(engine, dir, digest);
    if !file.exists() {
        return None;
    }
    if let Err(e) = trusted(dir, owner).and_then(|()| trusted(&file, owner)) {
        tracing::warn!(file = %file.display(), "not using the compiled plugin: {e:#}");
        return None;
    }
    // SAFETY: the artifact sits in a directory that only the current user (or
    // root, for a precompiled directory) can write, was written there by this
    // host (`store`, `vitals precompile`) from a component it compiled, and is
    // keyed by the component's digest and the engine's compatibility hash;
    // wasmtime still checks its header and refuses an incompatible or corrupt
    // file, which is then recompiled.
    match unsafe { Component::deserialize_file(engine, &file) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(file = %file.display(), "ignoring unusable compiled plugin: {e}");
            None
        }
    }
}

/// Write `component` (compiled from the plugin whose digest is `digest`) into
/// `dir` for `$VITALS_PRECOMPILED_DIR` (`vitals precompile`): the directory
/// readable by everyone (the user a container runs as), the file too, both
/// writable by their owner alone. Returns the file written.
pub fn export(
    engine: &wasmtime::Engine,
    dir: &Path,
    digest: &str,
    component: &Component,
) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod 755 {}", dir.display()))?;
    let file = entry(engine, dir, digest);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &component.serialize()?)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(&file)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

fn entry(engine: &wasmtime::Engine, dir: &Path, digest: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
}

/// A plugin file's identity and times (device, inode, size, modification and
/// change times): while they are those it had when it was hashed, so is its
/// content, as git's index assumes. The change time cannot be set back.
fn stamp(meta: &std::fs::Metadata) -> String {
    format!(
        "{} {} {} {}.{:09} {}.{:09}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}

/// The cache's directory of remembered digests.
const DIGESTS: &str = "digests";

/// Where the digest of the plugin at `path` is remembered: `digests/` of the cache.
fn memo_file(dir: &Path, path: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    dir.join(DIGESTS).join(digest(path.as_os_str().as_bytes()))
}

/// The digest remembered for the plugin at `path` (now as `meta` says), if the
/// file's identity and times are those it had when it was hashed: a warm run
/// then neither reads nor hashes the file (tens of MB for a Python plugin).
pub fn remembered_digest(dirs: &Dirs, path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    let dir = dirs.cache.as_deref()?;
    let file = memo_file(dir, path);
    trusted(dir, Owner::Me).ok()?;
    trusted(&file, Owner::Me).ok()?;
    let text = std::fs::read_to_string(&file).ok()?;
    let (was, digest) = text.trim_end().rsplit_once(' ')?;
    let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && was == stamp(meta)).then(|| digest.to_string())
}

/// Whether two looks at a file saw it with the same identity and times.
pub fn same_stamp(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    stamp(a) == stamp(b)
}

/// Remember `digest` for the plugin at `path`, hashed as `meta` says it was
/// when looked at, at `looked` (taken before): not when the file had changed
/// less than 2 s before (a change within the same tick of its timestamps would
/// go unseen).
pub fn remember_digest(
    dirs: &Dirs,
    path: &Path,
    meta: &std::fs::Metadata,
    digest: &str,
    looked: std::time::SystemTime,
) {
    let Some(dir) = dirs.cache.as_deref() else {
        return;
    };
    let at = |secs: i64, nsec: i64| {
        std::time::UNIX_EPOCH
            + std::time::Duration::new(secs.max(0) as u64, nsec.clamp(0, 999_999_999) as u32)
    };
    let changed = at(meta.mtime(), meta.mtime_nsec()).max(at(meta.ctime(), meta.ctime_nsec()));
    let settled = looked
        .duration_since(changed)
        .is_ok_and(|age| age >= std::time::Duration::from_secs(2));
    if !settled {
        return;
    }
    let file = memo_file(dir, path);
    let digests = dir.join(DIGESTS);
    let memo = format!("{} {digest}\n", stamp(meta));
    if let Err(e) = write_private(&digests, &file, memo.as_bytes()) {
        tracing::debug!(file = %file.display(), "cannot remember the plugin's digest: {e:#}");
    }
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
/// then the least recently used ones until the rest fit in `max_bytes`; and
/// the digests remembered longer than `max_unused` ago (a plugin still in use
/// is hashed once more).
fn prune(dir: &Path, max_unused: std::time::Duration, max_bytes: u64) {
    let now = std::time::SystemTime::now();
    let old = |meta: &std::fs::Metadata| {
        meta.modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > max_unused)
    };
    if let Ok(memos) = std::fs::read_dir(dir.join(DIGESTS)) {
        for memo in memos.flatten() {
            if memo.metadata().is_ok_and(|m| m.is_file() && old(&m)) {
                let _ = std::fs::remove_file(memo.path());
            }
        }
    }
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
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

/// Owned by the current user (or root, when `owner` allows it) and not
/// writable by group or others.
fn trusted(path: &Path, owner: Owner) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let by_root = owner == Owner::MeOrRoot && meta.uid() == 0;
    if meta.uid() != me && !by_root {
        let allowed = match owner {
            Owner::Me => "the current user",
            Owner::MeOrRoot => "root or the current user",
        };
        anyhow::bail!(
            "{} is owned by uid {}, not by {allowed} ({me})",
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
    write_private(dir, file, &component.serialize()?)
}

/// Write `bytes` to `file` in `dir` at once (a temporary file in `dir`, renamed),
/// `dir` created private if missing and refused unless it is the current user's
/// and writable by no one else.
fn write_private(dir: &Path, file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    trusted(dir, Owner::Me)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
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
    fn compiled_code_loads_only_from_places_nobody_else_can_write() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = entry(dir.path(), "x.cwasm", 10, Duration::ZERO);
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(dir.path(), 0o755);
        mode(&file, 0o644);
        for owner in [Owner::Me, Owner::MeOrRoot] {
            assert!(trusted(dir.path(), owner).is_ok());
            assert!(trusted(&file, owner).is_ok());
        }
        mode(&file, 0o664);
        let e = trusted(&file, Owner::MeOrRoot).unwrap_err();
        assert!(e.to_string().contains("writable by group or others"), "{e}");
        mode(&file, 0o644);
        mode(dir.path(), 0o777);
        assert!(trusted(dir.path(), Owner::MeOrRoot).is_err());
    }

    #[test]
    fn a_digest_is_remembered_while_the_file_is_unchanged() {
        let cache = tempfile::tempdir().unwrap();
        let dirs = Dirs {
            cache: Some(cache.path().join("c")),
            precompiled: None,
        };
        let plugins = tempfile::tempdir().unwrap();
        let path = plugins.path().join("p.wasm");
        std::fs::write(&path, b"first").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let d = digest(b"first");
        // Just written: within the timestamps' granularity, not remembered.
        remember_digest(&dirs, &path, &meta, &d, SystemTime::now());
        assert_eq!(remembered_digest(&dirs, &path, &meta), None);
        // Settled: remembered, and found while the file is as it was.
        let later = SystemTime::now() + Duration::from_secs(10);
        remember_digest(&dirs, &path, &meta, &d, later);
        assert_eq!(remembered_digest(&dirs, &path, &meta), Some(d.clone()));
        // Rewritten with as many bytes and its modification time put back: only
        // the change time (and so the stamp) differs. (Past a second: some file
        // systems keep whole seconds.)
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&path, b"other").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        let now = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (now.len(), now.ino(), now.modified().unwrap()),
            (meta.len(), meta.ino(), meta.modified().unwrap())
        );
        assert!(!same_stamp(&meta, &now));
        assert_eq!(remembered_digest(&dirs, &path, &now), None);
        // Replaced by another file (a new inode) of the same size: not either.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"third").unwrap();
        let replaced = std::fs::metadata(&path).unwrap();
        assert_eq!(remembered_digest(&dirs, &path, &replaced), None);
        // A memo that others could have written is not believed.
        remember_digest(&dirs, &path, &replaced, &digest(b"third"), later);
        assert!(remembered_digest(&dirs, &path, &replaced).is_some());
        use std::os::unix::fs::PermissionsExt;
        let memo = memo_file(dirs.cache.as_deref().unwrap(), &path);
        std::fs::set_permissions(&memo, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(remembered_digest(&dirs, &path, &replaced), None);
        // No cache, no memory.
        assert_eq!(remembered_digest(&Dirs::default(), &path, &replaced), None);
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
        // Digests remembered long ago go; recent ones stay.
        let digests = dir.path().join("digests");
        std::fs::create_dir(&digests).unwrap();
        let stale = entry(&digests, "aa", 10, 40 * day);
        let kept = entry(&digests, "bb", 10, day);
        prune(dir.path(), 30 * day, 100);
        assert!(!stale.exists() && kept.exists());
    }
}
