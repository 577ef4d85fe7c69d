//! Invitations and members (I1–I5, S8, S10) through HTTP.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker};

#[actix_rt::test]
async fn i1_i2_s8_a_member_joins_with_the_code_and_takes_a_seat() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("owner@uni.edu", 3).await;
    let res = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/invite"),
            &owner,
            None,
        )
        .await;
    let body: Value = res.json().await.unwrap();
    let code = body["code"].as_str().unwrap().to_owned();
    assert!(
        code.starts_with("I-") && code.len() == "I-123-456-789-ABC".len(),
        "{code}"
    );
    assert_eq!(body["url"], format!("http://127.0.0.1:8080/join/{code}"));

    let (_, student) = broker.join_with_code("student@uni.edu", &code).await;
    // Joining again is harmless; the owner cannot join its own pool.
    let again = broker
        .call(
            Method::POST,
            "/v1/activations",
            &student,
            Some(json!({"code": code.to_lowercase()})),
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap()["warning"],
        "already_active"
    );
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &owner,
                Some(json!({"code": code})),
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("own_pool")));

    // S8: the student owns no pool, so the shared one serves it.
    let res = broker.take_seat(&student, "laptop").await;
    assert_eq!(res.status(), 201);
    let seat: Value = res.json().await.unwrap();
    assert_eq!(seat["pool_id"].as_str(), Some(pool.as_str()));
    assert_eq!(seat["policy"], "member");
    // S5: a member's seat is freed on close.
    let id = seat["seat_id"].as_str().unwrap();
    let res = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/close"),
            &student,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/heartbeat"),
                &student,
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["reason"].as_str()), (410, Some("released")));

    // I5: a member sees the pool, not its licenses or settings; members are owner-only.
    let view: Value = broker
        .call(Method::GET, &format!("/v1/pools/{pool}"), &student, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["capacity"], 3);
    assert!(view.get("licenses").is_none() && view.get("settings").is_none());
    let (status, err) = error(
        broker
            .call(
                Method::GET,
                &format!("/v1/pools/{pool}/members"),
                &student,
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("not_owner")));
}

#[actix_rt::test]
async fn i3_s10_blocking_revokes_at_once_and_deleting_lets_the_member_rejoin() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("o@uni.edu", 3).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (member_id, bo) = broker.join_with_code("bo@uni.edu", &code).await;
    let seat: Value = broker.take_seat(&bo, "pc").await.json().await.unwrap();
    let seat_id = seat["seat_id"].as_str().unwrap().to_owned();

    let list: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/members"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["account_id"].as_str(), Some(member_id.as_str()));
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["seats_in_use"].as_u64()),
        (Some("active"), Some(1))
    );
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "the owner is not listed"
    );

    let res = broker
        .call(
            Method::POST,
            &format!("/v1/pools/{pool}/members/{member_id}/block"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "blocked");
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{seat_id}/heartbeat"),
                &bo,
                None,
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["reason"].as_str()),
        (410, Some("member_blocked"))
    );
    let (status, err) = error(broker.take_seat(&bo, "pc").await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("member_blocked"))
    );
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &bo,
                Some(json!({"code": code})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("member_blocked")),
        "a blocked member stays blocked"
    );

    let res = broker
        .call(
            Method::POST,
            &format!("/v1/pools/{pool}/members/{member_id}/unblock"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let seat: Value = broker.take_seat(&bo, "pc").await.json().await.unwrap();
    let seat_id = seat["seat_id"].as_str().unwrap().to_owned();

    let res = broker
        .call(
            Method::DELETE,
            &format!("/v1/pools/{pool}/members/{member_id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{seat_id}/heartbeat"),
                &bo,
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["reason"].as_str()), (410, Some("revoked")));
    let list: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/members"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &bo,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(res.status(), 201, "a deleted member joins afresh");
    let (status, _) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/pools/{pool}/members/A-000-001/block"),
                &owner,
                None,
            )
            .await,
    )
    .await;
    assert_eq!(status, 404);
}

#[actix_rt::test]
async fn i4_a_rotated_code_stops_at_once() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("r@uni.edu", 3).await;
    let old = broker.invite_code(&owner, &pool).await;
    let res = broker
        .call(
            Method::POST,
            &format!("/v1/pools/{pool}/invite/rotate"),
            &owner,
            None,
        )
        .await;
    let new: Value = res.json().await.unwrap();
    assert_ne!(new["code"].as_str(), Some(old.as_str()));
    broker.create_account("late@uni.edu", "correct horse").await;
    let late = broker.login("late@uni.edu", "correct horse").await;
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &late,
                Some(json!({"code": old})),
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("unknown_code")));
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &late,
            Some(json!({"code": new["code"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
}

#[actix_rt::test]
async fn i1_personal_licenses_have_no_invite_code() {
    let broker = spawn_broker().await;
    broker.create_account("solo@uni.edu", "correct horse").await;
    let token = broker.login("solo@uni.edu", "correct horse").await;
    let key = broker.issue_license("student", 1).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": key})),
        )
        .await;
    let pool: Value = res.json().await.unwrap();
    let pool = pool["pool"]["id"].as_str().unwrap().to_owned();
    let (status, err) = error(
        broker
            .call(
                Method::GET,
                &format!("/v1/pools/{pool}/invite"),
                &token,
                None,
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("license_not_shareable"))
    );
}

#[actix_rt::test]
async fn s1_forty_members_of_a_five_seat_pool_at_the_same_moment() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("lecturer@uni.edu", 5).await;
    let code = broker.invite_code(&owner, &pool).await;
    let mut tokens = Vec::new();
    for i in 0..40 {
        tokens.push(
            broker
                .join_with_code(&format!("s{i}@uni.edu"), &code)
                .await
                .1,
        );
    }
    let mut tasks = Vec::new();
    for token in tokens {
        let client = broker.client.clone();
        let url = format!("{}/v1/seats", broker.address);
        tasks.push(actix_rt::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"device_id": "laptop", "platform": "windows"}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut granted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => granted += 1,
            (409, body) => {
                assert_eq!(body["error"]["code"], "no_seat_available");
                assert_eq!(body["error"]["capacity"], 5);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((granted, refused), (5, 35));
}
