//! What a republished entry says about where it came from, decided once for all three formats:
//! the primary source (the one whose text the article shows) gives the link, the author and the
//! `<source>`; every other source is credited too. Also the entry's real dates, its categories
//! and which enclosure RSS's single `<enclosure>` carries.

use chrono::{DateTime, Utc};

use super::Site;
use crate::model::{Article, Enclosure};

/// A person as the formats write one: never an empty name.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub name: String,
    pub email: Option<String>,
}

/// One source of an article, as a republished feed names it.
#[derive(Debug, Clone)]
pub struct Credit {
    pub id: String,
    /// The source's display name.
    pub name: String,
    /// The source's feed URL (credentials removed).
    pub feed_url: String,
    /// The article at that source.
    pub url: String,
    pub author: Option<Person>,
}

/// Who an article is credited to: the primary source first, then the others in the order
/// they were seen.
pub fn credits(a: &Article, site: &Site<'_>) -> Vec<Credit> {
    let own = site
        .primary
        .as_deref()
        .filter(|p| a.links.iter().any(|l| l.source == *p));
    let primary = if let Some(p) = own {
        p
    } else if a.links.iter().any(|l| l.source == a.content_source) {
        a.content_source.as_str()
    } else {
        a.sources.first().map_or("", String::as_str)
    };
    let mut order: Vec<&str> = vec![primary];
    order.extend(
        a.sources
            .iter()
            .map(String::as_str)
            .filter(|s| *s != primary && !s.is_empty()),
    );
    order
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|id| {
            let link = a.links.iter().find(|l| l.source == id);
            let (name, feed_url) = site
                .sources
                .get(id)
                .cloned()
                .unwrap_or_else(|| (id.to_string(), site.base_url.to_string()));
            let url = link
                .map(|l| l.url.clone())
                .filter(|u| !u.is_empty())
                .or_else(|| (id == primary).then(|| a.url.clone()))
                .unwrap_or_default();
            // older records keep one author for the article: it is the primary source's
            let author = link
                .and_then(|l| l.author.as_deref())
                .or(a.author.as_deref().filter(|_| id == primary))
                .and_then(person)
                .map(|mut p| {
                    p.email = p
                        .email
                        .or_else(|| link.and_then(|l| l.author_email.clone()));
                    p
                });
            Credit {
                id: id.to_string(),
                name,
                feed_url,
                url,
                author,
            }
        })
        .collect()
}

/// `email (Name)`, `Name <email>` or a name: the name (never empty) and the email apart.
pub fn person(raw: &str) -> Option<Person> {
    let (name, email) = crate::parse::person(raw)?;
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(Person { name, email })
}

/// Every author, the primary source's first, each name once.
pub fn authors(credits: &[Credit]) -> Vec<Person> {
    let mut out: Vec<Person> = Vec::new();
    for p in credits.iter().filter_map(|c| c.author.clone()) {
        if !out.iter().any(|o| o.name == p.name) {
            out.push(p);
        }
    }
    out
}

/// The link an entry points at: the primary source's article.
pub fn link(a: &Article, credits: &[Credit]) -> String {
    credits
        .first()
        .map(|c| c.url.clone())
        .filter(|u| !u.is_empty())
        .or_else(|| (!a.url.is_empty()).then(|| a.url.clone()))
        .or_else(|| {
            a.links
                .iter()
                .find(|l| !l.url.is_empty())
                .map(|l| l.url.clone())
        })
        .unwrap_or_default()
}

/// When the entry was last updated by its sources: the newest "updated" any of them gave, else
/// its publication date. gazette's own storing times are not the story's.
pub fn updated(a: &Article) -> DateTime<Utc> {
    a.source_updated.map_or(a.published, |u| u.max(a.published))
}

/// The one enclosure RSS 2.0 allows: the first audio or video file, else the first.
pub fn rss_enclosure(a: &Article) -> Option<&Enclosure> {
    a.enclosures
        .iter()
        .find(|e| {
            e.r#type
                .as_deref()
                .is_some_and(|t| t.starts_with("audio/") || t.starts_with("video/"))
        })
        .or(a.enclosures.first())
}

/// The scheme (RSS `domain`, Atom `scheme`) of gazette's own topic categories; the sources'
/// categories have none.
pub fn topic_scheme(site: &Site<'_>) -> String {
    site.base_url
        .join("topics/")
        .map_or_else(|_| format!("{}topics/", site.base_url), |u| u.to_string())
}

/// A MIME type for an enclosure that did not say (JSON Feed requires one).
pub fn mime_type(e: &Enclosure) -> String {
    e.r#type
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_never_empty_and_email_forms_give_the_name() {
        let cases = [
            (
                "host@example.org (Pat Host)",
                Some(("Pat Host", Some("host@example.org"))),
            ),
            (
                "Pat Host <host@example.org>",
                Some(("Pat Host", Some("host@example.org"))),
            ),
            ("Pat Host", Some(("Pat Host", None))),
            ("", None),
            ("   ", None),
        ];
        for (raw, want) in cases {
            let got = person(raw);
            assert_eq!(
                got.as_ref().map(|p| (p.name.as_str(), p.email.as_deref())),
                want,
                "{raw:?}"
            );
        }
    }
}
