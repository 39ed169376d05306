//! Topics end to end: curation at poll time, re-curation when a query is edited, `render`,
//! `explain`, and the HTTP server (`run` on port 0) with conditional GET and compression.

use std::io::Read;
use std::path::Path;

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

/// The bundled `ip-innovation` topic, exactly as shipped.
fn bundled_ip_topic() -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml"))
        .expect("feeds.toml");
    let doc: toml::Table = toml::from_str(&text).expect("toml");
    let topic = doc["topic"]
        .as_array()
        .and_then(|ts| {
            ts.iter()
                .find(|t| t.get("id").and_then(|i| i.as_str()) == Some("ip-innovation"))
        })
        .expect("bundled ip-innovation topic")
        .clone();
    format!("[[topic]]\n{}\n", toml::to_string(&topic).expect("toml"))
}

/// Edits the home's feeds.toml in place: `from` becomes `to`.
fn edit_config(home: &Gazette, from: &str, to: &str) {
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    assert!(config.contains(from), "{from:?} is not in the config");
    std::fs::write(home.config_path(), config.replace(from, to)).expect("edit");
}

fn home_with(server: &FixtureServer, topics: &str) -> Gazette {
    server.route(
        "/hd.rss",
        Reply::ok("application/rss+xml", fixture("topics.rss")),
    );
    Gazette::new(&format!(
        "{}{}",
        source(
            "haidian",
            &server.url("/hd.rss"),
            "timezone = \"Asia/Shanghai\"\ntags = [\"china\"]\ninterval = \"15m\""
        ),
        topics
    ))
}

fn titles(home: &Gazette, topic: &str) -> Vec<String> {
    let run = home.run(&["articles", "--topic", topic, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json_lines()
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn seed_article_is_ip_and_shipping_tips_are_not() {
    let server = FixtureServer::start();
    let home = home_with(&server, &bundled_ip_topic());
    assert_eq!(home.run(&["poll"]).code, 0);
    let ip = titles(&home, "ip-innovation");
    assert!(
        ip.contains(&"Zhongguancun Becomes IP Service Cluster Demonstration Zone".to_string()),
        "{ip:?}"
    );
    assert!(
        ip.contains(&"海淀区知识产权保护中心揭牌".to_string()),
        "CJK term: {ip:?}"
    );
    assert!(!ip.iter().any(|t| t.contains("shipping")), "{ip:?}");
    assert!(!ip.iter().any(|t| t.contains("Summer Palace")), "{ip:?}");
    let all = home.run(&["articles", "--json"]).json_lines();
    let seed = all
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Zhongguancun"))
        })
        .expect("seed");
    assert_eq!(seed["topics"], serde_json::json!(["ip-innovation"]));

    // explain says why, in both directions
    let id = seed["id"].as_str().expect("id");
    let run = home.run(&["explain", id]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("ip-innovation: IN"), "{}", run.stdout);
    assert!(
        run.stdout.contains("matched: \"intellectual property\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("IP"), "{}", run.stdout);
    let tips = all
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.contains("shipping")))
        .expect("tips");
    let run = home.run(&[
        "explain",
        tips["id"].as_str().expect("id"),
        "--topic",
        "ip-innovation",
    ]);
    assert!(run.stdout.contains("ip-innovation: OUT"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("not found: \"intellectual property\", patent*"),
        "{}",
        run.stdout
    );
    let run = home.run(&["explain", "no-such-id"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no article with id"), "{}", run.stderr);
}

#[test]
fn explain_names_the_not_clause_that_excluded_an_article() {
    let server = FixtureServer::start();
    let home = home_with(
        &server,
        "[[topic]]\nid = \"gardens\"\ntitle = \"Gardens\"\nquery = 'title:(garden* OR 颐和园) NOT source:haidian'\n",
    );
    assert_eq!(home.run(&["poll"]).code, 0);
    assert!(titles(&home, "gardens").is_empty());
    let all = home.run(&["articles", "--json"]).json_lines();
    let gardens = all
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.contains("gardens")))
        .expect("gardens");
    let run = home.run(&["explain", gardens["id"].as_str().expect("id")]);
    assert!(run.stdout.contains("gardens: OUT"), "{}", run.stdout);
    assert!(
        run.stdout.contains("excluded by: NOT source:haidian"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("matched: title:garden* (\"gardens\")"),
        "{}",
        run.stdout
    );
}

#[test]
fn editing_a_topic_query_re_curates_existing_articles() {
    let server = FixtureServer::start();
    let home = home_with(
        &server,
        "[[topic]]\nid = \"watch\"\ntitle = \"Watch\"\nquery = 'patent* OR IP'\n",
    );
    assert_eq!(home.run(&["poll"]).code, 0);
    assert_eq!(
        titles(&home, "watch"),
        ["Zhongguancun Becomes IP Service Cluster Demonstration Zone"]
    );
    // edit the query: no poll happens, the archive is re-curated when gazette next starts
    edit_config(
        &home,
        "query = 'patent* OR IP'",
        "query = 'ship* OR title:gardens'",
    );
    let now = titles(&home, "watch");
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.iter().any(|t| t.contains("shipping")) && now.iter().any(|t| t.contains("gardens")),
        "{now:?}"
    );
    let all = home.run(&["articles", "--json"]).json_lines();
    let seed = all
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Zhongguancun"))
        })
        .expect("seed");
    assert_eq!(seed["topics"], serde_json::json!([]));
    // tags count too: a tag: query sees the source's tags
    edit_config(
        &home,
        "query = 'ship* OR title:gardens'",
        "query = 'tag:china AND 知识产权'",
    );
    assert_eq!(titles(&home, "watch"), ["海淀区知识产权保护中心揭牌"]);
    // unknown topic is a usage error
    assert_eq!(home.run(&["articles", "--topic", "nope"]).code, 2);
}

#[test]
fn render_prints_each_format_and_it_parses_back_to_the_topic() {
    let server = FixtureServer::start();
    let home = home_with(&server, &bundled_ip_topic());
    assert_eq!(home.run(&["poll"]).code, 0);
    let expected = titles(&home, "ip-innovation");
    for format in ["rss", "atom", "json"] {
        let run = home.run(&["render", "ip-innovation", "--format", format]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        let feed = feed_rs::parser::parse(run.stdout.as_bytes())
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let got: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert_eq!(got, expected, "{format}");
    }
    let run = home.run(&["render", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no topic with id \"nope\""),
        "{}",
        run.stderr
    );
}

#[test]
fn run_serves_feeds_with_conditional_get_and_compression() {
    let server = FixtureServer::start();
    let topics = format!(
        "{}\n[server]\nlisten = \"127.0.0.1:0\"\nbase_url = \"https://news.example.org/\"\n",
        bundled_ip_topic()
    );
    let home = home_with(&server, &topics);
    assert_eq!(home.run(&["poll"]).code, 0);
    let mut daemon = home.start();
    let addr = daemon.addr;

    let mut bodies = Vec::new();
    for (ext, ctype) in [
        ("rss", "application/rss+xml"),
        ("atom", "application/atom+xml"),
        ("json", "application/feed+json"),
    ] {
        let path = format!("/topics/ip-innovation.{ext}");
        let r = http_get(addr, &path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some(format!("{ctype}; charset=utf-8").as_str())
        );
        assert_eq!(
            r.headers.get("cache-control").map(String::as_str),
            Some("max-age=900")
        );
        let etag = r.headers.get("etag").cloned().expect("etag");
        // weak: identity, gzip and brotli bodies share it (RFC 9110 §8.8.3), which only a
        // weak validator may do
        assert!(
            etag.starts_with("W/\"") && etag.ends_with('"'),
            "weak ETag: {etag}"
        );
        let last_modified = r
            .headers
            .get("last-modified")
            .cloned()
            .expect("last-modified");
        let feed =
            feed_rs::parser::parse(r.body.as_slice()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!feed.entries.is_empty());
        bodies.push((ext, r.body));

        let again = http_get(addr, &path, &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{path} with If-None-Match");
        assert!(again.body.is_empty());
        assert_eq!(again.headers.get("etag"), Some(&etag));
        let since = http_get(addr, &path, &[("If-Modified-Since", &last_modified)]);
        assert_eq!(since.status, 304, "{path} with If-Modified-Since");
        let stale = http_get(addr, &path, &[("If-None-Match", "\"something-else\"")]);
        assert_eq!(stale.status, 200);

        let gz = http_get(addr, &path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(
            gz.headers.get("content-encoding").map(String::as_str),
            Some("gzip"),
            "{path}"
        );
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(gz.body.as_slice())
            .read_to_end(&mut plain)
            .expect("gunzip");
        assert_eq!(
            plain,
            bodies.last().map(|(_, b)| b.clone()).unwrap_or_default()
        );
        let br = http_get(addr, &path, &[("Accept-Encoding", "br")]);
        assert_eq!(
            br.headers.get("content-encoding").map(String::as_str),
            Some("br"),
            "{path}"
        );
        assert_eq!(gz.headers.get("etag"), Some(&etag), "{path}");
        assert_eq!(br.headers.get("etag"), Some(&etag), "{path}");
        // a client that saw the strong-looking form still gets its 304 (weak comparison)
        let bare = etag.trim_start_matches("W/").to_string();
        assert_eq!(
            http_get(addr, &path, &[("If-None-Match", &bare)]).status,
            304
        );
    }

    let missing = http_get(addr, "/topics/nope.rss", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(
        String::from_utf8_lossy(&missing.body),
        "no topic \"nope\"\n"
    );
    assert_eq!(http_get(addr, "/topics/ip-innovation.xml", &[]).status, 404);

    let index = http_get(addr, "/", &[]);
    assert_eq!(index.status, 200);
    let html = String::from_utf8_lossy(&index.body);
    assert!(
        html.contains("<link rel=\"alternate\" type=\"application/rss+xml\""),
        "{html}"
    );
    assert!(html.contains("IP &amp; innovation"), "{html}");
    assert!(html.contains("/topics/ip-innovation.json"), "{html}");

    let health = http_get(addr, "/healthz", &[]);
    assert_eq!(health.status, 200);
    let h: serde_json::Value = serde_json::from_slice(&health.body).expect("json");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["articles"], 4);

    assert_eq!(
        daemon.stop(),
        Some(0),
        "{}",
        daemon.log.lock().expect("log")
    );
    // the server sent exactly what `render` prints
    for (ext, body) in bodies {
        let run = home.run(&["render", "ip-innovation", "--format", ext]);
        assert_eq!(run.stdout, String::from_utf8_lossy(&body), "{ext}");
    }
}

#[test]
fn port_in_use_is_a_clear_error_at_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let home = Gazette::new(&format!("[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    let run = home.run(&["run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    drop(taken);
}

#[test]
fn feeds_are_rendered_once_and_again_only_when_the_topic_changes() {
    let server = FixtureServer::start();
    let v1 = String::from_utf8(fixture("topics.rss")).expect("utf-8");
    let extra = "<item><title>New patent office opens in Haidian</title><link>http://www.bjhd.example/po.htm</link><guid>hd-9</guid><pubDate>2016-05-07 09:00:00</pubDate><description>Patent filings can now be made locally.</description></item>";
    let v2 = v1.replace("</channel>", &format!("{extra}</channel>"));
    server.sequence(
        "/hd.rss",
        vec![
            Reply::ok("application/rss+xml", v1),
            Reply::ok("application/rss+xml", v2),
        ],
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source(
            "haidian",
            &server.url("/hd.rss"),
            "timezone = \"Asia/Shanghai\"\ninterval = \"1s\""
        ),
        bundled_ip_topic()
    ));
    let run = home.run(&["poll"]);
    assert!(run.stdout.contains("4 new"), "{}", run.stdout);
    let daemon = home.start();
    let path = "/topics/ip-innovation.rss";
    let renders = |log: &str| {
        log.lines()
            .filter(|l| l.contains("rendered feed") && l.contains("format=\"rss\""))
            .count()
    };
    let first = http_get(daemon.addr, path, &[]);
    let etag = first.headers.get("etag").cloned().expect("etag");
    // the daemon's own poll brings a new IP article: the feed changes, its ETag with it
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let changed = loop {
        let r = http_get(daemon.addr, path, &[("If-None-Match", &etag)]);
        if r.status == 200 {
            break r;
        }
        assert_eq!(r.status, 304);
        assert!(
            std::time::Instant::now() < deadline,
            "the feed never changed: {}",
            daemon.log.lock().expect("log")
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_ne!(changed.headers.get("etag"), Some(&etag));
    assert!(String::from_utf8_lossy(&changed.body).contains("New patent office opens in Haidian"));
    // many requests, but only the two distinct versions were ever rendered
    for _ in 0..5 {
        assert_eq!(http_get(daemon.addr, path, &[]).status, 200);
    }
    let log = daemon.log.lock().expect("log").clone();
    assert_eq!(renders(&log), 2, "{log}");
}

/// The daemon re-curates after a topic edit while it serves (it used to do it before binding,
/// a minute and more at 1M articles): the feed converges to the edited query and the log says
/// so, and `/` counts the members from the kept counts.
#[test]
fn run_re_curates_an_edited_topic_in_the_background_while_serving() {
    let server = FixtureServer::start();
    let topics = "[[topic]]\nid = \"watch\"\ntitle = \"Watch\"\nquery = 'patent* OR IP'\n\
                  [server]\nlisten = \"127.0.0.1:0\"\n";
    let home = home_with(&server, topics);
    assert_eq!(home.run(&["poll"]).code, 0);
    assert_eq!(titles(&home, "watch").len(), 1);
    edit_config(
        &home,
        "query = 'patent* OR IP'",
        "query = 'ship* OR title:gardens'",
    );
    let mut daemon = home.start();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let members = || {
        let r = http_get(daemon.addr, "/topics/watch.json", &[]);
        assert_eq!(r.status, 200);
        let feed: serde_json::Value = serde_json::from_slice(&r.body).expect("json feed");
        feed["items"].as_array().map_or(0, Vec::len)
    };
    while members() != 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(members(), 2, "{}", daemon.log.lock().expect("log"));
    let index = http_get(daemon.addr, "/", &[]);
    assert!(
        String::from_utf8_lossy(&index.body).contains("<p class=\"meta\">2 articles</p>"),
        "{}",
        String::from_utf8_lossy(&index.body)
    );
    assert_eq!(daemon.stop(), Some(0));
    let log = daemon.log.lock().expect("log").clone();
    let started = log.find("listening on").expect("started");
    let recurated = log
        .find("re-curated the archive")
        .expect("re-curated, in the log");
    assert!(
        started < recurated,
        "re-curation ran after the listener was up:\n{log}"
    );
}
