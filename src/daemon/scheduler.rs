//! The poll loops: one task per enabled source that waits until the source is due (by the pure
//! policy in `schedule`), takes one of `[polling] concurrency` permits, polls, and repeats. A
//! reload stops, restarts or starts loops one by one; stopping one source's loop never touches
//! what every source shares (the host limits, the permits). Process shutdown gives in-flight
//! polls a grace period so their writes finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::notify::Heartbeat;
use crate::config::{Config, Source};
use crate::poll::Poller;
use crate::schedule::first_delay;

/// How long an in-flight poll may keep running after shutdown (or its source's stop) was
/// asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The running poll loops, one per enabled source, which a reload can change one by one.
pub struct Scheduler {
    poller: Poller,
    /// `polling.concurrency`, shared by every source; a reload that changes it puts a new
    /// semaphore in force (polls in flight keep the permits they hold).
    permits: Arc<Mutex<Arc<Semaphore>>>,
    concurrency: Mutex<usize>,
    tracker: TaskTracker,
    /// source id → (its settings as last applied, the token that stops its loop).
    running: Mutex<HashMap<String, (u64, CancellationToken)>>,
    /// The process's shutdown: every loop ends, in-flight polls get [`SHUTDOWN_GRACE`].
    shutdown: CancellationToken,
}

impl Scheduler {
    /// A scheduler with its heartbeat ticking (the watchdog's proof of life).
    pub fn new(
        concurrency: usize,
        poller: Poller,
        heartbeat: Arc<Heartbeat>,
        shutdown: CancellationToken,
    ) -> Scheduler {
        let tracker = TaskTracker::new();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            loop {
                heartbeat.beat();
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Scheduler {
            poller,
            permits: Arc::new(Mutex::new(Arc::new(Semaphore::new(concurrency.max(1))))),
            concurrency: Mutex::new(concurrency.max(1)),
            tracker,
            running: Mutex::new(HashMap::new()),
            shutdown,
        }
    }

    /// Puts a new `[polling] concurrency` in force for every later poll.
    pub fn set_concurrency(&self, concurrency: usize) {
        let concurrency = concurrency.max(1);
        let mut current = self.concurrency.lock().unwrap_or_else(|p| p.into_inner());
        if *current != concurrency {
            *current = concurrency;
            *self.permits.lock().unwrap_or_else(|p| p.into_inner()) =
                Arc::new(Semaphore::new(concurrency));
        }
    }

    /// Brings the running loops in line with `config`: removed and disabled sources stop,
    /// changed ones restart with their new settings, new ones start, unchanged ones go on.
    /// Returns (started, stopped).
    pub fn apply(&self, config: &Config) -> (usize, usize) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: HashMap<&str, u64> = config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| (s.id.as_str(), settings_digest(s)))
            .collect();
        let mut stopped = 0;
        running.retain(|id, (settings, token)| {
            let keep = wanted.get(id.as_str()) == Some(settings);
            if !keep {
                token.cancel();
                stopped += 1;
            }
            keep
        });
        let mut started = 0;
        for source in config.sources.iter().filter(|s| s.enabled) {
            if running.contains_key(&source.id) {
                continue;
            }
            // its own token, not a child of the shutdown token: the loop tells "my source was
            // changed or removed" from "the process is stopping"
            let token = CancellationToken::new();
            running.insert(source.id.clone(), (settings_digest(source), token.clone()));
            self.tracker.spawn(source_loop(
                source.clone(),
                self.poller.clone(),
                Arc::clone(&self.permits),
                token,
                self.shutdown.clone(),
            ));
            started += 1;
        }
        (started, stopped)
    }

    /// Waits until every loop has stopped (after `shutdown`).
    pub async fn wait(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Tells a reload whether a source's settings changed: a digest of all of them, so 10k
/// running sources keep 8 bytes each instead of their formatted settings (~500 bytes).
fn settings_digest(source: &Source) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    format!("{source:?}").hash(&mut h);
    h.finish()
}

/// One source's loop: wait until due, take a permit, poll, repeat; until its own `stop` (a
/// reload changed or removed the source) or the process's `shutdown`.
async fn source_loop(
    source: Source,
    poller: Poller,
    permits: Arc<Mutex<Arc<Semaphore>>>,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    // The stored state is read in a block of its own, so that it is dropped before the loop:
    // a local that lives on would sit in the loop's future, and the task of every idle source
    // would hold its poll state (validators, last error) for good (heaptrack, 10k sources:
    // 7 MB of poll states live after start).
    let mut delay = {
        let state = poller.archive.poll_state_or_new(&source.id);
        if state.is_gone_at(source.url.as_str()) {
            tracing::error!(source = %source.id, "source {} is gone (410); not polled: remove it from feeds.toml", source.id);
            return;
        }
        let now = chrono::Utc::now();
        match state.next_due {
            Some(due) if due > now => (due - now).to_std().unwrap_or_default(),
            _ => first_delay(source.interval, rand::rng().random::<f64>()),
        }
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
        let semaphore = Arc::clone(&permits.lock().unwrap_or_else(|p| p.into_inner()));
        let _permit = tokio::select! {
            _ = stop.cancelled() => break,
            _ = shutdown.cancelled() => break,
            p = semaphore.acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        // Boxed: an idle loop then holds a few hundred bytes instead of a whole poll's state
        // (fetch, decode, parse, ingest) for as long as the source is configured; with 10k
        // sources that was ~11 KB each (bench/run: daemon RSS with 10k sources).
        let mut poll = Box::pin(poller.poll(&source));
        let report = tokio::select! {
            r = &mut poll => r,
            _ = stop.cancelled() => {
                // the source was changed or removed: this poll's result is still good, so it
                // may finish (within the grace); everything shared stays open for the others
                if tokio::time::timeout(SHUTDOWN_GRACE, &mut poll).await.is_err() {
                    tracing::info!(source = %source.id, "poll of a reloaded source still running; abandoned (nothing half-written: writes are transactional)");
                }
                break;
            }
            _ = shutdown.cancelled() => {
                // the daemon closed the host limits: polls still queued for a host give up
                // now; one in flight gets the grace
                if tokio::time::timeout(SHUTDOWN_GRACE, &mut poll).await.is_err() {
                    tracing::warn!(source = %source.id, "poll still running at shutdown; abandoned (nothing half-written: writes are transactional)");
                }
                break;
            }
        };
        if report.gone {
            break;
        }
        let now = chrono::Utc::now();
        delay = report
            .next_due
            .and_then(|due| (due - now).to_std().ok())
            .unwrap_or(source.interval);
        tracing::debug!(source = %source.id, next_in_s = delay.as_secs(), "scheduled");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Archive;

    #[tokio::test(start_paused = true)]
    async fn loops_end_promptly_on_shutdown_with_no_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = crate::config::parse("", &dir.path().join("feeds.toml"))
            .expect("empty config is valid");
        config.archive.path = dir.path().join("archive");
        let archive = Arc::new(
            Archive::open(&config.archive.path, config.archive.dedup_window).expect("open"),
        );
        let token = CancellationToken::new();
        token.cancel();
        let poller = Poller::for_config(&config, archive).expect("poller");
        let scheduler = Scheduler::new(4, poller, Arc::new(Heartbeat::default()), token);
        scheduler.apply(&config);
        scheduler.wait().await;
    }
}
