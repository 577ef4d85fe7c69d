//! Issue 18's rate limits through the JSON API: sign-ins and new accounts per client address
//! (the forwarded address only from a trusted proxy), failed activations per account (the
//! default of 20, then 429 `too_many_attempts` even for a code that works), offline requests
//! per account, and the refusals in `/metrics`. The emails' limits are the portal's
//! (`portal/recovery.rs`); how the buckets refill is unit-tested in `limits`.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker_timed, spawn_broker_with, MovableClock, TestBroker};

/// POST /v1/auth/login as `email`, seen as coming from `forwarded_for` when given.
async fn login_from(b: &TestBroker, email: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = b
        .client
        .post(format!("{}/v1/auth/login", b.address))
        .json(&json!({"email": email, "password": "correct horse"}));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.expect("the broker answers")
}

/// The `Retry-After` of a refusal, in seconds.
fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("a 429 says when to come back")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds")
}

#[actix_rt::test]
async fn sign_ins_per_address_are_limited_and_a_trusted_proxys_clients_count_apart() {
    let b = spawn_broker_with(&[
        ("SEATBROKER__LIMITS__LOGIN_PER_ADDRESS_PER_HOUR", "3"),
        ("SEATBROKER__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    b.create_account("ada@uni.edu", "correct horse").await;
    for _ in 0..3 {
        let res = login_from(&b, "ada@uni.edu", Some("203.0.113.1")).await;
        assert_eq!(res.status(), 200);
    }
    // Even the right password is refused now, before it is looked at.
    let res = login_from(&b, "ada@uni.edu", Some("203.0.113.1")).await;
    assert_eq!(res.status(), 429);
    let wait = retry_after(&res);
    assert!(
        (1..=1_201).contains(&wait),
        "one sign-in comes back every 20 minutes: {wait}"
    );
    let (_, body) = error(res).await;
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["limit"], "login");
    // Another client behind the same proxy has its own count.
    let res = login_from(&b, "ada@uni.edu", Some("203.0.113.2")).await;
    assert_eq!(res.status(), 200);

    let metrics = b.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"seatbroker_limit_refusals_total{limit="login"} 1"#),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let b = spawn_broker_with(&[("SEATBROKER__LIMITS__LOGIN_PER_ADDRESS_PER_HOUR", "2")]).await;
    b.create_account("ada@uni.edu", "correct horse").await;
    // Each request claims another address; with no trusted proxy all count for the peer.
    assert_eq!(
        login_from(&b, "ada@uni.edu", Some("198.51.100.1"))
            .await
            .status(),
        200
    );
    assert_eq!(
        login_from(&b, "ada@uni.edu", Some("198.51.100.2"))
            .await
            .status(),
        200
    );
    let res = login_from(&b, "ada@uni.edu", Some("198.51.100.3")).await;
    assert_eq!(res.status(), 429);
}

#[actix_rt::test]
async fn accounts_per_address_are_limited_whatever_their_emails() {
    let b = spawn_broker_with(&[("SEATBROKER__LIMITS__ACCOUNTS_PER_ADDRESS_PER_HOUR", "2")]).await;
    b.create_account("a1@uni.edu", "correct horse").await;
    // A taken email counts too, so probing which emails have accounts is limited as well.
    let taken = b
        .post(
            "/v1/accounts",
            &json!({"email": "a1@uni.edu", "password": "correct horse", "name": "A"}),
        )
        .await;
    assert_eq!(taken.status(), 409);
    let res = b
        .post(
            "/v1/accounts",
            &json!({"email": "a3@uni.edu", "password": "correct horse", "name": "A"}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(retry_after(&res) >= 1);
    let (_, body) = error(res).await;
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["limit"], "accounts");
    let login = b
        .post(
            "/v1/auth/login",
            &json!({"email": "a3@uni.edu", "password": "correct horse"}),
        )
        .await;
    assert_eq!(login.status(), 401, "the refused account was not created");
}

/// POST /v1/activations of `code` as `token`: the status and the answer.
async fn activate(b: &TestBroker, token: &str, code: &str) -> (u16, Value, Option<u64>) {
    let res = b
        .call(
            Method::POST,
            "/v1/activations",
            token,
            Some(json!({ "code": code })),
        )
        .await;
    let status = res.status().as_u16();
    let wait = (status == 429).then(|| retry_after(&res));
    (status, res.json().await.unwrap_or(Value::Null), wait)
}

#[actix_rt::test]
async fn twenty_failed_activations_refuse_even_a_working_code_for_an_hour() {
    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(&[], clock.clone()).await;
    let (owner, pool) = b.owner_with_license("prof@uni.edu", 10).await;
    let code = b.invite_code(&owner, &pool).await;
    b.create_account("guesser@uni.edu", "correct horse").await;
    let guesser = b.login("guesser@uni.edu", "correct horse").await;
    b.create_account("stu@uni.edu", "correct horse").await;
    let student = b.login("stu@uni.edu", "correct horse").await;

    // Twenty guesses of invite codes and license keys that do not exist (the default limit).
    for n in 0..20u32 {
        let guess = if n % 2 == 0 {
            format!("I-000-000-{n:03}-000")
        } else {
            format!("R-000-000-000-000-000-{n:03}")
        };
        let (status, body, _) = activate(&b, &guesser, &guess).await;
        assert_eq!(status, 404, "guess {n}: {body}");
    }
    // The 21st attempt is refused before it is tried, even with the pool's real code.
    let (status, body, wait) = activate(&b, &guesser, &code).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert_eq!(body["error"]["limit"], "activations");
    let wait = wait.expect("Retry-After");
    assert!((3_590..=3_600).contains(&wait), "an hour: {wait}");
    let me = b.call(Method::GET, "/v1/me", &guesser, None).await;
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["memberships"], json!([]), "the refused code did nothing");

    // Another account is not affected.
    let (status, _, _) = activate(&b, &student, &code).await;
    assert_eq!(status, 201);

    // An hour later the account may try again.
    clock.advance_secs(3_600);
    let (status, body, _) = activate(&b, &guesser, &code).await;
    assert_eq!(status, 201, "{body}");
    let metrics = b.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"seatbroker_limit_refusals_total{limit="activations"} 1"#),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn offline_requests_per_account_are_limited_readable_or_not() {
    let b = spawn_broker_with(&[("SEATBROKER__LIMITS__OFFLINE_PER_ACCOUNT_PER_HOUR", "2")]).await;
    let (owner, _) = b.owner_with_license("lab@uni.edu", 2).await;
    let send = |token: String| {
        let b = &b;
        async move {
            b.call(
                Method::POST,
                "/v1/offline/activations",
                &token,
                Some(json!({"request": "not an offline request"})),
            )
            .await
        }
    };
    for _ in 0..2 {
        assert_eq!(send(owner.clone()).await.status(), 422);
    }
    let res = send(owner.clone()).await;
    assert_eq!(res.status(), 429);
    assert!(retry_after(&res) >= 1);
    let (_, body) = error(res).await;
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["limit"], "offline");
}
