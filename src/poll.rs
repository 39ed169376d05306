//! One poll: fetch → decode → parse → normalize → archive, for one source, with every failure
//! recorded against that source and never against the others. Also reads a single document the
//! same way without storing it (`inspect`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use url::Url;

use crate::archive::{Archive, ArchiveError, Commit, Counts, Pending, Speculation};
use crate::config::Config;
use crate::config::{Source, SourceKind};
use crate::curate::Curator;
use crate::decode::{Decoded, decode};
use crate::extract::{self, FoundLink, PageArticle};
use crate::fetch::{Fetcher, HostLimits, Limits, Validators};
use crate::model::PollState;
use crate::model::SourceEvent;
use crate::normalize::{Candidate, Origin, normalize};
use crate::parse::{ParsedFeed, parse_feed};
use crate::schedule::{Hints, next_delay, with_jitter};

/// Runs the CPU-heavy half of a poll (reading a document, preparing its articles) on the
/// background pool: rayon, one thread per core, each at nice 10. When nothing else wants the
/// CPU the pool uses all of it; when HTTP requests arrive, the server's threads (nice 0) win the
/// CPU, so a cold ingest does not push topic-feed latency up (bench/run: p99 while ingesting).
/// A job that panics is an error of that poll, not of the pool.
async fn on_background_cpu<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    on_pool(background_pool(), job).await
}

/// Runs an archive commit on the writer thread (one, at nice 10). Commits take the archive's
/// write lock one at a time anyway; on the background pool, a poll waiting for the lock held
/// one of its threads idle, and with two cores half the pool then stood still (perf, 500-feed
/// cold ingest: 65% of two cores busy). Queued here, they leave the pool to reading feeds.
async fn on_writer<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let (work, result) = catching(job);
    to_writer(WriterJob::Run(Box::new(work)));
    result.await
}

/// Stores one poll on the writer thread; polls queued there meanwhile are stored with it
/// ([`Archive::commit_group`]).
async fn store_on_writer(store: Store) -> Result<Result<Commit, ArchiveError>, String> {
    let (reply, result) = tokio::sync::oneshot::channel();
    to_writer(WriterJob::Store(Box::new(store), reply));
    result
        .await
        .unwrap_or_else(|_| Err("internal error: the background task was dropped".into()))
}

/// Most polls stored in one transaction, and most candidates among them: a group's
/// transaction holds all of its writes in memory.
const MAX_GROUP: usize = 32;
const MAX_GROUP_CANDIDATES: usize = 2000;

type Reply = tokio::sync::oneshot::Sender<Result<Result<Commit, ArchiveError>, String>>;

enum WriterJob {
    Run(Box<dyn FnOnce() + Send>),
    Store(Box<Store>, Reply),
}

/// One poll waiting for the writer, with everything [`Archive::commit`] takes.
struct Store {
    archive: Arc<Archive>,
    source: String,
    candidates: Arc<Vec<Candidate>>,
    state: PollState,
    now: DateTime<Utc>,
    curator: Arc<Curator>,
    events: Vec<SourceEvent>,
    guess: Speculation,
}

fn to_writer(job: WriterJob) {
    static QUEUE: std::sync::OnceLock<Option<std::sync::mpsc::Sender<WriterJob>>> =
        std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<WriterJob>();
        // a plain thread blocked in recv, not a rayon pool: an idle rayon worker spins for a
        // while looking for work before it sleeps, and the writer idles between every commit
        std::thread::Builder::new()
            .name("gazette-writer".into())
            .spawn(move || {
                lower_this_threads_priority();
                run_writer(&rx);
            })
            .map_err(|e| tracing::warn!("cannot start the archive writer thread: {e}"))
            .ok()
            .map(|_| tx)
    });
    let sent = match queue {
        Some(q) => q.send(job).map_err(|back| back.0),
        None => Err(job),
    };
    if let Err(job) = sent {
        // no writer thread: the runtime's blocking threads still work
        drop(tokio::task::spawn_blocking(move || match job {
            WriterJob::Run(work) => work(),
            WriterJob::Store(store, reply) => store_group(vec![(store, reply)]),
        }));
    }
}

/// The writer thread: jobs in the order they were queued, each store together with the stores
/// queued right behind it (for the same archive), up to the group limits.
fn run_writer(rx: &std::sync::mpsc::Receiver<WriterJob>) {
    let mut next = None;
    while let Some(job) = next.take().or_else(|| rx.recv().ok()) {
        let (first, reply) = match job {
            WriterJob::Run(work) => {
                work();
                continue;
            }
            WriterJob::Store(store, reply) => (store, reply),
        };
        let mut candidates = first.candidates.len();
        let mut group = vec![(first, reply)];
        while group.len() < MAX_GROUP && candidates < MAX_GROUP_CANDIDATES {
            match rx.try_recv() {
                Ok(WriterJob::Store(store, reply))
                    if Arc::ptr_eq(&store.archive, &group[0].0.archive) =>
                {
                    candidates += store.candidates.len();
                    group.push((store, reply));
                }
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        store_group(group);
    }
}

/// Stores a group of polls and answers each. A panic fails only the poll that causes it: the
/// group is then stored again one poll at a time.
fn store_group(mut group: Vec<(Box<Store>, Reply)>) {
    let joint = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commit_stores(group.iter_mut().map(|(s, _)| &mut **s))
    }));
    match joint {
        Ok(results) => {
            for ((_, reply), result) in group.into_iter().zip(results) {
                // the poll may have been cancelled (shutdown): nobody waits for the result then
                let _ = reply.send(Ok(result));
            }
        }
        Err(_) => {
            let retry_alone = group.len() > 1;
            for (mut store, reply) in group {
                let result = if retry_alone {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit_stores(std::iter::once(&mut *store)).pop()
                    }))
                    .ok()
                    .flatten()
                } else {
                    None
                };
                let _ = reply.send(
                    result.ok_or_else(|| "internal error (a bug: please report it)".to_string()),
                );
            }
        }
    }
}

fn commit_stores<'s>(
    stores: impl Iterator<Item = &'s mut Store>,
) -> Vec<Result<Commit, ArchiveError>> {
    let stores: Vec<&mut Store> = stores.collect();
    let Some(archive) = stores.first().map(|s| Arc::clone(&s.archive)) else {
        return Vec::new();
    };
    let curators: Vec<Arc<Curator>> = stores.iter().map(|s| Arc::clone(&s.curator)).collect();
    let curates: Vec<_> = curators
        .iter()
        .map(|c| move |a: &crate::model::Article| c.topics_for(a))
        .collect();
    let mut pending: Vec<Pending<'_>> = stores
        .into_iter()
        .zip(&curates)
        .map(|(s, curate)| Pending {
            source: &s.source,
            candidates: &s.candidates,
            state: &s.state,
            now: s.now,
            curate,
            events: &s.events,
            guess: std::mem::take(&mut s.guess),
        })
        .collect();
    archive.commit_group(&mut pending)
}

/// Returns once every commit queued on the writer thread so far has ended (shutdown waits
/// for it before the final flush).
pub async fn writer_idle() {
    // the queue is first in, first out: a no-op runs after everything queued before it
    let _ = on_writer(|| ()).await;
}

async fn on_pool<R: Send + 'static>(
    pool: Option<&'static rayon::ThreadPool>,
    job: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let (work, result) = catching(job);
    match pool {
        Some(pool) => pool.spawn(work),
        // no pool (threads could not be started): the runtime's blocking threads still work
        None => drop(tokio::task::spawn_blocking(work)),
    }
    result.await
}

/// `job` wrapped to run on another thread, and the future of its result: a panic in it is an
/// error of the one poll it belongs to.
fn catching<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> (
    impl FnOnce() + Send + 'static,
    impl std::future::Future<Output = Result<R, String>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let work = move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        // the poll may have been cancelled (shutdown): nobody waits for the result then
        let _ = tx.send(result);
    };
    let result = async move {
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err("internal error (a bug: please report it)".into()),
            Err(_) => Err("internal error: the background task was dropped".into()),
        }
    };
    (work, result)
}

fn background_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("gazette-cpu-{i}"))
            .start_handler(|_| lower_this_threads_priority())
            .build()
            .map_err(|e| tracing::warn!("cannot start the background pool: {e}"))
            .ok()
    })
    .as_ref()
}

/// nice 10 for the calling thread only: on Linux the nice value is per thread (setpriority(2),
/// NOTES), so the HTTP server and the scheduler keep their priority.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 10)
        };
        if rc != 0 {
            tracing::debug!("setpriority failed: {}", std::io::Error::last_os_error());
        }
    }
}

/// Why a poll stopped before its request: the daemon is shutting down.
const SHUTTING_DOWN: &str = "shutting down";

/// The result of polling one source.
#[derive(Debug, Clone)]
pub struct PollReport {
    pub source: String,
    /// Counts, or the reason the poll failed (one sentence, naming the URL).
    pub result: Result<Counts, String>,
    /// Whether a failure may go away by itself.
    pub transient: bool,
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
    pub article_errors: Vec<String>,
}

/// A feed read the way a poll reads it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub decoded: Decoded,
    pub feed: ParsedFeed,
    pub candidates: Vec<Candidate>,
}

/// How to read a document (`inspect --as`); `None` lets gazette decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    Feed,
    Article,
    List,
    /// What a source of kind "auto" does: a feed if it parses as one, else a list page.
    FeedOrList,
}

/// A document read as a feed, an article page or a list page.
#[derive(Debug, Clone)]
pub enum Document {
    Feed(Reading),
    Article {
        decoded: Decoded,
        page: Box<PageArticle>,
        candidate: Option<Candidate>,
    },
    List {
        decoded: Decoded,
        links: Vec<FoundLink>,
        /// Feeds the page advertises.
        feeds: Vec<String>,
    },
}

/// Decodes, parses and normalizes a feed. CPU only; call from a blocking context.
pub fn read_document(
    body: &[u8],
    content_type: Option<&str>,
    url: Option<&Url>,
    source: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Reading, crate::parse::ParseError> {
    let decoded = decode(body, content_type);
    let feed = parse_feed(&decoded.text, url, tz)?;
    Ok(normalized(decoded, feed, source, url, now))
}

fn normalized(
    decoded: Decoded,
    feed: ParsedFeed,
    source: &str,
    url: Option<&Url>,
    now: DateTime<Utc>,
) -> Reading {
    let origin = Origin { source, base: url };
    let candidates = feed
        .entries
        .iter()
        .filter_map(|e| normalize(e, origin, now))
        .collect();
    Reading {
        decoded,
        feed,
        candidates,
    }
}

/// Reads an HTML page as an article.
pub fn read_article(
    decoded: Decoded,
    url: Option<&Url>,
    source: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Document, String> {
    let page = extract::article(&decoded.text, url, tz)?;
    let candidate = normalize(&page.entry, Origin { source, base: url }, now);
    Ok(Document::Article {
        decoded,
        page: Box::new(page),
        candidate,
    })
}

/// Reads any document: as told, or as what it looks like (a feed if it parses as one; else a
/// list page when it is mostly a block of article links; else an article).
pub fn read_as(
    body: &[u8],
    content_type: Option<&str>,
    url: Option<&Url>,
    source: &str,
    tz: Tz,
    now: DateTime<Utc>,
    how: Option<ReadAs>,
) -> Result<Document, String> {
    let decoded = decode(body, content_type);
    if matches!(how, None | Some(ReadAs::Feed | ReadAs::FeedOrList)) {
        match parse_feed(&decoded.text, url, tz) {
            Ok(feed) => return Ok(Document::Feed(normalized(decoded, feed, source, url, now))),
            Err(e) if how == Some(ReadAs::Feed) => return Err(e.to_string()),
            Err(e)
                if !crate::parse::looks_like_html(&decoded.text)
                    && !decoded.text.contains("<body") =>
            {
                return Err(e.to_string());
            }
            Err(_) => {}
        }
    }
    let base = url.cloned().unwrap_or_else(|| {
        Url::parse("http://localhost/").unwrap_or_else(|_| unreachable!("static URL"))
    });
    let list = || -> Result<(Vec<FoundLink>, Vec<String>), String> {
        let links = extract::links(&decoded.text, &base, None, None).map_err(|e| e.to_string())?;
        Ok((links, extract::feed_links(&decoded.text, &base)))
    };
    match how {
        Some(ReadAs::List | ReadAs::FeedOrList) => {
            let (links, feeds) = list()?;
            Ok(Document::List {
                decoded,
                links,
                feeds,
            })
        }
        Some(ReadAs::Article) => read_article(decoded, url, source, tz, now),
        _ => {
            let (links, feeds) = list()?;
            let article = read_article(decoded.clone(), url, source, tz, now)?;
            let text_len = match &article {
                Document::Article {
                    candidate: Some(c), ..
                } => c.text.chars().count(),
                _ => 0,
            };
            let link_text: usize = links.iter().map(|l| l.title.chars().count()).sum();
            if links.len() >= 3 && (text_len < 500 || link_text * 2 > text_len) {
                Ok(Document::List {
                    decoded,
                    links,
                    feeds,
                })
            } else {
                Ok(article)
            }
        }
    }
}

/// Consecutive failures after which a transiently failing source counts as "failing" (and an
/// event is published); a permanent error counts at once.
pub const FAILING_AFTER: u32 = 3;

/// Everything a poll needs besides the source; shared by `poll`, the daemon and the benches.
#[derive(Clone)]
pub struct Poller {
    pub fetcher: Fetcher,
    pub archive: Arc<Archive>,
    /// The topics in force; a reload swaps them for every source at once.
    curator: Arc<std::sync::RwLock<Arc<Curator>>>,
    /// Per-host politeness shared by every source.
    pub hosts: Arc<HostLimits>,
    pub max_interval: Duration,
}

impl Poller {
    pub fn new(
        config: &Config,
        archive: Arc<Archive>,
        curator: Arc<Curator>,
    ) -> Result<Poller, crate::fetch::FetchError> {
        Ok(Poller {
            fetcher: Fetcher::new(&config.polling.user_agent)?,
            archive,
            curator: Arc::new(std::sync::RwLock::new(curator)),
            hosts: Arc::new(HostLimits::new(
                config.polling.per_host,
                config.polling.host_delay,
            )),
            max_interval: config.polling.max_interval,
        })
    }

    /// The topics in force.
    pub fn curator(&self) -> Arc<Curator> {
        Arc::clone(&self.curator.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts new topics in force (after a reload).
    pub fn set_curator(&self, curator: Arc<Curator>) {
        *self.curator.write().unwrap_or_else(|p| p.into_inner()) = curator;
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
        let mut state = self.archive.poll_state_or_new(&source.id);
        let mut report = PollReport {
            source: source.id.clone(),
            result: Err(String::new()),
            transient: false,
            bytes: 0,
            entries: 0,
            elapsed: Duration::ZERO,
            article_errors: Vec::new(),
            not_modified: false,
            moved_to: None,
            next_due: None,
            gone: false,
        };
        if is_gone(&state, source) {
            report.gone = true;
            report.result = Err(format!(
                "gone: {} answered 410 Gone; not polled any more (remove the source from feeds.toml, or give it a new url)",
                source.url
            ));
            return report;
        }
        state.last_attempt = Some(now);
        let prev_failures = state.consecutive_failures;
        let mut hints = Hints::default();
        let outcome = self
            .poll_inner(
                source,
                &mut state,
                &mut report,
                &mut hints,
                prev_failures,
                now,
            )
            .await;
        report.elapsed = started.elapsed();
        {
            use crate::telemetry as t;
            let outcome_label = match (&outcome, report.not_modified, report.gone) {
                (Ok(_), true, _) => "not_modified",
                (Ok(_), false, _) => "ok",
                (Err(_), _, true) => "gone",
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
            Err(reason) if self.hosts.is_closed() => {
                // cut short by shutdown: not the source's fault, and it stays due
                tracing::debug!(source = %source.id, "poll cut short by shutdown: {reason}");
                report.result = Err(reason);
            }
            Err(reason) => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.last_error = Some(reason.clone());
                state.last_error_transient = report.transient;
                let mut events = Vec::new();
                if state.last_status == Some(410) {
                    state.gone = true;
                    state.moved_from = state.moved_from.take().filter(|_| false);
                    state.validators_url = Some(source.url.to_string());
                    report.gone = true;
                    tracing::error!(source = %source.id, "{} is gone (410); gazette stops polling it: remove it from feeds.toml", source.url);
                    events.push(event(
                        &source.id,
                        "gone",
                        format!(
                            "{} answered 410 Gone; gazette stopped polling it",
                            source.url
                        ),
                        now,
                    ));
                } else if state.consecutive_failures == FAILING_AFTER
                    || (!report.transient && state.consecutive_failures == 1)
                {
                    events.push(event(&source.id, "failing", reason.clone(), now));
                }
                let delay = next_delay(
                    source.interval,
                    self.max_interval,
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
                    transient = report.transient, failures = state.consecutive_failures, next_due = %due, "poll failed: {reason}"
                );
                if let Err(e) = self.archive.record_poll(&source.id, &state, &events) {
                    tracing::error!(source = %source.id, "cannot record poll failure: {e}");
                }
                report.result = Err(reason);
            }
        }
        report
    }

    /// Marks the poll successful: counters, the next due time from `hints`, and the events a
    /// recovery or a move deserve.
    fn succeed(
        &self,
        source: &Source,
        state: &mut PollState,
        report: &mut PollReport,
        hints: &Hints,
        prev_failures: u32,
        now: DateTime<Utc>,
    ) -> Vec<SourceEvent> {
        let mut events = Vec::new();
        if prev_failures >= FAILING_AFTER || (prev_failures > 0 && !state.last_error_transient) {
            events.push(event(
                &source.id,
                "recovered",
                format!("polling works again after {prev_failures} failures"),
                now,
            ));
        }
        if let Some(to) = &report.moved_to {
            if state.moved_to.as_deref() != Some(to.as_str()) {
                events.push(event(
                    &source.id,
                    "moved",
                    format!(
                        "{} moved permanently to {to}; update feeds.toml",
                        source.url
                    ),
                    now,
                ));
                tracing::warn!(source = %source.id, "source {} moved to {to}; update feeds.toml", source.id);
            }
            state.moved_to = Some(to.clone());
            state.moved_from = Some(source.url.to_string());
        }
        state.last_success = Some(now);
        state.consecutive_failures = 0;
        state.last_error = None;
        state.last_error_transient = false;
        state.gone = false;
        let delay = next_delay(source.interval, self.max_interval, 0, hints);
        let due = now
            + chrono::Duration::from_std(with_jitter(delay, jitter(), hints.retry_after))
                .unwrap_or_default();
        state.next_due = Some(due);
        report.next_due = Some(due);
        events
    }

    async fn poll_inner(
        &self,
        source: &Source,
        state: &mut PollState,
        report: &mut PollReport,
        hints: &mut Hints,
        prev_failures: u32,
        now: DateTime<Utc>,
    ) -> Result<Counts, String> {
        let limits = Limits {
            timeout: source.timeout,
            max_body: source.max_body,
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
                return Err(SHUTTING_DOWN.into());
            };
            self.fetcher.get_conditional(&url, limits, validators).await
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                report.transient = e.is_transient();
                state.last_status = e.status();
                hints.retry_after = e.retry_after();
                return Err(e.to_string());
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
            let events = self.succeed(source, state, report, hints, prev_failures, now);
            self.archive
                .record_poll(&source.id, state, &events)
                .map_err(|e| format!("storing {}: {e}", source.id))?;
            return Ok(Counts::default());
        }
        let links = Fetcher::for_links(&source.user_agent, source.url.host_str())
            .map_err(|e| e.to_string())?;
        let (etag, last_modified) = (fetched.etag.clone(), fetched.last_modified.clone());
        let page_url = fetched.url.clone();
        let how = match source.kind {
            SourceKind::Feed => Some(ReadAs::Feed),
            SourceKind::Html => Some(ReadAs::List),
            SourceKind::Auto => Some(ReadAs::FeedOrList),
        };
        let doc = blocking_read(
            source,
            fetched.body,
            fetched.content_type,
            page_url.clone(),
            now,
            how,
        )
        .await?;
        let doc = match doc {
            Document::List { feeds, .. }
                if source.kind == SourceKind::Auto && !feeds.is_empty() =>
            {
                // the page advertises a feed: poll that instead (RSS autodiscovery)
                let feed_url = Url::parse(&feeds[0])
                    .map_err(|e| format!("advertised feed {}: {e}", feeds[0]))?;
                let fetched = {
                    let _host = self
                        .hosts
                        .acquire(feed_url.host_str().unwrap_or_default())
                        .await
                        .ok_or(SHUTTING_DOWN)?;
                    links
                        .get(&feed_url, limits)
                        .await
                        .map_err(|e| format!("advertised feed: {e}"))?
                };
                report.bytes += fetched.body.len();
                blocking_read(
                    source,
                    fetched.body,
                    fetched.content_type,
                    fetched.url,
                    now,
                    Some(ReadAs::Feed),
                )
                .await?
            }
            other => other,
        };
        let ttl = match &doc {
            Document::Feed(r) => r.feed.meta.ttl,
            _ => None,
        };
        let mut candidates = match doc {
            Document::Feed(reading) => {
                with_full_text(
                    source,
                    reading,
                    &links,
                    &self.hosts,
                    &self.archive,
                    report,
                    now,
                )
                .await
            }
            Document::List { decoded, .. } => {
                let found = extract::links(
                    &decoded.text,
                    &page_url,
                    source.links.as_deref(),
                    source.follow.as_ref(),
                )
                .map_err(|e| format!("source {}: {e}", source.id))?;
                if found.is_empty() {
                    return Err(format!(
                        "reading {page_url}: an HTML page with no feed and no article links found (set `links` to a CSS selector for them, or `follow` to their URL pattern)"
                    ));
                }
                list_articles(
                    source,
                    found,
                    &links,
                    &self.hosts,
                    &self.archive,
                    report,
                    now,
                )
                .await
            }
            Document::Article { candidate, .. } => candidate.into_iter().collect(),
        };
        candidates.retain(|c| !c.title.is_empty());
        report.entries = candidates.len();
        // A 200 replaces both validators: one it does not carry no longer applies.
        state.etag = etag;
        state.last_modified = last_modified;
        state.validators_url = Some(url.to_string());
        state.not_modified = 0;
        state.ttl_secs = ttl.map(|d| d.as_secs());
        hints.ttl = ttl;
        let events = self.succeed(source, state, report, hints, prev_failures, now);
        let storing = |e: String| format!("storing {}: {e}", source.id);
        let candidates = Arc::new(candidates);
        // one curator for both steps: a reload in between must not mix two sets of topics
        let curator = self.curator();
        let (archive, topics, cands) = (
            Arc::clone(&self.archive),
            Arc::clone(&curator),
            Arc::clone(&candidates),
        );
        let guess =
            on_background_cpu(move || archive.speculate(&cands, now, &|a| topics.topics_for(a)))
                .await
                .map_err(storing)?
                .map_err(|e| storing(e.to_string()))?;
        let (archive, id, final_state) =
            (Arc::clone(&self.archive), source.id.clone(), state.clone());
        let commit = store_on_writer(Store {
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
        .map_err(storing)?
        .map_err(|e| storing(e.to_string()))?;
        let (counts, _) = self
            .archive
            .make_durable_async(commit)
            .await
            .map_err(|e| storing(e.to_string()))?;
        state.last_new = counts.new;
        state.last_duplicate = counts.duplicate;
        state.last_updated = counts.updated;
        Ok(counts)
    }
}

fn is_gone(state: &PollState, source: &Source) -> bool {
    state.gone && state.validators_url.as_deref() == Some(source.url.as_str())
}

fn event(source: &str, kind: &str, message: String, at: DateTime<Utc>) -> SourceEvent {
    SourceEvent {
        at,
        source: source.to_string(),
        kind: kind.to_string(),
        message,
    }
}

fn jitter() -> f64 {
    rand::Rng::random_range(&mut rand::rng(), -1.0..=1.0)
}

/// Decodes and reads a fetched document off the async threads.
async fn blocking_read(
    source: &Source,
    body: Vec<u8>,
    content_type: Option<String>,
    url: Url,
    now: DateTime<Utc>,
    how: Option<ReadAs>,
) -> Result<Document, String> {
    let id = source.id.clone();
    let tz = source.timezone;
    let shown = url.to_string();
    on_background_cpu(move || {
        read_as(
            &body,
            content_type.as_deref(),
            Some(&url),
            &id,
            tz,
            now,
            how,
        )
    })
    .await
    .map_err(|e| format!("reading {shown}: {e}"))?
    .map_err(|e| format!("reading {shown}: {e}"))
}

/// How many article pages of one source are fetched at once ("a couple at a time per host").
const ARTICLE_CONCURRENCY: usize = 2;

/// Fetches and reads one article page.
async fn fetch_article(
    source: &Source,
    links: &Fetcher,
    hosts: &HostLimits,
    url: &Url,
    now: DateTime<Utc>,
) -> Result<PageArticle, String> {
    let limits = Limits {
        timeout: source.timeout,
        max_body: source.max_body,
    };
    let fetched = {
        let _host = hosts
            .acquire(url.host_str().unwrap_or_default())
            .await
            .ok_or(SHUTTING_DOWN)?;
        links.get(url, limits).await.map_err(|e| e.to_string())?
    };
    let final_url = fetched.url.clone();
    match blocking_read(
        source,
        fetched.body,
        fetched.content_type,
        final_url,
        now,
        Some(ReadAs::Article),
    )
    .await?
    {
        Document::Article { page, .. } => Ok(*page),
        _ => Err(format!("reading {url}: not an article page")),
    }
}

/// The newest `max_articles` links of a list page that are not archived yet, fetched and read.
async fn list_articles(
    source: &Source,
    found: Vec<FoundLink>,
    links: &Fetcher,
    hosts: &HostLimits,
    archive: &Arc<Archive>,
    report: &mut PollReport,
    now: DateTime<Utc>,
) -> Vec<Candidate> {
    let fresh: Vec<FoundLink> = found
        .into_iter()
        .take(source.max_articles)
        .filter(|l| {
            !archive
                .knows(&source.id, &format!("g:{}", l.url))
                .unwrap_or(false)
        })
        .collect();
    let results: Vec<(FoundLink, Result<PageArticle, String>)> = futures_util::stream::iter(fresh)
        .map(|link| async move {
            let result = match Url::parse(&link.url) {
                Ok(u) => fetch_article(source, links, hosts, &u, now).await,
                Err(e) => Err(format!("{}: {e}", link.url)),
            };
            (link, result)
        })
        .buffered(ARTICLE_CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for (link, result) in results {
        match result {
            Ok(mut page) => {
                // identity is the URL as listed, so the next poll knows it without fetching
                page.entry.guid = Some(link.url.clone());
                if page.entry.title.is_none() && !link.title.is_empty() {
                    page.entry.title = Some(link.title.clone());
                }
                let base = Url::parse(&link.url).ok();
                if let Some(c) = normalize(
                    &page.entry,
                    Origin {
                        source: &source.id,
                        base: base.as_ref(),
                    },
                    now,
                ) {
                    out.push(c);
                }
            }
            Err(e) => {
                tracing::warn!(source = %source.id, "article skipped: {e}");
                report.article_errors.push(e);
            }
        }
    }
    out
}

/// `full_text = true`: entries that carry only a summary get the body of their page.
async fn with_full_text(
    source: &Source,
    mut reading: Reading,
    links: &Fetcher,
    hosts: &HostLimits,
    archive: &Arc<Archive>,
    report: &mut PollReport,
    now: DateTime<Utc>,
) -> Vec<Candidate> {
    if !source.full_text {
        return reading.candidates;
    }
    let known = |e: &crate::parse::Entry| {
        let ids = [
            e.guid.as_ref().map(|g| format!("g:{g}")),
            e.link.as_ref().map(|l| format!("l:{l}")),
        ];
        ids.into_iter()
            .flatten()
            .any(|id| archive.knows(&source.id, &id).unwrap_or(false))
    };
    let wanted: Vec<(usize, Url)> = reading
        .feed
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.content_html.is_none() && !known(e))
        .filter_map(|(i, e)| Some((i, Url::parse(e.link.as_deref()?).ok()?)))
        .collect();
    let pages: Vec<(usize, Result<PageArticle, String>)> = futures_util::stream::iter(wanted)
        .map(|(i, url)| async move { (i, fetch_article(source, links, hosts, &url, now).await) })
        .buffered(ARTICLE_CONCURRENCY)
        .collect()
        .await;
    for (i, page) in pages {
        match page {
            Ok(page) => {
                if let Some(entry) = reading.feed.entries.get_mut(i) {
                    // keep the feed's title and date; take the page's body
                    entry.content_html = page.entry.content_html.or(entry.content_html.take());
                    entry.image = page.image;
                }
            }
            Err(e) => {
                tracing::warn!(source = %source.id, "full text skipped: {e}");
                report.article_errors.push(e);
            }
        }
    }
    let origin = Origin {
        source: &source.id,
        base: Some(&source.url),
    };
    reading
        .feed
        .entries
        .iter()
        .filter_map(|e| normalize(e, origin, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit that panics must fail its own poll only: the one writer thread carries on with
    /// the next, in the order they were queued.
    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_thread_keeps_running() {
        let panicked = on_writer(|| -> u32 { panic!("a bug in one commit") }).await;
        assert_eq!(
            panicked,
            Err("internal error (a bug: please report it)".to_string())
        );
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let jobs: Vec<_> = (0..5)
            .map(|i| {
                let order = Arc::clone(&order);
                on_writer(move || {
                    order.lock().expect("lock").push(i);
                    i * 2
                })
            })
            .collect();
        let results = futures_util::future::join_all(jobs).await;
        assert_eq!(results, (0..5).map(|i| Ok(i * 2)).collect::<Vec<_>>());
        writer_idle().await;
        assert_eq!(*order.lock().expect("lock"), [0, 1, 2, 3, 4]);
        let on_pool = on_background_cpu(|| -> u32 { panic!("a bug in one read") }).await;
        assert!(on_pool.is_err());
        assert_eq!(on_background_cpu(|| 7).await, Ok(7));
    }
}
