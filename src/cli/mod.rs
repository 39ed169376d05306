//! The command line: the argument definitions (the CLI contract) and the dispatch to one
//! function per command ([`commands`], [`inspect`]). Commands print results to stdout and
//! problems to stderr, one sentence each, and return the process exit code: 0 ok, 1 runtime
//! failure, 2 bad usage or config.

mod commands;
mod inspect;

pub use commands::article_json;
use commands::*;
use inspect::inspect;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Open an archive that looks damaged (it holds fewer articles than its record beside it
    /// says) as it is; `gazette verify` then reports what was lost.
    #[arg(long, global = true)]
    pub accept_loss: bool,
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
        /// Show credentials in source URLs (user-info, `token=`…) instead of redacting them.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Explain, for each topic, whether an article is in it and why.
    Explain {
        article_id: String,
        /// Explain only this topic.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Undo a wrong merge: the source's entries leave the article and become their own
    /// article, which later polls keep apart (stop the daemon first: it holds the archive).
    Split {
        article_id: String,
        /// The source whose entries leave the article.
        #[arg(long)]
        source: String,
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
        /// Zone for dates written without an offset (a source's `timezone`); by default UTC
        /// for feeds, and for article pages the zone the page shows it is written for.
        #[arg(long)]
        timezone: Option<String>,
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
        Command::Poll { source } => {
            with_config(&cli.config, cli.accept_loss, |c| poll(c, source.as_deref()))
        }
        Command::Articles {
            source,
            topic,
            limit,
            json,
        } => with_config(&cli.config, cli.accept_loss, |c| {
            articles(c, source.as_deref(), topic.as_deref(), limit, json)
        }),
        Command::Run => with_config(&cli.config, cli.accept_loss, run),
        Command::Render { topic, format } => with_config(&cli.config, cli.accept_loss, |c| {
            render(c, &topic, format.into())
        }),
        Command::Status { json, show_secrets } => with_config(&cli.config, cli.accept_loss, |c| {
            status(c, json, show_secrets)
        }),
        Command::Verify { repair } => {
            with_config(&cli.config, cli.accept_loss, |c| verify(c, repair))
        }
        Command::Export { output } => with_config(&cli.config, cli.accept_loss, |c| {
            export(c, output.as_deref())
        }),
        Command::Import { file } => with_config(&cli.config, cli.accept_loss, |c| import(c, &file)),
        Command::ImportOpml { file } => import_opml(&cli.config, &file),
        Command::Explain { article_id, topic } => with_config(&cli.config, cli.accept_loss, |c| {
            explain(c, &article_id, topic.as_deref())
        }),
        Command::Split { article_id, source } => with_config(&cli.config, cli.accept_loss, |c| {
            split(c, &article_id, &source)
        }),
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
            timezone.as_deref(),
            read_as,
            json,
        ),
    }
}
