//! The topic query language, a leaf module that `config` (validation), `curate` (topics) and
//! `extract` (word segmentation) all use: the syntax tree and its evaluation here, the parser in
//! [`parse`], word segmentation in [`words`]. Syntax, in order of precedence (tightest first):
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

mod parse;
mod words;

pub use parse::{MAX_DEPTH, QueryError, parse};
use std::fmt;
pub use words::{FieldText, is_cjk, words};

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

    /// Issue 16, defect 4: 20,000 nested parentheses (or 100,000 NOTs, or unclosed
    /// parentheses) overflowed the stack and aborted the process.
    #[test]
    fn query_nested_too_deep_is_a_column_precise_error_not_a_stack_overflow() {
        let deep_parens = format!("{}a{}", "(".repeat(20_000), ")".repeat(20_000));
        let unclosed = format!("{}a", "(".repeat(100_000));
        let nots = format!("{}a", "NOT ".repeat(100_000));
        let cases = [
            (deep_parens.as_str(), MAX_DEPTH + 1),
            (unclosed.as_str(), MAX_DEPTH + 1),
            (nots.as_str(), MAX_DEPTH * 4 + 1),
        ];
        for (query, column) in cases {
            let err = parse(query).expect_err("too deep");
            assert_eq!(err.column, column, "{err}");
            assert!(err.message.contains("nested more than 64"), "{err}");
        }
        // as deep as allowed still parses, and evaluates
        let ok = format!(
            "{}park{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&ok).expect("parses").matches(&doc("A park", "")));
        let not_not = format!("{}park", "NOT ".repeat(MAX_DEPTH));
        assert!(parse(&not_not).expect("parses").matches(&doc("A park", "")));
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
