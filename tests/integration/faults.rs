//! Hostile input and bad luck (issue 16): each test reproduces one defect on loopback and is
//! named after it.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

/// Defect 4: a topic query nested 20,000 parentheses deep overflowed the stack: `check`
/// aborted (rc 134), and a SIGHUP with such a file killed the running daemon.
#[test]
fn query_nested_20000_deep_is_a_config_error_and_a_reload_with_it_is_refused() {
    let deep = format!("{}park{}", "(".repeat(20_000), ")".repeat(20_000));
    let topic =
        |query: &str| format!("[[topic]]\nid = \"deep\"\ntitle = \"Deep\"\nquery = '{query}'\n");
    let bad = Gazette::new(&topic(&deep));
    let run = bad.run(&["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("feeds.toml")
            && run.stderr.contains("deep")
            && run.stderr.contains("nested more than 64"),
        "names the file, the topic and the problem: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("overflow"), "{}", run.stderr);

    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "{}{}",
        source("a", &server.url("/a.rss"), "interval = \"1h\""),
        topic("park")
    ));
    let mut daemon = home.start();
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    std::fs::write(
        home.config_path(),
        config.replace("query = 'park'", &format!("query = '{deep}'")),
    )
    .expect("write");
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &daemon.child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !daemon.log.lock().expect("log").contains("reload refused") {
        assert!(
            Instant::now() < deadline,
            "no refusal: {}",
            daemon.log.lock().expect("log")
        );
        assert!(
            daemon.child.try_wait().expect("wait").is_none(),
            "the daemon died: {}",
            daemon.log.lock().expect("log")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
    assert!(
        status["config_error"]
            .as_str()
            .is_some_and(|e| e.contains("nested more than 64")),
        "{status}"
    );
    assert_eq!(daemon.stop(), Some(0), "still running, and stops cleanly");
}

/// Defect 7: `max_body` did not bound a gzip file served without `Content-Encoding`: it was
/// inflated to 32 MiB under a 1 MiB cap.
#[test]
fn gzip_body_without_content_encoding_is_bounded_by_max_body() {
    let gz = |body: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(body).expect("gzip");
        e.finish().expect("gzip")
    };
    // 8 MiB of feed that compresses to a few KiB
    let mut big = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    let filler = "<item><title>Same title again</title><link>http://x/1</link><description>"
        .to_string()
        + &"padding ".repeat(1000)
        + "</description></item>";
    while big.len() < 8 * 1024 * 1024 {
        big.push_str(&filler);
    }
    big.push_str("</channel></rss>");
    let bomb = gz(big.as_bytes());
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let server = FixtureServer::start();
    server.route("/bomb.xml.gz", Reply::ok("application/octet-stream", bomb));
    server.route(
        "/small.xml.gz",
        Reply::ok("application/octet-stream", gz(&fixture("same-story.rss"))),
    );
    let home = Gazette::new(&format!(
        "[polling]\nmax_body = \"1MiB\"\n\n{}{}",
        source("bomb", &server.url("/bomb.xml.gz"), ""),
        source("small", &server.url("/small.xml.gz"), "")
    ));
    let run = home.run(&["poll"]);
    let line = |id: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id}:")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("bomb").contains("failed: reading")
            && line("bomb").contains("inflates to more than 1048576 bytes"),
        "{}",
        run.stdout
    );
    assert!(line("small").contains("new"), "{}", run.stdout);
}

/// Defect 9: a source URL answering 301 to `http://127.0.0.3/` was followed, stored and saved
/// as "moved"; a 301 to `169.254.169.254` led to a connect attempt.
#[test]
fn ssrf_through_a_sources_own_redirects_is_refused() {
    let server = FixtureServer::start();
    let port = server.addr.port();
    server.route(
        "/to-loopback",
        Reply::status(301).header("location", &format!("http://127.0.0.3:{port}/a.rss")),
    );
    server.route(
        "/to-metadata",
        Reply::status(301).header("location", "http://169.254.169.254/latest/meta-data/"),
    );
    server.route(
        "/to-file",
        Reply::status(302).header("location", "file:///etc/passwd"),
    );
    server.route(
        "/same-host",
        Reply::status(301).header("location", "/a.rss"),
    );
    server.route(
        "/allowed",
        Reply::status(301).header("location", &format!("http://127.0.0.3:{port}/a.rss")),
    );
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "{}{}{}{}{}",
        source("loopback", &server.url("/to-loopback"), ""),
        source("metadata", &server.url("/to-metadata"), "timeout = \"3s\""),
        source("file", &server.url("/to-file"), ""),
        source("same", &server.url("/same-host"), ""),
        source(
            "allowed",
            &server.url("/allowed"),
            "allow_private = true\ntimeout = \"3s\""
        ),
    ));
    let run = home.run(&["poll"]);
    let line = |id: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id}:")))
            .unwrap_or_default()
            .to_string()
    };
    for (id, target) in [
        ("loopback", "http://127.0.0.3"),
        ("metadata", "http://169.254.169.254/"),
        ("file", "file:///etc/passwd"),
    ] {
        assert!(
            line(id).contains(&format!("redirect to {target}")) && line(id).contains("refused"),
            "{id}: {}",
            run.stdout
        );
    }
    assert!(
        line("metadata").contains("169.254.169.254 is not a public address"),
        "{}",
        run.stdout
    );
    // the source's own host and port stay allowed
    assert!(line("same").contains("new"), "{}", run.stdout);
    // allow_private lets it through: the request is made (nothing listens on 127.0.0.3)
    assert!(
        !line("allowed").contains("redirect to") && line("allowed").contains("cannot connect"),
        "{}",
        run.stdout
    );
    let status = home.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    let row = |id: &str| {
        doc["sources"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id).cloned())
            .unwrap_or_default()
    };
    assert_eq!(
        row("loopback")["state"],
        "failing",
        "a refusal is not transient"
    );
    assert!(row("loopback")["moved_to"].is_null(), "not saved as moved");
    assert_eq!(row("metadata")["state"], "failing");
}

/// Defect 11: a source URL with `user:password@` or a `?token=` was shown on `/status`,
/// `/status.json`, `/status.rss`, `/healthz` and `/sources.opml`, to anyone who could reach
/// the port.
#[test]
fn credentials_in_source_urls_never_leave_the_process() {
    let server = FixtureServer::start();
    server.route(
        "/feed.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route("/broken", Reply::status(500));
    let secret_url = |path: &str| {
        format!(
            "http://pat:hunter2@{}{path}?token=s3cret&lang=en",
            server.addr
        )
    };
    let home = Gazette::new(&format!(
        "{}{}[[topic]]\nid = \"all\"\ntitle = \"All\"\nquery = 'park OR science OR patent*'\n",
        source("ok", &secret_url("/feed.rss"), "interval = \"1h\""),
        source("bad", &secret_url("/broken"), "interval = \"1h\""),
    ));
    let poll = home.run(&["poll"]);
    for leak in ["hunter2", "s3cret"] {
        assert!(!poll.stdout.contains(leak), "poll output: {}", poll.stdout);
        assert!(!poll.stderr.contains(leak), "poll log: {}", poll.stderr);
    }
    assert!(poll.stdout.contains("token=REDACTED"), "{}", poll.stdout);
    let status = home.run(&["status", "--json"]);
    assert!(!status.stdout.contains("hunter2") && !status.stdout.contains("s3cret"));
    let shown = home.run(&["status", "--json", "--show-secrets"]);
    assert!(
        shown.stdout.contains("hunter2") && shown.stdout.contains("s3cret"),
        "{}",
        shown.stdout
    );
    let daemon = home.start();
    for path in [
        "/status",
        "/status.json",
        "/status.rss",
        "/healthz",
        "/sources.opml",
        "/topics/all.rss",
        "/topics/all.atom",
        "/topics/all.json",
        "/",
    ] {
        let r = http_get(daemon.addr, path, &[]);
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("hunter2") && !body.contains("s3cret"),
            "{path} leaks a credential: {body}"
        );
    }
    let opml = http_get(daemon.addr, "/sources.opml", &[]);
    assert!(
        String::from_utf8_lossy(&opml.body).contains("token=REDACTED"),
        "the URL is still listed, redacted"
    );
    let log = daemon.log.lock().expect("log").clone();
    assert!(!log.contains("hunter2") && !log.contains("s3cret"), "{log}");
}
