//! The storage contract of the engine: `PoolStore`, the trait every backend implements (the
//! embedded file store and Redis live in the service crate), and `MemoryStore`, an in-memory
//! implementation for the engine's own tests and benchmarks that can be told to fail or to
//! take time like a disk. The conformance tests every backend must pass are in `conformance`.
//!
//! The engine persists only what its tables own: seats, member status, tombstones, the seat
//! counter and usage counts. Pools themselves, their licenses and settings are written by the
//! service (activation, `PATCH /v1/pools/{pool}`), which then tells the pool's actor.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hashbrown::HashMap;

use crate::ids::PoolId;
use crate::model::{Change, PoolSnapshot, UsageRecord};
use crate::time::Timestamp;

/// A boxed future returned by a store, so stores can be used as trait objects.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer or refused (disk full, Redis down, timeout).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Another node took the pool over (a newer ownership epoch); this node must let go.
    #[error("pool {0} is owned by another node")]
    PoolOwnedElsewhere(PoolId),
    /// A pool was created twice.
    #[error("pool {0} exists already")]
    PoolExists(PoolId),
}

/// One pool's changes in one group commit, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCommit {
    /// The pool.
    pub pool: PoolId,
    /// Its changes since its previous commit.
    pub changes: Vec<Change>,
}

/// What the engine needs from storage.
pub trait PoolStore: Send + Sync + 'static {
    /// Creates a pool (the service does this when an owner activates a first license).
    fn create_pool(&self, snapshot: PoolSnapshot) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Everything needed to rebuild the pool's table; `None` for an unknown pool. A backend
    /// that fences owners (Redis) takes the pool's ownership here.
    fn load(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolSnapshot>, StoreError>>;

    /// Persists the changes of several pools at once (one transaction or one pipeline) and
    /// answers one result per entry of `batch`, in order. Each pool's changes are applied in
    /// order and atomically: all of them or none.
    fn commit<'a>(
        &'a self,
        batch: &'a [PoolCommit],
    ) -> StoreFuture<'a, Vec<Result<(), StoreError>>>;

    /// The pools that hold seats, to be loaded at start so that their expiries fire.
    fn live_pools(&self) -> StoreFuture<'_, Result<Vec<PoolId>, StoreError>>;

    /// W4: the pool's usage records of the hours starting in `[from, to)`, oldest first,
    /// each with the accounts seen in its hour; a record's `day_accounts` holds at least the
    /// accounts seen in its day up to its hour and at most those of the whole day, so a
    /// day's distinct accounts are the union over its hours. Records older than the store's
    /// retention may be gone.
    fn usage(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'_, Result<Vec<UsageRecord>, StoreError>>;

    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>>;

    /// `commit` as blocking work on the calling thread, for a store whose commit is
    /// synchronous (the embedded store waits for fsync). The committer then runs on a thread
    /// of its own and calls this, instead of hopping to a blocking pool and back for every
    /// batch. `None`, the default, for stores that commit asynchronously.
    fn blocking_commit(&self) -> Option<&dyn BlockingCommit> {
        None
    }
}

/// A store's commit as synchronous work (see `PoolStore::blocking_commit`).
pub trait BlockingCommit {
    /// Does what `PoolStore::commit` does, blocking the calling thread until it is durable.
    fn commit_blocking(&self, batch: &[PoolCommit]) -> Vec<Result<(), StoreError>>;
}

/// An in-memory store for tests and benchmarks: the reference semantics of `PoolStore`
/// (`PoolSnapshot::apply`), plus switches to fail commits and to take time like a disk.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pools: Mutex<HashMap<PoolId, PoolSnapshot>>,
    usage: Mutex<HashMap<PoolId, std::collections::BTreeMap<Timestamp, UsageRecord>>>,
    fail: AtomicBool,
    latency_us: AtomicU64,
    calls: AtomicU64,
    pool_commits: AtomicU64,
    changes: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, every commit and load fails (`true`) or works again (`false`).
    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// Makes each commit take this long, like an fsync.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_us
            .store(latency.as_micros() as u64, Ordering::SeqCst);
    }

    /// How many times `commit` was called.
    pub fn commit_calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// How many pool commits all calls carried together.
    pub fn pool_commits(&self) -> u64 {
        self.pool_commits.load(Ordering::SeqCst)
    }

    /// How many changes all commits carried together.
    pub fn changes_committed(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// The stored state of a pool.
    pub fn get(&self, pool: PoolId) -> Option<PoolSnapshot> {
        self.lock().get(&pool).cloned()
    }

    fn usage_lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<PoolId, std::collections::BTreeMap<Timestamp, UsageRecord>>,
    > {
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolId, PoolSnapshot>> {
        // A panic while holding the lock leaves consistent data: each commit applies fully
        // before the guard drops or not at all.
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failing(&self) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("memory store told to fail".into()))
        } else {
            Ok(())
        }
    }
}

impl PoolStore for MemoryStore {
    fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.failing() })
    }

    fn create_pool(&self, snapshot: PoolSnapshot) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.failing()?;
            let mut pools = self.lock();
            if pools.contains_key(&snapshot.pool) {
                return Err(StoreError::PoolExists(snapshot.pool));
            }
            pools.insert(snapshot.pool, snapshot);
            Ok(())
        })
    }

    fn load(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolSnapshot>, StoreError>> {
        Box::pin(async move {
            self.failing()?;
            Ok(self.get(pool))
        })
    }

    fn commit<'a>(
        &'a self,
        batch: &'a [PoolCommit],
    ) -> StoreFuture<'a, Vec<Result<(), StoreError>>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let latency = self.latency_us.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(Duration::from_micros(latency)).await;
            }
            if let Err(e) = self.failing() {
                return batch.iter().map(|_| Err(e.clone())).collect();
            }
            let mut pools = self.lock();
            batch
                .iter()
                .map(|commit| {
                    let snapshot = pools.get_mut(&commit.pool).ok_or_else(|| {
                        StoreError::Unavailable(format!("pool {} is not stored", commit.pool))
                    })?;
                    snapshot.apply(&commit.changes);
                    let mut usage = self.usage_lock();
                    let hours = usage.entry(commit.pool).or_default();
                    for change in &commit.changes {
                        if let Change::Usage(rec) = change {
                            let before = hours.range(..=rec.hour).next_back().map(|(_, r)| r);
                            let merged = rec.merged_after(before);
                            hours.insert(rec.hour, merged);
                        }
                    }
                    self.pool_commits.fetch_add(1, Ordering::SeqCst);
                    self.changes
                        .fetch_add(commit.changes.len() as u64, Ordering::SeqCst);
                    Ok(())
                })
                .collect()
        })
    }

    fn usage(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'_, Result<Vec<UsageRecord>, StoreError>> {
        Box::pin(async move {
            self.failing()?;
            Ok(self
                .usage_lock()
                .get(&pool)
                .map(|hours| hours.range(from..to).map(|(_, r)| r.clone()).collect())
                .unwrap_or_default())
        })
    }

    fn live_pools(&self) -> StoreFuture<'_, Result<Vec<PoolId>, StoreError>> {
        Box::pin(async move {
            self.failing()?;
            let mut live: Vec<PoolId> = self
                .lock()
                .values()
                .filter(|s| !s.seats.is_empty())
                .map(|s| s.pool)
                .collect();
            live.sort_unstable();
            Ok(live)
        })
    }
}

/// The conformance tests of `PoolStore`: every backend runs them (`run_all`) against a real
/// instance of itself. Each check creates its own pools from `first_pool` upwards.
pub mod conformance {
    use super::*;
    use crate::ids::{AccountId, DeviceId, LicenseId, Platform, Policy, SeatId};
    use crate::model::{GoneReason, License, SeatRecord, Tombstone, TrialDays, UsageRecord};
    use crate::time::Timestamp;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn pool(id: u64) -> PoolSnapshot {
        PoolSnapshot::new(
            PoolId(id),
            AccountId(0x0A0_001),
            vec![License {
                id: LicenseId(7),
                seats: 10,
                expires_at: Some(NOW.plus_secs(86_400)),
                trial: false,
            }],
        )
    }

    /// A member's seat `id` of `account`, granted at the suites' fixed time.
    pub fn seat(id: u64, account: u32) -> SeatRecord {
        SeatRecord {
            id: SeatId(id),
            account: AccountId(account),
            device: DeviceId::parse(&format!("device-{id}")).expect("a valid device id"),
            platform: Platform::Windows,
            policy: Policy::Member,
            granted_at: NOW,
            deadline: Some(NOW.plus_secs(600)),
            offline_until: None,
            last_active: NOW,
            offline_file: false,
        }
    }

    fn removed(id: u64, account: u32, reason: GoneReason) -> Change {
        Change::SeatRemoved(Tombstone {
            seat: SeatId(id),
            account: AccountId(account),
            reason,
            at: NOW.plus_secs(5),
        })
    }

    async fn commit_one(store: &dyn PoolStore, pool: PoolId, changes: Vec<Change>) {
        let results = store.commit(&[PoolCommit { pool, changes }]).await;
        assert_eq!(results, vec![Ok(())], "commit of pool {pool}");
    }

    /// Runs every check; panics on the first that fails.
    pub async fn run_all(store: &dyn PoolStore, first_pool: u64) {
        assert_eq!(store.ping().await, Ok(()), "a working store answers a ping");
        unknown_pool_loads_as_none(store, first_pool).await;
        created_pool_loads_as_created(store, first_pool + 1).await;
        committed_changes_load_as_applied_in_order(store, first_pool + 2).await;
        one_commit_carries_many_pools(store, first_pool + 3).await;
        live_pools_are_those_holding_seats(store, first_pool + 10).await;
        seat_counter_survives_removal(store, first_pool + 20).await;
        creating_a_pool_twice_is_refused(store, first_pool + 21).await;
        trial_days_load_as_committed(store, first_pool + 22).await;
        usage_hours_read_back_in_range_with_their_accounts(store, first_pool + 23).await;
        an_hours_events_read_back_in_order_across_commits(store, first_pool + 24).await;
    }

    /// Issue 16 (a pool's history): the events of an hour, handed out in several records,
    /// read back appended in order; another hour's stay apart.
    pub async fn an_hours_events_read_back_in_order_across_commits(store: &dyn PoolStore, id: u64) {
        use crate::model::{PoolEvent, PoolEventKind};
        store.create_pool(pool(id)).await.expect("create");
        let hour = NOW.hour_start();
        let event = |ms: u64, account: u32, kind: PoolEventKind| PoolEvent {
            at: hour.plus_millis(ms),
            account: AccountId(account),
            device: DeviceId::parse(&format!("h1:device-{account}")).expect("device"),
            platform: crate::ids::Platform::Mac,
            kind,
        };
        let granted =
            |ms, account, seat| event(ms, account, PoolEventKind::Granted { seat: SeatId(seat) });
        let refused = |ms, account| {
            event(
                ms,
                account,
                PoolEventKind::Refused {
                    code: "no_seat_available".into(),
                },
            )
        };
        let rec = |h: u64, grants: u32, refusals: u32, events: Vec<PoolEvent>| {
            Change::Usage(UsageRecord {
                hour: hour.plus_secs(h * 3_600),
                grants,
                refusals,
                events,
                ..UsageRecord::default()
            })
        };
        commit_one(
            store,
            PoolId(id),
            vec![rec(0, 1, 0, vec![granted(5, 1, 1)])],
        )
        .await;
        commit_one(
            store,
            PoolId(id),
            vec![rec(0, 2, 1, vec![refused(6, 2), granted(9, 3, 2)])],
        )
        .await;
        commit_one(
            store,
            PoolId(id),
            vec![rec(1, 0, 1, vec![refused(3_600_001, 4)])],
        )
        .await;
        let read = store
            .usage(PoolId(id), hour, hour.plus_secs(7_200))
            .await
            .expect("usage");
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[0].events,
            vec![granted(5, 1, 1), refused(6, 2), granted(9, 3, 2)]
        );
        assert_eq!((read[0].grants, read[0].refusals), (2, 1));
        assert_eq!(read[1].events, vec![refused(3_600_001, 4)]);
    }

    /// W4: each hour's record reads back merged (counts as last written, accounts united),
    /// in range and oldest first; a day's distinct accounts are the union over its hours.
    pub async fn usage_hours_read_back_in_range_with_their_accounts(
        store: &dyn PoolStore,
        id: u64,
    ) {
        store.create_pool(pool(id)).await.expect("create");
        let day = NOW.day_start();
        let hour = |h: u64| day.plus_secs(h * 3_600);
        let rec = |h: u64, grants: u32, accounts: &[u32], day_new: &[u32]| {
            Change::Usage(UsageRecord {
                hour: hour(h),
                peak_in_use: grants,
                capacity: 10,
                grants,
                accounts: accounts.iter().map(|a| AccountId(*a)).collect(),
                day_accounts: day_new.iter().map(|a| AccountId(*a)).collect(),
                ..UsageRecord::default()
            })
        };
        // Hour 1 written twice (the second with more counts and one new account), hours 2
        // and 3 once; a record of the next day must not be read with this day's range.
        commit_one(store, PoolId(id), vec![rec(1, 1, &[1], &[1])]).await;
        commit_one(
            store,
            PoolId(id),
            vec![rec(1, 2, &[2], &[2]), rec(2, 1, &[3], &[3])],
        )
        .await;
        commit_one(store, PoolId(id), vec![rec(3, 0, &[], &[])]).await;
        commit_one(store, PoolId(id), vec![rec(25, 4, &[9], &[9])]).await;
        let read = store
            .usage(PoolId(id), hour(0), hour(24))
            .await
            .expect("usage");
        let hours: Vec<Timestamp> = read.iter().map(|r| r.hour).collect();
        assert_eq!(
            hours,
            vec![hour(1), hour(2), hour(3)],
            "in range, oldest first"
        );
        assert_eq!(read[0].grants, 2, "the latest counts of an hour");
        assert_eq!(read[0].accounts, vec![AccountId(1), AccountId(2)]);
        assert_eq!(read[1].accounts, vec![AccountId(3)]);
        let day_union = read.iter().fold(Vec::new(), |acc, r| {
            crate::model::union(&acc, &r.day_accounts)
        });
        assert_eq!(day_union, vec![AccountId(1), AccountId(2), AccountId(3)]);
        let later = store
            .usage(PoolId(id), hour(24), hour(48))
            .await
            .expect("usage");
        assert_eq!(later.len(), 1);
        assert_eq!(
            later[0].day_accounts,
            vec![AccountId(9)],
            "a new day starts afresh"
        );
        assert_eq!(
            store
                .usage(PoolId(id), hour(2), hour(3))
                .await
                .expect("usage")
                .len(),
            1,
            "the end is excluded"
        );
    }

    /// Loading a pool never created answers `None`.
    pub async fn unknown_pool_loads_as_none(store: &dyn PoolStore, id: u64) {
        assert_eq!(store.load(PoolId(id)).await, Ok(None));
    }

    /// A created pool loads back unchanged.
    pub async fn created_pool_loads_as_created(store: &dyn PoolStore, id: u64) {
        let snap = pool(id);
        store.create_pool(snap.clone()).await.expect("create");
        assert_eq!(store.load(PoolId(id)).await, Ok(Some(snap)));
    }

    /// Changes load back exactly as `PoolSnapshot::apply` computes them, in order.
    pub async fn committed_changes_load_as_applied_in_order(store: &dyn PoolStore, id: u64) {
        let mut expected = pool(id);
        store.create_pool(expected.clone()).await.expect("create");
        let mut kept = seat(2, 0x0B0_002);
        let changes = vec![
            Change::SeatGranted(seat(1, 0x0B0_001)),
            Change::SeatGranted(kept.clone()),
            removed(1, 0x0B0_001, GoneReason::Released),
            Change::MemberBlocked(AccountId(0x0C0_003)),
            Change::MemberBlocked(AccountId(0x0C0_004)),
            Change::MemberUnblocked(AccountId(0x0C0_004)),
            Change::Usage(UsageRecord {
                hour: NOW.hour_start(),
                grants: 2,
                accounts: vec![AccountId(0x0B0_001), AccountId(0x0B0_002)],
                ..UsageRecord::default()
            }),
        ];
        commit_one(store, PoolId(id), changes.clone()).await;
        kept.deadline = None;
        let more = vec![
            Change::SeatUpdated(kept),
            Change::Licenses(vec![License {
                id: LicenseId(8),
                seats: 3,
                expires_at: None,
                trial: false,
            }]),
            Change::Settings(crate::model::PoolSettings {
                timeout_s: 60,
                offline_max_days: 2,
                idle_reclaim_s: Some(600),
            }),
            Change::Trial(Some(TrialDays {
                days_left: 4,
                last_day_at: Some(NOW),
            })),
        ];
        commit_one(store, PoolId(id), more.clone()).await;
        expected.apply(&changes);
        expected.apply(&more);
        let loaded = store.load(PoolId(id)).await.expect("load").expect("exists");
        assert_eq!(loaded, expected);
        assert_eq!(loaded.seats.len(), 1);
        assert_eq!(loaded.seats[0].deadline, None);
        assert_eq!(loaded.tombstones.len(), 1);
        assert_eq!(loaded.blocked, vec![AccountId(0x0C0_003)]);
        assert_eq!(
            loaded.licenses.len(),
            1,
            "licenses are part of the pool's state"
        );
        assert_eq!(loaded.settings.timeout_s, 60);
        assert_eq!(
            loaded.trial.map(|t| t.days_left),
            Some(4),
            "the trial's days are part of the pool's state"
        );
    }

    /// One commit call carries several pools, each applied on its own.
    pub async fn one_commit_carries_many_pools(store: &dyn PoolStore, id: u64) {
        let pools: Vec<PoolId> = (0..3).map(|i| PoolId(id * 1_000 + i)).collect();
        for p in &pools {
            store.create_pool(pool(p.0)).await.expect("create");
        }
        let batch: Vec<PoolCommit> = pools
            .iter()
            .enumerate()
            .map(|(i, p)| PoolCommit {
                pool: *p,
                changes: (0..=i as u64)
                    .map(|s| Change::SeatGranted(seat(s + 1, 0x0D0_000 + s as u32)))
                    .collect(),
            })
            .collect();
        let results = store.commit(&batch).await;
        assert_eq!(results, vec![Ok(()), Ok(()), Ok(())]);
        for (i, p) in pools.iter().enumerate() {
            let loaded = store.load(*p).await.expect("load").expect("exists");
            assert_eq!(loaded.seats.len(), i + 1);
        }
    }

    /// Pools holding seats are listed as live; pools without seats are not.
    pub async fn live_pools_are_those_holding_seats(store: &dyn PoolStore, id: u64) {
        let (busy, empty) = (PoolId(id), PoolId(id + 1));
        store.create_pool(pool(busy.0)).await.expect("create");
        store.create_pool(pool(empty.0)).await.expect("create");
        commit_one(store, busy, vec![Change::SeatGranted(seat(1, 0x0E0_001))]).await;
        let live = store.live_pools().await.expect("live pools");
        assert!(live.contains(&busy));
        assert!(!live.contains(&empty));
        commit_one(
            store,
            busy,
            vec![removed(1, 0x0E0_001, GoneReason::Expired)],
        )
        .await;
        let live = store.live_pools().await.expect("live pools");
        assert!(!live.contains(&busy));
    }

    /// The next seat id stays above every id ever persisted, even after its seat went.
    pub async fn seat_counter_survives_removal(store: &dyn PoolStore, id: u64) {
        store.create_pool(pool(id)).await.expect("create");
        commit_one(
            store,
            PoolId(id),
            vec![Change::SeatGranted(seat(41, 0x0F0_001))],
        )
        .await;
        commit_one(
            store,
            PoolId(id),
            vec![removed(41, 0x0F0_001, GoneReason::Released)],
        )
        .await;
        let loaded = store.load(PoolId(id)).await.expect("load").expect("exists");
        assert!(loaded.next_seat_id >= 42);
    }

    /// L6: a pool created as a trial loads with its days; each `Change::Trial` replaces them,
    /// and ending the trial (`None`) loads as no trial.
    pub async fn trial_days_load_as_committed(store: &dyn PoolStore, id: u64) {
        let mut expected = pool(id);
        expected.trial = Some(TrialDays {
            days_left: 5,
            last_day_at: None,
        });
        store.create_pool(expected.clone()).await.expect("create");
        let load = || async { store.load(PoolId(id)).await.expect("load").expect("exists") };
        assert_eq!(load().await, expected, "a trial pool loads as created");
        let consumed = vec![
            Change::Trial(Some(TrialDays {
                days_left: 4,
                last_day_at: Some(NOW),
            })),
            Change::Trial(Some(TrialDays {
                days_left: 3,
                last_day_at: Some(NOW.plus_secs(86_400)),
            })),
        ];
        commit_one(store, PoolId(id), consumed.clone()).await;
        expected.apply(&consumed);
        let loaded = load().await;
        assert_eq!(loaded, expected);
        assert_eq!(
            loaded.trial,
            Some(TrialDays {
                days_left: 3,
                last_day_at: Some(NOW.plus_secs(86_400)),
            }),
            "the latest change wins"
        );
        commit_one(store, PoolId(id), vec![Change::Trial(None)]).await;
        assert_eq!(load().await.trial, None, "an ended trial loads as none");
    }

    /// A pool is created once.
    pub async fn creating_a_pool_twice_is_refused(store: &dyn PoolStore, id: u64) {
        store.create_pool(pool(id)).await.expect("create");
        assert_eq!(
            store.create_pool(pool(id)).await,
            Err(StoreError::PoolExists(PoolId(id)))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_passes_the_conformance_tests() {
        conformance::run_all(&MemoryStore::new(), 100).await;
    }

    #[tokio::test]
    async fn memory_store_fails_on_demand() {
        let store = MemoryStore::new();
        store.set_failing(true);
        let results = store
            .commit(&[PoolCommit {
                pool: PoolId(1),
                changes: vec![],
            }])
            .await;
        assert!(matches!(results[..], [Err(StoreError::Unavailable(_))]));
        assert!(store.load(PoolId(1)).await.is_err());
    }
}
