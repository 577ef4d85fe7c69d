//! Offline activation (issue 16) through the JSON API and the command line: the client
//! library writes the request, `POST /v1/offline/activations` answers the signed license
//! file, and the client library verifies it with the keys of `GET /v1/offline/public-key`,
//! with no network. The seat it holds never times out and only the owner releases it; key
//! rotation keeps older files valid. The browser's side is in `portal/offline.rs`.

use std::sync::Arc;

use reqwest::Method;
use seatbroker_client::offline::{OfflineActivation, OfflineError, OfflineKeys, OfflineTarget};
use seatbroker_client::Platform;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::helpers::{
    error, spawn_broker, spawn_broker_timed, MovableClock, TestBroker, OPERATOR_TOKEN,
};

/// An offline computer's request, made with the client library in `dir`: its text.
fn request_in(
    dir: &std::path::Path,
    device: &str,
    target: OfflineTarget,
    b: &TestBroker,
) -> String {
    let activation = OfflineActivation::new(dir);
    let html = activation
        .begin(
            device,
            Platform::Windows,
            &target,
            &b.address,
            OffsetDateTime::now_utc(),
        )
        .expect("request written");
    assert!(html.exists(), "the request file is on disk");
    activation
        .pending()
        .expect("readable")
        .expect("pending request")
        .encode()
}

/// Accepts `request` as `token`: the status and the answer.
async fn accept(b: &TestBroker, token: &str, request: &str) -> (u16, Value) {
    let res = b
        .call(
            Method::POST,
            "/v1/offline/activations",
            token,
            Some(json!({ "request": request })),
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The broker's offline keys, current first, as the client library takes them.
async fn keys(b: &TestBroker) -> (Value, OfflineKeys) {
    let res = b.get("/v1/offline/public-key").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["algorithm"], "ed25519");
    let mut all = vec![body["public_key"].as_str().expect("key").to_owned()];
    for retired in body["retired"].as_array().expect("retired") {
        all.push(retired["public_key"].as_str().expect("key").to_owned());
    }
    (body, OfflineKeys::parse(&all).expect("keys parse"))
}

async fn seats_of(b: &TestBroker, owner: &str, pool: &str) -> Vec<Value> {
    let res = b
        .call(Method::GET, &format!("/v1/pools/{pool}/seats"), owner, None)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body.as_array()
        .or_else(|| body["seats"].as_array())
        .cloned()
        .expect("a list of seats")
}

#[actix_rt::test]
async fn offline_round_trip_the_file_verifies_with_no_network_and_the_seat_never_times_out() {
    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(&[], clock.clone()).await;
    let (owner, pool) = b.owner_with_license("lab@uni.edu", 2).await;
    let dir = tempfile::tempdir().expect("dir");
    let request = request_in(dir.path(), "lab-pc-7", OfflineTarget::Any, &b);

    let (status, answer) = accept(&b, &owner, &request).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["seat"]["offline_file"], true);
    assert_eq!(answer["seat"]["device_id"], "lab-pc-7");
    assert_eq!(answer["seat"]["pool_id"], pool.as_str());
    assert_eq!(
        answer["seat"]["expires_at"],
        Value::Null,
        "no heartbeat deadline"
    );
    let file_name = answer["file_name"].as_str().expect("file name");
    assert!(file_name.ends_with(".sblic"), "{file_name}");
    let license_text = answer["license"].as_str().expect("license").to_owned();

    // The offline computer checks it with the public key alone.
    let (_, keys) = keys(&b).await;
    let activation = OfflineActivation::new(dir.path());
    let license = activation
        .complete(&license_text, &keys, OffsetDateTime::now_utc())
        .expect("the license verifies");
    assert_eq!(license.device_id, "lab-pc-7");
    assert_eq!(license.pool_id, pool);
    assert!(activation
        .current(&keys, "lab-pc-7")
        .expect("kept")
        .is_some());
    // The same file again answers no request waiting on that computer.
    assert!(matches!(
        activation.complete(&license_text, &keys, OffsetDateTime::now_utc()),
        Err(OfflineError::Replayed)
    ));

    // S4 frees an ordinary seat after its timeout; the offline one stays for good.
    let ordinary = b.take_seat(&owner, "laptop").await;
    assert_eq!(ordinary.status(), 201);
    clock.advance_days(2);
    let desk = b.take_seat(&owner, "desk").await;
    assert_eq!(
        desk.status(),
        201,
        "the laptop's seat timed out, the offline one did not"
    );
    let held = seats_of(&b, &owner, &pool).await;
    let offline: Vec<&Value> = held.iter().filter(|s| s["offline_file"] == true).collect();
    assert_eq!(offline.len(), 1, "{held:?}");
    assert!(held.iter().all(|s| s["device_id"] != "laptop"));

    // The holder cannot free it ("free up my seats" and logout leave it).
    let res = b
        .call(Method::POST, "/v1/me/seats/release", &owner, None)
        .await;
    assert_eq!(res.status(), 200);
    let offline_seat = offline[0]["seat_id"].as_str().expect("id").to_owned();
    let res = b
        .call(
            Method::DELETE,
            &format!("/v1/seats/{offline_seat}"),
            &owner,
            None,
        )
        .await;
    assert!(
        res.status().is_success(),
        "logout answers as for a kept seat"
    );
    let held = seats_of(&b, &owner, &pool).await;
    assert_eq!(held.len(), 1, "only the offline seat is left: {held:?}");
    assert_eq!(held[0]["seat_id"], offline_seat.as_str());

    // The owner (W3) releases it; its capacity is free again.
    let res = b
        .call(
            Method::DELETE,
            &format!("/v1/pools/{pool}/seats/{offline_seat}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert!(seats_of(&b, &owner, &pool).await.is_empty());
}

#[actix_rt::test]
async fn offline_requests_are_refused_for_expiring_licenses_old_requests_and_other_text() {
    let b = spawn_broker().await;
    b.create_account("term@uni.edu", "correct horse").await;
    let token = b.login("term@uni.edu", "correct horse").await;
    let res = b
        .call(
            Method::POST,
            "/v1/operator/licenses",
            OPERATOR_TOKEN,
            Some(json!({"type": "educational", "seats": 5, "expires_at": "2099-07-31T23:59:59Z"})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let key: Value = res.json().await.expect("json");
    let res = b
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({"code": key["key"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let dir = tempfile::tempdir().expect("dir");
    let request = request_in(dir.path(), "pc", OfflineTarget::Any, &b);
    let (status, answer) = accept(&b, &token, &request).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"]["code"], "offline_needs_permanent_license");

    // Made 8 days ago: too old.
    let old = seatbroker_client::offline::new_request(
        "pc",
        Platform::Windows,
        &OfflineTarget::Any,
        OffsetDateTime::now_utc() - time::Duration::days(8),
    )
    .expect("request")
    .encode();
    let (status, answer) = accept(&b, &token, &old).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "offline_request_expired");

    let (status, answer) = accept(&b, &token, "SBOR1.bm90IGEgcmVxdWVzdA").await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_offline_request");
    assert_eq!(answer["error"]["field"], "request");

    let res = b
        .post("/v1/offline/activations", &json!({ "request": request }))
        .await;
    let (status, body) = error(res).await;
    assert_eq!(status, 401, "{body}");
}

#[actix_rt::test]
async fn an_invite_code_in_the_request_joins_its_pool_and_takes_the_seat_there() {
    let b = spawn_broker().await;
    let (owner, pool) = b.owner_with_license("prof@uni.edu", 3).await;
    let code = b.invite_code(&owner, &pool).await;
    b.create_account("student@uni.edu", "correct horse").await;
    let student = b.login("student@uni.edu", "correct horse").await;
    let dir = tempfile::tempdir().expect("dir");
    let request = request_in(
        dir.path(),
        "field-laptop",
        OfflineTarget::InviteCode(code),
        &b,
    );
    let (status, answer) = accept(&b, &student, &request).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["seat"]["pool_id"], pool.as_str());
    assert_eq!(answer["seat"]["policy"], "member");
    let members = b
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/members"),
            &owner,
            None,
        )
        .await;
    let members: Value = members.json().await.expect("json");
    assert!(
        members.to_string().contains("student@uni.edu"),
        "the student joined: {members}"
    );
    // Accepting the same request again answers the same seat (S2), freshly signed.
    let (status, again) = accept(&b, &student, &request).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["seat"]["seat_id"], answer["seat"]["seat_id"]);
}

#[actix_rt::test]
async fn keys_rotate_keeps_older_files_valid_and_the_cli_shows_and_rotates() {
    let b = spawn_broker().await;
    let (owner, _) = b.owner_with_license("ops@uni.edu", 3).await;
    let dir_a = tempfile::tempdir().expect("dir");
    let request_a = request_in(dir_a.path(), "pc-a", OfflineTarget::Any, &b);
    let (status, answer_a) = accept(&b, &owner, &request_a).await;
    assert_eq!(status, 201);
    let (before, _) = keys(&b).await;

    let cli = |args: &'static [&'static str], address: String| {
        actix_rt::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
                .arg("keys")
                .args(args)
                .args(["--url", &address])
                .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
                .output()
                .expect("the binary runs")
        })
    };
    let shown = cli(&["show"], b.address.clone()).await.expect("joined");
    let shown_text = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(shown.status.success(), "{shown:?}");
    assert!(
        shown_text.contains(before["public_key"].as_str().expect("key")),
        "{shown_text}"
    );
    let rotated = cli(&["rotate"], b.address.clone()).await.expect("joined");
    assert!(rotated.status.success(), "{rotated:?}");
    let (after, keys_now) = keys(&b).await;
    assert_ne!(after["key_id"], before["key_id"]);
    assert_eq!(after["retired"][0]["key_id"], before["key_id"]);
    assert!(
        String::from_utf8_lossy(&rotated.stdout).contains(after["key_id"].as_str().expect("id"))
    );

    // A file signed before the rotation still verifies with the published keys.
    OfflineActivation::new(dir_a.path())
        .complete(
            answer_a["license"].as_str().expect("license"),
            &keys_now,
            OffsetDateTime::now_utc(),
        )
        .expect("the older file verifies");
    // A new file is signed by the new key, which the old key alone does not know.
    let dir_b = tempfile::tempdir().expect("dir");
    let request_b = request_in(dir_b.path(), "pc-b", OfflineTarget::Any, &b);
    let (status, answer_b) = accept(&b, &owner, &request_b).await;
    assert_eq!(status, 201);
    let old_only =
        OfflineKeys::parse(&[before["public_key"].as_str().expect("key")]).expect("parse");
    assert!(matches!(
        OfflineActivation::new(dir_b.path()).complete(
            answer_b["license"].as_str().expect("license"),
            &old_only,
            OffsetDateTime::now_utc()
        ),
        Err(OfflineError::UnknownKey(_))
    ));

    // Rotating needs the operator token.
    let res = b
        .call(Method::POST, "/v1/admin/offline-keys/rotate", &owner, None)
        .await;
    assert_eq!(res.status(), 401);
}
