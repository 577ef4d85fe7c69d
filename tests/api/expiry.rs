//! Refusals that need time to pass (L5, L6, S10) on a clock the test moves, and the W1 queue
//! bound.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker_timed, spawn_broker_with, MovableClock, OPERATOR_TOKEN};

#[actix_rt::test]
async fn l5_s10_an_expired_license_is_refused_and_its_seats_revoked() {
    let clock = Arc::new(MovableClock::default());
    let broker = spawn_broker_timed(&[], clock.clone()).await;
    // Within the hour, so the license expires before the seat's 8-hour heartbeat timeout.
    let soon = seatbroker::domain::time::format(
        seatbroker_actors::Clock::now(clock.as_ref()).plus_secs(3_600),
    );
    let issue = |seats: u32| {
        broker.call(
            Method::POST,
            "/v1/operator/licenses",
            OPERATOR_TOKEN,
            Some(json!({"type": "educational", "seats": seats, "expires_at": soon})),
        )
    };
    let held: Value = issue(2).await.json().await.unwrap();
    let unused: Value = issue(2).await.json().await.unwrap();
    broker.create_account("o@uni.edu", "correct horse").await;
    let owner = broker.login("o@uni.edu", "correct horse").await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &owner,
            Some(json!({"code": held["key"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let seat: Value = broker
        .call(
            Method::POST,
            "/v1/seats",
            &owner,
            Some(json!({"device_id": "pc", "platform": "web"})),
        )
        .await
        .json()
        .await
        .unwrap();

    clock.advance_days(2);
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &owner,
                Some(json!({"code": unused["key"]})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("license_expired"))
    );
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/seats",
                &owner,
                Some(json!({"device_id": "pc", "platform": "windows"})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("license_expired"))
    );
    let id = seat["seat_id"].as_str().unwrap();
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/heartbeat"),
                &owner,
                None,
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["reason"].as_str()),
        (410, Some("capacity_reduced"))
    );
}

#[actix_rt::test]
async fn l6_an_ended_trial_is_refused_and_a_new_one_waits_for_the_cooldown() {
    let clock = Arc::new(MovableClock::default());
    let broker = spawn_broker_timed(&[], clock.clone()).await;
    broker.create_account("t@uni.edu", "correct horse").await;
    let token = broker.login("t@uni.edu", "correct horse").await;
    assert_eq!(
        broker
            .call(Method::POST, "/v1/trials", &token, None)
            .await
            .status(),
        201
    );
    clock.advance_days(91);
    // The 30-day token has expired meanwhile.
    let token = broker.login("t@uni.edu", "correct horse").await;
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/seats",
                &token,
                Some(json!({"device_id": "pc", "platform": "windows"})),
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("trial_expired")));
    let (status, err) = error(broker.call(Method::POST, "/v1/trials", &token, None).await).await;
    assert_eq!(
        (status, err["code"].as_str(), err["reason"].as_str()),
        (409, Some("trial_not_allowed"), Some("recent_trial"))
    );
    clock.advance_days(275);
    let token = broker.login("t@uni.edu", "correct horse").await;
    assert_eq!(
        broker
            .call(Method::POST, "/v1/trials", &token, None)
            .await
            .status(),
        201,
        "a year after the last trial"
    );
}

#[actix_rt::test]
async fn w1_past_the_queue_bound_a_waiting_request_is_throttled() {
    let broker = spawn_broker_with(&[("SEATBROKER__SEATS__MAX_WAITERS_PER_POOL", "1")]).await;
    let (owner, _) = broker.owner_with_license("q@uni.edu", 1).await;
    let take = |device: &'static str, wait: u32| {
        broker.call(
            Method::POST,
            "/v1/seats",
            &owner,
            Some(json!({"device_id": device, "platform": "web", "wait_s": wait})),
        )
    };
    assert_eq!(take("browser", 0).await.status(), 201);
    let waiting = {
        let client = broker.client.clone();
        let url = format!("{}/v1/seats", broker.address);
        let token = owner.clone();
        actix_rt::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"device_id": "pc", "platform": "windows", "wait_s": 5}))
                .send()
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/seats",
            &owner,
            Some(json!({"device_id": "mac", "platform": "mac", "wait_s": 5})),
        )
        .await;
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let (status, err) = error(res).await;
    assert_eq!((status, err["code"].as_str()), (429, Some("throttled")));
    waiting.abort();
}

#[actix_rt::test]
async fn w2_an_idle_seat_is_reclaimed_for_a_waiting_member() {
    let clock = Arc::new(MovableClock::default());
    let broker = spawn_broker_timed(&[], clock.clone()).await;
    let (owner, pool) = broker.owner_with_license("idle@uni.edu", 1).await;
    let res = broker
        .call(
            Method::PATCH,
            &format!("/v1/pools/{pool}"),
            &owner,
            Some(json!({"idle_reclaim_s": 600})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let code = broker.invite_code(&owner, &pool).await;
    let mut members = Vec::new();
    for email in ["away@uni.edu", "eager@uni.edu"] {
        members.push(broker.join_with_code(email, &code).await.1);
    }
    let seat: Value = broker
        .call(
            Method::POST,
            "/v1/seats",
            &members[0],
            Some(json!({"device_id": "pc", "platform": "windows"})),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = seat["seat_id"].as_str().unwrap().to_owned();
    // Nobody waits: idleness alone takes nothing away.
    clock.advance_secs(700);
    let hb = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &members[0],
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(hb.status(), 200);
    // Someone waits: the seat idle for more than 600 s goes to it.
    let res = broker
        .call(
            Method::POST,
            "/v1/seats",
            &members[1],
            Some(json!({"device_id": "pc", "platform": "windows", "wait_s": 5})),
        )
        .await;
    assert_eq!(res.status(), 201, "the waiting member got the idle seat");
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/heartbeat"),
                &members[0],
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["reason"].as_str()), (410, Some("revoked")));
}
