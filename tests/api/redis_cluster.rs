//! The Redis backend on a Redis Cluster of its own (three masters on free loopback ports in a
//! temporary directory, started and stopped by each test): the storage conformance checks,
//! what spans the masters (a commit of many pools, the live pools, leases, durability), and
//! the broker itself serving a pool there across a restart.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use seatbroker::redis_server::RedisCluster;
use seatbroker::store::redis::{LeaseOptions, RedisOptions, RedisStore};
use seatbroker_actors::store::{PoolCommit, PoolStore, StoreError};
use seatbroker_actors::{
    AccountId, Change, DeviceId, License, LicenseId, Platform, Policy, PoolId, PoolSnapshot,
    SeatId, SeatRecord, Timestamp,
};
use serde_json::Value;

use crate::helpers::{spawn_broker_with, BrokerProcess, TestBroker};

/// A Redis Cluster of this test's own and the directory its nodes live in.
struct OwnCluster {
    cluster: RedisCluster,
    _dir: tempfile::TempDir,
}

impl OwnCluster {
    /// Three masters; `durable` turns on the append-only file with `appendfsync always`.
    fn start(durable: bool) -> OwnCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let cluster = RedisCluster::start(dir.path(), 3, durable).expect("a Redis Cluster starts");
        OwnCluster { cluster, _dir: dir }
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

async fn connect(cluster: &OwnCluster) -> RedisStore {
    RedisStore::connect(&options(cluster.cluster.url()))
        .await
        .expect("connects to the cluster")
}

/// A plain connection to one node of the cluster (no redirections).
async fn node(cluster: &OwnCluster, i: usize) -> redis::aio::MultiplexedConnection {
    let url = &cluster.cluster.urls()[i];
    redis::Client::open(url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connects to the node")
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

fn removal(seat: u64) -> Change {
    Change::SeatRemoved(seatbroker_actors::Tombstone {
        seat: SeatId(seat),
        account: AccountId(seat as u32),
        reason: seatbroker_actors::GoneReason::Released,
        at: Timestamp(1_800_000_060_000),
    })
}

#[actix_rt::test]
async fn redis_cluster_store_passes_the_engine_conformance_tests() {
    let cluster = OwnCluster::start(false);
    let store = connect(&cluster).await;
    seatbroker_actors::store::conformance::run_all(&store, 100).await;
}

#[actix_rt::test]
async fn redis_cluster_store_passes_the_account_conformance_tests() {
    let cluster = OwnCluster::start(false);
    let store = connect(&cluster).await;
    seatbroker::store::conformance::run_all(&store, 1_000).await;
}

/// One commit carries pools on every master: each pool is answered on its own, a pool's
/// commits apply in their order, and a fenced pool fails alone.
#[actix_rt::test]
async fn a_commit_across_every_master_answers_per_pool_in_order() {
    let cluster = OwnCluster::start(false);
    let store = connect(&cluster).await;
    let other = connect(&cluster).await;
    let pools: Vec<PoolId> = (1..=24).map(PoolId).collect();
    for p in &pools {
        store.create_pool(pool(p.0)).await.expect("create");
        store.load(*p).await.expect("load").expect("exists");
    }
    for i in 0..3 {
        let keys: i64 = redis::cmd("DBSIZE")
            .query_async(&mut node(&cluster, i).await)
            .await
            .expect("dbsize");
        assert!(keys > 0, "master {i} holds some of the pools");
    }
    // Another node takes pool 5 over: only its commit is refused.
    let fenced = PoolId(5);
    other.load(fenced).await.expect("load").expect("exists");

    // Two commits per pool in one batch: grant seats 1 and 2, then remove seat 1.
    let mut batch = Vec::new();
    for p in &pools {
        batch.push(PoolCommit {
            pool: *p,
            changes: vec![
                Change::SeatGranted(seat(1, 0xB00_001)),
                Change::SeatGranted(seat(2, 0xB00_002)),
            ],
        });
    }
    for p in &pools {
        batch.push(PoolCommit {
            pool: *p,
            changes: vec![removal(1)],
        });
    }
    let answers = store.commit(&batch).await;
    for (commit, answer) in batch.iter().zip(&answers) {
        if commit.pool == fenced {
            assert_eq!(answer, &Err(StoreError::PoolOwnedElsewhere(fenced)));
        } else {
            assert_eq!(answer, &Ok(()), "pool {}", commit.pool);
        }
    }
    for p in &pools {
        let loaded = other.load(*p).await.expect("load").expect("exists");
        let ids: Vec<u64> = loaded.seats.iter().map(|s| s.id.0).collect();
        if *p == fenced {
            assert!(ids.is_empty(), "the fenced commits never landed: {ids:?}");
        } else {
            assert_eq!(ids, vec![2], "pool {p}: granted, then seat 1 removed");
            assert_eq!(loaded.tombstones.len(), 1);
        }
    }
    // The live pools are found on every master.
    let live: HashSet<PoolId> = store
        .live_pools()
        .await
        .expect("live pools")
        .into_iter()
        .collect();
    let expected: HashSet<PoolId> = pools.iter().copied().filter(|p| *p != fenced).collect();
    assert_eq!(live, expected);
}

/// Slots moved to another master (resharding) after the store learnt where they were: a
/// commit pipelined to the old master hears MOVED for each of its pools, and goes again to
/// the new one, each pool's commits in their order.
#[actix_rt::test]
async fn commits_follow_slots_moved_to_another_master() {
    let cluster = OwnCluster::start(false);
    let store = connect(&cluster).await;
    let pools: Vec<PoolId> = (1..=24).map(PoolId).collect();
    for p in &pools {
        store.create_pool(pool(p.0)).await.expect("create");
        store.load(*p).await.expect("load").expect("exists");
    }
    let before: i64 = redis::cmd("DBSIZE")
        .query_async(&mut node(&cluster, 0).await)
        .await
        .expect("dbsize");
    assert!(before > 0, "master 0 holds some of the pools");
    cluster
        .cluster
        .move_slots(0, 1, 16_384 / 3)
        .expect("slots of master 0 move to master 1");
    let after: i64 = redis::cmd("DBSIZE")
        .query_async(&mut node(&cluster, 0).await)
        .await
        .expect("dbsize");
    assert_eq!(after, 0, "master 0 holds nothing any more");

    let mut batch: Vec<PoolCommit> = pools
        .iter()
        .map(|p| PoolCommit {
            pool: *p,
            changes: vec![Change::SeatGranted(seat(1, 0xB00_001))],
        })
        .collect();
    batch.extend(pools.iter().map(|p| PoolCommit {
        pool: *p,
        changes: vec![removal(1), Change::SeatGranted(seat(2, 0xB00_002))],
    }));
    let answers = store.commit(&batch).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    for p in &pools {
        let loaded = store.load(*p).await.expect("load").expect("exists");
        let ids: Vec<u64> = loaded.seats.iter().map(|s| s.id.0).collect();
        assert_eq!(ids, vec![2], "pool {p}: in order");
    }
    let live = store.live_pools().await.expect("live pools");
    assert_eq!(live, pools);
}

/// Several nodes on a cluster: leases of pools on every master are taken, renewed in one
/// request and given up.
#[actix_rt::test]
async fn leases_on_every_master_are_renewed_and_given_up() {
    let cluster = OwnCluster::start(false);
    let lease = |node: &str| LeaseOptions {
        holder: format!("{node} http://127.0.0.1:1"),
        lease_ms: 10_000,
    };
    let first = connect(&cluster).await.hold_leases(lease("first"));
    let second = connect(&cluster).await.hold_leases(lease("second"));
    let pools: Vec<PoolId> = (1..=12).map(PoolId).collect();
    for p in &pools {
        first.create_pool(pool(p.0)).await.expect("create");
        first.load(*p).await.expect("load").expect("exists");
    }
    assert_eq!(first.renew_leases(&pools).await, Ok(Vec::new()));
    assert_eq!(
        second.load(PoolId(7)).await,
        Err(StoreError::PoolOwnedElsewhere(PoolId(7))),
        "a held lease keeps the pool"
    );
    first.release_leases(&pools).await.expect("release");
    for p in &pools {
        assert_eq!(first.lease_holder(*p).await, Ok(None), "pool {p}");
    }
    second.load(PoolId(7)).await.expect("load").expect("exists");
    assert_eq!(
        second.lease_holder(PoolId(7)).await,
        Ok(Some("second http://127.0.0.1:1".into()))
    );
}

/// The nodes' change bus on a cluster: a subscription through `client()` (one connection to
/// the first URL's node) hears what `publish` sends, whichever master the channel's slot is on.
#[actix_rt::test]
async fn a_subscription_to_the_first_node_hears_what_is_published_on_every_master() {
    use futures_util::StreamExt;

    let cluster = OwnCluster::start(false);
    let store = connect(&cluster).await;
    let channels: Vec<String> = (0..12).map(|i| format!("sb:{{c{i}}}:changes")).collect();
    let mut pubsub = store.client().get_async_pubsub().await.expect("subscribes");
    pubsub.subscribe(&channels).await.expect("subscribes");
    for channel in &channels {
        store.publish(channel, channel).await.expect("published");
    }
    let mut heard = HashSet::new();
    let mut messages = pubsub.on_message();
    while heard.len() < channels.len() {
        let message = tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .expect("every message is heard within 5 s")
            .expect("a message");
        heard.insert(message.get_payload::<String>().expect("text"));
    }
    assert_eq!(heard, channels.into_iter().collect());
}

/// Every master is asked: one that does not fsync every write is named.
#[actix_rt::test]
async fn the_store_warns_when_a_master_does_not_fsync_every_write() {
    let cluster = OwnCluster::start(true);
    let store = connect(&cluster).await;
    assert_eq!(store.ping().await, Ok(()));
    assert_eq!(store.durability_warning().await, None);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("everysec")
        .query_async(&mut node(&cluster, 1).await)
        .await
        .expect("config set");
    let warning = store.durability_warning().await;
    let lax = format!("127.0.0.1:{}", cluster.cluster.nodes()[1].port());
    assert!(
        warning
            .as_deref()
            .is_some_and(|w| w.contains("appendfsync") && w.contains(&lax)),
        "{warning:?}"
    );
}

async fn seat_ids(b: &TestBroker, owner: &str, pool: &str) -> HashSet<String> {
    let res = b
        .call(Method::GET, &format!("/v1/pools/{pool}/seats"), owner, None)
        .await;
    assert_eq!(res.status(), 200);
    let seats: Value = res.json().await.expect("json");
    seats
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["seat_id"].as_str().expect("seat id").to_owned())
        .collect()
}

async fn seat_of(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 201, "a seat is granted");
    let seat: Value = res.json().await.expect("json");
    seat["seat_id"].as_str().expect("seat id").to_owned()
}

async fn ready(b: &TestBroker) {
    let started = Instant::now();
    while b.get("/readyz").await.status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(10), "broker ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The broker on a cluster (`storage.redis_url` listing its nodes) creates a pool, grants and
/// releases seats, and a broker started on the same cluster, then restarted, serves the same
/// seats.
#[actix_rt::test]
async fn the_broker_serves_a_pool_on_a_redis_cluster_across_a_restart() {
    let cluster = OwnCluster::start(true);
    let url = cluster.cluster.url();
    assert_eq!(url.split(',').count(), 3);
    let on_cluster = [
        ("SEATBROKER__STORAGE__BACKEND", "redis"),
        ("SEATBROKER__STORAGE__REDIS_URL", url.as_str()),
    ];
    let b = spawn_broker_with(&on_cluster).await;
    ready(&b).await;
    let (owner, pool) = b.owner_with_license("own@example.org", 2).await;
    let code = b.invite_code(&owner, &pool).await;
    let (_, ann) = b.join_with_code("ann@example.org", &code).await;
    let (_, bob) = b.join_with_code("bob@example.org", &code).await;
    let (_, cy) = b.join_with_code("cy@example.org", &code).await;
    let kept = seat_of(b.take_seat(&ann, "laptop").await).await;
    let released = seat_of(b.take_seat(&bob, "desk").await).await;
    assert_eq!(
        b.take_seat(&cy, "tablet").await.status(),
        409,
        "S1: 2 seats"
    );
    let res = b
        .call(Method::DELETE, &format!("/v1/seats/{released}"), &bob, None)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        seat_ids(&b, &owner, &pool).await,
        HashSet::from([kept.clone()])
    );

    // The binary on the same cluster loads the pool at start (taking it over), then restarts.
    let data = tempfile::tempdir().expect("temp dir");
    let mut process = BrokerProcess::start_with(data.path(), &on_cluster);
    let node = TestBroker::at(&process.address);
    ready(&node).await;
    assert_eq!(
        seat_ids(&node, &owner, &pool).await,
        HashSet::from([kept.clone()])
    );
    process.signal("TERM");
    assert_eq!(process.wait_exit(Duration::from_secs(10)), Some(0));
    drop(process);

    let process = BrokerProcess::start_with(data.path(), &on_cluster);
    let node = TestBroker::at(&process.address);
    ready(&node).await;
    assert_eq!(
        seat_ids(&node, &owner, &pool).await,
        HashSet::from([kept.clone()]),
        "the held seat survived the restart"
    );
    let taken = seat_of(node.take_seat(&cy, "tablet").await).await;
    assert_eq!(node.take_seat(&bob, "desk").await.status(), 409, "S1");
    node.release_seat(&owner, &pool, &taken).await;
    assert_eq!(seat_ids(&node, &owner, &pool).await, HashSet::from([kept]));
}

/// A master down (a cluster without replicas): the store is not ready, the pools on that
/// master are refused quickly while the others still commit, and once the master is back
/// from its append-only file every pool commits again, nothing acknowledged lost.
#[actix_rt::test]
async fn a_master_down_fails_its_own_pools_only_until_it_returns() {
    let mut cluster = OwnCluster::start(true);
    let store = connect(&cluster).await;
    let pools: Vec<PoolId> = (1..=24).map(PoolId).collect();
    let mut on_down_master = HashSet::new();
    let mut down = node(&cluster, 2).await;
    for p in &pools {
        store.create_pool(pool(p.0)).await.expect("create");
        store.load(*p).await.expect("load").expect("exists");
        // A node answers MOVED for a key of a slot it does not serve.
        let here: redis::RedisResult<i64> = redis::cmd("EXISTS")
            .arg(format!("sb:{{{p}}}:pool"))
            .query_async(&mut down)
            .await;
        if here == Ok(1) {
            on_down_master.insert(*p);
        }
    }
    assert!(!on_down_master.is_empty() && on_down_master.len() < pools.len());
    let grant = |id: u64| -> Vec<PoolCommit> {
        pools
            .iter()
            .map(|p| PoolCommit {
                pool: *p,
                changes: vec![Change::SeatGranted(seat(id, 0xB00_000 + id as u32))],
            })
            .collect()
    };
    assert!(store.commit(&grant(1)).await.iter().all(Result::is_ok));

    cluster.cluster.node_mut(2).kill();
    for round in 2..5 {
        let started = Instant::now();
        let answers = store.commit(&grant(round)).await;
        for (p, answer) in pools.iter().zip(&answers) {
            if on_down_master.contains(p) {
                assert!(
                    matches!(answer, Err(StoreError::Unavailable(_))),
                    "{p}: {answer:?}"
                );
            } else {
                assert_eq!(answer, &Ok(()), "{p} is on a master that answers");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused within a generous bound, not after a hang: {:?}",
            started.elapsed()
        );
        assert!(
            store.ping().await.is_err(),
            "not ready while a master is down"
        );
    }

    cluster
        .cluster
        .node_mut(2)
        .restart()
        .expect("the master restarts from its append-only file");
    let back = Instant::now();
    while store.commit(&grant(5)).await.iter().any(Result::is_err) {
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "every pool commits again after the master returns"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.ping().await, Ok(()));
    for p in &pools {
        let loaded = store.load(*p).await.expect("load").expect("exists");
        let ids: HashSet<u64> = loaded.seats.iter().map(|s| s.id.0).collect();
        assert!(ids.contains(&1) && ids.contains(&5), "{p}: {ids:?}");
        if on_down_master.contains(p) {
            assert_eq!(ids.len(), 2, "{p}: refused grants never landed: {ids:?}");
        } else {
            assert_eq!(ids.len(), 5, "{p}: {ids:?}");
        }
    }
}
