//! Search as a feed (issue 22): `/search?q=` and `/search.rss|.atom|.json?q=` answer in the
//! topic query language with exactly the articles a topic with the same query holds, follow
//! new articles, refuse a bad query with its column, and the index is rebuilt by
//! `verify --repair`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, http_get, source};

const PLACES: [&str; 5] = ["Zhongguancun", "Haidian", "Beijing", "Shanghai", "Shenzhen"];
const WHAT: [&str; 7] = [
    "patent office opens",
    "science park expands",
    "patents filed rise",
    "IP court rules",
    "shipping tips for couriers",
    "park science fair",
    "innovation fund",
];
const WHEN: [&str; 3] = ["this spring", "in a record year", "after review"];
const AUTHORS: [&str; 3] = ["Liu Wei", "Chen Jing", "Wang Fang"];

/// An RSS feed of the items `i` of `range` (with `rem` as `i % 2`): title, author, text (some
/// with a CJK phrase), one minute apart.
fn feed(rem: usize, range: std::ops::Range<usize>, extra: &str) -> String {
    let items: String = range
        .filter(|i| i % 2 == rem)
        .map(|i| {
            let title = format!("{} {} {}", PLACES[i % 5], WHAT[i % 7], WHEN[i % 3]);
            let cjk = if i % 4 == 0 {
                " 海淀区知识产权保护中心揭牌。"
            } else {
                ""
            };
            format!(
                "<item><title>{title}</title><link>http://news.example/{i}.html</link>\
                 <guid>item-{i}</guid><author>desk@news.example ({})</author>\
                 <pubDate>Mon, 02 Nov 2026 10:{:02}:00 +0000</pubDate>\
                 <description>Report {i}: the {} story.{cjk}</description></item>",
                AUTHORS[i % 3],
                i,
                WHAT[(i + 3) % 7],
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
         <link>http://news.example/</link><description>d</description>{extra}{items}\
         </channel></rss>"
    )
}

/// Topics whose queries cover every kind of term: a word, a phrase, fields, booleans with a
/// prefix, CJK and NOT, a source, and an acronym (case-sensitive).
const QUERIES: [(&str, &str); 7] = [
    ("word", "patent"),
    ("phrase", "\"science park\""),
    ("fields", "title:zhongguancun OR author:liu"),
    ("boolean", "(patent* OR 知识产权) AND NOT shipping"),
    ("source", "source:daily AND park"),
    ("acronym", "IP"),
    ("nothing", "title:courier AND NOT courier"),
];

fn archived_urls(body: &[u8]) -> BTreeSet<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).expect("json feed");
    doc["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["_gazette"]["archived_url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn encode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

fn topic_count_of(d: &crate::support::Daemon, id: &str) -> usize {
    archived_urls(&http_get(d.addr, &format!("/topics/{id}.json"), &[]).body).len()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The W3C checker on a served search feed, when it is installed (`.ci/run` installs it).
fn validate(body: &[u8], name: &str) {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/validate-feed.py");
    let html5lib = std::process::Command::new("python3")
        .args(["-c", "import html5lib"])
        .status()
        .is_ok_and(|s| s.success());
    if !tool.exists() || !html5lib {
        assert!(
            std::env::var_os("CI").is_none() || !tool.exists(),
            "CI must install python3-html5lib"
        );
        eprintln!("SKIP validating {name}: the W3C checker or html5lib is absent");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(name);
    std::fs::write(&file, body).expect("write");
    let out = std::process::Command::new("python3")
        .arg(&tool)
        .arg(&file)
        .output()
        .expect("run the validator");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !report.contains("ERROR"),
        "{report}"
    );
    let warnings: Vec<&str> = report
        .lines()
        .filter(|l| l.trim_start().starts_with("WARNING"))
        .filter(|l| !l.contains("SelfDoesntMatchLocation"))
        .collect();
    assert!(warnings.is_empty(), "{report}");
}

#[test]
fn a_search_returns_what_a_topic_with_its_query_holds_and_follows_new_articles() {
    let server = FixtureServer::start();
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", feed(0, 0..40, "")),
    );
    server.route(
        "/daily.rss",
        Reply::ok("application/rss+xml", feed(1, 0..40, "")),
    );
    let topics: String = QUERIES
        .iter()
        .map(|(id, q)| format!("[[topic]]\nid = \"{id}\"\ntitle = \"{id}\"\nquery = '{q}'\n\n"))
        .collect();
    let home = Gazette::new(&format!(
        "{}{}{topics}",
        source("wire", &server.url("/wire.rss"), "interval = \"1s\""),
        source(
            "daily",
            &server.url("/daily.rss"),
            "interval = \"1s\"\ntags = [\"local\"]"
        ),
    ));
    let mut daemon = home.start();
    let addr = daemon.addr;
    let search = |q: &str| http_get(addr, &format!("/search.json?q={}", encode(q)), &[]);
    let topic = |id: &str| archived_urls(&http_get(addr, &format!("/topics/{id}.json"), &[]).body);

    // every query: the search's articles are the topic's, once the index caught up
    let total = 40;
    wait_until("every search to agree with its topic", || {
        let everything = archived_urls(&search("report").body);
        everything.len() >= total / 2
            && QUERIES.iter().all(|(id, q)| {
                let r = search(q);
                r.status == 200 && archived_urls(&r.body) == topic(id)
            })
    });
    for (id, q) in QUERIES {
        let found = archived_urls(&search(q).body);
        if id == "nothing" {
            assert!(found.is_empty(), "{q}: {found:?}");
        } else {
            assert!(
                !found.is_empty() && found.len() < total,
                "{q}: {} found",
                found.len()
            );
        }
        assert_eq!(found, topic(id), "{q}");
    }
    // tag: is the configured tags, as topics read them
    assert_eq!(
        archived_urls(&search("tag:local AND park").body),
        archived_urls(&search("source:daily AND park").body)
    );

    // a malformed query: 400 with the parser's column, as a feed and as a page
    for path in [
        "/search.rss?q=patent%20AND%20(",
        "/search?q=patent%20AND%20(",
    ] {
        let r = http_get(addr, path, &[]);
        assert_eq!(r.status, 400, "{path}");
        let text = String::from_utf8_lossy(&r.body);
        assert!(text.contains("column"), "{path}: {text}");
    }
    assert_eq!(http_get(addr, "/search.json", &[]).status, 400);

    // the feeds parse and pass the W3C checker
    for (format, name) in [("rss", "search.rss"), ("atom", "search.atom")] {
        let r = http_get(addr, &format!("/search.{format}?q=patent"), &[]);
        assert_eq!(r.status, 200);
        let parsed = feed_rs::parser::parse(r.body.as_slice()).expect("parses");
        assert_eq!(parsed.entries.len(), topic("word").len(), "{format}");
        validate(&r.body, name);
    }

    // the page: results, subscribe links, the search box also on /
    let page = String::from_utf8_lossy(&http_get(addr, "/search?q=patent", &[]).body).into_owned();
    assert!(page.contains("patent office opens"), "{page}");
    assert!(page.contains("search.rss?q=patent"), "{page}");
    let front = String::from_utf8_lossy(&http_get(addr, "/", &[]).body).into_owned();
    assert!(front.contains("role=\"search\""), "{front}");

    // a new article is found without a restart
    let newer = "<item><title>Haidian patent pool launches</title>\
        <link>http://news.example/pool.html</link><guid>pool</guid>\
        <pubDate>Tue, 03 Nov 2026 09:00:00 +0000</pubDate><description>Pool.</description></item>";
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", feed(0, 0..40, newer)),
    );
    wait_until("the new article in search", || {
        archived_urls(&search("pool").body).len() == 1
    });
    assert_eq!(archived_urls(&search("patent").body), topic("word"));
    daemon.stop();

    // restart_after_polls_rebuilt_the_search_index: polls that stored nothing new moved the
    // archive's write number past the index's last commit, so every restart rebuilt it (at
    // 1M articles: 268 MB two seconds after a restart, bench/run). A clean stop records it.
    let mut again = home.start();
    let status = |d: &crate::support::Daemon| -> serde_json::Value {
        serde_json::from_slice(&http_get(d.addr, "/status.json", &[]).body).expect("json")
    };
    wait_until("the index open", || {
        status(&again)["search"]["ready"] == true
    });
    assert!(
        !again
            .log
            .lock()
            .expect("log")
            .contains("built the search index"),
        "{}",
        again.log.lock().expect("log")
    );
    let urls = archived_urls(&http_get(again.addr, "/search.json?q=patent", &[]).body);
    assert_eq!(urls.len(), topic_count_of(&again, "word"));
    again.stop();

    // verify --repair builds the index again; then it is up to date
    let repaired = home.run(&["verify", "--repair"]);
    assert!(
        repaired.stdout.contains("search index: rebuilt"),
        "{}{}",
        repaired.stdout,
        repaired.stderr
    );
    let checked = home.run(&["verify"]);
    assert!(checked.stdout.contains("up to date"), "{}", checked.stdout);
}
