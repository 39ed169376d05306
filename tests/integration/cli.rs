//! The ingest half end to end: the real `gazette` binary against real HTTP servers on
//! 127.0.0.1 and real sled archives in temporary directories.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Payload, Reply, fixture, gazette, source};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn same_story_in_rss_atom_and_json_feed_is_one_article() {
    let server = FixtureServer::start();
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route(
        "/haidian.atom",
        Reply::ok(
            "application/atom+xml; charset=utf-8",
            fixture("same-story.atom"),
        ),
    );
    server.route(
        "/daily.json",
        Reply::ok("application/feed+json", fixture("same-story.json")),
    );
    let home = Gazette::new(&format!(
        "{}{}{}",
        source(
            "wire",
            &server.url("/wire.rss"),
            "timezone = \"Asia/Shanghai\""
        ),
        source("haidian", &server.url("/haidian.atom"), ""),
        source("daily", &server.url("/daily.json"), ""),
    ));

    let first = home.run(&["poll"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("total: 3 sources, 3 ok, 0 failed; 4 new, 2 duplicate, 0 updated"),
        "{}",
        first.stdout
    );

    let listed = home.run(&["articles", "--json", "--limit", "100"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let articles = listed.json_lines();
    assert_eq!(articles.len(), 4, "{}", listed.stdout);
    let story: Vec<&Value> = articles
        .iter()
        .filter(|a| s(&a["title"]).to_lowercase().contains("zhongguancun"))
        .collect();
    assert_eq!(
        story.len(),
        1,
        "one article for the story: {}",
        listed.stdout
    );
    let story = story[0];
    let mut sources: Vec<&str> = story["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(s)
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["daily", "haidian", "wire"]);
    assert_eq!(story["links"].as_array().map(Vec::len), Some(3));
    // sources are polled concurrently, so the title is that of whichever carried it first
    assert!(
        [
            "Zhongguancun Becomes IP Service Cluster Demonstration Zone",
            "zhongguancun becomes IP Service Cluster Demonstration Zone",
            "ZHONGGUANCUN BECOMES IP SERVICE CLUSTER DEMONSTRATION ZONE!"
        ]
        .contains(&s(&story["title"])),
        "{}",
        story["title"]
    );
    assert_eq!(
        s(&story["published"]),
        "2016-05-04T07:00:36Z",
        "earliest date wins"
    );
    assert_eq!(s(&story["date_source"]), "entry");
    // the Atom entry has the most complete content, sanitized and with absolute URLs
    assert!(
        s(&story["text"]).contains("223 patent agencies"),
        "{}",
        story["text"]
    );
    assert!(
        s(&story["text"]).contains("\n\n"),
        "paragraphs are separated by blank lines"
    );
    assert!(
        s(&story["html"]).contains("src=\"http://127.0.0.1"),
        "{}",
        story["html"]
    );
    assert!(!s(&story["html"]).contains("onerror"));
    // tracking parameters are gone from the wire link; the daily link too
    let links = story["links"].as_array().expect("links");
    let link_of = |src: &str| {
        links
            .iter()
            .find(|l| s(&l["source"]) == src)
            .map(|l| s(&l["url"]).to_string())
    };
    assert_eq!(
        link_of("wire").as_deref(),
        Some("http://wire.example/2016/05/04/zgc.html?id=1001")
    );
    assert_eq!(
        link_of("daily").as_deref(),
        Some("https://daily.example/zgc")
    );
    for field in ["id", "url", "first_seen", "author", "language", "summary"] {
        assert!(!story[field].is_null(), "field {field} missing: {story}");
    }
    // the script in the wire's second item is gone
    let park = articles
        .iter()
        .find(|a| s(&a["title"]).contains("science park"))
        .expect("park");
    assert!(!s(&park["html"]).contains("script"), "{}", park["html"]);
    assert_eq!(s(&park["text"]), "The park will host 200 start-ups.");

    // A second poll of unchanged feeds changes nothing: regenerated documents (a trailing
    // newline here) with the same entries, whose entries are skipped as unchanged…
    for (path, ct, name) in [
        ("/wire.rss", "application/rss+xml", "same-story.rss"),
        (
            "/haidian.atom",
            "application/atom+xml; charset=utf-8",
            "same-story.atom",
        ),
        ("/daily.json", "application/feed+json", "same-story.json"),
    ] {
        let mut bytes = fixture(name);
        bytes.push(b'\n');
        server.route(path, Reply::ok(ct, bytes));
    }
    let second = home.run(&["poll"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stdout
            .contains("0 new, 0 duplicate, 0 updated, 6 unchanged"),
        "{}",
        second.stdout
    );
    let again = home.run(&["articles", "--json", "--limit", "100"]);
    assert_eq!(
        again.stdout, listed.stdout,
        "a second poll must not change any article"
    );
    // …and the same bytes once more, which are not read at all
    let third = home.run(&["poll"]);
    for id in ["wire", "haidian", "daily"] {
        assert!(
            third.stdout.contains(&format!("{id}: unchanged (200")),
            "{}",
            third.stdout
        );
    }
    let again = home.run(&["articles", "--json", "--limit", "100"]);
    assert_eq!(again.stdout, listed.stdout);

    // --source reads the per-source index
    let wire = home
        .run(&["articles", "--source", "wire", "--json"])
        .json_lines();
    assert_eq!(wire.len(), 2);
    let one = home
        .run(&["articles", "--limit", "1", "--json"])
        .json_lines();
    assert_eq!(one.len(), 1);
    assert_eq!(
        s(&one[0]["published"]),
        "2016-05-05T01:00:00Z",
        "newest first"
    );
}

#[test]
fn gb2312_feed_without_charset_header_is_read_in_shanghai_time() {
    let server = FixtureServer::start();
    server.route("/hd.xml", Reply::ok("text/xml", fixture("seed-gb2312.xml")));
    let home = Gazette::new(&source(
        "haidian",
        &server.url("/hd.xml"),
        "timezone = \"Asia/Shanghai\"",
    ));
    let run = home.run(&["poll"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let articles = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(articles.len(), 2);
    let zh = articles
        .iter()
        .find(|a| s(&a["title"]) == "中关村成为国家知识产权服务业集聚发展示范区")
        .expect("Chinese title decoded");
    assert_eq!(s(&zh["published"]), "2016-05-04T07:00:36Z");
    assert_eq!(s(&zh["language"]), "zh-cn");
    let seed = articles
        .iter()
        .find(|a| s(&a["title"]) == "Zhongguancun Becomes IP Service Cluster Demonstration Zone")
        .expect("seed article");
    assert_eq!(s(&seed["published"]), "2016-05-04T07:00:36Z");
    let text = s(&seed["text"]);
    assert!(
        text.starts_with("A Zhongguancun (located at Beijing's Haidian District)"),
        "{text}"
    );
    assert!(
        text.contains("Beijing\u{2019}s municipal government"),
        "the GB2312 right quote survives: {text}"
    );
    assert_eq!(text.split("\n\n").count(), 6, "six paragraphs");
}

#[test]
fn guid_whose_title_changes_is_an_update_not_a_new_article() {
    let server = FixtureServer::start();
    let v1 = "<rss version=\"2.0\"><channel><title>w</title><item><guid>g-1</guid><title>Patent office opens</title><link>http://w.example/1</link><pubDate>Wed, 04 May 2016 15:00:36 GMT</pubDate><description>First version.</description></item></channel></rss>";
    let v2 = v1
        .replace("Patent office opens", "Patent office opens in Haidian")
        .replace("First version.", "Second, corrected version.");
    server.sequence(
        "/w.rss",
        vec![
            Reply::ok("application/rss+xml", v1),
            Reply::ok("application/rss+xml", v2.clone()),
        ],
    );
    let home = Gazette::new(&source("w", &server.url("/w.rss"), ""));
    assert_eq!(home.run(&["poll"]).code, 0);
    let before = home.run(&["articles", "--json"]).json_lines();
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("w: 0 new, 0 duplicate, 1 updated"),
        "{}",
        run.stdout
    );
    let after = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0]["id"], before[0]["id"],
        "the id is stable across updates"
    );
    assert_eq!(s(&after[0]["title"]), "Patent office opens in Haidian");
    assert_eq!(s(&after[0]["text"]), "Second, corrected version.");
    // another site carrying the story under the *old* title still dedups onto it
    server.route(
        "/other.rss",
        Reply::ok(
            "application/rss+xml",
            v1.replace("g-1", "other-1")
                .replace("w.example", "o.example"),
        ),
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(home.config_path())
        .and_then(|mut f| f.write_all(source("other", &server.url("/other.rss"), "").as_bytes()))
        .expect("append source");
    let run = home.run(&["poll", "--source", "other"]);
    assert!(
        run.stdout.contains("other: 0 new, 1 duplicate"),
        "{}",
        run.stdout
    );
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 1);
}

#[test]
fn entries_without_guid_or_link_do_not_duplicate_across_polls() {
    let server = FixtureServer::start();
    server.route(
        "/noid.xml",
        Reply::ok("application/rss+xml", fixture("gaps/no-id.xml")),
    );
    let home = Gazette::new(&source("noid", &server.url("/noid.xml"), ""));
    assert!(home.run(&["poll"]).stdout.contains("2 new"));
    // the feed regenerated (other bytes, the same entries): its entries are read again
    let mut bytes = fixture("gaps/no-id.xml");
    bytes.extend_from_slice(b"\n\n");
    server.route("/noid.xml", Reply::ok("application/rss+xml", bytes));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout
            .contains("0 new, 0 duplicate, 0 updated, 2 unchanged"),
        "{}",
        run.stdout
    );
    let articles = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(articles.len(), 2);
    let undated = articles
        .iter()
        .find(|a| s(&a["title"]) == "Second anonymous item")
        .expect("undated");
    assert_eq!(s(&undated["date_source"]), "first_seen");
    assert_eq!(undated["published"], undated["first_seen"]);
}

/// Expected reading of each feed-rs gap fixture: (file, [(entry title, published)]).
#[test]
fn every_feed_rs_gap_has_a_fixture_that_reads_correctly() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "bare-ampersand.xml",
            &[("AT&T and R&D: a patent story", "2016-05-04T15:00:36Z")],
        ),
        (
            "html-entities.xml",
            &[("Café owners file a patent — again", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-no-version.xml",
            &[("Item from a version none feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-0.91.xml",
            &[("Item from a version 0.91 feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-0.92.xml",
            &[("Item from a version 0.92 feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-0.93.xml",
            &[("Item from a version 0.93 feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-0.94.xml",
            &[("Item from a version 0.94 feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "rss-2.01.xml",
            &[("Item from a version 2.01 feed", "2016-05-04T15:00:36Z")],
        ),
        (
            "utf16be-bom.xml",
            &[("Zürich café 知识产权", "2016-05-04T15:00:36Z")],
        ),
        (
            "dates.xml",
            &[
                ("iso-space", "2016-05-04T07:00:36Z"),
                ("slashes", "2016-05-04T07:00:00Z"),
                ("month-day-year", "2016-05-03T16:00:00Z"),
                ("rfc822-date-only", "2016-05-03T16:00:00Z"),
                ("est", "2016-05-04T15:00:00Z"),
                ("pdt", "2016-05-04T15:00:00Z"),
                ("asctime", "2016-05-04T07:00:36Z"),
                ("cst", "2016-05-04T07:00:36Z"),
            ],
        ),
        (
            "html-titles.xml",
            &[
                ("Bold move & more", "2016-05-04T15:00:36Z"),
                ("Italic news & views", "2016-05-04T15:00:36Z"),
                ("Plain \u{201c}quoted\u{201d} title", "2016-05-04T15:00:36Z"),
            ],
        ),
        (
            "rdf-no-link.xml",
            &[
                ("Item with rdf:about only", "2016-05-04T15:00:36Z"),
                ("Item with nothing", "2016-05-04T16:00:36Z"),
                ("Normal item", "2016-05-04T17:00:36Z"),
            ],
        ),
        (
            "atom-text-plain.xml",
            &[
                ("A text/plain entry", "2016-05-04T15:00:36Z"),
                ("Empty summary entry", "2016-05-04T15:00:36Z"),
            ],
        ),
        (
            "atom-xhtml.xml",
            &[
                ("An XHTML title", "2016-05-04T15:00:36Z"),
                ("Application xhtml+xml type", "2016-05-04T15:00:36Z"),
            ],
        ),
        (
            "atom-base64.xml",
            &[
                ("Image entry", "2016-05-04T15:00:36Z"),
                ("Octet entry", "2016-05-04T15:00:36Z"),
            ],
        ),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gaps");
    for (file, expected) in cases {
        let path = dir.join(file);
        let run = gazette(&[
            "inspect",
            path.to_str().expect("utf-8 path"),
            "--timezone",
            "Asia/Shanghai",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        let doc: Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(s(&doc["kind"]), "feed");
        let entries = doc["entries"].as_array().expect("entries");
        let got: BTreeMap<&str, &str> = entries
            .iter()
            .map(|e| (s(&e["title"]), s(&e["published"])))
            .collect();
        for (title, published) in *expected {
            assert_eq!(
                got.get(title).copied(),
                Some(*published),
                "{file}: entry {title:?} in {got:?}"
            );
        }
        for e in entries {
            assert!(!s(&e["dedup_key"]).is_empty(), "{file}: dedup_key");
        }
    }
}

#[test]
fn gap_details_survive_into_entries() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gaps");
    let read = |file: &str| -> Value {
        let run = gazette(&[
            "inspect",
            dir.join(file).to_str().expect("path"),
            "--json",
            "--url",
            "http://feeds.example/x/feed.xml",
        ]);
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        serde_json::from_str(&run.stdout).expect("json")
    };
    // UTF-16BE with BOM: decoded before parsing, encoding reported
    let doc = read("utf16be-bom.xml");
    assert_eq!(s(&doc["encoding"]), "UTF-16BE");
    assert_eq!(s(&doc["entries"][0]["text"]), "Grüße aus Zürich.");
    // text/plain content keeps its paragraphs; "<not a tag>" is text, not markup
    let doc = read("atom-text-plain.xml");
    assert_eq!(
        s(&doc["entries"][0]["text"]),
        "First paragraph.\n\nSecond paragraph."
    );
    assert!(s(&doc["entries"][0]["summary"]).contains("<not a tag>"));
    // xhtml content and xml:base-relative links
    let doc = read("atom-xhtml.xml");
    assert_eq!(
        s(&doc["entries"][0]["url"]),
        "http://xhtml.example/news/2016/story.html"
    );
    assert!(
        s(&doc["entries"][0]["text"]).contains("XHTML body text."),
        "{}",
        doc["entries"][0]
    );
    // base64 payloads never become text
    let doc = read("atom-base64.xml");
    assert_eq!(
        s(&doc["entries"][0]["text"]),
        "An entry whose content is a base64 image."
    );
    assert_eq!(s(&doc["entries"][1]["text"]), "");
    // entries without id: no guid is invented, and the same input gives the same dedup key
    let a = read("no-id.xml");
    let b = read("no-id.xml");
    assert!(a["entries"][0]["guid"].is_null());
    assert_eq!(a["entries"][0]["dedup_key"], b["entries"][0]["dedup_key"]);
    // an unparseable date is not invented: the entry falls back to first_seen
    let doc = read("dates.xml");
    let garbage = doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| s(&e["title"]) == "garbage")
        .cloned()
        .expect("garbage entry");
    assert_eq!(s(&garbage["date_source"]), "first_seen");
}

#[test]
fn broken_config_exits_2_naming_file_line_and_key() {
    let cases = [
        (
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimeuot = \"5s\"\n",
            ":7: source \"a\": unknown key \"timeuot\" (did you mean \"timeout\"?)",
        ),
        (
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"Asia/Beijing\"\n",
            ":7: source \"a\": key \"timezone\": unknown time zone \"Asia/Beijing\"",
        ),
        (
            "[polling]\ninterval = \"often\"\n",
            ":5: [polling]: key \"interval\": invalid duration \"often\"",
        ),
        (
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n[[source]]\nid = \"a\"\nurl = \"https://y.org/\"\n",
            ":8: source \"a\": key \"id\": duplicate source id",
        ),
        (
            "[[source]]\nid = \"a\"\nurl = \"htp:/x\"\n",
            ":6: source \"a\": key \"url\"",
        ),
    ];
    for (body, expected) in cases {
        let home = Gazette::new(body);
        for cmd in [&["check"][..], &["poll"][..], &["articles"][..]] {
            let run = home.run(cmd);
            assert_eq!(run.code, 2, "{cmd:?} on {body:?}: {}", run.stderr);
            assert!(
                run.stderr.contains("feeds.toml"),
                "names the file: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains(expected),
                "{cmd:?}: expected {expected:?} in {}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
    let run = gazette(&["--config", "/nonexistent/feeds.toml", "check"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/nonexistent/feeds.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn check_counts_sources_and_topics() {
    let home = Gazette::new(&format!(
        "{}[[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = \"patent*\"\n",
        source("a", "https://x.org/feed", "")
    ));
    let run = home.run(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "ok: 1 sources, 1 topics");
}

#[test]
fn bundled_feeds_toml_is_valid_and_documents_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    let run = gazette(&["--config", path.to_str().expect("path"), "check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("ok: "), "{}", run.stdout);
    let text = std::fs::read_to_string(&path).expect("feeds.toml");
    for key in [
        "[archive]",
        "path",
        "dedup_window",
        "retention",
        "backup_every",
        "backup_keep",
        "[server]",
        "listen",
        "base_url",
        "[polling]",
        "interval",
        "timeout",
        "max_body",
        "user_agent",
        "concurrency",
        "per_host",
        "host_delay",
        "max_interval",
        "[[source]]",
        "id",
        "name",
        "url",
        "kind",
        "timezone",
        "enabled",
        "tags",
        "links",
        "follow",
        "max_articles",
        "full_text",
        "[[topic]]",
        "title",
        "query",
        "description",
        "limit",
        "sources",
    ] {
        assert!(text.contains(key), "feeds.toml does not mention {key}");
    }
    assert!(
        text.contains("ip-innovation"),
        "the IP & innovation topic is bundled"
    );
}

#[test]
fn failing_sources_are_recorded_and_the_others_ingested() {
    let server = FixtureServer::start();
    server.route(
        "/good.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route("/500", Reply::status(500));
    server.route(
        "/garbage",
        Reply::ok(
            "application/rss+xml",
            b"\x00\x01\x02 this is not a feed {[<".to_vec(),
        ),
    );
    server.route(
        "/endless",
        Reply::ok("application/rss+xml", "").payload(Payload::Endless),
    );
    server.route(
        "/stall",
        Reply::ok("application/rss+xml", "").payload(Payload::Stall(Duration::from_secs(30))),
    );
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 64 << 20]).expect("gzip");
    let bomb = bomb.finish().expect("gzip");
    server.route(
        "/bomb",
        Reply::ok("application/rss+xml", bomb).header("content-encoding", "gzip"),
    );
    server.route(
        "/html",
        Reply::ok(
            "text/html",
            "<!DOCTYPE html><html><body><p>No feed here</p></body></html>",
        ),
    );
    server.route(
        "/redirect",
        Reply::status(301).header("location", "/good.rss"),
    );
    let home = Gazette::new(&format!(
        "[polling]\nmax_body = \"1MiB\"\ntimeout = \"3s\"\n\n{}{}{}{}{}{}{}{}",
        source("good", &server.url("/good.rss"), ""),
        source("err500", &server.url("/500"), ""),
        source("garbage", &server.url("/garbage"), ""),
        source("endless", &server.url("/endless"), ""),
        source("stall", &server.url("/stall"), ""),
        source("bomb", &server.url("/bomb"), ""),
        source("html", &server.url("/html"), ""),
        source("moved", &server.url("/redirect"), ""),
    ));
    let started = Instant::now();
    let run = home.run(&["poll"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "timeouts bound the poll"
    );
    assert_eq!(
        run.code, 0,
        "some sources worked: {}{}",
        run.stdout, run.stderr
    );
    let line = |id: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id}: ")))
            .unwrap_or_default()
            .to_string()
    };
    // "moved" redirects to the same feed as "good"; they are polled concurrently, so either
    // may store the two articles first and the other sees duplicates
    let (good, moved) = (line("good"), line("moved"));
    assert!(
        (good.contains("2 new") && moved.contains("2 duplicate"))
            || (good.contains("2 duplicate") && moved.contains("2 new")),
        "{}",
        run.stdout
    );
    assert!(
        line("err500").contains("failed: fetching http://") && line("err500").contains("HTTP 500"),
        "{}",
        run.stdout
    );
    assert!(
        line("garbage").contains("failed: reading"),
        "{}",
        run.stdout
    );
    assert!(
        line("endless").contains("failed:") && line("endless").contains("limit"),
        "{}",
        run.stdout
    );
    assert!(
        line("bomb").contains("failed:") && line("bomb").contains("limit"),
        "{}",
        run.stdout
    );
    assert!(
        line("stall").contains("failed:") && line("stall").contains("timed out after 3s"),
        "{}",
        run.stdout
    );
    assert!(
        line("html").contains("failed:") && line("html").contains("HTML page"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("total: 8 sources, 2 ok, 6 failed"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 2);
    assert!(
        server
            .user_agents()
            .iter()
            .all(|ua| ua.starts_with("gazette/")),
        "{:?}",
        server.user_agents()
    );

    // every source failing is exit 1
    let dead = Gazette::new(&source("err500", &server.url("/500"), ""));
    let run = dead.run(&["poll"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("total: 1 sources, 0 ok, 1 failed"));
}

#[test]
fn poll_source_option_polls_one_and_rejects_unknown_ids() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route(
        "/b.json",
        Reply::ok("application/feed+json", fixture("same-story.json")),
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source("a", &server.url("/a.rss"), ""),
        source("b", &server.url("/b.json"), "enabled = false"),
    ));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("total: 1 sources"),
        "disabled sources are skipped: {}",
        run.stdout
    );
    assert_eq!(server.hits("/b.json"), 0);
    let run = home.run(&["poll", "--source", "b"]);
    assert!(run.stdout.starts_with("b: "), "{}", run.stdout);
    assert_eq!(server.hits("/b.json"), 1);
    let run = home.run(&["poll", "--source", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no source with id \"nope\""),
        "{}",
        run.stderr
    );
}

#[test]
fn archive_with_newer_schema_is_refused_clearly() {
    let home = Gazette::new("");
    {
        let db = sled::open(home.archive_path()).expect("sled");
        db.open_tree("meta")
            .expect("meta")
            .insert("schema_version", &99u32.to_be_bytes())
            .expect("insert");
        db.flush().expect("flush");
    }
    let run = home.run(&["articles"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("schema version 99"), "{}", run.stderr);
    assert!(run.stderr.contains("upgrade gazette"), "{}", run.stderr);
}

#[test]
fn inspect_fetches_urls_and_honours_content_type() {
    let server = FixtureServer::start();
    server.route(
        "/feed",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let run = gazette(&["inspect", &server.url("/feed"), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(s(&doc["url"]), server.url("/feed"));
    assert_eq!(s(&doc["feed"]["title"]), "China Science Wire");
    assert_eq!(s(&doc["feed"]["language"]), "en");
    let first = &doc["entries"][0];
    assert_eq!(s(&first["guid"]), "wire-1001");
    assert_eq!(first["categories"], serde_json::json!(["IP"]));
    assert!(first["enclosures"].is_array());
    // a wrong declared charset is overridden by --content-type, as an HTTP header would
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("latin1.xml");
    std::fs::write(&path, b"<rss version=\"2.0\"><channel><title>t</title><item><title>caf\xe9</title><guid>1</guid></item></channel></rss>").expect("write");
    let run = gazette(&[
        "inspect",
        path.to_str().expect("path"),
        "--content-type",
        "text/xml; charset=iso-8859-1",
        "--json",
    ]);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(s(&doc["entries"][0]["title"]), "café");
    assert_eq!(s(&doc["encoding"]), "windows-1252");
    // human output names the format and the encoding
    let run = gazette(&["inspect", &server.url("/feed")]);
    assert!(run.stdout.contains("RSS 2.0 feed, UTF-8"), "{}", run.stdout);
    // a missing file is a runtime failure, not a panic
    let run = gazette(&["inspect", "/nonexistent/feed.xml"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error: cannot read /nonexistent/feed.xml"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn run_polls_until_sigterm_then_exits_zero() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("a", &server.url("/a.rss"), "interval = \"1s\""));
    let mut child = home
        .command()
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.hits("/a.rss") < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.hits("/a.rss") >= 2,
        "the daemon polls on its interval"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "gazette did not exit within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr)
        .expect("read");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("archive flushed"), "{stderr}");
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 2);
}

/// Every file of the third-party feed corpora goes through `inspect` without a panic; the share
/// that parses is printed (run with --nocapture to see it).
#[test]
fn corpora_feeds_run_through_inspect_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/feeds");
    if !root.is_dir() {
        eprintln!(
            "SKIP corpora_feeds_run_through_inspect_without_panic: {} is absent",
            root.display()
        );
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("xml" | "rss" | "atom" | "json" | "rdf")
            ) {
                // gofeed's expected-output .json files are not feeds
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let expectation = name.ends_with("_expected.json")
                    || (p.extension().is_some_and(|e| e == "json")
                        && p.with_extension("xml").exists());
                if !expectation {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    let chunks: Vec<Vec<std::path::PathBuf>> = files
        .chunks(files.len().div_ceil(4))
        .map(<[_]>::to_vec)
        .collect();
    let results: Vec<(String, i32, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| {
                            let run =
                                gazette(&["inspect", p.to_str().unwrap_or_default(), "--json"]);
                            (p.display().to_string(), run.code, run.stderr)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut parsed = 0;
    let mut by_dir: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (path, code, stderr) in &results {
        assert!(!stderr.contains("panicked"), "{path}: {stderr}");
        assert!(*code == 0 || *code == 1, "{path}: exit {code}: {stderr}");
        let group = path
            .split("/feeds/")
            .nth(1)
            .unwrap_or(path)
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .to_string();
        let e = by_dir.entry(group).or_default();
        e.1 += 1;
        if *code == 0 {
            parsed += 1;
            e.0 += 1;
        }
    }
    println!(
        "corpora: {parsed} of {} files parse ({:.1}%)",
        results.len(),
        100.0 * parsed as f64 / results.len() as f64
    );
    for (dir, (ok, n)) in by_dir {
        println!("  {dir}: {ok}/{n}");
    }
    // everything reads except the documents that are not feeds on purpose (broken JSON, an
    // unknown root, an empty file)
    let unread: Vec<&str> = results
        .iter()
        .filter(|(_, code, _)| *code != 0)
        .map(|(p, _, _)| p.as_str())
        .filter(|p| {
            !(p.contains("invalid") || p.contains("unknown_feed") || p.contains("empty_feed"))
        })
        .collect();
    assert!(unread.is_empty(), "feeds that did not read: {unread:?}");
}
