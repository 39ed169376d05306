//! The transaction engine: one list of operations written to every tree in one sled
//! transaction, with the index chunks it touches read (under the write lock) and rewritten.

use super::*;

impl Archive {
    /// Writes `ops` in one transaction. The index entries among them are first applied to the
    /// chunks they fall in, which are read outside the transaction: `_held` (the write lock)
    /// is what keeps those reads current until the transaction commits.
    pub(super) fn apply(&self, held: &MutexGuard<'_, ()>, ops: &[Op]) -> Result<(), ArchiveError> {
        let applied = self.apply_ops(held, ops);
        if let Err(ArchiveError::Storage(sled::Error::Io(e))) = &applied {
            // sled 0.34 stops writing after its log write fails (a full disk): every later
            // write fails too, space freed or not, until the archive is opened again
            if !self.write_failed.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    "the archive could not write its log ({e}); it takes no more writes until gazette restarts (the service manager's watchdog restarts it)"
                );
            }
        }
        applied
    }

    fn apply_ops(&self, _held: &MutexGuard<'_, ()>, ops: &[Op]) -> Result<(), ArchiveError> {
        self.seen.note(ops.iter().filter_map(|op| match op {
            Op::Put(Tree::Articles, k, _) => Some((Kind::Id, &k[..])),
            Op::Put(Tree::Identity, k, _) => Some((Kind::Identity, &k[..])),
            Op::Put(Tree::Dedup, k, _) => Some((Kind::Title, seen::title_of(k))),
            Op::Put(Tree::Near, k, _) => Some((Kind::Near, seen::title_of(k))),
            _ => None,
        }));
        let mut edits = [
            ChunkEdit::new(&self.by_time),
            ChunkEdit::new(&self.by_source),
            ChunkEdit::new(&self.dedup),
            ChunkEdit::new(&self.identity),
            ChunkEdit::new(&self.topics),
            ChunkEdit::new(&self.near),
            // slot 6: the arrival log, written by `arrivals` only
            ChunkEdit::new(&self.arrivals),
        ];
        let mut arrivals = ArrivalEdit::default();
        let mut members: Vec<(&[u8], i64)> = Vec::new();
        // the articles this write changes, for whoever follows them (the search index)
        let changed: Vec<String> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Put(Tree::Articles, k, _) | Op::Del(Tree::Articles, k) => {
                    Some(String::from_utf8_lossy(k).into_owned())
                }
                _ => None,
            })
            .collect();
        let mut plain: Vec<&Op> = Vec::new();
        for op in ops {
            let tree = match op {
                Op::Put(t, ..) | Op::Del(t, _) => *t,
            };
            let Some(slot) = tree.chunk_slot() else {
                plain.push(op);
                continue;
            };
            let (delta, key) = match op {
                Op::Put(t @ (Tree::Topics | Tree::BySource), k, v) => {
                    (i64::from(arrivals.put(&mut edits[slot], *t, k, v)?), k)
                }
                Op::Del(t @ (Tree::Topics | Tree::BySource), k) => {
                    (-i64::from(arrivals.remove(&mut edits[slot], *t, k)?), k)
                }
                Op::Put(_, k, v) => (i64::from(edits[slot].put(k, v)?), k),
                Op::Del(_, k) => (-i64::from(edits[slot].remove(k)?), k),
            };
            if delta != 0 && tree == Tree::Topics {
                let topic = keys::topic_of(key);
                match members.iter_mut().find(|(t, _)| *t == topic) {
                    Some((_, n)) => *n += delta,
                    None => members.push((topic, delta)),
                }
            }
        }
        let arrival_counts = {
            let [_, by_source, _, _, topics, _, log] = &mut edits;
            arrivals.finish(self, [topics, by_source], log)?
        };
        let index_writes: Vec<(usize, Vec<u8>, Option<Vec<u8>>)> = edits
            .into_iter()
            .enumerate()
            .flat_map(|(slot, e)| e.into_writes().into_iter().map(move |(k, v)| (slot, k, v)))
            .collect();
        let trees = (
            &self.articles,
            &self.by_time.tree,
            &self.by_source.tree,
            &self.dedup.tree,
            &self.identity.tree,
            &self.sources,
            &self.topics.tree,
            &self.events,
            &self.tombstones,
            &self.meta,
            &self.near.tree,
            &self.arrivals.tree,
        );
        let result = trees.transaction(
            |(
                articles,
                by_time,
                by_source,
                dedup,
                identity,
                sources,
                topics,
                events,
                tombstones,
                meta,
                near,
                arrivals,
            )| {
                let chunked = [by_time, by_source, dedup, identity, topics, near, arrivals];
                for (slot, key, value) in &index_writes {
                    match value {
                        Some(v) => chunked[*slot].insert(key.as_slice(), v.as_slice())?,
                        None => chunked[*slot].remove(key.as_slice())?,
                    };
                }
                // recomputed from scratch if sled retries the transaction
                let mut added: i64 = 0;
                for op in &plain {
                    let (tree, key) = match op {
                        Op::Put(t, k, _) | Op::Del(t, k) => (t, k),
                    };
                    let t = match tree {
                        Tree::Articles => articles,
                        Tree::Sources => sources,
                        Tree::Events => events,
                        Tree::Tombstones => tombstones,
                        // applied to their chunks above
                        Tree::ByTime
                        | Tree::BySource
                        | Tree::Dedup
                        | Tree::Identity
                        | Tree::Topics
                        | Tree::Near => continue,
                    };
                    let delta = match op {
                        Op::Put(_, _, v) => {
                            i64::from(t.insert(key.as_slice(), v.as_slice())?.is_none())
                        }
                        Op::Del(..) => -i64::from(t.remove(key.as_slice())?.is_some()),
                    };
                    if *tree == Tree::Articles {
                        added += delta;
                    }
                }
                let counters = members
                    .iter()
                    .map(|(topic, delta)| (keys::topic_count(topic), *delta))
                    .chain((added != 0).then(|| (COUNT_KEY.to_vec(), added)));
                for (key, delta) in counters {
                    let n = meta.get(&key)?.as_deref().and_then(be_u64).unwrap_or(0);
                    meta.insert(key, &n.saturating_add_signed(delta).to_be_bytes())?;
                }
                for (key, n) in &arrival_counts {
                    meta.insert(key.as_slice(), &n.to_be_bytes())?;
                }
                let seq = meta
                    .get(WRITE_SEQ)?
                    .as_deref()
                    .and_then(be_u64)
                    .unwrap_or(0)
                    + 1;
                meta.insert(WRITE_SEQ, &seq.to_be_bytes())?;
                Ok::<u64, ConflictableTransactionError<ArchiveError>>(seq)
            },
        );
        match result {
            Ok(seq) => {
                self.note_arrival_counts(&arrival_counts);
                // under the write lock: listeners hear of writes in their order, and of every
                // write (one that changed no article still moves the write number)
                if let Some(listener) = self
                    .listener
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                {
                    listener(seq, changed);
                }
                Ok(())
            }
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(ArchiveError::Storage(e)),
        }
    }
}
