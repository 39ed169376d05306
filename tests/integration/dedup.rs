//! Deduplication end to end: which entries of which sources end up as one article.

use crate::support::{FixtureServer, Gazette, Reply, source};
use serde_json::Value;

fn rss(build_date: &str, items: &[(&str, &str, &str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, title, link, date)| {
            format!(
                "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate><description>Figures for {guid}.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Markets</title><link>http://markets.example/</link><description>d</description><lastBuildDate>{build_date}</lastBuildDate>{items}</channel></rss>"
    )
}

/// Regression: one feed carrying two entries with different guids and the same normalized
/// title (a daily "Sector Update: Consumer", once with `<em>` markup) became one article that
/// listed one link; the other guid belonged to no article, and every later poll reported both
/// "updated" and rewrote the article, forever. Within one source two guids are two entries.
#[test]
fn same_title_twice_in_one_feed_flip_flopped_forever() {
    let server = FixtureServer::start();
    let items = [
        (
            "su-1",
            "Sector Update: Consumer",
            "http://markets.example/su-1",
            "Mon, 07 Dec 2026 08:00:00 GMT",
        ),
        (
            "su-2",
            "Sector Update: &lt;em&gt;Consumer&lt;/em&gt;",
            "http://markets.example/su-2",
            "Mon, 07 Dec 2026 09:00:00 GMT",
        ),
    ];
    server.route(
        "/markets.rss",
        Reply::ok(
            "application/rss+xml",
            rss("Mon, 07 Dec 2026 09:00:00 GMT", &items),
        ),
    );
    let home = Gazette::new(&source("markets", &server.url("/markets.rss"), ""));
    let first = home.run(&["poll"]);
    assert!(
        first.stdout.contains("2 new, 0 duplicate, 0 updated"),
        "{}{}",
        first.stdout,
        first.stderr
    );
    let articles = home
        .run(&["articles", "--json", "--limit", "10"])
        .json_lines();
    let mut links: Vec<String> = articles
        .iter()
        .flat_map(|a| a["links"].as_array().cloned().unwrap_or_default())
        .map(|l| {
            format!(
                "{}={}",
                l["guid"].as_str().unwrap_or(""),
                l["url"].as_str().unwrap_or("")
            )
        })
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            "su-1=http://markets.example/su-1",
            "su-2=http://markets.example/su-2"
        ],
        "each entry its own article with its own link: {articles:?}"
    );
    // the same entries in a rebuilt document: nothing changes, and nothing is rewritten
    for build in [
        "Mon, 07 Dec 2026 10:00:00 GMT",
        "Mon, 07 Dec 2026 11:00:00 GMT",
    ] {
        server.route(
            "/markets.rss",
            Reply::ok("application/rss+xml", rss(build, &items)),
        );
        let again = home.run(&["poll"]);
        assert!(
            again
                .stdout
                .contains("0 new, 0 duplicate, 0 updated, 2 unchanged"),
            "{}{}",
            again.stdout,
            again.stderr
        );
    }
    let after: Vec<Value> = home
        .run(&["articles", "--json", "--limit", "10"])
        .json_lines();
    assert_eq!(after.len(), 2, "{after:?}");
}
