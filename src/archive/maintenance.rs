//! Keeping an archive healthy for months: `verify` checks every invariant between articles and
//! their indexes, `repair` rebuilds the indexes from the articles, and `export`/`import` move the
//! whole archive through JSON Lines (streaming, constant memory) for backups and restores.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Archive, ArchiveError, Curate, Op, SCHEMA_VERSION, Tree, decode, encode, index_ops, keys, merge,
};
use crate::model::{Article, PollState};
use crate::normalize::fold_title;

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// The first line: what wrote the file.
    Header {
        format: String,
        schema: u32,
        exported_at: DateTime<Utc>,
    },
    Article(Box<Article>),
    SourceState {
        source: String,
        state: Box<PollState>,
    },
}

/// The identifier of the export format.
pub const EXPORT_FORMAT: &str = "gazette-export/1";

/// What `import` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub new: usize,
    pub merged: usize,
    pub source_states: usize,
}

/// The identity entries (guid, else link, per source) under which `a`'s links point to `id`.
fn identity_ops(a: &Article, id: &str, ops: &mut Vec<Op>) {
    for l in &a.links {
        let identity = match (&l.guid, l.url.is_empty()) {
            (Some(g), _) => format!("g:{g}"),
            (None, false) => format!("l:{}", l.url),
            (None, true) => continue,
        };
        ops.push(Op::Put(
            Tree::Identity,
            keys::identity(&l.source, &identity),
            id.as_bytes().to_vec(),
        ));
    }
}

/// Articles stored per import transaction: an index chunk is rewritten once per batch instead
/// of once per article (bench: `gazette import` of 100k generated articles).
const IMPORT_BATCH: usize = 256;

fn corrupt(key: &str, reason: impl ToString) -> ArchiveError {
    ArchiveError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

impl Archive {
    /// Checks every invariant; returns one sentence per problem (empty: all good).
    pub fn verify(&self, curate: Curate<'_>) -> Result<Vec<String>, ArchiveError> {
        let mut problems = Vec::new();
        let mut ids = HashSet::new();
        let mut expected: HashSet<(u8, Vec<u8>)> = HashSet::new();
        let mut stored = 0u64;
        for item in self.articles.iter() {
            let (k, v) = item?;
            stored += 1;
            let key = String::from_utf8_lossy(&k).into_owned();
            let a: Article = match decode(&key, &v) {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("article {key}: unreadable: {e}"));
                    continue;
                }
            };
            if a.id != key {
                problems.push(format!(
                    "article stored under {key} says its id is {}",
                    a.id
                ));
            }
            ids.insert(a.id.clone());
            if !has_title_key(&a) {
                problems.push(format!(
                    "article {}: no dedup key for its title {:?}",
                    a.id, a.title
                ));
            }
            let topics = curate(&a);
            if topics != a.topics {
                problems.push(format!(
                    "article {}: topics {:?}, but the queries say {:?}",
                    a.id, a.topics, topics
                ));
            }
            let mut ops = Vec::new();
            index_ops(None, &a, &mut ops);
            for op in ops {
                if let Op::Put(tree, key, _) = op {
                    expected.insert((tree as u8, key));
                }
            }
        }
        // pruned articles keep their dedup entries (and identities)
        for item in self.tombstones.iter() {
            let (k, v) = item?;
            let id = String::from_utf8_lossy(&k).into_owned();
            let stone: super::Tombstone = decode(&id, &v)?;
            for d in &stone.dedup_keys {
                let mut ops = Vec::new();
                super::write::dedup_key_ops(&d.title, d.published, &id, &mut ops);
                for op in ops {
                    if let Op::Put(tree, key, _) = op {
                        expected.insert((tree as u8, key));
                    }
                }
            }
            ids.insert(id);
        }
        for (t, name) in [
            (&self.by_time, "by_time"),
            (&self.by_source, "by_source"),
            (&self.dedup, "dedup"),
            (&self.identity, "identity"),
            (&self.topics, "topics"),
            (&self.near, "near"),
        ] {
            let damage = t.problems(name)?;
            if !damage.is_empty() {
                // the entry checks below would stop at the first unreadable chunk
                problems.extend(damage);
                return Ok(problems);
            }
        }
        for (tree, t, name) in [
            (Tree::ByTime, &self.by_time, "by_time"),
            (Tree::BySource, &self.by_source, "by_source"),
            (Tree::Dedup, &self.dedup, "dedup"),
            (Tree::Topics, &self.topics, "topics"),
            (Tree::Near, &self.near, "near"),
        ] {
            let mut seen = 0usize;
            for item in t.iter() {
                let (k, _) = item?;
                if expected.contains(&(tree as u8, k.to_vec())) {
                    seen += 1;
                } else {
                    problems.push(format!(
                        "{name} index entry {:?} points to no matching article",
                        String::from_utf8_lossy(&k)
                    ));
                }
            }
            let wanted = expected.iter().filter(|(t, _)| *t == tree as u8).count();
            if seen < wanted {
                problems.push(format!("{name} index is missing {} entries", wanted - seen));
            }
        }
        for item in self.identity.iter() {
            let (k, v) = item?;
            let (id, _) = keys::identity_target(&v);
            if !ids.contains(&id) {
                problems.push(format!(
                    "identity {:?} points to missing article {id}",
                    String::from_utf8_lossy(&k)
                ));
            }
        }
        problems.extend(self.arrival_problems(&ids)?);
        let (counted, recorded) = (self.count_topic_members()?, self.stored_topic_counts()?);
        for topic in counted
            .keys()
            .chain(recorded.keys())
            .collect::<BTreeSet<_>>()
        {
            let (n, r) = (counted.get(topic), recorded.get(topic));
            if n.unwrap_or(&0) != r.unwrap_or(&0) {
                problems.push(format!(
                    "the member count record of topic {:?} says {}, its index holds {}",
                    String::from_utf8_lossy(topic),
                    r.map_or("nothing".to_string(), |n| n.to_string()),
                    n.unwrap_or(&0)
                ));
            }
        }
        match self.stored_count() {
            Some(n) if n == stored => {}
            recorded => problems.push(format!(
                "the article count record says {}, the archive holds {stored} articles",
                recorded.map_or("nothing".to_string(), |n| n.to_string())
            )),
        }
        Ok(problems)
    }

    /// Rebuilds every index (and topic membership) from the articles; drops identity entries
    /// that point nowhere. Returns how many articles were re-indexed.
    pub fn repair(&self, curate: Curate<'_>) -> Result<usize, ArchiveError> {
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        // repair may remove unreadable articles: no floor until it is done
        self.write_floor(0, None);
        for t in [
            &self.by_time,
            &self.by_source,
            &self.dedup,
            &self.topics,
            &self.near,
        ] {
            t.clear()?;
        }
        // identities are kept (those of pruned articles cannot be rebuilt), but not a chunk
        // of them that no longer reads
        self.identity.drop_damaged()?;
        // the rebuild below counts every member again
        self.set_topic_counts(&Default::default())?;
        let mut ids = HashSet::new();
        let mut n = 0;
        let mut ops = Vec::new();
        for item in self.articles.iter() {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k).into_owned();
            let Ok(mut a) = decode::<Article>(&key, &v) else {
                // unreadable: remove it rather than keep a record no index can describe
                ops.push(Op::Del(Tree::Articles, k.to_vec()));
                continue;
            };
            a.id = key.clone();
            if !has_title_key(&a) {
                a.dedup_keys.push(crate::model::DedupKey {
                    title: fold_title(&a.title),
                    published: a.published,
                });
            }
            a.topics = curate(&a);
            index_ops(None, &a, &mut ops);
            ops.push(Op::Put(Tree::Articles, k.to_vec(), encode(&a)?));
            identity_ops(&a, &a.id, &mut ops);
            ids.insert(key);
            n += 1;
            if ops.len() > 5_000 {
                self.apply(&guard, &std::mem::take(&mut ops))?;
            }
        }
        for item in self.tombstones.iter() {
            let (k, v) = item?;
            let id = String::from_utf8_lossy(&k).into_owned();
            if let Ok(stone) = decode::<super::Tombstone>(&id, &v) {
                for d in &stone.dedup_keys {
                    super::write::dedup_key_ops(&d.title, d.published, &id, &mut ops);
                }
            }
            ids.insert(id);
        }
        self.apply(&guard, &ops)?;
        let mut dangling = Vec::new();
        for item in self.identity.iter() {
            let (k, v) = item?;
            if !ids.contains(&keys::identity_target(&v).0) {
                dangling.push(Op::Del(Tree::Identity, k));
            }
        }
        self.apply(&guard, &dangling)?;
        // every feed's arrivals numbered again, in publication order
        self.build_arrivals(&guard)?;
        self.set_count(self.articles.len() as u64)?;
        self.set_topic_counts(&self.count_topic_members()?)?;
        self.db.flush()?;
        self.write_sidecar(None);
        Ok(n)
    }

    /// Writes the whole archive as JSON Lines; `progress` is called with the running count.
    pub fn export(
        &self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize, ArchiveError> {
        let io = |e: std::io::Error| corrupt("(export)", e);
        let header = Record::Header {
            format: EXPORT_FORMAT.into(),
            schema: SCHEMA_VERSION,
            exported_at: Utc::now(),
        };
        serde_json::to_writer(&mut *out, &header).map_err(|e| corrupt("(export)", e))?;
        out.write_all(b"\n").map_err(io)?;
        let mut n = 0;
        // oldest first, so an import replays history in order
        for item in self.by_time.iter() {
            let (k, _) = item?;
            let id = String::from_utf8_lossy(&k[8..]).into_owned();
            if let Some(a) = self.get(&id)? {
                serde_json::to_writer(&mut *out, &Record::Article(Box::new(a)))
                    .map_err(|e| corrupt(&id, e))?;
                out.write_all(b"\n").map_err(io)?;
                n += 1;
                progress(n);
            }
        }
        for item in self.sources.iter() {
            let (k, v) = item?;
            let source = String::from_utf8_lossy(&k).into_owned();
            let state: PollState = decode(&source, &v)?;
            serde_json::to_writer(
                &mut *out,
                &Record::SourceState {
                    source,
                    state: Box::new(state),
                },
            )
            .map_err(|e| corrupt("(export)", e))?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)?;
        Ok(n)
    }

    /// Loads an export, deduplicating as ingestion does: an article already present (same id,
    /// or the same story by title and date) is merged, keeping every source, the earliest date
    /// and the longest text.
    pub fn import(
        &self,
        input: &mut dyn BufRead,
        curate: Curate<'_>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Imported, ArchiveError> {
        let mut done = Imported::default();
        let mut line_no = 0;
        let mut line = String::new();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        loop {
            line.clear();
            let read = input
                .read_line(&mut line)
                .map_err(|e| corrupt("(import)", e))?;
            if read == 0 {
                break;
            }
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            let record: Record =
                serde_json::from_str(&line).map_err(|e| corrupt(&format!("line {line_no}"), e))?;
            match record {
                Record::Header { format, schema, .. } => {
                    if format != EXPORT_FORMAT || schema > SCHEMA_VERSION {
                        return Err(corrupt(
                            &format!("line {line_no}"),
                            format!(
                                "export {format} (schema {schema}) is not one this gazette reads"
                            ),
                        ));
                    }
                }
                Record::Article(a) => {
                    batch.push(*a);
                    if batch.len() >= IMPORT_BATCH {
                        let new = self.import_batch(std::mem::take(&mut batch), curate)?;
                        done.new += new.0;
                        done.merged += new.1;
                        progress(done.new + done.merged);
                    }
                }
                Record::SourceState { source, state } => {
                    // the articles before it first, so a failure leaves them stored
                    let new = self.import_batch(std::mem::take(&mut batch), curate)?;
                    done.new += new.0;
                    done.merged += new.1;
                    if self.poll_state(&source)?.is_none() {
                        self.sources.insert(source.as_bytes(), encode(&*state)?)?;
                        done.source_states += 1;
                    }
                }
            }
        }
        let new = self.import_batch(batch, curate)?;
        done.new += new.0;
        done.merged += new.1;
        progress(done.new + done.merged);
        self.db.flush()?;
        Ok(done)
    }

    /// Stores exported articles in one transaction; returns how many were new and how many
    /// merged. An article merges into one stored before it or earlier in the same batch.
    fn import_batch(
        &self,
        batch: Vec<Article>,
        curate: Curate<'_>,
    ) -> Result<(usize, usize), ArchiveError> {
        if batch.is_empty() {
            return Ok((0, 0));
        }
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        // per touched id: the stored version (for the index diff) and the version to write
        let mut touched: HashMap<String, (Option<Article>, Article)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut identities = Vec::new();
        let (mut new, mut merged) = (0, 0);
        for a in batch {
            // what it merges into (this batch's version, else the stored one), and the stored
            // version when this batch has not touched it yet (read once, for the index diff)
            let (current, stored) = match touched.get(&a.id) {
                Some((_, after)) => (Some(after.clone()), None),
                None => match self.get(&a.id)? {
                    Some(e) => (Some(e.clone()), Some(e)),
                    None => match self.same_story(&a, &order, &touched)? {
                        Some(id) => match touched.get(&id) {
                            Some((_, after)) => (Some(after.clone()), None),
                            None => {
                                let e = self.get(&id)?;
                                (e.clone(), e)
                            }
                        },
                        None => (None, None),
                    },
                },
            };
            let mut after = match &current {
                None => a.clone(),
                Some(e) => merge::absorb(e, &a),
            };
            after.topics = curate(&after);
            identity_ops(&a, &after.id, &mut identities);
            match current {
                None => new += 1,
                Some(_) => merged += 1,
            }
            // absorb keeps the existing id, so `after.id` names what `stored` was read under
            let id = after.id.clone();
            match touched.get_mut(&id) {
                Some((_, slot)) => *slot = after,
                None => {
                    order.push(id.clone());
                    touched.insert(id, (stored, after));
                }
            }
        }
        let mut ops = Vec::new();
        for id in order {
            let Some((before, after)) = touched.remove(&id) else {
                continue;
            };
            if before.as_ref() != Some(&after) {
                index_ops(before.as_ref(), &after, &mut ops);
                ops.push(Op::Put(
                    Tree::Articles,
                    after.id.as_bytes().to_vec(),
                    encode(&after)?,
                ));
            }
        }
        ops.extend(identities);
        self.apply(&guard, &ops)?;
        Ok((new, merged))
    }

    /// The id of an article with one of `a`'s dedup keys (title, and a date within the dedup
    /// window) that it may be one with (`merge::compatible`: two entries of one source are two
    /// articles, as when polling), among this batch's and then the stored ones; the last match
    /// wins, as before batches.
    fn same_story(
        &self,
        a: &Article,
        order: &[String],
        touched: &HashMap<String, (Option<Article>, Article)>,
    ) -> Result<Option<String>, ArchiveError> {
        let fits = |b: &Article| super::merge::compatible(a, b);
        let mut found = None;
        for k in &a.dedup_keys {
            let prefix = keys::dedup_prefix(&k.title);
            for item in self.dedup.scan_prefix(&prefix) {
                let (key, _) = item?;
                if let Some((t, id)) = keys::dedup_tail(&key[prefix.len()..])
                    && (t - k.published).abs() <= self.dedup_window
                {
                    let current = match touched.get(&id) {
                        Some((_, after)) => Some(after.clone()),
                        None => self.get(&id)?,
                    };
                    if current.as_ref().is_some_and(fits) {
                        found = Some(id);
                    }
                }
            }
            for (_, after) in order.iter().filter_map(|id| touched.get(id)) {
                if fits(after)
                    && after.dedup_keys.iter().any(|d| {
                        d.title == k.title && (d.published - k.published).abs() <= self.dedup_window
                    })
                {
                    found = Some(after.id.clone());
                }
            }
        }
        Ok(found)
    }
}

/// Whether an article has a dedup key for its title: the folded title, or its story key (a
/// stretch of it without markers and publisher suffixes, `normalize::story_title`).
fn has_title_key(a: &Article) -> bool {
    let folded = fold_title(&a.title);
    a.dedup_keys
        .iter()
        .any(|d| !d.title.is_empty() && folded.contains(d.title.as_str()))
}
