//! The publication date of an article page, where htmldate looks for it and in its order: the
//! machine-readable places first (JSON-LD, meta tags, microdata, `<time datetime>`, date
//! attributes), then elements whose class names a date, then a date written near the title, then
//! the URL, and a "modified" date only when nothing says when the page was first published.
//! Comments, sidebars, related-article lists, captions and site footers are not looked at: their
//! dates belong to other texts. A date without an offset is wall-clock time in the zone the page
//! is written for ([`zone`]); a date without a time of day is midnight there (never "now", so
//! re-reading gives the same instant).

pub(super) mod text;
mod zone;

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Utc};
use chrono_tz::Tz;
use ego_tree::NodeRef;
use regex::Regex;
use scraper::node::{Element, Node};
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::sel;
use crate::parse::dates::{parse_date_local, states_offset};
use text::TextDate;
use zone::SiteZone;

/// A date found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDate {
    pub at: DateTime<Utc>,
    /// The same instant as the page wrote it: its offset, or that of the zone it is written for.
    pub local: DateTime<FixedOffset>,
    /// Where it was found: the place (one of [`PLACES`]) and, after a colon, the key, meta name,
    /// attribute or class ("meta:article:published_time", "class:entry-date", "text").
    pub method: String,
    /// When the page says it was last modified, kept apart from the publication date.
    pub updated: Option<DateTime<FixedOffset>>,
}

/// Where [`page_date`] looks, in order (`inspect` lists them when it found nothing).
pub const PLACES: &[&str] = &[
    "json-ld",
    "meta",
    "itemprop",
    "time",
    "attribute",
    "class",
    "text",
    "url",
    "modified",
];

/// Meta names and properties of the publication date, the most specific first.
const PUBLISHED_META: &[&str] = &[
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datePublished",
    "article.published",
    "article_date_original",
    "parsely-pub-date",
    "sailthru.date",
    "citation_publication_date",
    "citation_date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dateCreated",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "originalpublicationdate",
    "cxenseparse:recs:publishtime",
    "rnews:datepublished",
    "displaydate",
    "dc.date",
    "dcterms.date",
    "date",
];

/// Meta names of the last modification: `updated`, and the publication date only as a last
/// resort.
const MODIFIED_META: &[&str] = &[
    "article:modified_time",
    "og:updated_time",
    "dateModified",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
    "lastmod",
];

/// How many elements of one place (microdata, `<time>`, attributes) are read.
const PER_PLACE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Published,
    Modified,
}

impl Kind {
    /// What a date element's class or id says it holds ("updated", "modified": a change).
    fn of(el: &Element) -> Kind {
        if names_modification(el) {
            Kind::Modified
        } else {
            Kind::Published
        }
    }
}

/// A machine-readable date on the page, not read yet (its zone depends on all of them).
struct Stated {
    value: String,
    method: String,
    kind: Kind,
}

/// Finds the page's publication date. `configured` is the source's zone, when its config names
/// one; otherwise the page's zone is worked out from the page ([`zone::site_zone`]).
pub fn page_date(
    doc: &Html,
    raw: &str,
    url: Option<&Url>,
    configured: Option<Tz>,
) -> Option<PageDate> {
    let frame = title_frame(doc);
    let stated = stated_dates(doc, &frame);
    let offsets: Vec<i32> = stated
        .iter()
        .filter(|s| states_offset(&s.value))
        .filter_map(|s| parse_date_local(&s.value, Tz::UTC))
        .map(|d| d.offset().local_minus_utc())
        .collect();
    let zone = zone::site_zone(
        configured,
        &offsets,
        url.and_then(Url::host_str),
        locale(doc).as_deref(),
    );
    let url_day = url.and_then(|u| url_date(u.path(), &zone));
    // looked for once, and only when a guessed zone needs checking
    let shown = std::cell::OnceCell::new();
    let read = |s: &Stated| {
        let d = read_stated(&s.value, &zone).filter(old_enough)?;
        // The zone is a guess from the country: where the page shows the day (in its URL or
        // in words), and that day is the UTC one, the guess was wrong.
        if matches!(zone, SiteZone::Country(_)) && d.offset().local_minus_utc() != 0 {
            let utc = d.with_timezone(&Utc).fixed_offset();
            let shown = shown.get_or_init(|| {
                url_day
                    .map(|u| u.date_naive())
                    .or_else(|| shown_day(doc, &frame))
            });
            if shown.is_some_and(|day| day != d.date_naive() && day == utc.date_naive()) {
                return Some(utc);
            }
        }
        Some(d)
    };
    let modified = stated
        .iter()
        .filter(|s| s.kind == Kind::Modified)
        .find_map(|s| read(s).map(|d| (d, &s.method)));
    let published = stated
        .iter()
        .filter(|s| s.kind == Kind::Published)
        .find_map(|s| read(s).map(|d| (d, s.method.clone())))
        .or_else(|| {
            // after the title, a date-classed element, then the words; then before it
            let classed = classed_dates(doc, &frame, &zone);
            let (after_title, anywhere) = written_dates(doc, raw, &frame, &zone);
            let text = |d: Option<DateTime<FixedOffset>>| d.map(|d| (d, "text".to_string()));
            classed
                .after
                .or(classed.above)
                .or_else(|| text(after_title))
                .or(classed.before)
                .or_else(|| text(anywhere()))
        })
        .or_else(|| url_day.map(|d| (d, "url".to_string())));
    let (local, method, updated) = match (published, modified) {
        (Some((local, method)), m) => (local, method, m.map(|m| m.0).filter(|u| *u != local)),
        // only a modification date: the best there is, and said so
        (None, Some((d, m))) => (d, format!("modified:{m}"), None),
        (None, None) => return None,
    };
    Some(PageDate {
        at: local.with_timezone(&Utc),
        local,
        method,
        updated,
    })
}

/// The day the page shows in words where machine dates are usually repeated for readers
/// (`<time>` or `itemprop="datePublished"` text, a date-classed element).
fn shown_day(doc: &Html, frame: &[ego_tree::NodeId]) -> Option<chrono::NaiveDate> {
    static SHOWN: OnceLock<Selector> = OnceLock::new();
    doc.select(SHOWN.get_or_init(|| sel("time, [itemprop=datePublished]")))
        .filter(|e| e.value().name() != "meta" && !elsewhere(*e, frame))
        .find_map(|e| short_text(e).and_then(|t| text::first_date(&t)))
        .map(|d| d.naive.date())
        .or_else(|| {
            let c = classed_dates(doc, frame, &SiteZone::Utc);
            c.after
                .or(c.above)
                .or(c.before)
                .map(|(d, _)| d.date_naive())
        })
}

/// Nothing on the web's news before 1995 is a publication date gazette will meet: such a year
/// is a copyright line or a birth date.
fn old_enough(d: &DateTime<FixedOffset>) -> bool {
    d.year() >= 1995
}

/// A machine-readable date: its own offset when it states one (a UTC one shown on the page's
/// readers' clock), else wall-clock time in the page's zone.
fn read_stated(value: &str, zone: &SiteZone) -> Option<DateTime<FixedOffset>> {
    let Some(d) = parse_date_local(value, zone.naive_zone()) else {
        // microdata text as people write it ("7 giugno 2020"); "2 hours ago" reads as nothing
        return text::first_date(value).and_then(|d| read_text(d, zone));
    };
    if !states_offset(value) {
        return match zone {
            SiteZone::Offset(_) => zone.resolve_naive(&d.naive_local()),
            _ => Some(d),
        };
    }
    if d.offset().local_minus_utc() == 0 {
        return Some(zone.express(d.with_timezone(&Utc)));
    }
    Some(d)
}

fn read_text(d: TextDate, zone: &SiteZone) -> Option<DateTime<FixedOffset>> {
    let local = match d.offset {
        Some(o) => FixedOffset::east_opt(o)?
            .from_local_datetime(&d.naive)
            .single()?,
        None => zone.resolve_naive(&d.naive)?,
    };
    old_enough(&local).then_some(local)
}

/// The page's declared locale: `og:locale`, else `<html lang>`.
fn locale(doc: &Html) -> Option<String> {
    super::meta(doc, &["og:locale"])
        .or_else(|| doc.root_element().value().attr("lang").map(str::to_string))
}

/// Every machine-readable date on the page, publication dates in order of trust, then
/// modification dates.
fn stated_dates(doc: &Html, frame: &[ego_tree::NodeId]) -> Vec<Stated> {
    // the article's (or page's) JSON-LD first; a video's or a logo's dates after the rest
    let (first, others): (Vec<_>, Vec<_>) = json_ld_dates(doc)
        .into_iter()
        .partition(|(rank, _)| *rank < 2);
    let mut out: Vec<Stated> = first.into_iter().map(|(_, s)| s).collect();
    let metas = meta_values(doc);
    for (names, kind) in [
        (PUBLISHED_META, Kind::Published),
        (MODIFIED_META, Kind::Modified),
    ] {
        for name in names {
            if let Some((written, v)) = metas.get(&name.to_ascii_lowercase()) {
                out.push(Stated {
                    value: v.clone(),
                    method: format!("meta:{written}"),
                    kind,
                });
            }
        }
    }
    static ITEMPROP: OnceLock<Selector> = OnceLock::new();
    let itemprop = ITEMPROP.get_or_init(|| {
        sel("[itemprop=datePublished], [itemprop=dateCreated], [itemprop=dateModified]")
    });
    // the first few of each place are the page's own: the rest are comments' and lists'
    // (and each costs a walk up the tree)
    for el in doc
        .select(itemprop)
        .filter(|e| e.value().name() != "meta" && !elsewhere(*e, frame))
        .take(PER_PLACE)
    {
        let v = el.value();
        let prop = v.attr("itemprop").unwrap_or_default();
        let value = v
            .attr("content")
            .or_else(|| v.attr("datetime"))
            .map(str::to_string)
            .or_else(|| short_text(el));
        if let Some(value) = value {
            out.push(Stated {
                value,
                method: format!("itemprop:{prop}"),
                kind: if prop.eq_ignore_ascii_case("dateModified") {
                    Kind::Modified
                } else {
                    Kind::Published
                },
            });
        }
    }
    static TIME: OnceLock<Selector> = OnceLock::new();
    for el in doc
        .select(TIME.get_or_init(|| sel("time[datetime]")))
        .filter(|e| !elsewhere(*e, frame))
        .take(PER_PLACE)
    {
        if let Some(value) = el.value().attr("datetime") {
            out.push(Stated {
                value: value.to_string(),
                method: "time:datetime".into(),
                kind: Kind::of(el.value()),
            });
        }
    }
    static CLASSED: OnceLock<Selector> = OnceLock::new();
    for el in doc
        .select(CLASSED.get_or_init(|| {
            sel("[class*=date][title], [class*=time][title], [class*=date][data-date], [class*=time][data-time], [class*=publish][title], [data-published], [data-timestamp]")
        }))
        .filter(|e| !elsewhere(*e, frame))
        .take(PER_PLACE)
    {
        let v = el.value();
        for attr in ["data-published", "title", "data-date", "data-time", "data-timestamp"] {
            if let Some(value) = v.attr(attr) {
                out.push(Stated {
                    value: value.to_string(),
                    method: format!("attribute:{attr}"),
                    kind: Kind::of(v),
                });
            }
        }
    }
    out.extend(others.into_iter().map(|(_, s)| s));
    out
}

/// `<meta>` values by lower-cased `property`/`name`/`itemprop`, the first of each, with the
/// name as the page wrote it.
fn meta_values(doc: &Html) -> HashMap<String, (String, String)> {
    static META: OnceLock<Selector> = OnceLock::new();
    let mut out = HashMap::new();
    for m in doc.select(META.get_or_init(|| sel("meta[content]"))) {
        let v = m.value();
        let content = v.attr("content").map(str::trim).unwrap_or_default();
        if content.is_empty() {
            continue;
        }
        for key in ["property", "name", "itemprop"]
            .iter()
            .filter_map(|k| v.attr(k))
        {
            out.entry(key.trim().to_ascii_lowercase())
                .or_insert_with(|| (key.trim().to_string(), content.to_string()));
        }
    }
    out
}

/// JSON-LD dates, the article's own before those of the page, video or site around it.
fn json_ld_dates(doc: &Html) -> Vec<(u8, Stated)> {
    static S: OnceLock<Selector> = OnceLock::new();
    let mut objects: Vec<DatedObject> = Vec::new();
    for script in doc.select(S.get_or_init(|| sel("script[type='application/ld+json']"))) {
        let text: String = script.text().collect();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim()) {
            collect_objects(v, 0, &mut objects);
        }
    }
    objects.sort_by_key(|o| o.rank);
    let mut out = Vec::new();
    // every object's publication dates first, then every object's modification date
    for kind in [Kind::Published, Kind::Modified] {
        for o in &objects {
            for (key, value) in o
                .dates
                .iter()
                .filter(|(k, _)| (*k == "dateModified") == (kind == Kind::Modified))
            {
                out.push((
                    o.rank,
                    Stated {
                        value: value.clone(),
                        method: format!("json-ld:{key}"),
                        kind,
                    },
                ));
            }
        }
    }
    out
}

/// The JSON-LD keys holding dates, publication dates first.
const JSON_LD_KEYS: [&str; 4] = ["datePublished", "dateCreated", "uploadDate", "dateModified"];

/// A JSON-LD object's dates, and its rank: 0 for articles, 1 for web pages, 2 for the rest.
struct DatedObject {
    rank: u8,
    dates: Vec<(&'static str, String)>,
}

/// Walks a JSON-LD document (taking it apart: nothing is copied) for objects that carry a date.
fn collect_objects(v: serde_json::Value, depth: usize, out: &mut Vec<DatedObject>) {
    if depth > 8 || out.len() > 64 {
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            let dates: Vec<(&'static str, String)> = JSON_LD_KEYS
                .iter()
                .filter_map(|k| match m.get(*k)? {
                    serde_json::Value::String(s) => Some((*k, s.clone())),
                    serde_json::Value::Object(v) => {
                        Some((*k, v.get("@value")?.as_str()?.to_string()))
                    }
                    _ => None,
                })
                .collect();
            if !dates.is_empty() {
                out.push(DatedObject {
                    rank: type_rank(m.get("@type")),
                    dates,
                });
            }
            // @graph, mainEntity and any other nested object or list
            for (_, child) in m {
                if child.is_object() || child.is_array() {
                    collect_objects(child, depth + 1, out);
                }
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                collect_objects(x, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn type_rank(t: Option<&serde_json::Value>) -> u8 {
    let names: Vec<&str> = match t {
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => Vec::new(),
    };
    if names.iter().any(|n| {
        n.ends_with("Article")
            || matches!(
                *n,
                "BlogPosting" | "NewsArticle" | "LiveBlogPosting" | "SocialMediaPosting" | "Report"
            )
    }) {
        0
    } else if names
        .iter()
        .any(|n| n.ends_with("WebPage") || *n == "ItemPage")
    {
        1
    } else {
        2
    }
}

/// The words of an element's class and id ("entry-date published" → entry, date, published).
fn words(el: &Element) -> impl Iterator<Item = String> + '_ {
    el.attr("class")
        .into_iter()
        .chain(el.attr("id"))
        .flat_map(|v| v.split(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn names_modification(el: &Element) -> bool {
    words(el).any(|w| w.starts_with("update") || w.starts_with("modif") || w == "lastmod")
}

/// Whether an element holds other texts than the article: comments, sidebars, related lists,
/// navigation, captions, share and newsletter boxes, the site's footer. A `<footer>` inside an
/// `<article>` is the article's own (its byline and date often live there), and so is a
/// `<header>` there. Class words never rule out the page's frame (`body`, `main`, `article`,
/// anything around the title): sites put "caption" or "share" on wrappers of everything.
fn boilerplate(el: &Element, in_article: bool, frames_title: bool) -> bool {
    match el.name() {
        "script" | "style" | "noscript" | "template" | "nav" | "aside" | "figcaption"
        | "select" | "button" | "iframe" => return true,
        "html" | "body" | "main" | "article" => return false,
        _ if frames_title => return false,
        // the site's header shows today's date; the site's footer, its copyright
        "footer" | "header" if !in_article => return true,
        _ => {}
    }
    let site_header = el.attr("class").into_iter().chain(el.attr("id")).any(|v| {
        v.split_whitespace().any(|c| {
            matches!(
                c.to_ascii_lowercase().as_str(),
                "header" | "site-header" | "masthead" | "topbar" | "top-bar"
            )
        })
    });
    if site_header && !in_article {
        return true;
    }
    words(el).any(|w| {
        matches!(
            w.as_str(),
            "comment"
                | "comments"
                | "commentlist"
                | "disqus"
                | "sidebar"
                | "related"
                | "caption"
                | "popular"
                | "trending"
                | "recommended"
                | "recommendations"
                | "newsletter"
                | "breadcrumb"
                | "breadcrumbs"
                | "navbar"
                | "navigation"
                | "share"
                | "sharing"
        ) || (w == "footer" && !in_article)
    })
}

/// The article's title on the page: the first `<h1>`, else the first `<h2>`/`<h3>` that
/// repeats the page's `<title>` (some sites have no `<h1>`).
fn title_element(doc: &Html) -> Option<ElementRef<'_>> {
    static H1: OnceLock<Selector> = OnceLock::new();
    static HEADINGS: OnceLock<Selector> = OnceLock::new();
    static TITLE: OnceLock<Selector> = OnceLock::new();
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    doc.select(H1.get_or_init(|| sel("body h1")))
        .next()
        .or_else(|| {
            let title = squash(
                &doc.select(TITLE.get_or_init(|| sel("title")))
                    .next()?
                    .text()
                    .collect::<String>(),
            );
            doc.select(HEADINGS.get_or_init(|| sel("body h2, body h3")))
                .find(|h| {
                    let t = squash(&h.text().collect::<String>());
                    t.chars().count() >= 10 && title.starts_with(&t)
                })
        })
}

/// The title element and the elements around it (parent first): the article's frame.
fn title_frame(doc: &Html) -> Vec<ego_tree::NodeId> {
    title_element(doc)
        .map(|h| {
            std::iter::once(h.id())
                .chain(h.ancestors().map(|a| a.id()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `node` is around the title (`frame` is [`title_frame`]: the title, then its
/// ancestors).
fn frames_title(frame: &[ego_tree::NodeId], node: ego_tree::NodeId) -> bool {
    frame.get(1..).is_some_and(|around| around.contains(&node))
}

/// Whether `el` sits in boilerplate (see [`boilerplate`]); `frame` is [`title_frame`].
fn elsewhere(el: ElementRef<'_>, frame: &[ego_tree::NodeId]) -> bool {
    let chain: Vec<ElementRef<'_>> = std::iter::once(el)
        .chain(el.ancestors().filter_map(ElementRef::wrap))
        .collect();
    chain.iter().enumerate().any(|(i, e)| {
        let in_article = chain[i + 1..].iter().any(|a| a.value().name() == "article");
        boilerplate(e.value(), in_article, frames_title(frame, e.id()))
    })
}

fn short_text(el: ElementRef<'_>) -> Option<String> {
    let t = el.text().collect::<String>();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty() && t.chars().count() <= 200).then_some(t)
}

/// Whether a class or id word names a date ("entry-date", "post_time", "byline", "dateline").
fn names_date(word: &str) -> bool {
    (word.contains("date")
        && !["update", "candidate", "validate", "mandate"]
            .iter()
            .any(|x| word.starts_with(x)))
        || (word.contains("time") && !word.contains("timeline"))
        || matches!(
            word,
            "published" | "posted" | "byline" | "dateline" | "meta" | "fecha" | "datum" | "data"
        )
}

/// A date written in an element whose class or id names a date (`<span class="post-date">`,
/// `<abbr class="published">`, `<div class="byline">`): the first after the title, the first
/// just above it (in the title's own block), and the first elsewhere before it (a site
/// header often shows today's date there).
fn classed_dates(doc: &Html, frame: &[ego_tree::NodeId], zone: &SiteZone) -> Classed {
    let mut found = Classed::default();
    let mut past_title = false;
    // the title's grandparent holds the article's header
    let header = frame.get(2);
    for node in doc.root_element().descendants() {
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        if frame.first() == Some(&node.id()) {
            past_title = true;
            continue;
        }
        let v = el.value();
        let Some(word) = v
            .attr("class")
            .into_iter()
            .chain(v.attr("id"))
            .find_map(|a| {
                a.split_whitespace().find(|c| {
                    c.split(|ch: char| !ch.is_ascii_alphanumeric())
                        .any(|w| names_date(&w.to_ascii_lowercase()))
                })
            })
        else {
            continue;
        };
        if names_modification(v) {
            continue;
        }
        let Some(t) = short_text(el) else { continue };
        if let Some(d) = text::first_date(&t)
            && !elsewhere(el, frame)
            && let Some(local) = read_text(d, zone)
        {
            let date = (local, format!("class:{word}"));
            if past_title {
                found.after = Some(date);
                break;
            }
            if header.is_some_and(|h| el.ancestors().any(|a| a.id() == *h)) {
                found.above.get_or_insert(date);
            } else {
                found.before.get_or_insert(date);
            }
        }
    }
    found
}

type Found = Option<(DateTime<FixedOffset>, String)>;

/// Dates in date-classed elements, by where they stand to the title.
#[derive(Default)]
struct Classed {
    after: Found,
    above: Found,
    before: Found,
}

/// The page's text as a reader sees it, without boilerplate, and where its `<h1>` ends.
fn reading_text(doc: &Html, frame: &[ego_tree::NodeId]) -> (String, Option<usize>) {
    static BODY: OnceLock<Selector> = OnceLock::new();
    let mut text = String::new();
    let mut h1_end = None;
    let Some(body) = doc.select(BODY.get_or_init(|| sel("body"))).next() else {
        return (text, None);
    };
    // an explicit stack (the page may be deep); None marks the end of an <h1>
    let mut stack: Vec<(Option<NodeRef<'_, Node>>, bool)> = vec![(Some(*body), false)];
    while let Some((node, in_article)) = stack.pop() {
        let Some(node) = node else {
            h1_end.get_or_insert(text.len());
            continue;
        };
        match node.value() {
            Node::Text(t) => {
                text.push_str(t);
                text.push(' ');
            }
            Node::Element(e) => {
                if boilerplate(e, in_article, frames_title(frame, node.id())) {
                    continue;
                }
                if frame.first() == Some(&node.id()) {
                    stack.push((None, in_article));
                }
                let in_article = in_article || e.name() == "article";
                let children: Vec<_> = node.children().collect();
                stack.extend(children.into_iter().rev().map(|c| (Some(c), in_article)));
            }
            _ => {}
        }
        if text.len() > 200_000 {
            break;
        }
    }
    (text, h1_end)
}

/// A date written in the page text: the first in the 3000 characters after the title, and
/// (computed only when asked) the first near the top of the page or anywhere in it. A date later
/// than the year after the page's latest copyright year is a plan, not a date.
fn written_dates<'a>(
    doc: &Html,
    raw: &'a str,
    frame: &[ego_tree::NodeId],
    zone: &'a SiteZone,
) -> (
    Option<DateTime<FixedOffset>>,
    impl FnOnce() -> Option<DateTime<FixedOffset>> + 'a,
) {
    let (text, h1_end) = reading_text(doc, frame);
    let cut = |text: &str, from: usize, len: usize| {
        let mut end = (from + len).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        (from.min(end), end)
    };
    let bound = std::cell::OnceCell::new();
    let first = move |text: &str, (from, to): (usize, usize)| {
        let bound = *bound.get_or_init(|| copyright_year(raw));
        text::first_date(&text[from..to])
            .and_then(|d| read_text(d, zone))
            .filter(|d| bound.is_none_or(|y| d.year() <= y + 1))
    };
    let after_title = h1_end.and_then(|h| first(&text, cut(&text, h, 3000)));
    let anywhere =
        move || first(&text, cut(&text, 0, 3000)).or_else(|| first(&text, cut(&text, 0, 60_000)));
    (after_title, anywhere)
}

/// The latest year of a copyright line ("© 2009-2020", "&copy; 2020", "Copyright 2020").
fn copyright_year(raw: &str) -> Option<i32> {
    let mut latest = None;
    for mark in ["©", "&copy;", "&#169;", "opyright", "OPYRIGHT"] {
        for (at, _) in raw.match_indices(mark) {
            // the years within the next few characters: "2009-2020", "2020 Example"
            let after: String = raw[at + mark.len()..].chars().take(24).collect();
            let years = after
                .split(|c: char| !c.is_ascii_digit())
                .filter(|w| w.len() == 4)
                .filter_map(|w| w.parse::<i32>().ok())
                .filter(|y| (1990..=2100).contains(y));
            latest = latest.max(years.max());
        }
    }
    latest
}

/// `/2016-05/04/`, `/2016/05/04/`, `/20160504/`: midnight of that day in the page's zone.
fn url_date(path: &str, zone: &SiteZone) -> Option<DateTime<FixedOffset>> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(
            r"/((?:19|20)[0-9]{2})[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12][0-9]|3[01])(?:/|[^[0-9]]|$)",
        )
        .unwrap_or_else(|e| unreachable!("{e}"))
    });
    let c = r.captures(path)?;
    let day = chrono::NaiveDate::from_ymd_opt(
        c[1].parse().ok()?,
        c[2].parse().ok()?,
        c[3].parse().ok()?,
    )?;
    zone.resolve_naive(&day.and_time(chrono::NaiveTime::MIN))
        .filter(old_enough)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn date(html: &str, url: &str) -> Option<(String, String)> {
        let doc = Html::parse_document(html);
        let u = Url::parse(url).ok();
        page_date(&doc, html, u.as_ref(), Some(Shanghai))
            .map(|d| (d.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), d.method))
    }

    #[test]
    fn the_date_is_kept_as_the_page_wrote_it() {
        // (page, source zone's reading, local form)
        let cases = [
            (
                r#"<meta property="article:published_time" content="2020-05-04T00:30:00-05:00">"#,
                "2020-05-04T00:30:00-05:00",
            ),
            (
                "<body><h1>T</h1><p>May 4, 2016</p></body>",
                "2016-05-04T00:00:00+08:00",
            ),
            (
                "<body><h1>T</h1><p>2016年05月04日 15:00</p></body>",
                "2016-05-04T15:00:00+08:00",
            ),
        ];
        for (html, local) in cases {
            let doc = Html::parse_document(html);
            let d = page_date(&doc, html, None, Some(Shanghai)).expect(html);
            assert_eq!(d.local.to_rfc3339(), local, "{html}");
            assert_eq!(d.at, d.local.with_timezone(&Utc), "{html}");
        }
    }

    #[test]
    fn each_place_a_date_hides() {
        let u = "http://x.example/a.html";
        let cases = [
            (
                r#"<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2016-05-04T15:00:36+08:00"}]}</script>"#,
                u,
                "2016-05-04T07:00:36Z",
                "json-ld:datePublished",
            ),
            (
                r#"<meta property="article:published_time" content="2016-05-04T15:00:36+08:00">"#,
                u,
                "2016-05-04T07:00:36Z",
                "meta:article:published_time",
            ),
            (
                r#"<body><time datetime="2016-05-04 15:00:36">May 4</time></body>"#,
                u,
                "2016-05-04T07:00:36Z",
                "time:datetime",
            ),
            (
                "<body><h1>Title</h1><p>2016-05-04 15:00:36Share:</p></body>",
                u,
                "2016-05-04T07:00:36Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Posted 2016/05/04 15:00</p></body>",
                u,
                "2016-05-04T07:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>04.05.2016</p></body>",
                u,
                "2016-05-03T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>May 4, 2016</p></body>",
                u,
                "2016-05-03T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>标题</h1><p>2016年05月04日 15:00 来源：海淀</p></body>",
                u,
                "2016-05-04T07:00:00Z",
                "text",
            ),
            (
                "<body><p>no date here</p></body>",
                "http://x.example/science/2016-05/04/content_1.htm",
                "2016-05-03T16:00:00Z",
                "url",
            ),
            (
                "<body><h1>T</h1><p class=\"tagline\">22/11/2020 - 04:30 - Fonte: Agência Brasil</p></body>",
                u,
                "2020-11-21T20:30:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Publié le 17/03/2020</p></body>",
                u,
                "2020-03-16T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>05/24/2020</p></body>",
                u,
                "2020-05-23T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><div id=\"date\">Mi&eacute;rcoles, 15 de Abril de 2020</div></body>",
                u,
                "2020-04-14T16:00:00Z",
                "class:date",
            ),
            (
                "<body><h1>T</h1><p>Publié le 7 juin 2020 à 10h</p></body>",
                u,
                "2020-06-06T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Berlin, 7. Juni 2020</p></body>",
                u,
                "2020-06-06T16:00:00Z",
                "text",
            ),
            (
                "<body><div class=\"news-time-ago\" title=\"2020-09-20T14:20:02Z\">2 hours ago</div></body>",
                u,
                "2020-09-20T14:20:02Z",
                "attribute:title",
            ),
            (
                "<body><p>no date here</p></body>",
                "http://x.example/2016/05/04/story",
                "2016-05-03T16:00:00Z",
                "url",
            ),
        ];
        for (html, url, at, method) in cases {
            assert_eq!(
                date(html, url),
                Some((at.to_string(), method.to_string())),
                "{html}"
            );
        }
        assert_eq!(date("<body><p>nothing</p></body>", u), None);
        // a year before the web's news is a copyright line, not a date
        assert_eq!(
            date("<body><h1>T</h1><p>Since 12.03.1987</p></body>", u),
            None
        );
    }

    proptest::proptest! {
        // hostile pages: any nesting of the elements and attributes the finder looks at
        #[test]
        fn any_page_gives_a_date_or_none_without_panicking(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<h1>", "</h1>", "<h2>T</h2>", "<article>", "</article>", "<header>", "</header>",
                "<footer>", "</footer>", "<aside>", "<div class=\"comments\">", "</div>",
                "<time datetime=\"2020-06-07T10:30:00Z\">", "</time>", "<span class=\"date\">",
                "</span>", "7 June 2020", "2020-13-45", "99.99.9999", "<meta name=\"date\" content=\"x\">",
                "<script type=\"application/ld+json\">{\"datePublished\":[{\"@graph\":1}]}</script>",
                "<script type=\"application/ld+json\">{\"@graph\":[{\"dateModified\":\"2020-06-08\"}]}</script>",
                "© 2019", "text ", "2020年6月7日", "<p>", "</p>",
            ]), 0..40),
            url in proptest::sample::select(vec!["https://x.example/2020/06/07/a", "https://x.it/a", "https://x.com/a"]),
        ) {
            let html = parts.concat();
            let doc = Html::parse_document(&html);
            let u = Url::parse(url).ok();
            if let Some(d) = page_date(&doc, &html, u.as_ref(), None) {
                proptest::prop_assert_eq!(d.at, d.local.with_timezone(&Utc));
                proptest::prop_assert!(d.local.year() >= 1995);
                proptest::prop_assert!(PLACES.iter().any(|p| d.method.starts_with(p)));
            }
        }
    }
}
