//! A feed's whole history (issue 22, RFC 5005 "Feed Paging and Archiving"): following
//! `prev-archive` from a topic's or a source's feed reaches every item it ever held, once;
//! full archive documents never change when new articles arrive.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, HttpResponse, Reply, http_get, source};

/// An RSS feed of items `1..=n` (item `k` published `k` hours after midnight), `edited`
/// ones with another description.
fn wire(n: u32, edited: &[u32]) -> String {
    let items: String = (1..=n)
        .rev()
        .map(|k| {
            let text = if edited.contains(&k) {
                format!("Story {k}, corrected: the park opens in June.")
            } else {
                format!("Story {k} about the science park.")
            };
            format!(
                "<item><title>Zhongguancun story {k}</title>\
                 <link>http://wire.example/{k}.html</link><guid>wire-{k}</guid>\
                 <pubDate>Mon, 02 Nov 2026 {k:02}:00:00 +0000</pubDate>\
                 <description>{text}</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>\
         <link>http://wire.example/</link><description>d</description>{items}</channel></rss>"
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One document: its item titles, its `prev-archive` link, whether it says it is an archive
/// document, and its `current` link.
struct Document {
    titles: Vec<String>,
    prev: Option<String>,
    archive: bool,
    current: Option<String>,
}

/// The `href` of the first `<link … rel="REL" …>` (Atom, and `atom:link` in RSS).
fn link_of(xml: &str, rel: &str) -> Option<String> {
    xml.split('<')
        .filter(|tag| tag.starts_with("link ") || tag.starts_with("atom:link "))
        .find(|tag| tag.contains(&format!("rel=\"{rel}\"")))
        .and_then(|tag| tag.split("href=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
}

fn document(format: &str, body: &[u8]) -> Document {
    if format == "json" {
        let doc: serde_json::Value = serde_json::from_slice(body).expect("json");
        let titles = doc["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["title"].as_str().unwrap_or_default().to_string())
            .collect();
        let prev = doc["next_url"].as_str().map(str::to_string);
        assert_eq!(
            doc["_gazette"]["prev_archive"].as_str(),
            prev.as_deref(),
            "{doc}"
        );
        return Document {
            titles,
            prev,
            archive: doc["_gazette"]["archive"] == true,
            current: doc["_gazette"]["current"].as_str().map(str::to_string),
        };
    }
    let feed = feed_rs::parser::parse(body).expect("a feed");
    let xml = String::from_utf8_lossy(body);
    Document {
        titles: feed
            .entries
            .iter()
            .map(|e| {
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default()
            })
            .collect(),
        prev: link_of(&xml, "prev-archive"),
        archive: xml.contains("<fh:archive")
            && xml.contains("xmlns:fh=\"http://purl.org/syndication/history/1.0\""),
        current: link_of(&xml, "current"),
    }
}

/// Follows `prev-archive` from `feed` (a path), returning every document's path and what it
/// holds, subscription document first.
fn walk(addr: std::net::SocketAddr, feed: &str, format: &str) -> Vec<(String, Document)> {
    let mut out = Vec::new();
    let mut path = Some(format!("{feed}.{format}"));
    while let Some(p) = path {
        let r = http_get(addr, &p, &[]);
        assert_eq!(r.status, 200, "{p}");
        let doc = document(format, &r.body);
        assert_eq!(
            doc.archive,
            !out.is_empty(),
            "{p}: fh:archive only in archives"
        );
        path = doc.prev.as_ref().map(|u| {
            let at = u.find("/topics/").or_else(|| u.find("/sources/"));
            u[at.expect("a feed path")..].to_string()
        });
        assert!(out.len() < 50, "a prev-archive loop");
        out.push((p, doc));
    }
    out
}

/// How many times each title shows over a whole walk.
fn tally(docs: &[(String, Document)]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for (_, d) in docs {
        for t in &d.titles {
            *seen.entry(t.clone()).or_default() += 1;
        }
    }
    seen
}

fn once_each(n: u32) -> BTreeMap<String, usize> {
    (1..=n)
        .map(|k| (format!("Zhongguancun story {k}"), 1))
        .collect()
}

#[test]
fn following_prev_archive_visits_every_item_once_and_full_archives_never_change() {
    let server = FixtureServer::start();
    server.route("/wire.rss", Reply::ok("application/rss+xml", wire(7, &[])));
    let home = Gazette::new(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\narchive_page_size = 2\n\n{}\
         [[topic]]\nid = \"zgc\"\ntitle = \"Zhongguancun\"\nquery = 'zhongguancun'\nlimit = 3\n",
        source(
            "wire",
            &server.url("/wire.rss"),
            "interval = \"1s\"\nlimit = 3"
        ),
    ));
    let daemon = home.start();
    let addr = daemon.addr;
    let feeds = ["/topics/zgc", "/sources/wire"];
    let formats = ["atom", "rss", "json"];

    // 7 arrivals, a window of 3, pages of 2: the feed holds 5..7, archives 1..2 and 3..4
    wait_until("seven items along prev-archive", || {
        tally(&walk(addr, "/topics/zgc", "json")) == once_each(7)
    });
    let mut full: Vec<(String, HttpResponse)> = Vec::new();
    for feed in feeds {
        for format in formats {
            let docs = walk(addr, feed, format);
            assert_eq!(tally(&docs), once_each(7), "{feed}.{format}");
            let paths: Vec<&str> = docs.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(
                paths,
                [
                    format!("{feed}.{format}"),
                    format!("{feed}/archive/2.{format}"),
                    format!("{feed}/archive/1.{format}"),
                ],
                "{feed}.{format}"
            );
            assert_eq!(
                docs[0].1.titles.len(),
                3,
                "the feed holds its newest `limit`"
            );
            for (path, doc) in &docs[1..] {
                assert!(
                    doc.current
                        .as_deref()
                        .is_some_and(|c| c.ends_with(&format!("{feed}.{format}"))),
                    "{path} links the feed as current"
                );
                let r = http_get(addr, path, &[]);
                assert_eq!(
                    r.headers.get("cache-control").map(String::as_str),
                    Some("public, max-age=31536000, immutable"),
                    "{path} is full"
                );
                full.push((path.clone(), r));
            }
        }
    }
    // no such document
    assert_eq!(
        http_get(addr, "/topics/zgc/archive/3.atom", &[]).status,
        404
    );
    assert_eq!(
        http_get(addr, "/topics/zgc/archive/0.atom", &[]).status,
        404
    );
    assert_eq!(
        http_get(addr, "/topics/nope/archive/1.atom", &[]).status,
        404
    );

    // three more: the old archive documents stay byte for byte; a new partial one appears
    server.route("/wire.rss", Reply::ok("application/rss+xml", wire(10, &[])));
    wait_until("ten items along prev-archive", || {
        feeds
            .iter()
            .all(|f| tally(&walk(addr, f, "json")) == once_each(10))
    });
    for feed in feeds {
        for format in formats {
            assert_eq!(
                tally(&walk(addr, feed, format)),
                once_each(10),
                "{feed}.{format}"
            );
        }
    }
    for (path, before) in &full {
        let now = http_get(addr, path, &[]);
        assert_eq!(now.body, before.body, "{path} changed");
        assert_eq!(
            now.headers.get("etag"),
            before.headers.get("etag"),
            "{path}"
        );
        let etag = before.headers.get("etag").expect("etag");
        assert_eq!(
            http_get(addr, path, &[("If-None-Match", etag)]).status,
            304,
            "{path}"
        );
    }
    // 10 arrivals: 8..10 in the feed, 1..2, 3..4, 5..6 full, 7 in a partial document
    let partial = http_get(addr, "/topics/zgc/archive/4.atom", &[]);
    assert_eq!(partial.status, 200);
    assert_ne!(
        partial.headers.get("cache-control").map(String::as_str),
        Some("public, max-age=31536000, immutable"),
        "a partial document still changes"
    );

    // story 1, archived long ago, is corrected: it shows again in the feed, and stays where
    // it was archived
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", wire(10, &[1])),
    );
    wait_until("the corrected story in the feed", || {
        walk(addr, "/topics/zgc", "json")[0]
            .1
            .titles
            .contains(&"Zhongguancun story 1".to_string())
    });
    for feed in feeds {
        for format in formats {
            let docs = walk(addr, feed, format);
            let mut want = once_each(10);
            want.insert("Zhongguancun story 1".into(), 2);
            assert_eq!(tally(&docs), want, "{feed}.{format}");
            assert!(
                docs[0]
                    .1
                    .titles
                    .contains(&"Zhongguancun story 1".to_string()),
                "{feed}.{format}: the change is in the feed"
            );
            assert_eq!(docs[0].1.titles.len(), 3, "{feed}.{format}");
        }
    }
}
