//! The Redis backend against a real `redis-server` of its own (started on a free port in a
//! temporary directory, stopped afterwards): the same conformance checks as the embedded
//! store, fencing between two owners, and what a Redis outage does to the store.

use std::time::{Duration, Instant};

use seatbroker::redis_server::RedisServer;
use seatbroker::store::redis::{RedisOptions, RedisStore};
use seatbroker_actors::store::{PoolCommit, PoolStore, StoreError};
use seatbroker_actors::{
    AccountId, Change, DeviceId, License, LicenseId, Platform, Policy, PoolId, PoolSnapshot,
    SeatId, SeatRecord, Timestamp,
};

/// A Redis of this test's own and the directory it lives in.
pub struct OwnRedis {
    /// The server.
    pub server: RedisServer,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    /// Starts one; `durable` turns on the append-only file with `appendfsync always`.
    pub fn start(durable: bool) -> OwnRedis {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = RedisServer::start(dir.path(), durable).expect("redis-server starts");
        OwnRedis { server, _dir: dir }
    }
}

fn options(url: String) -> RedisOptions {
    RedisOptions {
        url,
        timeout: Duration::from_secs(2),
        down_timeout: Duration::from_millis(50),
        max_in_flight: 64,
        usage_retention_days: 400,
    }
}

async fn connect(redis: &OwnRedis) -> RedisStore {
    RedisStore::connect(&options(redis.server.url()))
        .await
        .expect("connects")
}

fn seat(id: u64, account: u32) -> SeatRecord {
    SeatRecord {
        id: SeatId(id),
        account: AccountId(account),
        device: DeviceId::parse(&format!("device-{id}")).expect("device id"),
        platform: Platform::Windows,
        policy: Policy::Member,
        granted_at: Timestamp(1_800_000_000_000),
        deadline: Some(Timestamp(1_800_000_600_000)),
        offline_until: None,
        last_active: Timestamp(1_800_000_000_000),
        offline_file: false,
    }
}

fn pool(id: u64) -> PoolSnapshot {
    PoolSnapshot::new(
        PoolId(id),
        AccountId(0xA00_001),
        vec![License {
            id: LicenseId(1),
            seats: 5,
            expires_at: None,
            trial: false,
        }],
    )
}

#[actix_rt::test]
async fn redis_store_passes_the_engine_conformance_tests() {
    let redis = OwnRedis::start(false);
    let store = connect(&redis).await;
    seatbroker_actors::store::conformance::run_all(&store, 100).await;
    assert!(store.round_trips() > 0, "the store counts its round trips");
}

#[actix_rt::test]
async fn redis_store_passes_the_account_conformance_tests() {
    let redis = OwnRedis::start(false);
    let store = connect(&redis).await;
    seatbroker::store::conformance::run_all(&store, 1_000).await;
}

#[actix_rt::test]
async fn everything_survives_a_new_connection() {
    let redis = OwnRedis::start(false);
    {
        let store = connect(&redis).await;
        seatbroker_actors::store::conformance::committed_changes_load_as_applied_in_order(
            &store, 7,
        )
        .await;
    }
    let store = connect(&redis).await;
    let snapshot = store.load(PoolId(7)).await.expect("load").expect("stored");
    assert_eq!(snapshot.seats.len(), 1);
    assert_eq!(store.live_pools().await, Ok(vec![PoolId(7)]));
}

#[actix_rt::test]
async fn s1_a_newer_owner_fences_the_older_one() {
    let redis = OwnRedis::start(false);
    let first = connect(&redis).await;
    let second = connect(&redis).await;
    first.create_pool(pool(1)).await.expect("create");
    first.load(PoolId(1)).await.expect("load").expect("exists");
    let grant = |id| PoolCommit {
        pool: PoolId(1),
        changes: vec![Change::SeatGranted(seat(id, 0xB00_000 + id as u32))],
    };
    assert_eq!(first.commit(&[grant(1)]).await, vec![Ok(())]);

    // The second node takes the pool over: the first one's next commit is refused.
    let taken = second.load(PoolId(1)).await.expect("load").expect("exists");
    assert_eq!(taken.seats.len(), 1);
    assert_eq!(
        first.commit(&[grant(2)]).await,
        vec![Err(StoreError::PoolOwnedElsewhere(PoolId(1)))]
    );
    assert_eq!(second.commit(&[grant(3)]).await, vec![Ok(())]);
    let stored = second.load(PoolId(1)).await.expect("load").expect("exists");
    let ids: Vec<u64> = stored.seats.iter().map(|s| s.id.0).collect();
    assert_eq!(ids, vec![1, 3], "the fenced grant never landed");

    // The first node never takes the pool back by itself.
    assert_eq!(
        first.load(PoolId(1)).await,
        Err(StoreError::PoolOwnedElsewhere(PoolId(1)))
    );
}

#[actix_rt::test]
async fn writes_fail_fast_while_redis_is_down_and_work_again_after() {
    let mut redis = OwnRedis::start(true);
    let store = connect(&redis).await;
    store.create_pool(pool(1)).await.expect("create");
    store.load(PoolId(1)).await.expect("load").expect("exists");
    let grant = |id| PoolCommit {
        pool: PoolId(1),
        changes: vec![Change::SeatGranted(seat(id, 0xB00_000 + id as u32))],
    };
    assert_eq!(store.commit(&[grant(1)]).await, vec![Ok(())]);

    redis.server.kill();
    // The first request finds Redis gone; from then on requests give up quickly.
    let _ = store.commit(&[grant(2)]).await;
    let started = Instant::now();
    let refused = store.commit(&[grant(3)]).await;
    assert!(
        matches!(refused[..], [Err(StoreError::Unavailable(_))]),
        "{refused:?}"
    );
    assert!(
        store.ping().await.is_err(),
        "a ping fails while Redis is down"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused within a generous bound, not after a hang: {:?}",
        started.elapsed()
    );

    redis
        .server
        .restart()
        .expect("redis restarts from its append-only file");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if store.commit(&[grant(4)]).await == vec![Ok(())] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes work again after Redis returns"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = store.load(PoolId(1)).await.expect("load").expect("exists");
    let ids: Vec<u64> = stored.seats.iter().map(|s| s.id.0).collect();
    assert!(
        ids.contains(&1),
        "the acknowledged seat survived the crash: {ids:?}"
    );
    assert!(ids.contains(&4), "{ids:?}");
    assert!(!ids.contains(&3), "a refused commit never landed: {ids:?}");
}

#[actix_rt::test]
async fn the_store_warns_when_redis_does_not_fsync_every_write() {
    let lax = OwnRedis::start(false);
    let warning = connect(&lax).await.durability_warning().await;
    assert!(
        warning
            .as_deref()
            .is_some_and(|w| w.contains("appendfsync")),
        "{warning:?}"
    );
    let durable = OwnRedis::start(true);
    assert_eq!(connect(&durable).await.durability_warning().await, None);
}

#[actix_rt::test]
async fn a_pool_of_a_thousand_seats_loads_whole() {
    let redis = OwnRedis::start(false);
    let store = connect(&redis).await;
    let mut snapshot = pool(1);
    snapshot.licenses[0].seats = 1_000;
    store.create_pool(snapshot).await.expect("create");
    store.load(PoolId(1)).await.expect("load").expect("exists");
    let changes = (0..1_000u64)
        .map(|s| Change::SeatGranted(seat(((s + 1) << 24) | s, 0x100_000 + s as u32)))
        .collect();
    let commit = PoolCommit {
        pool: PoolId(1),
        changes,
    };
    assert_eq!(store.commit(&[commit]).await, vec![Ok(())]);
    let loaded = store.load(PoolId(1)).await.expect("load").expect("exists");
    assert_eq!(loaded.seats.len(), 1_000);
    assert_eq!(loaded.next_seat_id, ((1_000 << 24) | 999) + 1);
}

/// A usage record of `hour` with one grant by `account`.
pub fn usage_at(hour: Timestamp, account: u32) -> Change {
    Change::Usage(seatbroker_actors::UsageRecord {
        hour,
        grants: 1,
        accounts: vec![AccountId(account)],
        day_accounts: vec![AccountId(account)],
        ..Default::default()
    })
}

#[actix_rt::test]
async fn w4_usage_past_the_retention_is_forgotten() {
    let redis = OwnRedis::start(false);
    let store = RedisStore::connect(&RedisOptions {
        usage_retention_days: 2,
        ..options(redis.server.url())
    })
    .await
    .expect("connects");
    store.create_pool(pool(1)).await.expect("create");
    store.load(PoolId(1)).await.expect("load").expect("exists");
    let day = |d: u64| {
        Timestamp(1_800_000_000_000)
            .day_start()
            .plus_secs(d * 86_400)
    };
    for (d, account) in [(0, 1), (1, 2), (5, 3)] {
        let commit = PoolCommit {
            pool: PoolId(1),
            changes: vec![usage_at(day(d), account)],
        };
        assert_eq!(store.commit(&[commit]).await, vec![Ok(())]);
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
    assert_eq!(kept[0].accounts, vec![AccountId(3)]);
}

fn removal(seat: u64, at: Timestamp) -> Change {
    Change::SeatRemoved(seatbroker_actors::Tombstone {
        seat: SeatId(seat),
        account: AccountId(seat as u32),
        reason: seatbroker_actors::GoneReason::Released,
        at,
    })
}

/// S4's answers after a restart (410 with the reason) need the tombstones: those past the
/// seven days' retention are forgotten when a newer seat goes, the rest load in order.
#[actix_rt::test]
async fn tombstones_past_the_retention_are_forgotten_and_the_rest_load() {
    let redis = OwnRedis::start(false);
    let store = connect(&redis).await;
    store.create_pool(pool(1)).await.expect("create");
    store.load(PoolId(1)).await.expect("load").expect("exists");
    let t0 = Timestamp(1_800_000_000_000);
    let day = 86_400;
    for (seat, at) in [
        (1, t0),
        (2, t0.plus_secs(3 * day)),
        (3, t0.plus_secs(9 * day)),
    ] {
        let commit = PoolCommit {
            pool: PoolId(1),
            changes: vec![removal(seat, at)],
        };
        assert_eq!(store.commit(&[commit]).await, vec![Ok(())]);
    }
    let loaded = store.load(PoolId(1)).await.expect("load").expect("exists");
    let seats: Vec<SeatId> = loaded.tombstones.iter().map(|t| t.seat).collect();
    assert_eq!(
        seats,
        vec![SeatId(2), SeatId(3)],
        "seat 1 went more than 7 days before seat 3"
    );
    assert_eq!(loaded.tombstones[1].at, t0.plus_secs(9 * day));
}

/// A broker before this layout kept tombstones in a sorted set scored by removal time; the
/// first load converts it, and commits then append to it.
#[actix_rt::test]
async fn tombstones_in_the_earlier_sorted_set_are_converted_at_load() {
    let redis = OwnRedis::start(false);
    let store = connect(&redis).await;
    store.create_pool(pool(1)).await.expect("create");
    let client = redis::Client::open(redis.server.url()).expect("url");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let t0 = Timestamp(1_800_000_000_000);
    for (seat, at) in [(5u64, t0.plus_secs(60)), (4, t0)] {
        let Change::SeatRemoved(tomb) = removal(seat, at) else {
            unreachable!()
        };
        let member = rmp_serde::to_vec_named(&tomb).expect("encode");
        let _: i64 = redis::cmd("ZADD")
            .arg("sb:{P-1}:tombstones")
            .arg(at.as_millis())
            .arg(member)
            .query_async(&mut raw)
            .await
            .expect("zadd");
    }
    let loaded = store.load(PoolId(1)).await.expect("load").expect("exists");
    let mut seats: Vec<SeatId> = loaded.tombstones.iter().map(|t| t.seat).collect();
    seats.sort();
    assert_eq!(seats, vec![SeatId(4), SeatId(5)]);
    let kind: String = redis::cmd("TYPE")
        .arg("sb:{P-1}:tombstones")
        .query_async(&mut raw)
        .await
        .expect("type");
    assert_eq!(kind, "list");
    let commit = PoolCommit {
        pool: PoolId(1),
        changes: vec![removal(6, t0.plus_secs(120))],
    };
    assert_eq!(store.commit(&[commit]).await, vec![Ok(())]);
    let again = store.load(PoolId(1)).await.expect("load").expect("exists");
    let seats: Vec<SeatId> = again.tombstones.iter().map(|t| t.seat).collect();
    assert_eq!(seats, vec![SeatId(4), SeatId(5), SeatId(6)], "oldest first");
}
