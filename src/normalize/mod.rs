//! Entries → candidate articles. Pure: no I/O and no clock reads (the caller passes `now`).
//! Decides the article's identity within its source, its dedup title, its canonical URL (with
//! tracking parameters removed), and its sanitized HTML and plain text.

mod key;
pub mod near;
mod text;

use chrono::{DateTime, Utc};
use unicode_normalization::UnicodeNormalization;
use url::Url;

use crate::model::{DateSource, Enclosure};
use crate::parse::{Entry, collapse};

pub use key::story_title;
pub use text::{
    MAX_NESTING, flatten, html_to_text, nesting_depth, sanitize, sanitized_html_to_text, shallow,
    truncate_words,
};

/// A normalized entry, ready for the archive to store or merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub source: String,
    /// Identity within the source: `g:` guid, else `l:` canonical link, else `t:` title.
    pub identity: String,
    pub guid: Option<String>,
    pub url: String,
    pub title: String,
    /// The story key of the title ([`story_title`]): see also [`normalize_title`].
    pub norm_title: String,
    pub published: DateTime<Utc>,
    /// `published` as the source wrote it, when it was kept (article pages).
    pub published_local: Option<DateTime<chrono::FixedOffset>>,
    pub date_source: DateSource,
    pub updated: Option<DateTime<Utc>>,
    pub author: Option<String>,
    /// The first author's email, when the source gave one (`email (Name)`).
    pub author_email: Option<String>,
    pub language: Option<String>,
    pub summary: String,
    pub text: String,
    pub html: String,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    /// Lead image (article pages).
    pub image: Option<String>,
    /// Where on a page the date was found (see `extract::PageDate`).
    pub date_method: Option<String>,
    /// What was cut to the [limits](MAX_TITLE_CHARS) of one article (shown by `inspect`).
    pub limited: Vec<&'static str>,
    /// The [`fingerprint`] of the entry as read, stored with its identity so that the next
    /// poll skips it while it stays the same (`None`: not taken, e.g. `inspect`).
    pub fingerprint: Option<u64>,
}

/// The most one article holds, so that no entry can grow a record past what the archive reads
/// back (a feed that kept one guid and sent a new multi-megabyte title each poll once made a
/// record of 100 MB that no feed, export or backup could read). Cut at normalize time.
/// Titles: characters (a headline is under 300).
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Plain text, bytes.
pub const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;
/// Sanitized HTML, bytes.
pub const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;
/// Enclosures and categories of one entry.
pub const MAX_ENCLOSURES: usize = 32;
pub const MAX_CATEGORIES: usize = 64;
/// Author names and the like, characters.
pub const MAX_SHORT_FIELD_CHARS: usize = 500;

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut_bytes(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

impl Candidate {
    /// Cuts every field to the limits above, noting what was cut.
    fn bounded(mut self, base: Option<&Url>) -> Candidate {
        if self.title.chars().count() > MAX_TITLE_CHARS {
            self.title = truncate_words(&self.title, MAX_TITLE_CHARS);
            self.norm_title = story_title(&self.title, &[&self.source]);
            if self.identity.starts_with("t:") {
                self.identity = format!("t:{}", self.norm_title);
            }
            self.limited.push("title");
        }
        if cut_bytes(&mut self.text, MAX_TEXT_BYTES) {
            self.limited.push("text");
        }
        if self.html.len() > MAX_HTML_BYTES {
            let mut html = std::mem::take(&mut self.html);
            cut_bytes(&mut html, MAX_HTML_BYTES);
            // what the cut left open, closed again
            self.html = sanitize(&html, base);
            cut_bytes(&mut self.html, MAX_HTML_BYTES);
            self.limited.push("html");
        }
        if self.enclosures.len() > MAX_ENCLOSURES {
            self.enclosures.truncate(MAX_ENCLOSURES);
            self.limited.push("enclosures");
        }
        if self.categories.len() > MAX_CATEGORIES {
            self.categories.truncate(MAX_CATEGORIES);
            self.limited.push("categories");
        }
        for (field, name) in [(&mut self.author, "author"), (&mut self.guid, "guid")] {
            if let Some(v) = field
                && v.chars().count() > MAX_SHORT_FIELD_CHARS
            {
                *v = v.chars().take(MAX_SHORT_FIELD_CHARS).collect();
                self.limited.push(name);
            }
        }
        if self.limited.contains(&"guid")
            && let Some(g) = &self.guid
        {
            self.identity = format!("g:{g}");
        }
        self
    }
    /// The dedup identity as one printable string: normalized title and publication instant.
    pub fn dedup_key(&self) -> String {
        format!(
            "{}@{}",
            self.norm_title,
            self.published.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// Where an entry came from, for resolving and labelling it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub source: &'a str,
    /// The document's URL: base for relative links.
    pub base: Option<&'a Url>,
    /// The publisher's name as the document gives it (a feed's title), for recognising it
    /// after a title ("… - Markets Daily").
    pub publisher: Option<&'a str>,
}

/// The identity [`normalize`] gives an entry, worked out without normalizing it: `g:` its guid
/// (cut as [`Candidate::bounded`] cuts it), else `l:` its canonical link; `None` for an entry
/// known only by its title (its identity needs the whole title work).
pub fn identity_of(entry: &Entry, origin: Origin<'_>) -> Option<String> {
    match &entry.guid {
        Some(g) => Some(format!(
            "g:{}",
            g.chars().take(MAX_SHORT_FIELD_CHARS).collect::<String>()
        )),
        None => Some(format!(
            "l:{}",
            clean_url(entry.link.as_deref()?, origin.base)?
        )),
    }
}

/// A fingerprint of an entry as read, before any normalizing: every field, and what else
/// [`normalize`] reads (the origin, and `context`: the source's settings and gazette's
/// version, which the caller hashes once per poll). Two entries with one fingerprint normalize
/// to the same candidate, so an entry whose fingerprint is stored with its identity is skipped
/// by the next poll (issue 21); a change to any field changes it. xxh3, 64 bits: a collision
/// between an entry and its own next version is a chance of 2^-64.
pub fn fingerprint(entry: &Entry, origin: Origin<'_>, context: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(context);
    entry.hash(&mut h);
    origin.source.hash(&mut h);
    origin.base.map(Url::as_str).hash(&mut h);
    origin.publisher.hash(&mut h);
    h.finish()
}

/// Normalizes one entry. `None` when the entry has nothing to be an article of (no title, no
/// text and no link).
pub fn normalize(entry: &Entry, origin: Origin<'_>, now: DateTime<Utc>) -> Option<Candidate> {
    let url = entry
        .link
        .as_deref()
        .and_then(|l| clean_url(l, origin.base));
    let page_base = url.as_deref().and_then(|u| Url::parse(u).ok());
    let base = page_base.as_ref().or(origin.base);
    let content = entry
        .content_html
        .as_deref()
        .or(entry.summary_html.as_deref())
        .unwrap_or("");
    let html = sanitize(content, base);
    let text = match &entry.content_text {
        Some(t) if entry.content_html.is_some() => t.clone(),
        _ => sanitized_html_to_text(&html),
    };
    // When the summary *is* the content, its text is already known: no second sanitize.
    let summary_source = match (&entry.content_html, &entry.summary_html) {
        (Some(_), Some(s)) => Some(sanitized_html_to_text(&sanitize(s, base))),
        _ => None,
    };
    let summary = truncate_words(summary_source.as_deref().unwrap_or(&text), 500);

    let title = match &entry.title {
        Some(t) if entry.title_is_plain => collapse(&html_escape::decode_html_entities(t)),
        Some(t) => title_text(t),
        None => String::new(),
    };
    let title = if title.is_empty() {
        truncate_words(&text, 80)
    } else {
        title
    };
    // an entry with a link or a guid is kept even when it has no title or text: its link
    // (else its guid) stands in for the title
    let title = if title.is_empty() {
        url.clone()
            .or_else(|| entry.guid.clone())
            .unwrap_or_default()
    } else {
        title
    };
    if title.is_empty() {
        return None;
    }
    // the story key: without wire markers and the publisher's suffix (the source id, the
    // feed's title, the hosts of the link and of the document)
    let publishers: Vec<&str> = [
        Some(origin.source),
        origin.publisher,
        page_base.as_ref().and_then(Url::host_str),
        origin.base.and_then(Url::host_str),
    ]
    .into_iter()
    .flatten()
    .collect();
    let norm_title = story_title(&title, &publishers);
    // a page date more than a day ahead is a countdown, an event or a typo, never when the
    // article was published: the page is dated when it was first seen instead
    let future = |p: &DateTime<Utc>| *p > now + chrono::Duration::days(1);
    let (published, date_source) = match entry.published {
        Some(p) if entry.published_from_page && future(&p) => (now, DateSource::FirstSeen),
        Some(p) if entry.published_from_page => (p, DateSource::Page),
        Some(p) => (p, DateSource::Entry),
        None => (now, DateSource::FirstSeen),
    };
    let identity = match (&entry.guid, &url) {
        (Some(g), _) => format!("g:{g}"),
        (None, Some(u)) => format!("l:{u}"),
        (None, None) => format!("t:{norm_title}"),
    };
    Some(
        Candidate {
            fingerprint: None,
            source: origin.source.to_string(),
            identity,
            guid: entry.guid.clone(),
            url: url.unwrap_or_default(),
            title,
            norm_title,
            published,
            published_local: entry.published_local.filter(|l| {
                date_source != DateSource::FirstSeen && l.with_timezone(&Utc) == published
            }),
            date_source,
            updated: entry.updated,
            author: Some(entry.authors.join(", "))
                .filter(|a| !a.is_empty())
                .map(|a| title_text(&a)),
            author_email: entry
                .author_emails
                .first()
                .map(|e| e.trim().chars().take(MAX_SHORT_FIELD_CHARS).collect())
                .filter(|e: &String| !e.is_empty()),
            language: entry
                .language
                .as_deref()
                .map(normalize_language)
                .filter(|l| !l.is_empty()),
            summary,
            text,
            html,
            categories: entry
                .categories
                .iter()
                .map(|c| title_text(c))
                .filter(|c| !c.is_empty())
                .collect(),
            image: entry.image.as_deref().and_then(|i| clean_url(i, base)),
            date_method: entry
                .date_method
                .clone()
                .filter(|_| date_source == DateSource::Page),
            enclosures: entry
                .enclosures
                .iter()
                .filter_map(|e| {
                    Some(Enclosure {
                        url: clean_url(&e.url, origin.base)?,
                        r#type: e.r#type.clone(),
                        length: e.length,
                        duration: e.duration,
                    })
                })
                .collect(),
            limited: Vec::new(),
        }
        .bounded(base),
    )
}

/// The dedup form of a title written as HTML: HTML entities decoded, tags stripped, then
/// [`fold_title`].
pub fn normalize_title(title: &str) -> String {
    fold_title(&title_text(title))
}

/// The dedup form of a plain-text title (an article's `title`): NFKC, lowercase, every run of
/// punctuation or white space (NBSP included) one space, trimmed. Nothing is read as markup:
/// "History of the <blink> tag" keeps its `blink`.
pub fn fold_title(plain: &str) -> String {
    // NFKC leaves ASCII as it is: most titles skip the (allocating) normalization pass
    let folded = if plain.is_ascii() {
        plain.to_ascii_lowercase()
    } else {
        plain.nfkc().collect::<String>().to_lowercase()
    };
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for ch in folded.chars() {
        if ch.is_alphanumeric() || is_mark(ch) {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(ch);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Combining marks belong to the letter before them (Devanagari, Thai vowel signs).
fn is_mark(ch: char) -> bool {
    matches!(ch as u32, 0x0300..=0x036F | 0x0900..=0x0DFF | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF)
}

/// A title or name as plain text: tags stripped, entities decoded (twice-escaped ones too, as
/// RSS titles often are), white space collapsed.
pub fn title_text(raw: &str) -> String {
    if !(raw.contains('<') || raw.contains('&')) {
        return collapse(raw);
    }
    let stripped = if raw.contains('<') {
        html_to_text(raw).replace("\n\n", " ")
    } else {
        raw.to_string()
    };
    // a second decoding for entities escaped twice (`&amp;amp;`, `&amp;#8217;`): what it gives
    // is text, never markup to strip ("&amp;lt;blink&amp;gt;" is the text "<blink>")
    let decoded = html_escape::decode_html_entities(&stripped);
    let twice = if decoded.contains('&') {
        html_escape::decode_html_entities(&decoded).into_owned()
    } else {
        decoded.into_owned()
    };
    collapse(&twice)
}

/// BCP 47-ish: "en-US" stays, "EN_us" becomes "en-us", "zh-CN" stays lower-cased "zh-cn".
fn normalize_language(l: &str) -> String {
    l.trim().replace('_', "-").to_ascii_lowercase()
}

/// Query parameters that only track the reader (Google Analytics, Facebook, Mailchimp, HubSpot,
/// Microsoft, Yandex, Marketo, Olytics…); removing them makes one story one URL.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "wt_mc",
    "wt.mc_id",
    "__s",
    "rb_clickid",
    "s_cid",
    "ncid",
    "sr_share",
    "twclid",
    "ttclid",
    "li_fat_id",
    "xtor",
];

/// Resolves `link` against `base`, keeps only http(s), drops tracking parameters and tracking
/// fragments. `None` for links that are not usable web addresses.
pub fn clean_url(link: &str, base: Option<&Url>) -> Option<String> {
    let link = link.trim();
    if link.is_empty() || link == crate::parse::repair::MISSING_LINK {
        return None;
    }
    let mut url = match base {
        Some(b) => b.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !(k.starts_with("utm_") || TRACKING_PARAMS.contains(&k.as_str()))
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    if url
        .fragment()
        .is_some_and(|f| f.starts_with("xtor=") || f.starts_with("utm_") || f.is_empty())
    {
        url.set_fragment(None);
    }
    // as an IRI: `https://example.org/café` stays readable (RFC 3987 §3.2)
    Some(crate::parse::xml::iri(url.as_str()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_dates_in_the_future_are_not_publication_dates() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("now");
        // (page date, what the article is dated)
        let cases = [
            ("2025-12-31T12:00:00Z", DateSource::Page),
            ("2026-01-01T20:00:00Z", DateSource::Page),
            ("2026-01-03T00:00:00Z", DateSource::FirstSeen),
            ("2030-06-01T00:00:00Z", DateSource::FirstSeen),
        ];
        for (date, want) in cases {
            let entry = Entry {
                title: Some("A page".into()),
                title_is_plain: true,
                link: Some("https://x.example/a".into()),
                published: Some(date.parse().expect("date")),
                published_from_page: true,
                ..Entry::default()
            };
            let c = normalize(
                &entry,
                Origin {
                    source: "s",
                    base: None,
                    publisher: None,
                },
                now,
            )
            .expect("kept");
            assert_eq!(c.date_source, want, "{date}");
            if want == DateSource::FirstSeen {
                assert_eq!(c.published, now);
                assert_eq!(c.published_local, None);
            }
        }
    }

    #[test]
    fn titles_normalize_to_one_form() {
        let same = [
            "Zhongguancun Becomes IP Service Cluster Demonstration Zone",
            "  zhongguancun becomes IP\u{a0}service cluster  demonstration zone ",
            "ZHONGGUANCUN BECOMES IP SERVICE CLUSTER DEMONSTRATION ZONE.",
            "Zhongguancun Becomes IP Service Cluster &#8212; Demonstration Zone",
            "<b>Zhongguancun</b> Becomes IP Service Cluster Demonstration Zone",
            "Zhongguancun Becomes IP Service Cluster Demonstration&nbsp;Zone",
            "Zhongguancun Becomes IP Service Cluster Demonstration &amp;amp; Zone",
            "Ｚｈｏｎｇｇｕａｎｃｕｎ Becomes IP Service Cluster Demonstration Zone",
        ];
        for t in same {
            assert_eq!(
                normalize_title(t),
                "zhongguancun becomes ip service cluster demonstration zone",
                "{t:?}"
            );
        }
        let cases = [
            ("知识产权：新闻", "知识产权 新闻"),
            ("Über-Straße", "über straße"),
            ("AT&amp;T's deal", "at t s deal"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_title(input), want, "{input:?}");
        }
    }

    #[test]
    fn urls_lose_tracking_parameters() {
        let base = Url::parse("https://news.example.org/feed/rss.xml").ok();
        let cases = [
            (
                "https://x.org/a?utm_source=rss&utm_medium=feed",
                Some("https://x.org/a"),
            ),
            (
                "https://x.org/a?id=5&fbclid=abc&gclid=d",
                Some("https://x.org/a?id=5"),
            ),
            (
                "https://x.org/a?mc_cid=1&mc_eid=2&page=2#xtor=RSS-1",
                Some("https://x.org/a?page=2"),
            ),
            (
                "/2016/05/story.html",
                Some("https://news.example.org/2016/05/story.html"),
            ),
            (
                "story.html",
                Some("https://news.example.org/feed/story.html"),
            ),
            ("javascript:alert(1)", None),
            ("mailto:a@b.c", None),
            ("", None),
            (
                "https://x.org/a#section-2",
                Some("https://x.org/a#section-2"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(clean_url(input, base.as_ref()).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn identity_prefers_guid_then_link_then_title() {
        let now = Utc::now();
        let origin = Origin {
            source: "s",
            base: None,
            publisher: None,
        };
        let mut e = Entry {
            title: Some("A title".into()),
            guid: Some("tag:x,2016:1".into()),
            link: Some("https://x.org/a?utm_source=x".into()),
            ..Entry::default()
        };
        let c = normalize(&e, origin, now).expect("candidate");
        assert_eq!(c.identity, "g:tag:x,2016:1");
        assert_eq!(c.date_source, DateSource::FirstSeen);
        assert_eq!(c.published, now);
        e.guid = None;
        assert_eq!(
            normalize(&e, origin, now).map(|c| c.identity).as_deref(),
            Some("l:https://x.org/a")
        );
        e.link = None;
        assert_eq!(
            normalize(&e, origin, now).map(|c| c.identity).as_deref(),
            Some("t:a title")
        );
        e.title = None;
        assert_eq!(normalize(&e, origin, now), None);
    }

    /// The fingerprint decides whether a poll reads an entry again: a change to any field of
    /// the entry, or to its origin, or to the settings context, must change it.
    #[test]
    fn a_change_to_any_field_changes_the_fingerprint() {
        let base = Url::parse("https://x.org/feed").expect("url");
        let origin = Origin {
            source: "s",
            base: Some(&base),
            publisher: Some("X"),
        };
        let entry = Entry {
            guid: Some("g1".into()),
            title: Some("Title".into()),
            link: Some("https://x.org/a".into()),
            published: Some("2026-01-01T00:00:00Z".parse().expect("date")),
            authors: vec!["A".into()],
            summary_html: Some("<p>s</p>".into()),
            categories: vec!["c".into()],
            ..Entry::default()
        };
        let at: DateTime<Utc> = "2026-01-02T00:00:00Z".parse().expect("date");
        type Mutation = Box<dyn Fn(&mut Entry)>;
        let mutations: Vec<(&str, Mutation)> = vec![
            ("guid", Box::new(|e| e.guid = Some("g2".into()))),
            ("guid removed", Box::new(|e| e.guid = None)),
            ("title", Box::new(|e| e.title = Some("Title!".into()))),
            ("title_is_plain", Box::new(|e| e.title_is_plain = true)),
            (
                "link",
                Box::new(|e| e.link = Some("https://x.org/b".into())),
            ),
            ("published", Box::new(move |e| e.published = Some(at))),
            (
                "published_local",
                Box::new(move |e| e.published_local = Some(at.fixed_offset())),
            ),
            (
                "published_from_page",
                Box::new(|e| e.published_from_page = true),
            ),
            (
                "date_method",
                Box::new(|e| e.date_method = Some("meta".into())),
            ),
            ("updated", Box::new(move |e| e.updated = Some(at))),
            ("authors", Box::new(|e| e.authors.push("B".into()))),
            (
                "author_emails",
                Box::new(|e| e.author_emails.push("b@x.org".into())),
            ),
            (
                "summary_html",
                Box::new(|e| e.summary_html = Some("<p>t</p>".into())),
            ),
            (
                "content_html",
                Box::new(|e| e.content_html = Some("<p>s</p>".into())),
            ),
            (
                "content_text",
                Box::new(|e| e.content_text = Some("s".into())),
            ),
            ("categories", Box::new(|e| e.categories = vec!["d".into()])),
            (
                "enclosures",
                Box::new(|e| {
                    e.enclosures.push(Enclosure {
                        url: "https://x.org/a.mp3".into(),
                        r#type: None,
                        length: None,
                        duration: None,
                    })
                }),
            ),
            ("language", Box::new(|e| e.language = Some("en".into()))),
            (
                "image",
                Box::new(|e| e.image = Some("https://x.org/i.png".into())),
            ),
            // a field's text moving to the next field is a change too
            (
                "authors regrouped",
                Box::new(|e| e.authors = vec!["".into(), "A".into()]),
            ),
        ];
        let fp = fingerprint(&entry, origin, 1);
        assert_eq!(fp, fingerprint(&entry.clone(), origin, 1), "deterministic");
        for (field, mutate) in &mutations {
            let mut changed = entry.clone();
            mutate(&mut changed);
            assert_ne!(fingerprint(&changed, origin, 1), fp, "{field}");
        }
        let other = Url::parse("https://x.org/other").expect("url");
        for (what, o) in [
            (
                "source",
                Origin {
                    source: "t",
                    ..origin
                },
            ),
            (
                "base",
                Origin {
                    base: Some(&other),
                    ..origin
                },
            ),
            (
                "publisher",
                Origin {
                    publisher: None,
                    ..origin
                },
            ),
        ] {
            assert_ne!(fingerprint(&entry, o, 1), fp, "{what}");
        }
        assert_ne!(fingerprint(&entry, origin, 2), fp, "settings context");
    }

    #[test]
    fn identity_of_is_the_identity_normalize_gives() {
        let base = Url::parse("https://x.org/feed/").expect("url");
        let origin = Origin {
            source: "s",
            base: Some(&base),
            publisher: None,
        };
        let long = "g".repeat(MAX_SHORT_FIELD_CHARS + 20);
        let cases = [
            (Some("tag:x,2016:1"), Some("a?utm_source=x&id=2")),
            (None, Some("a?utm_source=x&id=2")),
            (None, Some("https://y.org/b#frag")),
            (Some(long.as_str()), None),
        ];
        for (guid, link) in cases {
            let e = Entry {
                title: Some("A title".into()),
                guid: guid.map(Into::into),
                link: link.map(Into::into),
                ..Entry::default()
            };
            let c = normalize(&e, origin, Utc::now()).expect("candidate");
            assert_eq!(
                identity_of(&e, origin),
                Some(c.identity),
                "{guid:?} {link:?}"
            );
        }
        let by_title = Entry {
            title: Some("A title".into()),
            ..Entry::default()
        };
        assert_eq!(identity_of(&by_title, origin), None);
    }
}
