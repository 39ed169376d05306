//! `/topics/{id}/archive/{n}.atom|.rss|.json` and the same under `/sources/`: the archive
//! documents of a feed's history (RFC 5005 §4, see `publish::history`). A full one never
//! changes, so it is served with a year's `max-age` and `immutable` (RFC 8246); the newest,
//! still filling, like the feed itself. Rendered on demand: they are read rarely, by readers
//! catching up.

use super::*;
use crate::publish::{Doc, render_history};

/// A year: a full archive document never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub(super) async fn topic_archive(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    archive_document(state, ChannelKind::Topic, id, file, &headers).await
}

pub(super) async fn source_archive(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    archive_document(state, ChannelKind::Source, id, file, &headers).await
}

async fn archive_document(
    state: Arc<AppState>,
    kind: ChannelKind,
    id: String,
    file: String,
    headers: &HeaderMap,
) -> Response {
    let Some(channel) = Channel::of(&state.config(), kind, &id) else {
        return (StatusCode::NOT_FOUND, format!("no feed {id:?}\n")).into_response();
    };
    let Some((n, format)) = file.rsplit_once('.').and_then(|(n, ext)| {
        Some((
            n.parse::<u64>().ok().filter(|n| *n >= 1)?,
            Format::from_ext(ext)?,
        ))
    }) else {
        return (
            StatusCode::NOT_FOUND,
            format!(
                "no archive document {file:?}: use /{}/archive/N.rss, .atom or .json\n",
                channel.path()
            ),
        )
            .into_response();
    };
    let st = Arc::clone(&state);
    let rendered = blocking(move || {
        render_history(&st.archive, &st.config(), &channel, Doc::Archive(n), format)
    })
    .await;
    let doc = match rendered {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                format!("the feed {id:?} has no archive document {n}\n"),
            )
                .into_response();
        }
        Err(response) => return response,
    };
    let mut served = Served::new(doc.rendered, state.live.get().max_age, None);
    if doc.immutable {
        served.cache_control = Some(HeaderValue::from_static(IMMUTABLE));
    }
    respond(&served, headers)
}
