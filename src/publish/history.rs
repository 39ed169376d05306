//! A feed's whole history as RFC 5005 ("Feed Paging and Archiving") archived feeds: the
//! subscription document holds the newest `limit` arrivals and links `prev-archive` to archive
//! documents of `[server] archive_page_size` arrivals each, filed from the oldest, which never
//! change once full.
//!
//! Arrival numbers come from the archive (`archive::arrivals`). With `N` arrivals, a window of
//! `W` (the feed's `limit`) and pages of `P`, the subscription document holds arrivals
//! `N-W+1 ..= N`, and the `M = N-W` before them fill archive documents `1 ..= ceil(M/P)`:
//! document `n` holds `(n-1)P+1 ..= min(nP, M)` and is full once `M >= nP`, that is from the
//! moment the feed had `nP+W` arrivals; it never changes after that.
//!
//! An article that changed after leaving the window arrived again, and the earlier arrival is
//! superseded: a document shows an arrival when it is the article's newest, or when it sits in
//! a full archive document and the next arrival came after that document was full (the change
//! came after it was archived, so both stay: RFC 5005 §4 lets an entry appear in several
//! documents). An arrival superseded earlier is hidden everywhere, so following `prev-archive`
//! meets each article once, plus once more per change after its document was archived.

use super::*;
use crate::archive::{Arrived, Listing};

/// Which document of a feed's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// The feed's own URL: the newest arrivals.
    Subscription,
    /// Archive document `n` (1 is the oldest).
    Archive(u64),
}

/// Where a document sits in its feed's history, as its links say it.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// An archive document's own URL (`None`: the subscription document, whose URL is the
    /// feed's); archive documents carry `fh:archive`.
    pub archive_url: Option<String>,
    /// The subscription document's URL, which archive documents link as `current`.
    pub current: Option<String>,
    /// The next older archive document.
    pub prev_archive: Option<String>,
}

/// The paging arithmetic of one feed at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Arrivals the feed has had.
    pub count: u64,
    /// The subscription document's size (the feed's `limit`).
    pub window: u64,
    /// Arrivals per archive document.
    pub page_size: u64,
}

impl Paging {
    /// Arrivals filed in archive documents.
    pub fn archived(&self) -> u64 {
        self.count.saturating_sub(self.window)
    }

    /// How many archive documents there are (the newest may be partial).
    pub fn pages(&self) -> u64 {
        self.archived().div_ceil(self.page_size.max(1))
    }

    /// The arrival numbers `doc` holds (`None`: there is no such document).
    pub fn range(&self, doc: Doc) -> Option<(u64, u64)> {
        let p = self.page_size.max(1);
        match doc {
            Doc::Subscription => Some((self.archived() + 1, self.count)),
            Doc::Archive(n) if n >= 1 && n <= self.pages() => {
                Some(((n - 1) * p + 1, (n * p).min(self.archived())))
            }
            Doc::Archive(_) => None,
        }
    }

    /// Whether archive document `n` is full, and so never changes again.
    pub fn is_full(&self, n: u64) -> bool {
        n >= 1 && n.saturating_mul(self.page_size.max(1)) <= self.archived()
    }

    /// The next older document of `doc`.
    pub fn prev(&self, doc: Doc) -> Option<u64> {
        match doc {
            Doc::Subscription => (self.pages() > 0).then_some(self.pages()),
            Doc::Archive(n) => (n > 1).then(|| n - 1),
        }
    }

    /// Whether `doc` shows the arrival `seq` of an article whose next arrival is `next`.
    pub fn shows(&self, doc: Doc, seq: u64, next: Option<u64>) -> bool {
        let Some(next) = next else { return true };
        match doc {
            Doc::Archive(n) if self.is_full(n) => {
                // the count at which document n filled up
                let full_at = n
                    .saturating_mul(self.page_size.max(1))
                    .saturating_add(self.window);
                seq <= full_at && next > full_at
            }
            _ => false,
        }
    }
}

/// One document of a feed's history, rendered; `None`: the feed has no such document.
pub struct HistoryDoc {
    pub rendered: Rendered,
    /// A full archive document: its bytes never change (served as `immutable`).
    pub immutable: bool,
}

/// The URL of archive document `n` of `channel` in `format`.
pub fn archive_url(site: &Site<'_>, channel: &Channel, n: u64, format: Format) -> String {
    site.url(&format!("{}/archive/{n}.{}", channel.path(), format.ext()))
}

/// Renders `doc` of a topic's or a source's feed.
pub fn render_history(
    archive: &Archive,
    config: &Config,
    channel: &Channel,
    doc: Doc,
    format: Format,
) -> Result<Option<HistoryDoc>, PublishError> {
    let (listing, window) = match channel.kind {
        ChannelKind::Topic => {
            let topic = config
                .topics
                .iter()
                .find(|t| t.id == channel.id)
                .ok_or_else(|| PublishError::UnknownTopic(channel.id.clone()))?;
            (Listing::Topic(&topic.id), topic.limit)
        }
        ChannelKind::Source => {
            let source = config
                .sources
                .iter()
                .find(|s| s.id == channel.id)
                .ok_or_else(|| PublishError::UnknownSource(channel.id.clone()))?;
            (Listing::Source(&source.id), source.limit)
        }
        // a search has no history
        ChannelKind::Search => return Ok(None),
    };
    let paging = Paging {
        count: archive.arrivals(listing)?,
        window: window as u64,
        page_size: config.server.archive_page_size as u64,
    };
    let Some((from, to)) = paging.range(doc) else {
        return Ok(None);
    };
    let mut shown: Vec<Arrived> = archive
        .arrived(listing, from, to)?
        .into_iter()
        .filter(|a| paging.shows(doc, a.seq, a.next))
        .collect();
    // newest first, as feeds have always been; the same order for the same arrivals
    shown.sort_by_key(|a| std::cmp::Reverse((a.article.published, a.seq)));
    let articles: Vec<Article> = shown.into_iter().map(|a| a.article).collect();
    let mut site = Site::new(config);
    if channel.kind == ChannelKind::Source {
        site.primary = Some(channel.id.clone());
    }
    site.history = History {
        archive_url: match doc {
            Doc::Archive(n) => Some(archive_url(&site, channel, n, format)),
            Doc::Subscription => None,
        },
        current: matches!(doc, Doc::Archive(_)).then(|| site.feed_url(channel, format)),
        prev_archive: paging
            .prev(doc)
            .map(|n| archive_url(&site, channel, n, format)),
    };
    let rendered = render(channel, &articles, format, &site)?;
    Ok(Some(HistoryDoc {
        rendered,
        immutable: matches!(doc, Doc::Archive(n) if paging.is_full(n)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_partition_the_arrivals() {
        // (count, window, page size) → subscription range, archive ranges, full flags
        type Case = (u64, u64, u64, (u64, u64), &'static [((u64, u64), bool)]);
        let cases: [Case; 5] = [
            (0, 5, 3, (1, 0), &[]),
            (5, 5, 3, (1, 5), &[]),
            (6, 5, 3, (2, 6), &[((1, 1), false)]),
            (8, 5, 3, (4, 8), &[((1, 3), true)]),
            (
                12,
                5,
                3,
                (8, 12),
                &[((1, 3), true), ((4, 6), true), ((7, 7), false)],
            ),
        ];
        for (count, window, page_size, sub, pages) in cases {
            let p = Paging {
                count,
                window,
                page_size,
            };
            assert_eq!(p.range(Doc::Subscription), Some(sub), "{p:?}");
            assert_eq!(p.pages(), pages.len() as u64, "{p:?}");
            for (i, (range, full)) in pages.iter().enumerate() {
                let n = i as u64 + 1;
                assert_eq!(p.range(Doc::Archive(n)), Some(*range), "{p:?} page {n}");
                assert_eq!(p.is_full(n), *full, "{p:?} page {n}");
            }
            assert_eq!(p.range(Doc::Archive(0)), None);
            assert_eq!(p.range(Doc::Archive(pages.len() as u64 + 1)), None);
            assert_eq!(
                p.prev(Doc::Subscription),
                (!pages.is_empty()).then_some(pages.len() as u64)
            );
        }
    }

    #[test]
    fn a_superseded_arrival_shows_only_where_it_was_archived_before_the_change() {
        let p = Paging {
            count: 20,
            window: 5,
            page_size: 3,
        };
        // page 1 (1..=3) filled at 8 arrivals, page 4 (10..=12) at 17, page 5 is partial
        let cases = [
            (Doc::Archive(1), 2, None, true),
            (Doc::Archive(1), 2, Some(9), true),
            (Doc::Archive(1), 2, Some(8), false),
            (Doc::Archive(4), 11, Some(18), true),
            (Doc::Archive(4), 11, Some(16), false),
            (Doc::Archive(5), 14, Some(19), false),
            (Doc::Subscription, 17, Some(19), false),
            (Doc::Subscription, 19, None, true),
        ];
        for (doc, seq, next, want) in cases {
            assert_eq!(p.shows(doc, seq, next), want, "{doc:?} {seq} {next:?}");
        }
    }
}
