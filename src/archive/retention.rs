//! Retention: articles published before `[archive] retention` are removed, leaving tombstones
//! so they do not come back on the next poll.

use super::*;

impl Archive {
    /// Whether an article id was pruned.
    pub fn is_tombstoned(&self, id: &str) -> Result<bool, ArchiveError> {
        Ok(self.tombstones.contains_key(id.as_bytes())?)
    }

    /// Removes articles published before `now - retention`, leaving tombstones; returns how
    /// many were pruned.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<usize, ArchiveError> {
        let Some(retention) = self.retention else {
            return Ok(0);
        };
        let guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let end = keys::ts(now - retention);
        // lower the record of what the archive holds first: a crash while pruning must not
        // make it look damaged on the next open
        let leaving = self.by_time.range(&[], Some(&end)).count() as u64;
        if leaving == 0 {
            return Ok(0);
        }
        self.write_floor((self.len() as u64).saturating_sub(leaving), None);
        let mut ops = Vec::new();
        let mut touched = BTreeSet::new();
        let mut n = 0;
        for item in self.by_time.range(&[], Some(&end)) {
            let (k, _) = item?;
            let id = String::from_utf8_lossy(&k[8..]).into_owned();
            let Some(a) = self.get(&id)? else { continue };
            ops.push(Op::Del(Tree::Articles, id.as_bytes().to_vec()));
            ops.push(Op::Del(Tree::ByTime, k.clone()));
            for s in &a.sources {
                ops.push(Op::Del(
                    Tree::BySource,
                    keys::by_source(s, a.published, &id),
                ));
            }
            for t in &a.topics {
                ops.push(Op::Del(Tree::Topics, keys::topic(t, a.published, &id)));
                touched.insert(t.clone());
            }
            touched.extend(a.sources.iter().map(|s| super::topics::source_key(s)));
            let stone = Tombstone {
                pruned_at: now,
                published: a.published,
                dedup_keys: a.dedup_keys.clone(),
            };
            ops.push(Op::Put(
                Tree::Tombstones,
                id.as_bytes().to_vec(),
                encode(&stone)?,
            ));
            n += 1;
            if ops.len() > 5_000 {
                self.apply(&guard, &std::mem::take(&mut ops))?;
            }
        }
        self.apply(&guard, &ops)?;
        self.db.flush()?;
        self.bump(touched);
        self.write_sidecar(None);
        Ok(n)
    }
}
