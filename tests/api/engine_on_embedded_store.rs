//! The seat engine on the embedded file store: acknowledged seats are in the file, and a new
//! engine on the same directory (a restart) serves them again.

use std::sync::Arc;

use seatbroker::store::embedded::EmbeddedStore;
use seatbroker_actors::store::PoolStore;
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, DeviceId, EngineConfig, License, LicenseId,
    Platform, PoolId, PoolRegistry, PoolSnapshot, SystemClock,
};

const OWNER: AccountId = AccountId(0xA00_001);

fn registry(store: &EmbeddedStore) -> PoolRegistry {
    PoolRegistry::new(
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        EngineConfig::default(),
        Vec::new(),
    )
}

fn request(account: u32) -> AcquireRequest {
    AcquireRequest {
        account: AccountId(account),
        device: DeviceId::parse("workstation").expect("device id"),
        platform: Platform::Windows,
        wait: None,
    }
}

#[actix_rt::test]
async fn s1_s2_acknowledged_seats_survive_a_restart_and_capacity_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open store");
    let license = License {
        id: LicenseId(1),
        seats: 5,
        expires_at: None,
        trial: false,
    };
    store
        .create_pool(PoolSnapshot::new(PoolId(1), OWNER, vec![license]))
        .await
        .expect("create pool");

    let first = registry(&store);
    let mut tasks = Vec::new();
    for account in 1..=40u32 {
        let reg = first.clone();
        tasks.push(actix_rt::spawn(async move {
            reg.acquire(PoolId(1), request(account), None).await
        }));
    }
    let mut granted = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(AcquireOutcome::Granted { seat, .. }) => granted.push(seat.id),
            Ok(AcquireOutcome::Refused(r)) => assert_eq!(r.code(), "no_seat_available"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(granted.len(), 5, "S1: exactly the capacity");
    first.shutdown(std::time::Duration::from_secs(5)).await;
    drop(first);
    drop(store);
    // The committer lets go of the store once its last handle is gone (within a moment).
    let mut reopened = EmbeddedStore::open(dir.path());
    for _ in 0..1_000 {
        if reopened.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        reopened = EmbeddedStore::open(dir.path());
    }
    let store = reopened.expect("the first engine released the store");

    let second = registry(&store);
    second.load_live_pools(4).await;
    let mut seats: Vec<_> = second
        .seats(PoolId(1), None)
        .await
        .expect("seats")
        .into_iter()
        .map(|s| s.id)
        .collect();
    seats.sort();
    granted.sort();
    assert_eq!(seats, granted, "every acknowledged seat is back");
}
