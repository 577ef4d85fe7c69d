//! The account's own view (S7), pool settings, forced release (W3) and offline seats (S11).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker, TestBroker, OPERATOR_TOKEN};

async fn take(broker: &TestBroker, token: &str, device: &str) -> Value {
    let res = broker
        .call(
            Method::POST,
            "/v1/seats",
            token,
            Some(json!({"device_id": device, "platform": "windows"})),
        )
        .await;
    assert!(
        res.status().is_success(),
        "seat on {device}: {}",
        res.status()
    );
    res.json().await.unwrap()
}

async fn join(broker: &TestBroker, owner: &str, pool: &str, email: &str) -> String {
    let code = broker.invite_code(owner, pool).await;
    broker.join_with_code(email, &code).await.1
}

#[actix_rt::test]
async fn s7_free_up_my_seats_releases_every_device_in_every_pool() {
    let broker = spawn_broker().await;
    let (ada, ada_pool) = broker.owner_with_license("ada@uni.edu", 2).await;
    let (bo, bo_pool) = broker.owner_with_license("bo@uni.edu", 3).await;
    // Bo is also a member of Ada's pool.
    let code: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{ada_pool}/invite"),
            &ada,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &bo,
            Some(json!({"code": code["code"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    take(&broker, &bo, "home").await;
    take(&broker, &bo, "office").await;
    let shared = broker
        .call(
            Method::POST,
            "/v1/seats",
            &bo,
            Some(json!({"device_id": "lab", "platform": "windows", "pool": ada_pool})),
        )
        .await;
    assert_eq!(shared.status(), 201, "S8: a named pool is used");

    let me: Value = broker
        .call(Method::GET, "/v1/me", &bo, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["email"], "bo@uni.edu");
    assert_eq!(me["own_pool"]["id"].as_str(), Some(bo_pool.as_str()));
    assert_eq!(me["memberships"][0]["id"].as_str(), Some(ada_pool.as_str()));
    assert_eq!(me["seats"].as_array().map(Vec::len), Some(3));

    let res = broker
        .call(Method::POST, "/v1/me/seats/release", &bo, None)
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["released"], 3);
    let seats: Value = broker
        .call(Method::GET, "/v1/me/seats", &bo, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seats, json!([]));
}

#[actix_rt::test]
async fn pool_settings_are_patched_and_checked() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("o@uni.edu", 3).await;
    let seat = take(&broker, &owner, "pc").await;
    let res = broker
        .call(
            Method::PATCH,
            &format!("/v1/pools/{pool}"),
            &owner,
            Some(json!({"timeout_s": 60, "idle_reclaim_s": 600})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["timeout_s"], 60);
    assert_eq!(view["settings"]["idle_reclaim_s"], 600);
    assert_eq!(view["settings"]["offline_max_days"], 14, "absent keys stay");
    // The new timeout applies from the seat's next heartbeat.
    let id = seat["seat_id"].as_str().unwrap();
    let hb: Value = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/heartbeat"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hb["heartbeat_interval_s"], 20);
    let res = broker
        .call(
            Method::PATCH,
            &format!("/v1/pools/{pool}"),
            &owner,
            Some(json!({"idle_reclaim_s": null})),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["settings"]["idle_reclaim_s"],
        Value::Null
    );

    for (body, status, field) in [
        (json!({"timeout_s": 0}), 422, "timeout_s"),
        (json!({"timeout_s": 2_592_001}), 422, "timeout_s"),
        (json!({"offline_max_days": 366}), 422, "offline_max_days"),
        (json!({"idle_reclaim_s": 0}), 422, "idle_reclaim_s"),
        (json!({"timeout_s": "soon"}), 400, "timeout_s"),
        (
            json!({"join_email_domain": "not a domain"}),
            422,
            "join_email_domain",
        ),
        (json!({"join_email_domain": 5}), 400, "join_email_domain"),
    ] {
        let (got, err) = error(
            broker
                .call(
                    Method::PATCH,
                    &format!("/v1/pools/{pool}"),
                    &owner,
                    Some(body.clone()),
                )
                .await,
        )
        .await;
        assert_eq!(
            (got, err["field"].as_str()),
            (status, Some(field)),
            "{body}"
        );
    }
}

#[actix_rt::test]
async fn i4_a_join_restriction_applies_to_new_joins() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("o@uni.edu", 3).await;
    let early = join(&broker, &owner, &pool, "early@gmail.com").await;
    let res = broker
        .call(
            Method::PATCH,
            &format!("/v1/pools/{pool}"),
            &owner,
            Some(json!({"join_email_domain": "uni.edu"})),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["settings"]["join_email_domain"],
        "uni.edu"
    );
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
    broker
        .create_account("late@gmail.com", "correct horse")
        .await;
    let late = broker.login("late@gmail.com", "correct horse").await;
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &late,
                Some(json!({"code": code["code"]})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("join_restricted"))
    );
    join(&broker, &owner, &pool, "student@cs.uni.edu").await;
    take(&broker, &early, "pc").await;
}

#[actix_rt::test]
async fn w3_the_owner_or_the_operator_releases_any_seat_and_the_holder_hears_revoked() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("o@uni.edu", 3).await;
    let member = join(&broker, &owner, &pool, "m@uni.edu").await;
    let seat = take(&broker, &member, "pc").await;
    let id = seat["seat_id"].as_str().unwrap().to_owned();
    let listed: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/seats"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["seat_id"].as_str(), Some(id.as_str()));
    let (status, err) = error(
        broker
            .call(
                Method::DELETE,
                &format!("/v1/pools/{pool}/seats/{id}"),
                &member,
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("not_owner")));
    let res = broker
        .call(
            Method::DELETE,
            &format!("/v1/pools/{pool}/seats/{id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/heartbeat"),
                &member,
                None,
            )
            .await,
    )
    .await;
    assert_eq!((status, err["reason"].as_str()), (410, Some("revoked")));
    let res = broker
        .call(
            Method::DELETE,
            &format!("/v1/pools/{pool}/seats/{id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 404, "gone already");

    let again = take(&broker, &member, "pc").await;
    let id = again["seat_id"].as_str().unwrap();
    let res = broker
        .call(
            Method::DELETE,
            &format!("/v1/pools/{pool}/seats/{id}"),
            OPERATOR_TOKEN,
            None,
        )
        .await;
    assert_eq!(res.status(), 204, "the operator token works too");
}

#[actix_rt::test]
async fn s11_an_offline_reservation_within_the_limits() {
    let broker = spawn_broker().await;
    let (owner, _) = broker.owner_with_license("o@uni.edu", 2).await;
    let seat = take(&broker, &owner, "laptop").await;
    let id = seat["seat_id"].as_str().unwrap();
    let until = seatbroker::domain::time::format(seatbroker_actors::SystemClock.now_plus_days(3));
    let res = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{id}/offline"),
            &owner,
            Some(json!({"until": until})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["expires_at"], Value::Null);
    assert!(view["offline_until"].is_string());

    let too_long =
        seatbroker::domain::time::format(seatbroker_actors::SystemClock.now_plus_days(15));
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/offline"),
                &owner,
                Some(json!({"until": too_long})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("offline_period_too_long"))
    );
    assert!(err["max_until"].is_string());
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                &format!("/v1/seats/{id}/offline"),
                &owner,
                Some(json!({"until": "tomorrow"})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("invalid_value"), Some("until"))
    );
}

/// A helper the offline test needs: the wall clock a few days ahead.
trait DaysAhead {
    fn now_plus_days(&self, days: u64) -> seatbroker_actors::Timestamp;
}

impl DaysAhead for seatbroker_actors::SystemClock {
    fn now_plus_days(&self, days: u64) -> seatbroker_actors::Timestamp {
        use seatbroker_actors::Clock;
        self.now().plus_secs(days * 86_400)
    }
}

#[actix_rt::test]
async fn s9_one_web_session_per_account_across_pools() {
    let broker = spawn_broker().await;
    let (ada, ada_pool) = broker.owner_with_license("ada@web.edu", 3).await;
    let (bo, _) = broker.owner_with_license("bo@web.edu", 3).await;
    let code: Value = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{ada_pool}/invite"),
            &ada,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &bo,
            Some(json!({"code": code["code"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    // Bo's web session in its own pool ...
    let own = broker
        .call(
            Method::POST,
            "/v1/seats",
            &bo,
            Some(json!({"device_id": "browser-1", "platform": "web"})),
        )
        .await;
    assert_eq!(own.status(), 201);
    let own: Value = own.json().await.unwrap();
    // ... forbids another browser in Ada's pool.
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/seats",
                &bo,
                Some(json!({"device_id": "browser-2", "platform": "web", "pool": ada_pool})),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("web_session_active_elsewhere"))
    );
    assert_eq!(err["seat_id"], own["seat_id"]);
    // Desktops are not affected.
    take(&broker, &bo, "laptop").await;
}
