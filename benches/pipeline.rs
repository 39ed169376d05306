//! Hot paths of ingest, from memory on one core: charset decoding, feed parsing (gazette's
//! wrapper vs raw feed-rs on the same bytes), the whole read (decode + parse + normalize), and
//! archive ingest (new articles vs an unchanged re-poll).
//!
//! `GAZETTE_BENCH_FEED=path` reads the feed of the `read` group from a file instead of the
//! built-in one: `bench/run` passes a feed of its farm so that gazette, raw feed-rs and Python
//! feedparser are measured on the same bytes.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gazette::archive::Archive;
use gazette::model::PollState;
use gazette::poll::read_document;
use url::Url;

/// A realistic RSS 2.0 feed: `items` items with ~1 KB of HTML each.
fn feed(items: usize, seed: usize) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Bench</title><link>https://bench.example/</link><description>d</description>",
    );
    for i in 0..items {
        out.push_str(&format!(
            "<item><title>Story {seed}-{i}: Zhongguancun patent agencies report record year &amp; more</title>\
             <link>https://bench.example/{seed}/{i}.html?utm_source=rss</link><guid>bench-{seed}-{i}</guid>\
             <pubDate>Wed, 04 May 2016 15:{:02}:36 +0800</pubDate><dc:creator>Desk {i}</dc:creator>\
             <description><![CDATA[<p>There were 223 patent agencies in Zhongguancun by the end of 2015, accounting for 60.1 percent of all in Beijing.</p>\
             <p>The number of patent agents stood at 3,166, accounting for 62.9 percent in Beijing and 25.1 percent in China. \
             In addition to patent agency services, IP institutes also offer patent analysis, strategic formulation, pre-warning analysis \
             and patent database construction services. <a href=\"/related/{i}\" onclick=\"x()\">Related</a> <img src=\"/img/{i}.jpg\"></p>\
             <p>A number of professional internet IP service platforms were displayed at the meeting.<script>track()</script></p>]]></description></item>",
            i % 60
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// The archive's input: `doc` read as source "s" would be.
fn candidates(
    doc: &str,
    url: Option<&Url>,
    now: chrono::DateTime<Utc>,
) -> Vec<gazette::normalize::Candidate> {
    read_document(doc.as_bytes(), None, url, "s", None, now)
        .expect("parses")
        .candidates
}

fn bench(c: &mut Criterion) {
    let url = Url::parse("https://bench.example/feed.xml").ok();
    let doc = match std::env::var_os("GAZETTE_BENCH_FEED") {
        Some(path) => std::fs::read_to_string(&path).expect("GAZETTE_BENCH_FEED is readable UTF-8"),
        None => feed(50, 0),
    };
    let now = Utc::now();

    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("feed-rs raw parse", |b| {
        b.iter(|| feed_rs::parser::parse(black_box(doc.as_bytes())))
    });
    g.bench_function("gazette parse", |b| {
        b.iter(|| gazette::parse::parse_feed(black_box(&doc), url.as_ref(), chrono_tz::Tz::UTC))
    });
    g.bench_function("decode+parse+normalize", |b| {
        b.iter(|| {
            read_document(
                black_box(doc.as_bytes()),
                Some("application/rss+xml"),
                url.as_ref(),
                "s",
                None,
                now,
            )
        })
    });
    let gbk = encoding_rs::GBK
        .encode(&doc.replace("UTF-8", "gbk").replace("Story", "新闻"))
        .0
        .into_owned();
    g.bench_function("decode gbk (declared)", |b| {
        b.iter(|| gazette::decode::decode(black_box(&gbk), None))
    });
    g.finish();

    let mut g = c.benchmark_group("archive");
    g.throughput(Throughput::Elements(50));
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open(
        &dir.path().join("a"),
        std::time::Duration::from_secs(48 * 3600),
    )
    .expect("open");
    let mut seed = 1;
    g.bench_function("ingest 50 new articles", |b| {
        b.iter_batched(
            || {
                seed += 1;
                candidates(&feed(50, seed), url.as_ref(), now)
            },
            |cands| {
                archive
                    .ingest(
                        "s",
                        &cands,
                        &PollState::default(),
                        now,
                        &|_| Vec::new(),
                        &[],
                    )
                    .expect("ingest")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let same = candidates(&doc, url.as_ref(), now);
    archive
        .ingest("s", &same, &PollState::default(), now, &|_| Vec::new(), &[])
        .expect("ingest");
    g.bench_function("re-ingest 50 unchanged", |b| {
        b.iter(|| {
            archive
                .ingest(
                    "s",
                    black_box(&same),
                    &PollState::default(),
                    now,
                    &|_| Vec::new(),
                    &[],
                )
                .expect("ingest")
        })
    });
    g.finish();
}

/// A 20-topic curator (a mix of words, prefixes, phrases, acronyms, CJK, fields) against 10k
/// stored articles (topic matching is per article, so this is what a re-curation costs), and
/// rendering a 50-item feed in each format.
fn bench_topics(c: &mut Criterion) {
    let queries = [
        "\"intellectual property\" OR patent* OR trademark* OR IP OR WIPO OR 知识产权",
        "tag:china AND (science OR research* OR 科技)",
        "\"artificial intelligence\" OR AI OR \"machine learning\" OR LLM*",
        "EU AND (regulation* OR antitrust OR GDPR)",
        "title:(garden* OR 颐和园) NOT source:wire",
        "climate OR emission* OR \"carbon capture\"",
        "semiconductor* OR chip* OR TSMC OR ASML",
        "vaccine* OR pandemic OR WHO",
        "lang:zh AND 知识产权",
        "author:desk AND patent*",
    ];
    let mut text = String::from(
        "[[source]]\nid = \"s\"\nurl = \"https://bench.example/feed.xml\"\ntags = [\"china\"]\n",
    );
    for i in 0..20 {
        text.push_str(&format!(
            "[[topic]]\nid = \"t{i}\"\ntitle = \"T{i}\"\nquery = '{}'\n",
            queries[i % queries.len()]
        ));
    }
    let config =
        gazette::config::parse(&text, std::path::Path::new("feeds.toml")).expect("bench config");
    let curator = gazette::curate::Curator::new(&config);
    let url = Url::parse("https://bench.example/feed.xml").ok();
    let now = Utc::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open(
        &dir.path().join("a"),
        std::time::Duration::from_secs(48 * 3600),
    )
    .expect("open");
    for seed in 0..200 {
        let cands = candidates(&feed(50, 1000 + seed), url.as_ref(), now);
        archive
            .ingest(
                "s",
                &cands,
                &PollState::default(),
                now,
                &|a| curator.topics_for(a),
                &[],
            )
            .expect("ingest");
    }
    let all = archive.topic_newest("t0", 10_000).expect("topic");
    assert_eq!(all.len(), 10_000, "every bench article is an IP article");
    let articles = &all[..50];

    let mut g = c.benchmark_group("topics");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("curate 10k articles x 20 topics", |b| {
        b.iter(|| {
            all.iter()
                .map(|a| curator.topics_for(black_box(a)).len())
                .sum::<usize>()
        })
    });
    g.throughput(Throughput::Elements(articles.len() as u64));
    for format in gazette::publish::Format::ALL {
        g.bench_function(format!("render 50-item {}", format.ext()), |b| {
            b.iter(|| {
                gazette::publish::render(
                    &gazette::publish::Channel::of_topic(&config.topics[0]),
                    black_box(articles),
                    format,
                    &gazette::publish::Site::new(&config),
                )
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench, bench_topics
}
criterion_main!(benches);
