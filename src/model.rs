//! The shared vocabulary of the pipeline: an [`Article`] (our normalized, archived story, which may
//! have several sources), its provenance, and the per-source [`PollState`] with the health rules
//! read from it (gone, moved, failing after [`FAILING_AFTER`]), written once here for the poller,
//! the scheduler and the status pages. Otherwise plain data; the stages own the behaviour.

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    #[serde(rename = "type")]
    pub r#type: Option<String>,
    pub length: Option<u64>,
    /// Playing time in seconds (`itunes:duration`, JSON Feed `duration_in_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}

/// How one source carries an article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceLink {
    pub source: String,
    /// The article's URL at that source (tracking parameters removed).
    pub url: String,
    /// The source's own id for the entry, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// The author this source names (republished feeds credit the primary source's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// That author's email, when the source gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
    /// The title this source gave: an article shows one title, and keeps each source's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How this source's entry joined the article; none for the entry that created it.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matched: Option<Match>,
}

/// How an entry joined an article another source had created: by which rule, how sure, and
/// with which source's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub rule: MatchRule,
    /// 1 for the exact rules; the similarity for a near match.
    pub score: f64,
    /// The source whose entry it matched.
    pub with: String,
}

/// The dedup rule an entry joined an article by (see `archive::merge`). Written as its
/// lower-case name ("exact", "near").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchRule {
    /// The same story key within the dedup window.
    Exact,
    /// A story key similar enough within the dedup window (`normalize::near`).
    Near,
}

impl MatchRule {
    /// The rule's name as the JSON contract writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Near => "near",
        }
    }
}

/// Which dedup rules may join a source's entries with other sources' (`[[source]] dedup`):
/// ordered from none to all, so "allows" is a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupMode {
    /// Every entry is its own article.
    Off,
    /// Only the same story key.
    Exact,
    /// The same story key, or a near one.
    #[default]
    Near,
}

impl DedupMode {
    /// Whether `rule` may join an entry under this mode.
    pub fn allows(self, rule: MatchRule) -> bool {
        match rule {
            MatchRule::Exact => self >= DedupMode::Exact,
            MatchRule::Near => self >= DedupMode::Near,
        }
    }
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
    /// `published` as its source wrote it (the page's offset, or the source's zone), when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_local: Option<DateTime<chrono::FixedOffset>>,
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
    /// Sources whose entries no dedup rule may join with this article: `gazette split` took
    /// them apart (both ways: the split-off article lists the sources it left).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apart: Vec<String>,
    /// Lead image URL, when the article page names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Ids of the topics this article belongs to (computed when it is stored).
    #[serde(default)]
    pub topics: Vec<String>,
    /// The newest "updated" date any of its sources gave (not gazette's own change time,
    /// which is `updated`): what republished feeds say an entry was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated: Option<DateTime<Utc>>,
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
    /// What the last successful poll found wrong with the document (item elements that could
    /// not be read, every entry skipped): the source shows "warning", not "ok".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_warning: Option<String>,
    /// xxh3-128 of the last document that was read and stored (its bytes, content type, URL
    /// and the source's settings): a `200` with the same bytes is handled like a `304`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<String>,
}

/// Consecutive failures after which a transiently failing source counts as "failing" (and an
/// event is published); a permanent error counts at once.
pub const FAILING_AFTER: u32 = 3;

/// A source's health as people read it (`status`, `/status`, `/status.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    /// Polled without error, but the document gave nothing that could be stored.
    Warning,
    #[serde(rename = "backing off")]
    BackingOff,
    Failing,
    Gone,
    Moved,
    #[serde(rename = "never polled")]
    NeverPolled,
    Disabled,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Warning => "warning",
            Health::BackingOff => "backing off",
            Health::Failing => "failing",
            Health::Gone => "gone",
            Health::Moved => "moved",
            Health::NeverPolled => "never polled",
            Health::Disabled => "disabled",
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PollState {
    /// The source answered `410 Gone` at `url` (its configured URL): it is not polled any
    /// more, until the configured URL changes.
    pub fn is_gone_at(&self, url: &str) -> bool {
        self.gone && self.validators_url.as_deref() == Some(url)
    }

    /// Where the configured `url` moved permanently (301/308), while the configuration still
    /// names it; a changed URL in the configuration cancels the move.
    pub fn moved_target(&self, url: &str) -> Option<&str> {
        self.moved_to
            .as_deref()
            .filter(|_| self.moved_from.as_deref() == Some(url))
    }

    /// Whether the failures so far make the source "failing": [`FAILING_AFTER`] transient ones
    /// in a row, or one permanent one.
    pub fn is_failing(&self) -> bool {
        self.consecutive_failures >= FAILING_AFTER
            || (self.consecutive_failures > 0 && !self.last_error_transient)
    }

    /// Whether the failure just counted is the one that deserves a "failing" event (once per
    /// run of failures, not on every poll).
    pub fn just_started_failing(&self) -> bool {
        self.consecutive_failures == FAILING_AFTER
            || (!self.last_error_transient && self.consecutive_failures == 1)
    }

    /// The health of a source configured at `url` (enabled or not) with this state.
    pub fn health(state: Option<&PollState>, url: &str, enabled: bool) -> Health {
        match state {
            _ if !enabled => Health::Disabled,
            None => Health::NeverPolled,
            Some(s) if s.is_gone_at(url) => Health::Gone,
            Some(s) if s.moved_target(url).is_some() => Health::Moved,
            Some(s) if s.consecutive_failures == 0 && s.last_warning.is_some() => Health::Warning,
            Some(s) if s.consecutive_failures == 0 => Health::Ok,
            Some(s) if s.is_failing() => Health::Failing,
            Some(_) => Health::BackingOff,
        }
    }
}

/// What happened to a source that operators should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Failing,
    Recovered,
    Moved,
    Gone,
    /// A poll succeeded but its document gave nothing to store (see `PollState::last_warning`).
    Warning,
    /// The archive's filesystem is below `[archive] min_free`: polls are deferred.
    #[serde(rename = "disk low")]
    DiskLow,
    /// Space came back: polling resumed.
    #[serde(rename = "disk ok")]
    DiskOk,
}

impl EventKind {
    /// The name stored in event keys and shown in `/status.rss`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Failing => "failing",
            EventKind::Recovered => "recovered",
            EventKind::Moved => "moved",
            EventKind::Gone => "gone",
            EventKind::Warning => "warning",
            EventKind::DiskLow => "disk low",
            EventKind::DiskOk => "disk ok",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something operators should hear about: a source started failing, recovered, moved or went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub at: DateTime<Utc>,
    pub source: String,
    pub kind: EventKind,
    pub message: String,
}

/// `published` as its source wrote it (RFC 3339 with the page's offset or the source's zone's),
/// else the UTC instant.
pub fn published_local(
    published: chrono::DateTime<chrono::Utc>,
    local: Option<chrono::DateTime<chrono::FixedOffset>>,
) -> String {
    local.map_or_else(
        || published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        |l| l.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    )
}

/// The `articles --json` object (and `/articles/{id}.json`): the contract other tools read.
pub fn article_json(a: &Article) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "published": a.published,
        "published_local": published_local(a.published, a.published_local),
        "date_source": a.date_source.as_str(),
        "date_method": a.date_method,
        "first_seen": a.first_seen,
        "updated": a.updated,
        "source_updated": a.source_updated,
        "content_source": a.content_source,
        "sources": a.sources,
        "links": a.links,
        "author": a.author,
        "language": a.language,
        "summary": a.summary,
        "text": a.text,
        "html": a.html,
        "categories": a.categories,
        "enclosures": a.enclosures,
        "topics": a.topics,
        "image": a.image,
        "apart": a.apart,
    })
}
