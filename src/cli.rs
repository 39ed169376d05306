//! The command line: argument definitions (the CLI contract) and one function per command.
//! Commands print results to stdout and problems to stderr, one sentence each, and return the
//! process exit code: 0 ok, 1 runtime failure, 2 bad usage or config.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use clap::{Parser, Subcommand};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::archive::Archive;
use crate::config::{self, Config, ConfigError};
use crate::curate::Curator;
use crate::fetch::{Fetcher, Limits};
use crate::model::Article;
use crate::poll::{Document, Poller, ReadAs, Reading, read_as as read_as_document};
use crate::publish::Format;

/// gazette: polls news sites, archives clean deduplicated articles, republishes curated feeds.
#[derive(Debug, Parser)]
#[command(name = "gazette", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "GAZETTE_CONFIG",
        default_value = "feeds.toml"
    )]
    pub config: PathBuf,
    /// Log format on stderr: `text` for people, `json` for log shippers (level via RUST_LOG).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and validate the configuration.
    Check,
    /// Fetch every enabled source once and ingest it.
    Poll {
        /// Poll only this source (even if disabled).
        #[arg(long)]
        source: Option<String>,
    },
    /// List archived articles, newest first.
    Articles {
        #[arg(long)]
        source: Option<String>,
        /// Only the articles of this topic.
        #[arg(long, conflicts_with = "source")]
        topic: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon: poll every source on its interval and serve the topic feeds over HTTP,
    /// until SIGTERM or SIGINT.
    Run,
    /// Print a topic's output feed (exactly the bytes the server sends).
    Render {
        topic: String,
        #[arg(long, value_enum, default_value_t = FormatArg::Rss)]
        format: FormatArg,
    },
    /// Check the archive's invariants (indexes vs articles, dedup keys, topic memberships).
    Verify {
        /// Rebuild the indexes from the articles.
        #[arg(long)]
        repair: bool,
    },
    /// Write the whole archive (articles with provenance, source state) as JSON Lines.
    Export {
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Load an export into this archive, deduplicating as ingestion does.
    Import { file: PathBuf },
    /// Print `[[source]]` blocks for every feed in an OPML file, to append to feeds.toml.
    ImportOpml { file: PathBuf },
    /// Every source's health: state, last success, next poll, failures, last error, articles.
    Status {
        /// One JSON document (the same as `/status.json`).
        #[arg(long)]
        json: bool,
    },
    /// Explain, for each topic, whether an article is in it and why.
    Explain {
        article_id: String,
        /// Explain only this topic.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Show how gazette reads one document (file or URL) without storing anything.
    Inspect {
        /// A file path or an http(s) URL.
        target: String,
        /// The document's address, for relative links (default: the URL fetched).
        #[arg(long)]
        url: Option<String>,
        /// The HTTP Content-Type it came with, charset included.
        #[arg(long)]
        content_type: Option<String>,
        /// Zone for dates written without an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Read it as this kind of document (default: decide from the document).
        #[arg(long = "as", value_enum)]
        read_as: Option<AsArg>,
        #[arg(long)]
        json: bool,
    },
}

/// `inspect --as`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AsArg {
    Feed,
    Article,
    List,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `render --format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Rss,
    Atom,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Rss => Format::Rss,
            FormatArg::Atom => Format::Atom,
            FormatArg::Json => Format::Json,
        }
    }
}

/// Whether the command is the long-running daemon (it logs at info by default).
pub fn is_daemon(cli: &Cli) -> bool {
    matches!(cli.command, Command::Run)
}

/// Runs the parsed command.
pub fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => check(&cli.config),
        Command::Poll { source } => with_config(&cli.config, |c| poll(c, source.as_deref())),
        Command::Articles {
            source,
            topic,
            limit,
            json,
        } => with_config(&cli.config, |c| {
            articles(c, source.as_deref(), topic.as_deref(), limit, json)
        }),
        Command::Run => with_config(&cli.config, |c| run(c, &cli.config)),
        Command::Render { topic, format } => {
            with_config(&cli.config, |c| render(c, &topic, format.into()))
        }
        Command::Status { json } => with_config(&cli.config, |c| status(c, json)),
        Command::Verify { repair } => with_config(&cli.config, |c| verify(c, repair)),
        Command::Export { output } => with_config(&cli.config, |c| export(c, output.as_deref())),
        Command::Import { file } => with_config(&cli.config, |c| import(c, &file)),
        Command::ImportOpml { file } => import_opml(&cli.config, &file),
        Command::Explain { article_id, topic } => {
            with_config(&cli.config, |c| explain(c, &article_id, topic.as_deref()))
        }
        Command::Inspect {
            target,
            url,
            content_type,
            timezone,
            read_as,
            json,
        } => inspect(
            &cli.config,
            &target,
            url.as_deref(),
            content_type.as_deref(),
            &timezone,
            read_as,
            json,
        ),
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        match &e {
            ConfigError::Invalid { problems } => {
                for p in problems {
                    eprintln!("error: {p}");
                }
            }
            ConfigError::Read { .. } => eprintln!("error: {e}"),
        }
        ExitCode::from(2)
    })
}

fn with_config(
    path: &Path,
    f: impl FnOnce(Config) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    match load(path) {
        Ok(c) => f(c),
        Err(code) => Ok(code),
    }
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match load(path) {
        Ok(c) => {
            println!("ok: {} sources, {} topics", c.sources.len(), c.topics.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

/// Opens the archive and brings topic memberships up to date with the configured topics.
fn open_archive(config: &Config) -> anyhow::Result<(Arc<Archive>, Arc<Curator>)> {
    let (archive, curator) = open_archive_uncurated(config)?;
    recurate(&archive, &curator, &AtomicBool::new(false))?;
    Ok((archive, curator))
}

/// Opens the archive (and prunes it) without re-curating: the daemon does that in the
/// background once it is serving, so a topic edit on a big archive does not delay start-up.
fn open_archive_uncurated(config: &Config) -> anyhow::Result<(Arc<Archive>, Arc<Curator>)> {
    let mut archive = Archive::open(&config.archive.path, config.archive.dedup_window)?;
    archive.set_retention(config.archive.retention);
    let pruned = archive.prune(Utc::now())?;
    if pruned > 0 {
        tracing::info!(pruned, "pruned articles past the retention period");
    }
    Ok((Arc::new(archive), Arc::new(Curator::new(config))))
}

/// Re-curates the archive if a topic changed, and says so.
fn recurate(archive: &Archive, curator: &Curator, stop: &AtomicBool) -> anyhow::Result<()> {
    let needed = archive.recuration_needed(&curator.fingerprints())?;
    if needed.changed.is_empty() && needed.removed.is_empty() {
        return Ok(());
    }
    tracing::info!(changed = ?needed.changed, removed = ?needed.removed, articles = archive.len(), "topics changed; re-curating the archive");
    let started = std::time::Instant::now();
    let r = archive.recurate(&|a| curator.topics_for(a), &curator.fingerprints(), stop)?;
    if r.interrupted {
        tracing::info!(
            scanned = r.scanned,
            updated = r.updated,
            "re-curation interrupted; the next start finishes it"
        );
    } else {
        tracing::info!(
            changed = ?r.changed, removed = ?r.removed, scanned = r.scanned, updated = r.updated,
            secs = format!("{:.1}", started.elapsed().as_secs_f64()),
            "topics changed; re-curated the archive"
        );
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // html5ever and the extractor recurse on the DOM; give them room (see MAX_NESTING)
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .context("cannot start the async runtime")
}

/// Reports an id that the config does not have, listing the ones it does; exit code 2.
fn no_such<'a>(
    what: &str,
    id: &str,
    config: &Config,
    known: impl Iterator<Item = &'a str>,
) -> ExitCode {
    let known: Vec<&str> = known.collect();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    eprintln!(
        "error: no {what} with id {id:?} in {} (known: {known})",
        config.file.display()
    );
    ExitCode::from(2)
}

fn poll(config: Config, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let sources: Vec<_> = match only {
        Some(id) => match config.sources.iter().find(|s| s.id == id) {
            Some(s) => vec![s.clone()],
            None => {
                return Ok(no_such(
                    "source",
                    id,
                    &config,
                    config.sources.iter().map(|s| s.id.as_str()),
                ));
            }
        },
        None => config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .cloned()
            .collect(),
    };
    if sources.is_empty() {
        println!(
            "total: 0 sources (none enabled in {})",
            config.file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (archive, curator) = open_archive(&config)?;
    let poller = Poller::new(&config, Arc::clone(&archive), curator)?;
    let reports = runtime()?.block_on(poller.poll_all(&sources, config.polling.concurrency));
    archive.flush()?;
    let mut out = std::io::stdout().lock();
    let (mut ok, mut failed) = (0, 0);
    let mut total = crate::archive::Counts::default();
    for r in &reports {
        match &r.result {
            Ok(_) if r.not_modified => {
                ok += 1;
                writeln!(
                    out,
                    "{}: not modified (304, {} ms)",
                    r.source,
                    r.elapsed.as_millis()
                )?;
            }
            Ok(c) => {
                ok += 1;
                total.new += c.new;
                total.duplicate += c.duplicate;
                total.updated += c.updated;
                total.unchanged += c.unchanged;
                writeln!(
                    out,
                    "{}: {} new, {} duplicate, {} updated, {} unchanged ({} entries, {} bytes, {} ms)",
                    r.source,
                    c.new,
                    c.duplicate,
                    c.updated,
                    c.unchanged,
                    r.entries,
                    r.bytes,
                    r.elapsed.as_millis()
                )?;
            }
            Err(reason) => {
                failed += 1;
                writeln!(out, "{}: failed: {reason}", r.source)?;
            }
        }
        for e in &r.article_errors {
            writeln!(out, "  article skipped: {e}")?;
        }
        if let Some(to) = &r.moved_to {
            writeln!(
                out,
                "  source {} moved to {to}; update feeds.toml",
                r.source
            )?;
        }
    }
    writeln!(
        out,
        "total: {} sources, {ok} ok, {failed} failed; {} new, {} duplicate, {} updated, {} unchanged",
        reports.len(),
        total.new,
        total.duplicate,
        total.updated,
        total.unchanged
    )?;
    Ok(if ok == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `articles --json` object: the contract other tools read.
pub fn article_json(a: &Article) -> serde_json::Value {
    json!({
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "published": a.published,
        "date_source": a.date_source.as_str(),
        "date_method": a.date_method,
        "first_seen": a.first_seen,
        "updated": a.updated,
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
    })
}

fn articles(
    config: Config,
    source: Option<&str>,
    topic: Option<&str>,
    limit: usize,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(id) = source
        && !config.sources.iter().any(|s| s.id == id)
    {
        eprintln!(
            "warning: {id:?} is not a source in {}; showing what the archive holds for it",
            config.file.display()
        );
    }
    if let Some(id) = topic
        && !config.topics.iter().any(|t| t.id == id)
    {
        return Ok(no_such(
            "topic",
            id,
            &config,
            config.topics.iter().map(|t| t.id.as_str()),
        ));
    }
    let (archive, _) = open_archive(&config)?;
    let list = match topic {
        Some(t) => archive.topic_newest(t, limit)?,
        None => archive.newest(source, limit)?,
    };
    let mut out = std::io::stdout().lock();
    for a in &list {
        if as_json {
            writeln!(out, "{}", article_json(a))?;
        } else {
            writeln!(
                out,
                "{}  {}  [{}]  {}",
                a.published.format("%Y-%m-%d %H:%M"),
                a.id,
                a.sources.join(","),
                a.title
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(config: Config, repair: bool) -> anyhow::Result<ExitCode> {
    let (archive, curator) = open_archive(&config)?;
    let curate = |a: &Article| curator.topics_for(a);
    let problems = archive.verify(&curate)?;
    let mut out = std::io::stdout().lock();
    for p in &problems {
        writeln!(out, "problem: {p}")?;
    }
    if problems.is_empty() {
        writeln!(out, "ok: {} articles, indexes consistent", archive.len())?;
        return Ok(ExitCode::SUCCESS);
    }
    if !repair {
        writeln!(
            out,
            "{} problems; run `gazette verify --repair` to rebuild the indexes",
            problems.len()
        )?;
        return Ok(ExitCode::from(1));
    }
    let n = archive.repair(&curate)?;
    let left = archive.verify(&curate)?;
    writeln!(
        out,
        "repaired: re-indexed {n} articles; {} problems left",
        left.len()
    )?;
    Ok(if left.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A progress reporter: a bar on a terminal, a log line every 10,000 items otherwise.
fn progress(what: &'static str) -> (indicatif::ProgressBar, impl FnMut(usize)) {
    use std::io::IsTerminal;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message(what);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let b = bar.clone();
    let tick = move |n: usize| {
        if b.is_hidden() {
            if n.is_multiple_of(10_000) {
                tracing::info!("{what}: {n} articles");
            }
        } else {
            b.set_position(n as u64);
        }
    };
    (bar, tick)
}

fn export(config: Config, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (archive, _) = open_archive(&config)?;
    let (bar, mut tick) = progress("exporting");
    let n = match output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            archive.export(&mut w, &mut tick)?
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            archive.export(&mut w, &mut tick)?
        }
    };
    bar.finish_and_clear();
    eprintln!("exported {n} articles");
    Ok(ExitCode::SUCCESS)
}

fn import(config: Config, file: &Path) -> anyhow::Result<ExitCode> {
    let (archive, curator) = open_archive(&config)?;
    let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut input: Box<dyn std::io::BufRead> = if file.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            f,
        )))
    } else {
        Box::new(std::io::BufReader::new(f))
    };
    let (bar, mut tick) = progress("importing");
    let done = archive
        .import(&mut input, &|a| curator.topics_for(a), &mut tick)
        .with_context(|| format!("importing {}", file.display()))?;
    bar.finish_and_clear();
    println!(
        "imported: {} new, {} merged into existing articles, {} source states",
        done.new, done.merged, done.source_states
    );
    // the daemon's next start should not replay the whole import from sled's log
    if let Ok(archive) = Arc::try_unwrap(archive)
        && let Err(e) = archive.settle()
    {
        tracing::warn!("imported, but reopening the archive failed: {e}");
    }
    Ok(ExitCode::SUCCESS)
}

fn import_opml(config_path: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    // ids already in feeds.toml are avoided; without a config there is nothing to avoid
    let taken: std::collections::HashSet<String> = config::load(config_path)
        .map(|c| c.sources.into_iter().map(|s| s.id).collect())
        .unwrap_or_default();
    let found = crate::opml::sources_from_opml(&text, &taken)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    print!("{}", crate::opml::toml_blocks(&found));
    eprintln!(
        "{} feeds; append them to feeds.toml and run `gazette check`",
        found.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn status(config: Config, as_json: bool) -> anyhow::Result<ExitCode> {
    let (archive, _) = open_archive(&config)?;
    let rows = crate::status::sources(&config, &archive, Utc::now())?;
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", json!({ "sources": rows }))?;
    } else {
        writeln!(out, "{}", crate::status::table(&rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn render(config: Config, topic: &str, format: Format) -> anyhow::Result<ExitCode> {
    if !config.topics.iter().any(|t| t.id == topic) {
        return Ok(no_such(
            "topic",
            topic,
            &config,
            config.topics.iter().map(|t| t.id.as_str()),
        ));
    }
    let (archive, _) = open_archive(&config)?;
    let rendered = crate::publish::render_topic(&archive, &config, topic, format)?;
    std::io::stdout().lock().write_all(&rendered.body)?;
    Ok(ExitCode::SUCCESS)
}

fn explain(config: Config, article_id: &str, topic: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(t) = topic
        && !config.topics.iter().any(|x| x.id == t)
    {
        return Ok(no_such(
            "topic",
            t,
            &config,
            config.topics.iter().map(|t| t.id.as_str()),
        ));
    }
    let (archive, curator) = open_archive(&config)?;
    let Some(article) = archive.get(article_id)? else {
        eprintln!(
            "error: no article with id {article_id:?} in the archive (see `gazette articles`)"
        );
        return Ok(ExitCode::from(1));
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "article {}: {:?}", article.id, article.title)?;
    writeln!(
        out,
        "  sources: {}; language: {}",
        article.sources.join(", "),
        article.language.as_deref().unwrap_or("unknown")
    )?;
    if curator.topics.is_empty() {
        writeln!(out, "no topics are configured")?;
    }
    for e in curator
        .explain(&article)
        .iter()
        .filter(|e| topic.is_none_or(|t| t == e.topic))
    {
        let query = config
            .topics
            .iter()
            .find(|t| t.id == e.topic)
            .map_or("", |t| t.query.as_str());
        writeln!(out)?;
        writeln!(out, "{}: {}", e.topic, if e.member { "IN" } else { "OUT" })?;
        writeln!(out, "  query: {query}")?;
        if !e.source_allowed {
            writeln!(
                out,
                "  excluded: none of its sources is in the topic's `sources` list"
            )?;
        }
        for x in &e.excluded_by {
            writeln!(out, "  excluded by: {x}")?;
        }
        // NOT clauses are reported above when they excluded the article, and say nothing otherwise.
        let (hit, miss): (Vec<_>, Vec<_>) = e
            .terms
            .iter()
            .filter(|(t, _)| !t.starts_with("NOT "))
            .partition(|(_, m)| m.is_some());
        if !hit.is_empty() {
            let list: Vec<String> = hit
                .iter()
                .map(|(t, m)| match m {
                    Some(m) if !t.trim_matches('"').eq_ignore_ascii_case(m) => {
                        format!("{t} ({m:?})")
                    }
                    _ => t.clone(),
                })
                .collect();
            writeln!(out, "  matched: {}", list.join(", "))?;
        }
        if !miss.is_empty() {
            let list: Vec<&str> = miss.iter().map(|(t, _)| t.as_str()).collect();
            writeln!(out, "  not found: {}", list.join(", "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(config: Config, config_path: &Path) -> anyhow::Result<ExitCode> {
    let (archive, curator) = open_archive_uncurated(&config)?;
    let poller = Poller::new(&config, Arc::clone(&archive), Arc::clone(&curator))?;
    let rt = runtime()?;
    let mut config = config;
    let listener = match rt.block_on(crate::serve::bind(config.server.listen)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let addr = listener.local_addr()?;
    if !config.server.base_url_given
        && let Ok(u) = Url::parse(&format!("http://{addr}/"))
    {
        config.server.base_url = u;
    }
    let config = Arc::new(config);
    let enabled = config.sources.iter().filter(|s| s.enabled).count();
    tracing::info!(
        sources = enabled, topics = config.topics.len(), articles = archive.len(),
        archive = %archive.path().display(), "gazette started; listening on http://{addr}/"
    );
    let shutdown = CancellationToken::new();
    let config_path = config_path.to_path_buf();
    let served = rt.block_on(async {
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; finishing in-flight polls and requests");
            crate::service::stopping();
            signals.cancel();
        });
        let state = crate::serve::AppState::new(Arc::clone(&archive), Arc::clone(&config));
        let server = tokio::spawn(crate::serve::serve(
            listener,
            Arc::clone(&state),
            shutdown.clone(),
        ));
        let heartbeat = Arc::new(crate::service::Heartbeat::default());
        heartbeat.beat();
        let scheduler = Arc::new(crate::schedule::Scheduler::new(
            &config,
            poller,
            Arc::clone(&heartbeat),
            shutdown.clone(),
        ));
        scheduler.apply(&config);
        // the archive is open and the listener bound: only now is the service ready
        crate::service::ready(&crate::service::summary(&config, &archive));
        // topic edits since the last run: re-curate while serving (polls curate with the new
        // topics already); shutdown stops the walk between two batches
        let stop = Arc::new(AtomicBool::new(false));
        let recuration = {
            let (archive, curator, stop) = (
                Arc::clone(&archive),
                Arc::clone(&curator),
                Arc::clone(&stop),
            );
            tokio::task::spawn_blocking(move || {
                if let Err(e) = recurate(&archive, &curator, &stop) {
                    tracing::error!("re-curating the archive: {e:#}");
                }
            })
        };
        {
            let (stop, shutdown) = (Arc::clone(&stop), shutdown.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                stop.store(true, Ordering::Relaxed);
            });
        }
        tokio::spawn(crate::service::watchdog(
            Arc::clone(&state),
            heartbeat,
            shutdown.clone(),
        ));
        tokio::spawn(crate::housekeeping::run(
            Arc::clone(&archive),
            config.archive.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(reload_on_hangup(
            config_path,
            Arc::clone(&state),
            Arc::clone(&scheduler),
            Arc::clone(&stop),
            shutdown.clone(),
        ));
        scheduler.wait().await;
        // The poll loops only end on shutdown (or with no sources); keep serving until then.
        shutdown.cancelled().await;
        // a cancelled poll's commit may still be on the writer thread: let it end before the flush
        if tokio::time::timeout(Duration::from_secs(10), crate::poll::writer_idle())
            .await
            .is_err()
        {
            tracing::warn!("a commit still running 10 s after shutdown; it is not flushed");
        }
        // a batch of the re-curation may be in its transaction: let it end before the flush
        if tokio::time::timeout(Duration::from_secs(3), recuration)
            .await
            .is_err()
        {
            tracing::warn!(
                "re-curation still running 3 s after shutdown; leaving it to the next start"
            );
        }
        // graceful, but bounded: a client that never finishes its request cannot hold the exit
        match tokio::time::timeout(Duration::from_secs(5), server).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!("HTTP connections still open 5 s after shutdown; closing them");
                Ok(Ok(()))
            }
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    archive.flush()?;
    // sled snapshots its page table only when it opens, so the next start would replay all this
    // run wrote (bench/run, 10k sources polled into 1M articles: a restart took 1.2-1.4 s, and
    // every CLI command after it as long). Reopening now moves that replay to the stop, where
    // nobody waits for an answer; a kill during it loses nothing (everything is flushed).
    match Arc::try_unwrap(archive) {
        Ok(archive) => {
            let started = std::time::Instant::now();
            match archive.settle() {
                Ok(()) => tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    "archive flushed and settled (the next start has nothing to replay); bye"
                ),
                Err(e) => tracing::warn!("archive flushed; settling it failed: {e}; bye"),
            }
        }
        Err(_) => tracing::info!("archive flushed (still shared, not settled); bye"),
    }
    match served {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(e)) => Err(anyhow::anyhow!("HTTP server failed: {e}")),
        Err(e) => Err(anyhow::anyhow!("HTTP server task failed: {e}")),
    }
}

/// SIGHUP (`systemctl reload`): re-read feeds.toml and apply it without a restart.
async fn reload_on_hangup(
    path: PathBuf,
    state: Arc<crate::serve::AppState>,
    scheduler: Arc<crate::schedule::Scheduler>,
    stop: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("cannot listen for SIGHUP ({e}); reload by restarting");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = hup.recv() => if r.is_none() { return },
            }
            reload(&path, &state, &scheduler, &stop).await;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, state, scheduler, stop);
        shutdown.cancelled().await;
    }
}

/// Applies a re-read configuration: new, removed and changed sources and topics (re-curating
/// topics whose definition changed), without dropping HTTP requests or poll state. A bad
/// configuration is refused: the old one keeps running and the error shows on `/status.json`.
async fn reload(
    path: &Path,
    state: &Arc<crate::serve::AppState>,
    scheduler: &crate::schedule::Scheduler,
    stop: &Arc<AtomicBool>,
) {
    crate::service::reloading();
    let old = state.config();
    match config::load(path) {
        Err(e) => {
            for line in e.to_string().lines() {
                tracing::error!("reload refused, still running the previous configuration: {line}");
            }
            state.set_reload_error(Some(e.to_string()));
        }
        Ok(mut new) => {
            if new.server.listen != old.server.listen {
                tracing::warn!(
                    "[server] listen changed to {}; that takes effect after a restart",
                    new.server.listen
                );
                new.server.listen = old.server.listen;
            }
            if new.archive.path != old.archive.path {
                tracing::warn!("[archive] path changed; that takes effect after a restart");
                new.archive.path = old.archive.path.clone();
            }
            if !new.server.base_url_given {
                new.server.base_url = old.server.base_url.clone();
            }
            let curator = Arc::new(Curator::new(&new));
            // polls curate with the new topics from now on, so the walk below misses none
            scheduler.poller().set_curator(Arc::clone(&curator));
            let (archive, c, stop) = (
                Arc::clone(&state.archive),
                Arc::clone(&curator),
                Arc::clone(stop),
            );
            match tokio::task::spawn_blocking(move || recurate(&archive, &c, &stop)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("re-curating after reload: {e:#}"),
                Err(e) => tracing::error!("re-curating after reload: {e}"),
            }
            let new = Arc::new(new);
            state.set_config(Arc::clone(&new));
            let (started, stopped) = scheduler.apply(&new);
            tracing::info!(
                started,
                stopped,
                sources = new.sources.len(),
                topics = new.topics.len(),
                "configuration reloaded"
            );
        }
    }
    crate::service::ready(&crate::service::summary(&state.config(), &state.archive));
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops gazette");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn inspect(
    config_path: &Path,
    target: &str,
    base: Option<&str>,
    content_type: Option<&str>,
    timezone: &str,
    read_as: Option<AsArg>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let Ok(tz) = timezone.parse::<Tz>() else {
        eprintln!(
            "error: --timezone: unknown time zone {timezone:?} (use an IANA name such as \"Asia/Shanghai\")"
        );
        return Ok(ExitCode::from(2));
    };
    let mut base_url = match base.map(Url::parse) {
        None => None,
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            eprintln!(
                "error: --url: invalid URL {:?}: {e}",
                base.unwrap_or_default()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let is_url = target.starts_with("http://") || target.starts_with("https://");
    let (body, mut ct) = if is_url {
        let url = Url::parse(target).with_context(|| format!("invalid URL {target:?}"))?;
        // The config's polling limits when there is a config; the defaults otherwise.
        let polling = config::load(config_path)
            .map(|c| c.polling)
            .or_else(|_| config::parse("", Path::new("feeds.toml")).map(|c| c.polling))?;
        let fetcher = Fetcher::new(&polling.user_agent)?;
        let limits = Limits {
            timeout: polling.timeout,
            max_body: polling.max_body,
        };
        let fetched = runtime()?.block_on(fetcher.get(&url, limits))?;
        base_url.get_or_insert(fetched.url);
        (fetched.body, fetched.content_type)
    } else {
        let bytes = std::fs::read(target).with_context(|| format!("cannot read {target}"))?;
        (bytes, None)
    };
    if content_type.is_some() {
        ct = content_type.map(str::to_string);
    }
    let now = Utc::now();
    let how = read_as.map(|a| match a {
        AsArg::Feed => ReadAs::Feed,
        AsArg::Article => ReadAs::Article,
        AsArg::List => ReadAs::List,
    });
    let doc = match read_as_document(
        &body,
        ct.as_deref(),
        base_url.as_ref(),
        "inspect",
        tz,
        now,
        how,
    ) {
        Ok(d) => d,
        Err(e) => return Err(anyhow::anyhow!("reading {target}: {e}")),
    };
    let mut out = std::io::stdout().lock();
    match (&doc, as_json) {
        (Document::Feed(r), true) => writeln!(out, "{}", inspect_json(r, base_url.as_ref()))?,
        (Document::Feed(r), false) => print_reading(&mut out, r, target)?,
        (
            Document::Article {
                decoded,
                page,
                candidate,
            },
            true,
        ) => {
            let mut entry = candidate
                .as_ref()
                .map(candidate_json)
                .unwrap_or_else(|| json!({}));
            if let Some(obj) = entry.as_object_mut() {
                obj.insert("image".into(), json!(page.image));
                obj.insert("canonical_url".into(), json!(page.canonical_url));
                obj.insert("date_method".into(), json!(page.date_method));
            }
            let doc = json!({
                "kind": "article",
                "url": base_url.as_ref().map(Url::as_str),
                "encoding": decoded.encoding,
                "entries": [entry],
            });
            writeln!(out, "{doc}")?;
        }
        (
            Document::Article {
                decoded,
                page,
                candidate,
            },
            false,
        ) => {
            writeln!(
                out,
                "{target}: article page, {} ({})",
                decoded.encoding, decoded.decided_by
            )?;
            match candidate {
                Some(c) => {
                    writeln!(out, "title: {}", c.title)?;
                    writeln!(
                        out,
                        "published: {} ({})",
                        c.published.format("%Y-%m-%dT%H:%M:%SZ"),
                        page.date_method.unwrap_or("no date found: first seen")
                    )?;
                    if let Some(a) = &c.author {
                        writeln!(out, "author: {a}")?;
                    }
                    if let Some(u) = &page.canonical_url {
                        writeln!(out, "canonical: {u}")?;
                    }
                    writeln!(out, "text: {} chars\n\n{}", c.text.chars().count(), c.text)?;
                }
                None => writeln!(out, "no article found on the page")?,
            }
        }
        (
            Document::List {
                decoded,
                links,
                feeds,
            },
            true,
        ) => {
            let doc = json!({
                "kind": "list",
                "url": base_url.as_ref().map(Url::as_str),
                "encoding": decoded.encoding,
                "feeds": feeds,
                "links": links,
            });
            writeln!(out, "{doc}")?;
        }
        (
            Document::List {
                decoded,
                links,
                feeds,
            },
            false,
        ) => {
            writeln!(
                out,
                "{target}: list page, {} ({})",
                decoded.encoding, decoded.decided_by
            )?;
            for f in feeds {
                writeln!(out, "advertises feed: {f}")?;
            }
            writeln!(out, "article links: {}", links.len())?;
            for l in links {
                writeln!(out, "  {}  {}", l.url, l.title)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An entry as `inspect --json` shows it: the `articles --json` fields that exist before
/// archiving, plus the entry's own `guid`, `updated` and `dedup_key`.
fn candidate_json(c: &crate::normalize::Candidate) -> serde_json::Value {
    json!({
        "title": c.title,
        "url": c.url,
        "published": c.published,
        "date_source": c.date_source.as_str(),
        "guid": c.guid,
        "updated": c.updated,
        "author": c.author,
        "language": c.language,
        "summary": c.summary,
        "text": c.text,
        "html": c.html,
        "categories": c.categories,
        "enclosures": c.enclosures,
        "dedup_key": c.dedup_key(),
    })
}

fn inspect_json(r: &Reading, url: Option<&Url>) -> serde_json::Value {
    let m = &r.feed.meta;
    let entries: Vec<serde_json::Value> = r.candidates.iter().map(candidate_json).collect();
    json!({
        "kind": "feed",
        "url": url.map(Url::as_str),
        "encoding": r.decoded.encoding,
        "format": m.format,
        "repairs": r.feed.repairs,
        "feed": {
            "title": m.title,
            "link": m.link,
            "description": m.description,
            "language": m.language,
            "updated": m.updated,
            "author": m.author,
        },
        "entries": entries,
    })
}

fn print_reading(out: &mut impl Write, r: &Reading, target: &str) -> std::io::Result<()> {
    let m = &r.feed.meta;
    writeln!(
        out,
        "{target}: {} feed, {} ({})",
        m.format, r.decoded.encoding, r.decoded.decided_by
    )?;
    writeln!(out, "title: {}", m.title.as_deref().unwrap_or("(none)"))?;
    if let Some(link) = &m.link {
        writeln!(out, "link: {link}")?;
    }
    if !r.feed.repairs.is_empty() {
        writeln!(out, "repaired: {}", r.feed.repairs.join("; "))?;
    }
    writeln!(out, "entries: {}", r.candidates.len())?;
    for c in &r.candidates {
        writeln!(out)?;
        writeln!(out, "  {}", c.title)?;
        writeln!(
            out,
            "    published {} ({})",
            c.published.format("%Y-%m-%dT%H:%M:%SZ"),
            c.date_source.as_str()
        )?;
        if !c.url.is_empty() {
            writeln!(out, "    url {}", c.url)?;
        }
        if let Some(g) = &c.guid {
            writeln!(out, "    guid {g}")?;
        }
        if let Some(a) = &c.author {
            writeln!(out, "    author {a}")?;
        }
        writeln!(out, "    dedup {}", c.dedup_key())?;
        writeln!(out, "    text {} chars", c.text.chars().count())?;
    }
    Ok(())
}
