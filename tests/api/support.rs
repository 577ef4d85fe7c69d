//! Support (issue 16): an operator looks an account up by id or email, through
//! `GET /v1/admin/accounts/{account}` and `seatbroker account show`.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_broker, TestBroker, OPERATOR_TOKEN};

async fn case(b: &TestBroker, who: &str, token: &str) -> (u16, Value) {
    let res = b
        .call(
            Method::GET,
            &format!("/v1/admin/accounts/{who}"),
            token,
            None,
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn support_finds_an_account_by_email_or_id_with_its_licenses_pools_devices_and_seats() {
    let b = spawn_broker().await;
    let (owner, pool) = b.owner_with_license("Prof@Uni.edu", 3).await;
    assert_eq!(b.take_seat(&owner, "office-pc").await.status(), 201);
    assert_eq!(b.take_seat(&owner, "laptop").await.status(), 201);
    let code = b.invite_code(&owner, &pool).await;
    let (member_id, member) = b.join_with_code("student@uni.edu", &code).await;
    assert_eq!(b.take_seat(&member, "dorm").await.status(), 201);

    // By email, whatever its case.
    let (status, prof) = case(&b, "prof@UNI.EDU", OPERATOR_TOKEN).await;
    assert_eq!(status, 200, "{prof}");
    assert_eq!(prof["account"]["email"], "Prof@Uni.edu");
    assert_eq!(prof["licenses"].as_array().map(Vec::len), Some(1));
    assert_eq!(prof["licenses"][0]["seats"], 3);
    assert_eq!(prof["pools"][0]["pool_id"], pool.as_str());
    assert_eq!(prof["pools"][0]["role"], "owner");
    assert_eq!(prof["seats"].as_array().map(Vec::len), Some(2));
    let devices: Vec<&str> = prof["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["device_id"].as_str())
        .collect();
    // Devices show as their fingerprints (issue 16, privacy), in the order of their seats.
    let mine: Value = b
        .call(Method::GET, "/v1/me/seats", &owner, None)
        .await
        .json()
        .await
        .expect("json");
    let prints: Vec<&str> = mine
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["device_fingerprint"].as_str())
        .collect();
    assert_eq!(devices, prints);
    assert!(!devices.contains(&"office-pc") && devices.len() == 2);

    // By id; a blocked member's standing shows.
    let res = b
        .call(
            Method::POST,
            &format!("/v1/pools/{pool}/members/{member_id}/block"),
            &owner,
            None,
        )
        .await;
    assert!(res.status().is_success());
    let (status, student) = case(&b, &member_id, OPERATOR_TOKEN).await;
    assert_eq!(status, 200, "{student}");
    assert_eq!(student["pools"][0]["role"], "member");
    assert_eq!(student["pools"][0]["status"], "blocked");
    assert_eq!(
        student["seats"].as_array().map(Vec::len),
        Some(0),
        "revoked (S10)"
    );
    assert_eq!(student["licenses"].as_array().map(Vec::len), Some(0));

    // Unknown accounts, and callers without the operator token.
    let (status, body) = case(&b, "nobody@uni.edu", OPERATOR_TOKEN).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = case(&b, "A-XYZ", OPERATOR_TOKEN).await;
    assert_eq!(status, 404);
    let (status, _) = case(&b, &member_id, &owner).await;
    assert_eq!(status, 401);

    // The command line prints the same case.
    let address = b.address.clone();
    let out = actix_rt::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
            .args(["account", "show", "prof@uni.edu", "--url", &address])
            .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(
        printed.contains("<Prof@Uni.edu>, email confirmed"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("{} windows seats 1", prints[0])),
        "{printed}"
    );
    assert!(printed.contains(&format!("{pool} owner")), "{printed}");
}

#[actix_rt::test]
async fn a_lost_laptop_is_deregistered_and_every_repair_is_audited() {
    let b = spawn_broker().await;
    let (owner, pool) = b.owner_with_license("dean@uni.edu", 4).await;
    let code = b.invite_code(&owner, &pool).await;
    let (student_id, student) = b.join_with_code("lost@uni.edu", &code).await;
    let laptop = b.take_seat(&student, "lost laptop").await;
    assert_eq!(laptop.status(), 201);
    let laptop: Value = laptop.json().await.expect("json");
    let desk = b.take_seat(&student, "desk").await;
    assert_eq!(desk.status(), 201);
    let desk: Value = desk.json().await.expect("json");

    let deregister = |who: String, device: &str| {
        let path = format!(
            "/v1/admin/accounts/{who}/devices/{}/deregister",
            device.replace(' ', "%20")
        );
        let b = &b;
        async move { b.call(Method::POST, &path, OPERATOR_TOKEN, None).await }
    };
    let res = deregister(student_id.clone(), "lost laptop").await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.expect("json");
    assert_eq!(done["released"], 1);
    assert_eq!(done["seats"][0]["seat_id"], laptop["seat_id"]);
    // The laptop hears why on its next heartbeat; the desk keeps its seat.
    let seat = laptop["seat_id"].as_str().expect("seat");
    let res = b
        .call(
            Method::POST,
            &format!("/v1/seats/{seat}/heartbeat"),
            &student,
            None,
        )
        .await;
    let (status, body) = crate::helpers::error(res).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["reason"], "revoked");
    let (_, case_now) = case(&b, &student_id, OPERATOR_TOKEN).await;
    assert_eq!(case_now["seats"].as_array().map(Vec::len), Some(1));

    // Support names a device by the fingerprint it sees (any case, dashes or not); a device
    // with nothing left answers 0; a bad device id is refused; no token, 401.
    let desk_print = desk["device_fingerprint"].as_str().expect("fingerprint");
    let res = deregister(student_id.clone(), &desk_print.to_uppercase()).await;
    let by_print: Value = res.json().await.expect("json");
    assert_eq!(by_print["released"], 1, "{by_print}");
    assert_eq!(by_print["seats"][0]["seat_id"], desk["seat_id"]);
    let laptop_print = laptop["device_fingerprint"].as_str().expect("fingerprint");
    let res = deregister(student_id.clone(), laptop_print).await;
    let again: Value = res.json().await.expect("json");
    assert_eq!(again["released"], 0);
    let res = b
        .call(
            Method::POST,
            &format!("/v1/admin/accounts/{student_id}/devices/%07/deregister"),
            OPERATOR_TOKEN,
            None,
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = b
        .call(
            Method::POST,
            &format!("/v1/admin/accounts/{student_id}/devices/desk/deregister"),
            &owner,
            None,
        )
        .await;
    assert_eq!(res.status(), 401);

    // Confirming an email by hand is audited too; the log reads oldest first.
    let res = b
        .call(
            Method::POST,
            &format!("/v1/admin/accounts/{student_id}/confirm-email"),
            OPERATOR_TOKEN,
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = b
        .call(Method::GET, "/v1/admin/audit", OPERATOR_TOKEN, None)
        .await;
    assert_eq!(res.status(), 200);
    let log: Value = res.json().await.expect("json");
    let entries = log["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "deregister_device",
            "deregister_device",
            "deregister_device",
            "confirm_email"
        ]
    );
    assert_eq!(entries[0]["actor"], "operator");
    assert_eq!(
        entries[0]["target"],
        format!("{student_id} {laptop_print}").as_str(),
        "the audit log names the device by its fingerprint"
    );
    assert_eq!(
        entries[0]["before"]["seats"][0]["seat_id"],
        laptop["seat_id"]
    );
    assert_eq!(entries[0]["after"]["seats"], serde_json::json!([]));
    assert_eq!(entries[3]["after"]["email_confirmed"], true);
    let log_text = log.to_string();
    assert!(!log_text.contains("lost laptop"), "{log_text}");
    let res = b
        .call(Method::GET, "/v1/admin/audit?limit=1", OPERATOR_TOKEN, None)
        .await;
    let first: Value = res.json().await.expect("json");
    assert_eq!(first["entries"].as_array().map(Vec::len), Some(1));
    let res = b
        .call(
            Method::GET,
            "/v1/admin/audit?since=2999-01-01T00:00:00Z",
            OPERATOR_TOKEN,
            None,
        )
        .await;
    let none: Value = res.json().await.expect("json");
    assert_eq!(none["entries"], serde_json::json!([]));
    let res = b
        .call(Method::GET, "/v1/admin/audit?limit=0", OPERATOR_TOKEN, None)
        .await;
    assert_eq!(res.status(), 422);
    let (status, body) = crate::helpers::error(
        b.call(
            Method::GET,
            "/v1/admin/audit?limit=many",
            OPERATOR_TOKEN,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_request"))
    );

    // The command line prints the log.
    let address = b.address.clone();
    let out = actix_rt::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
            .args(["audit", "--url", &address])
            .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(printed.lines().count(), 4, "{printed}");
    assert!(printed.contains("operator confirm_email"), "{printed}");
}
