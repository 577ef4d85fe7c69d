//! Throughput of one pool through its actor (release build: `cargo bench -p
//! seatbroker-actors --bench pool_actor`): 256 concurrent clients take a seat and give it
//! back in a loop on one pool, through the registry, the actor, the group committer and the
//! in-memory store; every answer waits for its commit. Reported as operations (an acquire or
//! a release) per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, DeviceId, EngineConfig, License, LicenseId,
    MemoryStore, Platform, PoolId, PoolRegistry, PoolSnapshot, PoolStore, SystemClock,
};

const CLIENTS: u32 = 256;
const OWNER: AccountId = AccountId(0xFFF_FFF);

fn pool_actor(c: &mut Criterion) {
    let system = actix_rt::System::new();
    let registry = system.block_on(async {
        let store = Arc::new(MemoryStore::new());
        store
            .create_pool(PoolSnapshot::new(
                PoolId(1),
                OWNER,
                vec![License {
                    id: LicenseId(1),
                    seats: CLIENTS,
                    expires_at: None,
                    trial: false,
                }],
            ))
            .await
            .expect("create pool");
        PoolRegistry::new(
            store,
            Arc::new(SystemClock),
            EngineConfig::default(),
            Vec::new(),
        )
    });
    let mut group = c.benchmark_group("pool actor");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("acquire or release, 256 clients, one pool", |b| {
        b.iter_custom(|ops| system.block_on(run(&registry, ops)))
    });
    group.finish();
    let stats = registry.commit_stats();
    let calls = stats.store_calls.load(std::sync::atomic::Ordering::Relaxed);
    let changes = stats.changes.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "group commit: {changes} changes in {calls} store calls ({:.1} changes per call)",
        changes as f64 / calls.max(1) as f64
    );
}

/// Runs `ops` operations (half acquires, half releases) spread over the clients.
async fn run(registry: &PoolRegistry, ops: u64) -> Duration {
    let pairs_per_client = (ops / 2).div_ceil(u64::from(CLIENTS)).max(1);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CLIENTS as usize);
    for client in 0..CLIENTS {
        let registry = registry.clone();
        tasks.push(actix_rt::spawn(async move {
            let account = AccountId(client);
            let device = DeviceId::parse(&format!("bench-device-{client}")).expect("device id");
            for _ in 0..pairs_per_client {
                let req = AcquireRequest {
                    account,
                    device: device.clone(),
                    platform: Platform::Windows,
                    wait: None,
                };
                let seat = match registry.acquire(PoolId(1), req, None).await {
                    Ok(AcquireOutcome::Granted { seat, .. }) => seat.id,
                    other => panic!("every client has a seat of its own: {other:?}"),
                };
                registry
                    .close(PoolId(1), seat, account)
                    .await
                    .expect("engine")
                    .expect("close");
            }
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
    let elapsed = started.elapsed();
    // Criterion asked for `ops`; scale to the operations actually run.
    let ran = pairs_per_client * 2 * u64::from(CLIENTS);
    elapsed.mul_f64(ops as f64 / ran as f64)
}

criterion_group!(benches, pool_actor);
criterion_main!(benches);
