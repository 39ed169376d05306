//! One poll: fetch → decode → parse → normalize → archive, for one source, with every failure
//! recorded against that source and never against the others. Also reads a single document the
//! same way without storing it (`inspect`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use url::Url;

use crate::archive::{Archive, Counts};
use crate::config::{Source, SourceKind};
use crate::curate::Curator;
use crate::decode::{Decoded, decode};
use crate::fetch::{Fetcher, Limits};
use crate::model::PollState;
use crate::normalize::{Candidate, Origin, normalize};
use crate::parse::{ParsedFeed, parse_feed};

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
}

/// A document read the way a poll reads it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub decoded: Decoded,
    pub feed: ParsedFeed,
    pub candidates: Vec<Candidate>,
}

/// Decodes, parses and normalizes one document. CPU only; call from a blocking context.
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
    let origin = Origin { source, base: url };
    let candidates = feed
        .entries
        .iter()
        .filter_map(|e| normalize(e, origin, now))
        .collect();
    Ok(Reading {
        decoded,
        feed,
        candidates,
    })
}

/// Polls one source once and records the outcome in the archive.
pub async fn poll_source(
    source: &Source,
    fetcher: &Fetcher,
    archive: &Arc<Archive>,
    curator: &Arc<Curator>,
) -> PollReport {
    let started = Instant::now();
    let now = Utc::now();
    let mut state = archive
        .poll_state(&source.id)
        .ok()
        .flatten()
        .unwrap_or_default();
    state.last_attempt = Some(now);
    let mut report = PollReport {
        source: source.id.clone(),
        result: Err(String::new()),
        transient: false,
        bytes: 0,
        entries: 0,
        elapsed: Duration::ZERO,
    };
    let outcome = poll_inner(
        source,
        fetcher,
        archive,
        curator,
        &mut state,
        &mut report,
        now,
    )
    .await;
    report.elapsed = started.elapsed();
    match outcome {
        Ok(counts) => {
            report.result = Ok(counts);
            tracing::info!(
                source = %source.id, bytes = report.bytes, ms = report.elapsed.as_millis() as u64,
                new = counts.new, duplicate = counts.duplicate, updated = counts.updated,
                "polled"
            );
        }
        Err(reason) => {
            tracing::warn!(source = %source.id, ms = report.elapsed.as_millis() as u64, transient = report.transient, "poll failed: {reason}");
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            state.last_error = Some(reason.clone());
            if let Err(e) = archive.record_poll(&source.id, &state) {
                tracing::error!(source = %source.id, "cannot record poll failure: {e}");
            }
            report.result = Err(reason);
        }
    }
    report
}

async fn poll_inner(
    source: &Source,
    fetcher: &Fetcher,
    archive: &Arc<Archive>,
    curator: &Arc<Curator>,
    state: &mut PollState,
    report: &mut PollReport,
    now: DateTime<Utc>,
) -> Result<Counts, String> {
    if source.kind == SourceKind::Html {
        return Err(format!(
            "source {}: kind = \"html\" (list pages without a feed) is not supported by this version; use the site's feed URL with kind = \"feed\"",
            source.id
        ));
    }
    let limits = Limits {
        timeout: source.timeout,
        max_body: source.max_body,
    };
    let fetched = match fetcher.get(&source.url, limits).await {
        Ok(f) => f,
        Err(e) => {
            report.transient = e.is_transient();
            state.last_status = e.status();
            return Err(e.to_string());
        }
    };
    state.last_status = Some(fetched.status);
    report.bytes = fetched.body.len();
    let source_id = source.id.clone();
    let tz = source.timezone;
    let url = fetched.url.clone();
    let reading = tokio::task::spawn_blocking(move || {
        read_document(
            &fetched.body,
            fetched.content_type.as_deref(),
            Some(&url),
            &source_id,
            tz,
            now,
        )
        .map(|r| (r, fetched.etag, fetched.last_modified))
    })
    .await
    .map_err(|e| format!("reading {}: internal error: {e}", source.url))?;
    let (reading, etag, last_modified) =
        reading.map_err(|e| format!("reading {}: {e}", source.url))?;
    report.entries = reading.candidates.len();
    state.etag = etag;
    state.last_modified = last_modified;
    state.last_success = Some(now);
    state.consecutive_failures = 0;
    state.last_error = None;
    let archive = Arc::clone(archive);
    let id = source.id.clone();
    let final_state = state.clone();
    let curator = Arc::clone(curator);
    let (counts, _) = tokio::task::spawn_blocking(move || {
        archive.ingest(&id, &reading.candidates, &final_state, now, &|a| {
            curator.topics_for(a)
        })
    })
    .await
    .map_err(|e| format!("storing {}: internal error: {e}", source.id))?
    .map_err(|e| format!("storing {}: {e}", source.id))?;
    state.last_new = counts.new;
    state.last_duplicate = counts.duplicate;
    state.last_updated = counts.updated;
    Ok(counts)
}

/// Polls `sources` with at most `concurrency` at once; reports come back in `sources` order.
pub async fn poll_all(
    sources: &[Source],
    fetcher: &Fetcher,
    archive: &Arc<Archive>,
    curator: &Arc<Curator>,
    concurrency: usize,
) -> Vec<PollReport> {
    let mut reports: Vec<(usize, PollReport)> =
        futures_util::stream::iter(sources.iter().enumerate())
            .map(|(i, s)| async move { (i, poll_source(s, fetcher, archive, curator).await) })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}
