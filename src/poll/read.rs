//! Reading one document the way a poll reads it, shared with `inspect`: bytes → UTF-8 → a feed,
//! an article page or a list page → candidates. CPU only: callers run it off the async threads.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::decode::{Decoded, decode};
use crate::extract::{self, FoundLink, LinkError, PageArticle};
use crate::normalize::{Candidate, Origin, normalize};
use crate::parse::{ParseError, ParsedFeed, Skipped, parse_feed};

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
    Ok(normalized(decoded, feed, source, url, now))
}

fn normalized(
    decoded: Decoded,
    feed: ParsedFeed,
    source: &str,
    url: Option<&Url>,
    now: DateTime<Utc>,
) -> Reading {
    let mut feed = feed;
    let title = feed.meta.title.clone();
    let origin = Origin {
        source,
        base: url,
        publisher: title.as_deref(),
    };
    let mut candidates = Vec::with_capacity(feed.entries.len());
    for (index, e) in feed.entries.iter().enumerate() {
        match normalize(e, origin, now) {
            Some(c) => candidates.push(c),
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
        if self.candidates.is_empty() {
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
    source: &str,
    tz: Option<Tz>,
    now: DateTime<Utc>,
    how: Option<ReadAs>,
) -> Result<Document, ReadError> {
    let decoded = decode(body, content_type);
    if matches!(how, None | Some(ReadAs::Feed | ReadAs::FeedOrList)) {
        match parse_feed(&decoded.text, url, tz.unwrap_or(Tz::UTC)) {
            Ok(feed) => return Ok(Document::Feed(normalized(decoded, feed, source, url, now))),
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
