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

    // a browser gets the feed as XML with its stylesheet (it shows how to subscribe); a feed
    // reader gets the feed's own type
    let browser = get(
        "/sources/wire.rss",
        &[(
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )],
    );
    assert_eq!(
        browser.headers["content-type"],
        "application/xml; charset=utf-8"
    );
    let text = String::from_utf8_lossy(&browser.body).into_owned();
    assert!(
        text.contains("<?xml-stylesheet type=\"text/xsl\" href=\""),
        "{text}"
    );
    assert!(first.headers["content-type"].starts_with("application/rss+xml"));
    let xsl = get("/feed.xsl", &[]);
    assert_eq!(xsl.status, 200);
    assert!(xsl.headers["content-type"].starts_with("text/xsl"));

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

/// `/articles/{id}` (a page) and `/articles/{id}.json` (what `articles --json` prints): every
/// source with its own title and link, the text, and a title from the internet shown as text.
#[test]
fn an_article_has_an_archived_copy_as_a_page_and_as_json() {
    let server = FixtureServer::start();
    let hostile = "<rss version=\"2.0\"><channel><title>Hostile</title><item>\
        <title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"&gt;&lt;img src=x onerror=alert(1)&gt;</title>\
        <link>http://bad.example/1</link><guid>bad-1</guid>\
        <pubDate>Wed, 04 May 2016 07:00:00 GMT</pubDate>\
        <description>&lt;p&gt;Body &lt;script&gt;alert(2)&lt;/script&gt;text&lt;/p&gt;</description>\
        </item></channel></rss>";
    server.route("/bad.rss", Reply::ok("application/rss+xml", hostile));
    server.same_story();
    let home = Gazette::new(&format!(
        "{}{}{}",
        source(
            "wire",
            &server.url("/wire.rss"),
            "timezone = \"Asia/Shanghai\""
        ),
        source(
            "daily",
            &server.url("/daily.json"),
            "name = \"Innovation Daily\""
        ),
        source("bad", &server.url("/bad.rss"), ""),
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    let listed = home.run(&["articles", "--json"]).json_lines();
    let zgc = listed
        .iter()
        .find(|a| a["sources"] == serde_json::json!(["wire", "daily"]))
        .expect("the merged story")
        .clone();
    let bad = listed
        .iter()
        .find(|a| a["sources"] == serde_json::json!(["bad"]))
        .expect("the hostile one")
        .clone();
    let id = zgc["id"].as_str().expect("id").to_string();

    let daemon = home.start();
    let get = |path: &str, headers: &[(&str, &str)]| http_get(daemon.addr, path, headers);

    let json = get(&format!("/articles/{id}.json"), &[]);
    assert_eq!(json.status, 200);
    let mut doc: serde_json::Value = serde_json::from_slice(&json.body).expect("json");
    let archived = doc["archived_url"].take();
    assert!(
        archived
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/articles/{id}"))),
        "{archived}"
    );
    doc.as_object_mut().expect("object").remove("archived_url");
    assert_eq!(doc, zgc, "the same fields as articles --json");

    let page = get(&format!("/articles/{id}"), &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-type"].starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(page.headers["content-security-policy"].contains("default-src 'none'"));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains("name=\"viewport\""), "{html}");
    assert!(
        html.contains("<h1>Zhongguancun Becomes IP Service Cluster Demonstration Zone</h1>"),
        "{html}"
    );
    // every source, with its link and, where it differs, its own title
    assert!(
        html.contains("href=\"http://wire.example/2016/05/04/zgc.html?id=1001\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://daily.example/zgc\""),
        "{html}"
    );
    assert!(html.contains("Innovation Daily"), "{html}");
    assert!(
        html.contains("ZHONGGUANCUN BECOMES IP SERVICE CLUSTER DEMONSTRATION ZONE!"),
        "daily's own title: {html}"
    );
    assert!(
        html.contains("intellectual property promotion meeting"),
        "{html}"
    );

    let etag = page.headers["etag"].clone();
    assert_eq!(
        get(&format!("/articles/{id}"), &[("If-None-Match", &etag)]).status,
        304
    );

    // a title from the internet is text, never markup
    let bad_id = bad["id"].as_str().expect("id");
    let html = String::from_utf8_lossy(&get(&format!("/articles/{bad_id}"), &[]).body).into_owned();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(
        !html.contains("<img"),
        "no element made of the title: {html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );

    // unknown or malformed ids
    assert_eq!(get("/articles/0000000000000000", &[]).status, 404);
    assert_eq!(get("/articles/../status.json", &[]).status, 404);
    assert_eq!(get("/articles/xyz.json", &[]).status, 404);
}

/// The pages people read: `/` (topics with counts and subscribe links, the newest articles),
/// `/topics/{id}` and `/sources/{id}` (paged lists, newest first, linked to each other),
/// `/sources` (name, kind, health, counts) and `/status` (names, a way home, a phone's width).
#[test]
fn pages_list_topics_sources_and_articles_with_paging() {
    let server = FixtureServer::start();
    let items: String = (0..35)
        .map(|i| {
            format!(
                "<item><title>Patent story {i} &lt;b&gt;bold&lt;/b&gt;</title><guid>p{i}</guid>\
                 <link>http://wire.example/p{i}</link>\
                 <pubDate>Wed, 04 May 2016 {:02}:{:02}:00 GMT</pubDate></item>",
                i / 60,
                i % 60
            )
        })
        .collect();
    let feed = format!("<rss version=\"2.0\"><channel><title>Wire</title>{items}</channel></rss>");
    server.route("/wire.rss", Reply::ok("application/rss+xml", feed));
    let home = Gazette::new(&format!(
        "{}[[topic]]\nid = \"ip\"\ntitle = \"IP & innovation\"\nquery = 'patent*'\n",
        source(
            "wire",
            &server.url("/wire.rss"),
            "name = \"China Science Wire\""
        ),
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    let daemon = home.start();
    let page = |path: &str| {
        let r = http_get(daemon.addr, path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.headers["content-type"].starts_with("text/html"), "{path}");
        let html = String::from_utf8_lossy(&r.body).into_owned();
        assert!(html.contains("name=\"viewport\""), "{path}: {html}");
        assert!(!html.contains("<b>bold"), "{path}: a title became markup");
        html
    };

    let front = page("/");
    assert!(front.contains("IP &amp; innovation"), "{front}");
    assert!(
        front.contains("<p class=\"meta\">35 articles</p>"),
        "{front}"
    );
    assert!(
        front.contains("/topics/ip.rss") && front.contains("/topics/ip\""),
        "{front}"
    );
    // (an RSS title is HTML: its <b> is markup, read as text)
    assert!(
        front.contains(">Patent story 34 bold</a>"),
        "newest first: {front}"
    );
    for link in [
        "/sources\"",
        "/status\"",
        "/topics.opml",
        "/sources.opml",
        "/sources/feeds.opml",
    ] {
        assert!(front.contains(link), "{link}: {front}");
    }
    assert!(
        front.contains("<link rel=\"alternate\" type=\"application/atom+xml\""),
        "{front}"
    );

    for path in ["/topics/ip", "/sources/wire"] {
        let first = page(path);
        assert_eq!(first.matches("<li>").count(), 30, "{path}: {first}");
        assert!(first.contains("Patent story 34"), "{path}");
        assert!(
            !first.contains("Patent story 4 bold"),
            "{path}: the oldest are on page 2"
        );
        assert!(first.contains("<link rel=\"alternate\""), "{path}");
        let older = first
            .split("rel=\"next\" href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a link to older articles")
            .replace("&amp;", "&");
        let older = older
            .find(path)
            .map(|at| older[at..].to_string())
            .expect("a link on this server");
        let second = page(&older);
        assert_eq!(second.matches("<li>").count(), 5, "{path}: {second}");
        assert!(second.contains("Patent story 0 bold"), "{path}: {second}");
        assert!(!second.contains("rel=\"next\""), "{path}: the last page");
        assert!(second.contains("Newest articles"), "{path}");
    }
    assert_eq!(http_get(daemon.addr, "/topics/nope", &[]).status, 404);
    assert_eq!(http_get(daemon.addr, "/sources/nope", &[]).status, 404);

    let sources = page("/sources");
    for want in [
        "China Science Wire",
        ">auto<",
        ">ok<",
        ">35<",
        "/sources/wire\"",
    ] {
        assert!(sources.contains(want), "{want}: {sources}");
    }
    let status = page("/status");
    assert!(status.contains("China Science Wire"), "{status}");
    assert!(status.contains("href=\"./\""), "a way home: {status}");
}

fn hub_urls(server: &FixtureServer) -> Vec<String> {
    server
        .bodies("/hub")
        .iter()
        .map(|b| {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(b).into_owned().collect();
            assert!(
                form.contains(&("hub.mode".into(), "publish".into())),
                "{form:?}"
            );
            let urls: Vec<&String> = form
                .iter()
                .filter(|(k, _)| k == "hub.url")
                .map(|(_, v)| v)
                .collect();
            assert_eq!(urls.len(), 1, "{form:?}");
            urls[0].clone()
        })
        .collect()
}

fn websub_home(server: &FixtureServer) -> Gazette {
    Gazette::new(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nwebsub_hub = \"{}\"\n\n{}\
         [[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = 'zhongguancun'\n\
         [[topic]]\nid = \"parks\"\ntitle = \"Parks\"\nquery = 'park'\n",
        server.url("/hub"),
        source("wire", &server.url("/wire.rss"), "interval = \"1s\""),
    ))
}

/// W3C WebSub: every feed advertises the hub (in the document and a `Link` header), and the
/// hub gets exactly one `hub.mode=publish` ping per URL of a feed that changed, however many
/// polls ran, and none for a feed that did not.
#[test]
fn the_hub_gets_one_ping_per_changed_feed_url_and_none_for_unchanged_ones() {
    let server = FixtureServer::start();
    server.route("/hub", Reply::status(204));
    let v1 = fixture("same-story.rss");
    server.route("/wire.rss", Reply::ok("application/rss+xml", v1.clone()));
    let home = websub_home(&server);
    let daemon = home.start();
    let base = format!("http://{}/", daemon.addr);
    let urls_of = |path: &str| {
        ["rss", "atom", "json"]
            .map(|f| format!("{base}{path}.{f}"))
            .to_vec()
    };
    let mut want: Vec<String> = [
        urls_of("topics/ip"),
        urls_of("topics/parks"),
        urls_of("sources/wire"),
    ]
    .concat();
    want.sort();
    wait_until("nine pings", Duration::from_secs(30), || {
        server.bodies("/hub").len() >= 9
    });
    // several more polls (every second, nothing changed) and coalescing rounds go by
    let polls = server.hits("/wire.rss");
    wait_until("four more polls", Duration::from_secs(30), || {
        server.hits("/wire.rss") >= polls + 4
    });
    let mut got = hub_urls(&server);
    got.sort();
    assert_eq!(got, want, "one ping per feed URL");
    let requests = server.requests("/hub");
    assert!(
        requests[0]["content-type"].starts_with("application/x-www-form-urlencoded"),
        "{requests:?}"
    );

    // the hub is advertised
    let atom = http_get(daemon.addr, "/topics/ip.atom", &[]);
    let hub = server.url("/hub");
    assert!(
        String::from_utf8_lossy(&atom.body)
            .contains(&format!("<link href=\"{hub}\" rel=\"hub\"/>")),
        "{}",
        String::from_utf8_lossy(&atom.body)
    );
    let link = atom.headers.get("link").cloned().unwrap_or_default();
    assert!(link.contains(&format!("<{hub}>; rel=\"hub\"")), "{link}");
    assert!(
        link.contains(&format!("<{base}topics/ip.atom>; rel=\"self\"")),
        "{link}"
    );
    let rss =
        String::from_utf8_lossy(&http_get(daemon.addr, "/sources/wire.rss", &[]).body).into_owned();
    assert!(
        rss.contains(&format!("href=\"{hub}\" rel=\"hub\"")),
        "{rss}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/topics/parks.json", &[]).body)
            .expect("json");
    assert_eq!(
        json["hubs"],
        serde_json::json!([{"type": "WebSub", "url": hub}])
    );

    // a new park story: the parks topic and the source change, the ip topic does not
    let v2 = String::from_utf8(v1).expect("utf-8").replace(
        "<item>",
        "<item><title>Chaoyang opens a riverside park</title>\
         <link>http://wire.example/2016/05/06/river.html</link><guid>wire-1009</guid>\
         <pubDate>Fri, 06 May 2016 09:00:00 +0800</pubDate><description>Green.</description>\
         </item><item>",
    );
    server.route("/wire.rss", Reply::ok("application/rss+xml", v2));
    wait_until("six more pings", Duration::from_secs(30), || {
        server.bodies("/hub").len() >= 15
    });
    let polls = server.hits("/wire.rss");
    wait_until("four more polls", Duration::from_secs(30), || {
        server.hits("/wire.rss") >= polls + 4
    });
    let got = hub_urls(&server);
    assert_eq!(got.len(), 15, "{got:?}");
    let mut second: Vec<String> = got[9..].to_vec();
    second.sort();
    let mut want: Vec<String> = [urls_of("topics/parks"), urls_of("sources/wire")].concat();
    want.sort();
    assert_eq!(second, want, "only the feeds that changed");

    let status: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
    assert_eq!(status["websub"]["sent"], 15, "{status}");
    assert!(status["websub"]["last_ok"].is_string(), "{status}");
}

/// A hub that never answers delays neither polls nor requests: pings wait on their own task,
/// and the failure shows in `/status.json` and `/metrics`.
#[test]
fn a_hub_that_never_answers_slows_no_poll() {
    let server = FixtureServer::start();
    server.route(
        "/hub",
        Reply::status(204).payload(crate::support::Payload::Delayed(
            Duration::from_secs(120),
            Vec::new(),
        )),
    );
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = websub_home(&server);
    let daemon = home.start();
    wait_until("a ping under way", Duration::from_secs(30), || {
        server.hits("/hub") >= 1
    });
    // while the hub holds the ping, the source goes on being polled every second
    let started = Instant::now();
    let polls = server.hits("/wire.rss");
    wait_until("five more polls", Duration::from_secs(30), || {
        server.hits("/wire.rss") >= polls + 5
    });
    let took = started.elapsed();
    println!("five polls while the hub hung: {took:?}");
    // and feeds are served at once
    let t = Instant::now();
    assert_eq!(http_get(daemon.addr, "/topics/ip.rss", &[]).status, 200);
    println!("a feed while the hub hung: {:?}", t.elapsed());
    // the ping times out (10 s) and is recorded as a failure, to be tried again
    wait_until("the failure recorded", Duration::from_secs(60), || {
        let status: serde_json::Value =
            serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
        status["websub"]["last_error"].is_string()
    });
    let page = String::from_utf8_lossy(&http_get(daemon.addr, "/status", &[]).body).into_owned();
    assert!(
        page.contains("WebSub hub") && page.contains("Last error"),
        "{page}"
    );
    let metrics =
        String::from_utf8_lossy(&http_get(daemon.addr, "/metrics", &[]).body).into_owned();
    assert!(
        metrics.contains("gazette_websub_pings_total{result=\"failed\"}"),
        "{metrics}"
    );
}
