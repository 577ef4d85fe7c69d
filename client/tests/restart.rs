//! A real 503: the broker drains on SIGTERM and answers a waiting seat request
//! `503 shutting_down` with `Retry-After: 1`; the client waits that second, keeps retrying
//! while nothing listens, and gets the seat from the broker restarted on the same data.
//!
//! This binary holds this one test on purpose: the SIGTERM goes to the test's own process
//! (nextest and `cargo test` alike run each test binary in a process of its own), where
//! only this test's brokers are listening for it.

#[path = "api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

use seatbroker_client::{AcquireRequest, Error, Platform, RetryPolicy};

use helpers::{broker_on, start_app};

#[actix_rt::test]
async fn a_503_from_a_draining_broker_is_retried_after_retry_after_on_its_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let (port, first) = start_app(data.path(), "127.0.0.1:0", &[])
        .await
        .expect("the first broker starts");
    let broker = broker_on(port, data);
    let (owner, pool) = broker.owner_with_pool("prof@uni.edu", 1, 60).await;
    let ada = broker.member(&owner, &pool, "ada@uni.edu").await;
    let bo = broker.member(&owner, &pool, "bo@uni.edu").await;
    let cy = broker.member(&owner, &pool, "cy@uni.edu").await;
    let adas = ada
        .client
        .take_seat(&AcquireRequest::new("ada-laptop", Platform::Windows))
        .await
        .expect("Ada holds the only seat");

    // Bo and Cy wait for the seat; Bo's client retries often (the broker is down for a
    // moment), Cy's not at all.
    let patient = RetryPolicy {
        max_attempts: 40,
        max_elapsed: Duration::from_secs(20),
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
    let bo_client = bo.client.with_retry_policy(patient);
    let bo_waits = tokio::spawn(async move {
        bo_client
            .take_seat(
                &AcquireRequest::new("bo-laptop", Platform::Windows)
                    .waiting(Duration::from_secs(10)),
            )
            .await
    });
    let cy_client = cy.client.with_retry_policy(RetryPolicy::none());
    let cy_waits = tokio::spawn(async move {
        cy_client
            .take_seat(
                &AcquireRequest::new("cy-laptop", Platform::Mac).waiting(Duration::from_secs(10)),
            )
            .await
    });
    let mut queued = false;
    for _ in 0..100 {
        let p = owner.client.me().await.expect("me").own_pool.expect("pool");
        if p.queue_length == 2 {
            queued = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(queued, "Bo and Cy are waiting");

    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(std::process::id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
    let terminated = Instant::now();

    match cy_waits.await.expect("Cy's task") {
        Err(Error::Unavailable {
            code, retry_after, ..
        }) => {
            assert_eq!(code, "shutting_down");
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("a draining broker answers 503: {other:?}"),
    }
    first
        .await
        .expect("the first broker's task")
        .expect("the first broker drained");

    // The same port and data directory; the store may take a moment to be released.
    let mut restarted = None;
    for _ in 0..50 {
        if let Ok(started) = start_app(broker.data_dir(), &format!("127.0.0.1:{port}"), &[]).await {
            restarted = Some(started);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (again, _serving) = restarted.expect("the broker restarts on its data");
    assert_eq!(again, port);

    ada.client
        .close(&adas.seat.seat_id)
        .await
        .expect("Ada closes on the restarted broker");
    let bos = bo_waits.await.expect("Bo's task");
    assert!(bos.is_ok(), "Bo got the seat after retrying: {bos:?}");
    assert!(
        terminated.elapsed() >= Duration::from_millis(900),
        "Bo waited for Retry-After"
    );
}
