//! Emailed links and the profile: confirming an email (once; "send the link again" replaces
//! the link), forgot password → reset (once; every session and API token of the account
//! ends), changing the password with the current one, "Log out everywhere", and the
//! language remembered on the account.

use super::browser::Browser;
use super::http::PortalClient;
use super::{emailed_link, signed_in};
use crate::helpers::{spawn_broker, spawn_broker_with, TestBroker};

/// Whether `token` still opens `GET /v1/me`.
async fn token_works(broker: &TestBroker, token: &str) -> bool {
    let res = broker
        .call(reqwest::Method::GET, "/v1/me", token, None)
        .await;
    match res.status().as_u16() {
        200 => true,
        401 => false,
        other => panic!("GET /v1/me answered {other}"),
    }
}

#[actix_rt::test]
async fn forgot_password_a_reset_link_works_once_and_ends_every_session_and_token() {
    let broker = spawn_broker().await;
    broker.create_account("ada@uni.edu", "correct horse").await;
    let old_token = broker.login("ada@uni.edu", "correct horse").await;
    let (mut other_browser, _) = signed_in(&broker, "ada@uni.edu", "correct horse").await;
    assert!(other_browser
        .get("/")
        .await
        .text()
        .await
        .expect("a page")
        .contains("My licenses and pools"));

    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.click_link("Forgot password?").await;
    b.axe("forgot").await;
    b.screenshot("forgot").await;
    b.fill("Email", "ada@uni.edu").await;
    b.click_button("Send reset link").await;
    let sent = b.text().await;
    assert!(
        sent.contains("If an account exists for this address"),
        "{sent}"
    );

    // An unknown address hears exactly the same, and no mail is sent.
    let mails_before = broker.outbox().len();
    let mut stranger = PortalClient::new(&broker.address);
    let csrf = stranger.csrf_of("/forgot").await;
    let page = stranger
        .post("/forgot", &[("csrf", &csrf), ("email", "nobody@uni.edu")])
        .await
        .text()
        .await
        .expect("a page");
    assert!(page.contains("If an account exists for this address"));
    assert_eq!(
        broker.outbox().len(),
        mails_before,
        "no mail for an unknown address"
    );

    let link = emailed_link(&broker, "ada@uni.edu", "reset");
    b.goto(&format!("{}{link}", broker.address)).await;
    b.axe("reset").await;
    b.screenshot("reset").await;
    b.fill("New password", "a much better one").await;
    b.click_button("Set password").await;
    let done = b.text().await;
    assert!(done.contains("Your new password is set"), "{done}");
    b.axe("reset, done").await;

    assert!(
        !token_works(&broker, &old_token).await,
        "the API token from before the reset is revoked"
    );
    let page = other_browser.get("/").await.text().await.expect("a page");
    assert!(
        page.contains("Your software licenses, in one place"),
        "the other browser's session ended: {page}"
    );
    let fresh = broker.login("ada@uni.edu", "a much better one").await;
    assert!(token_works(&broker, &fresh).await, "a new login works");

    // The link works once.
    b.goto(&format!("{}{link}", broker.address)).await;
    b.fill("New password", "yet another one").await;
    b.click_button("Set password").await;
    let text = b.text().await;
    assert!(text.contains("This link no longer works"), "{text}");
    b.axe("expired link").await;
    b.screenshot("link-expired").await;
    let res = broker
        .post(
            "/v1/auth/login",
            &serde_json::json!({"email": "ada@uni.edu", "password": "yet another one"}),
        )
        .await;
    assert_eq!(res.status(), 401, "the used link changed nothing");
}

#[actix_rt::test]
async fn a_newer_reset_link_ends_the_older_and_a_short_password_keeps_the_link() {
    let broker = spawn_broker().await;
    broker.create_account("bo@uni.edu", "correct horse").await;
    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/forgot").await;
    http.post("/forgot", &[("csrf", &csrf), ("email", "bo@uni.edu")])
        .await;
    let first = emailed_link(&broker, "bo@uni.edu", "reset");
    http.post("/forgot", &[("csrf", &csrf), ("email", "BO@uni.edu")])
        .await;
    let second = emailed_link(&broker, "bo@uni.edu", "reset");
    assert_ne!(first, second);

    let res = http
        .post(&first, &[("csrf", &csrf), ("password", "long enough now")])
        .await;
    assert_eq!(
        res.status(),
        410,
        "the older link died when the newer was sent"
    );
    let res = http
        .post(&second, &[("csrf", &csrf), ("password", "short")])
        .await;
    assert_eq!(res.status(), 422, "a short password is refused");
    let res = http
        .post(&second, &[("csrf", &csrf), ("password", "long enough now")])
        .await;
    assert_eq!(
        res.status(),
        200,
        "the link still works after a refused password"
    );
    broker.login("bo@uni.edu", "long enough now").await;
}

#[actix_rt::test]
async fn a_confirmation_link_works_once_and_send_the_link_again_replaces_it() {
    let broker = spawn_broker().await;
    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/register").await;
    let res = http
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("email", "cy@uni.edu"),
                ("password", "correct horse"),
                ("name", "Cy"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let first = emailed_link(&broker, "cy@uni.edu", "verify");
    let mail = broker.outbox().join("\n");
    assert!(
        mail.contains("Confirm your email address for seatbroker"),
        "{mail}"
    );

    // Unconfirmed: activation is refused, in the API too.
    let key = broker.issue_license("educational", 3).await;
    let token = broker.login("cy@uni.edu", "correct horse").await;
    let res = broker
        .call(
            reqwest::Method::POST,
            "/v1/activations",
            &token,
            Some(serde_json::json!({ "code": key })),
        )
        .await;
    let (status, error) = crate::helpers::error(res).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("email_unconfirmed"))
    );

    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.click_link("Send the confirmation link again").await;
    b.axe("verify, send again").await;
    b.fill("Email", "cy@uni.edu").await;
    b.click_button("Send the link again").await;
    assert!(b.text().await.contains("we sent it a new link"));
    let second = emailed_link(&broker, "cy@uni.edu", "verify");
    assert_ne!(first, second);

    let res = http.post(&first, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 410, "the older link died");
    b.goto(&format!("{}{second}", broker.address)).await;
    b.axe("verify").await;
    b.screenshot("verify").await;
    b.click_button("Confirm my email address").await;
    assert!(b.text().await.contains("Your email address is confirmed."));
    let res = http.post(&second, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 410, "a link works once");

    let res = broker
        .call(
            reqwest::Method::POST,
            "/v1/activations",
            &token,
            Some(serde_json::json!({ "code": key })),
        )
        .await;
    assert_eq!(res.status(), 201, "confirmed: the key activates");
}

#[actix_rt::test]
async fn the_profile_shows_the_account_and_changes_the_password_only_with_the_current_one() {
    let broker = spawn_broker().await;
    let id = broker.create_account("dee@uni.edu", "correct horse").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.fill("Email", "dee@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    b.click_link("Profile").await;
    let text = b.text().await;
    assert!(text.contains(&id) && text.contains("dee@uni.edu"), "{text}");
    assert!(id.starts_with("A-") && id.len() == 9, "{id}");
    b.axe("profile").await;
    b.screenshot("profile").await;

    b.fill("Current password", "not it at all").await;
    b.fill("New password", "a new password").await;
    b.click_button("Change password").await;
    assert!(b.text().await.contains("The current password is wrong"));
    b.axe("profile, wrong password").await;

    b.fill("Current password", "correct horse").await;
    b.fill("New password", "a new password").await;
    b.click_button("Change password").await;
    assert!(b.text().await.contains("Your password is changed."));
    broker.login("dee@uni.edu", "a new password").await;
}

#[actix_rt::test]
async fn log_out_everywhere_ends_every_session_and_revokes_the_api_tokens() {
    let broker = spawn_broker().await;
    broker.create_account("eli@uni.edu", "correct horse").await;
    let token = broker.login("eli@uni.edu", "correct horse").await;
    let (mut elsewhere, _) = signed_in(&broker, "eli@uni.edu", "correct horse").await;

    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.fill("Email", "eli@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    b.click_link("Profile").await;
    b.click_button("Log out everywhere").await;
    assert!(b.current_url().await.ends_with("/login"));

    assert!(
        !token_works(&broker, &token).await,
        "the API token is revoked"
    );
    let page = elsewhere.get("/").await.text().await.expect("a page");
    assert!(
        page.contains("Your software licenses, in one place"),
        "{page}"
    );
    let res = broker.take_seat(&token, "laptop").await;
    assert_eq!(
        res.status(),
        401,
        "the hot path refuses the revoked token too"
    );

    let fresh = broker.login("eli@uni.edu", "correct horse").await;
    assert!(token_works(&broker, &fresh).await, "logging in again works");
}

#[actix_rt::test]
async fn the_chosen_language_is_remembered_on_the_account_for_the_next_browser() {
    let broker = spawn_broker().await;
    broker.create_account("fe@uni.edu", "correct horse").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.fill("Email", "fe@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    b.click_link("Deutsch").await;
    assert!(b.text().await.contains("Meine Lizenzen und Pools"));
    b.click_link("Profil").await;
    b.axe("profile, German").await;
    b.screenshot("profile-de").await;

    // Another browser, English by default, turns German at login.
    let (mut http, _) = signed_in(&broker, "fe@uni.edu", "correct horse").await;
    let page = http.get("/").await.text().await.expect("a page");
    assert!(page.contains("lang=\"de\""), "{page}");

    // The German account's reset email is German.
    let mut stranger = PortalClient::new(&broker.address);
    let csrf = stranger.csrf_of("/forgot").await;
    stranger
        .post("/forgot", &[("csrf", &csrf), ("email", "fe@uni.edu")])
        .await;
    let mail = broker.outbox().join("\n");
    assert!(mail.contains("hoffentlich Sie"), "{mail}");
}

#[actix_rt::test]
async fn support_confirms_an_email_by_hand_through_the_operator_api_and_the_command_line() {
    let data = tempfile::tempdir().expect("a temp dir");
    let process = crate::helpers::BrokerProcess::start(data.path());
    let broker = TestBroker::at(&process.address);
    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/register").await;
    for (email, name) in [("gus@uni.edu", "Gus"), ("hal@uni.edu", "Hal")] {
        let res = http
            .post(
                "/register",
                &[
                    ("csrf", &csrf),
                    ("email", email),
                    ("password", "correct horse"),
                    ("name", name),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{email} registers");
    }
    let id_of = |token: String| {
        let broker = &broker;
        async move {
            let me: serde_json::Value = broker
                .call(reqwest::Method::GET, "/v1/me", &token, None)
                .await
                .json()
                .await
                .expect("json");
            me["account"]["id"].as_str().expect("an id").to_owned()
        }
    };
    let gus = broker.login("gus@uni.edu", "correct horse").await;
    let hal = broker.login("hal@uni.edu", "correct horse").await;
    let (gus_id, hal_id) = (id_of(gus.clone()).await, id_of(hal.clone()).await);

    // The operator API.
    let path = format!("/v1/admin/accounts/{gus_id}/confirm-email");
    let res = broker
        .call(reqwest::Method::POST, &path, "not-the-operator-token", None)
        .await;
    assert_eq!(res.status(), 401);
    let res = broker
        .call(
            reqwest::Method::POST,
            "/v1/admin/accounts/A-000-000/confirm-email",
            crate::helpers::OPERATOR_TOKEN,
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = broker
        .call(
            reqwest::Method::POST,
            &path,
            crate::helpers::OPERATOR_TOKEN,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["email_confirmed"], true);

    // The command line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
        .args([
            "account",
            "confirm-email",
            &hal_id,
            "--url",
            &broker.address,
        ])
        .env(
            "SEATBROKER__OPERATOR__TOKEN",
            crate::helpers::OPERATOR_TOKEN,
        )
        .output()
        .expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&hal_id) && said.contains("email confirmed"),
        "{said}"
    );

    for token in [gus, hal] {
        let key = broker.issue_license("educational", 2).await;
        let res = broker
            .call(
                reqwest::Method::POST,
                "/v1/activations",
                &token,
                Some(serde_json::json!({ "code": key })),
            )
            .await;
        assert_eq!(res.status(), 201, "a confirmed account activates");
    }
}

/// The reset mails the broker sent to `to`.
fn resets_to(broker: &TestBroker, to: &str) -> usize {
    broker
        .outbox()
        .iter()
        .filter(|m| m.contains(&format!("<{to}>")))
        .filter(|m| m.contains("Subject: Set a new password"))
        .count()
}

#[actix_rt::test]
async fn reset_emails_are_limited_to_3_an_hour_per_account_and_per_client_address() {
    let broker = spawn_broker_with(&[("SEATBROKER__SERVER__TRUSTED_PROXIES", "127.0.0.1")]).await;
    broker.create_account("ada@uni.edu", "correct horse").await;

    // Per account: four clients ask for Ada's reset; three mails go, the fourth answer is
    // the same page, so nobody learns that the account exists or was limited.
    for n in 1..=4 {
        let mut client =
            PortalClient::new(&broker.address).behind_proxy_as(&format!("203.0.113.{n}"));
        let csrf = client.csrf_of("/forgot").await;
        let res = client
            .post("/forgot", &[("csrf", &csrf), ("email", "ada@uni.edu")])
            .await;
        assert_eq!(res.status(), 200);
        let page = res.text().await.expect("a page");
        assert!(
            page.contains("If an account exists for this address"),
            "{n}: {page}"
        );
    }
    assert_eq!(resets_to(&broker, "ada@uni.edu"), 3);

    // Per client address: the fourth request from one address is refused with 429, whatever
    // the addresses it gives, and sends nothing.
    let mut spammer = PortalClient::new(&broker.address).behind_proxy_as("198.51.100.9");
    let csrf = spammer.csrf_of("/forgot").await;
    for victim in ["v1@uni.edu", "v2@uni.edu", "v3@uni.edu"] {
        let res = spammer
            .post("/forgot", &[("csrf", &csrf), ("email", victim)])
            .await;
        assert_eq!(res.status(), 200);
    }
    let mails = broker.outbox().len();
    let res = spammer
        .post("/forgot", &[("csrf", &csrf), ("email", "v4@uni.edu")])
        .await;
    assert_eq!(res.status(), 429);
    let page = res.text().await.expect("a page");
    assert!(page.contains("Too many requests"), "{page}");
    let res = spammer
        .post("/verify", &[("csrf", &csrf), ("email", "ada@uni.edu")])
        .await;
    assert_eq!(
        res.status(),
        429,
        "sending the confirmation again counts too"
    );
    assert_eq!(broker.outbox().len(), mails, "nothing sent");

    // In the browser (its own address): the refusal is a page of the portal that says how
    // long to wait.
    let mut local = PortalClient::new(&broker.address);
    let csrf = local.csrf_of("/forgot").await;
    for victim in ["w1@uni.edu", "w2@uni.edu", "w3@uni.edu"] {
        local
            .post("/forgot", &[("csrf", &csrf), ("email", victim)])
            .await;
    }
    let b = Browser::start().await;
    b.goto(&format!("{}/forgot", broker.address)).await;
    b.fill("Email", "w4@uni.edu").await;
    b.click_button("Send reset link").await;
    let text = b.text().await;
    assert!(text.contains("Too many requests"), "{text}");
    assert!(text.contains("minutes"), "{text}");
    b.axe("forgot refused").await;
    b.screenshot("forgot-rate-limited").await;

    let metrics = broker.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(r#"seatbroker_limit_refusals_total{limit="emails_to_account"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"seatbroker_limit_refusals_total{limit="emails_from_address"} 3"#),
        "{metrics}"
    );
}
