//! A feed as Atom 1.0 (atom_syndication, RFC 4287): `rel="enclosure"` links, the primary
//! source as the entry's `<source>` (RFC 4287 §4.2.11) and every other as `rel="via"`, the
//! sources' own updated dates, and the lead image as `media:thumbnail`.

use std::collections::BTreeMap;

use atom_syndication as atom;
use chrono::{DateTime, Utc};

use super::credit::{self, Credit};
use super::{Channel, Format, Site, xml_safe};
use crate::model::Article;

fn link(href: &str, rel: &str, mime: Option<&str>) -> atom::Link {
    atom::Link {
        href: xml_safe(href),
        rel: rel.into(),
        mime_type: mime.map(str::to_string),
        ..atom::Link::default()
    }
}

fn person(p: &credit::Person) -> atom::Person {
    atom::Person {
        name: xml_safe(&p.name),
        email: p.email.as_deref().map(xml_safe),
        ..atom::Person::default()
    }
}

/// The primary source as RFC 4287 §4.2.11 describes it: its feed's id (the feed URL, the
/// only identity gazette keeps of it), title, self link and when gazette last had it.
fn source(primary: &Credit, a: &Article) -> atom::Source {
    atom::Source {
        id: xml_safe(&primary.feed_url),
        title: atom::Text::plain(xml_safe(&primary.name)),
        links: vec![link(&primary.feed_url, "self", None)],
        updated: a.updated.fixed_offset(),
        ..atom::Source::default()
    }
}

fn entry(a: &Article, site: &Site<'_>, scheme: &str) -> atom::Entry {
    let credits = credit::credits(a, site);
    let mut e = atom::Entry::default();
    e.set_id(format!("urn:gazette:article:{}", a.id));
    e.set_title(atom::Text::plain(xml_safe(&a.title)));
    e.set_published(Some(a.published.fixed_offset()));
    e.set_updated(credit::updated(a).fixed_offset());
    e.set_authors(
        credit::authors(&credits[..credits.len().min(1)])
            .iter()
            .map(person)
            .collect::<Vec<_>>(),
    );
    let mut links = Vec::new();
    let url = credit::link(a, &credits);
    if !url.is_empty() {
        links.push(link(&url, "alternate", Some("text/html")));
    }
    // gazette's archived copy, which outlives the source's page (issue 22)
    links.push(link(&site.article_url(&a.id), "related", Some("text/html")));
    for c in credits.iter().skip(1).filter(|c| !c.url.is_empty()) {
        let mut via = link(&c.url, "via", Some("text/html"));
        via.title = Some(xml_safe(&c.name));
        links.push(via);
    }
    for enc in &a.enclosures {
        let mut l = link(&enc.url, "enclosure", Some(&credit::mime_type(enc)));
        l.length = enc.length.map(|n| n.to_string());
        links.push(l);
    }
    e.set_links(links);
    if !a.summary.is_empty() {
        e.set_summary(Some(atom::Text::plain(xml_safe(&a.summary))));
    }
    e.set_content(Some(atom::Content {
        value: Some(xml_safe(&a.html)),
        content_type: Some("html".into()),
        ..atom::Content::default()
    }));
    let mut categories: Vec<atom::Category> = a
        .categories
        .iter()
        .map(|c| atom::Category {
            term: xml_safe(c),
            ..atom::Category::default()
        })
        .collect();
    categories.extend(a.topics.iter().map(|t| atom::Category {
        term: t.clone(),
        scheme: Some(scheme.to_string()),
        ..atom::Category::default()
    }));
    e.set_categories(categories);
    if let Some(primary) = credits.first() {
        e.set_source(Some(source(primary, a)));
    }
    if let Some(image) = &a.image {
        let thumbnail = atom::extension::Extension {
            name: "media:thumbnail".into(),
            value: None,
            attrs: BTreeMap::from([("url".to_string(), xml_safe(image))]),
            children: BTreeMap::new(),
        };
        e.set_extensions(BTreeMap::from([(
            "media".to_string(),
            BTreeMap::from([("thumbnail".to_string(), vec![thumbnail])]),
        )]));
    }
    e
}

pub fn feed(
    channel: &Channel,
    articles: &[Article],
    site: &Site<'_>,
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let scheme = credit::topic_scheme(site);
    let entries: Vec<atom::Entry> = articles.iter().map(|a| entry(a, site, &scheme)).collect();
    let mut feed = atom::Feed::default();
    feed.set_id(channel.urn());
    feed.set_title(atom::Text::plain(xml_safe(&channel.title)));
    if let Some(d) = &channel.description {
        feed.set_subtitle(Some(atom::Text::plain(xml_safe(d))));
    }
    // the feed changed when its newest entry did, or when gazette stored a change
    let newest = articles.iter().map(credit::updated).max();
    feed.set_updated(
        newest
            .map_or(last_modified, |n| n.max(last_modified))
            .fixed_offset(),
    );
    // RFC 4287 §4.1.1: every entry needs an author, or the feed one; this is the feed's.
    feed.set_authors(vec![atom::Person {
        name: "gazette".into(),
        ..atom::Person::default()
    }]);
    let mut links = vec![
        link(
            &site.self_url(channel, Format::Atom),
            "self",
            Some("application/atom+xml"),
        ),
        link(site.base_url.as_str(), "alternate", Some("text/html")),
    ];
    // RFC 5005 §4: the feed's history
    let history = &site.history;
    if let Some(current) = &history.current {
        links.push(link(current, "current", Some("application/atom+xml")));
    }
    if let Some(prev) = &history.prev_archive {
        links.push(link(prev, "prev-archive", Some("application/atom+xml")));
    }
    // W3C WebSub §4 (the subscription document is the one subscribers follow)
    if let Some(hub) = site.hub.as_ref().filter(|_| history.archive_url.is_none()) {
        links.push(link(hub, "hub", None));
    }
    feed.set_links(links);
    let mut namespaces = BTreeMap::new();
    if history.archive_url.is_some() {
        namespaces.insert("fh".to_string(), super::FH_NS.to_string());
        feed.set_extensions(super::fh_archive!(atom_syndication::extension));
    }
    feed.set_generator(Some(atom::Generator {
        value: "gazette".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        uri: None,
    }));
    if articles.iter().any(|a| a.image.is_some()) {
        namespaces.insert(
            "media".to_string(),
            "http://search.yahoo.com/mrss/".to_string(),
        );
    }
    feed.set_namespaces(namespaces);
    feed.set_entries(entries);
    feed.write_to(Vec::new()).map_err(|e| e.to_string())
}
