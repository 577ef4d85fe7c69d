//! `compare`: the same scenario against the broker and against the null broker on the same
//! machine, in alternating rounds, and the ratio of their median pairs per second; with
//! `--peer`, against the Redis-semaphore peer (`peer`) too, and the broker's pairs per second
//! and p99 over the peer's (issue 19). The command starts every side as a child process on a
//! free loopback port (see `procs`); `compare_best` does the measuring and is what the tests
//! call with servers of their own (`compare_urls` for broker and null broker alone).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::runner::{drive, prepare, RunConfig, RunError};
use crate::stats::Report;

/// What one side of a comparison measured.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Side {
    /// Pairs (take + close) per second.
    pub pairs_per_s: f64,
    /// The scenario's main rate: pairs per second, or heartbeats per second for
    /// heartbeat-storm (which makes no pairs); `ratio` compares this.
    pub rate_per_s: f64,
    /// p50 of the scenario's main operation (take-seat, or heartbeat), ms.
    pub main_p50_ms: f64,
    /// p99 of the scenario's main operation (take-seat, or heartbeat), ms.
    pub main_p99_ms: f64,
    /// Take-seat median, ms.
    pub p50_ms: f64,
    /// Take-seat 99th percentile, ms.
    pub p99_ms: f64,
    /// Server CPU per pair, µs, when its process is known.
    pub server_cpu_us_per_pair: Option<f64>,
    /// Server CPU per request, µs, when its process is known.
    pub server_cpu_us_per_request: Option<f64>,
    /// The tester's CPU per request, µs.
    pub client_cpu_us_per_request: f64,
    /// Resident memory of the server at the end, MiB, when its process is known.
    pub server_rss_mib: Option<f64>,
    /// The main rate of every round, lowest first (the side is the median round).
    pub pairs_per_s_per_round: Vec<f64>,
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
    /// broker ÷ null broker of the main rate (pairs/s; heartbeats/s for heartbeat-storm).
    pub ratio: f64,
    /// Logical processors of this machine (client and servers share them).
    pub cpus: usize,
    /// Every measured round of both sides, in the order they ran, with its errors and its
    /// first violations (a bad round is never hidden behind the median).
    #[serde(default)]
    pub rounds: Vec<RoundRow>,
    /// The broker's setting whose median round is `broker` (its best).
    #[serde(default)]
    pub broker_settings: String,
    /// The null broker's setting whose median round is `null` (its best).
    #[serde(default)]
    pub null_settings: String,
    /// Every setting measured.
    #[serde(default)]
    pub tried: Vec<TriedSetting>,
    /// The Redis-semaphore peer at its best setting, when it was measured (`--peer`).
    #[serde(default)]
    pub peer: Option<Side>,
    /// The peer's setting whose median round is `peer`.
    #[serde(default)]
    pub peer_settings: Option<String>,
    /// broker ÷ peer of the main rate (pairs/s; heartbeats/s for heartbeat-storm); issue 19
    /// asks for at least 2.5 on Redis.
    #[serde(default)]
    pub ratio_to_peer: Option<f64>,
    /// The broker's p99 of the main operation (take-seat, or heartbeat) ÷ the peer's; issue
    /// 19 asks for at most a third.
    #[serde(default)]
    pub p99_ratio_to_peer: Option<f64>,
}

/// A setting `compare` measured.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TriedSetting {
    /// `broker`, `null broker` or `peer`.
    pub side: String,
    /// The setting (`1 worker`), or `default`.
    pub settings: String,
}

/// One measured round of one side.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RoundRow {
    /// 1, 2, ... (both sides' first rounds are 1).
    pub round: usize,
    /// `broker`, `null broker` or `peer`, with its setting when several were tried.
    pub side: String,
    /// The scenario's main rate (pairs/s; heartbeats/s for heartbeat-storm).
    pub rate_per_s: f64,
    /// p50 of the main operation, ms.
    pub main_p50_ms: f64,
    /// p99 of the main operation, ms.
    pub main_p99_ms: f64,
    /// Errors by code.
    pub errors: BTreeMap<String, u64>,
    /// Invariant violations seen.
    pub violation_count: u64,
    /// The first of them (up to 50), each with the time since the round began and the
    /// request (client's device or seat) that saw it.
    pub violations: Vec<String>,
    /// The server's CPU per pair, µs, when its process is known.
    pub server_cpu_us_per_pair: Option<f64>,
}

impl RoundRow {
    fn new(round: usize, side: &str, report: &Report, cpu: Option<Duration>) -> RoundRow {
        let main = report
            .ops
            .get("take")
            .or_else(|| report.ops.get("heartbeat"));
        RoundRow {
            round,
            side: side.to_owned(),
            rate_per_s: if report.pairs > 0 {
                report.pairs_per_s
            } else {
                main.map_or(0.0, |m| m.per_s)
            },
            main_p50_ms: main.map_or(0.0, |m| m.p50_ms),
            main_p99_ms: main.map_or(0.0, |m| m.p99_ms),
            errors: report.errors.clone(),
            violation_count: report.violation_count,
            violations: report.violations.clone(),
            server_cpu_us_per_pair: cpu
                .filter(|_| report.pairs > 0)
                .map(|c| c.as_secs_f64() * 1e6 / report.pairs as f64),
        }
    }
}

impl Comparison {
    /// Whether every invariant held on the broker and on the peer (the null broker is not
    /// checked for capacity: it has none).
    pub fn passed(&self) -> bool {
        self.broker.report.passed() && self.peer.as_ref().is_none_or(|p| p.report.passed())
    }

    /// A short table for people.
    pub fn table(&self) -> String {
        let row = |name: &str, s: &Side| {
            format!(
                "{:<12} {:>10.0} {:>9.2} {:>9.2} {:>14} {:>13} {:>14.1}\n",
                name,
                s.rate_per_s,
                s.main_p50_ms,
                s.main_p99_ms,
                s.server_cpu_us_per_pair
                    .map_or("-".to_owned(), |c| format!("{c:.1}")),
                s.server_cpu_us_per_request
                    .map_or("-".to_owned(), |c| format!("{c:.1}")),
                s.client_cpu_us_per_request
            )
        };
        let mut t = format!(
            "{} ({}), {} CPUs shared by client and server\n{:<12} {:>10} {:>9} {:>9} {:>14} {:>13} {:>14}\n",
            self.scenario, self.backend, self.cpus, "server", "rate/s", "p50 ms", "p99 ms",
            "server µs/pair", "server µs/req", "client µs/req"
        );
        t.push_str(&row("broker", &self.broker));
        t.push_str(&row("null broker", &self.null));
        if let Some(peer) = &self.peer {
            t.push_str(&row("peer", peer));
        }
        let sides = if self.peer.is_some() { 3 } else { 2 };
        if self.tried.len() > sides {
            let peer = self
                .peer_settings
                .as_ref()
                .map_or(String::new(), |s| format!(", peer {s}"));
            t.push_str(&format!(
                "each side at its best of the settings tried: broker {}, null broker {}{peer}\n",
                self.broker_settings, self.null_settings
            ));
        }
        if !self.rounds.is_empty() {
            t.push_str(&format!(
                "{:<6} {:<24} {:>10} {:>9} {:>9} {:>14} {:>10}  errors\n",
                "round", "server", "rate/s", "p50 ms", "p99 ms", "server µs/pair", "violations"
            ));
            for r in &self.rounds {
                let errors: Vec<String> =
                    r.errors.iter().map(|(c, n)| format!("{c} {n}")).collect();
                t.push_str(&format!(
                    "{:<6} {:<24} {:>10.0} {:>9.2} {:>9.2} {:>14} {:>10}  {}\n",
                    r.round,
                    r.side,
                    r.rate_per_s,
                    r.main_p50_ms,
                    r.main_p99_ms,
                    r.server_cpu_us_per_pair
                        .map_or("-".to_owned(), |c| format!("{c:.1}")),
                    r.violation_count,
                    if errors.is_empty() {
                        "-".to_owned()
                    } else {
                        errors.join(", ")
                    }
                ));
                for v in &r.violations {
                    t.push_str(&format!("       round {} {}: {v}\n", r.round, r.side));
                }
            }
        }
        let rounded = |s: &Side| {
            s.pairs_per_s_per_round
                .iter()
                .map(|p| p.round())
                .collect::<Vec<_>>()
        };
        let to_peer = match (&self.peer, self.ratio_to_peer, self.p99_ratio_to_peer) {
            (Some(_), Some(rate), Some(p99)) => {
                format!("; broker/peer {rate:.2}x the rate, p99 {p99:.2}x")
            }
            _ => String::new(),
        };
        let peer_rounds = self
            .peer
            .as_ref()
            .map_or(String::new(), |p| format!(", peer {:?}", rounded(p)));
        t.push_str(&format!(
            "ratio {:.1} %{to_peer} (medians of {} rounds; broker {:?}, null {:?}{peer_rounds})\n",
            self.ratio * 100.0,
            self.broker.pairs_per_s_per_round.len(),
            rounded(&self.broker),
            rounded(&self.null),
        ));
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

/// A target set up and ready to measure.
struct Ready {
    prepared: crate::runner::Prepared,
    pid: Option<u32>,
}

/// Sets `config` up (its targets replaced by `target` alone) on `target` and warms it up for
/// `warmup`.
async fn ready(config: &RunConfig, target: &Target, warmup: Duration) -> Result<Ready, RunError> {
    let mut config = config.clone();
    config.url = target.url.clone();
    config.more_targets.clear();
    config.broker_pid = target.pid;
    let rate = config.rate;
    let prepared = prepare(config).await?;
    if !warmup.is_zero() {
        let _ = drive(&prepared, rate, warmup).await;
    }
    Ok(Ready {
        prepared,
        pid: target.pid,
    })
}

/// One measured run on a ready target: its report and the server's CPU time.
async fn round(ready: &Ready) -> (Report, Option<Duration>) {
    let config = &ready.prepared.config;
    let cpu_before = ready.pid.and_then(crate::procs::process_cpu_of);
    let report = drive(&ready.prepared, config.rate, config.duration).await;
    let cpu_after = ready.pid.and_then(crate::procs::process_cpu_of);
    let cpu = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b)),
        _ => None,
    };
    (report, cpu)
}

/// The side of the median round (by pairs per second).
fn median_side(mut rounds: Vec<(Report, Option<Duration>)>, pid: Option<u32>) -> Side {
    let rate = |r: &Report| {
        if r.pairs > 0 {
            r.pairs_per_s
        } else {
            r.ops.get("heartbeat").map_or(0.0, |h| h.per_s)
        }
    };
    rounds.sort_by(|a, b| rate(&a.0).total_cmp(&rate(&b.0)));
    let per_round: Vec<f64> = rounds.iter().map(|r| rate(&r.0)).collect();
    let violations: u64 = rounds.iter().map(|r| r.0.violation_count).sum();
    let (mut report, cpu) = rounds.swap_remove(rounds.len() / 2);
    // A violation in any round fails the comparison, not only one in the median round.
    if violations > report.violation_count {
        report.violation_count = violations;
        report
            .violations
            .push(format!("{violations} violations over all rounds"));
    }
    let main = report
        .ops
        .get("take")
        .or_else(|| report.ops.get("heartbeat"))
        .cloned();
    let rate_per_s = if report.pairs > 0 {
        report.pairs_per_s
    } else {
        main.as_ref().map_or(0.0, |m| m.per_s)
    };
    Side {
        pairs_per_s: report.pairs_per_s,
        rate_per_s,
        main_p50_ms: main.as_ref().map_or(0.0, |m| m.p50_ms),
        main_p99_ms: main.map_or(0.0, |m| m.p99_ms),
        p50_ms: report.p50_ms,
        p99_ms: report.p99_ms,
        server_cpu_us_per_pair: cpu
            .filter(|_| report.pairs > 0)
            .map(|c| c.as_secs_f64() * 1e6 / report.pairs as f64),
        server_cpu_us_per_request: cpu
            .filter(|_| report.requests > 0)
            .map(|c| c.as_secs_f64() * 1e6 / report.requests as f64),
        client_cpu_us_per_request: report.client_cpu_us_per_request,
        server_rss_mib: pid
            .and_then(crate::runner::resident_bytes)
            .map(|b| b as f64 / 1_048_576.0),
        pairs_per_s_per_round: per_round,
        report,
    }
}

/// A server to measure under one setting: its target and what the setting is.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it serves.
    pub target: Target,
    /// Its setting, for people (`1 worker`).
    pub settings: String,
}

/// Sets both up, then measures `rounds` runs of `config` on each, alternating (broker,
/// null broker, broker, ...) so that a change in the machine's load hits both alike; each
/// side is its median round.
pub async fn compare_urls(
    config: &RunConfig,
    broker: &Target,
    null: &Target,
    backend: &str,
    warmup: Duration,
    rounds: usize,
) -> Result<Comparison, RunError> {
    let one = |target: &Target| {
        vec![Candidate {
            target: target.clone(),
            settings: "default".to_owned(),
        }]
    };
    compare_best(
        config,
        &one(broker),
        &one(null),
        &[],
        backend,
        warmup,
        rounds,
    )
    .await
}

/// Like `compare_urls` with each side under several settings (the number of HTTP workers),
/// and the Redis-semaphore peer as a third side when `peers` is not empty: every setting of
/// every side is measured in the same alternating rounds, and each side is the median round
/// of its best setting, which the comparison names (issue 19: the yardsticks at their best,
/// and the broker too).
pub async fn compare_best(
    config: &RunConfig,
    brokers: &[Candidate],
    nulls: &[Candidate],
    peers: &[Candidate],
    backend: &str,
    warmup: Duration,
    rounds: usize,
) -> Result<Comparison, RunError> {
    let groups = [("broker", brokers), ("null broker", nulls), ("peer", peers)];
    let mut readies = Vec::new();
    for (side, candidates) in groups {
        for c in candidates {
            readies.push((side, c, ready(config, &c.target, warmup).await?));
        }
    }
    let order = interleaved(&groups.map(|(_, candidates)| candidates.len()));
    let mut measured: Vec<Vec<(Report, Option<Duration>)>> = vec![Vec::new(); readies.len()];
    let mut rows = Vec::new();
    for i in 1..=rounds.max(1) {
        for &k in &order {
            let (side, candidate, ready) = &readies[k];
            let one = round(ready).await;
            let name = if candidate.settings == "default" {
                (*side).to_owned()
            } else {
                format!("{side} ({})", candidate.settings)
            };
            rows.push(RoundRow::new(i, &name, &one.0, one.1));
            measured[k].push(one);
        }
    }
    let mut sides: Vec<(&str, String, Side)> = readies
        .iter()
        .zip(measured)
        .map(|((side, c, _), rounds)| {
            (*side, c.settings.clone(), median_side(rounds, c.target.pid))
        })
        .collect();
    let mut best = |name: &str| -> Option<(String, Side)> {
        let i = sides
            .iter()
            .enumerate()
            .filter(|(_, (side, _, _))| *side == name)
            .max_by(|a, b| a.1 .2.rate_per_s.total_cmp(&b.1 .2.rate_per_s))
            .map(|(i, _)| i)?;
        let (_, settings, side) = sides.remove(i);
        Some((settings, side))
    };
    let tried: Vec<TriedSetting> = readies
        .iter()
        .map(|(side, c, _)| TriedSetting {
            side: (*side).to_owned(),
            settings: c.settings.clone(),
        })
        .collect();
    let (broker_settings, broker_side) = best("broker").ok_or(RunError::NoServer("broker"))?;
    let (null_settings, null_side) =
        best("null broker").ok_or(RunError::NoServer("null broker"))?;
    let (peer_settings, peer_side) = best("peer").unzip();
    let ratio_to_peer = peer_side
        .as_ref()
        .map(|p| broker_side.rate_per_s / p.rate_per_s.max(1e-9));
    let p99_ratio_to_peer = peer_side
        .as_ref()
        .map(|p| broker_side.main_p99_ms / p.main_p99_ms.max(1e-9));
    Ok(Comparison {
        scenario: config.scenario.name().to_owned(),
        backend: backend.to_owned(),
        ratio: broker_side.rate_per_s / null_side.rate_per_s.max(1e-9),
        broker: broker_side,
        null: null_side,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds: rows,
        broker_settings,
        null_settings,
        tried,
        peer: peer_side,
        peer_settings,
        ratio_to_peer,
        p99_ratio_to_peer,
    })
}

/// The order in which the settings of several sides are measured, as indices into all of
/// them laid end to end (`counts[i]` settings of side `i`): each side's first setting in
/// turn, then each one's second, and so on (broker 1, null 1, peer 1, broker 2, ...).
fn interleaved(counts: &[usize]) -> Vec<usize> {
    let starts: Vec<usize> = counts
        .iter()
        .scan(0, |start, n| {
            let here = *start;
            *start += n;
            Some(here)
        })
        .collect();
    let most = counts.iter().copied().max().unwrap_or(0);
    (0..most)
        .flat_map(|k| {
            counts
                .iter()
                .zip(&starts)
                .filter(move |(n, _)| k < **n)
                .map(move |(_, start)| start + k)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::interleaved;

    #[test]
    fn settings_of_every_side_take_turns() {
        assert_eq!(interleaved(&[2, 2, 0]), [0, 2, 1, 3]);
        assert_eq!(interleaved(&[2, 2, 2]), [0, 2, 4, 1, 3, 5]);
        assert_eq!(interleaved(&[1, 2, 1]), [0, 1, 3, 2]);
        assert!(interleaved(&[]).is_empty());
    }
}
