//! Offline activation (issue 16) in the browser: the request file the client library writes
//! opens the portal's `/offline` page with the request filled in (through the login page when
//! nobody is signed in), "Accept" hands over the license file, and the client library verifies
//! it with the broker's public key, as the offline computer would. The JSON API's side is in
//! `tests/api/offline.rs`.

use reqwest::Method;
use seatbroker_client::offline::{OfflineActivation, OfflineKeys, OfflineTarget};
use seatbroker_client::Platform;
use serde_json::Value;
use time::OffsetDateTime;

use super::browser::Browser;
use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn offline_round_trip_request_file_opens_the_portal_and_the_license_verifies() {
    let broker = spawn_broker().await;
    // `owner_with_license` issues an educational license with no end date: usable offline.
    let (_, pool) = broker.owner_with_license("offline-owner@uni.edu", 3).await;

    // The offline computer's application writes its request file.
    let device = "lab-pc-17";
    let dir = tempfile::tempdir().expect("a directory for the offline activation");
    let activation = OfflineActivation::new(dir.path());
    let html = activation
        .begin(
            device,
            Platform::Windows,
            &OfflineTarget::Any,
            &broker.address,
            OffsetDateTime::now_utc(),
        )
        .expect("the request file is written");

    // The user opens it in a browser on a computer that is online.
    let b = Browser::start().await;
    b.goto(&format!("file://{}", html.display())).await;
    let file = b.text().await;
    assert!(
        file.contains("Offline activation request for seatbroker") && file.contains(device),
        "the request file says what it is and for which device: {file}"
    );
    b.axe("offline request file").await;
    b.screenshot("offline-request-file").await;
    b.click_link("Open the activation page").await;

    // Nobody is signed in: the portal asks to log in first, then comes back to the request.
    let url = b.current_url().await;
    assert!(
        url.starts_with(&format!("{}/login?next=", broker.address)),
        "sent to log in first, not to {url}"
    );
    b.fill("Email", "offline-owner@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    let url = b.current_url().await;
    assert!(
        url.starts_with(&format!("{}/offline?request=SBOR1.", broker.address)),
        "back at the offline page with the request after logging in, not at {url}"
    );
    let page = b.text().await;
    assert!(
        page.contains("What is asked") && page.contains(device) && page.contains("Windows"),
        "the page shows the request: {page}"
    );
    b.axe("offline, what is asked").await;
    b.screenshot("offline-asked").await;

    b.click_button("Accept").await;
    let page = b.text().await;
    assert!(
        page.contains(&format!("The license file for {device} is ready.")),
        "the license file is handed over: {page}"
    );
    assert!(page.contains("Download license file"), "{page}");
    b.axe("offline, license file ready").await;
    b.screenshot("offline-ready").await;
    let license = b.value("License file").await;
    assert!(license.starts_with("SBOL1."), "a license's text: {license}");
    // `Browser` does not expose its WebDriver client to this module, so the download link's
    // `href` (`data:text/plain;charset=utf-8,<license>`) is not read here.

    // The offline computer checks the license with the broker's public key, with no network.
    let res = broker.get("/v1/offline/public-key").await;
    assert_eq!(res.status(), 200);
    let published: Value = res.json().await.expect("json");
    assert_eq!(published["algorithm"], "ed25519", "{published}");
    let key = published["public_key"].as_str().expect("a public key");
    let keys = OfflineKeys::parse(&[key]).expect("the public key parses");
    let verified = activation
        .complete(&license, &keys, OffsetDateTime::now_utc())
        .expect("the license from the portal verifies");
    assert_eq!(verified.device_id, device);
    assert_eq!(verified.platform, Platform::Windows);
    assert!(
        activation
            .current(&keys, device)
            .expect("the kept license reads")
            .is_some(),
        "the license is kept"
    );

    // The seat is taken in the owner's pool, and the owner's seats page says what holds it.
    let owner_token = broker.login("offline-owner@uni.edu", "correct horse").await;
    let res = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}"),
            &owner_token,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.expect("json");
    assert_eq!(view["in_use"].as_u64(), Some(1), "{view}");
    let res = broker
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/seats"),
            &owner_token,
            None,
        )
        .await;
    let held: Value = res.json().await.expect("json");
    let print = held[0]["device_fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_owned();

    b.goto(&format!("{}/seats", broker.address)).await;
    let seats = b.text().await;
    assert!(
        seats.contains(&print) && !seats.contains(device) && seats.contains("Offline license file"),
        "the seats page shows the offline seat by its device's fingerprint: {seats}"
    );
    assert!(
        !seats.contains("Free up my seats"),
        "an offline license file is not freed from here, so the button is not offered: {seats}"
    );
    b.axe("seats, offline license file").await;
    b.screenshot("offline-seats").await;
}
