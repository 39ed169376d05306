//! The record beside the archive (`<archive>.state.json`) that tells a damaged archive from an
//! empty one: how many articles it held when last written, when, and its size. sled opens a
//! `db` file truncated to a third as an empty database; without this record gazette would
//! serve, verify ("ok: 0 articles") and then overwrite it. The record is a floor: it is
//! lowered *before* articles are removed (retention, repair), so a crash never makes a healthy
//! archive look damaged. Written atomically: a temporary file, fsync, rename, fsync of the
//! folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The archive held at least this many articles.
    pub articles: u64,
    /// When this record was written.
    pub written: DateTime<Utc>,
    /// When the daemon last stopped cleanly.
    #[serde(default)]
    pub clean_shutdown: Option<DateTime<Utc>>,
    /// The archive's size on disk then, bytes.
    #[serde(default)]
    pub bytes: u64,
    /// The length of sled's `db` file then: a file found shorter is kept as it was found
    /// before sled opens it (sled's recovery writes to it).
    #[serde(default)]
    pub db_len: u64,
}

/// sled's main file in the archive folder.
pub fn db_file(archive: &Path) -> PathBuf {
    archive.join("db")
}

/// When the `db` file is shorter than the record says (truncated, or sled freed segments at
/// its end since), copies it aside before sled opens it, so what was found survives sled's
/// recovery; returns the copy. The caller removes it when the archive turns out whole.
pub fn preserve_if_shrunk(archive: &Path, record: Option<&Sidecar>) -> Option<PathBuf> {
    let record = record?;
    let db = db_file(archive);
    let len = std::fs::metadata(&db).ok()?.len();
    if len >= record.db_len {
        return None;
    }
    let copy = archive.with_file_name(format!(
        "{}.db.as-found-{}",
        archive
            .file_name()
            .map_or_else(|| "archive".into(), |n| n.to_string_lossy().into_owned()),
        Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    match std::fs::copy(&db, &copy) {
        Ok(_) => Some(copy),
        Err(e) => {
            tracing::warn!("cannot keep a copy of {}: {e}", db.display());
            None
        }
    }
}

/// `data/archive` → `data/archive.state.json`.
pub fn path_for(archive: &Path) -> PathBuf {
    let name = archive
        .file_name()
        .map_or_else(|| "archive".into(), |n| n.to_string_lossy().into_owned());
    archive.with_file_name(format!("{name}.state.json"))
}

/// The record, if there is a readable one (an unreadable one is reported and ignored: it
/// cannot prove damage).
pub fn read(archive: &Path) -> Option<Sidecar> {
    let path = path_for(archive);
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                "ignoring {}: {e} (it is rewritten on the next flush)",
                path.display()
            );
            None
        }
    }
}

/// Writes the record atomically.
pub fn write(archive: &Path, record: &Sidecar) -> std::io::Result<()> {
    let path = path_for(archive);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Moves aside (never deletes) the empty `snap.*.generating` files an interrupted open leaves
/// in sled's folder: with one there, sled refuses the whole archive ("Read corrupted data at
/// file offset None") although nothing else is wrong. Returns where each went.
pub fn set_aside_empty_snapshots(archive: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(archive) else {
        return Vec::new();
    };
    let mut moved = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let empty = entry.metadata().is_ok_and(|m| m.is_file() && m.len() == 0);
        if name.starts_with("snap.") && name.ends_with(".generating") && empty {
            let aside = archive.with_file_name(format!(
                "{}.{name}.set-aside-{}",
                archive
                    .file_name()
                    .map_or_else(|| "archive".into(), |n| n.to_string_lossy().into_owned()),
                Utc::now().format("%Y%m%dT%H%M%SZ")
            ));
            match std::fs::rename(&path, &aside) {
                Ok(()) => moved.push(aside),
                Err(e) => tracing::warn!("cannot move {} aside: {e}", path.display()),
            }
        }
    }
    moved
}

/// How snapshot files are named: `gazette-<time>.jsonl.gz` (written by the daemon's
/// housekeeping, restored with `gazette import`).
pub const SNAPSHOT_PREFIX: &str = "gazette-";
pub const SNAPSHOT_SUFFIX: &str = ".jsonl.gz";

/// The snapshots in `dir`, oldest first (their names sort by time).
pub fn snapshots_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with(SNAPSHOT_PREFIX) && n.ends_with(SNAPSHOT_SUFFIX)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The snapshots a user could restore from (`backups/` beside the archive), newest first.
pub fn backups_near(archive: &Path) -> Vec<PathBuf> {
    let dir = archive
        .parent()
        .map_or_else(|| PathBuf::from("backups"), |p| p.join("backups"));
    let mut found = snapshots_in(&dir);
    found.reverse();
    found
}

impl super::Archive {
    /// Records how many articles the archive holds now (see [`sidecar`]); `clean` marks a
    /// clean shutdown. A failure to write it is logged: it guards the archive, it is not it.
    pub fn write_sidecar(&self, clean: Option<DateTime<Utc>>) {
        self.write_floor(self.len() as u64, clean);
    }

    /// Records that the archive holds at least `articles` (lowered before articles are
    /// removed, so a crash while removing never looks like damage).
    pub(super) fn write_floor(&self, articles: u64, clean: Option<DateTime<Utc>>) {
        // `articles` was counted before this flush, so every one of them is on disk when the
        // record says so: a record ahead of the disk would make a crash look like damage
        if let Err(e) = self.db.flush() {
            tracing::warn!("not recording the article count: flushing failed: {e}");
            return;
        }
        let record = Sidecar {
            articles,
            written: Utc::now(),
            clean_shutdown: clean.or_else(|| read(&self.path).and_then(|r| r.clean_shutdown)),
            bytes: self.size_on_disk(),
            db_len: std::fs::metadata(db_file(&self.path)).map_or(0, |m| m.len()),
        };
        if let Err(e) = write(&self.path, &record) {
            tracing::warn!("cannot write {}: {e}", path_for(&self.path).display());
        }
    }

    /// The loss accepted when the archive was last opened with `--accept-loss`, if it was.
    pub fn accepted_loss(&self) -> Option<String> {
        let v = self.meta.get(super::ACCEPTED_LOSS).ok()??;
        let note: serde_json::Value = serde_json::from_slice(&v).ok()?;
        Some(format!(
            "opened with --accept-loss on {}: it held {} articles of the {} recorded on {}; restore a snapshot with `gazette import` if that was not intended",
            note["at"].as_str().unwrap_or("?"),
            note["held"],
            note["recorded"],
            note["recorded_at"].as_str().unwrap_or("?")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_empty_snapshots_are_set_aside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        std::fs::create_dir_all(&archive).expect("dir");
        assert_eq!(path_for(&archive), dir.path().join("archive.state.json"));
        assert_eq!(read(&archive), None);
        let record = Sidecar {
            articles: 42,
            written: "2026-01-01T00:00:00Z".parse().expect("time"),
            clean_shutdown: None,
            bytes: 1234,
            db_len: 99,
        };
        write(&archive, &record).expect("write");
        assert_eq!(read(&archive), Some(record));
        std::fs::write(path_for(&archive), b"{ not json").expect("damage");
        assert_eq!(read(&archive), None, "an unreadable record proves nothing");

        let empty = archive.join("snap.00000000000A1B2C.generating");
        let full = archive.join("snap.00000000000A1B2D.generating");
        std::fs::write(&empty, b"").expect("empty");
        std::fs::write(&full, b"data").expect("full");
        let moved = set_aside_empty_snapshots(&archive);
        assert_eq!(moved.len(), 1, "{moved:?}");
        assert!(!empty.exists() && full.exists() && moved[0].exists());
    }
}
