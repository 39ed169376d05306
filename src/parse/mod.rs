//! Feed documents → entries. Wraps feed-rs (RSS 0.9x/1.0/2.0, Atom, JSON Feed) with gazette's
//! date parser, the repairs in [`repair`], and a panic guard, and converts its model into
//! [`Entry`] values that keep only what gazette uses. Does not clean or judge content: that is
//! the normalize stage's job.

mod atom;
mod constructs;

pub use constructs::{collapse, person};
pub mod dates;
mod json;
pub mod repair;
mod rss;
#[cfg(test)]
mod tests;
pub mod xml;

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::{self, FeedType, Text};
use url::Url;

use crate::model::Enclosure;

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: the document is an HTML page (no RSS, Atom or JSON Feed root)")]
    HtmlPage,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("the feed parser panicked on this document ({0}); please report it with the document")]
    Panicked(String),
}

/// Feed-level metadata.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FeedMeta {
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    pub author: Option<String>,
    /// The feed's logo or icon.
    pub image: Option<String>,
    /// "RSS 2.0", "Atom", "JSON Feed", …
    pub format: &'static str,
    /// How often the publisher says to poll: RSS `<ttl>` (minutes), else `sy:updatePeriod` /
    /// `sy:updateFrequency` (RSS 1.0 Syndication module).
    #[serde(skip)]
    pub ttl: Option<std::time::Duration>,
}

/// One item as the source published it: HTML still raw, links still as written. `Hash`: its
/// fingerprint tells an entry that changed in any way from one that did not (issue 21).
#[derive(Debug, Clone, Default, Hash)]
pub struct Entry {
    /// The entry's own id (RSS guid, Atom id, JSON Feed id); never a generated one.
    pub guid: Option<String>,
    /// Title as written (may hold entities or markup).
    pub title: Option<String>,
    /// Whether `title` is plain text (Atom `type="text"`), as opposed to HTML-ish.
    pub title_is_plain: bool,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// `published` as the document wrote it (its offset, or the source's zone's).
    pub published_local: Option<DateTime<chrono::FixedOffset>>,
    /// Whether `published` was read from an article page rather than a feed entry.
    pub published_from_page: bool,
    /// Where on the page the date was found (see `extract::PageDate::method`).
    pub date_method: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    /// The authors' email addresses, kept apart from their names (`email (Name)`).
    pub author_emails: Vec<String>,
    /// Short description, as HTML.
    pub summary_html: Option<String>,
    /// Full content, as HTML.
    pub content_html: Option<String>,
    /// The content's plain text, when the source knows it better than the HTML's text
    /// (article extraction); otherwise derived from the HTML.
    pub content_text: Option<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    pub language: Option<String>,
    /// Lead image (article pages).
    pub image: Option<String>,
}

/// A parsed feed.
#[derive(Debug, Clone, Default)]
pub struct ParsedFeed {
    pub meta: FeedMeta,
    pub entries: Vec<Entry>,
    /// The repairs that were needed (empty for a well-formed feed).
    pub repairs: Vec<&'static str>,
    /// How many item/entry elements the document holds (an entry count below it, or no
    /// entries at all, is a warning, never a silent "ok").
    pub items_in_document: usize,
    /// Entries that were read but not kept, and why (filled by the caller that normalizes).
    pub skipped: Vec<Skipped>,
}

impl ParsedFeed {
    /// What gazette's own reader made of a document holding `items` item/entry elements.
    fn read(meta: FeedMeta, entries: Vec<Entry>, items: usize) -> ParsedFeed {
        ParsedFeed {
            meta,
            entries,
            repairs: Vec::new(),
            items_in_document: items,
            skipped: Vec::new(),
        }
    }
}

/// An entry that could not become an article.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    /// Its position in the document, from 0.
    pub index: usize,
    pub reason: &'static str,
}

/// Parses a UTF-8 document (see [`crate::decode`]) fetched from `url`. Dates without an offset
/// are read in `tz`. Never panics.
pub fn parse_feed(text: &str, url: Option<&Url>, tz: Tz) -> Result<ParsedFeed, ParseError> {
    // gazette's own reading of the document, where its forgiving tree reads as a feed
    let ours = if text.trim_start().starts_with('{') {
        json::read(text, tz)
    } else {
        xml::parse(text, url)
            .and_then(|root| rss::read(&root, tz).or_else(|| atom::read(&root, tz)))
    };
    let mut parsed = match ours {
        Some(mut ours) => {
            if needs_feed_rs(text, &ours) {
                match parse_with_feed_rs(text, url, tz) {
                    // feed-rs found entries gazette's reader did not: its reading stands
                    Ok(theirs) if ours.entries.is_empty() && !theirs.entries.is_empty() => theirs,
                    Ok(theirs) => {
                        fill_from(&mut ours, theirs);
                        ours
                    }
                    Err(_) => ours,
                }
            } else {
                ours
            }
        }
        None => parse_with_feed_rs(text, url, tz)?,
    };
    for e in &mut parsed.entries {
        e.published = e.published.or(e.updated);
    }
    if parsed.meta.ttl.is_none() {
        parsed.meta.ttl = update_period(text);
    }
    Ok(parsed)
}

/// Whether feed-rs should read the document too: it knows the Podcasting 2.0 vocabulary, and
/// a document in which gazette's reader found no entries although it has item or entry
/// elements gets a second reader before it is reported as empty. Otherwise one reading is
/// enough (reading twice cost 38% of the read path; `cargo bench -- read/`).
fn needs_feed_rs(text: &str, ours: &ParsedFeed) -> bool {
    text.contains("podcastindex.org/namespace")
        || (ours.entries.is_empty()
            && ["<item", ":item", "<entry", ":entry"]
                .iter()
                .any(|tag| text.contains(tag)))
}

fn parse_with_feed_rs(text: &str, url: Option<&Url>, tz: Tz) -> Result<ParsedFeed, ParseError> {
    let mut repairs = Vec::new();
    let prepared = repair::always(text, &mut repairs);
    let first = parse_guarded(&prepared, url, tz);
    let feed = match first {
        Ok(feed) => feed,
        Err(first_err) => {
            if looks_like_html(text) {
                return Err(ParseError::HtmlPage);
            }
            let repaired = repair::on_failure(&prepared, &mut repairs);
            if repaired == prepared {
                return Err(first_err);
            }
            parse_guarded(&repaired, url, tz).map_err(|_| first_err)?
        }
    };
    Ok(convert(feed, repairs))
}

/// gazette's reading first; feed-rs fills what it left empty (podcast and Media RSS details it
/// knows, the publisher's `<ttl>`). Entries are matched by position, and only when both read
/// the same number: otherwise gazette's reading stands alone.
fn fill_from(ours: &mut ParsedFeed, theirs: ParsedFeed) {
    let m = &mut ours.meta;
    let t = theirs.meta;
    m.title = m.title.take().or(t.title);
    m.link = m.link.take().or(t.link);
    m.description = m.description.take().or(t.description);
    m.language = m.language.take().or(t.language);
    m.updated = m.updated.or(t.updated);
    m.author = m.author.take().or(t.author);
    m.image = m.image.take().or(t.image);
    m.ttl = m.ttl.or(t.ttl);
    ours.repairs.extend(theirs.repairs);
    if theirs.entries.len() != ours.entries.len() {
        return;
    }
    for (o, t) in ours.entries.iter_mut().zip(theirs.entries) {
        if o.title.is_none() && t.title.is_some() {
            o.title = t.title;
            o.title_is_plain = t.title_is_plain;
        }
        o.guid = o.guid.take().or(t.guid);
        o.link = o.link.take().or(t.link);
        o.published = o.published.or(t.published);
        o.updated = o.updated.or(t.updated);
        if o.authors.is_empty() {
            o.authors = t.authors;
        }
        o.summary_html = o.summary_html.take().or(t.summary_html);
        o.content_html = o.content_html.take().or(t.content_html);
        if o.categories.is_empty() {
            o.categories = t.categories;
        }
        for e in t.enclosures {
            if !o.enclosures.iter().any(|have| have.url == e.url) {
                o.enclosures.push(e);
            }
        }
        o.language = o.language.take().or(t.language);
        o.image = o.image.take().or(t.image);
    }
}

/// `<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>` → 30 min.
fn update_period(text: &str) -> Option<std::time::Duration> {
    use std::sync::OnceLock;
    static PERIOD: OnceLock<regex::Regex> = OnceLock::new();
    static FREQUENCY: OnceLock<regex::Regex> = OnceLock::new();
    let period = PERIOD.get_or_init(|| {
        regex::Regex::new(r"<\w+:updatePeriod>\s*(\w+)\s*<").unwrap_or_else(|e| unreachable!("{e}"))
    });
    let frequency = FREQUENCY.get_or_init(|| {
        regex::Regex::new(r"<\w+:updateFrequency>\s*(\d+)\s*<")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    let mut end = text.len().min(64 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let secs: u64 = match period
        .captures(head)?
        .get(1)?
        .as_str()
        .to_ascii_lowercase()
        .as_str()
    {
        "hourly" => 3600,
        "daily" => 86_400,
        "weekly" => 604_800,
        "monthly" => 2_592_000,
        "yearly" => 31_536_000,
        _ => return None,
    };
    let times: u64 = frequency
        .captures(head)
        .and_then(|c| c.get(1)?.as_str().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    Some(std::time::Duration::from_secs(secs / times))
}

fn parse_guarded(text: &str, url: Option<&Url>, tz: Tz) -> Result<model::Feed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(url.map(Url::as_str))
        // feed-rs' generated ids are random when an entry has neither id nor link; gazette
        // derives identity itself, so "no id" must stay visible as an empty id.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(move |s| dates::parse_date(s, tz))
        .build();
    match catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes()))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(ParseError::NotAFeed(e.to_string())),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(ParseError::Panicked(what))
        }
    }
}

/// Whether a document is an HTML page rather than XML/JSON.
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(2048)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = head.trim_start();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || (head.contains("<html")
            && !head.contains("<rss")
            && !head.contains("<feed")
            && !head.contains("<rdf"))
}

fn text_of(t: &Option<Text>) -> Option<String> {
    t.as_ref()
        .map(|t| t.content.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn is_plain(t: &Text) -> bool {
    t.content_type.to_string().starts_with("text/plain")
}

/// Renders a feed-rs text construct as HTML: plain text is escaped, HTML kept.
fn html_of_text(t: &Text) -> String {
    if is_plain(t) {
        plain_to_html(&t.content)
    } else {
        t.content.clone()
    }
}

/// Plain text to HTML paragraphs (blank lines separate paragraphs).
pub fn plain_to_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            format!(
                "<p>{}</p>",
                html_escape::encode_text(p).replace('\n', "<br>")
            )
        })
        .collect()
}

fn convert(feed: model::Feed, repairs: Vec<&'static str>) -> ParsedFeed {
    let format = match feed.feed_type {
        FeedType::Atom => "Atom",
        FeedType::JSON => "JSON Feed",
        FeedType::RSS0 => "RSS 0.9x",
        FeedType::RSS1 => "RSS 1.0",
        FeedType::RSS2 => "RSS 2.0",
    };
    let is_atom = feed.feed_type == FeedType::Atom;
    let feed_author = feed.authors.iter().find_map(person_name);
    let meta = FeedMeta {
        title: text_of(&feed.title),
        link: pick_link(&feed.links),
        description: text_of(&feed.description),
        language: feed.language.clone().filter(|l| !l.trim().is_empty()),
        updated: feed.updated,
        author: feed_author.or_else(|| feed.contributors.iter().find_map(person_name)),
        image: feed
            .logo
            .as_ref()
            .or(feed.icon.as_ref())
            .map(|i| i.uri.trim().to_string())
            .filter(|u| !u.is_empty()),
        format,
        ttl: feed
            .ttl
            .filter(|m| *m > 0)
            .map(|m| std::time::Duration::from_secs(u64::from(m) * 60)),
    };
    let entries: Vec<Entry> = feed
        .entries
        .into_iter()
        .map(|e| convert_entry(e, is_atom, meta.language.as_deref()))
        .collect();
    ParsedFeed {
        meta,
        items_in_document: entries.len(),
        entries,
        repairs,
        skipped: Vec::new(),
    }
}

fn person_name(p: &model::Person) -> Option<String> {
    let name = p
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "unknown");
    name.map(str::to_string).or_else(|| {
        p.email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
    })
}

fn pick_link(links: &[model::Link]) -> Option<String> {
    let usable = |l: &&model::Link| l.href != repair::MISSING_LINK && !l.href.trim().is_empty();
    links
        .iter()
        .filter(usable)
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| {
            links.iter().filter(usable).find(|l| {
                !matches!(
                    l.rel.as_deref(),
                    Some("self" | "enclosure" | "replies" | "edit" | "hub" | "next" | "previous")
                )
            })
        })
        .map(|l| l.href.trim().to_string())
}

fn convert_entry(e: model::Entry, is_atom: bool, feed_language: Option<&str>) -> Entry {
    let mut enclosures: Vec<Enclosure> = Vec::new();
    let mut push_enclosure = |url: &str, kind: Option<String>, length: Option<u64>| {
        if !url.is_empty() && !enclosures.iter().any(|x| x.url == url) {
            enclosures.push(Enclosure {
                url: url.to_string(),
                r#type: kind,
                length,
                duration: None,
            });
        }
    };
    for m in &e.media {
        for c in &m.content {
            if let Some(u) = &c.url {
                push_enclosure(
                    u.as_str(),
                    c.content_type.as_ref().map(|t| t.to_string()),
                    c.size,
                );
            }
        }
    }
    for l in e
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
    {
        push_enclosure(&l.href, l.media_type.clone(), l.length);
    }
    let content_html = e.content.as_ref().and_then(|c| {
        let body = c.body.as_deref()?.trim();
        let ct = c.content_type.to_string();
        if body.is_empty() {
            None
        } else if ct.starts_with("text/plain") {
            Some(plain_to_html(body))
        } else if ct.starts_with("text/") || ct.contains("html") || ct.contains("xml") {
            Some(body.to_string())
        } else {
            None // base64 or other non-text payloads carry no article text
        }
    });
    let summary_html = e
        .summary
        .as_ref()
        .filter(|t| !t.content.trim().is_empty())
        .map(html_of_text);
    Entry {
        guid: Some(e.id.trim().to_string()).filter(|s| !s.is_empty()),
        title_is_plain: is_atom && e.title.as_ref().is_some_and(is_plain),
        title: text_of(&e.title),
        link: pick_link(&e.links),
        published: e.published.or(e.updated),
        published_local: None,
        published_from_page: false,
        date_method: None,
        updated: e.updated,
        authors: e.authors.iter().filter_map(person_name).collect(),
        author_emails: Vec::new(),
        summary_html,
        content_html,
        content_text: None,
        categories: e
            .categories
            .iter()
            .map(|c| {
                c.label
                    .clone()
                    .unwrap_or_else(|| c.term.clone())
                    .trim()
                    .to_string()
            })
            .filter(|c| !c.is_empty())
            .collect(),
        enclosures,
        language: e
            .language
            .clone()
            .or_else(|| feed_language.map(str::to_string)),
        image: None,
    }
}

#[cfg(test)]
mod repairs_tests {
    use super::*;

    fn parse(doc: &str) -> Result<ParsedFeed, ParseError> {
        parse_feed(
            doc,
            Url::parse("https://example.org/feed").ok().as_ref(),
            Tz::UTC,
        )
    }

    #[test]
    fn feed_rs_gaps_are_covered() {
        // (name, document, expected title of the first entry)
        let cases = [
            (
                "bare ampersand",
                "<rss version=\"2.0\"><channel><title>t</title><item><title>AT&T wins</title><link>http://x/1</link></item></channel></rss>",
                "AT&T wins",
            ),
            (
                "html entity",
                "<rss version=\"2.0\"><channel><title>t</title><item><title>Caf&eacute;&nbsp;news</title><link>http://x/1</link></item></channel></rss>",
                "Caf\u{e9} news",
            ),
            (
                "no version",
                "<rss><channel><title>t</title><item><title>No version</title><link>http://x/1</link></item></channel></rss>",
                "No version",
            ),
            (
                "0.94",
                "<rss version=\"0.94\"><channel><title>t</title><item><title>Old</title><link>http://x/1</link></item></channel></rss>",
                "Old",
            ),
            (
                "2.01",
                "<rss version=\"2.01\"><channel><title>t</title><item><title>New</title><link>http://x/1</link></item></channel></rss>",
                "New",
            ),
            (
                "rdf no link",
                "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\"><channel rdf:about=\"http://x/\"><title>t</title><link>http://x/</link></channel><item rdf:about=\"http://x/a\"><title>Kept</title></item></rdf:RDF>",
                "Kept",
            ),
            (
                "atom text/plain",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>x</id><entry><id>1</id><title type=\"text/plain\">Plain</title><summary type=\"text/plain\">s</summary><updated>2016-05-04T00:00:00Z</updated></entry></feed>",
                "Plain",
            ),
            (
                "atom empty summary",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>x</id><entry><id>1</id><title>Empty summary</title><summary type=\"html\"></summary><updated>2016-05-04T00:00:00Z</updated></entry></feed>",
                "Empty summary",
            ),
            (
                "atom base64",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>x</id><entry><id>1</id><title>B64</title><content type=\"image/png\">iVBORw0KGgo=</content><updated>2016-05-04T00:00:00Z</updated></entry></feed>",
                "B64",
            ),
        ];
        for (name, doc, want) in cases {
            let feed = parse(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(feed.entries.len(), 1, "{name}");
            let title = feed.entries[0]
                .title
                .as_deref()
                .map(crate::normalize::title_text);
            assert_eq!(title.as_deref(), Some(want), "{name}");
        }
    }

    #[test]
    fn publishers_polling_hints() {
        let cases = [
            (
                "<rss version=\"2.0\"><channel><title>t</title><ttl>120</ttl></channel></rss>",
                Some(7200),
            ),
            (
                "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\" xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel rdf:about=\"x\"><title>t</title><link>x</link><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></channel></rdf:RDF>",
                Some(1800),
            ),
            (
                "<rss version=\"2.0\"><channel><title>t</title><sy:updatePeriod>daily</sy:updatePeriod></channel></rss>",
                Some(86_400),
            ),
            (
                "<rss version=\"2.0\"><channel><title>t</title></channel></rss>",
                None,
            ),
        ];
        for (doc, secs) in cases {
            assert_eq!(
                parse(doc).expect("parses").meta.ttl,
                secs.map(std::time::Duration::from_secs),
                "{doc}"
            );
        }
    }

    #[test]
    fn entries_without_id_get_no_generated_id() {
        let doc = "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title></item></channel></rss>";
        let a = parse(doc).expect("parses");
        assert_eq!(a.entries[0].guid, None);
    }

    #[test]
    fn html_page_is_reported_as_html() {
        let err = parse("<!DOCTYPE html><html><body>hi</body></html>").expect_err("not a feed");
        assert!(matches!(err, ParseError::HtmlPage));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
            let _ = parse(&format!("<rss><channel><item><title>{s}</title></item></channel></rss>"));
        }
    }
}
