//! HTTP: the topic feeds (`/topics/{id}.rss|.atom|.json`), an index page (`/`) and `/healthz`.
//! Rendered feeds are cached per topic and format and re-rendered only when the archive reports
//! that the topic's articles changed; conditional GET (RFC 9110 §13) answers 304 without a body.
//! Stops gracefully when the shutdown token fires.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;

use crate::archive::Archive;
use crate::config::Config;
use crate::live::LiveConfig;
use crate::publish::{
    Channel, ChannelKind, Format, PublishError, Rendered, render_source, render_topic,
};
use crate::telemetry::{CacheResult, HttpCounters};
pub use connections::{ServerLimits, connections_that_fit};

mod connections;
mod history;
mod search;
mod pages;
pub mod websub;

/// Rendered feeds: topic → its cached feed in each format (indexed by `format as usize`); keyed
/// by the topic alone so a lookup borrows the request's `&str` instead of allocating a key.
type FeedCache = Mutex<HashMap<String, [Option<CacheEntry>; Format::ALL.len()]>>;

struct CacheEntry {
    /// The archive generation of the topic this was rendered at.
    generation: u64,
    /// The configuration it was rendered under: a reload (titles, limits, queries) makes it
    /// stale.
    config: Arc<Config>,
    served: Arc<Served>,
    /// A request is re-rendering it: until that finishes, others get this (stale) rendering.
    rendering: bool,
}

/// A rendered feed as the server sends it: the body is shared by every response (not copied),
/// the header values are built once per rendering, not per request (bench/run, serving).
pub struct Served {
    /// The rendering, its body moved into `body` (kept for the validators).
    rendered: Rendered,
    body: axum::body::Bytes,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    cache_control: Option<HeaderValue>,
    /// `Link: <hub>; rel="hub", <self>; rel="self"` when a WebSub hub is configured.
    link: Option<HeaderValue>,
}

impl Served {
    fn new(mut rendered: Rendered, max_age: u64, link: Option<HeaderValue>) -> Served {
        Served {
            link,
            body: axum::body::Bytes::from(std::mem::take(&mut rendered.body)),
            etag: HeaderValue::from_str(&rendered.etag).ok(),
            last_modified: HeaderValue::from_str(&http_date(rendered.last_modified)).ok(),
            content_type: HeaderValue::from_str(rendered.content_type).ok(),
            cache_control: HeaderValue::from_str(&format!("max-age={max_age}")).ok(),
            rendered,
        }
    }
}

/// A feed the server renders: a topic's, or one source's (issue 22).
#[derive(Debug, Clone, Copy)]
pub enum Feed<'a> {
    Topic(&'a str),
    Source(&'a str),
}

impl Feed<'_> {
    /// Its URL in `format`.
    pub fn url(self, config: &Config, format: Format) -> String {
        let path = match self {
            Feed::Topic(id) => format!("topics/{id}.{}", format.ext()),
            Feed::Source(id) => format!("sources/{id}.{}", format.ext()),
        };
        crate::publish::url_on(&config.server.base_url, &path)
    }

    /// Its key in the render cache and among the archive's generations.
    fn key(self) -> String {
        match self {
            Feed::Topic(id) => id.to_string(),
            Feed::Source(id) => crate::archive::source_key(id),
        }
    }
}

/// What every request handler shares.
pub struct AppState {
    pub archive: Arc<Archive>,
    /// The configuration in force; a reload swaps it.
    live: Arc<LiveConfig>,
    /// The Prometheus recorder's handle, for `/metrics` (none outside the daemon).
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// (topic, format) → (archive generation it was rendered at, rendering).
    cache: FeedCache,
    /// Requests and render-cache results, published on `/metrics`.
    counters: HttpCounters,
    /// The WebSub hub's health ([`websub::run`] writes it, `/status*` shows it).
    hub: websub::HubHealth,
    /// The search index, once the daemon opened it (`/search` answers 503 until then).
    search: std::sync::OnceLock<Arc<crate::search::Search>>,
}

impl AppState {
    /// The state of a server on `archive` and the live configuration; `metrics` is the
    /// recorder `/metrics` reads (the daemon installs it; none elsewhere).
    pub fn new(
        archive: Arc<Archive>,
        live: Arc<LiveConfig>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            archive,
            live,
            metrics,
            cache: Mutex::new(HashMap::new()),
            counters: HttpCounters::default(),
            hub: websub::HubHealth::default(),
            search: std::sync::OnceLock::new(),
        })
    }

    /// Serves searches from `search` (set once).
    pub fn set_search(&self, search: Arc<crate::search::Search>) {
        let _ = self.search.set(search);
    }

    /// The WebSub hub's health, for [`websub::run`].
    pub fn hub_health(&self) -> websub::HubHealth {
        Arc::clone(&self.hub)
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.live.config()
    }

    fn reload_error(&self) -> Option<String> {
        self.live.reload_error()
    }

    /// The topic's feed from the cache, when the cache may answer: the rendering is current,
    /// or it is stale but another request is already re-rendering it (stale-while-revalidate:
    /// during an ingest every write moves the topic's generation, and without this every
    /// concurrent request re-rendered at once; bench/run, p99 while ingesting). `None`: the
    /// caller must [`render`](Self::render) it, and is now the one request that does. Cheap (a
    /// lock and a map lookup), so handlers call it on the async thread.
    pub fn cached(&self, feed: Feed<'_>, format: Format) -> Option<Arc<Served>> {
        let topic = feed.key();
        let topic = topic.as_str();
        let generation = self.archive.topic_generation(topic);
        let live = self.live.get();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get_mut(topic)?[format as usize].as_mut()?;
        let current = entry.generation == generation && Arc::ptr_eq(&entry.config, &live.config);
        if current || entry.rendering {
            self.counters.cache(if current {
                CacheResult::Hit
            } else {
                CacheResult::Stale
            });
            return Some(Arc::clone(&entry.served));
        }
        entry.rendering = true;
        None
    }

    /// The cached rendering of a feed when it is current (no write moved the feed and the
    /// configuration is the same), else a new one (cached). Blocking. For the WebSub pinger,
    /// which must not render again what a subscriber's request just rendered.
    pub fn current_or_render(
        &self,
        feed: Feed<'_>,
        format: Format,
    ) -> Result<Arc<Served>, PublishError> {
        let key = feed.key();
        let generation = self.archive.topic_generation(&key);
        let live = self.live.get();
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .and_then(|slots| slots[format as usize].as_ref())
            .filter(|e| e.generation == generation && Arc::ptr_eq(&e.config, &live.config))
            .map(|e| Arc::clone(&e.served));
        match cached {
            Some(served) => Ok(served),
            None => self.render(feed, format),
        }
    }

    /// Renders the topic's feed and caches it. Blocking.
    pub fn render(&self, feed: Feed<'_>, format: Format) -> Result<Arc<Served>, PublishError> {
        /// Ends "rendering" however rendering ends (an error or a panic included), so a stale
        /// entry is never served forever.
        struct Done<'a>(&'a FeedCache, &'a str, usize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(Some(entry)) = cache.get_mut(self.1).map(|slots| &mut slots[self.2]) {
                    entry.rendering = false;
                }
            }
        }
        let slot = format as usize;
        let key = feed.key();
        let topic = key.as_str();
        let _done = Done(&self.cache, topic, slot);
        // read before rendering: a write during the render leaves the result stale, as it is
        let generation = self.archive.topic_generation(topic);
        self.counters.cache(CacheResult::Miss);
        let live = self.live.get();
        let rendered = match feed {
            Feed::Topic(id) => render_topic(&self.archive, &live.config, id, format)?,
            Feed::Source(id) => render_source(&self.archive, &live.config, id, format)?,
        };
        tracing::debug!(
            feed = ?feed,
            format = format.ext(),
            items = rendered.items,
            generation,
            "rendered feed"
        );
        // W3C WebSub §4: the hub and the topic URL in a Link header too
        let link = live.config.server.websub_hub.as_ref().and_then(|hub| {
            let me = feed.url(&live.config, format);
            HeaderValue::from_str(&format!("<{hub}>; rel=\"hub\", <{me}>; rel=\"self\"")).ok()
        });
        let served = Arc::new(Served::new(rendered, live.max_age, link));
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(topic.to_string())
            .or_default()[slot] = Some(CacheEntry {
            generation,
            config: Arc::clone(&live.config),
            served: Arc::clone(&served),
            rendering: false,
        });
        Ok(served)
    }
}

/// The routes, with gzip and brotli for clients that accept them.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", axum::routing::get(index))
        .route(
            "/sources",
            axum::routing::get(|State(state): State<Arc<AppState>>| async move {
                pages::blocking_page(state, pages::sources_page).await
            }),
        )
        .route("/healthz", axum::routing::get(healthz))
        .merge(
            Router::new()
                .route("/status", axum::routing::get(pages::status_page))
                .route("/status.json", axum::routing::get(status_json))
                .route("/status.rss", axum::routing::get(status_rss))
                .route("/metrics", axum::routing::get(metrics_text))
                .route_layer(axum::middleware::from_fn_with_state(
                    Arc::clone(&state),
                    operators_only,
                )),
        )
        .route(
            "/sources.opml",
            axum::routing::get(|State(state): State<Arc<AppState>>| async move {
                opml_response(crate::opml::sources_opml(&state.config()))
            }),
        )
        .route(
            "/topics.opml",
            axum::routing::get(|State(state): State<Arc<AppState>>| async move {
                opml_response(crate::opml::topics_opml(&state.config()))
            }),
        )
        .route("/topics/{file}", axum::routing::get(topic_feed))
        .route("/sources/feeds.opml", axum::routing::get(source_feeds_opml))
        .route(
            "/feed.xsl",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/xsl; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=86400"),
                    ],
                    include_str!("feed.xsl"),
                )
            }),
        )
        .route("/articles/{file}", axum::routing::get(pages::article))
        .route("/search", axum::routing::get(search::page))
        .route("/search.rss", axum::routing::get(search::rss))
        .route("/search.atom", axum::routing::get(search::atom))
        .route("/search.json", axum::routing::get(search::json))
        .route("/sources/{file}", axum::routing::get(source_feed))
        .route(
            "/topics/{id}/archive/{file}",
            axum::routing::get(history::topic_archive),
        )
        .route(
            "/sources/{id}/archive/{file}",
            axum::routing::get(history::source_archive),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            count_requests,
        ))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .with_state(state)
}

/// Runs `f` on the blocking pool (it reads the archive); its error is logged and answered as a
/// `500` that says it, as is a task that did not finish.
pub(super) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Response>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            Err((StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response())
        }
        Err(e) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}\n"),
        )
            .into_response()),
    }
}

/// Binds `addr`, with an error that says what to do when the port is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, std::io::Error> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {addr}: {e} (is another gazette running? change [server] listen)"
            ),
        )
    })
}

/// Serves until `shutdown` fires, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    connections::serve(listener, router(state), limits, shutdown).await
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// RFC 9110 §13.1.2 / §13.1.3: If-None-Match wins over If-Modified-Since.
/// Whether the request's `If-None-Match` names `etag` (`None`: it has none). Weak comparison
/// (RFC 9110 §8.8.3.2), as If-None-Match requires (§13.1.2).
fn etag_matches(headers: &HeaderMap, etag: &str) -> Option<bool> {
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())?;
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let ours = opaque(etag);
    Some(
        inm.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || opaque(tag) == ours),
    )
}

fn not_modified(headers: &HeaderMap, r: &Rendered) -> bool {
    if let Some(matches) = etag_matches(headers, &r.etag) {
        return matches;
    }
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        && let Ok(since) = DateTime::parse_from_rfc2822(ims.replace("GMT", "+0000").trim())
    {
        return r.last_modified <= since.with_timezone(&Utc);
    }
    false
}

async fn topic_feed(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    feed_or_page(state, ChannelKind::Topic, file, &query, &headers).await
}

/// `/sources/{id}.rss|.atom|.json`: one source's normalized articles, with every rule a
/// topic's feed has (validators and `304`, compression, the render cache, `limit` items).
async fn source_feed(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    feed_or_page(state, ChannelKind::Source, file, &query, &headers).await
}

/// `/topics/{file}` and `/sources/{file}`: `ID.rss|.atom|.json` is the feed, a bare `ID` the
/// page people read (paged with `?before=`); anything else, or an unknown id, is a 404.
async fn feed_or_page(
    state: Arc<AppState>,
    kind: ChannelKind,
    file: String,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let config = state.config();
    let channel_of = |id: &str| Channel::of(&config, kind, id);
    let noun = match kind {
        ChannelKind::Topic => "topic",
        ChannelKind::Source | ChannelKind::Search => "source",
    };
    if !file.contains('.') {
        let Some(channel) = channel_of(&file) else {
            return (StatusCode::NOT_FOUND, format!("no {noun} {file:?}\n")).into_response();
        };
        let before = query.get("before").cloned();
        return pages::blocking_page(state, move |st| {
            pages::listing_page(st, &channel, before.as_deref())
        })
        .await;
    }
    let Some((id, format)) = file
        .rsplit_once('.')
        .and_then(|(id, ext)| Some((id.to_string(), Format::from_ext(ext)?)))
    else {
        return (
            StatusCode::NOT_FOUND,
            format!("no feed {file:?}: use /{noun}s/ID.rss, .atom or .json\n"),
        )
            .into_response();
    };
    if channel_of(&id).is_none() {
        return (StatusCode::NOT_FOUND, format!("no {noun} {id:?}\n")).into_response();
    }
    let feed = match kind {
        ChannelKind::Topic => FeedId::Topic(id),
        ChannelKind::Source | ChannelKind::Search => FeedId::Source(id),
    };
    feed_response(state, feed, format, headers).await
}

/// `/sources/feeds.opml`: gazette's own feed of every source (`/sources.opml` lists the
/// original sources).
async fn source_feeds_opml(State(state): State<Arc<AppState>>) -> Response {
    opml_response(crate::opml::source_feeds_opml(&state.config()))
}

/// An owned [`Feed`], to move into a blocking render.
pub(super) enum FeedId {
    Topic(String),
    Source(String),
}

impl FeedId {
    pub(super) fn of(feed: Feed<'_>) -> FeedId {
        match feed {
            Feed::Topic(id) => FeedId::Topic(id.to_string()),
            Feed::Source(id) => FeedId::Source(id.to_string()),
        }
    }

    pub(super) fn feed(&self) -> Feed<'_> {
        match self {
            FeedId::Topic(id) => Feed::Topic(id),
            FeedId::Source(id) => Feed::Source(id),
        }
    }
}

async fn feed_response(
    state: Arc<AppState>,
    id: FeedId,
    format: Format,
    headers: &HeaderMap,
) -> Response {
    let served = match state.cached(id.feed(), format) {
        Some(served) => served,
        None => {
            let st = Arc::clone(&state);
            match tokio::task::spawn_blocking(move || st.render(id.feed(), format)).await {
                Ok(Ok(served)) => served,
                Ok(Err(e)) => {
                    tracing::error!("{e}");
                    return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
                }
                Err(e) => {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("internal error: {e}\n"),
                    )
                        .into_response();
                }
            }
        }
    };
    respond(&served, headers)
}

/// A rendered feed as a response: its validators and caching headers, and `304 Not Modified`
/// when the request's validators match (RFC 9110 §13.1).
fn respond(served: &Served, headers: &HeaderMap) -> Response {
    let mut out = HeaderMap::with_capacity(6);
    let headers_of = [
        (header::ETAG, &served.etag),
        (header::LAST_MODIFIED, &served.last_modified),
        (header::CACHE_CONTROL, &served.cache_control),
        (header::LINK, &served.link),
    ];
    for (name, value) in headers_of {
        if let Some(v) = value {
            out.insert(name, v.clone());
        }
    }
    // the same URL answers browsers and feed readers differently (the Content-Type)
    out.insert(header::VARY, HeaderValue::from_static("accept"));
    if not_modified(headers, &served.rendered) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    if let Some(v) = &served.content_type {
        // A browser (it asks for text/html first) downloads `application/rss+xml` instead of
        // showing it; as `application/xml` it applies the feed's stylesheet (`/feed.xsl`) and
        // shows how to subscribe. Feed readers get the feed's own type.
        let browser = headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        let xml = served.rendered.content_type != Format::Json.content_type();
        if browser && xml {
            out.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=utf-8"),
            );
        } else {
            out.insert(header::CONTENT_TYPE, v.clone());
        }
    }
    (StatusCode::OK, out, served.body.clone()).into_response()
}

fn opml_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/x-opml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Counts every request by its route pattern (not the raw path: bounded label values).
/// Whether a client may see the operators' pages (`/status*`, `/metrics`, `/healthz` detail):
/// everyone while `[server] public_status` is true (the default), else loopback clients only.
pub fn may_see_status(public: bool, peer: Option<SocketAddr>) -> bool {
    public
        || peer.is_some_and(|p| match p.ip() {
            std::net::IpAddr::V4(v4) => v4.is_loopback(),
            std::net::IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        })
}

fn peer_of(req: &axum::extract::Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// `public_status = false`: the operators' pages answer 404 to everyone but loopback.
async fn operators_only(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if may_see_status(state.config().server.public_status, peer_of(&req)) {
        next.run(req).await
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

async fn count_requests(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = HttpCounters::route_index(
        req.extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|p| p.as_str()),
    );
    let response = next.run(req).await;
    state.counters.request(route, response.status().as_u16());
    response
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    let Some(handle) = &state.metrics else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are not recorded in this process\n",
        )
            .into_response();
    };
    use crate::telemetry as t;
    state.counters.publish();
    for topic in &state.config().topics {
        metrics::gauge!(t::TOPIC_ARTICLES, "topic" => topic.id.clone())
            .set(state.archive.topic_len(&topic.id) as f64);
    }
    metrics::gauge!(t::ARCHIVE_ARTICLES).set(state.archive.len() as f64);
    metrics::gauge!(t::ARCHIVE_BYTES).set(state.archive.size_on_disk() as f64);
    if let Some(free) = state.archive.free_space() {
        metrics::gauge!(t::ARCHIVE_FREE_BYTES).set(free as f64);
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

async fn status_json(State(state): State<Arc<AppState>>) -> Response {
    match crate::health::sources(&state.config(), &state.archive, Utc::now()) {
        Ok(rows) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "sources": rows,
                "config_error": state.reload_error(),
                "restart_needed": state.live.restart_needed(),
                "websub": state.config().server.websub_hub.as_ref().map(|_| {
                    state.hub.lock().unwrap_or_else(|p| p.into_inner()).clone()
                }),
                "search": state.search.get().map(|s| s.status()),
            })
            .to_string(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("archive unusable: {e}\n"),
        )
            .into_response(),
    }
}

async fn status_rss(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match crate::health::events_rss(&state.archive, &state.config().server.base_url) {
        // the same headers and conditional GET as a topic feed; a short max-age: operators
        // want to hear of problems soon
        Ok(rendered) => respond(&Served::new(rendered, 60, None), &headers),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("archive unusable: {e}\n"),
        )
            .into_response(),
    }
}

/// `/healthz`: the archive's and the sources' health; to clients that may not see the
/// operators' pages, only the status code and `{"status": …}`.
async fn healthz(State(state): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let visible = may_see_status(state.config().server.public_status, peer_of(&req));
    let full = healthz_detail(State(state)).await;
    if visible {
        return full;
    }
    let status = full.status();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "status": if status.is_success() { "ok" } else { "unavailable" } })
            .to_string(),
    )
        .into_response()
}

async fn healthz_detail(State(state): State<Arc<AppState>>) -> Response {
    if let Err(e) = state.archive.check() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "status": "unavailable", "error": e.to_string() }).to_string(),
        )
            .into_response();
    }
    let min_free = state.config().archive.min_free;
    if let Some(free) = state.archive.free_space().filter(|&f| f < min_free) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "status": "disk low",
                "error": format!("{free} bytes free on the archive's filesystem, below [archive] min_free ({min_free}); polls are deferred until space is freed"),
                "free_bytes": free,
            })
            .to_string(),
        )
            .into_response();
    }
    let unreadable = state.archive.unreadable_seen();
    if unreadable > 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "status": "degraded",
                "error": format!("{unreadable} archive records could not be read while serving (they are left out of feeds); stop gazette and run `gazette verify`"),
            })
            .to_string(),
        )
            .into_response();
    }
    let config = state.config();
    // typed rows serialized straight to text: with 10k sources a `serde_json::Value` tree of
    // them was 12 MB of short-lived maps per request (heaptrack, bench/run "scale"). Fields in
    // alphabetical order, the order the `Value` maps wrote them.
    #[derive(serde::Serialize)]
    struct Row<'a> {
        consecutive_failures: u32,
        id: &'a str,
        last_attempt: Option<chrono::DateTime<chrono::Utc>>,
        last_error: Option<String>,
        last_success: Option<chrono::DateTime<chrono::Utc>>,
    }
    #[derive(serde::Serialize)]
    struct Health<'a> {
        articles: usize,
        failing_sources: usize,
        poll: Vec<Row<'a>>,
        sources: usize,
        status: &'static str,
    }
    let poll: Vec<Row<'_>> = config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .map(|s| {
            let ps = state.archive.poll_state_or_new(&s.id);
            Row {
                consecutive_failures: ps.consecutive_failures,
                id: &s.id,
                last_attempt: ps.last_attempt,
                last_error: ps.last_error,
                last_success: ps.last_success,
            }
        })
        .collect();
    let body = Health {
        articles: state.archive.len(),
        failing_sources: poll.iter().filter(|r| r.consecutive_failures > 0).count(),
        sources: poll.len(),
        poll,
        status: "ok",
    };
    match serde_json::to_string(&body) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Text content of an element.
fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// A double-quoted attribute value.
fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

async fn index(State(state): State<Arc<AppState>>) -> Response {
    pages::blocking_page(state, pages::front_page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_pages_are_for_loopback_when_status_is_not_public() {
        let addr = |s: &str| Some(s.parse::<SocketAddr>().expect("addr"));
        // (public_status, peer, may see)
        let cases = [
            (true, addr("203.0.113.5:4000"), true),
            (true, None, true),
            (false, addr("127.0.0.1:4000"), true),
            (false, addr("127.8.9.10:4000"), true),
            (false, addr("[::1]:4000"), true),
            (false, addr("[::ffff:127.0.0.1]:4000"), true),
            (false, addr("203.0.113.5:4000"), false),
            (false, addr("192.168.1.20:4000"), false),
            (false, addr("[2001:db8::1]:4000"), false),
            (false, None, false),
        ];
        for (public, peer, want) in cases {
            assert_eq!(may_see_status(public, peer), want, "{public} {peer:?}");
        }
    }
}
