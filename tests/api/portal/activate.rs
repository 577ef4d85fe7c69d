//! Activating keys and invite codes in the portal, the invite URL's page, and the start page
//! listing what an account owns and belongs to (L3, L5, I2, S12's data), each account seeing
//! only its own pools.

use super::browser::Browser;
use crate::helpers::{spawn_broker, TestBroker};

/// Registers in the browser, confirms the email with the emailed link, and lands signed in.
async fn register(b: &Browser, broker: &TestBroker, email: &str, name: &str) {
    b.goto(&format!("{}/register", broker.address)).await;
    b.fill("Email", email).await;
    b.fill("Password", "correct horse").await;
    b.fill("Name", name).await;
    b.click_button("Create account").await;
    confirm(b, broker, email).await;
}

/// Opens the confirmation link emailed to `email` and confirms.
async fn confirm(b: &Browser, broker: &TestBroker, email: &str) {
    let link = super::emailed_link(broker, email, "verify");
    b.goto(&format!("{}{link}", broker.address)).await;
    b.click_button("Confirm my email address").await;
    assert!(b.text().await.contains("Your email address is confirmed."));
}

#[actix_rt::test]
async fn l3_i2_an_owner_activates_a_key_and_a_student_joins_through_the_invite_url() {
    let broker = spawn_broker().await;
    let key = broker.issue_license("educational", 15).await;

    let owner = Browser::start().await;
    register(&owner, &broker, "prof@uni.edu", "Prof Ada").await;
    owner.click_link("Activate").await;
    owner.axe("activate").await;
    owner.screenshot("activate").await;
    owner
        .fill(
            "License key or invite code",
            &format!("  {}  ", key.to_lowercase()),
        )
        .await;
    owner.click_button("Activate").await;
    let text = owner.text().await;
    assert!(text.contains("seats) was added to your pool"), "{text}");
    assert!(text.contains("Educational, 15 seats"), "{text}");
    owner.axe("activate, done").await;
    owner.screenshot("activate-done").await;

    owner.click_link("My licenses and pools").await;
    let home = owner.text().await;
    assert!(
        home.contains("My pool") && home.contains("Educational"),
        "{home}"
    );
    assert!(home.contains("Never"), "a permanent license: {home}");
    owner.axe("home, owner").await;
    owner.screenshot("home-owner").await;

    let token = broker.login("prof@uni.edu", "correct horse").await;
    let me: serde_json::Value = broker
        .call(reqwest::Method::GET, "/v1/me", &token, None)
        .await
        .json()
        .await
        .expect("json");
    let pool = me["own_pool"]["id"].as_str().expect("a pool").to_owned();
    let code = broker.invite_code(&token, &pool).await;

    // The student opens the invite URL before having an account.
    let student = Browser::start().await;
    student
        .goto(&format!("{}/join/{code}", broker.address))
        .await;
    let text = student.text().await;
    assert!(
        text.contains("The pool of Prof Ada") && text.contains("Educational"),
        "{text}"
    );
    student.axe("join, visitor").await;
    student.screenshot("join-visitor").await;
    student.click_link("Create account").await;
    student.fill("Email", "stu@uni.edu").await;
    student.fill("Password", "thesis due").await;
    student.fill("Name", "Stu Dent").await;
    student.click_button("Create account").await;
    student.click_button("Join").await;
    let text = student.text().await;
    assert!(
        text.contains("Confirm your email address first"),
        "an unconfirmed account cannot join: {text}"
    );
    student.click_link("My licenses and pools").await;
    let text = student.text().await;
    assert!(
        text.contains("Please confirm your email address"),
        "the start page says what is missing: {text}"
    );
    student.axe("home, unconfirmed").await;
    student.screenshot("home-unconfirmed").await;
    confirm(&student, &broker, "stu@uni.edu").await;
    student
        .goto(&format!("{}/join/{code}", broker.address))
        .await;
    assert!(
        student
            .current_url()
            .await
            .ends_with(&format!("/join/{code}")),
        "back at the invite after registering, not at {}",
        student.current_url().await
    );
    student.axe("join, signed in").await;
    student.screenshot("join").await;
    student.click_button("Join").await;
    let text = student.text().await;
    assert!(text.contains("You joined the pool of Prof Ada."), "{text}");
    student.axe("join, done").await;

    // The student takes a seat through the API; the start page shows it.
    let stu = broker.login("stu@uni.edu", "thesis due").await;
    let res = broker.take_seat(&stu, "stu-laptop").await;
    assert_eq!(res.status(), 201);
    let seat: serde_json::Value = res.json().await.expect("json");
    let print = seat["device_fingerprint"].as_str().expect("a fingerprint");
    student.click_link("My licenses and pools").await;
    let home = student.text().await;
    assert!(home.contains("Shared with me by Prof Ada"), "{home}");
    assert!(
        home.contains(print) && !home.contains("stu-laptop") && home.contains("Windows"),
        "{home}"
    );
    assert!(
        !home.contains("My pool"),
        "the student owns no pool: {home}"
    );
    assert!(
        !home.contains("License"),
        "a member sees no licenses of the pool (I5): {home}"
    );
    student.axe("home, member").await;
    student.screenshot("home-member").await;
    student.set_window_size(360, 740).await;
    student.screenshot("home-member-360px").await;

    // Joining again is harmless.
    student
        .goto(&format!("{}/join/{code}", broker.address))
        .await;
    student.click_button("Join").await;
    assert!(student
        .text()
        .await
        .contains("You are a member of the pool of Prof Ada already."));
}

#[actix_rt::test]
async fn l1_the_activate_page_answers_with_the_apis_rules_and_messages() {
    let broker = spawn_broker().await;
    broker.create_account("eve@uni.edu", "correct horse").await;
    let (_, _) = broker.owner_with_license("holder@uni.edu", 3).await;
    let held_key = {
        let key = broker.issue_license("educational", 2).await;
        let token = broker.login("holder@uni.edu", "correct horse").await;
        let res = broker
            .call(
                reqwest::Method::POST,
                "/v1/activations",
                &token,
                Some(serde_json::json!({ "code": key })),
            )
            .await;
        assert_eq!(res.status(), 201);
        key
    };
    let (mut http, csrf) = super::signed_in(&broker, "eve@uni.edu", "correct horse").await;
    for (code, status, says) in [
        (
            "12345-67890-ABCDE-FGHIJ-KLMNO",
            422,
            "older product generation",
        ),
        ("hello", 422, "is not a license key"),
        (
            "R-000-000-000-000-000-001",
            404,
            "No license or pool has this code",
        ),
        (
            held_key.as_str(),
            409,
            "Another account has activated this license already.",
        ),
        ("I-000-000-000-001", 404, "No license or pool has this code"),
    ] {
        let res = http
            .post("/activate", &[("csrf", &csrf), ("code", code)])
            .await;
        assert_eq!(res.status(), status, "{code}");
        let page = res.text().await.expect("a page");
        assert!(page.contains(says), "{code}: {page}");
    }
}

#[actix_rt::test]
async fn a_visitor_asked_to_log_in_for_a_page_comes_back_to_it() {
    let broker = spawn_broker().await;
    broker.create_account("back@uni.edu", "correct horse").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/activate", broker.address)).await;
    assert!(
        b.current_url().await.contains("/login?next="),
        "sent to log in"
    );
    b.fill("Email", "back@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    assert_eq!(
        b.current_url().await,
        format!("{}/activate", broker.address)
    );
}

#[actix_rt::test]
async fn i5_a_session_never_shows_another_accounts_pools() {
    let broker = spawn_broker().await;
    let (_, pool) = broker.owner_with_license("owner@uni.edu", 5).await;
    broker
        .create_account("other@uni.edu", "correct horse")
        .await;
    let (mut http, _) = super::signed_in(&broker, "other@uni.edu", "correct horse").await;
    let page = http.get("/").await.text().await.expect("a page");
    assert!(page.contains("You have no licenses yet"), "{page}");
    assert!(!page.contains(&pool), "another account's pool is not shown");
    assert!(!page.contains("owner@uni.edu"));
}

#[actix_rt::test]
async fn after_20_codes_that_did_not_work_the_form_says_how_long_to_wait() {
    let broker = spawn_broker().await;
    broker.create_account("eve@uni.edu", "correct horse").await;
    let (mut http, csrf) = super::signed_in(&broker, "eve@uni.edu", "correct horse").await;
    for n in 0..20 {
        let code = format!("I-000-000-000-{n:03}");
        let res = http
            .post("/activate", &[("csrf", &csrf), ("code", &code)])
            .await;
        assert_eq!(res.status(), 404, "{code}");
    }
    let b = Browser::start().await;
    super::log_in(&b, &broker, "eve@uni.edu").await;
    b.goto(&format!("{}/activate", broker.address)).await;
    b.fill("License key or invite code", "I-000-000-000-999")
        .await;
    b.click_button("Activate").await;
    let text = b.text().await;
    assert!(
        text.contains("Too many codes that did not work. Please wait 60 minutes"),
        "{text}"
    );
    assert_eq!(
        b.value("License key or invite code").await,
        "I-000-000-000-999",
        "the code stays in the field"
    );
    b.axe("activate refused").await;
    b.screenshot("activate-rate-limited").await;
}
