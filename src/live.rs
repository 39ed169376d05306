//! The configuration in force: one [`LiveConfig`] that the daemon's parts read (the poller its
//! topics, HTTP client and backoff cap; the server its titles, limits and status pages;
//! housekeeping its backup settings) and that a reload swaps as a whole, so no part runs on a
//! configuration the others have left. What a reload could not apply (it needs a restart) and
//! why the last reload was refused are kept here too, for `/status.json` and `/status`.

use std::sync::{Arc, Mutex, RwLock};

use crate::config::Config;
use crate::curate::Curator;
use crate::fetch::{FetchError, Fetcher};

/// One consistent configuration and what is built from it.
pub struct Live {
    pub config: Arc<Config>,
    /// The topics, compiled.
    pub curator: Arc<Curator>,
    /// The HTTP client for sources' own URLs (`[polling] user_agent`).
    pub fetcher: Fetcher,
    /// `Cache-Control: max-age` of served feeds: the shortest polling interval, since nothing
    /// changes faster.
    pub max_age: u64,
}

impl Live {
    /// Builds everything derived from `config`.
    pub fn new(config: Arc<Config>) -> Result<Live, FetchError> {
        let max_age = config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.interval.as_secs())
            .min()
            .unwrap_or(config.polling.interval.as_secs());
        Ok(Live {
            curator: Arc::new(Curator::new(&config)),
            fetcher: Fetcher::new(&config.polling.user_agent)?,
            max_age,
            config,
        })
    }
}

/// The [`Live`] configuration in force, swapped whole by a reload.
pub struct LiveConfig {
    current: RwLock<Arc<Live>>,
    /// Why the last reload was refused (the previous configuration stayed in force).
    reload_error: Mutex<Option<String>>,
    /// Settings changed in the file that take effect only after a restart, one line each.
    restart_needed: Mutex<Vec<String>>,
}

impl LiveConfig {
    pub fn new(live: Live) -> LiveConfig {
        LiveConfig {
            current: RwLock::new(Arc::new(live)),
            reload_error: Mutex::new(None),
            restart_needed: Mutex::new(Vec::new()),
        }
    }

    /// Builds the live configuration of `config`.
    pub fn from_config(config: Config) -> Result<LiveConfig, FetchError> {
        Ok(LiveConfig::new(Live::new(Arc::new(config))?))
    }

    /// The configuration in force, with everything built from it: take it once per unit of
    /// work (a poll, a request), so a reload in between cannot mix two configurations.
    pub fn get(&self) -> Arc<Live> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.get().config)
    }

    pub fn curator(&self) -> Arc<Curator> {
        Arc::clone(&self.get().curator)
    }

    /// Puts a reloaded configuration in force; clears a previous refusal and records what
    /// still needs a restart.
    pub fn swap(&self, live: Live, restart_needed: Vec<String>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(live);
        *self.reload_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self
            .restart_needed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = restart_needed;
    }

    /// Records a refused reload.
    pub fn refuse(&self, error: String) {
        *self.reload_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }

    pub fn reload_error(&self) -> Option<String> {
        self.reload_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn restart_needed(&self) -> Vec<String> {
        self.restart_needed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
