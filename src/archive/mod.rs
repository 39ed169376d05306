//! The only importer of sled. Stores articles and their indexes, decides which stored article a
//! candidate belongs to (the dedup rules), and keeps each source's poll state. One poll of one
//! source is written in **one transaction** — articles, every index entry and the poll state —
//! so a crash never leaves half an item, and a re-poll after a crash finds what was stored
//! (polls queued for the writer together share one: [`Archive::commit_group`]).

mod arrivals;
mod chunks;
mod codec;
mod engine;
mod filter;
mod keys;
mod listing;
mod maintenance;
pub mod merge;
mod near;
mod retention;
mod seen;
pub mod sidecar;
mod split;
mod topics;
mod upgrade;
mod write;

pub use arrivals::{Arrived, Windows};
pub use listing::{Listing, Page};
pub use maintenance::{EXPORT_FORMAT, Imported, Record};
pub use near::DedupRules;
pub use split::{Split, SplitError};
pub use topics::source_key;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::model::{Article, MatchRule, PollState, SourceEvent};
use crate::normalize::Candidate;
use arrivals::ArrivalEdit;
use chunks::{ChunkEdit, Chunked};
use codec::*;
use merge::Relation;
use seen::{Kind, Seen};
use topics::*;
use write::*;

/// The schema this gazette writes. Bump on any incompatible change to the key layout or codec.
/// 2: values of [`COMPRESS_FROM`] bytes or more are deflated (schema-1 values, plain JSON, are
/// still read, so a schema-1 archive is upgraded in place on open without rewriting anything).
/// 3: the five indexes are stored in chunks (see [`chunks`]); an older archive is rewritten
/// once, on open (see [`upgrade`]).
/// 4: values are compressed with LZ4 instead of deflate. Deflated values are still read, so a
/// schema-3 archive only has its version record raised; an older gazette refuses a schema-4
/// archive instead of failing on the first LZ4 value it reads.
/// 5: the `near` index (near-duplicate titles, see [`near`]); an older archive has it built
/// from its `dedup` index on open, and an older gazette, which would not keep it, refuses it.
/// 6: the arrival log of every feed (see [`arrivals`]): membership entries hold their arrival
/// numbers; an older archive has them numbered on open (each feed in publication order), and an
/// older gazette, which would add members without numbering them, refuses it.
pub const SCHEMA_VERSION: u32 = 6;

/// Entries per chunk of the indexes read in time order (`by_time`, `by_source`, `topics`):
/// they grow at their newest end, so a poll rewrites one or two chunks of each.
const ORDERED_CHUNK: usize = 32;
/// Entries per chunk of the lookup indexes (`dedup`, `identity`), written at random places:
/// smaller, since every new article rewrites one chunk of each.
const LOOKUP_CHUNK: usize = 16;
/// The chunked indexes of schema 3: (name of the schema-2 tree, name of the chunked tree,
/// chunk size). The `near` index came with schema 5 (see [`near`]).
const INDEXES: [(&str, &str, usize); 5] = [
    ("by_time", "by_time/c", ORDERED_CHUNK),
    ("by_source", "by_source/c", ORDERED_CHUNK),
    ("dedup", "dedup/c", LOOKUP_CHUNK),
    ("identity", "identity/c", LOOKUP_CHUNK),
    ("topics", "topics/c", ORDERED_CHUNK),
];

/// sled's page cache. Reads after a write are few (feeds are served from the render cache),
/// so 16 MiB keeps the hot index pages; 64 MiB cost 55 MB more RSS with 10k sources for no
/// measurable ingest speed (heaptrack: sled's cached nodes were the biggest live allocation).
const CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// sled's page cache for an archive of [`BIG_ARCHIVE`] articles or more: its indexes do not fit
/// in either size, and with 16 MiB the daemon at 10k sources over 1M articles peaked at 159,
/// 159 and 163 MB, with 8 MiB at 143 MB, and with this rule at 150, 148 and 161 MB (the scale
/// step of bench/run; runs vary by several MB), while a cold ingest into a small archive, whose
/// index chunks do fit, was 1.08x slower with 8 MiB (bench/cold-ab.py).
const BIG_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Articles from which an archive is opened with [`BIG_CACHE_BYTES`] (as its record beside it,
/// [`sidecar`], says when it is opened).
const BIG_ARCHIVE: u64 = 250_000;
const SCHEMA_KEY: &[u8] = b"schema_version";
/// How many articles the archive holds (u64 big-endian), kept in the transaction of every
/// write: counting them is a scan of the whole archive (sled's `len`), which made start-up
/// linear in the archive's size (bench/run: 2.6 s at 250k articles).
const COUNT_KEY: &[u8] = b"article_count";
/// The most articles an archive may hold for its filter of held keys to be built (see
/// [`seen`]). The scan reads every page of three indexes through sled, and sled kept what it
/// read: the daemon's peak RSS with 10k sources went from 110-112 to 135-148 MB over a 250k-article
/// archive, and from 147 to 242 MB over 1M (bench/run "scale"). A cold ingest, the case the
/// filter is for, starts from an empty archive; a filter once built grows with the archive.
const SEEN_SCAN_MOST: usize = 50_000;
/// Articles rewritten per write-lock hold while re-curating: a poll waits for at most one batch.
const RECURATE_BATCH: usize = 500;
/// Present once `meta` holds a `topic_count/` record for every topic with members.
const TOPIC_COUNTS_KEPT: &[u8] = b"topic_counts_kept";
/// Writes the archive has committed (u64 big-endian), raised in every write's transaction: a
/// follower of the archive's changes (the search index) that recorded the same number missed
/// none.
const WRITE_SEQ: &[u8] = b"write_seq";
/// Present once a damaged archive was opened with `--accept-loss`: what was lost, for `verify`.
const ACCEPTED_LOSS: &[u8] = b"accepted_loss";

/// Why the archive could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot open archive {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    #[error(
        "archive {} has schema version {found}, newer than this gazette understands ({supported}); upgrade gazette or use another archive path",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot open archive {}: {reason} (is another gazette using it?)", path.display())]
    Locked { path: PathBuf, reason: String },
    #[error("archive storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error(
        "archive {} could not write its log (a full disk?) and takes no more writes until gazette restarts; free space, then restart it (under systemd, the watchdog does)",
        path.display()
    )]
    WriteFailed { path: PathBuf },
    #[error("archive record {key:?} is unreadable: {reason} (run `gazette verify`)")]
    Corrupt { key: String, reason: String },
    /// sled opened the archive but it holds fewer articles than its record says: its files
    /// were damaged (a truncated `db`). Nothing was written.
    #[error(
        "archive {} looks damaged: it holds {held} articles, but {recorded} were recorded on {} ({}). gazette wrote nothing to it{}. Restore it with `gazette import <snapshot>` into a fresh [archive] path{}, or open it as it is with `gazette --accept-loss <command>` (then `gazette verify` reports the loss)",
        path.display(),
        recorded_at.format("%Y-%m-%d %H:%M UTC"),
        sidecar::path_for(path).display(),
        as_found_hint(as_found.as_deref()),
        backups_hint(backups)
    )]
    Damaged {
        path: PathBuf,
        held: u64,
        recorded: u64,
        recorded_at: DateTime<Utc>,
        backups: Vec<PathBuf>,
        /// A copy of the `db` file as it was found, before sled's recovery wrote to it.
        as_found: Option<PathBuf>,
    },
}

fn as_found_hint(copy: Option<&Path>) -> String {
    copy.map(|p| format!("; its `db` file as it was found is kept in {}", p.display()))
        .unwrap_or_default()
}

fn backups_hint(backups: &[PathBuf]) -> String {
    match backups.first() {
        Some(b) => format!(" (newest snapshot: {})", b.display()),
        None => " (no snapshot found in backups/ beside it)".into(),
    }
}

/// Decides an article's topics; supplied by the curate stage so the archive stays storage.
pub type Curate<'a> = &'a (dyn Fn(&Article) -> Vec<String> + Sync);

/// What [`Archive::recurate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recuration {
    /// Topics whose definition changed (or are new) since the archive last saw them.
    pub changed: Vec<String>,
    /// Topics no longer configured; their memberships were removed.
    pub removed: Vec<String>,
    pub scanned: usize,
    pub updated: usize,
    /// Stopped before the walk finished (shutdown); the next start does it again.
    pub interrupted: bool,
}

/// What happened to one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new article.
    New,
    /// The same story was already archived (from this or another source); provenance merged.
    Duplicate,
    /// A known entry of this source changed.
    Updated,
    /// A known entry of this source, unchanged.
    Unchanged,
}

/// What [`Archive::speculate`] guessed one poll will write, by article id.
#[derive(Debug, Default)]
pub struct Speculation {
    guesses: HashMap<String, Guess>,
    /// The `near` index words of the new candidates' dedup titles, worked out here so the
    /// writer does not (see [`near`]).
    words: HashMap<String, Vec<String>>,
}

/// The new article candidate `candidate` of a poll becomes if it is a new story: curated, and
/// encoded as it will be stored.
#[derive(Debug)]
struct Guess {
    /// Which poll of a group it was made for ([`Archive::commit_group`]; 0 alone).
    poll: usize,
    candidate: usize,
    article: Article,
    bytes: Vec<u8>,
}

/// One poll to store, as [`Archive::commit`] takes it: several go to
/// [`Archive::commit_group`] together.
pub struct Pending<'a> {
    pub source: &'a str,
    pub candidates: &'a [Candidate],
    /// The source's poll state after this poll; the counts are filled in when it is stored.
    pub state: &'a PollState,
    pub now: DateTime<Utc>,
    pub curate: Curate<'a>,
    pub events: &'a [SourceEvent],
    pub guess: Speculation,
}

/// A poll written by [`Archive::commit`] but not yet durable.
#[derive(Debug)]
#[must_use = "a commit is reported only once make_durable says it is on disk"]
pub struct Commit {
    /// Its number in the order of commits (see [`Archive::make_durable_async`]).
    seq: u64,
    counts: Counts,
    outcomes: Vec<Outcome>,
    topics: BTreeSet<String>,
}

/// Counts of one ingest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: u32,
    pub duplicate: u32,
    pub updated: u32,
    pub unchanged: u32,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::New => self.new += 1,
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// An open archive. Cheap to share behind an `Arc`; writes are serialized internally.
pub struct Archive {
    path: PathBuf,
    db: sled::Db,
    articles: sled::Tree,
    by_time: Chunked,
    by_source: Chunked,
    dedup: Chunked,
    identity: Chunked,
    sources: sled::Tree,
    topics: Chunked,
    /// Near-duplicate look-up: the index words of every dedup title (see [`near`]).
    near: Chunked,
    /// Every feed's arrival log (see [`arrivals`]).
    arrivals: Chunked,
    /// Each feed's arrival count, read once from `meta` (written under the write lock).
    arrival_counts: Mutex<HashMap<Vec<u8>, u64>>,
    /// Told, after each write, its number and the ids of the articles it wrote or removed.
    listener: std::sync::RwLock<Option<Listener>>,
    /// Each feed's subscription window, for when a changed article arrives again.
    windows: std::sync::RwLock<Windows>,
    /// Which rules may join entries (`[archive] near_duplicates`, `[[source]] dedup`).
    rules: std::sync::RwLock<std::sync::Arc<DedupRules>>,
    /// Source health events, keyed by time: the operators' `/status.rss`.
    events: sled::Tree,
    /// Pruned articles: id → JSON [`Tombstone`]. Their dedup and identity entries stay, so a
    /// feed that still lists them does not bring them back.
    tombstones: sled::Tree,
    /// Articles published longer ago than this are pruned (and not stored when they arrive).
    retention: Option<chrono::Duration>,
    meta: sled::Tree,
    /// Bumped for a topic whenever an article in it (before or after) is written, so cached
    /// renderings know when they are stale.
    generations: Mutex<HashMap<String, u64>>,
    /// Dedup decisions read the indexes before the transaction writes them; one writer at a
    /// time keeps "read, decide, write" atomic with respect to other polls.
    write_lock: Mutex<()>,
    /// How many commits have been written (each [`Commit`] carries its number).
    committed: AtomicU64,
    /// Up to which commit number the log is known to be on disk; held by the one flush under
    /// way (see [`Archive::make_durable_async`]).
    flushed: tokio::sync::Mutex<u64>,
    /// The keys this archive may hold, so lookups of the others skip sled (see [`seen`]).
    seen: Seen,
    seen_tried: AtomicBool,
    /// Held for a whole re-curation walk (see [`Archive::recurate`]).
    recurate_lock: Mutex<()>,
    dedup_window: chrono::Duration,
    /// Records found unreadable while serving since the archive was opened.
    unreadable: AtomicU64,
    /// A write failed in sled's log (I/O error): sled takes no more writes until reopened.
    write_failed: AtomicBool,
}

/// What follows the archive's writes: called after each with its number ([`Archive::write_seq`])
/// and the ids of the articles it wrote or removed. It must not block: it runs under the write
/// lock.
pub type Listener = Box<dyn Fn(u64, Vec<String>) + Send + Sync>;

/// One tree write inside the poll transaction.
enum Op {
    Put(Tree, Vec<u8>, Vec<u8>),
    Del(Tree, Vec<u8>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tree {
    Articles,
    ByTime,
    BySource,
    Dedup,
    Identity,
    Sources,
    Topics,
    Events,
    Tombstones,
    Near,
}

impl Tree {
    /// Where a chunked index sits in `apply`'s edits (`None`: a plain tree).
    fn chunk_slot(self) -> Option<usize> {
        match self {
            Tree::ByTime => Some(0),
            Tree::BySource => Some(1),
            Tree::Dedup => Some(2),
            Tree::Identity => Some(3),
            Tree::Topics => Some(4),
            Tree::Near => Some(5),
            Tree::Articles | Tree::Sources | Tree::Events | Tree::Tombstones => None,
        }
    }
}

/// What is left of a pruned article: enough to recognise it if a feed still lists it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    pub pruned_at: DateTime<Utc>,
    pub published: DateTime<Utc>,
    pub dedup_keys: Vec<crate::model::DedupKey>,
}

/// Opens the sled database of an archive, creating the directory.
fn open_db(path: &Path) -> Result<sled::Db, ArchiveError> {
    let big = sidecar::read(path).is_some_and(|r| r.articles >= BIG_ARCHIVE);
    let open_err = |reason: String| ArchiveError::Open {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(path).map_err(|e| open_err(e.to_string()))?;
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::HighThroughput)
        // sled's default page cache is 1 GiB; gazette reads little after writing, so a
        // small cache keeps a months-long daemon's memory flat (bench/run: peak RSS)
        .cache_capacity(if big { BIG_CACHE_BYTES } else { CACHE_BYTES });
    // sled panics on some damaged files (a `db` truncated to half of its size) instead of
    // returning an error: that is a damaged archive to report, not a crash with a backtrace
    let opened = quietly(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()))
    })
    .map_err(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        open_err(format!(
            "its files are damaged (sled failed reading them: {what}); restore a snapshot from backups/ beside it with `gazette import` into a fresh [archive] path"
        ))
    })?;
    opened.map_err(|e| {
        let s = e.to_string();
        if s.contains("lock") || s.contains("WouldBlock") {
            ArchiveError::Locked {
                path: path.to_path_buf(),
                reason: s,
            }
        } else {
            open_err(s)
        }
    })
}

/// Runs `f` with the panic message hook silenced (a panic it catches is reported as an error
/// by the caller, once, in words). Only used while opening, before any other thread runs
/// archive code.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    // one at a time, so the hook put back is always the one found
    static HOOK: Mutex<()> = Mutex::new(());
    let _one = HOOK.lock().unwrap_or_else(|p| p.into_inner());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = f();
    std::panic::set_hook(previous);
    out
}

impl Archive {
    /// Opens (or creates) the archive at `path`; refuses one that looks damaged (see
    /// [`sidecar`]).
    pub fn open(path: &Path, dedup_window: Duration) -> Result<Archive, ArchiveError> {
        Archive::open_with(path, dedup_window, false)
    }

    /// [`Archive::open`]; with `accept_loss`, an archive holding fewer articles than its record
    /// says is opened anyway, and the loss is recorded for `verify` to report.
    pub fn open_with(
        path: &Path,
        dedup_window: Duration,
        accept_loss: bool,
    ) -> Result<Archive, ArchiveError> {
        let open_err = |reason: String| ArchiveError::Open {
            path: path.to_path_buf(),
            reason,
        };
        upgrade::recover(path)?;
        for aside in sidecar::set_aside_empty_snapshots(path) {
            tracing::warn!(
                "an interrupted open (a full disk?) left an empty sled snapshot in {}; moved it aside to {} and opened the archive without it",
                path.display(),
                aside.display()
            );
        }
        let record = sidecar::read(path);
        if !path.exists()
            && !accept_loss
            && let Some(r) = record.as_ref().filter(|r| r.articles > 0)
        {
            // a disk that is not mounted looks like this too: never start afresh silently
            return Err(open_err(format!(
                "the folder is missing, but {} records {} articles on {}. If you removed the archive on purpose, remove that file too (or run with --accept-loss); otherwise check that its disk is mounted",
                sidecar::path_for(path).display(),
                r.articles,
                r.written.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        let as_found = sidecar::preserve_if_shrunk(path, record.as_ref());
        let db = match open_db(path) {
            Ok(db) => db,
            Err(ArchiveError::Open { path, reason }) if as_found.is_some() => {
                let kept = as_found
                    .as_deref()
                    .map(|k| k.display().to_string())
                    .unwrap_or_default();
                return Err(ArchiveError::Open {
                    reason: format!("{reason}; its `db` file as it was found is kept in {kept}"),
                    path,
                });
            }
            Err(e) => return Err(e),
        };
        let meta = db.open_tree("meta")?;
        // before anything is written: an archive that lost articles is not touched
        let held = match meta.get(COUNT_KEY)?.as_deref().and_then(be_u64) {
            Some(n) => n,
            None => db.open_tree("articles")?.len() as u64,
        };
        let damaged = record.as_ref().is_some_and(|r| held < r.articles);
        if !damaged && let Some(copy) = &as_found {
            // the file was shorter because sled had freed segments at its end: nothing lost
            let _ = std::fs::remove_file(copy);
        }
        if let Some(r) = &record
            && held < r.articles
        {
            if !accept_loss {
                return Err(ArchiveError::Damaged {
                    path: path.to_path_buf(),
                    held,
                    recorded: r.articles,
                    recorded_at: r.written,
                    backups: sidecar::backups_near(path),
                    as_found,
                });
            }
            let note = serde_json::json!({
                "at": Utc::now(),
                "held": held,
                "recorded": r.articles,
                "recorded_at": r.written,
            });
            meta.insert(ACCEPTED_LOSS, note.to_string().as_bytes())?;
            tracing::warn!(
                held,
                recorded = r.articles,
                "opened a damaged archive with --accept-loss; `gazette verify` reports it"
            );
        }
        let found = match meta.get(SCHEMA_KEY)? {
            Some(v) => v
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| open_err("schema version record is malformed".into()))?,
            None => SCHEMA_VERSION,
        };
        if found > SCHEMA_VERSION {
            return Err(ArchiveError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < 3 {
            drop((meta, db));
            upgrade::rewrite(path, open_db)?;
            return Archive::open(path, dedup_window);
        }
        if found == SCHEMA_VERSION && meta.get(SCHEMA_KEY)?.is_none() {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        }
        let [by_time, by_source, dedup, identity, topics] =
            INDEXES.map(|(_, name, max)| db.open_tree(name).map(|t| Chunked::new(t, max)));
        let (by_time, by_source, dedup, identity, topics) =
            (by_time?, by_source?, dedup?, identity?, topics?);
        let near = Chunked::new(db.open_tree(near::TREE)?, LOOKUP_CHUNK);
        let arrivals = Chunked::new(db.open_tree(arrivals::TREE)?, ORDERED_CHUNK);
        if found < 5 {
            near::build(&db, &dedup, &near)?;
        }
        if meta.get(COUNT_KEY)?.is_none() {
            // an archive from before the count was kept: count it once
            let n = db.open_tree("articles")?.len() as u64;
            meta.insert(COUNT_KEY, &n.to_be_bytes())?;
        }
        if meta.get(TOPIC_COUNTS_KEPT)?.is_none() {
            // an archive from before the topic counts were kept: count them once
            let counts = count_members(&topics)?;
            set_topic_counts(&meta, &counts)?;
            meta.insert(TOPIC_COUNTS_KEPT, &[1])?;
        }
        let archive = Archive {
            path: path.to_path_buf(),
            articles: db.open_tree("articles")?,
            by_time,
            by_source,
            dedup,
            identity,
            sources: db.open_tree("sources")?,
            topics,
            near,
            arrivals,
            arrival_counts: Mutex::new(HashMap::new()),
            windows: std::sync::RwLock::new(Windows::default()),
            listener: std::sync::RwLock::new(None),
            rules: std::sync::RwLock::new(std::sync::Arc::new(DedupRules::default())),
            events: db.open_tree("events")?,
            tombstones: db.open_tree("tombstones")?,
            retention: None,
            meta,
            generations: Mutex::new(HashMap::new()),
            db,
            write_lock: Mutex::new(()),
            committed: AtomicU64::new(0),
            flushed: tokio::sync::Mutex::new(0),
            seen: Seen::default(),
            seen_tried: AtomicBool::new(false),
            recurate_lock: Mutex::new(()),
            unreadable: AtomicU64::new(0),
            write_failed: AtomicBool::new(false),
            dedup_window: chrono::Duration::from_std(dedup_window)
                .unwrap_or(chrono::Duration::hours(48)),
        };
        if found < 6 {
            let guard = archive.write_lock.lock().unwrap_or_else(|p| p.into_inner());
            archive.build_arrivals(&guard)?;
            drop(guard);
            archive.db.flush()?;
            archive
                .meta
                .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        }
        if record.is_none() || accept_loss {
            archive.write_sidecar(None);
        }
        Ok(archive)
    }

    /// Bytes free (for an unprivileged writer) on the archive's filesystem; `None` when the
    /// system cannot tell (statvfs(3)).
    pub fn free_space(&self) -> Option<u64> {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let path = std::ffi::CString::new(self.path.as_os_str().as_bytes()).ok()?;
            // SAFETY: statvfs writes into the zeroed struct it is given, reading the path only.
            let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
            let rc = unsafe { libc::statvfs(path.as_ptr(), &mut s) };
            if rc != 0 {
                return None;
            }
            Some((s.f_bavail as u64).saturating_mul(s.f_frsize as u64))
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// How many writes the archive has committed (see [`Listener`]).
    pub fn write_seq(&self) -> Result<u64, ArchiveError> {
        Ok(self
            .meta
            .get(WRITE_SEQ)?
            .as_deref()
            .and_then(be_u64)
            .unwrap_or(0))
    }

    /// Follows the archive's writes from now on (one listener; `None` stops).
    pub fn set_listener(&self, listener: Option<Listener>) {
        *self.listener.write().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// Every article id, in key order (for rebuilding what follows the archive).
    pub fn ids(&self) -> impl Iterator<Item = Result<String, ArchiveError>> + '_ {
        self.articles.iter().map(|item| {
            item.map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
                .map_err(ArchiveError::from)
        })
    }

    /// Records found unreadable while serving since the archive was opened (`/healthz`).
    pub fn unreadable_seen(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
    }

    /// Keep articles only this long after publication (`[archive] retention`).
    pub fn set_retention(&mut self, retention: Option<Duration>) {
        self.retention = retention.and_then(|r| chrono::Duration::from_std(r).ok());
    }

    /// Closes the archive and opens it once more, so that sled's replay of the log written
    /// since it last opened happens now: sled writes its snapshot only when it opens, and a
    /// bulk write (an import) would otherwise be replayed by the daemon's next start (bench/run,
    /// 1M articles: the first start after an import took 4.25 s).
    pub fn settle(self) -> Result<(), ArchiveError> {
        let (path, window) = (
            self.path.clone(),
            self.dedup_window.to_std().unwrap_or_default(),
        );
        drop(self);
        // sled lets go of the directory lock from a background thread, shortly after
        upgrade::retry(|| Archive::open(&path, window)).map(drop)
    }

    /// Where the archive lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One article by id for a listing (a feed, a page, a search): a record that does not read
    /// is left out (`None`), logged and counted for `/healthz`, so one damaged record costs
    /// its line, not the whole answer.
    pub fn get_readable(&self, id: &str) -> Result<Option<Article>, ArchiveError> {
        match self.get(id) {
            Err(e @ ArchiveError::Corrupt { .. }) => {
                self.unreadable.fetch_add(1, Ordering::Relaxed);
                tracing::error!("{e}");
                Ok(None)
            }
            other => other,
        }
    }

    /// One article by id.
    pub fn get(&self, id: &str) -> Result<Option<Article>, ArchiveError> {
        match self.articles.get(id.as_bytes())? {
            Some(bytes) => decode(id, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The newest `limit` articles, of one source or of all; reads `limit` index entries, not the
    /// archive.
    pub fn newest(&self, source: Option<&str>, limit: usize) -> Result<Vec<Article>, ArchiveError> {
        let ids: Box<dyn Iterator<Item = Result<chunks::Entry, ArchiveError>>> = match source {
            Some(s) => Box::new(self.by_source.scan_prefix_rev(&keys::source_prefix(s))),
            None => Box::new(self.by_time.range_rev(&[], None)),
        };
        let skip = source.map_or(0, |s| s.len() + 1) + 8;
        let mut out = Vec::new();
        for item in ids {
            if out.len() >= limit {
                break;
            }
            let (key, _) = item?;
            let id = String::from_utf8_lossy(key.get(skip..).unwrap_or_default()).into_owned();
            if let Some(a) = self.get(&id)? {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Whether `source` already delivered an entry with this identity (`g:`guid, `l:`link).
    pub fn knows(&self, source: &str, identity: &str) -> Result<bool, ArchiveError> {
        self.identity
            .contains_key(&keys::identity(source, identity))
    }

    /// The fingerprints stored with `source`'s entries of these identities, in their order
    /// (`None`: not stored, or stored without one). Issue 21: an entry read again with the same
    /// fingerprint is skipped.
    pub fn entry_fingerprints(
        &self,
        source: &str,
        identities: &[String],
    ) -> Result<Vec<Option<u64>>, ArchiveError> {
        let keys: Vec<Vec<u8>> = identities
            .iter()
            .map(|i| keys::identity(source, i))
            .collect();
        // only what the filter of held keys may hold is read
        let maybe: Vec<usize> = (0..keys.len())
            .filter(|&i| self.seen.may_hold(Kind::Identity, &keys[i]))
            .collect();
        let wanted: Vec<Vec<u8>> = maybe.iter().map(|&i| keys[i].clone()).collect();
        let mut out = vec![None; keys.len()];
        for (i, value) in maybe.into_iter().zip(self.identity.get_many(&wanted)?) {
            out[i] = value.and_then(|v| keys::identity_target(&v).1);
        }
        Ok(out)
    }

    /// The newest `limit` source events, newest first.
    pub fn events(&self, limit: usize) -> Result<Vec<SourceEvent>, ArchiveError> {
        let mut out = Vec::new();
        for item in self.events.iter().rev().take(limit) {
            let (k, v) = item?;
            out.push(decode(&String::from_utf8_lossy(&k[8..]), &v)?);
        }
        Ok(out)
    }

    /// How many articles a source has in the archive, and how many of them were published
    /// since `since`.
    pub fn source_counts(
        &self,
        source: &str,
        since: DateTime<Utc>,
    ) -> Result<(usize, usize), ArchiveError> {
        let prefix = keys::source_prefix(source);
        let mut total = 0;
        for item in self.by_source.scan_prefix(&prefix) {
            item?;
            total += 1;
        }
        let from = keys::by_source(source, since, "");
        let end = chunks::successor(&prefix);
        let mut recent = 0;
        for item in self.by_source.range(&from, end.as_deref()) {
            item?;
            recent += 1;
        }
        Ok((total, recent))
    }

    /// Whether the archive can be read (for `/healthz`).
    pub fn check(&self) -> Result<(), ArchiveError> {
        if self.write_failed.load(Ordering::Acquire) {
            return Err(ArchiveError::WriteFailed {
                path: self.path.clone(),
            });
        }
        self.meta.get(SCHEMA_KEY)?;
        self.articles.first()?;
        Ok(())
    }

    /// Bytes the archive takes on disk (0 if sled cannot tell).
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// How many articles are archived: the count kept with every write (a point read).
    pub fn len(&self) -> usize {
        self.stored_count()
            .map_or_else(|| self.articles.len(), |n| n as usize)
    }

    /// The article count as recorded, if it is readable.
    pub(crate) fn stored_count(&self) -> Option<u64> {
        be_u64(&self.meta.get(COUNT_KEY).ok()??)
    }

    /// Records `n` as the article count (repair).
    pub(crate) fn set_count(&self, n: u64) -> Result<(), ArchiveError> {
        self.meta.insert(COUNT_KEY, &n.to_be_bytes())?;
        Ok(())
    }

    /// Whether the archive holds no article.
    pub fn is_empty(&self) -> bool {
        self.articles.is_empty()
    }

    /// The stored poll state of a source.
    pub fn poll_state(&self, source: &str) -> Result<Option<PollState>, ArchiveError> {
        match self.sources.get(source.as_bytes())? {
            Some(bytes) => decode(source, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The stored poll state of a source, or a fresh one when there is none or it cannot be read
    /// (logged): the scheduler, a poll and `/healthz` then treat it as never polled, and the next
    /// poll writes a readable one.
    pub fn poll_state_or_new(&self, source: &str) -> PollState {
        match self.poll_state(source) {
            Ok(state) => state.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(source, "poll state unreadable; starting afresh: {e}");
                PollState::default()
            }
        }
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<(), ArchiveError> {
        self.db.flush()?;
        self.write_sidecar(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::read_document;

    fn feed(items: usize) -> String {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..items {
            s.push_str(&format!(
                "<item><title>Patent story {i}</title><guid>g{i}</guid>\
                 <pubDate>Wed, 04 May 2016 15:{i:02}:36 +0800</pubDate>\
                 <description><![CDATA[<p>{}</p>]]></description></item>",
                "Zhongguancun patent agencies report a record year. ".repeat(20)
            ));
        }
        s + "</channel></rss>"
    }

    fn archive_with(dir: &Path, items: usize) -> (Archive, Vec<String>) {
        let archive = Archive::open(&dir.join("a"), Duration::from_secs(48 * 3600)).expect("open");
        let cands = candidates_of("s", items);
        archive
            .ingest(
                "s",
                &cands,
                &PollState::default(),
                Utc::now(),
                &|_| Vec::new(),
                &[],
            )
            .expect("ingest");
        let ids = archive
            .newest(None, 100)
            .expect("newest")
            .into_iter()
            .map(|a| a.id)
            .collect();
        (archive, ids)
    }

    /// sled lets go of its directory lock from a background thread some time after the last
    /// handle is dropped, so reopening in the same process can briefly fail under load (it did
    /// once in CI-like runs): retry for a bounded time.
    fn retry<T, E: std::fmt::Debug>(mut open: impl FnMut() -> Result<T, E>) -> Result<T, E> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match open() {
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                done => return done,
            }
        }
    }

    fn reopen(path: &Path) -> Result<Archive, ArchiveError> {
        retry(|| Archive::open(path, Duration::from_secs(48 * 3600)))
    }

    fn candidates_of(source: &str, items: usize) -> Vec<Candidate> {
        read_document(feed(items).as_bytes(), None, None, source, None, Utc::now())
            .expect("parses")
            .candidates
    }

    /// A guess made before the lock is stale once another candidate of the same poll merges
    /// into its article: what is stored must be the merged article, curated again.
    #[test]
    fn a_guess_merged_into_within_the_same_poll_is_curated_and_encoded_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open");
        let mut cands = candidates_of("s", 2);
        let mut same_story = cands[0].clone();
        // the same story from a second source in one poll (as a planet-style source can carry)
        same_story.source = "t".into();
        same_story.identity = "g:another-entry".into();
        same_story.guid = Some("another-entry".into());
        same_story.url = "https://example.org/another-entry".into();
        same_story.text = format!("{} And a longer version.", same_story.text);
        cands.push(same_story);
        let curate = |a: &Article| {
            if a.text.contains("longer version") {
                vec!["longer".to_string()]
            } else {
                Vec::new()
            }
        };
        let now = Utc::now();
        let guess = archive.speculate(&cands, now, &curate).expect("speculate");
        assert_eq!(guess.guesses.len(), 2, "one guess per new story");
        let commit = archive
            .commit("s", &cands, &PollState::default(), now, &curate, &[], guess)
            .expect("commit");
        let (counts, _) = archive.make_durable(commit).expect("durable");
        assert_eq!((counts.new, counts.duplicate), (2, 1));
        let merged = archive
            .get(&merge::article_id(
                &cands[0].norm_title,
                cands[0].published,
                0,
            ))
            .expect("get")
            .expect("stored");
        assert_eq!(merged.sources, ["s", "t"], "{merged:?}");
        assert!(merged.text.contains("longer version"));
        assert_eq!(merged.topics, ["longer"]);
        assert_eq!(archive.topic_len("longer"), 1);
        assert!(archive.verify(&curate).expect("verify").is_empty());
    }

    /// Polls of three sources, two carrying the same stories and one polled twice (its
    /// second poll changes an entry), as `(source, candidates)`.
    fn overlapping_polls() -> Vec<(String, Vec<Candidate>)> {
        let mut polls = vec![
            ("wire".to_string(), candidates_of("wire", 4)),
            ("atom".to_string(), candidates_of("atom", 6)),
            ("solo".to_string(), candidates_of("solo", 2)),
        ];
        for c in &mut polls[2].1 {
            c.title = format!("Solo {}", c.title);
            c.norm_title = format!("solo {}", c.norm_title);
        }
        let mut again = polls[0].1.clone();
        again[1].text = format!("{} Corrected.", again[1].text);
        polls.push(("wire".to_string(), again));
        polls
    }

    /// `polls` as a group to store: poll `i` with state `states[i]` (the last one for the rest),
    /// and the guess `guess` makes for its candidates.
    fn pending_of<'a>(
        polls: &'a [(String, Vec<Candidate>)],
        states: &'a [PollState],
        now: DateTime<Utc>,
        curate: Curate<'a>,
        guess: impl Fn(&[Candidate]) -> Speculation,
    ) -> Vec<Pending<'a>> {
        polls
            .iter()
            .enumerate()
            .map(|(i, (source, cands))| Pending {
                source,
                candidates: cands,
                state: &states[i.min(states.len() - 1)],
                now,
                curate,
                events: &[],
                guess: guess(cands),
            })
            .collect()
    }

    /// [`Archive::commit_group`] must store exactly what the same polls committed one after
    /// the other store: the same articles (a story two polls carry is one article, an entry a
    /// later poll changes is merged), the same counts for each poll, the same poll states.
    #[test]
    fn a_group_of_polls_stores_what_the_same_polls_store_one_by_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (alone, together) = (
            Archive::open(&dir.path().join("alone"), Duration::from_secs(3600)).expect("open"),
            Archive::open(&dir.path().join("together"), Duration::from_secs(3600)).expect("open"),
        );
        let polls = overlapping_polls();
        let now = Utc::now();
        let curate = |a: &Article| {
            if a.text.contains("Corrected") {
                vec!["corrected".to_string()]
            } else {
                vec!["all".to_string()]
            }
        };
        let states: Vec<PollState> = (0..polls.len())
            .map(|i| PollState {
                etag: Some(format!("\"{i}\"")),
                ..PollState::default()
            })
            .collect();
        let mut one_by_one = Vec::new();
        for ((source, cands), state) in polls.iter().zip(&states) {
            let guess = alone.speculate(cands, now, &curate).expect("speculate");
            let commit = alone
                .commit(source, cands, state, now, &curate, &[], guess)
                .expect("commit");
            one_by_one.push(alone.make_durable(commit).expect("durable"));
        }
        // every guess made before anything is stored, as polls queued for the writer are
        let mut pending = pending_of(&polls, &states, now, &curate, |cands| {
            together.speculate(cands, now, &curate).expect("speculate")
        });
        let grouped: Vec<(Counts, Vec<Outcome>)> = together
            .commit_group(&mut pending)
            .into_iter()
            .map(|c| together.make_durable(c.expect("commit")).expect("durable"))
            .collect();
        assert_eq!(grouped, one_by_one);
        assert_eq!(
            one_by_one
                .iter()
                .map(|(c, _)| (c.new, c.duplicate, c.updated))
                .collect::<Vec<_>>(),
            [(4, 0, 0), (2, 4, 0), (2, 0, 0), (0, 0, 1)]
        );
        let all = |a: &Archive| a.newest(None, 100).expect("newest");
        assert_eq!(all(&together), all(&alone));
        assert_eq!(all(&together).len(), 8);
        for source in ["wire", "atom", "solo"] {
            assert_eq!(
                together.poll_state(source).expect("state"),
                alone.poll_state(source).expect("state"),
                "{source}"
            );
        }
        assert_eq!(together.topic_len("corrected"), 1);
        assert_eq!(together.topic_len("all"), 7);
        assert!(together.verify(&curate).expect("verify").is_empty());
    }

    /// The filter of held keys is built from the indexes of a reopened archive: what it holds
    /// must be found again (the same entries are unchanged, the same stories from another source
    /// are duplicates), whether the filter was built before or after the first write.
    #[test]
    fn a_reopened_archive_knows_its_entries_and_stories_through_its_filter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a");
        let none = |_: &Article| Vec::new();
        let state = PollState::default();
        let now = Utc::now();
        {
            let archive = Archive::open(&path, Duration::from_secs(3600)).expect("open");
            let (counts, _) = archive
                .ingest("wire", &candidates_of("wire", 5), &state, now, &none, &[])
                .expect("wire");
            assert_eq!(counts.new, 5);
            archive.settle().expect("settle");
        }
        let archive = reopen(&path).expect("reopen");
        assert!(!archive.seen.is_built(), "built only when first written to");
        let (again, _) = archive
            .ingest("wire", &candidates_of("wire", 5), &state, now, &none, &[])
            .expect("wire again");
        assert!(archive.seen.is_built());
        assert_eq!((again.new, again.unchanged), (0, 5));
        let (atom, _) = archive
            .ingest("atom", &candidates_of("atom", 6), &state, now, &none, &[])
            .expect("atom");
        assert_eq!((atom.new, atom.duplicate), (1, 5));
        let (atom_again, _) = archive
            .ingest("atom", &candidates_of("atom", 6), &state, now, &none, &[])
            .expect("atom again");
        assert_eq!((atom_again.new, atom_again.unchanged), (0, 6));
        assert_eq!(archive.len(), 6);
        assert!(archive.verify(&none).expect("verify").is_empty());
    }

    /// A poll that cannot be stored (here: its entry's stored article is damaged) must fail
    /// alone when it was grouped with others: they are stored, it reports its error.
    #[test]
    fn a_poll_that_cannot_be_stored_fails_alone_in_its_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open");
        let none = |_: &Article| Vec::new();
        let now = Utc::now();
        let state = PollState::default();
        let mut damaged = candidates_of("damaged", 2);
        for c in &mut damaged {
            c.norm_title = format!("damaged {}", c.norm_title);
        }
        archive
            .ingest("damaged", &damaged, &state, now, &none, &[])
            .expect("first poll");
        let id = merge::article_id(&damaged[0].norm_title, damaged[0].published, 0);
        archive
            .articles
            .insert(id.as_bytes(), &[LZ4, 9, 9, 9, 9, 1][..])
            .expect("damage");
        let mut polls = overlapping_polls();
        polls.truncate(3);
        polls.insert(1, ("damaged".to_string(), damaged));
        let mut pending = pending_of(&polls, std::slice::from_ref(&state), now, &none, |cands| {
            archive.speculate(cands, now, &none).expect("speculate")
        });
        let results = archive.commit_group(&mut pending);
        let shown: Vec<String> = results
            .into_iter()
            .map(|r| match r {
                Ok(c) => {
                    let (counts, _) = archive.make_durable(c).expect("durable");
                    format!("{} new {} duplicate", counts.new, counts.duplicate)
                }
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(shown[0], "4 new 0 duplicate");
        assert!(shown[1].contains(&id), "{shown:?}");
        assert_eq!(shown[2..], ["2 new 4 duplicate", "2 new 0 duplicate"]);
        assert_eq!(archive.len(), 2 + 8);
    }

    /// sled flushes on its IO thread pool, and the write of the log buffer a flush waits for
    /// is queued on that same pool: seven polls flushing at once took all seven of its threads
    /// and nothing was left to write it, so every poll (and then every write) hung. Polls stored
    /// in one group are made durable at the same moment.
    #[test]
    fn many_polls_made_durable_at_once_do_not_hang_on_sleds_io_threads() {
        // on a thread of its own: a hung sled never lets go of it (nor of a runtime or an
        // archive being dropped), and the test must fail, not hang
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            let _ = done.send(runtime.block_on(durable_at_once()));
        });
        let new = result
            .recv_timeout(Duration::from_secs(60))
            .expect("every poll made durable within a minute");
        assert_eq!(new, 20 * 32 * 10);
    }

    /// Twenty rounds of 32 polls stored as one group, then made durable all at once (the hang
    /// came in about one round in six).
    async fn durable_at_once() -> u32 {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = std::sync::Arc::new(
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open"),
        );
        let none = |_: &Article| Vec::new();
        let state = PollState::default();
        let mut new = 0;
        for round in 0..20 {
            let polls: Vec<(String, Vec<Candidate>)> = (0..32)
                .map(|p| {
                    let source = format!("s{round}-{p}");
                    let mut cands = candidates_of(&source, 10);
                    for c in &mut cands {
                        c.norm_title = format!("{source} {}", c.norm_title);
                    }
                    (source, cands)
                })
                .collect();
            let now = Utc::now();
            let mut pending = pending_of(&polls, std::slice::from_ref(&state), now, &none, |_| {
                Speculation::default()
            });
            let tasks: Vec<_> = archive
                .commit_group(&mut pending)
                .into_iter()
                .map(|c| {
                    let archive = std::sync::Arc::clone(&archive);
                    let commit = c.expect("commit");
                    tokio::spawn(async move { archive.make_durable_async(commit).await })
                })
                .collect();
            for t in tasks {
                new += t.await.expect("joined").expect("durable").0.new;
            }
        }
        new
    }

    /// Between a poll's speculation and its commit another source may store the same story:
    /// the commit must merge into it, not store the guess as a second article.
    #[test]
    fn a_story_stored_by_another_source_after_the_guess_is_a_duplicate_not_a_second_article() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(&dir.path().join("a"), Duration::from_secs(3600)).expect("open");
        let (wire, atom) = (candidates_of("wire", 3), candidates_of("atom", 3));
        let now = Utc::now();
        let none = |_: &Article| Vec::new();
        let guess = archive.speculate(&atom, now, &none).expect("speculate");
        assert_eq!(guess.guesses.len(), 3);
        archive
            .ingest("wire", &wire, &PollState::default(), now, &none, &[])
            .expect("wire");
        let commit = archive
            .commit("atom", &atom, &PollState::default(), now, &none, &[], guess)
            .expect("commit");
        let (counts, _) = archive.make_durable(commit).expect("durable");
        assert_eq!((counts.new, counts.duplicate), (0, 3));
        assert_eq!(archive.len(), 3);
        for a in archive.newest(None, 10).expect("newest") {
            assert_eq!(a.sources, ["wire", "atom"], "{}", a.id);
        }
        assert!(archive.verify(&none).expect("verify").is_empty());
    }

    #[test]
    fn values_round_trip_small_ones_plain_large_ones_compressed() {
        let small = crate::model::SourceLink {
            source: "wire".into(),
            url: "https://example.org/a".into(),
            guid: Some("g1".into()),
            author: None,
            author_email: None,
            ..Default::default()
        };
        let bytes = encode(&small).expect("encode");
        assert_eq!(bytes.first(), Some(&b'{'), "a small value stays plain JSON");
        assert_eq!(
            decode::<crate::model::SourceLink>("k", &bytes).expect("decode"),
            small
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, ids) = archive_with(dir.path(), 1);
        let article = archive.get(&ids[0]).expect("get").expect("stored");
        let json = serde_json::to_vec(&article).expect("json");
        let bytes = encode(&article).expect("encode");
        assert_eq!(bytes.first(), Some(&LZ4));
        assert!(
            bytes.len() * 3 < json.len() * 2,
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        assert_eq!(decode::<Article>("k", &bytes).expect("decode"), article);

        // what schemas 2 and 3 wrote (deflate) is still read
        let mut z = flate2::Compress::new(flate2::Compression::fast(), false);
        let mut deflated = Vec::with_capacity(json.len() + 64);
        z.compress_vec(&json, &mut deflated, flate2::FlushCompress::Finish)
            .expect("deflate");
        let old = [&[DEFLATED][..], &deflated].concat();
        assert_eq!(decode::<Article>("k", &old).expect("decode"), article);
    }

    #[test]
    fn a_damaged_compressed_value_is_an_error_not_a_panic() {
        let article = crate::model::SourceLink {
            source: "wire".into(),
            url: format!("https://example.org/{}", "a".repeat(400)),
            guid: None,
            author: None,
            author_email: None,
            ..Default::default()
        };
        let good = encode(&article).expect("encode");
        assert_eq!(good.first(), Some(&LZ4));
        let mut short_by_one = good.clone();
        short_by_one[1] = short_by_one[1].wrapping_add(1);
        for bad in [
            &[DEFLATED][..],
            &[DEFLATED, 0xff, 0x00, 0x12][..],
            &[LZ4][..],
            &[LZ4, 0x10, 0x00][..],
            // claims 4 GiB: refused before anything is allocated
            &[LZ4, 0xff, 0xff, 0xff, 0xff, 0x00][..],
            &good[..good.len() - 3],
            &short_by_one,
            b"{not json",
        ] {
            match decode::<crate::model::SourceLink>("id1", bad) {
                Err(ArchiveError::Corrupt { key, .. }) => assert_eq!(key, "id1"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// An archive of 3 articles rewritten by `older` into what schema `schema` wrote, then
    /// reopened by this gazette: every article must still read, and the schema record must say
    /// this schema.
    fn reopened_from_schema(
        schema: u32,
        older: impl FnOnce(&sled::Db),
    ) -> (Archive, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, ids) = archive_with(dir.path(), 3);
        drop(archive);
        {
            let db = retry(|| sled::open(dir.path().join("a"))).expect("sled");
            older(&db);
            db.open_tree("meta")
                .expect("meta")
                .insert(SCHEMA_KEY, &schema.to_be_bytes())
                .expect("schema");
            db.flush().expect("flush");
        }
        let archive = reopen(&dir.path().join("a")).expect("an older archive opens");
        for id in &ids {
            assert!(archive.get(id).expect("get").is_some(), "{id} is readable");
        }
        let stored = archive.meta.get(SCHEMA_KEY).expect("meta").expect("key");
        assert_eq!(stored.as_ref(), &SCHEMA_VERSION.to_be_bytes());
        (archive, dir)
    }

    /// Schema 5 added the `near` index: a schema-4 archive has it built from its `dedup`
    /// index on open, and then verifies clean.
    #[test]
    fn schema_4_archive_gets_its_near_index_built_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a");
        let archive = Archive::open(&path, Duration::from_secs(48 * 3600)).expect("open");
        let mut cands = candidates_of("s", 3);
        for (i, c) in cands.iter_mut().enumerate() {
            c.title = format!("Zhongguancun patent agencies report a record year, part {i}");
            c.norm_title = crate::normalize::fold_title(&c.title);
        }
        let none = |_: &Article| Vec::new();
        archive
            .ingest("s", &cands, &PollState::default(), Utc::now(), &none, &[])
            .expect("ingest");
        let entries = |a: &Archive| a.near.iter().filter(Result::is_ok).count();
        assert_eq!(entries(&archive), 3, "one entry each: its number");
        drop(archive);
        {
            let db = retry(|| sled::open(&path)).expect("sled");
            db.drop_tree(near::TREE).expect("drop");
            db.open_tree("meta")
                .expect("meta")
                .insert(SCHEMA_KEY, &4u32.to_be_bytes())
                .expect("schema");
            db.flush().expect("flush");
        }
        let archive = reopen(&path).expect("a schema-4 archive opens");
        assert_eq!(entries(&archive), 3);
        assert!(archive.verify(&none).expect("verify").is_empty());
        let stored = archive.meta.get(SCHEMA_KEY).expect("meta").expect("key");
        assert_eq!(stored.as_ref(), &SCHEMA_VERSION.to_be_bytes());
    }

    #[test]
    fn schema_3_archive_with_deflated_values_opens_and_keeps_every_article() {
        let (archive, _dir) = reopened_from_schema(3, |db| {
            // its values as schema 3 wrote them: deflated
            let articles = db.open_tree("articles").expect("tree");
            for item in articles.iter() {
                let (k, v) = item.expect("item");
                let json =
                    serde_json::to_vec(&decode::<Article>("k", &v).expect("decode")).expect("json");
                let mut z = flate2::Compress::new(flate2::Compression::fast(), false);
                let mut deflated = Vec::with_capacity(json.len() + 64);
                z.compress_vec(&json, &mut deflated, flate2::FlushCompress::Finish)
                    .expect("deflate");
                articles
                    .insert(k, [&[DEFLATED][..], &deflated].concat())
                    .expect("insert");
            }
        });
        assert!(archive.verify(&|_| Vec::new()).expect("verify").is_empty());
    }

    #[test]
    fn schema_1_archive_with_plain_json_values_and_one_record_per_index_entry_is_upgraded() {
        let (archive, _dir) = reopened_from_schema(1, |db| {
            // every value plain JSON
            for name in ["articles", "sources"] {
                let tree = db.open_tree(name).expect("tree");
                for item in tree.iter() {
                    let (k, v) = item.expect("item");
                    let value: serde_json::Value = decode("k", &v).expect("decode");
                    tree.insert(k, serde_json::to_vec(&value).expect("json"))
                        .expect("insert");
                }
            }
            // and its indexes as one record per entry, under the schema-1/2 tree names
            for (old, name, max) in INDEXES {
                let chunked = Chunked::new(db.open_tree(name).expect("tree"), max);
                let plain = db.open_tree(old).expect("tree");
                for item in chunked.iter() {
                    let (k, v) = item.expect("entry");
                    plain.insert(k, v).expect("insert");
                }
                assert!(
                    !plain.is_empty() || old == "topics",
                    "{old} has entries to upgrade"
                );
                chunked.clear().expect("clear");
            }
            db.open_tree("meta")
                .expect("meta")
                .remove(COUNT_KEY)
                .expect("schema 1 kept no count");
        });
        assert_eq!(
            archive.verify(&|_| Vec::new()).expect("verify"),
            Vec::<String>::new()
        );
        for (old, name, _) in INDEXES {
            assert!(
                !archive
                    .db
                    .tree_names()
                    .iter()
                    .any(|t| t.as_ref() == old.as_bytes()),
                "{old} was dropped once copied into {name}"
            );
        }
        assert_eq!(archive.by_time.tree.len(), 1, "3 entries make one chunk");
        assert!(
            archive.knows("s", "g:g1").expect("identity"),
            "identities were copied"
        );
        assert_eq!(
            archive.stored_count(),
            Some(3),
            "the count is seeded on open"
        );
    }

    #[test]
    fn an_upgrade_interrupted_by_a_crash_is_finished_or_discarded_on_the_next_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, ids) = archive_with(dir.path(), 3);
        drop(archive);
        let (path, copy, old) = (
            dir.path().join("a"),
            dir.path().join("a.upgrading"),
            dir.path().join("a.schema2"),
        );
        // crashed between setting the old archive aside and moving the finished copy in
        retry(|| std::fs::rename(&path, &copy)).expect("rename");
        std::fs::create_dir(&old).expect("old");
        let archive = reopen(&path).expect("opens the finished copy");
        assert_eq!(archive.len(), 3);
        assert!(archive.get(&ids[0]).expect("get").is_some());
        assert!(!copy.exists() && !old.exists(), "nothing left beside it");
        drop(archive);
        // crashed while copying: the partial copy goes, the archive stays
        std::fs::create_dir(&copy).expect("copy");
        std::fs::write(copy.join("db"), b"half a copy").expect("write");
        let archive = reopen(&path).expect("opens");
        assert_eq!(archive.len(), 3);
        assert!(!copy.exists());
    }

    #[test]
    fn import_merges_the_same_story_twice_in_one_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, ids) = archive_with(dir.path(), 2);
        let a = archive.get(&ids[0]).expect("get").expect("stored");
        let other = archive.get(&ids[1]).expect("get").expect("stored");
        drop(archive);
        // the same story again under another id, as a second archive would have stored it
        let mut again = a.clone();
        again.id = "another-id".into();
        let lines: String = [a.clone(), other, again]
            .into_iter()
            .map(|x| serde_json::to_string(&Record::Article(Box::new(x))).expect("json") + "\n")
            .collect();
        let fresh =
            Archive::open(&dir.path().join("b"), Duration::from_secs(48 * 3600)).expect("open");
        let done = fresh
            .import(&mut lines.as_bytes(), &|_| Vec::new(), &mut |_| {})
            .expect("import");
        assert_eq!((done.new, done.merged), (2, 1));
        assert_eq!(fresh.len(), 2);
        assert!(fresh.get("another-id").expect("get").is_none());
        assert_eq!(
            fresh.verify(&|_| Vec::new()).expect("verify"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn article_count_is_kept_by_every_write_and_checked_by_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, _) = archive_with(dir.path(), 4);
        assert_eq!((archive.len(), archive.articles.len()), (4, 4));
        // the same entries again (unchanged), and from another source (duplicates)
        for source in ["s", "t"] {
            archive
                .ingest(
                    source,
                    &candidates_of(source, 4),
                    &PollState::default(),
                    Utc::now(),
                    &|_| Vec::new(),
                    &[],
                )
                .expect("ingest");
        }
        assert_eq!(archive.len(), 4);
        let (counts, _) = archive
            .ingest(
                "s",
                &candidates_of("s", 5),
                &PollState::default(),
                Utc::now(),
                &|_| Vec::new(),
                &[],
            )
            .expect("ingest");
        assert_eq!(counts.new, 1);
        assert_eq!((archive.len(), archive.articles.len()), (5, 5));
        assert!(archive.verify(&|_| Vec::new()).expect("verify").is_empty());
        // a wrong record is found, and repaired
        archive.set_count(99).expect("set");
        let problems = archive.verify(&|_| Vec::new()).expect("verify");
        assert_eq!(
            problems,
            ["the article count record says 99, the archive holds 5 articles"]
        );
        archive.repair(&|_| Vec::new()).expect("repair");
        assert_eq!(archive.len(), 5);
        assert!(archive.verify(&|_| Vec::new()).expect("verify").is_empty());
    }

    #[test]
    fn topic_member_counts_are_kept_by_every_write_and_checked_by_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut archive, _) = archive_with(dir.path(), 6);
        let never = AtomicBool::new(false);
        // "even" holds the articles whose title ends in an even digit; "all" holds every one
        let by_digit = |keep: fn(u32) -> bool| {
            move |a: &Article| -> Vec<String> {
                let d = a
                    .title
                    .chars()
                    .last()
                    .and_then(|c| c.to_digit(10))
                    .unwrap_or(1);
                let mut t = vec!["all".to_string()];
                if keep(d) {
                    t.push("even".to_string());
                }
                t
            }
        };
        let fps = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let even = by_digit(|d| d % 2 == 0);
        let r = archive
            .recurate(&even, &fps(&[("all", "1"), ("even", "1")]), &never)
            .expect("recurate");
        assert_eq!((r.scanned, r.updated, r.interrupted), (6, 6, false));
        assert_eq!(
            (archive.topic_len("all"), archive.topic_len("even")),
            (6, 3)
        );
        assert!(archive.verify(&even).expect("verify").is_empty());
        // an edited query moves articles between topics; the counts follow
        let low = by_digit(|d| d < 2);
        archive
            .recurate(&low, &fps(&[("all", "1"), ("even", "2")]), &never)
            .expect("recurate");
        assert_eq!(
            (archive.topic_len("all"), archive.topic_len("even")),
            (6, 2)
        );
        // a removed topic's count goes with it
        let only_all = |_: &Article| vec!["all".to_string()];
        archive
            .recurate(&only_all, &fps(&[("all", "1")]), &never)
            .expect("recurate");
        assert_eq!(
            (archive.topic_len("all"), archive.topic_len("even")),
            (6, 0)
        );
        assert!(archive.verify(&only_all).expect("verify").is_empty());
        // pruning an article takes it out of its topics' counts (the oldest is 07:00:36Z)
        archive.set_retention(Some(Duration::from_secs(1)));
        let now: DateTime<Utc> = "2016-05-04T07:00:37.500Z".parse().expect("time");
        assert_eq!(archive.prune(now).expect("prune"), 1);
        assert_eq!(archive.topic_len("all"), 5);
        // a wrong record is found and repaired
        archive
            .set_topic_counts(&[(b"all".to_vec(), 9)].into_iter().collect())
            .expect("set");
        assert_eq!(
            archive.verify(&only_all).expect("verify"),
            ["the member count record of topic \"all\" says 9, its index holds 5"]
        );
        archive.repair(&only_all).expect("repair");
        assert_eq!(archive.topic_len("all"), 5);
        assert!(archive.verify(&only_all).expect("verify").is_empty());
        // an archive from before the counts were kept counts them when it is opened
        archive.meta.remove(TOPIC_COUNTS_KEPT).expect("remove");
        archive.set_topic_counts(&BTreeMap::new()).expect("clear");
        drop(archive);
        let archive = retry(|| Archive::open(&dir.path().join("a"), Duration::from_secs(3600)))
            .expect("reopen");
        assert_eq!(archive.topic_len("all"), 5);
    }

    #[test]
    fn recuration_stopped_midway_records_no_fingerprint_and_is_redone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (archive, _) = archive_with(dir.path(), 12);
        let all = |_: &Article| vec!["all".to_string()];
        let fps: HashMap<String, String> = [("all".to_string(), "1".to_string())].into();
        let r = archive
            .recurate(&all, &fps, &AtomicBool::new(true))
            .expect("recurate");
        assert!(r.interrupted && r.scanned == 0, "{r:?}");
        assert_eq!(
            archive.recuration_needed(&fps).expect("needed").changed,
            ["all"]
        );
        let r = archive
            .recurate(&all, &fps, &AtomicBool::new(false))
            .expect("recurate");
        assert_eq!((r.scanned, r.interrupted), (12, false));
        assert_eq!(archive.topic_len("all"), 12);
        assert!(
            archive
                .recuration_needed(&fps)
                .expect("needed")
                .changed
                .is_empty()
        );
    }
}
