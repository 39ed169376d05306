//! WebSub publishing (W3C WebSub §7, "Publishing"): when a topic's or a source's feed changes,
//! its hub is told, `hub.mode=publish` with the feed's URL, one ping per changed URL (each
//! format's URL is a feed of its own). Changes are gathered over [`COALESCE`], so a burst of
//! polls makes one ping per feed; a feed whose document did not change (an article outside its
//! newest `limit` was touched) is never pinged. Pings run on their own task with a timeout,
//! retries with backoff and a bounded queue: a dead or slow hub never delays a poll or a
//! request, and its failures show in `/metrics` and `/status.json`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{AppState, Feed, FeedId};
use crate::fetch::Fetcher;
use crate::publish::Format;

/// How long changes are gathered before the hub is told.
pub const COALESCE: Duration = Duration::from_secs(2);
/// One ping's time limit.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of one ping before it is given up (backoff 2, 4, 8 … s, at most 5 minutes).
const TRIES: u32 = 8;
/// Pings waiting at most; beyond it the oldest are given up (counted as dropped).
const QUEUE: usize = 10_000;

/// What `/status.json` says about the hub.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HubStatus {
    pub hub: Option<String>,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub queued: usize,
    pub sent: u64,
    pub dropped: u64,
}

/// The shared record of the hub's health.
pub type HubHealth = Arc<Mutex<HubStatus>>;

struct Ping {
    url: String,
    tries: u32,
    due: Instant,
}

/// Runs until `shutdown`. Looks every [`COALESCE`] at which feeds' generations moved, renders
/// those (Atom: the three formats hold the same items) and queues a ping for each URL of a
/// feed whose document changed, then sends what is due.
pub async fn run(state: Arc<AppState>, health: HubHealth, shutdown: CancellationToken) {
    let mut seen = state.archive.generations();
    // the document each feed has now, so that its first change is told apart from a touch
    // that changed nothing (one Atom rendering per topic and source, in the background; a
    // change while this runs may be taken for the document as it was)
    let mut documents: HashMap<String, String> = HashMap::new();
    if state.config().server.websub_hub.is_some() {
        let st = Arc::clone(&state);
        let stop = shutdown.clone();
        if let Ok(found) = tokio::task::spawn_blocking(move || {
            let config = st.config();
            let keys = config
                .topics
                .iter()
                .map(|t| (t.id.clone(), Feed::Topic(&t.id)))
                .chain(
                    config
                        .sources
                        .iter()
                        .filter(|s| s.enabled)
                        .map(|s| (crate::archive::source_key(&s.id), Feed::Source(&s.id))),
                );
            let mut found = HashMap::new();
            for (key, feed) in keys {
                if stop.is_cancelled() {
                    break;
                }
                if let Ok(served) = st.current_or_render(feed, Format::Atom) {
                    found.insert(key, served.rendered.etag.clone());
                }
            }
            found
        })
        .await
        {
            documents = found;
        }
    }
    let mut queue: VecDeque<Ping> = VecDeque::new();
    let mut client: Option<(String, Fetcher)> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(COALESCE) => {}
        }
        let config = state.config();
        let now = state.archive.generations();
        let moved: Vec<String> = now
            .iter()
            .filter(|(k, g)| seen.get(*k) != Some(*g))
            .map(|(k, _)| k.clone())
            .collect();
        seen = now;
        let Some(hub) = config.server.websub_hub.clone() else {
            queue.clear();
            continue;
        };
        for key in moved {
            let feed = match key.strip_prefix('\u{1}') {
                Some(source) if config.sources.iter().any(|s| s.id == source) => {
                    Feed::Source(source)
                }
                Some(_) => continue,
                None if config.topics.iter().any(|t| t.id == key) => Feed::Topic(&key),
                None => continue,
            };
            let owned = FeedId::of(feed);
            let st = Arc::clone(&state);
            let rendered = tokio::task::spawn_blocking(move || {
                st.current_or_render(owned.feed(), Format::Atom)
                    .map(|served| served.rendered.etag.clone())
            })
            .await;
            let Ok(Ok(etag)) = rendered else { continue };
            if documents.get(&key) == Some(&etag) {
                continue;
            }
            documents.insert(key.clone(), etag);
            for format in Format::ALL {
                let url = feed.url(&config, format);
                if !queue.iter().any(|p| p.url == url) {
                    queue.push_back(Ping {
                        url,
                        tries: 0,
                        due: Instant::now(),
                    });
                }
            }
        }
        while queue.len() > QUEUE {
            queue.pop_front();
            metrics::counter!(crate::telemetry::WEBSUB_PINGS, "result" => "dropped").increment(1);
            lock(&health).dropped += 1;
        }
        let hub_str = hub.to_string();
        if client.as_ref().is_none_or(|(h, _)| *h != hub_str) {
            // the hub the operator configured may be on a private network: its host is trusted
            match Fetcher::for_links(&config.polling.user_agent, hub.host_str()) {
                Ok(f) => client = Some((hub_str.clone(), f)),
                Err(e) => {
                    note_error(&health, &hub_str, e.to_string());
                    continue;
                }
            }
        }
        let Some((_, fetcher)) = &client else {
            continue;
        };
        let mut later = VecDeque::new();
        while let Some(mut ping) = queue.pop_front() {
            if shutdown.is_cancelled() {
                return;
            }
            if ping.due > Instant::now() {
                later.push_back(ping);
                continue;
            }
            let form = [("hub.mode", "publish"), ("hub.url", ping.url.as_str())];
            match fetcher.post_form(&hub, &form, PING_TIMEOUT).await {
                Ok(_) => {
                    metrics::counter!(crate::telemetry::WEBSUB_PINGS, "result" => "ok")
                        .increment(1);
                    let mut h = lock(&health);
                    h.hub = Some(hub_str.clone());
                    h.last_ok = Some(Utc::now());
                    h.sent += 1;
                }
                Err(e) => {
                    ping.tries += 1;
                    let reason = format!("pinging the WebSub hub for {}: {e}", ping.url);
                    tracing::warn!("{reason}");
                    note_error(&health, &hub_str, reason);
                    if ping.tries >= TRIES {
                        metrics::counter!(crate::telemetry::WEBSUB_PINGS, "result" => "dropped")
                            .increment(1);
                        lock(&health).dropped += 1;
                    } else {
                        metrics::counter!(crate::telemetry::WEBSUB_PINGS, "result" => "failed")
                            .increment(1);
                        let backoff = Duration::from_secs(2u64.saturating_pow(ping.tries))
                            .min(Duration::from_secs(300));
                        ping.due = Instant::now() + backoff;
                        later.push_back(ping);
                    }
                }
            }
        }
        queue = later;
        let mut h = lock(&health);
        h.hub = Some(hub_str);
        h.queued = queue.len();
    }
}

fn lock(health: &HubHealth) -> std::sync::MutexGuard<'_, HubStatus> {
    health.lock().unwrap_or_else(|p| p.into_inner())
}

fn note_error(health: &HubHealth, hub: &str, reason: String) {
    let mut h = lock(health);
    h.hub = Some(hub.to_string());
    h.last_error = Some(crate::secrets::redact_text(&reason));
    h.last_error_at = Some(Utc::now());
}
