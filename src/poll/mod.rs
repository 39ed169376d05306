//! One poll of one source: fetch → decode → parse or extract → normalize → archive, with every
//! failure recorded against that source and never against the others. [`read`] reads a single
//! document the same way (shared with `inspect`), [`follow`] fetches the pages a poll needs
//! beyond the source's own document, and [`workers`] holds the threads the CPU work and the
//! commits run on.

pub mod follow;
pub mod read;
pub mod workers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::archive::{Archive, ArchiveError, Commit, Counts};
use crate::config::{Config, Source, SourceKind};
use crate::extract::{self, LinkError};
use crate::fetch::{FetchError, Fetcher, HostLimits, Limits, Validators};
use crate::live::{Live, LiveConfig};
use crate::model::{EventKind, PollState, SourceEvent};
use crate::schedule::{Hints, next_delay, with_jitter};
use crate::secrets::{redact_str, redact_text};
use follow::{Follow, blocking_read, list_articles, with_full_text};
pub use read::{Document, Known, ReadAs, ReadError, Reader, Reading, read_as, read_document};
use workers::{JobError, Store, Workers};

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The source answered `410 Gone` before; it is not polled any more.
    #[error(
        "gone: {url} answered 410 Gone; not polled any more (remove the source from feeds.toml, or give it a new url)"
    )]
    Gone { url: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("advertised feed {url}: {error}")]
    AdvertisedUrl { url: String, error: url::ParseError },
    #[error("advertised feed: {0}")]
    Advertised(#[source] FetchError),
    #[error("reading {url}: {error}")]
    Read { url: String, error: ReadError },
    #[error("reading {url}: {error}")]
    ReadJob { url: String, error: JobError },
    #[error("source {source_id}: {error}")]
    Links { source_id: String, error: LinkError },
    #[error(
        "reading {url}: an HTML page with no feed and no article links found (set `links` to a CSS selector for them, or `follow` to their URL pattern)"
    )]
    NoArticleLinks { url: String },
    #[error("reading {url}: not an article page")]
    NotAnArticle { url: String },
    #[error("{url}: {error}")]
    BadLink { url: String, error: url::ParseError },
    #[error("storing {source_id}: {error}")]
    Store {
        source_id: String,
        error: ArchiveError,
    },
    #[error("storing {source_id}: {error}")]
    StoreJob { source_id: String, error: JobError },
    /// The daemon is shutting down: not the source's fault, and it stays due.
    #[error("shutting down")]
    Shutdown,
    /// The archive's filesystem is below `[archive] min_free`: the poll is deferred.
    #[error(
        "deferred: {free} bytes free on the archive's filesystem, below [archive] min_free ({min_free}); polling resumes by itself when space comes back"
    )]
    LowDisk { free: u64, min_free: u64 },
}

/// What part of a poll failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Gone,
    Fetch,
    Read,
    Store,
    Shutdown,
    /// Not the source's fault, not counted: the daemon is short of disk space.
    Deferred,
}

impl PollError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PollError::Gone { .. } => ErrorKind::Gone,
            PollError::Fetch(_)
            | PollError::Advertised(_)
            | PollError::AdvertisedUrl { .. }
            | PollError::BadLink { .. } => ErrorKind::Fetch,
            PollError::Read { .. }
            | PollError::ReadJob { .. }
            | PollError::Links { .. }
            | PollError::NoArticleLinks { .. }
            | PollError::NotAnArticle { .. } => ErrorKind::Read,
            PollError::Store { .. } | PollError::StoreJob { .. } => ErrorKind::Store,
            PollError::Shutdown => ErrorKind::Shutdown,
            PollError::LowDisk { .. } => ErrorKind::Deferred,
        }
    }

    /// Whether the failure may go away by itself (timeouts, 5xx, 429 of the source's own URL).
    pub fn is_transient(&self) -> bool {
        match self {
            PollError::Fetch(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// The result of polling one source.
#[derive(Debug)]
pub struct PollReport {
    pub source: String,
    /// Counts, or why the poll failed.
    pub result: Result<Counts, PollError>,
    pub bytes: usize,
    pub entries: usize,
    pub elapsed: Duration,
    /// The server answered `304 Not Modified`: nothing was parsed or stored.
    pub not_modified: bool,
    /// The source's URL redirects permanently here: update feeds.toml.
    pub moved_to: Option<String>,
    /// When the source is due again.
    pub next_due: Option<DateTime<Utc>>,
    /// The source is gone (410) and is not polled any more.
    pub gone: bool,
    /// Article pages that could not be fetched or read (HTML sources, `full_text`); the rest of
    /// the poll went on without them.
    pub article_errors: Vec<PollError>,
    /// Entries beyond the source's `max_entries` (the oldest), not stored.
    pub skipped: usize,
    /// What was wrong with a document that parsed (see [`Reading::warning`]).
    pub warning: Option<String>,
    /// A `200` brought the bytes the last stored poll read: handled like a `304` (issue 21).
    pub unchanged: bool,
    /// Entries stored before exactly as the document has them now: not read again.
    pub unchanged_entries: usize,
}

/// Everything a poll needs besides the source; shared by `poll`, the daemon and the benches.
#[derive(Clone)]
pub struct Poller {
    pub archive: Arc<Archive>,
    /// The configuration in force (topics, HTTP client, backoff cap); a reload swaps it for
    /// every source at once.
    live: Arc<LiveConfig>,
    /// Per-host politeness shared by every source; closed only when the process shuts down.
    pub hosts: Arc<HostLimits>,
    workers: Arc<Workers>,
    /// Poll states whose write failed, kept until the next poll of their source.
    unsaved: Arc<std::sync::Mutex<std::collections::HashMap<String, PollState>>>,
    /// The archive's filesystem was below `min_free` at the last look.
    disk_low: Arc<std::sync::atomic::AtomicBool>,
}

/// How soon a poll deferred for disk space is tried again.
const DISK_RECHECK_SECS: i64 = 30;

impl Poller {
    /// A poller on shared parts: the daemon's live configuration, host limits and workers.
    pub fn new(
        archive: Arc<Archive>,
        live: Arc<LiveConfig>,
        hosts: Arc<HostLimits>,
        workers: Arc<Workers>,
    ) -> Poller {
        Poller {
            archive,
            live,
            hosts,
            workers,
            unsaved: Arc::default(),
            disk_low: Arc::default(),
        }
    }

    /// A poller with parts of its own, for one-shot polling (`gazette poll`, benches, tests).
    pub fn for_config(config: &Config, archive: Arc<Archive>) -> Result<Poller, FetchError> {
        let hosts = Arc::new(HostLimits::new(
            config.polling.per_host,
            config.polling.host_delay,
        ));
        let live = Arc::new(LiveConfig::from_config(config.clone())?);
        Ok(Poller::new(archive, live, hosts, Workers::start()))
    }

    /// Whether the archive's filesystem has `[archive] min_free` left; the first poll to see
    /// it run short (or come back) says so once, in the log and in `/status.rss`.
    async fn disk_space_ok(&self, live: &Live, now: DateTime<Utc>) -> Result<(), PollError> {
        use std::sync::atomic::Ordering;
        let min_free = live.config.archive.min_free;
        let free = self.archive.free_space();
        let low = free.filter(|&f| f < min_free);
        let was_low = self.disk_low.swap(low.is_some(), Ordering::AcqRel);
        if low.is_some() != was_low {
            let free = free.unwrap_or_default();
            let (kind, message) = if low.is_some() {
                tracing::error!(
                    free,
                    min_free,
                    "the archive's filesystem is short of space; polls are deferred until it is freed"
                );
                (
                    EventKind::DiskLow,
                    format!(
                        "{free} bytes free, below [archive] min_free ({min_free}); polls are deferred"
                    ),
                )
            } else {
                tracing::info!(free, "disk space is back; polling resumes");
                (
                    EventKind::DiskOk,
                    format!("{free} bytes free again; polling resumed"),
                )
            };
            let events = vec![event("archive", kind, message, now)];
            if let Err(e) = self
                .write_small("archive", move |a| a.note_events(&events))
                .await
            {
                tracing::warn!("cannot record the disk space event: {e}");
            }
        }
        match low {
            Some(free) => Err(PollError::LowDisk { free, min_free }),
            None => Ok(()),
        }
    }

    /// The threads this poller's work runs on.
    pub fn workers(&self) -> &Arc<Workers> {
        &self.workers
    }

    /// Writes a poll that stored no articles (a 304, a failure) on the writer thread, and
    /// waits, without holding a thread, until it is durable.
    async fn note(
        &self,
        source: &str,
        state: PollState,
        events: Vec<SourceEvent>,
    ) -> Result<(), PollError> {
        let id = source.to_string();
        self.write_small(source, move |a| a.note_poll(&id, &state, &events))
            .await
    }

    /// Runs a small write on the writer thread and awaits its fsync; `who` names it in errors.
    async fn write_small(
        &self,
        who: &str,
        write: impl FnOnce(&Archive) -> Result<Commit, ArchiveError> + Send + 'static,
    ) -> Result<(), PollError> {
        let archive = Arc::clone(&self.archive);
        let storing = |error| PollError::Store {
            source_id: who.to_string(),
            error,
        };
        let commit = self
            .workers
            .on_writer(move || write(&archive))
            .await
            .map_err(|error| PollError::StoreJob {
                source_id: who.to_string(),
                error,
            })?
            .map_err(storing)?;
        self.archive
            .make_durable_async(commit)
            .await
            .map_err(storing)?;
        Ok(())
    }

    /// Polls `sources` with at most `concurrency` at once; reports come back in `sources` order.
    pub async fn poll_all(&self, sources: &[Source], concurrency: usize) -> Vec<PollReport> {
        let mut reports: Vec<(usize, PollReport)> =
            futures_util::stream::iter(sources.iter().enumerate())
                .map(|(i, s)| async move { (i, self.poll(s).await) })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        reports.sort_by_key(|(i, _)| *i);
        reports.into_iter().map(|(_, r)| r).collect()
    }

    /// Polls one source once and records the outcome (articles, state, next due time, events)
    /// in the archive.
    pub async fn poll(&self, source: &Source) -> PollReport {
        let started = Instant::now();
        let now = Utc::now();
        // a state whose last write failed (a full disk) goes on from memory, so failures keep
        // counting and backing off
        let unsaved = self
            .unsaved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&source.id);
        let mut state = unsaved.unwrap_or_else(|| self.archive.poll_state_or_new(&source.id));
        // one configuration for the whole poll: a reload meanwhile applies from the next one
        let live = self.live.get();
        let mut report = PollReport {
            source: source.id.clone(),
            result: Ok(Counts::default()),
            bytes: 0,
            entries: 0,
            elapsed: Duration::ZERO,
            article_errors: Vec::new(),
            not_modified: false,
            moved_to: None,
            next_due: None,
            gone: false,
            skipped: 0,
            warning: None,
            unchanged: false,
            unchanged_entries: 0,
        };
        if state.is_gone_at(source.url.as_str()) {
            report.gone = true;
            report.result = Err(PollError::Gone {
                url: source.url.to_string(),
            });
            return report;
        }
        if let Err(low) = self.disk_space_ok(&live, now).await {
            // deferred, not failed: not the source's fault; asked again within a minute
            report.next_due = Some(now + chrono::Duration::seconds(DISK_RECHECK_SECS));
            report.result = Err(low);
            return report;
        }
        state.last_attempt = Some(now);
        let prev_failures = state.consecutive_failures;
        let mut hints = Hints::default();
        let outcome = self
            .poll_inner(
                Attempt {
                    live: &live,
                    source,
                    prev_failures,
                    now,
                },
                &mut state,
                &mut report,
                &mut hints,
            )
            .await;
        report.elapsed = started.elapsed();
        {
            use crate::telemetry as t;
            let outcome_label = match (&outcome, report.not_modified, report.gone) {
                (Ok(_), true, _) => "not_modified",
                (Ok(_), false, _) if report.unchanged => "unchanged",
                (Ok(_), false, _) => "ok",
                (Err(_), _, true) => "gone",
                (Err(PollError::LowDisk { .. }), _, false) => "deferred",
                (Err(_), _, false) => "failed",
            };
            metrics::counter!(t::POLLS, "outcome" => outcome_label).increment(1);
            metrics::histogram!(t::FETCH_SECONDS).record(report.elapsed.as_secs_f64());
            metrics::counter!(t::FETCHED_BYTES).increment(report.bytes as u64);
            if let Ok(c) = &outcome {
                for (label, n) in [
                    ("new", c.new),
                    ("duplicate", c.duplicate),
                    ("updated", c.updated),
                    ("unchanged", c.unchanged),
                ] {
                    metrics::counter!(t::ARTICLES, "result" => label).increment(u64::from(n));
                }
            }
        }
        match outcome {
            Ok(counts) => {
                report.result = Ok(counts);
                tracing::info!(
                    source = %source.id, status = state.last_status.unwrap_or(0), bytes = report.bytes,
                    ms = report.elapsed.as_millis() as u64, new = counts.new, duplicate = counts.duplicate,
                    updated = counts.updated, next_due = ?state.next_due, "polled"
                );
            }
            Err(PollError::Shutdown) => {
                // cut short by shutdown: not the source's fault, and it stays due
                tracing::debug!(source = %source.id, "poll cut short by shutdown");
                report.result = Err(PollError::Shutdown);
            }
            Err(low @ PollError::LowDisk { .. }) => {
                report.next_due = Some(now + chrono::Duration::seconds(DISK_RECHECK_SECS));
                report.result = Err(low);
            }
            Err(reason) => {
                let transient = reason.is_transient();
                // counted from before the poll: a store that failed after the fetch succeeded
                // had already reset the counter in `succeed`
                state.consecutive_failures = prev_failures.saturating_add(1);
                // what is stored is shown on pages and feeds: no credentials in it
                let shown = redact_text(&reason.to_string());
                state.last_error = Some(shown.clone());
                state.last_error_transient = transient;
                let mut events = Vec::new();
                if state.last_status == Some(410) {
                    state.gone = true;
                    state.moved_from = state.moved_from.take().filter(|_| false);
                    state.validators_url = Some(source.url.to_string());
                    report.gone = true;
                    tracing::error!(source = %source.id, "{} is gone (410); gazette stops polling it: remove it from feeds.toml", redact_str(source.url.as_str()));
                    events.push(event(
                        &source.id,
                        EventKind::Gone,
                        format!(
                            "{} answered 410 Gone; gazette stopped polling it",
                            source.url
                        ),
                        now,
                    ));
                } else if state.just_started_failing() {
                    events.push(event(&source.id, EventKind::Failing, shown.clone(), now));
                }
                let delay = next_delay(
                    source.interval,
                    live.config.polling.max_interval,
                    state.consecutive_failures,
                    &hints,
                );
                let due = now
                    + chrono::Duration::from_std(with_jitter(delay, jitter(), hints.retry_after))
                        .unwrap_or_default();
                state.next_due = Some(due);
                report.next_due = Some(due);
                tracing::warn!(
                    source = %source.id, status = state.last_status.unwrap_or(0), ms = report.elapsed.as_millis() as u64,
                    transient, failures = state.consecutive_failures, next_due = %due, "poll failed: {shown}"
                );
                if let Err(e) = self.note(&source.id, state.clone(), events).await {
                    tracing::error!(source = %source.id, "cannot record poll failure: {e}");
                    self.unsaved
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(source.id.clone(), state.clone());
                }
                report.result = Err(reason);
            }
        }
        report
    }

    /// Marks the poll successful: counters, the next due time from `hints`, and the events a
    /// recovery or a move deserve.
    fn succeed(
        live: &Live,
        source: &Source,
        state: &mut PollState,
        report: &mut PollReport,
        hints: &Hints,
        prev_failures: u32,
        now: DateTime<Utc>,
    ) -> Vec<SourceEvent> {
        let mut events = Vec::new();
        let before = PollState {
            consecutive_failures: prev_failures,
            last_error_transient: state.last_error_transient,
            ..PollState::default()
        };
        if before.is_failing() {
            events.push(event(
                &source.id,
                EventKind::Recovered,
                format!("polling works again after {prev_failures} failures"),
                now,
            ));
        }
        if let Some(to) = &report.moved_to {
            if state.moved_to.as_deref() != Some(to.as_str()) {
                events.push(event(
                    &source.id,
                    EventKind::Moved,
                    format!(
                        "{} moved permanently to {to}; update feeds.toml",
                        source.url
                    ),
                    now,
                ));
                tracing::warn!(source = %source.id, "source {} moved to {}; update feeds.toml", source.id, redact_str(to));
            }
            state.moved_to = Some(to.clone());
            state.moved_from = Some(source.url.to_string());
        }
        if let Some(w) = &report.warning {
            if state.last_warning.as_deref() != Some(w.as_str()) {
                events.push(event(&source.id, EventKind::Warning, w.clone(), now));
            }
            tracing::warn!(source = %source.id, "{w}");
        }
        // a 304 (or the same bytes) says the document is the one read before: its warning
        // still stands
        if !report.not_modified && !report.unchanged {
            state.last_warning = report.warning.clone();
        }
        state.last_success = Some(now);
        state.consecutive_failures = 0;
        state.last_error = None;
        state.last_error_transient = false;
        state.gone = false;
        let delay = next_delay(source.interval, live.config.polling.max_interval, 0, hints);
        let due = now
            + chrono::Duration::from_std(with_jitter(delay, jitter(), hints.retry_after))
                .unwrap_or_default();
        state.next_due = Some(due);
        report.next_due = Some(due);
        events
    }

    async fn poll_inner(
        &self,
        attempt: Attempt<'_>,
        state: &mut PollState,
        report: &mut PollReport,
        hints: &mut Hints,
    ) -> Result<Counts, PollError> {
        let Attempt {
            live,
            source,
            prev_failures,
            now,
        } = attempt;
        let limits = Limits {
            timeout: source.timeout,
            max_body: source.max_body,
            private_redirects: source.allow_private,
        };
        // A permanent redirect is followed from then on, until the configured URL changes.
        let url = match (&state.moved_to, &state.moved_from) {
            (Some(to), Some(from)) if from == source.url.as_str() => {
                Url::parse(to).unwrap_or_else(|_| source.url.clone())
            }
            _ => {
                state.moved_to = None;
                state.moved_from = None;
                source.url.clone()
            }
        };
        if state.moved_to.is_some() {
            report.moved_to = state.moved_to.clone();
        }
        // Validators are sent back only to the URL that gave them.
        let same_url = state.validators_url.as_deref() == Some(url.as_str());
        let validators = Validators {
            etag: state.etag.as_deref().filter(|_| same_url),
            last_modified: state.last_modified.as_deref().filter(|_| same_url),
        };
        let fetched = {
            let Some(_host) = self.hosts.acquire(url.host_str().unwrap_or_default()).await else {
                return Err(PollError::Shutdown);
            };
            live.fetcher.get_conditional(&url, limits, validators).await
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                state.last_status = e.status();
                hints.retry_after = e.retry_after();
                return Err(e.into());
            }
        };
        state.last_status = Some(fetched.status);
        report.bytes = fetched.body.len();
        hints.fresh_for = fetched.fresh_for;
        if let Some(to) = &fetched.moved_to {
            report.moved_to = Some(to.to_string());
        }
        let url = fetched.moved_to.clone().unwrap_or(url);
        if fetched.is_not_modified() {
            // RFC 9111 §4.3.4: a 304 refreshes the validators it carries; each one on its own.
            if fetched.etag.is_some() {
                state.etag = fetched.etag.clone();
            }
            if fetched.last_modified.is_some() {
                state.last_modified = fetched.last_modified.clone();
            }
            state.not_modified = state.not_modified.saturating_add(1);
            state.last_new = 0;
            state.last_duplicate = 0;
            state.last_updated = 0;
            report.not_modified = true;
            // the stored copy's TTL still holds
            hints.ttl = state.ttl_secs.map(Duration::from_secs);
            let events = Self::succeed(live, source, state, report, hints, prev_failures, now);
            self.note(&source.id, state.clone(), events).await?;
            return Ok(Counts::default());
        }
        let settings = read::settings_hash(source);
        let body_hash = document_hash(settings, &fetched);
        if state.body_hash.as_deref() == Some(body_hash.as_str()) {
            // The same bytes as the document read and stored last time (a server that ignores
            // validators, or regenerates them): nothing to read or store. Everything else is
            // what any 200 does: RFC 9110 §8.8, its validators replace the stored ones (one it
            // does not carry no longer applies), and the due time and counters are refreshed.
            state.etag = fetched.etag.clone();
            state.last_modified = fetched.last_modified.clone();
            state.validators_url = Some(url.to_string());
            state.not_modified = 0;
            state.last_new = 0;
            state.last_duplicate = 0;
            state.last_updated = 0;
            report.unchanged = true;
            // the stored copy's TTL still holds
            hints.ttl = state.ttl_secs.map(Duration::from_secs);
            let events = Self::succeed(live, source, state, report, hints, prev_failures, now);
            self.note(&source.id, state.clone(), events).await?;
            return Ok(Counts::default());
        }
        let links = Fetcher::for_links(&source.user_agent, source.url.host_str())?;
        let (etag, last_modified) = (fetched.etag.clone(), fetched.last_modified.clone());
        let page_url = fetched.url.clone();
        let known = Known {
            archive: Arc::clone(&self.archive),
            context: settings,
        };
        // the document's hash is kept only when the poll read all of it from these bytes
        let mut whole = true;
        let how = match source.kind {
            SourceKind::Feed => Some(ReadAs::Feed),
            SourceKind::Html => Some(ReadAs::List),
            SourceKind::Auto => Some(ReadAs::FeedOrList),
        };
        let doc = blocking_read(
            &self.workers,
            source,
            fetched,
            now,
            how,
            Some(known.clone()),
        )
        .await?;
        let doc = match doc {
            Document::List { feeds, .. }
                if source.kind == SourceKind::Auto && !feeds.is_empty() =>
            {
                // the page advertises a feed: poll that instead (RSS autodiscovery)
                let feed_url = Url::parse(&feeds[0]).map_err(|error| PollError::AdvertisedUrl {
                    url: feeds[0].clone(),
                    error,
                })?;
                let fetched = {
                    let _host = self
                        .hosts
                        .acquire(feed_url.host_str().unwrap_or_default())
                        .await
                        .ok_or(PollError::Shutdown)?;
                    links
                        .get(&feed_url, limits)
                        .await
                        .map_err(PollError::Advertised)?
                };
                report.bytes += fetched.body.len();
                // the page may stay the same while the feed it advertises changes
                whole = false;
                blocking_read(
                    &self.workers,
                    source,
                    fetched,
                    now,
                    Some(ReadAs::Feed),
                    Some(known),
                )
                .await?
            }
            other => other,
        };
        let ttl = match &doc {
            Document::Feed(r) => r.feed.meta.ttl,
            _ => None,
        };
        report.warning = match &doc {
            Document::Feed(r) => r.warning(),
            _ => None,
        };
        let follow = Follow {
            source,
            links: &links,
            hosts: &self.hosts,
            archive: &self.archive,
            workers: &self.workers,
            now,
        };
        let mut candidates = match doc {
            Document::Feed(reading) => {
                report.unchanged_entries = reading.unchanged_count();
                with_full_text(&follow, reading, report).await
            }
            Document::List { decoded, .. } => {
                let found = extract::links(
                    &decoded.text,
                    &page_url,
                    source.links.as_deref(),
                    source.follow.as_ref(),
                )
                .map_err(|error| PollError::Links {
                    source_id: source.id.clone(),
                    error,
                })?;
                if found.is_empty() {
                    return Err(PollError::NoArticleLinks {
                        url: page_url.to_string(),
                    });
                }
                list_articles(&follow, found, report).await
            }
            Document::Article { candidate, .. } => candidate.into_iter().collect(),
        };
        candidates.retain(|c| !c.title.is_empty());
        if candidates.len() > source.max_entries {
            // the newest ones: one poll's transaction (and the writer's time on it) stays
            // bounded whatever a feed sends (80k items once held the writer for 313 s)
            candidates.sort_by_key(|c| std::cmp::Reverse(c.published));
            report.skipped = candidates.len() - source.max_entries;
            candidates.truncate(source.max_entries);
            tracing::warn!(
                source = %source.id,
                skipped = report.skipped,
                max_entries = source.max_entries,
                "more entries than max_entries; the oldest were skipped"
            );
        }
        report.entries = candidates.len() + report.unchanged_entries;
        // pages that could not be fetched are tried again by the next poll, same bytes or not
        state.body_hash = (whole && report.article_errors.is_empty()).then_some(body_hash);
        // A 200 replaces both validators: one it does not carry no longer applies.
        state.etag = etag;
        state.last_modified = last_modified;
        state.validators_url = Some(url.to_string());
        state.not_modified = 0;
        state.ttl_secs = ttl.map(|d| d.as_secs());
        hints.ttl = ttl;
        let events = Self::succeed(live, source, state, report, hints, prev_failures, now);
        let store_job = |error| PollError::StoreJob {
            source_id: source.id.clone(),
            error,
        };
        let storing = |error| PollError::Store {
            source_id: source.id.clone(),
            error,
        };
        let candidates = Arc::new(candidates);
        // one curator for both steps: a reload in between must not mix two sets of topics
        let curator = Arc::clone(&live.curator);
        let (archive, topics, cands) = (
            Arc::clone(&self.archive),
            Arc::clone(&curator),
            Arc::clone(&candidates),
        );
        let guess = self
            .workers
            .on_cpu(move || archive.speculate(&cands, now, &|a| topics.topics_for(a)))
            .await
            .map_err(store_job)?
            .map_err(storing)?;
        let (archive, id, final_state) =
            (Arc::clone(&self.archive), source.id.clone(), state.clone());
        let commit = self
            .workers
            .store(Store {
                archive,
                source: id,
                candidates,
                state: final_state,
                now,
                curator,
                events,
                guess,
            })
            .await
            .map_err(store_job)?
            .map_err(storing)?;
        let (counts, _) = self
            .archive
            .make_durable_async(commit)
            .await
            .map_err(storing)?;
        state.last_new = counts.new;
        state.last_duplicate = counts.duplicate;
        state.last_updated = counts.updated;
        let mut counts = counts;
        counts.unchanged += u32::try_from(report.unchanged_entries).unwrap_or(u32::MAX);
        Ok(counts)
    }
}

/// xxh3-128 of a fetched document as reading sees it: the source's [settings
/// hash](read::settings_hash), the content type (it may name the charset), the final URL
/// (relative links resolve against it) and the bytes. Hex, for the poll state.
fn document_hash(settings: u64, fetched: &crate::fetch::Fetched) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(settings);
    for part in [
        fetched.content_type.as_deref().unwrap_or("").as_bytes(),
        b"\n",
        fetched.url.as_str().as_bytes(),
        b"\n",
    ] {
        h.update(part);
    }
    h.update(&fetched.body);
    format!("{:032x}", h.digest128())
}

/// What one poll is made under: the configuration in force, the source, the failures before
/// it and its time.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    live: &'a Live,
    source: &'a Source,
    prev_failures: u32,
    now: DateTime<Utc>,
}

/// An event for operators; URLs in its message are shown without credentials.
fn event(source: &str, kind: EventKind, message: String, at: DateTime<Utc>) -> SourceEvent {
    SourceEvent {
        at,
        source: source.to_string(),
        kind,
        message: redact_text(&message),
    }
}

fn jitter() -> f64 {
    rand::Rng::random_range(&mut rand::rng(), -1.0..=1.0)
}
