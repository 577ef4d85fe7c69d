//! `/metrics` after real traffic: the metric families of the contract exist with their types,
//! their values follow what happened (grants, reuse, refusals, heartbeats, an expiry, a
//! revocation, failed logins and a lockout, HTTP routes as templates), per-pool series are
//! bounded, and the output passes `promtool check metrics` where promtool is installed.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_broker_timed, spawn_broker_with, MovableClock, TestBroker};

/// The scraped text: each sample line (`name{labels} value`) and each `# TYPE` line.
struct Scrape {
    text: String,
    samples: HashMap<String, f64>,
}

impl Scrape {
    async fn of(broker: &TestBroker) -> Scrape {
        let res = broker.get("/metrics").await;
        assert_eq!(res.status(), 200);
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain"), "{kind}");
        let text = res.text().await.unwrap();
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                Some((series.to_owned(), value.parse().ok()?))
            })
            .collect();
        Scrape { text, samples }
    }

    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in\n{}", self.text))
    }

    fn kind(&self, family: &str) -> &str {
        let prefix = format!("# TYPE {family} ");
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no family {family}"))
    }
}

#[actix_rt::test]
async fn metrics_follow_real_traffic_with_their_names_and_types() {
    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(
        &[("SEATBROKER__AUTH__LOCKOUT_THRESHOLD", "2")],
        clock.clone(),
    )
    .await;
    let (owner, pool) = b.owner_with_license("own@example.org", 1).await;
    let code = b.invite_code(&owner, &pool).await;
    let (_, ann) = b.join_with_code("ann@example.org", &code).await;
    let (_, bob) = b.join_with_code("bob@example.org", &code).await;

    // Two grants, one reuse, one refusal, two heartbeats, a revocation and an expiry.
    let seat: serde_json::Value = b.take_seat(&ann, "laptop").await.json().await.unwrap();
    let seat = seat["seat_id"].as_str().unwrap().to_owned();
    assert_eq!(b.take_seat(&ann, "laptop").await.status(), 200);
    assert_eq!(b.take_seat(&bob, "desk").await.status(), 409);
    for _ in 0..2 {
        let res = b
            .call(
                Method::POST,
                &format!("/v1/seats/{seat}/heartbeat"),
                &ann,
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    b.release_seat(&owner, &pool, &seat).await;
    b.set_timeout(&owner, &pool, 60).await;
    assert_eq!(b.take_seat(&bob, "desk").await.status(), 201);
    clock.advance_secs(120);
    // Bob's seat timed out; the next request to the pool finds it expired.
    assert_eq!(b.take_seat(&ann, "laptop").await.status(), 201);

    // Two failed logins: the second starts a lockout.
    for _ in 0..2 {
        let res = b
            .post(
                "/v1/auth/login",
                &json!({"email": "ann@example.org", "password": "wrong password"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }

    let m = Scrape::of(&b).await;
    let pool_label = format!("pool=\"{pool}\"");
    for (family, kind) in [
        ("seatbroker_pool_capacity", "gauge"),
        ("seatbroker_pool_seats_in_use", "gauge"),
        ("seatbroker_pool_queue_length", "gauge"),
        ("seatbroker_seat_requests_total", "counter"),
        ("seatbroker_seat_request_duration_seconds", "histogram"),
        ("seatbroker_heartbeats_total", "counter"),
        ("seatbroker_seats_expired_total", "counter"),
        ("seatbroker_seats_revoked_total", "counter"),
        ("seatbroker_store_commit_duration_seconds", "histogram"),
        ("seatbroker_store_batch_size", "histogram"),
        ("seatbroker_store_checkpoint_duration_seconds", "histogram"),
        ("seatbroker_store_errors_total", "counter"),
        ("seatbroker_http_requests_total", "counter"),
        ("seatbroker_http_request_duration_seconds", "histogram"),
        ("seatbroker_login_failures_total", "counter"),
        ("seatbroker_lockouts_total", "counter"),
        ("seatbroker_actor_mailbox_full_total", "counter"),
        ("seatbroker_pool_actors", "gauge"),
    ] {
        assert_eq!(m.kind(family), kind, "{family}");
    }
    assert_eq!(
        m.value(&format!("seatbroker_pool_capacity{{{pool_label}}}")),
        1.0
    );
    assert_eq!(
        m.value(&format!("seatbroker_pool_seats_in_use{{{pool_label}}}")),
        1.0
    );
    assert_eq!(
        m.value(&format!("seatbroker_pool_queue_length{{{pool_label}}}")),
        0.0
    );
    let requests = |outcome: &str, reason: &str| {
        m.value(&format!(
            "seatbroker_seat_requests_total{{outcome=\"{outcome}\",reason=\"{reason}\"}}"
        ))
    };
    assert_eq!(requests("granted", ""), 3.0);
    assert_eq!(requests("reused", ""), 1.0);
    assert_eq!(requests("refused", "no_seat_available"), 1.0);
    assert_eq!(requests("queued", ""), 0.0);
    assert_eq!(
        m.value("seatbroker_seat_request_duration_seconds_count"),
        5.0
    );
    assert_eq!(m.value("seatbroker_heartbeats_total"), 2.0);
    assert_eq!(m.value("seatbroker_seats_expired_total"), 1.0);
    assert_eq!(
        m.value("seatbroker_seats_revoked_total{reason=\"revoked\"}"),
        1.0
    );
    assert_eq!(
        m.value("seatbroker_seats_revoked_total{reason=\"member_blocked\"}"),
        0.0
    );
    assert_eq!(m.value("seatbroker_login_failures_total"), 2.0);
    assert_eq!(m.value("seatbroker_lockouts_total"), 1.0);
    assert_eq!(m.value("seatbroker_store_errors_total"), 0.0);
    assert!(m.value("seatbroker_store_commit_duration_seconds_count") >= 4.0);
    assert!(m.value("seatbroker_store_batch_size_count") >= 4.0);
    assert!(m.value("seatbroker_pool_actors") >= 1.0);
    let route = |route: &str, method: &str, status: u16| {
        m.value(&format!(
            "seatbroker_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(route("/v1/seats", "POST", 201), 3.0);
    assert_eq!(route("/v1/seats/{seat}/heartbeat", "POST", 200), 2.0);
    assert_eq!(route("/v1/auth/login", "POST", 401), 2.0);
    assert!(
        !m.text.contains(&seat),
        "routes are templates, never raw paths"
    );
    assert!(m.value("seatbroker_http_request_duration_seconds_count{route=\"/v1/seats\"}") >= 5.0);

    // promtool, where installed (the test command installs Debian's prometheus package).
    if let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(m.text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[actix_rt::test]
async fn per_pool_series_are_bounded_and_the_rest_summed_as_other() {
    let b = spawn_broker_with(&[("SEATBROKER__METRICS__MAX_POOL_SERIES", "2")]).await;
    let mut pools = Vec::new();
    for (i, seats) in [3u32, 5, 7].iter().enumerate() {
        let (owner, pool) = b
            .owner_with_license(&format!("o{i}@example.org"), *seats)
            .await;
        // Every pool holds one desktop seat of its owner, so it is loaded.
        assert_eq!(b.take_seat(&owner, "pc").await.status(), 201);
        pools.push(pool);
    }
    let m = Scrape::of(&b).await;
    let capacity_series: Vec<&String> = m
        .samples
        .keys()
        .filter(|k| k.starts_with("seatbroker_pool_capacity{"))
        .collect();
    assert_eq!(
        capacity_series.len(),
        3,
        "two pools and _other: {capacity_series:?}"
    );
    let total: f64 = capacity_series.iter().map(|k| m.samples[*k]).sum();
    assert_eq!(total, 15.0, "nothing is lost in the sum");
    assert!(m
        .samples
        .contains_key("seatbroker_pool_capacity{pool=\"_other\"}"));
}
