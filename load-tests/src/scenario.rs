//! The scenarios: what each logical client does, and the shape of the pools it needs.
//! Every client runs the same loop until the run's end; in open loop each client keeps its
//! own schedule (the offered rate divided among the clients, wrk2-style) and latency is
//! measured from the moment a request was due, not from when it was sent, so a broker that
//! falls behind is charged for the requests it delayed (coordinated omission corrected).
//! With several targets, each client's requests go to them in turn (`targets::RoundRobin`),
//! and a request that finds its target unreachable or answering 503 is sent on to the next.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seatbroker_client::{AcquireRequest, Client, Error, Grant, Platform};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::checker::Checker;
use crate::stats::{Op, Recorder};
use crate::targets::{failover_cause, RoundRobin};

/// Whether the pool's owner answered: a grant, a close, a heartbeat, or a definite refusal
/// (no seat available, seat gone), which only the owner can give. 503s, 5xx and transport
/// errors are not answers.
fn answered<T>(result: &Result<T, Error>) -> bool {
    matches!(
        result,
        Ok(_) | Err(Error::NoSeatAvailable(_) | Error::SeatGone { .. })
    )
}

/// A scenario's name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// One pool, capacity = clients (or `--capacity`); take + close in a loop.
    HotPool,
    /// N clients ask within one second for N/2 seats with `wait_s`, then heartbeat.
    LectureStart,
    /// Many small pools (1,000 × 10 members by default); take + close in a loop.
    ManyPools,
    /// Hold many seats and heartbeat them at a compressed interval.
    HeartbeatStorm,
    /// Clients vanish without closing; their seats must expire and be reused.
    CrashChurn,
}

impl Scenario {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::HotPool => "hot-pool",
            Scenario::LectureStart => "lecture-start",
            Scenario::ManyPools => "many-pools",
            Scenario::HeartbeatStorm => "heartbeat-storm",
            Scenario::CrashChurn => "crash-churn",
        }
    }

    /// The operation whose rate and p99 the progress line shows.
    pub fn main_op(self) -> Op {
        match self {
            Scenario::HeartbeatStorm => Op::Heartbeat,
            _ => Op::Take,
        }
    }
}

/// The scenario's knobs (the command line's flags).
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Logical clients (hot-pool, lecture-start, heartbeat-storm, crash-churn).
    pub clients: usize,
    /// Seats per pool; the scenario's default when `None`.
    pub capacity: Option<u64>,
    /// Pools (many-pools: 1,000; heartbeat-storm: 1).
    pub pools: Option<usize>,
    /// Members per pool (many-pools: 10).
    pub members: Option<usize>,
    /// Seats each heartbeat-storm client holds (one device each).
    pub devices: usize,
    /// `wait_s` of lecture-start and crash-churn takes.
    pub wait_s: u64,
    /// Compressed heartbeat interval (lecture-start, crash-churn).
    pub heartbeat_interval: Duration,
    /// Heartbeats a lecture-start client sends before it closes.
    pub beats: u32,
    /// Pool heartbeat timeout for crash-churn, seconds.
    pub timeout_s: u64,
    /// Share of crash-churn sessions that vanish without closing.
    pub crash_ratio: f64,
    /// Share of heartbeat-storm's ticks that close a seat and take another on a new device.
    pub churn: f64,
    /// How long hot-pool and many-pools clients hold a seat before closing it.
    pub hold: Duration,
    /// How long a request that every target turned away (connection error or 503) is sent
    /// round them all again, `RETRY_PAUSE` apart, before its last answer is taken (the
    /// `failover` command's clients, which wait out a takeover as real clients would); zero:
    /// every target once.
    pub patience: Duration,
}

/// The pause before a request goes round every target again (with a patience). The
/// broker's `Retry-After: 1` is not honoured: the gap a failover leaves is measured to this.
pub const RETRY_PAUSE: Duration = Duration::from_millis(50);

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            clients: 256,
            capacity: None,
            pools: None,
            members: None,
            devices: 1,
            wait_s: 5,
            heartbeat_interval: Duration::from_millis(250),
            beats: 2,
            timeout_s: 2,
            crash_ratio: 0.5,
            churn: 0.0,
            hold: Duration::ZERO,
            patience: Duration::ZERO,
        }
    }
}

/// The pools a scenario needs: how many, members each, seats each, timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Pools.
    pub pools: usize,
    /// Members per pool.
    pub members: usize,
    /// Seats per pool.
    pub capacity: u64,
    /// Pool timeout, seconds, when the scenario sets one.
    pub timeout_s: Option<u64>,
}

impl Scenario {
    /// The pools this scenario sets up for `knobs`.
    pub fn shape(self, k: &Knobs) -> Shape {
        let n = k.clients.max(1);
        match self {
            Scenario::HotPool => Shape {
                pools: 1,
                members: n,
                capacity: k.capacity.unwrap_or(n as u64),
                timeout_s: None,
            },
            Scenario::LectureStart => Shape {
                pools: 1,
                members: n,
                capacity: k.capacity.unwrap_or((n as u64 / 2).max(1)),
                timeout_s: None,
            },
            Scenario::ManyPools => {
                let members = k.members.unwrap_or(10).max(1);
                Shape {
                    pools: k.pools.unwrap_or(1_000).max(1),
                    members,
                    capacity: k.capacity.unwrap_or(members as u64),
                    timeout_s: None,
                }
            }
            Scenario::HeartbeatStorm => {
                let pools = k.pools.unwrap_or(1).clamp(1, n);
                let members = n.div_ceil(pools);
                Shape {
                    pools,
                    members,
                    capacity: k
                        .capacity
                        .unwrap_or((members * k.devices.max(1)) as u64)
                        .min(100_000),
                    timeout_s: None,
                }
            }
            Scenario::CrashChurn => Shape {
                pools: 1,
                members: n,
                capacity: k.capacity.unwrap_or((n as u64 / 2).max(1)),
                timeout_s: Some(k.timeout_s.max(1)),
            },
        }
    }
}

/// When each request of one client is due: at once (closed loop), or on the client's share
/// of the offered rate (open loop).
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Instant,
    end: Instant,
}

impl Pacer {
    /// A pacer from `start` to `end`; `interval` between requests in open loop, the first
    /// one due `offset` after `start`.
    pub fn new(
        start: Instant,
        end: Instant,
        interval: Option<Duration>,
        offset: Duration,
    ) -> Pacer {
        Pacer {
            interval,
            next: start + offset,
            end,
        }
    }

    /// When the measured phase ends.
    pub fn end(&self) -> Instant {
        self.end
    }

    /// Waits until the next request is due and returns when it was due; `None` past the end.
    pub async fn next(&mut self) -> Option<Instant> {
        match self.interval {
            None => {
                let now = Instant::now();
                let due = now.max(self.next);
                if due >= self.end {
                    return None;
                }
                if due > now {
                    tokio::time::sleep_until(due.into()).await;
                }
                self.next = due;
                Some(due)
            }
            Some(every) => {
                let due = self.next;
                if due >= self.end {
                    return None;
                }
                self.next += every;
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
                Some(due)
            }
        }
    }

    /// Whether the run is over.
    pub fn over(&self) -> bool {
        Instant::now() >= self.end
    }
}

/// What one logical client works with.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The member's session on each target, taken in turn.
    pub sessions: Arc<RoundRobin<Client>>,
    /// Index of its pool in the checker.
    pub pool: usize,
    /// `P-...`
    pub pool_id: String,
    /// Number of this client (device names, offsets).
    pub index: usize,
    /// The run's checker.
    pub checker: Arc<Checker>,
    /// The run's recorder.
    pub rec: Arc<Recorder>,
    /// Bounds the requests in flight (and so the connections) of the whole run.
    pub permits: Arc<Semaphore>,
    /// The scenario's knobs.
    pub knobs: Arc<Knobs>,
}

impl Ctx {
    /// Sends `call` to the target whose turn it is; after a connection error or a 503, to the
    /// next one, until every target was tried once (and, with a patience, round them all
    /// again until one answers or the patience is spent). Each attempt counts as a request
    /// and each move to another target as a failover; only the last attempt's answer is
    /// returned (so checked), and its latency covers all of them. `call` is handed a clone of
    /// the session (two reference counts): a future borrowing it would make the client
    /// tasks' futures fail to be `Send` in general.
    async fn send<T, F>(&self, call: impl Fn(Client) -> F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let _permit = self.permits.acquire().await;
        let give_up = Instant::now() + self.knobs.patience;
        let cause_of = |result: &Result<T, Error>| result.as_ref().err().and_then(failover_cause);
        loop {
            let (first, others) = self.sessions.turn();
            let mut result = self.attempt(&call, first).await;
            for next in others {
                let Some(cause) = cause_of(&result) else {
                    break;
                };
                self.rec.count_failover(cause);
                result = self.attempt(&call, next).await;
            }
            match cause_of(&result) {
                Some(cause) if Instant::now() + RETRY_PAUSE < give_up => {
                    tokio::time::sleep(RETRY_PAUSE).await;
                    self.rec.rounds_repeated.fetch_add(1, Ordering::Relaxed);
                    self.rec.count_failover(cause);
                }
                _ => return result,
            }
        }
    }

    /// One attempt of `call` on `target`, counted as a request; a successful answer to an
    /// attempt sent after the failover command's kill is handed to the gap watch.
    async fn attempt<T, F>(&self, call: &impl Fn(Client) -> F, target: &Client) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        self.rec.requests.fetch_add(1, Ordering::Relaxed);
        let gaps = &self.rec.gaps;
        let watched = gaps
            .marked()
            .then(Instant::now)
            .and_then(|now| gaps.sent(now));
        let result = call(target.clone()).await;
        if let Some(watched) = watched.filter(|_| answered(&result)) {
            gaps.answered(watched, Instant::now());
        }
        result
    }

    /// Takes a seat on `device`, due at `due`; the grant, or `None` (counted).
    pub async fn take(&self, device: &str, due: Instant, wait: Option<u64>) -> Option<Grant> {
        let mut req = AcquireRequest::new(device, Platform::Windows).in_pool(&self.pool_id);
        if let Some(w) = wait.filter(|w| *w > 0) {
            req = req.waiting(Duration::from_secs(w));
        }
        let waits = req.wait.is_some();
        let ticket = self.checker.begin_take(self.pool);
        let req = &req;
        let result = self
            .send(|client| async move { client.take_seat(req).await })
            .await;
        let latency = due.elapsed();
        match result {
            Ok(grant) => {
                self.checker.granted(ticket);
                self.rec.grants.fetch_add(1, Ordering::Relaxed);
                let op = if waits && !ticket.surely_free {
                    Op::TakeWaited
                } else {
                    Op::Take
                };
                self.rec.record(op, latency);
                Some(grant)
            }
            Err(Error::NoSeatAvailable(details)) => {
                self.checker.not_granted(ticket);
                self.checker.check_no_seat(self.pool, &details, waits);
                self.rec.refusals.fetch_add(1, Ordering::Relaxed);
                let op = if details.queue_position.is_some() {
                    Op::TakeWaited
                } else {
                    Op::Take
                };
                self.rec.record(op, latency);
                None
            }
            Err(e) => {
                self.checker.not_granted(ticket);
                let code = self
                    .checker
                    .check_error(&format!("take of {device} in pool #{}", self.pool), &e);
                self.rec.error(&code);
                None
            }
        }
    }

    /// Closes a held seat; whether it was closed.
    pub async fn close(&self, seat_id: &str) -> bool {
        self.close_and(seat_id, true).await
    }

    /// Closes a held seat after the measured phase (heartbeat-storm's teardown): checked
    /// and counted like any close, but its latency stays out of the run's figures, which
    /// describe the load it was asked to sustain, not 50,000 closes at once.
    pub async fn close_after_run(&self, seat_id: &str) -> bool {
        self.close_and(seat_id, false).await
    }

    async fn close_and(&self, seat_id: &str, timed: bool) -> bool {
        self.checker.begin_close(self.pool);
        let started = Instant::now();
        let result = self
            .send(|client| async move { client.close(seat_id).await })
            .await;
        self.checker.closed(self.pool);
        match result {
            Ok(()) => {
                self.rec.closes.fetch_add(1, Ordering::Relaxed);
                if timed {
                    self.rec.record(Op::Close, started.elapsed());
                }
                true
            }
            Err(e) => {
                let code = self.checker.check_error(&format!("close of {seat_id}"), &e);
                self.rec.error(&code);
                false
            }
        }
    }

    /// Heartbeats a held seat due at `due`; its new deadline, `Err` when the seat is gone
    /// (no longer counted as held) or the beat failed.
    pub async fn heartbeat(
        &self,
        seat_id: &str,
        due: Instant,
    ) -> Result<Option<OffsetDateTime>, ()> {
        let result = self
            .send(|client| async move { client.heartbeat(seat_id, true).await })
            .await;
        match result {
            Ok(beat) => {
                self.rec.record(Op::Heartbeat, due.elapsed());
                Ok(beat.expires_at)
            }
            Err(e) => {
                if matches!(e, Error::SeatGone { .. }) {
                    self.checker.released(self.pool);
                }
                let code = self
                    .checker
                    .check_error(&format!("heartbeat of {seat_id}"), &e);
                self.rec.error(&code);
                Err(())
            }
        }
    }
}

/// The seats a client holds before the measured phase starts (heartbeat-storm), taken
/// with retries until they are all held or the attempts run out.
pub async fn prepare_client(scenario: Scenario, ctx: &Ctx) -> Vec<String> {
    // One request per client and target before the measured phase opens the keep-alive
    // connections (up to `--connections`), so the first second does not measure a burst of
    // connects.
    for session in ctx.sessions.all() {
        let _permit = ctx.permits.acquire().await;
        let _ = session.me().await;
    }
    if scenario != Scenario::HeartbeatStorm {
        return Vec::new();
    }
    let mut seats = Vec::new();
    for d in 0..ctx.knobs.devices.max(1) {
        let device = format!("storm-{}-{d}", ctx.index);
        for _ in 0..5 {
            if let Some(grant) = ctx.take(&device, Instant::now(), None).await {
                seats.push(grant.seat.seat_id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    seats
}

/// Runs one client's loop of `scenario` until the pacer's end; what it still holds at the
/// end is closed (heartbeat-storm's seats) after it.
pub async fn client_loop(scenario: Scenario, ctx: Ctx, mut pacer: Pacer, held: Vec<String>) {
    match scenario {
        Scenario::HotPool | Scenario::ManyPools => {
            let device = format!("load-{}", ctx.index);
            while let Some(due) = pacer.next().await {
                if let Some(grant) = ctx.take(&device, due, None).await {
                    if !ctx.knobs.hold.is_zero() {
                        tokio::time::sleep(ctx.knobs.hold).await;
                    }
                    if ctx.close(&grant.seat.seat_id).await {
                        ctx.rec.pairs.fetch_add(1, Ordering::Relaxed);
                        ctx.rec.record(Op::Pair, due.elapsed());
                    }
                }
            }
        }
        Scenario::LectureStart => {
            let device = format!("lecture-{}", ctx.index);
            while let Some(due) = pacer.next().await {
                let Some(grant) = ctx.take(&device, due, Some(ctx.knobs.wait_s)).await else {
                    continue;
                };
                let seat = grant.seat.seat_id;
                let mut gone = false;
                for _ in 0..ctx.knobs.beats {
                    tokio::time::sleep(ctx.knobs.heartbeat_interval).await;
                    if pacer.over() {
                        break;
                    }
                    if ctx.heartbeat(&seat, Instant::now()).await.is_err() {
                        gone = true;
                        break;
                    }
                }
                if !gone && ctx.close(&seat).await {
                    ctx.rec.pairs.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Scenario::HeartbeatStorm => {
            let mut live = held;
            let mut i = 0usize;
            let mut renewed = 0u64;
            while let Some(due) = pacer.next().await {
                if live.is_empty() {
                    break;
                }
                i = (i + 1) % live.len();
                if ctx.knobs.churn > 0.0 && fastrand::f64() < ctx.knobs.churn {
                    // Churn: this device leaves, a new one of the same client comes. The
                    // close is what was due; the take is timed from when it is sent.
                    let mut next = None;
                    if ctx.close(&live[i]).await {
                        renewed += 1;
                        let device = format!("storm-{}-new-{renewed}", ctx.index);
                        next = ctx.take(&device, Instant::now(), None).await;
                    }
                    match next {
                        Some(grant) => {
                            ctx.rec.pairs.fetch_add(1, Ordering::Relaxed);
                            live[i] = grant.seat.seat_id;
                        }
                        None => {
                            live.swap_remove(i);
                        }
                    }
                    continue;
                }
                if ctx.heartbeat(&live[i], due).await.is_err() {
                    live.swap_remove(i);
                }
            }
            // Every client holds its seats to the end: a client whose last tick came early
            // closing at once would put a wave of closes into the others' measured phase.
            tokio::time::sleep_until(pacer.end().into()).await;
            for seat in &live {
                ctx.close_after_run(seat).await;
            }
        }
        Scenario::CrashChurn => crash_churn(ctx, pacer).await,
    }
}

/// crash-churn: take (waiting), heartbeat a little, then close or vanish; a vanished seat
/// counts as held until the deadline the broker last gave it.
async fn crash_churn(ctx: Ctx, mut pacer: Pacer) {
    let mut session = 0u64;
    while let Some(due) = pacer.next().await {
        session += 1;
        // A vanished client comes back as a new device: S2 would hand the same one its seat.
        let device = format!("churn-{}-{session}", ctx.index);
        let Some(grant) = ctx.take(&device, due, Some(ctx.knobs.wait_s)).await else {
            continue;
        };
        let seat = grant.seat.seat_id;
        let mut deadline = grant.seat.expires_at;
        let interval = Duration::from_millis(grant.seat.heartbeat_interval_s * 1_000 / 2)
            .min(ctx.knobs.heartbeat_interval.max(Duration::from_millis(100)));
        let mut gone = false;
        for _ in 0..fastrand::u32(0..=2) {
            tokio::time::sleep(interval).await;
            match ctx.heartbeat(&seat, Instant::now()).await {
                Ok(d) => deadline = d.or(deadline),
                Err(()) => {
                    gone = true;
                    break;
                }
            }
        }
        if gone {
            continue;
        }
        if fastrand::f64() < ctx.knobs.crash_ratio {
            ctx.rec.extra_ghost();
            let left = deadline
                .map(|d| d - OffsetDateTime::now_utc())
                .and_then(|d| Duration::try_from(d).ok())
                .unwrap_or(Duration::ZERO);
            // The broker never frees a seat before its deadline; 20 ms covers the
            // millisecond rounding of the times it writes.
            let until = Instant::now() + left.saturating_sub(Duration::from_millis(20));
            let (checker, pool) = (ctx.checker.clone(), ctx.pool);
            tokio::spawn(async move {
                tokio::time::sleep_until(until.into()).await;
                checker.released(pool);
            });
            ctx.rec.note_deadline(until);
        } else if ctx.close(&seat).await {
            ctx.rec.pairs.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open loop corrects for coordinated omission: a client that falls behind is handed
    /// the times its requests were due, so its latency counts from there, not from when it
    /// got round to sending.
    #[tokio::test]
    async fn an_open_loop_pacer_hands_out_due_times_on_schedule_even_when_late() {
        let every = Duration::from_millis(10);
        let start = Instant::now() - Duration::from_millis(100);
        let mut pacer = Pacer::new(start, start + Duration::from_secs(60), Some(every), every);
        for n in 1..=5u32 {
            let due = pacer.next().await.expect("due within the run");
            assert_eq!(due, start + every * n);
        }
    }

    /// Closed loop sends at once, and no pacer hands out a time past the end.
    #[tokio::test]
    async fn a_closed_loop_pacer_is_due_at_once_and_stops_at_the_end() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start, start + Duration::from_secs(60), None, Duration::ZERO);
        let due = pacer.next().await.expect("due");
        assert!(due >= start && due <= Instant::now());
        let past = Instant::now() - Duration::from_secs(1);
        let mut ended = Pacer::new(past, past, Some(Duration::from_millis(1)), Duration::ZERO);
        assert!(ended.next().await.is_none());
        let mut ended = Pacer::new(past, past, None, Duration::ZERO);
        assert!(ended.next().await.is_none());
    }
}
