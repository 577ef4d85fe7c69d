//! The broker on the Redis backend, through HTTP, with a Redis of each test's own: what
//! clients see while Redis is down and after it returns, a Redis crash under load (nothing
//! acknowledged is lost), two broker processes on one Redis (the newer owner fences the
//! older), and a password in the URL. The whole suite also runs on Redis (`SEATBROKER_TEST_BACKEND=redis`);
//! these are the tests that only make sense there.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use seatbroker::store::redis::{RedisOptions, RedisStore};
use seatbroker_actors::store::PoolStore;
use serde_json::{json, Value};

use crate::helpers::{error, spawn_broker_with, BrokerProcess, TestBroker};
use crate::redis_store::OwnRedis;

async fn broker_on(url: &str) -> TestBroker {
    spawn_broker_with(&[
        ("SEATBROKER__STORAGE__BACKEND", "redis"),
        ("SEATBROKER__STORAGE__REDIS_URL", url),
    ])
    .await
}

async fn seat_ids(b: &TestBroker, owner: &str, pool: &str) -> HashSet<String> {
    let res = b
        .call(Method::GET, &format!("/v1/pools/{pool}/seats"), owner, None)
        .await;
    assert_eq!(res.status(), 200);
    let seats: Value = res.json().await.expect("json");
    seats
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["seat_id"].as_str().expect("seat id").to_owned())
        .collect()
}

/// The seats Redis itself holds for a pool, read by a store of its own. Loading takes the
/// pool's ownership, so this comes last in a test.
async fn seats_in_redis(url: String, pool: &str) -> HashSet<String> {
    let store = RedisStore::connect(&RedisOptions {
        url,
        timeout: Duration::from_secs(2),
        down_timeout: Duration::from_millis(50),
        max_in_flight: 8,
        usage_retention_days: 400,
    })
    .await
    .expect("connects");
    let id = seatbroker::domain::ids::parse_pool(pool).expect("a pool id");
    let snapshot = store.load(id).await.expect("load").expect("stored");
    snapshot
        .seats
        .iter()
        .map(|s| seatbroker::domain::ids::format_seat(id, s.id))
        .collect()
}

#[actix_rt::test]
async fn redis_down_writes_get_503_at_once_heartbeats_and_seat_reads_go_on_then_recover() {
    let mut redis = OwnRedis::start(true);
    let b = broker_on(&redis.server.url()).await;
    let (owner, pool) = b.owner_with_license("own@example.org", 2).await;
    let code = b.invite_code(&owner, &pool).await;
    let (_, ann) = b.join_with_code("ann@example.org", &code).await;
    let (_, bob) = b.join_with_code("bob@example.org", &code).await;
    let res = b.take_seat(&ann, "laptop").await;
    assert_eq!(res.status(), 201);
    let seat: Value = res.json().await.expect("json");
    let seat_id = seat["seat_id"].as_str().expect("seat id").to_owned();
    // Bob has used the pool before, so his request during the outage reaches the commit.
    let res = b.take_seat(&bob, "desk").await;
    let earlier: Value = res.json().await.expect("json");
    let earlier = earlier["seat_id"].as_str().expect("seat id");
    let res = b
        .call(Method::DELETE, &format!("/v1/seats/{earlier}"), &bob, None)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(b.get("/readyz").await.status(), 200);

    redis.server.kill();
    assert_eq!(
        b.get("/readyz").await.status(),
        503,
        "readyz sees Redis gone"
    );
    for attempt in 0..3 {
        let started = Instant::now();
        let res = b.take_seat(&bob, "desk").await;
        let took = started.elapsed();
        assert_eq!(res.status(), 503, "attempt {attempt}");
        assert!(res.headers().contains_key("retry-after"));
        let (_, err) = error(res).await;
        assert_eq!(err["code"], "storage_unavailable");
        assert!(
            took < Duration::from_secs(1),
            "a write is refused at once, not after a hang: {took:?}"
        );
    }
    let beat = b
        .call(
            Method::POST,
            &format!("/v1/seats/{seat_id}/heartbeat"),
            &ann,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(beat.status(), 200, "heartbeats are answered from memory");
    let mine = b.call(Method::GET, "/v1/me/seats", &ann, None).await;
    assert_eq!(
        mine.status(),
        200,
        "the holder's seats are read from memory"
    );
    let mine: Value = mine.json().await.expect("json");
    assert_eq!(mine[0]["seat_id"], seat_id.as_str());
    assert!(seat_ids(&b, &owner, &pool).await.contains(&seat_id));

    redis.server.restart().expect("Redis restarts from its AOF");
    let back = Instant::now();
    loop {
        let res = b.take_seat(&bob, "desk").await;
        if res.status() == 201 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "writes work again without a restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b.get("/readyz").await.status(), 200);
    let res = b.take_seat(&owner, "third").await;
    assert_eq!(res.status(), 409, "S1: two seats, both held");
    let held = seat_ids(&b, &owner, &pool).await;
    assert_eq!(held.len(), 2);
    assert_eq!(seats_in_redis(redis.server.url(), &pool).await, held);
}

/// `GET path` as `token`: the status and the body.
async fn read(b: &TestBroker, token: &str, path: &str) -> (u16, Value) {
    let res = b.call(Method::GET, path, token, None).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn r3_pool_reads_answer_from_memory_while_redis_is_down() {
    let mut redis = OwnRedis::start(true);
    let b = broker_on(&redis.server.url()).await;
    let (owner, pool) = b.owner_with_license("own@example.org", 3).await;
    let code = b.invite_code(&owner, &pool).await;
    let (ann_id, ann) = b.join_with_code("ann@example.org", &code).await;
    assert_eq!(b.take_seat(&ann, "laptop").await.status(), 201);
    let pool_path = format!("/v1/pools/{pool}");
    let members_path = format!("{pool_path}/members");
    let seats_path = format!("{pool_path}/seats");
    // What the owner's dashboard and the member's client read while Redis is up.
    let (_, as_owner) = read(&b, &owner, &pool_path).await;
    let (_, as_member) = read(&b, &ann, &pool_path).await;
    let (_, members) = read(&b, &owner, &members_path).await;
    let (_, seats) = read(&b, &owner, &seats_path).await;
    assert_eq!(
        (as_owner["capacity"].as_u64(), as_owner["in_use"].as_u64()),
        (Some(3), Some(1))
    );

    redis.server.kill();
    assert_eq!(
        b.get("/readyz").await.status(),
        503,
        "readyz sees Redis gone"
    );
    for (who, token, before) in [("owner", &owner, &as_owner), ("member", &ann, &as_member)] {
        let (status, now) = read(&b, token, &pool_path).await;
        assert_eq!(status, 200, "the {who} reads the pool from memory: {now}");
        assert_eq!(now["capacity"], 3, "{who}");
        assert_eq!(now["in_use"], 1, "{who}");
        assert_eq!(&now, before, "the {who} sees what it saw before the outage");
    }
    assert!(
        as_owner["licenses"].is_array(),
        "the owner sees the licenses"
    );
    assert!(as_member.get("licenses").is_none(), "a member does not");
    let (status, now) = read(&b, &owner, &members_path).await;
    assert_eq!(status, 200, "the member list is read from memory: {now}");
    assert_eq!(now, members);
    assert_eq!(now[0]["account_id"], ann_id.as_str());
    assert_eq!(now[0]["seats_in_use"], 1);
    assert_eq!(read(&b, &owner, &seats_path).await, (200, seats));

    for attempt in 0..3 {
        let started = Instant::now();
        let res = b.take_seat(&owner, "desk").await;
        let took = started.elapsed();
        let (status, err) = error(res).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (503, Some("storage_unavailable")),
            "attempt {attempt}"
        );
        assert!(
            took < Duration::from_secs(1),
            "a write is refused quickly, not after a hang: {took:?}"
        );
    }
    let (_, now) = read(&b, &owner, &pool_path).await;
    assert_eq!(now["in_use"], 1, "the refused grant is not counted");

    redis.server.restart().expect("Redis restarts from its AOF");
    let back = Instant::now();
    loop {
        let res = b.take_seat(&owner, "desk").await;
        if res.status() == 201 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "writes work again without a restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b.get("/readyz").await.status(), 200);
    for token in [&owner, &ann] {
        let (status, now) = read(&b, token, &pool_path).await;
        assert_eq!((status, now["in_use"].as_u64()), (200, Some(2)));
    }
    let (status, now) = read(&b, &owner, &members_path).await;
    assert_eq!((status, now[0]["seats_in_use"].as_u64()), (200, Some(1)));
    assert_eq!(seat_ids(&b, &owner, &pool).await.len(), 2);
}

#[actix_rt::test]
async fn s1_redis_killed_under_load_keeps_every_acknowledged_seat_and_the_capacity() {
    let mut redis = OwnRedis::start(true);
    let b = Arc::new(broker_on(&redis.server.url()).await);
    let (owner, pool) = b.owner_with_license("own@example.org", 20).await;
    let code = b.invite_code(&owner, &pool).await;
    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(
            b.join_with_code(&format!("c{i}@example.org"), &code)
                .await
                .1,
        );
    }
    // Ten clients take a seat and keep it all along; forty take a seat, hold it a moment and
    // give it back, in a loop. A seat whose grant was answered and whose release was never
    // sent must survive; the record drops a seat before its release is sent. Once `frozen`,
    // clients keep what they hold and stop.
    let held: Arc<Mutex<HashSet<String>>> = Arc::default();
    for (i, token) in tokens.drain(..10).enumerate() {
        let res = b.take_seat(&token, &format!("keeper-{i}")).await;
        assert_eq!(res.status(), 201);
        let seat: Value = res.json().await.expect("json");
        let id = seat["seat_id"].as_str().expect("seat id").to_owned();
        held.lock().expect("lock").insert(id);
    }
    let frozen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (b, held, frozen) = (b.clone(), held.clone(), frozen.clone());
        tasks.push(actix_rt::spawn(async move {
            let device = format!("pc-{i}");
            while !frozen.load(std::sync::atomic::Ordering::SeqCst) {
                let res = b.take_seat(&token, &device).await;
                if res.status() != 201 && res.status() != 200 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                let seat: Value = res.json().await.expect("json");
                let id = seat["seat_id"].as_str().expect("seat id").to_owned();
                held.lock().expect("lock").insert(id.clone());
                tokio::time::sleep(Duration::from_millis(10)).await;
                if frozen.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                held.lock().expect("lock").remove(&id);
                b.call(Method::DELETE, &format!("/v1/seats/{id}"), &token, None)
                    .await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    redis.server.kill();
    // The clients run on this thread: nothing ran between the kill and this read.
    let acknowledged = held.lock().expect("lock").clone();
    for task in tasks {
        let _ = task.await;
    }
    assert!(
        !acknowledged.is_empty(),
        "some seats were held at the crash"
    );

    let res = b.take_seat(&owner, "during-outage").await;
    assert_eq!(res.status(), 503, "no grant while Redis is down");

    redis.server.restart().expect("Redis restarts from its AOF");
    let back = Instant::now();
    loop {
        let res = b.take_seat(&owner, "after").await;
        if res.status() == 201 || res.status() == 409 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "writes work again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let served = seat_ids(&b, &owner, &pool).await;
    let missing: Vec<&String> = acknowledged.difference(&served).collect();
    assert!(missing.is_empty(), "acknowledged seats lost: {missing:?}");
    assert!(
        served.len() <= 21,
        "S1: {} seats on 20 (+1 owner's kept desktop half)",
        served.len()
    );
    let stored = seats_in_redis(redis.server.url(), &pool).await;
    let missing: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged seats lost in Redis: {missing:?}"
    );
    assert_eq!(
        stored, served,
        "Redis holds exactly the seats the broker serves"
    );
}

#[actix_rt::test]
async fn s1_a_second_broker_on_the_same_redis_takes_the_pool_and_the_first_lets_go() {
    let redis = OwnRedis::start(false);
    let url = redis.server.url();
    let on_redis = [
        ("SEATBROKER__STORAGE__BACKEND", "redis"),
        ("SEATBROKER__STORAGE__REDIS_URL", url.as_str()),
    ];
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let process_a = BrokerProcess::start_with(data_a.path(), &on_redis);
    let first = TestBroker::at(&process_a.address);
    let (owner, pool) = first.owner_with_license("own@example.org", 3).await;
    let code = first.invite_code(&owner, &pool).await;
    let (_, ann) = first.join_with_code("ann@example.org", &code).await;
    let (_, bob) = first.join_with_code("bob@example.org", &code).await;
    assert_eq!(first.take_seat(&ann, "laptop").await.status(), 201);

    // The second broker loads every pool holding seats at start, taking them over.
    let process_b = BrokerProcess::start_with(data_b.path(), &on_redis);
    let second = TestBroker::at(&process_b.address);
    let ready = Instant::now();
    while second.get("/readyz").await.status() != 200 {
        assert!(
            ready.elapsed() < Duration::from_secs(10),
            "second broker ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let res = first.take_seat(&bob, "desk").await;
    assert_eq!(res.status(), 503, "the first broker's commit is refused");
    let (_, err) = error(res).await;
    assert_eq!(err["code"], "pool_owned_elsewhere");
    let res = first.take_seat(&bob, "desk").await;
    let (status, err) = error(res).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (503, Some("pool_owned_elsewhere"))
    );

    let res = second.take_seat(&bob, "desk").await;
    assert_eq!(res.status(), 201, "the second broker serves the pool");
    let held = seat_ids(&second, &owner, &pool).await;
    assert_eq!(held.len(), 2, "the refused grant never landed: {held:?}");
}

#[actix_rt::test]
async fn a_password_in_the_redis_url_is_used_and_a_wrong_one_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = seatbroker::redis_server::RedisServer::start_with_password(
        dir.path(),
        false,
        Some("s3cret-for-tests"),
    )
    .expect("redis-server starts");
    let b = broker_on(&redis.url()).await;
    b.owner_with_license("own@example.org", 1).await;

    let wrong = redis.url().replace("s3cret-for-tests", "wrong");
    let data = tempfile::tempdir().expect("temp dir");
    let mut env = crate::helpers::test_env(data.path());
    env.push(("SEATBROKER__STORAGE__BACKEND".into(), "redis".into()));
    env.push(("SEATBROKER__STORAGE__REDIS_URL".into(), wrong));
    let settings = seatbroker::settings::Settings::load_from(None, env).expect("settings");
    let refused = seatbroker::startup::Application::build(settings).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("cannot reach Redis"), "{message}");
    assert!(
        !message.contains("wrong"),
        "the password is never printed: {message}"
    );
}

/// Runs `openssl` with these space-separated arguments in `dir`.
fn openssl(dir: &std::path::Path, args: &str) {
    let status = std::process::Command::new("openssl")
        .args(args.split(' '))
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

#[actix_rt::test]
async fn a_rediss_url_speaks_tls_to_a_server_the_machine_trusts() {
    // A certificate authority of the test's own and a server certificate for 127.0.0.1.
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ca = "-x509 -newkey rsa:2048 -nodes -days 1 -keyout ca.key -out ca.crt";
    openssl(d, &format!("req {ca} -subj /CN=seatbroker-test-CA"));
    let csr = "-newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1";
    openssl(d, &format!("req {csr}"));
    std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write");
    let sign = "-in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1";
    openssl(
        d,
        &format!("x509 -req {sign} -out server.crt -extfile san.ext"),
    );
    let redis = seatbroker::redis_server::RedisServer::start_with_tls(
        &d.join("redis"),
        &d.join("server.crt"),
        &d.join("server.key"),
    )
    .expect("redis-server starts with TLS");
    let url = redis.tls_url().expect("a TLS port");

    // The system's roots do not include the test's authority: the broker refuses to start.
    let refused = RedisStore::connect(&RedisOptions {
        url: url.clone(),
        timeout: Duration::from_secs(2),
        down_timeout: Duration::from_millis(50),
        max_in_flight: 8,
        usage_retention_days: 400,
    })
    .await;
    assert!(refused.is_err(), "an untrusted server is refused");

    // Trusted through SSL_CERT_FILE (each test runs in a process of its own), it serves.
    std::env::set_var("SSL_CERT_FILE", d.join("ca.crt"));
    let b = broker_on(&url).await;
    let (owner, _) = b.owner_with_license("own@example.org", 1).await;
    assert_eq!(b.take_seat(&owner, "laptop").await.status(), 201);
}
