//! JSON Feed 1.0 and 1.1 (jsonfeed.org/version/1.1), read field by field: `title` is plain text
//! by the spec, `content_html` and `content_text` are kept apart, and authors, attachments,
//! images, tags, language and both dates are mapped.

use chrono_tz::Tz;
use serde_json::Value;

use super::constructs::push_enclosure;
use super::dates::parse_date;
use super::{Entry, FeedMeta, ParsedFeed, plain_to_html};

fn string(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// `authors` (1.1), else `author` (1.0): their names.
fn authors(v: &Value) -> Vec<String> {
    let list: Vec<&Value> = match v.get("authors").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.iter().collect(),
        _ => v.get("author").into_iter().collect(),
    };
    list.into_iter()
        .filter_map(|a| string(a.get("name")).or_else(|| string(a.get("url"))))
        .collect()
}

/// The document as a JSON Feed, when it is a JSON object with `items`.
pub fn read(text: &str, tz: Tz) -> Option<ParsedFeed> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let doc: Value = serde_json::from_str(text.trim_start()).ok()?;
    let items = doc.get("items")?.as_array()?;
    let feed_authors = authors(&doc);
    let language = string(doc.get("language"));
    let meta = FeedMeta {
        title: string(doc.get("title")),
        link: string(doc.get("home_page_url")),
        description: string(doc.get("description")),
        language: language.clone(),
        updated: None,
        author: feed_authors.first().cloned(),
        image: string(doc.get("icon")).or_else(|| string(doc.get("favicon"))),
        format: "JSON Feed",
        ttl: None,
    };
    let date = |v: Option<&Value>| string(v).and_then(|s| parse_date(&s, tz));
    let entries: Vec<Entry> = items
        .iter()
        .filter(|i| i.is_object())
        .map(|item| {
            let mut entry = Entry {
                guid: string(item.get("id")),
                title: string(item.get("title")),
                title_is_plain: true,
                link: string(item.get("url")).or_else(|| string(item.get("external_url"))),
                published: date(item.get("date_published")),
                updated: date(item.get("date_modified")),
                authors: authors(item),
                summary_html: string(item.get("summary")).map(|s| plain_to_html(&s)),
                content_html: string(item.get("content_html")),
                language: string(item.get("language")).or_else(|| language.clone()),
                image: string(item.get("image")).or_else(|| string(item.get("banner_image"))),
                ..Entry::default()
            };
            if entry.content_html.is_none()
                && let Some(text) = string(item.get("content_text"))
            {
                entry.content_html = Some(plain_to_html(&text));
                entry.content_text = Some(text);
            }
            if entry.authors.is_empty() {
                entry.authors = feed_authors.clone();
            }
            entry.published = entry.published.or(entry.updated);
            if let Some(tags) = item.get("tags").and_then(Value::as_array) {
                for t in tags.iter().filter_map(|t| string(Some(t))) {
                    if !entry.categories.contains(&t) {
                        entry.categories.push(t);
                    }
                }
            }
            for a in item
                .get("attachments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(url) = string(a.get("url")) {
                    let length = string(a.get("size_in_bytes"));
                    push_enclosure(
                        &mut entry.enclosures,
                        url,
                        string(a.get("mime_type")).as_deref(),
                        length.as_deref(),
                    );
                    if let Some(e) = entry.enclosures.last_mut() {
                        e.duration = e.duration.or_else(|| {
                            a.get("duration_in_seconds")
                                .and_then(Value::as_f64)
                                .map(|d| d as u64)
                        });
                    }
                }
            }
            entry
        })
        .collect();
    let mut meta = meta;
    // JSON Feed has no feed-level date: the newest item's says when the feed last changed
    meta.updated = entries
        .iter()
        .filter_map(|e| e.updated.or(e.published))
        .max();
    Some(ParsedFeed::read(meta, entries, items.len()))
}
