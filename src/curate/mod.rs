//! Topics: which archived articles belong to which curated feed. Queries are compiled once (in
//! config validation, via [`query::parse`]); a [`Curator`] evaluates every topic against an
//! article and explains its decisions. Pure: the archive calls it when it stores an article.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::model::Article;
use crate::query::{Doc, Expr, Field, FieldText, glob_match};

/// One topic, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledTopic {
    pub id: String,
    pub query: Expr,
    /// Source-id globs the topic draws from (empty: all).
    pub sources: Vec<String>,
    /// Changes whenever anything that decides membership changes.
    pub fingerprint: String,
}

/// Evaluates every configured topic.
#[derive(Debug, Clone, Default)]
pub struct Curator {
    pub topics: Vec<CompiledTopic>,
    tags: HashMap<String, Vec<String>>,
}

/// Why an article is or is not in a topic.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub topic: String,
    pub member: bool,
    /// False when the topic's `sources` list excludes all of the article's sources.
    pub source_allowed: bool,
    /// Each term, with what it matched.
    pub terms: Vec<(String, Option<String>)>,
    /// The NOT clauses that matched (and so excluded the article).
    pub excluded_by: Vec<String>,
}

impl Curator {
    /// A curator for the topics and source tags of `config`.
    pub fn new(config: &Config) -> Curator {
        let tags: HashMap<String, Vec<String>> = config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.tags.clone()))
            .collect();
        // Only tagged sources can change a `tag:` term's answer (an untagged or unlisted source
        // gives its articles no tags), so adding or removing an untagged source, or any source
        // when no query reads tags, does not force a re-curation of the whole archive.
        let mut all_tags: Vec<String> = config
            .sources
            .iter()
            .filter(|s| !s.tags.is_empty())
            .map(|s| format!("{}={}", s.id, s.tags.join(",")))
            .collect();
        all_tags.sort();
        let topics = config
            .topics
            .iter()
            .map(|t| {
                let mut h = Sha256::new();
                h.update(t.query.as_bytes());
                h.update(b"\n");
                h.update(t.sources.join(",").as_bytes());
                if t.compiled.uses(Field::Tag) {
                    h.update(b"\n");
                    h.update(all_tags.join(";").as_bytes());
                }
                CompiledTopic {
                    id: t.id.clone(),
                    query: t.compiled.clone(),
                    sources: t.sources.iter().map(|s| s.to_lowercase()).collect(),
                    fingerprint: hex::encode(&h.finalize()[..12]),
                }
            })
            .collect();
        Curator { topics, tags }
    }

    fn doc(&self, a: &Article) -> Doc {
        let mut tags: Vec<String> = a
            .sources
            .iter()
            .filter_map(|s| self.tags.get(s))
            .flatten()
            .cloned()
            .collect();
        tags.sort();
        tags.dedup();
        Doc {
            title: FieldText::new(&a.title),
            text: FieldText::from([a.title.as_str(), &a.summary, &a.text].join("\n")),
            author: FieldText::new(a.author.as_deref().unwrap_or("")),
            sources: a.sources.clone(),
            tags,
            lang: a.language.clone(),
        }
    }

    fn source_allowed(t: &CompiledTopic, a: &Article) -> bool {
        t.sources.is_empty()
            || a.sources
                .iter()
                .any(|s| t.sources.iter().any(|g| glob_match(g, &s.to_lowercase())))
    }

    /// Whether `a` satisfies `query` as a topic with that query and no `sources` list would
    /// decide (a search's exact filter: the same answer as a topic).
    pub fn matches(&self, query: &Expr, a: &Article) -> bool {
        query.matches(&self.doc(a))
    }

    /// The sources with a tag `glob` (lower-cased, `*` wildcards) matches: the sources whose
    /// articles a `tag:` term can match.
    pub fn sources_tagged(&self, glob: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .tags
            .iter()
            .filter(|(_, tags)| tags.iter().any(|t| glob_match(glob, &t.to_lowercase())))
            .map(|(s, _)| s.clone())
            .collect();
        out.sort();
        out
    }

    /// The ids of the topics `a` belongs to, in config order.
    pub fn topics_for(&self, a: &Article) -> Vec<String> {
        if self.topics.is_empty() {
            return Vec::new();
        }
        let doc = self.doc(a);
        self.topics
            .iter()
            .filter(|t| Self::source_allowed(t, a) && t.query.matches(&doc))
            .map(|t| t.id.clone())
            .collect()
    }

    /// Explains every topic's decision about `a`.
    pub fn explain(&self, a: &Article) -> Vec<Explanation> {
        let doc = self.doc(a);
        self.topics
            .iter()
            .map(|t| {
                let (mut terms, mut excluded_by) = (Vec::new(), Vec::new());
                t.query.trace(&doc, &mut terms, &mut excluded_by);
                let source_allowed = Self::source_allowed(t, a);
                Explanation {
                    topic: t.id.clone(),
                    member: source_allowed && t.query.matches(&doc),
                    source_allowed,
                    terms,
                    excluded_by,
                }
            })
            .collect()
    }

    /// Topic id → fingerprint, as stored in the archive to detect edited topics.
    pub fn fingerprints(&self) -> HashMap<String, String> {
        self.topics
            .iter()
            .map(|t| (t.id.clone(), t.fingerprint.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(sources: &str, query: &str) -> String {
        let text = format!(
            "[archive]\npath = \"a\"\n{sources}\n[[topic]]\nid = \"t\"\ntitle = \"T\"\nquery = '{query}'\n"
        );
        let config = crate::config::parse(&text, std::path::Path::new("feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        Curator::new(&config).topics[0].fingerprint.clone()
    }

    const BASE: &str = "[[source]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/a\"\n\
                        [[source]]\nid = \"b\"\nurl = \"http://127.0.0.1:1/b\"\ntags = [\"x\"]\n";
    const UNTAGGED: &str = "[[source]]\nid = \"c\"\nurl = \"http://127.0.0.1:1/c\"\n";
    const TAGGED: &str = "[[source]]\nid = \"c\"\nurl = \"http://127.0.0.1:1/c\"\ntags = [\"x\"]\n";

    /// Regression: the fingerprint hashed every source's tags, so adding any source re-curated
    /// the whole archive on the next start (a minute and more at 1M articles).
    #[test]
    fn adding_a_source_re_curates_only_when_it_can_change_membership() {
        let cases = [
            // (query, added source, fingerprint changes)
            ("patent*", UNTAGGED, false),
            ("patent*", TAGGED, false),
            ("patent* AND NOT tag:x", UNTAGGED, false),
            ("patent* AND NOT tag:x", TAGGED, true),
            ("tag:x", TAGGED, true),
            ("(source:a OR tag:y)", TAGGED, true),
        ];
        for (query, added, changes) in cases {
            let before = fingerprint(BASE, query);
            let after = fingerprint(&format!("{BASE}{added}"), query);
            assert_eq!(before != after, changes, "{query} + {added}");
        }
        // removing the tagged source matters to a tag: query only
        let only_a = "[[source]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/a\"\n";
        assert_eq!(fingerprint(BASE, "ip"), fingerprint(only_a, "ip"));
        assert_ne!(fingerprint(BASE, "tag:x"), fingerprint(only_a, "tag:x"));
        // and the query itself always does
        assert_ne!(fingerprint(BASE, "ip"), fingerprint(BASE, "patent*"));
    }
}
