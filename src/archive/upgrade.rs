//! Upgrading an archive written with one record per index entry (schema 1 and 2) to chunked
//! indexes (schema 3) by **rewriting it into a fresh sled directory** and swapping the two.
//! Converting in place would leave every page the old index records used in sled's page
//! table (sled keeps freed page ids for reuse, and their table entries stay resident): an
//! in-place upgrade of the 1M-article bench archive opened with 355 MB resident instead of
//! the 69 MB of an archive written chunked from the start.
//!
//! Crash safety: the copy is built in `<archive>.upgrading`; only when it is complete (flushed,
//! schema recorded) is the old directory renamed to `<archive>.schema2` and the copy renamed into
//! place. [`recover`] finishes or discards whatever a crash left, on the next open.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::chunks::Chunked;
use super::{ArchiveError, INDEXES, SCHEMA_KEY};

/// The schema of an archive this rewrite leaves.
const CHUNKED_SCHEMA: u32 = 3;

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> ArchiveError {
    ArchiveError::Open {
        path: path.to_path_buf(),
        reason: format!("upgrading the archive: cannot {what}: {e}"),
    }
}

/// Finishes or discards an upgrade a crash interrupted.
pub fn recover(path: &Path) -> Result<(), ArchiveError> {
    let (copy, old) = (sibling(path, ".upgrading"), sibling(path, ".schema2"));
    if !path.exists() && copy.exists() && old.exists() {
        // the crash came between the two renames: the copy was complete
        std::fs::rename(&copy, path).map_err(|e| io_err(path, "move the upgraded copy", e))?;
    }
    if copy.exists() {
        // a copy that never got renamed into place is incomplete
        std::fs::remove_dir_all(&copy).map_err(|e| io_err(&copy, "remove", e))?;
    }
    if path.exists() && old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, "remove", e))?;
    }
    Ok(())
}

/// Rewrites the (closed) archive at `path` with chunked indexes, then swaps it into place.
pub fn rewrite(
    path: &Path,
    open: impl Fn(&Path) -> Result<sled::Db, ArchiveError>,
) -> Result<(), ArchiveError> {
    let (copy, old) = (sibling(path, ".upgrading"), sibling(path, ".schema2"));
    tracing::info!(archive = %path.display(), "upgrading the archive to chunked indexes (once; it needs as much free disk as the archive)");
    let started = Instant::now();
    {
        let from = retry(|| open(path))?;
        let to = open(&copy)?;
        let chunked: Vec<&str> = INDEXES.iter().map(|(old, _, _)| *old).collect();
        for name in from.tree_names() {
            let text = String::from_utf8_lossy(&name).into_owned();
            if text == "__sled__default" || chunked.contains(&text.as_str()) {
                continue;
            }
            let (src, dst) = (from.open_tree(&name)?, to.open_tree(&name)?);
            for item in src.iter() {
                let (k, v) = item?;
                dst.insert(k, v)?;
            }
        }
        for (old_name, name, max) in INDEXES {
            let index = Chunked::new(to.open_tree(name)?, max);
            let before = from.open_tree(old_name)?;
            index.load_sorted(before.iter().map(|kv| {
                kv.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Into::into)
            }))?;
        }
        // schema 3 is what this rewrite makes (chunked indexes); opening it builds what later
        // schemas added (the `near` index, the arrival log)
        to.open_tree("meta")?
            .insert(SCHEMA_KEY, &CHUNKED_SCHEMA.to_be_bytes())?;
        to.flush()?;
    }
    // both closed; sled lets go of a directory shortly after, from a background thread
    retry(|| {
        std::fs::rename(path, &old).map_err(|e| io_err(path, "set the old archive aside", e))
    })?;
    std::fs::rename(&copy, path).map_err(|e| io_err(path, "move the upgraded copy", e))?;
    retry(|| std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, "remove", e)))?;
    tracing::info!(archive = %path.display(), seconds = started.elapsed().as_secs_f64(), "upgraded the archive");
    Ok(())
}

/// Retries `f` for up to 10 s: sled lets go of a closed database's directory lock from a
/// background thread, shortly after the last handle is dropped.
pub(super) fn retry<T>(mut f: impl FnMut() -> Result<T, ArchiveError>) -> Result<T, ArchiveError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f() {
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            done => return done,
        }
    }
}
