//! The near-duplicate tier of dedup: finding, through the `near` index, the article whose title
//! is near enough a new entry's (the measure and its guards are `normalize::near`'s), and which
//! rules each source allows (`[archive] near_duplicates`, `[[source]] dedup`).
//!
//! The index holds, for every dedup title, an entry per index word (its numbers, else its three
//! longest content words) keyed `word · 0 · date · id`, with the title as value: a look-up
//! reads, for each of the entry's own index words the filter of held keys does not rule out,
//! the entries dated within the dedup window on either side of it (at most [`POSTINGS`]), and
//! compares titles without loading an article. Its entries are written with the dedup entries they come from,
//! in the same transaction (`write::index_ops`), so it never disagrees with them after a crash;
//! `verify` checks it and `verify --repair` rebuilds it with the other indexes.

use super::*;
use crate::model::{DedupMode, Match, MatchRule};
use crate::normalize::near::{Signature, index_words, swapped_name};

/// The chunked tree of the `near` index.
pub const TREE: &str = "near/c";

/// The most index entries read per word in one look-up (the window's oldest first): a common
/// long word ("government") may be in thousands of titles in a busy window, and the bound keeps
/// a look-up's cost flat whatever the archive's size. The other index words of a title still
/// find its copies when one word is that common.
const POSTINGS: usize = 256;

/// The most stored articles with a title a look-up loads to tell whether the title recurs in
/// one source (see [`Archive::recurs`]).
const RECURRENCE_LOOKS: usize = 8;

/// Which dedup rules may join entries: the near tier's threshold (`None`: off) and each
/// source's mode. Sources not listed allow every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupRules {
    pub near: Option<f64>,
    pub modes: HashMap<String, DedupMode>,
}

impl Default for DedupRules {
    fn default() -> Self {
        DedupRules {
            near: Some(crate::normalize::near::DEFAULT_THRESHOLD),
            modes: HashMap::new(),
        }
    }
}

impl DedupRules {
    pub fn mode(&self, source: &str) -> DedupMode {
        self.modes.get(source).copied().unwrap_or_default()
    }

    /// Whether `rule` may join an entry of `source` with article `a`: both the source and every
    /// source of the article allow the rule, and no `gazette split` took `source` apart from it.
    pub fn may_join(&self, a: &Article, source: &str, rule: MatchRule) -> bool {
        self.mode(source).allows(rule)
            && a.sources.iter().all(|s| self.mode(s).allows(rule))
            && !a.apart.iter().any(|s| s == source)
    }
}

/// The `near` entries of one dedup title: (key, value).
pub fn entries(title: &str, published: DateTime<Utc>, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    index_words(title)
        .iter()
        .map(|w| (keys::near(w, published, id), title.as_bytes().to_vec()))
        .collect()
}

/// A dedup title's index words: from `known` when worked out already.
pub fn words_of<'a>(
    title: &str,
    known: &'a HashMap<String, Vec<String>>,
) -> std::borrow::Cow<'a, [String]> {
    match known.get(title) {
        Some(w) => std::borrow::Cow::Borrowed(w.as_slice()),
        None => std::borrow::Cow::Owned(index_words(title)),
    }
}

/// Fills the `near` index from the `dedup` index (opening an archive of schema 4 or older):
/// sorted through a scratch tree, so memory stays flat whatever the archive's size.
pub fn build(db: &sled::Db, dedup: &Chunked, near: &Chunked) -> Result<u64, ArchiveError> {
    let scratch = db.open_tree("near/build")?;
    scratch.clear()?;
    near.clear()?;
    for item in dedup.iter() {
        let (key, _) = item?;
        let Some(split) = key.iter().position(|b| *b == 0) else {
            continue;
        };
        let title = String::from_utf8_lossy(&key[..split]);
        if let Some((t, id)) = keys::dedup_tail(&key[split + 1..]) {
            for (k, v) in entries(&title, t, &id) {
                scratch.insert(k, v)?;
            }
        }
    }
    let n = near.load_sorted(scratch.iter().map(|kv| {
        kv.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(Into::into)
    }))?;
    db.drop_tree("near/build")?;
    if n > 0 {
        tracing::info!(
            entries = n,
            "built the near-duplicate index of an archive from before it"
        );
    }
    Ok(n)
}

impl Archive {
    /// Sets which dedup rules apply from now on (at open, and on a config reload).
    pub fn set_dedup_rules(&self, rules: DedupRules) {
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(rules);
    }

    /// The rules in force (shared: a poll's every entry reads them).
    pub(super) fn dedup_rules(&self) -> std::sync::Arc<DedupRules> {
        std::sync::Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The article whose title is nearest `c`'s among those the near rule accepts (dated within
    /// the dedup window, another source's, no guard against it), and how it matched: the best
    /// match only, so a chain of near titles never joins transitively beyond it. The rule is
    /// `normalize::near::near_score`, applied in two steps: the similarity of the story keys for
    /// every title the index gives, then the swapped-name guard, which needs the title as its
    /// source wrote it, for the best of them.
    pub(super) fn find_near(
        &self,
        c: &Candidate,
        batch: &Batch,
        rules: &DedupRules,
    ) -> Result<Option<(String, Match)>, ArchiveError> {
        let Some(threshold) = rules.near else {
            return Ok(None);
        };
        if !rules.mode(&c.source).allows(MatchRule::Near) {
            return Ok(None);
        }
        let words = words_of(&c.norm_title, &batch.words);
        if words.is_empty() {
            return Ok(None);
        }
        let window = self.dedup_window;
        // (title, id) → smallest gap in time
        let mut found: HashMap<(String, String), chrono::Duration> = HashMap::new();
        let mut consider = |title: String, t: DateTime<Utc>, id: String| {
            let gap = (t - c.published).abs();
            if gap <= window && title != c.norm_title {
                let slot = found.entry((title, id)).or_insert(gap);
                *slot = (*slot).min(gap);
            }
        };
        for w in words.iter() {
            for (title, t, id) in batch.near.get(w).into_iter().flatten() {
                consider(title.clone(), *t, id.clone());
            }
            if !self.seen.may_hold(Kind::Near, w.as_bytes()) {
                continue;
            }
            let shifted = |d: chrono::Duration| {
                c.published
                    .checked_add_signed(d)
                    .unwrap_or(if d < chrono::Duration::zero() {
                        DateTime::<Utc>::MIN_UTC
                    } else {
                        DateTime::<Utc>::MAX_UTC
                    })
            };
            let from = keys::near_at(w, shifted(-window));
            let to = keys::near_at(w, shifted(window + chrono::Duration::milliseconds(1)));
            for item in self.near.range(&from, Some(&to)).take(POSTINGS) {
                let (key, value) = item?;
                if let Some((t, id)) = key.get(w.len() + 1..).and_then(keys::dedup_tail) {
                    consider(String::from_utf8_lossy(&value).into_owned(), t, id);
                }
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        let sig = Signature::of(&c.norm_title);
        let mut scored: Vec<(f64, chrono::Duration, String, String)> = Vec::new();
        let mut signatures: HashMap<String, Option<f64>> = HashMap::new();
        for ((title, id), gap) in found {
            let s = *signatures
                .entry(title.clone())
                .or_insert_with(|| sig.similarity(&Signature::of(&title)));
            if let Some(s) = s.filter(|s| *s >= threshold) {
                scored.push((s, gap, id, title));
            }
        }
        // best score first, then the nearest in time, then the id (a stable order)
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then_with(|| a.2.cmp(&b.2))
        });
        scored.dedup_by(|a, b| a.2 == b.2);
        let mut own_recurs = None;
        for (score, _, id, title) in scored {
            let article = match batch.articles.get(&id) {
                Some(a) => Some(std::borrow::Cow::Borrowed(a)),
                None => self.get(&id)?.map(std::borrow::Cow::Owned),
            };
            let Some(a) = article else { continue };
            if !merge::may_take(&a, &c.source, c.guid.as_deref(), &c.url)
                || !rules.may_join(&a, &c.source, MatchRule::Near)
            {
                continue;
            }
            // the rest of `near_score`: the swapped-name guard reads the titles as written
            let owner = merge::owner_of_key(&a, &title);
            let written = owner.and_then(|l| l.title.as_deref()).unwrap_or(&a.title);
            if swapped_name(&c.title, written) {
                continue;
            }
            // a title a source uses again and again ("Sector Update: Consumer") is a template,
            // not a story: near titles of it are other days' or other sectors'
            let own = match own_recurs {
                Some(r) => r,
                None => {
                    let r = self.recurs(&c.norm_title, &c.source, None, batch)?;
                    own_recurs = Some(r);
                    r
                }
            };
            if own {
                return Ok(None);
            }
            let with = owner.map_or_else(|| a.sources[0].clone(), |l| l.source.clone());
            if self.recurs(&title, &with, Some(&id), batch)? {
                continue;
            }
            let matched = Match {
                rule: MatchRule::Near,
                score: (score * 100.0).round() / 100.0,
                with,
            };
            return Ok(Some((id, matched)));
        }
        Ok(None)
    }

    /// Whether `source` has an article other than `except` with the dedup title `title`, at any
    /// date: the title recurs in that source.
    fn recurs(
        &self,
        title: &str,
        source: &str,
        except: Option<&str>,
        batch: &Batch,
    ) -> Result<bool, ArchiveError> {
        if batch
            .repeated
            .contains(&(source.to_string(), title.to_string()))
        {
            return Ok(true);
        }
        let has = |a: &Article| {
            Some(a.id.as_str()) != except && a.links.iter().any(|l| l.source == source)
        };
        for id in batch.by_title.get(title).into_iter().flatten() {
            if batch
                .articles
                .get(id)
                .is_some_and(|a| has(a) && a.dedup_keys.iter().any(|k| k.title == title))
            {
                return Ok(true);
            }
        }
        if !self
            .seen
            .may_hold(Kind::Title, seen::title_of(title.as_bytes()))
        {
            return Ok(false);
        }
        let prefix = keys::dedup_prefix(title);
        for item in self.dedup.scan_prefix(&prefix).take(RECURRENCE_LOOKS) {
            let (key, _) = item?;
            if let Some((_, id)) = keys::dedup_tail(&key[prefix.len()..])
                && Some(id.as_str()) != except
            {
                let held = match batch.articles.get(&id) {
                    Some(a) => has(a),
                    None => self.get(&id)?.as_ref().is_some_and(has),
                };
                if held {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
