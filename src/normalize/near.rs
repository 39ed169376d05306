//! Whether two story keys (see [`story_title`](super::story_title)) are near enough to be one
//! story told in other words: the measure, its guards and the words an article is indexed
//! under for it. Pure functions on folded titles, so the rule can be scored on people-labelled
//! headline pairs (`tests/integration/dedup.rs`, `stsb_headlines_near_tier`) without a database.
//!
//! The measure is pg_trgm's (PostgreSQL's trigram similarity, the one TT-RSS deduplicates
//! with): the Jaccard index of the sets of character trigrams of the words, each word padded
//! as `"  word "`. It is taken over *content* words only: stop words ("the", "to", "in") are
//! dropped, a plural `s` and one-letter pieces (the `s` of "Syria's", the `u s` of "U.S.") are
//! dropped, so that "Syria's army retakes castle" and "Syrian army retakes the castle" compare
//! on what they say. Runs of Han and kana, written without spaces, count as their overlapping
//! two-character pieces.
//!
//! On the 1,942 scored pairs of `stsb-headlines.tsv` (≥ 4: the same story, < 3: not), plain
//! pg_trgm at TT-RSS's 0.6 reaches precision 0.815 and recall 0.553; this measure with the
//! guards below, at [`DEFAULT_THRESHOLD`], does better on both (the test prints the numbers).
//!
//! Guards, for what makes near-matching dangerous:
//! - **short titles** ("Business Highlights", "Morning Briefing") are never near: fewer than
//!   three content words ([`MIN_WORDS`]) match only exactly;
//! - **numbers** must agree: "Chapter 11" is not "Chapter 15", "10 things to know" of one day
//!   is not the next day's;
//! - **weekdays** must agree ("Indian stocks open lower Wednesday" / "… Friday");
//! - **a swapped name**: when the only difference is one word for another and both are names
//!   (capitalized inside a sentence-case title, or the subject in first place), the titles are
//!   one template about two things ("Ankara protesters clash with police" / "Peru protesters
//!   clash with police"); see [`swapped_name`], which needs the titles as written.

use std::collections::BTreeSet;

/// The similarity from which two story keys are one story, unless a guard says otherwise:
/// chosen on `stsb-headlines.tsv` for precision first (see the module header).
pub const DEFAULT_THRESHOLD: f64 = 0.55;

/// Content words (a two-character piece of Han or kana counting [`CJK_PIECE`] of one) a title
/// needs before it may be near another: shorter ones are too generic to tell apart.
pub const MIN_WORDS: f64 = 3.0;

/// What one two-character piece of a Han or kana run counts as, towards [`MIN_WORDS`]: five
/// pieces (a title of six characters) are enough.
const CJK_PIECE: f64 = 0.6;

/// How many words an article is indexed under (see [`Signature::index_words`]).
pub const INDEX_WORDS: usize = 3;

/// English function words: they carry no story. Other languages keep theirs (they only make
/// the measure a little more lenient there). Sorted, for a binary search.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "amid", "an", "and", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "for", "from", "had", "has", "have", "in", "into", "is", "it", "its", "may",
    "new", "no", "not", "of", "on", "or", "out", "over", "said", "say", "says", "than", "that",
    "the", "this", "to", "up", "us", "was", "were", "will", "with", "would",
];

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What the near rule needs of one story key, worked out once.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// Content words, in title order, without repeats.
    words: Vec<String>,
    /// Sorted, distinct trigrams of the content words, each packed in a u64 (three chars of
    /// 21 bits): no hashing, so no collisions. Worked out when first compared: indexing a title
    /// needs only its words.
    trigrams: std::cell::OnceCell<Vec<u64>>,
    /// Every run of digits, in title order: "Brazil 2-1 Germany" is not "Brazil 1-2 Germany".
    numbers: Vec<String>,
    /// Bit per weekday named.
    weekdays: u8,
    /// Content words counted as [`MIN_WORDS`] counts them.
    weight: f64,
    /// See [`Signature::index_words`].
    index: Vec<String>,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // Han extension A
        | 0x4E00..=0x9FFF    // Han
        | 0xF900..=0xFAFF    // Han compatibility
        | 0x20000..=0x2FFFF) // Han extensions B on
}

/// A word's stem for comparison: a plural or third-person `s` dropped (not from `-ss`, not
/// from short words like "gas", "bus").
fn stem(word: &str) -> &str {
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") && word.is_ascii() {
        &word[..word.len() - 1]
    } else {
        word
    }
}

impl Signature {
    /// The signature of a story key (a folded title: lower case, words split by single spaces).
    pub fn of(key: &str) -> Signature {
        let mut words: Vec<String> = Vec::new();
        let mut numbers = Vec::new();
        let mut weekdays = 0u8;
        let mut weight = 0.0;
        let mut push = |w: &str, weight_of: f64, words: &mut Vec<String>| {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_string());
                weight += weight_of;
            }
        };
        for token in key.split(' ').filter(|t| !t.is_empty()) {
            // a token may mix a Han run with Latin letters or digits ("iphone15发布"): split
            // it into runs of one kind
            let mut start = 0;
            let mut kind = None;
            let mut runs: Vec<(bool, &str)> = Vec::new();
            for (i, c) in token.char_indices() {
                let cjk = is_cjk(c);
                if kind.is_some_and(|k| k != cjk) {
                    runs.push((!cjk, &token[start..i]));
                    start = i;
                }
                kind = Some(cjk);
            }
            runs.push((kind.unwrap_or(false), &token[start..]));
            for (cjk, run) in runs {
                if cjk {
                    let chars: Vec<(usize, char)> = run.char_indices().collect();
                    if chars.len() == 1 {
                        push(run, CJK_PIECE, &mut words);
                    }
                    for pair in chars.windows(2) {
                        let end = pair[1].0 + pair[1].1.len_utf8();
                        push(&run[pair[0].0..end], CJK_PIECE, &mut words);
                    }
                    continue;
                }
                if run.bytes().any(|b| b.is_ascii_digit()) {
                    // "27th", "2-2", "$250": the number counts, whatever is around it
                    for n in run
                        .split(|c: char| !c.is_ascii_digit())
                        .filter(|s| !s.is_empty())
                    {
                        numbers.push(n.trim_start_matches('0').to_string());
                    }
                }
                if run.chars().nth(1).is_none() || STOP_WORDS.binary_search(&run).is_ok() {
                    continue;
                }
                if let Some(i) = WEEKDAYS.iter().position(|d| *d == run) {
                    weekdays |= 1 << i;
                }
                push(stem(run), 1.0, &mut words);
            }
        }
        let mut s = Signature {
            words,
            trigrams: std::cell::OnceCell::new(),
            numbers,
            weekdays,
            weight,
            index: Vec::new(),
        };
        s.index = s.ranked_words();
        s
    }

    fn trigrams(&self) -> &[u64] {
        self.trigrams.get_or_init(|| {
            let mut trigrams: Vec<u64> = Vec::with_capacity(self.words.len() * 6);
            for w in &self.words {
                let padded: Vec<char> = [' ', ' ']
                    .into_iter()
                    .chain(w.chars())
                    .chain([' '])
                    .collect();
                for t in padded.windows(3) {
                    trigrams.push(
                        (u64::from(u32::from(t[0])) << 42)
                            | (u64::from(u32::from(t[1])) << 21)
                            | u64::from(u32::from(t[2])),
                    );
                }
            }
            trigrams.sort_unstable();
            trigrams.dedup();
            trigrams
        })
    }

    /// Whether the title says enough to be near anything ([`MIN_WORDS`]).
    pub fn long_enough(&self) -> bool {
        self.weight >= MIN_WORDS
    }

    /// The words an article is indexed under for the near rule, and looked up by: its numbers
    /// as one word when it has any (they must agree, so they are the most telling), else its
    /// [`INDEX_WORDS`] longest content words (ties broken by a fixed hash, so the choice is the
    /// same on every machine). Longer words are rarer: on the stsb pairs that pass the rule,
    /// every same-story pair shares one of its three longest words (99.6% of all passing pairs;
    /// two words would keep 95%). Sharing one is part of the rule, so the index finds every
    /// match the rule allows.
    pub fn index_words(&self) -> &[String] {
        &self.index
    }

    fn ranked_words(&self) -> Vec<String> {
        if !self.long_enough() {
            return Vec::new();
        }
        if !self.numbers.is_empty() {
            return vec![format!("#{}", self.numbers.join("#"))];
        }
        let mut ranked: Vec<&String> = self.words.iter().collect();
        ranked.sort_by_key(|w| (std::cmp::Reverse(w.chars().count()), fnv(w)));
        ranked
            .into_iter()
            .take(INDEX_WORDS)
            .map(String::clone)
            .collect()
    }

    /// The similarity of two story keys, `None` when a guard rules a near match out (too
    /// short, different numbers or weekdays, no index word in common).
    pub fn similarity(&self, other: &Signature) -> Option<f64> {
        if !self.long_enough()
            || !other.long_enough()
            || self.numbers != other.numbers
            || (self.weekdays != 0 && other.weekdays != 0 && self.weekdays != other.weekdays)
        {
            return None;
        }
        if !other.index.iter().any(|w| self.index.contains(w)) {
            return None;
        }
        let (mine, theirs) = (self.trigrams(), other.trigrams());
        let shared = sorted_overlap(mine, theirs);
        let union = mine.len() + theirs.len() - shared;
        (union > 0).then(|| shared as f64 / union as f64)
    }
}

/// The words a story key is indexed under for the near rule ([`Signature::index_words`]).
pub fn index_words(key: &str) -> Vec<String> {
    Signature::of(key).index
}

/// The near rule on two entries: the similarity of their story keys' signatures when it
/// reaches `threshold` and no guard rules the match out, the swapped-name guard included (it
/// reads the titles as written).
pub fn near_score(
    (a, title_a): (&Signature, &str),
    (b, title_b): (&Signature, &str),
    threshold: f64,
) -> Option<f64> {
    a.similarity(b)
        .filter(|s| *s >= threshold && !swapped_name(title_a, title_b))
}

/// Elements two sorted, distinct lists share.
fn sorted_overlap(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// FNV-1a: a fixed hash, the same in every build (std's hashers are seeded per process).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The words of a title as written, with whether each is capitalized and its place.
fn written_words(title: &str) -> Vec<(String, bool)> {
    title
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.split(['\'', '’']).next().unwrap_or(w);
            let key = super::fold_title(w);
            (
                stem(&key).to_string(),
                w.chars().next().is_some_and(char::is_uppercase),
            )
        })
        .filter(|(k, _)| k.chars().count() >= 2 && STOP_WORDS.binary_search(&k.as_str()).is_err())
        .collect()
}

/// Whether most content words of a title are capitalized (Title Case): then capitals say
/// nothing about names.
fn title_case(words: &[(String, bool)]) -> bool {
    let letters: Vec<&(String, bool)> = words
        .iter()
        .filter(|(w, _)| w.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    !letters.is_empty() && letters.iter().filter(|(_, cap)| *cap).count() * 5 > letters.len() * 4
}

/// The swapped-name guard, on two titles as written: the only difference in content words is
/// one word for one other, both names (capitalized in a sentence-case title; in Title Case,
/// both the first word), and not forms of one word ("Egypt"/"Egyptians" share their first
/// four letters).
pub fn swapped_name(a: &str, b: &str) -> bool {
    let (wa, wb) = (written_words(a), written_words(b));
    let only = |x: &[(String, bool)], y: &[(String, bool)]| -> Vec<(usize, bool, String)> {
        let others: BTreeSet<&str> = y.iter().map(|(w, _)| w.as_str()).collect();
        let mut out: Vec<(usize, bool, String)> = Vec::new();
        for (i, (w, cap)) in x.iter().enumerate() {
            if !others.contains(w.as_str()) && !out.iter().any(|(_, _, o)| o == w) {
                out.push((i, *cap, w.clone()));
            }
        }
        out
    };
    let (da, db) = (only(&wa, &wb), only(&wb, &wa));
    let ([(ia, ca, x)], [(ib, cb, y)]) = (da.as_slice(), db.as_slice()) else {
        return false;
    };
    let prefix = |s: &str| s.chars().take(4).collect::<String>();
    if prefix(x) == prefix(y) {
        return false;
    }
    if title_case(&wa) || title_case(&wb) {
        *ia == 0 && *ib == 0
    } else {
        *ca && *cb
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::fold_title;

    fn sim(a: &str, b: &str) -> Option<f64> {
        Signature::of(&fold_title(a)).similarity(&Signature::of(&fold_title(b)))
    }

    #[test]
    fn stop_words_are_sorted_for_the_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn content_words_drop_function_words_plurals_and_pieces() {
        let s = Signature::of(&fold_title("Syria's army retakes the U.S. castles"));
        assert_eq!(s.words, ["syria", "army", "retake", "castle"]);
        let s = Signature::of(&fold_title("中国经济增长"));
        assert_eq!(s.words, ["中国", "国经", "经济", "济增", "增长"]);
        assert!(s.long_enough());
        assert!(!Signature::of("股市收盘").long_enough());
        assert!(!Signature::of("business highlights").long_enough());
    }

    #[test]
    fn the_guards_rule_out_what_near_matching_gets_wrong() {
        // (a, b, near at the default threshold)
        let table = [
            (
                "Capello quits as England manager",
                "Capello resigns as England manager",
                true,
            ),
            (
                "Amazon's Bezos to buy the Washington Post for $250 million",
                "Amazon's Bezos buys Washington Post for $250 million",
                true,
            ),
            (
                "Company files for Chapter 11 bankruptcy protection",
                "Company files for Chapter 15 bankruptcy protection",
                false,
            ),
            (
                "Indian stocks open lower Wednesday",
                "Indian stocks open lower Friday",
                false,
            ),
            ("Morning Briefing", "Morning Briefing:", false),
            (
                "Sector Update: Consumer",
                "Sector Update: Consumer Stocks",
                true,
            ),
            ("中国经济增长放缓", "中国经济增长继续放缓", true),
        ];
        for (a, b, near) in table {
            let s = sim(a, b);
            assert_eq!(
                s.is_some_and(|s| s >= DEFAULT_THRESHOLD),
                near,
                "{a:?} / {b:?}: {s:?}"
            );
        }
    }

    #[test]
    fn a_swapped_name_is_two_stories_a_changed_word_is_not() {
        let table = [
            (
                "Ankara protesters clash with police",
                "Peru protesters clash with police",
                true,
            ),
            (
                "Apple Shares Rise After Earnings Beat",
                "Google Shares Rise After Earnings Beat",
                true,
            ),
            (
                "Capello quits as England manager",
                "Capello resigns as England manager",
                false,
            ),
            (
                "Egypt votes in new constitution",
                "Egyptians Vote On New Constitution",
                false,
            ),
            (
                "Federer Wins 7th Wimbledon Title",
                "Federer Captures 7th Wimbledon Title",
                false,
            ),
        ];
        for (a, b, swapped) in table {
            assert_eq!(swapped_name(a, b), swapped, "{a:?} / {b:?}");
        }
    }

    #[test]
    fn index_words_are_the_numbers_else_the_longest_words() {
        let s = Signature::of(&fold_title("Gunmen kill 11 foreign tourists in Pakistan"));
        assert_eq!(s.index_words(), ["#11"]);
        let s = Signature::of(&fold_title("Thai protesters storm army headquarters"));
        assert_eq!(s.index_words(), ["headquarter", "protester", "storm"]);
        assert!(Signature::of("morning briefing").index_words().is_empty());
    }
}
