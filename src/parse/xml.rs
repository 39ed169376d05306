//! A forgiving XML tree for feed documents: namespaces resolved to the vocabularies feeds use,
//! `xml:base` and `xml:lang` inherited (XML Base §4.2, XML 1.0 §2.12), every HTML named entity
//! decoded, mismatched end tags and bare ampersands tolerated. It is the ground the gazette
//! reader in [`super::rss`] and [`super::atom`] stands on where feed-rs is strict or silent: a
//! publisher's broken end tag or unknown default namespace must not cost a source its entries.

use std::borrow::Cow;
use std::rc::Rc;

use quick_xml::events::Event;
use url::Url;

/// The vocabularies gazette reads, whatever URI (or prefix, when undeclared) names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// No namespace.
    None,
    /// RSS 0.90/1.0/1.1 and the Userland RSS 2.0 namespaces: read as plain RSS elements.
    Rss,
    /// Atom 1.0 (RFC 4287) and Atom 0.3.
    Atom,
    Dc,
    DcTerms,
    Content,
    Media,
    Itunes,
    Rdf,
    Xhtml,
    Other,
}

impl Ns {
    fn from_uri(uri: &str) -> Ns {
        let u = uri.trim().trim_end_matches('/');
        match u.to_ascii_lowercase().as_str() {
            "" => Ns::None,
            "http://purl.org/rss/1.0"
            | "http://backend.userland.com/rss2"
            | "http://backend.userland.com/rss"
            | "http://purl.org/net/rss1.1#"
            | "http://my.netscape.com/rdf/simple/0.9"
            | "http://channel.netscape.com/rdf/simple/0.9"
            | "http://blogs.law.harvard.edu/tech/rss" => Ns::Rss,
            "http://www.w3.org/2005/atom" | "http://purl.org/atom/ns#" => Ns::Atom,
            "http://purl.org/dc/elements/1.1" | "http://purl.org/dc/elements/1.0" => Ns::Dc,
            "http://purl.org/dc/terms" => Ns::DcTerms,
            "http://purl.org/rss/1.0/modules/content" => Ns::Content,
            "http://search.yahoo.com/mrss" | "http://video.search.yahoo.com/mrss" => Ns::Media,
            "http://www.itunes.com/dtds/podcast-1.0.dtd"
            | "https://www.itunes.com/dtds/podcast-1.0.dtd" => Ns::Itunes,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            "http://www.w3.org/1999/xhtml" => Ns::Xhtml,
            _ => Ns::Other,
        }
    }

    /// Prefixes that publishers use without declaring them (feedparser reads them too).
    fn from_prefix(prefix: &str) -> Ns {
        match prefix {
            "dc" => Ns::Dc,
            "dcterms" => Ns::DcTerms,
            "content" => Ns::Content,
            "media" => Ns::Media,
            "itunes" => Ns::Itunes,
            "atom" | "atom10" | "atom03" => Ns::Atom,
            "rdf" => Ns::Rdf,
            "xhtml" => Ns::Xhtml,
            _ => Ns::Other,
        }
    }
}

/// One element, with what it inherits.
#[derive(Debug, Clone)]
pub struct Element {
    pub ns: Ns,
    /// Local name, as written.
    pub name: String,
    /// (namespace, local name, decoded value); `xmlns` declarations are not kept.
    pub attrs: Vec<(Ns, String, String)>,
    pub children: Vec<Node>,
    /// The effective base URI (`xml:base` resolved through the ancestors, else the document's).
    pub base: Option<Rc<Url>>,
    /// The effective `xml:lang`.
    pub lang: Option<Rc<str>>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Elements nested deeper than this are read as text: no feed needs it, and a hostile document
/// must not make the tree (or its readers' recursion) unbounded.
const MAX_DEPTH: usize = 256;

/// Whether the document is XML gazette can build a tree of. `None`: not XML at all.
pub fn parse(text: &str, url: Option<&Url>) -> Option<Element> {
    let mut reader = quick_xml::Reader::from_str(text);
    {
        let c = reader.config_mut();
        c.allow_dangling_amp = true;
        c.allow_unmatched_ends = true;
        c.check_end_names = false;
        c.check_comments = false;
        c.expand_empty_elements = false;
    }
    let doc_base = url.cloned().map(Rc::new);
    // the open elements, with the namespace declarations each brought
    let mut stack: Vec<(Element, Vec<(String, Ns)>)> = Vec::new();
    let mut root: Option<Element> = None;
    let mut deep = 0usize; // elements open beyond MAX_DEPTH
    // a document broken past some point: what was read up to it stands
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if stack.len() >= MAX_DEPTH {
                    deep += usize::from(!empty);
                    continue;
                }
                let (el, decls) = open(e, &stack, doc_base.as_ref());
                if empty {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push((el, decls));
                }
            }
            Event::End(_) => {
                if deep > 0 {
                    deep -= 1;
                } else if let Some((el, _)) = stack.pop() {
                    attach(&mut stack, &mut root, el);
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => push_text(&mut stack, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let decoded = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    _ => entity(&name).unwrap_or_else(|| Cow::Owned(format!("&{name};"))),
                };
                push_text(&mut stack, &decoded);
            }
            Event::Eof => break,
            _ => {}
        }
        if root.is_some() && stack.is_empty() {
            break;
        }
    }
    // an unclosed document: close what is open
    while let Some((el, _)) = stack.pop() {
        attach(&mut stack, &mut root, el);
    }
    root
}

fn attach(stack: &mut [(Element, Vec<(String, Ns)>)], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(Node::Element(el)),
        None => {
            if root.is_none() {
                *root = Some(el);
            }
        }
    }
}

fn push_text(stack: &mut [(Element, Vec<(String, Ns)>)], text: &str) {
    // C0 controls are not XML characters (XML 1.0 §2.2); republished, they would make the
    // output unreadable, so they go here
    let cleaned;
    let suspect = text.bytes().any(|b| {
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || matches!(b, 0x7f | 0xc2 | 0xef)
    });
    let text = if suspect && text.chars().any(is_forbidden) {
        cleaned = text
            .chars()
            .filter(|c| !is_forbidden(*c))
            .collect::<String>();
        cleaned.as_str()
    } else {
        text
    };
    if let Some((parent, _)) = stack.last_mut() {
        if let Some(Node::Text(t)) = parent.children.last_mut() {
            t.push_str(text);
        } else {
            parent.children.push(Node::Text(text.to_string()));
        }
    }
}

fn is_forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
}

fn resolve(prefix: &str, stack: &[(Element, Vec<(String, Ns)>)], own: &[(String, Ns)]) -> Ns {
    let declared = own
        .iter()
        .rev()
        .chain(stack.iter().rev().flat_map(|(_, d)| d.iter().rev()))
        .find(|(p, _)| p == prefix)
        .map(|(_, ns)| *ns);
    match declared {
        Some(ns) => ns,
        None if prefix.is_empty() => Ns::None,
        None => Ns::from_prefix(prefix),
    }
}

fn open(
    e: &quick_xml::events::BytesStart<'_>,
    stack: &[(Element, Vec<(String, Ns)>)],
    doc_base: Option<&Rc<Url>>,
) -> (Element, Vec<(String, Ns)>) {
    let qname = e.name();
    let (prefix, local) = split(qname.as_ref());
    let mut decls = Vec::new();
    let mut raw_attrs = Vec::new();
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    for a in attrs.flatten() {
        let key = a.key.as_ref();
        let value = unescape(&a.value).into_owned();
        if key == "xmlns" {
            decls.push((String::new(), Ns::from_uri(&value)));
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            decls.push((p.to_string(), Ns::from_uri(&value)));
        } else {
            raw_attrs.push((key.to_string(), value));
        }
    }
    let parent = stack.last().map(|(p, _)| p);
    let mut base = parent.map_or_else(|| doc_base.cloned(), |p| p.base.clone());
    let mut lang = parent.and_then(|p| p.lang.clone());
    let mut out_attrs = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        match key.as_str() {
            "xml:base" => {
                let joined = match &base {
                    Some(b) => b.join(value.trim()).ok(),
                    None => Url::parse(value.trim()).ok(),
                };
                if let Some(u) = joined {
                    base = Some(Rc::new(u));
                }
            }
            "xml:lang" => {
                let v = value.trim();
                lang = (!v.is_empty()).then(|| Rc::from(v));
            }
            _ => {
                let (p, l) = split(&key);
                let ns = if p.is_empty() {
                    Ns::None // unprefixed attributes are in no namespace (Namespaces in XML §6.2)
                } else {
                    resolve(p, stack, &decls)
                };
                out_attrs.push((ns, l.to_string(), value));
            }
        }
    }
    let ns = resolve(prefix, stack, &decls);
    (
        Element {
            ns,
            name: local.to_string(),
            attrs: out_attrs,
            children: Vec::new(),
            base,
            lang,
        },
        decls,
    )
}

fn split(qname: &str) -> (&str, &str) {
    qname.split_once(':').unwrap_or(("", qname))
}

/// The five XML entities and every HTML named entity (feeds use `&nbsp;`, `&eacute;`, `&zwnj;`
/// without declaring them); `None` for names that are neither.
fn entity(name: &str) -> Option<Cow<'static, str>> {
    let xml = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => {
            let probe = format!("&{name};");
            return match html_escape::decode_html_entities(&probe) {
                Cow::Owned(s) if s != probe => Some(Cow::Owned(s)),
                _ => None,
            };
        }
    };
    Some(Cow::Borrowed(xml))
}

/// Decodes references in an attribute value: numeric, XML and HTML named; a bare `&` stays.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| c == ';' || c == '&' || c.is_whitespace() || c == '<')
            .filter(|e| after.as_bytes().get(*e) == Some(&b';') && *e > 0 && *e <= 32);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let value = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse().ok(),
                };
                n.and_then(char::from_u32)
                    .map(|c| Cow::Owned(c.to_string()))
            } else {
                entity(name)
            };
            value.map(|v| (v, e))
        });
        match decoded {
            Some((v, e)) => {
                out.push_str(&v);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

impl Element {
    /// Whether this is `name` in vocabulary `ns`.
    pub fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child `name` in `ns`.
    pub fn child(&self, ns: Ns, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, name))
    }

    /// An attribute in no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, n, _)| *ns == Ns::None && n == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// An attribute in a given namespace (`rdf:about`).
    pub fn attr_ns(&self, ns: Ns, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, n, _)| *a == ns && n == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// All text inside, markup removed.
    pub fn text(&self) -> Cow<'_, str> {
        match self.children.as_slice() {
            [] => Cow::Borrowed(""),
            [Node::Text(t)] => Cow::Borrowed(t.as_str()),
            _ => {
                let mut out = String::new();
                self.collect_text(&mut out);
                Cow::Owned(out)
            }
        }
    }

    fn collect_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
            }
        }
    }

    /// The trimmed text, `None` when empty.
    pub fn value(&self) -> Option<String> {
        let t = self.text();
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    pub fn has_element_children(&self) -> bool {
        self.elements().next().is_some()
    }

    /// The children as HTML: text escaped, elements written with their attributes (prefixes
    /// dropped, as an HTML reader sees them).
    pub fn inner_html(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            write_html(n, &mut out, true);
        }
        out
    }

    /// The children as markup whose text is already HTML (`type="html"` content with elements
    /// written into it): text is written as it is.
    pub fn inner_markup(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            write_html(n, &mut out, false);
        }
        out
    }

    /// `href` (or another reference) resolved against this element's base, as an IRI: the
    /// non-ASCII characters the publisher wrote stay characters (RFC 3987 §3.2).
    pub fn resolve(&self, reference: &str) -> String {
        let r = reference.trim();
        match &self.base {
            Some(b) => b
                .join(r)
                .map_or_else(|_| r.to_string(), |u| iri(u.as_str()).into_owned()),
            None => r.to_string(),
        }
    }
}

/// A URI with its percent-encoded UTF-8 turned back into the characters (RFC 3987 §3.2): only
/// runs that decode to non-ASCII characters, so `%20` or `%2F` keep their meaning.
pub fn iri(uri: &str) -> Cow<'_, str> {
    if !uri.contains("%") {
        return Cow::Borrowed(uri);
    }
    let bytes = uri.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = String::with_capacity(uri.len());
    let mut i = 0;
    while i < bytes.len() {
        // a run of %XX escapes whose bytes are all >= 0x80
        let mut run = Vec::new();
        let mut j = i;
        while j + 2 < bytes.len() && bytes[j] == b'%' {
            match (hex(bytes[j + 1]), hex(bytes[j + 2])) {
                (Some(h), Some(l)) if h * 16 + l >= 0x80 => {
                    run.push(h * 16 + l);
                    j += 3;
                }
                _ => break,
            }
        }
        match std::str::from_utf8(&run) {
            Ok(text) if !run.is_empty() => {
                out.push_str(text);
                i = j;
            }
            _ => {
                let ch = uri[i..].chars().next().unwrap_or('%');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    Cow::Owned(out)
}

fn write_html(node: &Node, out: &mut String, escape: bool) {
    match node {
        Node::Text(t) if escape => out.push_str(&html_escape::encode_text(t)),
        Node::Text(t) => out.push_str(t),
        Node::Element(e) => {
            out.push('<');
            out.push_str(&e.name);
            for (_, k, v) in &e.attrs {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                // references in markup resolve against the element's own base (xml:base)
                let v = if matches!(k.as_str(), "href" | "src") {
                    Cow::Owned(e.resolve(v))
                } else {
                    Cow::Borrowed(v.as_str())
                };
                out.push_str(&html_escape::encode_double_quoted_attribute(&v));
                out.push('"');
            }
            out.push('>');
            for c in &e.children {
                write_html(c, out, escape);
            }
            if !is_void(&e.name) {
                out.push_str("</");
                out.push_str(&e.name);
                out.push('>');
            }
        }
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "img"
            | "hr"
            | "input"
            | "meta"
            | "link"
            | "area"
            | "base"
            | "col"
            | "embed"
            | "source"
            | "track"
            | "wbr"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_of_every_kind_decode() {
        let cases = [
            ("a &amp; b", "a & b"),
            ("caf&eacute;", "caf\u{e9}"),
            ("l&apos;&eacute;t&eacute;", "l'\u{e9}t\u{e9}"),
            ("a&zwnj;b", "a\u{200c}b"),
            ("&#8217;&#x2019;", "\u{2019}\u{2019}"),
            ("AT&T", "AT&T"),
            ("&unknown; stays", "&unknown; stays"),
        ];
        for (raw, want) in cases {
            let doc = format!("<t a=\"{raw}\">{raw}</t>");
            let root = parse(&doc, None).expect("xml");
            assert_eq!(root.text(), want, "text {raw}");
            assert_eq!(root.attr("a"), Some(want), "attribute {raw}");
        }
    }

    #[test]
    fn namespaces_resolve_by_uri_and_by_known_prefix() {
        let doc = r#"<rss xmlns="http://backend.userland.com/rss2" xmlns:x="http://purl.org/dc/elements/1.1/"><channel><x:creator>a</x:creator><dc:date>d</dc:date><foo:bar/></channel></rss>"#;
        let root = parse(doc, None).expect("xml");
        assert_eq!(root.ns, Ns::Rss);
        let channel = root.child(Ns::Rss, "channel").expect("channel");
        assert!(channel.child(Ns::Dc, "creator").is_some());
        assert!(channel.child(Ns::Dc, "date").is_some());
        assert!(channel.child(Ns::Other, "bar").is_some());
    }

    #[test]
    fn mismatched_end_tags_and_truncation_keep_what_was_read() {
        let root = parse("<feed><title>a</subtitle><entry><id>1</id>", None).expect("xml");
        assert_eq!(root.text(), "a1");
    }

    #[test]
    fn xml_base_and_lang_inherit() {
        let doc = r#"<feed xml:base="http://example.org/a/" xml:lang="fr"><entry xml:base="b/"><link href="c"/></entry></feed>"#;
        let root = parse(doc, Url::parse("http://doc.example/feed").ok().as_ref()).expect("xml");
        let entry = root.elements().next().expect("entry");
        let link = entry.elements().next().expect("link");
        assert_eq!(link.resolve("c"), "http://example.org/a/b/c");
        assert_eq!(link.lang.as_deref(), Some("fr"));
    }

    #[test]
    fn non_ascii_references_stay_iris() {
        let cases = [
            (
                "http://example.org/caf%C3%A9/%E7%9F%A5",
                "http://example.org/caf\u{e9}/\u{77e5}",
            ),
            (
                "http://example.org/a%20b/%2F",
                "http://example.org/a%20b/%2F",
            ),
            ("http://example.org/%C3", "http://example.org/%C3"),
            ("http://example.org/plain", "http://example.org/plain"),
        ];
        for (uri, want) in cases {
            assert_eq!(iri(uri), want, "{uri}");
        }
        let doc = "<feed xml:base=\"http://example.org/caf\u{e9}/\"><link href=\"\u{77e5}\u{8bc6}.html\"/></feed>";
        let root = parse(doc, None).expect("xml");
        let link = root.elements().next().expect("link");
        assert_eq!(
            link.resolve("\u{77e5}\u{8bc6}.html"),
            "http://example.org/caf\u{e9}/\u{77e5}\u{8bc6}.html"
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let doc = format!("<r>{}x{}</r>", "<a>".repeat(10_000), "</a>".repeat(10_000));
        let root = parse(&doc, None).expect("xml");
        assert_eq!(root.text(), "x");
    }

    #[test]
    fn not_xml_is_none() {
        assert!(parse("{\"version\": 1}", None).is_none());
    }
}
