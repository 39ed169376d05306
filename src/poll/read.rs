//! Reading one document the way a poll reads it, shared with `inspect`: bytes → UTF-8 → a feed,
//! an article page or a list page → candidates. CPU only: callers run it off the async threads.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::archive::Archive;
use crate::decode::{Decoded, decode};
use crate::extract::{self, FoundLink, LinkError, PageArticle};
use crate::normalize::{Candidate, Origin, fingerprint, identity_of, normalize};
use crate::parse::{Entry, ParseError, ParsedFeed, Skipped, parse_feed};

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Feed(#[from] ParseError),
    /// The article extractor's reason.
    #[error("{0}")]
    Page(String),
    #[error(transparent)]
    Links(#[from] LinkError),
    #[error(transparent)]
    TooBig(#[from] crate::decode::TooBig),
    #[error(
        "reading it took {spent:.1?} of CPU, over the {budget:?} budget per document ([polling] cpu_budget); dropped"
    )]
    OverBudget {
        spent: std::time::Duration,
        budget: std::time::Duration,
    },
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what a document's reading
/// cost, whatever else the machine did meanwhile.
pub fn thread_cpu_time() -> std::time::Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the struct it is given.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return std::time::Duration::new(
                u64::try_from(ts.tv_sec).unwrap_or(0),
                u32::try_from(ts.tv_nsec).unwrap_or(0),
            );
        }
    }
    std::time::Duration::ZERO
}

/// A feed read the way a poll reads it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub decoded: Decoded,
    pub feed: ParsedFeed,
    pub candidates: Vec<Candidate>,
    /// Per entry of `feed`: stored before exactly as read now ([`Known`]), so not normalized.
    pub unchanged: Vec<bool>,
    /// Per entry of `feed`: its [`fingerprint`] (`None` when read without [`Known`]).
    pub fingerprints: Vec<Option<u64>>,
}

impl Reading {
    /// How many entries were skipped as unchanged.
    pub fn unchanged_count(&self) -> usize {
        self.unchanged.iter().filter(|&&u| u).count()
    }
}

/// Who reads a document, and when: the source (labels, identities), the zone its dates
/// without an offset are in, the time, and what it stored before ([`Known`]; `None`: read every
/// entry, as `inspect` does).
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub source: &'a str,
    pub tz: Option<Tz>,
    pub now: DateTime<Utc>,
    pub known: Option<&'a Known>,
}

/// What lets a poll skip the entries it stored before, unchanged (issue 21): their fingerprints
/// are stored with their identities.
#[derive(Clone)]
pub struct Known {
    pub archive: Arc<Archive>,
    /// [`settings_hash`] of the source: part of every fingerprint.
    pub context: u64,
}

impl Known {
    /// Which of `entries`, with these fingerprints, are stored exactly as they are. One look-up
    /// for the whole document; an index that cannot be read skips nothing (every entry is read).
    pub fn held(&self, entries: &[Entry], origin: Origin<'_>, fingerprints: &[u64]) -> Vec<bool> {
        let ids: Vec<(usize, String)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, identity_of(e, origin)?)))
            .collect();
        let identities: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
        let mut held = vec![false; entries.len()];
        if let Ok(stored) = self.archive.entry_fingerprints(origin.source, &identities) {
            for ((i, _), f) in ids.iter().zip(stored) {
                held[*i] = f == Some(fingerprints[*i]);
            }
        }
        held
    }
}

/// A hash of everything besides a document's bytes that decides what reading it stores: the
/// source's settings (its kind, zone, filters, `full_text`, …) and gazette's version. A changed
/// setting, or a new gazette, reads every document and entry again.
pub fn settings_hash(source: &crate::config::Source) -> u64 {
    let settings = format!("{source:?}\n{}", env!("CARGO_PKG_VERSION"));
    xxhash_rust::xxh3::xxh3_64(settings.as_bytes())
}

/// How to read a document (`inspect --as`); `None` lets gazette decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    Feed,
    Article,
    List,
    /// What a source of kind "auto" does: a feed if it parses as one, else a list page.
    FeedOrList,
}

/// A document read as a feed, an article page or a list page.
#[derive(Debug, Clone)]
pub enum Document {
    Feed(Reading),
    Article {
        decoded: Decoded,
        page: Box<PageArticle>,
        candidate: Option<Candidate>,
    },
    List {
        decoded: Decoded,
        links: Vec<FoundLink>,
        /// Feeds the page advertises.
        feeds: Vec<String>,
    },
}

/// Decodes, parses and normalizes a feed. CPU only; call from a blocking context.
pub fn read_document(
    body: &[u8],
    content_type: Option<&str>,
    url: Option<&Url>,
    source: &str,
    tz: Option<Tz>,
    now: DateTime<Utc>,
) -> Result<Reading, crate::parse::ParseError> {
    let decoded = decode(body, content_type);
    let feed = parse_feed(&decoded.text, url, tz.unwrap_or(Tz::UTC))?;
    Ok(normalized(decoded, feed, source, url, now, None))
}

fn normalized(
    decoded: Decoded,
    feed: ParsedFeed,
    source: &str,
    url: Option<&Url>,
    now: DateTime<Utc>,
    known: Option<&Known>,
) -> Reading {
    let mut feed = feed;
    let title = feed.meta.title.clone();
    let origin = Origin {
        source,
        base: url,
        publisher: title.as_deref(),
    };
    let n = feed.entries.len();
    let (fingerprints, unchanged): (Vec<Option<u64>>, Vec<bool>) = match known {
        Some(k) => {
            let fps: Vec<u64> = feed
                .entries
                .iter()
                .map(|e| fingerprint(e, origin, k.context))
                .collect();
            let held = k.held(&feed.entries, origin, &fps);
            (fps.into_iter().map(Some).collect(), held)
        }
        None => (vec![None; n], vec![false; n]),
    };
    let mut candidates = Vec::with_capacity(n);
    for (index, e) in feed.entries.iter().enumerate() {
        if unchanged[index] {
            continue;
        }
        let fp = fingerprints[index];
        match normalize(e, origin, now) {
            Some(mut c) => {
                c.fingerprint = fp;
                candidates.push(c);
            }
            None => feed.skipped.push(Skipped {
                index,
                reason: "no title, link, guid or content",
            }),
        }
    }
    Reading {
        decoded,
        feed,
        candidates,
        unchanged,
        fingerprints,
    }
}

impl Reading {
    /// What is wrong with a document that parsed but gave nothing to store: a warning on the
    /// source (poll's line, `status`, `/status.json`, a `/status.rss` event), never a silent
    /// "ok". `None` for a feed that is empty because it has no entries.
    pub fn warning(&self) -> Option<String> {
        let entries = self.feed.entries.len();
        if entries == 0 {
            return has_entry_elements(&self.decoded.text).then(|| {
                "the document has item or entry elements, but none could be read as an entry"
                    .to_string()
            });
        }
        if self.candidates.is_empty() && self.unchanged_count() == 0 {
            let reason = self.feed.skipped.first().map_or("", |s| s.reason);
            return Some(format!(
                "all {entries} entries were skipped ({reason}); nothing was stored"
            ));
        }
        None
    }
}

/// Whether a document holds `<item>` or `<entry>` elements (prefixed or not).
fn has_entry_elements(text: &str) -> bool {
    ["item", "entry"].iter().any(|name| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            matches!(before, Some('<' | ':'))
                && matches!(after, Some('>' | '/') | Some(' ' | '\t' | '\n' | '\r'))
                && !text[..at].ends_with("</")
        })
    })
}

/// Reads an HTML page as an article.
pub fn read_article(
    decoded: Decoded,
    url: Option<&Url>,
    source: &str,
    tz: Option<Tz>,
    now: DateTime<Utc>,
) -> Result<Document, ReadError> {
    let page = extract::article(&decoded.text, url, tz).map_err(ReadError::Page)?;
    let candidate = normalize(
        &page.entry,
        Origin {
            source,
            base: url,
            publisher: None,
        },
        now,
    );
    Ok(Document::Article {
        decoded,
        page: Box::new(page),
        candidate,
    })
}

/// Reads any document: as told, or as what it looks like (a feed if it parses as one; else a
/// list page when it is mostly a block of article links; else an article).
pub fn read_as(
    body: &[u8],
    content_type: Option<&str>,
    url: Option<&Url>,
    reader: Reader<'_>,
    how: Option<ReadAs>,
) -> Result<Document, ReadError> {
    let Reader {
        source,
        tz,
        now,
        known,
    } = reader;
    let decoded = decode(body, content_type);
    if matches!(how, None | Some(ReadAs::Feed | ReadAs::FeedOrList)) {
        match parse_feed(&decoded.text, url, tz.unwrap_or(Tz::UTC)) {
            Ok(feed) => {
                return Ok(Document::Feed(normalized(
                    decoded, feed, source, url, now, known,
                )));
            }
            Err(e) if how == Some(ReadAs::Feed) => return Err(e.into()),
            Err(e)
                if !crate::parse::looks_like_html(&decoded.text)
                    && !decoded.text.contains("<body") =>
            {
                return Err(e.into());
            }
            Err(_) => {}
        }
    }
    let base = url.cloned().unwrap_or_else(|| {
        Url::parse("http://localhost/").unwrap_or_else(|_| unreachable!("static URL"))
    });
    let list = || -> Result<(Vec<FoundLink>, Vec<String>), ReadError> {
        let links = extract::links(&decoded.text, &base, None, None)?;
        Ok((links, extract::feed_links(&decoded.text, &base)))
    };
    match how {
        Some(ReadAs::List | ReadAs::FeedOrList) => {
            let (links, feeds) = list()?;
            Ok(Document::List {
                decoded,
                links,
                feeds,
            })
        }
        Some(ReadAs::Article) => read_article(decoded, url, source, tz, now),
        _ => {
            let (links, feeds) = list()?;
            let article = read_article(decoded.clone(), url, source, tz, now)?;
            let text_len = match &article {
                Document::Article {
                    candidate: Some(c), ..
                } => c.text.chars().count(),
                _ => 0,
            };
            let link_text: usize = links.iter().map(|l| l.title.chars().count()).sum();
            if links.len() >= 3 && (text_len < 500 || link_text * 2 > text_len) {
                Ok(Document::List {
                    decoded,
                    links,
                    feeds,
                })
            } else {
                Ok(article)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PollState;

    fn item(guid: &str, text: &str) -> String {
        format!(
            "<item><title>Story {guid}</title><guid>{guid}</guid><description>{text}</description>\
             <pubDate>Wed, 04 May 2016 15:00:36 +0800</pubDate></item>"
        )
    }

    fn doc(items: &[String]) -> Vec<u8> {
        format!(
            "<rss version=\"2.0\"><channel><title>W</title>{}</channel></rss>",
            items.concat()
        )
        .into_bytes()
    }

    /// Issue 21: an entry stored with the fingerprint it has now is skipped before normalizing;
    /// one that changed, one never stored and any entry under other settings are read.
    #[test]
    fn entries_stored_as_they_are_are_skipped_and_the_others_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = Arc::new(
            Archive::open(&dir.path().join("a"), std::time::Duration::from_secs(3600))
                .expect("open"),
        );
        let url = Url::parse("http://wire.example/feed.rss").expect("url");
        let now = Utc::now();
        let read = |body: &[u8], context: u64| {
            let known = Known {
                archive: Arc::clone(&archive),
                context,
            };
            let reader = Reader {
                source: "s",
                tz: None,
                now,
                known: Some(&known),
            };
            match read_as(body, None, Some(&url), reader, Some(ReadAs::Feed)) {
                Ok(Document::Feed(r)) => r,
                other => panic!("not a feed: {other:?}"),
            }
        };
        let v1 = doc(&[item("a", "one"), item("b", "two"), item("c", "three")]);
        let first = read(&v1, 7);
        assert_eq!(first.candidates.len(), 3);
        assert!(first.candidates.iter().all(|c| c.fingerprint.is_some()));
        assert_eq!(first.unchanged, vec![false; 3]);
        archive
            .ingest(
                "s",
                &first.candidates,
                &PollState::default(),
                now,
                &|_| Vec::new(),
                &[],
            )
            .expect("stored");

        let again = read(&v1, 7);
        assert!(again.candidates.is_empty());
        assert_eq!(again.unchanged, vec![true; 3]);
        assert_eq!(again.warning(), None, "unchanged is not 'nothing to store'");

        let v2 = doc(&[
            item("a", "one"),
            item("b", "two, edited"),
            item("d", "four"),
        ]);
        let changed = read(&v2, 7);
        let read_again: Vec<&str> = changed
            .candidates
            .iter()
            .map(|c| c.identity.as_str())
            .collect();
        assert_eq!(read_again, ["g:b", "g:d"]);
        assert_eq!(changed.unchanged, vec![true, false, false]);

        // other settings (a changed source, another gazette): every entry is read again
        assert_eq!(read(&v1, 8).candidates.len(), 3);
        // inspect reads without the archive: nothing skipped, no fingerprints
        let plain = read_document(&v1, None, Some(&url), "s", None, now).expect("feed");
        assert_eq!(plain.candidates.len(), 3);
        assert!(plain.candidates.iter().all(|c| c.fingerprint.is_none()));
    }
}
