//! The archive on the web (issue 22): what the daemon serves beyond topic feeds.

use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

fn wait_until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn items(body: &[u8]) -> Vec<(String, String)> {
    let feed = feed_rs::parser::parse(body).expect("a feed");
    feed.entries
        .iter()
        .map(|e| {
            (
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default(),
                e.links.first().map(|l| l.href.clone()).unwrap_or_default(),
            )
        })
        .collect()
}

/// `/sources/{id}.rss|.atom|.json`: one source's articles, crediting it first (its own link),
/// its `limit`, validators and `304`, and a render cache that a poll of the source invalidates.
#[test]
fn each_source_has_its_own_feed_with_validators_limit_and_a_fresh_cache() {
    let server = FixtureServer::start();
    let v1 = fixture("same-story.rss");
    server.route("/wire.rss", Reply::ok("application/rss+xml", v1.clone()));
    server.route(
        "/daily.json",
        Reply::ok("application/feed+json", fixture("same-story.json")),
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source(
            "wire",
            &server.url("/wire.rss"),
            "interval = \"1s\"\ntimezone = \"Asia/Shanghai\""
        ),
        source(
            "daily",
            &server.url("/daily.json"),
            "interval = \"1s\"\nname = \"Innovation Daily\"\nlimit = 1"
        ),
    ));
    let daemon = home.start();
    let get = |path: &str, headers: &[(&str, &str)]| http_get(daemon.addr, path, headers);
    wait_until("both sources stored", Duration::from_secs(30), || {
        let (wire, daily) = (
            get("/sources/wire.rss", &[]),
            get("/sources/daily.atom", &[]),
        );
        wire.status == 200
            && daily.status == 200
            && items(&wire.body).len() == 2
            && !items(&daily.body).is_empty()
    });

    for format in ["rss", "atom", "json"] {
        let r = get(&format!("/sources/wire.{format}"), &[]);
        assert_eq!(r.status, 200, "{format}");
        let got = items(&r.body);
        assert_eq!(got.len(), 2, "{format}: {got:?}");
        // the story daily carried too is credited to wire in wire's own feed
        assert!(
            got.iter()
                .any(|(_, link)| link == "http://wire.example/2016/05/04/zgc.html?id=1001"),
            "{format}: {got:?}"
        );
    }
    // daily: limit = 1, its own link for the shared story
    let daily = get("/sources/daily.json", &[]);
    let doc: serde_json::Value = serde_json::from_slice(&daily.body).expect("json");
    assert_eq!(doc["items"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["title"], "Innovation Daily");
    assert!(
        doc["feed_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/sources/daily.json")),
        "{doc}"
    );
    let atom = String::from_utf8_lossy(&get("/sources/daily.atom", &[]).body).into_owned();
    assert!(atom.contains("<id>urn:gazette:source:daily</id>"), "{atom}");

    // validators, 304, compression
    let first = get("/sources/wire.rss", &[]);
    let etag = first.headers.get("etag").cloned().expect("etag");
    assert!(first.headers.contains_key("last-modified"));
    assert_eq!(
        get("/sources/wire.rss", &[("If-None-Match", &etag)]).status,
        304
    );
    let gz = get("/sources/wire.rss", &[("Accept-Encoding", "gzip")]);
    assert_eq!(
        gz.headers.get("content-encoding").map(String::as_str),
        Some("gzip")
    );

    // unknown sources and formats are 404s
    assert_eq!(get("/sources/nope.rss", &[]).status, 404);
    assert_eq!(get("/sources/wire.html", &[]).status, 404);

    // the list of gazette's own feeds
    let opml = String::from_utf8_lossy(&get("/sources/feeds.opml", &[]).body).into_owned();
    for id in ["wire", "daily"] {
        assert!(opml.contains(&format!("/sources/{id}.atom")), "{opml}");
    }
    assert!(opml.contains("Innovation Daily"), "{opml}");

    // wire gains an item: the next poll invalidates wire's cached feed
    let v2 = String::from_utf8(v1).expect("utf-8").replace(
        "<item>",
        "<item><title>Haidian adds a patent office</title>\
             <link>http://wire.example/2016/05/06/office.html</link><guid>wire-1003</guid>\
             <pubDate>Fri, 06 May 2016 09:00:00 +0800</pubDate><description>New.</description>\
             </item><item>",
    );
    server.route("/wire.rss", Reply::ok("application/rss+xml", v2));
    wait_until(
        "wire's feed to show the new item",
        Duration::from_secs(30),
        || items(&get("/sources/wire.rss", &[]).body).len() == 3,
    );
    let after = get("/sources/wire.rss", &[("If-None-Match", &etag)]);
    assert_eq!(after.status, 200, "the old ETag no longer matches");
    assert!(
        String::from_utf8_lossy(&after.body).contains("Haidian adds a patent office"),
        "newest first"
    );
}
