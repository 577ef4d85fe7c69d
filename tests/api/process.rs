//! The real binary: exit codes, SIGTERM, and restarting on the same data directory.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::BrokerProcess;

#[test]
fn a_bad_setting_exits_2_naming_the_key_and_the_allowed_values() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_seatbroker"))
        .arg("serve")
        .env("SEATBROKER__STORAGE__PATH", data.path())
        .env("SEATBROKER__STORAGE__BACKEND", "postgres")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage.backend"), "{stderr}");
    assert!(stderr.contains("embedded, redis"), "{stderr}");
}

#[test]
fn sigterm_stops_the_broker_with_exit_0_within_10_s() {
    let data = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start(data.path());
    let health = reqwest::blocking_get(&format!("{}/healthz", broker.address));
    assert_eq!(health, 200);
    let asked = Instant::now();
    broker.signal("TERM");
    let code = broker.wait_exit(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(0),
        "exit 0 within 10 s (took {:?})",
        asked.elapsed()
    );
}

#[test]
fn the_broker_starts_again_on_the_same_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let mut first = BrokerProcess::start(data.path());
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));
    let second = BrokerProcess::start(data.path());
    assert_eq!(
        reqwest::blocking_get(&format!("{}/healthz", second.address)),
        200
    );
}

/// A tiny blocking GET for process tests (no async runtime here); returns the status.
mod reqwest {
    pub fn blocking_get(url: &str) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            ::reqwest::get(url)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }
}

#[actix_rt::test]
async fn accounts_tokens_licenses_and_held_seats_survive_a_restart() {
    use serde_json::{json, Value};
    let data = tempfile::tempdir().unwrap();
    let client = ::reqwest::Client::new();
    let mut first = BrokerProcess::start(data.path());
    let base = first.address.clone();
    let post = |url: String, token: Option<String>, body: Value| {
        let mut req = client.post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let ok = |res: ::reqwest::Response| async move {
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status}: {body}");
        body
    };
    ok(post(
        format!("{base}/v1/accounts"),
        None,
        json!({"email": "r@example.org", "password": "correct horse", "name": "R"}),
    )
    .await
    .unwrap())
    .await;
    let login = ok(post(
        format!("{base}/v1/auth/login"),
        None,
        json!({"email": "r@example.org", "password": "correct horse"}),
    )
    .await
    .unwrap())
    .await;
    let token = login["token"].as_str().unwrap().to_owned();
    let license = ok(post(
        format!("{base}/v1/operator/licenses"),
        Some(crate::helpers::OPERATOR_TOKEN.to_owned()),
        json!({"type": "commercial", "seats": 3}),
    )
    .await
    .unwrap())
    .await;
    ok(post(
        format!("{base}/v1/activations"),
        Some(token.clone()),
        json!({"code": license["key"]}),
    )
    .await
    .unwrap())
    .await;
    let seat = ok(post(
        format!("{base}/v1/seats"),
        Some(token.clone()),
        json!({"device_id": "pc", "platform": "windows"}),
    )
    .await
    .unwrap())
    .await;
    let seat_id = seat["seat_id"].as_str().unwrap().to_owned();
    // A member joins, so membership is part of what must survive.
    let pool_id = seat["pool_id"].as_str().unwrap().to_owned();
    let invite: Value =
        get_json(&client, format!("{base}/v1/pools/{pool_id}/invite"), &token).await;
    ok(post(
        format!("{base}/v1/accounts"),
        None,
        json!({"email": "m@example.org", "password": "correct horse", "name": "M"}),
    )
    .await
    .unwrap())
    .await;
    let member = ok(post(
        format!("{base}/v1/auth/login"),
        None,
        json!({"email": "m@example.org", "password": "correct horse"}),
    )
    .await
    .unwrap())
    .await;
    let member_token = member["token"].as_str().unwrap().to_owned();
    ok(post(
        format!("{base}/v1/activations"),
        Some(member_token),
        json!({"code": invite["code"]}),
    )
    .await
    .unwrap())
    .await;
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));

    let second = BrokerProcess::start(data.path());
    let base = second.address.clone();
    let hb = post(
        format!("{base}/v1/seats/{seat_id}/heartbeat"),
        Some(token.clone()),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(hb.status(), 200, "the token and the seat survived");
    let again = ok(post(
        format!("{base}/v1/seats"),
        Some(token.clone()),
        json!({"device_id": "pc", "platform": "windows"}),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(
        again["seat_id"].as_str(),
        Some(seat_id.as_str()),
        "S2 across a restart"
    );
    let pool = seat["pool_id"].as_str().unwrap();
    let view: Value = get_json(&client, format!("{base}/v1/pools/{pool}"), &token).await;
    assert_eq!(
        (view["capacity"].as_u64(), view["in_use"].as_u64()),
        (Some(3), Some(1))
    );
    let members: Value = get_json(&client, format!("{base}/v1/pools/{pool}/members"), &token).await;
    assert_eq!(members[0]["email"], "m@example.org", "the member survived");
}

/// GET `url` with a bearer token; the JSON answer.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &::reqwest::Client,
    url: String,
    token: &str,
) -> T {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the broker answers")
        .json()
        .await
        .expect("a JSON answer")
}

/// Sets up an owner with a license on a broker process; returns (token, pool id).
async fn owner_on(base: &str, email: &str, seats: u32) -> (String, String) {
    use serde_json::{json, Value};
    let client = ::reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    post(
        "/v1/accounts",
        None,
        json!({"email": email, "password": "correct horse", "name": "O"}),
    )
    .await
    .unwrap();
    let login: Value = post(
        "/v1/auth/login",
        None,
        json!({"email": email, "password": "correct horse"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let license: Value = post(
        "/v1/operator/licenses",
        Some(crate::helpers::OPERATOR_TOKEN),
        json!({"type": "commercial", "seats": seats}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let activated: Value = post(
        "/v1/activations",
        Some(&token),
        json!({"code": license["key"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    (token, activated["pool"]["id"].as_str().unwrap().to_owned())
}

#[actix_rt::test]
async fn sigterm_answers_waiting_requests_503_shutting_down() {
    use serde_json::json;
    let data = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start(data.path());
    let base = broker.address.clone();
    let (token, _) = owner_on(&base, "t@example.org", 1).await;
    let client = ::reqwest::Client::new();
    let seat = |device: &'static str, wait: u32| {
        client
            .post(format!("{base}/v1/seats"))
            .bearer_auth(&token)
            .json(&json!({"device_id": device, "platform": "web", "wait_s": wait}))
            .send()
    };
    // The one seat goes to a web session; a desktop then has to wait.
    assert_eq!(seat("browser", 0).await.unwrap().status(), 201);
    let waiter = {
        let client = client.clone();
        let url = format!("{base}/v1/seats");
        let token = token.clone();
        actix_rt::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"device_id": "pc", "platform": "windows", "wait_s": 60}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    broker.signal("TERM");
    let res = waiter
        .await
        .unwrap()
        .expect("the waiting request is answered");
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "shutting_down");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "answered at once, not after its wait"
    );
    assert_eq!(broker.wait_exit(Duration::from_secs(10)), Some(0));
}

/// A refusal needs no write, so its count is only in memory until the pool's next commit:
/// SIGTERM must commit it before the pool's actor (on an HTTP worker's arbiter) goes away.
#[actix_rt::test]
async fn w4_counts_not_yet_written_when_sigterm_arrives_survive_the_restart() {
    use serde_json::{json, Value};
    let data = tempfile::tempdir().unwrap();
    let mut first = BrokerProcess::start(data.path());
    let (token, pool) = owner_on(&first.address, "w4@example.org", 1).await;
    let client = ::reqwest::Client::new();
    let take = |base: &str, device: &str, platform: &str| {
        client
            .post(format!("{base}/v1/seats"))
            .bearer_auth(&token)
            .json(&json!({"device_id": device, "platform": platform}))
            .send()
    };
    // S9: the owner's two desktops share the one seat; a third desktop finds none.
    for (device, platform) in [("pc", "windows"), ("mac", "mac")] {
        let res = take(&first.address, device, platform).await.unwrap();
        assert_eq!(res.status(), 201);
    }
    for device in ["pc-2", "pc-3", "pc-4"] {
        let refused = take(&first.address, device, "windows").await.unwrap();
        assert_eq!(refused.status(), 409, "one seat, and it is taken");
    }
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));
    let second = BrokerProcess::start(data.path());
    let rows: Vec<Value> = get_json(
        &client,
        format!("{}/v1/pools/{pool}/usage", second.address),
        &token,
    )
    .await;
    let total = |key: &str| rows.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
    assert!(total("grants") >= 1, "{rows:?}");
    assert_eq!(total("refusals"), 3, "{rows:?}");
}

#[actix_rt::test]
async fn s4_a_seat_that_timed_out_while_the_broker_was_down_is_freed_at_start() {
    use serde_json::{json, Value};
    let data = tempfile::tempdir().unwrap();
    let mut first = BrokerProcess::start(data.path());
    let base = first.address.clone();
    let (token, pool) = owner_on(&base, "s4@example.org", 1).await;
    let client = ::reqwest::Client::new();
    let res = client
        .patch(format!("{base}/v1/pools/{pool}"))
        .bearer_auth(&token)
        .json(&json!({"timeout_s": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seat: Value = client
        .post(format!("{base}/v1/seats"))
        .bearer_auth(&token)
        .json(&json!({"device_id": "pc", "platform": "web"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = seat["seat_id"].as_str().unwrap().to_owned();
    first.signal("KILL");
    first.wait_exit(Duration::from_secs(10));
    // Down for longer than the timeout (and its tenth of grace).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let second = BrokerProcess::start(data.path());
    let base = second.address.clone();
    let res = client
        .post(format!("{base}/v1/seats/{id}/heartbeat"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["reason"], "expired");
}

#[actix_rt::test]
async fn s1_kill_9_during_churn_keeps_every_acknowledged_seat_and_the_capacity() {
    use serde_json::{json, Value};
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    let data = tempfile::tempdir().unwrap();
    let mut first = BrokerProcess::start(data.path());
    let base = first.address.clone();
    let (owner, pool) = owner_on(&base, "churn@example.org", 20).await;
    let client = ::reqwest::Client::new();
    let code: Value = get_json(&client, format!("{base}/v1/pools/{pool}/invite"), &owner).await;
    let mut tokens = Vec::new();
    for i in 0..50 {
        let email = format!("c{i}@example.org");
        client
            .post(format!("{base}/v1/accounts"))
            .json(&json!({"email": email, "password": "correct horse", "name": "C"}))
            .send()
            .await
            .unwrap();
        let login: Value = client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": email, "password": "correct horse"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_owned();
        client
            .post(format!("{base}/v1/activations"))
            .bearer_auth(&token)
            .json(&json!({"code": code["code"]}))
            .send()
            .await
            .unwrap();
        tokens.push(token);
    }
    // Ten clients take a seat and keep it; forty take one and give it back in a loop. A seat
    // whose grant was answered and whose release was never sent must survive; one whose
    // release was in flight at the kill may have gone either way, so it is taken out of the
    // record before the release is sent.
    let held: Arc<Mutex<HashSet<String>>> = Arc::default();
    for token in &tokens[..10] {
        let res = client
            .post(format!("{base}/v1/seats"))
            .bearer_auth(token)
            .json(&json!({"device_id": "pc", "platform": "windows"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let seat: Value = res.json().await.unwrap();
        held.lock()
            .unwrap()
            .insert(seat["seat_id"].as_str().unwrap().to_owned());
    }
    let mut tasks = Vec::new();
    for token in tokens.split_off(10) {
        let client = client.clone();
        let base = base.clone();
        let held = held.clone();
        tasks.push(actix_rt::spawn(async move {
            for _ in 0..1_000 {
                let Ok(res) = client
                    .post(format!("{base}/v1/seats"))
                    .bearer_auth(&token)
                    .json(&json!({"device_id": "pc", "platform": "windows"}))
                    .send()
                    .await
                else {
                    return;
                };
                if res.status() != 201 && res.status() != 200 {
                    continue;
                }
                let Ok(seat) = res.json::<Value>().await else {
                    return;
                };
                let id = seat["seat_id"].as_str().unwrap_or_default().to_owned();
                held.lock().unwrap().insert(id.clone());
                tokio::time::sleep(Duration::from_millis(2)).await;
                held.lock().unwrap().remove(&id);
                if client
                    .delete(format!("{base}/v1/seats/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    first.signal("KILL");
    // The clients run on this thread: nothing runs between the kill and this read.
    let acknowledged = held.lock().unwrap().clone();
    first.wait_exit(Duration::from_secs(10));
    for task in tasks {
        let _ = task.await;
    }
    assert!(acknowledged.len() >= 10, "the ten holders' seats at least");
    let second = BrokerProcess::start(data.path());
    let base = second.address.clone();
    let seats: Value = get_json(&client, format!("{base}/v1/pools/{pool}/seats"), &owner).await;
    let present: HashSet<String> = seats
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seat_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        present.len() <= 20,
        "S1: {} seats held on 20",
        present.len()
    );
    let missing: Vec<&String> = acknowledged.difference(&present).collect();
    assert!(missing.is_empty(), "acknowledged seats lost: {missing:?}");
}

#[test]
fn l7_license_issue_prints_a_key_through_a_running_broker() {
    let data = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(data.path());
    let run = |token: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_seatbroker"))
            .args(["license", "issue", "--url", &broker.address])
            .args(extra)
            .env("SEATBROKER__OPERATOR__TOKEN", token)
            .output()
            .expect("the binary runs")
    };
    let out = run(
        crate::helpers::OPERATOR_TOKEN,
        &[
            "--type",
            "educational",
            "--seats",
            "15",
            "--expires",
            "2099-07-31",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("R-") && key.len() == 25, "{key:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2099-07-31T23:59:59Z"));

    let out = run(
        "a-wrong-operator-token",
        &["--type", "educational", "--seats", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthenticated"));
    let out = run(
        crate::helpers::OPERATOR_TOKEN,
        &["--type", "student", "--seats", "3"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_license"));
    let out = run(
        crate::helpers::OPERATOR_TOKEN,
        &["--type", "pirate", "--seats", "1"],
    );
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown type");
}

#[actix_rt::test]
async fn a2_logs_never_contain_passwords_or_tokens() {
    use serde_json::{json, Value};
    let data = tempfile::tempdir().unwrap();
    let mut broker =
        BrokerProcess::start_with(data.path(), &[("SEATBROKER__LOG__FILTER", "debug")]);
    let base = broker.address.clone();
    let (token, _) = owner_on(&base, "secret@example.org", 1).await;
    let client = ::reqwest::Client::new();
    let wrong = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "secret@example.org", "password": "wrong horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let seat: Value = client
        .post(format!("{base}/v1/seats"))
        .bearer_auth(&token)
        .json(&json!({"device_id": "pc", "platform": "windows"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(seat["seat_id"].is_string());
    broker.signal("TERM");
    assert_eq!(broker.wait_exit(Duration::from_secs(10)), Some(0));
    let log = broker.log.lock().unwrap().join("\n");
    assert!(
        log.contains("\"route\""),
        "requests were logged at debug level: {log}"
    );
    for secret in [
        "correct horse",
        "wrong horse battery",
        token.as_str(),
        crate::helpers::OPERATOR_TOKEN,
    ] {
        assert!(!log.contains(secret), "the log holds a secret: {secret}");
    }
}
