//! The daemon layer: reloads while polls are in flight, and which keys a reload applies. One
//! test drives the binary with SIGHUP (as systemd does), one runs the daemon in-process
//! through `gazette::daemon`, as other tools embedding it would.

use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Payload, Reply, fixture, http_get, source};

fn wait_until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The bug: stopping one source's loop (a reload changed that source while its poll was in
/// flight) closed the host limits every source shares, and every later poll of every source
/// failed with "shutting down" while `/status.json` still said "ok".
#[test]
fn reload_that_changes_a_source_mid_poll_keeps_every_source_polling() {
    let server = FixtureServer::start();
    let feed = fixture("same-story.rss");
    server.route(
        "/slow.rss",
        Reply::ok("application/rss+xml", feed.clone())
            .payload(Payload::Delayed(Duration::from_secs(2), feed.clone())),
    );
    server.route("/fast.rss", Reply::ok("application/rss+xml", feed.clone()));
    server.route("/other.rss", Reply::ok("application/rss+xml", feed));
    let sources = |slow_name: &str| {
        format!(
            "{}{}{}",
            source(
                "slow",
                &server.url("/slow.rss"),
                &format!("interval = \"2s\"\nname = \"{slow_name}\"")
            ),
            source("fast", &server.url("/fast.rss"), "interval = \"2s\""),
            source("other", &server.url("/other.rss"), "interval = \"2s\""),
        )
    };
    let home = Gazette::new(&format!(
        "[polling]\nhost_delay = \"0s\"\n\n{}",
        sources("Slow")
    ));
    let daemon = home.start();
    // the slow source's first poll is in flight (its reply takes 2 s)
    wait_until("the slow poll to start", Duration::from_secs(30), || {
        server.hits("/slow.rss") >= 1
    });
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    std::fs::write(
        home.config_path(),
        config.replace("name = \"Slow\"", "name = \"Slow, renamed\""),
    )
    .expect("write");
    let hits_before: Vec<usize> = ["/slow.rss", "/fast.rss", "/other.rss"]
        .iter()
        .map(|p| server.hits(p))
        .collect();
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &daemon.child.id().to_string()])
        .status();
    wait_until("the reload", Duration::from_secs(20), || {
        daemon
            .log
            .lock()
            .expect("log")
            .contains("configuration reloaded")
    });
    // every source, changed or not, is polled again: two intervals (plus the slow reply) when
    // the machine is quiet; the deadline only bounds a failing run
    let reloaded = Instant::now();
    for (i, path) in ["/slow.rss", "/fast.rss", "/other.rss"].iter().enumerate() {
        wait_until(
            &format!("{path} to be polled again after the reload"),
            Duration::from_secs(60),
            || server.hits(path) >= hits_before[i] + 2,
        );
    }
    eprintln!(
        "every source polled twice more {:.1} s after the reload",
        reloaded.elapsed().as_secs_f64()
    );
    let log = daemon.log.lock().expect("log").clone();
    assert!(!log.contains("shutting down"), "{log}");
    let status: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
    let now = chrono::Utc::now();
    for row in status["sources"].as_array().expect("sources") {
        assert_eq!(row["state"], "ok", "{row}");
        let next: chrono::DateTime<chrono::Utc> = row["next_poll"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("next_poll: {row}"));
        assert!(
            next > now - chrono::Duration::seconds(10),
            "next poll not stuck in the past: {row}"
        );
    }
}

/// `[polling] per_host` 1 → 4 takes effect at once on a loopback upstream (more than one
/// request in flight to it), and `[server] listen`, which needs a restart, is reported as such
/// in the reload's result and on `/status.json`. In-process, through `gazette::daemon`.
#[test]
fn reload_applies_polling_keys_or_reports_them() {
    let server = FixtureServer::start();
    let feed = fixture("same-story.rss");
    let mut body = String::from("[polling]\nper_host = 1\nhost_delay = \"0s\"\n\n");
    for i in 0..4 {
        let path = format!("/f{i}.rss");
        server.route(
            &path,
            Reply::ok("application/rss+xml", feed.clone())
                .payload(Payload::Delayed(Duration::from_millis(600), feed.clone())),
        );
        body.push_str(&source(
            &format!("f{i}"),
            &server.url(&path),
            "interval = \"1s\"",
        ));
    }
    let home = Gazette::new(&body);
    let config = gazette::config::load(&home.config_path()).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let daemon = gazette::daemon::Daemon::open(config).expect("open");
    let handle = daemon.handle();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = rt.spawn(daemon.run(listener, shutdown.clone()));
    let all_polled = |n: usize| (0..4).all(|i| server.hits(&format!("/f{i}.rss")) >= n);
    wait_until("every source polled twice", Duration::from_secs(60), || {
        all_polled(2)
    });
    assert_eq!(server.peak_in_flight(), 1, "per_host = 1");

    let text = std::fs::read_to_string(home.config_path()).expect("config");
    let text = text
        .replace("per_host = 1", "per_host = 4")
        .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:9\"");
    std::fs::write(home.config_path(), text).expect("write");
    let reloaded = rt.block_on(handle.reload()).expect("the daemon answers");
    assert!(reloaded.applied, "{reloaded:?}");
    assert_eq!(reloaded.started, 0, "no source changed: {reloaded:?}");
    assert_eq!(reloaded.restart_needed.len(), 1, "{reloaded:?}");
    assert!(
        reloaded.restart_needed[0].starts_with("[server] listen"),
        "{reloaded:?}"
    );
    server.reset_peak();
    wait_until(
        "more than one request in flight to the host",
        Duration::from_secs(60),
        || server.peak_in_flight() > 1,
    );
    assert!(server.peak_in_flight() <= 4, "{}", server.peak_in_flight());
    let status: serde_json::Value =
        serde_json::from_slice(&http_get(addr, "/status.json", &[]).body).expect("json");
    assert!(
        status["restart_needed"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("[server] listen")),
        "{status}"
    );
    // a bad file is refused and reported; the running configuration stays
    std::fs::write(home.config_path(), "[polling]\nper_host = 0\n").expect("write");
    let refused = rt.block_on(handle.reload()).expect("the daemon answers");
    assert!(!refused.applied, "{refused:?}");
    assert!(
        refused
            .error
            .as_deref()
            .is_some_and(|e| e.contains("per_host")),
        "{refused:?}"
    );
    shutdown.cancel();
    let stopped = rt.block_on(running).expect("join");
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        rt.block_on(handle.reload()).is_none(),
        "a stopped daemon takes no reload"
    );
}
