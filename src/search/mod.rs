//! Search as a feed (issue 22): the full-text index beside the archive (`<archive>.search/`, a
//! tantivy index; the only importer of tantivy), kept up to date with the archive's writes, and
//! the search itself: the topic query language compiled to the index for candidates
//! ([`compile`]), newest first, each candidate decided by the query's own matcher, so a search
//! and a topic with the same query return the same articles.
//!
//! The index follows the archive through its write listener: every write's article ids are
//! queued, and the indexer thread re-reads those articles, replaces their documents and commits
//! about once a second, recording in the commit the archive write number it reached. An index
//! whose number is not the archive's (a crash, writes by a command, an older gazette) or whose
//! version is not this gazette's is rebuilt from the archive in the background; the archive
//! opens and serves meanwhile, and searches answer from what is indexed so far.

mod compile;
mod tokens;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tantivy::schema::{
    Field as IndexField, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};

use crate::archive::{Archive, ArchiveError};
use crate::curate::Curator;
use crate::model::Article;
use crate::query::Expr;

/// Bumped whenever what the index holds or how it is tokenized changes: an index of another
/// version is rebuilt.
const VERSION: u32 = 2;
/// The indexer's memory (tantivy's minimum for its one thread is 15 MB).
const WRITER_BYTES: usize = 16 * 1024 * 1024;
/// Segments of more documents are not merged again: merging the big segments of a 1M-article
/// index reads them whole, in the daemon, for no faster search (each segment answers from its
/// newest matches).
const MERGE_MOST: usize = 200_000;
/// The index writes nothing while the archive's filesystem has less free: it can be built
/// again, the archive cannot.
const KEEP_FREE: u64 = 64 * 1024 * 1024;
/// Candidates a search reads at most per page before it stops and offers the rest as a next
/// page (a query whose index form is much wider than the query itself).
const MOST_READ: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index {path}: {source}; gazette rebuilds it when it is removed")]
    Index {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// The index's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    id: IndexField,
    published: IndexField,
    title: IndexField,
    text: IndexField,
    author: IndexField,
    title_cjk: IndexField,
    text_cjk: IndexField,
    author_cjk: IndexField,
    source: IndexField,
    lang: IndexField,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("gazette_words")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let cjk = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("gazette_cjk")
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        published: b.add_i64_field(
            "published",
            NumericOptions::default() | INDEXED | tantivy::schema::FAST,
        ),
        title: b.add_text_field("title", words.clone()),
        text: b.add_text_field("text", words.clone()),
        author: b.add_text_field("author", words),
        title_cjk: b.add_text_field("title_cjk", cjk.clone()),
        text_cjk: b.add_text_field("text_cjk", cjk.clone()),
        author_cjk: b.add_text_field("author_cjk", cjk),
        source: b.add_text_field("source", STRING),
        lang: b.add_text_field("lang", STRING),
    };
    (b.build(), fields)
}

/// What a search found: one page, newest first, and where the next starts.
#[derive(Debug, Default)]
pub struct Hits {
    pub articles: Vec<Article>,
    /// The cursor of the next page (`None`: this is the last).
    pub next: Option<String>,
}

/// The index's state, for `/status`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SearchStatus {
    /// The index has every article the archive had when it was last checked (false while it is
    /// built).
    pub ready: bool,
    pub documents: u64,
}

/// The search index of one archive.
pub struct Search {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    ready: AtomicBool,
    documents: AtomicU64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    version: u32,
    /// The archive's write number the index reflects.
    seq: u64,
}

impl Search {
    /// Where the index of the archive at `archive` lives.
    pub fn dir_of(archive: &Path) -> PathBuf {
        let mut name = archive.file_name().unwrap_or_default().to_os_string();
        name.push(".search");
        archive.with_file_name(name)
    }

    /// Opens the index beside the archive at `archive`, creating it (empty, to be built) when
    /// it is missing, damaged or of another version.
    pub fn open(archive: &Path) -> Result<Search, SearchError> {
        let path = Search::dir_of(archive);
        let err = |source| SearchError::Index {
            path: path.clone(),
            source,
        };
        let (schema, fields) = schema();
        let usable = Index::open_in_dir(&path)
            .ok()
            .filter(|i| i.schema() == schema && payload(i).is_some_and(|p| p.version == VERSION));
        let index = match usable {
            Some(i) => i,
            None => {
                if path.exists() {
                    tracing::info!(index = %path.display(), "the search index is of another version or unreadable; building it again");
                    std::fs::remove_dir_all(&path).map_err(|e| err(e.into()))?;
                }
                std::fs::create_dir_all(&path).map_err(|e| err(e.into()))?;
                // newest first in every segment (see `candidates`)
                let settings = tantivy::IndexSettings {
                    sort_by_field: Some(tantivy::IndexSortByField {
                        field: "published".into(),
                        order: Order::Desc,
                    }),
                    ..tantivy::IndexSettings::default()
                };
                Index::builder()
                    .schema(schema)
                    .settings(settings)
                    .create_in_dir(&path)
                    .map_err(err)?
            }
        };
        index
            .tokenizers()
            .register("gazette_words", TextAnalyzer::from(tokens::Words));
        index
            .tokenizers()
            .register("gazette_cjk", TextAnalyzer::from(tokens::Cjk));
        let writer: IndexWriter = index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(err)?;
        let mut merges = tantivy::indexer::LogMergePolicy::default();
        merges.set_max_docs_before_merge(MERGE_MOST);
        writer.set_merge_policy(Box::new(merges));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        let search = Search {
            path,
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            ready: AtomicBool::new(false),
            documents: AtomicU64::new(0),
        };
        search.note_documents();
        Ok(search)
    }

    fn err(&self, source: tantivy::TantivyError) -> SearchError {
        SearchError::Index {
            path: self.path.clone(),
            source,
        }
    }

    fn note_documents(&self) {
        self.documents
            .store(self.reader.searcher().num_docs(), Ordering::Relaxed);
    }

    /// The archive write number the index's last commit reflects (`None`: never committed).
    pub fn indexed_seq(&self) -> Option<u64> {
        payload(&self.index).map(|p| p.seq)
    }

    pub fn status(&self) -> SearchStatus {
        SearchStatus {
            ready: self.ready.load(Ordering::Relaxed),
            documents: self.documents.load(Ordering::Relaxed),
        }
    }

    fn document(&self, a: &Article) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &a.id);
        d.add_i64(f.published, a.published.timestamp_millis());
        // the text field as the matcher reads it (`curate`): title, summary and text
        let text = [a.title.as_str(), &a.summary, &a.text].join("\n");
        let author = a.author.as_deref().unwrap_or("");
        for (words, cjk, value) in [
            (f.title, f.title_cjk, a.title.as_str()),
            (f.text, f.text_cjk, text.as_str()),
            (f.author, f.author_cjk, author),
        ] {
            d.add_text(words, value);
            d.add_text(cjk, value);
        }
        for s in &a.sources {
            d.add_text(f.source, s.to_lowercase());
        }
        if let Some(l) = &a.language {
            d.add_text(f.lang, l.to_lowercase());
        }
        d
    }

    /// Replaces the documents of `ids` with the articles as the archive now holds them (none
    /// for an article it no longer holds). Not committed.
    pub fn update(&self, archive: &Archive, ids: &[String]) -> Result<(), SearchError> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            writer.delete_term(tantivy::Term::from_field_text(self.fields.id, id));
            // an unreadable record is left out of search, as out of feeds
            if let Some(a) = archive.get_readable(id)? {
                writer
                    .add_document(self.document(&a))
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// Commits what was added, recording that the index reflects archive write `seq`, and
    /// makes it visible to searches.
    pub fn commit(&self, seq: u64) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut prepared = writer.prepare_commit().map_err(|e| self.err(e))?;
        let payload = Payload {
            version: VERSION,
            seq,
        };
        prepared.set_payload(&serde_json::to_string(&payload).unwrap_or_default());
        prepared.commit().map_err(|e| self.err(e))?;
        drop(writer);
        self.reader.reload().map_err(|e| self.err(e))?;
        self.note_documents();
        Ok(())
    }

    /// Builds the index again from every article of the archive (`verify --repair`, and an
    /// index that missed writes). Returns how many articles were indexed; `stop` ends it early
    /// (nothing is committed then, so the next start builds it again).
    pub fn rebuild(&self, archive: &Archive, stop: &AtomicBool) -> Result<u64, SearchError> {
        self.ready.store(false, Ordering::Relaxed);
        let started = Instant::now();
        // read first: every write after it reaches the index through the listener
        let seq = archive.write_seq()?;
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .delete_all_documents()
            .map_err(|e| self.err(e))?;
        let mut n = 0u64;
        let mut batch = Vec::with_capacity(1_000);
        for id in archive.ids() {
            if stop.load(Ordering::Relaxed) {
                return Ok(n);
            }
            batch.push(id?);
            if batch.len() == 1_000 {
                self.update(archive, &std::mem::take(&mut batch))?;
                n += 1_000;
            }
        }
        n += batch.len() as u64;
        self.update(archive, &batch)?;
        self.commit(seq)?;
        self.ready.store(true, Ordering::Relaxed);
        tracing::info!(
            articles = n,
            seconds = started.elapsed().as_secs_f64(),
            index = %self.path.display(),
            "built the search index"
        );
        Ok(n)
    }

    /// One page of the articles `query` matches, newest first, from `cursor` (an earlier
    /// page's `next`). `query` as a topic with no `sources` list would decide.
    pub fn search(
        &self,
        archive: &Archive,
        curator: &Curator,
        query: &Expr,
        cursor: Option<&str>,
        n: usize,
    ) -> Result<Hits, SearchError> {
        let candidates = match compile::compile(query, &self.fields, curator) {
            compile::Compiled::All => Box::new(tantivy::query::AllQuery),
            compile::Compiled::Query(q, _) => q,
        };
        let searcher = self.reader.searcher();
        let mut offset: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut hits = Hits::default();
        let mut read = 0;
        let mut want = (n + 1).max(16);
        loop {
            let batch = self.candidates(&searcher, candidates.as_ref(), offset, want)?;
            for (i, address) in batch.iter().enumerate() {
                let at = offset + i;
                if hits.articles.len() == n || read == MOST_READ {
                    hits.next = Some(at.to_string());
                    tracing::debug!(read, offset, "search page full");
                    return Ok(hits);
                }
                read += 1;
                let doc: TantivyDocument = searcher.doc(*address).map_err(|e| self.err(e))?;
                let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) else {
                    continue;
                };
                if let Some(a) = archive.get_readable(id)?
                    && curator.matches(query, &a)
                {
                    hits.articles.push(a);
                }
            }
            if batch.len() < want {
                tracing::debug!(read, offset, "search ran out");
                return Ok(hits);
            }
            offset += batch.len();
            want = (want * 2).min(512);
        }
    }

    /// Candidates `offset .. offset + want` of `query`, newest first. The index keeps each
    /// segment's documents newest first (sorted by `published`), so each segment's newest
    /// matches are its first ones: a common word that matches most of a million articles is
    /// answered after reading `offset + want` matches per segment, not all of them (ranking
    /// every match of a phrase took 36 ms at 100k articles, bench/search.py).
    fn candidates(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn tantivy::query::Query,
        offset: usize,
        want: usize,
    ) -> Result<Vec<tantivy::DocAddress>, SearchError> {
        use tantivy::DocSet;
        let weight = query
            .weight(tantivy::query::EnableScoring::disabled_from_searcher(
                searcher,
            ))
            .map_err(|e| self.err(e))?;
        let need = offset + want;
        let mut found: Vec<(i64, tantivy::DocAddress)> = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let published = segment
                .fast_fields()
                .i64("published")
                .map_err(|e| self.err(e))?;
            let alive = segment.alive_bitset();
            let mut scorer = weight.scorer(segment, 1.0).map_err(|e| self.err(e))?;
            let mut taken = 0;
            let mut doc = scorer.doc();
            while doc != tantivy::TERMINATED && taken < need {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    let at = published.first(doc).unwrap_or(i64::MIN);
                    found.push((at, tantivy::DocAddress::new(ord as u32, doc)));
                    taken += 1;
                }
                doc = scorer.advance();
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(found
            .into_iter()
            .skip(offset)
            .take(want)
            .map(|(_, a)| a)
            .collect())
    }
}

fn payload(index: &Index) -> Option<Payload> {
    let meta = index.load_metas().ok()?;
    serde_json::from_str(meta.payload.as_deref()?).ok()
}

/// Keeps the index up to date with the archive on a thread of its own: builds it when it
/// missed writes, then applies each write's changes, committing about once a second. Ends, with
/// a last commit, when the archive's listener is removed ([`Archive::set_listener`]`(None)`);
/// `stop` ends a build under way (the next start builds again).
pub fn follow(
    search: Arc<Search>,
    archive: Arc<Archive>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel::<(u64, Vec<String>)>();
    archive.set_listener(Some(Box::new(move |seq, ids| {
        // unbounded: the writer never waits for the index
        let _ = tx.send((seq, ids));
    })));
    std::thread::Builder::new()
        .name("search-index".into())
        .spawn(move || {
            let stale = match archive.write_seq() {
                Ok(seq) => search.indexed_seq() != Some(seq),
                Err(_) => true,
            };
            // changes the index lacks: its recorded number then stays behind the archive's
            let mut behind = false;
            if stale && archive.free_space().is_some_and(|f| f < KEEP_FREE) {
                behind = true;
                tracing::warn!(
                    "the archive's filesystem has less than 64 MiB free; the search index is not built (it is at the next start with more)"
                );
            } else if stale {
                if let Err(e) = search.rebuild(&archive, &stop) {
                    behind = true;
                    tracing::error!("building the search index failed: {e}");
                } else if stop.load(Ordering::Relaxed) {
                    // stopped before it committed
                    behind = true;
                }
            } else {
                search.ready.store(true, Ordering::Relaxed);
            }
            let mut pending: Vec<String> = Vec::new();
            let mut last_seq = None;
            let mut committed = None;
            let mut waiting = false;
            while let Ok(first) = rx.recv() {
                let since = Instant::now();
                let mut change = Some(first);
                let mut open = true;
                // gather a second's worth of writes into one commit
                while let Some((seq, ids)) = change.take() {
                    pending.extend(ids);
                    last_seq = Some(seq);
                    let left = Duration::from_secs(1).saturating_sub(since.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    match rx.recv_timeout(left) {
                        Ok(c) => change = Some(c),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => open = false,
                    }
                }
                pending.sort();
                pending.dedup();
                // writes that changed no article (poll states) only move the number, recorded
                // with the next commit or at the end
                if !pending.is_empty() {
                    if archive.free_space().is_some_and(|f| f < KEEP_FREE) {
                        // derived data never takes the archive's last space: wait, with the
                        // changes kept, for a write after space was freed
                        if !waiting {
                            tracing::warn!(
                                "the archive's filesystem has less than 64 MiB free; the search index waits until there is more"
                            );
                            waiting = true;
                        }
                    } else {
                        waiting = false;
                        // once changes were lost, the recorded number stays behind the
                        // archive's, so the next start builds the index again
                        let record = if behind { committed.unwrap_or(0) } else { last_seq.unwrap_or(0) };
                        match search
                            .update(&archive, &pending)
                            .and_then(|()| search.commit(record))
                        {
                            Ok(()) => committed = Some(record),
                            Err(e) => {
                                if !behind {
                                    tracing::error!("updating the search index failed: {e}; it is built again at the next start");
                                }
                                behind = true;
                            }
                        }
                        pending.clear();
                    }
                }
                if !open {
                    break;
                }
            }
            if !behind
                && pending.is_empty()
                && let Some(seq) = last_seq.filter(|s| committed != Some(*s))
                && let Err(e) = search.commit(seq)
            {
                tracing::error!("committing the search index failed: {e}");
            }
        })
        .unwrap_or_else(|e| {
            tracing::error!("cannot start the search indexer: {e}");
            std::thread::spawn(|| {})
        })
}
