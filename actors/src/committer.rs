//! The one writer per store (DESIGN.md, "durable before acknowledged"): pool actors hand it
//! their pending changes; it takes everything pending from every pool, commits it in one
//! store call, then hands each actor its result. Each actor has at most one commit in flight,
//! so a pool's changes reach the store in the order they happened. No pool waits for a timer:
//! the first request is committed at once, and whatever arrives while a commit is in flight
//! rides in the next one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::ids::PoolId;
use crate::model::Change;
use crate::stats::{AtomicHistogram, BATCH_SIZES, COMMIT_SECONDS};
use crate::store::{PoolCommit, PoolStore, StoreError};

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
    /// Starts the writer on the current tokio runtime. At most `max_batch` pool commits go in
    /// one store call. The queue needs no bound of its own: each pool has at most one
    /// request in it.
    pub fn start(store: Arc<dyn PoolStore>, max_batch: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(CommitStats::default());
        tokio::spawn(run(store, rx, max_batch.max(1), stats.clone()));
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

async fn run(
    store: Arc<dyn PoolStore>,
    mut rx: mpsc::UnboundedReceiver<CommitRequest>,
    max_batch: usize,
    stats: Arc<CommitStats>,
) {
    let mut requests = Vec::new();
    while let Some(first) = rx.recv().await {
        requests.push(first);
        while requests.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => requests.push(next),
                Err(_) => break,
            }
        }
        let batch: Vec<PoolCommit> = requests
            .iter_mut()
            .map(|r| PoolCommit {
                pool: r.pool,
                changes: std::mem::take(&mut r.changes),
            })
            .collect();
        let started = std::time::Instant::now();
        let mut results = store.commit(&batch).await.into_iter();
        stats.seconds.observe(started.elapsed().as_secs_f64());
        stats.batch_sizes.observe(batch.len() as f64);
        stats.store_calls.fetch_add(1, Ordering::Relaxed);
        stats
            .pool_commits
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let changes: usize = batch.iter().map(|c| c.changes.len()).sum();
        stats.changes.fetch_add(changes as u64, Ordering::Relaxed);
        for (request, commit) in requests.drain(..).zip(batch) {
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
