//! A run: build the shared connections, set the scenario's pools up through the API
//! (`prepare`), then drive every logical client for the run's duration (`drive`), with a
//! live progress line (rate, errors, p99) and the report at the end. `prepare` and `drive`
//! are apart so that a sweep sets up once and drives at many rates. Setup goes to the first
//! target; with several, each client's requests then go to them in turn.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use seatbroker_client::{Client, RetryPolicy};
use tokio::sync::{oneshot, watch, Barrier, Semaphore};
use tokio::task::JoinSet;

use crate::checker::Checker;
use crate::scenario::{client_loop, prepare_client, Ctx, Knobs, Pacer, Scenario, Shape};
use crate::setup::{self, PoolSetup, SetupError, SetupPlan};
use crate::stats::{process_cpu, Op, Recorder, Report};
use crate::targets::RoundRobin;

/// Everything a run is given.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The broker's base URL: setup goes here, and so does every request when
    /// `more_targets` is empty.
    pub url: String,
    /// Further brokers (issue 17: nodes on one Redis, sharing the token-signing key): the
    /// run's requests go to `url` and each of these in turn.
    pub more_targets: Vec<String>,
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
    /// Each logical client's sessions on the targets, numbered pool by pool.
    sessions: Vec<Arc<RoundRobin<Client>>>,
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
    /// A comparison was given no server of one side.
    #[error("nothing to measure: no {0} was given")]
    NoServer(&'static str),
}

impl RunConfig {
    /// A configuration with defaults for `scenario` against `url`.
    pub fn new(url: &str, scenario: Scenario, operator_token: &str) -> RunConfig {
        RunConfig {
            url: url.to_owned(),
            more_targets: Vec::new(),
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

    /// Every target, when there are several (a single one is `url` alone).
    pub fn targets(&self) -> Vec<String> {
        if self.more_targets.is_empty() {
            return Vec::new();
        }
        std::iter::once(&self.url)
            .chain(&self.more_targets)
            .cloned()
            .collect()
    }
}

impl Prepared {
    /// Logical clients.
    pub fn clients(&self) -> usize {
        self.sessions.len()
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
    let base = target_client(&config.url, &http)?;
    let others = config
        .more_targets
        .iter()
        .map(|url| target_client(url, &http))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = SetupPlan {
        pools: shape.pools,
        members: shape.members,
        capacity: shape.capacity,
        timeout_s: shape.timeout_s,
        operator_token: config.operator_token.clone(),
        concurrency: config.setup_concurrency,
    };
    let pools = setup::setup(&base, &http, &plan).await?;
    let sessions = client_sessions(&pools, &others)?;
    Ok(Prepared {
        config,
        pools,
        shape,
        sessions,
        http,
        connections,
    })
}

/// A client of the broker at `url` on the run's connections.
fn target_client(url: &str, http: &reqwest::Client) -> Result<Client, RunError> {
    // Without retries: every 429 and 503 is seen and counted, never hidden (moving on to
    // the next target is counted too, as a failover).
    Ok(Client::with_http(url, http.clone())?
        .with_retry_policy(RetryPolicy::none())
        .with_request_timeout(Duration::from_secs(30)))
}

/// Every member's sessions on the setup target and on `others`, numbered pool by pool as
/// `drive` numbers the clients; client `n` starts on target `n` (modulo their number), so
/// the clients spread over the targets from the first request on.
fn client_sessions(
    pools: &[PoolSetup],
    others: &[Client],
) -> Result<Vec<Arc<RoundRobin<Client>>>, RunError> {
    let mut sessions = Vec::new();
    for member in pools.iter().flat_map(|pool| &pool.members) {
        let (first, elsewhere) = member.sessions_on(others)?;
        sessions.push(Arc::new(RoundRobin::new(first, elsewhere, sessions.len())));
    }
    Ok(sessions)
}

/// Resident memory of `pid` in bytes, read from /proc.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1_024)
}

/// Drives every client of `prepared` for `duration`, at `rate` (open loop) or closed loop:
/// starts one task per client, lets them all go at once, follows them to the end, reports.
pub async fn drive(prepared: &Prepared, rate: Option<f64>, duration: Duration) -> Report {
    drive_watched(prepared, rate, duration, None).await
}

/// When a drive's measured phase started, and its recorder: what `drive_watched` tells the
/// code that acts during the run (the `failover` command, which kills a node and marks the
/// moment in `Recorder::gaps`).
#[derive(Debug, Clone)]
pub struct DriveStarted {
    /// When the clients were let go.
    pub at: Instant,
    /// What the run records.
    pub rec: Arc<Recorder>,
}

/// Like `drive`, telling `started` (when given) the moment the clients are let go.
pub async fn drive_watched(
    prepared: &Prepared,
    rate: Option<f64>,
    duration: Duration,
    started: Option<oneshot::Sender<DriveStarted>>,
) -> Report {
    let capacities: Vec<u64> = prepared.pools.iter().map(|p| p.capacity).collect();
    let checker = Arc::new(Checker::new(&capacities));
    let rec = Arc::new(Recorder::new());
    let mut launched = spawn_clients(prepared, &checker, &rec, rate, duration);
    let started = {
        let at = launched.start(&rec).await;
        if let Some(tell) = started {
            let _ = tell.send(DriveStarted {
                at: at.at,
                rec: rec.clone(),
            });
        }
        at
    };
    let rss = follow(
        prepared,
        &mut launched,
        &checker,
        &rec,
        started.at,
        duration,
    )
    .await;
    let elapsed = measured_time(prepared.config.scenario, started.at, duration);
    let cpu = process_cpu().saturating_sub(started.cpu_before);
    let extra = end_figures(prepared, &checker, &rec, rss).await;
    report(prepared, &checker, &rec, rate, elapsed, cpu, extra)
}

/// The client tasks of one drive, each prepared and waiting for the start.
struct Launched {
    tasks: JoinSet<()>,
    ready: Arc<Barrier>,
    /// Kept until the drive ends: a client that has not yet looked must still find the start.
    start: watch::Sender<Option<Instant>>,
}

/// When the measured phase started, and this process's CPU time then.
struct Started {
    at: Instant,
    cpu_before: Duration,
}

/// Spawns one task per logical client: it prepares (opens its connections, takes the seats
/// it holds from the start), waits for the start, then runs the scenario's loop until
/// `duration` has passed.
fn spawn_clients(
    prepared: &Prepared,
    checker: &Arc<Checker>,
    rec: &Arc<Recorder>,
    rate: Option<f64>,
    duration: Duration,
) -> Launched {
    let scenario = prepared.config.scenario;
    let permits = Arc::new(Semaphore::new(prepared.connections));
    let knobs = Arc::new(prepared.config.knobs.clone());
    let clients = prepared.clients();
    let ready = Arc::new(Barrier::new(clients + 1));
    let (start, start_rx) = watch::channel(None::<Instant>);
    let per_client = rate.map(|r| Duration::from_secs_f64(clients as f64 / r.max(1e-3)));
    let mut tasks = JoinSet::new();
    let pool_of_each_client = prepared
        .pools
        .iter()
        .enumerate()
        .flat_map(|(p, pool)| std::iter::repeat_n((p, pool), pool.members.len()));
    for (index, ((p, pool), sessions)) in pool_of_each_client.zip(&prepared.sessions).enumerate() {
        let ctx = Ctx {
            sessions: sessions.clone(),
            pool: p,
            pool_id: pool.id.clone(),
            index,
            checker: checker.clone(),
            rec: rec.clone(),
            permits: permits.clone(),
            knobs: knobs.clone(),
        };
        let spread = first_request_offset(scenario, per_client, index, clients);
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
    }
    Launched {
        tasks,
        ready,
        start,
    }
}

/// How long after the start client `index` of `clients` sends its first request: spread
/// over one client's interval in open loop; in closed-loop lecture-start every client asks
/// within the first second; the other closed loops at once.
fn first_request_offset(
    scenario: Scenario,
    per_client: Option<Duration>,
    index: usize,
    clients: usize,
) -> Duration {
    match (scenario, per_client) {
        (_, Some(every)) => every.mul_f64(index as f64 / clients as f64),
        (Scenario::LectureStart, None) => Duration::from_secs_f64(index as f64 / clients as f64),
        _ => Duration::ZERO,
    }
}

impl Launched {
    /// Waits until every client is prepared, forgets what their preparation recorded, and
    /// lets them all go.
    async fn start(&self, rec: &Recorder) -> Started {
        self.ready.wait().await;
        rec.reset();
        let cpu_before = process_cpu();
        let at = Instant::now();
        let _ = self.start.send(Some(at));
        Started { at, cpu_before }
    }
}

/// Follows the clients until every one is done, updating the progress line (when shown)
/// every half second; the broker's resident memory read shortly before the window ends,
/// when its process is known.
async fn follow(
    prepared: &Prepared,
    launched: &mut Launched,
    checker: &Checker,
    rec: &Recorder,
    started: Instant,
    duration: Duration,
) -> Option<u64> {
    let bar = progress_bar(prepared.config.progress, duration);
    let main = prepared.config.scenario.main_op();
    let main_index = Op::ALL.iter().position(|o| *o == main).unwrap_or(0);
    let end = started + duration;
    let mut rss = None;
    let tick = Duration::from_millis(500);
    let mut last = Instant::now();
    loop {
        let now = Instant::now();
        let rss_at = end.checked_sub(tick.min(duration / 10)).unwrap_or(end);
        let next = (last + tick).min(if rss.is_none() { rss_at.max(now) } else { end });
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = async { while launched.tasks.join_next().await.is_some() {} } => break,
        }
        if rss.is_none() && Instant::now() >= rss_at {
            rss = prepared.config.broker_pid.and_then(resident_bytes);
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
    rss
}

/// The live progress line on standard error, or a hidden one.
fn progress_bar(shown: bool, duration: Duration) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The time the rates are over: from the start until every client was done, except that
/// heartbeat-storm closes all its seats after the window (a million take minutes), so its
/// rates are over the window itself.
fn measured_time(scenario: Scenario, started: Instant, duration: Duration) -> Duration {
    match scenario {
        Scenario::HeartbeatStorm => started.elapsed().min(duration),
        _ => started.elapsed(),
    }
}

/// The report's scenario-specific figures, crash-churn's end checks (S4) included.
async fn end_figures(
    prepared: &Prepared,
    checker: &Checker,
    rec: &Recorder,
    rss: Option<u64>,
) -> BTreeMap<String, f64> {
    let mut extra = BTreeMap::new();
    extra.insert(
        "peak_seats_held".to_owned(),
        (0..prepared.pools.len())
            .map(|p| checker.peak_held(p))
            .sum::<u64>() as f64,
    );
    if let Some(bytes) = rss {
        extra.insert("broker_rss_mib".to_owned(), bytes as f64 / 1_048_576.0);
    }
    if !prepared.config.more_targets.is_empty() {
        let failovers = rec.failovers.load(Ordering::Relaxed);
        let on_503 = rec.failovers_on_503.load(Ordering::Relaxed);
        extra.insert("failovers".to_owned(), failovers as f64);
        extra.insert("failovers_on_503".to_owned(), on_503 as f64);
        extra.insert(
            "failovers_on_connection_error".to_owned(),
            failovers.saturating_sub(on_503) as f64,
        );
        if !prepared.config.knobs.patience.is_zero() {
            extra.insert(
                "rounds_repeated".to_owned(),
                rec.rounds_repeated.load(Ordering::Relaxed) as f64,
            );
        }
    }
    if prepared.config.scenario == Scenario::CrashChurn {
        crash_churn_end(prepared, rec, checker, &mut extra).await;
    }
    extra
}

/// The report of one drive, from what the recorder and the checker saw.
fn report(
    prepared: &Prepared,
    checker: &Checker,
    rec: &Recorder,
    rate: Option<f64>,
    elapsed: Duration,
    cpu: Duration,
    extra: BTreeMap<String, f64>,
) -> Report {
    let config = &prepared.config;
    let requests = rec.requests.load(Ordering::Relaxed);
    let ops = rec.summary(elapsed);
    let pairs = rec.pairs.load(Ordering::Relaxed);
    let (violations, violation_count) = checker.violations();
    let take = ops.get(Op::Take.name());
    Report {
        scenario: config.scenario.name().to_owned(),
        url: config.url.clone(),
        targets: config.targets(),
        clients: prepared.clients(),
        rate,
        elapsed_s: elapsed.as_secs_f64(),
        pairs,
        pairs_per_s: pairs as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms: take.map_or(0.0, |t| t.p50_ms),
        p99_ms: take.map_or(0.0, |t| t.p99_ms),
        refusals: rec.refusals.load(Ordering::Relaxed),
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
    extra: &mut BTreeMap<String, f64>,
) {
    let ghosts = rec.ghosts.load(Ordering::Relaxed);
    let (grants, closes) = (
        rec.grants.load(Ordering::Relaxed),
        rec.closes.load(Ordering::Relaxed),
    );
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
