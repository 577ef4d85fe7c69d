//! The embedded store's own tests: the conformance suites, crash recovery through the log,
//! retention and unreadable records.

use super::*;
use seatbroker_actors::store::conformance;

#[actix_rt::test]
async fn embedded_store_passes_the_conformance_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    conformance::run_all(&store, 100).await;
}

#[actix_rt::test]
async fn embedded_store_passes_the_account_conformance_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    crate::store::conformance::run_all(&store, 1_000).await;
}

#[actix_rt::test]
async fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        conformance::committed_changes_load_as_applied_in_order(&store, 7).await;
    }
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let snapshot = store.load(PoolId(7)).await.expect("load").expect("stored");
    assert_eq!(snapshot.seats.len(), 1);
    assert_eq!(store.live_pools().await, Ok(vec![PoolId(7)]));
}

fn grant(pool: u64, id: u64) -> PoolCommit {
    PoolCommit {
        pool: PoolId(pool),
        changes: vec![Change::SeatGranted(conformance::seat(id, 1))],
    }
}

/// What a power cut leaves of redb: its file as it was at the last durable commit.
struct DurableCopy(Vec<u8>);

impl DurableCopy {
    fn take(dir: &Path) -> Self {
        DurableCopy(std::fs::read(dir.join("seatbroker.redb")).expect("read the file"))
    }

    fn restore(&self, dir: &Path) {
        std::fs::write(dir.join("seatbroker.redb"), &self.0).expect("write the file");
    }
}

/// A store in a directory of its own, keeping usage `usage_retention_days`, holding
/// pool 1.
async fn store_with_pool(usage_retention_days: u32) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open_with_retention(dir.path(), usage_retention_days).expect("open");
    store
        .create_pool(PoolSnapshot::new(PoolId(1), AccountId(1), Vec::new()))
        .await
        .expect("create");
    (dir, store)
}

/// The start of day `d` of the usage tests.
fn day(d: u64) -> Timestamp {
    Timestamp(1_800_000_000_000)
        .day_start()
        .plus_secs(d * 86_400)
}

/// Pool 1's usage of the hour `hour`: one grant to `account`.
fn usage(hour: Timestamp, account: u32) -> PoolCommit {
    PoolCommit {
        pool: PoolId(1),
        changes: vec![Change::Usage(UsageRecord {
            hour,
            grants: 1,
            accounts: vec![AccountId(account)],
            ..UsageRecord::default()
        })],
    }
}

async fn seat_ids(store: &EmbeddedStore, pool: u64) -> Vec<u64> {
    let snapshot = store
        .load(PoolId(pool))
        .await
        .expect("load")
        .expect("stored");
    let mut ids: Vec<u64> = snapshot.seats.iter().map(|s| s.id.0).collect();
    ids.sort_unstable();
    ids
}

/// Group commits are durable through the log alone: with redb's file as it was before
/// them (its commits since were not synced), reopening applies the log's records.
#[actix_rt::test]
async fn s1_acknowledged_grants_survive_a_crash_that_loses_the_unsynced_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let durable = {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        for pool in [1, 2] {
            store
                .create_pool(PoolSnapshot::new(PoolId(pool), AccountId(1), Vec::new()))
                .await
                .expect("create");
        }
        let durable = DurableCopy::take(dir.path());
        assert_eq!(
            store.commit(&[grant(1, 1), grant(2, 1)]).await,
            vec![Ok(()), Ok(())]
        );
        assert_eq!(store.commit_blocking(&[grant(1, 2)]), vec![Ok(())]);
        durable
    };
    // Without its log, that file holds none of the grants.
    let bare = tempfile::tempdir().expect("temp dir");
    durable.restore(bare.path());
    let store = EmbeddedStore::open(bare.path()).expect("open the bare file");
    assert!(seat_ids(&store, 1).await.is_empty());
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(seat_ids(&store, 1).await, vec![1, 2]);
    assert_eq!(seat_ids(&store, 2).await, vec![1]);
    // The replay was made durable and the numbering goes on: a later crash replays only
    // what came after it.
    let durable = DurableCopy::take(dir.path());
    assert_eq!(store.commit_blocking(&[grant(1, 3)]), vec![Ok(())]);
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open(dir.path()).expect("reopen again");
    assert_eq!(seat_ids(&store, 1).await, vec![1, 2, 3]);
}

/// After a checkpoint the log starts again; a crash after it replays only the records
/// written since, onto the checkpointed file.
#[actix_rt::test]
async fn a_checkpoint_makes_the_log_start_again_and_a_crash_after_it_loses_nothing() {
    let (dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
    let mut id = 0;
    let mut logged = 0;
    loop {
        id += 1;
        assert_eq!(store.commit_blocking(&[grant(1, id)]), vec![Ok(())]);
        let now = {
            let log = store.shared.lock();
            log.wals[log.active].len()
        };
        if now < logged {
            break;
        }
        logged = now;
        assert!(id < 100_000, "no checkpoint after {id} commits");
    }
    assert!(logged >= CHECKPOINT_BYTES - 1_000, "{logged}");
    store.shared.settle();
    assert!(
        super::CHECKPOINT_SECONDS.snapshot().count >= 1,
        "the checkpoint's time is counted for the metrics"
    );
    let durable = DurableCopy::take(dir.path());
    for more in 1..=3 {
        assert_eq!(store.commit_blocking(&[grant(1, id + more)]), vec![Ok(())]);
    }
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let ids = seat_ids(&store, 1).await;
    assert_eq!(ids, (1..=id + 3).collect::<Vec<_>>());
}

/// Closes the checkpoint gate and grants seats 1, 2, ... of pool 1 until a checkpoint has
/// started (and waits at the gate): the gate, and the last seat granted.
fn hold_a_checkpoint(store: &EmbeddedStore) -> (std::sync::MutexGuard<'_, ()>, u64) {
    let gate = store.shared.gate.lock().expect("gate");
    let mut id = 0;
    while !store.shared.lock().checkpointing {
        id += 1;
        assert_eq!(store.commit_blocking(&[grant(1, id)]), vec![Ok(())]);
        assert!(id < 100_000, "no checkpoint after {id} commits");
    }
    (gate, id)
}

/// A checkpoint runs on a thread of its own: commits made during it are acknowledged at once
/// (logged in the log's other file), reach redb when it ends, and a crash during it loses
/// none of them.
#[actix_rt::test]
// The gate is held on purpose across the reads of a second store, to keep the checkpoint
// thread (which never awaits) in progress.
#[allow(clippy::await_holding_lock)]
async fn s1_commits_during_a_checkpoint_are_durable_and_applied_when_it_ends() {
    let (dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
    let durable = DurableCopy::take(dir.path());
    let (gate, id) = hold_a_checkpoint(&store);
    // The checkpoint waits at the gate, holding redb's writer; commits go on.
    for more in 1..=3 {
        assert_eq!(store.commit_blocking(&[grant(1, id + more)]), vec![Ok(())]);
    }
    assert_eq!(
        store.commit_blocking(&[grant(9, 1)]),
        vec![Err(StoreError::Unavailable(
            "pool P-9 is not stored".into()
        ))],
        "a pool not stored is refused during a checkpoint too"
    );
    assert_eq!(store.shared.lock().deferred.len(), 3);
    // A power cut now: redb's file as it was at its last durable commit, the log's two
    // files as they are.
    let crashed = tempfile::tempdir().expect("temp dir");
    durable.restore(crashed.path());
    for name in WAL_FILES {
        std::fs::copy(dir.path().join(name), crashed.path().join(name)).expect("copy the log");
    }
    let reopened = EmbeddedStore::open(crashed.path()).expect("open after the crash");
    assert_eq!(
        seat_ids(&reopened, 1).await,
        (1..=id + 3).collect::<Vec<_>>()
    );
    drop(reopened);
    drop(gate);
    store.shared.settle();
    {
        let log = store.shared.lock();
        assert!(!log.checkpointing && log.deferred.is_empty() && !log.broken);
    }
    assert_eq!(seat_ids(&store, 1).await, (1..=id + 3).collect::<Vec<_>>());
    // The file the checkpoint covered starts again; a crash now replays only the other.
    let durable = DurableCopy::take(dir.path());
    assert_eq!(store.commit_blocking(&[grant(1, id + 4)]), vec![Ok(())]);
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(seat_ids(&store, 1).await, (1..=id + 4).collect::<Vec<_>>());
}

/// Many commits held back by a checkpoint reach redb a chunk at a time (the log let go in
/// between, so the writer goes on) and in their order: a seat granted in one chunk and
/// removed in a later one stays removed.
#[actix_rt::test]
async fn s1_many_commits_held_back_reach_redb_in_order_a_chunk_at_a_time() {
    let (_dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
    let (gate, id) = hold_a_checkpoint(&store);
    let first_held = id + 1;
    let held = 3 * APPLY_CHUNK as u64 + 5;
    for more in 1..=held {
        assert_eq!(store.commit_blocking(&[grant(1, id + more)]), vec![Ok(())]);
    }
    // The first seat held back is removed by the last commit, chunks after it was granted.
    let removed = PoolCommit {
        pool: PoolId(1),
        changes: vec![Change::SeatRemoved(seatbroker_actors::Tombstone {
            seat: seatbroker_actors::SeatId(first_held),
            account: AccountId(1),
            reason: seatbroker_actors::GoneReason::Released,
            at: Timestamp(1_800_000_000_000),
        })],
    };
    assert_eq!(store.commit_blocking(&[removed]), vec![Ok(())]);
    assert_eq!(store.shared.lock().deferred.len() as u64, held + 1);
    drop(gate);
    store.shared.settle();
    assert!(store.shared.lock().deferred.is_empty());
    let expected: Vec<u64> = (1..=id + held).filter(|s| *s != first_held).collect();
    assert_eq!(seat_ids(&store, 1).await, expected);
}

/// A commit that panicked while holding the log leaves it poisoned: the next commit
/// checkpoints first, succeeds, and clears the poison.
#[actix_rt::test]
async fn a_commit_after_one_that_panicked_checkpoints_and_goes_on() {
    let (dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
    assert_eq!(store.commit_blocking(&[grant(1, 1)]), vec![Ok(())]);
    let shared = store.shared.clone();
    let panicked = std::thread::spawn(move || {
        let _held = shared.log.lock();
        panic!("a commit panics half-way");
    })
    .join();
    assert!(panicked.is_err() && store.shared.log.is_poisoned());
    assert_eq!(store.commit_blocking(&[grant(1, 2)]), vec![Ok(())]);
    assert!(!store.shared.log.is_poisoned());
    // The checkpoint made seat 1 durable in the file; seat 2 is in the log.
    let durable = DurableCopy::take(dir.path());
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(seat_ids(&store, 1).await, vec![1, 2]);
}

#[actix_rt::test]
async fn w4_usage_past_the_retention_is_forgotten() {
    let (_dir, store) = store_with_pool(2).await;
    for (d, account) in [(0, 1), (1, 2), (5, 3)] {
        assert_eq!(store.commit(&[usage(day(d), account)]).await, vec![Ok(())]);
    }
    let kept = store
        .usage(PoolId(1), day(0), day(10))
        .await
        .expect("usage");
    let hours: Vec<Timestamp> = kept.iter().map(|r| r.hour).collect();
    assert_eq!(
        hours,
        vec![day(5)],
        "days more than 2 before the newest are gone"
    );
}

/// The log's replay keeps usage as long as the store was told to, not the default.
#[actix_rt::test]
async fn w4_a_replayed_log_keeps_usage_for_the_configured_retention() {
    let (dir, store) = store_with_pool(1_000).await;
    let durable = DurableCopy::take(dir.path());
    for d in [0, 500] {
        assert_eq!(store.commit_blocking(&[usage(day(d), 1)]), vec![Ok(())]);
    }
    drop(store);
    durable.restore(dir.path());
    let store = EmbeddedStore::open_with_retention(dir.path(), 1_000).expect("reopen");
    let kept = store
        .usage(PoolId(1), day(0), day(600))
        .await
        .expect("usage");
    let hours: Vec<Timestamp> = kept.iter().map(|r| r.hour).collect();
    assert_eq!(hours, vec![day(0), day(500)]);
}

#[actix_rt::test]
async fn a_second_broker_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = EmbeddedStore::open(dir.path()).expect("open");
    let second = EmbeddedStore::open(dir.path());
    assert!(
        matches!(second, Err(OpenError::Database { .. })),
        "{second:?}"
    );
}

#[actix_rt::test]
async fn an_unreadable_record_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    {
        let tx = store.db.begin_write().expect("tx");
        tx.open_table(POOLS)
            .expect("table")
            .insert(9, b"\xc1 not msgpack".as_slice())
            .expect("insert");
        tx.commit().expect("commit");
    }
    assert!(matches!(
        store.load(PoolId(9)).await,
        Err(StoreError::Unavailable(_))
    ));
}
