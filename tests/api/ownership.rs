//! Issue 16, support's ownership changes through the operator API and the CLI: a whole pool
//! or one license moves to another account (capacity with it, S10 draining the giver's
//! pool, the members along), types never mix, and accounts are deleted (refused while they
//! hold licenses unless `transfer_to` takes them), each written to the audit log.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker, TestBroker, OPERATOR_TOKEN};

async fn body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn transfer(b: &TestBroker, from: &str, request: Value) -> (u16, Value) {
    body(
        b.call(
            Method::POST,
            &format!("/v1/admin/accounts/{from}/transfer"),
            OPERATOR_TOKEN,
            Some(request),
        )
        .await,
    )
    .await
}

async fn delete(b: &TestBroker, account: &str, query: &str) -> (u16, Value) {
    body(
        b.call(
            Method::DELETE,
            &format!("/v1/admin/accounts/{account}{query}"),
            OPERATOR_TOKEN,
            None,
        )
        .await,
    )
    .await
}

/// The pool `token`'s account may see, as JSON.
async fn pool(b: &TestBroker, token: &str, pool: &str) -> Value {
    let res = b
        .call(Method::GET, &format!("/v1/pools/{pool}"), token, None)
        .await;
    assert_eq!(res.status(), 200, "GET /v1/pools/{pool}");
    res.json().await.expect("json")
}

/// The account's own pool id, from support's view of it.
async fn own_pool(b: &TestBroker, who: &str) -> String {
    let (_, case) = body(
        b.call(
            Method::GET,
            &format!("/v1/admin/accounts/{who}"),
            OPERATOR_TOKEN,
            None,
        )
        .await,
    )
    .await;
    case["pools"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["role"] == "owner"))
        .and_then(|p| p["pool_id"].as_str())
        .expect("an own pool")
        .to_owned()
}

async fn activate(b: &TestBroker, token: &str, key: &str) {
    let res = b
        .call(
            Method::POST,
            "/v1/activations",
            token,
            Some(json!({ "code": key })),
        )
        .await;
    assert_eq!(res.status(), 201, "activated {key}");
}

async fn seat(b: &TestBroker, token: &str, device: &str) -> Value {
    let res = b.take_seat(token, device).await;
    assert_eq!(res.status(), 201, "a seat for {device}");
    res.json().await.expect("json")
}

async fn audit_actions(b: &TestBroker) -> Vec<String> {
    let (_, log) = body(
        b.call(Method::GET, "/v1/admin/audit", OPERATOR_TOKEN, None)
            .await,
    )
    .await;
    log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

#[actix_rt::test]
async fn s10_a_whole_pool_moves_with_its_members_and_the_old_pool_drains() {
    let b = spawn_broker().await;
    let (old_owner, old_pool) = b.owner_with_license("leaving-prof@uni.edu", 3).await;
    let code = b.invite_code(&old_owner, &old_pool).await;
    let (student_id, student) = b.join_with_code("stu@uni.edu", &code).await;
    let (blocked_id, _) = b.join_with_code("blocked@uni.edu", &code).await;
    let res = b
        .call(
            Method::POST,
            &format!("/v1/pools/{old_pool}/members/{blocked_id}/block"),
            &old_owner,
            None,
        )
        .await;
    assert!(res.status().is_success());
    let held = seat(&b, &student, "stu-laptop").await;
    b.create_account("new-prof@uni.edu", "correct horse").await;
    let new_owner = b.login("new-prof@uni.edu", "correct horse").await;

    let (status, moved) = transfer(
        &b,
        "leaving-prof@uni.edu",
        json!({"to": "new-prof@uni.edu"}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["licenses"].as_array().map(Vec::len), Some(1));
    assert_eq!(moved["members_moved"], 2);

    // S10: the old pool has no capacity left; the student's seat there went.
    let old = pool(&b, &old_owner, &old_pool).await;
    assert_eq!(old["capacity"], 0, "{old}");
    let seat_id = held["seat_id"].as_str().expect("seat id");
    let (status, gone) = error(
        b.call(
            Method::POST,
            &format!("/v1/seats/{seat_id}/heartbeat"),
            &student,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["reason"], "capacity_reduced");

    // The capacity is the new owner's, whose own seats come first (S8); the student is a
    // member there now, and the blocked member is still blocked.
    let new_pool = own_pool(&b, "new-prof@uni.edu").await;
    let new = pool(&b, &new_owner, &new_pool).await;
    assert_eq!(new["capacity"], 3, "{new}");
    let own = seat(&b, &new_owner, "new-prof-pc").await;
    assert_eq!(own["pool_id"], new_pool.as_str());
    let again = seat(&b, &student, "stu-laptop").await;
    assert_eq!(again["pool_id"], new_pool.as_str());
    let (_, members) = body(
        b.call(
            Method::GET,
            &format!("/v1/pools/{new_pool}/members"),
            &new_owner,
            None,
        )
        .await,
    )
    .await;
    let standing: Vec<(&str, &str)> = members
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["account_id"].as_str().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        standing.contains(&(student_id.as_str(), "active")),
        "{members}"
    );
    assert!(
        standing.contains(&(blocked_id.as_str(), "blocked")),
        "{members}"
    );
    assert_eq!(audit_actions(&b).await, ["transfer_pool"]);

    // The old invite URL opens nothing any more.
    b.create_account("late@uni.edu", "correct horse").await;
    let late = b.login("late@uni.edu", "correct horse").await;
    let (status, refused) = error(
        b.call(
            Method::POST,
            "/v1/activations",
            &late,
            Some(json!({ "code": code })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (404, Some("unknown_code"))
    );
    // The emptied pool takes the next license's type (L5 has nothing left to mix with).
    let commercial = b.issue_license("commercial", 2).await;
    activate(&b, &old_owner, &commercial).await;
    let old = pool(&b, &old_owner, &old_pool).await;
    assert_eq!(
        (old["capacity"].as_u64(), old["type"].as_str()),
        (Some(2), Some("commercial"))
    );
}

#[actix_rt::test]
async fn l5_one_license_moves_and_types_never_mix() {
    let b = spawn_broker().await;
    let (giver, giver_pool) = b.owner_with_license("two-licenses@uni.edu", 5).await;
    let second = b.issue_license("educational", 2).await;
    activate(&b, &giver, &second).await;
    assert_eq!(pool(&b, &giver, &giver_pool).await["capacity"], 7);
    b.create_account("taker@uni.edu", "correct horse").await;
    let taker = b.login("taker@uni.edu", "correct horse").await;

    let (status, moved) = transfer(
        &b,
        "two-licenses@uni.edu",
        json!({"to": "taker@uni.edu", "license": second}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["licenses"][0]["key"], second.as_str());
    assert_eq!(moved["members_moved"], 0);
    assert_eq!(pool(&b, &giver, &giver_pool).await["capacity"], 5);
    let taker_pool = own_pool(&b, "taker@uni.edu").await;
    assert_eq!(pool(&b, &taker, &taker_pool).await["capacity"], 2);

    // A commercial pool takes no educational license.
    let company_key = b.issue_license("commercial", 4).await;
    b.create_account("corp-admin@corp.com", "correct horse")
        .await;
    let corp = b.login("corp-admin@corp.com", "correct horse").await;
    activate(&b, &corp, &company_key).await;
    let (status, refused) = transfer(
        &b,
        "two-licenses@uni.edu",
        json!({"to": "corp-admin@corp.com"}),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "license_type_mismatch");
    assert_eq!(
        pool(&b, &giver, &giver_pool).await["capacity"],
        5,
        "nothing moved"
    );

    // To itself, a license it does not hold, a malformed key, no operator token.
    let (status, _) = transfer(&b, "taker@uni.edu", json!({"to": "taker@uni.edu"})).await;
    assert_eq!(status, 422);
    let (status, refused) = transfer(
        &b,
        "taker@uni.edu",
        json!({"to": "two-licenses@uni.edu", "license": company_key}),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = transfer(
        &b,
        "taker@uni.edu",
        json!({"to": "two-licenses@uni.edu", "license": "not-a-key"}),
    )
    .await;
    assert_eq!(status, 422);
    let res = b
        .call(
            Method::POST,
            "/v1/admin/accounts/taker@uni.edu/transfer",
            &taker,
            Some(json!({"to": "two-licenses@uni.edu"})),
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(audit_actions(&b).await, ["transfer_license"]);
}

#[actix_rt::test]
async fn an_account_is_deleted_only_once_its_licenses_have_a_new_holder() {
    let b = spawn_broker().await;
    let (owner, owner_pool) = b.owner_with_license("retiring@uni.edu", 2).await;
    let code = b.invite_code(&owner, &owner_pool).await;
    let (member_id, member) = b.join_with_code("member@uni.edu", &code).await;
    seat(&b, &member, "member-pc").await;
    let successor_id = b.create_account("successor@uni.edu", "correct horse").await;

    let (status, refused) = delete(&b, "retiring@uni.edu", "").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "account_owns_licenses");
    assert_eq!(refused["error"]["licenses"], 1);
    let (status, _) = delete(&b, "nobody@uni.edu", "").await;
    assert_eq!(status, 404);

    let (status, done) = delete(&b, "retiring@uni.edu", "?transfer_to=successor@uni.edu").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["transferred"]["to"], successor_id.as_str());
    assert_eq!(done["transferred"]["members_moved"], 1);
    // The deleted account's token and login are gone; its email is free again.
    let res = b.call(Method::GET, "/v1/me/seats", &owner, None).await;
    assert_eq!(res.status(), 401);
    let res = b
        .post(
            "/v1/auth/login",
            &json!({"email": "retiring@uni.edu", "password": "correct horse"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    b.create_account("retiring@uni.edu", "correct horse").await;

    // A member without licenses is deleted at once: its seat goes, its membership ends.
    // (Its seat in the old pool went with the transfer, S10; it took one in the new pool.)
    let held = seat(&b, &member, "member-pc").await;
    let (status, done) = delete(&b, &member_id, "").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["seats_released"], 1);
    assert_eq!(done["memberships_ended"], 1);
    assert_eq!(done["transferred"], Value::Null);
    let seat_id = held["seat_id"].as_str().expect("seat id");
    let successor = b.login("successor@uni.edu", "correct horse").await;
    let successor_pool = own_pool(&b, "successor@uni.edu").await;
    let now = pool(&b, &successor, &successor_pool).await;
    assert_eq!(now["in_use"], 0, "{now} (the member's seat {seat_id} went)");
    let (_, members) = body(
        b.call(
            Method::GET,
            &format!("/v1/pools/{successor_pool}/members"),
            &successor,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(members, json!([]));
    assert_eq!(
        audit_actions(&b).await,
        ["transfer_pool", "delete_account", "delete_account"]
    );

    // The command line: --help for each action, and a deletion through it.
    let address = b.address.clone();
    let out = actix_rt::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"))
                .args(args)
                .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
                .output()
                .expect("the binary runs")
        };
        let transfer_help = run(&["account", "transfer", "--help"]);
        let delete_help = run(&["account", "delete", "--help"]);
        let deleted = run(&["account", "delete", "retiring@uni.edu", "--url", &address]);
        (transfer_help, delete_help, deleted)
    })
    .await
    .expect("joined");
    let (transfer_help, delete_help, deleted) = out;
    assert!(String::from_utf8_lossy(&transfer_help.stdout).contains("--license"));
    assert!(String::from_utf8_lossy(&delete_help.stdout).contains("--transfer-to"));
    let printed = String::from_utf8_lossy(&deleted.stdout);
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(printed.contains("deleted: 0 seat(s) released"), "{printed}");
}
