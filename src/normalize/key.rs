//! The story key of a title: what two copies of one story share when publishers retitle wire
//! copy. Wire and edition markers ("UPDATE 1-", "REFILE-", "EXCLUSIVE-", "BREAKING:"), a
//! trailing "(2)" or ellipsis, and a trailing publisher suffix (" - Reuters", " | Yahoo News")
//! are dropped before the title is folded ([`super::fold_title`]). Only the key changes: the
//! title shown stays as the source wrote it. The result is always a stretch of the folded whole
//! title, so `verify` can check an article's keys without knowing its sources.

use super::fold_title;

/// Publishers whose name news sites append to titles they carry.
const KNOWN_SUFFIXES: &[&str] = &[
    "ap",
    "ap news",
    "associated press",
    "reuters",
    "afp",
    "bloomberg",
    "bloomberg news",
    "bbc",
    "bbc news",
    "cnn",
    "cnbc",
    "npr",
    "fox news",
    "abc news",
    "cbs news",
    "nbc news",
    "sky news",
    "al jazeera",
    "the guardian",
    "the new york times",
    "nytimes com",
    "the washington post",
    "yahoo",
    "yahoo news",
    "yahoo finance",
    "msn",
    "google news",
    "forbes",
    "axios",
    "politico",
    "the hill",
    "xinhua",
    "xinhua net",
    "china daily",
    "global times",
    "scmp",
    "south china morning post",
    "times of india",
    "the times of india",
    "hindustan times",
    "ndtv",
    "dw",
    "deutsche welle",
    "france 24",
    "euronews",
    "kyodo news",
    "yonhap",
    "yonhap news agency",
    "nikkei asia",
    "tass",
];

/// Markers wire services and live desks put before a title, as they write them (the hyphen
/// forms in capitals only: "Poll-tax" or "Update-able" are words).
const MARKERS: &[&str] = &[
    "UPDATE",
    "REFILE",
    "CORRECTED",
    "CORRECTION",
    "EXCLUSIVE",
    "WRAPUP",
    "RPT",
    "REPEAT",
    "BREAKING",
    "URGENT",
    "FLASH",
    "BUZZ",
    "UPDATED",
    "LIVE",
    "WATCH",
    "VIDEO",
];

/// The story key of `title` (plain text). `publishers` name the source (its id, configured
/// name, feed title, the host of the entry's link): a trailing suffix matching one of them, or a
/// well-known one, is dropped.
pub fn story_title(title: &str, publishers: &[&str]) -> String {
    let mut t = title.trim();
    // markers, possibly several ("REFILE-UPDATE 2-")
    loop {
        let stripped = strip_marker(t);
        if stripped.len() == t.len() {
            break;
        }
        t = stripped;
    }
    let t = strip_tail(t, publishers);
    let key = fold_title(t);
    // a title that was nothing but a marker or a publisher keeps its whole key
    if key.split(' ').count() < 2 {
        return fold_title(title);
    }
    key
}

fn strip_marker(t: &str) -> &str {
    for m in MARKERS {
        let Some(rest) = t
            .get(..m.len())
            .filter(|head| head.eq_ignore_ascii_case(m))
            .map(|_| &t[m.len()..])
        else {
            continue;
        };
        let upper = t.starts_with(m);
        // "UPDATE 1-", "WRAPUP 2-": an edition number
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        let sep = rest.chars().next();
        let after = match sep {
            // "REFILE-", "UPDATE 1-": the wire's own form, capitals only
            Some('-') if upper => &rest[1..],
            // "BREAKING:", "Update:", "LIVE —": any capitalisation, with a colon or a dash
            Some(':' | '—' | '–' | '|') => &rest[sep.map_or(0, char::len_utf8)..],
            _ => continue,
        };
        let after = after.trim_start();
        if !after.is_empty() {
            return after;
        }
    }
    t
}

/// Drops a trailing "(2)", "…"/"...", and a publisher suffix, in any order they come.
fn strip_tail<'a>(mut t: &'a str, publishers: &[&str]) -> &'a str {
    // the publishers' forms, worked out only for a title with a separator (most have none)
    let forms = std::cell::OnceCell::new();
    let names = || -> &Vec<String> {
        forms.get_or_init(|| {
            publishers
                .iter()
                .flat_map(|p| publisher_forms(p))
                .filter(|n| !n.is_empty())
                .collect()
        })
    };
    loop {
        let before = t.len();
        t = t.trim_end();
        t = t
            .strip_suffix('…')
            .or_else(|| t.strip_suffix("..."))
            .unwrap_or(t)
            .trim_end();
        if let Some(head) = t.strip_suffix(')')
            && let Some(open) = head.rfind('(')
            && (1..=2).contains(&head[open + 1..].len())
            && head[open + 1..].chars().all(|c| c.is_ascii_digit())
        {
            t = head[..open].trim_end();
        }
        for sep in [" - ", " | ", " — ", " – ", " :: "] {
            if let Some((head, tail)) = t.rsplit_once(sep) {
                let tail_key = fold_title(tail);
                let words = tail_key.split(' ').count();
                if words <= 6
                    && !head.trim().is_empty()
                    && (KNOWN_SUFFIXES.contains(&tail_key.as_str())
                        || names().iter().any(|n| names_publisher(&tail_key, n)))
                {
                    t = head;
                    break;
                }
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// The forms of a publisher's name to compare a suffix with: folded, and for a host its
/// labels without "www" and the TLD ("www.reuters.com" → "reuters com", "reuters").
fn publisher_forms(p: &str) -> Vec<String> {
    let folded = fold_title(p);
    let mut out = vec![folded.clone()];
    if p.contains('.') && !p.contains(' ') {
        let labels: Vec<&str> = p
            .trim_start_matches("www.")
            .split('.')
            .filter(|l| !l.is_empty())
            .collect();
        if let Some(first) = labels.first() {
            out.push(fold_title(first));
        }
        out.push(fold_title(&labels.join(" ")));
    }
    out
}

/// Whether a suffix names the publisher: it is the name, or the name begins with it ("Reuters"
/// for the feed "Reuters World News").
fn names_publisher(suffix: &str, name: &str) -> bool {
    suffix == name || name.starts_with(&format!("{suffix} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retitled_wire_copies_share_a_key() {
        let cases: [(&str, &[&str], &str); 16] = [
            (
                "UPDATE 1-Oil falls as stocks rise",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "REFILE-UPDATE 2-Oil falls as stocks rise",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "CORRECTED-Oil falls as stocks rise",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "EXCLUSIVE-Oil falls as stocks rise",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "BREAKING: Oil falls as stocks rise",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "Oil falls as stocks rise (2)",
                &[],
                "oil falls as stocks rise",
            ),
            ("Oil falls as stocks rise…", &[], "oil falls as stocks rise"),
            (
                "Oil falls as stocks rise - Reuters",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "Oil falls as stocks rise | Yahoo Finance",
                &[],
                "oil falls as stocks rise",
            ),
            (
                "Oil falls as stocks rise - Markets Daily",
                &["markets", "Markets Daily"],
                "oil falls as stocks rise",
            ),
            (
                "Oil falls as stocks rise — Example",
                &["www.example.com"],
                "oil falls as stocks rise",
            ),
            // not markers or publishers: kept
            (
                "Update-able firmware ships",
                &[],
                "update able firmware ships",
            ),
            ("Poll-tax protest grows", &[], "poll tax protest grows"),
            (
                "Oil falls - and stocks rise",
                &[],
                "oil falls and stocks rise",
            ),
            ("Chapter 11 (2020)", &[], "chapter 11 2020"),
            // a title that is only a marker keeps its key
            ("BREAKING: News", &[], "breaking news"),
        ];
        for (title, publishers, want) in cases {
            assert_eq!(story_title(title, publishers), want, "{title}");
        }
    }

    #[test]
    fn the_key_is_a_stretch_of_the_folded_title() {
        for t in [
            "UPDATE 1-Oil falls as stocks rise - Reuters",
            "BREAKING: 中关村 知识产权 (3)",
            "Oil falls…",
        ] {
            let key = story_title(t, &["reuters.com"]);
            assert!(fold_title(t).contains(&key), "{t}: {key}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_title_gives_a_stretch_of_its_fold(t in "\\PC{0,80}", p in "[a-z. ]{0,20}") {
            let key = story_title(&t, &[p.as_str()]);
            proptest::prop_assert!(fold_title(&t).contains(&key));
        }
    }
}
