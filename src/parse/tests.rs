//! Reading fidelity, one behaviour per test: namespaces, Dublin Core, authors, Atom text
//! constructs, entities, languages, relative references, podcasts and media, JSON Feed, and
//! nothing dropped in silence. Each table row is a small document as publishers write them.

use super::*;
use crate::normalize::{Candidate, Origin, normalize};

fn read(doc: &str) -> ParsedFeed {
    parse_feed(
        doc,
        Url::parse("https://example.org/feeds/main.xml")
            .ok()
            .as_ref(),
        Tz::UTC,
    )
    .unwrap_or_else(|e| panic!("{e}: {doc}"))
}

fn candidates(doc: &str) -> Vec<Candidate> {
    let base = Url::parse("https://example.org/feeds/main.xml").ok();
    let origin = Origin {
        source: "s",
        base: base.as_ref(),
        publisher: None,
    };
    read(doc)
        .entries
        .iter()
        .filter_map(|e| normalize(e, origin, Utc::now()))
        .collect()
}

fn date(s: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(s)
            .expect("date")
            .with_timezone(&Utc),
    )
}

#[test]
fn rss_in_any_namespace_keeps_every_entry() {
    let item = "<item><title>One</title><link>http://x/1</link></item><item><title>Two</title><link>http://x/2</link></item>";
    let cases = [
        (
            "userland default namespace",
            format!(
                r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>t</title>{item}</channel></rss>"#
            ),
        ),
        (
            "any other default namespace",
            format!(
                r#"<rss version="2.0" xmlns="http://example.com/whatever"><channel><title>t</title>{item}</channel></rss>"#
            ),
        ),
        (
            "prefixed RSS elements",
            r#"<r:rss xmlns:r="http://backend.userland.com/rss2" version="2.0"><r:channel><r:title>t</r:title><r:item><r:title>One</r:title><r:link>http://x/1</r:link></r:item><r:item><r:title>Two</r:title><r:link>http://x/2</r:link></r:item></r:channel></r:rss>"#.to_string(),
        ),
        (
            "RSS 0.90",
            format!(
                r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>t</title><link>http://x/</link></channel>{item}</rdf:RDF>"#
            ),
        ),
        (
            "RSS 1.0",
            format!(
                r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://x/"><title>t</title></channel>{item}</rdf:RDF>"#
            ),
        ),
        (
            "mismatched end tag",
            format!(r#"<rss version="2.0"><channel><title>t</titel>{item}</channel></rss>"#),
        ),
    ];
    for (name, doc) in cases {
        let feed = read(&doc);
        let titles: Vec<_> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.clone())
            .collect();
        assert_eq!(titles, ["One", "Two"], "{name}");
        assert_eq!(
            feed.entries[1].link.as_deref(),
            Some("http://x/2"),
            "{name}"
        );
    }
}

#[test]
fn rss_1_0_items_are_identified_by_rdf_about() {
    let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://x/"><title>t</title></channel><item rdf:about="http://x/a"><title>A</title></item><item rdf:about="urn:x:b"><title>B</title><link>http://x/b</link></item></rdf:RDF>"#;
    let feed = read(doc);
    assert_eq!(feed.entries[0].guid.as_deref(), Some("http://x/a"));
    assert_eq!(feed.entries[1].guid.as_deref(), Some("urn:x:b"));
    assert_eq!(feed.meta.format, "RSS 1.0");
}

#[test]
fn foreign_markup_and_unknown_namespaces_never_cost_an_entry() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:x="http://example.com/x">
      <x:unknown><x:deep a="1">v</x:deep></x:unknown>
      <entry><id>1</id><title>Math</title><x:rating>5</x:rating>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>E = <math xmlns="http://www.w3.org/1998/Math/MathML"><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math></p></div></content></entry>
      <entry><id>2</id><title>Drawing</title>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="http://x/"><circle r="4"/></a></svg><p>After the drawing</p></div></content></entry>
      <entry><id>3</id><title>Plain</title><summary>s</summary></entry>
    </feed>"#;
    let c = candidates(doc);
    let titles: Vec<_> = c.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Math", "Drawing", "Plain"]);
    assert!(c[1].text.contains("After the drawing"), "{}", c[1].text);
}

#[test]
fn dublin_core_and_dcmi_terms_fill_missing_native_elements() {
    let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><channel>
      <dc:title>DC feed</dc:title><dc:description>About it</dc:description><dc:language>fr-CA</dc:language>
      <dc:creator>Feed Creator</dc:creator><dc:date>2024-05-01T10:00:00Z</dc:date>
      <item><dc:title>DC title</dc:title><dc:creator>First Author</dc:creator><dc:creator>Second Author</dc:creator>
        <dc:date>2024-05-02T08:30:00+02:00</dc:date><dc:subject>Patents</dc:subject><dc:subject>Trade marks</dc:subject>
        <dc:description>DC summary</dc:description><dc:language>de</dc:language><link>http://x/1</link></item>
      <item><title>Terms</title><dcterms:created>2024-05-03T00:00:00Z</dcterms:created><dcterms:modified>2024-05-04T00:00:00Z</dcterms:modified><link>http://x/2</link></item>
      <item><title>Issued</title><dcterms:issued>2024-05-05T00:00:00Z</dcterms:issued><dc:contributor>Only Contributor</dc:contributor><link>http://x/3</link></item>
    </channel></rss>"#;
    let feed = read(doc);
    let m = &feed.meta;
    assert_eq!(m.title.as_deref(), Some("DC feed"));
    assert_eq!(m.description.as_deref(), Some("About it"));
    assert_eq!(m.language.as_deref(), Some("fr-CA"));
    assert_eq!(m.author.as_deref(), Some("Feed Creator"));
    assert_eq!(m.updated, date("2024-05-01T10:00:00Z"));
    let e = &feed.entries;
    assert_eq!(e[0].title.as_deref(), Some("DC title"));
    assert_eq!(e[0].authors, ["First Author", "Second Author"]);
    assert_eq!(e[0].published, date("2024-05-02T06:30:00Z"));
    assert_eq!(e[0].categories, ["Patents", "Trade marks"]);
    assert_eq!(e[0].summary_html.as_deref(), Some("DC summary"));
    assert_eq!(e[0].language.as_deref(), Some("de"));
    assert_eq!(e[1].published, date("2024-05-03T00:00:00Z"));
    assert_eq!(e[1].updated, date("2024-05-04T00:00:00Z"));
    assert_eq!(e[2].published, date("2024-05-05T00:00:00Z"));
    assert_eq!(e[2].authors, ["Only Contributor"]);
    // the first creator is the article's author, all of them are kept in order
    let c = candidates(doc);
    assert_eq!(c[0].author.as_deref(), Some("First Author, Second Author"));
}

#[test]
fn rss_authors_give_the_name_and_keep_the_email_apart() {
    let cases = [
        (
            "jane@example.org (Jane Doe)",
            "Jane Doe",
            Some("jane@example.org"),
        ),
        (
            "Jane Doe <jane@example.org>",
            "Jane Doe",
            Some("jane@example.org"),
        ),
        (
            "Jane Doe (jane@example.org)",
            "Jane Doe",
            Some("jane@example.org"),
        ),
        (
            "jane@example.org",
            "jane@example.org",
            Some("jane@example.org"),
        ),
        ("Jane Doe", "Jane Doe", None),
    ];
    for (raw, name, email) in cases {
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title><author>{}</author></item></channel></rss>",
            html_escape::encode_text(raw)
        );
        let e = &read(&doc).entries[0];
        assert_eq!(e.authors, [name], "{raw}");
        assert_eq!(e.author_emails.first().map(String::as_str), email, "{raw}");
    }
}

#[test]
fn channel_authors_are_inherited_by_entries_without_one() {
    let cases = [
        (
            "<managingEditor>ed@example.org (The Editor)</managingEditor>",
            "The Editor",
        ),
        (
            "<dc:creator>Channel Creator</dc:creator>",
            "Channel Creator",
        ),
        (
            "<itunes:author>Podcast Host</itunes:author>",
            "Podcast Host",
        ),
    ];
    for (channel, want) in cases {
        let doc = format!(
            r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>t</title>{channel}<item><title>a</title></item><item><title>b</title><author>own@example.org (Own)</author></item></channel></rss>"#
        );
        let feed = read(&doc);
        assert_eq!(feed.meta.author.as_deref(), Some(want), "{channel}");
        assert_eq!(feed.entries[0].authors, [want], "{channel}");
        assert_eq!(feed.entries[1].authors, ["Own"], "{channel}");
    }
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><author><name>Feed Author</name></author>
      <entry><id>1</id><title>a</title></entry>
      <entry><id>2</id><title>b</title><source><author><name>Source Author</name></author></source></entry>
      <entry><id>3</id><title>c</title><author><name>Entry Author</name></author></entry></feed>"#;
    let authors: Vec<_> = read(atom)
        .entries
        .iter()
        .map(|e| e.authors.clone())
        .collect();
    assert_eq!(
        authors,
        [["Feed Author"], ["Source Author"], ["Entry Author"]]
    );
}

#[test]
fn atom_text_constructs_follow_their_type_in_title_key_and_output() {
    // (title element, the article title)
    let cases = [
        (
            r#"<title type="text">History of the &lt;blink&gt; tag</title>"#,
            "History of the <blink> tag",
        ),
        (
            r#"<title>History of the &lt;blink&gt; tag</title>"#,
            "History of the <blink> tag",
        ),
        (
            r#"<title type="html">History of the &amp;lt;blink&amp;gt; tag</title>"#,
            "History of the <blink> tag",
        ),
        (
            r#"<title type="html">&lt;b&gt;Bold&lt;/b&gt; move</title>"#,
            "Bold move",
        ),
        (
            r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">&lt;p&gt;Escaped &lt;b&gt;is text&lt;/b&gt;</div></title>"#,
            "<p>Escaped <b>is text</b>",
        ),
        (
            r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Inline <b>markup</b></div></title>"#,
            "Inline markup",
        ),
    ];
    for (title, want) in cases {
        let doc = format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id>{title}<link href="http://x/1"/></entry></feed>"#
        );
        let c = candidates(&doc);
        assert_eq!(c[0].title, want, "{title}");
        if want.contains("<blink>") {
            assert_eq!(c[0].norm_title, "history of the blink tag", "{title}");
        }
    }
    let content = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id><title>x</title>
      <summary type="text">Plain &lt;b&gt;not bold&lt;/b&gt;</summary>
      <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Real <b>bold</b> and &lt;i&gt;escaped&lt;/i&gt;</p></div></content></entry></feed>"#;
    let e = &read(content).entries[0];
    assert_eq!(
        e.summary_html.as_deref(),
        Some("<p>Plain &lt;b&gt;not bold&lt;/b&gt;</p>")
    );
    assert_eq!(
        e.content_html.as_deref(),
        Some("<p>Real <b>bold</b> and &lt;i&gt;escaped&lt;/i&gt;</p>")
    );
}

#[test]
fn atom_0_3_reads_as_fully_as_atom_1_0() {
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#" xml:lang="en">
      <title mode="escaped" type="text/html">Old &lt;b&gt;feed&lt;/b&gt;</title>
      <tagline>The tagline</tagline><link rel="alternate" type="text/html" href="http://x/"/>
      <modified>2004-01-01T19:48:21Z</modified><author><name>Feed Person</name></author>
      <entry><id>tag:x,2004:1</id><title mode="base64" type="text/html">PGI+RW50cnk8L2I+IHRpdGxl</title>
        <link rel="alternate" type="text/html" href="http://x/1"/>
        <issued>2004-01-01T10:00:00Z</issued><modified>2004-01-02T10:00:00Z</modified>
        <summary type="text/plain">Sum</summary>
        <content type="text/html" mode="escaped">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"#;
    let feed = read(doc);
    assert_eq!(feed.meta.format, "Atom 0.3");
    assert_eq!(feed.meta.title.as_deref(), Some("Old feed"));
    assert_eq!(feed.meta.description.as_deref(), Some("The tagline"));
    assert_eq!(feed.meta.link.as_deref(), Some("http://x/"));
    assert_eq!(feed.meta.updated, date("2004-01-01T19:48:21Z"));
    let e = &feed.entries[0];
    assert_eq!(e.guid.as_deref(), Some("tag:x,2004:1"));
    assert_eq!(e.title.as_deref(), Some("Entry title"));
    assert_eq!(e.link.as_deref(), Some("http://x/1"));
    assert_eq!(e.published, date("2004-01-01T10:00:00Z"));
    assert_eq!(e.updated, date("2004-01-02T10:00:00Z"));
    assert_eq!(e.authors, ["Feed Person"]);
    assert_eq!(e.content_html.as_deref(), Some("<p>Body</p>"));
    assert_eq!(e.language.as_deref(), Some("en"));
}

#[test]
fn entities_decode_everywhere_feed_level_included() {
    let doc = r#"<rss version="2.0"><channel><title>Caf&eacute; &amp; co&apos;s</title>
      <description>Zero&zwnj;width &#8212; &#x2019;quoted&#x2019;</description>
      <link>http://x/?a=1&amp;b=2</link>
      <item><title>Ni&ntilde;o &hellip; &unknownentity;</title><link>http://x/item?id=1&amp;lang=es</link>
        <enclosure url="http://x/a.mp3?k=1&amp;v=2" type="audio/mpeg" length="10"/>
        <description>&lt;a href="/rel?x=1&amp;amp;y=2"&gt;link&lt;/a&gt;</description></item></channel></rss>"#;
    let feed = read(doc);
    assert_eq!(feed.meta.title.as_deref(), Some("Caf\u{e9} & co's"));
    assert_eq!(
        feed.meta.description.as_deref(),
        Some("Zero\u{200c}width \u{2014} \u{2019}quoted\u{2019}")
    );
    assert_eq!(feed.meta.link.as_deref(), Some("http://x/?a=1&b=2"));
    let e = &feed.entries[0];
    assert_eq!(
        e.title.as_deref(),
        Some("Ni\u{f1}o \u{2026} &unknownentity;")
    );
    assert_eq!(e.link.as_deref(), Some("http://x/item?id=1&lang=es"));
    assert_eq!(e.enclosures[0].url, "http://x/a.mp3?k=1&v=2");
    let c = candidates(doc);
    // relative to the entry's own link, entities in the href decoded once
    assert!(
        c[0].html.contains("href=\"http://x/rel?x=1&amp;y=2\""),
        "{}",
        c[0].html
    );
}

#[test]
fn languages_inherit_from_feed_to_entry_to_content() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>t</title>
      <entry><id>1</id><title>a</title></entry>
      <entry xml:lang="de"><id>2</id><title>b</title></entry>
      <entry xml:lang=""><id>3</id><title>c</title><content type="text" xml:lang="es">hola</content></entry></feed>"#;
    let langs: Vec<_> = read(atom)
        .entries
        .iter()
        .map(|e| e.language.clone())
        .collect();
    assert_eq!(
        langs,
        [Some("fr".into()), Some("de".into()), Some("es".into())]
    );
    let rss = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><language>en-GB</language>
      <item><title>a</title></item><item><title>b</title><dc:language>it</dc:language></item></channel></rss>"#;
    let feed = read(rss);
    assert_eq!(feed.meta.language.as_deref(), Some("en-GB"));
    let langs: Vec<_> = feed.entries.iter().map(|e| e.language.clone()).collect();
    assert_eq!(langs, [Some("en-GB".into()), Some("it".into())]);
    let c = candidates(rss);
    assert_eq!(c[0].language.as_deref(), Some("en-gb"));
}

#[test]
fn xml_base_resolves_at_every_level() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.com/blog/"><title>t</title>
      <link href="index.html"/><logo>img/logo.png</logo>
      <entry xml:base="2024/"><id>1</id><title>a</title><link href="post.html"/>
        <link rel="enclosure" href="media/a.mp3" type="audio/mpeg" length="5"/>
        <content type="xhtml" xml:base="/root/"><div xmlns="http://www.w3.org/1999/xhtml"><a href="inner.html">in</a> <img src="pic.png"/></div></content></entry>
      <entry><id>2</id><title>b</title><link href="../elsewhere.html"/></entry></feed>"#;
    let feed = read(doc);
    assert_eq!(
        feed.meta.link.as_deref(),
        Some("http://example.com/blog/index.html")
    );
    assert_eq!(
        feed.meta.image.as_deref(),
        Some("http://example.com/blog/img/logo.png")
    );
    let e = &feed.entries;
    assert_eq!(
        e[0].link.as_deref(),
        Some("http://example.com/blog/2024/post.html")
    );
    assert_eq!(
        e[0].enclosures[0].url,
        "http://example.com/blog/2024/media/a.mp3"
    );
    let content = e[0].content_html.as_deref().unwrap_or_default();
    assert!(
        content.contains("href=\"http://example.com/root/inner.html\""),
        "{content}"
    );
    assert!(
        content.contains("src=\"http://example.com/root/pic.png\""),
        "{content}"
    );
    assert_eq!(
        e[1].link.as_deref(),
        Some("http://example.com/elsewhere.html")
    );
    // nothing says a base: the document's own URL does
    let rss = r#"<rss version="2.0"><channel><title>t</title><link>/</link><item><title>a</title><link>../posts/caf%C3%A9.html</link></item></channel></rss>"#;
    let feed = read(rss);
    assert_eq!(feed.meta.link.as_deref(), Some("https://example.org/"));
    assert_eq!(
        feed.entries[0].link.as_deref(),
        Some("https://example.org/posts/caf\u{e9}.html")
    );
}

#[test]
fn podcasts_and_media_become_enclosures_image_and_author() {
    let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>t</title>
      <itunes:image href="http://x/show.jpg"/>
      <item><title>Both</title><enclosure url="http://x/ep1.mp3" type="audio/mpeg" length="1234"/>
        <media:content url="http://x/ep1.m4a" type="audio/mp4" fileSize="999"/>
        <media:thumbnail url="http://x/thumb1.jpg"/><itunes:author>Host</itunes:author>
        <itunes:summary>Episode summary</itunes:summary><itunes:duration>12:34</itunes:duration></item>
      <item><title>Group</title><media:group><media:content url="http://x/v.mp4" type="video/mp4"/><media:content url="http://x/v.webm" type="video/webm"/><media:thumbnail url="http://x/thumb2.jpg"/></media:group></item>
      <item><title>Itunes image</title><itunes:image href="http://x/ep3.jpg"/><link>http://x/3</link></item>
    </channel></rss>"#;
    let feed = read(doc);
    assert_eq!(feed.meta.image.as_deref(), Some("http://x/show.jpg"));
    let e = &feed.entries;
    let urls = |i: usize| {
        e[i].enclosures
            .iter()
            .map(|x| x.url.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(urls(0), ["http://x/ep1.mp3", "http://x/ep1.m4a"]);
    assert_eq!(e[0].enclosures[0].r#type.as_deref(), Some("audio/mpeg"));
    assert_eq!(e[0].enclosures[0].length, Some(1234));
    assert_eq!(e[0].enclosures[1].length, Some(999));
    assert_eq!(e[0].enclosures[0].duration, Some(754));
    assert_eq!(e[0].image.as_deref(), Some("http://x/thumb1.jpg"));
    assert_eq!(e[0].authors, ["Host"]);
    assert_eq!(e[0].summary_html.as_deref(), Some("<p>Episode summary</p>"));
    assert_eq!(urls(1), ["http://x/v.mp4", "http://x/v.webm"]);
    assert_eq!(e[1].image.as_deref(), Some("http://x/thumb2.jpg"));
    assert_eq!(e[2].image.as_deref(), Some("http://x/ep3.jpg"));
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id><title>a</title>
      <link rel="enclosure" href="http://x/a.ogg" type="audio/ogg" length="77"/></entry></feed>"#;
    let enc = &read(atom).entries[0].enclosures[0];
    assert_eq!(
        (enc.url.as_str(), enc.r#type.as_deref(), enc.length),
        ("http://x/a.ogg", Some("audio/ogg"), Some(77))
    );
}

#[test]
fn json_feed_fields_map_and_title_is_plain_text() {
    let doc = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "JSON <feed>", "home_page_url": "https://x/",
      "description": "d", "language": "en-US", "icon": "https://x/icon.png", "authors": [{"name": "Feed Person"}],
      "items": [
        {"id": "1", "url": "https://x/1", "title": "Use <b> for bold & more", "content_html": "<p>Html</p>",
         "content_text": "Text", "summary": "Short", "image": "https://x/1.png", "tags": ["a", "b"],
         "language": "de", "date_published": "2024-01-01T00:00:00Z", "date_modified": "2024-01-02T00:00:00Z",
         "authors": [{"name": "Item Person"}],
         "attachments": [{"url": "https://x/1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 42}]},
        {"id": 2, "url": "https://x/2", "content_text": "Only text\n\nTwo paragraphs"}
      ]}"#;
    let feed = read(doc);
    assert_eq!(feed.meta.title.as_deref(), Some("JSON <feed>"));
    assert_eq!(feed.meta.image.as_deref(), Some("https://x/icon.png"));
    assert_eq!(feed.meta.author.as_deref(), Some("Feed Person"));
    assert_eq!(feed.meta.updated, date("2024-01-02T00:00:00Z"));
    let c = candidates(doc);
    assert_eq!(c[0].title, "Use <b> for bold & more");
    assert_eq!(c[0].html, "<p>Html</p>");
    assert_eq!(c[0].summary, "Short");
    assert_eq!(c[0].author.as_deref(), Some("Item Person"));
    assert_eq!(c[0].categories, ["a", "b"]);
    assert_eq!(c[0].language.as_deref(), Some("de"));
    assert_eq!(c[0].image.as_deref(), Some("https://x/1.png"));
    assert_eq!(c[0].updated, date("2024-01-02T00:00:00Z"));
    assert_eq!(c[0].enclosures[0].length, Some(42));
    assert_eq!(c[1].guid.as_deref(), Some("2"));
    assert_eq!(c[1].text, "Only text\n\nTwo paragraphs");
    assert_eq!(c[1].author.as_deref(), Some("Feed Person"));
}

#[test]
fn entries_with_a_guid_link_or_content_are_kept_and_empty_ones_are_reported() {
    let doc = r#"<rss version="2.0"><channel><title>t</title>
      <item><guid isPermaLink="false">only-a-guid</guid></item>
      <item><link>http://x/only-a-link</link></item>
      <item><description>Only some content here</description></item>
      <item></item>
    </channel></rss>"#;
    let feed = read(doc);
    assert_eq!(feed.items_in_document, 4);
    let c = candidates(doc);
    let titles: Vec<_> = c.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "only-a-guid",
            "http://x/only-a-link",
            "Only some content here"
        ]
    );
    assert_eq!(c[0].identity, "g:only-a-guid");
    assert_eq!(c[1].identity, "l:http://x/only-a-link");
    assert!(c[2].identity.starts_with("t:"));
}

#[test]
fn feed_level_metadata_is_complete_and_plain() {
    let doc = r#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
      <title>&lt;b&gt;Bold&lt;/b&gt; news</title><link>http://x/</link>
      <description>&lt;p&gt;What &amp;amp; why&lt;/p&gt;</description><language>en</language>
      <lastBuildDate>Mon, 06 Sep 2021 16:45:00 GMT</lastBuildDate><managingEditor>ed@x (Ed)</managingEditor>
      <image><url>http://x/logo.png</url><title>t</title><link>http://x/</link></image><ttl>60</ttl></channel></rss>"#;
    let m = read(doc).meta;
    assert_eq!(m.title.as_deref(), Some("Bold news"));
    assert_eq!(m.description.as_deref(), Some("What & why"));
    assert_eq!(m.link.as_deref(), Some("http://x/"));
    assert_eq!(m.language.as_deref(), Some("en"));
    assert_eq!(m.updated, date("2021-09-06T16:45:00Z"));
    assert_eq!(m.author.as_deref(), Some("Ed"));
    assert_eq!(m.image.as_deref(), Some("http://x/logo.png"));
    assert_eq!(m.ttl, Some(std::time::Duration::from_secs(3600)));
}

proptest::proptest! {
    #[test]
    fn the_forgiving_tree_never_panics_on_arbitrary_markup(s in "[<>/a-z:=\"' &;#x0-9\\[\\]!-]{0,300}") {
        let _ = xml::parse(&s, None);
        let _ = parse_feed(&format!("<rss><channel><item>{s}</item></channel></rss>"), None, Tz::UTC);
        let _ = parse_feed(&format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>{s}</entry></feed>"), None, Tz::UTC);
    }
}
