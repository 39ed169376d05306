//! Source health as people read it: each configured source's poll state turned into one row
//! (ok / backing off / failing / gone / moved), for `gazette status`, `/status` and
//! `/status.json`, plus the `/status.rss` feed of source events.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::archive::{Archive, ArchiveError};
use crate::config::{Config, Source};
use crate::model::PollState;
use crate::secrets::{redact_str, redact_text};

/// One source's health.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SourceStatus {
    pub id: String,
    pub name: String,
    pub url: String,
    /// "ok", "warning", "backing off", "failing", "gone", "moved", "never polled" or
    /// "disabled".
    pub state: String,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub moved_to: Option<String>,
    /// What the last successful poll found wrong with the document ("warning" state).
    #[serde(default)]
    pub warning: Option<String>,
    pub articles: usize,
    pub articles_7d: usize,
}

/// What a poll state means for a person.
pub fn state_of(source: &Source, state: Option<&PollState>) -> &'static str {
    PollState::health(state, source.url.as_str(), source.enabled).as_str()
}

/// Every configured source's health, in config order, with credentials in URLs redacted (see
/// [`crate::secrets`]): what pages and `gazette status` show.
pub fn sources(
    config: &Config,
    archive: &Archive,
    now: DateTime<Utc>,
) -> Result<Vec<SourceStatus>, ArchiveError> {
    rows(config, archive, now, false)
}

/// [`sources`] with the URLs as configured (`gazette status --show-secrets`, for the local
/// operator only).
pub fn sources_with_secrets(
    config: &Config,
    archive: &Archive,
    now: DateTime<Utc>,
) -> Result<Vec<SourceStatus>, ArchiveError> {
    rows(config, archive, now, true)
}

fn rows(
    config: &Config,
    archive: &Archive,
    now: DateTime<Utc>,
    show_secrets: bool,
) -> Result<Vec<SourceStatus>, ArchiveError> {
    let shown = |url: &str| {
        if show_secrets {
            url.to_string()
        } else {
            redact_str(url)
        }
    };
    let week_ago = now - chrono::Duration::days(7);
    config
        .sources
        .iter()
        .map(|src| {
            let state = archive.poll_state(&src.id)?;
            let (articles, articles_7d) = archive.source_counts(&src.id, week_ago)?;
            let st = state.as_ref();
            Ok(SourceStatus {
                id: src.id.clone(),
                name: src.display_name().to_string(),
                url: shown(src.url.as_str()),
                state: state_of(src, st).to_string(),
                last_attempt: st.and_then(|s| s.last_attempt),
                last_success: st.and_then(|s| s.last_success),
                next_poll: st.and_then(|s| s.next_due).filter(|_| src.enabled),
                consecutive_failures: st.map_or(0, |s| s.consecutive_failures),
                last_status: st.and_then(|s| s.last_status),
                // stored redacted since issue 16; older records may still hold a credential
                last_error: st.and_then(|s| s.last_error.as_deref()).map(|e| {
                    if show_secrets {
                        e.to_string()
                    } else {
                        redact_text(e)
                    }
                }),
                moved_to: st.and_then(|s| s.moved_target(src.url.as_str())).map(shown),
                warning: st
                    .and_then(|s| s.last_warning.clone())
                    .filter(|_| st.is_some_and(|s| s.consecutive_failures == 0)),
                articles,
                articles_7d,
            })
        })
        .collect()
}

/// The `status` table: one line per source.
pub fn table(rows: &[SourceStatus]) -> String {
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    let mut lines = vec![[
        "SOURCE".to_string(),
        "STATE".into(),
        "LAST SUCCESS".into(),
        "NEXT POLL".into(),
        "FAILS".into(),
        "ARTICLES".into(),
        "7D".into(),
        "LAST ERROR".into(),
    ]];
    for r in rows {
        let error = match (&r.moved_to, &r.last_error, &r.warning) {
            (Some(to), _, _) => format!("moved to {to}; update feeds.toml"),
            (None, Some(e), _) => e.clone(),
            (None, None, Some(w)) => format!("warning: {w}"),
            (None, None, None) => String::new(),
        };
        lines.push([
            r.id.clone(),
            r.state.to_string(),
            when(r.last_success),
            when(r.next_poll),
            r.consecutive_failures.to_string(),
            r.articles.to_string(),
            r.articles_7d.to_string(),
            error,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            l.iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 7 {
                        c.clone()
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The operators' feed of source events (`/status.rss`), newest first, with the validators
/// the topic feeds have (a weak ETag, Last-Modified at the newest event) for conditional GET.
pub fn events_rss(
    archive: &Archive,
    base_url: &url::Url,
) -> Result<crate::publish::Rendered, ArchiveError> {
    let events = archive.events(100)?;
    let items: Vec<rss::Item> = events
        .iter()
        .map(|e| {
            let mut item = rss::Item::default();
            item.set_title(format!("{}: {}", e.source, e.kind));
            // RSS readers render a description as HTML: the message is text (it may quote an
            // upstream's headers or body), so it is escaped as HTML before the XML escaping
            // (issue 16, defect 12: `<svg/onload=…>` from a Location header ran in readers)
            item.set_description(html_escape::encode_text(&e.message).into_owned());
            item.set_pub_date(e.at.to_rfc2822());
            item.set_guid(rss::Guid {
                value: format!("{}/{}/{}", e.source, e.kind, e.at.timestamp_millis()),
                permalink: false,
            });
            item.set_link(
                base_url
                    .join("status")
                    .map_or_else(|_| base_url.to_string(), |u| u.to_string()),
            );
            item
        })
        .collect();
    let mut channel = rss::Channel::default();
    channel.set_title("gazette: source health");
    channel.set_link(
        base_url
            .join("status")
            .map_or_else(|_| base_url.to_string(), |u| u.to_string()),
    );
    channel
        .set_description("A new item whenever a source starts failing, recovers, moves or goes.");
    if let Some(e) = events.first() {
        channel.set_last_build_date(e.at.to_rfc2822());
    }
    let mut atom = rss::extension::atom::AtomExtension::default();
    atom.set_links(vec![rss::extension::atom::Link {
        href: base_url
            .join("status.rss")
            .map_or_else(|_| format!("{base_url}status.rss"), |u| u.to_string()),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..rss::extension::atom::Link::default()
    }]);
    channel.set_atom_ext(atom);
    let items_count = items.len();
    channel.set_items(items);
    let body = channel
        .write_to(Vec::new())
        .map_err(|e| ArchiveError::Corrupt {
            key: "events".into(),
            reason: e.to_string(),
        })?;
    let last_modified = events
        .first()
        .and_then(|e| DateTime::from_timestamp(e.at.timestamp(), 0))
        .unwrap_or(DateTime::UNIX_EPOCH);
    Ok(crate::publish::Rendered {
        etag: crate::publish::etag_of(&body),
        body,
        last_modified,
        content_type: crate::publish::Format::Rss.content_type(),
        items: items_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rss_escapes_upstream_text_so_no_markup_reaches_a_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = Archive::open(&dir.path().join("a"), std::time::Duration::from_secs(3600))
            .expect("open");
        let hostile = "redirect to http://x/<svg/onload=alert(1)> refused & \"quoted\"";
        let event = crate::model::SourceEvent {
            at: "2026-01-01T00:00:00Z".parse().expect("time"),
            source: "s".into(),
            kind: crate::model::EventKind::Failing,
            message: hostile.into(),
        };
        archive
            .record_poll("s", &PollState::default(), &[event])
            .expect("record");
        let base = url::Url::parse("http://127.0.0.1/").expect("url");
        let bytes = events_rss(&archive, &base).expect("rss").body;
        let channel = rss::Channel::read_from(&bytes[..]).expect("parses");
        // a self link, as the validator asks of every feed
        assert_eq!(
            channel.atom_ext().map(|a| a.links()[0].href().to_string()),
            Some("http://127.0.0.1/status.rss".to_string())
        );
        let description = channel.items()[0].description().expect("description");
        // what a reader renders as HTML: the text, with no element in it
        assert!(!description.contains('<'), "{description}");
        assert_eq!(
            html_escape::decode_html_entities(description),
            hostile,
            "the message comes back as the same text"
        );
    }

    #[test]
    fn states_from_poll_state() {
        let config = crate::config::parse(
            "[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\n[[source]]\nid = \"off\"\nurl = \"https://b.example/\"\nenabled = false\n",
            std::path::Path::new("feeds.toml"),
        )
        .expect("config");
        let (a, off) = (&config.sources[0], &config.sources[1]);
        let url = Some(a.url.to_string());
        let st = |f: &dyn Fn(&mut PollState)| {
            let mut s = PollState::default();
            f(&mut s);
            s
        };
        let cases = [
            (None, "never polled"),
            (Some(st(&|_| {})), "ok"),
            (
                Some(st(&|s| {
                    s.consecutive_failures = 1;
                    s.last_error_transient = true;
                })),
                "backing off",
            ),
            (
                Some(st(&|s| {
                    s.consecutive_failures = 3;
                    s.last_error_transient = true;
                })),
                "failing",
            ),
            (
                Some(st(&|s| {
                    s.consecutive_failures = 1;
                    s.last_error_transient = false;
                })),
                "failing",
            ),
            (
                Some(st(&|s| {
                    s.gone = true;
                    s.validators_url = url.clone();
                })),
                "gone",
            ),
            (
                Some(st(&|s| {
                    s.gone = true;
                    s.validators_url = Some("https://old.example/".into());
                })),
                "ok",
            ),
            (
                Some(st(&|s| {
                    s.moved_to = Some("https://new.example/".into());
                    s.moved_from = url.clone();
                })),
                "moved",
            ),
        ];
        for (state, want) in cases {
            assert_eq!(state_of(a, state.as_ref()), want, "{state:?}");
        }
        assert_eq!(state_of(off, None), "disabled");
    }
}
