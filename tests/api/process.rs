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
    let view: Value = client
        .get(format!("{base}/v1/pools/{pool}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (view["capacity"].as_u64(), view["in_use"].as_u64()),
        (Some(3), Some(1))
    );
}
