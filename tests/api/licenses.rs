//! Licenses and activation (L1–L5, L7) through HTTP.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker, OPERATOR_TOKEN};

#[actix_rt::test]
async fn l7_an_operator_issues_licenses_with_keys_in_their_public_form() {
    let broker = spawn_broker().await;
    let res = broker
        .call(
            Method::POST,
            "/v1/operator/licenses",
            OPERATOR_TOKEN,
            Some(json!({"type": "educational", "seats": 15, "expires_at": "2099-07-31T23:59:59Z"})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let key = body["key"].as_str().unwrap();
    assert_eq!(key.len(), "R-61F-5C0-587-0F5-3A5-CBA".len(), "{key}");
    assert!(key.starts_with("R-"));
    assert!(body["id"].as_str().unwrap().starts_with("L-"));
    assert_eq!(
        (body["type"].as_str(), body["seats"].as_u64()),
        (Some("educational"), Some(15))
    );
    assert_eq!(body["expires_at"], "2099-07-31T23:59:59Z");
}

#[actix_rt::test]
async fn l7_invalid_licenses_and_missing_credentials_are_refused() {
    let broker = spawn_broker().await;
    let bad = [
        json!({"type": "trial", "seats": 1}),
        json!({"type": "pirate", "seats": 1}),
        json!({"type": "educational", "seats": 0}),
        json!({"type": "educational", "seats": 100_001}),
        json!({"type": "student", "seats": 2}),
        json!({"type": "educational", "seats": 5, "expires_at": "2001-01-01T00:00:00Z"}),
        json!({"type": "educational", "seats": 5, "expires_at": "soon"}),
    ];
    for body in bad {
        let res = broker
            .call(
                Method::POST,
                "/v1/operator/licenses",
                OPERATOR_TOKEN,
                Some(body.clone()),
            )
            .await;
        let (status, err) = error(res).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("invalid_license")),
            "{body}"
        );
    }
    let res = broker
        .call(
            Method::POST,
            "/v1/operator/licenses",
            "wrong",
            Some(json!({"type": "educational", "seats": 1})),
        )
        .await;
    assert_eq!(error(res).await.0, 401);
}

#[actix_rt::test]
async fn l7_operator_endpoints_are_refused_while_no_token_is_set() {
    // A broker started without the operator token refuses operator endpoints.
    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = crate::helpers::test_env(data.path())
        .into_iter()
        .filter(|(k, _)| k != "SEATBROKER__OPERATOR__TOKEN")
        .collect();
    let settings = seatbroker::settings::Settings::load_from(None, env).unwrap();
    let app = seatbroker::startup::Application::build(settings)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_rt::spawn(app.run_until_signal());
    let res = reqwest::Client::new()
        .post(format!("{address}/v1/operator/licenses"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"type": "educational", "seats": 1}))
        .send()
        .await
        .unwrap();
    let (status, err) = error(res).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("operator_disabled"))
    );
}

#[actix_rt::test]
async fn l3_l5_activation_creates_the_pool_and_repeating_it_is_harmless() {
    let broker = spawn_broker().await;
    broker
        .create_account("owner@example.org", "correct horse")
        .await;
    let token = broker.login("owner@example.org", "correct horse").await;
    let key = broker.issue_license("educational", 15).await;
    // L2: typed sloppily.
    let sloppy = key.to_lowercase().replace('-', " ");
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": sloppy})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "license");
    assert_eq!(body["license"]["key"].as_str(), Some(key.as_str()));
    let pool = &body["pool"];
    assert_eq!(
        (pool["capacity"].as_u64(), pool["in_use"].as_u64()),
        (Some(15), Some(0))
    );
    assert_eq!(pool["type"], "educational");
    assert_eq!(pool["owner"]["email"], "owner@example.org");
    assert_eq!(pool["timeout_s"], 28_800);
    assert_eq!(pool["licenses"].as_array().map(Vec::len), Some(1));

    let again = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": key})),
        )
        .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["warning"], "already_active");
    assert_eq!(again["pool"]["capacity"], 15, "not counted twice");

    // A second license adds its seats (L5).
    let key2 = broker.issue_license("educational", 5).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": key2})),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["pool"]["capacity"], 20);
    let pool_id = body["pool"]["id"].as_str().unwrap().to_owned();
    let res = broker
        .call(Method::GET, &format!("/v1/pools/{pool_id}"), &token, None)
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["licenses"].as_array().map(Vec::len), Some(2));
    assert_eq!(view["settings"]["offline_max_days"], 14);
}

#[actix_rt::test]
async fn l1_l3_l5_activation_refusals_have_their_codes() {
    let broker = spawn_broker().await;
    let (owner, _) = broker.owner_with_license("o@example.org", 3).await;
    broker
        .create_account("other@example.org", "correct horse")
        .await;
    let other = broker.login("other@example.org", "correct horse").await;
    let taken = broker.issue_license("educational", 1).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &owner,
            Some(json!({"code": taken})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let commercial = broker.issue_license("commercial", 1).await;
    let cases = [
        (
            other.as_str(),
            json!({"code": taken}),
            409,
            "license_already_activated",
        ),
        (
            owner.as_str(),
            json!({"code": commercial}),
            409,
            "license_type_mismatch",
        ),
        (
            owner.as_str(),
            json!({"code": "12345-67890-ABCDE-FGHIJ-KLMNO"}),
            422,
            "legacy_license_key",
        ),
        (
            owner.as_str(),
            json!({"code": "hello"}),
            422,
            "malformed_code",
        ),
        (
            owner.as_str(),
            json!({"code": "R-000-000-000-000-000-001"}),
            404,
            "unknown_code",
        ),
        (owner.as_str(), json!({}), 400, "malformed_request"),
    ];
    for (token, body, status, code) in cases {
        let res = broker
            .call(Method::POST, "/v1/activations", token, Some(body.clone()))
            .await;
        let (got, err) = error(res).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{body}");
    }
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            "not-a-token",
            Some(json!({"code": taken})),
        )
        .await;
    assert_eq!(error(res).await.0, 401);
}

#[actix_rt::test]
async fn i5_a_pool_is_shown_to_its_owner_only() {
    let broker = spawn_broker().await;
    let (_, pool) = broker.owner_with_license("p@example.org", 2).await;
    broker
        .create_account("q@example.org", "correct horse")
        .await;
    let other = broker.login("q@example.org", "correct horse").await;
    let res = broker
        .call(Method::GET, &format!("/v1/pools/{pool}"), &other, None)
        .await;
    let (status, err) = error(res).await;
    assert_eq!((status, err["code"].as_str()), (403, Some("not_a_member")));
    let res = broker
        .call(Method::GET, "/v1/pools/P-000-001", &other, None)
        .await;
    assert_eq!(error(res).await.0, 404);
    let res = broker
        .call(Method::GET, "/v1/pools/garbage", &other, None)
        .await;
    assert_eq!(error(res).await.0, 404);
}
