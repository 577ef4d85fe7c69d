//! A member's own pages: "My seats" (release one, "Free up my seats", S6/S7: the devices
//! hear why) and "My Invitations" (contact the owner, leave after confirming; a blocked
//! member cannot leave its block behind).

use super::browser::Browser;
use super::{log_in, signed_in};
use crate::helpers::{spawn_broker, TestBroker};

/// A seat's id from a POST /v1/seats answer.
async fn seat_id(res: reqwest::Response) -> String {
    seat_and_print(res).await.0
}

/// The seat id of a new seat and its device's fingerprint (what pages show of a device).
async fn seat_and_print(res: reqwest::Response) -> (String, String) {
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.expect("json");
    let text = |field: &str| body[field].as_str().expect(field).to_owned();
    (text("seat_id"), text("device_fingerprint"))
}

/// The reason a heartbeat of `seat` hears, or "held".
async fn heartbeat(broker: &TestBroker, token: &str, seat: &str) -> String {
    let res = broker
        .call(
            reqwest::Method::POST,
            &format!("/v1/seats/{seat}/heartbeat"),
            token,
            Some(serde_json::json!({})),
        )
        .await;
    if res.status() == 200 {
        return "held".into();
    }
    let (status, error) = crate::helpers::error(res).await;
    assert_eq!(status, 410, "{error}");
    error["reason"].as_str().expect("a reason").to_owned()
}

#[actix_rt::test]
async fn s7_release_one_seat_then_free_up_my_seats_and_the_devices_hear_why() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@uni.edu", 5).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (_, member) = broker.join_with_code("stu@uni.edu", &code).await;
    let (laptop, laptop_print) =
        seat_and_print(broker.take_seat(&member, "stu-laptop").await).await;
    let (desktop, desktop_print) =
        seat_and_print(broker.take_seat(&member, "lab-desktop").await).await;

    let b = Browser::start().await;
    log_in(&b, &broker, "stu@uni.edu").await;
    b.click_link("My seats").await;
    let text = b.text().await;
    assert!(
        text.contains(&laptop_print) && text.contains(&desktop_print),
        "{text}"
    );
    assert!(text.contains(&pool) && text.contains("Windows"), "{text}");
    b.axe("my seats").await;
    b.screenshot("seats").await;

    // "Release" on the first row (devices are listed in the order their seats were taken).
    b.click_button("Release").await;
    let text = b.text().await;
    assert!(
        text.contains(&format!("Seat {laptop} was released.")),
        "{text}"
    );
    assert!(
        !text.contains(&laptop_print) && text.contains(&desktop_print),
        "{text}"
    );
    assert_eq!(heartbeat(&broker, &member, &laptop).await, "released");
    assert_eq!(heartbeat(&broker, &member, &desktop).await, "held");

    b.click_button("Free up my seats").await;
    let text = b.text().await;
    assert!(text.contains("One seat was released."), "{text}");
    assert!(
        text.contains("None of your devices holds a seat right now."),
        "{text}"
    );
    assert!(
        !text.contains("Free up my seats"),
        "the button shows only when seats are in use"
    );
    b.axe("my seats, none").await;
    assert_eq!(heartbeat(&broker, &member, &desktop).await, "released");
}

#[actix_rt::test]
async fn i2_a_member_contacts_the_owner_and_leaves_a_pool_after_confirming() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@uni.edu", 5).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (_, member) = broker.join_with_code("stu@uni.edu", &code).await;
    let seat = seat_id(broker.take_seat(&member, "stu-laptop").await).await;

    let b = Browser::start().await;
    log_in(&b, &broker, "stu@uni.edu").await;
    b.click_link("My Invitations").await;
    let text = b.text().await;
    assert!(
        text.contains("The pool of Test") && text.contains(&pool),
        "{text}"
    );
    b.axe("my invitations").await;
    b.screenshot("invitations").await;

    b.click_button("Leave").await;
    let text = b.text().await;
    assert!(
        text.contains("Leave the pool of Test?"),
        "asks first: {text}"
    );
    b.axe("leave, confirm").await;
    b.screenshot("leave-confirm").await;
    b.click_button("Leave").await;
    let text = b.text().await;
    assert!(text.contains(&format!("You left pool {pool}.")), "{text}");
    assert!(text.contains("You are not a member of any pool."), "{text}");
    assert_eq!(heartbeat(&broker, &member, &seat).await, "revoked");

    // The code lets the member join again.
    let res = broker
        .call(
            reqwest::Method::POST,
            "/v1/activations",
            &member,
            Some(serde_json::json!({ "code": code })),
        )
        .await;
    assert_eq!(res.status(), 201, "joins afresh");

    let (mut http, _) = signed_in(&broker, "stu@uni.edu", "correct horse").await;
    let page = http.get("/invitations").await.text().await.expect("a page");
    assert!(
        page.contains("href=\"mailto:prof@uni.edu\""),
        "Contact owner mails the owner"
    );
    assert!(page.contains(">Contact owner<"));
}

#[actix_rt::test]
async fn i2_a_blocked_member_is_shown_blocked_and_cannot_leave_its_block_behind() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@uni.edu", 5).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (member_id, _) = broker.join_with_code("stu@uni.edu", &code).await;
    let res = broker
        .call(
            reqwest::Method::POST,
            &format!("/v1/pools/{pool}/members/{member_id}/block"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);

    let (mut http, csrf) = signed_in(&broker, "stu@uni.edu", "correct horse").await;
    let page = http.get("/invitations").await.text().await.expect("a page");
    assert!(
        page.contains("The owner has blocked you in this pool"),
        "{page}"
    );
    assert!(
        !page.contains(">Leave<"),
        "no Leave button for a blocked member"
    );
    let res = http
        .post(
            "/invitations/leave",
            &[("csrf", &csrf), ("pool", &pool), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let members: serde_json::Value = broker
        .call(
            reqwest::Method::GET,
            &format!("/v1/pools/{pool}/members"),
            &owner,
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        members[0]["status"], "blocked",
        "still there, still blocked"
    );
}
