//! The raw seat calls a load tester drives without a guard: take, heartbeat, close, logout.

use seatbroker_client::{AcquireRequest, Error, LossReason, Platform};

use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn s4_s5_s6_raw_seat_calls_take_beat_close_and_logout() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 2, 30).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let grant = ada
        .client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows).in_pool(&pool))
        .await
        .expect("a seat");
    assert_eq!(grant.seat.pool_id, pool);
    assert_eq!(grant.seat.heartbeat_interval_s, 10);
    let beat = ada
        .client
        .heartbeat(&grant.seat.seat_id, false)
        .await
        .expect("a heartbeat");
    assert_eq!(beat.heartbeat_interval_s, 10);
    assert!(beat.expires_at.is_some());

    ada.client.close(&grant.seat.seat_id).await.expect("closed");
    ada.client
        .close(&grant.seat.seat_id)
        .await
        .expect("a repeated close is answered 204 too");
    let late = ada.client.heartbeat(&grant.seat.seat_id, true).await;
    assert!(
        matches!(
            late,
            Err(Error::SeatGone {
                reason: LossReason::Released
            })
        ),
        "{late:?}"
    );

    let other = ada
        .client
        .take_seat(&AcquireRequest::new("ada-desktop", Platform::Mac))
        .await
        .expect("another seat");
    ada.client
        .logout(&other.seat.seat_id)
        .await
        .expect("logged out");
    ada.client
        .logout(&other.seat.seat_id)
        .await
        .expect("a repeated logout is answered 204 too");
    assert!(ada.client.my_seats().await.expect("seats").is_empty());
}
