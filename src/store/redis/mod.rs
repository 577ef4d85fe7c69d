//! `RedisStore`: the `redis` backend (`storage.backend = "redis"`). It implements the same
//! traits as the embedded store (`PoolStore` for the engine, `AccountStore` for the service)
//! on one multiplexed connection that reconnects by itself, and passes the same conformance
//! tests. What the seat rules decide stays in the engine; this module only encodes changes
//! and runs the scripts of `redis_scripts`.
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

pub use leases::LeaseOptions;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use redis::aio::ConnectionManager;
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
    decode, encode, unavailable, AccountRecord, AccountStore, Claim, CreateAccountError,
    CreateLicenseError, LicenseRecord, LinkRecord, MembershipRecord, PoolRecord, SessionRecord,
    TrialRecord,
};

/// The prefix of the service's records (one hash tag for all of them).
const R: &str = "sb:{r}:";

/// How the Redis store connects and how long it waits.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `redis://[:password@]host:port[/db]` or `rediss://…` for TLS.
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
    /// For connections of their own (the cluster's subscription).
    client: redis::Client,
    conn: ConnectionManager,
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

/// One pool's commit script call: its place in the batch, its keys, its arguments.
struct PoolCall {
    index: usize,
    keys: [String; 8],
    args: Vec<Vec<u8>>,
}

/// The eight keys of a pool, in the order the pool scripts take them.
fn pool_keys(pool: PoolId) -> [String; 8] {
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
    ]
}

/// A number as 20 digits, so that Lua compares them as strings in numeric order.
fn padded(n: u64) -> String {
    format!("{n:020}")
}

fn is_outage(e: &RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

impl RedisStore {
    /// Connects to Redis and checks that it answers.
    pub async fn connect(options: &RedisOptions) -> Result<Self, RedisOpenError> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| RedisOpenError::Url(e.to_string()))?;
        let info = client.get_connection_info();
        let target = info.addr().to_string();
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout.min(Duration::from_millis(500))))
            .set_response_timeout(Some(options.timeout))
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(250))
            .set_number_of_retries(4);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| RedisOpenError::Unreachable {
                target: target.clone(),
                reason: e.to_string(),
            })?;
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

    /// The Redis client, for a connection of its own (a subscription).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// Publishes `message` on `channel`.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), StoreError> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(message);
        self.query::<i64>("publishing a change", publish).await?;
        Ok(())
    }

    /// Where the store connects (host and port, never the password).
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
    /// write), or when it does not let us check; `None` when it is durable.
    pub async fn durability_warning(&self) -> Option<String> {
        let mut conn = self.conn.clone();
        let asked = self
            .run("checking durability", async move {
                let mut pipe = redis::pipe();
                pipe.cmd("CONFIG").arg("GET").arg("appendonly");
                pipe.cmd("CONFIG").arg("GET").arg("appendfsync");
                pipe.query_async::<(Vec<String>, Vec<String>)>(&mut conn)
                    .await
            })
            .await;
        match asked {
            Ok((only, fsync)) => {
                let only = only.get(1).map(String::as_str).unwrap_or("");
                let fsync = fsync.get(1).map(String::as_str).unwrap_or("");
                (only != "yes" || fsync != "always").then(|| {
                    format!(
                        "Redis runs with appendonly {only:?} and appendfsync {fsync:?}: a Redis \
                         crash may lose acknowledged seats; run it with appendonly yes and \
                         appendfsync always"
                    )
                })
            }
            Err(e) => Some(format!(
                "cannot check Redis' durability (CONFIG GET refused: {e}); make sure it runs \
                 with appendonly yes and appendfsync always"
            )),
        }
    }

    /// Runs one request with the deadline and the in-flight bound, and keeps track of
    /// whether Redis answers.
    async fn run<T>(
        &self,
        what: &str,
        request: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let deadline = if self.up.load(Ordering::Relaxed) {
            self.timeout
        } else {
            self.down_timeout
        };
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
