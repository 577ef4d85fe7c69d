//! 429 is retried after the broker's `Retry-After` and then succeeds; without retries it
//! reaches the caller with the `Retry-After` it carried. Both throttles are real: an A3
//! login lockout of 1 s, and a W1 queue bounded to one waiter (`Retry-After: 1`).

use std::time::{Duration, Instant};

use seatbroker_client::{AcquireRequest, Error, Platform, RetryPolicy};

use crate::helpers::spawn_broker_with;

#[actix_rt::test]
async fn a3_login_waits_out_too_many_attempts_honouring_retry_after() {
    let broker = spawn_broker_with(&[
        ("SEATBROKER__AUTH__LOCKOUT_THRESHOLD", "2"),
        ("SEATBROKER__AUTH__LOCKOUT_S", "1"),
    ])
    .await;
    let client = broker.client();
    client
        .create_account("ada@uni.edu", "correct horse", "Ada")
        .await
        .expect("account");
    for _ in 0..2 {
        let wrong = client.login("ada@uni.edu", "wrong horse").await;
        assert!(
            matches!(&wrong, Err(Error::Refused { status: 401, code, .. }) if code == "invalid_credentials"),
            "{wrong:?}"
        );
    }

    let impatient = client.with_retry_policy(RetryPolicy::none());
    let locked = impatient.login("ada@uni.edu", "correct horse").await;
    match locked {
        Err(Error::Throttled {
            code, retry_after, ..
        }) => {
            assert_eq!(code, "too_many_attempts");
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("locked out: {other:?}"),
    }

    let started = Instant::now();
    let login = client.login("ada@uni.edu", "correct horse").await;
    let waited = started.elapsed();
    assert!(
        login.is_ok(),
        "the retry after the lockout succeeds: {login:?}"
    );
    assert!(
        waited >= Duration::from_millis(900),
        "it waited for Retry-After: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "not much longer: {waited:?}"
    );
}

#[actix_rt::test]
async fn w1_a_throttled_acquire_retries_after_retry_after_and_gets_the_seat() {
    let broker = spawn_broker_with(&[("SEATBROKER__SEATS__MAX_WAITERS_PER_POOL", "1")]).await;
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 60).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    let cy = broker.member(&owner, &pool, "cy@uni.edu").await;
    let adas = ada
        .client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("Ada holds the only seat");

    // Bo fills the one place in the queue.
    let bo_client = bo.client.clone();
    let bo_waits = tokio::spawn(async move {
        bo_client
            .take_seat(
                &AcquireRequest::new("bo-laptop", Platform::Windows)
                    .waiting(Duration::from_secs(5)),
            )
            .await
    });
    let mut queued = false;
    for _ in 0..100 {
        let p = owner.client.me().await.expect("me").own_pool.expect("pool");
        if p.queue_length == 1 {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(queued, "Bo is waiting");

    // Without retries, Cy hears the 429 and its Retry-After.
    let refused = cy
        .client
        .with_retry_policy(RetryPolicy::none())
        .take_seat(&AcquireRequest::new("cy-laptop", Platform::Mac).waiting(Duration::from_secs(5)))
        .await;
    match refused {
        Err(Error::Throttled {
            code, retry_after, ..
        }) => {
            assert_eq!(code, "throttled");
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("the queue is full: {other:?}"),
    }

    // With retries, Cy is throttled, waits, and gets the seat once the queue moved on:
    // Ada closes (the seat goes to Bo, the head of the queue), then Bo closes.
    let started = Instant::now();
    let cy_client = cy.client.clone();
    let cy_waits = tokio::spawn(async move {
        cy_client
            .take_seat(
                &AcquireRequest::new("cy-laptop", Platform::Mac).waiting(Duration::from_secs(5)),
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    ada.client
        .close(&adas.seat.seat_id)
        .await
        .expect("Ada closes");
    let bos = bo_waits
        .await
        .expect("Bo's task")
        .expect("Bo got the seat Ada freed");
    bo.client.close(&bos.seat.seat_id).await.expect("Bo closes");
    let cys = cy_waits.await.expect("Cy's task");
    let waited = started.elapsed();
    assert!(cys.is_ok(), "Cy got the seat after retrying: {cys:?}");
    assert!(
        waited >= Duration::from_millis(900),
        "Cy waited for Retry-After before trying again: {waited:?}"
    );
}
