//! The building blocks RSS and Atom share: text constructs (RFC 4287 §3.1, Atom 0.3 `mode`),
//! people (`email (Name)`, `Name <email>`), and the extension vocabularies publishers mix into
//! both (Dublin Core and DCMI terms, iTunes, Media RSS, `content:encoded`), applied as
//! fallbacks where the native element is missing.

use base64::Engine;
use chrono_tz::Tz;

use super::Entry;
use super::dates::parse_date;
use super::xml::{Element, Ns};
use crate::model::Enclosure;

/// A text construct's value: plain text, or HTML.
#[derive(Debug, Clone, PartialEq)]
pub enum Construct {
    Plain(String),
    Html(String),
}

impl Construct {
    /// As plain text, for titles and names: HTML is read once (its tags dropped, its entities
    /// decoded); plain text stays as written, `<blink>` included.
    pub fn plain(&self) -> String {
        match self {
            Construct::Plain(t) => collapse(t),
            Construct::Html(h) => plain_of_html(h),
        }
    }

    /// As HTML, for summaries and content: plain text escaped into paragraphs.
    pub fn html(&self) -> String {
        match self {
            Construct::Plain(t) => super::plain_to_html(t),
            Construct::Html(h) => h.trim().to_string(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Construct::Plain(t) | Construct::Html(t) => t.trim().is_empty(),
        }
    }
}

/// HTML → one line of text, read once (an HTML parser's reading: entities decoded, tags and
/// the text of scripts and styles dropped). Titles and names only; article text keeps its
/// paragraphs in the normalize stage.
pub fn plain_of_html(html: &str) -> String {
    if !html.contains('<') {
        return collapse(&html_escape::decode_html_entities(html));
    }
    let doc = scraper::Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    for node in doc.root_element().descendants() {
        if let scraper::Node::Text(t) = node.value() {
            let hidden = node.ancestors().any(|a| {
                a.value()
                    .as_element()
                    .is_some_and(|e| matches!(e.name(), "script" | "style" | "template"))
            });
            if !hidden {
                out.push_str(t);
            }
        } else if let scraper::Node::Element(e) = node.value()
            && matches!(e.name(), "br" | "p" | "div" | "li")
        {
            out.push(' ');
        }
    }
    collapse(&out)
}

/// Every run of white space one space, trimmed: how a title or a name reads on one line.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// An Atom text construct (RFC 4287 §3.1: title, subtitle, summary, rights), Atom 0.3 modes
/// included. A type it does not know is read as text, unless it is base64 text.
pub fn atom_text(el: &Element) -> Option<Construct> {
    read_construct(el, false)
}

/// Atom `content` (RFC 4287 §4.1.3): as [`atom_text`], but a base64 payload that is not text
/// (an image, a video) is no article text: `None`.
pub fn atom_content(el: &Element) -> Option<Construct> {
    read_construct(el, true)
}

fn read_construct(el: &Element, is_content: bool) -> Option<Construct> {
    let kind = el.attr("type").unwrap_or("").trim().to_ascii_lowercase();
    let mode = el.attr("mode").unwrap_or("").trim().to_ascii_lowercase();
    let htmlish = kind == "html" || kind.contains("html") && !kind.contains("xhtml");
    let xhtmlish = kind == "xhtml"
        || kind.contains("xhtml")
        || kind.ends_with("+xml")
        || kind.ends_with("/xml");
    let out = if mode == "base64"
        || (!kind.is_empty() && !is_text_type(&kind) && !el.has_element_children())
    {
        let raw = el.text();
        let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()) {
            // a payload that is text after all (RFC 4287 §4.1.3.3 rule 5): read as such
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .ok()
                    .filter(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace()));
                let Some(text) = text else {
                    // an image or other binary payload: no article text; in a title, the
                    // characters as written
                    return (!is_content && mode != "base64")
                        .then(|| Construct::Plain(raw.into_owned()))
                        .filter(|c| !c.is_empty());
                };
                if kind.starts_with("text/plain") {
                    Construct::Plain(text)
                } else {
                    Construct::Html(text)
                }
            }
            // not base64 at all (`application/json` written as is): its text
            Err(_) => Construct::Plain(raw.into_owned()),
        }
    } else if htmlish && el.has_element_children() {
        // `type="html"` with markup written straight in: the markup is the HTML
        Construct::Html(el.inner_markup())
    } else if xhtmlish || (el.has_element_children() && mode != "escaped") {
        Construct::Html(xhtml_inner(el))
    } else if htmlish {
        Construct::Html(el.text().into_owned())
    } else {
        Construct::Plain(el.text().into_owned())
    };
    (!out.is_empty()).then_some(out)
}

/// The types whose content is text in the element (RFC 4287 §4.1.3.3).
fn is_text_type(kind: &str) -> bool {
    matches!(kind, "text" | "html" | "xhtml")
        || kind.starts_with("text/")
        || kind.ends_with("+xml")
        || kind.ends_with("/xml")
}

/// An xhtml construct's markup: the children of its `div` wrapper (RFC 4287 §3.1.1.3), else
/// its own children.
fn xhtml_inner(el: &Element) -> String {
    let mut elements = el.elements();
    let only_div = match (elements.next(), elements.next()) {
        (Some(d), None) if d.name == "div" && el.text().trim() == d.text().trim() => Some(d),
        _ => None,
    };
    only_div.unwrap_or(el).inner_html()
}

/// An RSS element whose content is HTML (title, description): escaped HTML as text, or markup
/// written straight into the element.
pub fn rss_html(el: &Element) -> Option<Construct> {
    let out = if el.has_element_children() {
        Construct::Html(el.inner_html())
    } else {
        Construct::Html(el.text().into_owned())
    };
    (!out.is_empty()).then_some(out)
}

/// An RSS element that holds text which may be HTML (title, category): markup written into it
/// is HTML; otherwise it is HTML only if it looks like it, as feedparser decides: a closing tag
/// or an entity reference, every tag a common HTML one and every entity a known one. So
/// "1 < 2" and "History of the <blink> tag" stay text, and "&lt;b&gt;Bold&lt;/b&gt;" is HTML.
pub fn rss_text(el: &Element) -> Option<Construct> {
    if el.has_element_children() {
        return rss_html(el);
    }
    let text = el.text();
    if text.trim().is_empty() {
        return None;
    }
    Some(if looks_like_html(&text) {
        Construct::Html(text.into_owned())
    } else {
        Construct::Plain(text.into_owned())
    })
}

/// feedparser's `lookslikehtml`.
pub fn looks_like_html(s: &str) -> bool {
    if !s.contains(['<', '&']) {
        return false;
    }
    let tags = tag_names(s);
    let has_close = s.contains("</") && tags.iter().any(|(closing, _)| *closing);
    let entities = entity_names(s);
    if !has_close && entities.is_empty() {
        return false;
    }
    tags.iter()
        .all(|(_, t)| HTML_ELEMENTS.contains(&t.to_ascii_lowercase().as_str()))
        && entities.iter().all(|e| {
            let probe = format!("&{e};");
            e.starts_with('#') || html_escape::decode_html_entities(&probe) != probe
        })
}

/// (closing, name) of every `<name` / `</name` in `s`.
fn tag_names(s: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    for (at, _) in s.match_indices('<') {
        let rest = &s[at + 1..];
        let (closing, rest) = match rest.strip_prefix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if end > 0 && (!closing || rest[end..].starts_with('>')) {
            out.push((closing, &rest[..end]));
        }
    }
    out
}

/// The names of `&name;` and `&#123;` references in `s`.
fn entity_names(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (at, _) in s.match_indices('&') {
        let rest = &s[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(rest.len());
        if end > 0 && end <= 32 && rest[end..].starts_with(';') {
            out.push(&rest[..end]);
        }
    }
    out
}

/// The HTML elements a text may use and still count as HTML (feedparser's acceptable set,
/// abridged to what titles use).
const HTML_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "b",
    "big",
    "blockquote",
    "br",
    "center",
    "cite",
    "code",
    "dd",
    "del",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
];

/// A person as RSS writes one: `email (Name)`, `Name <email>`, `Name`, or `email`. Returns
/// (name, email); the name falls back to the email when there is nothing else.
pub fn person(raw: &str) -> Option<(String, Option<String>)> {
    let raw = collapse(raw);
    if raw.is_empty() {
        return None;
    }
    let is_email = |s: &str| s.contains('@') && !s.contains(' ');
    if let Some((before, rest)) = raw.split_once('(')
        && let Some(inside) = rest.strip_suffix(')')
    {
        let (before, inside) = (before.trim(), inside.trim());
        if is_email(before) && !inside.is_empty() {
            return Some((inside.to_string(), Some(before.to_string())));
        }
        if is_email(inside) && !before.is_empty() {
            return Some((before.to_string(), Some(inside.to_string())));
        }
    }
    if let Some((before, rest)) = raw.split_once('<')
        && let Some(inside) = rest.strip_suffix('>')
    {
        let (before, inside) = (before.trim(), inside.trim());
        if is_email(inside) && !before.is_empty() {
            return Some((
                before.trim_matches('"').to_string(),
                Some(inside.to_string()),
            ));
        }
    }
    let email = is_email(&raw).then(|| raw.clone());
    Some((raw, email))
}

/// Atom's `<author><name/><email/></author>`.
pub fn atom_person(el: &Element) -> Option<(String, Option<String>)> {
    let name = el
        .elements()
        .find(|c| c.name == "name")
        .and_then(Element::value)
        .map(|n| collapse(&n));
    let email = el
        .elements()
        .find(|c| c.name == "email")
        .and_then(Element::value);
    match (name, email) {
        (Some(n), e) => Some((n, e)),
        (None, Some(e)) => Some((e.clone(), Some(e))),
        // mixed content: `<author>Name</author>`
        (None, None) => el.value().map(|n| (collapse(&n), None)),
    }
}

/// The first `<img src>` of an HTML fragment (gofeed and Miniflux take an entry's image from it
/// when nothing else names one).
pub fn first_image(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(at) = find_ci(&bytes[from..], b"<img") {
        let start = from + at + 4;
        let end = html[start..].find('>').map_or(html.len(), |e| start + e);
        let tag = &html[start..end];
        if let Some(src) = find_ci(tag.as_bytes(), b"src")
            .map(|i| tag[i + 3..].trim_start())
            .and_then(|rest| rest.strip_prefix('='))
        {
            let src = src.trim_start();
            let value = match src.chars().next() {
                Some(q @ ('"' | '\'')) => src[1..].split(q).next(),
                _ => src.split(|c: char| c.is_whitespace() || c == '>').next(),
            };
            if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
                return Some(crate::parse::xml::unescape(v).into_owned());
            }
        }
        from = end.min(html.len());
    }
    None
}

/// ASCII case-insensitive search (by the first byte, which both cases share a check for).
fn find_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (first, rest) = needle.split_first()?;
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while let Some(i) = haystack[from..]
        .iter()
        .position(|b| *b == lower || *b == upper)
    {
        let at = from + i;
        if haystack
            .get(at + 1..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(rest))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !value.is_empty() && !list.contains(&value) {
        list.push(value);
    }
}

pub fn push_enclosure(
    list: &mut Vec<Enclosure>,
    url: String,
    kind: Option<&str>,
    length: Option<&str>,
) {
    if url.is_empty() || list.iter().any(|e| e.url == url) {
        return;
    }
    list.push(Enclosure {
        url,
        r#type: kind
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        length: length
            .and_then(|l| l.trim().parse::<u64>().ok())
            .filter(|l| *l > 0),
        duration: None,
    });
}

/// `itunes:duration`: seconds, `MM:SS` or `HH:MM:SS` (Apple Podcasts RSS tags).
pub fn duration(raw: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let parts: Vec<&str> = raw.trim().split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    for p in parts {
        let n: f64 = p.trim().parse().ok()?;
        if !(0.0..1e9).contains(&n) {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(n as u64)?;
    }
    (total > 0).then_some(total)
}

/// What the extension vocabularies say about one item, entry or channel.
#[derive(Debug, Default)]
pub struct Extensions {
    pub title: Option<Construct>,
    pub description: Option<Construct>,
    pub authors: Vec<(String, Option<String>)>,
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    pub updated: Option<chrono::DateTime<chrono::Utc>>,
    pub categories: Vec<String>,
    pub language: Option<String>,
    pub content: Option<Construct>,
    pub enclosures: Vec<Enclosure>,
    pub image: Option<String>,
    pub duration: Option<u64>,
}

/// Reads Dublin Core, DCMI terms, iTunes, Media RSS and `content:encoded` among `el`'s
/// children.
pub fn extensions(el: &Element, tz: Tz) -> Extensions {
    let mut x = Extensions::default();
    let mut dc_date = None;
    let mut creators = Vec::new();
    let mut itunes_authors = Vec::new();
    let mut keywords = Vec::new();
    let mut subjects = Vec::new();
    let mut media_image = None;
    let mut itunes_image = None;
    let mut thumbnail = None;
    let mut itunes_summary = None;
    let mut media_description = None;
    for c in el.elements() {
        match (c.ns, c.name.as_str()) {
            (Ns::Dc | Ns::DcTerms, "title") => {
                x.title = x.title.take().or_else(|| rss_html(c));
            }
            (Ns::Dc | Ns::DcTerms, "description" | "abstract") => {
                x.description = x.description.take().or_else(|| rss_html(c));
            }
            (Ns::Dc, "creator" | "author" | "contributor") | (Ns::DcTerms, "creator") => {
                if let Some(p) = c.value().and_then(|v| person(&v)) {
                    creators.push(p);
                }
            }
            (Ns::Dc, "date") => {
                dc_date = dc_date.or_else(|| c.value().and_then(|v| parse_date(&v, tz)))
            }
            (Ns::DcTerms, "issued" | "created" | "available") => {
                x.published = x
                    .published
                    .or_else(|| c.value().and_then(|v| parse_date(&v, tz)));
            }
            (Ns::DcTerms, "modified") => {
                x.updated = x
                    .updated
                    .or_else(|| c.value().and_then(|v| parse_date(&v, tz)));
            }
            (Ns::Dc | Ns::DcTerms, "subject") => {
                if let Some(v) = c.value() {
                    subjects.push(collapse(&v));
                }
            }
            (Ns::Dc | Ns::DcTerms, "language") => {
                x.language = x.language.take().or_else(|| c.value());
            }
            (Ns::Content, "encoded") => {
                x.content = x.content.take().or_else(|| rss_html(c));
            }
            (Ns::Itunes, "author") => {
                if let Some(p) = c.value().and_then(|v| person(&v)) {
                    itunes_authors.push(p);
                }
            }
            (Ns::Itunes, "summary" | "subtitle")
                if itunes_summary.is_none() || c.name == "summary" =>
            {
                itunes_summary = c.value().map(Construct::Plain).or(itunes_summary);
            }
            (Ns::Itunes, "duration") => {
                x.duration = x.duration.or_else(|| c.value().and_then(|v| duration(&v)));
            }
            (Ns::Itunes, "keywords") => {
                if let Some(v) = c.value() {
                    keywords.extend(v.split(',').map(collapse).filter(|k| !k.is_empty()));
                }
            }
            (Ns::Itunes, "image") => {
                itunes_image = itunes_image.or_else(|| {
                    c.attr("href")
                        .map(str::to_string)
                        .or_else(|| c.value())
                        .map(|h| c.resolve(&h))
                });
            }
            (Ns::Media, "group") => {
                for m in c.elements() {
                    media(
                        m,
                        &mut x.enclosures,
                        &mut media_image,
                        &mut thumbnail,
                        &mut media_description,
                    );
                }
            }
            (Ns::Media, _) => media(
                c,
                &mut x.enclosures,
                &mut media_image,
                &mut thumbnail,
                &mut media_description,
            ),
            _ => {}
        }
    }
    x.published = dc_date.or(x.published);
    x.updated = x.updated.or(dc_date);
    x.authors = if creators.is_empty() {
        itunes_authors
    } else {
        creators
    };
    for k in keywords.into_iter().chain(subjects) {
        push_unique(&mut x.categories, k);
    }
    x.description = x.description.or(itunes_summary).or(media_description);
    x.image = thumbnail.or(itunes_image).or(media_image);
    x
}

fn media(
    c: &Element,
    enclosures: &mut Vec<Enclosure>,
    image: &mut Option<String>,
    thumbnail: &mut Option<String>,
    description: &mut Option<Construct>,
) {
    if c.ns != Ns::Media {
        return;
    }
    match c.name.as_str() {
        "content" => {
            let Some(url) = c.attr("url").map(|u| c.resolve(u)) else {
                return;
            };
            let kind = c.attr("type");
            let is_image =
                c.attr("medium") == Some("image") || kind.is_some_and(|k| k.starts_with("image/"));
            if is_image && image.is_none() {
                *image = Some(url.clone());
            }
            push_enclosure(enclosures, url, kind, c.attr("fileSize"));
            for inner in c.elements() {
                media(inner, enclosures, image, thumbnail, description);
            }
        }
        "thumbnail" if thumbnail.is_none() => {
            *thumbnail = c.attr("url").map(|u| c.resolve(u));
        }
        "description" if description.is_none() => {
            *description = c.value().map(|v| {
                if c.attr("type") == Some("html") {
                    Construct::Html(v)
                } else {
                    Construct::Plain(v)
                }
            });
        }
        _ => {}
    }
}

/// Fills what the native elements left empty from the extensions.
pub fn apply(entry: &mut Entry, x: Extensions, emails: &mut Vec<String>) {
    if entry.title.is_none() {
        entry.title = x.title.map(|t| t.plain()).filter(|t| !t.is_empty());
    }
    if entry.summary_html.is_none() {
        entry.summary_html = x.description.map(|d| d.html()).filter(|d| !d.is_empty());
    }
    if entry.content_html.is_none() {
        entry.content_html = x.content.map(|c| c.html()).filter(|c| !c.is_empty());
    }
    if entry.authors.is_empty() {
        for (name, email) in x.authors {
            entry.authors.push(name);
            emails.extend(email);
        }
    }
    entry.published = entry.published.or(x.published);
    entry.updated = entry.updated.or(x.updated);
    for c in x.categories {
        push_unique(&mut entry.categories, c);
    }
    if entry.language.is_none() {
        entry.language = x.language;
    }
    for e in x.enclosures {
        if !entry.enclosures.iter().any(|have| have.url == e.url) {
            entry.enclosures.push(e);
        }
    }
    if entry.image.is_none() {
        entry.image = x.image;
    }
    // the episode's playing time belongs to its audio or video file
    if let Some(d) = x.duration {
        let media = |e: &Enclosure| {
            e.r#type
                .as_deref()
                .is_some_and(|t| t.starts_with("audio/") || t.starts_with("video/"))
        };
        let at = entry.enclosures.iter().position(media).unwrap_or(0);
        let target = entry.enclosures.get_mut(at);
        if let Some(e) = target
            && e.duration.is_none()
        {
            e.duration = Some(d);
        }
    }
}

/// An entry's image when no element names one: an image enclosure, else the first `<img>`.
pub fn fallback_image(entry: &mut Entry) {
    if entry.image.is_some() {
        return;
    }
    entry.image = entry
        .enclosures
        .iter()
        .find(|e| e.r#type.as_deref().is_some_and(|t| t.starts_with("image/")))
        .map(|e| e.url.clone())
        .or_else(|| entry.content_html.as_deref().and_then(first_image))
        .or_else(|| entry.summary_html.as_deref().and_then(first_image));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_image_of_html() {
        let cases = [
            (r#"<p>x</p><img src="/a.png" alt="a">"#, Some("/a.png")),
            (r#"<IMG alt='b' SRC='b.jpg'>"#, Some("b.jpg")),
            ("<img src=c.gif>", Some("c.gif")),
            (
                r#"<img alt="no source"><img src="d.png?a=1&amp;b=2">"#,
                Some("d.png?a=1&b=2"),
            ),
            ("<p>no image</p>", None),
            ("<img", None),
        ];
        for (html, want) in cases {
            assert_eq!(first_image(html).as_deref(), want, "{html}");
        }
    }

    #[test]
    fn itunes_durations_in_every_form() {
        let cases = [
            ("1234", Some(1234)),
            ("12:34", Some(754)),
            ("1:02:03", Some(3723)),
            ("01:02:03.5", Some(3723)),
            ("", None),
            ("soon", None),
            ("1:2:3:4", None),
        ];
        for (raw, want) in cases {
            assert_eq!(duration(raw), want, "{raw}");
        }
    }

    #[test]
    fn rss_titles_are_html_only_when_they_look_like_it() {
        let cases = [
            ("History of the <blink> tag", false),
            ("1 < 2 and 3 > 2", false),
            ("AT&T & friends", false),
            ("<p>Item Title</p>", true),
            ("Caf&eacute; news", true),
            ("&#8217;quoted&#8217;", true),
            ("The <blink>tag</blink>", false),
            ("&bogus; entity", false),
            ("<b>Bold</b> &amp; more", true),
        ];
        for (text, html) in cases {
            assert_eq!(looks_like_html(text), html, "{text}");
        }
    }

    #[test]
    fn people_in_every_rss_form() {
        let cases = [
            (
                "jane@example.org (Jane Doe)",
                "Jane Doe",
                Some("jane@example.org"),
            ),
            (
                "Jane Doe <jane@example.org>",
                "Jane Doe",
                Some("jane@example.org"),
            ),
            ("Jane Doe", "Jane Doe", None),
            (
                "jane@example.org",
                "jane@example.org",
                Some("jane@example.org"),
            ),
            ("  Jane\n Doe ", "Jane Doe", None),
            (
                "Jane Doe (jane@example.org)",
                "Jane Doe",
                Some("jane@example.org"),
            ),
        ];
        for (raw, name, email) in cases {
            let (n, e) = person(raw).expect(raw);
            assert_eq!(n, name, "{raw}");
            assert_eq!(e.as_deref(), email, "{raw}");
        }
    }

    #[test]
    fn atom_text_constructs_by_type_and_mode() {
        // (element, plain text)
        let cases = [
            (
                r#"<title type="text">History of the &lt;blink&gt; tag</title>"#,
                "History of the <blink> tag",
            ),
            (
                r#"<title>History of the &lt;blink&gt; tag</title>"#,
                "History of the <blink> tag",
            ),
            (
                r#"<title type="html">History of the &lt;blink&gt; tag</title>"#,
                "History of the tag",
            ),
            (
                r#"<title type="html">AT&amp;amp;T &lt;b&gt;wins&lt;/b&gt;</title>"#,
                "AT&T wins",
            ),
            (
                r#"<title mode="escaped" type="text/html">&lt;p&gt;Entry Title&lt;/p&gt;</title>"#,
                "Entry Title",
            ),
            (
                r#"<title mode="base64" type="text/html">PHA+RW50cnkgVGl0bGU8L3A+</title>"#,
                "Entry Title",
            ),
            (
                r#"<title type="text/plain" mode="base64">RW50cnkgVGl0bGU=</title>"#,
                "Entry Title",
            ),
            (
                r#"<title type="application/octet-stream">PHA+RW50cnkgVGl0bGU8L3A+</title>"#,
                "Entry Title",
            ),
            (
                r#"<content type="html"><div xmlns="http://www.w3.org/1999/xhtml">&lt;p&gt;Entry Content&lt;/p&gt;</div></content>"#,
                "Entry Content",
            ),
        ];
        for (xml, want) in cases {
            let el = super::super::xml::parse(xml, None).expect("xml");
            let c = atom_text(&el).expect(xml);
            assert_eq!(c.plain(), want, "{xml}");
        }
        let image =
            super::super::xml::parse(r#"<content type="image/png">iVBORw0KGgo=</content>"#, None)
                .expect("xml");
        assert_eq!(atom_content(&image), None);
        let custom =
            super::super::xml::parse(r#"<title type="application/x-custom">test</title>"#, None)
                .expect("xml");
        assert_eq!(atom_text(&custom), Some(Construct::Plain("test".into())));
    }
}
