//! `compare`: the same scenario against the broker and against the null broker, one after
//! the other on the same machine, and the ratio of their pairs per second. The command
//! starts both as child processes on free loopback ports (see `procs`); `compare_urls` does
//! the measuring and is what the tests call with brokers of their own.

use std::time::Duration;

use serde::Serialize;

use crate::runner::{drive, prepare, RunConfig, RunError};
use crate::stats::Report;

/// What one side of a comparison measured.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Side {
    /// Pairs (take + close) per second.
    pub pairs_per_s: f64,
    /// Take-seat median, ms.
    pub p50_ms: f64,
    /// Take-seat 99th percentile, ms.
    pub p99_ms: f64,
    /// Server CPU per pair, µs, when its process is known.
    pub server_cpu_us_per_pair: Option<f64>,
    /// The tester's CPU per request, µs.
    pub client_cpu_us_per_request: f64,
    /// Resident memory of the server at the end, MiB, when its process is known.
    pub server_rss_mib: Option<f64>,
    /// The full report of the run.
    pub report: Report,
}

/// The result of `compare`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Comparison {
    /// The scenario.
    pub scenario: String,
    /// The broker's store.
    pub backend: String,
    /// The broker.
    pub broker: Side,
    /// The null broker.
    pub null: Side,
    /// broker pairs/s ÷ null broker pairs/s.
    pub ratio: f64,
    /// Logical processors of this machine (client and servers share them).
    pub cpus: usize,
}

impl Comparison {
    /// Whether every invariant held on the broker (the null broker is not checked for
    /// capacity: it has none).
    pub fn passed(&self) -> bool {
        self.broker.report.passed()
    }

    /// A short table for people.
    pub fn table(&self) -> String {
        let row = |name: &str, s: &Side| {
            format!(
                "{:<12} {:>10.0} {:>9.2} {:>9.2} {:>14} {:>14.1}\n",
                name,
                s.pairs_per_s,
                s.p50_ms,
                s.p99_ms,
                s.server_cpu_us_per_pair
                    .map_or("-".to_owned(), |c| format!("{c:.1}")),
                s.client_cpu_us_per_request
            )
        };
        let mut t = format!(
            "{} ({}), {} CPUs shared by client and server\n{:<12} {:>10} {:>9} {:>9} {:>14} {:>14}\n",
            self.scenario, self.backend, self.cpus, "server", "pairs/s", "p50 ms", "p99 ms",
            "server µs/pair", "client µs/req"
        );
        t.push_str(&row("broker", &self.broker));
        t.push_str(&row("null broker", &self.null));
        t.push_str(&format!("ratio {:.1} %\n", self.ratio * 100.0));
        t
    }
}

/// One server to measure: its URL and, when it is a child of ours, its process.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL.
    pub url: String,
    /// Its process id, for CPU and memory.
    pub pid: Option<u32>,
}

/// Runs `config` (its URL is replaced) against `target`: setup, `warmup`, then the measured run.
pub async fn measure(
    config: &RunConfig,
    target: &Target,
    warmup: Duration,
) -> Result<Side, RunError> {
    let mut config = config.clone();
    config.url = target.url.clone();
    config.broker_pid = target.pid;
    let (rate, duration) = (config.rate, config.duration);
    let prepared = prepare(config).await?;
    if !warmup.is_zero() {
        let _ = drive(&prepared, rate, warmup).await;
    }
    let cpu_before = target.pid.and_then(crate::procs::process_cpu_of);
    let report = drive(&prepared, rate, duration).await;
    let cpu_after = target.pid.and_then(crate::procs::process_cpu_of);
    let server_cpu_us_per_pair = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if report.pairs > 0 => {
            Some(a.saturating_sub(b).as_secs_f64() * 1e6 / report.pairs as f64)
        }
        _ => None,
    };
    Ok(Side {
        pairs_per_s: report.pairs_per_s,
        p50_ms: report.p50_ms,
        p99_ms: report.p99_ms,
        server_cpu_us_per_pair,
        client_cpu_us_per_request: report.client_cpu_us_per_request,
        server_rss_mib: target
            .pid
            .and_then(crate::runner::resident_bytes)
            .map(|b| b as f64 / 1_048_576.0),
        report,
    })
}

/// Measures `config` against the broker, then against the null broker.
pub async fn compare_urls(
    config: &RunConfig,
    broker: &Target,
    null: &Target,
    backend: &str,
    warmup: Duration,
) -> Result<Comparison, RunError> {
    let broker_side = measure(config, broker, warmup).await?;
    let null_side = measure(config, null, warmup).await?;
    Ok(Comparison {
        scenario: config.scenario.name().to_owned(),
        backend: backend.to_owned(),
        ratio: broker_side.pairs_per_s / null_side.pairs_per_s.max(1e-9),
        broker: broker_side,
        null: null_side,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}
