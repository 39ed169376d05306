//! Articles → the bytes of an output feed (a topic's, or one source's): RSS 2.0 (`rss.rs`), Atom 1.0 (`atom.rs`) or
//! JSON Feed 1.1 (`json.rs`), with a weak ETag and a Last-Modified time; `credit.rs` decides
//! once, for all three, which source an entry credits, its real dates and its categories.
//! Output is a pure function of the articles, so the same archive always renders the same bytes
//! (the server caches them, and conditional GET works across restarts).

mod atom;
mod credit;
mod history;
mod json;
mod rss;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

pub use history::{Doc, History, HistoryDoc, Paging, archive_url, render_history};

use crate::archive::{Archive, ArchiveError};
use crate::config::{Config, Source, Topic};
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
    /// Weak validator: a hash of the body (see [`etag_of`]).
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
    #[error("no source {0:?} in the configuration")]
    UnknownSource(String),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("rendering {feed} as {format}: {reason}")]
    Render {
        feed: String,
        format: &'static str,
        reason: String,
    },
}

/// Which feed a rendering is: a topic's (`/topics/ID.*`) or, since issue 22, one source's
/// normalized articles (`/sources/ID.*`), which turns a site without a feed into a clean
/// full-text feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Channel {
    pub kind: ChannelKind,
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Topic,
    Source,
    /// A search (`/search.rss?q=…`): `id` is the query.
    Search,
}

impl Channel {
    pub fn of_topic(topic: &Topic) -> Channel {
        Channel {
            kind: ChannelKind::Topic,
            id: topic.id.clone(),
            title: topic.title.clone(),
            description: topic.description.clone(),
        }
    }

    pub fn of_source(source: &Source) -> Channel {
        let name = source.display_name();
        Channel {
            kind: ChannelKind::Source,
            id: source.id.clone(),
            title: name.to_string(),
            description: Some(format!(
                "Articles of {name} ({}), normalized and deduplicated by gazette",
                crate::secrets::redact(&source.url)
            )),
        }
    }

    /// The configured topic's or source's feed `id` (`None`: there is none; a search is not
    /// looked up).
    pub fn of(config: &Config, kind: ChannelKind, id: &str) -> Option<Channel> {
        match kind {
            ChannelKind::Topic => config
                .topics
                .iter()
                .find(|t| t.id == id)
                .map(Channel::of_topic),
            ChannelKind::Source => config
                .sources
                .iter()
                .find(|s| s.id == id)
                .map(Channel::of_source),
            ChannelKind::Search => None,
        }
    }

    /// A search's results as a feed (`id`: the query).
    pub fn of_search(query: &str) -> Channel {
        Channel {
            kind: ChannelKind::Search,
            id: query.to_string(),
            title: format!("Search: {query}"),
            description: Some(format!("Articles gazette archived that match {query}")),
        }
    }

    /// The path the feed is served under, without the extension: `topics/ID`, `sources/ID`,
    /// `search`.
    pub fn path(&self) -> String {
        match self.kind {
            ChannelKind::Topic => format!("topics/{}", self.id),
            ChannelKind::Source => format!("sources/{}", self.id),
            ChannelKind::Search => "search".to_string(),
        }
    }

    /// What follows the path in a URL: a search's query.
    fn query_string(&self) -> String {
        match self.kind {
            ChannelKind::Search => format!(
                "?q={}",
                url::form_urlencoded::byte_serialize(self.id.as_bytes()).collect::<String>()
            ),
            _ => String::new(),
        }
    }

    /// The Atom feed id (RFC 4287 §4.2.6: permanent, whatever the server's address).
    pub fn urn(&self) -> String {
        match self.kind {
            ChannelKind::Topic => format!("urn:gazette:topic:{}", self.id),
            ChannelKind::Source => format!("urn:gazette:source:{}", self.id),
            ChannelKind::Search => format!(
                "urn:gazette:search:{}",
                url::form_urlencoded::byte_serialize(self.id.as_bytes()).collect::<String>()
            ),
        }
    }
}

/// What a feed says about gazette itself and its sources.
pub struct Site<'a> {
    pub base_url: &'a Url,
    /// Source id → (display name, feed URL), for RSS `<source>`.
    pub sources: HashMap<String, (String, String)>,
    /// A source's own feed credits that source first (its link, its author), when the article
    /// has its link.
    pub primary: Option<String>,
    /// The WebSub hub feeds advertise (`[server] websub_hub`).
    pub hub: Option<String>,
    /// The XSL stylesheet RSS and Atom documents link (`/feed.xsl`), so that a browser shows a
    /// page saying how to subscribe instead of raw XML; feed readers ignore it.
    pub stylesheet: Option<String>,
    /// Where the document sits in its feed's history (RFC 5005): its links.
    pub history: History,
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
            primary: None,
            hub: config.server.websub_hub.as_ref().map(Url::to_string),
            stylesheet: Some(url_on(&config.server.base_url, "feed.xsl")),
            history: History::default(),
        }
    }

    /// `path` on this gazette (its `base_url`).
    pub fn url(&self, path: &str) -> String {
        url_on(self.base_url, path)
    }

    /// The URL of gazette's archived copy of an article (`/articles/{id}`): every item of
    /// every feed links to it, so its text survives the source deleting its page.
    pub fn article_url(&self, id: &str) -> String {
        self.url(&format!("articles/{id}"))
    }

    /// The URL of a feed in `format`.
    pub fn feed_url(&self, channel: &Channel, format: Format) -> String {
        self.url(&format!(
            "{}.{}{}",
            channel.path(),
            format.ext(),
            channel.query_string()
        ))
    }

    /// The URL of this document: the feed's, or the archive document's it is.
    pub fn self_url(&self, channel: &Channel, format: Format) -> String {
        match &self.history.archive_url {
            Some(url) => url.clone(),
            None => self.feed_url(channel, format),
        }
    }

    /// The URL of a topic's or a source's page (`/topics/{id}`, `/sources/{id}`).
    pub fn page_url(&self, channel: &Channel) -> String {
        self.url(&format!("{}{}", channel.path(), channel.query_string()))
    }
}

/// `path` relative to `base` (a base URL ends in `/`); the plain concatenation if it cannot
/// be joined.
pub fn url_on(base: &Url, path: &str) -> String {
    base.join(path)
        .map_or_else(|_| format!("{base}{path}"), |u| u.to_string())
}

/// Renders a topic's feed: its subscription document, the newest `limit` arrivals (see
/// [`history`]).
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
    subscription(archive, config, &Channel::of_topic(topic), format)
}

/// Renders a source's own feed (its newest `limit` arrivals, 50 by default): every article it
/// carried, crediting it first.
pub fn render_source(
    archive: &Archive,
    config: &Config,
    source_id: &str,
    format: Format,
) -> Result<Rendered, PublishError> {
    let source = config
        .sources
        .iter()
        .find(|s| s.id == source_id)
        .ok_or_else(|| PublishError::UnknownSource(source_id.to_string()))?;
    subscription(archive, config, &Channel::of_source(source), format)
}

fn subscription(
    archive: &Archive,
    config: &Config,
    channel: &Channel,
    format: Format,
) -> Result<Rendered, PublishError> {
    match render_history(archive, config, channel, Doc::Subscription, format)? {
        Some(doc) => Ok(doc.rendered),
        None => Err(PublishError::Render {
            feed: channel.path(),
            format: format.ext(),
            reason: "no subscription document".into(),
        }),
    }
}

/// Renders `articles` (newest first) as `channel`'s feed.
pub fn render(
    channel: &Channel,
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
        feed: channel.path(),
        format: format.ext(),
        reason,
    };
    let body = match format {
        Format::Rss => with_stylesheet(
            rss::feed(channel, articles, site, last_modified).map_err(err)?,
            site,
        ),
        Format::Atom => with_stylesheet(
            atom::feed(channel, articles, site, last_modified).map_err(err)?,
            site,
        ),
        Format::Json => json::feed(channel, articles, site).map_err(|e| err(e.to_string()))?,
    };
    let etag = etag_of(&body);
    Ok(Rendered {
        body,
        etag,
        last_modified,
        content_type: format.content_type(),
        items: articles.len(),
    })
}

/// An XML document with `<?xml-stylesheet?>` (W3C "Associating Style Sheets with XML
/// documents") after its declaration, when the site has a stylesheet.
fn with_stylesheet(xml: Vec<u8>, site: &Site<'_>) -> Vec<u8> {
    let Some(href) = &site.stylesheet else {
        return xml;
    };
    let pi = format!(
        "\n<?xml-stylesheet type=\"text/xsl\" href=\"{}\"?>",
        html_escape::encode_double_quoted_attribute(href)
    );
    let at = if xml.starts_with(b"<?xml") {
        xml.windows(2).position(|w| w == b"?>").map_or(0, |i| i + 2)
    } else {
        0
    };
    let mut out = Vec::with_capacity(xml.len() + pi.len());
    out.extend_from_slice(&xml[..at]);
    out.extend_from_slice(pi.as_bytes());
    out.extend_from_slice(&xml[at..]);
    out
}

/// RFC 5005's namespace ("fh": feed history).
const FH_NS: &str = "http://purl.org/syndication/history/1.0";

/// `<fh:archive/>` (RFC 5005 §4), which marks an archive document, as the extension map the
/// rss and the atom_syndication crates each write (alike, but two types).
macro_rules! fh_archive {
    ($ext:path) => {{
        use $ext as ext;
        let archive = ext::Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        std::collections::BTreeMap::from([(
            "fh".to_string(),
            std::collections::BTreeMap::from([("archive".to_string(), vec![archive])]),
        )])
    }};
}
use fh_archive;

/// A weak validator, a hash of the body (RFC 9110 §8.8.3): the server sends the same bytes
/// as identity, gzip or brotli, and a strong ETag would have to differ between those
/// representations; a weak one promises only the same content.
pub fn etag_of(body: &[u8]) -> String {
    format!("W/\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// XML 1.0 allows only some characters (§2.2 "Char"); feeds carry control characters anyway.
fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        .collect()
}
