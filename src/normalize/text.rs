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
        let name = html[start..start + len].to_ascii_lowercase();
        if NOT_COUNTED.contains(&name.as_str()) {
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

/// Makes feed HTML safe to republish: no scripts, styles, event handlers, `javascript:` URLs,
/// iframes or forms; relative URLs resolved against `base` (the article's address) so images and
/// links still work in a reader.
pub fn sanitize(html: &str, base: Option<&Url>) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    if nesting_depth(html) > MAX_NESTING {
        // keep the words, drop the (hostile) structure
        return crate::parse::plain_to_html(&html_to_text(html));
    }
    let mut builder = builder();
    match base {
        Some(b) => builder.url_relative(UrlRelative::RewriteWithBase(b.clone())),
        None => builder.url_relative(UrlRelative::Deny),
    };
    builder.clean(html).to_string().trim().to_string()
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
    let flush = |current: &mut String, paras: &mut Vec<String>| {
        let p = current
            .split('\n')
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if !p.is_empty() {
            paras.push(p);
        }
        current.clear();
    };
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

fn paragraphs_from_plain(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// At most `max` characters of `text` on one line, cut at a word boundary, with "…" when cut.
pub fn truncate_words(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let at = cut.rfind(' ').filter(|i| *i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
