//! gazette's archived copy of an article (issue 22): `/articles/{id}` as a page people read,
//! `/articles/{id}.json` as the object `articles --json` prints. Every item of every output
//! feed links here, so the text survives when the source deletes its page.
//!
//! Everything that came from the internet is escaped (titles, names, links); the article's
//! HTML was sanitized when it was stored (ammonia, `normalize::sanitize`) and the page also
//! forbids every script through its Content-Security-Policy, so a sanitizer miss cannot run.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::{AppState, attr, esc};
use crate::archive::Listing;
use crate::model::{Article, article_json, published_local};
use crate::publish::{Channel, Format, Site, etag_of};

/// Scripts never run on gazette's pages; images and media may come from anywhere (the
/// article's own), styles only from the page itself.
const PAGE_CSP: &str = "default-src 'none'; img-src http: https: data:; media-src http: https:; \
     style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The small stylesheet every page shares (inlined: one request per page).
pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;\
     max-width:42em;margin:0 auto;padding:1em;color:#222;overflow-wrap:anywhere}\
     img,video,audio,iframe,table,pre{max-width:100%;height:auto}pre{overflow-x:auto}\
     a{color:#0645ad}.meta{color:#555;font-size:.9em}nav{margin-bottom:1em}\
     h1{line-height:1.2}ul.sources{padding-left:1.2em}ul.articles,ul.topics{padding:0}\
     ul.articles li,ul.topics li{list-style:none;margin-bottom:1em}\
     td,th{padding:.2em .6em;text-align:left;vertical-align:top}";

/// `/articles/{id}` and `/articles/{id}.json`.
pub(super) async fn article(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (id, json) = match file.strip_suffix(".json") {
        Some(id) => (id.to_string(), true),
        None => (file, false),
    };
    // ids are 16 hex digits: anything else is not looked up
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (StatusCode::NOT_FOUND, format!("no article {id:?}\n")).into_response();
    }
    let st = Arc::clone(&state);
    let lookup = id.clone();
    let found = super::blocking(move || st.archive.get(&lookup)).await;
    let article = match found {
        Ok(Some(a)) => a,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, format!("no article {id:?}\n")).into_response();
        }
        Err(response) => return response,
    };
    let config = state.config();
    let site = Site::new(&config);
    let (body, content_type) = if json {
        let mut doc = article_json(&article);
        doc["archived_url"] = site.article_url(&article.id).into();
        (
            format!("{doc}\n").into_bytes(),
            "application/json; charset=utf-8",
        )
    } else {
        (
            article_page(&article, &site, &config).into_bytes(),
            "text/html; charset=utf-8",
        )
    };
    let etag = etag_of(&body);
    let matches = super::etag_matches(&headers, &etag).unwrap_or(false);
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    if matches {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if !json {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    (StatusCode::OK, out, body).into_response()
}

/// The page of one article: its title, date and author, the text, every source that carried
/// it (with its own title and link), and its topics.
fn article_page(a: &Article, site: &Site<'_>, config: &crate::config::Config) -> String {
    let lang = a
        .language
        .as_deref()
        .filter(|l| l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or("en");
    let name_of = |id: &str| {
        site.sources
            .get(id)
            .map_or_else(|| id.to_string(), |(name, _)| name.clone())
    };
    let mut meta = vec![esc(&published_local(a.published, a.published_local))];
    if let Some(author) = a.author.as_deref().filter(|s| !s.is_empty()) {
        meta.push(esc(author));
    }
    let sources: String = a
        .links
        .iter()
        .map(|l| {
            let name = esc(&name_of(&l.source));
            let own = l
                .title
                .as_deref()
                .filter(|t| *t != a.title)
                .map(|t| format!(": “{}”", esc(t)))
                .unwrap_or_default();
            // only web links are links (a stored URL is http(s) already; this page keeps it so)
            if !(l.url.starts_with("https://") || l.url.starts_with("http://")) {
                format!("<li>{name}{own}</li>")
            } else {
                format!("<li><a href=\"{}\">{name}</a>{own}</li>", attr(&l.url))
            }
        })
        .collect();
    let topics: Vec<String> = a
        .topics
        .iter()
        .filter_map(|t| config.topics.iter().find(|c| &c.id == t))
        .map(|t| {
            let page = site.page_url(&Channel::of_topic(t));
            format!("<a href=\"{}\">{}</a>", attr(&page), esc(&t.title))
        })
        .collect();
    let topics = if topics.is_empty() {
        String::new()
    } else {
        format!("<p class=\"meta\">Topics: {}</p>", topics.join(" · "))
    };
    let text = if a.html.is_empty() {
        format!("<p>{}</p>", esc(&a.text))
    } else {
        a.html.clone()
    };
    let json_url = site.article_url(&a.id) + ".json";
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · gazette</title>\
         <link rel=\"alternate\" type=\"application/json\" href=\"{json}\">\
         <style>{STYLE}</style></head>\n<body><nav><a href=\"{home}\">gazette</a> · \
         <a href=\"{status}\">status</a></nav><article><h1>{title}</h1>\
         <p class=\"meta\">{meta}</p>\n<div class=\"text\">{text}</div></article>\n\
         <h2>Sources</h2><ul class=\"sources\">{sources}</ul>{topics}\
         <p class=\"meta\">Archived by gazette, first seen {first_seen}. \
         <a href=\"{json}\">JSON</a></p></body></html>\n",
        title = esc(&a.title),
        json = attr(&json_url),
        home = attr(site.base_url.as_str()),
        status = attr(&site.url("status")),
        meta = meta.join(" · "),
        first_seen = esc(&a.first_seen.format("%Y-%m-%d %H:%M UTC").to_string()),
    )
}

/// Articles per page of a topic, a source or the front page's list.
const PER_PAGE: usize = 30;

/// A page in gazette's one layout: viewport, the shared stylesheet, the navigation, and
/// `alternates` as autodiscovery links (`<link rel="alternate">`, (title, MIME type, URL)).
pub(super) fn layout(
    title: &str,
    alternates: &[(String, &str, String)],
    body: &str,
    site: &Site<'_>,
) -> String {
    let link = |path: &str| attr(&site.url(path));
    let head: String = alternates
        .iter()
        .map(|(t, mime, url)| {
            format!(
                "<link rel=\"alternate\" type=\"{mime}\" title=\"{}\" href=\"{}\">",
                attr(t),
                attr(url)
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>{head}<style>{STYLE}</style></head>\n<body><nav>\
         <a href=\"{}\">gazette</a> · <a href=\"{}\">sources</a> · <a href=\"{}\">status</a>\
         </nav>\n{body}</body></html>\n",
        esc(title),
        link(""),
        link("sources"),
        link("status"),
    )
}

/// The three formats of a feed, as autodiscovery links.
pub(super) fn alternates(
    channel: &Channel,
    site: &Site<'_>,
) -> Vec<(String, &'static str, String)> {
    [
        (Format::Rss, "application/rss+xml"),
        (Format::Atom, "application/atom+xml"),
        (Format::Json, "application/feed+json"),
    ]
    .into_iter()
    .map(|(f, mime)| {
        (
            format!("{} ({})", channel.title, f.ext()),
            mime,
            site.feed_url(channel, f),
        )
    })
    .collect()
}

/// "Subscribe: RSS · Atom · JSON" for a feed.
pub(super) fn subscribe(channel: &Channel, site: &Site<'_>) -> String {
    let links: Vec<String> = Format::ALL
        .iter()
        .map(|f| {
            format!(
                "<a href=\"{}\">{}</a>",
                attr(&site.feed_url(channel, *f)),
                f.ext().to_uppercase()
            )
        })
        .collect();
    format!("<p class=\"meta\">Subscribe: {}</p>", links.join(" · "))
}

/// Articles as a readable list: the title (to the archived copy), date and sources.
pub(super) fn article_list(articles: &[Article], site: &Site<'_>) -> String {
    if articles.is_empty() {
        return "<p>No articles yet.</p>".to_string();
    }
    let items: String = articles
        .iter()
        .map(|a| {
            let names: Vec<String> = a
                .sources
                .iter()
                .map(|s| {
                    esc(&site
                        .sources
                        .get(s)
                        .map_or_else(|| s.clone(), |(name, _)| name.clone()))
                })
                .collect();
            format!(
                "<li><a href=\"{}\">{}</a><br><span class=\"meta\">{} · {}</span></li>\n",
                attr(&site.article_url(&a.id)),
                esc(&a.title),
                esc(&a.published.format("%Y-%m-%d %H:%M UTC").to_string()),
                names.join(", ")
            )
        })
        .collect();
    format!("<ul class=\"articles\">\n{items}</ul>")
}

/// "Older" link of a listing page.
fn older(path: &str, next: Option<&str>, site: &Site<'_>) -> String {
    match next {
        Some(cursor) => format!(
            "<p><a rel=\"next\" href=\"{}?before={}\">Older articles</a></p>",
            attr(&site.url(path)),
            attr(cursor)
        ),
        None => String::new(),
    }
}

/// The HTML of a topic's or a source's page: its title, the subscribe links and a page of
/// its articles, newest first, with a link to the older ones (`?before=`) and back to the
/// newest.
pub(super) fn listing_page(
    state: &AppState,
    channel: &Channel,
    before: Option<&str>,
) -> Result<String, crate::archive::ArchiveError> {
    let config = state.config();
    let site = Site::new(&config);
    let listing = match channel.kind {
        crate::publish::ChannelKind::Topic => Listing::Topic(&channel.id),
        crate::publish::ChannelKind::Source => Listing::Source(&channel.id),
        // searches have their own page (`serve::search`)
        crate::publish::ChannelKind::Search => Listing::All,
    };
    let page = state.archive.page(listing, before, PER_PAGE)?;
    let newest = if before.is_some() {
        format!(
            "<p><a href=\"{}\">Newest articles</a></p>",
            attr(&site.page_url(channel))
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1><p>{}</p>{}{newest}{}{}",
        esc(&channel.title),
        esc(channel.description.as_deref().unwrap_or("")),
        subscribe(channel, &site),
        article_list(&page.articles, &site),
        older(&channel.path(), page.next.as_deref(), &site),
    );
    Ok(layout(
        &channel.title,
        &alternates(channel, &site),
        &body,
        &site,
    ))
}

/// An HTML page as a response: no script may run on it.
pub(super) fn html_response(html: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

/// Builds a page off the async threads (it reads the archive); a failure is a 503 that says
/// why.
pub(super) async fn blocking_page(
    state: Arc<AppState>,
    build: impl FnOnce(&AppState) -> Result<String, crate::archive::ArchiveError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || build(&state)).await {
        Ok(Ok(html)) => html_response(html),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("archive unusable: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}\n"),
        )
            .into_response(),
    }
}

/// `/sources`: every source with its name, kind, health and article counts, and its page.
pub(super) fn sources_page(state: &AppState) -> Result<String, crate::archive::ArchiveError> {
    let config = state.config();
    let site = Site::new(&config);
    let rows = crate::health::sources(&config, &state.archive, chrono::Utc::now())?;
    let body: String = rows
        .iter()
        .zip(&config.sources)
        .map(|(r, s)| {
            let kind = match s.kind {
                crate::config::SourceKind::Auto => "auto",
                crate::config::SourceKind::Feed => "feed",
                crate::config::SourceKind::Html => "html",
            };
            let page = site.url(&format!("sources/{}", s.id));
            format!(
                "<tr><td><a href=\"{}\">{}</a><br><span class=\"meta\">{}</span></td><td>{kind}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>\n",
                attr(&page),
                esc(&r.name),
                esc(&r.id),
                esc(&r.state),
                r.articles,
                r.articles_7d
            )
        })
        .collect();
    let body = format!(
        "<h1>Sources</h1><div style=\"overflow-x:auto\"><table><tr><th>source</th><th>kind</th>\
         <th>health</th><th>articles</th><th>7 days</th></tr>\n{body}</table></div>\
         <p class=\"meta\"><a href=\"{}\">OPML of the sources</a> · <a href=\"{}\">OPML of \
         gazette's feed of each source</a></p>",
        attr(&site.url("sources.opml")),
        attr(&site.url("sources/feeds.opml")),
    );
    Ok(layout("gazette: sources", &[], &body, &site))
}

/// `/`: the topics with their counts and subscribe links, the newest articles, and the way to
/// everything else.
pub(super) fn front_page(state: &AppState) -> Result<String, crate::archive::ArchiveError> {
    let config = state.config();
    let site = Site::new(&config);
    let mut alts = Vec::new();
    let topics: String = config
        .topics
        .iter()
        .map(|t| {
            let channel = Channel::of_topic(t);
            alts.extend(alternates(&channel, &site));
            let page = site.page_url(&channel);
            format!(
                "<li><h3><a href=\"{}\">{}</a></h3><p>{}</p><p class=\"meta\">{} articles</p>{}</li>\n",
                attr(&page),
                esc(&t.title),
                esc(t.description.as_deref().unwrap_or("")),
                state.archive.topic_len(&t.id),
                subscribe(&channel, &site)
            )
        })
        .collect();
    let newest = state.archive.page(Listing::All, None, 20)?;
    let url = |p: &str| attr(&site.url(p));
    let body = format!(
        "<h1>gazette</h1><p>{} articles from {} sources.</p>{}<h2>Topics</h2>\
         <ul class=\"topics\">\n{topics}</ul><h2>Newest articles</h2>{}\
         <p class=\"meta\"><a href=\"{}\">Sources</a> · <a href=\"{}\">Status</a> · \
         <a href=\"{}\">OPML of the topics</a> · <a href=\"{}\">OPML of the sources</a> · \
         <a href=\"{}\">OPML of each source's feed</a></p>",
        state.archive.len(),
        config.sources.iter().filter(|s| s.enabled).count(),
        super::search::form(&site, ""),
        article_list(&newest.articles, &site),
        url("sources"),
        url("status"),
        url("topics.opml"),
        url("sources.opml"),
        url("sources/feeds.opml"),
    );
    Ok(layout("gazette", &alts, &body, &site))
}

/// `/status`: every source's health, the reload and restart notes and the WebSub hub's;
/// below 40em each row is a labelled card (a phone never scrolls sideways).
pub(super) async fn status_page(State(state): State<Arc<AppState>>) -> Response {
    let rows = match crate::health::sources(&state.config(), &state.archive, Utc::now()) {
        Ok(rows) => rows,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("archive unusable: {e}\n"),
            )
                .into_response();
        }
    };
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or("-".to_string(), |t| {
            t.format("%Y-%m-%d %H:%M UTC").to_string()
        })
    };
    let body: String = rows
        .iter()
        .map(|r| {
            let error = r.moved_to.as_ref().map(|to| format!("moved to {to}; update feeds.toml")).or(r.last_error.clone()).or(r.warning.as_ref().map(|w| format!("warning: {w}"))).unwrap_or_default();
            format!(
                "<tr class=\"{}\"><td data-label=\"source\">{}<br><span class=\"meta\">{}</span></td><td data-label=\"state\">{}</td><td data-label=\"last success\">{}</td><td data-label=\"next poll\">{}</td><td data-label=\"failures\">{}</td><td data-label=\"articles\">{}</td><td data-label=\"7 days\">{}</td><td data-label=\"last error\">{}</td></tr>\n",
                attr(&r.state.replace(' ', "-")),
                esc(&r.name),
                esc(&r.id),
                esc(&r.state),
                when(r.last_success),
                when(r.next_poll),
                r.consecutive_failures,
                r.articles,
                r.articles_7d,
                esc(&error)
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>gazette: source health</title>\n<link rel=\"alternate\" type=\"application/rss+xml\" title=\"source health\" href=\"status.rss\">\n<style>body{{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:80em}}td,th{{padding:.2em .6em;text-align:left;vertical-align:top}}.meta{{color:#555;font-size:.9em}}.failing td,.gone td{{color:#a00}}.backing-off td,.moved td{{color:#a60}}.wide{{overflow-x:auto}}@media (max-width:40em){{table,tbody,tr,td{{display:block}}tr:first-child{{display:none}}tr{{border-top:1px solid #ccc;padding:.4em 0}}td{{padding:.1em 0}}td::before{{content:attr(data-label) \": \";color:#555;font-size:.9em}}td:first-child::before{{content:none}}}}</style></head>\n<body><nav><a href=\"./\">gazette</a> · <a href=\"sources\">sources</a></nav><h1>Source health</h1>{config_error}{restart}{websub}<div class=\"wide\"><table><tr><th>source</th><th>state</th><th>last success</th><th>next poll</th><th>failures</th><th>articles</th><th>7 days</th><th>last error</th></tr>\n{body}</table></div><p><a href=\"status.json\">JSON</a> · <a href=\"status.rss\">RSS of problems</a></p></body></html>\n",
        config_error = state
            .reload_error()
            .map(|e| format!("<p class=\"failing\"><b>feeds.toml was not reloaded:</b> {}</p>", esc(&e)))
            .unwrap_or_default(),
        websub = match &state.config().server.websub_hub {
            None => String::new(),
            Some(hub) => {
                let h = state.hub.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let when = |t: Option<DateTime<Utc>>| {
                    t.map_or("never".to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                };
                let error = match (&h.last_error, h.last_error_at) {
                    (Some(e), at) if at > h.last_ok => format!(
                        " <span class=\"failing\">Last error ({}): {}</span>",
                        when(at),
                        esc(e)
                    ),
                    _ => String::new(),
                };
                format!(
                    "<p>WebSub hub {}: {} pings sent, last at {}, {} waiting, {} given up.{error}</p>",
                    esc(crate::secrets::redact(hub).as_ref()),
                    h.sent,
                    when(h.last_ok),
                    h.queued,
                    h.dropped
                )
            }
        },
        restart = {
            let keys = state.live.restart_needed();
            if keys.is_empty() {
                String::new()
            } else {
                format!(
                    "<p class=\"moved\"><b>changed in feeds.toml, applied after a restart:</b> {}</p>",
                    esc(&keys.join("; "))
                )
            }
        },
    ))
    .into_response()
}
