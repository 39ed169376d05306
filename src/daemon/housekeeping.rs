//! The daemon's periodic archive chores: pruning articles past `[archive] retention` (their
//! tombstones stay) and writing compressed JSON Lines snapshots every `backup_every`, keeping
//! the newest `backup_keep`. A snapshot restores with `gazette import`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::archive::Archive;
use crate::live::LiveConfig;

use crate::archive::sidecar::{SNAPSHOT_PREFIX as PREFIX, SNAPSHOT_SUFFIX as SUFFIX};

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("writing backup {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing backup: {0}")]
    Archive(#[from] crate::archive::ArchiveError),
}

/// The snapshots in `dir`, oldest first (their names sort by time).
pub fn snapshots(dir: &Path) -> Vec<PathBuf> {
    crate::archive::sidecar::snapshots_in(dir)
}

fn snapshot_time(path: &Path) -> Option<DateTime<Utc>> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Writes a snapshot (to a temporary name, then renamed, so a crash never leaves a torn one)
/// and deletes all but the newest `keep`. On any failure (a full disk) the temporary file is
/// removed: a failed backup leaves nothing behind.
pub fn backup(
    archive: &Archive,
    dir: &Path,
    keep: usize,
    now: DateTime<Utc>,
) -> Result<PathBuf, BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("{PREFIX}{}{SUFFIX}", now.format("%Y%m%dT%H%M%SZ")));
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        let mut gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::default(),
        );
        archive.export(&mut gz, &mut |_| {})?;
        let mut inner = gz.finish().map_err(io(&tmp))?;
        inner.flush().map_err(io(&tmp))?;
        inner.get_ref().sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let all = snapshots(dir);
    for old in all.iter().take(all.len().saturating_sub(keep)) {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!("cannot delete old backup {}: {e}", old.display());
        }
    }
    Ok(path)
}

/// Removes the temporary files of snapshots that were never finished (a crash, or a gazette
/// from before failed backups cleaned up after themselves); returns how many.
pub fn remove_unfinished(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for path in entries.flatten().map(|e| e.path()) {
        let unfinished = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".tmp"));
        if unfinished {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
            }
        }
    }
    removed
}

/// Whether a snapshot is due: none yet, or the newest is older than `every`.
pub fn backup_due(dir: &Path, every: Duration, now: DateTime<Utc>) -> bool {
    match snapshots(dir).last().and_then(|p| snapshot_time(p)) {
        None => true,
        Some(t) => (now - t).to_std().map_or(true, |age| age >= every),
    }
}

/// Runs the chores until `shutdown`: at start and then every `tick` (an hour, or the backup
/// interval when shorter), each time with the `[archive]` settings in force (a reload changes
/// the backup settings from the next tick on).
pub async fn run(archive: Arc<Archive>, live: Arc<LiveConfig>, shutdown: CancellationToken) {
    let dir = live.config().archive.backup_dir.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let n = remove_unfinished(&dir);
        if n > 0 {
            tracing::info!(removed = n, dir = %dir.display(), "removed unfinished backups");
        }
    })
    .await;
    loop {
        let c = live.config().archive.clone();
        let tick = c.backup_every.map_or(Duration::from_secs(3600), |b| {
            b.min(Duration::from_secs(3600))
        });
        let a = Arc::clone(&archive);
        let work = tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            match a.prune(now) {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "pruned articles past the retention period"),
                Err(e) => tracing::error!("pruning: {e}"),
            }
            // the record of what the archive holds, fresh after at most a tick even if the
            // daemon is killed (see archive::sidecar)
            a.write_sidecar(None);
            if let Some(every) = c.backup_every
                && backup_due(&c.backup_dir, every, now)
            {
                match backup(&a, &c.backup_dir, c.backup_keep, now) {
                    Ok(p) => tracing::info!(path = %p.display(), "backup written"),
                    Err(e) => tracing::error!("{e}"),
                }
            }
        });
        let _ = work.await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_rotate_and_are_due_by_age() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open");
        let backups = dir.path().join("backups");
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("time");
        assert!(
            backup_due(&backups, Duration::from_secs(3600), t0),
            "no snapshot yet"
        );
        for h in 0..3 {
            backup(&archive, &backups, 2, t0 + chrono::Duration::hours(h)).expect("backup");
        }
        let names: Vec<String> = snapshots(&backups)
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
            .collect();
        assert_eq!(
            names,
            [
                "gazette-20260101T010000Z.jsonl.gz",
                "gazette-20260101T020000Z.jsonl.gz"
            ]
        );
        let later = t0 + chrono::Duration::hours(2) + chrono::Duration::minutes(30);
        assert!(!backup_due(&backups, Duration::from_secs(3600), later));
        assert!(backup_due(&backups, Duration::from_secs(1800), later));
    }
}
