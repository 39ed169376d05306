//! The bodies of the one-shot commands and the daemon's thin `run`: each loads what it needs,
//! does one thing, and prints its result.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::archive::Archive;
use crate::config::{self, Config, ConfigError};
use crate::curate::Curator;
use crate::model::Article;
use crate::poll::Poller;
use crate::publish::Format;
use crate::secrets::{redact_str, redact_text};

pub(super) fn load(path: &Path) -> Result<Config, ExitCode> {
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

pub(super) fn with_config(
    path: &Path,
    accept_loss: bool,
    f: impl FnOnce(Config) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    match load(path) {
        Ok(mut c) => {
            c.archive.accept_loss = accept_loss;
            f(c)
        }
        Err(code) => Ok(code),
    }
}

pub(super) fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match load(path) {
        Ok(c) => {
            println!("ok: {} sources, {} topics", c.sources.len(), c.topics.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

/// Opens the archive and brings topic memberships up to date with the configured topics.
pub(super) fn open_archive(config: &Config) -> anyhow::Result<(Arc<Archive>, Arc<Curator>)> {
    let archive = crate::daemon::open_archive(config)?;
    let curator = Arc::new(Curator::new(config));
    crate::daemon::recurate(&archive, &curator, &AtomicBool::new(false))?;
    Ok((archive, curator))
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // html5ever and the extractor recurse on the DOM; give them room (see MAX_NESTING)
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .context("cannot start the async runtime")
}

/// Reports an id that the config does not have, listing the ones it does; exit code 2.
pub(super) fn no_such<'a>(
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

pub(super) fn poll(config: Config, only: Option<&str>) -> anyhow::Result<ExitCode> {
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
    let (archive, _) = open_archive(&config)?;
    let poller = Poller::for_config(&config, Arc::clone(&archive))?;
    let rt = runtime()?;
    let reports = rt.block_on(poller.poll_all(&sources, config.polling.concurrency));
    let workers = Arc::clone(poller.workers());
    drop(poller);
    if !workers.shutdown(Duration::from_secs(10)) {
        tracing::warn!("a commit still running 10 s after the polls ended; it is not flushed");
    }
    archive.flush()?;
    let mut out = std::io::stdout().lock();
    let (mut ok, mut warned, mut failed) = (0, 0, 0);
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
            Ok(_) if r.unchanged => {
                ok += 1;
                writeln!(
                    out,
                    "{}: unchanged (200 with the bytes read last time, {} ms)",
                    r.source,
                    r.elapsed.as_millis()
                )?;
            }
            Ok(c) => {
                ok += 1;
                let warning = match &r.warning {
                    Some(w) => {
                        warned += 1;
                        format!("warning: {w}; ")
                    }
                    None => String::new(),
                };
                total.new += c.new;
                total.duplicate += c.duplicate;
                total.updated += c.updated;
                total.unchanged += c.unchanged;
                writeln!(
                    out,
                    "{}: {warning}{} new, {} duplicate, {} updated, {} unchanged ({} entries, {} bytes, {} ms)",
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
                writeln!(
                    out,
                    "{}: failed: {}",
                    r.source,
                    redact_text(&reason.to_string())
                )?;
            }
        }
        if r.skipped > 0 {
            writeln!(
                out,
                "  {} older entries skipped (more than the source's max_entries)",
                r.skipped
            )?;
        }
        for e in &r.article_errors {
            writeln!(out, "  article skipped: {}", redact_text(&e.to_string()))?;
        }
        if let Some(to) = &r.moved_to {
            writeln!(
                out,
                "  source {} moved to {}; update feeds.toml",
                r.source,
                redact_str(to)
            )?;
        }
    }
    writeln!(
        out,
        "total: {} sources, {ok} ok, {failed} failed; {} new, {} duplicate, {} updated, {} unchanged{}",
        reports.len(),
        total.new,
        total.duplicate,
        total.updated,
        total.unchanged,
        if warned > 0 {
            format!("; {warned} with warnings")
        } else {
            String::new()
        }
    )?;
    Ok(if ok == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub use crate::model::{article_json, published_local};

pub(super) fn articles(
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

pub(super) fn verify(config: Config, repair: bool) -> anyhow::Result<ExitCode> {
    let (archive, curator) = open_archive(&config)?;
    let curate = |a: &Article| curator.topics_for(a);
    let problems = archive.verify(&curate)?;
    let mut out = std::io::stdout().lock();
    if let Some(loss) = archive.accepted_loss() {
        writeln!(out, "note: {loss}")?;
    }
    for p in &problems {
        writeln!(out, "problem: {p}")?;
    }
    if problems.is_empty() {
        writeln!(out, "ok: {} articles, indexes consistent", archive.len())?;
    }
    let search = crate::search::Search::open(archive.path());
    match &search {
        Ok(index) if index.indexed_seq() == Some(archive.write_seq()?) => writeln!(
            out,
            "search index: {} documents, up to date",
            index.status().documents
        )?,
        Ok(_) => writeln!(
            out,
            "search index: behind the archive; the daemon rebuilds it when it starts, `verify --repair` now"
        )?,
        Err(e) => writeln!(out, "search index: {e}")?,
    }
    if problems.is_empty() {
        if repair {
            // the search index is rebuilt from the archive, whatever it held
            let n = search?.rebuild(&archive, &std::sync::atomic::AtomicBool::new(false))?;
            writeln!(out, "search index: rebuilt, {n} articles")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    drop(search);
    if !repair {
        writeln!(
            out,
            "{} problems; run `gazette verify --repair` to rebuild the indexes",
            problems.len()
        )?;
        return Ok(ExitCode::from(1));
    }
    let n = archive.repair(&curate)?;
    // the repair rewrote articles: the index is built from them again
    let indexed = crate::search::Search::open(archive.path())?
        .rebuild(&archive, &std::sync::atomic::AtomicBool::new(false))?;
    writeln!(out, "search index: rebuilt, {indexed} articles")?;
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
pub(super) fn progress(what: &'static str) -> (indicatif::ProgressBar, impl FnMut(usize)) {
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

pub(super) fn export(config: Config, output: Option<&Path>) -> anyhow::Result<ExitCode> {
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

pub(super) fn import(config: Config, file: &Path) -> anyhow::Result<ExitCode> {
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
    // the search index follows the import now, not in the daemon's first minutes
    let indexed = crate::search::Search::open(archive.path())?
        .rebuild(&archive, &std::sync::atomic::AtomicBool::new(false))?;
    println!("search index: {indexed} articles");
    // the daemon's next start should not replay the whole import from sled's log
    if let Ok(archive) = Arc::try_unwrap(archive)
        && let Err(e) = archive.settle()
    {
        tracing::warn!("imported, but reopening the archive failed: {e}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn split(config: Config, article_id: &str, source: &str) -> anyhow::Result<ExitCode> {
    let (archive, curator) = open_archive(&config)?;
    match archive.split(article_id, source, &|a| curator.topics_for(a), Utc::now()) {
        Ok(done) => {
            println!(
                "split: {source}'s entries of article {article_id} are article {} now ({} of its identities moved); they stay apart on later polls",
                done.new_id, done.identities
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::archive::SplitError::Archive(e)) => Err(e.into()),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

pub(super) fn import_opml(config_path: &Path, file: &Path) -> anyhow::Result<ExitCode> {
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

pub(super) fn status(
    config: Config,
    as_json: bool,
    show_secrets: bool,
) -> anyhow::Result<ExitCode> {
    let rows = match crate::daemon::open_archive(&config) {
        Ok(archive) => {
            if show_secrets {
                crate::health::sources_with_secrets(&config, &archive, Utc::now())?
            } else {
                crate::health::sources(&config, &archive, Utc::now())?
            }
        }
        // the daemon holds the archive: ask it, over its own listener
        Err(crate::archive::ArchiveError::Locked { .. }) => {
            if show_secrets {
                eprintln!(
                    "note: the daemon is running; it shows source URLs redacted (stop it for --show-secrets)"
                );
            }
            match status_from_daemon(&config) {
                Ok(rows) => rows,
                Err(e) => {
                    eprintln!(
                        "error: the archive is in use (is `gazette run` running?) and asking the daemon at {} failed: {e}",
                        config.server.listen
                    );
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", json!({ "sources": rows }))?;
    } else {
        writeln!(out, "{}", crate::health::table(&rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows of `/status.json` from the daemon listening at `[server] listen` (an unspecified
/// address is asked on loopback).
fn status_from_daemon(config: &Config) -> anyhow::Result<Vec<crate::health::SourceStatus>> {
    let mut addr = config.server.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let url = url::Url::parse(&format!("http://{addr}/status.json"))?;
    let fetcher = crate::fetch::Fetcher::new(&config.polling.user_agent)?;
    let limits = crate::fetch::Limits {
        timeout: Duration::from_secs(10),
        max_body: 256 * 1024 * 1024,
        private_redirects: false,
    };
    let fetched = runtime()?.block_on(fetcher.get(&url, limits))?;
    #[derive(serde::Deserialize)]
    struct Doc {
        sources: Vec<crate::health::SourceStatus>,
    }
    let doc: Doc = serde_json::from_slice(&fetched.body)
        .with_context(|| format!("{url} did not answer with the status document"))?;
    Ok(doc.sources)
}

pub(super) fn render(config: Config, topic: &str, format: Format) -> anyhow::Result<ExitCode> {
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

pub(super) fn explain(
    config: Config,
    article_id: &str,
    topic: Option<&str>,
) -> anyhow::Result<ExitCode> {
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
    // how each source's entry came to be here, under the title that source gave it
    for link in &article.links {
        let how = match &link.matched {
            None => "created the article".to_string(),
            Some(m) => format!(
                "joined by the {} rule (score {:.2}) with {}'s entry",
                m.rule.name(),
                m.score,
                m.with
            ),
        };
        writeln!(
            out,
            "  {}: {:?}: {how}",
            link.source,
            link.title.as_deref().unwrap_or(&article.title)
        )?;
    }
    if !article.apart.is_empty() {
        writeln!(
            out,
            "  kept apart from {} (`gazette split`)",
            article.apart.join(", ")
        )?;
    }
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

pub(super) fn run(config: Config) -> anyhow::Result<ExitCode> {
    let daemon = crate::daemon::Daemon::open(config.clone())?;
    let rt = runtime()?;
    let listener = match rt.block_on(crate::serve::bind(config.server.listen)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let archive = daemon.archive();
    let shutdown = CancellationToken::new();
    rt.spawn(crate::daemon::signals(daemon.handle(), shutdown.clone()));
    let result = rt.block_on(daemon.run(listener, shutdown));
    // connections still open after the server's grace end with the runtime
    rt.shutdown_timeout(Duration::from_secs(1));
    crate::daemon::settle(archive);
    result?;
    Ok(ExitCode::SUCCESS)
}
