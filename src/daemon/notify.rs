//! Telling the service manager the truth (sd_notify, `Type=notify`): `READY=1` only once the
//! archive is open and the listener bound, a short `STATUS=` line, `WATCHDOG=1` only while the
//! poll loop and the archive are actually alive, and `STOPPING=1` on shutdown. Outside systemd
//! (no `NOTIFY_SOCKET`) every call is a no-op.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::archive::Archive;
use crate::config::Config;
use crate::live::LiveConfig;

/// Proof of life from the poll loops: the scheduler's ticker stores the time every second; a
/// wedged runtime stops storing it, and the watchdog stops pinging.
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicI64);

impl Heartbeat {
    pub fn beat(&self) {
        self.0
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// How long ago the last beat was.
    pub fn age(&self) -> Duration {
        let ms = chrono::Utc::now().timestamp_millis() - self.0.load(Ordering::Relaxed);
        Duration::from_millis(ms.max(0) as u64)
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager: {e}");
    }
}

/// The archive is open and the listener bound.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A short summary for `systemctl status`.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// A reload has begun (followed by [`ready`] when it is done).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Shutdown has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The one-line summary: sources, articles, failing sources.
pub fn summary(config: &Config, archive: &Archive) -> String {
    let enabled: Vec<_> = config.sources.iter().filter(|s| s.enabled).collect();
    let failing = enabled
        .iter()
        .filter(|s| {
            archive
                .poll_state(&s.id)
                .ok()
                .flatten()
                .is_some_and(|st| st.consecutive_failures > 0)
        })
        .count();
    let disk = match archive
        .free_space()
        .filter(|&f| f < config.archive.min_free)
    {
        Some(free) => format!(
            "; disk low ({} MiB free): polls deferred",
            free / (1024 * 1024)
        ),
        None => String::new(),
    };
    format!(
        "{} sources, {} articles, {failing} failing{disk}",
        enabled.len(),
        archive.len()
    )
}

/// Whether to ping the watchdog: the poll loop's heartbeat is fresher than half the watchdog
/// interval (at least 2 s, the heartbeat's own period with slack) and the archive reads.
pub fn is_alive(heartbeat_age: Duration, half_interval: Duration, archive_ok: bool) -> bool {
    archive_ok && heartbeat_age < half_interval.max(Duration::from_secs(2))
}

/// Pings the watchdog at half its interval while the heartbeat is fresh and the archive reads;
/// refreshes `STATUS=` every minute. Returns when `shutdown` fires.
pub async fn watchdog(
    archive: Arc<Archive>,
    live: Arc<LiveConfig>,
    heartbeat: Arc<Heartbeat>,
    shutdown: CancellationToken,
) {
    let interval = sd_notify::watchdog_enabled().map(|d| d / 2);
    let tick = interval
        .unwrap_or(Duration::from_secs(60))
        .min(Duration::from_secs(60));
    let mut since_status = Duration::ZERO;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        if let Some(half) = interval {
            let alive = is_alive(heartbeat.age(), half, archive.check().is_ok());
            if alive {
                send(&[NotifyState::Watchdog]);
            } else {
                tracing::error!(
                    heartbeat_age_ms = heartbeat.age().as_millis() as u64,
                    "poll loop or archive not responding; not pinging the watchdog"
                );
            }
        }
        since_status += tick;
        if since_status >= Duration::from_secs(60) {
            since_status = Duration::ZERO;
            status(&summary(&live.config(), &archive));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wedged_poll_loop_or_a_broken_archive_stops_the_pings() {
        let s = Duration::from_secs;
        let cases = [
            (s(1), s(30), true, true),
            (s(29), s(30), true, true),
            (s(31), s(30), true, false), // the heartbeat stopped: wedged
            (s(1), s(30), false, false), // the archive does not read
            (s(1), s(1), true, true),    // short intervals still allow the 1 s heartbeat period
            (s(3), s(1), true, false),
        ];
        for (age, half, archive_ok, want) in cases {
            assert_eq!(
                is_alive(age, half, archive_ok),
                want,
                "{age:?} {half:?} {archive_ok}"
            );
        }
    }

    #[test]
    fn heartbeat_age_grows_until_the_next_beat() {
        let h = Heartbeat::default();
        assert!(h.age() > Duration::from_secs(3600), "never beaten");
        h.beat();
        assert!(h.age() < Duration::from_secs(1));
    }
}
