//! The daemon under a service manager: sd_notify messages read from a real unix datagram socket
//! set as `NOTIFY_SOCKET`.

#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

fn messages_until(
    sock: &UnixDatagram,
    want: &str,
    within: Duration,
    seen: &mut Vec<String>,
) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want || l.starts_with(want));
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

#[test]
fn sd_notify_ready_after_bind_status_watchdog_and_stopping() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("a", &server.url("/a.rss"), ""));
    let path = home.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut daemon = home.start_with_env(&[
        ("NOTIFY_SOCKET", path.to_str().expect("path")),
        ("WATCHDOG_USEC", "2000000"),
    ]);
    let mut seen = Vec::new();
    assert!(
        messages_until(&sock, "READY=1", Duration::from_secs(10), &mut seen),
        "{seen:?}"
    );
    // READY came after the listener was bound: it answers now
    assert_eq!(http_get(daemon.addr, "/healthz", &[]).status, 200);
    let ready = seen.iter().find(|m| m.contains("READY=1")).expect("ready");
    assert!(ready.contains("STATUS=1 sources, "), "{ready}");
    assert!(
        messages_until(&sock, "WATCHDOG=1", Duration::from_secs(5), &mut seen),
        "watchdog pings: {seen:?}"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.child.id().to_string()])
        .status();
    assert!(
        messages_until(&sock, "STOPPING=1", Duration::from_secs(5), &mut seen),
        "{seen:?}"
    );
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn sighup_applies_a_good_config_and_refuses_a_bad_one() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route(
        "/b.json",
        Reply::ok("application/feed+json", fixture("same-story.json")),
    );
    let topic =
        |query: &str| format!("[[topic]]\nid = \"watch\"\ntitle = \"Watch\"\nquery = '{query}'\n");
    let home = Gazette::new(&format!(
        "{}{}",
        source("a", &server.url("/a.rss"), "interval = \"3s\""),
        topic("science OR park")
    ));
    let path = home.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut daemon = home.start_with_env(&[("NOTIFY_SOCKET", path.to_str().expect("path"))]);
    let mut seen = Vec::new();
    assert!(
        messages_until(&sock, "READY=1", Duration::from_secs(10), &mut seen),
        "{seen:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(70);
    while server.hits("/a.rss") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let titles = |d: &crate::support::Daemon| -> Vec<String> {
        let r = http_get(d.addr, "/topics/watch.json", &[]);
        let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        doc["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| i["title"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while titles(&daemon).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(titles(&daemon), ["Haidian opens a new science park"]);

    // a good config: a new source, and the topic's query edited
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    let good = config.replace("science OR park", "patent* OR IP")
        + &source("b", &server.url("/b.json"), "interval = \"2s\"");
    std::fs::write(home.config_path(), good).expect("write");
    let hup = |d: &crate::support::Daemon| {
        std::process::Command::new("kill")
            .args(["-HUP", &d.child.id().to_string()])
            .status()
            .expect("kill")
    };
    seen.clear();
    hup(&daemon);
    assert!(
        messages_until(&sock, "RELOADING=1", Duration::from_secs(5), &mut seen),
        "{seen:?}"
    );
    assert!(
        messages_until(&sock, "READY=1", Duration::from_secs(10), &mut seen),
        "{seen:?}"
    );
    let now = titles(&daemon);
    assert!(
        now.iter().any(|t| t.contains("Zhongguancun")),
        "old articles re-curated: {now:?}"
    );
    assert!(!now.iter().any(|t| t.contains("science park")), "{now:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hits("/b.json") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.hits("/b.json") >= 1,
        "the new source is polled: {}",
        daemon.log.lock().expect("log")
    );

    // a bad config is refused and the running one stays
    std::fs::write(home.config_path(), "[[source]\nid = broken\n").expect("write");
    seen.clear();
    hup(&daemon);
    assert!(
        messages_until(&sock, "READY=1", Duration::from_secs(10), &mut seen),
        "{seen:?}"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
    assert!(
        status["config_error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid TOML")),
        "{status}"
    );
    assert_eq!(
        status["sources"].as_array().map(Vec::len),
        Some(2),
        "still running the previous config"
    );
    assert!(!titles(&daemon).is_empty());
    assert!(daemon.log.lock().expect("log").contains("reload refused"));
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn metrics_are_valid_prometheus_text() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route("/down", Reply::status(500));
    let home = Gazette::new(&format!(
        "{}{}[[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = 'IP OR patent* OR park'\n",
        source("a", &server.url("/a.rss"), "interval = \"2s\""),
        source("down", &server.url("/down"), "interval = \"2s\"")
    ));
    let mut daemon = home.start();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (server.hits("/a.rss") == 0 || server.hits("/down") == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..2 {
        assert_eq!(http_get(daemon.addr, "/topics/ip.rss", &[]).status, 200);
    }
    let r = http_get(daemon.addr, "/metrics", &[]);
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text format");
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert!(
        value("gazette_polls_total", Some(("outcome", "ok"))) >= 1.0,
        "{text}"
    );
    assert!(
        value("gazette_polls_total", Some(("outcome", "failed"))) >= 1.0,
        "{text}"
    );
    assert!(
        value("gazette_articles_total", Some(("result", "new"))) >= 2.0,
        "{text}"
    );
    assert!(value("gazette_fetched_bytes_total", None) > 0.0, "{text}");
    assert_eq!(
        value("gazette_topic_articles", Some(("topic", "ip"))),
        2.0,
        "{text}"
    );
    assert!(value("gazette_archive_bytes", None) > 0.0, "{text}");
    assert!(
        value("gazette_render_cache_total", Some(("result", "hit"))) >= 1.0,
        "{text}"
    );
    assert!(
        value(
            "gazette_http_requests_total",
            Some(("route", "/topics/:file"))
        ) >= 2.0,
        "{text}"
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "gazette_fetch_seconds"
                || s.metric.starts_with("gazette_fetch_seconds")),
        "{text}"
    );
    assert_eq!(daemon.stop(), Some(0));
}

#[test]
fn sigterm_with_requests_in_flight_exits_zero_within_ten_seconds() {
    use std::io::{Read, Write};
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "{}[[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = 'park'\n",
        source("a", &server.url("/a.rss"), "interval = \"2s\"")
    ));
    let mut daemon = home.start();
    // one client stuck half-way through its request, one complete request on a kept-alive
    // connection
    let mut stuck = std::net::TcpStream::connect(daemon.addr).expect("connect");
    stuck
        .write_all(b"GET /topics/ip.rss HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut alive = std::net::TcpStream::connect(daemon.addr).expect("connect");
    alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    alive
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let n = alive.read(&mut buf).expect("response");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert_eq!(
        daemon.stop(),
        Some(0),
        "{}",
        daemon.log.lock().expect("log")
    );
    // the stop reopened the archive, so the next start has no log to replay
    assert!(
        daemon
            .log
            .lock()
            .expect("log")
            .contains("archive flushed and settled"),
        "{}",
        daemon.log.lock().expect("log")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let log = daemon.log.lock().expect("log").clone();
    assert!(log.contains("archive flushed"), "{log}");
    drop(stuck);
}
