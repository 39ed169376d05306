//! The shared vocabulary of the pipeline: an [`Article`] (our normalized, archived story, which may
//! have several sources), its provenance, and the per-source [`PollState`]. Plain data; the
//! stages own the behaviour.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an article's `published` time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The feed entry's own date.
    Entry,
    /// The article page's date (HTML sources).
    Page,
    /// No date anywhere: the time gazette first saw it.
    FirstSeen,
}

impl DateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Entry => "entry",
            DateSource::Page => "page",
            DateSource::FirstSeen => "first_seen",
        }
    }
}

/// A media file attached to an entry (RSS `<enclosure>`, Atom `rel="enclosure"`, Media RSS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    #[serde(rename = "type")]
    pub r#type: Option<String>,
    pub length: Option<u64>,
}

/// How one source carries an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLink {
    pub source: String,
    /// The article's URL at that source (tracking parameters removed).
    pub url: String,
    /// The source's own id for the entry, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
}

/// One (normalized title, publication instant) pair under which an article is found by dedup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupKey {
    pub title: String,
    pub published: DateTime<Utc>,
}

/// A normalized, archived story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Stable id, derived from the dedup identity of the first version stored.
    pub id: String,
    pub title: String,
    /// Canonical URL of the article (from its first source).
    pub url: String,
    /// Earliest publication instant over all sources.
    pub published: DateTime<Utc>,
    pub date_source: DateSource,
    /// For `date_source = "page"`: where on the page the date was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_method: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// When the stored article last changed.
    pub updated: DateTime<Utc>,
    /// Source ids, in the order they were seen.
    pub sources: Vec<String>,
    pub links: Vec<SourceLink>,
    pub author: Option<String>,
    pub language: Option<String>,
    /// Plain-text summary.
    pub summary: String,
    /// Plain text of the content, paragraphs separated by blank lines.
    pub text: String,
    /// Sanitized HTML content.
    pub html: String,
    /// Which source the current content came from (its updates replace it).
    pub content_source: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub enclosures: Vec<Enclosure>,
    /// Every (title, date) this article is indexed under for dedup.
    pub dedup_keys: Vec<DedupKey>,
    /// Lead image URL, when the article page names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Ids of the topics this article belongs to (computed when it is stored).
    #[serde(default)]
    pub topics: Vec<String>,
}

/// What the archive remembers about polling one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// HTTP status of the last response, if one came.
    pub last_status: Option<u16>,
    /// Counts of the last successful poll.
    pub last_new: u32,
    pub last_duplicate: u32,
    pub last_updated: u32,
    /// Validators for conditional GET (RFC 9110 §13), stored byte for byte.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The URL the validators belong to: they are not sent to another one.
    #[serde(default)]
    pub validators_url: Option<String>,
    /// Consecutive polls answered `304 Not Modified`.
    #[serde(default)]
    pub not_modified: u32,
    /// The feed's own polling hint (`<ttl>`, `sy:updatePeriod`), kept for 304 answers.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// When the source is due again (persisted, so a restart does not re-poll everything).
    #[serde(default)]
    pub next_due: Option<DateTime<Utc>>,
    /// The last failure may go away by itself (timeouts, 5xx, 429).
    #[serde(default)]
    pub last_error_transient: bool,
    /// `410 Gone`: the source is not polled any more.
    #[serde(default)]
    pub gone: bool,
    /// Where a permanent redirect (301/308) sent the configured URL; polled instead of it.
    #[serde(default)]
    pub moved_to: Option<String>,
    /// The configured URL that moved (a changed config URL cancels the move).
    #[serde(default)]
    pub moved_from: Option<String>,
}

/// Something operators should hear about: a source started failing, recovered, moved or went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub at: DateTime<Utc>,
    pub source: String,
    /// "failing", "recovered", "moved", "gone".
    pub kind: String,
    pub message: String,
}
