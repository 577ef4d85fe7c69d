//! Races between simultaneous requests of one account or pool (L4, L5, L6, I1, I2), and the
//! operator's seat range: found in review, each once answered wrongly.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker, OPERATOR_TOKEN};

#[actix_rt::test]
async fn l7_out_of_range_seats_are_an_invalid_license() {
    let broker = spawn_broker().await;
    for seats in [json!(-1), json!(5_000_000_000u64)] {
        let res = broker
            .call(
                Method::POST,
                "/v1/operator/licenses",
                OPERATOR_TOKEN,
                Some(json!({"type": "educational", "seats": seats})),
            )
            .await;
        let (status, err) = error(res).await;
        assert_eq!(
            (status, err["code"].as_str().unwrap()),
            (422, "invalid_license"),
            "seats {seats}: {err}"
        );
    }
}

#[actix_rt::test]
async fn i1_simultaneous_first_invite_reads_give_one_working_code() {
    let broker = spawn_broker().await;
    for i in 0..10 {
        let (owner, pool) = broker.owner_with_license(&format!("o{i}@uni.edu"), 5).await;
        let path = format!("/v1/pools/{pool}/invite");
        let (a, b) = tokio::join!(
            broker.call(Method::GET, &path, &owner, None),
            broker.call(Method::GET, &path, &owner, None)
        );
        let a: Value = a.json().await.unwrap();
        let b: Value = b.json().await.unwrap();
        let now: Value = broker
            .call(Method::GET, &path, &owner, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(a["code"], b["code"], "both answers carry the one code");
        for (n, answered) in [&a, &b].into_iter().enumerate() {
            let email = format!("j{i}-{n}@uni.edu");
            broker.create_account(&email, "correct horse").await;
            let t = broker.login(&email, "correct horse").await;
            let res = broker
                .call(
                    Method::POST,
                    "/v1/activations",
                    &t,
                    Some(json!({"code": answered["code"]})),
                )
                .await;
            let status = res.status().as_u16();
            assert_eq!(
                status,
                201,
                "I1: code {} handed to the owner does not work: {}",
                answered["code"],
                res.text().await.unwrap()
            );
        }
        assert_eq!(
            a["code"], now["code"],
            "round {i}: first answer {a} / second {b} / now {now}"
        );
        assert_eq!(
            b["code"], now["code"],
            "round {i}: first answer {a} / second {b} / now {now}"
        );
    }
}

#[actix_rt::test]
async fn l5_simultaneous_activations_of_two_types_never_mix() {
    let broker = spawn_broker().await;
    for i in 0..10 {
        let email = format!("mix{i}@uni.edu");
        broker.create_account(&email, "correct horse").await;
        let token = broker.login(&email, "correct horse").await;
        let edu = broker.issue_license("educational", 3).await;
        let com = broker.issue_license("commercial", 4).await;
        let (a, b) = tokio::join!(
            broker.call(
                Method::POST,
                "/v1/activations",
                &token,
                Some(json!({"code": edu}))
            ),
            broker.call(
                Method::POST,
                "/v1/activations",
                &token,
                Some(json!({"code": com}))
            )
        );
        let (sa, sb) = (a.status().as_u16(), b.status().as_u16());
        let me: Value = broker
            .call(Method::GET, "/v1/me", &token, None)
            .await
            .json()
            .await
            .unwrap();
        assert!(
            (sa == 201) != (sb == 201),
            "round {i}: L5 both activations of different types succeeded ({sa}, {sb}); own pool: {}",
            me["own_pool"]
        );
    }
}

#[actix_rt::test]
async fn l6_simultaneous_trials_give_one_trial() {
    let broker = spawn_broker().await;
    for i in 0..10 {
        let email = format!("trial{i}@uni.edu");
        broker.create_account(&email, "correct horse").await;
        let token = broker.login(&email, "correct horse").await;
        let (a, b) = tokio::join!(
            broker.call(Method::POST, "/v1/trials", &token, None),
            broker.call(Method::POST, "/v1/trials", &token, None)
        );
        let (sa, sb) = (a.status().as_u16(), b.status().as_u16());
        let me: Value = broker
            .call(Method::GET, "/v1/me", &token, None)
            .await
            .json()
            .await
            .unwrap();
        let licenses = me["own_pool"]["licenses"].as_array().map_or(0, |l| l.len());
        // Any later resync of the pool's licenses (here: repeating an activation) counts both.
        if let Some(l) = me["own_pool"]["licenses"]
            .as_array()
            .and_then(|l| l.first())
        {
            broker
                .call(
                    Method::POST,
                    "/v1/activations",
                    &token,
                    Some(json!({"code": l["key"]})),
                )
                .await;
        }
        let pool: Value = broker
            .call(Method::GET, "/v1/me", &token, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            pool["own_pool"]["capacity"], 1,
            "L4: a trial pool has one seat: {}",
            pool["own_pool"]
        );
        assert!(
            (sa == 201) != (sb == 201) && licenses == 1,
            "round {i}: two trials started ({sa}, {sb}); trial licenses {licenses}; pool {}",
            me["own_pool"]
        );
    }
}

#[actix_rt::test]
async fn i2_a_simultaneous_double_join_answers_already_active() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("owner@uni.edu", 5).await;
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
    let code = code["code"].as_str().unwrap().to_owned();
    for i in 0..10 {
        let email = format!("m{i}@uni.edu");
        broker.create_account(&email, "correct horse").await;
        let token = broker.login(&email, "correct horse").await;
        let (a, b) = tokio::join!(
            broker.call(
                Method::POST,
                "/v1/activations",
                &token,
                Some(json!({"code": code}))
            ),
            broker.call(
                Method::POST,
                "/v1/activations",
                &token,
                Some(json!({"code": code}))
            )
        );
        let (sa, sb) = (a.status().as_u16(), b.status().as_u16());
        assert!(
            (sa == 201) != (sb == 201),
            "round {i}: I2 both joins answered ({sa}, {sb})"
        );
    }
}
