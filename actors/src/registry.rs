//! `PoolRegistry`: finds a pool's actor or starts it by loading the pool from the store, spreads
//! actors over the arbiters it was given or adopted (the HTTP workers' own, so a worker's
//! requests to the pools on its thread never change threads), bounds each pool's mailbox,
//! and offers one typed async method per operation. At start it loads, in the background, every pool that holds
//! seats, so their expiries fire without a request; a request for a pool not loaded yet waits
//! for that pool's load (concurrent requests share it). Idle actors stop themselves and
//! leave the registry; the next request starts a fresh one.
//!
//! What it shares with its actors (store, committer, clock, settings, counters) is `Env`, in
//! `env`; the messages it sends are in `messages`. An actor reaches back only through
//! `PoolDirectory`, to be forgotten when it stops, so the actor never names the registry.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::ThreadId;
use std::time::Duration;

use actix::dev::ToEnvelope;
use actix::prelude::*;
use dashmap::DashMap;
use tokio::sync::{oneshot, OnceCell};

use crate::actor::{ActorShared, PoolActor, StatusCell};
use crate::committer::{CommitStats, Committer};
use crate::env::{Env, PoolDirectory};
use crate::error::EngineError;
use crate::ids::{AccountId, DeviceId, Platform, PoolId, SeatId, WaiterId};
use crate::messages::{self, Reply};
use crate::model::{
    AcquireOutcome, AcquireRequest, Change, CloseOutcome, License, MemberError, PoolSettings,
    PoolSnapshot, PoolStatus, SeatError, SeatView,
};
use crate::store::{PoolCommit, PoolStore, StoreError};
use crate::time::{Clock, Timestamp};

// The engine's settings and counters were defined here first; they keep their paths.
pub use crate::env::{DeviceMigration, EngineConfig, EngineStats};

/// A running pool actor as the registry hands it out.
#[derive(Debug, Clone)]
pub struct PoolHandle {
    addr: Addr<PoolActor>,
    shared: ActorShared,
    capacity: usize,
    stats: Arc<EngineStats>,
}

impl PoolHandle {
    /// The pool's last published status, read without a message.
    pub fn status(&self) -> PoolStatus {
        self.shared.status.read()
    }

    /// Sends a counted message; `Throttled` when the pool's mailbox is full.
    fn try_send<M>(&self, msg: M) -> Result<(), SendFailure>
    where
        M: Message<Result = ()> + Send + 'static,
        PoolActor: Handler<M>,
        <PoolActor as Actor>::Context: ToEnvelope<PoolActor, M>,
    {
        let before = self.shared.mailbox.fetch_add(1, Ordering::AcqRel);
        if before >= self.capacity {
            self.shared.mailbox.fetch_sub(1, Ordering::AcqRel);
            self.stats.mailbox_full.fetch_add(1, Ordering::Relaxed);
            return Err(SendFailure::Full);
        }
        self.addr.try_send(msg).map_err(|e| {
            self.shared.mailbox.fetch_sub(1, Ordering::AcqRel);
            match e {
                SendError::Full(_) => SendFailure::Full,
                SendError::Closed(_) => SendFailure::Closed,
            }
        })
    }
}

enum SendFailure {
    Full,
    Closed,
}

/// A pool's actor once its start ended: the handle, or why it could not start. The outcome is
/// kept in the cell (not retried there), so every request waiting on one start shares its
/// outcome; a failed start's cell leaves the map and the next request starts afresh. (A
/// cell that a waiter could initialise again after a failure had left the map would start a
/// second actor for the pool beside the map's one.)
type Slot = Arc<OnceCell<Result<PoolHandle, EngineError>>>;

/// The running actor of a slot, if its start succeeded.
fn running(slot: &Slot) -> Option<&PoolHandle> {
    slot.get().and_then(|started| started.as_ref().ok())
}

/// Each pool's actor, once started: concurrent requests for a pool not loaded yet share its
/// load through the slot.
type Slots = DashMap<PoolId, Slot>;

impl PoolDirectory for Slots {
    fn forget(&self, pool: PoolId, generation: u64) {
        self.remove_if(&pool, |_, slot| {
            running(slot).is_none_or(|h| h.shared.generation == generation)
        });
    }
}

/// The arbiters pool actors run on, each with its thread when it was adopted.
struct Arbiters {
    list: RwLock<Vec<(Option<ThreadId>, ArbiterHandle)>>,
    next: AtomicUsize,
}

impl Arbiters {
    /// Starts an actor: on the current arbiter when the list is empty, else on the next
    /// arbiter of the list in turn, so the pools spread evenly over the workers.
    fn start(
        &self,
        make: impl FnOnce(&mut Context<PoolActor>) -> PoolActor + Send + 'static,
    ) -> Addr<PoolActor> {
        let list = match self.list.read() {
            Ok(list) => list,
            Err(poisoned) => poisoned.into_inner(),
        };
        if list.is_empty() {
            return PoolActor::create(make);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % list.len();
        PoolActor::start_in_arbiter(&list[i].1, make)
    }

    /// Adds the current arbiter once, however often its worker builds its app (a worker
    /// rebuilds it after a failure).
    fn adopt_current(&self) {
        let here = std::thread::current().id();
        let mut list = match self.list.write() {
            Ok(list) => list,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !list.iter().any(|(thread, _)| *thread == Some(here)) {
            list.push((Some(here), Arbiter::current()));
        }
    }
}

/// Finds or starts pool actors and sends them operations. Cheap to clone.
#[derive(Clone)]
pub struct PoolRegistry {
    env: Arc<Env>,
    slots: Arc<Slots>,
    arbiters: Arc<Arbiters>,
    next_waiter: Arc<AtomicU64>,
    next_generation: Arc<AtomicU64>,
    ready: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for PoolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolRegistry")
            .field("pools", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl PoolRegistry {
    /// A registry over `store`, starting its committer on the current runtime. Actors run on
    /// `arbiters` in turn, or on the current arbiter when the list is empty (see also
    /// `adopt_current_arbiter`).
    pub fn new(
        store: Arc<dyn PoolStore>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        arbiters: Vec<ArbiterHandle>,
    ) -> Self {
        let committer = Committer::start(store.clone(), config.max_batch);
        let slots = Arc::new(Slots::new());
        PoolRegistry {
            env: Arc::new(Env {
                store,
                committer,
                clock,
                config,
                stats: Arc::new(EngineStats::default()),
                directory: slots.clone(),
            }),
            slots,
            arbiters: Arc::new(Arbiters {
                list: RwLock::new(arbiters.into_iter().map(|a| (None, a)).collect()),
                next: AtomicUsize::new(0),
            }),
            next_waiter: Arc::new(AtomicU64::new(1)),
            next_generation: Arc::new(AtomicU64::new(1)),
            ready: Arc::new(AtomicBool::new(false)),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Adds the calling thread's arbiter (an HTTP worker's, from its app factory, once per
    /// worker) to those actors run on in turn. A pool on a worker's arbiter answers that
    /// worker's requests without waking another thread. An adopted arbiter must outlive
    /// `shutdown`.
    pub fn adopt_current_arbiter(&self) {
        self.arbiters.adopt_current();
    }

    /// The engine's counters.
    pub fn stats(&self) -> &EngineStats {
        &self.env.stats
    }

    /// The committer's counters.
    pub fn commit_stats(&self) -> &CommitStats {
        self.env.committer.stats()
    }

    /// The current time as the engine sees it.
    pub fn now(&self) -> Timestamp {
        self.env.clock.now()
    }

    /// Whether the pools holding seats at start are loaded (see `load_live_pools`).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The status of every running pool, read without messages (for metrics).
    pub fn statuses(&self) -> Vec<(PoolId, PoolStatus)> {
        self.slots
            .iter()
            .filter_map(|e| running(e.value()).map(|h| (*e.key(), h.status())))
            .collect()
    }

    /// Whether the pool's actor runs on this node now.
    pub fn is_loaded(&self, pool: PoolId) -> bool {
        self.slots
            .get(&pool)
            .is_some_and(|slot| running(&slot).is_some())
    }

    /// Whether the pool's actor runs on this node now or is being started (its pool is
    /// being loaded).
    pub fn is_present(&self, pool: PoolId) -> bool {
        self.slots.contains_key(&pool)
    }

    /// The pools whose actors run on this node now.
    pub fn loaded_pools(&self) -> Vec<PoolId> {
        self.slots
            .iter()
            .filter(|e| running(e.value()).is_some())
            .map(|e| *e.key())
            .collect()
    }

    /// Several nodes: this node lost the pool to another. Its actor answers what waits with
    /// `PoolOwnedElsewhere` and stops; the next request for the pool loads it afresh (and
    /// hears from the store who owns it).
    pub fn evict(&self, pool: PoolId) {
        let handle = self
            .slots
            .get(&pool)
            .and_then(|slot| running(&slot).cloned());
        if let Some(handle) = handle {
            self.env.forget(pool, handle.shared.generation);
            handle.addr.do_send(messages::Evict);
        }
    }

    /// Loads every pool that holds seats, `concurrency` at a time, retrying while the store
    /// fails; `is_ready` turns true when all are loaded. Runs inside the actix system (it
    /// starts actors), like everything of the engine.
    pub async fn load_live_pools(&self, concurrency: usize) {
        let pools = loop {
            match self.env.store.live_pools().await {
                Ok(pools) => break pools,
                Err(err) => {
                    tracing::warn!(%err, "listing live pools failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for pool in pools {
            while tasks.len() >= concurrency.max(1) {
                tasks.join_next().await;
            }
            let registry = self.clone();
            tasks.spawn_local(async move {
                while let Err(err) = registry.handle(pool).await {
                    if matches!(
                        err,
                        EngineError::PoolNotFound
                            | EngineError::PoolOwnedElsewhere
                            | EngineError::ShuttingDown
                    ) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        self.ready.store(true, Ordering::Release);
    }

    /// The pool's running actor, started (and the pool loaded) when needed.
    pub async fn handle(&self, pool: PoolId) -> Result<PoolHandle, EngineError> {
        let slot: Slot = self
            .slots
            .entry(pool)
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        match slot.get_or_init(|| self.start(pool)).await {
            Ok(handle) => Ok(handle.clone()),
            Err(err) => {
                self.slots.remove_if(&pool, |_, s| Arc::ptr_eq(s, &slot));
                Err(*err)
            }
        }
    }

    async fn start(&self, pool: PoolId) -> Result<PoolHandle, EngineError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let mut snapshot = match self.env.store.load(pool).await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return Err(EngineError::PoolNotFound),
            Err(StoreError::PoolOwnedElsewhere(_)) => return Err(EngineError::PoolOwnedElsewhere),
            Err(err) => {
                tracing::warn!(%pool, %err, "loading pool failed");
                return Err(EngineError::StoreUnavailable);
            }
        };
        self.migrate_devices(&mut snapshot).await?;
        if self.closed.load(Ordering::Acquire) {
            // Shutdown began while the pool loaded: it would miss the stop.
            return Err(EngineError::ShuttingDown);
        }
        let shared = ActorShared {
            mailbox: Arc::new(AtomicUsize::new(0)),
            status: Arc::new(StatusCell::default()),
            generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
        };
        let env = self.env.clone();
        let actor_shared = shared.clone();
        let make = move |_: &mut Context<PoolActor>| PoolActor::new(snapshot, env, actor_shared);
        let addr = self.arbiters.start(make);
        Ok(PoolHandle {
            addr,
            shared,
            capacity: self.env.config.mailbox_capacity,
            stats: self.env.stats.clone(),
        })
    }

    /// Rewrites the device ids of a loaded pool's seats that an earlier version stored in
    /// another form (`EngineConfig::device_migration`), and persists the rewritten seats
    /// before the pool serves, so that a pool is migrated the first time it loads.
    async fn migrate_devices(&self, snapshot: &mut PoolSnapshot) -> Result<(), EngineError> {
        let Some(migration) = &self.env.config.device_migration else {
            return Ok(());
        };
        let mut changes = Vec::new();
        for seat in &mut snapshot.seats {
            if let Some(current) = migration.migrate(&seat.device) {
                seat.device = current;
                changes.push(Change::SeatUpdated(seat.clone()));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        // A device that held a seat under both forms (nodes of two versions at once) keeps
        // its oldest one (S2: one seat per account, device and platform).
        snapshot.seats.sort_by_key(|s| (s.granted_at, s.id));
        let mut held = std::collections::HashSet::new();
        let now = self.env.clock.now();
        let mut removed = Vec::new();
        snapshot.seats.retain(|s| {
            let first = held.insert((s.account, s.device.clone(), s.platform));
            if !first {
                removed.push(s.id);
                changes.push(Change::SeatRemoved(crate::model::Tombstone {
                    seat: s.id,
                    account: s.account,
                    reason: crate::model::GoneReason::Revoked,
                    at: now,
                }));
            }
            first
        });
        changes.retain(|c| !matches!(c, Change::SeatUpdated(r) if removed.contains(&r.id)));
        let count = changes.len();
        let batch = [PoolCommit {
            pool: snapshot.pool,
            changes,
        }];
        match self.env.store.commit(&batch).await.into_iter().next() {
            Some(Ok(())) => {
                tracing::info!(pool = %snapshot.pool, seats = count, "device ids migrated");
                Ok(())
            }
            Some(Err(StoreError::PoolOwnedElsewhere(_))) => Err(EngineError::PoolOwnedElsewhere),
            Some(Err(err)) => {
                tracing::warn!(pool = %snapshot.pool, %err, "migrating device ids failed");
                Err(EngineError::StoreUnavailable)
            }
            None => Err(EngineError::StoreUnavailable),
        }
    }

    /// Sends a message built by `make` to the pool's actor and waits for its answer. Retries
    /// with a fresh actor when the one found had just stopped while idle (the message was
    /// then never handled, so retrying is safe).
    pub async fn call<M, T>(
        &self,
        pool: PoolId,
        make: impl Fn(Reply<T>) -> M,
    ) -> Result<T, EngineError>
    where
        M: Message<Result = ()> + Send + 'static,
        PoolActor: Handler<M>,
        <PoolActor as Actor>::Context: ToEnvelope<PoolActor, M>,
    {
        for _ in 0..3 {
            let handle = self.handle(pool).await?;
            let (tx, rx) = oneshot::channel();
            match handle.try_send(make(tx)) {
                Ok(()) => {}
                Err(SendFailure::Full) => return Err(EngineError::Throttled),
                Err(SendFailure::Closed) => {
                    self.env.forget(pool, handle.shared.generation);
                    continue;
                }
            }
            // A dropped reply means the message was never handled: an actor answers every
            // message it handles, and stops (idle) only with nothing in flight. So a retry
            // cannot apply an operation twice.
            match rx.await {
                Ok(Err(EngineError::Retired)) | Err(_) => {
                    self.env.forget(pool, handle.shared.generation);
                }
                Ok(result) => return result,
            }
        }
        Err(EngineError::PoolUnavailable)
    }

    /// S2, S3, S9, W1: takes a seat, waiting up to `wait` for one. Dropping the future while
    /// it waits gives up its place in the queue.
    pub async fn acquire(
        &self,
        pool: PoolId,
        mut req: AcquireRequest,
        wait: Option<Duration>,
    ) -> Result<AcquireOutcome, EngineError> {
        let waiter = WaiterId(self.next_waiter.fetch_add(1, Ordering::Relaxed));
        req.wait = wait
            .filter(|w| !w.is_zero())
            .map(|w| (waiter, self.now().plus_millis(w.as_millis() as u64)));
        let mut guard = None;
        for _ in 0..3 {
            let handle = self.handle(pool).await?;
            let (tx, rx) = oneshot::channel();
            let msg = messages::Acquire {
                req: req.clone(),
                reply: tx,
            };
            match handle.try_send(msg) {
                Ok(()) => {}
                Err(SendFailure::Full) => return Err(EngineError::Throttled),
                Err(SendFailure::Closed) => {
                    self.env.forget(pool, handle.shared.generation);
                    continue;
                }
            }
            guard = req.wait.map(|_| CancelOnDrop {
                addr: Some(handle.addr.clone()),
                waiter,
            });
            match rx.await {
                Ok(Err(EngineError::Retired)) | Err(_) => {
                    self.env.forget(pool, handle.shared.generation);
                }
                Ok(result) => {
                    if let Some(g) = guard.as_mut() {
                        g.addr = None;
                    }
                    return result;
                }
            }
        }
        drop(guard);
        Err(EngineError::PoolUnavailable)
    }

    /// Issue 16: takes an offline-file seat for an air-gapped computer (or makes the seat it
    /// holds one, S2); never waits in the queue.
    pub async fn take_offline_file(
        &self,
        pool: PoolId,
        account: AccountId,
        device: DeviceId,
        platform: Platform,
    ) -> Result<AcquireOutcome, EngineError> {
        self.call(pool, |reply| messages::TakeOfflineFile {
            account,
            device: device.clone(),
            platform,
            reply,
        })
        .await
    }

    /// S4, W2: a heartbeat.
    pub async fn heartbeat(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
        active: Option<bool>,
    ) -> Result<Result<SeatView, SeatError>, EngineError> {
        self.call(pool, |reply| messages::Heartbeat {
            seat,
            account,
            active,
            reply,
        })
        .await
    }

    /// S5: the application closed.
    pub async fn close(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
    ) -> Result<Result<CloseOutcome, SeatError>, EngineError> {
        self.call(pool, |reply| messages::Close {
            seat,
            account,
            reply,
        })
        .await
    }

    /// S6: log out on that device.
    pub async fn logout(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
    ) -> Result<Result<CloseOutcome, SeatError>, EngineError> {
        self.call(pool, |reply| messages::Logout {
            seat,
            account,
            reply,
        })
        .await
    }

    /// S7: free up every seat of an account in this pool.
    pub async fn release_all(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Vec<SeatId>, EngineError> {
        self.call(pool, |reply| messages::ReleaseAll { account, reply })
            .await
    }

    /// S11: reserve a seat for offline use until `until`.
    pub async fn reserve_offline(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
        until: Timestamp,
    ) -> Result<Result<SeatView, SeatError>, EngineError> {
        self.call(pool, |reply| messages::ReserveOffline {
            seat,
            account,
            until,
            reply,
        })
        .await
    }

    /// W3: the owner or an operator releases a seat.
    pub async fn admin_release(
        &self,
        pool: PoolId,
        seat: SeatId,
    ) -> Result<Result<(), SeatError>, EngineError> {
        self.call(pool, |reply| messages::AdminRelease { seat, reply })
            .await
    }

    /// S10, I3: block a member.
    pub async fn block(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<usize, MemberError>, EngineError> {
        self.call(pool, |reply| messages::Block { account, reply })
            .await
    }

    /// I3: unblock a member.
    pub async fn unblock(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<(), MemberError>, EngineError> {
        self.call(pool, |reply| messages::Unblock { account, reply })
            .await
    }

    /// I3: delete a member.
    pub async fn remove_member(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<usize, MemberError>, EngineError> {
        self.call(pool, |reply| messages::RemoveMember { account, reply })
            .await
    }

    /// L5, S10: tell the pool its licenses changed.
    pub async fn set_licenses(
        &self,
        pool: PoolId,
        licenses: Vec<License>,
    ) -> Result<(), EngineError> {
        self.call(pool, |reply| messages::SetLicenses {
            licenses: licenses.clone(),
            reply,
        })
        .await
    }

    /// Tell the pool its settings changed.
    pub async fn update_settings(
        &self,
        pool: PoolId,
        settings: PoolSettings,
    ) -> Result<(), EngineError> {
        self.call(pool, |reply| messages::UpdateSettings {
            settings: settings.clone(),
            reply,
        })
        .await
    }

    /// Capacity, seats in use and queue length, as of now.
    pub async fn status(&self, pool: PoolId) -> Result<PoolStatus, EngineError> {
        self.call(pool, |reply| messages::GetStatus { reply }).await
    }

    /// L6: makes the pool a trial pool with `days` active days.
    pub async fn start_trial(&self, pool: PoolId, days: u8) -> Result<(), EngineError> {
        self.call(pool, |reply| messages::StartTrial { days, reply })
            .await
    }

    /// L5: ends the pool's trial (a regular license was activated).
    pub async fn end_trial(&self, pool: PoolId) -> Result<(), EngineError> {
        self.call(pool, |reply| messages::EndTrial { reply }).await
    }

    /// Status and settings, as of now.
    pub async fn describe(
        &self,
        pool: PoolId,
    ) -> Result<crate::model::PoolDescription, EngineError> {
        self.call(pool, |reply| messages::Describe { reply }).await
    }

    /// W4: the counts of the hour being counted, answered once every hour before it is in
    /// the store (so a report reads the store after this).
    pub async fn usage_now(&self, pool: PoolId) -> Result<crate::model::UsageRecord, EngineError> {
        self.call(pool, |reply| messages::UsageNow { reply }).await
    }

    /// The pool's seats, or only `account`'s.
    pub async fn seats(
        &self,
        pool: PoolId,
        account: Option<AccountId>,
    ) -> Result<Vec<SeatView>, EngineError> {
        self.call(pool, |reply| messages::ListSeats { account, reply })
            .await
    }

    /// Shutdown: every waiting request hears `ShuttingDown`, and this returns once every
    /// running pool has committed what it had pending.
    pub async fn drain(&self) {
        let handles: Vec<PoolHandle> = self
            .slots
            .iter()
            .filter_map(|e| running(e.value()).cloned())
            .collect();
        let mut done = Vec::with_capacity(handles.len());
        for handle in handles {
            let (tx, rx) = oneshot::channel();
            if handle.addr.try_send(messages::Drain { done: tx }).is_ok() {
                done.push(rx);
            }
        }
        for rx in done {
            let _ = rx.await;
        }
    }

    /// Shutdown: no pool starts any more, every waiting request hears `ShuttingDown` (see
    /// `drain`), every actor commits what it has pending and stops, and later requests hear
    /// `ShuttingDown`. Every actor is forgotten, so the store is released once the
    /// registry's clones are dropped. Returns when every actor has stopped, or after
    /// `patience` (a store that cannot commit holds its pools' actors up).
    pub async fn shutdown(&self, patience: Duration) {
        self.closed.store(true, Ordering::Release);
        let stop_all = async {
            self.drain().await;
            let handles: Vec<(PoolId, PoolHandle)> = self
                .slots
                .iter()
                .filter_map(|e| running(e.value()).cloned().map(|h| (*e.key(), h)))
                .collect();
            for (pool, handle) in &handles {
                handle.addr.do_send(messages::Stop);
                self.env.forget(*pool, handle.shared.generation);
            }
            while self.env.stats.live_actors.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let _ = tokio::time::timeout(patience, stop_all).await;
    }

    #[cfg(test)]
    pub(crate) async fn stall(&self, pool: PoolId, how_long: Duration) -> Result<(), EngineError> {
        let handle = self.handle(pool).await?;
        handle
            .addr
            .try_send(messages::Stall(how_long))
            .map_err(|_| EngineError::PoolUnavailable)
    }

    #[cfg(test)]
    pub(crate) async fn thread_of(&self, pool: PoolId) -> Result<ThreadId, EngineError> {
        let handle = self.handle(pool).await?;
        let (tx, rx) = oneshot::channel();
        handle
            .addr
            .try_send(messages::WhichThread(tx))
            .map_err(|_| EngineError::PoolUnavailable)?;
        rx.await.map_err(|_| EngineError::PoolUnavailable)
    }

    #[cfg(test)]
    pub(crate) async fn poison(&self, pool: PoolId, after_change: bool) -> Result<(), EngineError> {
        let handle = self.handle(pool).await?;
        handle
            .addr
            .try_send(messages::Poison { after_change })
            .map_err(|_| EngineError::PoolUnavailable)
    }
}

/// Gives up a waiter's place in the queue when its request goes away (W1).
struct CancelOnDrop {
    addr: Option<Addr<PoolActor>>,
    waiter: WaiterId,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(addr) = self.addr.take() {
            addr.do_send(messages::CancelWaiter {
                waiter: self.waiter,
            });
        }
    }
}
