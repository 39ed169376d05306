//! Numbers for operators: the Prometheus recorder (the `metrics` crate with its Prometheus
//! exporter) and the names gazette records under. Recording is a no-op unless `install` ran,
//! so one-shot commands pay nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Polls by outcome (`ok`, `not_modified`, `failed`, `gone`).
pub const POLLS: &str = "gazette_polls_total";
/// Time from request to last body byte of a source's document.
pub const FETCH_SECONDS: &str = "gazette_fetch_seconds";
/// Bytes of documents fetched (decoded).
pub const FETCHED_BYTES: &str = "gazette_fetched_bytes_total";
/// Entries by what the archive made of them (`new`, `duplicate`, `updated`, `unchanged`).
pub const ARTICLES: &str = "gazette_articles_total";
/// HTTP requests by route and status.
pub const HTTP_REQUESTS: &str = "gazette_http_requests_total";
/// Feed render cache lookups (`hit`, `miss`).
pub const RENDER_CACHE: &str = "gazette_render_cache_total";
/// Articles per topic (set at scrape time).
pub const TOPIC_ARTICLES: &str = "gazette_topic_articles";
/// Archive size on disk, bytes (set at scrape time).
pub const ARCHIVE_BYTES: &str = "gazette_archive_bytes";
/// Articles in the archive (set at scrape time).
pub const ARCHIVE_ARTICLES: &str = "gazette_archive_articles";
/// Bytes free on the archive's filesystem (set at scrape time); polls are deferred below
/// `[archive] min_free`.
pub const ARCHIVE_FREE_BYTES: &str = "gazette_archive_free_bytes";
/// WebSub publish pings by result (`ok`, `failed`: to be tried again, `dropped`: given up).
pub const WEBSUB_PINGS: &str = "gazette_websub_pings_total";

/// Installs the process-wide recorder; `None` if one is installed already.
pub fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(FETCH_SECONDS.to_string()),
            &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
        )
        .ok()?;
    builder.install_recorder().ok()
}

/// The server's routes as axum matches them, and the `route` label each is counted under
/// (braces in label values trip some parsers).
pub const ROUTES: [(&str, &str); 21] = [
    ("/", "/"),
    ("/feed.xsl", "/feed.xsl"),
    ("/sources", "/sources"),
    ("/sources/feeds.opml", "/sources/feeds.opml"),
    ("/sources/{file}", "/sources/:file"),
    ("/articles/{file}", "/articles/:file"),
    ("/healthz", "/healthz"),
    ("/status", "/status"),
    ("/status.json", "/status.json"),
    ("/status.rss", "/status.rss"),
    ("/metrics", "/metrics"),
    ("/sources.opml", "/sources.opml"),
    ("/topics.opml", "/topics.opml"),
    ("/topics/{file}", "/topics/:file"),
    ("/topics/{id}/archive/{file}", "/topics/:id/archive/:file"),
    ("/search", "/search"),
    ("/search.rss", "/search.rss"),
    ("/search.atom", "/search.atom"),
    ("/search.json", "/search.json"),
    ("/sources/{id}/archive/{file}", "/sources/:id/archive/:file"),
    ("", "unmatched"),
];

/// How a feed request was answered from the render cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheResult {
    Hit,
    Stale,
    Miss,
}

impl CacheResult {
    /// The `result` label of each, in declaration order (indexed by `result as usize`).
    const LABELS: [&'static str; 3] = ["hit", "stale", "miss"];
}

const STATUSES: usize = 600;

/// The server's per-request counters. A request costs one relaxed atomic add instead of a
/// registry lookup with formatted labels (perf, 304s under wrk: the lookups were ~5% of the
/// server's CPU); `/metrics` copies them into the recorder when it is scraped.
pub struct HttpCounters {
    requests: Box<[AtomicU64]>,
    cache: [AtomicU64; CacheResult::LABELS.len()],
}

impl Default for HttpCounters {
    fn default() -> Self {
        HttpCounters {
            requests: (0..ROUTES.len() * STATUSES)
                .map(|_| AtomicU64::new(0))
                .collect(),
            cache: Default::default(),
        }
    }
}

impl HttpCounters {
    /// The index of an axum route pattern in [`ROUTES`] (the last one when unknown).
    pub fn route_index(pattern: Option<&str>) -> usize {
        pattern
            .and_then(|p| ROUTES.iter().position(|(r, _)| *r == p))
            .unwrap_or(ROUTES.len() - 1)
    }

    pub fn request(&self, route: usize, status: u16) {
        let status = usize::from(status).min(STATUSES - 1);
        if let Some(c) = self.requests.get(route * STATUSES + status) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn cache(&self, result: CacheResult) {
        self.cache[result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Copies the counts into the recorder (no-op without one).
    pub fn publish(&self) {
        for (i, c) in self.requests.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                let (route, status) = (ROUTES[i / STATUSES].1, (i % STATUSES).to_string());
                metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status).absolute(n);
            }
        }
        for (label, c) in CacheResult::LABELS.iter().zip(&self.cache) {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                metrics::counter!(RENDER_CACHE, "result" => *label).absolute(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_their_labels_and_unknown_ones_to_unmatched() {
        let cases = [
            (Some("/topics/{file}"), "/topics/:file"),
            (Some("/sources/{file}"), "/sources/:file"),
            (Some("/articles/{file}"), "/articles/:file"),
            (Some("/feed.xsl"), "/feed.xsl"),
            (Some("/healthz"), "/healthz"),
            (Some("/"), "/"),
            (Some("/new-route"), "unmatched"),
            (None, "unmatched"),
        ];
        for (pattern, label) in cases {
            assert_eq!(
                ROUTES[HttpCounters::route_index(pattern)].1,
                label,
                "{pattern:?}"
            );
        }
        let c = HttpCounters::default();
        c.request(HttpCounters::route_index(Some("/healthz")), 200);
        c.request(HttpCounters::route_index(Some("/healthz")), 200);
        c.request(HttpCounters::route_index(None), 9999);
        let at = |route: usize, status: usize| {
            c.requests[route * STATUSES + status].load(Ordering::Relaxed)
        };
        assert_eq!(at(HttpCounters::route_index(Some("/healthz")), 200), 2);
        assert_eq!(at(ROUTES.len() - 1, STATUSES - 1), 1);
    }
}
