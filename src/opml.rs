//! Subscription lists in and out (OPML 2.0): `import-opml` turns a reader's export into
//! `[[source]]` blocks for feeds.toml; `/sources.opml` and `/topics.opml` list what gazette
//! reads and what it publishes, so a reader can subscribe to every topic at once.

use std::collections::HashSet;

use opml::{OPML, Outline};

use crate::config::Config;
use crate::publish::{Channel, Format, Site};

/// A feed found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSource {
    pub id: String,
    pub name: String,
    pub url: String,
    /// The folders it sat in.
    pub tags: Vec<String>,
}

/// `[a-z0-9-]+` from a title: "Ars Technica — All" → "ars-technica-all".
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(48).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "feed".to_string()
    } else {
        out
    }
}

/// Every feed outline of an OPML document, with ids derived from titles and made unique
/// against each other and against `taken`.
pub fn sources_from_opml(text: &str, taken: &HashSet<String>) -> Result<Vec<FoundSource>, String> {
    let doc = OPML::from_str(text).map_err(|e| format!("not an OPML document: {e}"))?;
    let mut used = taken.clone();
    let mut out = Vec::new();
    let mut stack: Vec<(&Outline, Vec<String>)> = doc
        .body
        .outlines
        .iter()
        .rev()
        .map(|o| (o, Vec::new()))
        .collect();
    while let Some((o, folders)) = stack.pop() {
        if let Some(url) = o
            .xml_url
            .as_deref()
            .map(str::trim)
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            let name = o
                .title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| o.text.clone());
            let base = slug(&name);
            let mut id = base.clone();
            let mut n = 2;
            while used.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
            used.insert(id.clone());
            out.push(FoundSource {
                id,
                name: name.trim().to_string(),
                url: url.to_string(),
                tags: folders.iter().map(|f| slug(f)).collect(),
            });
        }
        let mut inner = folders.clone();
        if o.xml_url.is_none() && !o.text.trim().is_empty() {
            inner.push(o.text.trim().to_string());
        }
        for child in o.outlines.iter().rev() {
            stack.push((child, inner.clone()));
        }
    }
    Ok(out)
}

/// The `[[source]]` blocks to append to feeds.toml (values escaped by the toml writer).
pub fn toml_blocks(sources: &[FoundSource]) -> String {
    let mut out = String::new();
    for s in sources {
        let mut t = toml::Table::new();
        t.insert("id".into(), s.id.clone().into());
        t.insert("name".into(), s.name.clone().into());
        t.insert("url".into(), s.url.clone().into());
        if !s.tags.is_empty() {
            t.insert(
                "tags".into(),
                s.tags
                    .iter()
                    .cloned()
                    .map(toml::Value::from)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        out.push_str("[[source]]\n");
        out.push_str(&toml::to_string(&t).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn document(title: &str, outlines: Vec<Outline>) -> String {
    let mut doc = OPML {
        version: "2.0".into(),
        ..OPML::default()
    };
    doc.head = Some(opml::Head {
        title: Some(title.into()),
        ..opml::Head::default()
    });
    doc.body.outlines = outlines;
    doc.to_string().unwrap_or_default()
}

/// `/sources.opml`: what gazette reads.
pub fn sources_opml(config: &Config) -> String {
    let outlines = config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .map(|s| Outline {
            text: s.display_name().to_string(),
            title: Some(s.display_name().to_string()),
            r#type: Some(
                if s.kind == crate::config::SourceKind::Html {
                    "link"
                } else {
                    "rss"
                }
                .into(),
            ),
            // the published list of sources: credentials in their URLs stay in the process
            xml_url: Some(crate::secrets::redact(&s.url).to_string()),
            category: (!s.tags.is_empty()).then(|| s.tags.join(",")),
            ..Outline::default()
        })
        .collect();
    document("gazette: sources", outlines)
}

/// `/topics.opml`: every topic's Atom feed, to subscribe to all at once.
pub fn topics_opml(config: &Config) -> String {
    let site = Site::new(config);
    let outlines = config
        .topics
        .iter()
        .map(|t| Outline {
            text: t.title.clone(),
            title: Some(t.title.clone()),
            r#type: Some("rss".into()),
            xml_url: Some(site.feed_url(&Channel::of_topic(t), Format::Atom)),
            html_url: Some(site.base_url.to_string()),
            description: t.description.clone(),
            ..Outline::default()
        })
        .collect();
    document("gazette: topics", outlines)
}

/// gazette's own feed of each enabled source (`/sources/ID.atom`): its articles normalized,
/// deduplicated and full-text where the source is an HTML site (issue 22).
pub fn source_feeds_opml(config: &Config) -> String {
    let site = Site::new(config);
    let outlines = config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .map(|s| {
            let channel = Channel::of_source(s);
            Outline {
                text: channel.title.clone(),
                title: Some(channel.title.clone()),
                r#type: Some("rss".into()),
                xml_url: Some(site.feed_url(&channel, Format::Atom)),
                html_url: Some(site.base_url.to_string()),
                description: channel.description.clone(),
                ..Outline::default()
            }
        })
        .collect();
    document("gazette: sources, as gazette republishes them", outlines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let cases = [
            ("Ars Technica — All content", "ars-technica-all-content"),
            ("知识产权", "feed"),
            ("  BBC: Tech!! ", "bbc-tech"),
            ("", "feed"),
        ];
        for (title, want) in cases {
            assert_eq!(slug(title), want, "{title}");
        }
    }

    #[test]
    fn outlines_become_unique_sources_with_folder_tags() {
        let text = r#"<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>
          <outline text="Tech"><outline text="Ars" title="Ars Technica" type="rss" xmlUrl="https://feeds.arstechnica.com/arstechnica/index"/>
            <outline text="Ars" type="rss" xmlUrl="https://arstechnica.com/other.xml"/></outline>
          <outline text="No feed" htmlUrl="https://example.org/"/>
          <outline text="Local" type="rss" xmlUrl="file:///etc/passwd"/>
          <outline text="Wire &amp; Co" type="rss" xmlUrl="https://wire.example/rss"/>
        </body></opml>"#;
        let taken: HashSet<String> = ["wire-co".to_string()].into();
        let found = sources_from_opml(text, &taken).expect("parses");
        let ids: Vec<&str> = found.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ars-technica", "ars", "wire-co-2"]);
        assert_eq!(found[0].tags, ["tech"]);
        assert_eq!(found[2].name, "Wire & Co");
        let blocks = toml_blocks(&found);
        let doc: toml::Table = toml::from_str(&blocks).expect("valid TOML");
        assert_eq!(doc["source"].as_array().map(Vec::len), Some(3));
    }
}
