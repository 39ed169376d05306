//! A topic query compiled to a tantivy query that finds a superset of its articles (the
//! candidates); the query's own matcher then decides each one, so a search answers exactly what
//! a topic with the same query holds. `NOT x` narrows only when `x` is compiled exactly (else
//! excluding x's superset would lose articles); anything the index cannot narrow matches all.

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field as IndexField, IndexRecordOption};

use super::Fields;
use super::tokens::cjk_grams;
use crate::curate::Curator;
use crate::query::{Expr, Field, Pattern, Term, is_cjk, words};

/// A compiled part of a query.
pub enum Compiled {
    /// The index cannot narrow it: every article is a candidate.
    All,
    /// Candidates, and whether they are exactly the articles the part matches.
    Query(Box<dyn Query>, bool),
}

pub fn compile(expr: &Expr, fields: &Fields, curator: &Curator) -> Compiled {
    match expr {
        Expr::Term(t) => term(t, fields, curator),
        Expr::And(items) => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let mut exact = true;
            let mut must = false;
            for item in items {
                let (occur, inner) = match item {
                    Expr::Not(inner) => (Occur::MustNot, inner.as_ref()),
                    other => (Occur::Must, other),
                };
                match (occur, compile(inner, fields, curator)) {
                    (Occur::MustNot, Compiled::Query(q, true)) => clauses.push((occur, q)),
                    (Occur::Must, Compiled::Query(q, e)) => {
                        exact &= e;
                        must = true;
                        clauses.push((occur, q));
                    }
                    _ => exact = false,
                }
            }
            if clauses.is_empty() {
                return Compiled::All;
            }
            if !must {
                // only exclusions: from every article
                clauses.push((Occur::Must, Box::new(AllQuery)));
            }
            Compiled::Query(Box::new(BooleanQuery::new(clauses)), exact)
        }
        Expr::Or(items) => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let mut exact = true;
            for item in items {
                match compile(item, fields, curator) {
                    Compiled::All => return Compiled::All,
                    Compiled::Query(q, e) => {
                        exact &= e;
                        clauses.push((Occur::Should, q));
                    }
                }
            }
            Compiled::Query(Box::new(BooleanQuery::new(clauses)), exact)
        }
        Expr::Not(inner) => match compile(inner, fields, curator) {
            Compiled::Query(q, true) => Compiled::Query(
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery)),
                    (Occur::MustNot, q),
                ])),
                true,
            ),
            _ => Compiled::All,
        },
    }
}

fn term_query(field: IndexField, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        tantivy::Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn all_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn regex(field: IndexField, pattern: &str) -> Option<Box<dyn Query>> {
    RegexQuery::from_pattern(pattern, field)
        .ok()
        .map(|q| Box::new(q) as Box<dyn Query>)
}

/// A glob (`*`: any run) as a regular expression over whole terms.
fn glob_regex(glob: &str) -> String {
    glob.split('*')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(".*")
}

fn term(t: &Term, fields: &Fields, curator: &Curator) -> Compiled {
    let (words_field, cjk_field) = match t.field {
        Field::Title => (fields.title, fields.title_cjk),
        Field::Author => (fields.author, fields.author_cjk),
        Field::Text => (fields.text, fields.text_cjk),
        Field::Source => {
            return match &t.pattern {
                Pattern::Glob(g) if !g.contains('*') => {
                    Compiled::Query(term_query(fields.source, g), true)
                }
                Pattern::Glob(g) => regex(fields.source, &glob_regex(g))
                    .map_or(Compiled::All, |q| Compiled::Query(q, true)),
                _ => Compiled::All,
            };
        }
        Field::Tag => {
            return match &t.pattern {
                // the sources whose tags match, as the configuration has them now
                Pattern::Glob(g) => {
                    let sources = curator.sources_tagged(g);
                    if sources.is_empty() {
                        Compiled::Query(Box::new(EmptyQuery), true)
                    } else {
                        Compiled::Query(
                            any_of(
                                sources
                                    .iter()
                                    .map(|s| term_query(fields.source, &s.to_lowercase()))
                                    .collect(),
                            ),
                            true,
                        )
                    }
                }
                _ => Compiled::All,
            };
        }
        Field::Lang => {
            return match &t.pattern {
                Pattern::Lang(l) => {
                    let mut q = vec![term_query(fields.lang, &l.to_lowercase())];
                    q.extend(regex(
                        fields.lang,
                        &format!("{}-.*", regex::escape(&l.to_lowercase())),
                    ));
                    Compiled::Query(any_of(q), false)
                }
                _ => Compiled::All,
            };
        }
    };
    let lower = |s: &str| -> Vec<String> { words(s).map(str::to_lowercase).collect() };
    match &t.pattern {
        Pattern::Word {
            text,
            case_sensitive,
        } => match lower(text).as_slice() {
            [] => Compiled::All,
            [w] => Compiled::Query(
                term_query(words_field, w),
                !case_sensitive && *w == text.to_lowercase(),
            ),
            many => Compiled::Query(
                all_of(many.iter().map(|w| term_query(words_field, w)).collect()),
                false,
            ),
        },
        Pattern::Prefix {
            text,
            case_sensitive,
        } => match lower(text).as_slice() {
            [w] if *w == text.to_lowercase() => {
                regex(words_field, &format!("{}.*", regex::escape(w)))
                    .map_or(Compiled::All, |q| Compiled::Query(q, !case_sensitive))
            }
            _ => Compiled::All,
        },
        Pattern::Phrase(ws) => {
            let tokens: Vec<String> = ws.iter().flat_map(|w| lower(w)).collect();
            match tokens.len() {
                0 => Compiled::All,
                1 => Compiled::Query(term_query(words_field, &tokens[0]), false),
                _ => Compiled::Query(
                    Box::new(PhraseQuery::new(
                        tokens
                            .iter()
                            .map(|w| tantivy::Term::from_field_text(words_field, w))
                            .collect(),
                    )),
                    false,
                ),
            }
        }
        Pattern::Substring(s) if !s.is_empty() && s.chars().all(is_cjk) => {
            let grams = cjk_grams(s);
            let wanted: Vec<&String> = if s.chars().count() == 1 {
                grams.iter().collect()
            } else {
                // the pairs: every other gram, starting at the first pair
                grams.iter().skip(1).step_by(2).collect()
            };
            Compiled::Query(
                all_of(wanted.iter().map(|g| term_query(cjk_field, g)).collect()),
                false,
            )
        }
        _ => Compiled::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_whole_term_patterns() {
        for (glob, want) in [
            ("wire", "wire"),
            ("wire-*", "wire\\-.*"),
            ("*.cn", ".*\\.cn"),
        ] {
            assert_eq!(glob_regex(glob), want);
        }
    }
}

#[cfg(test)]
mod narrowing {
    use super::*;

    /// Every kind of term narrows through the index (else a search at 1M articles reads
    /// them all); only exactly compiled parts may narrow under NOT.
    #[test]
    fn terms_narrow_through_the_index_and_not_only_when_exact() {
        let (_, fields) = crate::search::schema();
        let curator = Curator::default();
        let cases = [
            ("patent", Some(true)),
            ("patent*", Some(true)),
            ("IP", Some(false)),
            ("\"science park\"", Some(false)),
            ("title:zhongguancun AND author:liu", Some(true)),
            ("source:wire*", Some(true)),
            ("知识产权", Some(false)),
            ("lang:zh", Some(false)),
            ("tag:none", Some(true)),
            ("patent AND NOT shipping", Some(true)),
            ("NOT patent", Some(true)),
            // NOT of a superset cannot narrow
            ("NOT \"science park\"", None),
            ("patent OR NOT \"science park\"", None),
        ];
        for (q, want) in cases {
            let expr = crate::query::parse(q).expect("parses");
            let got = match compile(&expr, &fields, &curator) {
                Compiled::All => None,
                Compiled::Query(_, exact) => Some(exact),
            };
            assert_eq!(got, want, "{q}");
        }
    }
}
