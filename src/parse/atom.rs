//! Atom 1.0 (RFC 4287) and Atom 0.3, read from the forgiving tree: text constructs by their
//! type and mode, `xml:base` through every level, authors inherited from the entry's `source`
//! and then the feed (RFC 4287 §4.2.1), and the extension vocabularies as fallbacks.

use chrono_tz::Tz;

use super::constructs::{self, atom_person, atom_text, extensions, push_enclosure};
use super::dates::parse_date;
use super::xml::{Element, Ns};
use super::{Entry, FeedMeta, ParsedFeed};

/// The document as Atom, when its root is `<feed>`.
pub fn read(root: &Element, tz: Tz) -> Option<ParsedFeed> {
    if root.name != "feed" || !matches!(root.ns, Ns::Atom | Ns::None | Ns::Other) {
        return None;
    }
    let atom = |e: &Element| e.ns == root.ns;
    let child = |parent, names| child_in(parent, root.ns, names);
    let date = |parent: &Element, names: &[&str]| {
        names.iter().find_map(|n| {
            parent
                .elements()
                .filter(|e| atom(e) && e.name == *n)
                .find_map(|e| e.value().and_then(|v| parse_date(&v, tz)))
        })
    };
    let authors_of = |el: &Element| -> Vec<(String, Option<String>)> {
        el.elements()
            .filter(|e| atom(e) && e.name == "author")
            .filter_map(atom_person)
            .collect()
    };
    let version = root.attr("version").unwrap_or("1.0");
    let x = extensions(root, tz);
    let mut feed_authors = authors_of(root);
    if feed_authors.is_empty() {
        feed_authors = x.authors;
    }
    let meta = FeedMeta {
        title: child(root, &["title"])
            .and_then(atom_text)
            .map(|t| t.plain())
            .filter(|t| !t.is_empty())
            .or_else(|| x.title.map(|t| t.plain())),
        link: alternate(root, &atom),
        description: child(root, &["subtitle", "tagline"])
            .and_then(atom_text)
            .map(|t| t.plain())
            .filter(|t| !t.is_empty())
            .or_else(|| x.description.map(|t| t.plain())),
        language: root.lang.as_deref().map(str::to_string).or(x.language),
        updated: date(root, &["updated", "modified"]).or(x.updated),
        author: feed_authors.first().map(|(n, _)| n.clone()),
        image: child(root, &["logo", "icon"])
            .and_then(|i| i.value().map(|v| i.resolve(&v)))
            .or(x.image),
        format: if version.starts_with("0.") {
            "Atom 0.3"
        } else {
            "Atom"
        },
        ttl: None,
    };
    let entries: Vec<Entry> = root
        .elements()
        .filter(|e| atom(e) && e.name == "entry")
        .map(|el| {
            let mut entry = Entry {
                title_is_plain: true,
                ..Entry::default()
            };
            entry.guid = child(el, &["id"]).and_then(Element::value);
            entry.title = child(el, &["title"])
                .and_then(atom_text)
                .map(|t| t.plain())
                .filter(|t| !t.is_empty());
            entry.link = alternate(el, &atom);
            entry.published = date(el, &["published", "issued", "created"]);
            entry.updated = date(el, &["updated", "modified"]);
            entry.summary_html = child(el, &["summary"])
                .and_then(atom_text)
                .map(|s| s.html())
                .filter(|s| !s.is_empty());
            let content = child(el, &["content"]);
            entry.content_html = content
                .and_then(constructs::atom_content)
                .map(|c| c.html())
                .filter(|c| !c.is_empty());
            let mut people = authors_of(el);
            if people.is_empty()
                && let Some(source) = child(el, &["source"])
            {
                people = authors_of(source);
            }
            let mut emails = Vec::new();
            for (name, email) in people {
                entry.authors.push(name);
                emails.extend(email);
            }
            for c in el.elements().filter(|e| atom(e) && e.name == "category") {
                // the label is what people read; the term identifies (RFC 4287 §4.2.2)
                if let Some(term) = c
                    .attr("label")
                    .filter(|l| !l.trim().is_empty())
                    .or(c.attr("term"))
                    .map(str::to_string)
                    .or_else(|| c.value())
                {
                    let term = constructs::collapse(&term);
                    if !term.is_empty() && !entry.categories.contains(&term) {
                        entry.categories.push(term);
                    }
                }
            }
            for l in el
                .elements()
                .filter(|e| atom(e) && e.name == "link" && e.attr("rel") == Some("enclosure"))
            {
                if let Some(href) = l.attr("href") {
                    push_enclosure(
                        &mut entry.enclosures,
                        l.resolve(href),
                        l.attr("type"),
                        l.attr("length"),
                    );
                }
            }
            // the entry's language: its own (or inherited) xml:lang, else its content's
            entry.language = el
                .lang
                .as_deref()
                .or_else(|| content.and_then(|c| c.lang.as_deref()))
                .map(str::to_string);
            constructs::apply(&mut entry, extensions(el, tz), &mut emails);
            if entry.authors.is_empty() {
                entry.authors = feed_authors.iter().map(|(n, _)| n.clone()).collect();
                emails.extend(feed_authors.iter().filter_map(|(_, e)| e.clone()));
            }
            entry.author_emails = emails;
            if entry.language.is_none() {
                entry.language = meta.language.clone();
            }
            constructs::fallback_image(&mut entry);
            entry
        })
        .collect();
    let items = entries.len();
    Some(ParsedFeed::read(meta, entries, items))
}

fn child_in<'a>(parent: &'a Element, ns: Ns, names: &[&str]) -> Option<&'a Element> {
    names
        .iter()
        .find_map(|n| parent.elements().find(|e| e.ns == ns && e.name == *n))
}

/// The `alternate` link (a link without `rel` is one, RFC 4287 §4.2.7.2), resolved against its
/// own `xml:base`.
fn alternate(el: &Element, atom: &dyn Fn(&Element) -> bool) -> Option<String> {
    let links = || el.elements().filter(|e| atom(e) && e.name == "link");
    links()
        .filter(|l| matches!(l.attr("rel").map(str::trim), None | Some("alternate" | "")))
        .find_map(|l| l.attr("href").map(|h| l.resolve(h)))
        .filter(|h| !h.is_empty())
}
