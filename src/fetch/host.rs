//! Per-host politeness: at most `per_host` requests in flight to one host, and at least
//! `delay` between the starts of two requests to it, whichever sources they belong to — so 300
//! sources on one site never hit it at once. Closing the limits (shutdown) turns every wait
//! away at once, so a queue of polls for one slow host cannot hold up the exit; only the
//! process's shutdown closes them (one source's loop stopping must not). A reload changes the
//! limits in place ([`HostLimits::reconfigure`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The politeness state of every host gazette talks to.
pub struct HostLimits {
    /// (per_host, delay) and the hosts seen under them.
    hosts: Mutex<Hosts>,
    closed: CancellationToken,
}

struct Hosts {
    per_host: usize,
    delay: Duration,
    by_name: HashMap<String, Arc<Host>>,
}

/// One host: its concurrency permits and when the next request may start.
struct Host {
    permits: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

/// Held while a request to a host is in flight.
pub struct HostPermit {
    _permit: OwnedSemaphorePermit,
}

impl HostLimits {
    pub fn new(per_host: usize, delay: Duration) -> HostLimits {
        HostLimits {
            hosts: Mutex::new(Hosts {
                per_host: per_host.max(1),
                delay,
                by_name: HashMap::new(),
            }),
            closed: CancellationToken::new(),
        }
    }

    /// New limits from now on (a reload): requests in flight keep the permits they hold, and
    /// every later one waits under the new limits. Unchanged limits leave everything as is.
    pub fn reconfigure(&self, per_host: usize, delay: Duration) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let per_host = per_host.max(1);
        if hosts.per_host != per_host || hosts.delay != delay {
            hosts.per_host = per_host;
            hosts.delay = delay;
            hosts.by_name.clear();
        }
    }

    /// (per_host, delay) in force.
    pub fn limits(&self) -> (usize, Duration) {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        (hosts.per_host, hosts.delay)
    }

    /// Turns away every request waiting for a host, and every later one.
    pub fn close(&self) {
        self.closed.cancel();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Waits for a free slot on `host` and for the minimum delay since the last request to it;
    /// `None` once the limits are closed.
    pub async fn acquire(&self, host: &str) -> Option<HostPermit> {
        tokio::select! {
            biased;
            _ = self.closed.cancelled() => None,
            p = self.wait_for(host) => Some(p),
        }
    }

    async fn wait_for(&self, host: &str) -> HostPermit {
        let (entry, delay) = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            let (per_host, delay) = (hosts.per_host, hosts.delay);
            let entry = Arc::clone(
                hosts
                    .by_name
                    .entry(host.to_ascii_lowercase())
                    .or_insert_with(|| {
                        Arc::new(Host {
                            permits: Arc::new(Semaphore::new(per_host)),
                            next_start: tokio::sync::Mutex::new(Instant::now()),
                        })
                    }),
            );
            (entry, delay)
        };
        let permit = match Arc::clone(&entry.permits).acquire_owned().await {
            Ok(p) => p,
            // the semaphore is never closed; if it were, go on unthrottled rather than hang
            Err(_) => return self.fallback(),
        };
        let mut next = entry.next_start.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now() + delay;
        HostPermit { _permit: permit }
    }

    fn fallback(&self) -> HostPermit {
        let s = Arc::new(Semaphore::new(1));
        match s.try_acquire_owned() {
            Ok(p) => HostPermit { _permit: p },
            Err(_) => unreachable!("a fresh semaphore has a permit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn never_more_than_per_host_in_flight_and_spaced_by_delay() {
        let limits = Arc::new(HostLimits::new(2, Duration::from_millis(100)));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let starts = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (limits, in_flight, peak, starts) = (
                Arc::clone(&limits),
                Arc::clone(&in_flight),
                Arc::clone(&peak),
                Arc::clone(&starts),
            );
            tasks.push(tokio::spawn(async move {
                let _p = limits.acquire("Example.org").await.expect("open");
                starts.lock().expect("starts").push(t0.elapsed());
                let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // another host is not held up
        let other = limits.acquire("other.example").await.expect("open");
        assert!(t0.elapsed() < Duration::from_millis(1));
        drop(other);
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        let mut s = starts.lock().expect("starts").clone();
        s.sort();
        for pair in s.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(100), "{s:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn closing_turns_away_waiting_and_later_requests_at_once() {
        let limits = Arc::new(HostLimits::new(1, Duration::from_secs(30)));
        let held = limits.acquire("slow.example").await.expect("open");
        let waiting = {
            let limits = Arc::clone(&limits);
            tokio::spawn(async move { limits.acquire("slow.example").await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let t0 = Instant::now();
        limits.close();
        assert!(
            !waiting.await.expect("task"),
            "a waiting request is turned away"
        );
        assert!(limits.acquire("other.example").await.is_none());
        assert!(t0.elapsed() < Duration::from_millis(1));
        drop(held);
    }
}
