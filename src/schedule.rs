//! When each source is polled, and the daemon's poll loop. The policy is a pure function
//! ([`next_delay`]); the driver runs one task per enabled source until the shutdown token fires,
//! then gives in-flight polls a grace period so their writes finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Source};
use crate::poll::Poller;
use crate::service::Heartbeat;

/// How long an in-flight poll may keep running after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The longest `Retry-After` gazette honours; beyond this it is a misconfiguration.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one poll tells the scheduler about when to come back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// The feed's `<ttl>` / `sy:updatePeriod`.
    pub ttl: Option<Duration>,
    /// `Cache-Control: max-age` / `Expires`.
    pub fresh_for: Option<Duration>,
    /// `Retry-After` on a 429 or 503.
    pub retry_after: Option<Duration>,
}

/// The delay before a source's next poll, before jitter.
///
/// After a success: the longest of the interval, the feed's TTL, the response's freshness and
/// any `Retry-After`, capped at `max_interval`. After `failures` consecutive failures: the
/// interval doubled per failure (exponential backoff), capped at `max_interval` — never
/// "give up": a source that recovers is picked up again by itself. A `Retry-After` is always
/// honoured (up to [`MAX_RETRY_AFTER`]), even beyond the cap.
pub fn next_delay(
    interval: Duration,
    max_interval: Duration,
    failures: u32,
    hints: &Hints,
) -> Duration {
    let base = if failures == 0 {
        [Some(interval), hints.ttl, hints.fresh_for]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(interval)
    } else {
        interval.saturating_mul(1u32 << failures.saturating_sub(1).min(20))
    };
    let capped = base.min(max_interval.max(interval));
    match hints.retry_after {
        Some(r) => capped.max(r.min(MAX_RETRY_AFTER)),
        None => capped,
    }
}

/// Spreads a delay by `jitter` (a fraction in [-1, 1]) times 10% so sources never fire in
/// lockstep; never below `floor` (a `Retry-After` is a promise).
pub fn with_jitter(delay: Duration, jitter: f64, floor: Option<Duration>) -> Duration {
    let spread = delay.mul_f64(1.0 + jitter.clamp(-1.0, 1.0) * 0.1);
    floor.map_or(spread, |f| spread.max(f))
}

/// The delay before a source's first poll after start: spread over the first minute (or the
/// interval, if shorter) so a restart does not poll everything at once.
pub fn first_delay(interval: Duration, fraction: f64) -> Duration {
    interval
        .min(Duration::from_secs(60))
        .mul_f64(fraction.clamp(0.0, 1.0))
}

/// Polls every enabled source when it is due until `shutdown` is cancelled. Due times are
/// kept in the archive: after a restart a source is polled when it was due, and sources that
/// became due while gazette was down are spread over the first minute instead of firing at once.
pub async fn run(
    config: &Config,
    poller: Poller,
    heartbeat: Arc<Heartbeat>,
    shutdown: CancellationToken,
) {
    let scheduler = Scheduler::new(config, poller, heartbeat, shutdown);
    scheduler.apply(config);
    scheduler.wait().await;
}

/// The running poll loops, one per enabled source, which a reload can change one by one.
pub struct Scheduler {
    poller: Poller,
    /// `polling.concurrency`, shared by every source.
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    /// source id → (its settings as last applied, the token that stops its loop).
    running: Mutex<HashMap<String, (u64, CancellationToken)>>,
    shutdown: CancellationToken,
}

impl Scheduler {
    /// A scheduler with its heartbeat ticking (the watchdog's proof of life).
    pub fn new(
        config: &Config,
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
            permits: Arc::new(Semaphore::new(config.polling.concurrency)),
            tracker,
            running: Mutex::new(HashMap::new()),
            shutdown,
        }
    }

    /// The poller, whose curator a reload swaps.
    pub fn poller(&self) -> &Poller {
        &self.poller
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
            let token = self.shutdown.child_token();
            running.insert(source.id.clone(), (settings_digest(source), token.clone()));
            self.tracker.spawn(source_loop(
                source.clone(),
                self.poller.clone(),
                Arc::clone(&self.permits),
                token,
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

/// One source's loop: wait until due, take a permit, poll, repeat.
async fn source_loop(
    source: Source,
    poller: Poller,
    permits: Arc<Semaphore>,
    stop: CancellationToken,
) {
    // The stored state is read in a block of its own, so that it is dropped before the loop:
    // a local that lives on would sit in the loop's future, and the task of every idle source
    // would hold its poll state (validators, last error) for good (heaptrack, 10k sources:
    // 7 MB of poll states live after start).
    let mut delay = {
        let state = poller.archive.poll_state_or_new(&source.id);
        if state.gone && state.validators_url.as_deref() == Some(source.url.as_str()) {
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
            _ = tokio::time::sleep(delay) => {}
        }
        let _permit = tokio::select! {
            _ = stop.cancelled() => break,
            p = permits.acquire() => match p { Ok(p) => p, Err(_) => break },
        };
        // Boxed: an idle loop then holds a few hundred bytes instead of a whole poll's state
        // (fetch, decode, parse, ingest) for as long as the source is configured; with 10k
        // sources that was ~11 KB each (bench/run: daemon RSS with 10k sources).
        let mut poll = Box::pin(poller.poll(&source));
        let report = tokio::select! {
            r = &mut poll => r,
            _ = stop.cancelled() => {
                // polls still queued for a host give up now; one in flight gets the grace
                poller.hosts.close();
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

    #[test]
    fn next_poll_policy() {
        let m = |x: u64| Duration::from_secs(x * 60);
        let h = |ttl: Option<u64>, fresh: Option<u64>, retry: Option<u64>| Hints {
            ttl: ttl.map(m),
            fresh_for: fresh.map(m),
            retry_after: retry.map(m),
        };
        let day = m(24 * 60);
        // (interval, failures, hints, expected), in minutes
        let cases = [
            (30, 0, h(None, None, None), 30),
            (30, 0, h(Some(120), None, None), 120),
            (30, 0, h(None, Some(60), None), 60),
            (30, 0, h(Some(5), Some(10), None), 30),
            (30, 0, h(Some(3 * 24 * 60), None, None), 24 * 60),
            (30, 1, h(None, None, None), 30),
            (30, 2, h(None, None, None), 60),
            (30, 3, h(None, None, None), 120),
            (30, 10, h(None, None, None), 24 * 60),
            (30, 1000, h(None, None, None), 24 * 60),
            (30, 1, h(None, None, Some(2)), 30),
            (30, 1, h(None, None, Some(90)), 90),
            (30, 1, h(None, None, Some(2 * 24 * 60)), 2 * 24 * 60),
            (30, 1, h(None, None, Some(30 * 24 * 60)), 7 * 24 * 60),
        ];
        for (interval, failures, hints, want) in cases {
            assert_eq!(
                next_delay(m(interval), day, failures, &hints),
                m(want),
                "{interval} {failures} {hints:?}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_above_the_floor() {
        let hour = Duration::from_secs(3600);
        let cases = [
            (0.0, 3600.0),
            (1.0, 3960.0),
            (-1.0, 3240.0),
            (5.0, 3960.0),
            (-0.5, 3420.0),
        ];
        for (jitter, secs) in cases {
            assert!(
                (with_jitter(hour, jitter, None).as_secs_f64() - secs).abs() < 1e-6,
                "{jitter}"
            );
        }
        assert_eq!(with_jitter(hour, -1.0, Some(hour)), hour);
        assert_eq!(first_delay(hour, 0.5), Duration::from_secs(30));
        assert_eq!(
            first_delay(Duration::from_secs(10), 1.0),
            Duration::from_secs(10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_returns_promptly_on_shutdown_with_no_sources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = crate::config::parse("", &dir.path().join("feeds.toml"))
            .expect("empty config is valid");
        config.archive.path = dir.path().join("archive");
        let archive = Arc::new(
            Archive::open(&config.archive.path, config.archive.dedup_window).expect("open"),
        );
        let token = CancellationToken::new();
        token.cancel();
        let curator = Arc::new(crate::curate::Curator::new(&config));
        let poller = Poller::new(&config, archive, curator).expect("poller");
        run(&config, poller, Arc::new(Heartbeat::default()), token).await;
    }
}
