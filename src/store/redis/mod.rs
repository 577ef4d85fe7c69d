//! `RedisStore`: the `redis` backend (`storage.backend = "redis"`). It implements the same
//! traits as the embedded store (`PoolStore` for the engine, `AccountStore` for the service)
//! on one multiplexed connection that reconnects by itself (or, on a Redis Cluster, the
//! redis crate's cluster connection), and passes the same conformance tests. What the seat
//! rules decide stays in the engine; this module only encodes changes and runs the scripts
//! of `redis_scripts`.
//!
//! Key layout (every record is MessagePack with field names, as in the embedded store):
//!
//! | key | type | content |
//! | --- | --- | --- |
//! | `sb:{P-…}:pool` | hash | `owner`, `licenses`, `settings`, `trial`, `next_seat_id` (20 digits), `epoch` (ownership), `usage_hour` (latest hour with counts) |
//! | `sb:{P-…}:seats` | hash | seat id → `SeatRecord` |
//! | `sb:{P-…}:tombstones` | list | removal time (ms, 20 digits) then `Tombstone`, oldest first, kept 7 days (a sorted set before; loading converts it) |
//! | `sb:{P-…}:blocked` | set | blocked account ids |
//! | `sb:{P-…}:usage` | hash | hour start (ms, 20 digits) → `UsageRecord` counts |
//! | `sb:{P-…}:usage_accounts` | sorted set | `hour:account`, scored by the hour: accounts seen in the hour |
//! | `sb:{P-…}:day_accounts` | sorted set | `day:account`, scored by the day: accounts seen in the day |
//! | `sb:{P-…}:usage_hours` | sorted set | the hours of `usage`, for range reads and retention |
//! | `sb:{P-…}:lease` | string | several nodes: `node-id url` of the node that owns the pool, expiring with its lease |
//! | `sb:{r}:account:<n>` | string | `AccountRecord` |
//! | `sb:{r}:emails` | hash | lower-cased email → account id |
//! | `sb:{r}:secret:token_signing_key` | string | the token-signing key |
//! | `sb:{r}:secret:offline_signing_keys` | string | the offline keyring (current seed, retired public keys) |
//! | `sb:{r}:audit`, `sb:{r}:audit_seq` | sorted set, string | the append-only audit log: time → 20-digit sequence and `AuditEntry`; the sequence |
//! | `sb:{r}:license:<n>` | string | `LicenseRecord` as issued |
//! | `sb:{r}:license_keys` | hash | key bits → license id |
//! | `sb:{r}:license_holders` | hash | license id → the account that activated it |
//! | `sb:{r}:holdings:<n>` | sorted set | license ids the account holds |
//! | `sb:{r}:pool_record:<n>` | string | `PoolRecord` |
//! | `sb:{r}:invites` | hash | invite code bits → pool |
//! | `sb:{r}:pool_invites` | hash | pool → its current invite code bits |
//! | `sb:{r}:members:<n>` | hash | account id → `MembershipRecord` |
//! | `sb:{r}:member_of:<n>` | sorted set | pools (16 hex digits) shared with the account, scored by join time |
//! | `sb:{r}:trials:<n>` | sorted set | `TrialRecord`, scored by start time |
//! | `sb:{r}:session:<key hex>`, `sb:{r}:sessions_of:<n>` | string, set | `SessionRecord` by the SHA-256 of its id; an account's session keys |
//! | `sb:{r}:lockout:<sha256 hex>` | hash | several nodes, A3: `count` of failed logins of one (email, address), `until` once locked out; expires a lockout period after the last failure |
//! | `sb:{r}:lock:<account n>` | string | several nodes: the random token of the node holding the account's lock (activations, trials, pool administration), expiring after 10 s |
//! | `sb:{r}:revocations` | hash | account id → the time (ms) before which its API tokens are void |
//! | `sb:{r}:link:<key hex>`, `sb:{r}:link_of:<n>:<purpose>` | strings | `LinkRecord` by the SHA-256 of its token (expiring with it); an account's live link |
//!
//! `<n>` is the numeric value of an account, license or pool id (the scripts build keys
//! from the ids they read). A pool's keys share the hash tag `{P-…}`, so one pool lives in one Redis Cluster slot and
//! its commit is one atomic script. The service's records share the tag `{r}`: they are
//! small, rarely written, and their scripts check uniqueness across several keys.
//!
//! Fencing: `load` increments the pool's `epoch`; every commit carries the epoch its node
//! loaded and is refused inside the script when a newer one exists. On a single node a
//! refused pool is remembered as lost: this store never loads it again, so the node never
//! takes it back by itself. With several nodes (`hold_leases`) a load also takes the pool's
//! lease `sb:{P-…}:lease` in the same script, and is refused while another node holds it;
//! `leases.rs` renews and gives up leases.
//!
//! Redis Cluster: `storage.redis_url` listing several nodes, comma-separated
//! (`redis://127.0.0.1:7000,redis://127.0.0.1:7001`), makes the store use the redis crate's
//! async cluster client, which finds every master from any node it reaches and routes each
//! command by its first key's slot. Every script and multi-key command stays in one slot (a
//! pool's tag or `{r}`). The few things that are not one slot's business:
//! - pipelines of one script per pool (commits, lease renewals): the cluster client refuses
//!   a pipeline across slots, so `pipeline_each` sends one pipeline per slot, all at once
//!   (multiplexed over the one connection to each master), each slot's calls in their order,
//!   and answers per call: a master that fails fails only its pools;
//! - `live_pools` scans every master (`on_every_master`, then each master's cursor);
//! - `ping` and `durability_warning` ask every master: a pool on any master may be written,
//!   so the store is ready, and durable, only when every master is;
//! - `publish` goes to one master and Redis Cluster broadcasts it to every node, while
//!   `client()` is a plain client of the first URL: a subscription (the nodes' change bus)
//!   is one connection to that node, which hears what is published anywhere.
//!
//! Failures: every request has a deadline (`storage.redis_timeout_ms`, and the much shorter
//! `storage.redis_down_timeout_ms` once a request found Redis down), so a write is refused
//! quickly instead of hanging; in-flight requests are bounded by a semaphore.
//!
//! `pools.rs` holds the pools' side (group commits, loads, usage, the live pools at start),
//! `accounts.rs` the service's records; this file connects and runs requests for both.

mod accounts;
mod leases;
mod lockouts;
mod pools;
mod shared_locks;

pub use leases::LeaseOptions;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo, Slot};
use redis::{RedisError, RedisResult, Script, Value};
use seatbroker_actors::model::STORED_TOMBSTONES;
use seatbroker_actors::store::{PoolCommit, PoolStore, StoreError, StoreFuture};
use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{AccountId, Change, PoolId, PoolSnapshot, Timestamp, UsageRecord};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::embedded::TOMBSTONE_RETENTION_MS;
use super::redis_scripts as lua;
use super::{
    decode, encode, unavailable, AccountRecord, AccountStore, AuditEntry, Claim,
    CreateAccountError, CreateLicenseError, LicenseRecord, LinkRecord, MembershipRecord,
    PoolRecord, SessionRecord, TrialRecord,
};

/// The prefix of the service's records (one hash tag for all of them).
const R: &str = "sb:{r}:";

/// How the Redis store connects and how long it waits.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `redis://[:password@]host:port[/db]` or `rediss://…` for TLS; several of them,
    /// comma-separated, for the nodes of a Redis Cluster.
    pub url: String,
    /// The deadline of a request while Redis answers.
    pub timeout: Duration,
    /// The deadline of a request once Redis was found down.
    pub down_timeout: Duration,
    /// The most requests in flight at once.
    pub max_in_flight: usize,
    /// How long usage records are kept, in days.
    pub usage_retention_days: u32,
}

/// Why the Redis store could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisOpenError {
    /// The URL is not a Redis URL.
    #[error("storage.redis_url is not a usable Redis URL ({0})")]
    Url(String),
    /// Redis did not answer.
    #[error("cannot reach Redis at {target}: {reason}")]
    Unreachable {
        /// Where (host and port, never the password).
        target: String,
        /// What happened.
        reason: String,
    },
}

/// The Redis backend.
pub struct RedisStore {
    /// For connections of their own (the cluster's subscription): the first URL's node.
    client: redis::Client,
    conn: Connection,
    /// Host and port of each URL, comma-separated (never the password).
    target: String,
    scripts: Scripts,
    /// The ownership epoch this node holds for each pool it loaded or created.
    epochs: DashMap<PoolId, u64>,
    /// Pools another node took over; never loaded again by this store (on a single node;
    /// with several, the pool's lease decides).
    lost: DashSet<PoolId>,
    /// Several nodes: how this node holds leases (`None` on a single node).
    lease: Option<LeaseOptions>,
    /// Several nodes: the pools whose lease this node holds, with when it last renewed it
    /// (measured before the renewal was sent).
    leases: DashMap<PoolId, std::time::Instant>,
    up: AtomicBool,
    gate: Semaphore,
    timeout: Duration,
    down_timeout: Duration,
    round_trips: AtomicU64,
    /// Commits refused because another node loaded the pool since (a newer epoch).
    fenced: AtomicU64,
    /// Several nodes: loads that took a pool's lease.
    takeovers: AtomicU64,
    usage_retention_ms: u64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

struct Scripts {
    commit: Script,
    load: Script,
    usage_range: Script,
    create_pool: Script,
    create_account: Script,
    account_by_email: Script,
    create_license: Script,
    license_by_key: Script,
    claim_license: Script,
    licenses_of: Script,
    set_invite: Script,
    remove_membership: Script,
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            commit: Script::new(lua::COMMIT),
            load: Script::new(lua::LOAD),
            usage_range: Script::new(lua::USAGE_RANGE),
            create_pool: Script::new(lua::CREATE_POOL),
            create_account: Script::new(lua::CREATE_ACCOUNT),
            account_by_email: Script::new(lua::ACCOUNT_BY_EMAIL),
            create_license: Script::new(lua::CREATE_LICENSE),
            license_by_key: Script::new(lua::LICENSE_BY_KEY),
            claim_license: Script::new(lua::CLAIM_LICENSE),
            licenses_of: Script::new(lua::LICENSES_OF),
            set_invite: Script::new(lua::SET_INVITE),
            remove_membership: Script::new(lua::REMOVE_MEMBERSHIP),
        }
    }
}

/// What the store sends its requests through.
#[derive(Clone)]
enum Connection {
    /// One Redis: a multiplexed connection that reconnects by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: connections to every master, each command routed by its key's slot.
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}

/// One pool's commit script call: its place in the batch, its keys, its arguments.
struct PoolCall {
    index: usize,
    keys: [String; 9],
    args: Vec<Vec<u8>>,
}

/// The eight keys of a pool, in the order the pool scripts take them.
fn pool_keys(pool: PoolId) -> [String; 9] {
    let tag = format!("sb:{{{pool}}}");
    [
        format!("{tag}:pool"),
        format!("{tag}:seats"),
        format!("{tag}:tombstones"),
        format!("{tag}:blocked"),
        format!("{tag}:usage"),
        format!("{tag}:usage_accounts"),
        format!("{tag}:day_accounts"),
        format!("{tag}:usage_hours"),
        format!("{tag}:usage_events"),
    ]
}

/// A number as 20 digits, so that Lua compares them as strings in numeric order.
fn padded(n: u64) -> String {
    format!("{n:020}")
}

fn is_outage(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.kind() == redis::ErrorKind::ClusterConnectionNotFound
        || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ClusterDown)
}

/// `CONFIG GET name`.
fn config_get(name: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET").arg(name);
    cmd
}

impl RedisStore {
    /// Connects to Redis (to a Redis Cluster when the URL lists several nodes) and checks
    /// that it answers.
    pub async fn connect(options: &RedisOptions) -> Result<Self, RedisOpenError> {
        let urls: Vec<&str> = options
            .url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let clients = urls
            .iter()
            .map(|url| redis::Client::open(*url))
            .collect::<RedisResult<Vec<_>>>()
            .map_err(|e| RedisOpenError::Url(e.to_string()))?;
        let Some(client) = clients.first().cloned() else {
            return Err(RedisOpenError::Url("no URL".into()));
        };
        let target = clients
            .iter()
            .map(|c| c.get_connection_info().addr().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let connect_timeout = options.timeout.min(Duration::from_millis(500));
        let unreachable = |e: RedisError| RedisOpenError::Unreachable {
            target: target.clone(),
            reason: e.to_string(),
        };
        let conn = if clients.len() == 1 {
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(connect_timeout))
                .set_response_timeout(Some(options.timeout))
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(Duration::from_millis(250))
                .set_number_of_retries(4);
            let conn = ConnectionManager::new_with_config(client.clone(), config)
                .await
                .map_err(unreachable)?;
            Connection::Single(conn)
        } else {
            // The same patience as one Redis: a few quick retries (the crate's default waits
            // over a second before its first), within the store's own deadline anyway.
            let cluster = redis::cluster::ClusterClientBuilder::new(
                clients.iter().map(|c| c.get_connection_info().clone()),
            )
            .connection_timeout(connect_timeout)
            .response_timeout(options.timeout)
            .retries(4)
            .min_retry_wait(10)
            .max_retry_wait(250)
            .build()
            .map_err(|e| RedisOpenError::Url(e.to_string()))?;
            let conn = cluster.get_async_connection().await.map_err(unreachable)?;
            Connection::Cluster(conn)
        };
        Ok(RedisStore {
            client,
            conn,
            target,
            scripts: Scripts::new(),
            epochs: DashMap::new(),
            lost: DashSet::new(),
            lease: None,
            leases: DashMap::new(),
            up: AtomicBool::new(true),
            gate: Semaphore::new(options.max_in_flight.max(1)),
            timeout: options.timeout,
            down_timeout: options.down_timeout.min(options.timeout),
            round_trips: AtomicU64::new(0),
            fenced: AtomicU64::new(0),
            takeovers: AtomicU64::new(0),
            usage_retention_ms: u64::from(options.usage_retention_days) * DAY_MS,
        })
    }

    /// The Redis client, for a connection of its own (a subscription). On a Redis Cluster,
    /// a client of the first URL's node: a classic subscription there hears every `publish`,
    /// since the cluster broadcasts PUBLISH to all of its nodes.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Publishes `message` on `channel` (on a Redis Cluster, to every node).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(message);
        self.query::<i64>("publishing a change", publish).await?;
        Ok(())
    }

    /// Where the store connects (host and port, never the password; each node's of a
    /// cluster, comma-separated).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Requests sent to Redis so far (each one round trip, a pipeline included).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Commits refused so far because another node had loaded the pool since.
    pub fn fenced_writes(&self) -> u64 {
        self.fenced.load(Ordering::Relaxed)
    }

    /// Several nodes: pools this node took so far (loads that took the pool's lease).
    pub fn takeovers(&self) -> u64 {
        self.takeovers.load(Ordering::Relaxed)
    }

    /// A warning when Redis may lose acknowledged writes in a crash (it does not fsync every
    /// write), or when it does not let us check; `None` when it is durable. On a Redis
    /// Cluster every master is asked, and the warning names the first that is not durable.
    pub async fn durability_warning(&self) -> Option<String> {
        let what = "checking durability";
        let asked = async {
            let only = self.on_every_master(what, config_get("appendonly")).await?;
            let fsync = self
                .on_every_master(what, config_get("appendfsync"))
                .await?;
            Ok::<_, StoreError>((only, fsync))
        };
        let (only, fsync) = match asked.await {
            Ok(answers) => answers,
            Err(e) => {
                return Some(format!(
                    "cannot check Redis' durability (CONFIG GET refused: {e}); make sure it \
                     runs with appendonly yes and appendfsync always"
                ))
            }
        };
        // A CONFIG GET answer is `[name, value]` (a map in RESP3).
        let setting = |answers: &[(String, Value)], node: &str, name: &str| {
            answers
                .iter()
                .find(|(n, _)| n == node)
                .and_then(|(_, v)| redis::from_redis_value_ref::<HashMap<String, String>>(v).ok())
                .and_then(|mut m| m.remove(name))
                .unwrap_or_default()
        };
        let mut lax = only.iter().filter_map(|(node, _)| {
            let only = setting(&only, node, "appendonly");
            let fsync = setting(&fsync, node, "appendfsync");
            (only != "yes" || fsync != "always").then(|| (node.clone(), only, fsync))
        });
        let (node, only, fsync) = lax.next()?;
        let more = lax.count();
        let at = match &self.conn {
            Connection::Single(_) => String::new(),
            Connection::Cluster(_) if more == 0 => format!(" (the master at {node})"),
            Connection::Cluster(_) => format!(" (the master at {node} and {more} more)"),
        };
        Some(format!(
            "Redis{at} runs with appendonly {only:?} and appendfsync {fsync:?}: a Redis crash \
             may lose acknowledged seats; run it with appendonly yes and appendfsync always"
        ))
    }

    /// Runs `cmd` on every master (the one Redis, or each master of a cluster): each
    /// master's address and answer. Answers that are errors fail the whole request.
    async fn on_every_master(
        &self,
        what: &str,
        cmd: redis::Cmd,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut conn = match &self.conn {
            Connection::Single(_) => {
                let answer: Value = self.query(what, cmd).await?;
                return Ok(vec![(self.target.clone(), answer)]);
            }
            Connection::Cluster(conn) => conn.clone(),
        };
        let every = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let answer = self
            .run(what, async move { conn.route_command(cmd, every).await })
            .await?;
        let Value::Map(answers) = answer else {
            return Err(unavailable(what, "no answer per master"));
        };
        answers
            .into_iter()
            .map(
                |(node, answer)| match (parse_text::<String>(&node), answer) {
                    (_, Value::ServerError(e)) => Err(unavailable(what, RedisError::from(e))),
                    (Some(node), answer) => Ok((node, answer)),
                    (None, _) => Err(unavailable(what, "a master without an address")),
                },
            )
            .collect()
    }

    /// Runs `cmd` on the master at `node` (an address `on_every_master` answered).
    async fn on_master<T: redis::FromRedisValue>(
        &self,
        what: &str,
        node: &str,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        let Connection::Cluster(conn) = &self.conn else {
            return self.query(what, cmd).await;
        };
        let (host, port) = node
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
            .ok_or_else(|| unavailable(what, format!("{node:?} is not host:port")))?;
        let mut conn = conn.clone();
        let there = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
        let answer = self
            .run(what, async move { conn.route_command(cmd, there).await })
            .await?;
        redis::from_redis_value(answer).map_err(|e| unavailable(what, e))
    }

    /// Sends `calls` (each a command and the key that routes it) pipelined, with one
    /// answer per call, errors included, as one request (one deadline, one permit). On one
    /// Redis that is one pipeline. A cluster client refuses a pipeline across slots, so on a
    /// cluster the calls go as one pipeline per slot, all at once (multiplexed over the
    /// connection to each master), each slot's calls in their order; the cluster client
    /// follows a slot that moved (MOVED, ASK) by sending its pipeline again to the new
    /// master. A slot whose pipeline fails or misses the deadline answers that error for each
    /// of its calls, so a master that is down fails its pools only, and only when every slot
    /// failed does the whole request fail.
    async fn pipeline_each<T: redis::FromRedisValue>(
        &self,
        what: &str,
        calls: Vec<(&str, redis::Cmd)>,
    ) -> Result<Vec<RedisResult<T>>, StoreError> {
        let count = calls.len();
        let mut groups: Vec<(Vec<usize>, redis::Pipeline)> = Vec::new();
        match &self.conn {
            Connection::Single(_) => {
                let mut pipe = redis::pipe();
                for (_, cmd) in calls {
                    pipe.add_command(cmd);
                }
                groups.push(((0..count).collect(), pipe));
            }
            Connection::Cluster(_) => {
                let mut by_slot: HashMap<Slot, usize> = HashMap::new();
                for (i, (key, cmd)) in calls.into_iter().enumerate() {
                    let group = *by_slot.entry(Slot::for_key(key)).or_insert_with(|| {
                        groups.push((Vec::new(), redis::pipe()));
                        groups.len() - 1
                    });
                    groups[group].0.push(i);
                    groups[group].1.add_command(cmd);
                }
            }
        }
        let conn = self.conn.clone();
        // Each slot's pipeline has the request's deadline, so that a slot that misses it fails
        // alone; `run`'s own timeout, which starts later, never cuts the others' answers.
        let deadline = self.deadline();
        let until = tokio::time::Instant::now() + deadline;
        self.run(what, async move {
            let sent = groups.into_iter().map(|(indices, mut pipe)| {
                let mut conn = conn.clone();
                async move {
                    pipe.ignore_errors();
                    let answers = pipe.query_async::<Vec<RedisResult<T>>>(&mut conn);
                    let answers = match tokio::time::timeout_at(until, answers).await {
                        Ok(answers) => answers,
                        Err(_) => Err(RedisError::from(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("Redis did not answer within {deadline:?}"),
                        ))),
                    };
                    (indices, answers)
                }
            });
            let mut out: Vec<Option<RedisResult<T>>> = (0..count).map(|_| None).collect();
            let (mut answered, mut failed) = (false, None);
            for (indices, answers) in futures_util::future::join_all(sent).await {
                match answers {
                    Ok(answers) => {
                        answered = true;
                        for (i, answer) in indices.into_iter().zip(answers) {
                            out[i] = Some(answer);
                        }
                    }
                    Err(e) => {
                        for i in indices {
                            out[i] = Some(Err(e.clone()));
                        }
                        failed.get_or_insert(e);
                    }
                }
            }
            if let (false, Some(e)) = (answered, failed) {
                return Err(e);
            }
            Ok(out
                .into_iter()
                .map(|answer| {
                    answer.unwrap_or_else(|| {
                        Err(RedisError::from((
                            redis::ErrorKind::Client,
                            "no answer in the pipeline",
                        )))
                    })
                })
                .collect())
        })
        .await
    }

    /// The deadline of a request sent now: the short one once Redis was found down.
    fn deadline(&self) -> Duration {
        if self.up.load(Ordering::Relaxed) {
            self.timeout
        } else {
            self.down_timeout
        }
    }

    /// A Redis Cluster is up when every slot has a master and every master answers PING (a
    /// pool on any of them may need a write at any time). The cluster client's own fan-out
    /// of PING reaches only the masters it is connected to, so it would not notice one that
    /// is gone: the masters are read from `CLUSTER SLOTS` and pinged one by one, at once.
    async fn ping_every_master(&self) -> Result<(), StoreError> {
        let what = "ping";
        let mut slots = redis::cmd("CLUSTER");
        slots.arg("SLOTS");
        let ranges: Vec<Value> = self.query(what, slots).await?;
        let mut served = 0;
        let mut masters = std::collections::BTreeSet::new();
        for range in &ranges {
            let Value::Array(range) = range else {
                return Err(unavailable(what, "CLUSTER SLOTS: not a slot range"));
            };
            let [Value::Int(first), Value::Int(last), Value::Array(master), ..] = range.as_slice()
            else {
                return Err(unavailable(what, "CLUSTER SLOTS: not a slot range"));
            };
            let (Some(host), Some(Value::Int(port))) =
                (master.first().and_then(parse_text::<String>), master.get(1))
            else {
                return Err(unavailable(
                    what,
                    "CLUSTER SLOTS: a master without an address",
                ));
            };
            served += last - first + 1;
            masters.insert(format!("{host}:{port}"));
        }
        if served < 16_384 {
            return Err(unavailable(
                what,
                format!("{} of the 16384 slots have no master", 16_384 - served),
            ));
        }
        let pings = masters
            .iter()
            .map(|master| self.on_master::<String>(what, master, redis::cmd("PING")));
        futures_util::future::try_join_all(pings).await?;
        Ok(())
    }

    /// Runs one request with the deadline and the in-flight bound, and keeps track of
    /// whether Redis answers.
    async fn run<T>(
        &self,
        what: &str,
        request: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let deadline = self.deadline();
        let started = tokio::time::Instant::now();
        let _permit = tokio::time::timeout(deadline, self.gate.acquire())
            .await
            .map_err(|_| unavailable(what, "too many Redis requests in flight"))?
            .map_err(|e| unavailable(what, e))?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let left = deadline.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, request).await {
            Ok(Ok(value)) => {
                self.up.store(true, Ordering::Relaxed);
                Ok(value)
            }
            Ok(Err(e)) => {
                if is_outage(&e) {
                    self.up.store(false, Ordering::Relaxed);
                }
                Err(unavailable(what, e))
            }
            Err(_) => {
                self.up.store(false, Ordering::Relaxed);
                Err(unavailable(
                    what,
                    format!("Redis did not answer within {deadline:?}"),
                ))
            }
        }
    }

    /// Runs a script once (loading it into Redis when Redis does not know it).
    async fn script<T: redis::FromRedisValue>(
        &self,
        what: &str,
        script: &Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<T, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        self.run(
            what,
            async move { invocation.invoke_async(&mut conn).await },
        )
        .await
    }

    /// Runs a plain command.
    async fn query<T: redis::FromRedisValue>(
        &self,
        what: &str,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        self.run(what, async move { cmd.query_async(&mut conn).await })
            .await
    }
}

fn blob(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn parse_text<T: std::str::FromStr>(v: &Value) -> Option<T> {
    std::str::from_utf8(blob(v)?).ok()?.parse().ok()
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .iter()
            .filter_map(|i| blob(i).and_then(|b| String::from_utf8(b.to_vec()).ok()))
            .collect(),
        _ => Vec::new(),
    }
}

fn decode_all<T: DeserializeOwned>(v: &Value) -> Result<Vec<T>, StoreError> {
    decode_each(v, |bytes| decode(bytes))
}

/// Each entry of a list or set reply read by `read` (from its bytes); nil is an empty list.
fn decode_each<T>(
    v: &Value,
    read: impl Fn(&[u8]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .iter()
            .map(|i| {
                blob(i)
                    .ok_or_else(|| unavailable("a stored record is unreadable", "not bytes"))
                    .and_then(&read)
            })
            .collect(),
        Value::Nil => Ok(Vec::new()),
        _ => Err(unavailable("a stored list is unreadable", "not a list")),
    }
}

/// The tombstone list's entries: each the removal time as 20 digits, then the `Tombstone`.
fn decode_tombstones(v: &Value) -> Result<Vec<seatbroker_actors::Tombstone>, StoreError> {
    decode_each(v, |entry| match entry.split_at_checked(20) {
        Some((at, record)) if at.iter().all(u8::is_ascii_digit) => decode(record),
        _ => Err(unavailable(
            "a stored tombstone is unreadable",
            "no removal time",
        )),
    })
}

/// Accounts of `time:account` members, sorted.
fn tagged_accounts(v: &Value) -> Vec<AccountId> {
    let mut out: Vec<AccountId> = texts(v)
        .iter()
        .filter_map(|t| t.rsplit_once(':')?.1.parse().ok().map(AccountId))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod proptests {
    //! The readers of Redis replies (lists of records, tombstone entries, `time:account`
    //! members, numbers as text): whatever a reply holds, an error or a skipped entry, never
    //! a panic; what the writers put there reads back.

    use super::*;
    use crate::mutations::near_bytes;
    use proptest::prelude::*;
    use seatbroker_actors::{GoneReason, SeatId, Tombstone};

    fn tombstone() -> impl Strategy<Value = Tombstone> {
        (any::<u64>(), any::<u32>(), any::<u64>()).prop_map(|(seat, account, at)| Tombstone {
            seat: SeatId(seat),
            account: AccountId(account),
            reason: GoneReason::Released,
            at: Timestamp(at),
        })
    }

    /// A tombstone list's entry as `COMMIT` writes it: the removal time in 20 digits, then
    /// the record.
    fn tombstone_entry(tomb: &Tombstone) -> Vec<u8> {
        let mut entry = padded(tomb.at.as_millis()).into_bytes();
        entry.extend(encode(tomb).unwrap());
        entry
    }

    /// Any reply Redis could give: scalars, and lists or sets of them.
    fn reply(
        entry: impl Strategy<Value = Vec<u8>> + Clone + 'static,
    ) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            3 => entry.prop_map(Value::BulkString),
            1 => ".{0,20}".prop_map(Value::SimpleString),
            1 => any::<i64>().prop_map(Value::Int),
            1 => Just(Value::Nil),
            1 => Just(Value::Okay),
        ];
        leaf.prop_recursive(2, 16, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec(inner, 0..8).prop_map(Value::Set),
            ]
        })
    }

    fn entry_bytes() -> impl Strategy<Value = Vec<u8>> + Clone {
        prop_oneof![
            any::<Vec<u8>>(),
            near_bytes(tombstone().prop_map(|t| tombstone_entry(&t))),
            "[0-9]{0,12}:[0-9]{0,12}".prop_map(String::into_bytes),
            any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        ]
    }

    proptest! {
        #[test]
        fn reading_any_redis_reply_never_panics(v in reply(entry_bytes())) {
            let _ = decode_tombstones(&v);
            let _ = decode_all::<seatbroker_actors::SeatRecord>(&v);
            let _ = decode_all::<crate::store::AccountRecord>(&v);
            let _ = tagged_accounts(&v);
            let _ = texts(&v);
            let _ = parse_text::<u64>(&v);
            let _ = parse_text::<u32>(&v);
        }

        #[test]
        fn tombstone_entries_read_back_as_written(tombs in prop::collection::vec(tombstone(), 0..6)) {
            let v = Value::Array(tombs.iter().map(|t| Value::BulkString(tombstone_entry(t))).collect());
            prop_assert_eq!(decode_tombstones(&v).ok(), Some(tombs));
        }

        #[test]
        fn tagged_accounts_read_back_sorted_and_distinct(
            members in prop::collection::vec((any::<u64>(), 0u32..50), 0..10),
        ) {
            let v = Value::Array(members.iter().map(|(at, a)| Value::BulkString(format!("{at}:{a}").into_bytes())).collect());
            let mut expected: Vec<AccountId> = members.iter().map(|(_, a)| AccountId(*a)).collect();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(tagged_accounts(&v), expected);
        }
    }
}
