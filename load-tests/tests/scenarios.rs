//! Each scenario at small scale (a few clients, one to three seconds) against a real broker
//! started in-process on a free port with a low argon2 cost, a short `compare` against the
//! null broker (also with the debug broker binary on a redis-server of its own, as
//! `compare --backend redis` starts it), the `compare` command itself with the debug broker
//! binary and its JSON report, the null broker's token check, a short `sweep` drawn as SVG,
//! proof that a broken invariant fails a run (the null broker grants every seat, so a
//! contended pool on it must be reported over capacity, with exit code 1), a run over
//! several targets: a second address of the same broker (a TCP relay) that takes its turn
//! with the sessions set up on the first, and a dead one that every request fails over from;
//! and the Redis-semaphore peer (issue 19), each time on a redis-server of its own: its seat
//! routes by hand, a contended pool on it that never goes over capacity, and `compare --peer`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use seatbroker::settings::Settings;
use seatbroker::startup::Application;
use seatbroker_load::compare::{compare_urls, Target};
use seatbroker_load::runner::{self, RunConfig};
use seatbroker_load::scenario::Scenario;
use seatbroker_load::stats::Report;
use seatbroker_load::sweep;

const OPERATOR: &str = "operator-token-for-load-tests";

/// Starts a broker in this test's actix system; its URL (the data directory lives as long
/// as the returned guard).
async fn broker() -> (String, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temp dir");
    let env = [
        ("SEATBROKER__SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        (
            "SEATBROKER__STORAGE__PATH",
            data.path().display().to_string(),
        ),
        ("SEATBROKER__AUTH__ARGON2_M_KIB", "8".to_owned()),
        ("SEATBROKER__AUTH__ARGON2_T", "1".to_owned()),
        (
            "SEATBROKER__LIMITS__ACCOUNTS_PER_ADDRESS_PER_HOUR",
            "0".to_owned(),
        ),
        (
            "SEATBROKER__LIMITS__LOGIN_PER_ADDRESS_PER_HOUR",
            "0".to_owned(),
        ),
        ("SEATBROKER__OPERATOR__TOKEN", OPERATOR.to_owned()),
        ("SEATBROKER__LOG__FILTER", "error".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect::<Vec<_>>();
    let settings = Settings::load_from(None, env).expect("settings");
    let app = Application::build(settings).await.expect("broker starts");
    let url = format!("http://127.0.0.1:{}", app.port());
    actix_rt::spawn(app.run_until_signal());
    (url, data)
}

fn config(url: &str, scenario: Scenario, clients: usize, secs: f64) -> RunConfig {
    let mut c = RunConfig::new(url, scenario, OPERATOR);
    c.knobs.clients = clients;
    c.duration = Duration::from_secs_f64(secs);
    c
}

fn assert_held(report: &Report) {
    assert!(
        report.passed(),
        "invariants broken: {:?}\n{}",
        report.violations,
        report.table()
    );
}

#[actix_rt::test]
async fn hot_pool_grants_every_take_and_keeps_its_invariants() {
    let (url, _data) = broker().await;
    let report = runner::run(config(&url, Scenario::HotPool, 8, 1.5))
        .await
        .expect("run");
    assert_held(&report);
    assert!(report.pairs > 10, "{}", report.table());
    assert_eq!(report.refusals, 0, "capacity = clients: no refusal");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.ops.contains_key("take") && report.ops.contains_key("close"));
}

/// A second address for the broker at `url`: a TCP relay on a free loopback port, and how
/// many connections it has relayed.
fn relay(url: &str) -> (String, Arc<AtomicUsize>) {
    let upstream: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .parse()
        .expect("a loopback address");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let relayed = Arc::new(AtomicUsize::new(0));
    let counter = relayed.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            counter.fetch_add(1, Ordering::Relaxed);
            for (mut from, mut to) in [
                (client.try_clone(), server.try_clone()),
                (server.try_clone(), client.try_clone()),
            ]
            .into_iter()
            .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
            {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (format!("http://127.0.0.1:{port}"), relayed)
}

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    )
}

#[actix_rt::test]
async fn several_targets_take_turns_with_the_sessions_set_up_on_the_first() {
    let (url, _data) = broker().await;
    let (second, relayed) = relay(&url);
    let mut c = config(&url, Scenario::HotPool, 8, 1.5);
    c.more_targets = vec![second.clone()];
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.pairs > 10, "{}", report.table());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.extra["failovers"], 0.0, "{}", report.table());
    assert!(
        relayed.load(Ordering::Relaxed) > 0,
        "no request went to {second}"
    );
    assert_eq!(report.targets, [url, second]);
}

#[actix_rt::test]
async fn a_target_that_refuses_connections_is_failed_over_to_the_next() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::HotPool, 8, 1.5);
    c.more_targets = vec![dead_url()];
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.pairs > 10, "{}", report.table());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Every other request starts on the dead target and moves on to the live one: a third
    // of the attempts are failovers.
    let failovers = report.extra["failovers"];
    assert!(
        failovers > 0.0 && failovers >= report.requests as f64 / 4.0,
        "{}",
        report.table()
    );
}

#[actix_rt::test]
async fn hot_pool_with_a_smaller_capacity_counts_refusals_apart_from_pairs() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::HotPool, 8, 1.5);
    c.knobs.capacity = Some(2);
    c.knobs.hold = Duration::from_millis(5);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.pairs > 10, "{}", report.table());
    assert!(report.refusals > 0, "{}", report.table());
    assert!(report.extra["peak_seats_held"] <= 2.0);
}

#[actix_rt::test]
async fn hot_pool_in_open_loop_offers_the_rate_asked_for() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::HotPool, 8, 2.0);
    c.rate = Some(200.0);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(
        (300..=430).contains(&report.pairs),
        "about 400 pairs offered: {}",
        report.table()
    );
}

#[actix_rt::test]
async fn lecture_start_waits_for_half_the_seats_and_heartbeats() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::LectureStart, 10, 2.5);
    c.knobs.wait_s = 2;
    c.knobs.heartbeat_interval = Duration::from_millis(200);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.ops.contains_key("take"), "{}", report.table());
    assert!(report.ops.contains_key("take_waited"), "{}", report.table());
    assert!(report.ops.contains_key("heartbeat"), "{}", report.table());
    assert!(report.pairs > 5, "{}", report.table());
    assert!(report.extra["peak_seats_held"] <= 5.0);
}

#[actix_rt::test]
async fn many_pools_share_a_bounded_pool_of_connections() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::ManyPools, 0, 1.5);
    c.knobs.pools = Some(6);
    c.knobs.members = Some(3);
    c.connections = Some(4);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert_eq!(report.clients, 18);
    assert!(report.pairs > 10, "{}", report.table());
    assert_eq!(report.refusals, 0);
}

#[actix_rt::test]
async fn heartbeat_storm_holds_many_seats_and_heartbeats_them() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::HeartbeatStorm, 4, 1.5);
    c.knobs.devices = 5;
    c.knobs.pools = Some(2);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert_eq!(report.extra["peak_seats_held"], 20.0, "{}", report.table());
    assert!(report.ops["heartbeat"].count > 20, "{}", report.table());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[actix_rt::test]
async fn heartbeat_storm_with_churn_closes_and_takes_seats_on_new_devices() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::HeartbeatStorm, 4, 1.5);
    c.knobs.devices = 2;
    c.knobs.pools = Some(2);
    c.knobs.churn = 0.5;
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.pairs > 5, "{}", report.table());
    assert!(report.ops["heartbeat"].count > 5, "{}", report.table());
    assert!(
        report.ops["close"].count >= report.pairs,
        "{}",
        report.table()
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[actix_rt::test]
async fn crash_churn_seats_of_vanished_clients_expire_and_are_reused() {
    let (url, _data) = broker().await;
    let mut c = config(&url, Scenario::CrashChurn, 6, 3.0);
    c.knobs.capacity = Some(2);
    c.knobs.timeout_s = 1;
    c.knobs.wait_s = 3;
    c.knobs.crash_ratio = 0.7;
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.extra["ghost_sessions"] >= 1.0, "{}", report.table());
    assert!(
        report.extra["expired_and_reused_at_least"] >= 1.0,
        "{}",
        report.table()
    );
    assert_eq!(report.extra["seats_in_use_after_deadlines"], 0.0);
}

#[actix_rt::test]
async fn compare_measures_the_broker_against_the_null_broker() {
    let (url, _data) = broker().await;
    let (port, server) =
        seatbroker_load::null_broker::serve("127.0.0.1:0", OPERATOR, 1).expect("null broker");
    actix_rt::spawn(server);
    let c = config(&url, Scenario::HotPool, 8, 0.7);
    let cmp = compare_urls(
        &c,
        &Target { url, pid: None },
        &Target {
            url: format!("http://127.0.0.1:{port}"),
            pid: None,
        },
        "embedded",
        Duration::from_millis(200),
        2,
    )
    .await
    .expect("compare");
    assert!(cmp.passed(), "{:?}", cmp.broker.report.violations);
    assert!(cmp.broker.pairs_per_s > 0.0 && cmp.null.pairs_per_s > 0.0);
    assert!(cmp.ratio > 0.0 && cmp.ratio.is_finite());
    assert_eq!(
        cmp.broker.pairs_per_s_per_round.len(),
        2,
        "two alternating rounds"
    );
    let json = serde_json::to_value(&cmp).expect("json");
    for side in ["broker", "null"] {
        for field in ["pairs_per_s", "p50_ms", "p99_ms"] {
            assert!(json[side][field].is_number(), "{side}.{field}");
        }
    }
    assert!(json["ratio"].is_number());
}

/// The debug `seatbroker` binary beside this package's own binaries, built when missing.
fn debug_broker_binary() -> std::path::PathBuf {
    let null = std::path::Path::new(env!("CARGO_BIN_EXE_seatbroker-null"));
    let broker = null.with_file_name("seatbroker");
    if !broker.exists() {
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "seatbroker", "--bin", "seatbroker"])
            .current_dir(seatbroker_load::procs::workspace_root())
            .status()
            .expect("cargo runs");
        assert!(built.success(), "cargo build -p seatbroker");
    }
    broker
}

/// Asks a Redis server, over plain RESP, how many keys it holds.
fn redis_keys(url: &str) -> u64 {
    use std::io::{BufRead, BufReader, Write};
    let addr = url.trim_start_matches("redis://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).expect("redis answers");
    conn.write_all(b"DBSIZE\r\n").expect("send");
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).expect("reply");
    line.trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("DBSIZE answered {line:?}"))
}

/// `compare --backend redis`: the broker process runs on a redis-server of its own (with
/// AOF), which holds the pool the scenario set up, and the comparison passes its checks.
#[actix_rt::test]
async fn compare_on_redis_starts_a_redis_server_of_its_own_for_the_broker() {
    use seatbroker_load::procs::{self, Backend};
    let broker = procs::start_broker(&debug_broker_binary(), Backend::Redis).expect("broker");
    let redis = broker.redis_url().expect("a redis-server of its own");
    let (port, server) =
        seatbroker_load::null_broker::serve("127.0.0.1:0", procs::OPERATOR_TOKEN, 1)
            .expect("null broker");
    actix_rt::spawn(server);
    let mut c = RunConfig::new(&broker.url(), Scenario::HotPool, procs::OPERATOR_TOKEN);
    c.knobs.clients = 8;
    c.duration = Duration::from_secs_f64(0.7);
    let cmp = compare_urls(
        &c,
        &Target {
            url: broker.url(),
            pid: Some(broker.pid()),
        },
        &Target {
            url: format!("http://127.0.0.1:{port}"),
            pid: None,
        },
        "redis",
        Duration::from_millis(200),
        1,
    )
    .await
    .expect("compare");
    assert!(cmp.passed(), "{:?}", cmp.broker.report.violations);
    assert!(
        cmp.broker.pairs_per_s > 0.0,
        "{}",
        cmp.broker.report.table()
    );
    assert!(redis_keys(&redis) > 0, "the broker's pool is in its Redis");
}

#[actix_rt::test]
async fn sweep_raises_the_rate_and_draws_latency_against_throughput() {
    let (url, _data) = broker().await;
    let c = config(&url, Scenario::HotPool, 8, 0.5);
    let rates = sweep::rates(20.0, 60.0, 3);
    assert_eq!(rates, vec![20.0, 40.0, 60.0]);
    let points = sweep::sweep_target(
        &c,
        &Target { url, pid: None },
        &rates,
        Duration::from_millis(400),
    )
    .await
    .expect("sweep");
    assert!(!points.is_empty() && points.len() <= rates.len());
    for (point, rate) in points.iter().zip(&rates) {
        assert_eq!(point.offered, *rate);
        assert!(point.reached > 0.0, "{point:?}");
        assert!(point.p50_ms <= point.p99_ms, "{point:?}");
        assert_eq!(point.violations, 0, "{point:?}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let svg = dir.path().join("sweep.svg");
    sweep::draw(&svg, "hot-pool sweep", &[("broker", &points)]).expect("draw");
    let text = std::fs::read_to_string(&svg).expect("svg written");
    assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(80)]);
    assert!(text.contains("broker") && text.contains("p99"));
}

/// The null broker grants every seat: on a pool of capacity 1 with clients holding their
/// seats a while, the checker must see two held at once, and `run` must exit 1.
#[test]
fn a_broker_granting_over_capacity_fails_the_run_with_exit_code_1() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_rt::System::new();
        system.block_on(async move {
            let (port, server) =
                seatbroker_load::null_broker::serve("127.0.0.1:0", OPERATOR, 1).expect("serve");
            tx.send(port).expect("port sent");
            let _ = server.await;
        });
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).expect("port");
    let url = format!("http://127.0.0.1:{port}");
    let cli = seatbroker_load::cli::Cli::parse_from([
        "seatbroker-load",
        "run",
        "--url",
        &url,
        "--operator-token",
        OPERATOR,
        "--scenario",
        "hot-pool",
        "--clients",
        "4",
        "--capacity",
        "1",
        "--hold",
        "50ms",
        "--duration",
        "1s",
        "--quiet",
    ]);
    assert_eq!(seatbroker_load::cli::execute(cli), 1);
}

/// `compare` as the CLI runs it: starts the given broker binary on an embedded store in a
/// temporary directory and the null broker binary, both on free ports, and writes the
/// report in the shape the issue names.
/// `sweep --client-counts … --peer` measures the three servers at each count and draws
/// pairs per second against clients.
#[test]
fn the_clients_sweep_measures_broker_null_broker_and_peer_and_draws_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("clients.svg");
    let broker = debug_broker_binary();
    let cli = seatbroker_load::cli::Cli::parse_from([
        "seatbroker-load",
        "sweep",
        "--scenario",
        "hot-pool",
        "--client-counts",
        "2,8",
        "--peer",
        "--step-duration",
        "400ms",
        "--warmup",
        "100ms",
        "--broker-bin",
        broker.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(seatbroker_load::cli::execute(cli), 0);
    let svg = std::fs::read_to_string(&out).expect("the SVG is drawn");
    assert!(svg.contains("Redis-semaphore peer") && svg.contains("null broker"));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.with_extension("json")).expect("the points are written"),
    )
    .expect("JSON");
    for server in ["broker (embedded)", "null broker", "Redis-semaphore peer"] {
        let points = json[server].as_array().expect(server);
        let counts: Vec<u64> = points
            .iter()
            .filter_map(|p| p["clients"].as_u64())
            .collect();
        assert_eq!(counts, vec![2, 8], "{server}: {json}");
        assert!(
            points.iter().all(|p| p["pairs_per_s"].as_f64() > Some(0.0)),
            "{server}: {json}"
        );
    }
}

#[test]
fn the_compare_command_starts_both_servers_and_writes_its_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("report.json");
    let broker = debug_broker_binary();
    let cli = seatbroker_load::cli::Cli::parse_from([
        "seatbroker-load",
        "compare",
        "--scenario",
        "hot-pool",
        "--clients",
        "8",
        "--duration",
        "700ms",
        "--warmup",
        "200ms",
        "--rounds",
        "1",
        "--workers",
        "1,2",
        "--quiet",
        "--broker-bin",
        broker.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(seatbroker_load::cli::execute(cli), 0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report written"))
            .expect("the report is JSON");
    for side in ["broker", "null"] {
        for field in ["pairs_per_s", "p50_ms", "p99_ms"] {
            assert!(json[side][field].is_number(), "{side}.{field} in {json}");
        }
        assert!(json[side]["pairs_per_s"].as_f64() > Some(0.0), "{json}");
    }
    assert!(json["ratio"].as_f64() > Some(0.0), "{json}");
    assert_eq!(json["backend"], "embedded");
    // Every round of both sides is kept, in the order they ran, with errors and violations.
    let rounds: Vec<(u64, &str)> = json["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| {
            (
                r["round"].as_u64().unwrap_or(0),
                r["side"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rounds,
        [
            (1, "broker (1 worker)"),
            (1, "null broker (1 worker)"),
            (1, "broker (2 workers)"),
            (1, "null broker (2 workers)")
        ]
    );
    // Each side is reported at its best setting, and says which.
    assert_eq!(json["tried"].as_array().map(Vec::len), Some(4), "{json}");
    for side in ["broker_settings", "null_settings"] {
        let settings = json[side].as_str().unwrap_or_default();
        assert!(
            ["1 worker", "2 workers"].contains(&settings),
            "{side}: {json}"
        );
    }
    for r in json["rounds"].as_array().expect("rounds") {
        assert!(r["rate_per_s"].as_f64() > Some(0.0), "{r}");
        assert!(r["errors"].is_object() && r["violations"].is_array(), "{r}");
        assert_eq!(r["violation_count"], 0, "{r}");
    }
    // The broker's log lies beside the report.
    let log = std::fs::read_to_string(dir.path().join("report.broker.log")).expect("the log");
    assert!(
        log.contains("== the broker with 2 workers ==") && log.contains("\"port\""),
        "each broker's start line is in it: {log}"
    );
}

/// The null broker verifies the bearer token as the broker does: a token it issued is
/// taken, one signed by another key, a garbled one or none at all is 401 `unauthenticated`.
#[actix_rt::test]
async fn the_null_broker_turns_away_tokens_it_did_not_sign() {
    let mut urls = Vec::new();
    for _ in 0..2 {
        let (port, server) =
            seatbroker_load::null_broker::serve("127.0.0.1:0", OPERATOR, 1).expect("serve");
        actix_rt::spawn(server);
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    let http = reqwest::Client::new();
    let login = |url: &str| {
        http.post(format!("{url}/v1/auth/login"))
            .json(&serde_json::json!({"email": "ada@example.org", "password": "a password"}))
            .send()
    };
    let mut tokens = Vec::new();
    for url in &urls {
        let body: serde_json::Value = login(url).await.expect("login").json().await.expect("JSON");
        tokens.push(body["token"].as_str().expect("a token").to_owned());
    }
    let take = |token: Option<&str>| {
        let req = http
            .post(format!("{}/v1/seats", urls[0]))
            .json(&serde_json::json!({"device_id": "laptop", "platform": "linux"}));
        match token {
            Some(t) => req.bearer_auth(t).send(),
            None => req.send(),
        }
    };
    let own = take(Some(&tokens[0])).await.expect("take");
    assert_eq!(own.status(), 201);
    for token in [Some(tokens[1].as_str()), Some("not-a-token"), None] {
        let refused = take(token).await.expect("take");
        assert_eq!(refused.status(), 401, "{token:?}");
        let body: serde_json::Value = refused.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "unauthenticated", "{token:?}");
    }
}

/// The Redis-semaphore peer's seat routes by hand: a take is granted in the pool of the
/// license's seats and its seat id comes back on heartbeat and close; a take past capacity
/// is 409 `no_seat_available` with the broker's details; a closed seat's heartbeat is 410.
#[actix_rt::test]
async fn the_peer_takes_beats_and_closes_seats_in_redis_and_refuses_past_capacity() {
    use seatbroker_load::procs;
    let peer = procs::start_peer_with_workers(Some(1)).expect("peer");
    let url = peer.url();
    let http = reqwest::Client::new();
    let license: serde_json::Value = http
        .post(format!("{url}/v1/operator/licenses"))
        .bearer_auth(procs::OPERATOR_TOKEN)
        .json(&serde_json::json!({"type": "educational", "seats": 1}))
        .send()
        .await
        .expect("issue")
        .json()
        .await
        .expect("JSON");
    let session: serde_json::Value = http
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": "owner@peer.example", "password": "a password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    let token = session["token"].as_str().expect("a token").to_owned();
    let activation: serde_json::Value = http
        .post(format!("{url}/v1/activations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": license["key"]}))
        .send()
        .await
        .expect("activate")
        .json()
        .await
        .expect("JSON");
    assert_eq!(activation["pool"]["capacity"], 1, "{activation}");
    let pool = activation["pool"]["id"]
        .as_str()
        .expect("a pool id")
        .to_owned();
    let take = |device: &'static str| {
        http.post(format!("{url}/v1/seats"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"device_id": device, "platform": "windows", "pool": pool}))
            .send()
    };
    let granted = take("laptop").await.expect("take");
    assert_eq!(granted.status(), 201);
    let seat: serde_json::Value = granted.json().await.expect("JSON");
    let seat_id = seat["seat_id"].as_str().expect("a seat id").to_owned();
    assert_eq!(seat["pool_id"], pool.as_str());

    let refused = take("desktop").await.expect("take");
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "no_seat_available", "{body}");
    assert_eq!(body["error"]["capacity"], 1, "{body}");
    assert_eq!(body["error"]["in_use"], 1, "{body}");
    assert!(
        body["error"]["owner_contact"]["email"].is_string(),
        "{body}"
    );
    assert!(body["error"]["queue_position"].is_null(), "{body}");

    let beat = |seat: &str| {
        http.post(format!("{url}/v1/seats/{seat}/heartbeat"))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
    };
    let beaten = beat(&seat_id).await.expect("heartbeat");
    assert_eq!(beaten.status(), 200);
    let again: serde_json::Value = beaten.json().await.expect("JSON");
    assert_eq!(again["seat_id"], seat_id.as_str());
    let closed = http
        .post(format!("{url}/v1/seats/{seat_id}/close"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("close");
    assert_eq!(closed.status(), 204);
    let gone = beat(&seat_id).await.expect("heartbeat");
    assert_eq!(gone.status(), 410);
    let body: serde_json::Value = gone.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "seat_gone", "{body}");
    assert_eq!(take("desktop").await.expect("take").status(), 201);
    let redis = peer.redis_url().expect("a redis-server of its own");
    assert!(redis_keys(&redis) > 0, "the peer's seats are in its Redis");
}

/// A contended pool on the peer (8 clients holding their seats a while, 2 seats): the
/// checker never sees more held than capacity, refusals come with the broker's details, and
/// nothing else fails.
#[actix_rt::test]
async fn the_peer_never_grants_past_capacity_on_a_contended_pool() {
    let peer = seatbroker_load::procs::start_peer_with_workers(Some(2)).expect("peer");
    let mut c = RunConfig::new(
        &peer.url(),
        Scenario::HotPool,
        seatbroker_load::procs::OPERATOR_TOKEN,
    );
    c.knobs.clients = 8;
    c.knobs.capacity = Some(2);
    c.knobs.hold = Duration::from_millis(5);
    c.duration = Duration::from_secs_f64(1.5);
    let report = runner::run(c).await.expect("run");
    assert_held(&report);
    assert!(report.pairs > 10, "{}", report.table());
    assert!(report.refusals > 0, "{}", report.table());
    assert!(report.extra["peak_seats_held"] <= 2.0, "{}", report.table());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// `compare --peer` as the CLI runs it: the broker on Redis, the null broker and the peer on
/// a redis-server of its own, in alternating rounds; the report carries the peer and the
/// ratios to it, and a report written before the peer existed still reads.
#[test]
fn the_compare_command_measures_the_peer_as_a_third_side() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("report.json");
    let broker = debug_broker_binary();
    let cli = seatbroker_load::cli::Cli::parse_from([
        "seatbroker-load",
        "compare",
        "--scenario",
        "hot-pool",
        "--backend",
        "redis",
        "--peer",
        "--clients",
        "8",
        "--duration",
        "1s",
        "--warmup",
        "200ms",
        "--rounds",
        "1",
        "--workers",
        "1",
        "--quiet",
        "--broker-bin",
        broker.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(seatbroker_load::cli::execute(cli), 0);
    let text = std::fs::read_to_string(&out).expect("report written");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    for field in ["pairs_per_s", "p50_ms", "p99_ms"] {
        assert!(json["peer"][field].is_number(), "peer.{field} in {json}");
    }
    assert!(json["peer"]["pairs_per_s"].as_f64() > Some(0.0), "{json}");
    assert_eq!(json["peer_settings"], "1 worker", "{json}");
    assert!(json["ratio_to_peer"].as_f64() > Some(0.0), "{json}");
    assert!(json["p99_ratio_to_peer"].as_f64() > Some(0.0), "{json}");
    let sides: Vec<&str> = json["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| r["side"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        sides,
        [
            "broker (1 worker)",
            "null broker (1 worker)",
            "peer (1 worker)"
        ]
    );
    assert_eq!(json["peer"]["report"]["violation_count"], 0, "{json}");
    // A report from before the peer (no peer fields) still reads.
    if let Some(report) = json.as_object_mut() {
        for field in [
            "peer",
            "peer_settings",
            "ratio_to_peer",
            "p99_ratio_to_peer",
        ] {
            report.remove(field);
        }
    }
    let old: seatbroker_load::compare::Comparison =
        serde_json::from_value(json).expect("an old report parses");
    assert!(old.peer.is_none() && old.ratio_to_peer.is_none());
}
