//! The portal's whole story in one browser session per person, as issue 15 tells it: an
//! administrator registers, confirms the email from the outbox, logs in, activates a key and
//! copies the invite URL from the pool's page; a student registers, confirms, opens the URL
//! and joins; the student's application takes a seat through the API; "Free up my seats"
//! in the portal; the seat is gone and the application hears why.

use super::browser::Browser;
use super::emailed_link;
use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn register_verify_activate_invite_join_take_a_seat_and_free_it_up() {
    let broker = spawn_broker().await;
    let key = broker.issue_license("educational", 15).await;

    // The license administrator.
    let admin = Browser::start().await;
    admin.goto(&format!("{}/register", broker.address)).await;
    admin.fill("Email", "prof@uni.edu").await;
    admin.fill("Password", "correct horse").await;
    admin.fill("Name", "Prof Ada").await;
    admin.click_button("Create account").await;
    let verify = emailed_link(&broker, "prof@uni.edu", "verify");
    admin.click_button("Log out").await;
    admin.goto(&format!("{}{verify}", broker.address)).await;
    admin.click_button("Confirm my email address").await;
    admin.click_link("Log in").await;
    admin.fill("Email", "prof@uni.edu").await;
    admin.fill("Password", "correct horse").await;
    admin.click_button("Log in").await;
    admin.click_link("Activate").await;
    admin.fill("License key or invite code", &key).await;
    admin.click_button("Activate").await;
    assert!(admin.text().await.contains("was added to your pool"));
    admin.click_link("My licenses and pools").await;
    admin
        .click_link("Manage this pool: invitations, members, seats and settings")
        .await;
    let invite_url = admin.value("Invite URL").await;
    let code = admin.value("Invite code").await;
    assert_eq!(invite_url, format!("http://127.0.0.1:8080/join/{code}"));
    admin.axe("pool administration").await;

    // The student follows the invite URL (on this test's broker, not public_url's).
    let path = invite_url.trim_start_matches("http://127.0.0.1:8080");
    let student = Browser::start().await;
    student.goto(&format!("{}{path}", broker.address)).await;
    student.click_link("Create account").await;
    student.fill("Email", "stu@uni.edu").await;
    student.fill("Password", "thesis due").await;
    student.fill("Name", "Stu Dent").await;
    student.click_button("Create account").await;
    let verify = emailed_link(&broker, "stu@uni.edu", "verify");
    student.goto(&format!("{}{verify}", broker.address)).await;
    student.click_button("Confirm my email address").await;
    student.goto(&format!("{}{path}", broker.address)).await;
    student.click_button("Join").await;
    assert!(student
        .text()
        .await
        .contains("You joined the pool of Prof Ada."));

    // The student's application takes a seat.
    let token = broker.login("stu@uni.edu", "thesis due").await;
    let res = broker.take_seat(&token, "stu-laptop").await;
    assert_eq!(res.status(), 201);
    let seat: serde_json::Value = res.json().await.expect("json");
    // Pages show a device by its fingerprint: the broker keeps no device names.
    let print = seat["device_fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_owned();
    let seat = seat["seat_id"].as_str().expect("a seat").to_owned();

    // The laptop died: the student frees the seat from the portal.
    student.click_link("My seats").await;
    assert!(student.text().await.contains(&print));
    student.click_button("Free up my seats").await;
    assert!(student
        .text()
        .await
        .contains("None of your devices holds a seat right now."));

    let res = broker
        .call(
            reqwest::Method::POST,
            &format!("/v1/seats/{seat}/heartbeat"),
            &token,
            Some(serde_json::json!({})),
        )
        .await;
    let (status, error) = crate::helpers::error(res).await;
    assert_eq!((status, error["reason"].as_str()), (410, Some("released")));

    // The administrator sees the pool empty again.
    admin.goto(&format!("{}/", broker.address)).await;
    let home = admin.text().await;
    assert!(home.contains("In use\n0"), "{home}");
}
