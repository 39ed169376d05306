//! Crash safety: SIGKILL at random moments during heavy ingestion, many times; afterwards the
//! archive opens, holds every story exactly once, and `verify` finds nothing wrong.

#![cfg(unix)]

use std::time::{Duration, Instant};

use crate::support::{FixtureServer, Gazette, Reply, source};

/// A feed of `items` entries; every fourth story of feed n is the story its neighbour n - 1
/// carries under the same title and date (where the neighbour has it).
fn feed(n: usize, items: usize) -> String {
    let mut out = format!(
        "<rss version=\"2.0\"><channel><title>feed {n}</title><link>http://f{n}.example/</link><description>d</description>"
    );
    for i in 0..items {
        // stories shared with the neighbour feed have the same title and date
        let (story, owner) = if i % 4 == 0 && n > 0 {
            (i, n - 1)
        } else {
            (i, n)
        };
        out.push_str(&format!(
            "<item><title>Story {owner}-{story}: patent office news</title><link>http://f{n}.example/{i}</link><guid>f{n}-{i}</guid>\
             <pubDate>Wed, 04 May 2016 {:02}:{:02}:00 GMT</pubDate><description>{}</description></item>",
            owner % 24,
            story % 60,
            "Body text of the story. ".repeat(40)
        ));
    }
    out.push_str("</channel></rss>");
    out
}

#[test]
fn sigkill_during_ingestion_never_loses_or_duplicates_articles() {
    let server = FixtureServer::start();
    let (feeds, items) = (30, 40);
    let mut config = String::new();
    for n in 0..feeds {
        server.route(
            &format!("/f{n}.rss"),
            Reply::ok("application/rss+xml", feed(n, items)),
        );
        config.push_str(&source(
            &format!("f{n}"),
            &server.url(&format!("/f{n}.rss")),
            "",
        ));
    }
    // unique stories: the distinct titles over all feeds (a shared story has one date too)
    let expected = {
        let mut all = std::collections::HashSet::new();
        for n in 0..feeds {
            for i in 0..items {
                let owner = if i % 4 == 0 && n > 0 { n - 1 } else { n };
                all.insert((owner, i));
            }
        }
        all.len()
    };
    let home = Gazette::new(&config);
    // `run` needs its own port each time: the default in tests is port 0
    let started = Instant::now();
    let mut kills = 0;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    while kills < 12 && started.elapsed() < Duration::from_secs(90) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // alternately the one-shot `poll` and the daemon (whose first polls come within a second)
        let command = if kills % 2 == 0 { "poll" } else { "run" };
        let mut child = home
            .command()
            .arg(command)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(
            if command == "run" { 300 } else { 20 } + seed % 700,
        ));
        if child.try_wait().expect("wait").is_none() {
            let _ = child.kill(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
        // every time: the archive opens and is consistent
        let run = home.run(&["verify"]);
        assert_eq!(
            run.code, 0,
            "after kill {kills}: {}{}",
            run.stdout, run.stderr
        );
    }
    assert!(
        kills >= 3,
        "the polls finished too fast to be killed ({kills} kills)"
    );
    let run = home.run(&["poll"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let articles = home
        .run(&["articles", "--limit", "100000", "--json"])
        .json_lines();
    let mut titles: Vec<String> = articles
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect();
    let total = titles.len();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), total, "no story stored twice");
    assert_eq!(total, expected, "every story is there ({kills} kills)");
    assert_eq!(home.run(&["verify"]).code, 0);
}
