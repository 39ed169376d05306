//! Word segmentation as the matcher sees it: runs of letters and digits, CJK characters as
//! separators (matched as substrings), and a field's text prepared lazily for phrases.

use std::ops::Range;

use super::Pattern;

/// Whether a character belongs to a script written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF
        | 0x1100..=0x11FF | 0x20000..=0x2FA1F | 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

/// The words of a text as the matcher sees them: runs of letters and digits; CJK characters
/// separate words (they are matched as substrings instead). ASCII bytes are classified without
/// decoding a `char` (splitting by a `char` predicate was most of curating an article: perf,
/// 300-feed cold ingest).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    Words { text, pos: 0 }
}

struct Words<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    /// Whether the character at byte `i` belongs to a word, and its length in bytes.
    fn class(&self, i: usize) -> (bool, usize) {
        match self.text.as_bytes()[i] {
            b if b < 0x80 => (b.is_ascii_alphanumeric(), 1),
            _ => self.text[i..].chars().next().map_or((false, 1), |c| {
                (c.is_alphanumeric() && !is_cjk(c), c.len_utf8())
            }),
        }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let len = self.text.len();
        while self.pos < len {
            let (word, n) = self.class(self.pos);
            if word {
                break;
            }
            self.pos += n;
        }
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        while self.pos < len {
            let (word, n) = self.class(self.pos);
            if !word {
                break;
            }
            self.pos += n;
        }
        self.text.get(start..self.pos)
    }
}

/// A field's text as queries see it. Word and prefix terms stream over its words and stop at
/// the first match, lower-casing a word only when it is not ASCII: preparing the whole text up
/// front (its word list and a lower-cased copy) was 15% of a cold ingest's CPU for queries that
/// mostly match within the first sentence (perf, 500-feed poll). Phrases and substrings need
/// the prepared form, built once, on first use.
#[derive(Debug, Default)]
pub struct FieldText {
    text: String,
    prepared: std::cell::OnceCell<Prepared>,
}

/// The word list and lower-cased forms of a field, for phrase and substring terms.
#[derive(Debug, Default)]
struct Prepared {
    /// `text` lower-cased: made at once for ASCII text (its words are found in it), and only
    /// when a CJK substring asks for it otherwise.
    lower: std::cell::OnceCell<String>,
    ascii: bool,
    /// Each word lower-cased on its own, concatenated; empty when `text` is ASCII, whose words
    /// are then found in `lower` at the same ranges as in `text`. Words are byte ranges, not
    /// strings: building one `String` per word (twice, as written and lower-cased) was 14% of
    /// a cold ingest's CPU (perf, 300-feed poll).
    lower_words: String,
    lower_ranges: Vec<Range<usize>>,
}

impl FieldText {
    pub fn new(text: &str) -> FieldText {
        FieldText::from(text.to_string())
    }

    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let text = &self.text;
            let words = words(text).map(|w| {
                let start = w.as_ptr() as usize - text.as_ptr() as usize;
                start..start + w.len()
            });
            if text.is_ascii() {
                return Prepared {
                    lower: std::cell::OnceCell::from(text.to_ascii_lowercase()),
                    ascii: true,
                    lower_words: String::new(),
                    lower_ranges: words.collect(),
                };
            }
            let mut lower_words = String::with_capacity(text.len());
            let lower_ranges = words
                .map(|r| {
                    let (start, word) = (lower_words.len(), &text[r]);
                    if word.is_ascii() {
                        lower_words.push_str(word);
                        lower_words[start..].make_ascii_lowercase();
                    } else {
                        lower_words.push_str(&word.to_lowercase());
                    }
                    start..lower_words.len()
                })
                .collect();
            Prepared {
                lower: std::cell::OnceCell::new(),
                ascii: false,
                lower_words,
                lower_ranges,
            }
        })
    }

    fn lower(&self) -> &str {
        self.prepared()
            .lower
            .get_or_init(|| self.text.to_lowercase())
    }

    fn lower_word(&self, i: usize) -> &str {
        let p = self.prepared();
        let buf = if p.ascii {
            self.lower()
        } else {
            &p.lower_words
        };
        p.lower_ranges
            .get(i)
            .and_then(|r| buf.get(r.clone()))
            .unwrap_or_default()
    }

    /// The first word equal to `want` (or starting with it, for a prefix), as matched: as
    /// written when case-sensitive, else lower-cased (`want` is lower-case then).
    fn find_word(&self, want: &str, prefix: bool, case_sensitive: bool) -> Option<String> {
        let fits = |w: &str| {
            if prefix {
                w.starts_with(want)
            } else {
                w == want
            }
        };
        words(&self.text).find_map(|w| {
            if case_sensitive {
                fits(w).then(|| w.to_string())
            } else if w.is_ascii() {
                let head = if prefix { w.get(..want.len()) } else { Some(w) };
                head.is_some_and(|h| h.bytes().map(|b| b.to_ascii_lowercase()).eq(want.bytes()))
                    .then(|| w.to_ascii_lowercase())
            } else {
                let lower = w.to_lowercase();
                fits(&lower).then_some(lower)
            }
        })
    }

    /// The first match of `p`, as the matched text.
    pub(super) fn find(&self, p: &Pattern) -> Option<String> {
        match p {
            Pattern::Word {
                text,
                case_sensitive,
            } => self.find_word(text, false, *case_sensitive),
            Pattern::Prefix {
                text,
                case_sensitive,
            } => self.find_word(text, true, *case_sensitive),
            Pattern::Phrase(ws) if ws.is_empty() => None,
            Pattern::Phrase(ws) => {
                let n = self.prepared().lower_ranges.len();
                (0..(n + 1).saturating_sub(ws.len()))
                    .find(|&i| {
                        ws.iter()
                            .enumerate()
                            .all(|(j, w)| self.lower_word(i + j) == w)
                    })
                    .map(|i| {
                        (i..i + ws.len())
                            .map(|k| self.lower_word(k))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
            }
            Pattern::Substring(s) => self.lower().contains(s.as_str()).then(|| s.clone()),
            Pattern::Glob(_) | Pattern::Lang(_) => None,
        }
    }
}

impl From<String> for FieldText {
    fn from(text: String) -> FieldText {
        FieldText {
            text,
            prepared: std::cell::OnceCell::new(),
        }
    }
}
