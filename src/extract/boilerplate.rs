//! What the main-text extractor leaves that is not the article: the title repeated above the
//! text, lists and rows of links (categories, tags, related stories) with their label, rows of
//! share buttons, image credits, and lines that are only a date (the byline's, already read as
//! the date). Not the page's description: sites use their lead paragraph as the description
//! as often as a separate standfirst, and the lead is the article. Decided line by line on the extracted text, knowing which words
//! were links in the extracted HTML; anything else is kept, so no paragraph of the article is
//! lost to a guess. Kept on purpose, because they belong to the text a reader was given (and
//! the Article Extraction Benchmark counts them as article): an agency's copyright notice, a
//! single linked line, a line repeated, a list of links that is not a run of short items.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Lines of `text` (paragraphs split by blank lines) without the boilerplate; `html` is the
/// extracted HTML the text came from, `title` the article's title.
pub fn prune(text: &str, html: &str, title: Option<&str>) -> String {
    let anchors = anchor_texts(html);
    let lines: Vec<&str> = text.lines().collect();
    let mut drop = vec![false; lines.len()];
    let words = |l: &str| l.split_whitespace().count();
    // per line: how many links it holds, and whether nothing else is in it (one stray word
    // allowed: "Tags:", a separator); long lines are text, not link rows
    let links: Vec<(usize, bool)> = lines
        .iter()
        .map(|l| {
            if words(l) > 40 {
                return (0, false);
            }
            let (n, others) = anchors.cover(l);
            (n, n > 0 && others <= 1)
        })
        .collect();
    // the short label just above a dropped block ("Categorias", "Related", "Tags:"); before a
    // list a colon may end a sentence of the text ("The winners are:"), before tags it does not
    let label_above = |n: usize, colon: bool| {
        (0..n)
            .rev()
            .find(|j| !lines[*j].trim().is_empty())
            .filter(|j| {
                let end = lines[*j].trim_end();
                words(end) <= 3
                    && !end.ends_with(['.', '!', '?', '。'])
                    && (colon || !end.ends_with(':'))
            })
    };

    // runs of three or more short lines that are all links: a list of categories or stories
    let is_link_item = |i: usize| words(lines[i]) <= 12 && links[i].1;
    let mut i = 0;
    while i < lines.len() {
        if !is_link_item(i) {
            i += 1;
            continue;
        }
        let mut end = i;
        let mut items = 0;
        while end < lines.len() && (is_link_item(end) || lines[end].trim().is_empty()) {
            items += usize::from(!lines[end].trim().is_empty());
            end += 1;
        }
        if items >= 3 {
            drop[i..end].iter_mut().for_each(|d| *d = true);
            if let Some(label) = label_above(i, false) {
                drop[label] = true;
            }
        }
        i = end;
    }
    let title_key = title.map(|t| squash(t).to_lowercase());
    for (n, line) in lines.iter().enumerate() {
        let k = squash(line).to_lowercase();
        if k.is_empty() {
            continue;
        }
        let w = words(line);
        // a row of tags: three links or more and nothing else
        let tags = links[n].1 && links[n].0 >= 3;
        drop[n] |= share_row(&k)
            // the title above the text
            || (n < 4 && title_key.as_deref() == Some(k.as_str()))
            || credit(line, w)
            || only_a_date(line, w)
            || tags;
        if tags && let Some(label) = label_above(n, true) {
            drop[label] = true;
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for (line, dropped) in lines.iter().zip(drop) {
        if dropped {
            continue;
        }
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The texts of the links in `html`, found all at once in a line (a line is checked against
/// hundreds of links on a busy page).
struct Anchors(Option<AhoCorasick>);

fn anchor_texts(html: &str) -> Anchors {
    // `html` is the extractor's own serialisation (well-formed, entities escaped), so the
    // links' texts are read off it without parsing a second document per page
    let mut texts: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<a") {
        let after = &rest[open + 2..];
        if !after.starts_with([' ', '>', '\t', '\n']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let inner = &after[gt + 1..];
        let Some(close) = inner.find("</a>") else {
            break;
        };
        let text = squash(&crate::parse::xml::unescape(&strip_tags(&inner[..close])));
        if !text.is_empty() {
            texts.push(text);
        }
        rest = &inner[close + 4..];
    }
    texts.sort();
    texts.dedup();
    Anchors(
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // built per page for a handful of lines: the DFA would cost more than it saves
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .build(&texts)
            .ok(),
    )
}

/// Text of inline markup (a link's content: `<b>`, `<span>`, `<img>`), tags dropped.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

impl Anchors {
    /// How many links a line holds, and how many words of it are not in one.
    fn cover(&self, line: &str) -> (usize, usize) {
        let Some(ac) = &self.0 else {
            return (0, usize::MAX);
        };
        let line = squash(line);
        let mut links = HashSet::new();
        let mut rest = String::with_capacity(line.len());
        let mut at = 0;
        for m in ac.find_iter(&line) {
            rest.push_str(&line[at..m.start()]);
            rest.push(' ');
            at = m.end();
            links.insert(m.pattern());
        }
        rest.push_str(&line[at..]);
        let others = rest
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count();
        (links.len(), others)
    }
}

/// A line that is a date and nothing more ("October 12, 2017", "07.06.2020 10:30", "Updated
/// June 7, 2020"): the byline's date, which the page date already holds. Checked word by word
/// (no date parser: this runs on every short line of every page).
fn only_a_date(line: &str, words: usize) -> bool {
    const SMALL: &[&str] = &[
        "updated",
        "published",
        "posted",
        "on",
        "at",
        "am",
        "pm",
        "a.m.",
        "p.m.",
        "de",
        "del",
        "le",
        "el",
        "um",
        "gmt",
        "utc",
    ];
    if words > 7 {
        return false;
    }
    let mut year = false;
    let mut first = true;
    for token in line.split_whitespace() {
        let t = token.trim_matches(|c: char| matches!(c, ',' | '|' | '(' | ')' | '–' | '-'));
        if t.is_empty() {
            continue;
        }
        let numeric = t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | ':' | '-'));
        if numeric {
            year |= t.split(|c: char| !c.is_ascii_digit()).any(|n| {
                n.len() == 4 && n.parse::<u32>().is_ok_and(|y| (1995..=2100).contains(&y))
            });
        } else {
            let lower = t.to_lowercase();
            let month = super::dates::text::is_month(&lower);
            // the line starts with the date (or "Updated"), not with a sentence
            if !(month
                || SMALL.contains(&lower.as_str())
                || (first && crate::parse::dates::is_weekday(&lower)))
            {
                return false;
            }
        }
        first = false;
    }
    year
}

/// A row of share buttons: every word a network or a share verb.
fn share_row(key: &str) -> bool {
    const SHARE: &[&str] = &[
        "share",
        "shares",
        "tweet",
        "twitter",
        "facebook",
        "whatsapp",
        "pinterest",
        "pint",
        "pin",
        "linkedin",
        "reddit",
        "telegram",
        "email",
        "e-mail",
        "mail",
        "print",
        "imprimir",
        "compartilhar",
        "compartir",
        "partager",
        "teilen",
        "condividi",
        "baixar",
        "download",
        "copy",
        "link",
        "messenger",
        "flipboard",
        "tumblr",
        "vk",
        "x",
        "on",
        "via",
        "this",
        "article",
        "story",
        "comments",
        "comment",
        "save",
    ];
    let words: Vec<&str> = key
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let networks = words
        .iter()
        .filter(|w| {
            matches!(
                **w,
                "twitter"
                    | "facebook"
                    | "whatsapp"
                    | "pinterest"
                    | "linkedin"
                    | "reddit"
                    | "telegram"
                    | "email"
                    | "tweet"
                    | "pint"
            )
        })
        .count();
    networks >= 2 && words.iter().all(|w| SHARE.contains(w))
}

/// An image credit: short, and saying so ("Photo: Pat Lens/Agency", "views, photos © Site").
fn credit(line: &str, words: usize) -> bool {
    const WORDS: &[&str] = &[
        "photo", "photos", "foto", "fotos", "image", "images", "picture", "pictures", "credit",
        "credits", "crédito", "crédit", "bild", "imagen", "imagem",
    ];
    if words > 20 {
        return false;
    }
    let lower = line.trim_start().to_lowercase();
    let first: String = lower.chars().take_while(|c| c.is_alphabetic()).collect();
    let rest = lower[first.len()..].trim_start();
    let rest = rest
        .strip_prefix("credits")
        .or_else(|| rest.strip_prefix("credit"))
        .unwrap_or(rest)
        .trim_start();
    (WORDS.contains(&first.as_str()) && rest.starts_with([':', '©', '|', '/']))
        || [
            "photo ©",
            "photos ©",
            "foto ©",
            "fotos ©",
            "image ©",
            "images ©",
        ]
        .iter()
        .any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boilerplate_lines_go_and_the_article_stays() {
        let html = r#"<p>Patent office opens</p><p>June 7, 2020</p><p>The office opened on Monday.</p>
            <p>Tags: <a href="/t/1">patents</a>, <a href="/t/2">offices</a>, <a href="/t/3">Monday</a></p>
            <p><a href="/w">Whatsapp</a> <a href="/f">Facebook</a> Pint</p>
            <p>Categorias</p><ul><li><a href="/a">Administração</a></li><li><a href="/b">Agricultura</a></li><li><a href="/c">Cultura</a></li></ul>
            <p>Read the <a href="/r">full report</a> on the office's site, which lists every new examiner.</p>"#;
        let text = "Patent office opens\nJune 7, 2020\n\nThe office opened on Monday.\n\nTags:\npatents, offices, Monday\n\nWhatsapp Facebook Pint\n\nCategorias\nAdministração\nAgricultura\nCultura\n\nPhoto: Pat Lens/Agency\n\nRead the full report on the office's site, which lists every new examiner.\n\nInstallation views, photos © Example News, 2020\n\n© 2020 Associated Press. All rights reserved.";
        assert_eq!(
            prune(text, html, Some("Patent office opens")),
            "The office opened on Monday.\n\nRead the full report on the office's site, which lists every new examiner.\n\n© 2020 Associated Press. All rights reserved."
        );
    }

    #[test]
    fn lines_that_merely_look_short_are_kept() {
        let html = "<p>Yes.</p><p>No.</p><p>Maybe.</p>";
        let text = "Yes.\nNo.\nMaybe.\n\nShare your thoughts with the editor.\n\nOn 7 June 2020 the office opened its doors to the public for the first time.\n\n— Pat (@pat) June 7, 2020";
        assert_eq!(prune(text, html, None), text);
    }
}
