//! Links on HTML pages: the article links of a list page (an explicit CSS selector, or a
//! heuristic that finds the repeated block of same-pattern links with title-like text), and the
//! feeds a page advertises (`<link rel="alternate">`).

use std::collections::HashMap;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::sel;

/// Which found links to keep: URLs containing a string, or matching a regex.
#[derive(Debug, Clone)]
pub enum Follow {
    Contains(String),
    Regex(Regex),
}

impl Follow {
    pub fn accepts(&self, url: &str) -> bool {
        match self {
            Follow::Contains(s) => url.contains(s.as_str()),
            Follow::Regex(r) => r.is_match(url),
        }
    }
}

/// A link to an article.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundLink {
    pub url: String,
    pub title: String,
}

/// Why links could not be looked for.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("invalid CSS selector {0:?} in `links`")]
    Selector(String),
}

/// Feeds a page advertises, in page order.
pub fn feed_links(html: &str, base: &Url) -> Vec<String> {
    let doc = Html::parse_document(&crate::normalize::shallow(html));
    let s = sel("link[rel~=alternate][href]");
    doc.select(&s)
        .filter(|l| {
            l.value().attr("type").is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t.contains("rss+xml")
                    || t.contains("atom+xml")
                    || t.contains("feed+json")
                    || t == "application/json"
            })
        })
        .filter_map(|l| base.join(l.value().attr("href")?.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.to_string())
        .collect()
}

fn anchor_text(a: ElementRef<'_>) -> String {
    let t = a
        .text()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if t.is_empty() {
        a.value()
            .attr("title")
            .unwrap_or_default()
            .trim()
            .to_string()
    } else {
        t
    }
}

/// Boilerplate containers: links inside them are never article links.
fn in_boilerplate(a: ElementRef<'_>) -> bool {
    const WORDS: [&str; 14] = [
        "nav",
        "menu",
        "footer",
        "breadcrumb",
        "crumb",
        "share",
        "social",
        "pagination",
        "pager",
        "page-nav",
        "comment",
        "copyright",
        "sidebar",
        "topbar",
    ];
    a.ancestors().filter_map(ElementRef::wrap).any(|e| {
        let v = e.value();
        if matches!(v.name(), "nav" | "footer" | "header" | "aside") {
            return true;
        }
        let marks = format!(
            "{} {}",
            v.attr("class").unwrap_or_default(),
            v.attr("id").unwrap_or_default()
        )
        .to_ascii_lowercase();
        WORDS.iter().any(|w| marks.contains(w))
    })
}

/// Text that names pages rather than articles: "1", "Next", "下一页", "More »".
fn is_navigation_text(t: &str) -> bool {
    let l = t.to_lowercase();
    l.chars()
        .all(|c| c.is_ascii_digit() || !c.is_alphanumeric())
        || [
            "next",
            "prev",
            "previous",
            "more",
            "home",
            "first",
            "last",
            "上一页",
            "下一页",
            "首页",
            "尾页",
            "更多",
            "back",
            "top",
        ]
        .iter()
        .any(|w| l == *w || l.starts_with(&format!("{w} ")) || l.ends_with(&format!(" {w}")))
}

/// How much a link text looks like a headline.
fn title_likeness(t: &str) -> f64 {
    let cjk = t.chars().filter(|c| crate::query::is_cjk(*c)).count();
    let words = t.split_whitespace().count();
    if cjk >= 6 || words >= 4 {
        1.0
    } else if cjk >= 3 || words >= 2 {
        0.4
    } else {
        0.0
    }
}

/// The shape of a link's place in the page: its ancestors' tags and classes, a few levels up.
fn container_signature(a: ElementRef<'_>) -> String {
    a.ancestors()
        .filter_map(ElementRef::wrap)
        .take(4)
        .map(|e| {
            format!(
                "{}.{}",
                e.value().name(),
                e.value().attr("class").unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("<")
}

/// The shape of a URL: host and directory, digits folded.
fn url_pattern(u: &Url) -> String {
    let path = u.path();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let folded: String = dir
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect();
    format!("{}{}", u.host_str().unwrap_or_default(), folded)
}

/// The article links of a list page fetched from `base`, in page order, without duplicates.
pub fn links(
    html: &str,
    base: &Url,
    selector: Option<&str>,
    follow: Option<&Follow>,
) -> Result<Vec<FoundLink>, LinkError> {
    // a page nested too deep is read flattened: its links, not its (hostile) structure
    let doc = Html::parse_document(&crate::normalize::shallow(html));
    let all = sel("a[href]");
    let chosen: Vec<ElementRef<'_>> = match selector {
        Some(css) => {
            let s = Selector::parse(css).map_err(|_| LinkError::Selector(css.to_string()))?;
            doc.select(&s)
                .flat_map(|e| {
                    if e.value().name() == "a" {
                        vec![e]
                    } else {
                        e.select(&all).collect()
                    }
                })
                .collect()
        }
        None => heuristic(&doc, &all, base),
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for a in chosen {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let Ok(mut u) = base.join(href.trim()) else {
            continue;
        };
        // Script and mail links are never articles. Other schemes (file:, ftp:) picked by an
        // explicit selector are kept so that the fetcher refuses them with a clear error.
        if matches!(u.scheme(), "javascript" | "mailto" | "tel" | "data")
            || (selector.is_none() && !matches!(u.scheme(), "http" | "https"))
        {
            continue;
        }
        u.set_fragment(None);
        let url = u.to_string();
        if url == base.as_str()
            || follow.is_some_and(|f| !f.accepts(&url))
            || !seen.insert(url.clone())
        {
            continue;
        }
        out.push(FoundLink {
            url,
            title: anchor_text(a),
        });
    }
    Ok(out)
}

fn heuristic<'a>(doc: &'a Html, all: &Selector, base: &Url) -> Vec<ElementRef<'a>> {
    // Group candidate links by (where they sit, what their URLs look like).
    let mut groups: HashMap<(String, String), Vec<ElementRef<'a>>> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for a in doc.select(all) {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let Ok(u) = base.join(href.trim()) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https")
            || u.host_str() != base.host_str() && !same_site(&u, base)
        {
            continue;
        }
        let text = anchor_text(a);
        if text.is_empty() || is_navigation_text(&text) || in_boilerplate(a) {
            continue;
        }
        let key = (container_signature(a), url_pattern(&u));
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(a);
    }
    // The best group: many links with headline-like text.
    let score = |links: &Vec<ElementRef<'_>>| {
        let likeness: f64 = links.iter().map(|a| title_likeness(&anchor_text(*a))).sum();
        likeness * (links.len() as f64).sqrt()
    };
    let best = order
        .iter()
        .filter_map(|k| groups.get(k).map(|g| (k, score(g))))
        .filter(|(_, s)| *s > 0.0)
        .fold(None::<(&(String, String), f64)>, |acc, (k, s)| match acc {
            Some((_, best)) if best >= s => acc,
            _ => Some((k, s)),
        });
    best.and_then(|(k, _)| groups.remove(k))
        .unwrap_or_default()
        .into_iter()
        .filter(|a| title_likeness(&anchor_text(*a)) > 0.0)
        .collect()
}

/// www.example.org and example.org are one site.
fn same_site(a: &Url, b: &Url) -> bool {
    let strip = |u: &Url| {
        u.host_str()
            .unwrap_or_default()
            .trim_start_matches("www.")
            .to_string()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"<html><head><link rel="stylesheet" href="/s.css"></head><body>
      <div class="top"><a href="/">home</a> <a href="/science/">science</a> <a href="/travel/">travel tour guide</a></div>
      <nav><a href="/about/">About the district office</a></nav>
      <div class="breadcrumb"><a href="/">home</a> &gt; <a href="/science/">science tour</a></div>
      <ul class="news">
        <li><a href="/science/2016-05/04/content_1.htm">Zhongguancun Becomes IP Service Cluster Demonstration Zone</a> <span>2016-05-04</span></li>
        <li><a href="/science/2016-05/03/content_2.htm">Haidian opens a new science park for start-ups</a></li>
        <li><a href="/science/2016-05/02/content_3.htm">海淀区知识产权保护中心揭牌成立</a></li>
      </ul>
      <div class="pages"><a href="?page=1">1</a> <a href="?page=2">2</a> <a href="?page=2">Next</a></div>
      <div class="share">Share: <a href="https://twitter.com/share?u=x">Twitter share link here</a></div>
      <div class="links"><a href="/travel/gardens.htm">The Imperial Gardens</a></div>
      <footer><a href="/contact/">Contact the webmaster of this site</a></footer>
    </body></html>"#;

    #[test]
    fn heuristic_finds_the_article_block_only() {
        let base = Url::parse("http://www.bjhd.example/science/index.html").expect("url");
        let found = links(LIST, &base, None, None).expect("links");
        let urls: Vec<&str> = found.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://www.bjhd.example/science/2016-05/04/content_1.htm",
                "http://www.bjhd.example/science/2016-05/03/content_2.htm",
                "http://www.bjhd.example/science/2016-05/02/content_3.htm",
            ]
        );
        assert_eq!(
            found[0].title,
            "Zhongguancun Becomes IP Service Cluster Demonstration Zone"
        );
    }

    #[test]
    fn selector_and_follow_filter() {
        let base = Url::parse("http://www.bjhd.example/science/index.html").expect("url");
        let found = links(
            LIST,
            &base,
            Some("ul.news"),
            Some(&Follow::Contains("/2016-05/0".into())),
        )
        .expect("links");
        assert_eq!(found.len(), 3);
        let found = links(LIST, &base, Some("div.links a"), None).expect("links");
        assert_eq!(
            found.iter().map(|l| l.title.as_str()).collect::<Vec<_>>(),
            ["The Imperial Gardens"]
        );
        let re = Follow::Regex(Regex::new(r"content_[12]\.htm$").expect("regex"));
        assert_eq!(
            links(LIST, &base, Some("ul.news a"), Some(&re))
                .expect("links")
                .len(),
            2
        );
        assert!(matches!(
            links(LIST, &base, Some("ul[["), None),
            Err(LinkError::Selector(_))
        ));
    }

    #[test]
    fn advertised_feeds_are_found() {
        let base = Url::parse("http://x.example/news/").expect("url");
        let html = r#"<head><link rel="alternate" type="application/rss+xml" href="/feed.xml"><link rel="alternate" type="text/html" href="/en/"><link rel="alternate" type="application/atom+xml" href="atom.xml"></head>"#;
        assert_eq!(
            feed_links(html, &base),
            [
                "http://x.example/feed.xml",
                "http://x.example/news/atom.xml"
            ]
        );
    }
}
