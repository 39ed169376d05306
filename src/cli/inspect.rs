//! `gazette inspect`: how gazette reads one document (a file or a URL), shown for people or as
//! JSON, without storing anything.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use serde_json::json;
use url::Url;

use super::AsArg;
use super::commands::runtime;
use crate::config;
use crate::fetch::{Fetcher, Limits};
use crate::poll::{Document, ReadAs, Reader, Reading, read_as as read_as_document};

pub(super) fn inspect(
    config_path: &Path,
    target: &str,
    base: Option<&str>,
    content_type: Option<&str>,
    timezone: Option<&str>,
    read_as: Option<AsArg>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let Ok(tz) = timezone.map(str::parse::<Tz>).transpose() else {
        eprintln!(
            "error: --timezone: unknown time zone {:?} (use an IANA name such as \"Asia/Shanghai\")",
            timezone.unwrap_or_default()
        );
        return Ok(ExitCode::from(2));
    };
    let mut base_url = match base.map(Url::parse) {
        None => None,
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => {
            eprintln!(
                "error: --url: invalid URL {:?}: {e}",
                base.unwrap_or_default()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let is_url = target.starts_with("http://") || target.starts_with("https://");
    let (body, mut ct) = if is_url {
        let url = Url::parse(target).with_context(|| format!("invalid URL {target:?}"))?;
        // The config's polling limits when there is a config; the defaults otherwise.
        let polling = config::load(config_path)
            .map(|c| c.polling)
            .or_else(|_| config::parse("", Path::new("feeds.toml")).map(|c| c.polling))?;
        let fetcher = Fetcher::new(&polling.user_agent)?;
        let limits = Limits {
            timeout: polling.timeout,
            max_body: polling.max_body,
            private_redirects: false,
        };
        let fetched = runtime()?.block_on(fetcher.get(&url, limits))?;
        base_url.get_or_insert(fetched.url);
        (fetched.body, fetched.content_type)
    } else {
        let bytes = std::fs::read(target).with_context(|| format!("cannot read {target}"))?;
        (bytes, None)
    };
    if content_type.is_some() {
        ct = content_type.map(str::to_string);
    }
    let now = Utc::now();
    let how = read_as.map(|a| match a {
        AsArg::Feed => ReadAs::Feed,
        AsArg::Article => ReadAs::Article,
        AsArg::List => ReadAs::List,
    });
    let reader = Reader {
        source: "inspect",
        tz,
        now,
        known: None,
    };
    let doc = match read_as_document(&body, ct.as_deref(), base_url.as_ref(), reader, how) {
        Ok(d) => d,
        Err(e) => return Err(anyhow::anyhow!("reading {target}: {e}")),
    };
    let mut out = std::io::stdout().lock();
    match (&doc, as_json) {
        (Document::Feed(r), true) => writeln!(out, "{}", inspect_json(r, base_url.as_ref()))?,
        (Document::Feed(r), false) => print_reading(&mut out, r, target)?,
        (
            Document::Article {
                decoded,
                page,
                candidate,
            },
            true,
        ) => {
            let mut entry = candidate
                .as_ref()
                .map(candidate_json)
                .unwrap_or_else(|| json!({}));
            if let Some(obj) = entry.as_object_mut() {
                obj.insert("image".into(), json!(page.image));
                obj.insert("canonical_url".into(), json!(page.canonical_url));
                obj.insert("date_method".into(), json!(page.date_method));
                if page.date_method.is_none() {
                    // no date: where gazette looked, so a source's pages can be checked by hand
                    obj.insert("date_looked_at".into(), json!(crate::extract::DATE_PLACES));
                }
            }
            let doc = json!({
                "kind": "article",
                "url": base_url.as_ref().map(Url::as_str),
                "encoding": decoded.encoding,
                "entries": [entry],
            });
            writeln!(out, "{doc}")?;
        }
        (
            Document::Article {
                decoded,
                page,
                candidate,
            },
            false,
        ) => {
            writeln!(
                out,
                "{target}: article page, {} ({})",
                decoded.encoding, decoded.decided_by
            )?;
            match candidate {
                Some(c) => {
                    writeln!(out, "title: {}", c.title)?;
                    writeln!(
                        out,
                        "published: {} ({})",
                        c.published.format("%Y-%m-%dT%H:%M:%SZ"),
                        page.date_method.clone().unwrap_or_else(|| format!(
                            "no date found in {}: first seen",
                            crate::extract::DATE_PLACES.join(", ")
                        ))
                    )?;
                    if let Some(a) = &c.author {
                        writeln!(out, "author: {a}")?;
                    }
                    if let Some(u) = &page.canonical_url {
                        writeln!(out, "canonical: {u}")?;
                    }
                    writeln!(out, "text: {} chars\n\n{}", c.text.chars().count(), c.text)?;
                }
                None => writeln!(out, "no article found on the page")?,
            }
        }
        (
            Document::List {
                decoded,
                links,
                feeds,
            },
            true,
        ) => {
            let doc = json!({
                "kind": "list",
                "url": base_url.as_ref().map(Url::as_str),
                "encoding": decoded.encoding,
                "feeds": feeds,
                "links": links,
            });
            writeln!(out, "{doc}")?;
        }
        (
            Document::List {
                decoded,
                links,
                feeds,
            },
            false,
        ) => {
            writeln!(
                out,
                "{target}: list page, {} ({})",
                decoded.encoding, decoded.decided_by
            )?;
            for f in feeds {
                writeln!(out, "advertises feed: {f}")?;
            }
            writeln!(out, "article links: {}", links.len())?;
            for l in links {
                writeln!(out, "  {}  {}", l.url, l.title)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An entry as `inspect --json` shows it: the `articles --json` fields that exist before
/// archiving, plus the entry's own `guid`, `updated` and `dedup_key`.
fn candidate_json(c: &crate::normalize::Candidate) -> serde_json::Value {
    json!({
        "title": c.title,
        "url": c.url,
        "published": c.published,
        "published_local": super::commands::published_local(c.published, c.published_local),
        "date_source": c.date_source.as_str(),
        "guid": c.guid,
        "updated": c.updated,
        "author": c.author,
        "language": c.language,
        "summary": c.summary,
        "text": c.text,
        "html": c.html,
        "categories": c.categories,
        "enclosures": c.enclosures,
        "image": c.image,
        "dedup_key": c.dedup_key(),
        "limited": c.limited,
    })
}

fn inspect_json(r: &Reading, url: Option<&Url>) -> serde_json::Value {
    let m = &r.feed.meta;
    let entries: Vec<serde_json::Value> = r.candidates.iter().map(candidate_json).collect();
    json!({
        "kind": "feed",
        "url": url.map(Url::as_str),
        "encoding": r.decoded.encoding,
        "format": m.format,
        "repairs": r.feed.repairs,
        "feed": {
            "title": m.title,
            "link": m.link,
            "description": m.description,
            "language": m.language,
            "updated": m.updated,
            "author": m.author,
            "image": m.image,
        },
        "items_in_document": r.feed.items_in_document,
        "skipped": r.feed.skipped,
        "warning": r.warning(),
        "entries": entries,
    })
}

fn print_reading(out: &mut impl Write, r: &Reading, target: &str) -> std::io::Result<()> {
    let m = &r.feed.meta;
    writeln!(
        out,
        "{target}: {} feed, {} ({})",
        m.format, r.decoded.encoding, r.decoded.decided_by
    )?;
    writeln!(out, "title: {}", m.title.as_deref().unwrap_or("(none)"))?;
    if let Some(link) = &m.link {
        writeln!(out, "link: {link}")?;
    }
    if !r.feed.repairs.is_empty() {
        writeln!(out, "repaired: {}", r.feed.repairs.join("; "))?;
    }
    writeln!(out, "entries: {}", r.candidates.len())?;
    for s in &r.feed.skipped {
        writeln!(out, "skipped: entry {} ({})", s.index + 1, s.reason)?;
    }
    if let Some(w) = r.warning() {
        writeln!(out, "warning: {w}")?;
    }
    for c in &r.candidates {
        writeln!(out)?;
        writeln!(out, "  {}", c.title)?;
        writeln!(
            out,
            "    published {} ({})",
            c.published.format("%Y-%m-%dT%H:%M:%SZ"),
            c.date_source.as_str()
        )?;
        if !c.url.is_empty() {
            writeln!(out, "    url {}", c.url)?;
        }
        if let Some(g) = &c.guid {
            writeln!(out, "    guid {g}")?;
        }
        if let Some(a) = &c.author {
            writeln!(out, "    author {a}")?;
        }
        writeln!(out, "    dedup {}", c.dedup_key())?;
        writeln!(out, "    text {} chars", c.text.chars().count())?;
    }
    Ok(())
}
