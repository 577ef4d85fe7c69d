//! Issue 16: a person deletes their own account on the profile page ("Delete my account",
//! the password to confirm). An account holding licenses is refused and keeps everything;
//! a member's account goes: its seat is released, its membership ends, it is logged out,
//! and its email can be registered again.

use reqwest::Method;

use super::browser::Browser;
use super::log_in;
use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn a_member_deletes_their_account_and_an_owner_of_licenses_is_refused() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@uni.edu", 5).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (_, member) = broker.join_with_code("stu@uni.edu", &code).await;
    let res = broker.take_seat(&member, "stu-laptop").await;
    assert_eq!(res.status(), 201);
    let seat: serde_json::Value = res.json().await.expect("json");
    let seat = seat["seat_id"].as_str().expect("seat id").to_owned();

    // The owner holds a license: refused, nothing changes.
    let b = Browser::start().await;
    log_in(&b, &broker, "prof@uni.edu").await;
    b.goto(&format!("{}/profile#delete-heading", broker.address))
        .await;
    b.axe("profile, delete section").await;
    b.screenshot("profile-delete").await;
    b.fill("Your password, to confirm", "correct horse").await;
    b.click_button("Delete my account").await;
    let text = b.text().await;
    assert!(
        text.contains("This account holds licenses, so it was not deleted."),
        "{text}"
    );
    b.axe("profile, owner refused").await;
    let res = broker
        .call(Method::GET, &format!("/v1/pools/{pool}"), &owner, None)
        .await;
    assert_eq!(res.status(), 200, "the owner is still there");

    // The member: a wrong password changes nothing; the right one deletes the account.
    let s = Browser::start().await;
    log_in(&s, &broker, "stu@uni.edu").await;
    s.goto(&format!("{}/profile", broker.address)).await;
    s.fill("Your password, to confirm", "not my password").await;
    s.click_button("Delete my account").await;
    assert!(s
        .text()
        .await
        .contains("The password is wrong; the account was not deleted."));
    s.fill("Your password, to confirm", "correct horse").await;
    s.click_button("Delete my account").await;
    let text = s.text().await;
    assert!(text.contains("Your account is deleted"), "{text}");
    s.axe("account deleted").await;
    s.screenshot("account-deleted").await;

    // Logged out everywhere; the seat is released; the email is free again.
    s.goto(&format!("{}/profile", broker.address)).await;
    assert!(
        s.current_url().await.contains("/login"),
        "signed out: {}",
        s.current_url().await
    );
    let res = broker
        .call(
            Method::POST,
            &format!("/v1/seats/{seat}/heartbeat"),
            &member,
            None,
        )
        .await;
    assert_eq!(res.status(), 401, "the app's token is void");
    let res = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/seats"),
            &owner,
            None,
        )
        .await;
    let seats: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        seats,
        serde_json::json!([]),
        "the member's seat is released"
    );
    broker.create_account("stu@uni.edu", "correct horse").await;
}
