//! Articles → the bytes of a topic's output feed: RSS 2.0 (rss crate), Atom 1.0
//! (atom_syndication) or JSON Feed 1.1 (serde), with a strong ETag and a Last-Modified time.
//! Output is a pure function of the articles, so the same archive always renders the same bytes
//! (the server caches them, and conditional GET works across restarts).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::archive::{Archive, ArchiveError};
use crate::config::{Config, Topic};
use crate::model::Article;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The URL extension: `/topics/{id}.{ext}`.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn from_ext(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.ext() == ext)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

/// A rendered feed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Vec<u8>,
    /// Strong validator: a hash of the body, quoted (RFC 9110 §8.8.3).
    pub etag: String,
    /// The newest change among the items (the UNIX epoch for an empty feed).
    pub last_modified: DateTime<Utc>,
    pub content_type: &'static str,
    pub items: usize,
}

/// Why a feed could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no topic {0:?} in the configuration")]
    UnknownTopic(String),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("rendering topic {topic:?} as {format}: {reason}")]
    Render {
        topic: String,
        format: &'static str,
        reason: String,
    },
}

/// What a feed says about gazette itself and its sources.
pub struct Site<'a> {
    pub base_url: &'a Url,
    /// Source id → (display name, feed URL), for RSS `<source>`.
    pub sources: HashMap<String, (String, String)>,
}

impl<'a> Site<'a> {
    pub fn new(config: &'a Config) -> Site<'a> {
        Site {
            base_url: &config.server.base_url,
            sources: config
                .sources
                .iter()
                .map(|s| {
                    (
                        s.id.clone(),
                        (
                            s.display_name().to_string(),
                            // shown in every item's `<source url>`: no credentials
                            crate::secrets::redact(&s.url).to_string(),
                        ),
                    )
                })
                .collect(),
        }
    }

    /// The URL of a topic's feed in `format`.
    pub fn feed_url(&self, topic: &str, format: Format) -> String {
        self.base_url
            .join(&format!("topics/{topic}.{}", format.ext()))
            .map_or_else(
                |_| format!("{}topics/{topic}.{}", self.base_url, format.ext()),
                |u| u.to_string(),
            )
    }
}

/// Loads a topic's newest articles and renders them.
pub fn render_topic(
    archive: &Archive,
    config: &Config,
    topic_id: &str,
    format: Format,
) -> Result<Rendered, PublishError> {
    let topic = config
        .topics
        .iter()
        .find(|t| t.id == topic_id)
        .ok_or_else(|| PublishError::UnknownTopic(topic_id.to_string()))?;
    let articles = archive.topic_newest(&topic.id, topic.limit)?;
    render(topic, &articles, format, &Site::new(config))
}

/// Renders `articles` (newest first) as `topic`'s feed.
pub fn render(
    topic: &Topic,
    articles: &[Article],
    format: Format,
    site: &Site<'_>,
) -> Result<Rendered, PublishError> {
    let last_modified = articles
        .iter()
        .map(|a| a.updated.max(a.published))
        .max()
        .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let err = |reason: String| PublishError::Render {
        topic: topic.id.clone(),
        format: format.ext(),
        reason,
    };
    let body = match format {
        Format::Rss => rss_feed(topic, articles, site, last_modified).map_err(err)?,
        Format::Atom => atom_feed(topic, articles, site, last_modified).map_err(err)?,
        Format::Json => json_feed(topic, articles, site).map_err(|e| err(e.to_string()))?,
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    Ok(Rendered {
        body,
        etag,
        last_modified,
        content_type: format.content_type(),
        items: articles.len(),
    })
}

/// XML 1.0 allows only some characters (§2.2 "Char"); feeds carry control characters anyway.
fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        .collect()
}

fn article_url(a: &Article) -> String {
    if !a.url.is_empty() {
        return a.url.clone();
    }
    a.links
        .iter()
        .find(|l| !l.url.is_empty())
        .map(|l| l.url.clone())
        .unwrap_or_default()
}

fn rss_feed(
    topic: &Topic,
    articles: &[Article],
    site: &Site<'_>,
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    use rss::extension::atom::{AtomExtension, Link};
    use rss::extension::dublincore::DublinCoreExtension;

    let items: Vec<rss::Item> = articles
        .iter()
        .map(|a| {
            let mut item = rss::Item::default();
            item.set_title(xml_safe(&a.title));
            let url = article_url(a);
            if !url.is_empty() {
                item.set_link(xml_safe(&url));
            }
            item.set_guid(rss::Guid {
                value: a.id.clone(),
                permalink: false,
            });
            item.set_pub_date(a.published.to_rfc2822());
            if !a.summary.is_empty() {
                item.set_description(xml_safe(&a.summary));
            }
            if !a.html.is_empty() {
                item.set_content(xml_safe(&a.html));
            }
            if let Some(author) = &a.author {
                let mut dc = DublinCoreExtension::default();
                dc.set_creators(vec![xml_safe(author)]);
                item.set_dublin_core_ext(dc);
            }
            item.set_categories(
                a.topics
                    .iter()
                    .map(|t| rss::Category {
                        name: t.clone(),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            if let Some(first) = a.sources.first() {
                let (name, url) = site
                    .sources
                    .get(first)
                    .cloned()
                    .unwrap_or_else(|| (first.clone(), site.base_url.to_string()));
                item.set_source(rss::Source {
                    url: xml_safe(&url),
                    title: Some(xml_safe(&name)),
                });
            }
            item
        })
        .collect();
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
    channel.set_items(items);
    channel.write_to(Vec::new()).map_err(|e| e.to_string())
}

fn atom_feed(
    topic: &Topic,
    articles: &[Article],
    site: &Site<'_>,
    last_modified: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    use atom_syndication as atom;
    let fixed = |t: DateTime<Utc>| t.fixed_offset();
    let entries: Vec<atom::Entry> = articles
        .iter()
        .map(|a| {
            let mut e = atom::Entry::default();
            e.set_id(format!("urn:gazette:article:{}", a.id));
            e.set_title(atom::Text::plain(xml_safe(&a.title)));
            e.set_published(Some(fixed(a.published)));
            e.set_updated(fixed(a.updated.max(a.published)));
            if let Some(author) = &a.author {
                e.set_authors(vec![atom::Person {
                    name: xml_safe(author),
                    ..atom::Person::default()
                }]);
            }
            let url = article_url(a);
            if !url.is_empty() {
                e.set_links(vec![atom::Link {
                    href: xml_safe(&url),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    ..atom::Link::default()
                }]);
            }
            if !a.summary.is_empty() {
                e.set_summary(Some(atom::Text::plain(xml_safe(&a.summary))));
            }
            e.set_content(Some(atom::Content {
                value: Some(xml_safe(&a.html)),
                content_type: Some("html".into()),
                ..atom::Content::default()
            }));
            e.set_categories(
                a.topics
                    .iter()
                    .map(|t| atom::Category {
                        term: t.clone(),
                        ..atom::Category::default()
                    })
                    .collect::<Vec<_>>(),
            );
            e
        })
        .collect();
    let mut feed = atom::Feed::default();
    feed.set_id(format!("urn:gazette:topic:{}", topic.id));
    feed.set_title(atom::Text::plain(xml_safe(&topic.title)));
    if let Some(d) = &topic.description {
        feed.set_subtitle(Some(atom::Text::plain(xml_safe(d))));
    }
    feed.set_updated(fixed(last_modified));
    // RFC 4287 §4.1.1: every entry needs an author, or the feed one; this is the feed's.
    feed.set_authors(vec![atom::Person {
        name: "gazette".into(),
        ..atom::Person::default()
    }]);
    feed.set_links(vec![
        atom::Link {
            href: site.feed_url(&topic.id, Format::Atom),
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..atom::Link::default()
        },
        atom::Link {
            href: site.base_url.to_string(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..atom::Link::default()
        },
    ]);
    feed.set_generator(Some(atom::Generator {
        value: "gazette".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        uri: None,
    }));
    feed.set_entries(entries);
    feed.write_to(Vec::new()).map_err(|e| e.to_string())
}

/// JSON Feed 1.1 (https://jsonfeed.org/version/1.1).
#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    title: &'a str,
    content_html: &'a str,
    content_text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: &'a str,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<BTreeMap<&'static str, &'a str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
}

fn json_feed(topic: &Topic, articles: &[Article], site: &Site<'_>) -> serde_json::Result<Vec<u8>> {
    let rfc3339 = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &topic.title,
        home_page_url: site.base_url.to_string(),
        feed_url: site.feed_url(&topic.id, Format::Json),
        description: topic.description.as_deref(),
        items: articles
            .iter()
            .map(|a| JsonItem {
                id: &a.id,
                url: article_url(a),
                title: &a.title,
                content_html: &a.html,
                content_text: &a.text,
                summary: &a.summary,
                date_published: rfc3339(a.published),
                date_modified: rfc3339(a.updated.max(a.published)),
                authors: a
                    .author
                    .iter()
                    .map(|n| BTreeMap::from([("name", n.as_str())]))
                    .collect(),
                tags: a
                    .topics
                    .iter()
                    .map(String::as_str)
                    .chain(a.categories.iter().map(String::as_str))
                    .collect(),
                language: a.language.as_deref(),
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&feed)
}
