//! Polite polling: conditional GET with validators echoed byte for byte and refreshed one by one.

use crate::support::{FixtureServer, Gazette, Reply, fixture, source};

#[test]
fn validators_are_echoed_exactly_and_a_304_skips_parsing_and_storing() {
    let server = FixtureServer::start();
    let lm = "Wed, 04 May 2016 07:00:36 GMT";
    server.sequence(
        "/feed.rss",
        vec![
            Reply::ok("application/rss+xml", fixture("same-story.rss"))
                .header("etag", "W/\"abc 1\"")
                .header("last-modified", lm),
            // a changed ETag with an unchanged Last-Modified (Miniflux #2675)
            Reply::status(304).header("etag", "\"def\""),
            Reply::status(304),
        ],
    );
    let home = Gazette::new(&source("wire", &server.url("/feed.rss"), ""));
    let first = home.run(&["poll"]);
    assert!(first.stdout.contains("wire: 2 new"), "{}", first.stdout);
    let before = home.run(&["articles", "--json"]).stdout;

    let second = home.run(&["poll"]);
    assert!(
        second.stdout.contains("wire: not modified (304"),
        "{}",
        second.stdout
    );
    let third = home.run(&["poll"]);
    assert!(
        third.stdout.contains("wire: not modified (304"),
        "{}",
        third.stdout
    );
    assert_eq!(
        home.run(&["articles", "--json"]).stdout,
        before,
        "a 304 changes no article"
    );

    let requests = server.requests("/feed.rss");
    assert_eq!(requests.len(), 3);
    assert!(
        !requests[0].contains_key("if-none-match")
            && !requests[0].contains_key("if-modified-since")
    );
    assert_eq!(
        requests[1].get("if-none-match").map(String::as_str),
        Some("W/\"abc 1\""),
        "echoed byte for byte"
    );
    assert_eq!(
        requests[1].get("if-modified-since").map(String::as_str),
        Some(lm)
    );
    assert_eq!(
        requests[2].get("if-none-match").map(String::as_str),
        Some("\"def\""),
        "the new ETag was stored"
    );
    assert_eq!(
        requests[2].get("if-modified-since").map(String::as_str),
        Some(lm),
        "the unchanged one was kept"
    );
}

#[test]
fn validators_are_not_sent_to_a_different_url() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")).header("etag", "\"a\""),
    );
    server.route(
        "/b.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("wire", &server.url("/a.rss"), ""));
    assert_eq!(home.run(&["poll"]).code, 0);
    // the user points the source at another URL
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    std::fs::write(home.config_path(), config.replace("/a.rss", "/b.rss")).expect("edit");
    assert_eq!(home.run(&["poll"]).code, 0);
    assert!(!server.requests("/b.rss")[0].contains_key("if-none-match"));
}

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::support::{Payload, http_get};

fn status_of(home: &Gazette, id: &str) -> serde_json::Value {
    let run = home.run(&["status", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    doc["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id).cloned())
        .expect("source row")
}

fn secs_until(row: &serde_json::Value, field: &str) -> i64 {
    let t: DateTime<Utc> = row[field].as_str().expect(field).parse().expect("time");
    let base: DateTime<Utc> = row["last_attempt"]
        .as_str()
        .expect("last_attempt")
        .parse()
        .expect("time");
    (t - base).num_seconds()
}

#[test]
fn retry_after_in_seconds_and_as_a_date_is_honoured() {
    let server = FixtureServer::start();
    server.route("/busy", Reply::status(429).header("retry-after", "120"));
    let later = (Utc::now() + chrono::Duration::seconds(3600))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    server.route("/down", Reply::status(503).header("retry-after", &later));
    let home = Gazette::new(&format!(
        "{}{}",
        source("busy", &server.url("/busy"), "interval = \"1m\""),
        source("down", &server.url("/down"), "interval = \"1m\"")
    ));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("busy: failed: fetching") && run.stdout.contains("HTTP 429"),
        "{}",
        run.stdout
    );
    let busy = status_of(&home, "busy");
    assert_eq!(busy["state"], "backing off");
    assert!(secs_until(&busy, "next_poll") >= 120, "{busy}");
    let down = status_of(&home, "down");
    assert!(secs_until(&down, "next_poll") >= 3590, "{down}");
    // the daemon keeps to it: no second request within a few seconds although the interval says 1m
    let mut daemon = home.start();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        server.hits("/busy"),
        1,
        "{}",
        daemon.log.lock().expect("log")
    );
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn transient_failures_back_off_exponentially_and_recover() {
    let server = FixtureServer::start();
    server.sequence(
        "/feed",
        vec![
            Reply::status(503),
            Reply::status(503),
            Reply::status(503),
            Reply::ok("application/rss+xml", fixture("same-story.rss")),
        ],
    );
    let home = Gazette::new(&source("flaky", &server.url("/feed"), "interval = \"10m\""));
    let mut gaps = Vec::new();
    for _ in 0..3 {
        home.run(&["poll"]);
        let row = status_of(&home, "flaky");
        gaps.push(secs_until(&row, "next_poll"));
    }
    // 10m, 20m, 40m, each ±10%
    for (gap, base) in gaps.iter().zip([600, 1200, 2400]) {
        assert!(
            (*gap as f64 - base as f64).abs() <= base as f64 * 0.1 + 1.0,
            "{gaps:?}"
        );
    }
    assert_eq!(
        status_of(&home, "flaky")["state"],
        "failing",
        "three failures"
    );
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("flaky: 2 new"),
        "recovers by itself: {}",
        run.stdout
    );
    let row = status_of(&home, "flaky");
    assert_eq!(row["state"], "ok");
    assert_eq!(row["consecutive_failures"], 0);
}

#[test]
fn gone_sources_stop_being_polled_and_moved_ones_follow_the_new_url() {
    let server = FixtureServer::start();
    server.route("/gone", Reply::status(410));
    server.route("/old", Reply::status(301).header("location", "/new.rss"));
    server.route(
        "/new.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source("gone", &server.url("/gone"), ""),
        source("moved", &server.url("/old"), "")
    ));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("gone: failed: fetching") && run.stdout.contains("410"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "source moved moved to {}; update feeds.toml",
            server.url("/new.rss")
        )),
        "{}",
        run.stdout
    );
    let run = home.run(&["poll"]);
    assert!(run.stdout.contains("gone: failed: gone:"), "{}", run.stdout);
    assert_eq!(server.hits("/gone"), 1, "no request after 410");
    assert_eq!(server.hits("/old"), 1, "the next poll goes to the new URL");
    assert_eq!(server.hits("/new.rss"), 2);
    assert_eq!(status_of(&home, "gone")["state"], "gone");
    let moved = status_of(&home, "moved");
    assert_eq!(moved["state"], "moved");
    assert_eq!(moved["moved_to"], server.url("/new.rss"));
    // the operators' feed says so
    let daemon = home.start();
    let r = http_get(daemon.addr, "/status.rss", &[]);
    let feed = feed_rs::parser::parse(r.body.as_slice()).expect("status.rss parses");
    let titles: Vec<String> = feed
        .entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect();
    assert!(
        titles.contains(&"gone: gone".to_string()) && titles.contains(&"moved: moved".to_string()),
        "{titles:?}"
    );
    let page = http_get(daemon.addr, "/status", &[]);
    assert!(String::from_utf8_lossy(&page.body).contains("moved to"));
    let json = http_get(daemon.addr, "/status.json", &[]);
    let doc: serde_json::Value = serde_json::from_slice(&json.body).expect("json");
    assert_eq!(doc["sources"].as_array().map(Vec::len), Some(2));
}

#[test]
fn one_host_never_gets_more_than_per_host_requests_at_once() {
    let server = FixtureServer::start();
    let mut sources =
        String::from("[polling]\nper_host = 2\nhost_delay = \"0s\"\nconcurrency = 16\n\n");
    for i in 0..12 {
        let path = format!("/f{i}.rss");
        server.route(
            &path,
            Reply::ok("application/rss+xml", "").payload(Payload::Delayed(
                Duration::from_millis(200),
                fixture("same-story.rss"),
            )),
        );
        sources.push_str(&source(&format!("s{i}"), &server.url(&path), ""));
    }
    let home = Gazette::new(&sources);
    let started = Instant::now();
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("total: 12 sources, 12 ok"),
        "{}",
        run.stdout
    );
    assert_eq!(server.peak_in_flight(), 2, "per_host = 2");
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "12 requests, 2 at a time, 200 ms each"
    );
}

#[test]
fn ttl_and_max_age_lengthen_the_interval_and_a_restart_keeps_due_times() {
    let server = FixtureServer::start();
    let ttl = String::from_utf8(fixture("same-story.rss"))
        .expect("utf-8")
        .replace(
            "<language>en</language>",
            "<language>en</language><ttl>120</ttl>",
        );
    server.route("/ttl.rss", Reply::ok("application/rss+xml", ttl));
    server.route(
        "/cached.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss"))
            .header("cache-control", "public, max-age=10800"),
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source("ttl", &server.url("/ttl.rss"), "interval = \"30m\""),
        source("cached", &server.url("/cached.rss"), "interval = \"30m\"")
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    let gap = secs_until(&status_of(&home, "ttl"), "next_poll");
    assert!((6480..=7920).contains(&gap), "ttl 120 min: {gap}");
    let gap = secs_until(&status_of(&home, "cached"), "next_poll");
    assert!((9720..=11880).contains(&gap), "max-age 3 h: {gap}");
    // a restart does not poll everything again: both are due in hours
    let mut daemon = home.start();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.hits("/ttl.rss") + server.hits("/cached.rss"), 2);
    assert_eq!(daemon.stop(), Some(0));
    let table = home.run(&["status"]).stdout;
    assert!(
        table.starts_with("SOURCE") && table.contains("ttl") && table.contains(" ok "),
        "{table}"
    );
}

/// Regression: at shutdown, polls queued behind one host's politeness delay each waited for
/// their turn (and the 8 s grace), so SIGTERM with many sources on one host took ~9 s. Queued
/// polls now give up at once, and are not recorded as failures.
#[test]
fn sigterm_turns_away_polls_queued_for_a_host_without_recording_failures() {
    let server = FixtureServer::start();
    let mut sources = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n[polling]\nper_host = 1\nhost_delay = \"20s\"\n\n",
    );
    for i in 0..6 {
        let path = format!("/q{i}.rss");
        server.route(
            &path,
            Reply::ok("application/rss+xml", fixture("same-story.rss")),
        );
        sources.push_str(&source(
            &format!("q{i}"),
            &server.url(&path),
            "interval = \"1s\"",
        ));
    }
    let home = Gazette::new(&sources);
    let mut daemon = home.start();
    // every source is due within its first second; one gets the host, the rest queue
    let deadline = Instant::now() + Duration::from_secs(10);
    while (0..6)
        .map(|i| server.hits(&format!("/q{i}.rss")))
        .sum::<usize>()
        == 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let stopping = Instant::now();
    assert_eq!(daemon.stop(), Some(0));
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(4), "SIGTERM took {took:?}");
    let hits: usize = (0..6).map(|i| server.hits(&format!("/q{i}.rss"))).sum();
    assert_eq!(hits, 1, "one request per 20 s to the host");
    let status = home.run(&["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        !status.stdout.contains("shutting down"),
        "a poll cut short by shutdown is no failure: {}",
        status.stdout
    );
}
