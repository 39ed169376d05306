//! The threads a poll's CPU work and archive writes run on, as one value ([`Workers`]) that
//! whoever polls creates, hands to the [`Poller`](super::Poller), and drains and joins when it
//! stops: a background pool for reading documents and preparing articles, and one writer
//! thread for commits.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::archive::{Archive, ArchiveError, Commit, Pending, Speculation};
use crate::curate::Curator;
use crate::model::{PollState, SourceEvent};
use crate::normalize::Candidate;

/// Why a job sent to another thread gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("internal error (a bug: please report it)")]
    Panicked,
    #[error("internal error: the background task was dropped")]
    Dropped,
}

/// Most polls stored in one transaction, and most candidates among them: a group's
/// transaction holds all of its writes in memory.
const MAX_GROUP: usize = 32;
const MAX_GROUP_CANDIDATES: usize = 2000;

type Reply = tokio::sync::oneshot::Sender<Result<Result<Commit, ArchiveError>, JobError>>;

enum WriterJob {
    Run(Box<dyn FnOnce() + Send>),
    Store(Box<Store>, Reply),
}

/// One poll waiting for the writer, with everything [`Archive::commit`] takes.
pub(super) struct Store {
    pub archive: Arc<Archive>,
    pub source: String,
    pub candidates: Arc<Vec<Candidate>>,
    pub state: PollState,
    pub now: DateTime<Utc>,
    pub curator: Arc<Curator>,
    pub events: Vec<SourceEvent>,
    pub guess: Speculation,
}

/// The background pool and the writer thread.
///
/// The pool runs the CPU-heavy half of a poll (reading a document, preparing its articles):
/// rayon, one thread per core, each at nice 10. When nothing else wants the CPU the pool uses
/// all of it; when HTTP requests arrive, the server's threads (nice 0) win the CPU, so a cold
/// ingest does not push topic-feed latency up (bench/run: p99 while ingesting).
///
/// The writer is one plain thread (nice 10) blocked on a channel: commits take the archive's
/// write lock one at a time anyway; on the pool, a poll waiting for the lock held one of its
/// threads idle, and with two cores half the pool then stood still (perf, 500-feed cold
/// ingest: 65% of two cores busy). Not a rayon pool: an idle rayon worker spins for a while
/// looking for work before it sleeps, and the writer idles between every commit.
///
/// A job that panics is an error of the one poll it belongs to, never of the threads.
pub struct Workers {
    pool: Option<rayon::ThreadPool>,
    writer: Mutex<Option<mpsc::Sender<WriterJob>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Workers {
    /// Starts the pool and the writer thread. Where threads cannot be started, jobs run on the
    /// async runtime's blocking threads instead (slower, never lost).
    pub fn start() -> Arc<Workers> {
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("gazette-cpu-{i}"))
            .start_handler(|_| lower_this_threads_priority())
            .build()
            .map_err(|e| tracing::warn!("cannot start the background pool: {e}"))
            .ok();
        let (tx, rx) = mpsc::channel::<WriterJob>();
        let thread = std::thread::Builder::new()
            .name("gazette-writer".into())
            .spawn(move || {
                lower_this_threads_priority();
                run_writer(&rx);
            })
            .map_err(|e| tracing::warn!("cannot start the archive writer thread: {e}"))
            .ok();
        let writer = thread.as_ref().map(|_| tx);
        Arc::new(Workers {
            pool,
            writer: Mutex::new(writer),
            thread: Mutex::new(thread),
        })
    }

    /// Runs `job` on the background pool.
    pub async fn on_cpu<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, JobError> {
        let (work, result) = catching(job);
        match &self.pool {
            Some(pool) => pool.spawn(work),
            None => drop(tokio::task::spawn_blocking(work)),
        }
        result.await
    }

    /// Queues `job` on the writer thread, after every job queued before it (at once, not
    /// when the returned future is first polled), and returns its result.
    pub fn on_writer<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> impl std::future::Future<Output = Result<R, JobError>> {
        let (work, result) = catching(job);
        self.send(WriterJob::Run(Box::new(work)));
        result
    }

    /// Stores one poll on the writer thread; polls queued there meanwhile are stored with it
    /// ([`Archive::commit_group`]).
    pub(super) async fn store(
        &self,
        store: Store,
    ) -> Result<Result<Commit, ArchiveError>, JobError> {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.send(WriterJob::Store(Box::new(store), reply));
        result.await.unwrap_or(Err(JobError::Dropped))
    }

    /// Returns once every job queued on the writer so far has ended.
    pub async fn idle(&self) {
        // the queue is first in, first out: a no-op runs after everything queued before it
        let _ = self.on_writer(|| ()).await;
    }

    /// Stops taking jobs, lets the writer finish what is queued, and joins it, waiting at most
    /// `limit`; returns whether it ended in time. Blocking. Jobs sent afterwards run on the
    /// runtime's blocking threads.
    pub fn shutdown(&self, limit: Duration) -> bool {
        drop(self.writer.lock().unwrap_or_else(|p| p.into_inner()).take());
        let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return true;
        };
        let deadline = std::time::Instant::now() + limit;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().is_ok()
    }

    fn send(&self, job: WriterJob) {
        let sent = match &*self.writer.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(q) => q.send(job).map_err(|back| back.0),
            None => Err(job),
        };
        if let Err(job) = sent {
            // no writer thread (never started, or shut down): the runtime's blocking threads
            drop(tokio::task::spawn_blocking(move || match job {
                WriterJob::Run(work) => work(),
                WriterJob::Store(store, reply) => store_group(vec![(store, reply)]),
            }));
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // the writer ends once its queue is empty; nobody waits for it here
        drop(
            self.writer
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}

/// The writer thread: jobs in the order they were queued, each store together with the stores
/// queued right behind it (for the same archive), up to the group limits. Ends when every
/// sender is gone and the queue is empty.
fn run_writer(rx: &mpsc::Receiver<WriterJob>) {
    let mut next = None;
    while let Some(job) = next.take().or_else(|| rx.recv().ok()) {
        let (first, reply) = match job {
            WriterJob::Run(work) => {
                work();
                continue;
            }
            WriterJob::Store(store, reply) => (store, reply),
        };
        let mut candidates = first.candidates.len();
        let mut group = vec![(first, reply)];
        while group.len() < MAX_GROUP && candidates < MAX_GROUP_CANDIDATES {
            match rx.try_recv() {
                Ok(WriterJob::Store(store, reply))
                    if Arc::ptr_eq(&store.archive, &group[0].0.archive) =>
                {
                    candidates += store.candidates.len();
                    group.push((store, reply));
                }
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        store_group(group);
    }
}

/// Stores a group of polls and answers each. A panic fails only the poll that causes it: the
/// group is then stored again one poll at a time.
fn store_group(mut group: Vec<(Box<Store>, Reply)>) {
    let joint = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commit_stores(group.iter_mut().map(|(s, _)| &mut **s))
    }));
    match joint {
        Ok(results) => {
            for ((_, reply), result) in group.into_iter().zip(results) {
                // the poll may have been cancelled (shutdown): nobody waits for the result then
                let _ = reply.send(Ok(result));
            }
        }
        Err(_) => {
            let retry_alone = group.len() > 1;
            for (mut store, reply) in group {
                let result = if retry_alone {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        commit_stores(std::iter::once(&mut *store)).pop()
                    }))
                    .ok()
                    .flatten()
                } else {
                    None
                };
                let _ = reply.send(result.ok_or(JobError::Panicked));
            }
        }
    }
}

fn commit_stores<'s>(
    stores: impl Iterator<Item = &'s mut Store>,
) -> Vec<Result<Commit, ArchiveError>> {
    let stores: Vec<&mut Store> = stores.collect();
    let Some(archive) = stores.first().map(|s| Arc::clone(&s.archive)) else {
        return Vec::new();
    };
    let curators: Vec<Arc<Curator>> = stores.iter().map(|s| Arc::clone(&s.curator)).collect();
    let curates: Vec<_> = curators
        .iter()
        .map(|c| move |a: &crate::model::Article| c.topics_for(a))
        .collect();
    let mut pending: Vec<Pending<'_>> = stores
        .into_iter()
        .zip(&curates)
        .map(|(s, curate)| Pending {
            source: &s.source,
            candidates: &s.candidates,
            state: &s.state,
            now: s.now,
            curate,
            events: &s.events,
            guess: std::mem::take(&mut s.guess),
        })
        .collect();
    archive.commit_group(&mut pending)
}

/// `job` wrapped to run on another thread, and the future of its result: a panic in it is an
/// error of the one poll it belongs to.
fn catching<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> (
    impl FnOnce() + Send + 'static,
    impl std::future::Future<Output = Result<R, JobError>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let work = move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        // the poll may have been cancelled (shutdown): nobody waits for the result then
        let _ = tx.send(result);
    };
    let result = async move {
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(_)) => Err(JobError::Panicked),
            Err(_) => Err(JobError::Dropped),
        }
    };
    (work, result)
}

/// nice 10 for the calling thread only: on Linux the nice value is per thread (setpriority(2),
/// NOTES), so the HTTP server and the scheduler keep their priority.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        let rc = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 10)
        };
        if rc != 0 {
            tracing::debug!("setpriority failed: {}", std::io::Error::last_os_error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit that panics must fail its own poll only: the one writer thread carries on with
    /// the next, in the order they were queued.
    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_thread_keeps_running() {
        let workers = Workers::start();
        let panicked = workers
            .on_writer(|| -> u32 { panic!("a bug in one commit") })
            .await;
        assert_eq!(panicked, Err(JobError::Panicked));
        let order = Arc::new(Mutex::new(Vec::new()));
        let jobs: Vec<_> = (0..5)
            .map(|i| {
                let order = Arc::clone(&order);
                workers.on_writer(move || {
                    order.lock().expect("lock").push(i);
                    i * 2
                })
            })
            .collect();
        let results = futures_util::future::join_all(jobs).await;
        assert_eq!(results, (0..5).map(|i| Ok(i * 2)).collect::<Vec<_>>());
        workers.idle().await;
        assert_eq!(*order.lock().expect("lock"), [0, 1, 2, 3, 4]);
        let on_pool = workers
            .on_cpu(|| -> u32 { panic!("a bug in one read") })
            .await;
        assert!(on_pool.is_err());
        assert_eq!(workers.on_cpu(|| 7).await, Ok(7));
    }

    /// Shutdown runs what was queued before it, joins the writer thread, and later jobs still
    /// run (on the runtime's blocking threads).
    #[tokio::test]
    async fn shutdown_drains_the_queue_and_joins_the_writer() {
        let workers = Workers::start();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let done = Arc::clone(&done);
                workers.on_writer(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        let w = Arc::clone(&workers);
        let joined = tokio::task::spawn_blocking(move || w.shutdown(Duration::from_secs(30)))
            .await
            .expect("join");
        assert!(joined, "the writer thread ended");
        assert_eq!(
            done.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "queued jobs ran first"
        );
        for r in futures_util::future::join_all(queued).await {
            assert_eq!(r, Ok(()));
        }
        assert_eq!(workers.on_writer(|| 5).await, Ok(5));
    }
}
