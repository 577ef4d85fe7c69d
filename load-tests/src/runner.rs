//! A run: build the shared connections, set the scenario's pools up through the API
//! (`prepare`), then drive every logical client for the run's duration (`drive`), with a
//! live progress line (rate, errors, p99) and the report at the end. `prepare` and `drive`
//! are apart so that a sweep sets up once and drives at many rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use seatbroker_client::{Client, RetryPolicy};
use tokio::sync::{Barrier, Semaphore};

use crate::checker::Checker;
use crate::scenario::{client_loop, prepare_client, Ctx, Knobs, Pacer, Scenario, Shape};
use crate::setup::{self, PoolSetup, SetupError, SetupPlan};
use crate::stats::{process_cpu, Op, Recorder, Report};

/// Everything a run is given.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The broker's base URL.
    pub url: String,
    /// Which scenario.
    pub scenario: Scenario,
    /// Its knobs.
    pub knobs: Knobs,
    /// How long to measure.
    pub duration: Duration,
    /// Offered rate per second (open loop); closed loop when `None`.
    pub rate: Option<f64>,
    /// Requests (and so keep-alive connections) in flight at once; `None`: the scenario's
    /// default (one per client, 256 for many-pools).
    pub connections: Option<usize>,
    /// The operator token for setup.
    pub operator_token: String,
    /// Setup requests in flight at once.
    pub setup_concurrency: usize,
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// A process whose resident memory is read at the end of the measured phase.
    pub broker_pid: Option<u32>,
}

/// A run whose pools are set up, ready to drive.
#[derive(Debug)]
pub struct Prepared {
    /// The configuration.
    pub config: RunConfig,
    /// The pools.
    pub pools: Vec<PoolSetup>,
    /// The shape they were set up with.
    pub shape: Shape,
    http: reqwest::Client,
    connections: usize,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The HTTP client could not be built or the URL is unusable.
    #[error("client: {0}")]
    Client(#[from] seatbroker_client::Error),
    /// Building reqwest's client failed.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// Setup failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

impl RunConfig {
    /// A configuration with defaults for `scenario` against `url`.
    pub fn new(url: &str, scenario: Scenario, operator_token: &str) -> RunConfig {
        RunConfig {
            url: url.to_owned(),
            scenario,
            knobs: Knobs::default(),
            duration: Duration::from_secs(10),
            rate: None,
            connections: None,
            operator_token: operator_token.to_owned(),
            setup_concurrency: 32,
            progress: false,
            broker_pid: None,
        }
    }
}

/// Builds the connections and sets the scenario's pools up.
pub async fn prepare(config: RunConfig) -> Result<Prepared, RunError> {
    let shape = config.scenario.shape(&config.knobs);
    let clients = shape.pools * shape.members;
    let connections = config
        .connections
        .unwrap_or(match config.scenario {
            Scenario::ManyPools => 256,
            _ => clients.min(4_096),
        })
        .max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    // Without retries: every 429 and 503 is seen and counted, never hidden.
    let base = Client::with_http(&config.url, http.clone())?
        .with_retry_policy(RetryPolicy::none())
        .with_request_timeout(Duration::from_secs(30));
    let plan = SetupPlan {
        pools: shape.pools,
        members: shape.members,
        capacity: shape.capacity,
        timeout_s: shape.timeout_s,
        operator_token: config.operator_token.clone(),
        concurrency: config.setup_concurrency,
    };
    let pools = setup::setup(&base, &http, &plan).await?;
    Ok(Prepared {
        config,
        pools,
        shape,
        http,
        connections,
    })
}

/// Resident memory of `pid` in bytes, read from /proc.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1_024)
}

/// Drives every client of `prepared` for `duration`, at `rate` (open loop) or closed loop.
pub async fn drive(prepared: &Prepared, rate: Option<f64>, duration: Duration) -> Report {
    let config = &prepared.config;
    let scenario = config.scenario;
    let capacities: Vec<u64> = prepared.pools.iter().map(|p| p.capacity).collect();
    let checker = Arc::new(Checker::new(&capacities));
    let rec = Arc::new(Recorder::new());
    let permits = Arc::new(Semaphore::new(prepared.connections));
    let knobs = Arc::new(config.knobs.clone());
    let clients: usize = prepared.pools.iter().map(|p| p.members.len()).sum();
    let ready = Arc::new(Barrier::new(clients + 1));
    let (start_tx, start_rx) = tokio::sync::watch::channel(None::<Instant>);
    let per_client = rate.map(|r| Duration::from_secs_f64(clients as f64 / r.max(1e-3)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut index = 0usize;
    for (p, pool) in prepared.pools.iter().enumerate() {
        for member in &pool.members {
            let ctx = Ctx {
                client: member.clone(),
                pool: p,
                pool_id: pool.id.clone(),
                index,
                checker: checker.clone(),
                rec: rec.clone(),
                permits: permits.clone(),
                knobs: knobs.clone(),
            };
            // Closed-loop lecture-start: every client asks within the first second.
            let spread = match (scenario, per_client) {
                (_, Some(every)) => every.mul_f64(index as f64 / clients as f64),
                (Scenario::LectureStart, None) => {
                    Duration::from_secs_f64(index as f64 / clients as f64)
                }
                _ => Duration::ZERO,
            };
            let (ready, mut start_rx) = (ready.clone(), start_rx.clone());
            tasks.spawn(async move {
                let held = prepare_client(scenario, &ctx).await;
                ready.wait().await;
                let start = match start_rx.wait_for(|s| s.is_some()).await {
                    Ok(s) => s.unwrap_or_else(Instant::now),
                    Err(_) => return,
                };
                let pacer = Pacer::new(start, start + duration, per_client, spread);
                client_loop(scenario, ctx, pacer, held).await;
            });
            index += 1;
        }
    }
    ready.wait().await;
    rec.reset();
    let cpu_before = process_cpu();
    let started = Instant::now();
    let end = started + duration;
    let _ = start_tx.send(Some(started));

    let bar = if config.progress {
        let bar = ProgressBar::new(duration.as_millis() as u64);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let main = scenario.main_op();
    let main_index = Op::ALL.iter().position(|o| *o == main).unwrap_or(0);
    let mut rss = None;
    let tick = Duration::from_millis(500);
    let mut last = Instant::now();
    loop {
        let now = Instant::now();
        let rss_at = end.checked_sub(tick.min(duration / 10)).unwrap_or(end);
        let next = (last + tick).min(if rss.is_none() { rss_at.max(now) } else { end });
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = async { while tasks.join_next().await.is_some() {} } => break,
        }
        if rss.is_none() && Instant::now() >= rss_at {
            rss = config.broker_pid.and_then(resident_bytes);
        }
        if Instant::now() >= last + tick {
            let seen = rec.tick();
            let (n, p99) = seen[main_index];
            let secs = last.elapsed().as_secs_f64();
            last = Instant::now();
            bar.set_position(started.elapsed().as_millis().min(duration.as_millis()) as u64);
            bar.set_message(format!(
                "{} {:.0}/s  p99 {:.2} ms  errors {}  violations {}",
                main.name(),
                n as f64 / secs,
                p99,
                rec.error_total(),
                checker.violations().1
            ));
        }
    }
    bar.finish_and_clear();
    // heartbeat-storm closes all its seats after the window (a million take minutes):
    // its rates are over the window itself.
    let elapsed = match scenario {
        Scenario::HeartbeatStorm => started.elapsed().min(duration),
        _ => started.elapsed(),
    };
    let cpu = process_cpu().saturating_sub(cpu_before);
    let _ = end;

    let mut extra = std::collections::BTreeMap::new();
    extra.insert(
        "peak_seats_held".to_owned(),
        (0..prepared.pools.len())
            .map(|p| checker.peak_held(p))
            .sum::<u64>() as f64,
    );
    if let Some(bytes) = rss {
        extra.insert("broker_rss_mib".to_owned(), bytes as f64 / 1_048_576.0);
    }
    if scenario == Scenario::CrashChurn {
        crash_churn_end(prepared, &rec, &checker, &mut extra).await;
    }
    let requests = rec.requests.load(std::sync::atomic::Ordering::Relaxed);
    let ops = rec.summary(elapsed);
    let pairs = rec.pairs.load(std::sync::atomic::Ordering::Relaxed);
    let (violations, violation_count) = checker.violations();
    let take = ops.get(Op::Take.name());
    Report {
        scenario: scenario.name().to_owned(),
        url: config.url.clone(),
        clients,
        rate,
        elapsed_s: elapsed.as_secs_f64(),
        pairs,
        pairs_per_s: pairs as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: take.map_or(0.0, |t| t.p50_ms),
        p99_ms: take.map_or(0.0, |t| t.p99_ms),
        refusals: rec.refusals.load(std::sync::atomic::Ordering::Relaxed),
        requests,
        ops,
        errors: rec.errors(),
        violations,
        violation_count,
        client_cpu_us_per_request: cpu.as_secs_f64() * 1e6 / requests.max(1) as f64,
        extra,
    }
}

/// crash-churn's end: once every vanished seat's deadline has passed, the pool must have
/// freed them all (S4); and grants beyond capacity and closes prove that seats were reused.
async fn crash_churn_end(
    prepared: &Prepared,
    rec: &Recorder,
    checker: &Checker,
    extra: &mut std::collections::BTreeMap<String, f64>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let ghosts = rec.ghosts.load(Relaxed);
    let (grants, closes) = (rec.grants.load(Relaxed), rec.closes.load(Relaxed));
    let capacity: u64 = prepared.pools.iter().map(|p| p.capacity).sum();
    extra.insert("ghost_sessions".to_owned(), ghosts as f64);
    extra.insert(
        "expired_and_reused_at_least".to_owned(),
        grants.saturating_sub(capacity + closes) as f64,
    );
    let Some(deadline) = rec.last_deadline() else {
        return;
    };
    // The expiry timer fires at the deadline; give it a second on a loaded machine.
    let settle = deadline + Duration::from_millis(1_500);
    let mut left = None;
    while Instant::now() < settle + Duration::from_secs(3) {
        if Instant::now() >= settle {
            left = setup::in_use(&prepared.http, &prepared.config.url, &prepared.pools[0]).await;
            if left == Some(0) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    extra.insert(
        "seats_in_use_after_deadlines".to_owned(),
        left.map_or(-1.0, |l| l as f64),
    );
    match left {
        Some(0) => {}
        Some(n) => checker.violation(format!(
            "S4: {n} seats still in use after every vanished seat's deadline passed \
             (clients hold {})",
            checker.held(0)
        )),
        None => checker.violation("S4: the pool's seats in use could not be read".to_owned()),
    }
}

/// Prepares and drives one run.
pub async fn run(config: RunConfig) -> Result<Report, RunError> {
    let (rate, duration) = (config.rate, config.duration);
    let prepared = prepare(config).await?;
    Ok(drive(&prepared, rate, duration).await)
}
