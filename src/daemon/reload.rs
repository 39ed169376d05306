//! A reload (SIGHUP, `systemctl reload`): re-read feeds.toml, refuse it whole if it is bad,
//! otherwise put it in force as one [`Live`] configuration. Every key either takes effect
//! (sources, topics, polling limits, user agent, backup settings, `base_url`) or is reported as
//! needing a restart, in the log, on `/status.json` and `/status`, and in the [`Reloaded`]
//! result; such a key keeps its running value, so what is in force stays consistent.

use std::sync::Arc;

use crate::config::{self, Config};
use crate::live::Live;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// The new configuration is in force.
    pub applied: bool,
    /// Why it was refused (the previous configuration stays in force).
    pub error: Option<String>,
    /// Poll loops started and stopped (a changed source counts in both).
    pub started: usize,
    pub stopped: usize,
    /// Changed keys that take effect only after a restart, one line each.
    pub restart_needed: Vec<String>,
}

/// The keys of `new` that cannot change while the daemon runs, set back to their running
/// values in `old`, each described in one line. What is bound or opened at start (the
/// listening socket, the archive and how it was opened) stays until a restart.
pub fn keep_restart_keys(old: &Config, new: &mut Config) -> Vec<String> {
    let mut needed = Vec::new();
    if new.server.listen != old.server.listen {
        needed.push(format!(
            "[server] listen: {} (still listening on {})",
            new.server.listen, old.server.listen
        ));
        new.server.listen = old.server.listen;
    }
    if new.archive.path != old.archive.path {
        needed.push(format!(
            "[archive] path: {} (still using {})",
            new.archive.path.display(),
            old.archive.path.display()
        ));
        new.archive.path = old.archive.path.clone();
    }
    if new.archive.dedup_window != old.archive.dedup_window {
        needed.push(format!(
            "[archive] dedup_window: {:?} (still {:?})",
            new.archive.dedup_window, old.archive.dedup_window
        ));
        new.archive.dedup_window = old.archive.dedup_window;
    }
    if new.archive.retention != old.archive.retention {
        needed.push(format!(
            "[archive] retention: {:?} (still {:?})",
            new.archive.retention, old.archive.retention
        ));
        new.archive.retention = old.archive.retention;
    }
    if (
        new.server.header_timeout,
        new.server.idle_timeout,
        new.server.max_connections,
    ) != (
        old.server.header_timeout,
        old.server.idle_timeout,
        old.server.max_connections,
    ) {
        needed.push(
            "[server] header_timeout, idle_timeout, max_connections (the listener keeps its limits)"
                .to_string(),
        );
        new.server.header_timeout = old.server.header_timeout;
        new.server.idle_timeout = old.server.idle_timeout;
        new.server.max_connections = old.server.max_connections;
    }
    if !new.server.base_url_given {
        // derived from the bound address at start
        new.server.base_url = old.server.base_url.clone();
    }
    needed
}

/// Reads `path` and builds the live configuration it describes, with the restart-only keys
/// kept at their running values; `Err` is the reason to refuse it, one problem a line.
pub fn prepare(path: &std::path::Path, old: &Config) -> Result<(Live, Vec<String>), String> {
    let mut new = config::load(path).map_err(|e| e.to_string())?;
    let restart_needed = keep_restart_keys(old, &mut new);
    let live = Live::new(Arc::new(new)).map_err(|e| e.to_string())?;
    Ok((live, restart_needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        config::parse(text, std::path::Path::new("feeds.toml")).expect("config")
    }

    #[test]
    fn restart_only_keys_are_reported_and_kept_others_pass() {
        let old = parse(
            "[server]\nlisten = \"127.0.0.1:8080\"\n[archive]\npath = \"a\"\ndedup_window = \"48h\"\n[polling]\nper_host = 1\n",
        );
        // (new config, expected key names reported)
        let cases: [(&str, &[&str]); 5] = [
            (
                "[server]\nlisten = \"127.0.0.1:8080\"\n[archive]\npath = \"a\"\ndedup_window = \"48h\"\n[polling]\nper_host = 4\nconcurrency = 3\nuser_agent = \"x/1\"\nhost_delay = \"1s\"\nmax_interval = \"2h\"\n",
                &[],
            ),
            (
                "[server]\nlisten = \"127.0.0.1:9090\"\n[archive]\npath = \"a\"\ndedup_window = \"48h\"\n",
                &["[server] listen"],
            ),
            (
                "[server]\nlisten = \"127.0.0.1:8080\"\n[archive]\npath = \"b\"\ndedup_window = \"48h\"\n",
                &["[archive] path"],
            ),
            (
                "[server]\nlisten = \"127.0.0.1:8080\"\n[archive]\npath = \"a\"\ndedup_window = \"1h\"\nretention = \"30d\"\n",
                &["[archive] dedup_window", "[archive] retention"],
            ),
            (
                "[server]\nlisten = \"127.0.0.1:8080\"\n[archive]\npath = \"a\"\ndedup_window = \"48h\"\n[[source]]\nid = \"s\"\nurl = \"https://s.example/feed\"\n",
                &[],
            ),
        ];
        for (text, want) in cases {
            let mut new = parse(text);
            let before = new.polling.clone();
            let got = keep_restart_keys(&old, &mut new);
            let names: Vec<&str> = got
                .iter()
                .map(|l| l.split(':').next().unwrap_or_default())
                .collect();
            assert_eq!(names, want, "{text}");
            assert_eq!(new.server.listen, old.server.listen, "{text}");
            assert_eq!(new.archive.path, old.archive.path, "{text}");
            assert_eq!(new.archive.dedup_window, old.archive.dedup_window, "{text}");
            assert_eq!(
                new.polling.per_host, before.per_host,
                "polling keys pass: {text}"
            );
        }
    }
}
