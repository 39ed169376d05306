//! Published feeds: golden files (regenerate with `GAZETTE_BLESS=1 cargo test` and review the
//! diff), and validity: RSS and Atom parse back with feed-rs (and their own crates) to the same
//! items, JSON Feed follows the 1.1 field rules, and hostile text round-trips.

use std::path::Path;

use chrono::{DateTime, Utc};
use gazette::config;
use gazette::model::{Article, DateSource, SourceLink};
use gazette::publish::{Channel, Format, Rendered, Site, render};

const TRICKY: &str = "Patents & <IP> \"quotes\" 'apostrophes' 知识产权 🚀 ]]> end";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("date")
}

fn config() -> config::Config {
    let text = r#"
[server]
base_url = "https://news.example.org/gazette/"

[[source]]
id = "wire"
name = "China Science Wire & Co"
url = "https://wire.example/rss.xml"

[[source]]
id = "haidian"
url = "https://haidian.example/atom.xml"

[[topic]]
id = "ip-innovation"
title = "IP & innovation"
description = "Patents <and> more"
query = 'patent* OR IP'
"#;
    config::parse(text, Path::new("feeds.toml")).expect("valid config")
}

fn articles() -> Vec<Article> {
    let base = Article {
        id: "0123456789abcdef".into(),
        title: TRICKY.into(),
        url: "https://wire.example/2016/05/04/zgc.html?id=1&page=2".into(),
        published: t("2016-05-04T07:00:36Z"),
        published_local: None,
        date_source: DateSource::Entry,
        date_method: None,
        first_seen: t("2016-05-04T08:00:00Z"),
        updated: t("2016-05-04T09:00:00Z"),
        sources: vec!["wire".into(), "haidian".into()],
        links: vec![
            SourceLink {
                source: "wire".into(),
                url: "https://wire.example/2016/05/04/zgc.html?id=1&page=2".into(),
                guid: Some("w-1".into()),
                author: Some("Liu & \"Gan\"".into()),
                author_email: None,
                ..Default::default()
            },
            SourceLink {
                source: "haidian".into(),
                url: "https://haidian.example/zgc".into(),
                guid: None,
                author: Some("hd@haidian.example (Haidian Desk)".into()),
                author_email: None,
                ..Default::default()
            },
        ],
        author: Some("Liu & \"Gan\"".into()),
        language: Some("en".into()),
        summary: "A summary with <angle> & ampersand, 中文 and 🚀.".into(),
        text: "First paragraph.\n\nSecond paragraph.".into(),
        html: "<p>First <b>paragraph</b>.</p><p>Second ]]> paragraph \u{1}.</p>".into(),
        content_source: "wire".into(),
        categories: vec!["Science".into()],
        enclosures: vec![],
        dedup_keys: vec![],
        apart: vec![],
        image: None,
        topics: vec!["ip-innovation".into()],
        source_updated: Some(t("2016-05-04T08:30:00Z")),
    };
    let mut second = base.clone();
    second.id = "fedcba9876543210".into();
    second.title = "Second article".into();
    second.url = "https://haidian.example/second".into();
    second.published = t("2016-05-03T02:00:00Z");
    second.updated = t("2016-05-03T02:00:00Z");
    second.sources = vec!["haidian".into()];
    second.links = vec![SourceLink {
        source: "haidian".into(),
        url: "https://haidian.example/second".into(),
        guid: None,
        author: None,
        author_email: None,
        ..Default::default()
    }];
    second.content_source = "haidian".into();
    second.source_updated = None;
    second.categories = vec![];
    second.author = None;
    second.summary = String::new();
    vec![base, second]
}

fn rendered(format: Format) -> Rendered {
    let config = config();
    render(
        &Channel::of_topic(&config.topics[0]),
        &articles(),
        format,
        &Site::new(&config),
    )
    .expect("renders")
}

#[test]
fn published_feeds_match_golden_files() {
    for format in Format::ALL {
        let r = rendered(format);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("ip-innovation.{}", format.ext()));
        if std::env::var_os("GAZETTE_BLESS").is_some() {
            std::fs::write(&path, &r.body).expect("bless");
        }
        let golden = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with GAZETTE_BLESS=1)", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            String::from_utf8_lossy(&golden),
            "{} differs from its golden file",
            format.ext()
        );
        // same input, same bytes, same validator
        assert_eq!(rendered(format).etag, r.etag);
        assert_eq!(r.last_modified, t("2016-05-04T09:00:00Z"));
    }
}

#[test]
fn rss_and_atom_parse_back_to_the_same_items() {
    for format in [Format::Rss, Format::Atom] {
        let r = rendered(format);
        let feed = feed_rs::parser::parse(r.body.as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", format.ext()));
        assert_eq!(
            feed.title.as_ref().map(|t| t.content.as_str()),
            Some("IP & innovation")
        );
        assert_eq!(feed.entries.len(), 2);
        let e = &feed.entries[0];
        assert_eq!(
            e.title.as_ref().map(|t| t.content.as_str()),
            Some(TRICKY),
            "{}",
            format.ext()
        );
        assert_eq!(
            e.links.first().map(|l| l.href.as_str()),
            Some("https://wire.example/2016/05/04/zgc.html?id=1&page=2")
        );
        assert_eq!(e.published, Some(t("2016-05-04T07:00:36Z")));
        let id = if format == Format::Rss {
            "0123456789abcdef"
        } else {
            "urn:gazette:article:0123456789abcdef"
        };
        assert_eq!(e.id, id);
        let content = e
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        assert!(
            content.contains("Second ]]> paragraph"),
            "{}: {content}",
            format.ext()
        );
        assert!(!content.contains('\u{1}'), "control characters are dropped");
        assert_eq!(
            e.authors.first().and_then(|p| p.name.clone()).as_deref(),
            Some("Liu & \"Gan\"")
        );
        assert!(e.categories.iter().any(|c| c.term == "ip-innovation"));
        assert_eq!(
            feed.entries[1].title.as_ref().map(|t| t.content.as_str()),
            Some("Second article")
        );
    }
}

#[test]
fn rss_has_self_link_source_and_content_encoded() {
    let r = rendered(Format::Rss);
    let channel = rss::Channel::read_from(r.body.as_slice()).expect("rss crate reads it");
    let self_link = channel
        .atom_ext()
        .and_then(|a| a.links().iter().find(|l| l.rel() == "self").cloned())
        .expect("atom:link self");
    assert_eq!(
        self_link.href(),
        "https://news.example.org/gazette/topics/ip-innovation.rss"
    );
    assert_eq!(channel.link(), "https://news.example.org/gazette/");
    assert_eq!(channel.description(), "Patents <and> more");
    assert!(channel.last_build_date().is_some());
    let item = &channel.items()[0];
    let guid = item.guid().expect("guid");
    assert_eq!(
        (guid.value(), guid.is_permalink()),
        ("0123456789abcdef", false)
    );
    let source = item.source().expect("source");
    assert_eq!(source.url(), "https://wire.example/rss.xml");
    assert_eq!(source.title(), Some("China Science Wire & Co"));
    assert!(
        item.content()
            .is_some_and(|c| c.contains("<b>paragraph</b>"))
    );
    // description is HTML: the plain summary comes back as the same text, no element in it
    assert_eq!(
        item.description()
            .map(|d| html_escape::decode_html_entities(d).into_owned()),
        Some("A summary with <angle> & ampersand, 中文 and 🚀.".to_string())
    );
    assert!(!item.description().unwrap_or_default().contains('<'));
    assert_eq!(
        item.dublin_core_ext().map(|d| d.creators().to_vec()),
        Some(vec!["Liu & \"Gan\"".to_string()])
    );
    let body = String::from_utf8_lossy(&r.body);
    assert!(
        body.contains("xmlns:content=")
            && body.contains("xmlns:dc=")
            && body.contains("xmlns:atom=")
    );
}

#[test]
fn atom_has_ids_self_link_and_html_content() {
    let r = rendered(Format::Atom);
    let feed = atom_syndication::Feed::read_from(r.body.as_slice()).expect("atom crate reads it");
    assert_eq!(feed.id(), "urn:gazette:topic:ip-innovation");
    assert!(feed.links().iter().any(|l| l.rel() == "self"
        && l.href() == "https://news.example.org/gazette/topics/ip-innovation.atom"));
    let e = &feed.entries()[0];
    assert_eq!(e.content().and_then(|c| c.content_type()), Some("html"));
    assert!(e.links().iter().any(|l| l.rel() == "alternate"));
    // RFC 4287 §4.1.1: every entry has an author (its own or the feed's)
    assert!(!feed.authors().is_empty() || feed.entries().iter().all(|e| !e.authors().is_empty()));
}

#[test]
fn json_feed_follows_the_1_1_field_rules() {
    let r = rendered(Format::Json);
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(doc["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(doc["title"], "IP & innovation");
    assert_eq!(
        doc["feed_url"],
        "https://news.example.org/gazette/topics/ip-innovation.json"
    );
    assert_eq!(doc["home_page_url"], "https://news.example.org/gazette/");
    let items = doc["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    for item in items {
        // id is a required string; at least one of content_html / content_text
        assert!(item["id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(item["content_html"].is_string() || item["content_text"].is_string());
        for date in ["date_published", "date_modified"] {
            let d = item[date].as_str().expect(date);
            assert!(DateTime::parse_from_rfc3339(d).is_ok(), "{date}: {d}");
        }
        if let Some(authors) = item.get("authors") {
            assert!(
                authors
                    .as_array()
                    .expect("authors")
                    .iter()
                    .all(|a| a["name"].is_string())
            );
        }
        // 1.1 dropped `author`; it must not appear
        assert!(item.get("author").is_none());
        // every other key is the spec's or an extension (JSON Feed 1.1, "Extensions")
        const ITEM_KEYS: &[&str] = &[
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "image",
            "banner_image",
            "date_published",
            "date_modified",
            "authors",
            "tags",
            "language",
            "attachments",
        ];
        for key in item.as_object().expect("object").keys() {
            assert!(
                ITEM_KEYS.contains(&key.as_str()) || key.starts_with('_'),
                "{key} is neither a JSON Feed 1.1 item field nor an extension"
            );
        }
        for a in item["authors"].as_array().into_iter().flatten() {
            assert!(
                a["name"].as_str().is_some_and(|n| !n.trim().is_empty()),
                "{a}"
            );
        }
        for a in item["attachments"].as_array().into_iter().flatten() {
            // url and mime_type are required; size and duration are numbers when present
            assert!(a["url"].is_string() && a["mime_type"].is_string(), "{a}");
            assert!(a.get("size_in_bytes").is_none_or(|v| v.is_u64()), "{a}");
            assert!(
                a.get("duration_in_seconds").is_none_or(|v| v.is_number()),
                "{a}"
            );
        }
        assert!(
            item["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|t| t.is_string())
        );
        assert!(item["_gazette"]["sources"].is_array(), "{item}");
    }
    assert_eq!(items[0]["title"], TRICKY);
    assert_eq!(
        items[0]["tags"],
        serde_json::json!(["ip-innovation", "Science"])
    );
    assert_eq!(
        items[0]["content_text"],
        "First paragraph.\n\nSecond paragraph."
    );
    // feed-rs reads it back too
    let feed = feed_rs::parser::parse(r.body.as_slice()).expect("feed-rs reads JSON Feed");
    assert_eq!(feed.entries.len(), 2);
}

#[test]
fn empty_topic_renders_valid_feeds() {
    let config = config();
    for format in Format::ALL {
        let r = render(
            &Channel::of_topic(&config.topics[0]),
            &[],
            format,
            &Site::new(&config),
        )
        .expect("renders");
        assert_eq!(r.items, 0);
        let feed = feed_rs::parser::parse(r.body.as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", format.ext()));
        assert!(feed.entries.is_empty());
    }
}

/// Text that was never HTML: a title and summary full of `<script>`, `<video>`, `&`, `<` and
/// quotes go through all three formats and come back, read by feed-rs (RSS descriptions read
/// as the HTML they are), as the same text with no element in it.
#[test]
fn hostile_titles_and_summaries_come_back_as_the_same_text_in_every_format() {
    let title = "<script>alert(1)</script> AT&T says 3 < 5 & \"quotes\" <video src=x onerror=y>";
    let summary =
        "&lt;script&gt; is text here: <script>alert(2)</script> <video autoplay> 1 < 2 && 'q' AT&T";
    let mut a = articles().remove(0);
    a.title = title.into();
    a.summary = summary.into();
    let config = config();
    let no_elements = |html: &str, what: &str| {
        let doc = scraper::Html::parse_fragment(html);
        let elements = doc
            .root_element()
            .descendants()
            .filter(|n| n.value().is_element())
            .count();
        assert_eq!(elements, 1, "{what}: elements in {html:?}"); // the fragment's own root
        doc.root_element().text().collect::<String>()
    };
    for format in Format::ALL {
        let r = render(
            &Channel::of_topic(&config.topics[0]),
            std::slice::from_ref(&a),
            format,
            &Site::new(&config),
        )
        .expect("renders");
        let feed = feed_rs::parser::parse(r.body.as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", format.ext()));
        let e = &feed.entries[0];
        let got_title = e
            .title
            .as_ref()
            .map(|t| t.content.clone())
            .unwrap_or_default();
        assert_eq!(got_title, title, "{} title", format.ext());
        let got_summary = e
            .summary
            .as_ref()
            .map(|t| t.content.clone())
            .unwrap_or_default();
        let summary_text = match format {
            // RSS description is HTML: read it as HTML
            Format::Rss => no_elements(&got_summary, "rss description"),
            _ => got_summary,
        };
        assert_eq!(summary_text, summary, "{} summary", format.ext());
    }
}

/// A podcast republished through a topic keeps every enclosure: RSS's one `<enclosure>` (the
/// audio) and a `media:content` per file, Atom `rel="enclosure"` links, JSON Feed attachments
/// with sizes and durations, and the lead image.
#[test]
fn a_podcast_keeps_every_enclosure_in_every_format() {
    let mut a = articles().remove(0);
    a.enclosures = vec![
        gazette::model::Enclosure {
            url: "https://pod.example/cover.jpg".into(),
            r#type: Some("image/jpeg".into()),
            length: None,
            duration: None,
        },
        gazette::model::Enclosure {
            url: "https://pod.example/ep42.mp3".into(),
            r#type: Some("audio/mpeg".into()),
            length: Some(34_567_890),
            duration: Some(2_712),
        },
    ];
    a.image = Some("https://pod.example/ep42.jpg".into());
    let config = config();
    let site = Site::new(&config);
    let render_as = |format| {
        render(
            &Channel::of_topic(&config.topics[0]),
            std::slice::from_ref(&a),
            format,
            &site,
        )
        .expect("renders")
    };
    // RSS: the audio file is the one <enclosure>; both are media:content
    let rss = rss::Channel::read_from(render_as(Format::Rss).body.as_slice()).expect("rss");
    let enc = rss.items()[0].enclosure().expect("enclosure");
    assert_eq!(
        (enc.url(), enc.mime_type(), enc.length()),
        ("https://pod.example/ep42.mp3", "audio/mpeg", "34567890")
    );
    let media = &rss.items()[0].extensions()["media"];
    assert_eq!(media["content"].len(), 2);
    assert_eq!(
        media["thumbnail"][0].attrs().get("url").map(String::as_str),
        Some("https://pod.example/ep42.jpg")
    );
    let parsed = feed_rs::parser::parse(render_as(Format::Rss).body.as_slice()).expect("feed-rs");
    let urls: Vec<String> = parsed.entries[0]
        .media
        .iter()
        .flat_map(|m| {
            m.content
                .iter()
                .filter_map(|c| c.url.as_ref().map(|u| u.to_string()))
        })
        .collect();
    assert!(
        urls.contains(&"https://pod.example/ep42.mp3".to_string()),
        "{urls:?}"
    );
    // Atom: one enclosure link per file
    let atom =
        atom_syndication::Feed::read_from(render_as(Format::Atom).body.as_slice()).expect("atom");
    let links: Vec<(&str, Option<&str>, Option<&str>)> = atom.entries()[0]
        .links()
        .iter()
        .filter(|l| l.rel() == "enclosure")
        .map(|l| (l.href(), l.mime_type(), l.length()))
        .collect();
    assert_eq!(
        links,
        [
            ("https://pod.example/cover.jpg", Some("image/jpeg"), None),
            (
                "https://pod.example/ep42.mp3",
                Some("audio/mpeg"),
                Some("34567890")
            ),
        ]
    );
    // JSON Feed: attachments with everything known
    let json: serde_json::Value =
        serde_json::from_slice(&render_as(Format::Json).body).expect("json");
    let item = &json["items"][0];
    assert_eq!(item["image"], "https://pod.example/ep42.jpg");
    assert_eq!(
        item["attachments"][1],
        serde_json::json!({
            "url": "https://pod.example/ep42.mp3",
            "mime_type": "audio/mpeg",
            "size_in_bytes": 34567890,
            "duration_in_seconds": 2712
        })
    );
    assert_eq!(item["attachments"][0]["mime_type"], "image/jpeg");
}

/// One primary source per article, the one whose text is shown: it gives the link, the author
/// and `<source>` in every format; the others are credited as via links and in `_gazette`.
#[test]
fn the_source_whose_text_is_shown_is_credited_first_everywhere() {
    let mut a = articles().remove(0);
    // the text now comes from haidian: it becomes the primary source
    a.content_source = "haidian".into();
    let config = config();
    let site = Site::new(&config);
    let render_as = |format| {
        render(
            &Channel::of_topic(&config.topics[0]),
            std::slice::from_ref(&a),
            format,
            &site,
        )
        .expect("renders")
    };
    let rss = rss::Channel::read_from(render_as(Format::Rss).body.as_slice()).expect("rss");
    let item = &rss.items()[0];
    assert_eq!(item.link(), Some("https://haidian.example/zgc"));
    assert_eq!(
        item.source().map(|s| s.url()),
        Some("https://haidian.example/atom.xml")
    );
    assert_eq!(
        item.dublin_core_ext().map(|d| d.creators().to_vec()),
        Some(vec!["Haidian Desk".to_string()])
    );
    let via = item
        .atom_ext()
        .map(|x| x.links().to_vec())
        .unwrap_or_default();
    assert_eq!(
        via.iter().map(|l| (l.rel(), l.href())).collect::<Vec<_>>(),
        [
            // gazette's archived copy (issue 22), then the other source
            (
                "related",
                "https://news.example.org/gazette/articles/0123456789abcdef"
            ),
            (
                "via",
                "https://wire.example/2016/05/04/zgc.html?id=1&page=2"
            )
        ]
    );
    let atom =
        atom_syndication::Feed::read_from(render_as(Format::Atom).body.as_slice()).expect("atom");
    let e = &atom.entries()[0];
    assert!(
        e.links()
            .iter()
            .any(|l| l.rel() == "alternate" && l.href() == "https://haidian.example/zgc")
    );
    assert!(
        e.links()
            .iter()
            .any(|l| l.rel() == "via" && l.href().starts_with("https://wire.example/"))
    );
    assert_eq!(e.authors()[0].name(), "Haidian Desk");
    assert_eq!(e.authors()[0].email(), Some("hd@haidian.example"));
    assert_eq!(
        e.source().map(|s| s.id()),
        Some("https://haidian.example/atom.xml")
    );
    let json: serde_json::Value =
        serde_json::from_slice(&render_as(Format::Json).body).expect("json");
    let item = &json["items"][0];
    assert_eq!(item["url"], "https://haidian.example/zgc");
    assert_eq!(item["authors"][0]["name"], "Haidian Desk");
    assert_eq!(item["authors"][1]["name"], "Liu & \"Gan\"");
    assert_eq!(item["_gazette"]["sources"][0]["id"], "haidian");
    assert_eq!(item["_gazette"]["sources"][1]["id"], "wire");
    // the sources' own updated date, not gazette's storing time
    assert_eq!(item["date_modified"], "2016-05-04T08:30:00Z");
}

/// Warnings the W3C checker gives on these feeds that are not defects, with why.
const ALLOWED_WARNINGS: &[(&str, &str)] = &[
    // rendered to a file, not served from the URL the self link names
    ("SelfDoesntMatchLocation", "validated offline, from a file"),
    // the hostile fixture's title and summary are text that names tags ("<script>…"): RSS has
    // no way to say "this is text" but escaping, and Atom's type="text" says it
    // (RFC 4287 §3.1.1.1); the checker guesses HTML from the characters alone
    ("ContainsHTML", "a text title that names a tag"),
    (
        "ContainsUndeclaredHTML",
        "a type=\"text\" title or summary that names a tag",
    ),
];

/// The W3C Feed Validation Service's own checker (`../shared/tools/validate-feed.py`) on every
/// kind of topic gazette renders (a podcast, hostile titles, a story from several sources, CJK,
/// an item with no summary) as RSS and Atom, and on `/status.rss`: no errors, and no warnings
/// but the ones listed above. `.ci/run` installs html5lib so that CI runs it.
#[test]
fn published_feeds_pass_the_w3c_feed_validator() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/validate-feed.py");
    if !tool.exists() {
        eprintln!(
            "SKIP published_feeds_pass_the_w3c_feed_validator: {} is absent",
            tool.display()
        );
        return;
    }
    let python = ["python3", "/usr/bin/python3"].into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import html5lib"])
            .status()
            .is_ok_and(|s| s.success())
    });
    let Some(python) = python else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install python3-html5lib for the validator step"
        );
        eprintln!("SKIP published_feeds_pass_the_w3c_feed_validator: python3 has no html5lib");
        return;
    };
    let mut all = articles();
    // a podcast episode
    let mut pod = all[0].clone();
    pod.id = "1111111111111111".into();
    pod.title = "Episode 42: patents in podcasts".into();
    pod.published = t("2016-05-02T10:00:00Z");
    pod.source_updated = None;
    pod.enclosures = vec![gazette::model::Enclosure {
        url: "https://pod.example/ep42.mp3".into(),
        r#type: Some("audio/mpeg".into()),
        length: Some(34_567_890),
        duration: Some(2_712),
    }];
    pod.image = Some("https://pod.example/ep42.jpg".into());
    // hostile text
    let mut hostile = all[1].clone();
    hostile.id = "2222222222222222".into();
    hostile.title = "<script>alert(1)</script> AT&T 3 < 5 \"q\" <video src=x>".into();
    hostile.summary = "<img src=x onerror=alert(1)> & more &lt;b&gt;".into();
    hostile.published = t("2016-05-01T10:00:00Z");
    // CJK
    let mut cjk = all[1].clone();
    cjk.id = "3333333333333333".into();
    cjk.title = "中关村成为知识产权服务业集聚发展示范区".into();
    cjk.summary = "截至2015年底，中关村共有专利代理机构223家。".into();
    cjk.language = Some("zh-cn".into());
    cjk.published = t("2016-04-30T10:00:00Z");
    all.extend([pod, hostile, cjk]);
    let config = config();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for format in [Format::Rss, Format::Atom] {
        let channel = Channel::of_topic(&config.topics[0]);
        let r = render(&channel, &all, format, &Site::new(&config)).expect("renders");
        let path = dir.path().join(format!("topic.{}", format.ext()));
        std::fs::write(&path, &r.body).expect("write");
        files.push(path);
        // an archive document of the feed's history (RFC 5005): fh:archive, current and
        // prev-archive links
        let mut site = Site::new(&config);
        site.history = gazette::publish::History {
            archive_url: Some(gazette::publish::archive_url(&site, &channel, 2, format)),
            current: Some(site.feed_url(&channel, format)),
            prev_archive: Some(gazette::publish::archive_url(&site, &channel, 1, format)),
        };
        let r = render(&channel, &all, format, &site).expect("renders");
        let path = dir.path().join(format!("topic-archive-2.{}", format.ext()));
        std::fs::write(&path, &r.body).expect("write");
        files.push(path);
    }
    let archive = gazette::archive::Archive::open(
        &dir.path().join("archive"),
        std::time::Duration::from_secs(3600),
    )
    .expect("archive");
    let event = gazette::model::SourceEvent {
        at: t("2016-05-04T10:00:00Z"),
        source: "wire".into(),
        kind: gazette::model::EventKind::Failing,
        message: "fetching https://wire.example/rss.xml: HTTP 500 <b>boom</b> & more".into(),
    };
    archive
        .record_poll("wire", &gazette::model::PollState::default(), &[event])
        .expect("event");
    let status = gazette::health::events_rss(&archive, &config.server.base_url).expect("rss");
    let path = dir.path().join("status.rss");
    std::fs::write(&path, &status.body).expect("write");
    files.push(path);

    let out = std::process::Command::new(python)
        .arg(&tool)
        .args(&files)
        .output()
        .expect("run the validator");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}");
    assert!(
        out.status.success() && !report.contains("ERROR"),
        "the validator found errors:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unexpected: Vec<&str> = report
        .lines()
        .filter(|l| l.trim_start().starts_with("WARNING"))
        .filter(|l| !ALLOWED_WARNINGS.iter().any(|(w, _)| l.contains(w)))
        .collect();
    assert!(unexpected.is_empty(), "warnings not allowed:\n{report}");
    assert_eq!(report.matches("== ").count(), 5, "{report}");
}

/// End to end: a podcast source polled by the real binary and republished through a topic
/// keeps every enclosure (with its type, length and duration), the episode image and the host
/// as author in RSS, Atom and JSON Feed.
#[test]
fn a_polled_podcast_is_republished_with_every_enclosure() {
    use crate::support::{FixtureServer, Gazette, Reply, fixture, source};
    let server = FixtureServer::start();
    server.route(
        "/pod.rss",
        Reply::ok("application/rss+xml", fixture("reading/podcast.rss")),
    );
    let home = Gazette::new(&format!(
        "{}[[topic]]\nid = \"pods\"\ntitle = \"Podcasts\"\nquery = \"patent*\"\n",
        source("pod", &server.url("/pod.rss"), "")
    ));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("pod: 1 new"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let body = |format: &str| home.run(&["render", "pods", "--format", format]).stdout;
    let rss = rss::Channel::read_from(body("rss").as_bytes()).expect("rss");
    let item = &rss.items()[0];
    assert_eq!(
        item.enclosure()
            .map(|e| (e.url(), e.mime_type(), e.length())),
        Some(("http://pod.example/ep42.mp3", "audio/mpeg", "34567890"))
    );
    let media: Vec<String> = item.extensions()["media"]["content"]
        .iter()
        .filter_map(|m| m.attrs().get("url").cloned())
        .collect();
    assert_eq!(
        media,
        ["http://pod.example/ep42.mp3", "http://pod.example/ep42.ogg"]
    );
    assert_eq!(
        item.dublin_core_ext().map(|d| d.creators().to_vec()),
        Some(vec!["Pat Host".to_string()])
    );
    let atom = atom_syndication::Feed::read_from(body("atom").as_bytes()).expect("atom");
    let enclosures = atom.entries()[0]
        .links()
        .iter()
        .filter(|l| l.rel() == "enclosure")
        .count();
    assert_eq!(enclosures, 2);
    assert_eq!(
        atom.entries()[0].authors()[0].email(),
        Some("host@pod.example")
    );
    let json: serde_json::Value = serde_json::from_str(&body("json")).expect("json");
    let item = &json["items"][0];
    assert_eq!(item["attachments"][0]["duration_in_seconds"], 2712);
    assert_eq!(item["attachments"][0]["size_in_bytes"], 34567890);
    assert_eq!(item["attachments"][1]["mime_type"], "audio/ogg");
    assert_eq!(item["image"], "http://pod.example/ep42.jpg");
    assert_eq!(item["authors"][0]["name"], "Pat Host");
}
