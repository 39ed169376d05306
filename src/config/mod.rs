//! The only reader of `feeds.toml`. Two stages: [`file`] mirrors what the user wrote (with spans);
//! [`load`]/[`parse`] turn it into a validated, typed [`Config`] — durations and sizes parsed,
//! URLs parsed, time zones resolved — or into a list of *every* problem found, each naming the
//! file, the line, the table and the key.

mod file;
pub mod units;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use toml::Spanned;
use url::Url;

use file::{FileConfig, FileSource, FileTopic};

/// Default `[archive] path`, relative to the config file's folder.
pub const DEFAULT_ARCHIVE_PATH: &str = "data/archive";

/// A validated configuration, ready to use.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration was read from (for messages).
    pub file: PathBuf,
    pub archive: ArchiveConfig,
    pub server: ServerConfig,
    pub polling: PollingConfig,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
}

/// `[archive]`
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    /// The sled directory, already resolved against the config file's folder.
    pub path: PathBuf,
    /// Two entries with the same normalized title are one article when their publication
    /// instants are at most this far apart.
    pub dedup_window: Duration,
    /// Articles published longer ago are pruned (tombstones keep them from coming back);
    /// `None` keeps everything.
    pub retention: Option<Duration>,
    /// How often the daemon writes a compressed JSON Lines snapshot (`None`: never).
    pub backup_every: Option<Duration>,
    /// How many snapshots are kept.
    pub backup_keep: usize,
    /// Where snapshots go: `backups/` beside the archive directory.
    pub backup_dir: PathBuf,
    /// Free space kept on the archive's filesystem: below it, polls are deferred (not failed)
    /// until space comes back.
    pub min_free: u64,
    /// Open an archive that holds fewer articles than its record says (`--accept-loss` on the
    /// command line; not a file key).
    pub accept_loss: bool,
    /// Entries of different sources whose titles are at least this similar (and dated within
    /// `dedup_window`) are one article (`normalize::near`); `None`: only the same title is.
    pub near_duplicates: Option<f64>,
}

/// `[server]`
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The public address of this gazette, used for self links in published feeds.
    pub base_url: Url,
    /// Whether `base_url` was written in the file; if not, `run` derives it from the address it
    /// actually bound (which matters for port 0).
    pub base_url_given: bool,
    /// A client must send its request headers within this long of their first byte.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Client connections open at once; `None`: as many as the descriptor limit allows with
    /// room left for the archive and the poller.
    pub max_connections: Option<usize>,
    /// `/status*`, `/metrics` and `/healthz`'s detail for everyone (true), or for loopback
    /// clients only (false).
    pub public_status: bool,
    /// A WebSub hub (W3C WebSub §4): advertised in every feed and pinged when one changes.
    pub websub_hub: Option<Url>,
    /// Items per archive document (RFC 5005 §4): every topic's and source's feed keeps its
    /// whole history in documents of this many arrivals, which never change once full.
    pub archive_page_size: usize,
}

/// `[polling]`: defaults every source inherits.
#[derive(Debug, Clone)]
pub struct PollingConfig {
    pub interval: Duration,
    pub timeout: Duration,
    /// Cap on the *decoded* body of one response.
    pub max_body: u64,
    pub user_agent: String,
    /// How many sources are fetched at once.
    pub concurrency: usize,
    /// How many requests one host gets at once.
    pub per_host: usize,
    /// Minimum time between the starts of two requests to one host.
    pub host_delay: Duration,
    /// CPU time one document may take to read; a document over it is dropped and its poll
    /// fails (so a source whose documents stall the CPU backs off and shows "failing").
    pub cpu_budget: Duration,
    /// The longest gap between two polls of a source, whatever the feed or server asks for
    /// and however long a failing source backs off.
    pub max_interval: Duration,
}

/// How a source's documents are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Decide from the document: a feed is parsed as a feed.
    Auto,
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A site without a feed (list page + article pages).
    Html,
}

/// One `[[source]]`, with the `[polling]` defaults filled in.
#[derive(Debug, Clone)]
pub struct Source {
    /// `[a-z0-9-]+`, unique: the stable key of the source in the archive.
    pub id: String,
    pub name: Option<String>,
    pub url: Url,
    pub kind: SourceKind,
    /// Zone for dates written without an offset; `None` (not set): UTC for feeds, and for
    /// article pages the zone the page shows it is written for (`extract`), else UTC.
    pub timezone: Option<Tz>,
    pub interval: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    /// `[polling] cpu_budget`.
    pub cpu_budget: Duration,
    pub user_agent: String,
    pub enabled: bool,
    pub tags: Vec<String>,
    /// HTML list pages: CSS selector for the article links (else a heuristic finds them).
    pub links: Option<String>,
    /// HTML list pages: which article URLs to follow.
    pub follow: Option<crate::extract::Follow>,
    /// HTML list pages: the newest N links per poll.
    pub max_articles: usize,
    /// Feeds: the newest N entries stored per poll; the rest are skipped and reported.
    pub max_entries: usize,
    /// Items in the source's own gazette feed (`/sources/ID.rss|.atom|.json`).
    pub limit: usize,
    /// Feeds: fetch the page of summary-only entries and extract the full article.
    pub full_text: bool,
    /// The source's URL may redirect to private, loopback or link-local addresses (otherwise
    /// only its own host and port may be one).
    pub allow_private: bool,
    /// Which dedup rules may join its entries with other sources' (`dedup`).
    pub dedup: crate::model::DedupMode,
}

impl Source {
    /// The name shown to people: the display name if given, else the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One `[[topic]]`: a curated output feed.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The query as written.
    pub query: String,
    /// The query, parsed.
    pub compiled: crate::query::Expr,
    pub limit: usize,
    pub sources: Vec<String>,
}

/// One thing wrong with the configuration, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// The table: `[polling]`, `source "wire"`, `topic "ip"`; empty at the top level.
    pub context: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.context.is_empty() {
            write!(f, ": {}", self.context)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source} (pass --config PATH or set GAZETTE_CONFIG)", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Validates configuration text; `path` names the file in messages and anchors relative paths.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut v = Validator {
        file: path.to_path_buf(),
        text,
        problems: Vec::new(),
    };
    // Stage 0: syntax, and every unknown key at once (serde would stop at the first).
    match toml::de::DeTable::parse(text) {
        Ok(doc) => {
            for unknown in file::unknown_keys(doc.get_ref()) {
                let hint = unknown
                    .suggestion
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                v.push_at(
                    Some(unknown.offset),
                    &unknown.context,
                    format!("unknown key {:?}{hint}", unknown.key),
                );
            }
        }
        Err(e) => {
            v.push_at(
                e.span().map(|s| s.start),
                "",
                format!("invalid TOML: {}", first_line(e.message())),
            );
            return Err(v.finish_err());
        }
    }
    if !v.problems.is_empty() {
        return Err(v.finish_err());
    }
    // Stage 1: the typed mirror.
    let raw: FileConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            v.push_at(
                e.span().map(|s| s.start),
                "",
                first_line(e.message()).to_string(),
            );
            return Err(v.finish_err());
        }
    };
    // Stage 2: meaning.
    let config = v.validate(raw);
    match config {
        Some(c) if v.problems.is_empty() => Ok(c),
        _ => Err(v.finish_err()),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

struct Validator<'a> {
    file: PathBuf,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn push_at(&mut self, offset: Option<usize>, context: &str, message: String) {
        let line = offset.map(|o| self.line_of(o));
        self.problems.push(Problem {
            file: self.file.clone(),
            line,
            context: context.to_string(),
            message,
        });
    }

    fn push<T>(&mut self, at: &Spanned<T>, context: &str, key: &str, message: impl fmt::Display) {
        self.push_at(
            Some(at.span().start),
            context,
            format!("key {key:?}: {message}"),
        );
    }

    fn finish_err(&mut self) -> ConfigError {
        ConfigError::Invalid {
            problems: std::mem::take(&mut self.problems),
        }
    }

    fn duration(&mut self, value: &Spanned<String>, context: &str, key: &str) -> Option<Duration> {
        match units::parse_duration(value.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.push(value, context, key, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.push(value, context, key, e);
                None
            }
        }
    }

    fn size(&mut self, value: &Spanned<String>, context: &str, key: &str) -> Option<u64> {
        units::parse_size(value.get_ref())
            .map_err(|e| self.push(value, context, key, e))
            .ok()
    }

    /// A count between 1 and `most`, or `default` when absent (or wrong: the problem is noted).
    fn count(
        &mut self,
        value: Option<&Spanned<i64>>,
        context: &str,
        key: &str,
        default: usize,
        most: usize,
    ) -> usize {
        let Some(v) = value else {
            return default;
        };
        match usize::try_from(*v.get_ref()) {
            Ok(n) if (1..=most).contains(&n) => n,
            _ => {
                self.push(v, context, key, format!("must be between 1 and {most}"));
                default
            }
        }
    }

    fn http_url(&mut self, value: &Spanned<String>, context: &str, key: &str) -> Option<Url> {
        match Url::parse(value.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) => {
                self.push(
                    value,
                    context,
                    key,
                    format!(
                        "{:?} is not an http(s) URL (scheme {:?})",
                        value.get_ref(),
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                self.push(
                    value,
                    context,
                    key,
                    format!("invalid URL {:?}: {e}", value.get_ref()),
                );
                None
            }
        }
    }

    fn validate(&mut self, raw: FileConfig) -> Option<Config> {
        let base_dir = self
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();

        // [archive]
        let mut archive = ArchiveConfig {
            path: base_dir.join(DEFAULT_ARCHIVE_PATH),
            dedup_window: Duration::from_secs(48 * 3600),
            retention: None,
            backup_every: None,
            backup_keep: 7,
            backup_dir: PathBuf::new(),
            accept_loss: false,
            min_free: 256 * 1024 * 1024,
            near_duplicates: Some(crate::normalize::near::DEFAULT_THRESHOLD),
        };
        if let Some(a) = &raw.archive {
            if let Some(p) = &a.path {
                if p.get_ref().trim().is_empty() {
                    self.push(p, "[archive]", "path", "must not be empty");
                } else {
                    archive.path = base_dir.join(p.get_ref());
                }
            }
            if let Some(r) = &a.retention {
                archive.retention = self.duration(r, "[archive]", "retention");
            }
            if let Some(b) = &a.backup_every {
                archive.backup_every = self.duration(b, "[archive]", "backup_every");
            }
            if let Some(m) = &a.min_free {
                archive.min_free = self
                    .size(m, "[archive]", "min_free")
                    .unwrap_or(archive.min_free);
            }
            if let Some(k) = &a.backup_keep {
                match usize::try_from(*k.get_ref()) {
                    Ok(n) if (1..=1000).contains(&n) => archive.backup_keep = n,
                    _ => self.push(k, "[archive]", "backup_keep", "must be between 1 and 1000"),
                }
            }
            if let Some(w) = &a.dedup_window
                && let Some(d) = self.duration(w, "[archive]", "dedup_window")
            {
                archive.dedup_window = d;
            }
            if let Some(n) = &a.near_duplicates {
                match n.get_ref() {
                    file::FileNear::Switch(false) => archive.near_duplicates = None,
                    file::FileNear::Switch(true) => {}
                    file::FileNear::Threshold(t) if *t > 0.0 && *t <= 1.0 => {
                        archive.near_duplicates = Some(*t)
                    }
                    file::FileNear::Threshold(t) => self.push(
                        n,
                        "[archive]",
                        "near_duplicates",
                        format!(
                            "{t} is not a similarity: use a number above 0 and at most 1 (the default is {}), or false to merge only identical titles",
                            crate::normalize::near::DEFAULT_THRESHOLD
                        ),
                    ),
                }
            }
        }

        archive.backup_dir = archive
            .path
            .parent()
            .map_or_else(|| PathBuf::from("backups"), |p| p.join("backups"));

        // [server]
        let mut server = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_url: Url::parse("http://127.0.0.1:8080/").ok()?,
            base_url_given: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            public_status: true,
            websub_hub: None,
            archive_page_size: 100,
        };
        let mut base_url_given = false;
        if let Some(s) = &raw.server {
            if let Some(l) = &s.listen {
                match l.get_ref().parse::<SocketAddr>() {
                    Ok(addr) => server.listen = addr,
                    Err(_) => self.push(
                        l,
                        "[server]",
                        "listen",
                        format!(
                            "{:?} is not an address:port such as \"127.0.0.1:8080\"",
                            l.get_ref()
                        ),
                    ),
                }
            }
            if let Some(b) = &s.base_url
                && let Some(u) = self.http_url(b, "[server]", "base_url")
            {
                server.base_url = u;
                base_url_given = true;
            }
            if let Some(x) = &s.header_timeout {
                server.header_timeout = self
                    .duration(x, "[server]", "header_timeout")
                    .unwrap_or(server.header_timeout);
            }
            if let Some(x) = &s.idle_timeout {
                server.idle_timeout = self
                    .duration(x, "[server]", "idle_timeout")
                    .unwrap_or(server.idle_timeout);
            }
            if let Some(p) = s.public_status {
                server.public_status = p;
            }
            if let Some(h) = &s.websub_hub {
                server.websub_hub = self.http_url(h, "[server]", "websub_hub");
            }
            server.archive_page_size = self.count(
                s.archive_page_size.as_ref(),
                "[server]",
                "archive_page_size",
                100,
                10_000,
            );
            if let Some(x) = &s.max_connections {
                match usize::try_from(*x.get_ref()) {
                    Ok(n) if (16..=1_000_000).contains(&n) => server.max_connections = Some(n),
                    _ => self.push(
                        x,
                        "[server]",
                        "max_connections",
                        "must be between 16 and 1000000",
                    ),
                }
            }
        }
        server.base_url_given = base_url_given;
        if !base_url_given && let Ok(u) = Url::parse(&format!("http://{}/", server.listen)) {
            server.base_url = u;
        }

        // [polling]
        let mut polling = PollingConfig {
            interval: Duration::from_secs(30 * 60),
            timeout: Duration::from_secs(20),
            max_body: 10 * 1024 * 1024,
            user_agent: format!(
                "gazette/{} (+https://github.com/gazette-feeds/gazette)",
                env!("CARGO_PKG_VERSION")
            ),
            concurrency: 16,
            per_host: 2,
            host_delay: Duration::from_millis(500),
            cpu_budget: Duration::from_secs(10),
            max_interval: Duration::from_secs(24 * 3600),
        };
        if let Some(p) = &raw.polling {
            let ctx = "[polling]";
            if let Some(x) = &p.interval {
                polling.interval = self
                    .duration(x, ctx, "interval")
                    .unwrap_or(polling.interval);
            }
            if let Some(x) = &p.timeout {
                polling.timeout = self.duration(x, ctx, "timeout").unwrap_or(polling.timeout);
            }
            if let Some(x) = &p.max_body {
                polling.max_body = self.size(x, ctx, "max_body").unwrap_or(polling.max_body);
            }
            if let Some(x) = &p.user_agent {
                if x.get_ref().trim().is_empty() || x.get_ref().contains(['\r', '\n']) {
                    self.push(x, ctx, "user_agent", "must be one non-empty line");
                } else {
                    polling.user_agent = x.get_ref().trim().to_string();
                }
            }
            if let Some(x) = &p.concurrency {
                match usize::try_from(*x.get_ref()) {
                    Ok(n) if (1..=1024).contains(&n) => polling.concurrency = n,
                    _ => self.push(x, ctx, "concurrency", "must be between 1 and 1024"),
                }
            }
            if let Some(x) = &p.per_host {
                match usize::try_from(*x.get_ref()) {
                    Ok(n) if (1..=64).contains(&n) => polling.per_host = n,
                    _ => self.push(x, ctx, "per_host", "must be between 1 and 64"),
                }
            }
            if let Some(x) = &p.host_delay {
                match units::parse_duration(x.get_ref()) {
                    Ok(d) => polling.host_delay = d,
                    Err(e) => self.push(x, ctx, "host_delay", e),
                }
            }
            if let Some(x) = &p.max_interval {
                polling.max_interval = self
                    .duration(x, ctx, "max_interval")
                    .unwrap_or(polling.max_interval);
            }
            if let Some(x) = &p.cpu_budget {
                polling.cpu_budget = self
                    .duration(x, ctx, "cpu_budget")
                    .unwrap_or(polling.cpu_budget);
            }
        }

        // [[source]]
        let mut seen = HashSet::new();
        let mut sources = Vec::new();
        for s in &raw.source {
            if let Some(src) = self.source(s, &polling, &mut seen) {
                sources.push(src);
            }
        }

        // [[topic]]
        let mut seen_topics = HashSet::new();
        let mut topics = Vec::new();
        let source_ids: Vec<String> = raw
            .source
            .iter()
            .map(|s| s.get_ref().id.get_ref().to_lowercase())
            .collect();
        for t in &raw.topic {
            if let Some(topic) = self.topic(t, &mut seen_topics, &source_ids) {
                topics.push(topic);
            }
        }

        Some(Config {
            file: self.file.clone(),
            archive,
            server,
            polling,
            sources,
            topics,
        })
    }

    fn check_id(
        &mut self,
        id: &Spanned<String>,
        context: &str,
        seen: &mut HashSet<String>,
        what: &str,
    ) -> bool {
        let s = id.get_ref();
        let well_formed = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !well_formed {
            self.push(
                id,
                context,
                "id",
                format!("{s:?} must match [a-z0-9-]+ (at most 64 characters)"),
            );
            return false;
        }
        if !seen.insert(s.clone()) {
            self.push(
                id,
                context,
                "id",
                format!("duplicate {what} id {s:?}: ids must be unique"),
            );
            return false;
        }
        true
    }

    fn source(
        &mut self,
        s: &Spanned<FileSource>,
        polling: &PollingConfig,
        seen: &mut HashSet<String>,
    ) -> Option<Source> {
        let raw = s.get_ref();
        let ctx = format!("source {:?}", raw.id.get_ref());
        let before = self.problems.len();
        self.check_id(&raw.id, &ctx, seen, "source");
        let url = self.http_url(&raw.url, &ctx, "url");
        let kind = match raw.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("auto") => SourceKind::Auto,
            Some("feed") => SourceKind::Feed,
            Some("html") => SourceKind::Html,
            Some(other) => {
                if let Some(k) = &raw.kind {
                    self.push(
                        k,
                        &ctx,
                        "kind",
                        format!("unknown kind {other:?} (use \"auto\", \"feed\" or \"html\")"),
                    );
                }
                SourceKind::Auto
            }
        };
        let timezone = match &raw.timezone {
            None => None,
            Some(tz) => match tz.get_ref().parse::<Tz>() {
                Ok(z) => Some(z),
                Err(_) => {
                    self.push(
                        tz,
                        &ctx,
                        "timezone",
                        format!("unknown time zone {:?} (use an IANA name such as \"Asia/Shanghai\" or \"UTC\")", tz.get_ref()),
                    );
                    None
                }
            },
        };
        let dedup = match raw.dedup.as_ref().map(|d| (d, d.get_ref().as_str())) {
            None => crate::model::DedupMode::Near,
            Some((_, "near")) => crate::model::DedupMode::Near,
            Some((_, "exact")) => crate::model::DedupMode::Exact,
            Some((_, "off")) => crate::model::DedupMode::Off,
            Some((d, other)) => {
                self.push(
                    d,
                    &ctx,
                    "dedup",
                    format!("unknown dedup mode {other:?} (use \"near\", \"exact\" or \"off\")"),
                );
                crate::model::DedupMode::Near
            }
        };
        let interval = match &raw.interval {
            Some(x) => self
                .duration(x, &ctx, "interval")
                .unwrap_or(polling.interval),
            None => polling.interval,
        };
        let timeout = match &raw.timeout {
            Some(x) => self.duration(x, &ctx, "timeout").unwrap_or(polling.timeout),
            None => polling.timeout,
        };
        let max_body = match &raw.max_body {
            Some(x) => self.size(x, &ctx, "max_body").unwrap_or(polling.max_body),
            None => polling.max_body,
        };
        let mut tags = Vec::new();
        for t in &raw.tags {
            let tag = t.get_ref().trim();
            if tag.is_empty() {
                self.push(t, &ctx, "tags", "tags must not be empty strings");
            } else {
                tags.push(tag.to_string());
            }
        }
        let links = match &raw.links {
            Some(l) if scraper::Selector::parse(l.get_ref()).is_err() => {
                self.push(
                    l,
                    &ctx,
                    "links",
                    format!("{:?} is not a valid CSS selector", l.get_ref()),
                );
                None
            }
            Some(l) => Some(l.get_ref().clone()),
            None => None,
        };
        let follow = match &raw.follow {
            None => None,
            Some(f) => match f.get_ref() {
                file::FileFollow::Contains(s) => Some(crate::extract::Follow::Contains(s.clone())),
                file::FileFollow::Regex { regex } => match regex::Regex::new(regex) {
                    Ok(r) => Some(crate::extract::Follow::Regex(r)),
                    Err(e) => {
                        self.push(
                            f,
                            &ctx,
                            "follow",
                            format!("invalid regex: {}", first_line(&e.to_string())),
                        );
                        None
                    }
                },
            },
        };
        let max_articles = self.count(raw.max_articles.as_ref(), &ctx, "max_articles", 30, 1_000);
        let max_entries = self.count(
            raw.max_entries.as_ref(),
            &ctx,
            "max_entries",
            500,
            1_000_000,
        );
        let limit = self.count(raw.limit.as_ref(), &ctx, "limit", 50, 10_000);
        if self.problems.len() != before {
            return None;
        }
        Some(Source {
            limit,
            id: raw.id.get_ref().clone(),
            name: raw.name.clone().filter(|n| !n.trim().is_empty()),
            url: url?,
            kind,
            timezone,
            interval,
            timeout,
            max_body,
            user_agent: polling.user_agent.clone(),
            cpu_budget: polling.cpu_budget,
            enabled: raw.enabled.unwrap_or(true),
            tags,
            links,
            follow,
            max_articles,
            max_entries,
            full_text: raw.full_text.unwrap_or(false),
            allow_private: raw.allow_private.unwrap_or(false),
            dedup,
        })
    }

    fn topic(
        &mut self,
        t: &Spanned<FileTopic>,
        seen: &mut HashSet<String>,
        source_ids: &[String],
    ) -> Option<Topic> {
        let raw = t.get_ref();
        let ctx = format!("topic {:?}", raw.id.get_ref());
        let before = self.problems.len();
        self.check_id(&raw.id, &ctx, seen, "topic");
        if raw.title.get_ref().trim().is_empty() {
            self.push(&raw.title, &ctx, "title", "must not be empty");
        }
        let compiled = if raw.query.get_ref().trim().is_empty() {
            self.push(&raw.query, &ctx, "query", "must not be empty");
            None
        } else {
            match crate::query::parse(raw.query.get_ref()) {
                Ok(e) => Some(e),
                Err(e) => {
                    self.push_at(Some(raw.query.span().start), &ctx, e.to_string());
                    None
                }
            }
        };
        let limit = self.count(raw.limit.as_ref(), &ctx, "limit", 50, 10_000);
        for s in &raw.sources {
            let glob = s.get_ref().to_lowercase();
            if !source_ids
                .iter()
                .any(|id| crate::query::glob_match(&glob, id))
            {
                self.push(
                    s,
                    &ctx,
                    "sources",
                    format!("{:?} matches no configured source id", s.get_ref()),
                );
            }
        }
        if self.problems.len() != before {
            return None;
        }
        Some(Topic {
            id: raw.id.get_ref().clone(),
            title: raw.title.get_ref().trim().to_string(),
            description: raw.description.clone(),
            query: raw.query.get_ref().clone(),
            compiled: compiled?,
            limit,
            sources: raw.sources.iter().map(|s| s.get_ref().clone()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text, Path::new("feeds.toml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            Err(e) => vec![e.to_string()],
        }
    }

    const GOOD: &str = r#"
[archive]
path = "data/archive"
dedup_window = "48h"

[polling]
interval = "30m"

[[source]]
id = "wire"
url = "https://example.org/rss.xml"
timezone = "Asia/Shanghai"
interval = "1h"
tags = ["china"]

[[topic]]
id = "ip-innovation"
title = "IP & innovation"
query = '"intellectual property" OR patent* OR IP'
"#;

    #[test]
    fn good_config_loads_with_defaults_filled_in() {
        let c = parse(GOOD, Path::new("/etc/gazette/feeds.toml")).expect("valid");
        assert_eq!(c.archive.path, PathBuf::from("/etc/gazette/data/archive"));
        assert_eq!(c.archive.dedup_window, Duration::from_secs(48 * 3600));
        assert_eq!(c.sources[0].interval, Duration::from_secs(3600));
        assert_eq!(c.sources[0].timeout, Duration::from_secs(20));
        assert_eq!(c.sources[0].timezone, Some(chrono_tz::Asia::Shanghai));
        assert_eq!(c.sources[0].kind, SourceKind::Auto);
        assert!(c.sources[0].enabled);
        assert_eq!(c.topics[0].limit, 50);
        assert_eq!(
            c.archive.near_duplicates,
            Some(crate::normalize::near::DEFAULT_THRESHOLD)
        );
        assert_eq!(c.sources[0].dedup, crate::model::DedupMode::Near);
    }

    #[test]
    fn near_duplicates_takes_a_threshold_or_a_switch_and_sources_a_dedup_mode() {
        // ([archive] line, source line, threshold, mode)
        let table = [
            (
                "near_duplicates = 0.7",
                "dedup = \"exact\"",
                Some(0.7),
                crate::model::DedupMode::Exact,
            ),
            (
                "near_duplicates = false",
                "dedup = \"off\"",
                None,
                crate::model::DedupMode::Off,
            ),
            (
                "near_duplicates = true",
                "dedup = \"near\"",
                Some(crate::normalize::near::DEFAULT_THRESHOLD),
                crate::model::DedupMode::Near,
            ),
        ];
        for (archive, source, threshold, mode) in table {
            let text = format!(
                "[archive]\n{archive}\n[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n{source}\n"
            );
            let c = parse(&text, Path::new("feeds.toml")).expect("valid");
            assert_eq!(c.archive.near_duplicates, threshold, "{text}");
            assert_eq!(c.sources[0].dedup, mode, "{text}");
        }
    }

    #[test]
    fn every_problem_names_file_line_and_key() {
        // (config text, expected substring of one problem)
        let cases = [
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimeuot = \"1s\"\n",
                "feeds.toml:4: source \"a\": unknown key \"timeuot\" (did you mean \"timeout\"?)",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"not a url\"\n",
                "feeds.toml:3: source \"a\": key \"url\": invalid URL",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"ftp://x.org/\"\n",
                "feeds.toml:3: source \"a\": key \"url\"",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"Mars/Olympus\"\n",
                "feeds.toml:4: source \"a\": key \"timezone\": unknown time zone \"Mars/Olympus\"",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ndedup = \"fuzzy\"\n",
                "feeds.toml:4: source \"a\": key \"dedup\": unknown dedup mode \"fuzzy\" (use \"near\", \"exact\" or \"off\")",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\nlimit = 0\n",
                "feeds.toml:4: source \"a\": key \"limit\": must be between 1 and 10000",
            ),
            (
                "[archive]\nnear_duplicates = 1.5\n",
                "feeds.toml:2: [archive]: key \"near_duplicates\": 1.5 is not a similarity",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ninterval = \"30\"\n",
                "feeds.toml:4: source \"a\": key \"interval\": invalid duration \"30\": missing unit",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n[[source]]\nid = \"a\"\nurl = \"https://y.org/\"\n",
                "feeds.toml:5: source \"a\": key \"id\": duplicate source id \"a\"",
            ),
            (
                "[[source]]\nid = \"Bad_Id\"\nurl = \"https://x.org/\"\n",
                "feeds.toml:2: source \"Bad_Id\": key \"id\"",
            ),
            (
                "[polling]\nmax_body = \"10 parsecs\"\n",
                "feeds.toml:2: [polling]: key \"max_body\": invalid size",
            ),
            (
                "[archive]\ndedup_window = \"soon\"\n",
                "feeds.toml:2: [archive]: key \"dedup_window\"",
            ),
            (
                "[server]\nlisten = \"localhost\"\n",
                "feeds.toml:2: [server]: key \"listen\"",
            ),
            (
                "[archiv]\npath = \"x\"\n",
                "feeds.toml:1: unknown key \"archiv\" (did you mean \"archive\"?)",
            ),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\nkind = \"rss\"\n",
                "feeds.toml:4: source \"a\": key \"kind\"",
            ),
            ("[[source]\nid = 1\n", "feeds.toml:1: invalid TOML"),
            (
                "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\nenabled = \"yes\"\n",
                "feeds.toml:4:",
            ),
            (
                "[[topic]]\nid = \"t\"\ntitle = \"T\"\nquery = \"\"\n",
                "feeds.toml:4: topic \"t\": key \"query\": must not be empty",
            ),
        ];
        for (text, expected) in cases {
            let found = problems(text);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "config:\n{text}\nexpected a problem containing:\n  {expected}\ngot:\n  {found:?}"
            );
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\nfoo = 1\nbar = 2\n";
        assert_eq!(problems(text).len(), 2);
        let text =
            "[[source]]\nid = \"a\"\nurl = \"nope\"\ntimezone = \"Nowhere\"\ninterval = \"x\"\n";
        assert_eq!(problems(text).len(), 3);
    }
}
