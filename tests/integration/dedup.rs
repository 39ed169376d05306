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

/// Wire copy retitled by the sites that carry it: markers, edition numbers, a trailing "(2)" or
/// ellipsis, the publisher's name after the title, CJK punctuation. Exactly these entries end
/// up together.
#[test]
fn retitled_wire_copies_are_one_article_each() {
    let server = FixtureServer::start();
    let feed = |title: &str, items: &[(&str, &str, &str, &str)]| {
        rss("Mon, 07 Dec 2026 12:00:00 GMT", items)
            .replace("<title>Markets</title>", &format!("<title>{title}</title>"))
    };
    server.route(
        "/wire.rss",
        Reply::ok(
            "application/rss+xml",
            feed(
                "Reuters: Business News",
                &[
                    (
                        "w1",
                        "UPDATE 1-Oil falls as stocks rise",
                        "http://wire.example/oil",
                        "Mon, 07 Dec 2026 08:00:00 GMT",
                    ),
                    (
                        "w2",
                        "REFILE-Chip maker beats forecasts (2)",
                        "http://wire.example/chip",
                        "Mon, 07 Dec 2026 08:10:00 GMT",
                    ),
                    (
                        "w3",
                        "中关村成为知识产权服务示范区",
                        "http://wire.example/zgc",
                        "Mon, 07 Dec 2026 08:20:00 GMT",
                    ),
                    (
                        "w4",
                        "Poll-tax protest grows",
                        "http://wire.example/poll",
                        "Mon, 07 Dec 2026 08:30:00 GMT",
                    ),
                ],
            ),
        ),
    );
    server.route(
        "/portal.rss",
        Reply::ok(
            "application/rss+xml",
            feed(
                "Yahoo News",
                &[
                    (
                        "p1",
                        "Oil falls as stocks rise - Reuters",
                        "http://portal.example/a",
                        "Mon, 07 Dec 2026 08:05:00 GMT",
                    ),
                    (
                        "p2",
                        "Chip maker beats forecasts | Yahoo News",
                        "http://portal.example/b",
                        "Mon, 07 Dec 2026 08:15:00 GMT",
                    ),
                    (
                        "p3",
                        "中关村成为知识产权服务示范区！",
                        "http://portal.example/c",
                        "Mon, 07 Dec 2026 08:25:00 GMT",
                    ),
                    (
                        "p4",
                        "Tax protest grows",
                        "http://portal.example/d",
                        "Mon, 07 Dec 2026 08:35:00 GMT",
                    ),
                ],
            ),
        ),
    );
    server.route(
        "/daily.rss",
        Reply::ok(
            "application/rss+xml",
            feed(
                "Markets Daily",
                &[
                    (
                        "d1",
                        "BREAKING: Oil falls as stocks rise…",
                        "http://daily.example/1",
                        "Mon, 07 Dec 2026 08:07:00 GMT",
                    ),
                    (
                        "d2",
                        "Chip maker beats forecasts - Markets Daily",
                        "http://daily.example/2",
                        "Mon, 07 Dec 2026 08:17:00 GMT",
                    ),
                ],
            ),
        ),
    );
    let home = Gazette::new(&format!(
        "{}{}{}",
        source("wire", &server.url("/wire.rss"), ""),
        source("portal", &server.url("/portal.rss"), ""),
        source("daily", &server.url("/daily.rss"), ""),
    ));
    let run = home.run(&["poll"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let articles = home
        .run(&["articles", "--json", "--limit", "100"])
        .json_lines();
    // every merge says how it was made, and every source keeps its own title
    let oil = articles
        .iter()
        .find(|a| {
            a["sources"].as_array().is_some_and(|s| s.len() == 3)
                && a["title"].as_str().is_some_and(|t| t.contains("Oil"))
        })
        .expect("the oil story");
    let link = |source: &str| {
        oil["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["source"] == source))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(link("wire")["title"], "UPDATE 1-Oil falls as stocks rise");
    assert!(
        link("wire").get("match").is_none(),
        "wire created it: {oil}"
    );
    assert_eq!(
        link("portal")["title"],
        "Oil falls as stocks rise - Reuters"
    );
    assert_eq!(
        link("portal")["match"],
        serde_json::json!({"rule": "exact", "score": 1.0, "with": "wire"}),
        "{oil}"
    );
    let explained = home.run(&["explain", oil["id"].as_str().unwrap_or_default()]);
    assert!(
        explained.stdout.contains("wire: \"UPDATE 1-Oil falls as stocks rise\": created the article")
            && explained.stdout.contains("portal: \"Oil falls as stocks rise - Reuters\": joined by the exact rule (score 1.00) with wire's entry"),
        "{}",
        explained.stdout
    );
    let mut groups: Vec<Vec<String>> = articles
        .iter()
        .map(|a| {
            let mut guids: Vec<String> = a["links"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|l| l["guid"].as_str().unwrap_or_default().to_string())
                .collect();
            guids.sort();
            guids
        })
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        [
            vec!["d1", "p1", "w1"],
            vec!["d2", "p2", "w2"],
            vec!["p3", "w3"],
            vec!["p4"],
            vec!["w4"],
        ],
        "{}",
        run.stdout
    );
}

/// The exact tier on people-scored headline pairs (`../shared/corpora/dedup/stsb-headlines.tsv`:
/// 2,499 pairs scored 0-5; >= 4 is the same story in other words, < 3 is not): how many
/// same-story pairs the folded title and the story key join, and how many different-story pairs
/// they join by mistake. The story key must never join more different stories than folding.
#[test]
fn stsb_headlines_exact_tier() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora/dedup/stsb-headlines.tsv");
    let Ok(tsv) = std::fs::read_to_string(&path) else {
        eprintln!(
            "SKIP stsb_headlines_exact_tier: {} is absent",
            path.display()
        );
        return;
    };
    let (mut same, mut different) = (0, 0);
    let (mut fold_same, mut fold_wrong, mut key_same, mut key_wrong) = (0, 0, 0, 0);
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(score), Some(a), Some(b)) = (
            f.get(3).and_then(|s| s.parse::<f64>().ok()),
            f.get(4),
            f.get(5),
        ) else {
            continue;
        };
        let folded = gazette::normalize::fold_title(a) == gazette::normalize::fold_title(b);
        let keyed =
            gazette::normalize::story_title(a, &[]) == gazette::normalize::story_title(b, &[]);
        if score >= 4.0 {
            same += 1;
            fold_same += usize::from(folded);
            key_same += usize::from(keyed);
        } else if score < 3.0 {
            different += 1;
            fold_wrong += usize::from(folded);
            key_wrong += usize::from(keyed);
        }
    }
    eprintln!(
        "stsb exact tier: {same} same-story pairs, {different} different-story pairs; folded titles join {fold_same} same and {fold_wrong} different; story keys join {key_same} same and {key_wrong} different"
    );
    assert!(same > 0 && different > 0);
    assert!(
        key_same >= fold_same,
        "the story key joins what folding joined"
    );
    assert!(key_wrong <= fold_wrong, "and no more different stories");
}
