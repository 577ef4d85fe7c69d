//! Latency histograms (HDR, microseconds) and counters of one run, shared by the client
//! tasks, and the report a run ends with (its JSON form and its table). Recording takes a
//! short uncontended lock per sample; the live progress line reads the histogram of the
//! current interval, which is folded into the totals each tick.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::gaps::GapWatch;
use crate::targets::FailoverCause;

/// The operations whose latency is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// `POST /v1/seats` answered without waiting in a queue.
    Take,
    /// `POST /v1/seats` that may have waited in the pool's queue (W1), waiting included.
    TakeWaited,
    /// `POST /v1/seats/{seat}/heartbeat`.
    Heartbeat,
    /// `POST /v1/seats/{seat}/close`.
    Close,
    /// A take and its close, from the first request sent (or scheduled) to the last answer.
    Pair,
}

impl Op {
    /// Every operation, in table order.
    pub const ALL: [Op; 5] = [Op::Take, Op::TakeWaited, Op::Heartbeat, Op::Close, Op::Pair];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Take => "take",
            Op::TakeWaited => "take_waited",
            Op::Heartbeat => "heartbeat",
            Op::Close => "close",
            Op::Pair => "pair",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A histogram pair: the current progress interval and everything before it.
#[derive(Debug)]
struct Slot {
    interval: Histogram<u64>,
    total: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min at 3 significant digits; the bounds are constants, so this cannot fail.
    match Histogram::new_with_bounds(1, 600_000_000, 3) {
        Ok(h) => h,
        Err(_) => unreachable!("constant histogram bounds are valid"),
    }
}

/// Everything one run measures, shared by its client tasks.
#[derive(Debug)]
pub struct Recorder {
    slots: Vec<Mutex<Slot>>,
    /// Completed pairs (take granted and closed).
    pub pairs: AtomicU64,
    /// Takes refused with `no_seat_available`, counted apart from pairs.
    pub refusals: AtomicU64,
    /// Requests sent, successful or not.
    pub requests: AtomicU64,
    /// Seats granted.
    pub grants: AtomicU64,
    /// Seats closed (answered 204).
    pub closes: AtomicU64,
    /// Sessions that vanished without closing (crash-churn).
    pub ghosts: AtomicU64,
    /// Requests sent on to the next target after a connection error or a 503 (several
    /// targets only).
    pub failovers: AtomicU64,
    /// Of `failovers`, those after a 503 (the others followed a connection error).
    pub failovers_on_503: AtomicU64,
    /// Requests sent round every target again after each had failed over (only with a
    /// patience, `Knobs::patience`).
    pub rounds_repeated: AtomicU64,
    /// Successful answers after a marked moment (the `failover` command's kill).
    pub gaps: GapWatch,
    last_deadline: Mutex<Option<Instant>>,
    errors: Mutex<BTreeMap<String, u64>>,
    error_count: AtomicU64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder {
            slots: Op::ALL
                .iter()
                .map(|_| {
                    Mutex::new(Slot {
                        interval: histogram(),
                        total: histogram(),
                    })
                })
                .collect(),
            pairs: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            grants: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            ghosts: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            failovers_on_503: AtomicU64::new(0),
            rounds_repeated: AtomicU64::new(0),
            gaps: GapWatch::new(Instant::now()),
            last_deadline: Mutex::new(None),
            errors: Mutex::new(BTreeMap::new()),
            error_count: AtomicU64::new(0),
        }
    }

    /// Records one latency of `op`.
    pub fn record(&self, op: Op, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, 600_000_000);
        let mut slot = self.slots[op.index()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slot.interval.saturating_record(us);
    }

    /// Counts a request sent on to another target, and why.
    pub fn count_failover(&self, cause: FailoverCause) {
        self.failovers.fetch_add(1, Ordering::Relaxed);
        if cause == FailoverCause::Unavailable {
            self.failovers_on_503.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a session that vanished without closing.
    pub fn extra_ghost(&self) {
        self.ghosts.fetch_add(1, Ordering::Relaxed);
    }

    /// Remembers the latest deadline of a vanished seat.
    pub fn note_deadline(&self, at: Instant) {
        let mut last = self.last_deadline.lock().unwrap_or_else(|e| e.into_inner());
        *last = Some(last.map_or(at, |l| l.max(at)));
    }

    /// The latest deadline of a vanished seat, if any vanished.
    pub fn last_deadline(&self) -> Option<Instant> {
        *self.last_deadline.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an error answer or failure under `code`.
    pub fn error(&self, code: &str) {
        self.error_count.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(code.to_owned()).or_insert(0) += 1;
    }

    /// Errors so far.
    pub fn error_total(&self) -> u64 {
        self.error_count.load(Ordering::Relaxed)
    }

    /// Folds the current interval into the totals; per operation (in `Op::ALL` order) the
    /// interval's sample count and p99 in ms.
    pub fn tick(&self) -> [(u64, f64); 5] {
        let mut seen = [(0, 0.0); 5];
        for (i, slot) in self.slots.iter().enumerate() {
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            let Slot { interval, total } = &mut *slot;
            seen[i] = (
                interval.len(),
                interval.value_at_quantile(0.99) as f64 / 1_000.0,
            );
            let _ = total.add(&*interval);
            interval.reset();
        }
        seen
    }

    /// Forgets everything recorded so far (the end of a warm-up).
    pub fn reset(&self) {
        for slot in &self.slots {
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.interval.reset();
            slot.total.reset();
        }
        self.pairs.store(0, Ordering::Relaxed);
        self.refusals.store(0, Ordering::Relaxed);
        self.requests.store(0, Ordering::Relaxed);
        self.grants.store(0, Ordering::Relaxed);
        self.closes.store(0, Ordering::Relaxed);
        self.failovers.store(0, Ordering::Relaxed);
        self.failovers_on_503.store(0, Ordering::Relaxed);
        self.rounds_repeated.store(0, Ordering::Relaxed);
        self.gaps.clear();
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.error_count.store(0, Ordering::Relaxed);
    }

    /// The summary of every operation seen, over `elapsed`.
    pub fn summary(&self, elapsed: Duration) -> BTreeMap<String, OpSummary> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut out = BTreeMap::new();
        for op in Op::ALL {
            let mut slot = self.slots[op.index()]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let Slot { interval, total } = &mut *slot;
            let _ = total.add(&*interval);
            interval.reset();
            if total.is_empty() {
                continue;
            }
            let ms = |q: f64| total.value_at_quantile(q) as f64 / 1_000.0;
            out.insert(
                op.name().to_owned(),
                OpSummary {
                    count: total.len(),
                    per_s: total.len() as f64 / secs,
                    p50_ms: ms(0.50),
                    p90_ms: ms(0.90),
                    p99_ms: ms(0.99),
                    p999_ms: ms(0.999),
                    max_ms: total.max() as f64 / 1_000.0,
                },
            );
        }
        out
    }

    /// The errors counted, by code.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Count, rate and percentiles of one operation.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct OpSummary {
    /// Samples.
    pub count: u64,
    /// Samples per second of the measured time.
    pub per_s: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

/// What a run measured and found.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The broker's URL (with several targets, the first, where setup went).
    pub url: String,
    /// Every target the requests went to in turn, when there were several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Logical clients.
    pub clients: usize,
    /// Offered rate (per second) in open loop; `None` in closed loop.
    pub rate: Option<f64>,
    /// Measured time, seconds.
    pub elapsed_s: f64,
    /// Completed pairs.
    pub pairs: u64,
    /// Pairs per second.
    pub pairs_per_s: f64,
    /// Take-seat p50 (answers that did not wait), ms.
    pub p50_ms: f64,
    /// Take-seat p99 (answers that did not wait), ms.
    pub p99_ms: f64,
    /// Refusals (`no_seat_available`), counted apart from pairs.
    pub refusals: u64,
    /// Requests sent.
    pub requests: u64,
    /// Per operation.
    pub ops: BTreeMap<String, OpSummary>,
    /// Errors by code (transport failures under `http`).
    pub errors: BTreeMap<String, u64>,
    /// Broken invariants (the first ones, with the total in `violation_count`).
    pub violations: Vec<String>,
    /// How many invariant violations were seen.
    pub violation_count: u64,
    /// CPU time this process spent per request while measuring, µs (the generator's cost).
    pub client_cpu_us_per_request: f64,
    /// Scenario-specific figures (seats held, ghosts expired, ...).
    pub extra: BTreeMap<String, f64>,
}

impl Report {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violation_count == 0
    }

    /// The final table, for people.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let mode = match self.rate {
            Some(r) => format!("open loop at {r:.0}/s"),
            None => "closed loop".to_owned(),
        };
        let against = if self.targets.is_empty() {
            self.url.clone()
        } else {
            self.targets.join(", ")
        };
        s.push_str(&format!(
            "scenario {} against {}: {} clients, {}, {:.1} s measured\n",
            self.scenario, against, self.clients, mode, self.elapsed_s
        ));
        s.push_str(&format!(
            "{:<12} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            "operation", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
        ));
        for (name, o) in &self.ops {
            s.push_str(&format!(
                "{:<12} {:>10} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
                name, o.count, o.per_s, o.p50_ms, o.p90_ms, o.p99_ms, o.p999_ms, o.max_ms
            ));
        }
        s.push_str(&format!(
            "pairs {} ({:.0}/s), refusals {}, requests {}, client CPU {:.1} µs/request\n",
            self.pairs,
            self.pairs_per_s,
            self.refusals,
            self.requests,
            self.client_cpu_us_per_request
        ));
        for (k, v) in &self.extra {
            s.push_str(&format!("{k}: {v}\n"));
        }
        if !self.errors.is_empty() {
            s.push_str(&format!("errors: {:?}\n", self.errors));
        }
        if self.passed() {
            s.push_str("invariants: all held\n");
        } else {
            s.push_str(&format!("INVARIANTS BROKEN ({}):\n", self.violation_count));
            for v in &self.violations {
                s.push_str(&format!("  {v}\n"));
            }
        }
        s
    }
}

/// CPU time (user + system) this process has used so far.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the struct we hand it and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let r = Recorder::new();
        for ms in 1..=100u64 {
            r.record(Op::Take, Duration::from_millis(ms));
        }
        let (n, p99) = r.tick()[0];
        assert_eq!(n, 100);
        assert!((p99 - 99.0).abs() < 0.2, "{p99}");
        let s = r.summary(Duration::from_secs(2));
        let take = &s["take"];
        assert_eq!(take.count, 100);
        assert!((take.per_s - 50.0).abs() < 1e-9);
        assert!((take.p50_ms - 50.0).abs() < 0.1, "{}", take.p50_ms);
        assert!(!s.contains_key("close"));
    }
}
