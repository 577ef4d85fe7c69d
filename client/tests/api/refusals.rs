//! Refusals arrive as typed errors carrying the API's code and S12's details.

use std::time::Duration;

use seatbroker_client::{AcquireRequest, Error, Platform};

use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn s12_no_seat_available_carries_capacity_own_seats_and_owner_contact() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 2, 60).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    ada.client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("Ada's seat");
    let bos = bo
        .client
        .take_seat(&AcquireRequest::new("bo-laptop", Platform::Windows))
        .await
        .expect("Bo's first seat");

    let refused = bo
        .client
        .take_seat(&AcquireRequest::new("bo-desktop", Platform::Mac).in_pool(&pool))
        .await;
    let Err(Error::NoSeatAvailable(full)) = refused else {
        panic!("a full pool: {refused:?}");
    };
    assert_eq!((full.capacity, full.in_use), (2, 2));
    assert_eq!(full.queue_position, None, "it did not wait");
    assert_eq!(full.own_seats_elsewhere.len(), 1);
    assert_eq!(full.own_seats_elsewhere[0].seat_id, bos.seat.seat_id);
    // Another device is named by its fingerprint: the broker keeps no device ids.
    assert_eq!(
        full.own_seats_elsewhere[0].device_id,
        bos.seat.device_fingerprint
    );
    assert_eq!(
        full.own_seats_elsewhere[0].device_fingerprint,
        bos.seat.device_fingerprint
    );
    let contact = full.owner_contact.as_ref().expect("the owner's contact");
    assert_eq!(contact.email, "prof@uni.edu");
    assert!(!full.message.is_empty());

    // W1: a wait that ends without a seat says where it stood.
    let waited = bo
        .client
        .take_seat(
            &AcquireRequest::new("bo-desktop", Platform::Mac).waiting(Duration::from_secs(1)),
        )
        .await;
    let Err(Error::NoSeatAvailable(full)) = waited else {
        panic!("still full after the wait: {waited:?}");
    };
    assert_eq!(full.queue_position, Some(1));
}

#[actix_rt::test]
async fn other_refusals_keep_their_status_code_and_details() {
    let broker = spawn_broker().await;
    let lonely = broker.user("lonely@uni.edu").await;
    let refused = lonely
        .client
        .take_seat(&AcquireRequest::new("laptop", Platform::Windows))
        .await;
    match refused {
        Err(Error::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (403, "no_license"));
        }
        other => panic!("no license: {other:?}"),
    }
    let refused = lonely.client.activate("I-000-000-000-000").await;
    assert_eq!(
        refused.as_ref().err().and_then(Error::code),
        Some("unknown_code"),
        "{refused:?}"
    );
    let anonymous = broker.client();
    let refused = anonymous.me().await;
    assert!(
        matches!(&refused, Err(Error::Refused { status: 401, code, .. }) if code == "unauthenticated"),
        "{refused:?}"
    );
}
