//! The publication date of an article page, from the most to the least reliable place:
//! JSON-LD `datePublished`, meta tags, `<time datetime>`, a date written near the title, and
//! finally a date in the URL. A date without an offset is wall-clock time in the source's zone;
//! a date without a time of day is midnight there (never "now", so re-reading gives the same
//! instant).

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use chrono_tz::Tz;
use regex::Regex;
use scraper::{Html, Selector};
use url::Url;

use super::{meta, sel};
use crate::parse::dates::parse_date_local as parse_date;

/// A date found on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDate {
    pub at: DateTime<Utc>,
    /// The same instant as the page wrote it: its offset, or the source's zone's.
    pub local: DateTime<FixedOffset>,
    pub method: &'static str,
}

/// Where [`page_date`] looks, in order (`inspect` lists them when it found nothing).
pub const PLACES: &[&str] = &["json-ld", "meta", "time", "attribute", "text", "url"];

/// Finds the page's publication date.
pub fn page_date(doc: &Html, raw: &str, url: Option<&Url>, tz: Tz) -> Option<PageDate> {
    // nothing on the web news before 1995 is a publication date gazette will meet; such a
    // year is a copyright line or a birth date
    let found = |local: DateTime<FixedOffset>, method| {
        (local.year() >= 1995).then(|| PageDate {
            at: local.with_timezone(&Utc),
            local,
            method,
        })
    };
    if let Some(at) = json_ld(doc).and_then(|d| parse_date(&d, tz)) {
        return found(at, "json-ld");
    }
    let meta_names = [
        "article:published_time",
        "og:published_time",
        "datePublished",
        "pubdate",
        "publishdate",
        "publish-date",
        "PublishDate",
        "publication_date",
        "sailthru.date",
        "dc.date.issued",
        "dcterms.created",
        "dc.date",
        "date",
    ];
    if let Some(at) = meta(doc, &meta_names).and_then(|d| parse_date(&d, tz)) {
        return found(at, "meta");
    }
    static TIME: OnceLock<Selector> = OnceLock::new();
    for t in
        doc.select(TIME.get_or_init(|| sel("time[datetime], [itemprop=datePublished][datetime]")))
    {
        if let Some(at) = t.value().attr("datetime").and_then(|d| parse_date(d, tz)) {
            return found(at, "time");
        }
    }
    static CLASSED: OnceLock<Selector> = OnceLock::new();
    for el in doc.select(CLASSED.get_or_init(|| {
        sel("[class*=date][title], [class*=time][title], [class*=date][data-date], [class*=time][data-time], [class*=publish][title]")
    })) {
        let v = el.value();
        if let Some(at) = ["title", "data-date", "data-time"]
            .iter()
            .filter_map(|a| v.attr(a))
            .find_map(|d| parse_date(d, tz))
        {
            return found(at, "attribute");
        }
    }
    if let Some(at) = visible_date(doc, raw, tz) {
        return found(at, "text");
    }
    url.and_then(|u| url_date(u.path(), tz))
        .and_then(|at| found(at, "url"))
}

fn json_ld(doc: &Html) -> Option<String> {
    static S: OnceLock<Selector> = OnceLock::new();
    for script in doc.select(S.get_or_init(|| sel("script[type='application/ld+json']"))) {
        let text: String = script.text().collect();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim())
            && let Some(d) = find_key(&v, "datePublished", 0)
        {
            return Some(d);
        }
    }
    None
}

fn find_key(v: &serde_json::Value, key: &str, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match v {
        serde_json::Value::Object(m) => m
            .get(key)
            .and_then(|d| d.as_str().map(str::to_string))
            .or_else(|| m.values().find_map(|x| find_key(x, key, depth + 1))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_key(x, key, depth + 1)),
        _ => None,
    }
}

fn date_patterns() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(concat!(
            r"(\d{4}年\d{1,2}月\d{1,2}日(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?)",
            r"|(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?)",
            r"|((?-u:\b)\d{1,2}[./-]\d{1,2}[./-]\d{4}(?-u:\b)(?:\s*-?\s*\d{1,2}:\d{2}(?::\d{2})?)?)",
            r"|((?-u:\b)(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}(?:\s+\d{1,2}:\d{2}\s*(?:[AaPp]\.?[Mm]\.?)?)?)",
            r"|((?-u:\b)\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{4}(?:\s+\d{1,2}:\d{2})?)",
        ))
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    })
}

/// A date written in the page text, preferring the first one after the `<h1>`.
fn visible_date(doc: &Html, _raw: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    static BODY: OnceLock<Selector> = OnceLock::new();
    static H1: OnceLock<Selector> = OnceLock::new();
    let body = doc.select(BODY.get_or_init(|| sel("body"))).next()?;
    let text: String = body.text().collect::<Vec<_>>().join(" ");
    let start = doc
        .select(H1.get_or_init(|| sel("h1")))
        .next()
        .map(|h| h.text().collect::<String>())
        .and_then(|h| text.find(h.trim()).filter(|_| !h.trim().is_empty()))
        .unwrap_or(0);
    let window = |from: usize| {
        let end = (from + 3000).min(text.len());
        let mut end = end;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[from..end]
    };
    let wide = {
        let mut end = text.len().min(60_000);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    };
    for slice in [window(start), window(0), wide] {
        if let Some(d) = month_name_date(slice) {
            let in_slice = date_patterns()
                .find(slice)
                .map_or(usize::MAX, |m| m.start());
            if d.1 < in_slice
                && let Some(at) = parse_date(&d.0, tz)
            {
                return Some(at);
            }
        }
        if let Some(m) = date_patterns().find(slice) {
            let s = m.as_str();
            // "04.05.2016" is day.month.year wherever it is written with dots
            let s = dmy_dots(s).unwrap_or_else(|| s.to_string());
            if let Some(d) = parse_date(&s, tz) {
                return Some(d);
            }
        }
    }
    None
}

/// Month names in the languages the news is written in (English is in [`date_patterns`]).
const MONTHS: &[(&str, u32)] = &[
    // Spanish, Portuguese, Italian, French, German, Dutch
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("januar", 1),
    ("februar", 2),
    ("märz", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("dezember", 12),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
];

/// "15 de Abril de 2020", "17 de marzo de 2020", "7 juin 2020", "7. Juni 2020": the ISO date
/// and where it starts in `text`.
fn month_name_date(text: &str) -> Option<(String, usize)> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(r"(?i)(?-u:\b)(\d{1,2})\.?\s+(?:de\s+)?(\p{L}{3,10})\.?\s+(?:de\s+|del\s+)?(\d{4})(?-u:\b)")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    r.captures_iter(text).find_map(|c| {
        let name = c[2].to_lowercase();
        let month = MONTHS.iter().find(|(m, _)| *m == name).map(|(_, n)| *n)?;
        let day: u32 = c[1].parse().ok()?;
        (1..=31).contains(&day).then(|| {
            (
                format!("{}-{month:02}-{day:02}", &c[3]),
                c.get(0).map_or(0, |m| m.start()),
            )
        })
    })
}

/// "04.05.2016", "22/11/2020 - 04:30", "24-04-2020": day first, as most of the world writes
/// it, unless the first number cannot be a month's day and the second can (US "05/24/2020").
fn dmy_dots(s: &str) -> Option<String> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*-?\s*(.*)$")
            .unwrap_or_else(|e| unreachable!("{e}"))
    });
    let c = r.captures(s)?;
    let (a, b): (u32, u32) = (c[1].parse().ok()?, c[2].parse().ok()?);
    let (day, month) = if b > 12 && a <= 12 { (b, a) } else { (a, b) };
    let time = c[4].trim();
    Some(format!(
        "{}-{:0>2}-{:0>2}{}",
        &c[3],
        month,
        day,
        if time.is_empty() {
            String::new()
        } else {
            format!(" {time}")
        }
    ))
}

/// `/2016-05/04/`, `/2016/05/04/`, `/20160504/`.
fn url_date(path: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(
            r"/((?:19|20)\d{2})[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?:/|[^\d]|$)",
        )
        .unwrap_or_else(|e| unreachable!("{e}"))
    });
    let c = r.captures(path)?;
    parse_date(&format!("{}-{}-{}", &c[1], &c[2], &c[3]), tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn date(html: &str, url: &str) -> Option<(String, &'static str)> {
        let doc = Html::parse_document(html);
        let u = Url::parse(url).ok();
        page_date(&doc, html, u.as_ref(), Shanghai)
            .map(|d| (d.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), d.method))
    }

    #[test]
    fn the_date_is_kept_as_the_page_wrote_it() {
        // (page, source zone's reading, local form)
        let cases = [
            (
                r#"<meta property="article:published_time" content="2020-05-04T00:30:00-05:00">"#,
                "2020-05-04T00:30:00-05:00",
            ),
            (
                "<body><h1>T</h1><p>May 4, 2016</p></body>",
                "2016-05-04T00:00:00+08:00",
            ),
            (
                "<body><h1>T</h1><p>2016年05月04日 15:00</p></body>",
                "2016-05-04T15:00:00+08:00",
            ),
        ];
        for (html, local) in cases {
            let doc = Html::parse_document(html);
            let d = page_date(&doc, html, None, Shanghai).expect(html);
            assert_eq!(d.local.to_rfc3339(), local, "{html}");
            assert_eq!(d.at, d.local.with_timezone(&Utc), "{html}");
        }
    }

    #[test]
    fn each_place_a_date_hides() {
        let u = "http://x.example/a.html";
        let cases = [
            (
                r#"<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2016-05-04T15:00:36+08:00"}]}</script>"#,
                u,
                "2016-05-04T07:00:36Z",
                "json-ld",
            ),
            (
                r#"<meta property="article:published_time" content="2016-05-04T15:00:36+08:00">"#,
                u,
                "2016-05-04T07:00:36Z",
                "meta",
            ),
            (
                r#"<body><time datetime="2016-05-04 15:00:36">May 4</time></body>"#,
                u,
                "2016-05-04T07:00:36Z",
                "time",
            ),
            (
                "<body><h1>Title</h1><p>2016-05-04 15:00:36Share:</p></body>",
                u,
                "2016-05-04T07:00:36Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Posted 2016/05/04 15:00</p></body>",
                u,
                "2016-05-04T07:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>04.05.2016</p></body>",
                u,
                "2016-05-03T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>May 4, 2016</p></body>",
                u,
                "2016-05-03T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>标题</h1><p>2016年05月04日 15:00 来源：海淀</p></body>",
                u,
                "2016-05-04T07:00:00Z",
                "text",
            ),
            (
                "<body><p>no date here</p></body>",
                "http://x.example/science/2016-05/04/content_1.htm",
                "2016-05-03T16:00:00Z",
                "url",
            ),
            (
                "<body><h1>T</h1><p class=\"tagline\">22/11/2020 - 04:30 - Fonte: Agência Brasil</p></body>",
                u,
                "2020-11-21T20:30:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Publié le 17/03/2020</p></body>",
                u,
                "2020-03-16T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>05/24/2020</p></body>",
                u,
                "2020-05-23T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><div id=\"date\">Mi&eacute;rcoles, 15 de Abril de 2020</div></body>",
                u,
                "2020-04-14T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Publié le 7 juin 2020 à 10h</p></body>",
                u,
                "2020-06-06T16:00:00Z",
                "text",
            ),
            (
                "<body><h1>T</h1><p>Berlin, 7. Juni 2020</p></body>",
                u,
                "2020-06-06T16:00:00Z",
                "text",
            ),
            (
                "<body><div class=\"news-time-ago\" title=\"2020-09-20T14:20:02Z\">2 hours ago</div></body>",
                u,
                "2020-09-20T14:20:02Z",
                "attribute",
            ),
            (
                "<body><p>no date here</p></body>",
                "http://x.example/2016/05/04/story",
                "2016-05-03T16:00:00Z",
                "url",
            ),
        ];
        for (html, url, at, method) in cases {
            assert_eq!(date(html, url), Some((at.to_string(), method)), "{html}");
        }
        assert_eq!(date("<body><p>nothing</p></body>", u), None);
        // a year before the web's news is a copyright line, not a date
        assert_eq!(
            date("<body><h1>T</h1><p>Since 12.03.1987</p></body>", u),
            None
        );
    }
}
