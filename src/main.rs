//! The `gazette` binary: parses arguments, sets up logging, runs the command, and turns any
//! error into one sentence on stderr and an exit code (never a panic or a backtrace).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    gazette::memory::return_freed_memory();
    let cli = gazette::cli::Cli::parse();
    let default_level = if gazette::cli::is_daemon(&cli) {
        "info"
    } else {
        "warn"
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == gazette::cli::LogFormat::Json {
        builder.json().init();
    } else {
        // colours only for a person at a terminal; never in journald or a pipe
        builder
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .init();
    }
    match gazette::cli::execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
