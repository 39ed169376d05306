//! Hot paths of ingest, from memory on one core: charset decoding, feed parsing (gazette's
//! wrapper vs raw feed-rs on the same bytes), the whole read (decode + parse + normalize), and
//! archive ingest (new articles vs an unchanged re-poll).

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

fn bench(c: &mut Criterion) {
    let url = Url::parse("https://bench.example/feed.xml").ok();
    let doc = feed(50, 0);
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
                chrono_tz::Tz::UTC,
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
                read_document(
                    feed(50, seed).as_bytes(),
                    None,
                    url.as_ref(),
                    "s",
                    chrono_tz::Tz::UTC,
                    now,
                )
                .expect("parses")
                .candidates
            },
            |cands| {
                archive
                    .ingest("s", &cands, &PollState::default(), now, &|_| Vec::new())
                    .expect("ingest")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    let same = read_document(
        doc.as_bytes(),
        None,
        url.as_ref(),
        "s",
        chrono_tz::Tz::UTC,
        now,
    )
    .expect("parses")
    .candidates;
    archive
        .ingest("s", &same, &PollState::default(), now, &|_| Vec::new())
        .expect("ingest");
    g.bench_function("re-ingest 50 unchanged", |b| {
        b.iter(|| {
            archive
                .ingest("s", black_box(&same), &PollState::default(), now, &|_| {
                    Vec::new()
                })
                .expect("ingest")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
