//! Index trees stored as **chunks**: a sorted set of index entries kept many to a sled record,
//! each chunk under the first key it holds. sled 0.34 splits a leaf page above 16 records
//! whatever their size, and keeps a page-table entry in memory for every page from the moment
//! it opens; with one record per index entry, five indexes over 1M articles made about 530k
//! pages and 120 MB of page table before anything was read (heaptrack of `Archive::open`,
//! bench/run "scale"). A chunk of up to [`Chunked::max`] entries divides that by about its fill.
//!
//! The logical view — an ordered map from index key to value — is what every reader sees: `get`,
//! forward and reverse ranges, prefix scans. Writes go through a [`ChunkEdit`], which loads the
//! chunks a batch touches, applies the batch's puts and removes in memory, splits or re-keys
//! chunks as needed, and hands back the records to write in the caller's transaction. An edit
//! reads the tree outside that transaction, so only one edit may be in flight per archive: the
//! archive's write lock (see `Archive::apply`).

use std::collections::{BTreeMap, BTreeSet};

use super::ArchiveError;

/// A chunk's first byte; a record without it is damage.
const CHUNK_TAG: u8 = b'C';

/// One logical entry of an index.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An index tree in chunks of at most `max` entries.
#[derive(Clone)]
pub struct Chunked {
    pub tree: sled::Tree,
    /// Entries per chunk before it splits.
    pub max: usize,
}

impl Chunked {
    pub fn new(tree: sled::Tree, max: usize) -> Chunked {
        Chunked {
            tree,
            max: max.max(2),
        }
    }

    /// The chunk that would hold `key`: the one with the greatest first key `<= key`.
    fn chunk_for(&self, key: &[u8]) -> Result<Option<(sled::IVec, Vec<Entry>)>, ArchiveError> {
        match self.tree.range(..=key).next_back() {
            Some(item) => {
                let (k, v) = item?;
                let entries = decode_chunk(&k, &v)?;
                Ok(Some((k, entries)))
            }
            None => Ok(None),
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some((_, entries)) = self.chunk_for(key)? else {
            return Ok(None);
        };
        Ok(entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .map(|i| entries[i].1.clone()))
    }

    /// The values stored under `keys`, in their order. Keys are looked up in key order and a
    /// key between the first and last entry of the chunk read last is answered from it (chunks
    /// never overlap, so that chunk is the one that would hold it): the entries of one source,
    /// which sort together, cost a chunk read or two instead of one each.
    pub fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, ArchiveError> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        let mut out = vec![None; keys.len()];
        let mut held: Vec<Entry> = Vec::new();
        for i in order {
            let key = keys[i].as_slice();
            let covered = matches!((held.first(), held.last()),
                (Some(f), Some(l)) if f.0.as_slice() <= key && key <= l.0.as_slice());
            if !covered {
                held = self.chunk_for(key)?.map(|(_, e)| e).unwrap_or_default();
            }
            out[i] = held
                .binary_search_by(|(k, _)| k.as_slice().cmp(key))
                .ok()
                .map(|j| held[j].1.clone());
        }
        Ok(out)
    }

    pub fn contains_key(&self, key: &[u8]) -> Result<bool, ArchiveError> {
        Ok(self.get(key)?.is_some())
    }

    /// Entries with `lo <= key < hi` (`hi` `None`: no upper bound), in key order.
    pub fn range(
        &self,
        lo: &[u8],
        hi: Option<&[u8]>,
    ) -> impl Iterator<Item = Result<Entry, ArchiveError>> + use<> {
        let (lo, hi) = (lo.to_vec(), hi.map(<[u8]>::to_vec));
        // the chunk holding `lo` starts at or before it
        let (start, failed) = match self.tree.range(..=lo.as_slice()).next_back() {
            Some(Ok((k, _))) => (k.to_vec(), None),
            Some(Err(e)) => (lo.clone(), Some(e)),
            None => (lo.clone(), None),
        };
        let chunks = match &hi {
            Some(h) if start.as_slice() >= h.as_slice() => self.tree.range(h.clone()..h.clone()),
            Some(h) => self.tree.range(start..h.clone()),
            None => self.tree.range(start..),
        };
        Scan::new(chunks, lo, hi, false, failed)
    }

    /// Entries with `lo <= key < hi`, greatest key first.
    pub fn range_rev(
        &self,
        lo: &[u8],
        hi: Option<&[u8]>,
    ) -> impl Iterator<Item = Result<Entry, ArchiveError>> + use<> {
        let (lo, hi) = (lo.to_vec(), hi.map(<[u8]>::to_vec));
        let chunks = match &hi {
            Some(h) => self.tree.range(..h.clone()),
            None => self.tree.iter(),
        };
        Scan::new(chunks, lo, hi, true, None)
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = Result<Entry, ArchiveError>> + use<> {
        self.range(&[], None)
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<Entry, ArchiveError>> + use<> {
        self.range(prefix, successor(prefix).as_deref())
    }

    /// Entries whose key starts with `prefix`, greatest key first.
    pub fn scan_prefix_rev(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<Entry, ArchiveError>> + use<> {
        self.range_rev(prefix, successor(prefix).as_deref())
    }

    /// Removes every entry (repair rebuilds from the articles).
    pub fn clear(&self) -> Result<(), ArchiveError> {
        self.tree.clear()?;
        Ok(())
    }

    /// One sentence per broken chunk: unreadable, empty, unsorted, filed under a key other
    /// than its first, or overlapping the next (for `verify`).
    pub fn problems(&self, name: &str) -> Result<Vec<String>, ArchiveError> {
        let mut out = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        for item in self.tree.iter() {
            let (k, v) = item?;
            let shown = String::from_utf8_lossy(&k).into_owned();
            let entries = match decode_chunk(&k, &v) {
                Ok(e) => e,
                Err(e) => {
                    out.push(format!("{name} chunk {shown:?}: {e}"));
                    continue;
                }
            };
            let (Some(first), Some(end)) = (entries.first(), entries.last()) else {
                out.push(format!("{name} chunk {shown:?} is empty"));
                continue;
            };
            if first.0 != k.as_ref() {
                out.push(format!(
                    "{name} chunk {shown:?} is filed under a key it does not start with"
                ));
            }
            if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
                out.push(format!("{name} chunk {shown:?} is not in key order"));
            }
            if last
                .as_ref()
                .is_some_and(|l| l.as_slice() >= first.0.as_slice())
            {
                out.push(format!(
                    "{name} chunk {shown:?} overlaps the chunk before it"
                ));
            }
            last = Some(end.0.clone());
        }
        Ok(out)
    }

    /// Removes the chunks that do not decode or are out of place (repair); returns how many.
    pub fn drop_damaged(&self) -> Result<usize, ArchiveError> {
        let mut bad = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        for item in self.tree.iter() {
            let (k, v) = item?;
            match decode_chunk(&k, &v) {
                Ok(e)
                    if e.first().is_some_and(|(f, _)| f.as_slice() == k.as_ref())
                        && e.windows(2).all(|w| w[0].0 < w[1].0)
                        && last.as_ref().is_none_or(|l| l.as_slice() < k.as_ref()) =>
                {
                    last = e.last().map(|(l, _)| l.clone());
                }
                _ => bad.push(k),
            }
        }
        for k in &bad {
            self.tree.remove(k)?;
        }
        Ok(bad.len())
    }

    /// Fills an empty chunked tree from entries in strictly increasing key order, `fill`
    /// entries a chunk (schema upgrades; repair). Not transactional: the caller marks the
    /// result done only after it returns.
    pub fn load_sorted(
        &self,
        entries: impl Iterator<Item = Result<Entry, ArchiveError>>,
    ) -> Result<u64, ArchiveError> {
        let fill = (self.max * 3 / 4).max(1);
        let mut chunk: Vec<Entry> = Vec::with_capacity(fill);
        let mut n = 0;
        for e in entries {
            chunk.push(e?);
            n += 1;
            if chunk.len() >= fill {
                self.tree
                    .insert(chunk[0].0.as_slice(), encode_chunk(&chunk))?;
                chunk.clear();
            }
        }
        if let Some(first) = chunk.first() {
            self.tree.insert(first.0.as_slice(), encode_chunk(&chunk))?;
        }
        Ok(n)
    }
}

/// Fills an empty chunked tree entry by entry, in strictly increasing key order (what
/// [`Chunked::load_sorted`] does, for a caller that produces entries as it goes).
pub struct SortedWriter<'a> {
    index: &'a Chunked,
    chunk: Vec<Entry>,
}

impl<'a> SortedWriter<'a> {
    pub fn new(index: &'a Chunked) -> SortedWriter<'a> {
        SortedWriter {
            index,
            chunk: Vec::new(),
        }
    }

    pub fn push(&mut self, entry: Entry) -> Result<(), ArchiveError> {
        self.chunk.push(entry);
        if self.chunk.len() >= (self.index.max * 3 / 4).max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ArchiveError> {
        if let Some(first) = self.chunk.first() {
            self.index
                .tree
                .insert(first.0.as_slice(), encode_chunk(&self.chunk))?;
        }
        self.chunk.clear();
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), ArchiveError> {
        self.flush()
    }
}

impl Chunked {
    /// Replaces every entry's value with what `value` makes of its key and value, in key order,
    /// chunk by chunk (keys and chunking stay). Not transactional: for rebuilds the caller
    /// records as done only after it returns.
    pub fn rewrite_values(
        &self,
        mut value: impl FnMut(&[u8], &[u8]) -> Result<Vec<u8>, ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let mut from: Option<Vec<u8>> = None;
        loop {
            let next = match &from {
                Some(k) => self
                    .tree
                    .range::<&[u8], _>((
                        std::ops::Bound::Excluded(k.as_slice()),
                        std::ops::Bound::Unbounded,
                    ))
                    .next(),
                None => self.tree.iter().next(),
            };
            let Some(item) = next else { return Ok(()) };
            let (k, v) = item?;
            let mut entries = decode_chunk(&k, &v)?;
            for (key, val) in &mut entries {
                *val = value(key, val)?;
            }
            self.tree.insert(&k, encode_chunk(&entries))?;
            from = Some(k.to_vec());
        }
    }
}

/// The least byte string greater than every string starting with `prefix` (`None`: there is
/// none, the prefix is all 0xff).
pub fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// Walks the chunks of a range and yields their entries within the bounds.
struct Scan {
    chunks: sled::Iter,
    pending: std::vec::IntoIter<Entry>,
    lo: Vec<u8>,
    hi: Option<Vec<u8>>,
    reverse: bool,
    done: bool,
    /// Finding the first chunk failed: reported as the first item.
    failed: Option<sled::Error>,
}

impl Scan {
    fn new(
        chunks: sled::Iter,
        lo: Vec<u8>,
        hi: Option<Vec<u8>>,
        reverse: bool,
        failed: Option<sled::Error>,
    ) -> Scan {
        Scan {
            chunks,
            pending: Vec::new().into_iter(),
            lo,
            hi,
            reverse,
            done: false,
            failed,
        }
    }
}

fn in_bounds(key: &[u8], lo: &[u8], hi: Option<&[u8]>) -> bool {
    key >= lo && hi.is_none_or(|h| key < h)
}

impl Iterator for Scan {
    type Item = Result<Entry, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(err) = self.failed.take() {
                self.done = true;
                return Some(Err(err.into()));
            }
            for e in self.pending.by_ref() {
                if in_bounds(&e.0, &self.lo, self.hi.as_deref()) {
                    return Some(Ok(e));
                }
            }
            if self.done {
                return None;
            }
            let item = if self.reverse {
                self.chunks.next_back()
            } else {
                self.chunks.next()
            };
            let (k, v) = match item? {
                Ok(kv) => kv,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
            };
            let mut entries = match decode_chunk(&k, &v) {
                Ok(e) => e,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if self.reverse {
                // every chunk before this one holds only keys below its first key
                if k.as_ref() <= self.lo.as_slice() {
                    self.done = true;
                }
                entries.reverse();
            }
            self.pending = entries.into_iter();
        }
    }
}

/// The writes of one batch to one chunked tree, applied in memory.
pub struct ChunkEdit<'a> {
    index: &'a Chunked,
    /// Chunks as they will be after the batch, by first key.
    live: BTreeMap<Vec<u8>, Vec<Entry>>,
    /// Stored chunk keys that no longer name a chunk.
    gone: BTreeSet<Vec<u8>>,
}

/// A chunk key found by [`ChunkEdit::nearest`], with the stored chunk's bytes when the chunk
/// is a stored one (`None`: one this edit made).
type Nearest = (Vec<u8>, Option<sled::IVec>);

impl<'a> ChunkEdit<'a> {
    pub fn new(index: &'a Chunked) -> ChunkEdit<'a> {
        ChunkEdit {
            index,
            live: BTreeMap::new(),
            gone: BTreeSet::new(),
        }
    }

    /// The nearest chunk key to `key` on one side (`<=` when `below`, else `>`) as the edit
    /// sees it: a stored chunk not yet replaced, or one this edit made; with the stored chunk's
    /// bytes when it is a stored one, so [`ChunkEdit::take`] does not read it a second time.
    fn nearest(&self, key: &[u8], below: bool) -> Result<Option<Nearest>, ArchiveError> {
        use std::ops::Bound;
        let mut chunks = if below {
            self.index.tree.range(..=key)
        } else {
            self.index
                .tree
                .range::<&[u8], _>((Bound::Excluded(key), Bound::Unbounded))
        };
        let stored = loop {
            let item = if below {
                chunks.next_back()
            } else {
                chunks.next()
            };
            let Some(item) = item else { break None };
            let (k, v) = item?;
            if !self.gone.contains(k.as_ref()) {
                break Some((k.to_vec(), v));
            }
        };
        let made = if below {
            self.live.range(..=key.to_vec()).next_back()
        } else {
            self.live
                .range((Bound::Excluded(key.to_vec()), Bound::Unbounded))
                .next()
        }
        .map(|(k, _)| k.clone());
        Ok(match (stored, made) {
            // the nearer of the two; the edit's own chunk when both have the same key
            (Some((s, v)), Some(m)) => Some(if s != m && (s > m) == below {
                (s, Some(v))
            } else {
                (m, None)
            }),
            (Some((s, v)), None) => Some((s, Some(v))),
            (None, m) => m.map(|m| (m, None)),
        })
    }

    /// Takes chunk `key` out of the edit's view (loading it from the tree when needed), to be
    /// put back under its first key by [`ChunkEdit::put_back`].
    fn take(&mut self, key: &[u8], stored: Option<sled::IVec>) -> Result<Vec<Entry>, ArchiveError> {
        if let Some(entries) = self.live.remove(key) {
            return Ok(entries);
        }
        let stored = match stored {
            Some(v) => Some(v),
            None => self.index.tree.get(key)?,
        };
        match stored {
            Some(v) => decode_chunk(key, &v),
            None => Ok(Vec::new()),
        }
    }

    /// Files a chunk under its first key, splitting it when it outgrew [`Chunked::max`];
    /// `appended` (the new entry is the chunk's last) splits off just the tail, so an index
    /// that grows at its end (time order) fills its chunks instead of leaving them half full.
    fn put_back(&mut self, old_key: &[u8], mut entries: Vec<Entry>, appended: bool) {
        let renamed = entries.first().is_none_or(|(k, _)| k.as_slice() != old_key);
        if renamed {
            self.gone.insert(old_key.to_vec());
        }
        while entries.len() > self.index.max {
            let at = if appended {
                entries.len() - 1
            } else {
                entries.len() / 2
            };
            let tail = entries.split_off(at);
            self.file(tail);
        }
        self.file(entries);
    }

    fn file(&mut self, entries: Vec<Entry>) {
        if let Some((first, _)) = entries.first() {
            self.gone.remove(first);
            self.live.insert(first.clone(), entries);
        }
    }

    /// Stores `value` under `key`; returns whether the key is new.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<bool, ArchiveError> {
        self.put_with(key, |_| value.to_vec()).map(|(new, _)| new)
    }

    /// Stores under `key` the value `make` gives from the value stored there (if any); returns
    /// whether the key is new and the value it replaced. One chunk read for both.
    pub fn put_with(
        &mut self,
        key: &[u8],
        make: impl FnOnce(Option<&[u8]>) -> Vec<u8>,
    ) -> Result<(bool, Option<Vec<u8>>), ArchiveError> {
        let (chunk_key, mut entries) = match self.nearest(key, true)? {
            Some((k, v)) => {
                let e = self.take(&k, v)?;
                (k, e)
            }
            // before every chunk: join the first one (it is re-keyed under `key`), or start one
            None => match self.nearest(key, false)? {
                Some((k, v)) => {
                    let e = self.take(&k, v)?;
                    (k, e)
                }
                None => (key.to_vec(), Vec::new()),
            },
        };
        let (new, appended, old) = match entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)) {
            Ok(i) => {
                let value = make(Some(&entries[i].1));
                let old = std::mem::replace(&mut entries[i].1, value);
                (false, false, Some(old))
            }
            Err(i) => {
                entries.insert(i, (key.to_vec(), make(None)));
                (true, i + 1 == entries.len(), None)
            }
        };
        self.put_back(&chunk_key, entries, appended);
        Ok((new, old))
    }

    /// Sets the value of `key` when a chunk this edit made holds it (no stored chunk is read);
    /// false when none does.
    pub fn set_made(&mut self, key: &[u8], value: &[u8]) -> bool {
        let Some((_, entries)) = self.live.range_mut(..=key.to_vec()).next_back() else {
            return false;
        };
        match entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)) {
            Ok(i) => {
                entries[i].1 = value.to_vec();
                true
            }
            Err(_) => false,
        }
    }

    /// Adds `run` (sorted, new keys that all sort after the chunk before the first of them:
    /// a feed's new arrival numbers) with one look-up instead of one per entry, filling that
    /// chunk and then new ones.
    pub fn append_run(&mut self, run: Vec<Entry>) -> Result<(), ArchiveError> {
        let Some((first, _)) = run.first() else {
            return Ok(());
        };
        let first = first.clone();
        let Some((chunk_key, stored)) = self.nearest(&first, true)? else {
            for (k, v) in run {
                self.put(&k, &v)?;
            }
            return Ok(());
        };
        let mut chunk = self.take(&chunk_key, stored)?;
        if chunk.last().is_some_and(|(k, _)| *k >= first) {
            // not an append after all: one at a time
            self.put_back(&chunk_key, chunk, false);
            for (k, v) in run {
                self.put(&k, &v)?;
            }
            return Ok(());
        }
        chunk.extend(run);
        let max = self.index.max;
        let rest = if chunk.len() > max {
            chunk.split_off(max)
        } else {
            Vec::new()
        };
        self.put_back(&chunk_key, chunk, false);
        for part in rest.chunks(max) {
            self.file(part.to_vec());
        }
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &[u8]) -> Result<bool, ArchiveError> {
        self.remove_value(key).map(|old| old.is_some())
    }

    /// Removes `key`; returns the value it held.
    pub fn remove_value(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some((chunk_key, stored)) = self.nearest(key, true)? else {
            return Ok(None);
        };
        let mut entries = self.take(&chunk_key, stored)?;
        let found = match entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)) {
            Ok(i) => Some(entries.remove(i).1),
            Err(_) => None,
        };
        self.put_back(&chunk_key, entries, false);
        Ok(found)
    }

    /// The records to write: `(chunk key, Some(chunk))` to store, `(key, None)` to remove.
    pub fn into_writes(self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut out: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .gone
            .into_iter()
            .filter(|k| !self.live.contains_key(k))
            .map(|k| (k, None))
            .collect();
        out.extend(
            self.live
                .into_iter()
                .map(|(k, entries)| (k, Some(encode_chunk(&entries)))),
        );
        out
    }
}

/// `C`, then per entry: the bytes it shares with the previous key, the rest of the key and the
/// value, each length an unsigned LEB128 varint. Neighbouring index keys share most of their
/// bytes (source or topic, then the time), so the shared prefix is stored once.
fn encode_chunk(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * 24);
    out.push(CHUNK_TAG);
    let mut prev: &[u8] = &[];
    for (k, v) in entries {
        let shared = prev.iter().zip(k).take_while(|(a, b)| a == b).count();
        put_varint(&mut out, shared);
        put_varint(&mut out, k.len() - shared);
        out.extend_from_slice(&k[shared..]);
        put_varint(&mut out, v.len());
        out.extend_from_slice(v);
        prev = k;
    }
    out
}

fn decode_chunk(key: &[u8], bytes: &[u8]) -> Result<Vec<Entry>, ArchiveError> {
    let corrupt = |reason: &str| ArchiveError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: format!("index chunk {reason} (run `gazette repair`)"),
    };
    let Some((&CHUNK_TAG, mut rest)) = bytes.split_first() else {
        return Err(corrupt("has no chunk tag"));
    };
    let mut out: Vec<Entry> = Vec::new();
    while !rest.is_empty() {
        let shared = take_varint(&mut rest).ok_or_else(|| corrupt("is cut short"))?;
        let tail = take_varint(&mut rest).ok_or_else(|| corrupt("is cut short"))?;
        let prev = out.last().map_or(&[][..], |(k, _)| k.as_slice());
        let (Some(head), Some(suffix)) = (prev.get(..shared), rest.get(..tail)) else {
            return Err(corrupt("has a key longer than its bytes"));
        };
        let k = [head, suffix].concat();
        rest = &rest[tail..];
        let vlen = take_varint(&mut rest).ok_or_else(|| corrupt("is cut short"))?;
        let v = rest
            .get(..vlen)
            .ok_or_else(|| corrupt("has a value longer than its bytes"))?
            .to_vec();
        rest = &rest[vlen..];
        out.push((k, v));
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take_varint(bytes: &mut &[u8]) -> Option<usize> {
    let mut n: usize = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(max: usize) -> (sled::Db, Chunked) {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary sled");
        let tree = db.open_tree("t").expect("tree");
        (db, Chunked::new(tree, max))
    }

    fn write(index: &Chunked, edit: ChunkEdit<'_>) {
        for (k, v) in edit.into_writes() {
            match v {
                Some(v) => index.tree.insert(k, v).expect("insert"),
                None => index.tree.remove(k).expect("remove"),
            };
        }
    }

    fn all(it: impl Iterator<Item = Result<Entry, ArchiveError>>) -> Vec<Entry> {
        it.collect::<Result<_, _>>().expect("readable")
    }

    #[test]
    fn varints_round_trip_and_a_cut_one_is_none() {
        for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, usize::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, n);
            let mut s = buf.as_slice();
            assert_eq!(take_varint(&mut s), Some(n), "{n}");
            assert!(s.is_empty());
            let mut cut = &buf[..buf.len() - 1];
            if n > 127 {
                assert_eq!(take_varint(&mut cut), None, "{n} cut short");
            }
        }
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"X",
            &[CHUNK_TAG, 5, 1, b'a'],
            &[CHUNK_TAG, 0, 3, b'a'],
            &[CHUNK_TAG, 0, 1, b'a', 9, b'v'],
            &[CHUNK_TAG, 0xff],
        ] {
            assert!(decode_chunk(b"k", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_index_growing_at_its_end_fills_its_chunks() {
        let (_db, idx) = index(8);
        for i in 0u32..100 {
            let mut edit = ChunkEdit::new(&idx);
            edit.put(&i.to_be_bytes(), b"").expect("put");
            write(&idx, edit);
        }
        assert_eq!(idx.tree.len(), 13, "100 entries in chunks of 8");
        assert_eq!(all(idx.iter()).len(), 100);
        assert_eq!(idx.problems("t").expect("readable"), Vec::<String>::new());
    }

    /// Runs appended in one go (a feed's new arrivals) read back in order, in chunks no
    /// bigger than the limit and mostly full; a run that is not after its chunk, or that has
    /// no chunk before it, is put entry by entry.
    #[test]
    fn appended_runs_fill_chunks_and_read_back_in_order() {
        let (_db, idx) = index(8);
        let key = |feed: u8, n: u32| [&[feed, 0][..], &n.to_be_bytes()].concat();
        let mut want = Vec::new();
        for round in 0u32..10 {
            let mut edit = ChunkEdit::new(&idx);
            for feed in [b'b', b'a'] {
                let run: Vec<Entry> = (round * 7..round * 7 + 7)
                    .map(|n| (key(feed, n), n.to_be_bytes().to_vec()))
                    .collect();
                want.extend(run.clone());
                edit.append_run(run).expect("append");
            }
            write(&idx, edit);
        }
        // not an append: inside feed a's run, and before every chunk
        let mut edit = ChunkEdit::new(&idx);
        let odd = vec![
            (key(b'a', 3), b"x".to_vec()),
            (key(b'a', 1000), b"y".to_vec()),
        ];
        let first = vec![(vec![0u8], b"z".to_vec())];
        edit.append_run(odd.clone()).expect("append");
        edit.append_run(first.clone()).expect("append");
        write(&idx, edit);
        want.retain(|(k, _)| *k != key(b'a', 3));
        want.extend(odd);
        want.extend(first);
        want.sort();
        assert_eq!(all(idx.iter()), want);
        assert_eq!(idx.problems("t").expect("readable"), Vec::<String>::new());
        let chunks = idx.tree.len();
        assert!(
            chunks <= want.len().div_ceil(4),
            "{chunks} chunks for {}",
            want.len()
        );
    }

    #[derive(Debug, Clone)]
    enum Step {
        Put(Vec<u8>, Vec<u8>),
        Remove(Vec<u8>),
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        // a small alphabet with 0x00 and 0xff, so keys collide, share prefixes and hit the
        // edges of `successor`
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(0xff)],
            0..4,
        )
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (key(), proptest::collection::vec(any::<u8>(), 0..3)).prop_map(|(k, v)| Step::Put(k, v)),
            2 => key().prop_map(Step::Remove),
        ]
    }

    proptest! {
        /// Whatever batches of puts and removes, the chunked index reads as the ordered map a
        /// plain sled tree would be, through every read path, and its chunks stay well formed.
        #[test]
        fn reads_as_the_ordered_map_it_models(
            max in 2usize..6,
            batches in proptest::collection::vec(proptest::collection::vec(step(), 1..8), 1..12),
            probe in key(),
            upper in key(),
        ) {
            let (_db, idx) = index(max);
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for batch in batches {
                let mut edit = ChunkEdit::new(&idx);
                for s in batch {
                    match s {
                        Step::Put(k, v) => {
                            let new = edit.put(&k, &v).expect("put");
                            prop_assert_eq!(new, model.insert(k, v).is_none());
                        }
                        Step::Remove(k) => {
                            let was = edit.remove(&k).expect("remove");
                            prop_assert_eq!(was, model.remove(&k).is_some());
                        }
                    }
                }
                write(&idx, edit);
                prop_assert_eq!(idx.problems("t").expect("readable"), Vec::<String>::new());
                let want: Vec<Entry> = model.clone().into_iter().collect();
                prop_assert_eq!(all(idx.iter()), want);
                prop_assert_eq!(idx.get(&probe).expect("get"), model.get(&probe).cloned());
                // many at once, in any order, held or not, repeated: as one get each
                let mut probes: Vec<Vec<u8>> = model.keys().rev().cloned().collect();
                probes.extend([probe.clone(), upper.clone(), probe.clone()]);
                let want: Vec<Option<Vec<u8>>> =
                    probes.iter().map(|k| model.get(k).cloned()).collect();
                prop_assert_eq!(idx.get_many(&probes).expect("get_many"), want);
                let hi = (upper > probe).then_some(upper.as_slice());
                let want: Vec<Entry> = model
                    .iter()
                    .filter(|(k, _)| k.as_slice() >= probe.as_slice() && hi.is_none_or(|h| k.as_slice() < h))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(all(idx.range(&probe, hi)), want.clone());
                let mut rev = want;
                rev.reverse();
                prop_assert_eq!(all(idx.range_rev(&probe, hi)), rev);
                let want: Vec<Entry> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&probe))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(all(idx.scan_prefix(&probe)), want.clone());
                let mut rev = want;
                rev.reverse();
                prop_assert_eq!(all(idx.scan_prefix_rev(&probe)), rev);
                prop_assert!(idx.tree.len() <= model.len().max(1));
            }
        }
    }
}
