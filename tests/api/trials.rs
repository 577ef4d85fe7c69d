//! Trials (L6) and L5's "a regular license ends the running trial" through HTTP.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker, TestBroker};

async fn account(broker: &TestBroker, email: &str) -> String {
    broker.create_account(email, "correct horse").await;
    broker.login(email, "correct horse").await
}

async fn take(broker: &TestBroker, token: &str) -> reqwest::Response {
    broker
        .call(
            Method::POST,
            "/v1/seats",
            token,
            Some(json!({"device_id": "laptop", "platform": "windows"})),
        )
        .await
}

#[actix_rt::test]
async fn l6_a_trial_is_one_seat_for_90_days_with_5_active_days() {
    let broker = spawn_broker().await;
    let token = account(&broker, "curious@example.org").await;
    let res = broker.call(Method::POST, "/v1/trials", &token, None).await;
    assert_eq!(res.status(), 201);
    let trial: Value = res.json().await.unwrap();
    assert_eq!(trial["active_days_left"], 5);
    assert_eq!(trial["license"]["type"], "trial");
    assert_eq!(trial["license"]["seats"], 1);
    assert_eq!(trial["pool"]["type"], "trial");
    assert_eq!(trial["pool"]["capacity"], 1);
    let valid_until =
        seatbroker::domain::time::parse(trial["valid_until"].as_str().unwrap()).unwrap();
    let in_89_days =
        seatbroker_actors::Clock::now(&seatbroker_actors::SystemClock).plus_secs(89 * 86_400);
    assert!(valid_until > in_89_days, "valid 90 days");

    // The first seat request consumes the first day.
    let seat: Value = take(&broker, &token).await.json().await.unwrap();
    assert_eq!(seat["trial_days_left"], 4);
    assert!(seat["warnings"]
        .as_array()
        .unwrap()
        .contains(&json!("trial_days_left")));
    // Starting again within 24 hours consumes nothing.
    let again: Value = take(&broker, &token).await.json().await.unwrap();
    assert_eq!(again["trial_days_left"], 4);
}

#[actix_rt::test]
async fn l6_trials_are_refused_to_the_licensed_and_to_a_running_trial() {
    let broker = spawn_broker().await;
    let token = account(&broker, "again@example.org").await;
    assert_eq!(
        broker
            .call(Method::POST, "/v1/trials", &token, None)
            .await
            .status(),
        201
    );
    let (status, err) = error(broker.call(Method::POST, "/v1/trials", &token, None).await).await;
    assert_eq!(
        (status, err["code"].as_str(), err["reason"].as_str()),
        (409, Some("trial_not_allowed"), Some("trial_active"))
    );
    let (licensed, _) = broker.owner_with_license("licensed@example.org", 2).await;
    let (status, err) = error(
        broker
            .call(Method::POST, "/v1/trials", &licensed, None)
            .await,
    )
    .await;
    assert_eq!((status, err["reason"].as_str()), (409, Some("licensed")));
}

#[actix_rt::test]
async fn l6_a_member_of_someone_elses_pool_may_start_a_trial() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@example.org", 2).await;
    let code: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/invite"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let member = account(&broker, "member@example.org").await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &member,
            Some(json!({"code": code["code"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        broker
            .call(Method::POST, "/v1/trials", &member, None)
            .await
            .status(),
        201
    );
}

#[actix_rt::test]
async fn l5_activating_a_regular_license_ends_the_running_trial() {
    let broker = spawn_broker().await;
    let token = account(&broker, "convert@example.org").await;
    assert_eq!(
        broker
            .call(Method::POST, "/v1/trials", &token, None)
            .await
            .status(),
        201
    );
    take(&broker, &token).await;
    let key = broker.issue_license("commercial", 3).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": key})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["pool"]["type"], "commercial");
    assert_eq!(
        body["pool"]["capacity"], 3,
        "the trial's seat no longer counts"
    );
    assert_eq!(body["pool"]["licenses"].as_array().map(Vec::len), Some(1));
    let seat: Value = take(&broker, &token).await.json().await.unwrap();
    assert_eq!(
        seat["trial_days_left"],
        Value::Null,
        "no days are counted any more"
    );
}
