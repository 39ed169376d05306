//! The serde mirror of `feeds.toml`: exactly what the user wrote, with byte spans so that every
//! later error can name the line. No defaults and no interpretation happen here; see
//! [`super::validate`] for that.

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Top level of `feeds.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub archive: Option<FileArchive>,
    pub server: Option<FileServer>,
    pub polling: Option<FilePolling>,
    #[serde(default)]
    pub source: Vec<Spanned<FileSource>>,
    #[serde(default)]
    pub topic: Vec<Spanned<FileTopic>>,
}

/// `[archive]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileArchive {
    pub path: Option<Spanned<String>>,
    pub dedup_window: Option<Spanned<String>>,
    pub retention: Option<Spanned<String>>,
    pub backup_every: Option<Spanned<String>>,
    pub backup_keep: Option<Spanned<i64>>,
    pub min_free: Option<Spanned<String>>,
    pub near_duplicates: Option<Spanned<FileNear>>,
}

/// `near_duplicates = 0.55`, `= true` (the default threshold) or `= false`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileNear {
    Switch(bool),
    Threshold(f64),
}

/// `[server]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    pub listen: Option<Spanned<String>>,
    pub base_url: Option<Spanned<String>>,
    pub header_timeout: Option<Spanned<String>>,
    pub idle_timeout: Option<Spanned<String>>,
    pub max_connections: Option<Spanned<i64>>,
    pub public_status: Option<bool>,
    /// A WebSub hub to advertise and ping when a feed changes.
    pub websub_hub: Option<Spanned<String>>,
    /// Items per archive document of the topic and source feeds (RFC 5005).
    pub archive_page_size: Option<Spanned<i64>>,
}

/// `[polling]`: defaults for every source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePolling {
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub max_body: Option<Spanned<String>>,
    pub user_agent: Option<Spanned<String>>,
    pub concurrency: Option<Spanned<i64>>,
    pub per_host: Option<Spanned<i64>>,
    pub host_delay: Option<Spanned<String>>,
    pub max_interval: Option<Spanned<String>>,
    pub cpu_budget: Option<Spanned<String>>,
}

/// One `[[source]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub url: Spanned<String>,
    pub kind: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub max_body: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    /// HTML sources: CSS selector for article links on the list page.
    pub links: Option<Spanned<String>>,
    /// HTML sources: only article URLs containing this, or matching `{ regex = "..." }`.
    pub follow: Option<Spanned<FileFollow>>,
    pub max_articles: Option<Spanned<i64>>,
    pub max_entries: Option<Spanned<i64>>,
    /// Feed sources: fetch the page of summary-only entries and extract the full article.
    pub full_text: Option<bool>,
    pub allow_private: Option<bool>,
    /// `"near"` (default), `"exact"` or `"off"`: which dedup rules may join its entries.
    pub dedup: Option<Spanned<String>>,
    /// Items in the source's own gazette feed (`/sources/ID.rss`); 50 by default.
    pub limit: Option<Spanned<i64>>,
}

/// `follow = "/science/"` or `follow = { regex = '...' }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileFollow {
    Contains(String),
    Regex { regex: String },
}

/// One `[[topic]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTopic {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub query: Spanned<String>,
    pub description: Option<String>,
    pub limit: Option<Spanned<i64>>,
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
}

/// The keys each table accepts; used to report *every* unknown key at once, with a suggestion,
/// before serde (which stops at the first) sees the file.
pub const TOP_KEYS: &[&str] = &["archive", "server", "polling", "source", "topic"];
pub const ARCHIVE_KEYS: &[&str] = &[
    "path",
    "dedup_window",
    "retention",
    "backup_every",
    "backup_keep",
    "min_free",
    "near_duplicates",
];
pub const SERVER_KEYS: &[&str] = &[
    "websub_hub",
    "archive_page_size",
    "listen",
    "base_url",
    "header_timeout",
    "idle_timeout",
    "max_connections",
    "public_status",
];
pub const POLLING_KEYS: &[&str] = &[
    "interval",
    "timeout",
    "max_body",
    "user_agent",
    "concurrency",
    "per_host",
    "host_delay",
    "max_interval",
    "cpu_budget",
];
pub const SOURCE_KEYS: &[&str] = &[
    "id",
    "name",
    "url",
    "kind",
    "timezone",
    "interval",
    "timeout",
    "max_body",
    "enabled",
    "tags",
    "links",
    "follow",
    "max_articles",
    "max_entries",
    "full_text",
    "allow_private",
    "dedup",
    "limit",
];
pub const TOPIC_KEYS: &[&str] = &["id", "title", "query", "description", "limit", "sources"];

/// An unknown key found by [`unknown_keys`]: where it is, in which table, and what it is.
#[derive(Debug)]
pub struct UnknownKey {
    pub offset: usize,
    pub context: String,
    pub key: String,
    pub suggestion: Option<&'static str>,
}

/// Walks the spanned document and lists every key that no table accepts.
pub fn unknown_keys(root: &DeTable<'_>) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    check_table(root, TOP_KEYS, "", &mut found);
    for (key, value) in root {
        let (allowed, name): (&[&str], &str) = match key.get_ref().as_ref() {
            "archive" => (ARCHIVE_KEYS, "[archive]"),
            "server" => (SERVER_KEYS, "[server]"),
            "polling" => (POLLING_KEYS, "[polling]"),
            "source" => (SOURCE_KEYS, "source"),
            "topic" => (TOPIC_KEYS, "topic"),
            _ => continue,
        };
        match value.get_ref() {
            DeValue::Table(t) => check_table(t, allowed, name, &mut found),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let label = match t.get("id").map(|v| v.get_ref()) {
                            Some(DeValue::String(id)) => format!("{name} {id:?}"),
                            _ => format!("{name} #{}", i + 1),
                        };
                        check_table(t, allowed, &label, &mut found);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

fn check_table(
    table: &DeTable<'_>,
    allowed: &[&'static str],
    context: &str,
    out: &mut Vec<UnknownKey>,
) {
    for key in table.keys() {
        let name = key.get_ref().as_ref();
        if allowed.contains(&name) {
            continue;
        }
        let suggestion = allowed
            .iter()
            .map(|k| (strsim::damerau_levenshtein(k, name), *k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 3))
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k);
        out.push(UnknownKey {
            offset: key.span().start,
            context: context.to_string(),
            key: name.to_string(),
            suggestion,
        });
    }
}
