//! The write path: speculate (outside the write lock), commit (dedup placement under the lock,
//! one transaction per poll or group of polls), make durable (one fsync shared by every commit
//! since the last), and the small writes of polls that stored no articles.

use super::*;

impl Archive {
    /// Stores one poll of `source`: every candidate, then `state` (with this poll's counts), in one transaction, and
    /// flushes to disk before returning, so what is reported as stored is stored.
    ///
    /// The three steps of [`Archive::speculate`], [`Archive::commit`] and
    /// [`Archive::make_durable`] on one thread (tests and benchmarks), so they store through
    /// the same guesses as the poller, which runs the steps apart.
    pub fn ingest(
        &self,
        source: &str,
        candidates: &[Candidate],
        state: &PollState,
        now: DateTime<Utc>,
        curate: Curate<'_>,
        events: &[SourceEvent],
    ) -> Result<(Counts, Vec<Outcome>), ArchiveError> {
        let guess = self.speculate(candidates, now, curate)?;
        let commit = self.commit(source, candidates, state, now, curate, events, guess)?;
        self.make_durable(commit)
    }

    /// Prepares, without the write lock, what storing `candidates` is likely to write: each
    /// candidate the identity index does not know yet, as the new article it would become,
    /// curated and encoded. [`Archive::commit`] uses a guess only when the article it places is
    /// exactly that article, so a wrong guess costs time, never correctness.
    ///
    /// Why: curating and encoding are most of the CPU of storing a new article, and under the
    /// lock they ran one poll at a time (perf, 500-feed cold ingest: the lock holder was the
    /// bottleneck while the other core waited). Out of it, polls do them side by side.
    pub fn speculate(
        &self,
        candidates: &[Candidate],
        now: DateTime<Utc>,
        curate: Curate<'_>,
    ) -> Result<Speculation, ArchiveError> {
        self.build_seen();
        let mut guesses = HashMap::new();
        let mut words = HashMap::new();
        for (i, c) in candidates.iter().enumerate() {
            if self.retention.is_some_and(|r| c.published < now - r)
                || self.holds_identity(&keys::identity(&c.source, &c.identity))?
            {
                continue;
            }
            if !words.contains_key(&c.norm_title) {
                words.insert(
                    c.norm_title.clone(),
                    crate::normalize::near::index_words(&c.norm_title),
                );
            }
            let id = merge::article_id(&c.norm_title, c.published, 0);
            // Taken: the same story (left to commit's dedup) or a collision (to its next id).
            if guesses.contains_key(&id)
                || (self.seen.may_hold(Kind::Id, id.as_bytes())
                    && self.articles.contains_key(id.as_bytes())?)
            {
                continue;
            }
            let mut article = merge::create(c, id.clone(), now);
            article.topics = curate(&article);
            let bytes = encode(&article)?;
            let guess = Guess {
                poll: 0,
                candidate: i,
                article,
                bytes,
            };
            guesses.insert(id, guess);
        }
        Ok(Speculation { guesses, words })
    }

    /// Stores one poll under the write lock (see [`Archive::ingest`]) and returns before the
    /// write is durable: pass the result to [`Archive::make_durable`] or
    /// [`Archive::make_durable_async`] before reporting it, so polls that commit meanwhile share
    /// one fsync.
    #[allow(clippy::too_many_arguments)]
    pub fn commit(
        &self,
        source: &str,
        candidates: &[Candidate],
        state: &PollState,
        now: DateTime<Utc>,
        curate: Curate<'_>,
        events: &[SourceEvent],
        guess: Speculation,
    ) -> Result<Commit, ArchiveError> {
        let mut poll = [Pending {
            source,
            candidates,
            state,
            now,
            curate,
            events,
            guess,
        }];
        let mut commits = self.commit_group(&mut poll);
        commits.pop().unwrap_or_else(|| {
            Err(ArchiveError::Corrupt {
                key: source.into(),
                reason: "a poll stored got no result (a bug: please report it)".into(),
            })
        })
    }

    /// Stores several polls as one transaction, one result per poll in their order, as if
    /// [`Archive::commit`] had stored them one after the other: each sees what the ones before
    /// it placed (a story in two of them is one article), and each gets its own counts.
    ///
    /// Why: polls queue for the writer in a cold ingest, and stored together they share one
    /// transaction's fixed costs and rewrite a chunk several of them touch once (500-feed cold
    /// ingest: 3.33 to 2.94 CPU s; most of the writer's work is per entry written, which this
    /// does not change; see README "Performance").
    ///
    /// All or nothing together; when the joint write fails, each poll is stored again on its
    /// own (without its guesses, which the first attempt used up), so one poll that cannot be
    /// stored fails alone. Panics are the caller's: `polls` still holds every poll afterwards.
    pub fn commit_group(&self, polls: &mut [Pending<'_>]) -> Vec<Result<Commit, ArchiveError>> {
        self.build_seen();
        let guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match self.commit_locked(&guard, polls) {
            Ok(commits) => commits.into_iter().map(Ok).collect(),
            Err(e) if polls.len() == 1 => vec![Err(e)],
            Err(_) => polls
                .iter_mut()
                .map(|p| {
                    self.commit_locked(&guard, std::slice::from_mut(p))
                        .and_then(|mut c| {
                            c.pop().ok_or_else(|| ArchiveError::Corrupt {
                                key: p.source.into(),
                                reason:
                                    "a poll stored alone got no result (a bug: please report it)"
                                        .into(),
                            })
                        })
                })
                .collect(),
        }
    }

    /// [`Archive::commit_group`]'s one attempt, under the write lock.
    pub(super) fn commit_locked(
        &self,
        guard: &MutexGuard<'_, ()>,
        polls: &mut [Pending<'_>],
    ) -> Result<Vec<Commit>, ArchiveError> {
        let mut batch = Batch::default();
        for (p, poll) in polls.iter_mut().enumerate() {
            batch.words.extend(std::mem::take(&mut poll.guess.words));
            for (id, mut guess) in std::mem::take(&mut poll.guess.guesses) {
                guess.poll = p;
                // two polls guessed the same new story: the later one is its duplicate
                batch.guesses.entry(id).or_insert(guess);
            }
        }
        // titles a feed carries more than once in one poll recur in it (see `near`), whichever
        // of its entries is placed first
        for poll in polls.iter() {
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for c in poll.candidates {
                match seen.insert(&c.norm_title, &c.identity) {
                    Some(other) if other != c.identity => {
                        batch
                            .repeated
                            .insert((c.source.clone(), c.norm_title.clone()));
                    }
                    _ => {}
                }
            }
        }
        let mut placed = Vec::with_capacity(polls.len());
        for (p, poll) in polls.iter().enumerate() {
            let mut counts = Counts::default();
            let mut outcomes = Vec::with_capacity(poll.candidates.len());
            for (i, c) in poll.candidates.iter().enumerate() {
                let outcome = self.place((p, i), c, &mut batch, poll.now)?;
                counts.add(outcome);
                outcomes.push(outcome);
            }
            placed.push((counts, outcomes));
        }
        let mut ops = Vec::new();
        let mut touched_topics = BTreeSet::new();
        for (id, article) in &mut batch.articles {
            let before = batch.originals.get(id).and_then(Option::as_ref);
            if before == Some(&*article) {
                continue;
            }
            let bytes = match batch.exact.remove(id) {
                Some(bytes) => bytes,
                None => {
                    // by the group's last poll: the newest of its topic configurations
                    article.topics = (polls[polls.len() - 1].curate)(article);
                    encode(&*article)?
                }
            };
            touched_topics.extend(article.topics.iter().cloned());
            touched_topics.extend(before.iter().flat_map(|b| b.topics.iter().cloned()));
            // and the sources' own feeds (their generations live beside the topics')
            touched_topics.extend(
                article
                    .sources
                    .iter()
                    .chain(before.iter().flat_map(|b| b.sources.iter()))
                    .map(|s| super::topics::source_key(s)),
            );
            index_ops_with(before, article, &mut ops, &batch.words);
            ops.push(Op::Put(Tree::Articles, id.as_bytes().to_vec(), bytes));
        }
        for (key, (id, fingerprint)) in batch.identities {
            ops.push(Op::Put(
                Tree::Identity,
                key,
                keys::identity_value(&id, fingerprint),
            ));
        }
        for (poll, (counts, _)) in polls.iter().zip(&placed) {
            let mut state = poll.state.clone();
            state.last_new = counts.new;
            state.last_duplicate = counts.duplicate;
            state.last_updated = counts.updated;
            event_ops(poll.events, &mut ops)?;
            ops.push(Op::Put(
                Tree::Sources,
                poll.source.as_bytes().to_vec(),
                encode(&state)?,
            ));
        }
        self.apply(guard, &ops)?;
        // under the write lock: numbers follow the order of the writes
        let seq = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        Ok(placed
            .into_iter()
            .map(|(counts, outcomes)| Commit {
                seq,
                counts,
                outcomes,
                topics: touched_topics.clone(),
            })
            .collect())
    }

    /// Makes a commit durable (one fsync, shared by every write since the last one), then
    /// lets readers of its topics know they changed.
    pub fn make_durable(&self, commit: Commit) -> Result<(Counts, Vec<Outcome>), ArchiveError> {
        self.db.flush()?;
        Ok(self.published(commit))
    }

    /// [`Archive::make_durable`] without blocking a thread while the disk syncs.
    ///
    /// One flush at a time: a poll finding one under way waits for it and then, if its own
    /// commit came after that flush began, starts the next (which covers every commit
    /// meanwhile). Why: sled runs `flush_async` on its IO thread pool, whose seven threads
    /// block until the log is on disk, while the write of the log's buffer is queued on that
    /// same pool; seven polls flushing at once left nothing to write it, and the daemon hung
    /// (found when polls started committing in groups, so that many finished at once).
    pub async fn make_durable_async(
        &self,
        commit: Commit,
    ) -> Result<(Counts, Vec<Outcome>), ArchiveError> {
        let mut flushed = self.flushed.lock().await;
        if *flushed < commit.seq {
            // every commit numbered up to here is in the log the flush writes out
            let upto = self.committed.load(Ordering::Acquire);
            self.db.flush_async().await?;
            *flushed = upto;
        }
        drop(flushed);
        Ok(self.published(commit))
    }

    pub(super) fn published(&self, commit: Commit) -> (Counts, Vec<Outcome>) {
        self.bump(commit.topics);
        (commit.counts, commit.outcomes)
    }

    /// Records a poll that stored nothing (a failure, or a 304) in its own small transaction,
    /// and makes it durable before returning. Blocking: the daemon uses
    /// [`Archive::note_poll`] on its writer thread and [`Archive::make_durable_async`] instead.
    pub fn record_poll(
        &self,
        source: &str,
        state: &PollState,
        events: &[SourceEvent],
    ) -> Result<(), ArchiveError> {
        let commit = self.note_poll(source, state, events)?;
        // as in `ingest`: durable before returning, fsync shared
        let _ = self.make_durable(commit)?;
        Ok(())
    }

    /// Writes a poll that stored nothing (a failure, or a 304): its state and events, in one
    /// small transaction, not yet durable (see [`Commit`]).
    pub fn note_poll(
        &self,
        source: &str,
        state: &PollState,
        events: &[SourceEvent],
    ) -> Result<Commit, ArchiveError> {
        self.note(Some((source, state)), events)
    }

    /// Writes events that belong to no source's poll (the archive's own: disk space), not yet
    /// durable.
    pub fn note_events(&self, events: &[SourceEvent]) -> Result<Commit, ArchiveError> {
        self.note(None, events)
    }

    fn note(
        &self,
        state: Option<(&str, &PollState)>,
        events: &[SourceEvent],
    ) -> Result<Commit, ArchiveError> {
        let guard = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ops = Vec::new();
        event_ops(events, &mut ops)?;
        if let Some((source, state)) = state {
            ops.push(Op::Put(
                Tree::Sources,
                source.as_bytes().to_vec(),
                encode(state)?,
            ));
        }
        self.apply(&guard, &ops)?;
        // under the write lock: numbers follow the order of the writes
        let seq = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        drop(guard);
        Ok(Commit {
            seq,
            counts: Counts::default(),
            outcomes: Vec::new(),
            topics: BTreeSet::new(),
        })
    }

    /// Finds the article `c` belongs to (by identity within its source, else by dedup title and
    /// date), or creates one, and records the result in the batch.
    /// Where candidate `i` goes: into an article it is the same entry or story as, or into a
    /// new one (the speculated one, when [`Archive::speculate`] guessed it).
    pub(super) fn place(
        &self,
        (p, i): (usize, usize),
        c: &Candidate,
        batch: &mut Batch,
        now: DateTime<Utc>,
    ) -> Result<Outcome, ArchiveError> {
        // older than the retention period: not kept (it would be pruned at once)
        if self.retention.is_some_and(|r| c.published < now - r) {
            return Ok(Outcome::Unchanged);
        }
        let identity_key = keys::identity(&c.source, &c.identity);
        let (known, stored_fingerprint) = match batch.identities.get(&identity_key) {
            Some((id, f)) => (Some(id.clone()), *f),
            None if !self.seen.may_hold(Kind::Identity, &identity_key) => (None, None),
            None => match self.identity.get(&identity_key)? {
                Some(v) => {
                    let (id, f) = keys::identity_target(&v);
                    (Some(id), f)
                }
                None => (None, None),
            },
        };
        if let Some(id) = &known
            && self.is_tombstoned(id)?
        {
            return Ok(Outcome::Unchanged);
        }
        if let Some(id) = known
            && let Some(existing) = self.load_into(&id, batch)?
        {
            let merged = merge::merge(&existing, c, Relation::SameEntry, now);
            let changed = merged != existing;
            if c.fingerprint.is_some() && c.fingerprint != stored_fingerprint {
                // the entry as read changed (or was read before fingerprints): the next poll
                // skips it only once its new fingerprint is stored
                batch
                    .identities
                    .insert(identity_key, (id.clone(), c.fingerprint));
            }
            batch.exact.remove(&id);
            batch.put(id, merged);
            return Ok(if changed {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            });
        }
        // A dangling identity entry (index damage): fall through and re-place the entry.
        let rules = self.dedup_rules();
        let same = match self.find_same_story(c, batch, &rules)? {
            Some(found) => Some(found),
            None => self.find_near(c, batch, &rules)?,
        };
        if let Some((id, _)) = &same
            && self.is_tombstoned(id)?
        {
            return Ok(Outcome::Unchanged);
        }
        if let Some((id, matched)) = same
            && let Some(existing) = self.load_into(&id, batch)?
        {
            let merged = merge::merge(&existing, c, Relation::SameStory(matched), now);
            batch.exact.remove(&id);
            batch.put(id.clone(), merged);
            batch.identities.insert(identity_key, (id, c.fingerprint));
            return Ok(Outcome::Duplicate);
        }
        let first = merge::article_id(&c.norm_title, c.published, 0);
        if let Some(guess) = batch.guesses.remove(&first)
            && (guess.poll, guess.candidate) == (p, i)
            && !batch.articles.contains_key(&first)
        {
            // The id was free when speculated, and it is still: an article stored with it
            // since would have been found above, by its dedup key (this title and date).
            batch.originals.insert(first.clone(), None);
            batch.exact.insert(first.clone(), guess.bytes);
            batch.put(first.clone(), guess.article);
            batch
                .identities
                .insert(identity_key, (first, c.fingerprint));
            return Ok(Outcome::New);
        }
        let mut attempt = 0;
        let id = loop {
            let id = merge::article_id(&c.norm_title, c.published, attempt);
            if !batch.articles.contains_key(&id) && !self.articles.contains_key(id.as_bytes())? {
                break id;
            }
            attempt += 1;
        };
        batch.originals.insert(id.clone(), None);
        batch.put(id.clone(), merge::create(c, id.clone(), now));
        batch.identities.insert(identity_key, (id, c.fingerprint));
        Ok(Outcome::New)
    }

    /// The article with the same normalized title whose date is closest to the candidate's,
    /// within the dedup window, that may take it ([`merge::may_take`]): within one source two
    /// entries are two articles (a daily "Sector Update: Consumer" twice), so only other
    /// sources' copies, or this very entry, are the same story; and the sources' `dedup` modes
    /// and `gazette split` may rule a join out ([`DedupRules::may_join`]). Looks at this batch
    /// first, then the index. Returns the article and how the entry matched it.
    pub(super) fn find_same_story(
        &self,
        c: &Candidate,
        batch: &Batch,
        rules: &DedupRules,
    ) -> Result<Option<(String, crate::model::Match)>, ArchiveError> {
        let window = self.dedup_window;
        let mut found: Vec<(chrono::Duration, String)> = Vec::new();
        let mut consider = |t: DateTime<Utc>, id: &str| {
            let gap = (t - c.published).abs();
            if gap <= window {
                found.push((gap, id.to_string()));
            }
        };
        // the batch's own articles with this title, through its title index: scanning them all
        // made storing a poll quadratic in its entries (20k items: 5.4 s, 80k: 313 s)
        for id in batch.by_title.get(&c.norm_title).into_iter().flatten() {
            if let Some(a) = batch.articles.get(id) {
                for k in a.dedup_keys.iter().filter(|k| k.title == c.norm_title) {
                    consider(k.published, &a.id);
                }
            }
        }
        if self
            .seen
            .may_hold(Kind::Title, seen::title_of(c.norm_title.as_bytes()))
        {
            let prefix = keys::dedup_prefix(&c.norm_title);
            for item in self.dedup.scan_prefix(&prefix) {
                let (key, _) = item?;
                if let Some((t, id)) = keys::dedup_tail(&key[prefix.len()..]) {
                    consider(t, &id);
                }
            }
        }
        found.sort();
        found.dedup_by(|a, b| a.1 == b.1);
        let takes = |a: &Article| {
            merge::may_take(a, &c.source, c.guid.as_deref(), &c.url)
                && (a.links.iter().any(|l| l.source == c.source)
                    || rules.may_join(a, &c.source, MatchRule::Exact))
        };
        for (_, id) in found {
            let article = match batch.articles.get(&id) {
                Some(a) => Some(std::borrow::Cow::Borrowed(a)),
                None => self.get(&id)?.map(std::borrow::Cow::Owned),
            };
            if let Some(a) = article.filter(|a| takes(a)) {
                let matched = merge::exact_match(&a, &c.norm_title);
                return Ok(Some((id, matched)));
            }
        }
        Ok(None)
    }

    /// Loads an article into the batch (once), remembering the stored version for index diffs.
    pub(super) fn load_into(
        &self,
        id: &str,
        batch: &mut Batch,
    ) -> Result<Option<Article>, ArchiveError> {
        if let Some(a) = batch.articles.get(id) {
            return Ok(Some(a.clone()));
        }
        let stored = self.get(id)?;
        batch.originals.insert(id.to_string(), stored.clone());
        Ok(stored)
    }
}

/// Articles touched by one ingest, before they are written.
#[derive(Default)]
pub(super) struct Batch {
    /// Current state of each touched article.
    pub(super) articles: HashMap<String, Article>,
    /// The stored version (None for new ones), to compute index changes.
    originals: HashMap<String, Option<Article>>,
    /// Identity key → the article it leads to and the entry's fingerprint, to be written.
    identities: HashMap<Vec<u8>, (String, Option<u64>)>,
    /// What [`Archive::speculate`] prepared, by article id, until placing takes it.
    guesses: HashMap<String, Guess>,
    /// The stored form of each new article placed from a guess and not merged into since:
    /// exactly what encoding it again would give.
    exact: HashMap<String, Vec<u8>>,
    /// Normalized title → ids of the batch's articles that had it as a dedup key (a superset:
    /// look-ups check the article's keys).
    pub(super) by_title: HashMap<String, Vec<String>>,
    /// Index word → (dedup title, date, id) of the batch's articles: the `near` index entries
    /// the batch will write (a superset, as `by_title`).
    pub(super) near: HashMap<String, Vec<(String, DateTime<Utc>, String)>>,
    /// (source, dedup title) pairs a poll of the batch carries under more than one identity.
    pub(super) repeated: HashSet<(String, String)>,
    /// Dedup title → its `near` index words, as far as worked out (by speculation, mostly).
    pub(super) words: HashMap<String, Vec<String>>,
}

impl Batch {
    /// Puts an article's current state in the batch, indexed by its dedup titles.
    fn put(&mut self, id: String, article: Article) {
        for k in &article.dedup_keys {
            let ids = self.by_title.entry(k.title.clone()).or_default();
            if !ids.contains(&id) {
                ids.push(id.clone());
                if !self.words.contains_key(&k.title) {
                    let words = crate::normalize::near::index_words(&k.title);
                    self.words.insert(k.title.clone(), words);
                }
                for w in self.words.get(&k.title).into_iter().flatten() {
                    self.near.entry(w.clone()).or_default().push((
                        k.title.clone(),
                        k.published,
                        id.clone(),
                    ));
                }
            }
        }
        self.articles.insert(id, article);
    }
}

/// Index writes that take the stored `before` to `after`.
pub(super) fn index_ops(before: Option<&Article>, after: &Article, ops: &mut Vec<Op>) {
    index_ops_with(before, after, ops, &HashMap::new());
}

/// [`index_ops`], with the `near` index words of some dedup titles already worked out.
pub(super) fn index_ops_with(
    before: Option<&Article>,
    after: &Article,
    ops: &mut Vec<Op>,
    words: &HashMap<String, Vec<String>>,
) {
    let id = &after.id;
    if let Some(b) = before {
        if b.published != after.published {
            ops.push(Op::Del(Tree::ByTime, keys::by_time(b.published, id)));
        }
        for s in &b.sources {
            if b.published != after.published || !after.sources.contains(s) {
                ops.push(Op::Del(Tree::BySource, keys::by_source(s, b.published, id)));
            }
        }
        for k in &b.dedup_keys {
            if !after.dedup_keys.contains(k) {
                ops.push(Op::Del(Tree::Dedup, keys::dedup(&k.title, k.published, id)));
                for w in near::words_of(&k.title, words).iter() {
                    ops.push(Op::Del(Tree::Near, keys::near(w, k.published, id)));
                }
            }
        }
        for t in &b.topics {
            if b.published != after.published || !after.topics.contains(t) {
                ops.push(Op::Del(Tree::Topics, keys::topic(t, b.published, id)));
            }
        }
    }
    // a membership's entry says whether the article arrives in that feed (new to it, or
    // changed) or only stays; `engine` numbers the arrivals (see `arrivals`)
    let changed = before.is_none_or(|b| content_changed(b, after));
    let marker = |held: bool| {
        if changed || !held {
            arrivals::ARRIVE.to_vec()
        } else {
            arrivals::KEEP.to_vec()
        }
    };
    for t in &after.topics {
        ops.push(Op::Put(
            Tree::Topics,
            keys::topic(t, after.published, id),
            marker(before.is_some_and(|b| b.topics.contains(t))),
        ));
    }
    ops.push(Op::Put(
        Tree::ByTime,
        keys::by_time(after.published, id),
        Vec::new(),
    ));
    for s in &after.sources {
        ops.push(Op::Put(
            Tree::BySource,
            keys::by_source(s, after.published, id),
            marker(before.is_some_and(|b| b.sources.contains(s))),
        ));
    }
    for k in &after.dedup_keys {
        if before.is_some_and(|b| b.dedup_keys.contains(k)) {
            // unchanged: its entries are written already
            continue;
        }
        dedup_key_ops_with(&k.title, k.published, id, ops, words);
    }
}

/// Whether `after` differs from `before` in what a reader sees (anything but its topics: a
/// re-curation changes memberships, not the article).
fn content_changed(before: &Article, after: &Article) -> bool {
    if before.topics == after.topics {
        return before != after;
    }
    let mut b = before.clone();
    b.topics.clone_from(&after.topics);
    b != *after
}

/// The index entries of one dedup key: its `dedup` entry and its `near` entries.
pub(super) fn dedup_key_ops(title: &str, published: DateTime<Utc>, id: &str, ops: &mut Vec<Op>) {
    dedup_key_ops_with(title, published, id, ops, &HashMap::new());
}

fn dedup_key_ops_with(
    title: &str,
    published: DateTime<Utc>,
    id: &str,
    ops: &mut Vec<Op>,
    words: &HashMap<String, Vec<String>>,
) {
    ops.push(Op::Put(
        Tree::Dedup,
        keys::dedup(title, published, id),
        Vec::new(),
    ));
    for w in near::words_of(title, words).iter() {
        ops.push(Op::Put(
            Tree::Near,
            keys::near(w, published, id),
            title.as_bytes().to_vec(),
        ));
    }
}

pub(super) fn event_ops(events: &[SourceEvent], ops: &mut Vec<Op>) -> Result<(), ArchiveError> {
    for e in events {
        let key = [
            &keys::ts(e.at)[..],
            e.source.as_bytes(),
            b"/",
            e.kind.as_str().as_bytes(),
        ]
        .concat();
        ops.push(Op::Put(Tree::Events, key, encode(e)?));
    }
    Ok(())
}
