//! Repairs for the ways real feeds break feed-rs 3. Each function fixes one known gap, changes
//! nothing else, and is cheap when there is nothing to fix. [`always`] runs before every parse;
//! [`on_failure`] only when feed-rs rejected the document, so well-formed feeds pay nothing.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

/// The link injected into an RSS 1.0 item that has none, so feed-rs keeps the item;
/// stripped again when the entry is read.
pub const MISSING_LINK: &str = "urn:x-gazette:missing-link";

/// Fixes that must always run because feed-rs would otherwise *silently* lose data.
pub fn always(text: &str, repairs: &mut Vec<&'static str>) -> String {
    let mut out = Cow::Borrowed(text);
    if let Cow::Owned(s) = rss_version(&out) {
        repairs.push("rss version set to 2.0");
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = rdf_item_links(&out) {
        repairs.push("RSS 1.0 items without <link> kept");
        out = Cow::Owned(s);
    }
    out.into_owned()
}

/// Fixes for documents feed-rs rejected: undeclared entities, bare ampersands, Atom text
/// constructs with MIME types or no content.
pub fn on_failure(text: &str, repairs: &mut Vec<&'static str>) -> String {
    let mut out = Cow::Borrowed(text);
    if let Cow::Owned(s) = entities(&out) {
        repairs.push("bare '&' and HTML entities escaped");
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = atom_text_types(&out) {
        repairs.push("Atom text types normalized");
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = empty_text_elements(&out) {
        repairs.push("empty Atom text elements removed");
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = rss_without_channel(&out) {
        repairs.push("empty <rss> given a channel");
        out = Cow::Owned(s);
    }
    if let Cow::Owned(s) = json_feed_version(&out) {
        repairs.push("JSON Feed version normalized");
        out = Cow::Owned(s);
    }
    out.into_owned()
}

/// `<rss version="2.0"></rss>`: a feed with nothing in it yet. feed-rs wants a channel; an
/// empty one says the same thing.
fn rss_without_channel(text: &str) -> Cow<'_, str> {
    if text.contains("<rss")
        && !text.contains("<channel")
        && let Some(end) = text.rfind("</rss>")
    {
        return Cow::Owned(format!(
            "{}<channel></channel>{}",
            &text[..end],
            &text[end..]
        ));
    }
    Cow::Borrowed(text)
}

/// feed-rs accepts only `"version": "https://jsonfeed.org/version/1…"`; publishers also write
/// "1.1", "http://…" or nothing, and sometimes leave out the required `title`. Anything shaped
/// like a JSON Feed (an object with `items`) is read as JSON Feed 1.1, which is backwards
/// compatible with 1.0.
fn json_feed_version(text: &str) -> Cow<'_, str> {
    if !text.trim_start().starts_with('{') {
        return Cow::Borrowed(text);
    }
    let Ok(serde_json::Value::Object(mut doc)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Cow::Borrowed(text);
    };
    let version_ok = doc
        .get("version")
        .and_then(|v| v.as_str())
        .is_some_and(|v| v.starts_with("https://jsonfeed.org/version/1"));
    let has_title = doc.get("title").is_some_and(|t| t.is_string());
    if (version_ok && has_title) || !doc.get("items").is_some_and(|i| i.is_array()) {
        return Cow::Borrowed(text);
    }
    doc.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    // `title` is required by the spec and by feed-rs, but a feed without one still has items
    doc.entry("title").or_insert_with(|| "".into());
    match serde_json::to_string(&doc) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(text),
    }
}

/// `<rss>` without `version`, or with 0.93/0.94/2.01/…: feed-rs only dispatches on "2.0",
/// "0.91" and "0.92". They are all read by the RSS 2.0 rules, which are a superset.
fn rss_version(text: &str) -> Cow<'_, str> {
    static ROOT: OnceLock<Regex> = OnceLock::new();
    static VERSION: OnceLock<Regex> = OnceLock::new();
    let root = ROOT.get_or_init(|| Regex::new(r"<rss(\s[^>]*)?>").expect("static regex"));
    let version = VERSION
        .get_or_init(|| Regex::new(r#"\sversion\s*=\s*["']([^"']*)["']"#).expect("static regex"));
    let Some(m) = root.find(text) else {
        return Cow::Borrowed(text);
    };
    let tag = m.as_str();
    let new_tag = match version.captures(tag) {
        Some(c) if matches!(&c[1], "2.0" | "0.91" | "0.92") => return Cow::Borrowed(text),
        Some(c) => tag.replacen(&c[0], " version=\"2.0\"", 1),
        None => tag.replacen("<rss", "<rss version=\"2.0\"", 1),
    };
    Cow::Owned(format!(
        "{}{}{}",
        &text[..m.start()],
        new_tag,
        &text[m.end()..]
    ))
}

/// feed-rs drops RSS 1.0 items without `<link>`; give them their `rdf:about` (or a marker).
fn rdf_item_links(text: &str) -> Cow<'_, str> {
    static ITEM: OnceLock<Regex> = OnceLock::new();
    static ABOUT: OnceLock<Regex> = OnceLock::new();
    if !text.contains("RDF") {
        return Cow::Borrowed(text);
    }
    let item =
        ITEM.get_or_init(|| Regex::new(r"(?s)<item(\s[^>]*)?>(.*?)</item>").expect("static regex"));
    let about = ABOUT
        .get_or_init(|| Regex::new(r#"rdf:about\s*=\s*["']([^"']+)["']"#).expect("static regex"));
    let mut changed = false;
    let out = item.replace_all(text, |c: &Captures<'_>| {
        let body = c.get(2).map_or("", |m| m.as_str());
        if body.contains("<link") {
            return c[0].to_string();
        }
        changed = true;
        let attrs = c.get(1).map_or("", |m| m.as_str());
        let link = about
            .captures(attrs)
            .map_or(MISSING_LINK.to_string(), |a| a[1].to_string());
        format!("<item{attrs}><link>{link}</link>{body}</item>")
    });
    if changed {
        Cow::Owned(out.into_owned())
    } else {
        Cow::Borrowed(text)
    }
}

/// XML knows five named entities; feeds written by HTML tools use all of HTML's, and bare `&`.
/// Outside CDATA sections and comments: a known HTML entity becomes a numeric reference, any other
/// `&` that does not start a valid reference becomes `&amp;`.
fn entities(text: &str) -> Cow<'_, str> {
    static AMP: OnceLock<Regex> = OnceLock::new();
    let amp = AMP.get_or_init(|| {
        Regex::new(r"(?s)<!\[CDATA\[.*?\]\]>|<!--.*?-->|&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)?")
            .expect("static regex")
    });
    let mut changed = false;
    let out = amp.replace_all(text, |c: &Captures<'_>| {
        let whole = &c[0];
        if !whole.starts_with('&') {
            return whole.to_string(); // CDATA or comment: untouched
        }
        match c.get(1).map(|m| m.as_str()) {
            None => {
                changed = true;
                "&amp;".to_string()
            }
            Some(r) if r.starts_with('#') => whole.to_string(),
            Some("amp;" | "lt;" | "gt;" | "quot;" | "apos;") => whole.to_string(),
            Some(_) => {
                changed = true;
                let decoded = html_escape::decode_html_entities(whole);
                if decoded == whole {
                    format!("&amp;{}", &whole[1..])
                } else {
                    decoded
                        .chars()
                        .map(|ch| format!("&#{};", ch as u32))
                        .collect()
                }
            }
        }
    });
    if changed {
        Cow::Owned(out.into_owned())
    } else {
        Cow::Borrowed(text)
    }
}

/// Atom text constructs (RFC 4287 §3.1) take "text", "html" or "xhtml"; feeds write MIME types,
/// which make feed-rs abort the whole feed.
fn atom_text_types(text: &str) -> Cow<'_, str> {
    static TAG: OnceLock<Regex> = OnceLock::new();
    let tag = TAG.get_or_init(|| {
        Regex::new(r#"<((?:\w+:)?(?:title|summary|subtitle|rights|content))(\s[^>]*?)\btype\s*=\s*["']([^"']*)["']"#)
            .expect("static regex")
    });
    let mut changed = false;
    let out = tag.replace_all(text, |c: &Captures<'_>| {
        let name = &c[1];
        let is_content = name.ends_with("content");
        let ty = c[3].trim().to_ascii_lowercase();
        let fixed = match ty.as_str() {
            "text" | "html" | "xhtml" => None,
            "text/plain" => Some("text"),
            "text/html" if !is_content => Some("html"),
            "application/xhtml+xml" => Some("xhtml"),
            "" => Some("text"),
            _ if !is_content => Some("text"),
            _ => None,
        };
        match fixed {
            Some(t) => {
                changed = true;
                format!("<{}{}type=\"{t}\"", name, &c[2])
            }
            None => c[0].to_string(),
        }
    });
    if changed {
        Cow::Owned(out.into_owned())
    } else {
        Cow::Borrowed(text)
    }
}

/// `<summary/>`, `<content type="html"></content>`: feed-rs treats an empty text construct as an
/// error for the whole feed. An empty element says nothing, so it is dropped.
fn empty_text_elements(text: &str) -> Cow<'_, str> {
    static EMPTY: OnceLock<Regex> = OnceLock::new();
    let empty = EMPTY.get_or_init(|| {
        Regex::new(r"<((?:\w+:)?(?:title|summary|subtitle|rights|content))(?:\s[^>]*?)?(?:/>|>\s*</(?:\w+:)?(?:title|summary|subtitle|rights|content)>)")
            .expect("static regex")
    });
    let mut changed = false;
    let out = empty.replace_all(text, |c: &Captures<'_>| {
        // an element with src="" is empty by design (out-of-line content) and legal
        if c[0].contains("src=") {
            c[0].to_string()
        } else {
            changed = true;
            String::new()
        }
    });
    if changed {
        Cow::Owned(out.into_owned())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_versions() {
        let cases = [
            (
                "<rss><channel/></rss>",
                "<rss version=\"2.0\"><channel/></rss>",
            ),
            ("<rss version=\"0.93\">", "<rss version=\"2.0\">"),
            (
                "<rss xmlns:a='x' version='2.01'>",
                "<rss xmlns:a='x' version=\"2.0\">",
            ),
            ("<rss version=\"2.0\">", "<rss version=\"2.0\">"),
            ("<rss version=\"0.91\">", "<rss version=\"0.91\">"),
            ("<feed>", "<feed>"),
        ];
        for (input, want) in cases {
            assert_eq!(rss_version(input), want, "{input}");
        }
    }

    #[test]
    fn entity_repairs() {
        let cases = [
            ("<t>AT&T &amp; co</t>", "<t>AT&amp;T &amp; co</t>"),
            ("<t>caf&eacute;&nbsp;x</t>", "<t>caf&#233;&#160;x</t>"),
            ("<t>&#233; &#xE9; &lt;</t>", "<t>&#233; &#xE9; &lt;</t>"),
            ("<t>&bogus; x</t>", "<t>&amp;bogus; x</t>"),
            (
                "<t><![CDATA[a & b &nbsp;]]> & </t>",
                "<t><![CDATA[a & b &nbsp;]]> &amp; </t>",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(entities(input), want, "{input}");
        }
    }

    #[test]
    fn atom_types_and_empty_elements() {
        assert_eq!(
            atom_text_types(
                "<summary type=\"text/plain\">x</summary><content type=\"image/png\">AA==</content>"
            ),
            "<summary type=\"text\">x</summary><content type=\"image/png\">AA==</content>"
        );
        assert_eq!(
            empty_text_elements(
                "<entry><summary/><content type=\"html\"></content><title>x</title></entry>"
            ),
            "<entry><title>x</title></entry>"
        );
    }

    #[test]
    fn json_feed_versions() {
        let fixed = json_feed_version(r#"{"version": "1.1", "title": "t", "items": []}"#);
        assert!(
            fixed.contains("https://jsonfeed.org/version/1.1"),
            "{fixed}"
        );
        let missing = json_feed_version(r#"{"title": "t", "items": []}"#);
        assert!(missing.contains("https://jsonfeed.org/version/1.1"));
        let fine = r#"{"version": "https://jsonfeed.org/version/1", "title": "t", "items": []}"#;
        assert!(matches!(json_feed_version(fine), Cow::Borrowed(_)));
        assert!(matches!(
            json_feed_version(r#"{"not": "a feed"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn rdf_items_get_links() {
        let doc = "<rdf:RDF><item rdf:about=\"http://x/1\"><title>a</title></item><item><title>b</title></item></rdf:RDF>";
        let out = rdf_item_links(doc);
        assert!(out.contains("<link>http://x/1</link>"));
        assert!(out.contains(&format!("<link>{MISSING_LINK}</link>")));
    }
}
