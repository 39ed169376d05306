//! The topic query language: parsing (with column-precise errors) and evaluation against an
//! article. Syntax, in order of precedence (tightest first):
//!
//! - a term: `patent` (whole word, any case), `IP` (capitals of 2+ letters: case-sensitive),
//!   `patent*` (prefix), `"intellectual property"` (words in sequence), `知识产权` (CJK:
//!   substring, since CJK text has no spaces);
//! - a field on a term or a parenthesized group: `title:`, `text:` (the default: title, summary
//!   and content), `author:`, `source:` and `tag:` (globs with `*`), `lang:` (`lang:zh` matches
//!   `zh-cn`);
//! - `NOT x`; `x AND y` (also `x y`); `x OR y`; parentheses.
//!
//! Operators are upper case only: a lower-case `and` is a word to look for.

use std::fmt;
use std::ops::Range;

/// Where a term looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Text,
    Author,
    Source,
    Tag,
    Lang,
}

impl Field {
    pub const ALL: [(&'static str, Field); 6] = [
        ("title", Field::Title),
        ("text", Field::Text),
        ("author", Field::Author),
        ("source", Field::Source),
        ("tag", Field::Tag),
        ("lang", Field::Lang),
    ];

    pub fn name(self) -> &'static str {
        Field::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("text", |(n, _)| n)
    }
}

/// What a term matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// A whole word; `case_sensitive` for acronyms written in capitals.
    Word { text: String, case_sensitive: bool },
    /// Words starting with `text`.
    Prefix { text: String, case_sensitive: bool },
    /// Lower-case words, adjacent and in order.
    Phrase(Vec<String>),
    /// A lower-cased substring (CJK terms).
    Substring(String),
    /// A lower-cased glob with `*` (source ids, tags).
    Glob(String),
    /// A language tag prefix (`zh` matches `zh-cn`).
    Lang(String),
}

/// One searchable term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: Field,
    pub pattern: Pattern,
    /// As written, for `explain`.
    pub written: String,
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == Field::Text {
            write!(f, "{}", self.written)
        } else {
            write!(f, "{}:{}", self.field.name(), self.written)
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Term(Term),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, items: &[Expr], op: &str| -> fmt::Result {
            write!(f, "(")?;
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{e}")?;
            }
            write!(f, ")")
        };
        match self {
            Expr::Term(t) => write!(f, "{t}"),
            Expr::And(items) => join(f, items, "AND"),
            Expr::Or(items) => join(f, items, "OR"),
            Expr::Not(e) => write!(f, "NOT {e}"),
        }
    }
}

/// A syntax error, located by 1-based character column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for QueryError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Field(Field),
    Word(String),
    Quoted(String),
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let tokens = lex(query)?;
    let end = query.chars().count() + 1;
    let mut p = Parser {
        tokens,
        pos: 0,
        end,
    };
    if p.tokens.is_empty() {
        return Err(QueryError {
            column: 1,
            message: "empty query".into(),
        });
    }
    let expr = p.or(Field::Text)?;
    if let Some((tok, col)) = p.tokens.get(p.pos) {
        let message = match tok {
            Tok::Close => "unexpected ')' (no matching '(')".to_string(),
            _ => "unexpected input".to_string(),
        };
        return Err(QueryError {
            column: *col,
            message,
        });
    }
    Ok(expr)
}

fn lex(query: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Tok::Open, col));
            i += 1;
        } else if c == ')' {
            out.push((Tok::Close, col));
            i += 1;
        } else if c == '"' {
            let start = i + 1;
            let Some(len) = chars[start..].iter().position(|c| *c == '"') else {
                return Err(QueryError {
                    column: col,
                    message: "unterminated '\"'".into(),
                });
            };
            let text: String = chars[start..start + len].iter().collect();
            if text.trim().is_empty() {
                return Err(QueryError {
                    column: col,
                    message: "empty phrase \"\"".into(),
                });
            }
            out.push((Tok::Quoted(text), col));
            i = start + len + 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '(' | ')' | '"')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some((name, rest)) = word.split_once(':') {
                if let Some((_, field)) = Field::ALL.iter().find(|(n, _)| *n == name) {
                    out.push((Tok::Field(*field), col));
                    if !rest.is_empty() {
                        out.push((Tok::Word(rest.to_string()), col + name.chars().count() + 1));
                    }
                    continue;
                }
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic()) {
                    let names: Vec<&str> = Field::ALL.iter().map(|(n, _)| *n).collect();
                    return Err(QueryError {
                        column: col,
                        message: format!(
                            "unknown field \"{name}:\" (fields: {})",
                            names.join(", ")
                        ),
                    });
                }
            }
            let tok = match word.as_str() {
                "AND" => Tok::And,
                "OR" => Tok::Or,
                "NOT" => Tok::Not,
                _ => Tok::Word(word),
            };
            out.push((tok, col));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    /// Column just past the end, for "expected … at end".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn err<T>(&self, message: &str) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.column(),
            message: message.to_string(),
        })
    }

    fn or(&mut self, field: Field) -> Result<Expr, QueryError> {
        let mut items = vec![self.and(field)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and(field)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, field: Field) -> Result<Expr, QueryError> {
        let mut items = vec![self.unary(field)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.unary(field)?);
                }
                Some(Tok::Word(_) | Tok::Quoted(_) | Tok::Field(_) | Tok::Open | Tok::Not) => {
                    items.push(self.unary(field)?);
                }
                _ => break,
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self, field: Field) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            if self.peek().is_none() {
                return self.err("expected a term after NOT");
            }
            return Ok(Expr::Not(Box::new(self.unary(field)?)));
        }
        self.primary(field)
    }

    fn primary(&mut self, field: Field) -> Result<Expr, QueryError> {
        let Some((tok, col)) = self.tokens.get(self.pos).cloned() else {
            return self.err("expected a term");
        };
        match tok {
            Tok::Open => {
                self.pos += 1;
                if self.peek() == Some(&Tok::Close) {
                    return self.err("empty parentheses");
                }
                let inner = self.or(field)?;
                if self.peek() != Some(&Tok::Close) {
                    return self.err("expected ')'");
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Field(f) => {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Word(_) | Tok::Quoted(_) | Tok::Open) => self.primary(f),
                    _ => self.err(&format!("expected a term or '(' after \"{}:\"", f.name())),
                }
            }
            Tok::Word(w) => {
                self.pos += 1;
                term(field, &w, false)
                    .map(Expr::Term)
                    .map_err(|message| QueryError {
                        column: col,
                        message,
                    })
            }
            Tok::Quoted(q) => {
                self.pos += 1;
                term(field, &q, true)
                    .map(Expr::Term)
                    .map_err(|message| QueryError {
                        column: col,
                        message,
                    })
            }
            Tok::Close => self.err("unexpected ')'"),
            Tok::And | Tok::Or => self.err("expected a term before AND/OR"),
            Tok::Not => self.err("expected a term"),
        }
    }
}

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

/// Capitals of two or more letters: an acronym, matched case-sensitively.
fn is_acronym(word: &str) -> bool {
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
}

fn term(field: Field, text: &str, quoted: bool) -> Result<Term, String> {
    let written = if quoted {
        format!("\"{text}\"")
    } else {
        text.to_string()
    };
    let pattern = match field {
        Field::Source | Field::Tag => Pattern::Glob(text.to_lowercase()),
        Field::Lang => Pattern::Lang(text.to_lowercase().replace('_', "-")),
        Field::Title | Field::Text | Field::Author => {
            if text.chars().any(is_cjk) {
                Pattern::Substring(text.to_lowercase().trim().to_string())
            } else if !quoted && text.ends_with('*') && text.len() > 1 {
                let stem = &text[..text.len() - 1];
                let ws: Vec<&str> = words(stem).collect();
                if ws.len() != 1 || stem.contains('*') {
                    return Err(format!(
                        "prefix term \"{text}\" must be one word followed by '*'"
                    ));
                }
                Pattern::Prefix {
                    case_sensitive: is_acronym(ws[0]),
                    text: if is_acronym(ws[0]) {
                        ws[0].to_string()
                    } else {
                        ws[0].to_lowercase()
                    },
                }
            } else {
                let ws: Vec<&str> = words(text).collect();
                match ws.as_slice() {
                    [] => {
                        return Err(format!(
                            "term \"{text}\" has no letters or digits to look for"
                        ));
                    }
                    [one] if !quoted => Pattern::Word {
                        case_sensitive: is_acronym(one),
                        text: if is_acronym(one) {
                            one.to_string()
                        } else {
                            one.to_lowercase()
                        },
                    },
                    many => Pattern::Phrase(many.iter().map(|w| w.to_lowercase()).collect()),
                }
            }
        }
    };
    Ok(Term {
        field,
        pattern,
        written,
    })
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
    fn find(&self, p: &Pattern) -> Option<String> {
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

/// An article as queries see it.
#[derive(Debug, Default)]
pub struct Doc {
    pub title: FieldText,
    pub text: FieldText,
    pub author: FieldText,
    pub sources: Vec<String>,
    pub tags: Vec<String>,
    pub lang: Option<String>,
}

/// `*` matches any run of characters; everything else literally (both sides lower-cased).
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let mut rest = value;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Term {
    /// Where and what this term matched in `doc`, if it did.
    pub fn find(&self, doc: &Doc) -> Option<String> {
        match (&self.pattern, self.field) {
            (Pattern::Glob(g), Field::Source) => doc
                .sources
                .iter()
                .find(|s| glob_match(g, &s.to_lowercase()))
                .cloned(),
            (Pattern::Glob(g), _) => doc
                .tags
                .iter()
                .find(|t| glob_match(g, &t.to_lowercase()))
                .cloned(),
            (Pattern::Lang(l), _) => doc
                .lang
                .as_deref()
                .filter(|lang| {
                    *lang == l
                        || lang
                            .strip_prefix(l.as_str())
                            .is_some_and(|r| r.starts_with('-'))
                })
                .map(str::to_string),
            (p, Field::Title) => doc.title.find(p),
            (p, Field::Author) => doc.author.find(p),
            (p, _) => doc.text.find(p),
        }
    }
}

impl Expr {
    /// Whether `doc` satisfies the query.
    pub fn matches(&self, doc: &Doc) -> bool {
        match self {
            Expr::Term(t) => t.find(doc).is_some(),
            Expr::And(items) => items.iter().all(|e| e.matches(doc)),
            Expr::Or(items) => items.iter().any(|e| e.matches(doc)),
            Expr::Not(e) => !e.matches(doc),
        }
    }

    /// Whether any term looks at `field`.
    pub fn uses(&self, field: Field) -> bool {
        match self {
            Expr::Term(t) => t.field == field,
            Expr::And(items) | Expr::Or(items) => items.iter().any(|e| e.uses(field)),
            Expr::Not(e) => e.uses(field),
        }
    }

    /// Every term with what it matched (or `None`), and every NOT clause that excluded `doc`.
    pub fn trace(
        &self,
        doc: &Doc,
        terms: &mut Vec<(String, Option<String>)>,
        excluded_by: &mut Vec<String>,
    ) {
        match self {
            Expr::Term(t) => terms.push((t.to_string(), t.find(doc))),
            Expr::And(items) | Expr::Or(items) => {
                items.iter().for_each(|e| e.trace(doc, terms, excluded_by))
            }
            Expr::Not(e) => {
                if e.matches(doc) {
                    excluded_by.push(format!("NOT {e}"));
                }
                let mut inner = Vec::new();
                e.trace(doc, &mut inner, &mut Vec::new());
                terms.extend(inner.into_iter().map(|(t, m)| (format!("NOT {t}"), m)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field text as it was first written (a `String` per word), to hold the ranges to.
    fn find_reference(text: &str, p: &Pattern) -> Option<String> {
        let words: Vec<String> = words(text).map(str::to_string).collect();
        let lower_words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        match p {
            Pattern::Word {
                text,
                case_sensitive: true,
            } => words.iter().find(|w| *w == text).cloned(),
            Pattern::Word {
                text,
                case_sensitive: false,
            } => lower_words.iter().find(|w| *w == text).cloned(),
            Pattern::Prefix {
                text,
                case_sensitive: true,
            } => words.iter().find(|w| w.starts_with(text.as_str())).cloned(),
            Pattern::Prefix {
                text,
                case_sensitive: false,
            } => lower_words
                .iter()
                .find(|w| w.starts_with(text.as_str()))
                .cloned(),
            Pattern::Phrase(ws) if ws.is_empty() => None,
            Pattern::Phrase(ws) => lower_words
                .windows(ws.len())
                .find(|win| win == &ws.as_slice())
                .map(|win| win.join(" ")),
            Pattern::Substring(s) => text.to_lowercase().contains(s.as_str()).then(|| s.clone()),
            Pattern::Glob(_) | Pattern::Lang(_) => None,
        }
    }

    proptest::proptest! {
        #[test]
        fn words_split_exactly_as_the_char_predicate_does(
            text in "([a-zA-Z0-9]{0,6}|[ ,.;_'\\n\u{a0}-]{1,2}|[éßİΣ中文ア가①٣]{1,3}|[\u{80}-\u{10ffff}]{0,2}){0,40}",
        ) {
            let reference: Vec<&str> = text
                .split(|c: char| !(c.is_alphanumeric()) || is_cjk(c))
                .filter(|w| !w.is_empty())
                .collect();
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), reference);
        }

        #[test]
        fn field_text_ranges_find_what_per_word_strings_found(
            parts in proptest::collection::vec(
                "(IP|ip|Patent|patents|İstanbul|ΟΔΟΣ|Straße|STRASSE|知识产权|中关村|x1|[ ,.;\\n-]{1,2})",
                0..30,
            ),
            pick in 0usize..40,
            len in 1usize..4,
        ) {
            let text = parts.concat();
            let ws: Vec<String> = words(&text).map(str::to_string).collect();
            let lower: Vec<String> = ws.iter().map(|w| w.to_lowercase()).collect();
            let at = pick % (ws.len() + 1);
            let phrase: Vec<String> = lower.iter().skip(at).take(len).cloned().collect();
            let mut patterns = vec![
                Pattern::Phrase(phrase.clone()),
                Pattern::Phrase(vec!["patent".into(), "ip".into()]),
                Pattern::Substring("产权".into()),
                Pattern::Substring("i̇stanbul".into()),
            ];
            for w in ws.get(at).into_iter().chain(lower.get(at)).chain(["ip".to_string(), "IP".into(), "straße".into(), "οδοσ".into(), "οδος".into()].iter()) {
                for case_sensitive in [true, false] {
                    patterns.push(Pattern::Word { text: w.clone(), case_sensitive });
                    let stem: String = w.chars().take(2).collect();
                    patterns.push(Pattern::Prefix { text: stem, case_sensitive });
                }
            }
            let field = FieldText::new(&text);
            for p in &patterns {
                proptest::prop_assert_eq!(field.find(p), find_reference(&text, p), "{:?} in {:?}", p, text);
            }
        }
    }

    fn doc(title: &str, text: &str) -> Doc {
        Doc {
            title: FieldText::new(title),
            text: FieldText::new(&format!("{title}\n{text}")),
            author: FieldText::new("Liu Yinchun"),
            sources: vec!["wire".into(), "haidian-science".into()],
            tags: vec!["china".into(), "science".into()],
            lang: Some("en-us".into()),
        }
    }

    fn q(query: &str, d: &Doc) -> bool {
        parse(query)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .matches(d)
    }

    #[test]
    fn each_rule_of_the_language() {
        let ip = doc(
            "Zhongguancun becomes IP service zone",
            "Patents and intellectual property. 知识产权服务",
        );
        let ship = doc(
            "Ten shipping tips",
            "A relationship with your ship: tips from the IPO desk. ip address",
        );
        // (query, matches ip, matches ship)
        let cases = [
            // whole words, case-insensitive
            ("patents", true, false),
            ("PATENTS", false, false), // capitals rule: PATENTS is an acronym-style term
            ("patent", false, false),  // whole word: "patents" is not "patent"
            ("ship", false, true),
            ("Ship", false, true),
            // capitals: case-sensitive acronyms, never inside words
            ("IP", true, false),
            ("ip", true, true), // lower case matches the word "ip" in any case
            ("IPO", false, true),
            // prefix
            ("patent*", true, false),
            ("ship*", false, true),
            ("relation*", false, true),
            // phrase
            ("\"intellectual property\"", true, false),
            ("\"property intellectual\"", false, false),
            ("\"INTELLECTUAL   property\"", true, false),
            // CJK substring and mixed queries
            ("知识产权", true, false),
            ("产权", true, false),
            ("知识产权 AND IP", true, false),
            ("知识产权 OR tips", true, true),
            // fields
            ("title:IP", true, false),
            ("title:patents", false, false),
            ("text:patents", true, false),
            ("author:liu", true, true),
            ("author:zhang", false, false),
            ("source:wire", true, true),
            ("source:haidian-*", true, true),
            ("source:*-science", true, true),
            ("source:other", false, false),
            ("tag:china", true, true),
            ("tag:sci*", true, true),
            ("lang:en", true, true),
            ("lang:en-us", true, true),
            ("lang:e", false, false),
            ("lang:zh", false, false),
            ("title:(zone OR tips)", true, true),
            ("title:(ship* AND NOT zone)", false, true),
            // boolean structure and precedence: NOT > AND > OR
            ("patents tips", false, false),
            ("patents OR tips", true, true),
            ("NOT patents", false, true),
            ("tips OR patents AND NOT IP", false, true),
            ("(tips OR patents) AND NOT IP", false, true),
            ("NOT tips AND NOT patents", false, false),
            ("patent* OR IP OR \"intellectual property\"", true, false),
            ("title:(garden* OR 颐和园) NOT source:wire", false, false),
            ("and", true, false), // lower-case operators are words ("Patents and …")
        ];
        for (query, want_ip, want_ship) in cases {
            assert_eq!(q(query, &ip), want_ip, "{query:?} on the IP article");
            assert_eq!(
                q(query, &ship),
                want_ship,
                "{query:?} on the shipping article"
            );
        }
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let cases = [
            ("title:(garden* OR 颐和园", 22, "expected ')'"),
            ("(a OR b", 8, "expected ')'"),
            ("a OR b)", 7, "unexpected ')'"),
            ("\"open phrase", 1, "unterminated"),
            ("", 1, "empty query"),
            ("   ", 1, "empty query"),
            ("a AND", 6, "expected a term"),
            ("OR b", 1, "expected a term before AND/OR"),
            ("a NOT", 6, "expected a term after NOT"),
            ("titel:x", 1, "unknown field \"titel:\""),
            ("title:", 7, "expected a term or '(' after \"title:\""),
            ("()", 2, "empty parentheses"),
            ("a ***", 3, "prefix term"),
            ("---", 1, "no letters or digits"),
        ];
        for (query, column, message) in cases {
            let err = parse(query).expect_err(query);
            assert_eq!(err.column, column, "{query:?}: {err}");
            assert!(err.message.contains(message), "{query:?}: {err}");
        }
    }

    #[test]
    fn explain_trace_lists_terms_and_exclusions() {
        let d = doc("Ten shipping tips", "about ships");
        let e = parse("tips NOT source:wire").expect("parses");
        let (mut terms, mut excluded) = (Vec::new(), Vec::new());
        e.trace(&d, &mut terms, &mut excluded);
        assert_eq!(terms[0], ("tips".to_string(), Some("tips".to_string())));
        assert_eq!(excluded, ["NOT source:wire"]);
    }

    #[test]
    fn globs() {
        let cases = [
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abc", true),
            ("*", "", true),
            ("a*d", "abc", false),
            ("abc", "abc", true),
            ("ab", "abc", false),
        ];
        for (p, v, want) in cases {
            assert_eq!(glob_match(p, v), want, "{p} {v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,80}") {
            if let Ok(e) = parse(&s) {
                let _ = e.matches(&doc("x", "y"));
            }
        }

        #[test]
        fn parser_never_panics_on_query_shaped_input(s in "([a-z]{1,5}|AND|OR|NOT|\\(|\\)|\"|\\*|title:|source:|lang:| |知识){0,20}") {
            if let Ok(e) = parse(&s) {
                let _ = e.matches(&doc("x", "y"));
            }
        }
    }
}
