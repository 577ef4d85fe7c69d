//! W4 through `GET /v1/pools/{pool}/usage`: a simulated day of traffic on a clock the test
//! moves gives the right peaks and counts per hour and per day, and bad queries get 422.

use std::sync::Arc;

use reqwest::Method;
use seatbroker_actors::time::{DAY_MS, HOUR_MS};
use seatbroker_actors::{Clock, Timestamp};
use serde_json::Value;

use crate::helpers::{error, spawn_broker_timed, MovableClock};

async fn seat_of(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 201);
    let seat: Value = res.json().await.unwrap();
    seat["seat_id"].as_str().unwrap().to_owned()
}

fn at(t: Timestamp) -> String {
    seatbroker::domain::time::format(t)
}

#[actix_rt::test]
async fn w4_a_simulated_day_gives_the_right_peaks_and_counts_per_hour_and_per_day() {
    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(&[], clock.clone()).await;
    let (owner, pool) = b.owner_with_license("own@example.org", 3).await;
    let code = b.invite_code(&owner, &pool).await;
    let mut m = Vec::new();
    for i in 0..4 {
        m.push(
            b.join_with_code(&format!("m{i}@example.org"), &code)
                .await
                .1,
        );
    }
    // The day starts: one minute into the next UTC day.
    let now = clock.now();
    clock.advance_secs((now.day_start().as_millis() + DAY_MS - now.as_millis()) / 1_000 + 60);
    let day = clock.now().day_start();
    let hour = |h: u64| day.plus_millis(h * HOUR_MS);

    // Hour 0: three seats taken (the peak), one request refused, one seat given back.
    let s0 = seat_of(b.take_seat(&m[0], "pc").await).await;
    let _s1 = seat_of(b.take_seat(&m[1], "pc").await).await;
    let s2 = seat_of(b.take_seat(&m[2], "pc").await).await;
    assert_eq!(b.take_seat(&m[3], "pc").await.status(), 409);
    let res = b
        .call(Method::POST, &format!("/v1/seats/{s0}/close"), &m[0], None)
        .await;
    assert_eq!(res.status(), 204);

    // Hour 1: a fourth member takes the free seat, the owner takes one back, and with a
    // one-minute timeout the two left stop sending heartbeats and expire.
    clock.advance_secs(3_600);
    let s3 = seat_of(b.take_seat(&m[3], "pc").await).await;
    b.release_seat(&owner, &pool, &_s1).await;
    b.set_timeout(&owner, &pool, 60).await;
    for (seat, token) in [(&s2, &m[2]), (&s3, &m[3])] {
        let res = b
            .call(
                Method::POST,
                &format!("/v1/seats/{seat}/heartbeat"),
                token,
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    // Hour 3: nothing happened in hour 2.
    clock.advance_secs(2 * 3_600);

    let usage = |query: String| {
        let b = &b;
        let owner = &owner;
        let pool = &pool;
        async move {
            let res = b
                .call(
                    Method::GET,
                    &format!("/v1/pools/{pool}/usage?{query}"),
                    owner,
                    None,
                )
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let hours = usage(format!(
        "bucket=hour&from={}&to={}",
        at(hour(0)),
        at(hour(4))
    ))
    .await;
    assert_eq!(hours.len(), 4, "{hours:?}");
    let counts = |row: &Value| {
        [
            "peak_in_use",
            "capacity",
            "grants",
            "releases",
            "refusals",
            "expirations",
            "revocations",
            "distinct_accounts",
        ]
        .map(|k| row[k].as_u64().unwrap_or(u64::MAX))
    };
    assert_eq!(hours[0]["start"], at(hour(0)));
    assert_eq!(counts(&hours[0]), [3, 3, 3, 1, 1, 0, 0, 3], "hour 0");
    assert_eq!(counts(&hours[1]), [3, 3, 1, 0, 0, 2, 1, 3], "hour 1");
    assert_eq!(
        counts(&hours[2]),
        [0, 3, 0, 0, 0, 0, 0, 0],
        "hour 2: nothing"
    );
    assert_eq!(counts(&hours[3]), [0, 3, 0, 0, 0, 0, 0, 0], "hour 3");

    let days = usage(format!(
        "bucket=day&from={}&to={}",
        at(day),
        at(day.plus_millis(DAY_MS))
    ))
    .await;
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["start"], at(day));
    assert_eq!(
        counts(&days[0]),
        [3, 3, 4, 1, 1, 2, 1, 4],
        "a day sums its hours, takes the highest peak, counts each account once"
    );
    // A date means the start of that day.
    let by_date = usage(format!("from={}", &at(day)[..10])).await;
    assert_eq!(by_date.len(), 1);
    assert_eq!(counts(&by_date[0]), counts(&days[0]));
}

#[actix_rt::test]
async fn w4_a_usage_query_out_of_range_is_invalid_and_members_may_not_read_it() {
    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(&[], clock).await;
    let (owner, pool) = b.owner_with_license("own@example.org", 3).await;
    for (query, field) in [
        ("bucket=week", "bucket"),
        ("from=yesterday", "from"),
        ("from=2030-01-02&to=2030-01-01", "from"),
        ("from=2020-01-01&to=2030-01-01", "from"),
    ] {
        let res = b
            .call(
                Method::GET,
                &format!("/v1/pools/{pool}/usage?{query}"),
                &owner,
                None,
            )
            .await;
        let (status, err) = error(res).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("invalid_value")),
            "{query}"
        );
        assert_eq!(err["field"], field, "{query}");
    }
    let code = b.invite_code(&owner, &pool).await;
    let (_, member) = b.join_with_code("m@example.org", &code).await;
    let res = b
        .call(
            Method::GET,
            &format!("/v1/pools/{pool}/usage"),
            &member,
            None,
        )
        .await;
    assert_eq!(error(res).await.1["code"], "not_owner");
}

#[actix_rt::test]
async fn w4_seatbroker_report_prints_the_report_and_draws_the_chart() {
    let b = crate::helpers::spawn_broker().await;
    let (owner, pool) = b.owner_with_license("own@example.org", 3).await;
    let code = b.invite_code(&owner, &pool).await;
    let (_, member) = b.join_with_code("m@example.org", &code).await;
    seat_of(b.take_seat(&member, "pc").await).await;
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("usage.svg");
    let run = |args: Vec<String>, token: Option<String>| {
        actix_rt::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_seatbroker"));
            cmd.arg("report").args(args).env_remove("SEATBROKER_TOKEN");
            if let Some(token) = token {
                cmd.env("SEATBROKER_TOKEN", token);
            }
            cmd.output().expect("the binary runs")
        })
    };
    let args = |format: &str| {
        vec![
            "--pool".into(),
            pool.clone(),
            "--url".into(),
            b.address.clone(),
            "--bucket".into(),
            "hour".into(),
            "--format".into(),
            format.into(),
            "--chart".into(),
            svg.display().to_string(),
        ]
    };
    let out = run(args("csv"), Some(owner.clone())).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("start,peak_in_use,capacity,grants"));
    // The default: the 24 hours before now, from the hour holding their start.
    assert_eq!(lines.len(), 26, "a header and 25 hours: {csv}");
    let last: Vec<&str> = lines[25].split(',').collect();
    assert_eq!(
        &last[1..4],
        ["1", "3", "1"],
        "the hour now: peak 1 of 3, one grant"
    );
    let chart = std::fs::read_to_string(&svg).expect("the chart was written");
    assert!(chart.starts_with("<svg") && chart.contains("capacity"));

    let out = run(args("json"), Some(owner.clone())).await.unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json.as_array().map(Vec::len), Some(25));

    let out = run(args("table"), None).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "no token: a usage error");
    let out = run(args("table"), Some(member)).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_owner"));
}
