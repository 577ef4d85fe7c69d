//! The command line (clap): `run`, `compare`, `sweep` and `failover`, and what each does
//! with its flags. Exit codes: 0 when every invariant held, 1 when one was broken, 2 when
//! the run could not be made (bad flags, broker unreachable, setup refused).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::compare::{compare_best, Candidate, Target};
use crate::failover::FailoverConfig;
use crate::procs::{self, Backend, OPERATOR_TOKEN};
use crate::runner::{self, RunConfig};
use crate::scenario::{Knobs, Scenario};
use crate::targets::Targets;

const SETUP_NOTE: &str = "Setup creates every account through the API (argon2-hashed \
passwords) from one address: thousands of accounts need a broker started with a low cost \
and no per-address limit on accounts and sign-ins, such as \
SEATBROKER__AUTH__ARGON2_M_KIB=8 SEATBROKER__AUTH__ARGON2_T=1 \
SEATBROKER__LIMITS__ACCOUNTS_PER_ADDRESS_PER_HOUR=0 \
SEATBROKER__LIMITS__LOGIN_PER_ADDRESS_PER_HOUR=0. `compare` and `sweep` start their broker \
that way.";

/// Load tester of the seatbroker.
#[derive(Debug, Parser)]
#[command(name = "seatbroker-load", version, about, after_help = SETUP_NOTE)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads of the load generator (1: a single-threaded runtime, the cheapest).
    #[arg(long, global = true, default_value_t = 1)]
    pub threads: usize,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a scenario against a running broker and checks its invariants.
    #[command(after_help = SETUP_NOTE)]
    Run(RunArgs),
    /// Starts the release broker and a null broker on free ports (and, with --peer, the
    /// Redis-semaphore peer) and runs the same scenario against each; writes {"broker":
    /// {pairs_per_s, p50_ms, p99_ms}, "null": {...}, "ratio"} (and "peer", "ratio_to_peer",
    /// "p99_ratio_to_peer").
    #[command(after_help = SETUP_NOTE)]
    Compare(CompareArgs),
    /// Raises the offered rate step by step against the broker and the null broker and draws
    /// p50/p99 latency against throughput as an SVG.
    #[command(after_help = SETUP_NOTE)]
    Sweep(SweepArgs),
    /// Starts a cluster (one durable redis-server, N broker nodes), drives the scenario over
    /// every node in turn, kills -9 the node owning the hot pool part-way, and reports the
    /// gap: kill_at_s, first_success_after_kill_ms, worst_gap_after_kill_ms.
    Failover(FailoverArgs),
}

/// The scenario and its knobs.
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// The scenario.
    #[arg(long, value_enum, default_value = "hot-pool")]
    pub scenario: Scenario,
    /// Logical clients (many-pools: pools × members instead).
    #[arg(long, default_value_t = 256)]
    pub clients: usize,
    /// How long to measure: 10s, 500ms, 2m (a bare number is seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Offered rate per second (open loop, latency from when each request was due);
    /// closed loop without it.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seats per pool (hot-pool: clients, so every take is granted; less makes it contended,
    /// refusals are then counted apart; lecture-start, crash-churn: clients/2).
    #[arg(long)]
    pub capacity: Option<u64>,
    /// Pools (many-pools: 1000; heartbeat-storm: 1).
    #[arg(long)]
    pub pools: Option<usize>,
    /// Members per pool (many-pools: 10).
    #[arg(long)]
    pub members: Option<usize>,
    /// Seats each heartbeat-storm client holds (one device each).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Requests in flight at once over a bounded pool of keep-alive connections (default:
    /// one per client; many-pools: 256).
    #[arg(long)]
    pub connections: Option<usize>,
    /// `wait_s` of lecture-start and crash-churn seat requests.
    #[arg(long, default_value_t = 5)]
    pub wait_s: u64,
    /// The compressed heartbeat interval of lecture-start and crash-churn.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// Heartbeats a lecture-start client sends before it closes.
    #[arg(long, default_value_t = 2)]
    pub beats: u32,
    /// crash-churn's pool heartbeat timeout, seconds.
    #[arg(long, default_value_t = 2)]
    pub timeout_s: u64,
    /// Share of crash-churn sessions that vanish without closing.
    #[arg(long, default_value_t = 0.5)]
    pub crash_ratio: f64,
    /// Share of heartbeat-storm's ticks that close a seat and take a new one on a fresh
    /// device instead of a heartbeat (churn; 0: heartbeats only).
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// How long hot-pool and many-pools clients hold a seat before closing it.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub hold: Duration,
    /// Setup requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub setup_concurrency: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `run`'s flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The broker's base URL.
    #[arg(long, required_unless_present = "targets")]
    pub url: Option<String>,
    /// Instead of --url: several brokers' base URLs, comma-separated (broker nodes on one
    /// Redis, sharing the token-signing key). Setup goes to the first; each client's requests
    /// go to them in turn, and on to the next one after a connection error or a 503.
    #[arg(long, value_name = "URL,URL,...", value_parser = Targets::parse, conflicts_with = "url")]
    pub targets: Option<Targets>,
    /// The broker's operator token (for setup).
    #[arg(long, env = "SEATBROKER__OPERATOR__TOKEN", hide_env_values = true)]
    pub operator_token: String,
    /// The scenario and its knobs.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A process whose resident memory is read from /proc at the end of the measured phase.
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Writes the report as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Which broker `compare` and `sweep` start.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The broker's store.
    #[arg(long, value_enum, default_value = "embedded")]
    pub backend: Backend,
    /// The broker binary (default: this workspace's release build, rebuilt when missing or
    /// stale).
    #[arg(long)]
    pub broker_bin: Option<PathBuf>,
}

/// `compare`'s flags.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario and its knobs.
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The broker to start.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Unmeasured warm-up before each side's measured runs.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Measured runs of `--duration` on each side, alternating; each side is its median.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// The HTTP worker counts to try on every side (comma-separated); each side is measured
    /// under every one and reported at its best. Default: 1 and all cores.
    #[arg(long, value_delimiter = ',')]
    pub workers: Vec<usize>,
    /// Also measures the Redis-semaphore peer (issue 19: a sorted set per pool, a Lua acquire
    /// script, on its own redis-server with `appendfsync always`) under the same --workers,
    /// and reports broker ÷ peer of pairs/s and of p99.
    #[arg(long)]
    pub peer: bool,
    /// Writes the comparison as JSON here (every round of both sides, with its errors and
    /// first violations), and the broker's standard error beside it (`NAME.broker.log`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `sweep`'s flags.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario and its knobs (open loop; the rate is swept).
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The broker to start.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// First offered rate (pairs per second).
    #[arg(long, default_value_t = 2_000.0)]
    pub from: f64,
    /// Last offered rate.
    #[arg(long, default_value_t = 30_000.0)]
    pub to: f64,
    /// Rates from `from` to `to`.
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// How long each rate (or client count) is measured.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub step_duration: Duration,
    /// Sweep these client counts (closed loop) instead of rates, and draw pairs per second
    /// against clients: `--client-counts 16,64,256,1024`.
    #[arg(long, value_delimiter = ',')]
    pub client_counts: Vec<usize>,
    /// With `--client-counts`: the Redis-semaphore peer as a third server.
    #[arg(long, requires = "client_counts")]
    pub peer: bool,
    /// With `--client-counts`: unmeasured load before each count's measurement.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// The SVG to draw (the points go beside it as .json).
    #[arg(long, default_value = "sweep.svg")]
    pub out: PathBuf,
}

/// hot-pool's capacity in `failover` unless `--capacity` is given: a small pool with many
/// members, as in a lecture hall.
pub const FAILOVER_CAPACITY: u64 = 10;

/// `failover`'s flags.
#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// The scenario and its knobs (hot-pool's capacity here: 10 unless given).
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Broker nodes to start on one Redis.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// When to kill the pool's owner, from the start of the measured run (default: a third
    /// of --duration); a bare number is seconds.
    #[arg(long, visible_alias = "kill-after-s", value_parser = parse_duration)]
    pub kill_after: Option<Duration>,
    /// How long a request every node turned away (503, connection error) is sent round them
    /// again, 50 ms apart, before it counts as failed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub patience: Duration,
    /// Fail the run (exit 1) when the worst gap after the kill is longer than this.
    #[arg(long, value_parser = parse_duration)]
    pub max_gap: Option<Duration>,
    /// The broker binary (default: this workspace's release build, rebuilt when missing or
    /// stale).
    #[arg(long)]
    pub broker_bin: Option<PathBuf>,
    /// Writes the report as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl FailoverArgs {
    /// The failover these flags describe (the nodes' URLs are filled in once they run).
    pub fn config(&self) -> FailoverConfig {
        let mut run = self.scenario.config("", OPERATOR_TOKEN);
        if self.scenario.scenario == Scenario::HotPool && run.knobs.capacity.is_none() {
            run.knobs.capacity = Some(FAILOVER_CAPACITY.min(run.knobs.clients.max(1) as u64));
        }
        run.knobs.patience = self.patience;
        FailoverConfig {
            nodes: self.nodes,
            kill_after: self.kill_after.unwrap_or(run.duration / 3),
            max_gap: self.max_gap,
            run,
        }
    }
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration such as 10s or 500ms"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1_000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3_600.0,
        other => return Err(format!("unknown unit {other:?} (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

impl ScenarioArgs {
    /// The run configuration these flags describe, against `url`.
    pub fn config(&self, url: &str, operator_token: &str) -> RunConfig {
        let mut config = RunConfig::new(url, self.scenario, operator_token);
        config.knobs = Knobs {
            clients: self.clients,
            capacity: self.capacity,
            pools: self.pools,
            members: self.members,
            devices: self.devices,
            wait_s: self.wait_s,
            heartbeat_interval: self.heartbeat_interval,
            beats: self.beats,
            timeout_s: self.timeout_s,
            crash_ratio: self.crash_ratio,
            churn: self.churn.clamp(0.0, 1.0),
            hold: self.hold,
            patience: Duration::ZERO,
        };
        config.duration = self.duration;
        config.rate = self.rate;
        config.connections = self.connections;
        config.setup_concurrency = self.setup_concurrency;
        config.progress = !self.quiet;
        config
    }
}

fn write_json(path: &Option<PathBuf>, value: &impl serde::Serialize) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Runs the parsed command line; the process's exit code.
pub fn execute(cli: Cli) -> i32 {
    let command = cli.command;
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return 2;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Run(args) => run(args).await,
            Command::Compare(args) => compare(args).await,
            Command::Sweep(args) => sweep(args).await,
            Command::Failover(args) => failover(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seatbroker-load: {e}");
            2
        }
    }
}

impl RunArgs {
    /// The broker setup goes to, and the further ones the requests go to in turn.
    fn targets(&self) -> Result<(&str, Vec<String>), String> {
        match (&self.url, &self.targets) {
            (Some(url), None) => Ok((url, Vec::new())),
            (None, Some(targets)) => Ok((targets.first(), targets.rest().to_vec())),
            (Some(_), Some(_)) => Err("give --url or --targets, not both".to_owned()),
            (None, None) => Err("give --url or --targets".to_owned()),
        }
    }
}

async fn run(args: RunArgs) -> Result<i32, String> {
    let (url, more_targets) = args.targets()?;
    let mut config = args.scenario.config(url, &args.operator_token);
    config.more_targets = more_targets;
    config.broker_pid = args.broker_pid;
    let report = runner::run(config).await.map_err(|e| e.to_string())?;
    print!("{}", report.table());
    write_json(&args.out, &report)?;
    Ok(if report.passed() { 0 } else { 1 })
}

async fn compare(args: CompareArgs) -> Result<i32, String> {
    let binary =
        procs::broker_binary(args.broker.broker_bin.as_deref()).map_err(|e| e.to_string())?;
    let mut workers = if args.workers.is_empty() {
        vec![
            1,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        ]
    } else {
        args.workers.clone()
    };
    workers.retain(|w| *w > 0);
    workers.sort_unstable();
    workers.dedup();
    if workers.is_empty() {
        return Err("--workers needs a count above 0".to_owned());
    }
    let label = |w: usize| format!("{w} worker{}", if w == 1 { "" } else { "s" });
    let (mut brokers, mut nulls, mut peers) = (Vec::new(), Vec::new(), Vec::new());
    for &w in &workers {
        let b = procs::start_broker_with_workers(&binary, args.broker.backend, Some(w))
            .map_err(|e| e.to_string())?;
        let n = procs::start_null_broker_with_workers(Some(w)).map_err(|e| e.to_string())?;
        brokers.push((w, b));
        nulls.push((w, n));
        if args.peer {
            let p = procs::start_peer_with_workers(Some(w)).map_err(|e| e.to_string())?;
            peers.push((w, p));
        }
    }
    let candidates = |servers: &[(usize, procs::Spawned)]| -> Vec<Candidate> {
        servers
            .iter()
            .map(|(w, s)| Candidate {
                target: Target {
                    url: s.url(),
                    pid: Some(s.pid()),
                },
                settings: label(*w),
            })
            .collect()
    };
    let config = args.scenario.config(&brokers[0].1.url(), OPERATOR_TOKEN);
    let backend = args.broker.backend.name();
    let comparison = compare_best(
        &config,
        &candidates(&brokers),
        &candidates(&nulls),
        &candidates(&peers),
        backend,
        args.warmup,
        args.rounds,
    )
    .await
    .map_err(|e| e.to_string())?;

    print!("{}", comparison.broker.report.table());
    print!("{}", comparison.table());
    write_json(&args.out, &comparison)?;
    if let Some(out) = &args.out {
        // The broker's own account of the run (warnings, failed commits), beside the report.
        let path = out.with_extension("broker.log");
        let mut text = String::new();
        for (w, b) in &brokers {
            text.push_str(&format!("== the broker with {} ==\n", label(*w)));
            for line in b.log_lines() {
                text.push_str(&line);
                text.push('\n');
            }
        }
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("the broker's log: {}", path.display());
    }
    Ok(if comparison.passed() { 0 } else { 1 })
}

async fn failover(args: FailoverArgs) -> Result<i32, String> {
    let binary = procs::broker_binary(args.broker_bin.as_deref()).map_err(|e| e.to_string())?;
    let report = crate::failover::failover(&binary, args.config())
        .await
        .map_err(|e| e.to_string())?;
    print!("{}", report.table());
    write_json(&args.out, &report)?;
    Ok(if report.passed() { 0 } else { 1 })
}

async fn sweep(args: SweepArgs) -> Result<i32, String> {
    if !args.client_counts.is_empty() {
        return sweep_clients(args).await;
    }
    let binary =
        procs::broker_binary(args.broker.broker_bin.as_deref()).map_err(|e| e.to_string())?;
    let rates = crate::sweep::rates(args.from, args.to, args.steps);
    let mut config = args.scenario.config("", OPERATOR_TOKEN);
    config.progress = false;
    let mut all = Vec::new();
    for name in ["broker", "null broker"] {
        let server = if name == "broker" {
            procs::start_broker(&binary, args.broker.backend)
        } else {
            procs::start_null_broker()
        }
        .map_err(|e| e.to_string())?;
        let target = Target {
            url: server.url(),
            pid: Some(server.pid()),
        };
        let points = crate::sweep::sweep_target(&config, &target, &rates, args.step_duration)
            .await
            .map_err(|e| e.to_string())?;
        for p in &points {
            eprintln!(
                "{name}: offered {:.0}/s reached {:.0}/s  p50 {:.2} ms  p99 {:.2} ms",
                p.offered, p.reached, p.p50_ms, p.p99_ms
            );
        }
        all.push((name, points));
    }
    let series: Vec<(&str, &[crate::sweep::Point])> =
        all.iter().map(|(n, p)| (*n, p.as_slice())).collect();
    let title = format!(
        "{} ({:?}), {} clients: take-seat latency against throughput",
        args.scenario.scenario.name(),
        args.broker.backend,
        args.scenario.clients
    );
    crate::sweep::draw(&args.out, &title, &series)?;
    write_points(&args.out, &series)?;
    let broken: u64 = all
        .iter()
        .filter(|(n, _)| *n == "broker")
        .flat_map(|(_, p)| p.iter().map(|p| p.violations))
        .sum();
    Ok(if broken == 0 { 0 } else { 1 })
}

/// Writes a sweep's points beside its drawing `svg` (as .json, by series) and says so.
fn write_points<P: serde::Serialize>(svg: &Path, series: &[(&str, &[P])]) -> Result<(), String> {
    let json: serde_json::Value = series
        .iter()
        .map(|(n, p)| ((*n).to_owned(), serde_json::json!(p)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    write_json(&Some(svg.with_extension("json")), &json)?;
    println!("drew {}", svg.display());
    Ok(())
}

/// `sweep --client-counts`: the broker, the null broker and (with `--peer`) the peer, each
/// with its default HTTP workers, over the client counts in turn; pairs per second against
/// clients as an SVG, the points beside it as JSON.
async fn sweep_clients(args: SweepArgs) -> Result<i32, String> {
    let binary =
        procs::broker_binary(args.broker.broker_bin.as_deref()).map_err(|e| e.to_string())?;
    let mut servers = vec![
        (
            format!("broker ({})", args.broker.backend.name()),
            procs::start_broker(&binary, args.broker.backend).map_err(|e| e.to_string())?,
        ),
        (
            "null broker".to_owned(),
            procs::start_null_broker().map_err(|e| e.to_string())?,
        ),
    ];
    if args.peer {
        servers.push((
            "Redis-semaphore peer".to_owned(),
            procs::start_peer_with_workers(None).map_err(|e| e.to_string())?,
        ));
    }
    let targets: Vec<Target> = servers
        .iter()
        .map(|(_, s)| Target {
            url: s.url(),
            pid: Some(s.pid()),
        })
        .collect();
    let mut config = args.scenario.config("", OPERATOR_TOKEN);
    config.progress = false;
    let mut counts = args.client_counts.clone();
    counts.retain(|c| *c > 0);
    let all =
        crate::sweep::sweep_clients(&config, &targets, &counts, args.warmup, args.step_duration)
            .await
            .map_err(|e| e.to_string())?;
    for ((name, _), points) in servers.iter().zip(&all) {
        for p in points {
            eprintln!(
                "{name}: {} clients  {:.0} pairs/s  take p99 {:.2} ms",
                p.clients, p.pairs_per_s, p.p99_ms
            );
        }
    }
    let series: Vec<(&str, &[crate::sweep::ClientsPoint])> = servers
        .iter()
        .zip(&all)
        .map(|((name, _), points)| (name.as_str(), points.as_slice()))
        .collect();
    let title = format!(
        "{}, broker on {}: pairs per second against clients",
        args.scenario.scenario.name(),
        args.broker.backend.name()
    );
    crate::sweep::draw_clients(&args.out, &title, &series)?;
    write_points(&args.out, &series)?;
    let broken: u64 = all
        .first()
        .map_or(0, |points| points.iter().map(|p| p.violations).sum());
    Ok(if broken == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn the_compare_command_of_the_issue_parses() {
        let cli = Cli::try_parse_from([
            "seatbroker-load",
            "compare",
            "--scenario",
            "hot-pool",
            "--duration",
            "10s",
            "--out",
            "report.json",
        ])
        .expect("parses");
        let Command::Compare(args) = cli.command else {
            panic!("compare");
        };
        assert_eq!(args.scenario.duration, Duration::from_secs(10));
        assert_eq!(args.broker.backend, Backend::Embedded);
        assert!(!args.peer, "the peer only when asked for");
    }

    #[test]
    fn compare_takes_the_peer_as_a_third_side_when_asked() {
        let cli = Cli::try_parse_from([
            "seatbroker-load",
            "compare",
            "--scenario",
            "hot-pool",
            "--backend",
            "redis",
            "--peer",
        ])
        .expect("parses");
        let Command::Compare(args) = cli.command else {
            panic!("compare");
        };
        assert!(args.peer);
        assert_eq!(args.broker.backend, Backend::Redis);
    }

    fn run_args(flags: &[&str]) -> Result<RunArgs, clap::Error> {
        let line = ["seatbroker-load", "run", "--operator-token", "t"];
        let cli = Cli::try_parse_from(line.iter().chain(flags))?;
        let Command::Run(args) = cli.command else {
            panic!("run");
        };
        Ok(args)
    }

    #[test]
    fn failover_kills_after_a_third_of_the_run_on_a_small_hot_pool_by_default() {
        let cli = Cli::try_parse_from(["seatbroker-load", "failover", "--duration", "9s"])
            .expect("parses");
        let Command::Failover(args) = cli.command else {
            panic!("failover");
        };
        let config = args.config();
        assert_eq!(config.nodes, 3);
        assert_eq!(config.kill_after, Duration::from_secs(3));
        assert_eq!(config.run.knobs.capacity, Some(FAILOVER_CAPACITY));
        assert_eq!(config.run.knobs.patience, Duration::from_secs(10));
        let cli = Cli::try_parse_from([
            "seatbroker-load",
            "failover",
            "--nodes",
            "4",
            "--kill-after-s",
            "1.5",
            "--capacity",
            "3",
        ])
        .expect("parses");
        let Command::Failover(args) = cli.command else {
            panic!("failover");
        };
        let config = args.config();
        assert_eq!(config.nodes, 4);
        assert_eq!(config.kill_after, Duration::from_millis(1_500));
        assert_eq!(config.run.knobs.capacity, Some(3));
    }

    #[test]
    fn run_takes_one_url_as_before() {
        let args = run_args(&["--url", "http://127.0.0.1:8080"]).expect("parses");
        assert_eq!(args.targets(), Ok(("http://127.0.0.1:8080", Vec::new())));
    }

    #[test]
    fn run_takes_a_list_of_targets_and_sets_up_on_the_first() {
        let args =
            run_args(&["--targets", "http://a:8080,http://b:8080/,http://c:8080"]).expect("parses");
        let (setup, others) = args.targets().expect("targets");
        assert_eq!(setup, "http://a:8080");
        assert_eq!(others, ["http://b:8080", "http://c:8080"]);
    }

    #[test]
    fn run_refuses_url_and_targets_together_or_neither() {
        let both = run_args(&["--url", "http://a:1", "--targets", "http://b:1"]).expect_err("both");
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        let neither = run_args(&[]).expect_err("neither");
        assert_eq!(
            neither.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn run_names_the_target_that_does_not_parse() {
        let err = run_args(&["--targets", "http://a:1,b:1:2"]).expect_err("bad URL");
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("\"b:1:2\""), "{err}");
    }
}
