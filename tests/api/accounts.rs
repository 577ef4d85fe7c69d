//! Accounts and sessions: A1–A4 through HTTP, and the error shape of bad bodies.

use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker};

#[actix_rt::test]
async fn a1_an_account_is_created_with_an_id_in_its_public_form() {
    let broker = spawn_broker().await;
    let res = broker
        .post(
            "/v1/accounts",
            &json!({"email": "Ada@Example.org", "password": "correct horse", "name": "Ada"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(
        id.len() == 9 && id.starts_with("A-") && id.as_bytes()[5] == b'-',
        "{id}"
    );
    assert_eq!(body["email"], "Ada@Example.org");
    assert_eq!(body["name"], "Ada");
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
}

#[actix_rt::test]
async fn a1_emails_are_unique_case_insensitively() {
    let broker = spawn_broker().await;
    broker
        .create_account("bo@example.org", "password one")
        .await;
    let res = broker
        .post(
            "/v1/accounts",
            &json!({"email": "BO@Example.ORG", "password": "password two", "name": "Bo"}),
        )
        .await;
    let (status, err) = error(res).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("email_taken")));
}

#[actix_rt::test]
async fn a1_bad_emails_and_weak_passwords_are_refused_with_their_codes() {
    let broker = spawn_broker().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": "long enough", "name": "X"}),
            422,
            "invalid_email",
            "email",
        ),
        (
            json!({"email": "x@example.org", "password": "short", "name": "X"}),
            422,
            "weak_password",
            "password",
        ),
        (
            json!({"email": "x@example.org", "password": "long enough", "name": ""}),
            422,
            "invalid_value",
            "name",
        ),
        (
            json!({"email": "x@example.org", "password": "long enough"}),
            400,
            "malformed_request",
            "name",
        ),
        (
            json!({"email": 42, "password": "long enough", "name": "X"}),
            400,
            "malformed_request",
            "email",
        ),
    ];
    for (body, status, code, field) in cases {
        let (got_status, err) = error(broker.post("/v1/accounts", &body).await).await;
        assert_eq!(
            (got_status, err["code"].as_str(), err["field"].as_str()),
            (status, Some(code), Some(field)),
            "{body}"
        );
    }
}

#[actix_rt::test]
async fn bad_bodies_get_4xx_with_a_code_never_a_5xx() {
    let broker = spawn_broker().await;
    let too_big = format!(
        r#"{{"email": "{}", "password": "x", "name": "x"}}"#,
        "a".repeat(70_000)
    );
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"".to_vec(), 400, "malformed_request"),
        (b"{not json".to_vec(), 400, "malformed_request"),
        (b"[\"a\", \"b\", \"c\"]".to_vec(), 400, "malformed_request"),
        (b"\"just a string\"".to_vec(), 400, "malformed_request"),
        (
            b"{\"email\": \"\xff\xfe\", \"password\": \"x\", \"name\": \"x\"}".to_vec(),
            400,
            "malformed_request",
        ),
        (too_big.into_bytes(), 413, "body_too_large"),
    ];
    for (body, status, code) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(40)
            .collect::<String>();
        let (got, err) = error(broker.post_raw("/v1/accounts", body).await).await;
        assert_eq!((got, err["code"].as_str()), (status, Some(code)), "{shown}");
    }
}

#[actix_rt::test]
async fn a4_login_gives_a_token_with_its_expiry() {
    let broker = spawn_broker().await;
    let id = broker
        .create_account("cy@example.org", "correct horse")
        .await;
    let res = broker
        .post(
            "/v1/auth/login",
            &json!({"email": " CY@example.org ", "password": "correct horse"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["account_id"].as_str(), Some(id.as_str()));
    assert!(body["token"].as_str().is_some_and(|t| t.len() > 40));
    assert!(body["expires_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
}

#[actix_rt::test]
async fn a3_a_wrong_password_and_an_unknown_email_answer_alike() {
    let broker = spawn_broker().await;
    broker
        .create_account("di@example.org", "correct horse")
        .await;
    let wrong = error(
        broker
            .post(
                "/v1/auth/login",
                &json!({"email": "di@example.org", "password": "wrong horse"}),
            )
            .await,
    )
    .await;
    let unknown = error(
        broker
            .post(
                "/v1/auth/login",
                &json!({"email": "nobody@example.org", "password": "wrong horse"}),
            )
            .await,
    )
    .await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.1["code"], "invalid_credentials");
    assert_eq!(wrong, unknown, "accounts cannot be discovered");
}

#[actix_rt::test]
async fn a3_ten_failures_lock_that_address_out_even_for_the_right_password() {
    let broker = spawn_broker().await;
    broker
        .create_account("ed@example.org", "correct horse")
        .await;
    let wrong = json!({"email": "ed@example.org", "password": "wrong horse"});
    for attempt in 1..=10 {
        let res = broker.post("/v1/auth/login", &wrong).await;
        assert_eq!(res.status(), 401, "attempt {attempt} is still answered 401");
    }
    let right = json!({"email": "ed@example.org", "password": "correct horse"});
    let res = broker.post("/v1/auth/login", &right).await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let (_, err) = error(res).await;
    assert_eq!(err["code"], "too_many_attempts");
}
