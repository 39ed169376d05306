//! Article HTML: sanitizing untrusted markup (ammonia) and deriving plain text from it.

use ammonia::{Builder, UrlRelative};
use ego_tree::iter::Edge;
use scraper::{Html, Node};
use url::Url;

/// Deeper markup than this is not given to tree-walking code that recurses (a hostile page can
/// nest elements until the stack overflows, which aborts the process rather than panicking).
pub const MAX_NESTING: usize = 1000;

/// How deeply elements nest in `html`, approximately: elements whose end tag may be omitted
/// (`p`, `li`, `td`, …) and void elements are not counted, so sloppy markup is not mistaken
/// for deep markup.
pub fn nesting_depth(html: &str) -> usize {
    const NOT_COUNTED: [&str; 33] = [
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "tbody", "thead", "tfoot",
        "colgroup", "rb", "rt", "rp", "html", "head", "body", "br", "img", "hr", "input", "meta",
        "link", "area", "base", "col", "embed", "source", "track", "wbr", "param",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = bytes[i..].iter().position(|b| *b == b'<') {
        i += off + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 {
            continue;
        }
        // compared without a lower-cased copy: this runs on every tag of every entry
        let name = &bytes[start..start + len];
        if NOT_COUNTED
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
        {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let end = bytes[start..]
                .iter()
                .position(|b| *b == b'>')
                .map_or(bytes.len(), |p| start + p);
            if end > 0 && bytes.get(end - 1) != Some(&b'/') {
                depth += 1;
                max = max.max(depth);
            }
        }
    }
    max
}

/// `html` as it is, or, when it nests deeper than [`MAX_NESTING`], flattened (see
/// [`flatten`]): what every HTML parse of untrusted input goes through first. html5ever's tree
/// builder looks through the stack of open elements for each start tag, so 100k nested `div`s
/// took 37 s of CPU for one RSS description and 80 s for one list page (issue 16, defect 5);
/// past the limit nothing reaches it nested.
pub fn shallow(html: &str) -> std::borrow::Cow<'_, str> {
    if nesting_depth(html) > MAX_NESTING {
        std::borrow::Cow::Owned(flatten(html))
    } else {
        std::borrow::Cow::Borrowed(html)
    }
}

/// The readable parts of markup without its nesting, in one linear pass: links (`a` with its
/// attributes), images, titles, headings, meta and link elements are kept; every other element
/// becomes a paragraph break (block elements) or nothing (inline ones); the contents of
/// `script`, `style` and `template` are dropped; text and entities are kept as written. What
/// is kept does not nest: a parser closes an open `a`, heading or `p` before the next one.
pub fn flatten(html: &str) -> String {
    const KEPT: [&str; 13] = [
        "a", "img", "title", "h1", "h2", "h3", "h4", "h5", "h6", "meta", "link", "br", "html",
    ];
    /// Elements that must not contain themselves: one still open is closed before the next.
    const UNNESTED: [&str; 8] = ["a", "title", "h1", "h2", "h3", "h4", "h5", "h6"];
    const DROPPED_CONTENT: [&str; 4] = ["script", "style", "template", "noscript"];
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    let mut skipping: Option<&str> = None;
    let mut last_was_break = false;
    let mut open: Vec<&'static str> = Vec::new();
    while i < bytes.len() {
        let Some(off) = bytes[i..].iter().position(|b| *b == b'<') else {
            if skipping.is_none() {
                out.push_str(&html[i..]);
            }
            break;
        };
        if skipping.is_none() && off > 0 {
            out.push_str(&html[i..i + off]);
            last_was_break = false;
        }
        let start = i + off;
        // the tag's end, quotes respected (a `>` inside an attribute value does not end it)
        let mut j = start + 1;
        let mut quote = None;
        while j < bytes.len() {
            match (quote, bytes[j]) {
                (None, b'"' | b'\'') => quote = Some(bytes[j]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(bytes.len());
        let tag = &html[start..end];
        let closing = tag.as_bytes().get(1) == Some(&b'/');
        let name_start = if closing { 2 } else { 1 };
        let name: String = tag
            .get(name_start..)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        i = end;
        if let Some(open) = skipping {
            if closing && name == open {
                skipping = None;
            }
            continue;
        }
        if name.is_empty() {
            // a comment, a doctype, or a lone `<`: nothing readable in the first two
            if !tag.starts_with("<!") && !tag.starts_with("<?") {
                out.push_str("&lt;");
                i = start + 1;
            }
            continue;
        }
        if !closing && let Some(d) = DROPPED_CONTENT.iter().find(|d| **d == name) {
            skipping = Some(d);
            continue;
        }
        if let Some(kept) = UNNESTED.iter().find(|k| **k == name) {
            if closing {
                if let Some(at) = open.iter().rposition(|o| o == kept) {
                    open.remove(at);
                    out.push_str(tag);
                }
            } else {
                // what is still open closes first: nothing kept nests
                for o in open.drain(..).rev() {
                    out.push_str("</");
                    out.push_str(o);
                    out.push('>');
                }
                out.push_str(tag);
                open.push(kept);
            }
            last_was_break = false;
        } else if KEPT.contains(&name.as_str()) {
            out.push_str(tag);
            last_was_break = false;
        } else if is_block(&name) && !last_was_break {
            out.push_str("<p>");
            last_was_break = true;
        }
    }
    out
}

/// Makes feed HTML safe to republish: no scripts, styles, event handlers, `javascript:` URLs,
/// iframes or forms; relative URLs resolved against `base` (the article's address) so images and
/// links still work in a reader.
pub fn sanitize(html: &str, base: Option<&Url>) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    if nesting_depth(html) > MAX_NESTING {
        // keep the words, drop the (hostile) structure; flattened first, so that parsing it
        // for its text stays linear
        return crate::parse::plain_to_html(&html_to_text(&flatten(html)));
    }
    BUILDER.with(|cell| {
        let mut builder = cell.borrow_mut();
        match base {
            Some(b) => builder.url_relative(UrlRelative::RewriteWithBase(b.clone())),
            None => builder.url_relative(UrlRelative::Deny),
        };
        let mut out = builder.clean(html).to_string();
        if out.contains("<img") {
            out = without_tracking_pixels(out);
        }
        // trimmed in place: a second copy of every article's HTML is not free
        let end = out.trim_end().len();
        out.truncate(end);
        let start = out.len() - out.trim_start().len();
        out.drain(..start);
        out
    })
}

/// Hosts whose images only count readers (Miniflux and FreshRSS strip the same kind): their
/// images are removed from content, as is any image 1×1 or 0×0 pixels big.
const TRACKING_HOSTS: &[&str] = &[
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "pixel.wp.com",
    "stats.wordpress.com",
    "www.google-analytics.com",
    "ssl.google-analytics.com",
    "pixel.quantserve.com",
    "b.scorecardresearch.com",
    "sb.scorecardresearch.com",
    "www.facebook.com",
    "ad.doubleclick.net",
    "pubads.g.doubleclick.net",
    "pixel.mathtag.com",
    "analytics.twitter.com",
    "bat.bing.com",
    "mc.yandex.ru",
    "counter.yadro.ru",
    "pi.feedsportal.com",
    "da.feedsportal.com",
    "feeds.feedblitz.com",
    "res.feedblitz.com",
];

/// Whether an `<img>` tag (as ammonia writes it: double-quoted attributes) is a tracking pixel.
fn is_tracking_pixel(tag: &str) -> bool {
    let attr = |name: &str| {
        let key = format!(" {name}=\"");
        tag.find(&key).and_then(|at| {
            let rest = &tag[at + key.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
    };
    let tiny = |v: Option<&str>| {
        v.map(|v| v.trim().trim_end_matches("px"))
            .is_some_and(|v| v == "0" || v == "1")
    };
    if tiny(attr("width")) && tiny(attr("height")) {
        return true;
    }
    attr("src")
        .and_then(|src| Url::parse(&html_escape::decode_html_entities(src)).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| TRACKING_HOSTS.contains(&host.as_str()))
}

/// `html` with its tracking pixels removed (see [`TRACKING_HOSTS`]).
fn without_tracking_pixels(html: String) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    let mut changed = false;
    while let Some(at) = rest.find("<img") {
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        out.push_str(&rest[..at]);
        if is_tracking_pixel(&rest[at..end]) {
            changed = true;
        } else {
            out.push_str(&rest[at..end]);
        }
        rest = &rest[end..];
    }
    if !changed {
        return html;
    }
    out.push_str(rest);
    out
}

thread_local! {
    /// One configured sanitizer per thread: `Builder::default()` builds its tag and attribute
    /// sets from scratch, which cost 9% of reading a feed when done per entry (perf, bench/run).
    /// Only the base URL changes between calls.
    static BUILDER: std::cell::RefCell<Builder<'static>> = std::cell::RefCell::new(builder());
}

fn builder() -> Builder<'static> {
    {
        let mut b = Builder::default();
        b.add_tags([
            "figure",
            "figcaption",
            "picture",
            "source",
            "video",
            "audio",
            "time",
            "mark",
        ])
        .add_tag_attributes(
            "img",
            [
                "src", "srcset", "alt", "title", "width", "height", "loading",
            ],
        )
        .add_tag_attributes("source", ["src", "srcset", "type", "media"])
        .add_tag_attributes("video", ["src", "poster", "controls", "width", "height"])
        .add_tag_attributes("audio", ["src", "controls"])
        .add_tag_attributes("time", ["datetime"])
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
        b
    }
}

/// Block elements: each starts a new paragraph in the plain text.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "main"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "li"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "tr"
            | "figure"
            | "figcaption"
            | "hr"
            | "address"
            | "details"
            | "summary"
    )
}

/// Plain text of an HTML fragment: paragraphs separated by one blank line, white space inside a
/// paragraph collapsed, `<br>` kept as a line break.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return paragraphs_from_plain(html);
    }
    let doc = Html::parse_fragment(html);
    let mut paras: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = flush_paragraph;
    let mut skip_depth = 0usize;
    for edge in doc.root_element().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Text(t) if skip_depth == 0 => current.push_str(t),
                Node::Element(e) => {
                    let name = e.name();
                    if matches!(name, "script" | "style" | "noscript" | "template") {
                        skip_depth += 1;
                    } else if name == "br" {
                        current.push('\n');
                    } else if is_block(name) {
                        flush(&mut current, &mut paras);
                    } else if name == "img" && skip_depth == 0 {
                        current.push(' ');
                    }
                }
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    let name = e.name();
                    if matches!(name, "script" | "style" | "noscript" | "template") {
                        skip_depth = skip_depth.saturating_sub(1);
                    } else if is_block(name) {
                        flush(&mut current, &mut paras);
                    } else if matches!(name, "td" | "th") {
                        current.push(' ');
                    }
                }
            }
        }
    }
    flush(&mut current, &mut paras);
    paras.join("\n\n")
}

/// [`html_to_text`] of markup that [`sanitize`] wrote, without parsing it again.
///
/// ammonia's output is serialized by html5ever: every tag is well formed (`<name attr="…">`,
/// `</name>`), attribute values are quoted with `"` and escape it, text escapes `&`, `<`,
/// `>` and U+00A0, and there are no comments, scripts, styles or templates. A scan of the tags
/// gives the same paragraphs as a DOM walk (the test `sanitized_text_matches_the_dom_walk`
/// holds it to that on every fixture), at a fraction of the cost: re-parsing was 13% of reading
/// a feed (perf, bench/run).
pub fn sanitized_html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return paragraphs_from_plain(html);
    }
    let mut paras: Vec<String> = Vec::new();
    let mut current = String::new();
    // the elements open at this point of the markup, innermost last
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut current, rest);
            break;
        };
        push_text(&mut current, &rest[..lt]);
        rest = &rest[lt + 1..];
        let closing = rest.starts_with('/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len() - name_start);
        let name = &rest[name_start..name_start + name_len];
        let Some(gt) = tag_end(rest) else {
            // not ammonia's output after all: fall back to the parser
            return html_to_text(html);
        };
        rest = &rest[gt + 1..];
        if !closing && reparses_differently(name, &open) {
            return html_to_text(html);
        }
        if closing {
            open.pop();
        } else if !is_void(name) {
            open.push(name);
        }
        if name == "br" && !closing {
            current.push('\n');
        } else if is_block(name) {
            flush_paragraph(&mut current, &mut paras);
        } else if (closing && matches!(name, "td" | "th")) || (name == "img" && !closing) {
            current.push(' ');
        }
    }
    flush_paragraph(&mut current, &mut paras);
    paras.join("\n\n")
}

/// Whether a start tag `name`, with `open` around it, is nesting that an HTML parser would not
/// build from this markup. ammonia serializes the tree it cleaned, and removing an element can
/// leave one the tree builder would close on reading it back (`<h1><x><h1>` cleans to
/// `<h1><h1>`, which a reader parses as two headings side by side). A scan of the tags would then
/// describe another tree than the one a reader sees, so such markup goes to the DOM walk. The
/// rules are those of the "in body" insertion mode (HTML Living Standard, 13.2.6.4.7): a block
/// start closes an open `p`; a heading closes a heading it is directly in; `li`, `dd`/`dt` and
/// `a` close one of their own kind. Tables and ruby annotations, whose tree building reorders
/// content, always go to the DOM walk. (proptest `sanitized_text_matches_the_dom_walk_on_tag_soup`
/// found the heading case.)
fn reparses_differently(name: &str, open: &[&str]) -> bool {
    /// Start tags that close an open `p` ("in body": "If the stack of open elements has a p
    /// element in button scope, close a p element").
    const CLOSES_P: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "header",
        "hgroup",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "section",
        "summary",
        "ul",
        "pre",
        "listing",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
    ];
    let heading = |n: &str| matches!(n, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
    // an open element of `kinds` that the start tag would close: the nearest one, unless a
    // block other than address, div and p stands between (a nested list is not closed)
    let closes = |kinds: &[&str]| {
        open.iter()
            .rev()
            .find(|o| kinds.contains(o) || (is_block(o) && !matches!(**o, "address" | "div" | "p")))
            .is_some_and(|o| kinds.contains(o))
    };
    matches!(
        name,
        "table"
            | "caption"
            | "colgroup"
            | "col"
            | "tbody"
            | "thead"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "ruby"
            | "rb"
            | "rt"
            | "rtc"
            | "rp"
            | "form"
    ) || (CLOSES_P.contains(&name) && open.contains(&"p"))
        || (heading(name) && open.last().is_some_and(|o| heading(o)))
        || (name == "li" && closes(&["li"]))
        || (matches!(name, "dd" | "dt") && closes(&["dd", "dt"]))
        || (name == "a" && open.contains(&"a"))
}

/// Elements without an end tag: the serializer never writes one.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "keygen"
            | "basefont"
            | "bgsound"
            | "frame"
    )
}

/// Index of the `>` that ends the tag starting at `rest` (just after its `<`), skipping `>`
/// inside quoted attribute values.
fn tag_end(rest: &str) -> Option<usize> {
    let mut in_quotes = false;
    for (i, b) in rest.bytes().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'>' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

fn push_text(current: &mut String, escaped: &str) {
    if escaped.contains('&') {
        current.push_str(&html_escape::decode_html_entities(escaped));
    } else {
        current.push_str(escaped);
    }
}

/// Ends the paragraph being collected: white space collapsed within each line, empty lines
/// dropped.
fn flush_paragraph(current: &mut String, paras: &mut Vec<String>) {
    let mut p = String::with_capacity(current.len());
    for line in current.split('\n') {
        let line_start = p.len();
        if !p.is_empty() {
            p.push('\n');
        }
        let words_start = p.len();
        for_each_word(line, |w| {
            if p.len() > words_start {
                p.push(' ');
            }
            p.push_str(w);
        });
        if p.len() == words_start {
            p.truncate(line_start); // an empty line: dropped
        }
    }
    if !p.is_empty() {
        paras.push(p);
    }
    current.clear();
}

/// Calls `f` with each white-space-separated word of `s` (Unicode white space, as
/// `str::split_whitespace`). ASCII text is split byte-wise, which is several times cheaper; the
/// one ASCII character `char::is_whitespace` counts that `split_ascii_whitespace` does not,
/// U+000B, sends text to the Unicode path.
fn for_each_word<'a>(s: &'a str, f: impl FnMut(&'a str)) {
    if s.is_ascii() && !s.contains('\u{b}') {
        s.split_ascii_whitespace().for_each(f);
    } else {
        s.split_whitespace().for_each(f);
    }
}

fn paragraphs_from_plain(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// At most `max` characters of `text` on one line, cut at a word boundary, with "…" when cut.
pub fn truncate_words(text: &str, max: usize) -> String {
    // Flatten only as much as can be kept (plus one word, to know whether it was cut), and stop
    // reading there: the summary of a long full-text article should cost neither a copy nor a
    // walk of all its words. ASCII text splits on ASCII white space, which is much cheaper (see
    // `for_each_word`).
    let (flat, chars) = if text.is_ascii() && !text.contains('\u{b}') {
        flatten_upto(text.split_ascii_whitespace(), max)
    } else {
        flatten_upto(text.split_whitespace(), max)
    };
    if chars <= max {
        return flat;
    }
    let end = if flat.is_ascii() {
        max
    } else {
        flat.char_indices().nth(max).map_or(flat.len(), |(i, _)| i)
    };
    let cut = &flat[..end];
    let at = cut.rfind(' ').filter(|i| *i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':', ' ']))
}

/// The first words joined by single spaces, until more than `max` characters are collected;
/// with the number of characters.
fn flatten_upto<'a>(words: impl Iterator<Item = &'a str>, max: usize) -> (String, usize) {
    let mut flat = String::new();
    let mut chars = 0;
    for word in words {
        if chars > max {
            break;
        }
        if !flat.is_empty() {
            flat.push(' ');
            chars += 1;
        }
        flat.push_str(word);
        chars += if word.is_ascii() {
            word.len()
        } else {
            word.chars().count()
        };
    }
    (flat, chars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tracking_pixels_are_removed_and_other_images_kept() {
        let base = Url::parse("https://news.example/a").ok();
        // (content, kept image or None)
        let cases = [
            (
                r#"<p>x</p><img src="https://cdn.example/photo.jpg" width="640" height="480">"#,
                Some("photo.jpg"),
            ),
            (
                r#"<img src="https://cdn.example/p.gif" width="1" height="1">"#,
                None,
            ),
            (
                r#"<img src="https://cdn.example/p.gif" width="0" height="0">"#,
                None,
            ),
            (r#"<img src="https://pixel.wp.com/g.gif?blog=1">"#, None),
            (
                r#"<img src="http://feeds.feedburner.com/~r/x/~4/abc">"#,
                None,
            ),
            (
                r#"<img src="https://stats.wordpress.com/b.gif" alt="">"#,
                None,
            ),
            (
                r#"<img src="/relative/chart.png" width="1" height="300">"#,
                Some("chart.png"),
            ),
        ];
        for (html, kept) in cases {
            let out = sanitize(&format!("<p>text</p>{html}"), base.as_ref());
            assert!(out.contains("<p>text</p>"), "{out}");
            match kept {
                Some(name) => assert!(out.contains(name), "{html} -> {out}"),
                None => assert!(!out.contains("<img"), "{html} -> {out}"),
            }
        }
    }

    #[test]
    fn flatten_keeps_words_links_and_headings_without_nesting() {
        let cases = [
            ("<div><div><p>a</p></div></div>", "<p>a<p>"),
            (
                "<a href=\"/1\"><a href=\"/2\">x</a></a>",
                "<a href=\"/1\"></a><a href=\"/2\">x</a>",
            ),
            ("<h1><h2>t</h2></h1>", "<h1></h1><h2>t</h2>"),
            (
                "<div>x<a href=\"/y\">link</a></div>",
                "<p>x<a href=\"/y\">link</a><p>",
            ),
            ("<span>in</span>line", "inline"),
            ("<script>var a = '<div>';</script>text", "text"),
            ("<style>p{}</style><h1>T</h1>", "<h1>T</h1>"),
            ("a < b", "a &lt; b"),
            ("<!-- c --><b>bold</b>", "bold"),
            (
                "<a title=\"x>y\" href=\"/z\">q</a>",
                "<a title=\"x>y\" href=\"/z\">q</a>",
            ),
        ];
        for (html, want) in cases {
            assert_eq!(flatten(html), want, "{html}");
        }
        let deep = format!("{}words{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert!(nesting_depth(&deep) > MAX_NESTING);
        let flat = shallow(&deep);
        assert!(nesting_depth(&flat) <= 1, "{}", &flat[..40]);
        assert_eq!(html_to_text(&flat), "words");
        assert!(matches!(
            shallow("<p>fine</p>"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    proptest! {
        /// Whatever markup comes in, the flattened form nests no deeper than one level and
        /// keeps every word of text outside tags.
        #[test]
        fn flatten_never_nests(parts in proptest::collection::vec(
            prop_oneof![
                Just("<div>".to_string()), Just("</div>".to_string()), Just("<span>".to_string()),
                Just("<a href='/x'>".to_string()), Just("</a>".to_string()), Just("<p>".to_string()),
                Just("<h2>".to_string()), Just("<script>".to_string()), Just("</script>".to_string()),
                "[a-z]{1,6}".prop_map(|w| format!(" {w} ")),
            ],
            0..200,
        )) {
            let html: String = parts.concat();
            let flat = flatten(&html);
            prop_assert!(nesting_depth(&flat) <= 1, "{}", flat);
        }
    }

    /// The fast path must say exactly what the DOM walk says about sanitizer output.
    fn assert_same_text(html: &str, base: Option<&Url>) {
        let clean = sanitize(html, base);
        assert_eq!(
            sanitized_html_to_text(&clean),
            html_to_text(&clean),
            "input: {html:?}\nsanitized: {clean:?}"
        );
    }

    #[test]
    fn sanitized_text_matches_the_dom_walk() {
        let cases = [
            "<p>One &amp; two</p><p>Three&nbsp;four</p>",
            "plain text, no markup",
            "a &lt;b&gt; not a tag &amp;amp;",
            "<ul><li>a</li>\n  <li>b <b>bold</b></li></ul>",
            "<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>",
            "<td>stray cell</td> text",
            "line<br>break<br/>again",
            "<pre>  keep\n  lines  </pre>",
            "<a href=\"/x?a=1&b=>2\" title='q\"uote>'>link &gt; text</a>",
            "<img src=\"a.png\" alt=\"pic\">after image",
            "<div><div><p>nested</p>tail</div></div>",
            "<h2>Head</h2>text<blockquote>quote</blockquote>",
            "<script>x()</script><style>p{}</style><noscript>ns</noscript>visible",
            "<p>unclosed <b>bold <i>both</p> after",
            "<!-- comment --><p>c</p>",
            "text with \u{a0}nbsp and \u{3000}ideographic space",
            "<figure><img src=\"x.jpg\"><figcaption>Cap</figcaption></figure>",
            "&#x4e2d;&#25991; &eacute;",
        ];
        let base = Url::parse("https://news.example.org/a/b.html").ok();
        for case in cases {
            assert_same_text(case, base.as_ref());
            assert_same_text(case, None);
        }
    }

    #[test]
    fn sanitized_text_matches_the_dom_walk_on_every_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut files = Vec::new();
        for sub in ["", "gaps", "site"] {
            for entry in std::fs::read_dir(dir.join(sub))
                .expect("fixtures dir")
                .flatten()
            {
                if entry.path().is_file() {
                    files.push(entry.path());
                }
            }
        }
        let corpus = dir.join("../../../shared/corpora/feeds");
        if corpus.is_dir() {
            let mut stack = vec![corpus];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        files.push(p);
                    }
                }
            }
        } else {
            eprintln!("skipping ../shared/corpora/feeds: not present (fixtures only)");
        }
        let mut fragments = 0;
        for path in files {
            let bytes = std::fs::read(&path).expect("fixture");
            let text = crate::decode::decode(&bytes, None).text;
            // pages as a whole, feeds entry by entry
            assert_same_text(&text, None);
            if let Ok(feed) = crate::parse::parse_feed(&text, None, chrono_tz::Tz::UTC) {
                for e in &feed.entries {
                    for html in [&e.content_html, &e.summary_html].into_iter().flatten() {
                        assert_same_text(html, None);
                        fragments += 1;
                    }
                }
            }
        }
        eprintln!("{fragments} feed fragments compared");
        assert!(
            fragments >= 30,
            "the fixtures hold feed content ({fragments})"
        );
    }

    proptest! {
        #[test]
        fn sanitized_text_matches_the_dom_walk_on_tag_soup(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[a-z &;<>\"'=/\n\u{a0}]{0,12}",
                    proptest::sample::select(vec![
                        "<p>", "</p>", "<br>", "<li>", "</li>", "<ul>", "</ul>", "<td>", "</td>",
                        "<table>", "<tr>", "</table>", "<b>", "</b>", "<a href=\"x>y\">", "</a>",
                        "<img src=\"i.png\">", "<pre>", "</pre>", "<div>", "</div>", "&amp;",
                        "&nbsp;", "&lt;", "<script>", "</script>", "<h1>", "</h1>", "<!--", "-->",
                        // elements ammonia removes (keeping their content) and the nesting the
                        // tree builder closes (see `reparses_differently`)
                        "<x>", "</x>", "<h2>", "</h2>", "<dl>", "<dd>", "<dt>", "</dl>", "<hr>",
                        "<ol>", "</ol>", "<blockquote>", "</blockquote>", "<span>", "</span>",
                    ]).prop_map(str::to_string),
                ],
                0..40,
            )
        ) {
            assert_same_text(&parts.concat(), None);
        }
    }

    /// ammonia drops the unknown `<aa>` and serializes `<h1><h1></h1>"</h1>a`, which a reader
    /// parses as two headings, then `"a` as one run of text: the tag scan said `"` and `a` were
    /// two paragraphs (found by the tag-soup property).
    #[test]
    fn a_heading_left_inside_a_heading_by_a_removed_element_reads_as_a_reader_parses_it() {
        let html = "<h1><aa><h1></h1>\"</h1>a";
        assert_eq!(sanitize(html, None), "<h1><h1></h1>\"</h1>a");
        assert_eq!(sanitized_html_to_text(&sanitize(html, None)), "\"a");
        // nested lists and definition lists are what they look like: no detour
        assert!(!reparses_differently("li", &["ul", "li", "ul"]));
        assert!(reparses_differently("li", &["ul", "li", "span"]));
        assert!(!reparses_differently("dd", &["dl", "dd", "dl"]));
    }

    #[test]
    fn sanitize_removes_active_content() {
        let base = Url::parse("https://news.example.org/2016/05/story.html").ok();
        let cases = [
            (
                "<p onclick=\"x()\">Hi<script>alert(1)</script></p>",
                "<p>Hi</p>",
            ),
            (
                "<a href=\"javascript:alert(1)\">x</a>",
                "<a rel=\"noopener noreferrer nofollow\">x</a>",
            ),
            (
                "<img src=\"/img/a.png\" onerror=\"x\">",
                "<img src=\"https://news.example.org/img/a.png\">",
            ),
            ("<style>p{}</style><p>ok</p>", "<p>ok</p>"),
            (
                "<iframe src=\"https://evil\"></iframe><p>ok</p>",
                "<p>ok</p>",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input, base.as_ref()), want, "{input}");
        }
    }

    #[test]
    fn text_has_blank_lines_between_paragraphs() {
        let cases = [
            ("<p>One  two</p><p>Three</p>", "One two\n\nThree"),
            (
                "<div><h2>Head</h2>Body <b>bold</b> text<br>next line</div>",
                "Head\n\nBody bold text\nnext line",
            ),
            ("<ul><li>a</li><li>b</li></ul>", "a\n\nb"),
            ("plain &amp; simple", "plain & simple"),
            ("no markup\n\nat all", "no markup\n\nat all"),
            ("<p>x<script>var a = 1;</script></p>", "x"),
        ];
        for (input, want) in cases {
            assert_eq!(html_to_text(input), want, "{input}");
        }
    }

    #[test]
    fn nesting_is_measured_without_counting_sloppy_markup() {
        let cases = [
            ("<div><div><span>x</span></div></div>", 3),
            ("<p>a<p>b<p>c<li>d<br><img src=x>", 0),
            ("<div/><div/><div/>", 0),
            ("<!-- <div> --> text", 1),
            ("", 0),
        ];
        for (html, want) in cases {
            assert_eq!(nesting_depth(html), want, "{html}");
        }
        let deep = format!("{}x{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert_eq!(nesting_depth(&deep), 5000);
        // the sanitizer does not walk it as a tree, and keeps the text
        assert_eq!(sanitize(&deep, None), "<p>x</p>");
    }

    #[test]
    fn truncation_at_word_boundary() {
        assert_eq!(
            truncate_words("one two three four", 100),
            "one two three four"
        );
        assert_eq!(truncate_words("one two three four", 12), "one two…");
    }

    /// What `truncate_words` promises, written the slow way: flatten it all, then cut.
    fn truncate_reference(text: &str, max: usize) -> String {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= max {
            return flat;
        }
        let end = flat.char_indices().nth(max).map_or(flat.len(), |(i, _)| i);
        let cut = &flat[..end];
        let at = cut.rfind(' ').filter(|i| *i > max / 2).unwrap_or(cut.len());
        format!("{}…", cut[..at].trim_end_matches([',', ';', ':', ' ']))
    }

    /// What `flush_paragraph` promises, written the slow way.
    fn paragraph_reference(text: &str) -> Vec<String> {
        let p = text
            .split('\n')
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if p.is_empty() { Vec::new() } else { vec![p] }
    }

    proptest! {
        #[test]
        fn a_paragraph_collapses_as_splitting_lines_then_words_does(
            text in "([a-z]{0,5}|[\\t\\n\\r\\x0b\\x0c ]{1,3}|[é\u{a0}]{1,2}){0,40}",
        ) {
            let (mut current, mut paras) = (text.clone(), Vec::new());
            flush_paragraph(&mut current, &mut paras);
            prop_assert_eq!(paras, paragraph_reference(&text));
            prop_assert!(current.is_empty());
        }
    }

    proptest! {
        #[test]
        fn truncation_stops_early_but_says_what_flattening_all_of_it_says(
            text in "([a-z,;:]{0,9}|[\\t\\n\\x0b \u{a0}\u{3000}]{1,3}|[é中文]{1,4}){0,80}",
            max in 0usize..60,
        ) {
            prop_assert_eq!(truncate_words(&text, max), truncate_reference(&text, max));
        }
    }
}
