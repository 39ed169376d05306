//! When each source is polled, and the daemon's poll loop. The policy is a pure function
//! ([`next_delay`]); the driver runs one task per enabled source until the shutdown token fires,
//! then gives in-flight polls a grace period so their writes finish.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::archive::Archive;
use crate::config::Config;
use crate::curate::Curator;
use crate::fetch::Fetcher;
use crate::poll::poll_source;

/// How long an in-flight poll may keep running after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The delay before a source's next poll: its interval, spread by `jitter` (a fraction in
/// [-1, 1]) times 10% so sources on one host do not fire in lockstep.
pub fn next_delay(interval: Duration, jitter: f64) -> Duration {
    let j = jitter.clamp(-1.0, 1.0) * 0.1;
    interval.mul_f64(1.0 + j)
}

/// The delay before a source's first poll after start: spread over the first minute (or the
/// interval, if shorter) so a restart does not poll everything at once.
pub fn first_delay(interval: Duration, fraction: f64) -> Duration {
    interval
        .min(Duration::from_secs(60))
        .mul_f64(fraction.clamp(0.0, 1.0))
}

/// Polls every enabled source on its interval until `shutdown` is cancelled.
pub async fn run(
    config: &Config,
    archive: Arc<Archive>,
    curator: Arc<Curator>,
    fetcher: Fetcher,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(config.polling.concurrency));
    let tracker = TaskTracker::new();
    for source in config.sources.iter().filter(|s| s.enabled).cloned() {
        let archive = Arc::clone(&archive);
        let curator = Arc::clone(&curator);
        let fetcher = fetcher.clone();
        let permits = Arc::clone(&permits);
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let mut delay = first_delay(source.interval, rand::rng().random::<f64>());
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
                let _permit = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    p = permits.acquire() => match p { Ok(p) => p, Err(_) => break },
                };
                let poll = poll_source(&source, &fetcher, &archive, &curator);
                tokio::pin!(poll);
                tokio::select! {
                    _ = &mut poll => {}
                    _ = shutdown.cancelled() => {
                        if tokio::time::timeout(SHUTDOWN_GRACE, &mut poll).await.is_err() {
                            tracing::warn!(source = %source.id, "poll still running at shutdown; abandoned (nothing half-written: writes are transactional)");
                        }
                        break;
                    }
                }
                delay = next_delay(source.interval, rand::rng().random_range(-1.0..=1.0));
                tracing::debug!(source = %source.id, next_in_s = delay.as_secs(), "scheduled");
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_ten_percent() {
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
                (next_delay(hour, jitter).as_secs_f64() - secs).abs() < 1e-6,
                "{jitter}"
            );
        }
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
        let curator = Arc::new(Curator::new(&config));
        run(
            &config,
            archive,
            curator,
            Fetcher::new("test").expect("client"),
            token,
        )
        .await;
    }
}
