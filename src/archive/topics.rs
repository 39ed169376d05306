//! Topic bookkeeping: memberships and their counts, re-curation when a topic's definition
//! changed, and the per-topic generations the render cache checks.

use super::*;

impl Archive {
    pub(super) fn bump(&self, topics: impl IntoIterator<Item = String>) {
        let mut g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        for t in topics {
            *g.entry(t).or_default() += 1;
        }
    }

    /// A number that changes whenever the articles of `topic` may have changed.
    pub fn topic_generation(&self, topic: &str) -> u64 {
        let g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        g.get(topic).copied().unwrap_or(0)
    }

    /// Every feed's generation (topics by id, sources by [`source_key`]): what changed since
    /// an earlier snapshot is what moved (WebSub pings).
    pub fn generations(&self) -> HashMap<String, u64> {
        self.generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A number that changes whenever the articles `source` carried may have changed (its own
    /// feed's render cache, issue 22).
    pub fn source_generation(&self, source: &str) -> u64 {
        self.topic_generation(&source_key(source))
    }

    /// Brings topic memberships up to date with the configured topics: when a topic is new, was
    /// edited (its fingerprint changed) or was removed, every article is re-curated, so editing a
    /// query re-curates old articles too. A no-op when nothing changed.
    ///
    /// The daemon runs this beside polling and serving, so it holds the write lock one batch
    /// at a time, never for the whole walk, and each article is re-read under the lock before
    /// it is rewritten (a poll may have merged into it meanwhile). Setting `stop` ends it
    /// between batches; the fingerprints are recorded only by a walk that finished, so an
    /// interrupted one is redone by the next start.
    pub fn recurate(
        &self,
        curate: Curate<'_>,
        fingerprints: &HashMap<String, String>,
        stop: &AtomicBool,
    ) -> Result<Recuration, ArchiveError> {
        // one walk at a time (start-up's and a reload's): the later one sees the earlier's result
        let _walk = self
            .recurate_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut report = self.recuration_needed(fingerprints)?;
        if report.changed.is_empty() && report.removed.is_empty() {
            return Ok(report);
        }
        let mut batch: Vec<(sled::IVec, sled::IVec, Vec<String>)> = Vec::new();
        for item in self.articles.iter() {
            if stop.load(Ordering::Relaxed) {
                report.updated += self.recurate_batch(curate, batch)?;
                report.interrupted = true;
                return Ok(report);
            }
            let (k, v) = item?;
            let before: Article = decode(&String::from_utf8_lossy(&k), &v)?;
            report.scanned += 1;
            let topics = curate(&before);
            if topics != before.topics {
                batch.push((k, v, topics));
            }
            if batch.len() >= RECURATE_BATCH {
                report.updated += self.recurate_batch(curate, std::mem::take(&mut batch))?;
            }
        }
        report.updated += self.recurate_batch(curate, batch)?;
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        for id in &report.removed {
            self.meta.remove(keys::topic_fingerprint(id))?;
            // entries left behind by an interrupted earlier run
            let mut ops = Vec::new();
            for item in self.topics.scan_prefix(&keys::source_prefix(id)) {
                let (k, _) = item?;
                ops.push(Op::Del(Tree::Topics, k));
            }
            self.apply(&guard, &ops)?;
            self.meta.remove(keys::topic_count(id.as_bytes()))?;
        }
        for (id, fp) in fingerprints {
            self.meta
                .insert(keys::topic_fingerprint(id), fp.as_bytes())?;
        }
        self.db.flush()?;
        let mut touched: BTreeSet<String> = report.changed.iter().cloned().collect();
        touched.extend(report.removed.iter().cloned());
        self.bump(touched);
        Ok(report)
    }

    /// Which topics changed or went away since the archive last recorded their fingerprints.
    pub fn recuration_needed(
        &self,
        fingerprints: &HashMap<String, String>,
    ) -> Result<Recuration, ArchiveError> {
        let mut stored = HashMap::new();
        for item in self.meta.scan_prefix(b"topic_fp/") {
            let (k, v) = item?;
            let id = String::from_utf8_lossy(&k["topic_fp/".len()..]).into_owned();
            stored.insert(id, String::from_utf8_lossy(&v).into_owned());
        }
        let mut report = Recuration::default();
        for (id, fp) in fingerprints {
            if stored.get(id) != Some(fp) {
                report.changed.push(id.clone());
            }
        }
        for id in stored.keys() {
            if !fingerprints.contains_key(id) {
                report.removed.push(id.clone());
            }
        }
        report.changed.sort();
        report.removed.sort();
        Ok(report)
    }

    /// Rewrites the articles of one recuration batch under the write lock, each from its
    /// current value; returns how many changed.
    pub(super) fn recurate_batch(
        &self,
        curate: Curate<'_>,
        batch: Vec<(sled::IVec, sled::IVec, Vec<String>)>,
    ) -> Result<usize, ArchiveError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (mut ops, mut touched, mut updated) = (Vec::new(), BTreeSet::new(), 0);
        for (k, seen, topics) in batch {
            let Some(now) = self.articles.get(&k)? else {
                continue; // pruned meanwhile
            };
            let before: Article = decode(&String::from_utf8_lossy(&k), &now)?;
            // a poll rewrote it since the walk read it: curate what is there now
            let topics = if now == seen { topics } else { curate(&before) };
            if topics == before.topics {
                continue;
            }
            let mut after = before.clone();
            after.topics = topics;
            touched.extend(before.topics.iter().cloned());
            touched.extend(after.topics.iter().cloned());
            index_ops(Some(&before), &after, &mut ops);
            ops.push(Op::Put(Tree::Articles, k.to_vec(), encode(&after)?));
            updated += 1;
        }
        self.apply(&guard, &ops)?;
        self.bump(touched);
        Ok(updated)
    }

    /// The newest `limit` articles of a topic.
    pub fn topic_newest(&self, topic: &str, limit: usize) -> Result<Vec<Article>, ArchiveError> {
        let prefix = keys::source_prefix(topic);
        let mut out = Vec::new();
        for item in self.topics.scan_prefix_rev(&prefix) {
            if out.len() >= limit {
                break;
            }
            let (key, _) = item?;
            let id = String::from_utf8_lossy(key.get(prefix.len() + 8..).unwrap_or_default())
                .into_owned();
            out.extend(self.get_readable(&id)?);
        }
        Ok(out)
    }

    /// How many articles a topic holds.
    pub fn topic_len(&self, topic: &str) -> usize {
        // kept by every write (see `apply`), so `/` and `/metrics` need not scan the members
        self.meta
            .get(keys::topic_count(topic.as_bytes()))
            .ok()
            .flatten()
            .as_deref()
            .and_then(be_u64)
            .unwrap_or(0) as usize
    }

    /// Every topic's member count as the index holds it (a scan; `verify`, and the upgrade of
    /// an archive from before the counts were kept).
    pub(crate) fn count_topic_members(&self) -> Result<BTreeMap<Vec<u8>, u64>, ArchiveError> {
        count_members(&self.topics)
    }

    /// Every topic's member count as `meta` records it.
    pub(crate) fn stored_topic_counts(&self) -> Result<BTreeMap<Vec<u8>, u64>, ArchiveError> {
        let mut out = BTreeMap::new();
        for item in self.meta.scan_prefix(keys::TOPIC_COUNT_PREFIX) {
            let (k, v) = item?;
            let n = be_u64(&v).unwrap_or(u64::MAX);
            out.insert(k[keys::TOPIC_COUNT_PREFIX.len()..].to_vec(), n);
        }
        Ok(out)
    }

    /// Replaces the recorded member counts with `counts` (repair, upgrade).
    pub(crate) fn set_topic_counts(
        &self,
        counts: &BTreeMap<Vec<u8>, u64>,
    ) -> Result<(), ArchiveError> {
        set_topic_counts(&self.meta, counts)
    }
}

pub(super) fn count_members(topics: &Chunked) -> Result<BTreeMap<Vec<u8>, u64>, ArchiveError> {
    let mut out: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for item in topics.iter() {
        let (k, _) = item?;
        let topic = keys::topic_of(&k);
        match out.get_mut(topic) {
            Some(n) => *n += 1,
            None => {
                out.insert(topic.to_vec(), 1);
            }
        }
    }
    Ok(out)
}

pub(super) fn set_topic_counts(
    meta: &sled::Tree,
    counts: &BTreeMap<Vec<u8>, u64>,
) -> Result<(), ArchiveError> {
    for item in meta.scan_prefix(keys::TOPIC_COUNT_PREFIX) {
        let (k, _) = item?;
        meta.remove(k)?;
    }
    for (topic, n) in counts {
        meta.insert(keys::topic_count(topic), &n.to_be_bytes())?;
    }
    Ok(())
}

/// A source's key among the generations (topic ids hold no control character); the render
/// cache uses the same keys.
pub fn source_key(source: &str) -> String {
    format!("\u{1}{source}")
}
