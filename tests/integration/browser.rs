//! The pages people read, in a real browser (issue 22): Debian's chromium, headless, driven
//! over the DevTools protocol (chromiumoxide), at a desktop's and at a phone's width. Checks
//! the visible text, that nothing runs (no dialog, no element made of a title) and that a
//! phone never scrolls sideways; saves screenshots under `target/screenshots/` for review.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::EventJavascriptDialogOpening;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;

use crate::support::{FixtureServer, Gazette, Reply, source};

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

const HOSTILE_1: &str = "<script>alert(1)</script>";
const HOSTILE_2: &str = "\"><img src=x onerror=alert(1)>";

#[test]
fn pages_read_well_at_desktop_and_phone_width_and_run_nothing() {
    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium for the browser test"
        );
        eprintln!("SKIP pages_read_well_at_desktop_and_phone_width_and_run_nothing: no chromium");
        return;
    };
    let server = FixtureServer::start();
    server.same_story();
    // titles from a hostile source, as plain text (Atom type="text")
    let hostile = format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Bad</title><id>urn:bad</id>\
         <updated>2016-05-04T07:00:00Z</updated>\
         <entry><title type=\"text\">{} park</title><id>urn:bad:1</id><link href=\"http://bad.example/1\"/>\
         <updated>2016-05-04T07:00:00Z</updated><summary>One.</summary></entry>\
         <entry><title type=\"text\">{} park</title><id>urn:bad:2</id><link href=\"http://bad.example/2\"/>\
         <updated>2016-05-04T08:00:00Z</updated><summary>Two.</summary></entry></feed>",
        html_escape::encode_text(HOSTILE_1),
        html_escape::encode_text(HOSTILE_2),
    );
    server.route("/bad.atom", Reply::ok("application/atom+xml", hostile));
    let home = Gazette::new(&format!(
        "{}{}{}[[topic]]\nid = \"parks\"\ntitle = \"Parks & zones\"\nquery = 'park OR zone'\n",
        source(
            "wire",
            &server.url("/wire.rss"),
            "name = \"China Science Wire\"\ntimezone = \"Asia/Shanghai\""
        ),
        source(
            "daily",
            &server.url("/daily.json"),
            "name = \"Innovation Daily\""
        ),
        source("bad", &server.url("/bad.atom"), ""),
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    let listed = home.run(&["articles", "--json"]).json_lines();
    let id_of = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        listed
            .iter()
            .find(|a| pred(a))
            .and_then(|a| a["id"].as_str())
            .expect("article")
            .to_string()
    };
    let merged = id_of(&|a| a["sources"] == serde_json::json!(["wire", "daily"]));
    let bad = id_of(&|a| a["title"] == format!("{HOSTILE_2} park"));
    let daemon = home.start();
    let base = format!("http://{}", daemon.addr);
    // (path, name of the screenshot, text that must be visible)
    let pages: Vec<(String, &str, Vec<String>)> = vec![
        (
            "/".into(),
            "front",
            vec!["Parks & zones".into(), "Newest articles".into()],
        ),
        (
            "/topics/parks".into(),
            "topic",
            vec![
                "Parks & zones".into(),
                format!("{HOSTILE_1} park"),
                format!("{HOSTILE_2} park"),
            ],
        ),
        (
            "/sources/wire".into(),
            "source",
            vec![
                "China Science Wire".into(),
                "Haidian opens a new science park".into(),
            ],
        ),
        (
            format!("/articles/{merged}"),
            "article",
            vec![
                "Zhongguancun Becomes IP Service Cluster Demonstration Zone".into(),
                "Innovation Daily".into(),
                "intellectual property promotion meeting".into(),
            ],
        ),
        (
            format!("/articles/{bad}"),
            "article-hostile",
            vec![format!("{HOSTILE_2} park")],
        ),
        (
            "/sources".into(),
            "sources",
            vec!["China Science Wire".into()],
        ),
        // a feed URL opened in a browser: the stylesheet's page, saying how to subscribe
        (
            "/topics/parks.rss".into(),
            "feed-rss",
            vec![
                "This is a web feed".into(),
                format!("{base}/topics/parks.rss"),
                format!("{HOSTILE_1} park"),
            ],
        ),
        (
            "/sources/wire.atom".into(),
            "feed-atom",
            vec![
                "This is a web feed".into(),
                "Haidian opens a new science park".into(),
            ],
        ),
        (
            "/status".into(),
            "status",
            vec!["Source health".into(), "Innovation Daily".into()],
        ),
        // a search in the topic query language, hostile titles among its results
        (
            "/search?q=park%20AND%20NOT%20title%3Azhongguancun".into(),
            "search",
            vec![
                "Search: park AND NOT title:zhongguancun".into(),
                format!("{HOSTILE_1} park"),
                "Haidian opens a new science park".into(),
            ],
        ),
    ];
    // the archive was written by `poll`: the daemon builds its search index first
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = crate::support::http_get(daemon.addr, "/status.json", &[]);
        let doc: serde_json::Value = serde_json::from_slice(&status.body).expect("json");
        if doc["search"]["ready"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "search index never ready: {doc}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        for (label, viewport) in [
            (
                "1280",
                Viewport {
                    width: 1280,
                    height: 900,
                    device_scale_factor: Some(1.0),
                    emulating_mobile: false,
                    is_landscape: true,
                    has_touch: false,
                },
            ),
            (
                "390",
                Viewport {
                    width: 390,
                    height: 844,
                    device_scale_factor: Some(2.0),
                    emulating_mobile: true,
                    is_landscape: false,
                    has_touch: true,
                },
            ),
        ] {
            let width = i64::from(viewport.width);
            let config = BrowserConfig::builder()
                .chrome_executable(&chrome)
                .no_sandbox()
                .arg("--disable-gpu")
                .arg("--disable-dev-shm-usage")
                .arg("--no-first-run")
                .window_size(viewport.width, viewport.height)
                .viewport(viewport)
                .request_timeout(Duration::from_secs(60))
                .build()
                .expect("browser config");
            let (mut browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
            // the protocol's event loop; an event this client does not know (a newer chromium
            // than its protocol) is an error to skip, not the end
            let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
            for (path, name, want) in &pages {
                let page = browser.new_page("about:blank").await.expect("page");
                let mut dialogs = page
                    .event_listener::<EventJavascriptDialogOpening>()
                    .await
                    .expect("dialog events");
                page.goto(format!("{base}{path}")).await.expect("navigates");
                page.wait_for_navigation().await.expect("loaded");
                let text: String = page
                    .evaluate("document.body.innerText")
                    .await
                    .expect("text")
                    .into_value()
                    .expect("a string");
                for w in want {
                    assert!(text.contains(w.as_str()), "{path} at {label} px shows {w:?}:\n{text}");
                }
                let scripts: i64 = page
                    .evaluate(
                        "document.querySelectorAll('script, img[src=\"x\"], [onerror], [onload]').length",
                    )
                    .await
                    .expect("count")
                    .into_value()
                    .expect("a number");
                assert_eq!(scripts, 0, "{path}: an element made of a title");
                let scroll: i64 = page
                    .evaluate("document.documentElement.scrollWidth")
                    .await
                    .expect("width")
                    .into_value()
                    .expect("a number");
                assert!(
                    scroll <= width,
                    "{path} at {label} px scrolls sideways: {scroll} px wide"
                );
                // nor does any box inside it (a table too wide for a phone)
                let widest: i64 = page
                    .evaluate(
                        "Math.max(0, ...Array.from(document.querySelectorAll('table, pre, div')).map(e => e.scrollWidth))",
                    )
                    .await
                    .expect("widths")
                    .into_value()
                    .expect("a number");
                assert!(
                    widest <= width,
                    "{path} at {label} px has a box {widest} px wide"
                );
                page.save_screenshot(
                    ScreenshotParams::builder().full_page(true).build(),
                    shots.join(format!("{name}-{label}.png")),
                )
                .await
                .expect("screenshot");
                // nothing ran: no alert() was ever opened
                let dialog = tokio::time::timeout(Duration::from_millis(200), dialogs.next()).await;
                assert!(
                    !matches!(dialog, Ok(Some(_))),
                    "{path}: a dialog opened at {label} px"
                );
                page.close().await.expect("close");
            }
            browser.close().await.expect("browser closes");
            let _ = browser.wait().await;
            let _ = events.await;
        }
    });
    for name in ["front", "topic", "article-hostile", "status", "feed-rss"] {
        for label in ["1280", "390"] {
            let shot = shots.join(format!("{name}-{label}.png"));
            let bytes = std::fs::read(&shot).expect("a screenshot");
            assert!(bytes.starts_with(b"\x89PNG"), "{}", shot.display());
        }
    }
}
