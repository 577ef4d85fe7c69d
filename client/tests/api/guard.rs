//! `SeatGuard`: the background heartbeat keeps a seat, close and drop free it, and the seat's
//! fate (revoked, blocked, released, offline) reaches the watch channel.

use std::time::Duration;

use seatbroker_client::{AcquireRequest, Error, LossReason, Platform, SeatState};
use time::OffsetDateTime;

use crate::helpers::{code, next_fate, spawn_broker};

#[actix_rt::test]
async fn s4_background_heartbeat_keeps_a_seat_past_its_timeout() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;

    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    assert_eq!(seat.seat().heartbeat_interval_s, 1, "a third of 3 s");
    assert!(!seat.reused());

    // Longer than the 3 s timeout: only the background heartbeats keep the seat.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    assert_eq!(seat.state(), SeatState::Held);
    let held = ada.client.my_seats().await.expect("my seats");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].seat_id, seat.seat_id());
    let refused = bo
        .client
        .take_seat(&AcquireRequest::new("bo-laptop", Platform::Mac))
        .await;
    assert!(
        matches!(refused, Err(Error::NoSeatAvailable(_))),
        "still held: {refused:?}"
    );

    // S2: the same device gets the same seat again.
    let again = ada
        .client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("the same seat");
    assert!(again.reused);
    assert_eq!(again.seat.seat_id, seat.seat_id());
    seat.close().await.expect("closed");
}

#[actix_rt::test]
async fn s5_closing_a_guard_frees_a_members_seat() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let fate = seat.watch();
    seat.close().await.expect("closed");
    assert_eq!(*fate.borrow(), SeatState::Closed);
    let bos = bo
        .client
        .take_seat(&AcquireRequest::new("bo-laptop", Platform::Mac))
        .await;
    assert!(bos.is_ok(), "the seat is free at once: {:?}", code(&bos));
}

#[actix_rt::test]
async fn s5_dropping_a_guard_frees_a_members_seat() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let mut fate = seat.watch();
    drop(seat);

    // The close is sent in the background; Bo waits for the seat it frees (W1).
    let bos = bo
        .client
        .take_seat(&AcquireRequest::new("bo-laptop", Platform::Mac).waiting(Duration::from_secs(5)))
        .await;
    assert!(bos.is_ok(), "the dropped seat went to Bo: {:?}", code(&bos));
    tokio::time::timeout(
        Duration::from_secs(5),
        fate.wait_for(|s| *s == SeatState::Closed),
    )
    .await
    .expect("the background close is published")
    .expect("published");
    assert!(ada.client.my_seats().await.expect("seats").is_empty());
}

#[actix_rt::test]
async fn w3_a_seat_revoked_by_the_owner_is_lost_revoked() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 2, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let status = broker
        .admin(
            reqwest::Method::DELETE,
            &format!("/v1/pools/{pool}/seats/{}", seat.seat_id()),
            &owner.token,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        next_fate(&seat).await,
        SeatState::Lost {
            reason: LossReason::Revoked
        }
    );
    // A lost seat is not taken again behind the application's back.
    assert!(ada.client.my_seats().await.expect("seats").is_empty());
    assert!(matches!(
        seat.close().await,
        Err(Error::SeatGone {
            reason: LossReason::Revoked
        })
    ));
}

#[actix_rt::test]
async fn s10_blocking_a_member_is_lost_member_blocked() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 2, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let status = broker
        .admin(
            reqwest::Method::POST,
            &format!("/v1/pools/{pool}/members/{}/block", ada.account_id),
            &owner.token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        next_fate(&seat).await,
        SeatState::Lost {
            reason: LossReason::MemberBlocked
        }
    );
    let again = ada
        .client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows))
        .await;
    match again {
        Err(Error::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (403, "member_blocked"));
        }
        other => panic!("a blocked member is refused: {other:?}"),
    }
}

#[actix_rt::test]
async fn s7_release_all_frees_every_device_and_the_guards_hear_released() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 3, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let laptop = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let desktop = ada
        .client
        .acquire(AcquireRequest::new("ada-desktop", Platform::Mac))
        .await
        .expect("another seat");
    assert_eq!(ada.client.release_all().await.expect("released"), 2);
    for guard in [&laptop, &desktop] {
        assert_eq!(
            next_fate(guard).await,
            SeatState::Lost {
                reason: LossReason::Released
            }
        );
    }
    assert!(ada.client.my_seats().await.expect("seats").is_empty());
}

#[actix_rt::test]
async fn s11_an_offline_reservation_needs_no_heartbeat_and_survives_close() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 2, 3).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let until = OffsetDateTime::now_utc() + time::Duration::days(2);
    let reserved = seat.reserve_offline(until).await.expect("reserved");
    let offline_until = reserved.offline_until.expect("an offline period");
    assert!(reserved.expires_at.is_none(), "no heartbeat deadline");
    assert_eq!(
        seat.state(),
        SeatState::Offline {
            until: offline_until
        }
    );

    // Past the 3 s timeout with the heartbeats paused, the reservation holds ...
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(matches!(seat.state(), SeatState::Offline { .. }));
    let seat_id = seat.seat_id().to_owned();
    // ... and closing the application keeps it (S11).
    seat.close().await.expect("closed");
    let held = ada.client.my_seats().await.expect("seats");
    assert_eq!(held.len(), 1, "the reservation is kept");
    assert_eq!(held[0].seat_id, seat_id);
    assert_eq!(held[0].offline_until, Some(offline_until));
    // Logging out ends it early (S6).
    ada.client.logout(&seat_id).await.expect("logged out");
    assert!(ada.client.my_seats().await.expect("seats").is_empty());
}

#[actix_rt::test]
async fn w2_the_active_flag_keeps_a_seat_and_an_idle_one_lets_a_waiter_reclaim_it() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 3).await;
    broker
        .patch_pool(&owner, &pool, serde_json::json!({"idle_reclaim_s": 1}))
        .await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    let seat = ada
        .client
        .acquire(AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("a seat");
    let bos_request =
        AcquireRequest::new("bo-laptop", Platform::Mac).waiting(Duration::from_secs(2));

    // Active heartbeats: Bo's wait ends without the seat.
    let waited = bo.client.take_seat(&bos_request).await;
    assert!(
        matches!(waited, Err(Error::NoSeatAvailable(_))),
        "an active seat is kept: {:?}",
        code(&waited)
    );

    // Idle heartbeats: the seat is taken back for the waiter (W2) and Ada hears revoked.
    seat.set_active(false);
    let bos = bo
        .client
        .take_seat(&bos_request.clone().waiting(Duration::from_secs(5)))
        .await;
    assert!(bos.is_ok(), "the idle seat went to Bo: {:?}", code(&bos));
    assert_eq!(
        next_fate(&seat).await,
        SeatState::Lost {
            reason: LossReason::Revoked
        }
    );
}
