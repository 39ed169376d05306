//! Numbers for operators: the Prometheus recorder (the `metrics` crate with its Prometheus
//! exporter) and the names gazette records under. Recording is a no-op unless `install` ran,
//! so one-shot commands pay nothing.

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
