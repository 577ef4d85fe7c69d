//! The one writer per store (DESIGN.md, "durable before acknowledged"): pool actors hand it
//! their pending changes; it takes everything pending from every pool, commits it in one
//! store call, then hands each actor its result. Each actor has at most one commit in flight,
//! so a pool's changes reach the store in the order they happened. No pool waits for a timer:
//! the first request is committed at once, and whatever arrives while a commit is in flight
//! rides in the next one. A store whose commit is blocking work (the embedded store) gets a
//! thread of its own for the writer, so a batch costs no hop to a blocking pool and back;
//! other stores (Redis) run the writer as a task on the current runtime.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::ids::PoolId;
use crate::model::Change;
use crate::stats::{AtomicHistogram, BATCH_SIZES, COMMIT_SECONDS};
use crate::store::{PoolCommit, PoolStore, StoreError};

/// The name of the writer's thread, when it has one (seen in `top -H` and in profiles).
pub const THREAD_NAME: &str = "seatbroker-commit";

/// A pool's changes on their way to the store, and where to send the result.
struct CommitRequest {
    pool: PoolId,
    changes: Vec<Change>,
    reply: oneshot::Sender<CommitResult>,
}

/// The outcome of one pool's commit; the changes come back so a failure can be undone.
#[derive(Debug)]
pub struct CommitResult {
    /// The changes that were committed, or were not.
    pub changes: Vec<Change>,
    /// Whether they are durable.
    pub result: Result<(), StoreError>,
}

/// Counters of the committer's work, for metrics and for the group-commit tests.
#[derive(Debug)]
pub struct CommitStats {
    /// Store calls made.
    pub store_calls: AtomicU64,
    /// Pool commits carried by those calls.
    pub pool_commits: AtomicU64,
    /// Changes carried by those calls.
    pub changes: AtomicU64,
    /// Pool commits that failed.
    pub failures: AtomicU64,
    /// Seconds each store call took.
    pub seconds: AtomicHistogram,
    /// Pool commits each store call carried.
    pub batch_sizes: AtomicHistogram,
}

impl Default for CommitStats {
    fn default() -> Self {
        CommitStats {
            store_calls: AtomicU64::new(0),
            pool_commits: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            seconds: AtomicHistogram::new(COMMIT_SECONDS),
            batch_sizes: AtomicHistogram::new(BATCH_SIZES),
        }
    }
}

/// The handle actors submit their changes through. Cheap to clone.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::UnboundedSender<CommitRequest>,
    stats: Arc<CommitStats>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").finish_non_exhaustive()
    }
}

impl Committer {
    /// Starts the writer: on a thread of its own when the store commits by blocking, else on
    /// the current tokio runtime. At most `max_batch` pool commits go in one store call. The
    /// queue needs no bound of its own: each pool has at most one request in it.
    pub fn start(store: Arc<dyn PoolStore>, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(CommitStats::default());
        let writer = Writer {
            rx,
            max_batch: max_batch.max(1),
            stats: stats.clone(),
            requests: Vec::new(),
        };
        if store.blocking_commit().is_some() {
            let spawned = std::thread::Builder::new().name(THREAD_NAME.into()).spawn({
                let store = store.clone();
                move || writer.run_blocking(store)
            });
            if let Err(e) = spawned {
                // Without a thread the actors' commits fail (their replies are dropped)
                // and are answered 503, which the log explains.
                tracing::error!(%e, "cannot start the store's writer thread");
            }
        } else {
            tokio::spawn(writer.run(store));
        }
        Committer { tx, stats }
    }

    /// Queues a pool's changes; the answer arrives once they are durable, or are not.
    pub fn submit(&self, pool: PoolId, changes: Vec<Change>) -> oneshot::Receiver<CommitResult> {
        let (reply, rx) = oneshot::channel();
        // A writer that is gone drops the reply, and the actor hears the commit failed.
        let _ = self.tx.send(CommitRequest {
            pool,
            changes,
            reply,
        });
        rx
    }

    /// The writer's counters.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }
}

/// The writer's side of the queue, and the batch it is working on.
struct Writer {
    rx: mpsc::UnboundedReceiver<CommitRequest>,
    max_batch: usize,
    stats: Arc<CommitStats>,
    requests: Vec<CommitRequest>,
}

impl Writer {
    /// The writer as a task: for stores that commit asynchronously.
    async fn run(mut self, store: Arc<dyn PoolStore>) {
        while let Some(first) = self.rx.recv().await {
            let batch = self.take_batch(first);
            let started = std::time::Instant::now();
            let results = store.commit(&batch).await;
            self.answer(batch, results, started);
        }
    }

    /// The writer on a thread of its own: for stores whose commit blocks. A panic inside
    /// the store fails that batch, not the writer.
    fn run_blocking(mut self, store: Arc<dyn PoolStore>) {
        let Some(blocking) = store.blocking_commit() else {
            return;
        };
        while let Some(first) = self.rx.blocking_recv() {
            let batch = self.take_batch(first);
            let started = std::time::Instant::now();
            let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                blocking.commit_blocking(&batch)
            }))
            .unwrap_or_else(|_| {
                tracing::error!("the store panicked in a commit");
                let failed = StoreError::Unavailable("the store failed in a commit".into());
                batch.iter().map(|_| Err(failed.clone())).collect()
            });
            self.answer(batch, results, started);
        }
    }

    /// `first` and whatever else is queued, up to `max_batch` pools, as one store call.
    fn take_batch(&mut self, first: CommitRequest) -> Vec<PoolCommit> {
        self.requests.push(first);
        while self.requests.len() < self.max_batch {
            match self.rx.try_recv() {
                Ok(next) => self.requests.push(next),
                Err(_) => break,
            }
        }
        self.requests
            .iter_mut()
            .map(|r| PoolCommit {
                pool: r.pool,
                changes: std::mem::take(&mut r.changes),
            })
            .collect()
    }

    /// Counts the store call and hands each pool its result and its changes back.
    fn answer(
        &mut self,
        batch: Vec<PoolCommit>,
        results: Vec<Result<(), StoreError>>,
        started: std::time::Instant,
    ) {
        let stats = &self.stats;
        stats.seconds.observe(started.elapsed().as_secs_f64());
        stats.batch_sizes.observe(batch.len() as f64);
        stats.store_calls.fetch_add(1, Ordering::Relaxed);
        stats
            .pool_commits
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let changes: usize = batch.iter().map(|c| c.changes.len()).sum();
        stats.changes.fetch_add(changes as u64, Ordering::Relaxed);
        let mut results = results.into_iter();
        for (request, commit) in self.requests.drain(..).zip(batch) {
            let result = results.next().unwrap_or_else(|| {
                Err(StoreError::Unavailable(
                    "the store answered fewer results than pools".into(),
                ))
            });
            if result.is_err() {
                stats.failures.fetch_add(1, Ordering::Relaxed);
            }
            let _ = request.reply.send(CommitResult {
                changes: commit.changes,
                result,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use super::*;
    use crate::ids::AccountId;
    use crate::model::{PoolSnapshot, UsageRecord};
    use crate::store::{BlockingCommit, MemoryStore, StoreFuture};
    use crate::time::Timestamp;

    /// A memory store that commits by blocking, notes the thread of each commit and can be
    /// told to panic inside one.
    #[derive(Default)]
    struct BlockingStore {
        inner: MemoryStore,
        panic: AtomicBool,
        threads: Mutex<Vec<Option<String>>>,
    }

    impl PoolStore for BlockingStore {
        fn create_pool(&self, snapshot: PoolSnapshot) -> StoreFuture<'_, Result<(), StoreError>> {
            self.inner.create_pool(snapshot)
        }
        fn load(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolSnapshot>, StoreError>> {
            self.inner.load(pool)
        }
        fn commit<'a>(
            &'a self,
            batch: &'a [PoolCommit],
        ) -> StoreFuture<'a, Vec<Result<(), StoreError>>> {
            self.inner.commit(batch)
        }
        fn live_pools(&self) -> StoreFuture<'_, Result<Vec<PoolId>, StoreError>> {
            self.inner.live_pools()
        }
        fn usage(
            &self,
            pool: PoolId,
            from: Timestamp,
            to: Timestamp,
        ) -> StoreFuture<'_, Result<Vec<UsageRecord>, StoreError>> {
            self.inner.usage(pool, from, to)
        }
        fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>> {
            self.inner.ping()
        }
        fn blocking_commit(&self) -> Option<&dyn BlockingCommit> {
            Some(self)
        }
    }

    impl BlockingCommit for BlockingStore {
        fn commit_blocking(&self, batch: &[PoolCommit]) -> Vec<Result<(), StoreError>> {
            let thread = std::thread::current().name().map(str::to_owned);
            self.threads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(thread);
            if self.panic.load(Ordering::SeqCst) {
                panic!("the disk is on fire");
            }
            // The memory store's commit is ready at once when it has no latency.
            let mut commit = self.inner.commit(batch);
            match commit
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(results) => results,
                Poll::Pending => batch
                    .iter()
                    .map(|_| Err(StoreError::Unavailable("not ready".into())))
                    .collect(),
            }
        }
    }

    #[tokio::test]
    async fn a_blocking_store_commits_on_the_writer_thread_which_outlives_a_panic() {
        let store = Arc::new(BlockingStore::default());
        let pool = PoolId(1);
        store
            .create_pool(PoolSnapshot::new(pool, AccountId(1), Vec::new()))
            .await
            .expect("create pool");
        let committer = Committer::start(store.clone(), 16);

        let first = committer.submit(pool, Vec::new()).await.expect("answer");
        assert!(first.result.is_ok());
        store.panic.store(true, Ordering::SeqCst);
        let failed = committer.submit(pool, Vec::new()).await.expect("answer");
        assert!(matches!(failed.result, Err(StoreError::Unavailable(_))));
        store.panic.store(false, Ordering::SeqCst);
        let again = committer.submit(pool, Vec::new()).await.expect("answer");
        assert!(again.result.is_ok());

        let threads = store.threads.lock().expect("threads").clone();
        assert_eq!(threads, vec![Some(THREAD_NAME.to_owned()); 3]);
        assert_eq!(store.inner.commit_calls(), 2);
        assert_eq!(committer.stats().failures.load(Ordering::Relaxed), 1);
        assert_eq!(committer.stats().store_calls.load(Ordering::Relaxed), 3);
    }
}
