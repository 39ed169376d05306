//! RSS 0.90, 0.91–0.94, 1.0 (RDF) and 2.0, read from the forgiving tree whatever namespace the
//! RSS elements are in (none, RSS 1.0's, Userland's, Netscape's 0.90, or any other default
//! namespace a publisher declared), with the extension vocabularies as fallbacks.

use chrono_tz::Tz;

use super::constructs::{self, extensions, person, push_enclosure, rss_html};
use super::dates::parse_date;
use super::xml::{Element, Ns};
use super::{Entry, FeedMeta, ParsedFeed};

/// The document as RSS, when its root is `<rss>`, `<rdf:RDF>` or a bare `<channel>`.
pub fn read(root: &Element, tz: Tz) -> Option<ParsedFeed> {
    let (channel, format) = match root.name.as_str() {
        "rss" => (root.elements().find(|e| e.name == "channel"), "RSS 2.0"),
        "RDF" => (
            root.elements().find(|e| e.name == "channel"),
            if root
                .elements()
                .any(|e| e.name == "channel" && e.ns == Ns::Rss)
            {
                "RSS 1.0"
            } else {
                "RSS 0.9x"
            },
        ),
        "channel" => (Some(root), "RSS 2.0"),
        _ => return None,
    };
    // the vocabulary of the RSS elements is whatever the channel is in
    let rss_ns = channel.map_or(Ns::None, |c| c.ns);
    let is_rss = |e: &Element| e.ns == rss_ns || matches!(e.ns, Ns::None | Ns::Rss);
    let rss = |parent, name| rss_child(parent, name, rss_ns);
    let mut meta = FeedMeta {
        format,
        ..FeedMeta::default()
    };
    let mut feed_authors: Vec<(String, Option<String>)> = Vec::new();
    if let Some(ch) = channel {
        meta.title = rss(ch, "title")
            .and_then(constructs::rss_text)
            .map(|t| t.plain())
            .filter(|t| !t.is_empty());
        meta.link = ch
            .elements()
            .filter(|e| e.name == "link" && is_rss(e))
            .find_map(|l| l.value().map(|v| l.resolve(&v)))
            .or_else(|| atom_alternate(ch));
        meta.description = rss(ch, "description")
            .and_then(rss_html)
            .map(|t| t.plain())
            .filter(|t| !t.is_empty());
        meta.language = rss(ch, "language")
            .and_then(Element::value)
            .or_else(|| ch.lang.as_deref().map(str::to_string));
        meta.updated = rss(ch, "lastBuildDate")
            .and_then(Element::value)
            .and_then(|v| parse_date(&v, tz))
            .or_else(|| {
                ch.child(Ns::Atom, "updated")
                    .and_then(Element::value)
                    .and_then(|v| parse_date(&v, tz))
            });
        for name in ["managingEditor", "webMaster"] {
            if feed_authors.is_empty()
                && let Some(p) = rss(ch, name)
                    .and_then(Element::value)
                    .and_then(|v| person(&v))
            {
                feed_authors.push(p);
            }
        }
        // RSS 1.0 puts the image beside the channel, which only points at it
        meta.image = ch
            .elements()
            .chain(root.elements())
            .filter(|i| i.name == "image" && is_rss(i))
            .find_map(|i| {
                i.elements()
                    .find(|e| e.name == "url")
                    .and_then(|u| u.value().map(|v| u.resolve(&v)))
            });
        meta.ttl = rss(ch, "ttl")
            .and_then(Element::value)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|m| *m > 0)
            .map(|m| std::time::Duration::from_secs(m.saturating_mul(60)));
        let x = extensions(ch, tz);
        meta.title = meta.title.or_else(|| x.title.map(|t| t.plain()));
        meta.description = meta
            .description
            .or_else(|| x.description.map(|d| d.plain()));
        meta.language = meta.language.or(x.language);
        meta.updated = meta.updated.or(x.updated);
        if feed_authors.is_empty() {
            feed_authors = x.authors;
        }
        meta.image = meta.image.or(x.image).or_else(|| {
            rss(ch, "description")
                .and_then(rss_html)
                .and_then(|d| constructs::first_image(&d.html()))
        });
    }
    meta.author = feed_authors.first().map(|(n, _)| n.clone());
    // items belong in the channel (RSS 0.9x/2.0) or beside it (RSS 1.0); some feeds do both
    let items = channel
        .into_iter()
        .flat_map(Element::elements)
        .chain(root.elements().filter(|_| root.name != "channel"))
        .filter(|e| e.name == "item" && is_rss(e));
    let entries = items
        .map(|item| read_item(item, &is_rss, tz, &meta, &feed_authors))
        .collect::<Vec<_>>();
    let items = entries.len();
    Some(ParsedFeed::read(meta, entries, items))
}

fn rss_child<'a>(parent: &'a Element, name: &str, rss_ns: Ns) -> Option<&'a Element> {
    parent
        .elements()
        .find(|e| e.name == name && (e.ns == rss_ns || matches!(e.ns, Ns::None | Ns::Rss)))
}

fn atom_alternate(el: &Element) -> Option<String> {
    el.elements()
        .filter(|l| l.is(Ns::Atom, "link"))
        .find(|l| matches!(l.attr("rel"), None | Some("alternate")))
        .and_then(|l| l.attr("href").map(|h| l.resolve(h)))
}

fn read_item(
    item: &Element,
    is_rss: &dyn Fn(&Element) -> bool,
    tz: Tz,
    meta: &FeedMeta,
    feed_authors: &[(String, Option<String>)],
) -> Entry {
    let mut entry = Entry {
        title_is_plain: true,
        ..Entry::default()
    };
    let mut emails = Vec::new();
    let mut permalink_guid = None;
    let mut atom_content = None;
    let mut atom_categories = Vec::new();
    for c in item.elements() {
        if !is_rss(c) {
            match (c.ns, c.name.as_str()) {
                (Ns::Atom, "content") => {
                    atom_content = atom_content.or_else(|| constructs::atom_content(c))
                }
                (Ns::Atom, "published") if entry.published.is_none() => {
                    entry.published = c.value().and_then(|v| parse_date(&v, tz));
                }
                (Ns::Atom, "updated") if entry.updated.is_none() => {
                    entry.updated = c.value().and_then(|v| parse_date(&v, tz));
                }
                (Ns::Atom, "category") => {
                    atom_categories
                        .extend(c.attr("label").or(c.attr("term")).map(constructs::collapse));
                }
                (Ns::Atom, "author") if entry.authors.is_empty() => {
                    if let Some((n, e)) = constructs::atom_person(c) {
                        entry.authors.push(n);
                        emails.extend(e);
                    }
                }
                _ => {}
            }
            continue;
        }
        match c.name.as_str() {
            "title" if entry.title.is_none() => {
                entry.title = constructs::rss_text(c)
                    .map(|t| t.plain())
                    .filter(|t| !t.is_empty());
            }
            "link" if entry.link.is_none() => {
                entry.link = c
                    .value()
                    .or_else(|| c.attr("href").map(str::to_string))
                    .map(|v| c.resolve(&v));
            }
            "description" if entry.summary_html.is_none() => {
                entry.summary_html = rss_html(c).map(|d| d.html());
            }
            "author" if entry.authors.is_empty() => {
                if let Some((n, e)) = c.value().and_then(|v| person(&v)) {
                    entry.authors.push(n);
                    emails.extend(e);
                }
            }
            "category" => {
                if let Some(v) = c.value() {
                    let v = constructs::collapse(&v);
                    if !entry.categories.contains(&v) {
                        entry.categories.push(v);
                    }
                }
            }
            "guid" if entry.guid.is_none() => {
                entry.guid = c.value();
                if c.attr("isPermaLink")
                    .is_none_or(|p| !p.trim().eq_ignore_ascii_case("false"))
                {
                    permalink_guid = entry.guid.clone().map(|g| c.resolve(&g));
                }
            }
            "enclosure" => {
                if let Some(url) = c.attr("url").map(|u| c.resolve(u)) {
                    push_enclosure(&mut entry.enclosures, url, c.attr("type"), c.attr("length"));
                }
            }
            "pubDate" if entry.published.is_none() => {
                entry.published = c.value().and_then(|v| parse_date(&v, tz));
            }
            "updated" | "lastBuildDate" if entry.updated.is_none() => {
                entry.updated = c.value().and_then(|v| parse_date(&v, tz));
            }
            _ => {}
        }
    }
    // RSS 1.0: the item's identity is its rdf:about (RSS 1.0 §5.5)
    if entry.guid.is_none() {
        entry.guid = item
            .attr_ns(Ns::Rdf, "about")
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
    }
    if entry.content_html.is_none() {
        entry.content_html = atom_content.map(|c| c.html());
    }
    constructs::apply(&mut entry, extensions(item, tz), &mut emails);
    for term in atom_categories {
        if !term.is_empty() && !entry.categories.contains(&term) {
            entry.categories.push(term);
        }
    }
    if entry.link.is_none() {
        entry.link = permalink_guid
            .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
            .or_else(|| atom_alternate(item));
    }
    if entry.authors.is_empty() {
        entry.authors = feed_authors.iter().map(|(n, _)| n.clone()).collect();
        emails.extend(feed_authors.iter().filter_map(|(_, e)| e.clone()));
    }
    entry.author_emails = emails;
    if entry.language.is_none() {
        entry.language = item
            .lang
            .as_deref()
            .map(str::to_string)
            .or_else(|| meta.language.clone());
    }
    if entry.updated.is_none() {
        entry.updated = entry.published;
    }
    constructs::fallback_image(&mut entry);
    entry
}
