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
//!
//! `<n>` is the numeric value of an account, license or pool id (the scripts build keys
//! from the ids they read). A pool's keys share the hash tag `{P-…}`, so one pool lives in one Redis Cluster slot and
//! its commit is one atomic script. The service's records share the tag `{r}`: they are
//! small, rarely written, and their scripts check uniqueness across several keys.
//!
//! Fencing: `load` increments the pool's `epoch`; every commit carries the epoch its node
//! loaded and is refused inside the script when a newer one exists. A refused pool is
//! remembered as lost: this store never loads it again, so the node never takes it back by
//! itself.
//!
//! Failures: every request has a deadline (`storage.redis_timeout_ms`, and the much shorter
//! `storage.redis_down_timeout_ms` once a request found Redis down), so a write is refused
//! quickly instead of hanging; in-flight requests are bounded by a semaphore.

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
    conn: ConnectionManager,
    target: String,
    scripts: Scripts,
    /// The ownership epoch this node holds for each pool it loaded or created.
    epochs: DashMap<PoolId, u64>,
    /// Pools another node took over; never loaded again by this store.
    lost: DashSet<PoolId>,
    up: AtomicBool,
    gate: Semaphore,
    timeout: Duration,
    down_timeout: Duration,
    round_trips: AtomicU64,
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
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| RedisOpenError::Unreachable {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        Ok(RedisStore {
            conn,
            target,
            scripts: Scripts::new(),
            epochs: DashMap::new(),
            lost: DashSet::new(),
            up: AtomicBool::new(true),
            gate: Semaphore::new(options.max_in_flight.max(1)),
            timeout: options.timeout,
            down_timeout: options.down_timeout.min(options.timeout),
            round_trips: AtomicU64::new(0),
            usage_retention_ms: u64::from(options.usage_retention_days) * DAY_MS,
        })
    }

    /// Where the store connects (host and port, never the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Requests sent to Redis so far (each one round trip, a pipeline included).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
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

    /// The commit script's arguments for one pool's changes.
    fn commit_args(
        epoch: u64,
        usage_retention_ms: u64,
        changes: &[Change],
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut next_seat = 0u64;
        let mut newest_removal = 0u64;
        let mut ops: Vec<Vec<u8>> = Vec::with_capacity(changes.len() * 3);
        let text = |s: String| s.into_bytes();
        for change in changes {
            match change {
                Change::SeatGranted(rec) | Change::SeatUpdated(rec) => {
                    next_seat = next_seat.max(rec.id.0 + 1);
                    ops.push(b"G".to_vec());
                    ops.push(text(rec.id.0.to_string()));
                    ops.push(encode(rec)?);
                }
                Change::SeatRemoved(tomb) => {
                    newest_removal = newest_removal.max(tomb.at.as_millis());
                    ops.push(b"R".to_vec());
                    ops.push(text(tomb.seat.0.to_string()));
                    let mut entry = text(padded(tomb.at.as_millis()));
                    entry.extend_from_slice(&encode(tomb)?);
                    ops.push(entry);
                }
                Change::MemberBlocked(a) => {
                    ops.push(b"B".to_vec());
                    ops.push(text(a.0.to_string()));
                }
                Change::MemberUnblocked(a) | Change::MemberRemoved(a) => {
                    ops.push(b"U".to_vec());
                    ops.push(text(a.0.to_string()));
                }
                Change::Usage(rec) => {
                    let counts = UsageRecord {
                        accounts: Vec::new(),
                        day_accounts: Vec::new(),
                        ..rec.clone()
                    };
                    ops.push(b"H".to_vec());
                    ops.push(text(padded(rec.hour.as_millis())));
                    ops.push(text(padded(rec.hour.day_start().as_millis())));
                    ops.push(encode(&counts)?);
                    ops.push(text(rec.accounts.len().to_string()));
                    ops.extend(rec.accounts.iter().map(|a| text(a.0.to_string())));
                    ops.push(text(rec.day_accounts.len().to_string()));
                    ops.extend(rec.day_accounts.iter().map(|a| text(a.0.to_string())));
                }
                Change::Licenses(licenses) => {
                    ops.push(b"L".to_vec());
                    ops.push(encode(licenses)?);
                }
                Change::Settings(settings) => {
                    ops.push(b"S".to_vec());
                    ops.push(encode(settings)?);
                }
                Change::Trial(Some(trial)) => {
                    ops.push(b"T".to_vec());
                    ops.push(encode(trial)?);
                }
                Change::Trial(None) => ops.push(b"N".to_vec()),
            }
        }
        let mut args = Vec::with_capacity(ops.len() + 5);
        args.push(text(epoch.to_string()));
        args.push(if next_seat > 0 {
            text(padded(next_seat))
        } else {
            Vec::new()
        });
        args.push(if newest_removal > 0 {
            text(newest_removal.to_string())
        } else {
            Vec::new()
        });
        args.push(text(TOMBSTONE_RETENTION_MS.to_string()));
        args.push(text(STORED_TOMBSTONES.to_string()));
        args.push(text(usage_retention_ms.to_string()));
        args.extend(ops);
        Ok(args)
    }

    /// One pipeline of commit scripts, one per pool, in one round trip.
    async fn commit_pipeline(
        &self,
        calls: &[PoolCall],
    ) -> Result<Vec<RedisResult<String>>, StoreError> {
        let sha = self.scripts.commit.get_hash().to_owned();
        let mut pipe = redis::pipe();
        for PoolCall { keys, args, .. } in calls {
            let cmd = pipe.cmd("EVALSHA").arg(&sha).arg(keys.len());
            for key in keys {
                cmd.arg(key);
            }
            for arg in args {
                cmd.arg(arg.as_slice());
            }
        }
        pipe.ignore_errors();
        let mut conn = self.conn.clone();
        self.run("committing", async move {
            pipe.query_async::<Vec<RedisResult<String>>>(&mut conn)
                .await
        })
        .await
    }

    async fn commit_batch(&self, batch: &[PoolCommit]) -> Vec<Result<(), StoreError>> {
        let mut results: Vec<Option<Result<(), StoreError>>> = vec![None; batch.len()];
        let mut calls = Vec::with_capacity(batch.len());
        for (i, commit) in batch.iter().enumerate() {
            if self.lost.contains(&commit.pool) {
                results[i] = Some(Err(StoreError::PoolOwnedElsewhere(commit.pool)));
                continue;
            }
            let Some(epoch) = self.epochs.get(&commit.pool).map(|e| *e) else {
                results[i] = Some(Err(StoreError::Unavailable(format!(
                    "pool {} was not loaded by this node",
                    commit.pool
                ))));
                continue;
            };
            match Self::commit_args(epoch, self.usage_retention_ms, &commit.changes) {
                Ok(args) => calls.push(PoolCall {
                    index: i,
                    keys: pool_keys(commit.pool),
                    args,
                }),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        // A Redis that restarted has forgotten the script: load it and send again the
        // commits it refused unrun (NOSCRIPT means the script did not run).
        let mut attempts = 0;
        while !calls.is_empty() {
            attempts += 1;
            let answers = match self.commit_pipeline(&calls).await {
                Ok(answers) => answers,
                Err(e) => {
                    for call in &calls {
                        results[call.index] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            let mut unrun = Vec::new();
            for (call, answer) in calls.into_iter().zip(answers) {
                let i = call.index;
                let pool = batch[i].pool;
                results[i] = Some(match answer.as_deref() {
                    Ok("ok") => Ok(()),
                    Ok("fenced") => {
                        tracing::error!(%pool, "another node loaded this pool; letting it go");
                        self.epochs.remove(&pool);
                        self.lost.insert(pool);
                        Err(StoreError::PoolOwnedElsewhere(pool))
                    }
                    Ok(other) => Err(StoreError::Unavailable(format!(
                        "pool {pool} is not stored ({other})"
                    ))),
                    Err(e)
                        if e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
                            && attempts < 3 =>
                    {
                        unrun.push(call);
                        continue;
                    }
                    Err(e) => Err(unavailable("committing", e)),
                });
            }
            if !unrun.is_empty() {
                let mut load = redis::cmd("SCRIPT");
                load.arg("LOAD").arg(lua::COMMIT);
                if let Err(e) = self
                    .query::<String>("loading the commit script", load)
                    .await
                {
                    for call in &unrun {
                        results[call.index] = Some(Err(e.clone()));
                    }
                    break;
                }
            }
            calls = unrun;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StoreError::Unavailable("not committed".into()))))
            .collect()
    }

    async fn load_pool(&self, pool: PoolId) -> Result<Option<PoolSnapshot>, StoreError> {
        if self.lost.contains(&pool) {
            return Err(StoreError::PoolOwnedElsewhere(pool));
        }
        let keys = pool_keys(pool);
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let reply: Value = self
            .script("loading a pool", &self.scripts.load, &key_refs, &[])
            .await?;
        let Value::Array(parts) = reply else {
            return Ok(None);
        };
        let bad = |what: &str| unavailable("a stored pool is unreadable", what);
        let parts: [Value; 12] = parts
            .try_into()
            .map_err(|_| bad("the load script's answer"))?;
        let [epoch, owner, licenses, settings, trial, next, seats, tombs, blocked, usage, accounts, day_accounts] =
            parts;
        let Value::Int(epoch) = epoch else {
            return Err(bad("epoch"));
        };
        let owner: u32 = parse_text(&owner).ok_or_else(|| bad("owner"))?;
        let mut seats: Vec<seatbroker_actors::SeatRecord> = decode_all(&seats)?;
        seats.sort_unstable_by_key(|s| s.id);
        let mut blocked: Vec<AccountId> = texts(&blocked)
            .iter()
            .filter_map(|t| t.parse().ok().map(AccountId))
            .collect();
        blocked.sort_unstable();
        let usage = match blob(&usage) {
            Some(bytes) => {
                let mut rec: UsageRecord = decode(bytes)?;
                rec.accounts = tagged_accounts(&accounts);
                rec.day_accounts = tagged_accounts(&day_accounts);
                Some(rec)
            }
            None => None,
        };
        let snapshot = PoolSnapshot {
            pool,
            owner: AccountId(owner),
            licenses: decode(blob(&licenses).ok_or_else(|| bad("licenses"))?)?,
            settings: decode(blob(&settings).ok_or_else(|| bad("settings"))?)?,
            seats,
            blocked,
            next_seat_id: parse_text(&next).ok_or_else(|| bad("next seat id"))?,
            tombstones: decode_tombstones(&tombs)?,
            usage,
            trial: blob(&trial).map(decode).transpose()?,
        };
        self.epochs.insert(pool, epoch as u64);
        Ok(Some(snapshot))
    }

    async fn create(&self, snapshot: PoolSnapshot) -> Result<(), StoreError> {
        let keys = pool_keys(snapshot.pool);
        let trial = snapshot.trial.as_ref().map(encode).transpose()?;
        let created: i64 = self
            .script(
                "creating a pool",
                &self.scripts.create_pool,
                &[keys[0].as_str()],
                &[
                    snapshot.owner.0.to_string().as_bytes(),
                    &encode(&snapshot.licenses)?,
                    &encode(&snapshot.settings)?,
                    padded(snapshot.next_seat_id).as_bytes(),
                    trial.as_deref().unwrap_or(b""),
                ],
            )
            .await?;
        if created == 0 {
            return Err(StoreError::PoolExists(snapshot.pool));
        }
        self.epochs.insert(snapshot.pool, 0);
        // Anything else the snapshot holds is written as the changes that made it.
        let changes = snapshot.contents_as_changes();
        if changes.is_empty() {
            return Ok(());
        }
        let commit = PoolCommit {
            pool: snapshot.pool,
            changes,
        };
        self.commit_batch(std::slice::from_ref(&commit))
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    async fn usage_range(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let keys = pool_keys(pool);
        let reply: (Vec<String>, Vec<Vec<u8>>, Vec<String>, Vec<String>) = self
            .script(
                "reading usage",
                &self.scripts.usage_range,
                &[&keys[4], &keys[7], &keys[5], &keys[6]],
                &[
                    from.as_millis().to_string().as_bytes(),
                    to.as_millis().to_string().as_bytes(),
                    from.day_start().as_millis().to_string().as_bytes(),
                ],
            )
            .await?;
        let (_hours, records, hour_members, day_members) = reply;
        // Members are "<hour or day start ms>:<account>"; grouped once, so a report of many
        // hours costs one pass over them, not one per hour.
        let grouped = |members: &[String]| -> HashMap<u64, Vec<AccountId>> {
            let mut by_time: HashMap<u64, Vec<AccountId>> = HashMap::new();
            for m in members {
                let Some((at, account)) = m.split_once(':') else {
                    continue;
                };
                if let (Ok(at), Ok(account)) = (at.parse(), account.parse()) {
                    by_time.entry(at).or_default().push(AccountId(account));
                }
            }
            for accounts in by_time.values_mut() {
                accounts.sort_unstable();
            }
            by_time
        };
        let (by_hour, by_day) = (grouped(&hour_members), grouped(&day_members));
        let mut out = Vec::with_capacity(records.len());
        for bytes in records.iter().filter(|b| !b.is_empty()) {
            let mut rec: UsageRecord = decode(bytes)?;
            let (h, d) = (rec.hour.as_millis(), rec.hour.day_start().as_millis());
            rec.accounts = by_hour.get(&h).cloned().unwrap_or_default();
            rec.day_accounts = by_day.get(&d).cloned().unwrap_or_default();
            out.push(rec);
        }
        Ok(out)
    }

    async fn scan_live(&self) -> Result<Vec<PoolId>, StoreError> {
        let mut live = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg("sb:{P-*}:seats")
                .arg("COUNT")
                .arg(10_000);
            let (next, keys): (u64, Vec<String>) = self.query("listing live pools", cmd).await?;
            live.extend(keys.iter().filter_map(|k| {
                let hex = k.strip_prefix("sb:{P-")?.strip_suffix("}:seats")?;
                u64::from_str_radix(hex, 16).ok().map(PoolId)
            }));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        live.sort_unstable();
        live.dedup();
        Ok(live)
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

impl PoolStore for RedisStore {
    fn create_pool(&self, snapshot: PoolSnapshot) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.create(snapshot))
    }

    fn load(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolSnapshot>, StoreError>> {
        Box::pin(self.load_pool(pool))
    }

    fn commit<'a>(
        &'a self,
        batch: &'a [PoolCommit],
    ) -> StoreFuture<'a, Vec<Result<(), StoreError>>> {
        Box::pin(self.commit_batch(batch))
    }

    fn live_pools(&self) -> StoreFuture<'_, Result<Vec<PoolId>, StoreError>> {
        Box::pin(self.scan_live())
    }

    fn usage(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'_, Result<Vec<UsageRecord>, StoreError>> {
        Box::pin(self.usage_range(pool, from, to))
    }

    fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.query::<String>("ping", redis::cmd("PING")).await?;
            Ok(())
        })
    }
}

fn account_key(id: AccountId) -> String {
    format!("{R}account:{}", id.0)
}

fn license_key(id: seatbroker_actors::LicenseId) -> String {
    format!("{R}license:{}", id.0)
}

/// A license record with its holder filled in from `license_holders`.
fn with_holder(bytes: &[u8], holder: Option<u32>) -> Result<LicenseRecord, StoreError> {
    let mut license: LicenseRecord = decode(bytes)?;
    license.activated_by = holder.map(AccountId).or(license.activated_by);
    Ok(license)
}

impl AccountStore for RedisStore {
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>> {
        Box::pin(async move {
            let key = account_key(account.id);
            let emails = format!("{R}emails");
            let answer: String = self
                .script(
                    "creating an account",
                    &self.scripts.create_account,
                    &[&key, &emails],
                    &[
                        account.email_key.as_bytes(),
                        account.id.0.to_string().as_bytes(),
                        &encode(&account)?,
                    ],
                )
                .await?;
            match answer.as_str() {
                "ok" => Ok(()),
                "id_taken" => Err(CreateAccountError::IdTaken),
                _ => Err(CreateAccountError::EmailTaken),
            }
        })
    }

    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(account_key(id));
            let found: Option<Vec<u8>> = self.query("reading an account", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(async move {
            let emails = format!("{R}emails");
            let prefix = format!("{R}account:");
            let found: Option<Vec<u8>> = self
                .script(
                    "reading an account",
                    &self.scripts.account_by_email,
                    &[&emails],
                    &[email_key.as_bytes(), prefix.as_bytes()],
                )
                .await?;
            let Some(bytes) = found else {
                return Ok(None);
            };
            // The emails hash holds the numeric id; the record is read through it.
            Ok(Some(decode(&bytes)?))
        })
    }

    fn signing_key(&self, candidate: Vec<u8>) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        Box::pin(async move {
            let key = format!("{R}secret:token_signing_key");
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&key).arg(candidate).arg("NX").ignore();
            pipe.cmd("GET").arg(&key);
            let mut conn = self.conn.clone();
            let (stored,): (Vec<u8>,) = self
                .run("reading the signing key", async move {
                    pipe.query_async(&mut conn).await
                })
                .await?;
            Ok(stored)
        })
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        Box::pin(async move {
            let key = license_key(license.id);
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let holdings = match license.activated_by {
                Some(holder) => format!("{R}holdings:{}", holder.0),
                None => format!("{R}holdings:none"),
            };
            let holder = license
                .activated_by
                .map(|a| a.0.to_string())
                .unwrap_or_default();
            let stored: i64 = self
                .script(
                    "storing a license",
                    &self.scripts.create_license,
                    &[&key, &keys, &holders, &holdings],
                    &[
                        license.key.to_string().as_bytes(),
                        license.id.0.to_string().as_bytes(),
                        &encode(&license)?,
                        holder.as_bytes(),
                    ],
                )
                .await?;
            if stored == 1 {
                Ok(())
            } else {
                Err(CreateLicenseError::Taken)
            }
        })
    }

    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let prefix = format!("{R}license:");
            let found: Option<(Vec<u8>, Option<u32>)> = self
                .script(
                    "reading a license",
                    &self.scripts.license_by_key,
                    &[&keys, &holders],
                    &[key.to_string().as_bytes(), prefix.as_bytes()],
                )
                .await?;
            found
                .map(|(bytes, holder)| with_holder(&bytes, holder))
                .transpose()
        })
    }

    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>> {
        Box::pin(async move {
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let holdings = format!("{R}holdings:{}", account.0);
            let prefix = format!("{R}license:");
            let answer: Vec<Vec<u8>> = self
                .script(
                    "claiming a license",
                    &self.scripts.claim_license,
                    &[&keys, &holders, &holdings],
                    &[
                        key.to_string().as_bytes(),
                        account.0.to_string().as_bytes(),
                        prefix.as_bytes(),
                    ],
                )
                .await?;
            match answer.as_slice() {
                [tag, record] if tag == b"mine" => {
                    Ok(Claim::AlreadyMine(with_holder(record, Some(account.0))?))
                }
                [tag, record] if tag == b"claimed" => {
                    Ok(Claim::Claimed(with_holder(record, Some(account.0))?))
                }
                [tag] if tag == b"other" => Ok(Claim::HeldByOther),
                _ => Ok(Claim::Unknown),
            }
        })
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let holdings = format!("{R}holdings:{}", account.0);
            let prefix = format!("{R}license:");
            let records: Vec<Vec<u8>> = self
                .script(
                    "listing licenses",
                    &self.scripts.licenses_of,
                    &[&holdings],
                    &[prefix.as_bytes()],
                )
                .await?;
            records
                .iter()
                .map(|r| with_holder(r, Some(account.0)))
                .collect()
        })
    }

    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{R}pool_record:{}", pool.pool.0))
                .arg(encode(&pool)?);
            self.query::<()>("writing a pool record", cmd).await
        })
    }

    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(format!("{R}pool_record:{}", pool.0));
            let found: Option<Vec<u8>> = self.query("reading a pool record", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let set: i64 = self
                .script(
                    "setting an invite code",
                    &self.scripts.set_invite,
                    &[&format!("{R}invites"), &format!("{R}pool_invites")],
                    &[code.to_string().as_bytes(), pool.0.to_string().as_bytes()],
                )
                .await?;
            Ok(set == 1)
        })
    }

    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}pool_invites")).arg(pool.0);
            self.query("reading an invite code", cmd).await
        })
    }

    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}invites")).arg(code);
            let pool: Option<u64> = self.query("reading an invite code", cmd).await?;
            Ok(pool.map(PoolId))
        })
    }

    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("HSET")
                .arg(format!("{R}members:{}", m.pool.0))
                .arg(m.account.0)
                .arg(encode(&m)?)
                .ignore();
            pipe.cmd("ZADD")
                .arg(format!("{R}member_of:{}", m.account.0))
                .arg(m.joined_at.as_millis())
                .arg(format!("{:016x}", m.pool.0))
                .ignore();
            let mut conn = self.conn.clone();
            self.run("writing a membership", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let removed: i64 = self
                .script(
                    "removing a membership",
                    &self.scripts.remove_membership,
                    &[
                        &format!("{R}members:{}", pool.0),
                        &format!("{R}member_of:{}", account.0),
                    ],
                    &[
                        account.0.to_string().as_bytes(),
                        format!("{:016x}", pool.0).as_bytes(),
                    ],
                )
                .await?;
            Ok(removed == 1)
        })
    }

    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}members:{}", pool.0)).arg(account.0);
            let found: Option<Vec<u8>> = self.query("reading a membership", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(format!("{R}member_of:{}", account.0))
                .arg(0)
                .arg(-1);
            let pools: Vec<String> = self.query("listing memberships", cmd).await?;
            if pools.is_empty() {
                return Ok(Vec::new());
            }
            let mut pipe = redis::pipe();
            for hex in &pools {
                let pool = u64::from_str_radix(hex, 16)
                    .map_err(|e| unavailable("a stored membership is unreadable", e))?;
                pipe.cmd("HGET")
                    .arg(format!("{R}members:{pool}"))
                    .arg(account.0);
            }
            let mut conn = self.conn.clone();
            let records: Vec<Option<Vec<u8>>> = self
                .run("listing memberships", async move {
                    pipe.query_async(&mut conn).await
                })
                .await?;
            records.iter().flatten().map(|r| decode(r)).collect()
        })
    }

    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HVALS");
            cmd.arg(format!("{R}members:{}", pool.0));
            let records: Vec<Vec<u8>> = self.query("listing members", cmd).await?;
            let mut out: Vec<MembershipRecord> = records
                .iter()
                .map(|r| decode(r))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|m| (m.joined_at, m.account));
            Ok(out)
        })
    }

    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(format!("{R}trials:{}", trial.account.0))
                .arg(trial.started_at.as_millis())
                .arg(encode(&trial)?);
            self.query::<()>("recording a trial", cmd).await
        })
    }

    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(format!("{R}trials:{}", account.0)).arg(0).arg(-1);
            let records: Vec<Vec<u8>> = self.query("listing trials", cmd).await?;
            let mut out: Vec<TrialRecord> = records
                .iter()
                .map(|r| decode(r))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|t| (t.started_at, t.license));
            Ok(out)
        })
    }

    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let id = hex_key(&session.key);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("SET")
                .arg(format!("{R}session:{id}"))
                .arg(encode(&session)?)
                .ignore();
            pipe.cmd("SADD")
                .arg(format!("{R}sessions_of:{}", session.account.0))
                .arg(&id)
                .ignore();
            let mut conn = self.conn.clone();
            self.run("writing a session", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(format!("{R}session:{}", hex_key(&key)));
            let raw: Option<Vec<u8>> = self.query("reading a session", cmd).await?;
            raw.map(|r| decode(&r)).transpose()
        })
    }

    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(session) = self.session(key).await? else {
                return Ok(());
            };
            let id = hex_key(&key);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("DEL").arg(format!("{R}session:{id}")).ignore();
            pipe.cmd("SREM")
                .arg(format!("{R}sessions_of:{}", session.account.0))
                .arg(&id)
                .ignore();
            let mut conn = self.conn.clone();
            self.run("ending a session", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            // One script, so a session written meanwhile is either ended or not yet listed.
            // Every key shares the records' hash tag, so the script stays on one slot.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local ids = redis.call('SMEMBERS', KEYS[1]) \
                 for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end \
                 redis.call('DEL', KEYS[1]) return #ids",
            )
            .arg(1)
            .arg(format!("{R}sessions_of:{}", account.0))
            .arg(format!("{R}session:"));
            let ended: i64 = self.query("ending an account's sessions", cmd).await?;
            Ok(usize::try_from(ended).unwrap_or(0))
        })
    }

    fn update_account(&self, account: AccountRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(account_key(account.id)).arg(encode(&account)?);
            self.query::<()>("updating an account", cmd).await
        })
    }

    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(format!("{R}revocations"))
                .arg(account.0)
                .arg(before.as_millis());
            self.query::<()>("revoking tokens", cmd).await
        })
    }

    fn token_revocations(
        &self,
    ) -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(format!("{R}revocations"));
            let all: Vec<(u32, u64)> = self.query("reading token revocations", cmd).await?;
            Ok(all
                .into_iter()
                .map(|(a, t)| (AccountId(a), Timestamp(t)))
                .collect())
        })
    }

    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            // The account's older link of this purpose ends with the new one's arrival. Every
            // key shares the records' hash tag, so the script stays on one slot.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local older = redis.call('GET', KEYS[1]) \
                 if older then redis.call('DEL', ARGV[1] .. older) end \
                 redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'PXAT', ARGV[4]) \
                 redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[4]) return 1",
            )
            .arg(1)
            .arg(format!(
                "{R}link_of:{}:{}",
                link.account.0,
                link.purpose.code()
            ))
            .arg(format!("{R}link:"))
            .arg(hex::encode(link.key))
            .arg(encode(&link)?)
            // Redis forgets the link when it expires.
            .arg(link.expires_at.as_millis().max(1));
            self.query::<()>("writing a link", cmd).await
        })
    }

    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local v = redis.call('GET', KEYS[1]) \
                 if v then redis.call('DEL', KEYS[1]) end return v",
            )
            .arg(1)
            .arg(format!("{R}link:{}", hex::encode(key)));
            let raw: Option<Vec<u8>> = self.query("taking a link", cmd).await?;
            let Some(link) = raw.map(|r| decode::<LinkRecord>(&r)).transpose()? else {
                return Ok(None);
            };
            // The account's pointer to its live link goes too, unless a newer link replaced it.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end \
                 return 1",
            )
            .arg(1)
            .arg(format!(
                "{R}link_of:{}:{}",
                link.account.0,
                link.purpose.code()
            ))
            .arg(hex::encode(key));
            self.query::<()>("ending a link", cmd).await?;
            Ok(Some(link))
        })
    }
}

/// A session key as Redis names it.
fn hex_key(key: &[u8; 32]) -> String {
    hex::encode(key)
}
