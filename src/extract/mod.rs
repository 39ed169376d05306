//! HTML pages → articles and links. [`article`] turns an article page into a feed-like
//! [`Entry`] (main text by trafilatura, date by gazette's own page-date finder, which knows the
//! source's time zone); [`links`] finds the article links on a list page; [`feed_links`] finds
//! the feeds a page advertises. Pure: no I/O, no clock.

mod boilerplate;
mod chunks;
mod dates;
mod links;

use std::sync::OnceLock;

use chrono_tz::Tz;
use scraper::{Html, Selector};
use url::Url;

use crate::parse::Entry;

pub use dates::{PLACES as DATE_PLACES, PageDate, page_date};
pub use links::{Follow, FoundLink, LinkError, feed_links, links};

/// An article page, read.
#[derive(Debug, Clone)]
pub struct PageArticle {
    pub entry: Entry,
    /// `<link rel=canonical>` or `og:url`, when the page names one.
    pub canonical_url: Option<String>,
    /// The lead image (`og:image` or the first content image).
    pub image: Option<String>,
    /// Where the publication date came from ("json-ld:datePublished", "meta:pubdate", "text",
    /// "url"…: one of [`DATE_PLACES`], then what was read there).
    pub date_method: Option<String>,
}

fn sel(css: &'static str) -> Selector {
    Selector::parse(css).unwrap_or_else(|_| unreachable!("static selector {css}"))
}

fn meta_selector() -> &'static Selector {
    static S: OnceLock<Selector> = OnceLock::new();
    S.get_or_init(|| sel("meta"))
}

/// The value of the first `<meta>` whose `property`/`name`/`itemprop` is one of `names`.
pub(crate) fn meta(doc: &Html, names: &[&str]) -> Option<String> {
    for name in names {
        for m in doc.select(meta_selector()) {
            let v = m.value();
            let key = v
                .attr("property")
                .or_else(|| v.attr("name"))
                .or_else(|| v.attr("itemprop"));
            if key.is_some_and(|k| k.eq_ignore_ascii_case(name))
                && let Some(c) = v.attr("content").map(str::trim).filter(|c| !c.is_empty())
            {
                return Some(c.to_string());
            }
        }
    }
    None
}

/// Reads an article page fetched from `url`. Dates without an offset are read in `tz`, the
/// source's configured zone, else in the zone the page shows it is written for.
/// A page nested deeper than [`crate::normalize::MAX_NESTING`] is read flattened (its text,
/// links and headings without the nesting): the extractor walks the tree recursively, so a
/// stack overflow would take the whole daemon down, and parsing it nested is quadratic.
pub fn article(html: &str, url: Option<&Url>, tz: Option<Tz>) -> Result<PageArticle, String> {
    let shallow = crate::normalize::shallow(html);
    let html: &str = &shallow;
    // Two passes: the text comes from an extraction without images, which scores best on the
    // Article Extraction Benchmark (with images, trafilatura pulls captions and teasers into the
    // body: F1 0.949 vs 0.957, bench/extraction.sh); the HTML keeps the images readers expect.
    let options = |images: bool| {
        let mut opts = trafilatura::Options::default()
            .with_focus(trafilatura::ExtractionFocus::FavorRecall)
            .with_fallback(true)
            .with_links(true)
            .with_images(images)
            .with_exclude_comments(true);
        if let Some(u) = url {
            opts = opts.with_url(u.clone());
        }
        opts
    };
    let result = trafilatura::extract(html, &options(false)).ok();
    let with_images = trafilatura::extract(html, &options(true)).ok();
    let doc = Html::parse_document(html);
    let title = title(&doc, result.as_ref().map(|r| r.metadata.title.as_str()));
    let mut chunks = chunks::Chunks::default();
    let content_text = result
        .as_ref()
        .map(|r| {
            let text =
                crate::normalize::html_to_text(&crate::normalize::sanitize(&r.content_html, url));
            // the rest of an article cut into chunks, around the one the extractor kept
            chunks = chunks::missing(&doc, &text);
            let joined = |ps: &[chunks::Paragraph]| {
                ps.iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n")
            };
            let text = [joined(&chunks.before), text, joined(&chunks.after)]
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n\n");
            boilerplate::prune(&text, &r.content_html, title.as_deref())
        })
        .filter(|t| !t.trim().is_empty());
    let canonical_url = canonical(&doc, url);
    let date = page_date(&doc, html, url, tz);
    let author = result
        .as_ref()
        .map(|r| r.metadata.author.trim().to_string())
        .filter(|a| !a.is_empty())
        .or_else(|| meta(&doc, &["author", "article:author", "dc.creator", "byl"]));
    let language = doc
        .root_element()
        .value()
        .attr("lang")
        .map(str::to_string)
        .or_else(|| {
            meta(&doc, &["og:locale", "language", "content-language"]).map(|l| l.replace('_', "-"))
        })
        .or_else(|| {
            result
                .as_ref()
                .map(|r| r.metadata.language.clone())
                .filter(|l| !l.is_empty())
        });
    let image = meta(&doc, &["og:image", "twitter:image"])
        .or_else(|| {
            result
                .as_ref()
                .map(|r| r.metadata.image.clone())
                .filter(|i| !i.is_empty())
        })
        .and_then(|i| resolve(&i, url));
    let content_html = with_images
        .as_ref()
        .or(result.as_ref())
        .map(|r| {
            let html =
                |ps: &[chunks::Paragraph]| ps.iter().map(|p| p.html.as_str()).collect::<String>();
            format!(
                "{}{}{}",
                html(&chunks.before),
                r.content_html,
                html(&chunks.after)
            )
        })
        .filter(|h| !h.trim().is_empty());
    let summary_html =
        meta(&doc, &["description", "og:description"]).map(|d| crate::parse::plain_to_html(&d));
    let entry = Entry {
        author_emails: Vec::new(),
        guid: url.map(Url::to_string),
        title,
        title_is_plain: true,
        link: canonical_url.clone().or_else(|| url.map(Url::to_string)),
        published: date.as_ref().map(|d| d.at),
        published_local: date.as_ref().map(|d| d.local),
        published_from_page: date.is_some(),
        date_method: date.as_ref().map(|d| d.method.clone()),
        updated: date
            .as_ref()
            .and_then(|d| d.updated)
            .map(|u| u.with_timezone(&chrono::Utc)),
        authors: author.into_iter().collect(),
        summary_html,
        content_html,
        content_text,
        categories: result
            .as_ref()
            .map(|r| r.metadata.categories.clone())
            .unwrap_or_default(),
        enclosures: Vec::new(),
        language: language.filter(|l| !l.trim().is_empty()),
        image: image.clone(),
    };
    Ok(PageArticle {
        entry,
        canonical_url,
        image,
        date_method: date.map(|d| d.method),
    })
}

fn resolve(href: &str, base: Option<&Url>) -> Option<String> {
    let u = match base {
        Some(b) => b.join(href.trim()).ok()?,
        None => Url::parse(href.trim()).ok()?,
    };
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

fn canonical(doc: &Html, url: Option<&Url>) -> Option<String> {
    static S: OnceLock<Selector> = OnceLock::new();
    let link = S.get_or_init(|| sel("link[rel~=canonical][href]"));
    doc.select(link)
        .find_map(|l| l.value().attr("href"))
        .map(str::to_string)
        .or_else(|| meta(doc, &["og:url"]))
        .and_then(|h| resolve(&h, url))
}

/// The page title: `og:title`, else the single `<h1>`, else trafilatura's, else `<title>`; a
/// site-name suffix ("… _Beijing Haidian", "… | Site") is removed.
fn title(doc: &Html, extracted: Option<&str>) -> Option<String> {
    static H1: OnceLock<Selector> = OnceLock::new();
    static TITLE: OnceLock<Selector> = OnceLock::new();
    let text = |e: scraper::ElementRef<'_>| {
        e.text()
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let h1s: Vec<String> = doc
        .select(H1.get_or_init(|| sel("h1")))
        .map(text)
        .filter(|t| !t.is_empty())
        .collect();
    let page_title = doc
        .select(TITLE.get_or_init(|| sel("title")))
        .next()
        .map(text);
    let candidate = meta(doc, &["og:title", "twitter:title"])
        .or_else(|| (h1s.len() == 1).then(|| h1s[0].clone()))
        .or_else(|| {
            extracted
                .map(str::to_string)
                .filter(|t| !t.trim().is_empty())
        })
        .or(page_title)?;
    Some(strip_site_suffix(&candidate))
}

/// "Zhongguancun Becomes … Zone_Beijing Haidian" → "Zhongguancun Becomes … Zone".
fn strip_site_suffix(title: &str) -> String {
    for sep in [" | ", " _ ", "_", " – ", " — ", " - ", " :: ", " » "] {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let head = head.trim();
            // the suffix is short and the head is clearly the title
            if tail.split_whitespace().count() <= 4
                && head.chars().count() > tail.chars().count()
                && head.len() > 10
            {
                return head.to_string();
            }
        }
    }
    title.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_suffixes_are_removed() {
        let cases = [
            (
                "Zhongguancun Becomes IP Service Cluster Demonstration Zone_Beijing Haidian",
                "Zhongguancun Becomes IP Service Cluster Demonstration Zone",
            ),
            ("Patent office opens | Example News", "Patent office opens"),
            ("Patent office opens - BBC News", "Patent office opens"),
            ("Re-Use - a short one", "Re-Use - a short one"),
            ("Plain title", "Plain title"),
        ];
        for (input, want) in cases {
            assert_eq!(strip_site_suffix(input), want, "{input}");
        }
    }
}
