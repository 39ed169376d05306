//! The arrival log of every feed (issue 22, RFC 5005 "Feed Paging and Archiving"): the order in
//! which articles entered a topic or a source's feed, so that `publish` can file them into
//! archive documents that never change once full.
//!
//! Each feed (a topic, or a source as [`source_key`]) numbers its arrivals 1, 2, 3 … in the
//! `arrivals` index (`feed · 0 · seq → id`). A membership's entry in `topics` or `by_source`
//! holds the article's last few arrival numbers in that feed, so a reader can tell whether an
//! arrival was superseded, and by which later one. Arrivals are numbered in the transaction
//! that writes the membership, in the order of the index keys (publication time), so one poll's
//! articles arrive oldest first and its newest article is the feed's newest arrival.
//!
//! An article arrives when it enters the feed. It arrives again when it changed after leaving
//! the feed's subscription window (the newest `window` arrivals, the feed's `limit`): a reader
//! of the subscription document then sees the change. A change while it is still in the window
//! needs no new arrival: the subscription document shows it. A membership that ends (a topic
//! edited, retention) takes its arrivals with it.

use super::*;

/// The value `index_ops` gives a membership entry that is unchanged: keep the arrivals held.
pub(super) const KEEP: &[u8] = b"";
/// The value `index_ops` gives a membership entry of an article that is new to the feed or
/// changed: number an arrival if it needs one.
pub(super) const ARRIVE: &[u8] = b"+";
/// Arrival numbers kept per membership (the newest): enough to tell which later arrival
/// superseded one still shown in a full archive document.
const KEPT: usize = 4;
/// The `arrivals` index's tree (chunked, since schema 6).
pub(super) const TREE: &str = "arrivals/c";
/// A feed's subscription window when none is configured (the `limit` default).
const DEFAULT_WINDOW: u64 = 50;

/// One arrival in a feed, as read back for a document.
#[derive(Debug, Clone)]
pub struct Arrived {
    pub seq: u64,
    /// The article's next arrival in this feed after `seq`, if it arrived again.
    pub next: Option<u64>,
    pub article: Article,
}

/// Each feed's subscription window (its `limit`), which decides when a changed article must
/// arrive again. Set by whoever configures the archive ([`Archive::set_windows`]).
#[derive(Debug, Clone, Default)]
pub struct Windows {
    pub topics: HashMap<String, usize>,
    pub sources: HashMap<String, usize>,
}

/// The feed key of a membership entry's key (`topics`: the topic; `by_source`: 1 · source).
fn feed_of(tree: Tree, key: &[u8]) -> Vec<u8> {
    let name = keys::topic_of(key);
    match tree {
        Tree::BySource => [&[1u8][..], name].concat(),
        _ => name.to_vec(),
    }
}

/// The article id at the end of a membership entry's key (feed · 0 · ts · id).
fn id_of(key: &[u8]) -> Vec<u8> {
    let at = keys::topic_of(key).len() + 1 + 8;
    key.get(at..).unwrap_or_default().to_vec()
}

/// The arrival numbers a membership entry holds, oldest first (none in a value from before
/// schema 6 or a marker).
pub(super) fn seqs(value: &[u8]) -> Vec<u64> {
    if value.is_empty() || !value.len().is_multiple_of(8) {
        return Vec::new();
    }
    value
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_be_bytes))
        .collect()
}

fn seqs_value(seqs: &[u64]) -> Vec<u8> {
    let from = seqs.len().saturating_sub(KEPT);
    seqs[from..].iter().flat_map(|s| s.to_be_bytes()).collect()
}

/// A membership change waiting to be numbered at the end of the transaction.
struct Pending {
    tree: Tree,
    key: Vec<u8>,
    feed: Vec<u8>,
    held: Vec<u64>,
}

/// What one transaction does to the arrival log: memberships ended (their arrivals go), and
/// memberships that may arrive, numbered in key order once every operation is seen.
#[derive(Default)]
pub(super) struct ArrivalEdit {
    departed: HashMap<(Vec<u8>, Vec<u8>), Vec<u64>>,
    pending: Vec<Pending>,
    /// Each feed's arrival count as this transaction leaves it.
    counts: HashMap<Vec<u8>, u64>,
}

impl ArrivalEdit {
    /// A membership entry removed (it may come back under another key in this transaction,
    /// when the article's date changed).
    pub(super) fn remove(
        &mut self,
        edit: &mut ChunkEdit<'_>,
        tree: Tree,
        key: &[u8],
    ) -> Result<bool, ArchiveError> {
        let old = edit.remove_value(key)?;
        if let Some(v) = &old {
            self.departed
                .insert((feed_of(tree, key), id_of(key)), seqs(v));
        }
        Ok(old.is_some())
    }

    /// A membership entry written with `value`: [`KEEP`], [`ARRIVE`] or (when rebuilt) the
    /// arrival numbers themselves.
    pub(super) fn put(
        &mut self,
        edit: &mut ChunkEdit<'_>,
        tree: Tree,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, ArchiveError> {
        let feed = feed_of(tree, key);
        let moved = self.departed.remove(&(feed.clone(), id_of(key)));
        let marker = value == KEEP || value == ARRIVE;
        let mut held = Vec::new();
        let (new, _) = edit.put_with(key, |stored| {
            if !marker {
                return value.to_vec();
            }
            held = moved.unwrap_or_else(|| stored.map(seqs).unwrap_or_default());
            seqs_value(&held)
        })?;
        if marker && (value == ARRIVE || held.is_empty()) {
            self.pending.push(Pending {
                tree,
                key: key.to_vec(),
                feed,
                held,
            });
        }
        Ok(new)
    }

    /// Numbers the arrivals (in key order: a feed's by publication time), writes them to the
    /// `arrivals` edit and the membership entries, and drops the arrivals of memberships that
    /// ended. Returns the `meta` writes of the feeds' counts.
    pub(super) fn finish(
        mut self,
        archive: &Archive,
        memberships: [&mut ChunkEdit<'_>; 2],
        arrivals: &mut ChunkEdit<'_>,
    ) -> Result<Vec<(Vec<u8>, u64)>, ArchiveError> {
        let [topics, by_source] = memberships;
        self.pending
            .sort_by(|a, b| (a.tree as u8, &a.key).cmp(&(b.tree as u8, &b.key)));
        // each feed's new arrivals, appended at its end in one go
        let mut runs: BTreeMap<Vec<u8>, Vec<chunks::Entry>> = BTreeMap::new();
        for p in std::mem::take(&mut self.pending) {
            let n = match self.counts.get(&p.feed) {
                Some(n) => *n,
                None => archive.arrival_count_of(&p.feed)?,
            };
            // still in the window: the subscription document shows the change already
            if let Some(last) = p.held.last()
                && last.saturating_add(archive.window_of(&p.feed)) > n
            {
                continue;
            }
            let seq = n + 1;
            self.counts.insert(p.feed.clone(), seq);
            let mut held = p.held;
            held.push(seq);
            let edit = if p.tree == Tree::BySource {
                &mut *by_source
            } else {
                &mut *topics
            };
            let value = seqs_value(&held);
            // written by this edit a moment ago: no stored chunk to read
            if !edit.set_made(&p.key, &value) {
                edit.put(&p.key, &value)?;
            }
            runs.entry(p.feed.clone())
                .or_default()
                .push((keys::arrival(&p.feed, seq), id_of(&p.key)));
        }
        for run in runs.into_values() {
            arrivals.append_run(run)?;
        }
        for ((feed, _), held) in self.departed {
            for seq in held {
                arrivals.remove(&keys::arrival(&feed, seq))?;
            }
        }
        Ok(self
            .counts
            .into_iter()
            .map(|(feed, n)| (keys::arrival_count(&feed), n))
            .collect())
    }
}

impl Archive {
    /// Sets each feed's subscription window (its `limit`); feeds not listed have 50.
    pub fn set_windows(&self, windows: Windows) {
        *self.windows.write().unwrap_or_else(|p| p.into_inner()) = windows;
    }

    fn window_of(&self, feed: &[u8]) -> u64 {
        let w = self.windows.read().unwrap_or_else(|p| p.into_inner());
        let found = match feed.split_first() {
            Some((1, source)) => w.sources.get(String::from_utf8_lossy(source).as_ref()),
            _ => w.topics.get(String::from_utf8_lossy(feed).as_ref()),
        };
        found.map_or(DEFAULT_WINDOW, |n| *n as u64)
    }

    /// How many arrivals a feed (by its key) has numbered.
    fn arrival_count_of(&self, feed: &[u8]) -> Result<u64, ArchiveError> {
        if let Some(n) = self
            .arrival_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(feed)
        {
            return Ok(*n);
        }
        let n = self
            .meta
            .get(keys::arrival_count(feed))?
            .as_deref()
            .and_then(be_u64)
            .unwrap_or(0);
        self.arrival_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(feed.to_vec(), n);
        Ok(n)
    }

    /// After a transaction that wrote them: the feeds' arrival counts as they now are.
    pub(super) fn note_arrival_counts(&self, counts: &[(Vec<u8>, u64)]) {
        let mut c = self
            .arrival_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (key, n) in counts {
            if let Some(feed) = key.strip_prefix(keys::ARRIVAL_COUNT_PREFIX) {
                c.insert(feed.to_vec(), *n);
            }
        }
    }

    /// Problems of the arrival log for `verify`: damaged chunks, arrivals of articles the
    /// archive does not hold, counts below an arrival's number.
    pub(super) fn arrival_problems(
        &self,
        ids: &HashSet<String>,
    ) -> Result<Vec<String>, ArchiveError> {
        let mut problems = self.arrivals.problems("arrivals")?;
        if !problems.is_empty() {
            return Ok(problems);
        }
        let mut highest: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for item in self.arrivals.iter() {
            let (k, id) = item?;
            let id = String::from_utf8_lossy(&id).into_owned();
            if !ids.contains(&id) {
                problems.push(format!(
                    "arrivals entry {:?} points to missing article {id}",
                    String::from_utf8_lossy(&k)
                ));
            }
            let feed = keys::topic_of(&k).to_vec();
            let seq = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_be_bytes);
            let h = highest.entry(feed).or_default();
            *h = (*h).max(seq);
        }
        for (feed, seq) in highest {
            let n = self
                .meta
                .get(keys::arrival_count(&feed))?
                .as_deref()
                .and_then(be_u64)
                .unwrap_or(0);
            if n < seq {
                problems.push(format!(
                    "the arrival count of feed {:?} says {n}, its log holds arrival {seq}",
                    String::from_utf8_lossy(&feed)
                ));
            }
        }
        Ok(problems)
    }

    /// How many arrivals a topic's or a source's feed has had (the highest arrival number).
    pub fn arrivals(&self, feed: Listing<'_>) -> Result<u64, ArchiveError> {
        match feed_key(feed) {
            Some(key) => self.arrival_count_of(&key),
            None => Ok(0),
        }
    }

    /// The arrivals numbered `from..=to` in a feed that are still there, oldest first, with the
    /// article as it is now and whether it arrived again later.
    pub fn arrived(
        &self,
        feed: Listing<'_>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Arrived>, ArchiveError> {
        let Some(key) = feed_key(feed) else {
            return Ok(Vec::new());
        };
        if from > to {
            return Ok(Vec::new());
        }
        let lo = keys::arrival(&key, from);
        let hi = keys::arrival(&key, to.saturating_add(1));
        let mut out = Vec::new();
        for item in self
            .arrivals
            .range(&lo, (to < u64::MAX).then_some(hi.as_slice()))
        {
            let (k, id) = item?;
            let Some(seq) = k
                .get(k.len().saturating_sub(8)..)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                continue;
            };
            let id = String::from_utf8_lossy(&id).into_owned();
            let Some(article) = self.get_readable(&id)? else {
                continue;
            };
            let membership = match feed {
                Listing::Topic(t) => self.topics.get(&keys::topic(t, article.published, &id))?,
                Listing::Source(s) => {
                    self.by_source
                        .get(&keys::by_source(s, article.published, &id))?
                }
                Listing::All => None,
            };
            // no longer a member (an interrupted re-curation): not shown
            let Some(held) = membership else { continue };
            let next = seqs(&held).into_iter().find(|s| *s > seq);
            out.push(Arrived { seq, next, article });
        }
        Ok(out)
    }

    /// Numbers every membership's arrival from scratch, each feed in publication order: an
    /// archive from before schema 6, and after `repair`. Not transactional: the caller records
    /// it done only after it returns, so an interrupted build is redone.
    pub(super) fn build_arrivals(&self, _held: &MutexGuard<'_, ()>) -> Result<(), ArchiveError> {
        self.arrivals.clear()?;
        for item in self.meta.scan_prefix(keys::ARRIVAL_COUNT_PREFIX) {
            let (k, _) = item?;
            self.meta.remove(k)?;
        }
        self.arrival_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        // sources' feed keys (1 · source) sort before every topic's, so the log is written
        // in key order
        let mut log = chunks::SortedWriter::new(&self.arrivals);
        for (tree, index) in [
            (Tree::BySource, &self.by_source),
            (Tree::Topics, &self.topics),
        ] {
            let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
            index.rewrite_values(|key, _| {
                let feed = feed_of(tree, key);
                let n = counts.entry(feed.clone()).or_default();
                *n += 1;
                log.push((keys::arrival(&feed, *n), id_of(key)))?;
                Ok(n.to_be_bytes().to_vec())
            })?;
            for (feed, n) in counts {
                self.meta
                    .insert(keys::arrival_count(&feed), &n.to_be_bytes())?;
            }
        }
        log.finish()?;
        Ok(())
    }
}

/// The feed key of a listing (`None`: every article is no feed).
fn feed_key(feed: Listing<'_>) -> Option<Vec<u8>> {
    match feed {
        Listing::Topic(t) => Some(t.as_bytes().to_vec()),
        Listing::Source(s) => Some(source_key(s).into_bytes()),
        Listing::All => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::read_document;

    /// A feed of items `from..to` (item `i` published `i` minutes after 15:00).
    fn feed(from: usize, to: usize) -> String {
        let mut s = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in (from..to).rev() {
            s.push_str(&format!(
                "<item><title>Patent story {i}</title><guid>g{i}</guid>\
                 <pubDate>Wed, 04 May 2016 15:{i:02}:36 +0800</pubDate>\
                 <description>Zhongguancun patent agencies, part {i}.</description></item>"
            ));
        }
        s + "</channel></rss>"
    }

    fn poll(archive: &Archive, from: usize, to: usize) {
        let cands = read_document(feed(from, to).as_bytes(), None, None, "s", None, Utc::now())
            .expect("parses")
            .candidates;
        let all = |_: &Article| vec!["all".to_string()];
        archive
            .ingest("s", &cands, &PollState::default(), Utc::now(), &all, &[])
            .expect("ingest");
    }

    /// (arrival number, title, next arrival) of every arrival in the topic and the source.
    fn log(archive: &Archive) -> Vec<(u64, String, Option<u64>)> {
        let mut out = Vec::new();
        for feed in [Listing::Topic("all"), Listing::Source("s")] {
            let n = archive.arrivals(feed).expect("count");
            for a in archive.arrived(feed, 1, n).expect("arrived") {
                out.push((a.seq, a.article.title, a.next));
            }
        }
        out
    }

    /// One poll's articles arrive oldest first; a later poll's after them; an article that
    /// changed after leaving the window arrives again; the numbering is rebuilt the same by an
    /// upgrade from schema 5 and by `repair`, and retention takes a pruned article's arrivals.
    #[test]
    fn arrivals_are_numbered_in_order_renumbered_the_same_and_pruned_with_their_article() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a");
        let archive = Archive::open(&path, Duration::from_secs(3600)).expect("open");
        archive.set_windows(Windows {
            topics: [("all".to_string(), 2)].into(),
            sources: [("s".to_string(), 2)].into(),
        });
        poll(&archive, 0, 3);
        poll(&archive, 3, 5);
        let titles = |log: &[(u64, String, Option<u64>)]| -> Vec<String> {
            log.iter().map(|(_, t, _)| t.clone()).collect()
        };
        let first = log(&archive);
        let want: Vec<String> = (0..5).map(|i| format!("Patent story {i}")).collect();
        assert_eq!(titles(&first[..5]), want, "the topic, oldest first");
        assert_eq!(titles(&first[5..]), want, "the source, oldest first");
        assert_eq!(archive.arrivals(Listing::Topic("all")).expect("n"), 5);

        // story 4 changed inside the window (arrivals 4 and 5): no new arrival
        let cands = |text: &str, i: usize| {
            let body = feed(i, i + 1).replace(&format!("part {i}."), text);
            read_document(body.as_bytes(), None, None, "s", None, Utc::now())
                .expect("parses")
                .candidates
        };
        let all = |_: &Article| vec!["all".to_string()];
        let state = PollState::default();
        archive
            .ingest("s", &cands("corrected.", 4), &state, Utc::now(), &all, &[])
            .expect("ingest");
        assert_eq!(archive.arrivals(Listing::Topic("all")).expect("n"), 5);
        // story 0 changed long after it left the window: it arrives again, as 6
        archive
            .ingest("s", &cands("corrected.", 0), &state, Utc::now(), &all, &[])
            .expect("ingest");
        assert_eq!(archive.arrivals(Listing::Topic("all")).expect("n"), 6);
        let topic = archive
            .arrived(Listing::Topic("all"), 1, 6)
            .expect("arrived");
        assert_eq!((topic[0].seq, topic[0].next), (1, Some(6)));
        assert_eq!((topic[5].seq, topic[5].next), (6, None));
        assert_eq!(topic[5].article.title, "Patent story 0");
        assert!(archive.verify(&all).expect("verify").is_empty());

        // renumbered from scratch (an archive from schema 5): each feed in date order
        drop(archive);
        {
            let db = super::super::upgrade::retry(|| Ok(sled::open(&path)?)).expect("sled");
            db.drop_tree(TREE).expect("drop");
            db.open_tree("meta")
                .expect("meta")
                .insert(SCHEMA_KEY, &5u32.to_be_bytes())
                .expect("schema");
            db.flush().expect("flush");
        }
        let mut archive =
            super::super::upgrade::retry(|| Archive::open(&path, Duration::from_secs(3600)))
                .expect("a schema-5 archive opens");
        let rebuilt = log(&archive);
        assert_eq!(titles(&rebuilt[..5]), want);
        assert!(rebuilt.iter().all(|(_, _, next)| next.is_none()));
        assert!(archive.verify(&all).expect("verify").is_empty());
        archive.repair(&all).expect("repair");
        assert_eq!(log(&archive), rebuilt, "repair numbers them the same");
        assert!(archive.verify(&all).expect("verify").is_empty());

        // retention: every article is past it; their arrivals go with them
        archive.set_retention(Some(Duration::from_secs(3600)));
        archive.prune(Utc::now()).expect("prune");
        assert!(log(&archive).is_empty());
        assert!(archive.verify(&all).expect("verify").is_empty());
    }

    #[test]
    fn membership_values_keep_the_newest_arrivals() {
        for (held, want) in [
            (vec![], vec![]),
            (vec![3], vec![3]),
            (vec![1, 2, 3, 4, 5, 6], vec![3, 4, 5, 6]),
        ] {
            assert_eq!(seqs(&seqs_value(&held)), want);
        }
        // markers and values from before schema 6 hold no arrivals
        assert!(seqs(KEEP).is_empty());
        assert!(seqs(ARRIVE).is_empty());
        assert!(seqs(b"1234567").is_empty());
    }

    #[test]
    fn feed_keys_of_membership_entries() {
        let t = keys::topic("ip", Utc::now(), "abc");
        assert_eq!(feed_of(Tree::Topics, &t), b"ip".to_vec());
        assert_eq!(id_of(&t), b"abc".to_vec());
        let s = keys::by_source("wire", Utc::now(), "def");
        assert_eq!(feed_of(Tree::BySource, &s), b"\x01wire".to_vec());
        assert_eq!(id_of(&s), b"def".to_vec());
        assert_eq!(
            feed_key(Listing::Source("wire")),
            Some(feed_of(Tree::BySource, &s))
        );
    }
}
