//! Seats through HTTP (S2–S6, S9, S12): take, heartbeat, close, log out, and the refusals.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker};

async fn take(
    broker: &crate::helpers::TestBroker,
    token: &str,
    device: &str,
    platform: &str,
) -> reqwest::Response {
    broker
        .call(
            Method::POST,
            "/v1/seats",
            token,
            Some(json!({"device_id": device, "platform": platform})),
        )
        .await
}

#[actix_rt::test]
async fn s2_s4_s5_s6_a_seat_is_taken_kept_alive_closed_and_freed() {
    let broker = spawn_broker().await;
    let (token, pool) = broker.owner_with_license("ada@example.org", 2).await;
    let res = take(&broker, &token, "workstation", "windows").await;
    assert_eq!(res.status(), 201);
    let seat: Value = res.json().await.unwrap();
    let id = seat["seat_id"].as_str().unwrap().to_owned();
    assert_eq!(seat["pool_id"].as_str(), Some(pool.as_str()));
    assert_eq!(seat["policy"], "owner");
    assert_eq!(seat["platform"], "windows");
    assert_eq!(seat["device_id"], "workstation");
    assert_eq!(seat["heartbeat_interval_s"], 300);
    assert!(seat["expires_at"].is_string());
    assert_eq!(seat["warnings"], json!([]));

    // S2: the same device again is the same seat.
    let again = take(&broker, &token, "workstation", "windows").await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap()["seat_id"].as_str(),
        Some(id.as_str())
    );

    // S4: a heartbeat answers the seat.
    let hb = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &token,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(hb.status(), 200);
    let hb = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &token,
            None,
        )
        .await;
    assert_eq!(hb.status(), 200, "the body is optional");

    // S5: the owner's desktop seat is kept on close and needs no heartbeat.
    let close = broker
        .call(Method::POST, &format!("/v1/seats/{id}/close"), &token, None)
        .await;
    assert_eq!(close.status(), 204);
    let hb = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &token,
            None,
        )
        .await;
    assert_eq!(hb.json::<Value>().await.unwrap()["expires_at"], Value::Null);

    // S6: logging out frees it; repeating is harmless; later heartbeats hear why.
    let out = broker
        .call(Method::DELETE, &format!("/v1/seats/{id}"), &token, None)
        .await;
    assert_eq!(out.status(), 204);
    let out = broker
        .call(Method::DELETE, &format!("/v1/seats/{id}"), &token, None)
        .await;
    assert_eq!(out.status(), 204);
    let hb = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &token,
            None,
        )
        .await;
    let (status, err) = error(hb).await;
    assert_eq!(
        (status, err["code"].as_str(), err["reason"].as_str()),
        (410, Some("seat_gone"), Some("released"))
    );
}

#[actix_rt::test]
async fn s9_s12_a_full_pool_says_what_would_help() {
    let broker = spawn_broker().await;
    let (token, pool) = broker.owner_with_license("bo@example.org", 2).await;
    // S9: four desktops of the owner use two seats.
    for device in ["d1", "d2", "d3", "d4"] {
        assert_eq!(
            take(&broker, &token, device, "mac").await.status(),
            201,
            "{device}"
        );
    }
    let res = take(&broker, &token, "d5", "windows").await;
    let (status, err) = error(res).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("no_seat_available"))
    );
    assert_eq!(
        (err["capacity"].as_u64(), err["in_use"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(err["own_seats_elsewhere"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        err["own_seats_elsewhere"][0]["pool_id"].as_str(),
        Some(pool.as_str())
    );
    assert_eq!(err["owner_contact"]["email"], "bo@example.org");
    assert_eq!(err["queue_position"], Value::Null);
}

#[actix_rt::test]
async fn s9_one_web_session_per_account() {
    let broker = spawn_broker().await;
    let (token, _) = broker.owner_with_license("cy@example.org", 5).await;
    let first: Value = take(&broker, &token, "browser-1", "web")
        .await
        .json()
        .await
        .unwrap();
    let (status, err) = error(take(&broker, &token, "browser-2", "web").await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("web_session_active_elsewhere"))
    );
    assert_eq!(err["seat_id"], first["seat_id"]);
}

#[actix_rt::test]
async fn seat_refusals_and_bad_input_have_their_codes() {
    let broker = spawn_broker().await;
    let (token, _) = broker.owner_with_license("di@example.org", 1).await;
    broker
        .create_account("nolicense@example.org", "correct horse")
        .await;
    let none = broker.login("nolicense@example.org", "correct horse").await;
    let seat: Value = take(&broker, &token, "pc", "windows")
        .await
        .json()
        .await
        .unwrap();
    let id = seat["seat_id"].as_str().unwrap();

    let cases = [
        (
            none.as_str(),
            json!({"device_id": "pc", "platform": "windows"}),
            403,
            "no_license",
        ),
        (
            token.as_str(),
            json!({"device_id": "", "platform": "windows"}),
            422,
            "invalid_value",
        ),
        (
            token.as_str(),
            json!({"device_id": "x".repeat(129), "platform": "windows"}),
            422,
            "invalid_value",
        ),
        (
            token.as_str(),
            json!({"device_id": "pc", "platform": "fax"}),
            422,
            "invalid_value",
        ),
        (
            token.as_str(),
            json!({"device_id": "pc", "platform": "windows", "wait_s": 61}),
            422,
            "invalid_value",
        ),
        (
            token.as_str(),
            json!({"device_id": "pc", "platform": "windows", "wait_s": -1}),
            422,
            "invalid_value",
        ),
        (
            token.as_str(),
            json!({"platform": "windows"}),
            400,
            "malformed_request",
        ),
        (
            token.as_str(),
            json!({"device_id": "pc", "platform": "windows", "pool": "P-000-001"}),
            403,
            "not_a_member",
        ),
    ];
    for (who, body, status, code) in cases {
        let (got, err) = error(
            broker
                .call(Method::POST, "/v1/seats", who, Some(body.clone()))
                .await,
        )
        .await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}");
    }
    // Another account's seat, a seat that never was and a garbage id are all 404.
    for (who, path) in [
        (none.as_str(), format!("/v1/seats/{id}/heartbeat")),
        (
            token.as_str(),
            "/v1/seats/S-000001-1000001/heartbeat".to_owned(),
        ),
        (token.as_str(), "/v1/seats/garbage/heartbeat".to_owned()),
    ] {
        let (got, err) = error(broker.call(Method::POST, &path, who, None).await).await;
        assert_eq!(
            (got, err["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (got, _) = error(
        broker
            .client
            .post(format!("{}/v1/seats", broker.address))
            .json(&json!({"device_id": "pc", "platform": "windows"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got, 401, "no token");
}

#[actix_rt::test]
async fn w1_a_waiting_request_gets_the_seat_the_moment_it_is_freed() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("w@uni.edu", 1).await;
    let code = broker.invite_code(&owner, &pool).await;
    let mut members = Vec::new();
    for email in ["first@uni.edu", "second@uni.edu"] {
        members.push(broker.join_with_code(email, &code).await.1);
    }
    let held: Value = take(&broker, &members[0], "pc", "windows")
        .await
        .json()
        .await
        .unwrap();
    let waiter = {
        let client = broker.client.clone();
        let url = format!("{}/v1/seats", broker.address);
        let token = members[1].clone();
        actix_rt::spawn(async move {
            let started = std::time::Instant::now();
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"device_id": "pc", "platform": "windows", "wait_s": 30}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), started.elapsed())
        })
    };
    // Wait until the request is queued, then free the seat.
    for _ in 0..500 {
        let view: Value = broker
            .call(Method::GET, &format!("/v1/pools/{pool}"), &owner, None)
            .await
            .json()
            .await
            .unwrap();
        if view["queue_length"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let id = held["seat_id"].as_str().unwrap();
    let res = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/close"),
            &members[0],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (status, took) = waiter.await.unwrap();
    assert_eq!(status, 201, "the waiter got the freed seat");
    assert!(
        took < std::time::Duration::from_secs(20),
        "answered when freed, not at the end of its wait"
    );
}

#[actix_rt::test]
async fn w1_a_wait_that_ends_is_refused_with_its_queue_position() {
    let broker = spawn_broker().await;
    let (owner, _) = broker.owner_with_license("v@uni.edu", 1).await;
    take(&broker, &owner, "browser", "web").await;
    let res = broker
        .call(
            Method::POST,
            "/v1/seats",
            &owner,
            Some(json!({"device_id": "tablet", "platform": "web", "wait_s": 1})),
        )
        .await;
    // The account's second web session is refused at once, wait or no wait.
    assert_eq!(error(res).await.1["code"], "web_session_active_elsewhere");
    let res = broker
        .call(
            Method::POST,
            "/v1/seats",
            &owner,
            Some(json!({"device_id": "laptop", "platform": "windows", "wait_s": 1})),
        )
        .await;
    let (status, err) = error(res).await;
    assert_eq!(
        (status, err["code"].as_str(), err["queue_position"].as_u64()),
        (409, Some("no_seat_available"), Some(1))
    );
}

#[actix_rt::test]
async fn s1_a_burst_of_1000_concurrent_seat_requests_gets_no_429_or_503() {
    // API.md: while storage is healthy, a burst of up to 1,000 concurrent requests on one pool
    // is answered without 429 or 503. One member on a thousand devices (S3: a seat each).
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("own@example.org", 100).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (_, member) = broker.join_with_code("lab@example.org", &code).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1_000)
        .build()
        .unwrap();
    let requests: Vec<_> = (0..1_000)
        .map(|i| {
            let send = client
                .post(format!("{}/v1/seats", broker.address))
                .bearer_auth(&member)
                .json(&json!({"device_id": format!("lab-pc-{i}"), "platform": "windows"}))
                .send();
            actix_rt::spawn(send)
        })
        .collect();
    let mut granted = 0;
    let mut refused = 0;
    for request in requests {
        let res = request.await.unwrap().expect("the broker answers");
        match res.status().as_u16() {
            201 => granted += 1,
            409 => {
                let (_, err) = error(res).await;
                assert_eq!(err["code"], "no_seat_available");
                refused += 1;
            }
            other => panic!("a burst is answered without 429 or 503, got {other}"),
        }
    }
    assert_eq!((granted, refused), (100, 900), "S1: exactly the capacity");
}

#[actix_rt::test]
async fn s9_two_web_sessions_racing_in_two_pools_never_both_hold() {
    let broker = spawn_broker().await;
    let (other_owner, shared) = broker.owner_with_license("lab@example.org", 5).await;
    let code = broker.invite_code(&other_owner, &shared).await;
    let (token, own) = broker.owner_with_license("ada@example.org", 5).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(res.status(), 201, "Ada is a member of the lab's pool too");
    for round in 0..20 {
        let ask = |device: &str, pool: &str| {
            broker
                .client
                .post(format!("{}/v1/seats", broker.address))
                .bearer_auth(&token)
                .json(&json!({"device_id": device, "platform": "web", "pool": pool}))
                .send()
        };
        let (a, b) = tokio::join!(ask("tab-1", &own), ask("tab-2", &shared));
        let granted = [a.unwrap().status(), b.unwrap().status()]
            .iter()
            .filter(|s| s.is_success())
            .count();
        assert!(granted <= 1, "round {round}: S9, two web sessions held");
        let mine: Value = broker
            .call(Method::GET, "/v1/me/seats", &token, None)
            .await
            .json()
            .await
            .unwrap();
        assert!(mine.as_array().unwrap().len() <= 1, "round {round}: {mine}");
        let res = broker
            .call(Method::POST, "/v1/me/seats/release", &token, None)
            .await;
        assert_eq!(res.status(), 200);
    }
}
