//! Steady state (issue 21): a `200` with the bytes read last time is handled like a `304`, and
//! an entry stored before exactly as the feed has it now is not read again; neither shortcut
//! may leave validators, due times or changed entries behind.

use chrono::{DateTime, Utc};

use crate::support::{FixtureServer, Gazette, Reply, source};

fn item(guid: &str, title: &str, summary: &str, category: &str) -> String {
    format!(
        "<item><title>{title}</title><link>http://wire.example/{guid}.html</link>\
         <guid isPermaLink=\"false\">{guid}</guid><pubDate>Wed, 04 May 2016 15:00:36 +0800</pubDate>\
         <category>{category}</category><description>{summary}</description></item>"
    )
}

fn feed(build: &str, items: &[String]) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>\
         <link>http://wire.example/</link><lastBuildDate>{build}</lastBuildDate>{}</channel></rss>",
        items.concat()
    )
    .into_bytes()
}

fn row(home: &Gazette, id: &str) -> serde_json::Value {
    let run = home.run(&["status", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    doc["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id).cloned())
        .expect("source row")
}

fn time(row: &serde_json::Value, field: &str) -> DateTime<Utc> {
    row[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {row}"))
        .parse()
        .expect("time")
}

/// The bug Miniflux, Feedbin and CommaFeed each had: a shortcut for an unchanged body that
/// skipped storing the response's validators too, so every later request sent stale ones.
#[test]
fn skipping_an_unchanged_body_leaves_no_validator_or_due_time_stale() {
    let server = FixtureServer::start();
    let body = feed(
        "Mon, 07 Dec 2026 10:00:00 GMT",
        &[item("a", "One", "x", "c")],
    );
    let lm = "Wed, 04 May 2016 07:00:36 GMT";
    // a server that honours no validator: a 200 every time, a new ETag every time
    server.sequence(
        "/feed.rss",
        vec![
            Reply::ok("application/rss+xml", body.clone())
                .header("etag", "\"v1\"")
                .header("last-modified", lm),
            Reply::ok("application/rss+xml", body.clone()).header("etag", "\"v2\""),
            Reply::ok("application/rss+xml", body.clone()).header("etag", "\"v3\""),
        ],
    );
    let home = Gazette::new(&source(
        "wire",
        &server.url("/feed.rss"),
        "interval = \"1h\"",
    ));
    let first = home.run(&["poll"]);
    assert!(first.stdout.contains("wire: 1 new"), "{}", first.stdout);
    let articles = home.run(&["articles", "--json"]).stdout;
    let before = row(&home, "wire");

    let second = home.run(&["poll"]);
    assert!(
        second.stdout.contains("wire: unchanged (200"),
        "the same bytes are not read again: {}",
        second.stdout
    );
    assert_eq!(home.run(&["articles", "--json"]).stdout, articles);
    let after = row(&home, "wire");
    assert_eq!(after["state"], "ok");
    assert_eq!(after["last_status"], 200);
    assert!(
        time(&after, "last_success") > time(&before, "last_success"),
        "the poll counts as a success: {before} then {after}"
    );
    assert_eq!(time(&after, "last_success"), time(&after, "last_attempt"));
    // due again one interval (with its jitter) after this poll, not after the first one
    let due_in = (time(&after, "next_poll") - time(&after, "last_attempt")).num_seconds();
    assert!((2700..=4500).contains(&due_in), "due in {due_in} s");

    home.run(&["poll"]);
    let requests = server.requests("/feed.rss");
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].get("if-none-match").map(String::as_str),
        Some("\"v2\""),
        "the second 200's ETag was stored although its body was not read"
    );
    assert!(
        !requests[2].contains_key("if-modified-since"),
        "the second 200 carried no Last-Modified: the first one's no longer applies"
    );
}

/// A feed that gains one item, drops one and edits two (one field each) costs the changed
/// items' work only; every entry whose fields changed is stored, whatever the field.
#[test]
fn an_entry_whose_fields_changed_in_any_way_is_read_again() {
    let server = FixtureServer::start();
    let v1 = feed(
        "Mon, 07 Dec 2026 10:00:00 GMT",
        &[
            item("a", "Alpha opens a lab", "first text", "science"),
            item("b", "Beta wins a prize", "second text", "prizes"),
            item("c", "Gamma builds a bridge", "third text", "works"),
            item("d", "Delta leaves", "fourth text", "people"),
        ],
    );
    // lastBuildDate regenerated; a: summary edited, b: category edited, c: as it was,
    // d: dropped, e: new
    let v2 = feed(
        "Mon, 07 Dec 2026 11:00:00 GMT",
        &[
            item("a", "Alpha opens a lab", "first text, corrected", "science"),
            item("b", "Beta wins a prize", "second text", "awards"),
            item("c", "Gamma builds a bridge", "third text", "works"),
            item("e", "Epsilon arrives", "fifth text", "people"),
        ],
    );
    server.sequence(
        "/feed.rss",
        vec![
            Reply::ok("application/rss+xml", v1),
            Reply::ok("application/rss+xml", v2),
        ],
    );
    let home = Gazette::new(&source("wire", &server.url("/feed.rss"), ""));
    let first = home.run(&["poll"]);
    assert!(
        first
            .stdout
            .contains("wire: 4 new, 0 duplicate, 0 updated, 0 unchanged (4 entries"),
        "{}",
        first.stdout
    );
    let second = home.run(&["poll"]);
    assert!(
        second
            .stdout
            .contains("wire: 1 new, 0 duplicate, 2 updated, 1 unchanged (4 entries"),
        "{}",
        second.stdout
    );
    let third = home.run(&["poll"]);
    assert!(
        third.stdout.contains("wire: unchanged (200"),
        "{}",
        third.stdout
    );
    let run = home.run(&["articles", "--json", "--source", "wire"]);
    let articles: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let by_title = |t: &str| {
        articles
            .iter()
            .find(|a| a["title"] == t)
            .unwrap_or_else(|| panic!("{t} in {}", run.stdout))
            .clone()
    };
    assert_eq!(
        by_title("Alpha opens a lab")["text"],
        "first text, corrected"
    );
    // categories of one story accumulate (merge): the new one arrived
    assert!(
        by_title("Beta wins a prize")["categories"]
            .as_array()
            .is_some_and(|c| c.contains(&serde_json::json!("awards"))),
        "{}",
        run.stdout
    );
    assert_eq!(by_title("Epsilon arrives")["text"], "fifth text");
    assert_eq!(articles.len(), 5, "a dropped entry stays archived");
}

/// A changed setting of the source reads its entries again, unchanged as they are: what a
/// setting changes (here the zone that dates without an offset are read in) must reach them.
#[test]
fn a_changed_source_setting_reads_unchanged_entries_again() {
    let server = FixtureServer::start();
    let body = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wire</title>\
        <item><title>Zone story</title><link>http://wire.example/z.html</link>\
        <pubDate>2016-05-04 15:00:36</pubDate><description>t</description></item>\
        </channel></rss>";
    server.route("/feed.rss", Reply::ok("application/rss+xml", body));
    let home = Gazette::new(&source("wire", &server.url("/feed.rss"), ""));
    assert!(home.run(&["poll"]).stdout.contains("wire: 1 new"));
    let published = |home: &Gazette| {
        let out = home.run(&["articles", "--json"]).stdout;
        let a: serde_json::Value =
            serde_json::from_str(out.lines().next().expect("one article")).expect("json");
        a["published"].as_str().expect("published").to_string()
    };
    assert_eq!(published(&home), "2016-05-04T15:00:36Z");
    assert!(home.run(&["poll"]).stdout.contains("wire: unchanged (200"));

    let config = std::fs::read_to_string(home.config_path()).expect("config");
    let config = config.replacen(
        "[[source]]\nid = \"wire\"",
        "[[source]]\nid = \"wire\"\ntimezone = \"Asia/Shanghai\"",
        1,
    );
    assert!(config.contains("Asia/Shanghai"), "{config}");
    std::fs::write(home.config_path(), config).expect("edit");
    let again = home.run(&["poll"]);
    assert!(
        !again.stdout.contains("unchanged (200") && !again.stdout.contains("1 unchanged"),
        "read again under the new setting: {}",
        again.stdout
    );
}
