//! A feed as JSON Feed 1.1 (https://jsonfeed.org/version/1.1): attachments, the lead image,
//! every source's author (the primary source's first) and a `_gazette` extension object naming
//! the sources (JSON Feed §"Extensions").

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::credit;
use super::{Channel, Format, Site};
use crate::model::Article;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    /// JSON Feed 1.1 `hubs`: the WebSub hub.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    /// JSON Feed §"Top-level": "the URL of a feed that provides the next n items": the next
    /// older document of the feed's history (RFC 5005's `prev-archive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    /// RFC 5005's links, which JSON Feed has no names for.
    #[serde(rename = "_gazette", skip_serializing_if = "Option::is_none")]
    gazette: Option<FeedExtension<'a>>,
    items: Vec<JsonItem<'a>>,
}

/// The feed's place in its history (RFC 5005 §4), in gazette's extension object.
#[derive(Serialize)]
struct FeedExtension<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_archive: Option<&'a str>,
    /// An archive document (RFC 5005 `fh:archive`): it never changes once full.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    archive: bool,
    /// An archive document's own URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    archive_url: Option<&'a str>,
    /// The subscription document, from an archive document.
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<&'a str>,
}

#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_in_seconds: Option<u64>,
}

#[derive(Serialize)]
struct SourceRef {
    id: String,
    name: String,
    url: String,
}

#[derive(Serialize)]
struct Extension {
    sources: Vec<SourceRef>,
    first_seen: String,
    /// gazette's archived copy (`/articles/{id}`), which outlives the source's page.
    archived_url: String,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    /// The article's canonical address when the primary source links elsewhere (an
    /// aggregator's page, a redirect), as JSON Feed's "page elsewhere".
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<&'a str>,
    title: &'a str,
    content_html: &'a str,
    content_text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    _gazette: Extension,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn item<'a>(a: &'a Article, site: &Site<'_>) -> JsonItem<'a> {
    let credits = credit::credits(a, site);
    let url = credit::link(a, &credits);
    JsonItem {
        id: &a.id,
        external_url: Some(a.url.as_str()).filter(|u| !u.is_empty() && *u != url),
        url,
        title: &a.title,
        content_html: &a.html,
        content_text: &a.text,
        summary: &a.summary,
        image: a.image.as_deref(),
        date_published: rfc3339(a.published),
        date_modified: rfc3339(credit::updated(a)),
        authors: credit::authors(&credits)
            .into_iter()
            .map(|p| JsonAuthor { name: p.name })
            .collect(),
        tags: a
            .topics
            .iter()
            .map(String::as_str)
            .chain(a.categories.iter().map(String::as_str))
            .collect(),
        language: a.language.as_deref(),
        attachments: a
            .enclosures
            .iter()
            .map(|e| Attachment {
                url: &e.url,
                mime_type: credit::mime_type(e),
                size_in_bytes: e.length,
                duration_in_seconds: e.duration,
            })
            .collect(),
        _gazette: Extension {
            sources: credits
                .into_iter()
                .map(|c| SourceRef {
                    id: c.id,
                    name: c.name,
                    url: c.url,
                })
                .collect(),
            first_seen: rfc3339(a.first_seen),
            archived_url: site.article_url(&a.id),
        },
    }
}

pub fn feed(
    channel: &Channel,
    articles: &[Article],
    site: &Site<'_>,
) -> serde_json::Result<Vec<u8>> {
    let history = &site.history;
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &channel.title,
        home_page_url: site.base_url.to_string(),
        feed_url: site.feed_url(channel, Format::Json),
        description: channel.description.as_deref(),
        next_url: history.prev_archive.as_deref(),
        gazette: (history.prev_archive.is_some() || history.archive_url.is_some()).then(|| {
            FeedExtension {
                prev_archive: history.prev_archive.as_deref(),
                archive: history.archive_url.is_some(),
                archive_url: history.archive_url.as_deref(),
                current: history.current.as_deref(),
            }
        }),
        hubs: site
            .hub
            .iter()
            .filter(|_| history.archive_url.is_none())
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        items: articles.iter().map(|a| item(a, site)).collect(),
    };
    serde_json::to_vec_pretty(&feed)
}
