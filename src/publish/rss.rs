//! A feed as RSS 2.0 (rss crate), with the Atom, Dublin Core, `content:encoded` and Media RSS
//! extensions: one `<enclosure>` (RSS 2.0 allows one) and a `media:content` per enclosure, the
//! primary source as `<source>` and the others as `atom:link rel="via"`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rss::extension::Extension;

use super::credit::{self, Credit};
use super::{Channel, Format, Site, xml_safe};
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
    // gazette's archived copy, which outlives the source's page (issue 22), then the others
    let mut links = vec![element(
        "atom:link",
        &[
            ("rel", "related".to_string()),
            ("href", site.article_url(&a.id)),
            ("type", "text/html".to_string()),
        ],
    )];
    links.extend(via_links(&credits));
    extensions.insert(
        "atom".to_string(),
        BTreeMap::from([("link".to_string(), links)]),
    );
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
    of: &Channel,
    articles: &[Article],
    site: &Site<'_>,
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    use rss::extension::atom::{AtomExtension, Link};

    let scheme = credit::topic_scheme(site);
    let items: Vec<rss::Item> = articles.iter().map(|a| item(a, site, &scheme)).collect();
    let mut atom = AtomExtension::default();
    let mut links = vec![Link {
        href: site.self_url(of, Format::Rss),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Link::default()
    }];
    // RFC 5005 §4: the feed's history, as Atom links (§2 allows them in any feed format)
    let history = &site.history;
    for (href, rel) in [
        (&history.current, "current"),
        (&history.prev_archive, "prev-archive"),
    ] {
        if let Some(href) = href {
            links.push(Link {
                href: xml_safe(href),
                rel: rel.into(),
                mime_type: Some("application/rss+xml".into()),
                ..Link::default()
            });
        }
    }
    // W3C WebSub §4: the hub, beside the self link subscribers give it
    if let Some(hub) = site.hub.as_ref().filter(|_| history.archive_url.is_none()) {
        links.push(Link {
            href: xml_safe(hub),
            rel: "hub".into(),
            ..Link::default()
        });
    }
    atom.set_links(links);
    let mut channel = rss::Channel::default();
    channel.set_title(xml_safe(&of.title));
    channel.set_link(site.base_url.to_string());
    channel.set_description(xml_safe(of.description.as_deref().unwrap_or(&of.title)));
    if !articles.is_empty() {
        channel.set_last_build_date(last_modified.to_rfc2822());
    }
    channel.set_generator(format!("gazette {}", env!("CARGO_PKG_VERSION")));
    channel.set_atom_ext(atom);
    let mut namespaces = BTreeMap::new();
    if articles
        .iter()
        .any(|a| !a.enclosures.is_empty() || a.image.is_some())
    {
        namespaces.insert("media".to_string(), MEDIA_NS.to_string());
    }
    if history.archive_url.is_some() {
        namespaces.insert("fh".to_string(), super::FH_NS.to_string());
        channel.set_extensions(super::fh_archive!(::rss::extension));
    }
    channel.set_namespaces(namespaces);
    channel.set_items(items);
    let xml = channel.write_to(Vec::new()).map_err(|e| e.to_string())?;
    Ok(hex_references(&xml))
}

/// `&amp;`, `&lt;` and `&gt;` outside CDATA sections rewritten as `&#x26;`, `&#x3C;` and
/// `&#x3E;`: the same characters to an XML parser, and the form of plain text that "works in
/// the widest number of aggregators" (RSS Best Practices Profile, Character Data; the W3C
/// checker's `CharacterData` warning). CDATA (descriptions, content) is left as it is.
fn hex_references(xml: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 16);
    let mut rest = xml;
    while !rest.is_empty() {
        let cdata = find(rest, b"<![CDATA[");
        let (plain, tail) = rest.split_at(cdata.unwrap_or(rest.len()));
        let mut i = 0;
        while i < plain.len() {
            let swapped: Option<(&[u8], usize)> = match &plain[i..] {
                [b'&', b'a', b'm', b'p', b';', ..] => Some((b"&#x26;", 5)),
                [b'&', b'l', b't', b';', ..] => Some((b"&#x3C;", 4)),
                [b'&', b'g', b't', b';', ..] => Some((b"&#x3E;", 4)),
                _ => None,
            };
            match swapped {
                Some((with, len)) => {
                    out.extend_from_slice(with);
                    i += len;
                }
                None => {
                    out.push(plain[i]);
                    i += 1;
                }
            }
        }
        // the CDATA section, up to and including its end, as it is
        let end = find(tail, b"]]>").map_or(tail.len(), |e| e + 3);
        out.extend_from_slice(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_text_gets_hex_references_and_cdata_stays() {
        let cases: [(&str, &str); 4] = [
            (
                "<title>AT&amp;T &lt;3</title>",
                "<title>AT&#x26;T &#x3C;3</title>",
            ),
            (
                "<description><![CDATA[a &lt;b&gt; &amp;]]></description><t>&gt;</t>",
                "<description><![CDATA[a &lt;b&gt; &amp;]]></description><t>&#x3E;</t>",
            ),
            (
                "<a href=\"x?a=1&amp;b=2\"/>",
                "<a href=\"x?a=1&#x26;b=2\"/>",
            ),
            ("<![CDATA[unterminated &amp;", "<![CDATA[unterminated &amp;"),
        ];
        for (xml, want) in cases {
            assert_eq!(
                String::from_utf8_lossy(&super::hex_references(xml.as_bytes())),
                want
            );
        }
    }
}
