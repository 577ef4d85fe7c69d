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
    assert_eq!(devices, ["office-pc", "laptop"]);

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
    assert!(printed.contains("office-pc windows seats 1"), "{printed}");
    assert!(printed.contains(&format!("{pool} owner")), "{printed}");
}
