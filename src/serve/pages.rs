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
use axum::response::{IntoResponse, Response};

use super::{AppState, attr, esc};
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
     h1{line-height:1.2}ul.sources{padding-left:1.2em}";

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
    let found = tokio::task::spawn_blocking(move || st.archive.get(&lookup)).await;
    let article = match found {
        Ok(Ok(Some(a))) => a,
        Ok(Ok(None)) => {
            return (StatusCode::NOT_FOUND, format!("no article {id:?}\n")).into_response();
        }
        Ok(Err(e)) => {
            tracing::error!("reading article {id}: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {e}\n"),
            )
                .into_response();
        }
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
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| {
            let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
            inm.split(',')
                .any(|t| t.trim() == "*" || opaque(t) == opaque(&etag))
        });
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
            format!(
                "<a href=\"{}\">{}</a>",
                attr(&site.feed_url(&Channel::of_topic(t), Format::Atom)),
                esc(&t.title)
            )
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
        status = attr(
            site.base_url
                .join("status")
                .as_ref()
                .map_or("", |u| u.as_str())
        ),
        meta = meta.join(" · "),
        first_seen = esc(&a.first_seen.format("%Y-%m-%d %H:%M UTC").to_string()),
    )
}
