//! Benchmarks of the Redis backend, release build, each on a private `redis-server` with
//! `appendonly yes` and `appendfsync always` (durable before acknowledged):
//!
//! - `engine`: one hot pool through the engine alone (registry, actor, group commit) on
//!   Redis: 256 clients take a seat and give it back in a loop. Prints operations per second
//!   and Redis round trips per seat operation.
//! - `http`: the same hot pool through HTTP, on the embedded store and on Redis in the same
//!   run (each broker in a process of its own, the client on one thread of this one): pairs
//!   (take + close) per second, take-seat p50 and p99, the ratio, and Redis round trips per
//!   seat operation.
//! - `recovery`: 1,000,000 held seats across 1,000 pools are written to Redis, then a fresh
//!   process connects, loads every live pool and reports how long until it is ready, and its
//!   resident memory.
//!
//! `cargo bench --bench redis_backend` runs all three; `cargo bench --bench redis_backend --
//! http` one of them. `BENCH_SECS` sets each measurement's length (default 10).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seatbroker::redis_server::RedisServer;
use seatbroker::store::redis::{RedisOptions, RedisStore};
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, Change, DeviceId, EngineConfig, License, LicenseId,
    Platform, Policy, PoolCommit, PoolId, PoolRegistry, PoolSnapshot, PoolStore, SeatId,
    SeatRecord, SystemClock, Timestamp,
};

const CLIENTS: usize = 256;
const OPERATOR: &str = "operator-token-for-benchmarks";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("http-one") => http_one(&args[1], args.get(2).cloned()),
        Some("recovery-one") => recovery_one(&args[1]),
        Some(mode) => run(mode),
        None => {
            for mode in ["engine", "http", "recovery"] {
                run(mode);
            }
        }
    }
}

fn run(mode: &str) {
    match mode {
        "engine" => engine(),
        "http" => http(),
        "recovery" => recovery(),
        other => eprintln!("unknown benchmark {other:?}; use engine, http or recovery"),
    }
}

fn secs() -> Duration {
    let secs = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

fn durable_redis() -> (RedisServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = RedisServer::start(dir.path(), true).expect("redis-server starts");
    (server, dir)
}

async fn connect(url: String) -> RedisStore {
    RedisStore::connect(&RedisOptions {
        url,
        timeout: Duration::from_secs(5),
        down_timeout: Duration::from_millis(50),
        max_in_flight: 512,
        usage_retention_days: 400,
    })
    .await
    .expect("connects to Redis")
}

// ----- engine ------------------------------------------------------------------------------

fn engine() {
    let (redis, _dir) = durable_redis();
    let system = actix_rt::System::new();
    system.block_on(async {
        let store = Arc::new(connect(redis.url()).await);
        let license = License {
            id: LicenseId(1),
            seats: CLIENTS as u32,
            expires_at: None,
            trial: false,
        };
        store
            .create_pool(PoolSnapshot::new(
                PoolId(1),
                AccountId(0xFFF_FFF),
                vec![license],
            ))
            .await
            .expect("create pool");
        let registry = PoolRegistry::new(
            store.clone(),
            Arc::new(SystemClock),
            EngineConfig::default(),
            Vec::new(),
        );
        registry.handle(PoolId(1)).await.expect("pool loads");
        let trips_before = store.round_trips();
        let ops = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + secs();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let (registry, ops) = (registry.clone(), ops.clone());
            tasks.push(actix_rt::spawn(async move {
                let account = AccountId(client as u32);
                let device = DeviceId::parse(&format!("bench-{client}")).expect("device id");
                while Instant::now() < until {
                    let req = AcquireRequest {
                        account,
                        device: device.clone(),
                        platform: Platform::Windows,
                        wait: None,
                    };
                    let seat = match registry.acquire(PoolId(1), req, None).await {
                        Ok(AcquireOutcome::Granted { seat, .. }) => seat.id,
                        other => panic!("every client has a seat of its own: {other:?}"),
                    };
                    registry
                        .close(PoolId(1), seat, account)
                        .await
                        .expect("engine")
                        .expect("close");
                    ops.fetch_add(2, Ordering::Relaxed);
                }
            }));
        }
        for task in tasks {
            task.await.expect("client");
        }
        let elapsed = started.elapsed().as_secs_f64();
        let ops = ops.load(Ordering::Relaxed);
        let trips = store.round_trips() - trips_before;
        println!(
            "engine on Redis, one pool, {CLIENTS} clients: {:.0} seat operations/s, \
             {:.4} Redis round trips per operation ({trips} round trips for {ops} operations)",
            ops as f64 / elapsed,
            trips as f64 / ops.max(1) as f64
        );
    });
}

// ----- http --------------------------------------------------------------------------------

fn http() {
    let (redis, _dir) = durable_redis();
    let exe = std::env::current_exe().expect("own path");
    let mut lines = Vec::new();
    for backend in ["embedded", "redis"] {
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("http-one").arg(backend);
        if backend == "redis" {
            cmd.arg(redis.url());
        }
        let out = cmd.output().expect("benchmark process runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            panic!("the {backend} run failed");
        }
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
        lines.push(line);
    }
    println!("hot pool through HTTP, {CLIENTS} clients, take + close per pair:");
    for line in &lines {
        println!(
            "  {:<8} {:>8.0} pairs/s   take p50 {:>6.2} ms   p99 {:>6.2} ms{}",
            line["backend"].as_str().unwrap_or(""),
            line["pairs_per_s"].as_f64().unwrap_or(0.0),
            line["p50_ms"].as_f64().unwrap_or(0.0),
            line["p99_ms"].as_f64().unwrap_or(0.0),
            match line["round_trips_per_op"].as_f64() {
                Some(r) => format!("   {r:.4} Redis round trips per seat operation"),
                None => String::new(),
            }
        );
    }
    let ratio = lines[1]["pairs_per_s"].as_f64().unwrap_or(0.0)
        / lines[0]["pairs_per_s"].as_f64().unwrap_or(1.0);
    println!("  redis / embedded: {:.0} %", ratio * 100.0);
}

/// One broker in this process, the client on a thread of its own; prints one JSON line.
fn http_one(backend: &str, redis_url: Option<String>) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env: Vec<(String, String)> = vec![
        ("SEATBROKER__SERVER__LISTEN".into(), "127.0.0.1:0".into()),
        (
            "SEATBROKER__STORAGE__PATH".into(),
            data.path().display().to_string(),
        ),
        ("SEATBROKER__AUTH__ARGON2_M_KIB".into(), "8".into()),
        ("SEATBROKER__AUTH__ARGON2_T".into(), "1".into()),
        ("SEATBROKER__OPERATOR__TOKEN".into(), OPERATOR.into()),
        ("SEATBROKER__LOG__FILTER".into(), "error".into()),
    ];
    if let Some(url) = redis_url {
        env.push(("SEATBROKER__STORAGE__BACKEND".into(), "redis".into()));
        env.push(("SEATBROKER__STORAGE__REDIS_URL".into(), url));
    }
    let settings = seatbroker::settings::Settings::load_from(None, env).expect("settings");
    let system = actix_rt::System::new();
    let backend = backend.to_owned();
    system.block_on(async move {
        let app = seatbroker::startup::Application::build(settings)
            .await
            .expect("broker starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let registry = app.registry().clone();
        actix_rt::spawn(app.run_until_signal());
        let store_calls = |r: &PoolRegistry| r.commit_stats().store_calls.load(Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let at_start = Arc::new(AtomicU64::new(0));
        let (mark, watched) = (at_start.clone(), registry.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime");
            let result = runtime.block_on(hot_pool(base, move || {
                mark.store(store_calls(&watched), Ordering::Relaxed)
            }));
            let _ = tx.send(result);
        });
        let (pairs, elapsed, mut takes) = rx.await.expect("client finished");
        let store_calls = store_calls(&registry) - at_start.load(Ordering::Relaxed);
        takes.sort_unstable();
        let pct = |p: f64| {
            takes
                .get(((takes.len() as f64 * p) as usize).min(takes.len().saturating_sub(1)))
                .map_or(0.0, |us| *us as f64 / 1_000.0)
        };
        let mut line = serde_json::json!({
            "backend": backend,
            "pairs_per_s": pairs as f64 / elapsed.as_secs_f64(),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
        });
        if backend == "redis" {
            // Each group commit is one Redis round trip (a pipeline); the measured phase reads
            // nothing else from Redis (access checks are cached).
            line["round_trips_per_op"] =
                serde_json::json!(store_calls as f64 / (2 * pairs).max(1) as f64);
        }
        println!("{line}");
        std::process::exit(0);
    });
}

/// Sets up a pool of `CLIENTS` seats with as many members, then runs take + close pairs for
/// `secs()`; answers (pairs, elapsed, take latencies in µs).
async fn hot_pool(base: String, at_start: impl FnOnce()) -> (u64, Duration, Vec<u64>) {
    use serde_json::{json, Value};
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("http client");
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    };
    let json = |res: reqwest::Response| async move {
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "setup call failed: {status} {body}");
        body
    };
    let account = |email: String| {
        let post = &post;
        async move {
            json(
                post(
                    "/v1/accounts",
                    None,
                    json!({"email": email, "password": "correct horse", "name": "Bench"}),
                )
                .send()
                .await
                .expect("broker answers"),
            )
            .await;
            let login = json(
                post(
                    "/v1/auth/login",
                    None,
                    json!({"email": email, "password": "correct horse"}),
                )
                .send()
                .await
                .expect("broker answers"),
            )
            .await;
            login["token"].as_str().expect("token").to_owned()
        }
    };
    let license = json(
        post(
            "/v1/operator/licenses",
            Some(OPERATOR),
            json!({"type": "educational", "seats": CLIENTS}),
        )
        .send()
        .await
        .expect("broker answers"),
    )
    .await;
    let owner = account("owner@bench.example".into()).await;
    let activated = json(
        post(
            "/v1/activations",
            Some(&owner),
            json!({"code": license["key"]}),
        )
        .send()
        .await
        .expect("broker answers"),
    )
    .await;
    let pool = activated["pool"]["id"].as_str().expect("pool").to_owned();
    let invite: Value = http
        .get(format!("{base}/v1/pools/{pool}/invite"))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("broker answers")
        .json()
        .await
        .expect("json");
    let mut tokens = Vec::new();
    for i in 0..CLIENTS {
        let token = account(format!("m{i}@bench.example")).await;
        json(
            post(
                "/v1/activations",
                Some(&token),
                json!({"code": invite["code"]}),
            )
            .send()
            .await
            .expect("broker answers"),
        )
        .await;
        tokens.push(token);
    }

    at_start();
    let until = Instant::now() + secs();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let http = http.clone();
        let base = base.clone();
        tasks.spawn(async move {
            let body = json!({"device_id": format!("bench-{i}"), "platform": "windows"});
            let (mut pairs, mut takes) = (0u64, Vec::new());
            while Instant::now() < until {
                let asked = Instant::now();
                let res = http
                    .post(format!("{base}/v1/seats"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("broker answers");
                let status = res.status();
                let seat: Value = res.json().await.expect("json");
                assert_eq!(status, 201, "every client has a seat of its own: {seat}");
                takes.push(asked.elapsed().as_micros() as u64);
                let id = seat["seat_id"].as_str().expect("seat id");
                let closed = http
                    .post(format!("{base}/v1/seats/{id}/close"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("broker answers");
                assert_eq!(closed.status(), 204);
                pairs += 1;
            }
            (pairs, takes)
        });
    }
    let (mut pairs, mut takes) = (0, Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (p, t) = done.expect("client task");
        pairs += p;
        takes.extend(t);
    }
    (pairs, started.elapsed(), takes)
}

// ----- recovery ----------------------------------------------------------------------------

const POOLS: u64 = 1_000;
const SEATS_PER_POOL: u64 = 1_000;

fn recovery() {
    let (redis, _dir) = durable_redis();
    let system = actix_rt::System::new();
    system.block_on(async {
        let store = connect(redis.url()).await;
        let now = Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        );
        let filled = Instant::now();
        for chunk in (1..=POOLS).collect::<Vec<_>>().chunks(50) {
            let mut batch = Vec::new();
            for &p in chunk {
                let license = License {
                    id: LicenseId(p as u32),
                    seats: SEATS_PER_POOL as u32,
                    expires_at: None,
                    trial: false,
                };
                store
                    .create_pool(PoolSnapshot::new(
                        PoolId(p),
                        AccountId(p as u32),
                        vec![license],
                    ))
                    .await
                    .expect("create pool");
                store.load(PoolId(p)).await.expect("load").expect("stored");
                let changes = (0..SEATS_PER_POOL)
                    .map(|s| {
                        Change::SeatGranted(SeatRecord {
                            id: SeatId(((s + 1) << 24) | s),
                            account: AccountId(0x100_000 + s as u32),
                            device: DeviceId::parse(&format!("device-{s}")).expect("device id"),
                            platform: Platform::Windows,
                            policy: Policy::Member,
                            granted_at: now,
                            deadline: Some(now.plus_secs(8 * 3_600)),
                            offline_until: None,
                            last_active: now,
                            offline_file: false,
                        })
                    })
                    .collect();
                batch.push(PoolCommit {
                    pool: PoolId(p),
                    changes,
                });
            }
            for result in store.commit(&batch).await {
                result.expect("seats written");
            }
        }
        println!(
            "recovery: wrote {} seats across {POOLS} pools in {:.1} s",
            POOLS * SEATS_PER_POOL,
            filled.elapsed().as_secs_f64()
        );
    });
    let exe = std::env::current_exe().expect("own path");
    let out = std::process::Command::new(exe)
        .arg("recovery-one")
        .arg(redis.url())
        .output()
        .expect("benchmark process runs");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        panic!("the recovery run failed");
    }
}

/// A fresh engine on Redis: connect, load every live pool, report the time and memory.
fn recovery_one(url: &str) {
    let system = actix_rt::System::new();
    system.block_on(async {
        let started = Instant::now();
        let store = Arc::new(connect(url.to_owned()).await);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arbiters: Vec<actix_rt::Arbiter> =
            (0..cores).map(|_| actix_rt::Arbiter::new()).collect();
        let registry = PoolRegistry::new(
            store.clone(),
            Arc::new(SystemClock),
            EngineConfig::default(),
            arbiters.iter().map(actix_rt::Arbiter::handle).collect(),
        );
        registry.load_live_pools(64).await;
        // Every pool's actor is started; count it serving once it has published its seats.
        let expected = (POOLS * SEATS_PER_POOL) as usize;
        let mut held: usize = 0;
        while started.elapsed() < Duration::from_secs(60) {
            held = registry.statuses().iter().map(|(_, s)| s.seats).sum();
            if held >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ready = started.elapsed();
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        println!(
            "recovery: {held} seats in {} pools back and serving {:.2} s after start \
             ({} Redis round trips), resident memory {} MiB",
            registry.statuses().len(),
            ready.as_secs_f64(),
            store.round_trips(),
            rss / 1024
        );
        std::process::exit(0);
    });
}
