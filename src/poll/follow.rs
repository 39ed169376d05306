//! What a poll fetches beyond the source's own document: the article pages a list page links
//! to, and `full_text` pages for entries that carry only a summary. Each page that cannot be
//! fetched or read is skipped and reported; the rest of the poll goes on without it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use super::read::{Document, Known, ReadAs, Reader, Reading, read_as};
use super::workers::Workers;
use super::{PollError, PollReport};
use crate::archive::Archive;
use crate::config::Source;
use crate::extract::{FoundLink, PageArticle};
use crate::fetch::{Fetched, Fetcher, HostLimits, Limits};
use crate::normalize::{Candidate, Origin, normalize};

/// What fetching pages for one poll of one source needs.
#[derive(Clone, Copy)]
pub(super) struct Follow<'a> {
    pub source: &'a Source,
    /// A client that refuses private addresses except the source's own host.
    pub links: &'a Fetcher,
    pub hosts: &'a HostLimits,
    pub archive: &'a Arc<Archive>,
    pub workers: &'a Workers,
    pub now: DateTime<Utc>,
}

/// Decodes and reads a fetched document on the background pool.
pub(super) async fn blocking_read(
    workers: &Workers,
    source: &Source,
    fetched: Fetched,
    now: DateTime<Utc>,
    how: Option<ReadAs>,
    known: Option<Known>,
) -> Result<Document, PollError> {
    let Fetched {
        body,
        content_type,
        url,
        ..
    } = fetched;
    let id = source.id.clone();
    let tz = source.timezone;
    let shown = url.to_string();
    let (limit, budget) = (source.max_body, source.cpu_budget);
    workers
        .on_cpu(move || {
            let started = super::read::thread_cpu_time();
            let inflated = crate::decode::inflate_within(&body, limit)?;
            let reader = Reader {
                source: &id,
                tz,
                now,
                known: known.as_ref(),
            };
            let doc = read_as(
                inflated.as_deref().unwrap_or(&body),
                content_type.as_deref(),
                Some(&url),
                reader,
                how,
            )?;
            // a budget checked after the fact: a parse cannot be stopped half-way, but a
            // source whose documents stall the CPU fails and backs off instead of showing "ok"
            let spent = super::read::thread_cpu_time().saturating_sub(started);
            if spent > budget {
                return Err(super::read::ReadError::OverBudget { spent, budget });
            }
            Ok(doc)
        })
        .await
        .map_err(|error| PollError::ReadJob {
            url: shown.clone(),
            error,
        })?
        .map_err(|error| PollError::Read { url: shown, error })
}

/// How many article pages of one source are fetched at once ("a couple at a time per host").
const ARTICLE_CONCURRENCY: usize = 2;

/// Fetches and reads one article page.
async fn fetch_article(cx: &Follow<'_>, url: &Url) -> Result<PageArticle, PollError> {
    let Follow {
        source,
        links,
        hosts,
        workers,
        now,
        ..
    } = *cx;
    let limits = Limits {
        timeout: source.timeout,
        max_body: source.max_body,
        private_redirects: source.allow_private,
    };
    let fetched = {
        let _host = hosts
            .acquire(url.host_str().unwrap_or_default())
            .await
            .ok_or(PollError::Shutdown)?;
        links.get(url, limits).await?
    };
    match blocking_read(workers, source, fetched, now, Some(ReadAs::Article), None).await? {
        Document::Article { page, .. } => Ok(*page),
        _ => Err(PollError::NotAnArticle {
            url: url.to_string(),
        }),
    }
}

/// The newest `max_articles` links of a list page that are not archived yet, fetched and read.
pub(super) async fn list_articles(
    cx: &Follow<'_>,
    found: Vec<FoundLink>,
    report: &mut PollReport,
) -> Vec<Candidate> {
    let Follow {
        source,
        archive,
        now,
        ..
    } = *cx;
    let fresh: Vec<FoundLink> = found
        .into_iter()
        .take(source.max_articles)
        .filter(|l| {
            !archive
                .knows(&source.id, &format!("g:{}", l.url))
                .unwrap_or(false)
        })
        .collect();
    let results: Vec<(FoundLink, Result<PageArticle, PollError>)> =
        futures_util::stream::iter(fresh)
            .map(|link| async move {
                let result = match Url::parse(&link.url) {
                    Ok(u) => fetch_article(cx, &u).await,
                    Err(error) => Err(PollError::BadLink {
                        url: link.url.clone(),
                        error,
                    }),
                };
                (link, result)
            })
            .buffered(ARTICLE_CONCURRENCY)
            .collect()
            .await;
    let mut out = Vec::new();
    for (link, result) in results {
        match result {
            Ok(mut page) => {
                // identity is the URL as listed, so the next poll knows it without fetching
                page.entry.guid = Some(link.url.clone());
                if page.entry.title.is_none() && !link.title.is_empty() {
                    page.entry.title = Some(link.title.clone());
                }
                let base = Url::parse(&link.url).ok();
                if let Some(c) = normalize(
                    &page.entry,
                    Origin {
                        source: &source.id,
                        base: base.as_ref(),
                        publisher: source.name.as_deref(),
                    },
                    now,
                ) {
                    out.push(c);
                }
            }
            Err(e) => {
                tracing::warn!(source = %source.id, "article skipped: {}", crate::secrets::redact_text(&e.to_string()));
                report.article_errors.push(e);
            }
        }
    }
    out
}

/// `full_text = true`: entries that carry only a summary get the body of their page.
pub(super) async fn with_full_text(
    cx: &Follow<'_>,
    mut reading: Reading,
    report: &mut PollReport,
) -> Vec<Candidate> {
    let Follow {
        source,
        archive,
        now,
        ..
    } = *cx;
    if !source.full_text {
        return reading.candidates;
    }
    let known = |e: &crate::parse::Entry| {
        let ids = [
            e.guid.as_ref().map(|g| format!("g:{g}")),
            e.link.as_ref().map(|l| format!("l:{l}")),
        ];
        ids.into_iter()
            .flatten()
            .any(|id| archive.knows(&source.id, &id).unwrap_or(false))
    };
    let wanted: Vec<(usize, Url)> = reading
        .feed
        .entries
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            e.content_html.is_none() && !reading.unchanged.get(*i).copied().unwrap_or(false)
        })
        .filter(|(_, e)| !known(e))
        .filter_map(|(i, e)| Some((i, Url::parse(e.link.as_deref()?).ok()?)))
        .collect();
    let pages: Vec<(usize, Result<PageArticle, PollError>)> = futures_util::stream::iter(wanted)
        .map(|(i, url)| async move { (i, fetch_article(cx, &url).await) })
        .buffered(ARTICLE_CONCURRENCY)
        .collect()
        .await;
    for (i, page) in pages {
        match page {
            Ok(page) => {
                if let Some(entry) = reading.feed.entries.get_mut(i) {
                    // keep the feed's title and date; take the page's body
                    entry.content_html = page.entry.content_html.or(entry.content_html.take());
                    entry.image = page.image;
                }
            }
            Err(e) => {
                tracing::warn!(source = %source.id, "full text skipped: {}", crate::secrets::redact_text(&e.to_string()));
                report.article_errors.push(e);
            }
        }
    }
    let origin = Origin {
        source: &source.id,
        base: Some(&source.url),
        publisher: source
            .name
            .as_deref()
            .or(reading.feed.meta.title.as_deref()),
    };
    // entries the first reading skipped as unchanged stay skipped; the others keep the
    // fingerprint of the entry as the feed gave it (before its page's body was added)
    reading
        .feed
        .entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !reading.unchanged.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, e)| {
            let mut c = normalize(e, origin, now)?;
            c.fingerprint = reading.fingerprints.get(i).copied().flatten();
            Some(c)
        })
        .collect()
}
