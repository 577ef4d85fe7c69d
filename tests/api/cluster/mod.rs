//! Several broker nodes on one Redis (issue 17), tested from outside: `ClusterHarness` starts
//! one durable `redis-server` (append-only file, `appendfsync always`) and N real `seatbroker`
//! processes in cluster mode, each on a loopback port the harness picked (so that the default
//! `cluster.advertise_url`, `http://` + `server.listen`, is right and survives a restart) with
//! its own data directory; it kills, pauses, resumes and restarts them, and tells which node
//! owns a pool by reading the pool's lease record in Redis. `HotPool` is one small pool with
//! many members, set up through several nodes. The simulated clients live in `load`, the
//! history checker in `history`, the scenarios in `three_nodes`, `failover` and
//! `rolling_restart`. Nothing here knows how the cluster is built inside.

mod failover;
mod history;
mod load;
mod records;
mod rolling_restart;
mod three_nodes;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use seatbroker::redis_server::RedisServer;
use serde_json::{json, Value};

use crate::helpers::{BrokerProcess, OPERATOR_TOKEN};
use history::Op;
use load::LoadReport;

/// The cluster secret every node of a harness shares.
pub const CLUSTER_SECRET: &str = "cluster-secret-for-tests";

/// The password of every account a harness creates.
const PASSWORD: &str = "correct horse";

/// How long a node may take from its start to answering `/readyz` 200.
const READY_PATIENCE: Duration = Duration::from_secs(30);

/// How long a setup or check request is retried after 503s and connection errors.
const CALL_PATIENCE: Duration = Duration::from_secs(20);

/// How long a SIGTERM may take to end a node (drain, flush, exit).
const EXIT_PATIENCE: Duration = Duration::from_secs(20);

/// How often the harness polls (readiness, leases).
const POLL: Duration = Duration::from_millis(20);

/// One broker node: its fixed port and data directory, and its process while it runs.
struct Node {
    port: u16,
    data: PathBuf,
    process: Option<BrokerProcess>,
    stopped: bool,
    /// What earlier processes of this node wrote to standard error.
    earlier_log: Vec<String>,
}

/// One Redis and N broker nodes in cluster mode on loopback ports, all stopped on drop.
pub struct ClusterHarness {
    nodes: Vec<Node>,
    redis: RedisServer,
    overrides: Vec<(String, String)>,
    http: reqwest::Client,
    _root: tempfile::TempDir,
}

/// A pool's lease record (`sb:{P-…}:lease`) as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The owner's node id (new at every start of a process).
    pub node_id: String,
    /// The owner's advertised URL.
    pub url: String,
    /// The index of the harness node with that URL, if any.
    pub node: Option<usize>,
    /// How long the lease still runs unless renewed.
    pub ttl: Option<Duration>,
}

/// One member of a hot pool.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its email.
    pub email: String,
    /// A login token, good on every node.
    pub token: String,
}

/// A small pool with many members: the contended pool of the scenarios.
#[derive(Debug, Clone)]
pub struct HotPool {
    /// The pool id (`P-…`).
    pub id: String,
    /// The owner's login token.
    pub owner_token: String,
    /// The pool's capacity (one operator-issued educational license).
    pub capacity: usize,
    /// The members, who joined with the invite code.
    pub members: Vec<Member>,
}

/// What `GET /v1/pools/{pool}/seats` listed, and when it was sent and answered.
#[derive(Debug, Clone)]
pub struct SeatListing {
    /// The seat ids listed.
    pub seats: BTreeSet<String>,
    /// When the request's first attempt was sent (no later than the answered attempt).
    pub sent: Instant,
    /// When its answer came.
    pub answered: Instant,
}

/// The Redis key of a pool's lease: the pool id as the store writes it (`PoolId`'s
/// `Display`, `P-` and hex digits) inside the hash tag, the same tag as the pool's other keys.
pub fn lease_key(pool: &str) -> String {
    let id = seatbroker::domain::ids::parse_pool(pool).expect("a pool id");
    format!("sb:{{{id}}}:lease")
}

impl ClusterHarness {
    /// Starts Redis and `nodes` brokers with the default cluster settings; returns when every
    /// node answers `/readyz` 200.
    pub async fn start(nodes: usize) -> ClusterHarness {
        Self::start_with(nodes, &[]).await
    }

    /// Like `start`, with some settings of every node changed (`("SEATBROKER__X__Y", "v")`).
    pub async fn start_with(nodes: usize, overrides: &[(&str, &str)]) -> ClusterHarness {
        let root = tempfile::tempdir().expect("temp dir");
        // Started on the test's thread: the server dies with the thread that started it.
        let redis = RedisServer::start(&root.path().join("redis"), true).expect("redis-server");
        let nodes = free_ports(nodes)
            .into_iter()
            .enumerate()
            .map(|(i, port)| {
                let data = root.path().join(format!("node-{i}"));
                std::fs::create_dir_all(&data).expect("node data dir");
                Node {
                    port,
                    data,
                    process: None,
                    stopped: false,
                    earlier_log: Vec::new(),
                }
            })
            .collect();
        let mut harness = ClusterHarness {
            nodes,
            redis,
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5))
                .build()
                .expect("http client"),
            _root: root,
        };
        let launches: Vec<_> = (0..harness.len())
            .map(|i| tokio::task::spawn_blocking(harness.launcher(i)))
            .collect();
        for (i, launch) in launches.into_iter().enumerate() {
            harness.nodes[i].process = Some(joined(launch.await));
        }
        for i in 0..harness.len() {
            harness.wait_ready(i).await;
        }
        harness
    }

    /// How many nodes the harness has (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Node `i`'s base URL, `http://127.0.0.1:PORT` (also its advertised URL).
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Every node's base URL, in node order.
    pub fn urls(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.url(i)).collect()
    }

    /// Whether node `i`'s process runs (a stopped one counts as running).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].process.is_some()
    }

    /// The nodes that run and are not stopped.
    pub fn answering(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.is_running(i) && !self.nodes[i].stopped)
            .collect()
    }

    /// Everything node `i` wrote to standard error, over all its processes.
    pub fn log(&self, i: usize) -> Vec<String> {
        let node = &self.nodes[i];
        let mut log = node.earlier_log.clone();
        if let Some(p) = &node.process {
            log.extend(
                p.log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned(),
            );
        }
        log
    }

    /// The last `lines` lines of every node's log, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for i in 0..self.len() {
            let log = self.log(i);
            out.push_str(&format!("--- node {i} ({}) ---\n", self.url(i)));
            for line in &log[log.len().saturating_sub(lines)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Kills node `i` at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self, i: usize) {
        let mut process = self.take_process(i);
        let _ = process.child.kill();
        let _ = process.child.wait();
        self.nodes[i].stopped = false;
    }

    /// Pauses node `i` (SIGSTOP): it keeps its sockets and answers nothing.
    pub fn stop(&mut self, i: usize) {
        self.process(i).signal("STOP");
        self.nodes[i].stopped = true;
    }

    /// Resumes node `i` after `stop` (SIGCONT).
    pub fn cont(&mut self, i: usize) {
        self.process(i).signal("CONT");
        self.nodes[i].stopped = false;
    }

    /// Asks node `i` to shut down (SIGTERM) and waits for it to exit; its exit code, or
    /// `None` when it had to be killed after `EXIT_PATIENCE`.
    pub async fn terminate(&mut self, i: usize) -> Option<i32> {
        self.process(i).signal("TERM");
        let asked = Instant::now();
        while asked.elapsed() < EXIT_PATIENCE {
            let process = self.nodes[i].process.as_mut().expect("running");
            if let Ok(Some(status)) = process.child.try_wait() {
                self.take_process(i);
                return status.code();
            }
            tokio::time::sleep(POLL).await;
        }
        self.kill(i);
        None
    }

    /// Starts node `i` again on its port and data directory; returns when it is ready.
    pub async fn start_node(&mut self, i: usize) {
        assert!(!self.is_running(i), "node {i} is already running");
        let process = joined(tokio::task::spawn_blocking(self.launcher(i)).await);
        self.nodes[i].process = Some(process);
        self.wait_ready(i).await;
    }

    /// SIGTERM, wait for the exit, start again on the same port; the exit code.
    pub async fn restart(&mut self, i: usize) -> Option<i32> {
        let code = self.terminate(i).await;
        self.start_node(i).await;
        code
    }

    /// The lease record of `pool` (`P-…`), when one is held.
    pub async fn lease(&self, pool: &str) -> Option<Lease> {
        let key = lease_key(pool);
        let client = redis::Client::open(self.redis.url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("the test's Redis answers");
        let (value, pttl): (Option<String>, i64) = redis::pipe()
            .cmd("GET")
            .arg(&key)
            .cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("GET and PTTL of the lease");
        let value = value?;
        let (node_id, url) = value.split_once(' ').unwrap_or((value.as_str(), ""));
        let url = url.trim().trim_end_matches('/').to_owned();
        Some(Lease {
            node_id: node_id.to_owned(),
            node: (0..self.len()).find(|&i| self.url(i) == url),
            url,
            ttl: u64::try_from(pttl).ok().map(Duration::from_millis),
        })
    }

    /// The node that owns `pool` by its lease, if a harness node does.
    pub async fn owner_of(&self, pool: &str) -> Option<usize> {
        self.lease(pool).await.and_then(|l| l.node)
    }

    /// Waits until a node owns the hot pool (asking for the pool through the nodes in turn,
    /// so that one loads it) and answers which one.
    pub async fn wait_for_owner(&self, pool: &HotPool) -> usize {
        let started = Instant::now();
        let mut via = 0;
        loop {
            if let Some(owner) = self.owner_of(&pool.id).await {
                return owner;
            }
            assert!(
                started.elapsed() < CALL_PATIENCE,
                "no node took the lease of {} within {CALL_PATIENCE:?}: {:?}\n{}",
                pool.id,
                self.lease(&pool.id).await,
                self.log_tails(20)
            );
            let nodes = self.answering();
            let node = nodes[via % nodes.len()];
            via += 1;
            let path = format!("/v1/pools/{}", pool.id);
            let (status, body) = self
                .call(node, Method::GET, &path, Some(&pool.owner_token), None)
                .await;
            assert_eq!(status, 200, "GET {path} through node {node}: {body}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to `limit` until a node other than `old` owns `pool`; that node, and when
    /// the lease was first seen naming it.
    pub async fn wait_for_owner_other_than(
        &self,
        pool: &str,
        old: usize,
        limit: Duration,
    ) -> (usize, Instant) {
        let started = Instant::now();
        loop {
            let lease = self.lease(pool).await;
            if let Some(owner) = lease.as_ref().and_then(|l| l.node).filter(|&n| n != old) {
                return (owner, Instant::now());
            }
            assert!(
                started.elapsed() < limit,
                "no node but {old} owns {pool} {limit:?} after it was asked: {lease:?}\n{}",
                self.log_tails(20)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends `method path` to node `i` with a bearer token and an optional JSON body,
    /// retrying 503s, 429s and connection errors there for up to `CALL_PATIENCE`; the
    /// status and JSON body (`null` when empty) of the first other answer.
    pub async fn call(
        &self,
        i: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        call_retrying(&self.http, &self.url(i), method, path, token, body).await
    }

    /// Creates a pool of `capacity` seats (an operator-issued educational license activated
    /// by a new owner) and `members` accounts that join it with its invite code. The owner
    /// and license go through node 0, the invite through node 1; member `m` is created
    /// through node `m`, logs in through node `m + 1` and joins through node `m + 2`
    /// (modulo the node count), so that account-level state crosses nodes from the start.
    pub async fn hot_pool(&self, capacity: u32, members: usize) -> HotPool {
        let n = self.len();
        let owner_token = create_and_login(&self.http, &self.url(0), &self.url(0), "owner").await;
        let (status, license) = self
            .call(
                0,
                Method::POST,
                "/v1/operator/licenses",
                Some(OPERATOR_TOKEN),
                Some(&json!({"type": "educational", "seats": capacity})),
            )
            .await;
        assert_eq!(status, 201, "license issued: {license}");
        let key = license["key"].as_str().expect("license key");
        let (status, activation) = self
            .call(
                0,
                Method::POST,
                "/v1/activations",
                Some(&owner_token),
                Some(&json!({ "code": key })),
            )
            .await;
        assert_eq!(status, 201, "license activated: {activation}");
        let pool = activation["pool"]["id"]
            .as_str()
            .expect("pool id")
            .to_owned();
        let (status, invite) = self
            .call(
                1 % n,
                Method::GET,
                &format!("/v1/pools/{pool}/invite"),
                Some(&owner_token),
                None,
            )
            .await;
        assert_eq!(status, 200, "invite code: {invite}");
        let code = invite["code"].as_str().expect("invite code").to_owned();
        let joins: Vec<_> = (0..members)
            .map(|m| {
                let http = self.http.clone();
                let urls = [
                    self.url(m % n),
                    self.url((m + 1) % n),
                    self.url((m + 2) % n),
                ];
                let code = code.clone();
                actix_rt::spawn(async move {
                    let name = format!("member-{m}");
                    let token = create_and_login(&http, &urls[0], &urls[1], &name).await;
                    let (status, joined) = call_retrying(
                        &http,
                        &urls[2],
                        Method::POST,
                        "/v1/activations",
                        Some(&token),
                        Some(&json!({ "code": code })),
                    )
                    .await;
                    assert!(
                        status == 201 || status == 200,
                        "{name} joins: {status} {joined}"
                    );
                    Member {
                        email: format!("{name}@example.org"),
                        token,
                    }
                })
            })
            .collect();
        let mut joined_members = Vec::with_capacity(members);
        for join in joins {
            joined_members.push(joined(join.await));
        }
        HotPool {
            id: pool,
            owner_token,
            capacity: capacity as usize,
            members: joined_members,
        }
    }

    /// `GET /v1/pools/{pool}/seats` through node `i` (503s retried there). `sent` is when
    /// the first attempt went out: no later than the attempt that was answered, so the
    /// listing proves a seat held at least until then.
    pub async fn list_seats_via(&self, i: usize, pool: &HotPool) -> SeatListing {
        let path = format!("/v1/pools/{}/seats", pool.id);
        let sent = Instant::now();
        let (status, body) = self
            .call(i, Method::GET, &path, Some(&pool.owner_token), None)
            .await;
        let answered = Instant::now();
        assert_eq!(status, 200, "GET {path} through node {i}: {body}");
        let seats = body
            .as_array()
            .expect("a list of seats")
            .iter()
            .map(|s| s["seat_id"].as_str().expect("seat id").to_owned())
            .collect();
        SeatListing {
            seats,
            sent,
            answered,
        }
    }

    /// `GET /v1/pools/{pool}/seats` through the first answering node.
    pub async fn list_seats(&self, pool: &HotPool) -> SeatListing {
        let node = *self.answering().first().expect("a node answers");
        self.list_seats_via(node, pool).await
    }

    /// The end of a run (after `Load::finish`): lists the pool's seats through an answering
    /// node, records the listing in the history, and asserts that no acknowledged seat was
    /// lost (every seat a client held at the end is listed), that no acknowledged release
    /// came undone, that the listing keeps the capacity, and that the history checker
    /// finds no instant with more seats certainly held than the capacity. Every broken
    /// promise is reported at once, with what the clients saw and the nodes' last words.
    pub async fn assert_seats_kept(&self, pool: &HotPool, report: &LoadReport) -> SeatListing {
        let listing = self.list_seats(pool).await;
        for seat in &listing.seats {
            report
                .history
                .record(Op::Listed, seat, listing.sent, listing.answered);
        }
        let mut broken = Vec::new();
        let held: BTreeSet<String> = report.held.iter().map(|(_, s)| s.clone()).collect();
        let lost: Vec<&String> = held.difference(&listing.seats).collect();
        if !lost.is_empty() {
            broken.push(format!("acknowledged seats lost: {lost:?}"));
        }
        let released = report.released();
        let undone: Vec<&String> = listing.seats.intersection(&released).collect();
        if !undone.is_empty() {
            broken.push(format!("acknowledged releases undone: {undone:?}"));
        }
        if listing.seats.len() > pool.capacity {
            broken.push(format!(
                "S1: {} seats listed with capacity {}",
                listing.seats.len(),
                pool.capacity
            ));
        }
        match report.history.check(pool.capacity) {
            Ok(verdict) => eprintln!(
                "history: {} seats, at most {} certainly held at once (capacity {})",
                verdict.seats, verdict.peak, pool.capacity
            ),
            Err(over) => broken.push(over.to_string()),
        }
        let unknown: Vec<&String> = listing.seats.difference(&held).collect();
        if !unknown.is_empty() {
            eprintln!("listed seats no client knows it holds (late retries): {unknown:?}");
        }
        assert!(
            broken.is_empty(),
            "{}\nlisted: {:?}\nheld by clients: {held:?}\nunexpected answers: {:#?}\n{}\n{}",
            broken.join("\n"),
            listing.seats,
            report.unexpected,
            report.summary(),
            self.log_tails(30)
        );
        listing
    }

    fn process(&self, i: usize) -> &BrokerProcess {
        self.nodes[i]
            .process
            .as_ref()
            .unwrap_or_else(|| panic!("node {i} is not running"))
    }

    /// Takes node `i`'s process out, keeping its log.
    fn take_process(&mut self, i: usize) -> BrokerProcess {
        let node = &mut self.nodes[i];
        let process = node
            .process
            .take()
            .unwrap_or_else(|| panic!("node {i} is not running"));
        node.earlier_log.extend(
            process
                .log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        node.stopped = false;
        process
    }

    /// What starts node `i` (blocking until it says which port it serves), to run off the
    /// test's thread so that the simulated clients go on meanwhile.
    fn launcher(&self, i: usize) -> impl FnOnce() -> BrokerProcess + Send + 'static {
        let node = &self.nodes[i];
        let listen = format!("127.0.0.1:{}", node.port);
        let mut env: Vec<(String, String)> = vec![
            ("SEATBROKER__STORAGE__BACKEND".into(), "redis".into()),
            ("SEATBROKER__STORAGE__REDIS_URL".into(), self.redis.url()),
            ("SEATBROKER__SERVER__LISTEN".into(), listen),
            ("SEATBROKER__SERVER__PUBLIC_URL".into(), self.url(i)),
            ("SEATBROKER__CLUSTER__SECRET".into(), CLUSTER_SECRET.into()),
        ];
        env.extend(self.overrides.iter().cloned());
        let data = node.data.clone();
        move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            BrokerProcess::start_with(&data, &env)
        }
    }

    /// Waits until node `i` answers `/readyz` 200.
    async fn wait_ready(&self, i: usize) {
        let started = Instant::now();
        let url = format!("{}/readyz", self.url(i));
        loop {
            if let Ok(res) = self.http.get(&url).send().await {
                if res.status() == 200 {
                    return;
                }
            }
            assert!(
                started.elapsed() < READY_PATIENCE,
                "node {i} not ready within {READY_PATIENCE:?}\n{}",
                self.log_tails(30)
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ClusterHarness {
    /// Kills every node (SIGKILL ends a stopped process too) before Redis goes.
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut process) = node.process.take() {
                let _ = process.child.kill();
                let _ = process.child.wait();
            }
        }
    }
}

/// `n` distinct free loopback ports (all bound at once, then released for the nodes).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// The value of a finished task, or its panic carried on.
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("task did not finish: {e}"),
    }
}

/// Creates the account `name@example.org` through `create_at` and logs in through
/// `login_at`; its token.
async fn create_and_login(
    http: &reqwest::Client,
    create_at: &str,
    login_at: &str,
    name: &str,
) -> String {
    let email = format!("{name}@example.org");
    let (status, account) = call_retrying(
        http,
        create_at,
        Method::POST,
        "/v1/accounts",
        None,
        Some(&json!({"email": email, "password": PASSWORD, "name": name})),
    )
    .await;
    assert_eq!(status, 201, "account {email} created: {account}");
    let (status, login) = call_retrying(
        http,
        login_at,
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{email} logs in: {login}");
    login["token"].as_str().expect("token").to_owned()
}

/// One request to `base`, retried there after 503s, 429s and connection errors for up to
/// `CALL_PATIENCE`; the status and JSON body (`null` when empty) of the first other answer.
async fn call_retrying(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let started = Instant::now();
    loop {
        let mut req = http.request(method.clone(), format!("{base}{path}"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let last = match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.bytes().await {
                    Ok(bytes) => {
                        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        if status != 503 && status != 429 {
                            return (status, body);
                        }
                        format!("{status} {body}")
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        assert!(
            started.elapsed() < CALL_PATIENCE,
            "{method} {base}{path} not answered within {CALL_PATIENCE:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
