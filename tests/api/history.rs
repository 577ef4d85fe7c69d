//! Issue 16: a pool's history of grants and refusals for a day, for its owner
//! (`GET /v1/pools/{pool}/history`) and for support (`GET /v1/admin/pools/{pool}/history`,
//! `seatbroker pool history`); devices by fingerprint; kept across a restart.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{error, BrokerProcess, TestBroker, OPERATOR_TOKEN};

async fn history(b: &TestBroker, path: &str, token: &str) -> (u16, Value) {
    let res = b.call(Method::GET, path, token, None).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// (kind, account, device, seat or code) of each event.
fn lines(h: &Value) -> Vec<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    h["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let what = if e["seat_id"].is_null() {
                text(&e["code"])
            } else {
                text(&e["seat_id"])
            };
            (
                text(&e["kind"]),
                text(&e["account_id"]),
                text(&e["device"]),
                what,
            )
        })
        .collect()
}

#[actix_rt::test]
async fn a_pools_day_lists_each_grant_and_refusal_and_survives_a_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut process = BrokerProcess::start(data.path());
    let b = TestBroker::at(&process.address);
    let (owner, pool) = b.owner_with_license("history-prof@uni.edu", 1).await;
    let code = b.invite_code(&owner, &pool).await;
    let (member_id, member) = b.join_with_code("history-stu@uni.edu", &code).await;

    let res = b.take_seat(&owner, "prof-workstation").await;
    assert_eq!(res.status(), 201);
    let granted: Value = res.json().await.expect("json");
    let prof_print = granted["device_fingerprint"]
        .as_str()
        .expect("print")
        .to_owned();
    let (status, refused) = error(b.take_seat(&member, "stu-laptop").await).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("no_seat_available"))
    );

    let path = format!("/v1/pools/{pool}/history");
    let (status, today) = history(&b, &path, &owner).await;
    assert_eq!(status, 200, "{today}");
    assert_eq!(today["pool_id"], pool.as_str());
    assert_eq!(
        (today["grants"].as_u64(), today["refusals"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(today["truncated"], false);
    let events = lines(&today);
    assert_eq!(events.len(), 2, "{today}");
    assert_eq!(events[0].0, "granted");
    assert_eq!(events[0].2, prof_print);
    assert_eq!(events[0].3, granted["seat_id"].as_str().expect("seat"));
    assert_eq!(
        (
            events[1].0.as_str(),
            events[1].1.as_str(),
            events[1].3.as_str()
        ),
        ("refused", member_id.as_str(), "no_seat_available")
    );
    assert_eq!(today["events"][1]["email"], "history-stu@uni.edu");
    assert_eq!(today["events"][1]["platform"], "windows");
    assert!(
        !today.to_string().contains("stu-laptop"),
        "devices show as fingerprints: {today}"
    );

    // Support reads the same through the operator API and the command line.
    let admin_path = format!("/v1/admin/pools/{pool}/history");
    let (status, by_support) = history(&b, &admin_path, OPERATOR_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(lines(&by_support), events);
    let address = b.address.clone();
    let pool_arg = pool.clone();
    let out = actix_rt::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
            .args(["pool", "history", &pool_arg, "--url", &address])
            .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("joined");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(printed.contains("1 granted, 1 refused"), "{printed}");
    assert!(
        printed.contains(&format!("refused {member_id} history-stu@uni.edu")),
        "{printed}"
    );

    // Another day, a bad day, a member, no token.
    let (status, before) = history(&b, &format!("{path}?day=2020-01-01"), &owner).await;
    assert_eq!(status, 200);
    assert_eq!(before["events"], serde_json::json!([]));
    assert_eq!(before["grants"], 0);
    let (status, bad) = history(&b, &format!("{path}?day=yesterday"), &owner).await;
    assert_eq!(status, 422, "{bad}");
    let (status, _) = history(&b, &path, &member).await;
    assert_eq!(status, 403);
    let (status, _) = history(&b, &admin_path, &owner).await;
    assert_eq!(status, 401);
    let (status, _) = history(&b, "/v1/admin/pools/P-000-000/history", OPERATOR_TOKEN).await;
    assert_eq!(status, 404);

    // A restart keeps the day: the events handed to the store come back once each.
    process.signal("TERM");
    assert_eq!(process.wait_exit(Duration::from_secs(10)), Some(0));
    let again = BrokerProcess::start(data.path());
    let b = TestBroker::at(&again.address);
    let (status, after) = history(&b, &admin_path, OPERATOR_TOKEN).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(lines(&after), events, "{after}");
    assert_eq!(
        (after["grants"].as_u64(), after["refusals"].as_u64()),
        (Some(1), Some(1))
    );
}
