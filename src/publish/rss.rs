//! A topic as RSS 2.0 (rss crate), with the Atom, Dublin Core, `content:encoded` and Media RSS
//! extensions: one `<enclosure>` (RSS 2.0 allows one) and a `media:content` per enclosure, the
//! primary source as `<source>` and the others as `atom:link rel="via"`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rss::extension::Extension;

use super::credit::{self, Credit};
use super::{Format, Site, xml_safe};
use crate::config::Topic;
use crate::model::Article;

const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

fn element(name: &str, attrs: &[(&str, String)]) -> Extension {
    Extension {
        name: name.to_string(),
        value: None,
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), xml_safe(v)))
            .collect(),
        children: BTreeMap::new(),
    }
}

/// RSS `<description>` is HTML to every reader: the plain summary is escaped into it, so
/// "&lt;script&gt;" in a source stays text and never becomes an element.
fn description(a: &Article) -> String {
    let text = if a.summary.is_empty() {
        // the validator wants a description before content:encoded; the title stands in
        &a.title
    } else {
        &a.summary
    };
    xml_safe(&html_escape::encode_text(text))
}

fn item(a: &Article, site: &Site<'_>, scheme: &str) -> rss::Item {
    let credits = credit::credits(a, site);
    let mut item = rss::Item::default();
    item.set_title(xml_safe(&a.title));
    let url = credit::link(a, &credits);
    if !url.is_empty() {
        item.set_link(xml_safe(&url));
    }
    // one guid in every topic: see the README ("One article, one guid")
    item.set_guid(rss::Guid {
        value: a.id.clone(),
        permalink: false,
    });
    item.set_pub_date(a.published.to_rfc2822());
    item.set_description(description(a));
    if !a.html.is_empty() {
        item.set_content(xml_safe(&a.html));
    }
    let authors = credit::authors(&credits[..credits.len().min(1)]);
    if !authors.is_empty() {
        let mut dc = rss::extension::dublincore::DublinCoreExtension::default();
        dc.set_creators(
            authors
                .iter()
                .map(|p| xml_safe(&p.name))
                .collect::<Vec<_>>(),
        );
        item.set_dublin_core_ext(dc);
    }
    let mut categories: Vec<rss::Category> = a
        .categories
        .iter()
        .map(|c| rss::Category {
            name: xml_safe(c),
            domain: None,
        })
        .collect();
    categories.extend(a.topics.iter().map(|t| rss::Category {
        name: t.clone(),
        domain: Some(scheme.to_string()),
    }));
    item.set_categories(categories);
    if let Some(primary) = credits.first() {
        item.set_source(rss::Source {
            url: xml_safe(&primary.feed_url),
            title: Some(xml_safe(&primary.name)),
        });
    }
    if let Some(e) = credit::rss_enclosure(a) {
        item.set_enclosure(rss::Enclosure {
            url: xml_safe(&e.url),
            length: e.length.unwrap_or(0).to_string(),
            mime_type: credit::mime_type(e),
        });
    }
    let mut extensions: BTreeMap<String, BTreeMap<String, Vec<Extension>>> = BTreeMap::new();
    let media: Vec<Extension> = a
        .enclosures
        .iter()
        .map(|e| {
            let mut attrs = vec![("url", e.url.clone()), ("type", credit::mime_type(e))];
            if let Some(l) = e.length {
                attrs.push(("fileSize", l.to_string()));
            }
            if let Some(d) = e.duration {
                attrs.push(("duration", d.to_string()));
            }
            element("media:content", &attrs)
        })
        .collect();
    let mut media_map = BTreeMap::new();
    if !media.is_empty() {
        media_map.insert("content".to_string(), media);
    }
    if let Some(image) = &a.image {
        media_map.insert(
            "thumbnail".to_string(),
            vec![element("media:thumbnail", &[("url", image.clone())])],
        );
    }
    if !media_map.is_empty() {
        extensions.insert("media".to_string(), media_map);
    }
    let via: Vec<Extension> = via_links(&credits);
    if !via.is_empty() {
        extensions.insert(
            "atom".to_string(),
            BTreeMap::from([("link".to_string(), via)]),
        );
    }
    item.set_extensions(extensions);
    item
}

/// The sources besides the primary one, as `atom:link rel="via"`.
fn via_links(credits: &[Credit]) -> Vec<Extension> {
    credits
        .iter()
        .skip(1)
        .filter(|c| !c.url.is_empty())
        .map(|c| {
            element(
                "atom:link",
                &[
                    ("rel", "via".to_string()),
                    ("href", c.url.clone()),
                    ("title", c.name.clone()),
                ],
            )
        })
        .collect()
}

pub fn feed(
    topic: &Topic,
    articles: &[Article],
    site: &Site<'_>,
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    use rss::extension::atom::{AtomExtension, Link};

    let scheme = credit::topic_scheme(site);
    let items: Vec<rss::Item> = articles.iter().map(|a| item(a, site, &scheme)).collect();
    let mut atom = AtomExtension::default();
    atom.set_links(vec![Link {
        href: site.feed_url(&topic.id, Format::Rss),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Link::default()
    }]);
    let mut channel = rss::Channel::default();
    channel.set_title(xml_safe(&topic.title));
    channel.set_link(site.base_url.to_string());
    channel.set_description(xml_safe(
        topic.description.as_deref().unwrap_or(&topic.title),
    ));
    if !articles.is_empty() {
        channel.set_last_build_date(last_modified.to_rfc2822());
    }
    channel.set_generator(format!("gazette {}", env!("CARGO_PKG_VERSION")));
    channel.set_atom_ext(atom);
    if articles
        .iter()
        .any(|a| !a.enclosures.is_empty() || a.image.is_some())
    {
        channel.set_namespaces(BTreeMap::from([(
            "media".to_string(),
            MEDIA_NS.to_string(),
        )]));
    }
    channel.set_items(items);
    channel.write_to(Vec::new()).map_err(|e| e.to_string())
}
