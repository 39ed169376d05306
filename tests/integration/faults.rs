//! Hostile input and bad luck (issue 16): each test reproduces one defect on loopback and is
//! named after it.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, fixture, http_get, source};

/// An RSS 2.0 document around `items` (already written `<item>` elements).
fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>{items}</channel></rss>"
    )
}

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
    let mut items = String::new();
    let filler = "<item><title>Same title again</title><link>http://x/1</link><description>"
        .to_string()
        + &"padding ".repeat(1000)
        + "</description></item>";
    while items.len() < 8 * 1024 * 1024 {
        items.push_str(&filler);
    }
    let big = rss(&items);
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
        "/topics/all",
        "/",
        "/sources",
        "/sources/feeds.opml",
        "/sources/ok",
        "/sources/ok.rss",
        "/sources/ok.atom",
        "/sources/ok.json",
    ] {
        let r = http_get(daemon.addr, path, &[]);
        assert_eq!(r.status, 200, "{path}");
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

/// A tmpfs of `size` mounted at `dir` (unmounted on drop); `None` (the test then skips, saying
/// so) where this process may not mount.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "skipped: cannot mount a tmpfs here (not root?); the full-disk case is not exercised"
            );
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A gazette home whose archive is on a tmpfs of `size` under `dir`, with `[archive]
/// min_free`; `None` where this process may not mount (the test then skips, saying so).
fn home_on_small_disk(
    dir: &tempfile::TempDir,
    size: &str,
    min_free: &str,
    sources: &str,
) -> Option<(SmallDisk, std::path::PathBuf, Gazette)> {
    let disk_dir = dir.path().join("disk");
    let disk = SmallDisk::mount(&disk_dir, size)?;
    let home = Gazette::new(sources);
    let config = std::fs::read_to_string(home.config_path())
        .expect("config")
        .replace(
            "path = \"archive\"\n",
            &format!(
                "path = \"{}\"\nmin_free = \"{min_free}\"\n",
                disk_dir.join("archive").display()
            ),
        );
    std::fs::write(home.config_path(), config).expect("write");
    Some((disk, disk_dir, home))
}

/// Defect 1 (backups): on a full disk, backups were left as 0-byte `.tmp` files, forever.
#[test]
fn failed_backups_on_a_full_disk_leave_no_temporary_files_and_stale_ones_are_removed() {
    let server = FixtureServer::start();
    // 300 items of varied text: a snapshot of them does not fit in 8 KiB even compressed
    let feed = varied_feed(300);
    server.route("/big.rss", Reply::ok("application/rss+xml", feed));
    let home = Gazette::new(&source("big", &server.url("/big.rss"), "interval = \"1h\""));
    let run = home.run(&["poll"]);
    assert!(run.stdout.contains("300 new"), "{}", run.stdout);
    let backups = home.dir.path().join("backups");
    let Some(_disk) = SmallDisk::mount(&backups, "8k") else {
        return;
    };
    let stale = backups.join("gazette-20260101T000000Z.jsonl.tmp");
    std::fs::write(&stale, b"").expect("stale tmp");
    let config = std::fs::read_to_string(home.config_path())
        .expect("config")
        .replace(
            "path = \"archive\"\n",
            "path = \"archive\"\nbackup_every = \"1s\"\n",
        );
    std::fs::write(home.config_path(), config).expect("write");
    let mut daemon = home.start();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !daemon.log.lock().expect("log").contains("writing backup") {
        assert!(
            Instant::now() < deadline,
            "no backup failure logged: {}",
            daemon.log.lock().expect("log")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(daemon.stop(), Some(0));
    let left: Vec<String> = std::fs::read_dir(&backups)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    let log = daemon.log.lock().expect("log").clone();
    assert!(log.contains("removed unfinished backups"), "{log}");
    assert!(
        log.contains("No space left on device"),
        "the reason is named: {log}"
    );
}

/// Reads from `stream` until the server closes it (or `within` passes); whether it closed.
fn closed_by_server(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Defect 8: the HTTP server had no header-read or idle timeout: 1,000 slowloris clients were
/// never cut off, and idle connections stayed open for good.
#[test]
fn slowloris_clients_are_cut_off_and_idle_keepalive_connections_closed() {
    use std::io::Write;
    let home = Gazette::new(
        "[server]\nlisten = \"127.0.0.1:0\"\nheader_timeout = \"1s\"\nidle_timeout = \"2s\"\n",
    );
    let daemon = home.start();
    // a head that never ends
    let mut slow = std::net::TcpStream::connect(daemon.addr).expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("send");
    let started = Instant::now();
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(30)),
        "an unfinished head is cut off"
    );
    let cut_after = started.elapsed();
    // a finished request on a keep-alive connection, then silence
    let mut idle = std::net::TcpStream::connect(daemon.addr).expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let started = Instant::now();
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(30)),
        "an idle keep-alive connection is closed"
    );
    let idle_after = started.elapsed();
    eprintln!(
        "unfinished head cut after {:.1} s (header_timeout 1 s); idle connection closed after {:.1} s (idle_timeout 2 s)",
        cut_after.as_secs_f64(),
        idle_after.as_secs_f64()
    );
    assert!(
        idle_after >= Duration::from_millis(1500),
        "not before the idle timeout: {idle_after:?}"
    );
    assert_eq!(http_get(daemon.addr, "/healthz", &[]).status, 200);
}

/// Defect 8: under the default limit of 1024 descriptors, 1,100 idle sockets made `/healthz`
/// unreachable for 40 s.
#[test]
fn idle_connections_beyond_the_descriptor_limit_never_lock_out_healthz() {
    // this test process needs descriptors for 1,500 sockets of its own
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls on a struct owned here.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_max < 4096 {
            eprintln!(
                "skipped: the hard descriptor limit ({}) is too low for 1,500 test sockets",
                lim.rlim_max
            );
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
    }
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let home = Gazette::new("");
    let daemon = home.start_under(&["prlimit", "--nofile=1024:1024", "--"]);
    let mut held = Vec::new();
    for _ in 0..1500 {
        match std::net::TcpStream::connect(daemon.addr) {
            Ok(s) => held.push(s),
            Err(e) => eprintln!("connect: {e}"),
        }
    }
    let started = Instant::now();
    let healthz = http_get(daemon.addr, "/healthz", &[]);
    let took = started.elapsed();
    eprintln!(
        "with {} idle connections open against a 1024-descriptor limit, /healthz answered {} in {} ms",
        held.len(),
        healthz.status,
        took.as_millis()
    );
    assert_eq!(healthz.status, 200);
    assert!(took < Duration::from_secs(10), "{took:?}");
    let log = daemon.log.lock().expect("log").clone();
    assert!(!log.contains("panicked"), "{log}");
    drop(held);
}

/// A feed of `n` items of varied text, so an archive of it has a `db` file of some size.
fn varied_feed(n: u64) -> String {
    let mut items = String::new();
    for i in 0..n {
        let words: String = (0..60)
            .map(|w| format!("w{:x} ", (i * 7919 + w * 104_729) % 1_000_003))
            .collect();
        items.push_str(&format!(
            "<item><title>Story {i} {}</title><link>http://x/{i}</link><guid>g{i}</guid><description>{words}</description></item>",
            (i * 31) % 97
        ));
    }
    rss(&items)
}

/// Defect 2: a truncated `db` file (to 33% or 10%, no snapshot) was opened as an empty
/// archive, `verify` said "ok: 0 articles" and the file was rewritten; truncated to 50–95%,
/// sled panicked (rc 101 with a backtrace).
#[test]
fn a_truncated_db_file_is_refused_not_opened_as_an_empty_archive() {
    let server = FixtureServer::start();
    server.route(
        "/big.rss",
        Reply::ok("application/rss+xml", varied_feed(300)),
    );
    for fraction in [0.10, 0.33, 0.5, 0.75, 0.95] {
        let home = Gazette::new(&source("big", &server.url("/big.rss"), "interval = \"1h\""));
        let run = home.run(&["poll"]);
        assert!(run.stdout.contains("300 new"), "{}", run.stdout);
        let db = home.archive_path().join("db");
        let len = std::fs::metadata(&db).expect("db").len();
        let cut = (len as f64 * fraction) as u64;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .expect("open db")
            .set_len(cut)
            .expect("truncate");
        let run = home.run(&["verify"]);
        assert_eq!(run.code, 1, "{fraction}: {}{}", run.stdout, run.stderr);
        assert!(
            !run.stdout.contains("ok: 0 articles"),
            "{fraction}: not an empty archive: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
            "{fraction}: a message, not a crash: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("gazette import")
                && (run.stderr.contains("looks damaged") || run.stderr.contains("damaged")),
            "{fraction}: says what to do: {}",
            run.stderr
        );
        // the db file as it was found is kept, whatever sled's recovery then wrote
        let kept: Vec<std::path::PathBuf> = std::fs::read_dir(home.dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".db.as-found-"))
            .collect();
        assert_eq!(kept.len(), 1, "{fraction}: {kept:?}");
        assert_eq!(
            std::fs::metadata(&kept[0]).expect("copy").len(),
            cut,
            "{fraction}"
        );
        assert!(
            run.stderr.contains(".db.as-found-"),
            "{fraction}: named: {}",
            run.stderr
        );
        if run.stderr.contains("looks damaged") {
            assert!(run.stderr.contains("--accept-loss"), "{}", run.stderr);
            let accepted = home.run(&["--accept-loss", "verify"]);
            assert!(
                accepted.stdout.contains("note: opened with --accept-loss"),
                "{fraction}: verify reports the loss: {}{}",
                accepted.stdout,
                accepted.stderr
            );
        }
    }
}

/// Defect 1 (open on a full disk): an empty `snap.*.generating` left by an interrupted open
/// made the archive impossible to open, even for `verify --repair`.
#[test]
fn an_empty_snapshot_left_by_an_interrupted_open_is_set_aside() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("a", &server.url("/a.rss"), ""));
    assert!(home.run(&["poll"]).stdout.contains("2 new"));
    std::fs::write(
        home.archive_path().join("snap.0000000000001234.generating"),
        b"",
    )
    .expect("empty snapshot");
    let run = home.run(&["articles", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_lines().len(), 2, "every article is there");
    assert!(
        run.stderr.contains("moved it aside"),
        "the user is told: {}",
        run.stderr
    );
    assert!(
        !home
            .archive_path()
            .join("snap.0000000000001234.generating")
            .exists()
    );
}

/// Defect 3: a feed that keeps one guid and sends a new multi-megabyte title on each poll
/// grew the article's record past what the archive reads back: the topic feed answered 500,
/// export and backups failed, and `verify --repair` deleted the article.
#[test]
fn a_record_stays_readable_when_one_guid_gets_a_new_huge_title_every_poll() {
    let server = FixtureServer::start();
    let feed = |i: usize| {
        let title = format!("{i} {}", "word ".repeat(600_000));
        rss(&format!(
            "<item><title>{title}</title><link>http://x/1</link><guid>same</guid><description>patent news</description></item>"
        ))
    };
    server.sequence(
        "/retitled.rss",
        (0..6)
            .map(|i| Reply::ok("application/rss+xml", feed(i)))
            .collect(),
    );
    let home = Gazette::new(&format!(
        "[polling]\nmax_body = \"10MiB\"\n\n{}[[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = 'patent'\n",
        source("retitled", &server.url("/retitled.rss"), "")
    ));
    for _ in 0..6 {
        let run = home.run(&["poll"]);
        assert!(run.stdout.contains("1 sources, 1 ok"), "{}", run.stdout);
    }
    let articles = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(articles.len(), 1);
    let title = articles[0]["title"].as_str().expect("title");
    assert!(title.chars().count() <= 1_001, "{}", title.len());
    let verify = home.run(&["verify"]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    let export = home.run(&["export"]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    let render = home.run(&["render", "ip"]);
    assert_eq!(render.code, 0, "{}", render.stderr);
    let inspect =
        crate::support::gazette(&["inspect", "--json", server.url("/retitled.rss").as_str()]);
    assert!(
        inspect.stdout.contains("\"limited\":[\"title\"]"),
        "inspect notes the cut: {}",
        &inspect.stdout[..inspect.stdout.len().min(300)]
    );
}

/// "`gazette status` cannot run while the daemon runs (the archive is locked)": it asks the
/// daemon over its own listener instead.
#[test]
fn status_works_while_the_daemon_runs() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let home = Gazette::new(&format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n\n{}",
        source("a", &server.url("/a.rss"), "interval = \"1h\"")
    ));
    let daemon = home.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.hits("/a.rss") == 0 {
        assert!(Instant::now() < deadline, "never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = home.run(&["status"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("SOURCE") && run.stdout.lines().any(|l| l.starts_with("a ")),
        "{}",
        run.stdout
    );
    let run = home.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(doc["sources"][0]["id"], "a", "{doc}");
    drop(daemon);
}

/// Defect 1: on a full disk every store failed, the failure counter stayed at 1, `/healthz`
/// stayed 200, a "failing" event was added per poll, and freeing space did not resume polling
/// without a restart. Now: below `[archive] min_free` polls are deferred (no failure counted),
/// the health says why, one event is published, and polling resumes by itself.
#[test]
fn a_disk_short_of_space_defers_polls_says_so_and_polling_resumes_when_space_returns() {
    let server = FixtureServer::start();
    server.route(
        "/a.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_disk, disk_dir, home)) = home_on_small_disk(
        &dir,
        "48m",
        "24MiB",
        &source("a", &server.url("/a.rss"), "interval = \"1s\""),
    ) else {
        return;
    };
    let daemon = home.start();
    let wait = |what: &str, mut done: Box<dyn FnMut() -> bool + '_>| {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                daemon.log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("a first poll", Box::new(|| server.hits("/a.rss") >= 1));
    // leave less than min_free: a filler file
    let free = {
        let out = std::process::Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&disk_dir)
            .output()
            .expect("df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse::<u64>().ok())
            .expect("free bytes")
    };
    let filler = disk_dir.join("filler");
    let keep = 8 * 1024 * 1024;
    std::fs::write(&filler, vec![1u8; (free.saturating_sub(keep)) as usize]).expect("fill");
    wait(
        "/healthz to say the disk is low",
        Box::new(|| {
            let r = http_get(daemon.addr, "/healthz", &[]);
            r.status == 503 && String::from_utf8_lossy(&r.body).contains("min_free")
        }),
    );
    let hits_low = server.hits("/a.rss");
    // deferred polls fetch nothing and count no failure
    std::thread::sleep(Duration::from_secs(3));
    assert!(server.hits("/a.rss") <= hits_low + 1, "polls are deferred");
    let status: serde_json::Value =
        serde_json::from_slice(&http_get(daemon.addr, "/status.json", &[]).body).expect("json");
    assert_eq!(status["sources"][0]["consecutive_failures"], 0, "{status}");
    let rss = String::from_utf8_lossy(&http_get(daemon.addr, "/status.rss", &[]).body).into_owned();
    assert_eq!(
        rss.matches("archive: disk low").count(),
        1,
        "one event: {rss}"
    );
    assert!(!rss.contains("a: failing"), "{rss}");
    // space comes back: polling resumes by itself
    std::fs::remove_file(&filler).expect("free space");
    let hits_freed = server.hits("/a.rss");
    wait(
        "polling to resume",
        Box::new(|| server.hits("/a.rss") > hits_freed),
    );
    assert_eq!(http_get(daemon.addr, "/healthz", &[]).status, 200);
    let rss = String::from_utf8_lossy(&http_get(daemon.addr, "/status.rss", &[]).body).into_owned();
    assert!(rss.contains("archive: disk ok"), "{rss}");
    drop(daemon);
}

/// Defect 6: storing a poll grew faster than linearly with its entries (80k items: 313 s and
/// 1.07 GB, the single writer blocked for every source meanwhile). A poll stores at most
/// `max_entries` (default 500) newest entries and reports the rest; the time storing takes is
/// measured in the closing note of issue 16 (linear since the batch indexes its titles).
#[test]
fn a_poll_with_more_entries_than_max_entries_stores_the_newest_and_reports_the_rest() {
    let server = FixtureServer::start();
    let mut items = String::new();
    for i in 0..2_000u32 {
        // item i is i minutes older than item 0
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").expect("date")
            - chrono::Duration::minutes(i64::from(i));
        items.push_str(&format!(
            "<item><title>Item {i}</title><link>http://x/{i}</link><guid>g{i}</guid><pubDate>{}</pubDate></item>",
            at.to_rfc2822()
        ));
    }
    let feed = rss(&items);
    server.route("/big.rss", Reply::ok("application/rss+xml", feed));
    let home = Gazette::new(&source("big", &server.url("/big.rss"), ""));
    let run = home.run(&["poll"]);
    assert!(run.stdout.contains("500 new"), "{}", run.stdout);
    assert!(
        run.stdout.contains("1500 older entries skipped"),
        "{}",
        run.stdout
    );
    let newest = home
        .run(&["articles", "--limit", "1000", "--json"])
        .json_lines();
    assert_eq!(newest.len(), 500);
    assert!(
        newest.iter().all(|a| {
            let n: u32 = a["title"].as_str().unwrap_or("Item 9999")[5..]
                .parse()
                .unwrap_or(9999);
            n < 500
        }),
        "the newest 500 were kept"
    );
    let raised = Gazette::new(&source(
        "big",
        &server.url("/big.rss"),
        "max_entries = 5000",
    ));
    assert!(raised.run(&["poll"]).stdout.contains("2000 new"));
}

/// Defect 5: deeply nested HTML (100k nested `div`s in an RSS description; a list page nested
/// as deep) took quadratic time (59 s and 147 s of CPU), and two such sources starved a normal
/// source of all its polls. Now it is read flattened, in linear time, with its words and links.
#[test]
fn deeply_nested_html_is_read_flat_and_never_starves_other_sources() {
    let n = 100_000;
    let deep = format!("{}deep words{}", "<div>".repeat(n), "</div>".repeat(n));
    let escaped = deep.replace('<', "&lt;").replace('>', "&gt;");
    let feed = rss(&format!(
        "<item><title>Deep one</title><link>http://x/1</link><description>{escaped}</description></item>"
    ));
    let server = FixtureServer::start();
    let list = format!(
        "<html><body>{}<ul><li><a href=\"/a/1\">First article headline here</a></li><li><a href=\"/a/2\">Second article headline here</a></li><li><a href=\"/a/3\">Third article headline here</a></li></ul>{}</body></html>",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    let page = |t: &str| {
        format!(
            "<html><head><title>{t}</title></head><body><article><h1>{t}</h1><p>{}</p></article></body></html>",
            "Body text of the article. ".repeat(40)
        )
    };
    server.route("/deep.rss", Reply::ok("application/rss+xml", feed));
    server.route("/list", Reply::ok("text/html", list));
    for i in 1..=3 {
        server.route(
            &format!("/a/{i}"),
            Reply::ok("text/html", page(&format!("Article {i}"))),
        );
    }
    server.route(
        "/normal.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "{}{}{}",
        source("deep", &server.url("/deep.rss"), "interval = \"1s\""),
        source(
            "list",
            &server.url("/list"),
            "kind = \"html\"\ninterval = \"1s\""
        ),
        source("normal", &server.url("/normal.rss"), "interval = \"1s\"")
    ));
    let run = home.run(&["poll"]);
    assert!(run.stdout.contains("deep: 1 new"), "{}", run.stdout);
    assert!(
        run.stdout.contains("list: 3 new") || run.stdout.contains("list: 2 new"),
        "{}",
        run.stdout
    );
    let deep_article = home
        .run(&["articles", "--source", "deep", "--json"])
        .json_lines();
    assert!(
        deep_article[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("deep words")),
        "the words are kept"
    );
    // the daemon keeps polling the normal source meanwhile (it was starved for 100 s)
    let daemon = home.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.hits("/normal.rss") < 4 {
        assert!(
            Instant::now() < deadline,
            "the normal source was starved: {} polls",
            server.hits("/normal.rss")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(daemon);
}

/// Defect 10: with `HTTP_PROXY` set, the guard on links found in content was bypassed (the
/// proxy was asked for a private hostname).
#[test]
fn with_a_proxy_configured_private_hostnames_in_content_are_refused_before_the_proxy() {
    let server = FixtureServer::start();
    let port = server.addr.port();
    server.route(
        "/list",
        Reply::ok(
            "text/html",
            format!(
                "<html><body><ul class=\"l\"><li><a href=\"http://localhost:{port}/a/1\">Loopback under a name</a></li><li><a href=\"/a/2\">Own host article</a></li></ul></body></html>"
            ),
        ),
    );
    let page = "<html><head><title>Own</title></head><body><article><h1>Own host article</h1><p>Body text of the article that is long enough to keep around for the extractor.</p></article></body></html>";
    server.route("/a/2", Reply::ok("text/html", page));
    let home = Gazette::new(&source(
        "list",
        &server.url("/list"),
        "kind = \"html\"\nlinks = \"ul.l a\"\ntimeout = \"5s\"",
    ));
    let out = home
        .command()
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1")
        .arg("poll")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let skipped: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("article skipped"))
        .collect();
    assert!(
        skipped.iter().any(|l| l.contains("localhost")
            && l.contains("non-public")
            && l.contains("not sent to the proxy")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("127.0.0.1:9"),
        "the proxy was never asked: {stdout}"
    );
}

/// `[server] public_status = false` keeps `/status*`, `/metrics` and `/healthz`'s detail for
/// loopback clients (the decision for other addresses is table-tested in `serve`); the
/// connection layer tells handlers who is asking.
#[test]
fn status_pages_stay_available_on_loopback_when_not_public() {
    let home = Gazette::new("[server]\nlisten = \"127.0.0.1:0\"\npublic_status = false\n");
    let daemon = home.start();
    for path in ["/status", "/status.json", "/status.rss", "/metrics"] {
        assert_eq!(http_get(daemon.addr, path, &[]).status, 200, "{path}");
    }
    let health = http_get(daemon.addr, "/healthz", &[]);
    assert!(
        String::from_utf8_lossy(&health.body).contains("\"sources\""),
        "loopback sees the detail"
    );
}

/// Defect 1 (writes that fail): with the disk full, every store failed and the failure
/// counter stayed at 1 (the failure could not be recorded either), so the source was polled at
/// its interval forever and `/healthz` stayed 200. Now failures count (a state that cannot be
/// written is kept in memory) and back off, and since sled takes no more writes after its log
/// write failed, `/healthz` answers 503 and the watchdog stops, so the service manager
/// restarts gazette.
#[test]
fn stores_failing_on_a_full_disk_back_off_and_the_daemon_says_it_needs_a_restart() {
    let server = FixtureServer::start();
    server.sequence(
        "/v.rss",
        (0..200u64)
            .map(|k| {
                Reply::ok(
                    "application/rss+xml",
                    varied_feed(40)
                        .replace("Story ", &format!("Poll {k} story "))
                        .replace("<guid>g", &format!("<guid>p{k}-")),
                )
            })
            .collect(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((_disk, disk_dir, home)) = home_on_small_disk(
        &dir,
        "16m",
        "1KiB",
        &source("v", &server.url("/v.rss"), "interval = \"1s\""),
    ) else {
        return;
    };
    let daemon = home.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.hits("/v.rss") < 2 {
        assert!(Instant::now() < deadline, "never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    // fill the disk to the last byte
    {
        use std::io::Write;
        let mut f = std::fs::File::create(disk_dir.join("filler")).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        // one page back: more free than min_free, so polls are not deferred, yet far less
        // than a poll writes, so its store fails with ENOSPC
        let len = f.metadata().expect("len").len();
        f.set_len(len.saturating_sub(8192)).expect("truncate");
    }
    // wait until storing fails, then count polls over 20 s: at a 1 s interval that was about
    // 20; deferred (or backing off) it is a handful
    let deadline = Instant::now() + Duration::from_secs(60);
    let archive_failed = |log: &str| log.contains("No space left");
    while !archive_failed(&daemon.log.lock().expect("log")) {
        assert!(
            Instant::now() < deadline,
            "storing never failed: {}",
            daemon.log.lock().expect("log")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = server.hits("/v.rss");
    std::thread::sleep(Duration::from_secs(20));
    let polls = server.hits("/v.rss") - before;
    let log = daemon.log.lock().expect("log").clone();
    assert!(polls <= 8, "{polls} polls in 20 s: no backoff\n{log}");
    // the disk then reads as full (polls deferred), or failures count and back off
    assert!(
        log.contains("polls are deferred") || log.contains("failures=3"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    // the search index, which can be built again, never takes the archive's last space
    assert!(
        log.contains("the search index is not built") || log.contains("the search index waits"),
        "{log}"
    );
    let health = http_get(daemon.addr, "/healthz", &[]);
    assert_eq!(health.status, 503);
    assert!(
        String::from_utf8_lossy(&health.body).contains("restart"),
        "{}",
        String::from_utf8_lossy(&health.body)
    );
    let _ = std::fs::remove_file(disk_dir.join("filler"));
    drop(daemon);
}

/// "Sources that stall the CPU show 'ok'": a document whose reading takes more CPU than
/// `[polling] cpu_budget` is dropped and its poll fails, so the source backs off and shows
/// "failing" (here with a budget no real document fits in).
#[test]
fn a_document_over_the_cpu_budget_fails_its_poll_instead_of_showing_ok() {
    let server = FixtureServer::start();
    server.route(
        "/big.rss",
        Reply::ok("application/rss+xml", varied_feed(300)),
    );
    server.route(
        "/small.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&format!(
        "[polling]\ncpu_budget = \"1ms\"\n\n{}",
        source("big", &server.url("/big.rss"), "")
    ));
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("big: failed: reading")
            && run
                .stdout
                .contains("budget per document ([polling] cpu_budget)"),
        "{}",
        run.stdout
    );
    let status = home.run(&["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(doc["sources"][0]["state"], "failing", "{doc}");
    // the default budget lets ordinary documents through
    let fine = Gazette::new(&source("small", &server.url("/small.rss"), ""));
    assert!(fine.run(&["poll"]).stdout.contains("2 new"));
}
