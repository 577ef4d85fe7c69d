//! Issue 16, privacy of devices: the device id a client sends is kept only as a keyed hash,
//! people see a fingerprint, and a store written by an earlier version (raw ids) is migrated
//! when its pools load. The real binary on a real data directory, read back byte by byte.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use seatbroker::domain::ids::{parse_pool, parse_seat};
use seatbroker::store::embedded::EmbeddedStore;
use seatbroker_actors::store::PoolStore;
use seatbroker_actors::{Change, DeviceId, PoolCommit};

use crate::helpers::{redis_suite, BrokerProcess, TestBroker};

/// Whether any file under `dir` holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

async fn json(res: reqwest::Response) -> Value {
    res.json().await.expect("json")
}

#[actix_rt::test]
async fn a_sent_device_id_is_stored_only_as_a_keyed_hash_and_shown_as_a_fingerprint() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut process = BrokerProcess::start(data.path());
    let b = TestBroker::at(&process.address);
    let device = "alice-thinkpad-x1-serial-PF3XK9";
    let (owner, pool) = b.owner_with_license("alice@uni.edu", 2).await;

    // The answer to the request that sent the id names it as sent, plus the fingerprint.
    let res = b.take_seat(&owner, device).await;
    assert_eq!(res.status(), 201);
    let taken = json(res).await;
    assert_eq!(taken["device_id"], device);
    let print = taken["device_fingerprint"].as_str().expect("fingerprint");
    assert_eq!(print.len(), 14, "{print}");
    assert!(print.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));

    // S2 still finds the seat: the same id hashes to the same stored id.
    let res = b.take_seat(&owner, device).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["seat_id"], taken["seat_id"]);

    // Everywhere else the device is its fingerprint.
    let mine = json(b.call(Method::GET, "/v1/me/seats", &owner, None).await).await;
    assert_eq!(mine[0]["device_id"], print, "{mine}");
    let listed = json(
        b.call(
            Method::GET,
            &format!("/v1/pools/{pool}/seats"),
            &owner,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(listed[0]["device_fingerprint"], print, "{listed}");
    let res = b
        .call(
            Method::GET,
            "/v1/admin/accounts/alice@uni.edu",
            crate::helpers::OPERATOR_TOKEN,
            None,
        )
        .await;
    let case = json(res).await;
    assert_eq!(case["devices"][0]["device_id"], print, "{case}");

    // Nothing the broker wrote holds the id (the Redis suite's AOF lives here too).
    process.signal("TERM");
    assert_eq!(process.wait_exit(Duration::from_secs(10)), Some(0));
    let holding = files_holding(data.path(), device.as_bytes());
    assert!(
        holding.is_empty(),
        "the raw device id is stored in {holding:?}"
    );
}

#[actix_rt::test]
async fn device_ids_stored_raw_by_an_earlier_version_are_hashed_when_their_pool_loads() {
    if redis_suite() {
        // The store is edited directly here to look like an earlier version's; the
        // migration itself is the engine's and runs the same on Redis.
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let mut first = BrokerProcess::start(data.path());
    let b = TestBroker::at(&first.address);
    let (owner, pool) = b.owner_with_license("bob@uni.edu", 2).await;
    let taken = json(b.take_seat(&owner, "old-laptop").await).await;
    let seat = taken["seat_id"].as_str().expect("seat id").to_owned();
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));

    // Make the seat look as an earlier version stored it: the raw id.
    let pool_id = parse_pool(&pool).expect("pool id");
    let (_, seat_id) = parse_seat(&seat).expect("seat id");
    {
        let store = EmbeddedStore::open(data.path()).expect("open store");
        let mut snapshot = store.load(pool_id).await.expect("load").expect("pool");
        let record = snapshot
            .seats
            .iter_mut()
            .find(|s| s.id == seat_id)
            .expect("the seat is stored");
        assert!(
            record.device.as_str().starts_with("h1:"),
            "{:?}",
            record.device
        );
        record.device = DeviceId::parse("old-laptop").expect("device id");
        let batch = [PoolCommit {
            pool: pool_id,
            changes: vec![Change::SeatUpdated(record.clone())],
        }];
        for result in store.commit(&batch).await {
            result.expect("commit");
        }
        // And an audit entry as the earlier version wrote it: the device as support typed it.
        use seatbroker::store::{AccountStore, AuditEntry};
        store
            .append_audit(AuditEntry {
                at: seatbroker_actors::Timestamp(1_800_000_000_000),
                actor: "operator".into(),
                action: "deregister_device".into(),
                target: "A-000-001 old-laptop".into(),
                before: Some(r#"{"seats":[{"device_id":"old-laptop","seat_id":"S-1"}]}"#.into()),
                after: Some(r#"{"seats":[]}"#.into()),
            })
            .await
            .expect("audit");
    }

    // The new version loads the pool at start, migrates it, and S2 still finds the seat.
    let mut second = BrokerProcess::start(data.path());
    let b = TestBroker::at(&second.address);
    let owner = b.login("bob@uni.edu", "correct horse").await;
    let res = b.take_seat(&owner, "old-laptop").await;
    assert_eq!(res.status(), 200, "the same seat again (S2)");
    let again = json(res).await;
    assert_eq!(again["seat_id"], seat.as_str());
    // The old audit entry reads with the device's fingerprint in place of what was typed.
    let print = again["device_fingerprint"].as_str().expect("fingerprint");
    let log = json(
        b.call(
            reqwest::Method::GET,
            "/v1/admin/audit",
            crate::helpers::OPERATOR_TOKEN,
            None,
        )
        .await,
    )
    .await;
    let text = log.to_string();
    assert!(!text.contains("old-laptop"), "{text}");
    assert_eq!(log["entries"][0]["target"], format!("A-000-001 {print}"));
    assert_eq!(log["entries"][0]["before"]["seats"][0]["device_id"], print);
    second.signal("TERM");
    assert_eq!(second.wait_exit(Duration::from_secs(10)), Some(0));

    let store = EmbeddedStore::open(data.path()).expect("open store");
    let snapshot = store.load(pool_id).await.expect("load").expect("pool");
    let record = snapshot
        .seats
        .iter()
        .find(|s| s.id == seat_id)
        .expect("the seat is stored");
    assert!(
        record.device.as_str().starts_with("h1:"),
        "migrated: {:?}",
        record.device
    );
}
