//! When each source is polled: pure policy ([`next_delay`], [`with_jitter`], [`first_delay`]).
//! The loops that follow it are the daemon's (`daemon::scheduler`).

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
