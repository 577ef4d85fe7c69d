//! Tests of the pool actor, the registry and the committer together, on the in-memory store.
//! Time is tokio's paused clock (`tokio::time::pause`), which the actor's timers and its
//! `TokioClock` both follow, so hours of heartbeat timeout pass in microseconds.

use std::sync::Arc;
use std::time::Duration;

use crate::ids::{AccountId, DeviceId, LicenseId, Platform, PoolId};
use crate::model::{
    AcquireOutcome, AcquireRequest, CloseOutcome, GoneReason, License, PoolSnapshot, Refusal,
    SeatError, SeatView, TableLimits,
};
use crate::registry::{EngineConfig, PoolRegistry};
use crate::store::MemoryStore;
use crate::time::{Timestamp, TokioClock};
use crate::EngineError;

const T0: Timestamp = Timestamp(1_800_000_000_000);
const OWNER: AccountId = AccountId(0xFFF_FFF);

fn license(seats: u32) -> License {
    License {
        id: LicenseId(1),
        seats,
        expires_at: None,
        trial: false,
    }
}

async fn store_with_pools(pools: &[(u64, u32)]) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    for &(id, seats) in pools {
        use crate::store::PoolStore;
        store
            .create_pool(PoolSnapshot::new(PoolId(id), OWNER, vec![license(seats)]))
            .await
            .expect("create pool");
    }
    store
}

fn registry(store: Arc<MemoryStore>, config: EngineConfig) -> PoolRegistry {
    PoolRegistry::new(
        store,
        Arc::new(TokioClock::starting_at(T0)),
        config,
        Vec::new(),
    )
}

fn request(account: u32, device: &str) -> AcquireRequest {
    AcquireRequest {
        account: AccountId(account),
        device: DeviceId::parse(device).expect("valid device"),
        platform: Platform::Windows,
        wait: None,
    }
}

async fn take(reg: &PoolRegistry, pool: u64, account: u32) -> SeatView {
    match reg
        .acquire(PoolId(pool), request(account, "pc"), None)
        .await
    {
        Ok(AcquireOutcome::Granted { seat, .. }) => seat,
        other => panic!("expected a seat, got {other:?}"),
    }
}

/// A request from `account` that waits up to `secs` for a seat, running in the background.
fn spawn_wait(
    reg: &PoolRegistry,
    pool: u64,
    account: u32,
    secs: u64,
) -> actix_rt::task::JoinHandle<Result<AcquireOutcome, EngineError>> {
    let reg = reg.clone();
    actix_rt::spawn(async move {
        reg.acquire(
            PoolId(pool),
            request(account, "pc"),
            Some(Duration::from_secs(secs)),
        )
        .await
    })
}

/// Yields until the pool's queue holds `n` requests.
async fn wait_for_queue(reg: &PoolRegistry, pool: u64, n: usize) {
    while reg.status(PoolId(pool)).await.map(|s| s.queue_length) != Ok(n) {
        tokio::task::yield_now().await;
    }
}

#[actix_rt::test]
async fn s1_ten_thousand_concurrent_acquires_grant_exactly_the_capacity() {
    let store = store_with_pools(&[(1, 100)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let mut tasks = Vec::new();
    for i in 0..10_000u32 {
        let reg = reg.clone();
        tasks.push(actix_rt::spawn(async move {
            loop {
                match reg.acquire(PoolId(1), request(i, "pc"), None).await {
                    Err(EngineError::Throttled) => tokio::task::yield_now().await,
                    other => return other,
                }
            }
        }));
    }
    let mut granted = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(AcquireOutcome::Granted { .. }) => granted += 1,
            Ok(AcquireOutcome::Refused(Refusal::NoSeatAvailable(d))) => {
                assert_eq!(d.capacity, 100);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((granted, refused), (100, 9_900));
    assert_eq!(
        reg.status(PoolId(1)).await,
        Ok(crate::PoolStatus {
            capacity: 100,
            in_use: 100,
            seats: 100,
            queue_length: 0,
        })
    );
    assert_eq!(store.get(PoolId(1)).expect("stored").seats.len(), 100);
}

#[actix_rt::test]
async fn a_grant_is_durable_before_it_is_acknowledged() {
    let store = store_with_pools(&[(1, 5)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let seat = take(&reg, 1, 7).await;
    let stored = store.get(PoolId(1)).expect("stored");
    assert!(stored.seats.iter().any(|s| s.id == seat.id));
    assert_eq!(
        reg.close(PoolId(1), seat.id, AccountId(7)).await,
        Ok(Ok(CloseOutcome::Freed))
    );
    assert!(store.get(PoolId(1)).expect("stored").seats.is_empty());
}

#[actix_rt::test]
async fn group_commit_carries_many_pools_and_changes_per_store_call() {
    let pools: Vec<(u64, u32)> = (1..=50).map(|p| (p, 1_000)).collect();
    let store = store_with_pools(&pools).await;
    store.set_latency(Duration::from_millis(2));
    let reg = registry(store.clone(), EngineConfig::default());
    let mut tasks = Vec::new();
    for i in 0..2_000u32 {
        let reg = reg.clone();
        tasks.push(actix_rt::spawn(async move {
            let pool = PoolId(u64::from(i % 50) + 1);
            let seat = match reg.acquire(pool, request(i, "pc"), None).await {
                Ok(AcquireOutcome::Granted { seat, .. }) => seat,
                other => panic!("{other:?}"),
            };
            reg.close(pool, seat.id, AccountId(i)).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), Ok(Ok(CloseOutcome::Freed)));
    }
    let calls = store.commit_calls();
    let pool_commits = store.pool_commits();
    let changes = store.changes_committed();
    assert!(
        changes >= 4_000,
        "every grant and release was committed: {changes}"
    );
    assert!(
        calls * 10 < 4_000,
        "4,000 operations took {calls} store calls: no group commit"
    );
    assert!(
        pool_commits > calls * 2,
        "{pool_commits} pool commits in {calls} calls: no batching across pools"
    );
}

#[actix_rt::test]
async fn a_failing_store_undoes_grants_and_keeps_releases() {
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let held = take(&reg, 1, 1).await;
    store.set_failing(true);
    // The release is not durable, so it is not acknowledged, but it stays applied.
    assert_eq!(
        reg.close(PoolId(1), held.id, AccountId(1)).await,
        Err(EngineError::StoreUnavailable)
    );
    // The freed seat can be granted, but that grant fails to commit and is undone.
    assert_eq!(
        reg.acquire(PoolId(1), request(2, "pc"), None).await,
        Err(EngineError::StoreUnavailable)
    );
    assert_eq!(reg.status(PoolId(1)).await.map(|s| s.in_use), Ok(0));
    store.set_failing(false);
    let seat = take(&reg, 1, 3).await;
    let stored = store.get(PoolId(1)).expect("stored");
    assert_eq!(
        stored.seats.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![seat.id],
        "the kept release was committed before the new grant"
    );
    assert!(stored
        .tombstones
        .iter()
        .any(|t| t.seat == held.id && t.reason == GoneReason::Released));
    // A retried close after the 503 is answered as a repeat.
    assert_eq!(
        reg.close(PoolId(1), held.id, AccountId(1)).await,
        Ok(Ok(CloseOutcome::AlreadyReleased))
    );
}

#[actix_rt::test]
async fn a_full_mailbox_answers_throttled_at_once() {
    let store = store_with_pools(&[(1, 10)]).await;
    let arbiter = actix_rt::Arbiter::new();
    let reg = PoolRegistry::new(
        store,
        Arc::new(TokioClock::starting_at(T0)),
        EngineConfig {
            mailbox_capacity: 4,
            ..EngineConfig::default()
        },
        vec![arbiter.handle()],
    );
    reg.stall(PoolId(1), Duration::from_millis(500))
        .await
        .expect("stall");
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..10u32 {
        let reg = reg.clone();
        tasks.push(actix_rt::spawn(async move {
            let r = reg.acquire(PoolId(1), request(i, "pc"), None).await;
            (r, started.elapsed())
        }));
    }
    let mut throttled = 0;
    let mut granted = 0;
    for t in tasks {
        match t.await.expect("task") {
            (Err(EngineError::Throttled), took) => {
                throttled += 1;
                assert!(
                    took < Duration::from_millis(450),
                    "throttled only after {took:?}"
                );
            }
            (Ok(AcquireOutcome::Granted { .. }), _) => granted += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((granted, throttled), (4, 6));
    assert!(
        reg.stats()
            .mailbox_full
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 6
    );
    arbiter.stop();
}

#[actix_rt::test]
async fn a_panic_in_one_pool_leaves_the_others_serving() {
    let store = store_with_pools(&[(1, 5), (2, 5)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let kept = take(&reg, 1, 1).await;
    take(&reg, 2, 1).await;
    reg.poison(PoolId(1), false).await.expect("poison");
    assert_eq!(
        reg.acquire(PoolId(1), request(2, "pc"), None).await,
        Err(EngineError::PoolUnavailable)
    );
    // The other pool does not notice.
    take(&reg, 2, 2).await;
    // The panicked pool comes back from the store with its committed seats.
    let mut seats = Err(EngineError::PoolUnavailable);
    for _ in 0..100 {
        seats = reg.seats(PoolId(1), None).await;
        if seats.is_ok() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let seats = seats.expect("reloaded");
    assert_eq!(
        seats.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![kept.id]
    );
    take(&reg, 1, 3).await;
    let stats = reg.stats();
    assert_eq!(
        stats
            .table_panics
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        stats
            .pool_reloads
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[actix_rt::test]
async fn w1_a_waiter_gets_the_seat_freed_for_it() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let held = take(&reg, 1, 1).await;
    let waiting = spawn_wait(&reg, 1, 2, 30);
    wait_for_queue(&reg, 1, 1).await;
    reg.close(PoolId(1), held.id, AccountId(1))
        .await
        .expect("engine")
        .expect("closed");
    match waiting.await.expect("task") {
        Ok(AcquireOutcome::Granted { seat, .. }) => {
            assert_eq!(seat.account, AccountId(2));
            let stored = store.get(PoolId(1)).expect("stored");
            assert!(
                stored.seats.iter().any(|s| s.id == seat.id),
                "durable first"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn w1_a_wait_that_ends_is_refused_with_its_position() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store, EngineConfig::default());
    take(&reg, 1, 1).await;
    let started = tokio::time::Instant::now();
    let outcome = reg
        .acquire(PoolId(1), request(2, "pc"), Some(Duration::from_secs(20)))
        .await;
    assert_eq!(
        started.elapsed().as_secs(),
        20,
        "answered when the wait ended"
    );
    match outcome {
        Ok(AcquireOutcome::Refused(Refusal::NoSeatAvailable(d))) => {
            assert_eq!(d.queue_position, Some(1));
        }
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn w1_a_client_that_goes_away_leaves_the_queue() {
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store, EngineConfig::default());
    take(&reg, 1, 1).await;
    let waiting = spawn_wait(&reg, 1, 2, 60);
    wait_for_queue(&reg, 1, 1).await;
    waiting.abort();
    let mut queue = Ok(1);
    for _ in 0..100 {
        queue = reg.status(PoolId(1)).await.map(|s| s.queue_length);
        if queue == Ok(0) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(queue, Ok(0));
}

#[actix_rt::test]
async fn s4_the_actor_timer_frees_a_silent_seat_and_persists_it() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let seat = take(&reg, 1, 1).await;
    tokio::time::sleep(Duration::from_secs(28_800 + 1)).await;
    // No request reached the pool: its own timer expired the seat and committed it.
    assert!(store.get(PoolId(1)).expect("stored").seats.is_empty());
    assert_eq!(
        reg.heartbeat(PoolId(1), seat.id, AccountId(1), None).await,
        Ok(Err(SeatError::Gone(GoneReason::Expired)))
    );
}

#[actix_rt::test]
async fn s2_seats_survive_a_restart_of_the_engine() {
    let store = store_with_pools(&[(1, 3), (2, 3), (3, 3)]).await;
    let first = registry(store.clone(), EngineConfig::default());
    let a = take(&first, 1, 1).await;
    let b = take(&first, 2, 1).await;
    drop(first);
    let second = registry(store.clone(), EngineConfig::default());
    assert!(!second.is_ready());
    second.load_live_pools(8).await;
    assert!(second.is_ready());
    let mut live: Vec<PoolId> = second.statuses().into_iter().map(|(p, _)| p).collect();
    live.sort();
    assert_eq!(
        live,
        vec![PoolId(1), PoolId(2)],
        "pools holding seats are loaded at start"
    );
    match second.acquire(PoolId(1), request(1, "pc"), None).await {
        Ok(AcquireOutcome::Granted { seat, reused }) => {
            assert!(reused);
            assert_eq!(seat.id, a.id);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        second
            .heartbeat(PoolId(2), b.id, AccountId(1), None)
            .await
            .map(|r| r.map(|s| s.id)),
        Ok(Ok(b.id))
    );
}

#[actix_rt::test]
async fn idle_actors_stop_and_come_back_on_demand() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 3)]).await;
    let reg = registry(
        store,
        EngineConfig {
            idle_stop_after: Duration::from_secs(10),
            ..EngineConfig::default()
        },
    );
    let seat = take(&reg, 1, 1).await;
    reg.logout(PoolId(1), seat.id, AccountId(1))
        .await
        .expect("engine")
        .expect("logout");
    assert_eq!(
        reg.stats()
            .live_actors
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The usage counts are flushed within a minute; then the idle time runs.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        reg.stats()
            .live_actors
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(reg.statuses().is_empty());
    take(&reg, 1, 2).await;
    assert_eq!(
        reg.stats()
            .live_actors
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[actix_rt::test]
async fn unknown_pools_are_not_found() {
    let store = store_with_pools(&[]).await;
    let reg = registry(store, EngineConfig::default());
    assert_eq!(
        reg.acquire(PoolId(9), request(1, "pc"), None).await,
        Err(EngineError::PoolNotFound)
    );
    assert!(reg.statuses().is_empty());
}

#[actix_rt::test]
async fn drain_answers_waiters_shutting_down_and_flushes() {
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(store, EngineConfig::default());
    take(&reg, 1, 1).await;
    let waiting = spawn_wait(&reg, 1, 2, 60);
    wait_for_queue(&reg, 1, 1).await;
    reg.drain().await;
    assert_eq!(waiting.await.expect("task"), Err(EngineError::ShuttingDown));
    assert_eq!(
        reg.acquire(PoolId(1), request(3, "pc"), Some(Duration::from_secs(5)))
            .await,
        Err(EngineError::ShuttingDown)
    );
}

#[actix_rt::test]
async fn the_queue_bound_answers_throttled() {
    let store = store_with_pools(&[(1, 1)]).await;
    let reg = registry(
        store,
        EngineConfig {
            limits: TableLimits {
                max_waiters: 1,
                ..TableLimits::default()
            },
            ..EngineConfig::default()
        },
    );
    take(&reg, 1, 1).await;
    let _waiting = spawn_wait(&reg, 1, 2, 60);
    wait_for_queue(&reg, 1, 1).await;
    assert_eq!(
        reg.acquire(PoolId(1), request(3, "pc"), Some(Duration::from_secs(60)))
            .await,
        Ok(AcquireOutcome::Refused(Refusal::Throttled))
    );
}

/// Pool 1 with one seat and a heartbeat timeout of one second, its actor on a thread of its
/// own (so a stalled actor does not stall the test), on the real clock.
async fn one_second_pool_on_its_own_thread() -> (PoolRegistry, actix_rt::Arbiter) {
    use crate::store::PoolStore;
    let store = Arc::new(MemoryStore::new());
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, vec![license(1)]);
    snapshot.settings.timeout_s = 1;
    store.create_pool(snapshot).await.expect("create pool");
    let arbiter = actix_rt::Arbiter::new();
    let reg = PoolRegistry::new(
        store,
        Arc::new(crate::time::SystemClock),
        EngineConfig::default(),
        vec![arbiter.handle()],
    );
    (reg, arbiter)
}

/// A waiter queued by the same call that hands a seat to a waiter whose client already left:
/// the departed waiter's place is given up and the new waiter gets the seat and its answer.
#[actix_rt::test]
async fn w1_a_new_waiter_is_answered_when_a_departed_one_was_served_first() {
    let (reg, arbiter) = one_second_pool_on_its_own_thread().await;
    take(&reg, 1, 1).await; // deadline in 1 s, no heartbeats
    let w1 = spawn_wait(&reg, 1, 2, 60);
    wait_for_queue(&reg, 1, 1).await;
    // Block the actor past the seat's deadline; meanwhile W2 arrives, then W1's client goes.
    reg.stall(PoolId(1), Duration::from_millis(1_500))
        .await
        .unwrap();
    let w2 = spawn_wait(&reg, 1, 3, 3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    w1.abort();
    let outcome = tokio::time::timeout(Duration::from_secs(6), w2).await;
    let status = reg.status(PoolId(1)).await;
    arbiter.stop();
    match outcome {
        Ok(Ok(Ok(AcquireOutcome::Granted { .. }))) => {}
        other => {
            panic!("W2 (wait 3 s) expected a seat; after 6 s got {other:?}; pool status {status:?}")
        }
    }
}

/// A table that panics after changing itself: none of its changes reach the store, and the
/// reloaded pool agrees with the store.
#[actix_rt::test]
async fn a_panicked_tables_changes_are_never_committed() {
    let store = store_with_pools(&[(1, 2)]).await;
    let reg = registry(store.clone(), EngineConfig::default());
    let seat = take(&reg, 1, 1).await;
    reg.poison(PoolId(1), true).await.expect("poison");
    assert_eq!(
        reg.close(PoolId(1), seat.id, AccountId(1)).await,
        Err(EngineError::PoolUnavailable)
    );
    let mut seats = Err(EngineError::PoolUnavailable);
    for _ in 0..100 {
        seats = reg.seats(PoolId(1), None).await;
        if seats.is_ok() {
            break;
        }
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let in_memory: Vec<_> = seats.expect("reloaded").iter().map(|s| s.id).collect();
    let stored: Vec<_> = store
        .get(PoolId(1))
        .unwrap()
        .seats
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        in_memory, stored,
        "the reloaded pool holds {in_memory:?} but the store holds {stored:?}"
    );
}

/// Two waits from the same (account, device, platform) whose first client left: the second
/// is told of a seat it really holds.
#[actix_rt::test]
async fn s2_a_waiter_keeps_the_seat_granted_to_its_departed_twin() {
    let (reg, arbiter) = one_second_pool_on_its_own_thread().await;
    take(&reg, 1, 1).await;
    let spawn_wait = |reg: PoolRegistry| {
        actix_rt::spawn(async move {
            reg.acquire(PoolId(1), request(2, "pc"), Some(Duration::from_secs(60)))
                .await
        })
    };
    let w1 = spawn_wait(reg.clone());
    wait_for_queue(&reg, 1, 1).await;
    let w2 = spawn_wait(reg.clone());
    wait_for_queue(&reg, 1, 2).await;
    reg.stall(PoolId(1), Duration::from_millis(1_500))
        .await
        .unwrap();
    w1.abort(); // its CancelWaiter is handled after the seat's deadline
    let seat = match tokio::time::timeout(Duration::from_secs(5), w2).await {
        Ok(Ok(Ok(AcquireOutcome::Granted { seat, .. }))) => seat,
        other => panic!("{other:?}"),
    };
    let hb = reg.heartbeat(PoolId(1), seat.id, AccountId(2), None).await;
    arbiter.stop();
    assert!(
        matches!(hb, Ok(Ok(_))),
        "W2 was granted {} but its heartbeat says {hb:?}",
        seat.id
    );
}

#[actix_rt::test]
async fn shutdown_stops_every_actor_and_answers_waiters() {
    let store = store_with_pools(&[(1, 1), (2, 1)]).await;
    let reg = registry(store, EngineConfig::default());
    take(&reg, 1, 1).await;
    take(&reg, 2, 1).await;
    let waiting = spawn_wait(&reg, 1, 2, 60);
    wait_for_queue(&reg, 1, 1).await;
    reg.shutdown(Duration::from_secs(5)).await;
    assert_eq!(waiting.await.expect("task"), Err(EngineError::ShuttingDown));
    assert_eq!(
        reg.stats()
            .live_actors
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(reg.statuses().is_empty());
}

#[actix_rt::test]
async fn shutdown_refuses_later_requests_and_starts_no_pool() {
    let store = store_with_pools(&[(1, 2), (2, 2)]).await;
    let reg = registry(store, EngineConfig::default());
    take(&reg, 1, 1).await;
    reg.shutdown(Duration::from_secs(5)).await;
    let running = reg.acquire(PoolId(1), request(2, "pc"), None).await;
    assert_eq!(running, Err(EngineError::ShuttingDown), "a stopped pool");
    let never_loaded = reg.acquire(PoolId(2), request(2, "pc"), None).await;
    assert_eq!(
        never_loaded,
        Err(EngineError::ShuttingDown),
        "a pool not loaded"
    );
    assert!(reg.statuses().is_empty());
}

/// Runs `f` on `arbiter` and returns its output.
async fn on<T: Send + 'static>(
    arbiter: &actix_rt::Arbiter,
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    assert!(arbiter.spawn(async move {
        let _ = tx.send(f.await);
    }));
    rx.await.expect("the arbiter ran it")
}

#[actix_rt::test]
async fn pools_are_spread_over_the_adopted_arbiters_in_turn() {
    let store = store_with_pools(&[(1, 2), (2, 2), (3, 2), (4, 2)]).await;
    let reg = registry(store, EngineConfig::default());
    let workers = [actix_rt::Arbiter::new(), actix_rt::Arbiter::new()];
    let mut threads = Vec::new();
    for worker in &workers {
        let reg = reg.clone();
        threads.push(
            on(worker, async move {
                reg.adopt_current_arbiter();
                reg.adopt_current_arbiter(); // a worker that rebuilt its app: still one turn
                std::thread::current().id()
            })
            .await,
        );
    }
    // Asked for from one worker and from a thread no worker runs (as at start): the same.
    let asker = reg.clone();
    on(&workers[0], async move {
        take(&asker, 1, 1).await;
        take(&asker, 2, 1).await;
    })
    .await;
    take(&reg, 3, 1).await;
    take(&reg, 4, 1).await;
    let mut on_thread = Vec::new();
    for pool in 1..=4 {
        on_thread.push(reg.thread_of(PoolId(pool)).await.expect("running"));
    }
    assert_eq!(
        on_thread,
        [threads[0], threads[1], threads[0], threads[1]],
        "in turn, never on the asking thread {:?}",
        std::thread::current().id()
    );
    reg.shutdown(Duration::from_secs(5)).await;
    for worker in workers {
        worker.stop();
    }
}

/// A memory store whose loads wait at a gate (one permit each), are counted, and fail while
/// told to, so a test can queue requests on a pool's start and decide how the start ends.
struct GatedStore {
    inner: MemoryStore,
    gate: tokio::sync::Semaphore,
    loads: std::sync::atomic::AtomicU64,
    fail_loads: std::sync::atomic::AtomicBool,
}

impl crate::store::PoolStore for GatedStore {
    fn create_pool(
        &self,
        snapshot: PoolSnapshot,
    ) -> crate::store::StoreFuture<'_, Result<(), crate::store::StoreError>> {
        self.inner.create_pool(snapshot)
    }

    fn load(
        &self,
        pool: PoolId,
    ) -> crate::store::StoreFuture<'_, Result<Option<PoolSnapshot>, crate::store::StoreError>> {
        use std::sync::atomic::Ordering;
        Box::pin(async move {
            self.loads.fetch_add(1, Ordering::SeqCst);
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
            if self.fail_loads.load(Ordering::SeqCst) {
                return Err(crate::store::StoreError::Unavailable("gated".into()));
            }
            self.inner.load(pool).await
        })
    }

    fn commit<'a>(
        &'a self,
        batch: &'a [crate::store::PoolCommit],
    ) -> crate::store::StoreFuture<'a, Vec<Result<(), crate::store::StoreError>>> {
        self.inner.commit(batch)
    }

    fn live_pools(
        &self,
    ) -> crate::store::StoreFuture<'_, Result<Vec<PoolId>, crate::store::StoreError>> {
        self.inner.live_pools()
    }

    fn usage(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> crate::store::StoreFuture<
        '_,
        Result<Vec<crate::model::UsageRecord>, crate::store::StoreError>,
    > {
        self.inner.usage(pool, from, to)
    }

    fn ping(&self) -> crate::store::StoreFuture<'_, Result<(), crate::store::StoreError>> {
        self.inner.ping()
    }
}

#[actix_rt::test]
async fn requests_waiting_on_a_failed_start_share_its_failure_and_one_actor_starts_later() {
    use crate::store::PoolStore;
    use std::sync::atomic::Ordering;
    let store = Arc::new(GatedStore {
        inner: MemoryStore::new(),
        gate: tokio::sync::Semaphore::new(0),
        loads: Default::default(),
        fail_loads: Default::default(),
    });
    store
        .create_pool(PoolSnapshot::new(PoolId(1), OWNER, vec![license(3)]))
        .await
        .expect("create pool");
    let reg = PoolRegistry::new(
        store.clone(),
        Arc::new(TokioClock::starting_at(T0)),
        EngineConfig::default(),
        Vec::new(),
    );
    let ask_four = |reg: &PoolRegistry| {
        (0..4)
            .map(|_| {
                let reg = reg.clone();
                tokio::task::spawn_local(async move { reg.status(PoolId(1)).await })
            })
            .collect::<Vec<_>>()
    };

    // Four requests queue on one start, which fails: all four hear it, and nobody loads the
    // pool again behind the failed start.
    store.fail_loads.store(true, Ordering::SeqCst);
    let first = ask_four(&reg);
    while store.loads.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    store.gate.add_permits(100);
    for asked in first {
        assert_eq!(
            asked.await.expect("joined").map(|s| s.in_use),
            Err(EngineError::StoreUnavailable)
        );
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 1, "one start, shared");

    // The next requests start the pool afresh, once, with one actor.
    store.fail_loads.store(false, Ordering::SeqCst);
    for asked in ask_four(&reg) {
        assert_eq!(asked.await.expect("joined").map(|s| s.in_use), Ok(0));
    }
    assert_eq!(store.loads.load(Ordering::SeqCst), 2);
    assert_eq!(reg.stats().live_actors.load(Ordering::SeqCst), 1);
    assert_eq!(reg.loaded_pools(), vec![PoolId(1)]);
}

#[actix_rt::test]
async fn s11_offline_file_seat_is_persisted_and_survives_a_restart_of_the_engine() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 2)]).await;
    let first = registry(store.clone(), EngineConfig::default());
    let device = DeviceId::parse("airgap").expect("valid device");
    let seat = match first
        .take_offline_file(PoolId(1), AccountId(1), device.clone(), Platform::Windows)
        .await
    {
        Ok(AcquireOutcome::Granted {
            seat,
            reused: false,
        }) => seat,
        other => panic!("expected an offline-file seat, got {other:?}"),
    };
    assert!(seat.offline_file);
    assert_eq!(seat.expires_at, None);
    let stored = store.get(PoolId(1)).expect("stored");
    assert!(
        stored
            .seats
            .iter()
            .any(|s| s.id == seat.id && s.offline_file),
        "durable as an offline-file seat before it is acknowledged"
    );
    assert_eq!(
        first
            .take_offline_file(PoolId(1), AccountId(2), device.clone(), Platform::Web)
            .await,
        Ok(AcquireOutcome::Refused(
            Refusal::OfflineNeedsPermanentLicense
        ))
    );
    // Many heartbeat timeouts pass with the engine's own timer running: nothing ends it.
    tokio::time::sleep(Duration::from_secs(10 * 28_800)).await;
    assert_eq!(
        first.close(PoolId(1), seat.id, AccountId(1)).await,
        Ok(Ok(CloseOutcome::Kept))
    );
    drop(first);
    let second = registry(store.clone(), EngineConfig::default());
    second.load_live_pools(8).await;
    let seats = second
        .seats(PoolId(1), Some(AccountId(1)))
        .await
        .expect("listed");
    assert_eq!(seats.len(), 1);
    assert_eq!(seats[0].id, seat.id);
    assert!(
        seats[0].offline_file,
        "still an offline-file seat after a restart"
    );
    assert_eq!(
        second.release_all(PoolId(1), AccountId(1)).await,
        Ok(Vec::new())
    );
    assert_eq!(second.admin_release(PoolId(1), seat.id).await, Ok(Ok(())));
    assert!(store.get(PoolId(1)).expect("stored").seats.is_empty());
}

/// A migration that marks every device id it has not marked yet.
#[derive(Debug)]
struct MarkDevices;

impl crate::DeviceMigration for MarkDevices {
    fn migrate(&self, stored: &DeviceId) -> Option<DeviceId> {
        (!stored.as_str().starts_with("m:"))
            .then(|| DeviceId::parse(&format!("m:{stored}")).expect("valid device"))
    }
}

#[actix_rt::test]
async fn a_pool_loaded_with_a_device_migration_stores_its_seats_migrated_before_serving() {
    tokio::time::pause();
    let store = store_with_pools(&[(1, 5)]).await;
    let old = registry(store.clone(), EngineConfig::default());
    let seat = take(&old, 1, 7).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    // The same device under its new form too, as a node of the next version would store it.
    match old.acquire(PoolId(1), request(7, "m:pc"), None).await {
        Ok(AcquireOutcome::Granted { reused: false, .. }) => {}
        other => panic!("a second seat, got {other:?}"),
    }
    old.shutdown(Duration::from_secs(5)).await;
    let stored = store.get(PoolId(1)).expect("pool");
    assert_eq!(stored.seats.len(), 2);
    assert_eq!(stored.seats[0].device.as_str(), "pc");

    let reg = registry(
        store.clone(),
        EngineConfig {
            device_migration: Some(Arc::new(MarkDevices)),
            ..EngineConfig::default()
        },
    );
    // S2: the same account on the migrated device id finds its seat again.
    match reg.acquire(PoolId(1), request(7, "m:pc"), None).await {
        Ok(AcquireOutcome::Granted { seat: again, .. }) => assert_eq!(again.id, seat.id),
        other => panic!("expected the same seat, got {other:?}"),
    }
    let stored = store.get(PoolId(1)).expect("pool");
    assert_eq!(
        stored.seats.len(),
        1,
        "one seat per device: the oldest is kept"
    );
    assert_eq!(stored.seats[0].id, seat.id);
    assert_eq!(stored.seats[0].device.as_str(), "m:pc");
}
