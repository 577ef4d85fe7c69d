//! Simulated clients for the cluster scenarios: each member of a hot pool, on a device of its
//! own, takes a seat, heartbeats it a few times, closes it and starts again, through plain
//! reqwest so that every attempt's send and answer instants are known. Each operation goes
//! to the next node in turn (a seat taken through one node is heartbeated and released
//! through the others); a 503, a 429 or a connection error moves the request on to the next
//! node after a short pause, the way a client behind a load balancer retries. Clients retry
//! faster than `Retry-After` asks, so that what is measured is the cluster's gap, not the
//! clients' patience. Every success goes into a `History`; every other answer is counted
//! as retried or reported as unexpected. What the scenarios assert lives with them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::history::{History, Op};
use super::Member;

/// How the simulated clients behave.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Heartbeats between taking a seat and closing it.
    pub heartbeats: u32,
    /// The longest pause between two operations of a client (a random part of it is used).
    pub pause: Duration,
    /// How long one attempt may take before the client tries the next node.
    pub attempt_timeout: Duration,
    /// How long one operation may be retried before it counts as unanswered.
    pub op_deadline: Duration,
}

impl Default for LoadOptions {
    /// Two heartbeats, pauses up to 40 ms, 2 s per attempt, 20 s per operation.
    fn default() -> Self {
        LoadOptions {
            heartbeats: 2,
            pause: Duration::from_millis(40),
            attempt_timeout: Duration::from_secs(2),
            op_deadline: Duration::from_secs(20),
        }
    }
}

/// What the clients share: the history, the stop flag and the counts.
#[derive(Default)]
struct Shared {
    history: History,
    stop: AtomicBool,
    stats: Mutex<Stats>,
}

/// What the clients saw besides their successes.
#[derive(Debug, Default)]
struct Stats {
    /// When each answer (anything but a 503, a 429 or a connection error) came.
    answers: Vec<Instant>,
    /// Each operation: when its first attempt was sent and when it was answered.
    ops: Vec<(Instant, Instant)>,
    /// Retried failures by kind (`503 pool_owned_elsewhere`, `connect`, `timeout`, ...).
    retried: BTreeMap<String, u64>,
    /// Answers no scenario expects, described.
    unexpected: Vec<String>,
    /// Seats a client held and heard `seat_gone` about.
    lost: Vec<String>,
}

/// The simulated clients while they run.
pub struct Load {
    shared: Arc<Shared>,
    clients: Vec<actix_rt::task::JoinHandle<Option<String>>>,
    started: Instant,
}

/// What a finished run saw.
pub struct LoadReport {
    /// Every success the clients observed.
    pub history: History,
    /// The seats held when the run stopped (granted, release never sent): client, seat.
    pub held: Vec<(usize, String)>,
    /// When each answer came, sorted.
    pub answers: Vec<Instant>,
    /// Each operation's first send and answer.
    pub ops: Vec<(Instant, Instant)>,
    /// Retried failures by kind.
    pub retried: BTreeMap<String, u64>,
    /// Answers no scenario expects.
    pub unexpected: Vec<String>,
    /// Seats lost while held (`seat_gone` on a heartbeat or close).
    pub lost: Vec<String>,
    /// When the load started.
    pub started: Instant,
    /// When every client had stopped.
    pub finished: Instant,
}

impl Load {
    /// Starts one client per member on the test's runtime, sending to `nodes` (base URLs)
    /// and taking seats in `pool`; client `i` is `members[i]` on device `pc-{i}` and starts
    /// at node `i` modulo the node count.
    pub fn start(nodes: Vec<String>, pool: &str, members: &[Member], options: LoadOptions) -> Load {
        let shared = Arc::new(Shared::default());
        let nodes = Arc::new(nodes);
        let started = Instant::now();
        // Idle connections are dropped well before the broker's keep-alive (5 s) would close
        // them, so that no request races a closing connection while every node runs.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let clients = members
            .iter()
            .enumerate()
            .map(|(index, member)| {
                let client = SimClient {
                    index,
                    token: member.token.clone(),
                    device: format!("pc-{index}"),
                    pool: pool.to_owned(),
                    nodes: nodes.clone(),
                    http: http.clone(),
                    cursor: index,
                    rng: (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    options,
                    shared: shared.clone(),
                    started,
                    granted: None,
                };
                actix_rt::spawn(client.run())
            })
            .collect();
        Load {
            shared,
            clients,
            started,
        }
    }

    /// When the load started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// How many grants were answered after `since` so far.
    pub fn grants_since(&self, since: Instant) -> usize {
        self.shared.history.count_since(Op::Grant, since)
    }

    /// How many operations were answered after `since` so far (grants, refusals such as
    /// `no_seat_available`, heartbeats, releases: anything but a retried failure).
    pub fn answers_since(&self, since: Instant) -> usize {
        let stats = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.answers.iter().filter(|&&a| a > since).count()
    }

    /// Waits until `n` grants were answered after `since`; panics after `limit` with what
    /// the clients saw.
    pub async fn wait_for_grants(&self, n: usize, since: Instant, limit: Duration) {
        self.wait_for("grants", || self.grants_since(since), n, limit)
            .await;
    }

    /// Waits until `n` operations were answered after `since`; panics after `limit` with
    /// what the clients saw.
    pub async fn wait_for_answers(&self, n: usize, since: Instant, limit: Duration) {
        self.wait_for("answers", || self.answers_since(since), n, limit)
            .await;
    }

    async fn wait_for(&self, what: &str, count: impl Fn() -> usize, n: usize, limit: Duration) {
        let asked = Instant::now();
        while count() < n {
            if asked.elapsed() > limit {
                let seen = count();
                let stats = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                panic!(
                    "only {seen} of {n} {what} within {limit:?}; retried {:?}; unexpected {:?}",
                    stats.retried, stats.unexpected
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the clients (each finishes the operation it is in and keeps the seat it holds)
    /// and gathers what they saw.
    pub async fn finish(self) -> LoadReport {
        self.shared.stop.store(true, Ordering::SeqCst);
        let mut held = Vec::new();
        for (index, client) in self.clients.into_iter().enumerate() {
            match client.await {
                Ok(Some(seat)) => held.push((index, seat)),
                Ok(None) => {}
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("client {index} did not finish: {e}"),
            }
        }
        let shared =
            Arc::try_unwrap(self.shared).unwrap_or_else(|_| panic!("every client has finished"));
        let mut stats = shared.stats.into_inner().unwrap_or_else(|e| e.into_inner());
        stats.answers.sort_unstable();
        LoadReport {
            history: shared.history,
            held,
            answers: stats.answers,
            ops: stats.ops,
            retried: stats.retried,
            unexpected: stats.unexpected,
            lost: stats.lost,
            started: self.started,
            finished: Instant::now(),
        }
    }
}

impl LoadReport {
    /// The longest time without any answer from `from` on: between `from` and the first
    /// answer after it, and between two answers after it (up to `finished` when none came).
    pub fn worst_gap_since(&self, from: Instant) -> Duration {
        let mut last = from;
        let mut worst = Duration::ZERO;
        for &answer in self.answers.iter().filter(|&&a| a >= from) {
            worst = worst.max(answer - last);
            last = answer;
        }
        if last == from {
            return self.finished.saturating_duration_since(from);
        }
        worst
    }

    /// The longest any operation answered after `from` waited, counted from `from` for
    /// the operations already under way then.
    pub fn worst_wait_since(&self, from: Instant) -> Duration {
        self.ops
            .iter()
            .filter(|(_, answered)| *answered >= from)
            .map(|&(first, answered)| answered - first.max(from))
            .max()
            .unwrap_or_default()
    }

    /// The seats whose release was acknowledged.
    pub fn released(&self) -> BTreeSet<String> {
        self.history
            .observations()
            .into_iter()
            .filter(|o| o.op == Op::Release)
            .map(|o| o.seat)
            .collect()
    }

    /// Every failure the clients saw was retried (503, 429, a connection error) and no
    /// seat was lost while held.
    pub fn assert_only_retried_errors(&self) {
        assert!(
            self.unexpected.is_empty() && self.lost.is_empty(),
            "clients saw more than retried errors\nunexpected: {:#?}\nlost: {:#?}\n{}",
            self.unexpected,
            self.lost,
            self.summary()
        );
    }

    /// One paragraph for the test's output: operations, grants, releases, retries.
    pub fn summary(&self) -> String {
        format!(
            "{} operations in {:.1} s: {} grants, {} heartbeats, {} releases; {} held at the \
             end; retried {:?}; {} unexpected; {} lost",
            self.ops.len(),
            (self.finished - self.started).as_secs_f64(),
            self.history.count(Op::Grant),
            self.history.count(Op::Heartbeat),
            self.history.count(Op::Release),
            self.held.len(),
            self.retried,
            self.unexpected.len(),
            self.lost.len()
        )
    }
}

/// One simulated application: one member on one device.
struct SimClient {
    index: usize,
    token: String,
    device: String,
    pool: String,
    nodes: Arc<Vec<String>>,
    http: reqwest::Client,
    /// The node the next attempt goes to, modulo the node count.
    cursor: usize,
    rng: u64,
    options: LoadOptions,
    shared: Arc<Shared>,
    /// When the load started, for the offsets in messages.
    started: Instant,
    /// When the grant of the seat held now was answered.
    granted: Option<Instant>,
}

/// The answer an operation ended with (anything but a 503, a 429 or a connection error).
struct Answer {
    status: u16,
    body: Value,
    /// When the operation's first attempt was sent.
    first: Instant,
    /// When the answered attempt was sent.
    sent: Instant,
    /// When its answer came.
    answered: Instant,
    /// The node that answered.
    node: String,
}

impl SimClient {
    /// Takes, heartbeats and closes seats until told to stop; the seat it holds then.
    async fn run(mut self) -> Option<String> {
        while !self.stopping() {
            let Some(seat) = self.take().await else {
                self.pause().await;
                continue;
            };
            let mut kept = true;
            for _ in 0..self.options.heartbeats {
                self.pause().await;
                if self.stopping() {
                    return Some(seat);
                }
                if !self.heartbeat(&seat).await {
                    kept = false;
                    break;
                }
            }
            if !kept {
                self.granted = None;
                continue;
            }
            if self.stopping() {
                return Some(seat);
            }
            self.close(&seat).await;
            self.granted = None;
            self.pause().await;
        }
        None
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// `POST /v1/seats`: the seat id when granted (201, or 200 for the same seat again).
    async fn take(&mut self) -> Option<String> {
        let body = json!({"device_id": self.device, "platform": "windows", "pool": self.pool});
        let answer = self.request(Method::POST, "/v1/seats", Some(body)).await?;
        match answer.status {
            200 | 201 => {
                let seat = answer.body["seat_id"].as_str().map(str::to_owned);
                let Some(seat) = seat else {
                    self.unexpected("POST /v1/seats", &answer);
                    return None;
                };
                self.shared
                    .history
                    .record(Op::Grant, &seat, answer.sent, answer.answered);
                self.granted.get_or_insert(answer.answered);
                Some(seat)
            }
            409 if answer.body["error"]["code"] == "no_seat_available" => None,
            _ => {
                self.unexpected("POST /v1/seats", &answer);
                None
            }
        }
    }

    /// `POST /v1/seats/{seat}/heartbeat`: whether the seat is still held.
    async fn heartbeat(&mut self, seat: &str) -> bool {
        let path = format!("/v1/seats/{seat}/heartbeat");
        let Some(answer) = self
            .request(Method::POST, &path, Some(json!({"active": true})))
            .await
        else {
            return false;
        };
        match answer.status {
            200 => {
                self.shared
                    .history
                    .record(Op::Heartbeat, seat, answer.sent, answer.answered);
                true
            }
            // A seat the broker no longer knows is as lost as one it says is gone.
            404 | 410 => {
                self.lost(seat, "heartbeat", &answer);
                false
            }
            _ => {
                self.unexpected(&format!("POST {path}"), &answer);
                false
            }
        }
    }

    /// `POST /v1/seats/{seat}/close`, recorded with its first attempt's send time (a
    /// repeated close is answered 204 as well, after the seat went with the first).
    async fn close(&mut self, seat: &str) {
        let path = format!("/v1/seats/{seat}/close");
        let Some(answer) = self.request(Method::POST, &path, None).await else {
            return;
        };
        match answer.status {
            204 => self
                .shared
                .history
                .record(Op::Release, seat, answer.first, answer.answered),
            404 | 410 => self.lost(seat, "close", &answer),
            _ => self.unexpected(&format!("POST {path}"), &answer),
        }
    }

    /// Sends one operation to the next node, moving on to the following node after a 503,
    /// a 429 or a connection error, until another answer comes or `op_deadline` passes
    /// (then it counts as unexpected and `None` is answered).
    async fn request(&mut self, method: Method, path: &str, body: Option<Value>) -> Option<Answer> {
        self.cursor += 1;
        let first = Instant::now();
        let mut failed_in_a_row = 0;
        loop {
            let node = self.nodes[self.cursor % self.nodes.len()].clone();
            let mut req = self
                .http
                .request(method.clone(), format!("{node}{path}"))
                .bearer_auth(&self.token)
                .timeout(self.options.attempt_timeout);
            if let Some(body) = &body {
                req = req.json(body);
            }
            let sent = Instant::now();
            let failure = match req.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    match res.bytes().await {
                        Ok(bytes) => {
                            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            if status != 503 && status != 429 {
                                let answered = Instant::now();
                                let mut stats = self.stats();
                                stats.answers.push(answered);
                                stats.ops.push((first, answered));
                                return Some(Answer {
                                    status,
                                    body,
                                    first,
                                    sent,
                                    answered,
                                    node,
                                });
                            }
                            format!("{status} {}", body["error"]["code"].as_str().unwrap_or("?"))
                        }
                        Err(e) => transport_failure(&e),
                    }
                }
                Err(e) => transport_failure(&e),
            };
            *self.stats().retried.entry(failure.clone()).or_default() += 1;
            if first.elapsed() > self.options.op_deadline {
                let now = Instant::now();
                let mut stats = self.stats();
                stats.ops.push((first, now));
                stats.unexpected.push(format!(
                    "client {}: {method} {path} unanswered after {:?}; last: {failure}",
                    self.index, self.options.op_deadline
                ));
                return None;
            }
            self.cursor += 1;
            failed_in_a_row += 1;
            // A refusal is worth a pause; an unreachable node is skipped at once, until
            // every node was tried.
            let refused = failure.starts_with('5') || failure.starts_with('4');
            if refused || failed_in_a_row % self.nodes.len() == 0 {
                self.sleep_between(Duration::from_millis(20), Duration::from_millis(60))
                    .await;
            }
        }
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports an answer no scenario expects, with when it was sent and answered, as
    /// offsets from the start of the load.
    fn unexpected(&self, what: &str, answer: &Answer) {
        let offset = |t: Instant| t.saturating_duration_since(self.started).as_secs_f64();
        self.stats().unexpected.push(format!(
            "client {}: {what} through {} sent at +{:.3} s answered {} at +{:.3} s: {}",
            self.index,
            answer.node,
            offset(answer.sent),
            answer.status,
            offset(answer.answered),
            answer.body
        ));
    }

    /// Reports a held seat the broker lost, with when it was granted and when the loss
    /// was heard, as offsets from the start of the load.
    fn lost(&self, seat: &str, what: &str, answer: &Answer) {
        let offset = |t: Instant| t.saturating_duration_since(self.started).as_secs_f64();
        let granted = self.granted.map_or(f64::NAN, offset);
        self.stats().lost.push(format!(
            "client {}: {seat} (granted at +{granted:.3} s) answered {} on {what} through {} \
             at +{:.3} s: {}",
            self.index,
            answer.status,
            answer.node,
            offset(answer.answered),
            answer.body
        ));
    }

    /// A random pause up to `options.pause`.
    async fn pause(&mut self) {
        self.sleep_between(Duration::ZERO, self.options.pause).await;
    }

    async fn sleep_between(&mut self, least: Duration, most: Duration) {
        // xorshift64: a different, reproducible sequence per client.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let spread = most.saturating_sub(least).as_micros() as u64;
        let extra = if spread == 0 { 0 } else { self.rng % spread };
        tokio::time::sleep(least + Duration::from_micros(extra)).await;
    }
}

/// How a request failed before an answer: `timeout`, `connect` or `connection`.
fn transport_failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "connection".into()
    }
}
