//! Sites without feeds end to end: a loopback site modeled on the sample page (a list page with
//! navigation and pagination, three article pages, one in GBK without a charset header), feed
//! autodiscovery, `full_text`, and hostile pages.

use crate::support::{FixtureServer, Gazette, Payload, Reply, fixture, source};

fn site(server: &FixtureServer) {
    server.route(
        "/science/index.html",
        Reply::ok("text/html; charset=utf-8", fixture("site/index.html")),
    );
    server.route(
        "/science/2016-05/04/content_1.htm",
        Reply::ok("text/html; charset=utf-8", fixture("site/content_1.htm")),
    );
    server.route(
        "/science/2016-05/03/content_2.htm",
        Reply::ok("text/html; charset=utf-8", fixture("site/content_2.htm")),
    );
    // GBK, and no charset anywhere but in the bytes themselves
    server.route(
        "/science/2016-05/02/content_3.htm",
        Reply::ok("text/html", fixture("site/content_3.htm")),
    );
}

const BOILERPLATE: [&str; 9] = [
    "home >",
    "science tour",
    "Share:",
    "Facebook",
    "The Imperial Gardens",
    "Copyright",
    "cookies",
    "Contact us",
    "trackPage",
];

#[test]
fn list_page_becomes_clean_articles_and_pages_are_fetched_once() {
    let server = FixtureServer::start();
    site(&server);
    let home = Gazette::new(&source(
        "haidian-science",
        &server.url("/science/index.html"),
        "kind = \"html\"\ntimezone = \"Asia/Shanghai\"",
    ));
    let run = home.run(&["poll"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("haidian-science: 3 new"),
        "{}",
        run.stdout
    );
    let articles = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(articles.len(), 3);
    let seed = articles
        .iter()
        .find(|a| a["title"] == "Zhongguancun Becomes IP Service Cluster Demonstration Zone")
        .expect("seed article, with the site suffix removed from its title");
    assert_eq!(seed["published"], "2016-05-04T07:00:36Z");
    // the date as the page wrote it: Beijing time, no offset on the page, the source's zone
    assert_eq!(seed["published_local"], "2016-05-04T15:00:36+08:00");
    assert_eq!(seed["date_source"], "page");
    assert_eq!(
        seed["date_method"], "text",
        "the date written under the title"
    );
    assert_eq!(seed["language"], "en");
    let text = seed["text"].as_str().expect("text");
    assert_eq!(text.split("\n\n").count(), 6, "six paragraphs: {text}");
    assert!(
        text.starts_with("A Zhongguancun (located at Beijing's Haidian District)"),
        "{text}"
    );
    assert!(
        text.ends_with("becoming a source of new IP service forms."),
        "{text}"
    );
    for junk in BOILERPLATE {
        assert!(!text.contains(junk), "boilerplate {junk:?} in {text}");
        assert!(
            !seed["html"].as_str().unwrap_or_default().contains(junk),
            "boilerplate {junk:?} in the HTML"
        );
    }
    let zh = articles
        .iter()
        .find(|a| a["title"] == "海淀区知识产权保护中心揭牌成立")
        .expect("GBK article decoded");
    assert_eq!(zh["published"], "2016-05-02T02:00:00Z");
    assert!(
        zh["text"]
            .as_str()
            .unwrap_or_default()
            .contains("一站式服务")
    );
    // navigation, pagination and related links were never fetched
    for path in [
        "/travel/gardens.htm",
        "/science/index_1.html",
        "/news/",
        "/contact/",
    ] {
        assert_eq!(server.hits(path), 0, "{path} was fetched");
    }
    // a second poll reads the list page again (a new visitor counter) but no article page
    let mut page = fixture("site/index.html");
    page.extend_from_slice(b"<!-- visitors: 1001 -->");
    server.route(
        "/science/index.html",
        Reply::ok("text/html; charset=utf-8", page),
    );
    let run = home.run(&["poll"]);
    assert!(
        run.stdout
            .contains("haidian-science: 0 new, 0 duplicate, 0 updated"),
        "{}",
        run.stdout
    );
    // the same bytes once more: not read at all
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("haidian-science: unchanged (200"),
        "{}",
        run.stdout
    );
    assert_eq!(server.hits("/science/index.html"), 3);
    assert_eq!(
        server.hits("/science/2016-05/04/content_1.htm"),
        1,
        "archived pages are not fetched again"
    );
}

#[test]
fn the_same_article_from_a_feed_merges_with_the_page_version_keeping_the_full_text() {
    let server = FixtureServer::start();
    site(&server);
    let feed = "<rss version=\"2.0\"><channel><title>wire</title><item><title>ZHONGGUANCUN becomes IP service cluster demonstration zone</title><link>http://wire.example/zgc</link><guid>w1</guid><pubDate>2016-05-04 15:00:36</pubDate><description>A one-line summary.</description></item></channel></rss>";
    server.route("/wire.rss", Reply::ok("application/rss+xml", feed));
    let home = Gazette::new(&format!(
        "{}{}",
        source(
            "wire",
            &server.url("/wire.rss"),
            "timezone = \"Asia/Shanghai\""
        ),
        source(
            "haidian-science",
            &server.url("/science/index.html"),
            "kind = \"html\"\ntimezone = \"Asia/Shanghai\"\nlinks = \"ul.news a\"\nfollow = \"/2016-05/04/\""
        ),
    ));
    assert_eq!(home.run(&["poll", "--source", "wire"]).code, 0);
    let run = home.run(&["poll", "--source", "haidian-science"]);
    assert!(
        run.stdout.contains("haidian-science: 0 new, 1 duplicate"),
        "{}",
        run.stdout
    );
    let articles = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(articles.len(), 1, "follow kept only one link");
    assert_eq!(
        articles[0]["sources"],
        serde_json::json!(["wire", "haidian-science"])
    );
    assert_eq!(
        articles[0]["text"]
            .as_str()
            .unwrap_or_default()
            .split("\n\n")
            .count(),
        6,
        "the full text wins"
    );
}

#[test]
fn auto_source_on_a_page_that_advertises_a_feed_polls_the_feed() {
    let server = FixtureServer::start();
    server.route(
        "/home.html",
        Reply::ok("text/html", "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed.rss\"></head><body><p>Welcome</p></body></html>"),
    );
    server.route(
        "/feed.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("site", &server.url("/home.html"), ""));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("site: 2 new"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(server.hits("/feed.rss"), 1);
}

#[test]
fn full_text_fetches_the_page_of_summary_only_entries() {
    let server = FixtureServer::start();
    site(&server);
    let feed = format!(
        "<rss version=\"2.0\"><channel><title>hd</title><item><title>Zhongguancun Becomes IP Service Cluster Demonstration Zone (feed title)</title><link>{}</link><pubDate>Wed, 04 May 2016 15:00:36 +0800</pubDate><description>Only a summary.</description></item></channel></rss>",
        server.url("/science/2016-05/04/content_1.htm")
    );
    server.route("/summary.rss", Reply::ok("application/rss+xml", feed));
    let home = Gazette::new(&source(
        "hd",
        &server.url("/summary.rss"),
        "full_text = true",
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    let a = &home.run(&["articles", "--json"]).json_lines()[0];
    assert_eq!(
        a["title"], "Zhongguancun Becomes IP Service Cluster Demonstration Zone (feed title)",
        "the feed's title is kept"
    );
    assert_eq!(a["published"], "2016-05-04T07:00:36Z");
    assert_eq!(
        a["text"].as_str().unwrap_or_default().split("\n\n").count(),
        6,
        "{}",
        a["text"]
    );
    // known entries are not fetched again
    assert_eq!(home.run(&["poll"]).code, 0);
    assert_eq!(server.hits("/science/2016-05/04/content_1.htm"), 1);
}

#[test]
fn hostile_article_links_fail_one_by_one_and_the_rest_is_ingested() {
    let server = FixtureServer::start();
    site(&server);
    let port = server.addr.port();
    let list = format!(
        r#"<html><body><ul class="hostile">
        <li><a href="/huge.htm">A fifty megabyte page</a></li>
        <li><a href="/endless.htm">A page that never ends</a></li>
        <li><a href="/deep.htm">Deeply nested markup</a></li>
        <li><a href="/broken.htm">Broken encoding</a></li>
        <li><a href="file:///etc/passwd">Local file</a></li>
        <li><a href="ftp://example.org/x">FTP link</a></li>
        <li><a href="http://169.254.169.254/latest/meta-data/">Cloud metadata</a></li>
        <li><a href="http://localhost:{port}/science/2016-05/03/content_2.htm">Loopback under another name</a></li>
        <li><a href="/redirect.htm">Redirect to metadata</a></li>
        <li><a href="/science/2016-05/04/content_1.htm">The good one</a></li>
        </ul></body></html>"#
    );
    server.route("/hostile/index.html", Reply::ok("text/html", list));
    server.route("/huge.htm", Reply::ok("text/html", vec![b'a'; 50 << 20]));
    server.route(
        "/endless.htm",
        Reply::ok("text/html", "").payload(Payload::Endless),
    );
    server.route(
        "/deep.htm",
        Reply::ok(
            "text/html",
            format!(
                "<html><body>{}<p>deep</p>{}</body></html>",
                "<div><span>".repeat(20_000),
                "</span></div>".repeat(20_000)
            ),
        ),
    );
    server.route("/broken.htm", Reply::ok("text/html; charset=utf-8", b"<html><body><h1>Broken \xff\xfe\xfd encoding</h1><p>Still \xc3\x28 readable text, mostly, with enough words to be an article body that an extractor can keep around.</p></body></html>".to_vec()));
    server.route(
        "/redirect.htm",
        Reply::status(302).header("location", "http://169.254.169.254/latest/meta-data/"),
    );
    let home = Gazette::new(&source(
        "hostile",
        &server.url("/hostile/index.html"),
        "kind = \"html\"\nlinks = \"ul.hostile a\"\nmax_body = \"2MiB\"\ntimeout = \"5s\"\ntimezone = \"Asia/Shanghai\"",
    ));
    let run = home.run(&["poll"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("overflow"),
        "{}",
        run.stderr
    );
    let skipped: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  article skipped: "))
        .collect();
    let has = |needle: &str| skipped.iter().any(|l| l.contains(needle));
    assert!(has("/huge.htm") && has("limit"), "{}", run.stdout);
    assert!(has("/endless.htm"), "{}", run.stdout);
    // a page nested too deep is read flattened (issue 16, defect 5), not refused whole
    assert!(!has("nested"), "{}", run.stdout);
    assert!(
        has("file:///etc/passwd") && has("only http and https"),
        "{}",
        run.stdout
    );
    assert!(has("ftp://example.org/x"), "{}", run.stdout);
    assert!(
        has("169.254.169.254 is not a public address"),
        "{}",
        run.stdout
    );
    assert!(has("localhost") && has("non-public"), "{}", run.stdout);
    assert!(has("/redirect.htm") && has("refused"), "{}", run.stdout);
    let titles: Vec<String> = home
        .run(&["articles", "--json"])
        .json_lines()
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        titles.contains(&"Zhongguancun Becomes IP Service Cluster Demonstration Zone".to_string()),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.starts_with("Broken")),
        "a broken encoding is read, not fatal: {titles:?}"
    );
}

#[test]
fn inspect_reads_pages_as_article_or_list() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site");
    let page = dir.join("content_1.htm");
    let run = crate::support::gazette(&[
        "inspect",
        page.to_str().expect("path"),
        "--url",
        "http://www.bjhd.example/science/2016-05/04/content_1.htm",
        "--timezone",
        "Asia/Shanghai",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["kind"], "article", "decided from the page's shape");
    assert_eq!(doc["encoding"], "UTF-8");
    let e = &doc["entries"][0];
    assert_eq!(e["published"], "2016-05-04T07:00:36Z");
    assert_eq!(e["published_local"], "2016-05-04T15:00:36+08:00");
    assert_eq!(e["date_method"], "text");
    assert!(
        e.get("date_looked_at").is_none(),
        "only listed when no date was found"
    );
    // an undated page: inspect says where it looked
    let undated = std::env::temp_dir().join(format!("gazette-undated-{}.html", std::process::id()));
    std::fs::write(
        &undated,
        "<html><body><h1>No date</h1><p>Text without any date in it at all, long enough to be an article body.</p></body></html>",
    )
    .expect("write");
    let run = crate::support::gazette(&[
        "inspect",
        undated.to_str().expect("path"),
        "--url",
        "http://www.bjhd.example/undated.htm",
        "--as",
        "article",
        "--json",
    ]);
    let _ = std::fs::remove_file(&undated);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["entries"][0]["date_source"], "first_seen", "{doc}");
    assert_eq!(
        doc["entries"][0]["date_looked_at"],
        serde_json::json!([
            "json-ld",
            "meta",
            "itemprop",
            "time",
            "attribute",
            "class",
            "text",
            "url",
            "modified"
        ]),
        "{doc}"
    );
    assert!(e.get("image").is_some() && e.get("canonical_url").is_some());
    let list = dir.join("index.html");
    let run = crate::support::gazette(&[
        "inspect",
        list.to_str().expect("path"),
        "--url",
        "http://www.bjhd.example/science/index.html",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["kind"], "list");
    let links = doc["links"].as_array().expect("links");
    assert_eq!(links.len(), 3);
    assert_eq!(
        links[0]["url"],
        "http://www.bjhd.example/science/2016-05/04/content_1.htm"
    );
    assert_eq!(
        links[0]["title"],
        "Zhongguancun Becomes IP Service Cluster Demonstration Zone"
    );
    // forced readings
    let run = crate::support::gazette(&[
        "inspect",
        list.to_str().expect("path"),
        "--as",
        "article",
        "--json",
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&run.stdout).expect("json")["kind"],
        "article"
    );
    let run = crate::support::gazette(&["inspect", page.to_str().expect("path"), "--as", "feed"]);
    assert_eq!(run.code, 1, "a page is not a feed: {}", run.stdout);
    assert!(run.stderr.contains("HTML page"), "{}", run.stderr);
}

/// Regression: an article page nested deeper than the extractor can walk safely (one page of
/// the Article Extraction Benchmark nests 1,500 deep) was refused whole. It is read flattened:
/// its paragraphs and its date come through.
#[test]
fn article_nested_1500_deep_is_read_not_refused() {
    let paragraphs = "<p>The patent office opened a new examination centre on Monday, the third this year, to cut waiting times.</p>\
        <p>Officials said the centre would handle applications in electronics and biotechnology, where delays were longest.</p>";
    let html = format!(
        "<html><head><title>Deep page</title><meta property=\"article:published_time\" content=\"2020-06-07T10:30:00+02:00\"></head><body>{}<h1>Deep page</h1>{paragraphs}{}</body></html>",
        "<div>".repeat(1500),
        "</div>".repeat(1500)
    );
    let path = std::env::temp_dir().join(format!("gazette-deep-{}.html", std::process::id()));
    std::fs::write(&path, html).expect("write");
    let run = crate::support::gazette(&[
        "inspect",
        path.to_str().expect("path"),
        "--as",
        "article",
        "--json",
        "--url",
        "https://news.example.de/deep",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let e = &doc["entries"][0];
    let text = e["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("third this year") && text.contains("biotechnology"),
        "{e}"
    );
    assert_eq!(e["published_local"], "2020-06-07T10:30:00+02:00", "{e}");
}
