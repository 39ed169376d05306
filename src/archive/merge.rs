//! How a candidate changes an article: pure functions, so the dedup rules can be read and tested
//! without a database. The archive decides *which* article a candidate belongs to; this module
//! decides *what the article becomes*.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::model::{Article, DateSource, DedupKey, Match, MatchRule, SourceLink};
use crate::normalize::Candidate;

/// How a candidate relates to the article it was matched with.
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// Same source, same guid/link: a later version of the same entry.
    SameEntry,
    /// The same story from another source, by the rule, score and entry recorded.
    SameStory(Match),
}

/// How `c`'s source carries the article: its link, guid, author and title, and how its entry
/// joined (none for the entry that created the article).
fn link_of(c: &Candidate, matched: Option<Match>) -> SourceLink {
    SourceLink {
        source: c.source.clone(),
        url: c.url.clone(),
        guid: c.guid.clone(),
        author: c.author.clone(),
        author_email: c.author_email.clone(),
        title: Some(c.title.clone()),
        matched,
    }
}

/// The link of the source whose entry gave article `a` the dedup title `key`: the first whose
/// own title has it (the key is a stretch of the folded title), else the article's first.
pub fn owner_of_key<'a>(a: &'a Article, key: &str) -> Option<&'a SourceLink> {
    a.links
        .iter()
        .find(|l| {
            l.title
                .as_deref()
                .is_some_and(|t| crate::normalize::fold_title(t).contains(key))
        })
        .or(a.links.first())
}

/// How an entry with the story key `key` joins article `a` by the exact rule.
pub fn exact_match(a: &Article, key: &str) -> Match {
    Match {
        rule: MatchRule::Exact,
        score: 1.0,
        with: owner_of_key(a, key)
            .map(|l| l.source.clone())
            .unwrap_or_default(),
    }
}

/// Whether article `a` may take an entry of `source` as the same story: it holds no entry of
/// that source, or holds this very entry (the same guid, else the same URL). Within one source
/// two entries are never one story: a feed that carries "Sector Update: Consumer" twice carries
/// two articles.
pub fn may_take(a: &Article, source: &str, guid: Option<&str>, url: &str) -> bool {
    let mut theirs = a.links.iter().filter(|l| l.source == source).peekable();
    theirs.peek().is_none()
        || theirs.any(|l| match (guid, l.guid.as_deref()) {
            (Some(g), Some(h)) => g == h,
            _ => !url.is_empty() && l.url == url,
        })
}

/// Whether two articles may be one: every entry of one is compatible with the other
/// ([`may_take`]), and no `gazette split` took their sources apart (an export of a split
/// archive imported again stays split).
pub fn compatible(a: &Article, b: &Article) -> bool {
    let apart = |x: &Article, y: &Article| x.sources.iter().any(|s| y.apart.contains(s));
    !apart(a, b)
        && !apart(b, a)
        && a.links
            .iter()
            .all(|l| may_take(b, &l.source, l.guid.as_deref(), &l.url))
}

/// The stable id of an article first stored from `c`: a hash of its dedup identity.
/// `attempt` > 0 only on the (astronomically unlikely) collision with a different article.
pub fn article_id(norm_title: &str, published: DateTime<Utc>, attempt: u32) -> String {
    let mut h = Sha256::new();
    h.update(norm_title.as_bytes());
    h.update(b"\n");
    h.update(published.timestamp().to_be_bytes());
    if attempt > 0 {
        h.update(attempt.to_be_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// A new article from a candidate.
pub fn create(c: &Candidate, id: String, now: DateTime<Utc>) -> Article {
    Article {
        id,
        title: c.title.clone(),
        url: c.url.clone(),
        published: c.published,
        published_local: c.published_local,
        date_source: c.date_source,
        date_method: c.date_method.clone(),
        first_seen: now,
        updated: now,
        sources: vec![c.source.clone()],
        links: vec![link_of(c, None)],
        author: c.author.clone(),
        language: c.language.clone(),
        summary: c.summary.clone(),
        text: c.text.clone(),
        html: c.html.clone(),
        content_source: c.source.clone(),
        categories: c.categories.clone(),
        enclosures: c.enclosures.clone(),
        apart: Vec::new(),
        dedup_keys: vec![DedupKey {
            title: c.norm_title.clone(),
            published: c.published,
        }],
        image: c.image.clone(),
        topics: Vec::new(),
        source_updated: c.updated,
    }
}

/// Folds a candidate into an existing article. The result equals the input (apart from nothing)
/// when the candidate brings nothing new, so callers can skip the write.
///
/// Rules (the dedup contract): every source is kept as provenance; the earliest real
/// publication date wins; the most complete content (longest text) wins, except that the source
/// that supplied the current content may replace it with its own update; the first source owns
/// the title, and a changed title from it is an update that is also indexed for dedup.
pub fn merge(existing: &Article, c: &Candidate, relation: Relation, now: DateTime<Utc>) -> Article {
    let same_entry = relation == Relation::SameEntry;
    let mut a = existing.clone();
    if !a.sources.contains(&c.source) {
        a.sources.push(c.source.clone());
    }
    match a.links.iter_mut().find(|l| l.source == c.source) {
        Some(link) if same_entry => {
            if !c.url.is_empty() {
                link.url = c.url.clone();
            }
            if !c.title.is_empty() {
                link.title = Some(c.title.clone());
            }
            link.guid = c.guid.clone().or(link.guid.take());
            if c.author.is_some() {
                link.author = c.author.clone();
                link.author_email = c.author_email.clone();
            }
        }
        Some(link) => {
            if link.author.is_none() {
                link.author = c.author.clone();
                link.author_email = c.author_email.clone();
            }
        }
        None => {
            let matched = match relation {
                Relation::SameStory(m) => Some(m),
                Relation::SameEntry => None,
            };
            a.links.push(link_of(c, matched));
        }
    }
    if a.url.is_empty() && !c.url.is_empty() {
        a.url = c.url.clone();
    }
    let owns_title = a.sources.first() == Some(&c.source);
    if same_entry && owns_title && c.title != a.title && !c.title.is_empty() {
        a.title = c.title.clone();
        if !a.dedup_keys.iter().any(|k| k.title == c.norm_title) {
            a.dedup_keys.push(DedupKey {
                title: c.norm_title.clone(),
                published: a.published,
            });
            keep_newest_keys(&mut a);
        }
        if c.source == a.sources[0]
            && let Some(link) = a.links.first()
            && !link.url.is_empty()
        {
            a.url = link.url.clone();
        }
    }
    let owns_content = same_entry && a.content_source == c.source;
    let longer = c.text.chars().count() > a.text.chars().count();
    if (owns_content && (c.html != a.html || c.summary != a.summary)) || longer {
        a.html = c.html.clone();
        a.text = c.text.clone();
        a.summary = c.summary.clone();
        a.content_source = c.source.clone();
    }
    if c.date_source != DateSource::FirstSeen
        && (a.date_source == DateSource::FirstSeen || c.published < a.published)
    {
        a.published = c.published;
        a.published_local = c.published_local;
        a.date_source = c.date_source;
        a.date_method = c.date_method.clone();
    }
    if a.author.is_none() {
        a.author = c.author.clone();
    }
    if a.language.is_none() {
        a.language = c.language.clone();
    }
    if a.image.is_none() {
        a.image = c.image.clone();
    }
    for cat in &c.categories {
        if !a.categories.contains(cat) {
            a.categories.push(cat.clone());
        }
    }
    for e in &c.enclosures {
        if !a.enclosures.iter().any(|x| x.url == e.url) {
            a.enclosures.push(e.clone());
        }
    }
    a.source_updated = a.source_updated.max(c.updated);
    if a != *existing {
        a.updated = now;
    }
    a
}

/// Folds another stored version of the same story (from an import) into `existing`: every
/// source and link, the earliest date, the longest text, every dedup key.
pub fn absorb(existing: &Article, other: &Article) -> Article {
    let mut a = existing.clone();
    for s in &other.sources {
        if !a.sources.contains(s) {
            a.sources.push(s.clone());
        }
    }
    for l in &other.links {
        if !a.links.iter().any(|x| x.source == l.source) {
            a.links.push(l.clone());
        }
    }
    if other.published < a.published && other.date_source != DateSource::FirstSeen {
        a.published = other.published;
        a.published_local = other.published_local;
        a.date_source = other.date_source;
        a.date_method = other.date_method.clone();
    }
    if other.text.chars().count() > a.text.chars().count() {
        a.text = other.text.clone();
        a.html = other.html.clone();
        a.summary = other.summary.clone();
        a.content_source = other.content_source.clone();
    }
    for k in &other.dedup_keys {
        if !a.dedup_keys.contains(k) {
            a.dedup_keys.push(k.clone());
        }
    }
    keep_newest_keys(&mut a);
    for c in &other.categories {
        if !a.categories.contains(c) {
            a.categories.push(c.clone());
        }
    }
    a.first_seen = a.first_seen.min(other.first_seen);
    a.author = a.author.clone().or(other.author.clone());
    a.language = a.language.clone().or(other.language.clone());
    a.image = a.image.clone().or(other.image.clone());
    a.source_updated = a.source_updated.max(other.source_updated);
    a
}

/// Takes `source`'s entry out of article `a` (undoing a wrong merge, `gazette split`): the rest
/// of `a`, and the new article of that entry (its id left empty, its topics to curate). Each
/// lists the other's sources in `apart`, so no dedup rule joins them again. `key_of` gives a
/// source's title its story key.
///
/// What is not kept per source is shared: both keep the date, categories and image. The text
/// stays with the source it came from; the other side gets none until its source's next poll
/// brings it (`merge` lets the content's source replace it).
pub fn split(
    a: &Article,
    source: &str,
    key_of: impl Fn(&str, &str) -> String,
    now: DateTime<Utc>,
) -> (Article, Article) {
    let (mine, others): (Vec<SourceLink>, Vec<SourceLink>) =
        a.links.iter().cloned().partition(|l| l.source == source);
    let was_owner = a.sources.first().is_some_and(|s| s == source);
    let mut off = a.clone();
    off.sources = vec![source.to_string()];
    off.links = mine
        .into_iter()
        .map(|mut l| {
            l.matched = None;
            l
        })
        .collect();
    off.apart = a.sources.iter().filter(|s| *s != source).cloned().collect();
    off.topics = Vec::new();
    off.updated = now;
    off.id = String::new();
    if let Some(l) = off.links.first() {
        off.title = l.title.clone().unwrap_or_else(|| a.title.clone());
        if !l.url.is_empty() {
            off.url = l.url.clone();
        }
        off.author = l.author.clone().or(off.author);
    }
    let mut rest = a.clone();
    rest.sources.retain(|s| s != source);
    rest.links = others;
    if !rest.apart.iter().any(|s| s == source) {
        rest.apart.push(source.to_string());
    }
    rest.updated = now;
    if was_owner {
        // the rest's titles were the split source's: its next source owns the title now
        if let Some(l) = rest.links.first_mut() {
            l.matched = None;
            rest.title = l.title.clone().unwrap_or_else(|| a.title.clone());
            if !l.url.is_empty() {
                rest.url = l.url.clone();
            }
        }
        let owner = rest.sources.first().cloned().unwrap_or_default();
        rest.dedup_keys = vec![DedupKey {
            title: key_of(&rest.title, &owner),
            published: a.published,
        }];
    } else {
        off.dedup_keys = vec![DedupKey {
            title: key_of(&off.title, source),
            published: a.published,
        }];
    }
    if a.content_source == source {
        rest.text.clear();
        rest.html.clear();
        rest.summary.clear();
        rest.content_source = rest.sources.first().cloned().unwrap_or_default();
    } else {
        off.text.clear();
        off.html.clear();
        off.summary.clear();
        off.content_source = source.to_string();
    }
    (rest, off)
}

/// The most dedup keys one article keeps: its first (the title it was stored under) and the
/// newest others. A feed that retitles one guid on every poll once grew a record without bound
/// (issue 16, defect 3); a story is rarely retitled more than a few times.
pub const MAX_DEDUP_KEYS: usize = 32;

fn keep_newest_keys(a: &mut Article) {
    if a.dedup_keys.len() > MAX_DEDUP_KEYS {
        let extra = a.dedup_keys.len() - MAX_DEDUP_KEYS;
        a.dedup_keys.drain(1..=extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(source: &str, title: &str, text: &str, published: &str) -> Candidate {
        Candidate {
            fingerprint: None,
            source: source.into(),
            identity: format!("l:https://{source}/a"),
            guid: None,
            url: format!("https://{source}/a"),
            title: title.into(),
            norm_title: crate::normalize::normalize_title(title),
            published: published.parse().expect("date"),
            published_local: None,
            date_source: DateSource::Entry,
            updated: None,
            author: None,
            author_email: None,
            language: None,
            summary: text.into(),
            text: text.into(),
            html: format!("<p>{text}</p>"),
            categories: vec![],
            enclosures: vec![],
            image: None,
            date_method: None,
            limited: vec![],
        }
    }

    /// Issue 16, defect 3: one guid retitled on every poll kept every title's key.
    #[test]
    fn a_record_keeps_its_first_and_newest_dedup_keys_only() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let mut a = create(
            &cand("wire", "Title 0", "t", "2016-05-04T08:00:00Z"),
            "id1".into(),
            now,
        );
        for i in 1..200 {
            a = merge(
                &a,
                &cand("wire", &format!("Title {i}"), "t", "2016-05-04T08:00:00Z"),
                Relation::SameEntry,
                now,
            );
        }
        assert_eq!(a.dedup_keys.len(), MAX_DEDUP_KEYS);
        assert_eq!(a.dedup_keys[0].title, "title 0", "the first key stays");
        assert_eq!(
            a.dedup_keys.last().map(|k| k.title.as_str()),
            Some("title 199")
        );
        assert_eq!(a.title, "Title 199");
    }

    #[test]
    fn same_story_keeps_provenance_earliest_date_longest_text() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let a = create(
            &cand("wire", "Story", "short", "2016-05-04T08:00:00Z"),
            "id1".into(),
            now,
        );
        let b = merge(
            &a,
            &cand(
                "atom",
                "STORY",
                "a much longer text",
                "2016-05-04T07:00:00Z",
            ),
            Relation::SameStory(exact_match(&a, "story")),
            now,
        );
        assert_eq!(b.sources, ["wire", "atom"]);
        assert_eq!(b.links.len(), 2);
        assert_eq!(b.published.to_rfc3339(), "2016-05-04T07:00:00+00:00");
        assert_eq!(b.text, "a much longer text");
        assert_eq!(b.content_source, "atom");
        assert_eq!(b.title, "Story", "the first source owns the title");
        assert_eq!(b.id, "id1");
        // merging the same thing again changes nothing
        let c = merge(
            &b,
            &cand(
                "atom",
                "STORY",
                "a much longer text",
                "2016-05-04T07:00:00Z",
            ),
            Relation::SameStory(exact_match(&b, "story")),
            now,
        );
        assert_eq!(b, c);
    }

    #[test]
    fn same_entry_with_new_title_is_an_update() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let a = create(
            &cand("wire", "Old title", "text", "2016-05-04T08:00:00Z"),
            "id1".into(),
            now,
        );
        let later: DateTime<Utc> = "2020-01-02T00:00:00Z".parse().expect("date");
        let b = merge(
            &a,
            &cand("wire", "New title", "text v2", "2016-05-04T08:00:00Z"),
            Relation::SameEntry,
            later,
        );
        assert_eq!(b.title, "New title");
        assert_eq!(b.text, "text v2");
        assert_eq!(b.updated, later);
        assert_eq!(b.dedup_keys.len(), 2);
        assert_eq!(b.id, "id1");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let t: DateTime<Utc> = "2016-05-04T07:00:36Z".parse().expect("date");
        assert_eq!(article_id("a b", t, 0), article_id("a b", t, 0));
        assert_ne!(article_id("a b", t, 0), article_id("a b", t, 1));
        assert_ne!(article_id("a b", t, 0), article_id("a c", t, 0));
        assert_eq!(article_id("a b", t, 0).len(), 16);
    }

    #[test]
    fn one_source_never_gives_one_story_two_entries() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let mut first = cand(
            "markets",
            "Sector Update: Consumer",
            "a",
            "2020-01-01T08:00:00Z",
        );
        first.guid = Some("su-1".into());
        let a = create(&first, "id1".into(), now);
        // (source, guid, url, may take)
        let cases = [
            ("wire", None, "https://wire/x", true),
            ("markets", Some("su-1"), "https://markets/other", true),
            ("markets", Some("su-2"), "https://markets/a", false),
            ("markets", None, "https://markets/a", true),
            ("markets", None, "https://markets/b", false),
        ];
        for (source, guid, url, want) in cases {
            assert_eq!(
                may_take(&a, source, guid, url),
                want,
                "{source} {guid:?} {url}"
            );
        }
        let mut second = first.clone();
        second.guid = Some("su-2".into());
        second.url = "https://markets/b".into();
        let b = create(&second, "id2".into(), now);
        assert!(!compatible(&a, &b) && !compatible(&b, &a));
        let c = create(
            &cand(
                "wire",
                "Sector Update: Consumer",
                "c",
                "2020-01-01T08:00:00Z",
            ),
            "id3".into(),
            now,
        );
        assert!(compatible(&a, &c) && compatible(&c, &a));
    }

    /// `gazette split`: the source's entry leaves with its own title, link and (when it supplied
    /// it) the text; each side lists the other's sources as apart; splitting the source that
    /// created the article hands the title and the dedup key to the next source.
    #[test]
    fn a_split_takes_one_source_out_with_its_title_and_keeps_them_apart() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let key_of = |title: &str, _: &str| crate::normalize::fold_title(title);
        let wire = cand(
            "wire",
            "Capello quits as England manager",
            "short",
            "2020-01-01T08:00:00Z",
        );
        let portal = cand(
            "portal",
            "Capello resigns as England manager",
            "a much longer text",
            "2020-01-01T08:05:00Z",
        );
        let a = create(&wire, "id1".into(), now);
        let near = Match {
            rule: MatchRule::Near,
            score: 0.71,
            with: "wire".into(),
        };
        let a = merge(&a, &portal, Relation::SameStory(near), now);
        assert_eq!(a.content_source, "portal", "the longer text won");

        // (source split off, rest's title, off's title, rest's key, off's key, who keeps the text)
        let table = [
            (
                "portal",
                "Capello quits as England manager",
                "Capello resigns as England manager",
                "capello quits as england manager",
                "capello resigns as england manager",
                "portal",
            ),
            (
                "wire",
                "Capello resigns as England manager",
                "Capello quits as England manager",
                "capello resigns as england manager",
                "capello quits as england manager",
                "portal",
            ),
        ];
        for (source, rest_title, off_title, rest_key, off_key, text_with) in table {
            let (rest, off) = split(&a, source, key_of, now);
            let other = if source == "wire" { "portal" } else { "wire" };
            assert_eq!(rest.id, "id1", "{source}");
            assert_eq!(rest.sources, [other]);
            assert_eq!(off.sources, [source]);
            assert_eq!(
                (rest.title.as_str(), off.title.as_str()),
                (rest_title, off_title)
            );
            assert_eq!(rest.dedup_keys[0].title, rest_key, "{source}");
            assert_eq!(off.dedup_keys[0].title, off_key, "{source}");
            assert_eq!(rest.apart, [source]);
            assert_eq!(off.apart, [other]);
            assert!(
                rest.links
                    .iter()
                    .chain(&off.links)
                    .all(|l| l.matched.is_none())
            );
            let (with_text, without) = if text_with == source {
                (&off, &rest)
            } else {
                (&rest, &off)
            };
            assert_eq!(with_text.text, "a much longer text", "{source}");
            assert!(without.text.is_empty(), "{source}");
            assert_eq!(
                without.content_source, without.sources[0],
                "its next poll brings its text"
            );
            assert!(
                !compatible(&rest, &off) && !compatible(&off, &rest),
                "an import never joins them again"
            );
        }
    }

    #[test]
    fn a_merge_records_how_each_entry_joined_under_its_own_title() {
        let now: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().expect("date");
        let mut first = cand("wire", "UPDATE 1-Oil falls", "a", "2020-01-01T08:00:00Z");
        first.norm_title = "oil falls".into();
        let a = create(&first, "id1".into(), now);
        assert_eq!(a.links[0].title.as_deref(), Some("UPDATE 1-Oil falls"));
        assert_eq!(a.links[0].matched, None, "the entry that created it");
        let mut copy = cand("portal", "Oil falls - Reuters", "b", "2020-01-01T08:05:00Z");
        copy.norm_title = "oil falls".into();
        let b = merge(
            &a,
            &copy,
            Relation::SameStory(exact_match(&a, "oil falls")),
            now,
        );
        assert_eq!(b.links[1].title.as_deref(), Some("Oil falls - Reuters"));
        assert_eq!(
            b.links[1].matched,
            Some(Match {
                rule: MatchRule::Exact,
                score: 1.0,
                with: "wire".into()
            })
        );
        assert_eq!(
            b.title, "UPDATE 1-Oil falls",
            "the article's title is its first source's"
        );
        // the wire retitles its entry: its own title follows, nothing else is said to match
        let mut update = first.clone();
        update.title = "UPDATE 2-Oil falls further".into();
        let c = merge(&b, &update, Relation::SameEntry, now);
        assert_eq!(
            c.links[0].title.as_deref(),
            Some("UPDATE 2-Oil falls further")
        );
        assert_eq!(c.links[0].matched, None);
    }
}
