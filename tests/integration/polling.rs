//! Polite polling: conditional GET with validators echoed byte for byte and refreshed one by one.

use crate::support::{FixtureServer, Gazette, Reply, fixture, source};

#[test]
fn validators_are_echoed_exactly_and_a_304_skips_parsing_and_storing() {
    let server = FixtureServer::start();
    let lm = "Wed, 04 May 2016 07:00:36 GMT";
    server.sequence(
        "/feed.rss",
        vec![
            Reply::ok("application/rss+xml", fixture("same-story.rss"))
                .header("etag", "W/\"abc 1\"")
                .header("last-modified", lm),
            // a changed ETag with an unchanged Last-Modified (Miniflux #2675)
            Reply::status(304).header("etag", "\"def\""),
            Reply::status(304),
        ],
    );
    let home = Gazette::new(&source("wire", &server.url("/feed.rss"), ""));
    let first = home.run(&["poll"]);
    assert!(first.stdout.contains("wire: 2 new"), "{}", first.stdout);
    let before = home.run(&["articles", "--json"]).stdout;

    let second = home.run(&["poll"]);
    assert!(
        second.stdout.contains("wire: not modified (304"),
        "{}",
        second.stdout
    );
    let third = home.run(&["poll"]);
    assert!(
        third.stdout.contains("wire: not modified (304"),
        "{}",
        third.stdout
    );
    assert_eq!(
        home.run(&["articles", "--json"]).stdout,
        before,
        "a 304 changes no article"
    );

    let requests = server.requests("/feed.rss");
    assert_eq!(requests.len(), 3);
    assert!(
        !requests[0].contains_key("if-none-match")
            && !requests[0].contains_key("if-modified-since")
    );
    assert_eq!(
        requests[1].get("if-none-match").map(String::as_str),
        Some("W/\"abc 1\""),
        "echoed byte for byte"
    );
    assert_eq!(
        requests[1].get("if-modified-since").map(String::as_str),
        Some(lm)
    );
    assert_eq!(
        requests[2].get("if-none-match").map(String::as_str),
        Some("\"def\""),
        "the new ETag was stored"
    );
    assert_eq!(
        requests[2].get("if-modified-since").map(String::as_str),
        Some(lm),
        "the unchanged one was kept"
    );
}

#[test]
fn validators_are_not_sent_to_a_different_url() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")).header("etag", "\"a\""),
    );
    server.route(
        "/b.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("wire", &server.url("/a.rss"), ""));
    assert_eq!(home.run(&["poll"]).code, 0);
    // the user points the source at another URL
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    std::fs::write(home.config_path(), config.replace("/a.rss", "/b.rss")).expect("edit");
    assert_eq!(home.run(&["poll"]).code, 0);
    assert!(!server.requests("/b.rss")[0].contains_key("if-none-match"));
}
