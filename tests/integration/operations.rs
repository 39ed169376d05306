//! Running for months: `verify` and `--repair`, `export`/`import` round trips, JSON logs.

use crate::support::{FixtureServer, Gazette, Reply, fixture, source};

fn home_with_articles(server: &FixtureServer) -> Gazette {
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    server.route(
        "/haidian.atom",
        Reply::ok("application/atom+xml", fixture("same-story.atom")),
    );
    server.route(
        "/daily.json",
        Reply::ok("application/feed+json", fixture("same-story.json")),
    );
    let home = Gazette::new(&format!(
        "{}{}{}[[topic]]\nid = \"ip\"\ntitle = \"IP\"\nquery = 'IP OR patent*'\n",
        source("wire", &server.url("/wire.rss"), ""),
        source("haidian", &server.url("/haidian.atom"), ""),
        source("daily", &server.url("/daily.json"), ""),
    ));
    assert_eq!(home.run(&["poll"]).code, 0);
    home
}

fn article_lines(export: &str) -> Vec<String> {
    export
        .lines()
        .filter(|l| l.starts_with("{\"article\""))
        .map(str::to_string)
        .collect()
}

#[test]
fn export_then_import_into_a_fresh_archive_gives_the_same_articles() {
    let server = FixtureServer::start();
    let home = home_with_articles(&server);
    let dump = home.dir.path().join("dump.jsonl");
    let run = home.run(&["export", "--output", dump.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("exported 4 articles"), "{}", run.stderr);
    let first = std::fs::read_to_string(&dump).expect("dump");
    assert!(
        first.starts_with("{\"header\":{\"format\":\"gazette-export/1\""),
        "{first}"
    );
    assert_eq!(article_lines(&first).len(), 4);
    assert!(
        first.contains("{\"source_state\":"),
        "source states are exported"
    );

    let fresh = Gazette::new(
        &std::fs::read_to_string(home.config_path())
            .expect("config")
            .replace("[archive]\npath = \"archive\"\n", ""),
    );
    let run = fresh.run(&["import", dump.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("imported: 4 new, 0 merged"),
        "{}",
        run.stdout
    );
    let again = fresh.run(&["export"]);
    assert_eq!(
        article_lines(&again.stdout),
        article_lines(&first),
        "same articles after the round trip"
    );

    // importing twice deduplicates: nothing new
    let run = fresh.run(&["import", dump.to_str().expect("path")]);
    assert!(
        run.stdout.contains("imported: 0 new, 4 merged"),
        "{}",
        run.stdout
    );
    assert_eq!(fresh.run(&["articles", "--json"]).json_lines().len(), 4);
    assert_eq!(fresh.run(&["verify"]).code, 0);
    // and the imported archive knows the entries: a poll finds nothing new
    let run = fresh.run(&["poll"]);
    assert!(run.stdout.contains("0 new"), "{}", run.stdout);
}

#[test]
fn verify_finds_index_damage_and_repair_rebuilds_the_indexes() {
    let server = FixtureServer::start();
    let home = home_with_articles(&server);
    let run = home.run(&["verify"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("ok: 4 articles"), "{}", run.stdout);
    {
        // the indexes are chunks of entries (src/archive/chunks.rs): lose by_time's only chunk,
        // and add a dedup chunk of one entry that points nowhere (sorting after the others)
        let db = sled::open(home.archive_path()).expect("sled");
        let by_time = db.open_tree("by_time/c").expect("tree");
        assert_eq!(by_time.len(), 1, "4 entries make one chunk");
        let first = by_time.first().expect("read").expect("a chunk");
        by_time.remove(first.0).expect("remove");
        let key = b"zzzz no such title\0\x80\0\0\0\0\0\0\0ffffffffffffffff";
        let chunk = [&b"C\x00"[..], &[key.len() as u8], key, b"\x00"].concat();
        db.open_tree("dedup/c")
            .expect("tree")
            .insert(key, chunk)
            .expect("insert");
        db.flush().expect("flush");
    }
    let run = home.run(&["verify"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("by_time index is missing 4 entries"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("dedup index entry")
            && run.stdout.contains("points to no matching article"),
        "{}",
        run.stdout
    );
    let run = home.run(&["verify", "--repair"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("repaired: re-indexed 4 articles; 0 problems left"),
        "{}",
        run.stdout
    );
    assert_eq!(home.run(&["verify"]).code, 0);
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 4);

    // a chunk that does not decode is reported, not a crash, and repair drops it
    {
        let db = sled::open(home.archive_path()).expect("sled");
        db.open_tree("identity/c")
            .expect("tree")
            .insert(b"zzz", b"not a chunk")
            .expect("insert");
        db.flush().expect("flush");
    }
    let run = home.run(&["verify"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("identity chunk \"zzz\"") && run.stdout.contains("no chunk tag"),
        "{}",
        run.stdout
    );
    let run = home.run(&["verify", "--repair"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(home.run(&["verify"]).code, 0);
    assert!(
        home.run(&["poll"]).stdout.contains("0 new"),
        "identities kept"
    );
}

#[test]
fn json_logs_for_log_shippers() {
    let server = FixtureServer::start();
    server.route(
        "/wire.rss",
        Reply::ok("application/rss+xml", fixture("same-story.rss")),
    );
    let home = Gazette::new(&source("wire", &server.url("/wire.rss"), ""));
    let out = home
        .command()
        .args(["--log-format", "json", "poll"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let polled = lines
        .iter()
        .find(|l| l["fields"]["message"] == "polled")
        .expect("one line per poll");
    assert_eq!(polled["fields"]["source"], "wire");
    assert_eq!(polled["fields"]["new"], 2);
    assert_eq!(polled["level"], "INFO");
}

#[test]
fn retention_prunes_old_articles_and_tombstones_keep_them_from_coming_back() {
    let server = FixtureServer::start();
    // the same-story fixtures are from 2016; one fresh article is from today
    let fresh = format!(
        "<rss version=\"2.0\"><channel><title>t</title><item><title>Fresh news</title><guid>fresh</guid><pubDate>{}</pubDate></item></channel></rss>",
        chrono::Utc::now().to_rfc2822()
    );
    server.route("/fresh.rss", Reply::ok("application/rss+xml", fresh));
    let home = home_with_articles(&server);
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    std::fs::write(
        home.config_path(),
        config.clone() + &source("fresh", &server.url("/fresh.rss"), ""),
    )
    .expect("write");
    assert_eq!(home.run(&["poll", "--source", "fresh"]).code, 0);
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 5);
    // a year of retention: everything from 2016 goes, the fresh article stays
    let with_retention = std::fs::read_to_string(home.config_path())
        .expect("config")
        .replace(
            "path = \"archive\"\n",
            "path = \"archive\"\nretention = \"365d\"\n",
        );
    std::fs::write(home.config_path(), with_retention).expect("write");
    let left = home.run(&["articles", "--json"]).json_lines();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["title"], "Fresh news");
    // the feeds still list the old stories: they do not come back
    let run = home.run(&["poll"]);
    assert!(
        run.stdout
            .contains("total: 4 sources, 4 ok, 0 failed; 0 new"),
        "{}",
        run.stdout
    );
    assert_eq!(home.run(&["articles", "--json"]).json_lines().len(), 1);
    let run = home.run(&["verify"]);
    assert_eq!(run.code, 0, "tombstones are consistent: {}", run.stdout);
    assert_eq!(home.run(&["verify", "--repair"]).code, 0);
    let run = home.run(&["poll"]);
    assert!(
        run.stdout.contains("0 new"),
        "repair keeps the tombstones: {}",
        run.stdout
    );
}

#[test]
fn the_daemon_writes_compressed_snapshots_and_keeps_the_newest() {
    let server = FixtureServer::start();
    let home = home_with_articles(&server);
    let config = std::fs::read_to_string(home.config_path())
        .expect("config")
        .replace(
            "path = \"archive\"\n",
            "path = \"archive\"\nbackup_every = \"1s\"\nbackup_keep = 2\n",
        );
    std::fs::write(home.config_path(), config).expect("write");
    let mut daemon = home.start();
    let dir = home.dir.path().join("backups");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while gazette::daemon::housekeeping::snapshots(&dir).is_empty()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(daemon.stop(), Some(0));
    let snaps = gazette::daemon::housekeeping::snapshots(&dir);
    assert!(!snaps.is_empty() && snaps.len() <= 2, "{snaps:?}");
    // a snapshot restores into a fresh archive
    let fresh = Gazette::new("");
    let run = fresh.run(&[
        "import",
        snaps.last().and_then(|p| p.to_str()).expect("path"),
    ]);
    assert!(
        run.stdout.contains("imported: 4 new"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn opml_in_and_out() {
    let server = FixtureServer::start();
    let home = home_with_articles(&server);
    let opml =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/subscriptions.opml");
    let run = home.run(&["import-opml", opml.to_str().expect("path")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("4 feeds"), "{}", run.stderr);
    assert!(
        run.stdout.contains("id = \"china-daily-2\""),
        "duplicate titles get unique ids: {}",
        run.stdout
    );
    assert!(run.stdout.contains("tags = [\"ip\"]"), "{}", run.stdout);
    let config = std::fs::read_to_string(home.config_path()).expect("config");
    // the daemon below must not reach the internet: point the imported feeds at a closed
    // loopback port
    let imported = run.stdout.replace("https://", "http://127.0.0.1:1/");
    std::fs::write(home.config_path(), format!("{config}\n{imported}")).expect("append");
    let check = home.run(&["check"]);
    assert_eq!(
        check.stdout.trim(),
        "ok: 7 sources, 1 topics",
        "{}",
        check.stderr
    );

    let daemon = home.start();
    let sources = crate::support::http_get(daemon.addr, "/sources.opml", &[]);
    assert_eq!(
        sources.headers.get("content-type").map(String::as_str),
        Some("text/x-opml; charset=utf-8")
    );
    let doc = opml::OPML::from_str(&String::from_utf8_lossy(&sources.body)).expect("valid OPML");
    assert_eq!(doc.body.outlines.len(), 7);
    let topics = crate::support::http_get(daemon.addr, "/topics.opml", &[]);
    let doc = opml::OPML::from_str(&String::from_utf8_lossy(&topics.body)).expect("valid OPML");
    assert_eq!(doc.body.outlines.len(), 1);
    assert!(
        doc.body.outlines[0]
            .xml_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/topics/ip.atom"))
    );
}
