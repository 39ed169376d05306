//! `/search?q=QUERY` (a page) and `/search.rss|.atom|.json?q=QUERY` (feeds): the archive
//! searched in the topic query language, newest first (`search`). A query that does not parse
//! is a `400` with the parser's column-precise message.

use std::collections::HashMap;

use axum::extract::Query;

use super::pages::{alternates, article_list, html_response, layout, subscribe};
use super::*;
use crate::publish::Site;
use crate::search::Hits;

/// Results per page, and per search feed.
const PER_PAGE: usize = 30;

/// Why a search gave no results.
enum Failed {
    /// The query does not parse.
    Query(crate::query::QueryError),
    /// No index (yet).
    Unavailable,
    Error(String),
}

async fn run(state: &Arc<AppState>, q: String, cursor: Option<String>) -> Result<Hits, Failed> {
    let expr = crate::query::parse(&q).map_err(Failed::Query)?;
    let Some(index) = state.search.get().cloned() else {
        return Err(Failed::Unavailable);
    };
    let st = Arc::clone(state);
    let found = tokio::task::spawn_blocking(move || {
        let live = st.live.get();
        index.search(
            &st.archive,
            &live.curator,
            &expr,
            cursor.as_deref(),
            PER_PAGE,
        )
    })
    .await;
    match found {
        Ok(Ok(hits)) => Ok(hits),
        Ok(Err(e)) => {
            tracing::error!("search {q:?}: {e}");
            Err(Failed::Error(e.to_string()))
        }
        Err(e) => Err(Failed::Error(e.to_string())),
    }
}

fn failure(f: Failed) -> (StatusCode, String) {
    match f {
        Failed::Query(e) => (StatusCode::BAD_REQUEST, format!("bad query: {e}")),
        Failed::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "search is not available: the index is not open".to_string(),
        ),
        Failed::Error(e) => (StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// The search form, filled with `q`.
pub(super) fn form(site: &Site<'_>, q: &str) -> String {
    format!(
        "<form action=\"{}\" method=\"get\" role=\"search\"><input type=\"search\" name=\"q\" \
         value=\"{}\" placeholder=\"patent* AND title:&quot;science park&quot;\" \
         aria-label=\"Search\" style=\"width:70%\"> <button>Search</button></form>",
        attr(&site.url("search")),
        attr(q)
    )
}

/// `/search?q=QUERY[&after=CURSOR]`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let config = state.config();
    let site = Site::new(&config);
    let q = params
        .get("q")
        .map(|q| q.trim().to_string())
        .unwrap_or_default();
    let help = "<p class=\"meta\">Words (<code>patent</code>), prefixes (<code>patent*</code>), \
        phrases (<code>\"science park\"</code>), fields (<code>title:</code>, <code>author:</code>, \
        <code>source:</code>, <code>tag:</code>, <code>lang:</code>), <code>AND</code>, \
        <code>OR</code>, <code>NOT</code> and parentheses: the language of topics.</p>";
    if q.is_empty() {
        let body = format!("<h1>Search</h1>{}{help}", form(&site, ""));
        return html_response(layout("Search · gazette", &[], &body, &site));
    }
    let channel = Channel::of_search(&q);
    let cursor = params.get("after").cloned();
    let status = match state.search.get() {
        Some(index) if !index.status().ready => {
            "<p class=\"meta\">The search index is being built: results may be missing.</p>"
        }
        _ => "",
    };
    let (code, results) = match run(&state, q.clone(), cursor.clone()).await {
        Ok(hits) => {
            let more = hits.next.map_or(String::new(), |next| {
                format!(
                    "<p><a rel=\"next\" href=\"{}&amp;after={}\">Older results</a></p>",
                    attr(&site.page_url(&channel)),
                    attr(&next)
                )
            });
            let summary = if hits.articles.is_empty() {
                "<p>No articles match.</p>".to_string()
            } else {
                article_list(&hits.articles, &site)
            };
            (
                StatusCode::OK,
                format!("{}{status}{summary}{more}", subscribe(&channel, &site)),
            )
        }
        Err(f) => {
            let (code, message) = failure(f);
            (
                code,
                format!("<p class=\"error\"><strong>{}</strong></p>", esc(&message)),
            )
        }
    };
    let body = format!(
        "<h1>Search: {}</h1>{}{results}{help}",
        esc(&q),
        form(&site, &q)
    );
    let alts = if code == StatusCode::OK {
        alternates(&channel, &site)
    } else {
        Vec::new()
    };
    let mut response = html_response(layout(
        &format!("{q} · search · gazette"),
        &alts,
        &body,
        &site,
    ));
    *response.status_mut() = code;
    response
}

pub(super) async fn rss(
    state: State<Arc<AppState>>,
    params: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    feed(state, params, headers, Format::Rss).await
}

pub(super) async fn atom(
    state: State<Arc<AppState>>,
    params: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    feed(state, params, headers, Format::Atom).await
}

pub(super) async fn json(
    state: State<Arc<AppState>>,
    params: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    feed(state, params, headers, Format::Json).await
}

/// `/search.FORMAT?q=QUERY`: the newest results as a feed a reader can subscribe to.
async fn feed(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    format: Format,
) -> Response {
    let q = params
        .get("q")
        .map(|q| q.trim().to_string())
        .unwrap_or_default();
    if q.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "bad query: give one as ?q=QUERY (the topic query language)\n",
        )
            .into_response();
    }
    let hits = match run(&state, q.clone(), None).await {
        Ok(hits) => hits,
        Err(f) => {
            let (code, message) = failure(f);
            return (code, format!("{message}\n")).into_response();
        }
    };
    let config = state.config();
    let site = Site::new(&config);
    match crate::publish::render(&Channel::of_search(&q), &hits.articles, format, &site) {
        Ok(rendered) => respond(
            &Served::new(rendered, state.live.get().max_age, None),
            &headers,
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
