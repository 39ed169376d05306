//! The daemon: the one place that builds gazette's parts and owns their start and stop order.
//!
//! Start: open the archive (and prune it) → bind (the caller hands in the listener) → build the
//! live configuration, the workers, the host limits, the poller, the HTTP state → serve →
//! start the poll loops → READY → re-curate in the background, the watchdog, housekeeping,
//! reloads. Stop (the shutdown token): STOPPING → close the host limits (queued polls give up)
//! → the poll loops end (in-flight polls get a grace period) → the writer drains its queue and
//! is joined → the re-curation and the HTTP server end (bounded) → flush. [`settle`] then
//! reopens the archive once the process holds the last reference to it.
//!
//! [`run`] is the library-level entry point tests call in-process; `gazette run` is a thin
//! call to it plus [`signals`].

pub mod housekeeping;
pub mod notify;
pub mod reload;
pub mod scheduler;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::archive::{Archive, ArchiveError};
use crate::config::Config;
use crate::curate::Curator;
use crate::fetch::{FetchError, HostLimits};
use crate::live::{Live, LiveConfig};
use crate::poll::Poller;
use crate::poll::workers::Workers;
use crate::serve::AppState;
use notify::Heartbeat;
pub use reload::Reloaded;
use scheduler::Scheduler;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] FetchError),
    #[error("cannot read the listening socket's address: {0}")]
    Listener(#[source] std::io::Error),
    #[error("HTTP server failed: {0}")]
    Server(#[source] std::io::Error),
    #[error("HTTP server task failed: {0}")]
    ServerTask(#[from] tokio::task::JoinError),
}

/// Opens the archive with the configured retention and prunes it; re-curation is left to the
/// caller ([`recurate`]: commands do it before they answer, the daemon in the background).
pub fn open_archive(config: &Config) -> Result<Arc<Archive>, ArchiveError> {
    let mut archive = Archive::open_with(
        &config.archive.path,
        config.archive.dedup_window,
        config.archive.accept_loss,
    )?;
    archive.set_retention(config.archive.retention);
    archive.set_dedup_rules(dedup_rules(config));
    archive.set_windows(windows(config));
    let pruned = archive.prune(Utc::now())?;
    if pruned > 0 {
        tracing::info!(pruned, "pruned articles past the retention period");
    }
    Ok(Arc::new(archive))
}

/// The dedup rules `config` asks for: `[archive] near_duplicates` and every source's `dedup`.
pub fn dedup_rules(config: &Config) -> crate::archive::DedupRules {
    crate::archive::DedupRules {
        near: config.archive.near_duplicates,
        modes: config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.dedup))
            .collect(),
    }
}

/// Each feed's subscription window (its `limit`): a changed article arrives again in a feed
/// once it left that window (RFC 5005 paging, `archive::arrivals`).
pub fn windows(config: &Config) -> crate::archive::Windows {
    crate::archive::Windows {
        topics: config
            .topics
            .iter()
            .map(|t| (t.id.clone(), t.limit))
            .collect(),
        sources: config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.limit))
            .collect(),
    }
}

/// Re-curates the archive if a topic changed, and says so; `stop` ends the walk between two
/// batches (the next start finishes it).
pub fn recurate(
    archive: &Archive,
    curator: &Curator,
    stop: &AtomicBool,
) -> Result<(), ArchiveError> {
    let needed = archive.recuration_needed(&curator.fingerprints())?;
    if needed.changed.is_empty() && needed.removed.is_empty() {
        return Ok(());
    }
    tracing::info!(changed = ?needed.changed, removed = ?needed.removed, articles = archive.len(), "topics changed; re-curating the archive");
    let started = std::time::Instant::now();
    let r = archive.recurate(&|a| curator.topics_for(a), &curator.fingerprints(), stop)?;
    if r.interrupted {
        tracing::info!(
            scanned = r.scanned,
            updated = r.updated,
            "re-curation interrupted; the next start finishes it"
        );
    } else {
        tracing::info!(
            changed = ?r.changed, removed = ?r.removed, scanned = r.scanned, updated = r.updated,
            secs = format!("{:.1}", started.elapsed().as_secs_f64()),
            "topics changed; re-curated the archive"
        );
    }
    Ok(())
}

/// Asks a running daemon to reload its configuration file.
#[derive(Clone)]
pub struct Handle {
    reloads: mpsc::Sender<oneshot::Sender<Reloaded>>,
}

impl Handle {
    /// Re-reads feeds.toml and applies it (or refuses it); returns what it did. `None` once the
    /// daemon has stopped.
    pub async fn reload(&self) -> Option<Reloaded> {
        let (tx, rx) = oneshot::channel();
        self.reloads.send(tx).await.ok()?;
        rx.await.ok()
    }
}

/// A daemon whose archive is open, not yet running.
pub struct Daemon {
    config: Config,
    archive: Arc<Archive>,
    handle: Handle,
    reloads: mpsc::Receiver<oneshot::Sender<Reloaded>>,
}

impl Daemon {
    /// Opens the archive (blocking: sled replays its log here).
    pub fn open(config: Config) -> Result<Daemon, DaemonError> {
        let archive = open_archive(&config)?;
        let (tx, rx) = mpsc::channel(4);
        Ok(Daemon {
            config,
            archive,
            handle: Handle { reloads: tx },
            reloads: rx,
        })
    }

    pub fn archive(&self) -> Arc<Archive> {
        Arc::clone(&self.archive)
    }

    /// The way to ask the running daemon for a reload.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Serves on `listener` and polls every enabled source until `shutdown` fires, then stops
    /// in order and flushes the archive.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), DaemonError> {
        let Daemon {
            mut config,
            archive,
            handle,
            mut reloads,
        } = self;
        drop(handle);
        let addr = listener.local_addr().map_err(DaemonError::Listener)?;
        if !config.server.base_url_given
            && let Ok(u) = Url::parse(&format!("http://{addr}/"))
        {
            config.server.base_url = u;
        }
        let live = Arc::new(LiveConfig::new(Live::new(Arc::new(config))?));
        let config = live.config();
        let enabled = config.sources.iter().filter(|s| s.enabled).count();
        tracing::info!(
            sources = enabled, topics = config.topics.len(), articles = archive.len(),
            archive = %archive.path().display(), "gazette started; listening on http://{addr}/"
        );
        let workers = Workers::start();
        let hosts = Arc::new(HostLimits::new(
            config.polling.per_host,
            config.polling.host_delay,
        ));
        let poller = Poller::new(
            Arc::clone(&archive),
            Arc::clone(&live),
            Arc::clone(&hosts),
            Arc::clone(&workers),
        );
        let state = AppState::new(
            Arc::clone(&archive),
            Arc::clone(&live),
            crate::telemetry::install(),
        );
        // search: the index beside the archive, kept up to date (and built when it missed
        // writes) on a thread of its own; the archive serves meanwhile
        let stop_index = Arc::new(AtomicBool::new(false));
        let indexer = match crate::search::Search::open(archive.path()) {
            Ok(search) => {
                let search = Arc::new(search);
                state.set_search(Arc::clone(&search));
                Some(crate::search::follow(
                    search,
                    Arc::clone(&archive),
                    Arc::clone(&stop_index),
                ))
            }
            Err(e) => {
                tracing::error!("{e}; /search is unavailable until it opens");
                None
            }
        };
        let fit = crate::serve::connections_that_fit();
        let limits = crate::serve::ServerLimits {
            header_timeout: config.server.header_timeout,
            idle_timeout: config.server.idle_timeout,
            max_connections: config.server.max_connections.unwrap_or(fit).min(fit),
        };
        tracing::debug!(?limits, "HTTP connection limits");
        let server = tokio::spawn(crate::serve::serve(
            listener,
            Arc::clone(&state),
            limits,
            shutdown.clone(),
        ));
        let heartbeat = Arc::new(Heartbeat::default());
        heartbeat.beat();
        let scheduler = Arc::new(Scheduler::new(
            config.polling.concurrency,
            poller,
            Arc::clone(&heartbeat),
            shutdown.clone(),
        ));
        scheduler.apply(&config);
        // the archive is open and the listener bound: only now is the service ready
        notify::ready(&notify::summary(&config, &archive));
        drop(config);

        let chores = TaskTracker::new();
        // topic edits since the last run: re-curate while serving (polls curate with the new
        // topics already); shutdown stops the walk between two batches
        let stop_walks = Arc::new(AtomicBool::new(false));
        let recuration = {
            let (archive, curator, stop) = (
                Arc::clone(&archive),
                live.curator(),
                Arc::clone(&stop_walks),
            );
            tokio::task::spawn_blocking(move || {
                if let Err(e) = recurate(&archive, &curator, &stop) {
                    tracing::error!("re-curating the archive: {e}");
                }
            })
        };
        chores.spawn(notify::watchdog(
            Arc::clone(&archive),
            Arc::clone(&live),
            heartbeat,
            shutdown.clone(),
        ));
        chores.spawn(housekeeping::run(
            Arc::clone(&archive),
            Arc::clone(&live),
            shutdown.clone(),
        ));
        // WebSub: tells the hub (when one is configured) which feeds changed
        chores.spawn(crate::serve::websub::run(
            Arc::clone(&state),
            state.hub_health(),
            shutdown.clone(),
        ));
        {
            let parts = Parts {
                archive: Arc::clone(&archive),
                live: Arc::clone(&live),
                hosts: Arc::clone(&hosts),
                scheduler: Arc::clone(&scheduler),
                stop_walks: Arc::clone(&stop_walks),
            };
            let shutdown = shutdown.clone();
            chores.spawn(async move {
                loop {
                    let reply = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        r = reloads.recv() => match r { Some(r) => r, None => return },
                    };
                    let _ = reply.send(parts.reload().await);
                }
            });
        }
        chores.close();

        shutdown.cancelled().await;
        notify::stopping();
        stop_walks.store(true, Ordering::Relaxed);
        // polls still waiting for a host give up now; only the process's shutdown closes them
        hosts.close();
        scheduler.wait().await;
        // a cancelled poll's commit may still be on the writer thread: let it end (and join
        // the thread) before the flush
        let w = Arc::clone(&workers);
        match tokio::task::spawn_blocking(move || w.shutdown(Duration::from_secs(10))).await {
            Ok(true) => {}
            _ => tracing::warn!("a commit still running 10 s after shutdown; it is not flushed"),
        }
        // a batch of the re-curation may be in its transaction: let it end before the flush
        if tokio::time::timeout(Duration::from_secs(3), recuration)
            .await
            .is_err()
        {
            tracing::warn!(
                "re-curation still running 3 s after shutdown; leaving it to the next start"
            );
        }
        // the search index takes the last writes' changes and commits
        stop_index.store(true, Ordering::Relaxed);
        archive.set_listener(None);
        if let Some(indexer) = indexer {
            let joined = tokio::task::spawn_blocking(move || indexer.join());
            if tokio::time::timeout(Duration::from_secs(10), joined)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the search index still committing 10 s after shutdown; the next start checks it"
                );
            }
        }
        chores.wait().await;
        // graceful, but bounded: a client that never finishes its request cannot hold the exit
        let served = match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!("HTTP connections still open 5 s after shutdown; closing them");
                Ok(Ok(()))
            }
        };
        let a = Arc::clone(&archive);
        let flushed = tokio::task::spawn_blocking(move || {
            a.flush()?;
            a.write_sidecar(Some(Utc::now()));
            Ok::<(), ArchiveError>(())
        });
        match flushed.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(e.into()),
        }
        served?.map_err(DaemonError::Server)
    }
}

/// What a reload changes.
struct Parts {
    archive: Arc<Archive>,
    live: Arc<LiveConfig>,
    hosts: Arc<HostLimits>,
    scheduler: Arc<Scheduler>,
    stop_walks: Arc<AtomicBool>,
}

impl Parts {
    /// Applies a re-read configuration: new, removed and changed sources and topics
    /// (re-curating topics whose definition changed), polling limits, without dropping HTTP
    /// requests or poll state. A bad configuration is refused: the old one keeps running and
    /// the error shows on `/status.json`.
    async fn reload(&self) -> Reloaded {
        notify::reloading();
        let old = self.live.config();
        let path = old.file.clone();
        let prepared = tokio::task::spawn_blocking(move || reload::prepare(&path, &old)).await;
        let result = match prepared {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(format!(
                "internal error while reading the configuration: {e}"
            )),
        };
        let done = match result {
            Err(e) => {
                for line in e.lines() {
                    tracing::error!(
                        "reload refused, still running the previous configuration: {line}"
                    );
                }
                self.live.refuse(e.clone());
                Reloaded {
                    applied: false,
                    error: Some(e),
                    ..Reloaded::default()
                }
            }
            Ok((live, restart_needed)) => {
                let new = Arc::clone(&live.config);
                let curator = Arc::clone(&live.curator);
                for line in &restart_needed {
                    tracing::warn!("changed in feeds.toml, takes effect after a restart: {line}");
                }
                // polls curate with the new topics from now on, so the walk below misses none
                self.live.swap(live, restart_needed.clone());
                self.archive.set_dedup_rules(dedup_rules(&new));
                self.archive.set_windows(windows(&new));
                self.hosts
                    .reconfigure(new.polling.per_host, new.polling.host_delay);
                self.scheduler.set_concurrency(new.polling.concurrency);
                let (archive, stop) = (Arc::clone(&self.archive), Arc::clone(&self.stop_walks));
                match tokio::task::spawn_blocking(move || recurate(&archive, &curator, &stop)).await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!("re-curating after reload: {e}"),
                    Err(e) => tracing::error!("re-curating after reload: {e}"),
                }
                let (started, stopped) = self.scheduler.apply(&new);
                tracing::info!(
                    started,
                    stopped,
                    sources = new.sources.len(),
                    topics = new.topics.len(),
                    per_host = new.polling.per_host,
                    concurrency = new.polling.concurrency,
                    "configuration reloaded"
                );
                Reloaded {
                    applied: true,
                    error: None,
                    started,
                    stopped,
                    restart_needed,
                }
            }
        };
        notify::ready(&notify::summary(&self.live.config(), &self.archive));
        done
    }
}

/// Builds and runs the daemon on `config` until `shutdown` fires (see [`Daemon::run`]).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let daemon = tokio::task::spawn_blocking(move || Daemon::open(config)).await??;
    daemon.run(listener, shutdown).await
}

/// The process's signals: SIGTERM or SIGINT cancel `shutdown`; SIGHUP reloads through
/// `handle`. Returns once shutdown was asked for.
pub async fn signals(handle: Handle, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP ({e}); reload by restarting");
                None
            }
        };
        let mut term = match signal(SignalKind::terminate()) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops gazette");
                None
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::signal::ctrl_c() => break,
                Some(_) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => break,
                Some(_) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                    let _ = handle.reload().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = handle;
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested; finishing in-flight polls and requests");
    shutdown.cancel();
}

/// After the run, with no other reference to the archive left: sled snapshots its page table
/// only when it opens, so the next start would replay all this run wrote (bench/run, 10k
/// sources polled into 1M articles: a restart took 1.2-1.4 s, and every CLI command after it
/// as long). Reopening now moves that replay to the stop, where nobody waits for an answer; a
/// kill during it loses nothing (everything is flushed).
pub fn settle(archive: Arc<Archive>) {
    match Arc::try_unwrap(archive) {
        Ok(archive) => {
            let started = std::time::Instant::now();
            match archive.settle() {
                Ok(()) => tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    "archive flushed and settled (the next start has nothing to replay); bye"
                ),
                Err(e) => tracing::warn!("archive flushed; settling it failed: {e}; bye"),
            }
        }
        Err(_) => tracing::info!("archive flushed (still shared, not settled); bye"),
    }
}
