//! `EmbeddedStore`: the default backend, an ACID file store (redb) under `storage.path`, so
//! the broker runs with no other service. A group commit is one redb write transaction
//! committed without fsync plus one record in the write-ahead log (`wal.rs`), durable with
//! one `fdatasync` before it returns; after each `CHECKPOINT_BYTES` of log, a durable redb
//! commit (a checkpoint) carries everything so far and the log starts again. At open, the
//! records past redb's last durable sequence number (`meta`/`wal_seq`) are applied again,
//! so a crash loses no acknowledged change. Every other write is a durable redb commit of
//! its own. Group commits run on the committer's own writer thread (`BlockingCommit`);
//! every other call runs on tokio's blocking pool, so an fsync never stalls an arbiter
//! thread.
//!
//! Layout (keys are tuples of integers, values MessagePack with field names, so a record can
//! gain fields in a later version):
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `pools` | pool | `PoolHeader`: owner, licenses, settings, blocked members, seat-id bound, seats held, trial days |
//! | `seats` | (pool, seat) | `SeatRecord` |
//! | `tombstones` | (pool, removed at ms, seat) | `Tombstone`, kept `TOMBSTONE_RETENTION_MS` |
//! | `usage` | (pool, hour start ms) | `UsageRecord` with the hour's and day's full account sets |
//! | `accounts` | account | `AccountRecord` |
//! | `emails` | lower-cased email | account |
//! | `secrets` | name (`token_signing_key`) | bytes |
//! | `licenses` | license | `LicenseRecord` |
//! | `license_keys` | key bits | license |
//! | `holdings` | (account, license) | nothing: the licenses an account holds |
//! | `pool_records` | pool | `PoolRecord` (owner, type, join restriction) |
//! | `invites` | invite code bits | pool |
//! | `pool_invites` | pool | its current invite code bits |
//! | `members` | (pool, account) | `MembershipRecord` |
//! | `member_of` | (account, joined at ms, pool) | nothing: the pools shared with an account, in join order |
//! | `trials` | (account, started at ms, license) | `TrialRecord` |
//! | `meta` | `wal_seq` | the sequence number of the last group commit applied |

use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use seatbroker_actors::store::{BlockingCommit, PoolCommit, PoolStore, StoreError, StoreFuture};

use super::{
    decode, encode, unavailable, AccountRecord, AccountStore, Claim, CreateAccountError,
    CreateLicenseError, LicenseRecord, LinkRecord, MembershipRecord, PoolRecord, SessionRecord,
    TrialRecord,
};
use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{
    AccountId, Change, License, PoolId, PoolSettings, PoolSnapshot, SeatRecord, Timestamp,
    Tombstone, TrialDays, UsageRecord,
};
use serde::{Deserialize, Serialize};

use super::wal::Wal;

const POOLS: TableDefinition<u64, &[u8]> = TableDefinition::new("pools");
const SEATS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("seats");
const TOMBSTONES: TableDefinition<(u64, u64, u64), &[u8]> = TableDefinition::new("tombstones");
const USAGE: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("usage");
const ACCOUNTS: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts");
const EMAILS: TableDefinition<&str, u32> = TableDefinition::new("emails");
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
const SIGNING_KEY: &str = "token_signing_key";
const LICENSES: TableDefinition<u32, &[u8]> = TableDefinition::new("licenses");
const LICENSE_KEYS: TableDefinition<u128, u32> = TableDefinition::new("license_keys");
const HOLDINGS: TableDefinition<(u32, u32), ()> = TableDefinition::new("holdings");
const POOL_RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("pool_records");
const INVITES: TableDefinition<u64, u64> = TableDefinition::new("invites");
const POOL_INVITES: TableDefinition<u64, u64> = TableDefinition::new("pool_invites");
const MEMBERS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("members");
const MEMBER_OF: TableDefinition<(u32, u64, u64), ()> = TableDefinition::new("member_of");
const TRIALS: TableDefinition<(u32, u64, u32), &[u8]> = TableDefinition::new("trials");
/// Portal sessions by the SHA-256 of their id, and an index of them by account.
const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
const SESSIONS_OF: TableDefinition<(u32, &[u8]), ()> = TableDefinition::new("sessions_of");
/// Token revocations: tokens of the account issued before this time (ms) are void.
const REVOCATIONS: TableDefinition<u32, u64> = TableDefinition::new("revocations");
/// One-time links by the SHA-256 of their token, and each account's live link per purpose.
const LINKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("links");
const LINK_OF: TableDefinition<(u32, u8), &[u8]> = TableDefinition::new("link_of");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `meta` key: the last group commit applied (durable in redb after a checkpoint).
const WAL_SEQ: &str = "wal_seq";
/// Log bytes after which a group commit is followed by a checkpoint.
const CHECKPOINT_BYTES: u64 = 1 << 20;

/// How long a removed seat is remembered, so its holder hears why it went (`seat_gone`).
pub const TOMBSTONE_RETENTION_MS: u64 = 7 * 24 * 3_600 * 1_000;

/// What a pool's row holds besides its seats, tombstones and usage.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PoolHeader {
    pool: PoolId,
    owner: AccountId,
    licenses: Vec<License>,
    settings: PoolSettings,
    blocked: Vec<AccountId>,
    next_seat_id: u64,
    seats_held: u64,
    /// L6: the trial's active days; absent in headers written before trials had them.
    #[serde(default)]
    trial: Option<TrialDays>,
}

/// How long usage records are kept by default (W4 reports): 400 days.
pub const DEFAULT_USAGE_RETENTION_DAYS: u32 = 400;

/// The embedded file store.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    usage_retention_ms: u64,
    log: Arc<Mutex<Log>>,
}

/// The write-ahead log and the group commits' sequence numbers.
#[derive(Debug)]
struct Log {
    wal: Wal,
    /// The next group commit's number.
    next_seq: u64,
    /// A commit reached redb but not the log: no record goes in before a checkpoint.
    broken: bool,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

/// Why the embedded store could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database file could not be opened (locked by another broker, corrupt, no space).
    #[error("cannot open the store {path}: {source}")]
    Database {
        /// The file.
        path: String,
        /// What redb said.
        source: Box<redb::DatabaseError>,
    },
    /// The tables could not be created.
    #[error("cannot prepare the store: {0}")]
    Prepare(String),
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir` (`seatbroker.redb` and its log
    /// `seatbroker.wal`), keeping usage records the default `DEFAULT_USAGE_RETENTION_DAYS`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        Self::open_with_retention(dir, DEFAULT_USAGE_RETENTION_DAYS)
    }

    /// Opens (or creates) the store in `dir`, keeping usage records `usage_retention_days`
    /// days from the newest hour counted; the log's replay at open keeps them as long.
    pub fn open_with_retention(dir: &Path, usage_retention_days: u32) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let file = dir.join("seatbroker.redb");
        let db = Database::create(&file).map_err(|source| OpenError::Database {
            path: file.display().to_string(),
            source: Box::new(source),
        })?;
        let tx = db
            .begin_write()
            .map_err(|e| OpenError::Prepare(e.to_string()))?;
        {
            let prepare = |e: redb::TableError| OpenError::Prepare(e.to_string());
            tx.open_table(POOLS).map_err(prepare)?;
            tx.open_table(SEATS).map_err(prepare)?;
            tx.open_table(TOMBSTONES).map_err(prepare)?;
            tx.open_table(USAGE).map_err(prepare)?;
            tx.open_table(ACCOUNTS).map_err(prepare)?;
            tx.open_table(EMAILS).map_err(prepare)?;
            tx.open_table(SECRETS).map_err(prepare)?;
            tx.open_table(LICENSES).map_err(prepare)?;
            tx.open_table(LICENSE_KEYS).map_err(prepare)?;
            tx.open_table(HOLDINGS).map_err(prepare)?;
            tx.open_table(POOL_RECORDS).map_err(prepare)?;
            tx.open_table(INVITES).map_err(prepare)?;
            tx.open_table(POOL_INVITES).map_err(prepare)?;
            tx.open_table(MEMBERS).map_err(prepare)?;
            tx.open_table(MEMBER_OF).map_err(prepare)?;
            tx.open_table(TRIALS).map_err(prepare)?;
            tx.open_table(SESSIONS).map_err(prepare)?;
            tx.open_table(SESSIONS_OF).map_err(prepare)?;
            tx.open_table(REVOCATIONS).map_err(prepare)?;
            tx.open_table(LINKS).map_err(prepare)?;
            tx.open_table(LINK_OF).map_err(prepare)?;
            tx.open_table(META).map_err(prepare)?;
        }
        tx.commit().map_err(|e| OpenError::Prepare(e.to_string()))?;
        let usage_retention_ms = u64::from(usage_retention_days) * DAY_MS;
        let log = replay(&db, &dir.join("seatbroker.wal"), usage_retention_ms)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            usage_retention_ms,
            log: Arc::new(Mutex::new(log)),
        })
    }

    /// Runs `f` on tokio's blocking pool: redb is synchronous and a commit waits for fsync.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| unavailable("the store's worker", e))?
    }
}

struct WriteTables<'t> {
    usage_retention_ms: u64,
    pools: Table<'t, u64, &'static [u8]>,
    seats: Table<'t, (u64, u64), &'static [u8]>,
    tombstones: Table<'t, (u64, u64, u64), &'static [u8]>,
    usage: Table<'t, (u64, u64), &'static [u8]>,
}

impl WriteTables<'_> {
    fn header(&self, pool: PoolId) -> Result<Option<PoolHeader>, StoreError> {
        let row = self
            .pools
            .get(pool.0)
            .map_err(|e| unavailable("reading a pool", e))?;
        row.map(|bytes| decode(bytes.value())).transpose()
    }

    /// Applies one pool's changes, in order, as `PoolSnapshot::apply` defines them. The outer
    /// error means the transaction must not commit; the inner one refuses this pool alone.
    fn apply(&mut self, commit: &PoolCommit) -> Result<Result<(), StoreError>, StoreError> {
        let pool = commit.pool;
        let Some(mut header) = self.header(pool)? else {
            return Ok(Err(StoreError::Unavailable(format!(
                "pool {pool} is not stored"
            ))));
        };
        let mut newest_removal = 0;
        for change in &commit.changes {
            match change {
                Change::SeatGranted(rec) | Change::SeatUpdated(rec) => {
                    header.next_seat_id = header.next_seat_id.max(rec.id.0 + 1);
                    let old = self
                        .seats
                        .insert((pool.0, rec.id.0), encode(rec)?.as_slice())
                        .map_err(|e| unavailable("writing a seat", e))?;
                    if old.is_none() {
                        header.seats_held += 1;
                    }
                }
                Change::SeatRemoved(tomb) => {
                    let old = self
                        .seats
                        .remove((pool.0, tomb.seat.0))
                        .map_err(|e| unavailable("removing a seat", e))?;
                    if old.is_some() {
                        header.seats_held = header.seats_held.saturating_sub(1);
                    }
                    let key = (pool.0, tomb.at.as_millis(), tomb.seat.0);
                    self.tombstones
                        .insert(key, encode(tomb)?.as_slice())
                        .map_err(|e| unavailable("writing a tombstone", e))?;
                    newest_removal = newest_removal.max(tomb.at.as_millis());
                }
                Change::MemberBlocked(account) => {
                    if !header.blocked.contains(account) {
                        header.blocked.push(*account);
                    }
                }
                Change::MemberUnblocked(account) | Change::MemberRemoved(account) => {
                    header.blocked.retain(|a| a != account);
                }
                Change::Usage(rec) => self.merge_usage(pool, rec)?,
                Change::Licenses(licenses) => header.licenses = licenses.clone(),
                Change::Settings(settings) => header.settings = settings.clone(),
                Change::Trial(trial) => header.trial = trial.clone(),
            }
        }
        if newest_removal > TOMBSTONE_RETENTION_MS {
            self.forget_tombstones_before(pool, newest_removal - TOMBSTONE_RETENTION_MS)?;
        }
        self.pools
            .insert(pool.0, encode(&header)?.as_slice())
            .map_err(|e| unavailable("writing a pool", e))?;
        Ok(Ok(()))
    }

    fn merge_usage(&mut self, pool: PoolId, rec: &UsageRecord) -> Result<(), StoreError> {
        let hour = rec.hour.as_millis();
        let same_hour: Option<UsageRecord> = self
            .usage
            .get((pool.0, hour))
            .map_err(|e| unavailable("reading usage", e))?
            .map(|v| decode(v.value()))
            .transpose()?;
        let before = match same_hour {
            found @ Some(_) => found,
            None => {
                // A new hour: records past the retention go.
                if let Some(cutoff) = hour.checked_sub(self.usage_retention_ms) {
                    let old: Vec<(u64, u64)> = self
                        .usage
                        .range((pool.0, 0)..(pool.0, cutoff))
                        .map_err(|e| unavailable("reading usage", e))?
                        .map(|entry| entry.map(|(k, _)| k.value()))
                        .collect::<Result<_, _>>()
                        .map_err(|e| unavailable("reading usage", e))?;
                    for key in old {
                        self.usage
                            .remove(key)
                            .map_err(|e| unavailable("removing usage", e))?;
                    }
                }
                // A new hour continues its day's account set from the hour before it.
                self.usage
                    .range((pool.0, 0)..(pool.0, hour))
                    .map_err(|e| unavailable("reading usage", e))?
                    .next_back()
                    .transpose()
                    .map_err(|e| unavailable("reading usage", e))?
                    .map(|(_, v)| decode::<UsageRecord>(v.value()))
                    .transpose()?
            }
        };
        let merged = rec.merged_after(before.as_ref());
        self.usage
            .insert((pool.0, hour), encode(&merged)?.as_slice())
            .map_err(|e| unavailable("writing usage", e))?;
        Ok(())
    }

    fn forget_tombstones_before(&mut self, pool: PoolId, cutoff: u64) -> Result<(), StoreError> {
        let old: Vec<(u64, u64, u64)> = self
            .tombstones
            .range((pool.0, 0, 0)..(pool.0, cutoff, 0))
            .map_err(|e| unavailable("reading tombstones", e))?
            .map(|entry| entry.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()
            .map_err(|e| unavailable("reading tombstones", e))?;
        for key in old {
            self.tombstones
                .remove(key)
                .map_err(|e| unavailable("removing a tombstone", e))?;
        }
        Ok(())
    }
}

/// Applies `batch` in one redb transaction committed without fsync, then makes it durable
/// as one log record (or, when the log fails, with a checkpoint). One result per pool.
fn commit_batch(
    db: &Database,
    shared: &Mutex<Log>,
    batch: &[PoolCommit],
    usage_retention_ms: u64,
) -> Vec<Result<(), StoreError>> {
    let mut log = match shared.lock() {
        Ok(log) => log,
        Err(poisoned) => {
            // A commit panicked half-way: whatever it did, a checkpoint settles it.
            shared.clear_poison();
            let mut log = poisoned.into_inner();
            log.broken = true;
            log
        }
    };
    let run = |log: &mut Log| -> Result<Vec<Result<(), StoreError>>, StoreError> {
        if log.broken {
            checkpoint(db, log)?;
        }
        let seq = log.next_seq;
        let payload = encode(&logged(batch))?;
        let results = apply_batch(db, batch, seq, redb::Durability::None, usage_retention_ms)?;
        log.next_seq += 1;
        match log.wal.append(seq, &payload) {
            Ok(()) => {
                if log.wal.len() >= CHECKPOINT_BYTES {
                    // The record is durable: a failed checkpoint is tried again later.
                    if let Err(e) = checkpoint(db, log) {
                        tracing::warn!(%e, "checkpoint of the embedded store failed");
                    }
                }
            }
            Err(e) => {
                // redb holds the commit but the log does not: only a checkpoint makes it
                // durable, and no later record may go in before one.
                log.broken = true;
                tracing::warn!(%e, "the write-ahead log failed; checkpointing instead");
                checkpoint(db, log)?;
            }
        }
        Ok(results)
    };
    match run(&mut log) {
        Ok(results) => results,
        Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
    }
}

/// A batch as its log record holds it: (pool, changes) in order.
fn logged(batch: &[PoolCommit]) -> Vec<(u64, &[Change])> {
    batch
        .iter()
        .map(|c| (c.pool.0, c.changes.as_slice()))
        .collect()
}

/// One redb write transaction applying `batch` as group commit `seq`.
fn apply_batch(
    db: &Database,
    batch: &[PoolCommit],
    seq: u64,
    durability: redb::Durability,
    usage_retention_ms: u64,
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut tx = db
        .begin_write()
        .map_err(|e| unavailable("starting a transaction", e))?;
    tx.set_durability(durability)
        .map_err(|e| unavailable("choosing the durability", e))?;
    let results = {
        let open = |e: redb::TableError| unavailable("opening a table", e);
        let mut tables = WriteTables {
            usage_retention_ms,
            pools: tx.open_table(POOLS).map_err(open)?,
            seats: tx.open_table(SEATS).map_err(open)?,
            tombstones: tx.open_table(TOMBSTONES).map_err(open)?,
            usage: tx.open_table(USAGE).map_err(open)?,
        };
        let mut results = Vec::with_capacity(batch.len());
        for commit in batch {
            // A failed write ends the closure: the transaction drops uncommitted, so
            // nothing of this batch lands.
            results.push(tables.apply(commit)?);
        }
        tx.open_table(META)
            .map_err(open)?
            .insert(WAL_SEQ, seq)
            .map_err(|e| unavailable("writing the sequence number", e))?;
        results
    };
    tx.commit()
        .map_err(|e| unavailable("committing a transaction", e))?;
    Ok(results)
}

/// Makes every commit so far durable in redb, then starts the log again.
fn checkpoint(db: &Database, log: &mut Log) -> Result<(), StoreError> {
    let tx = db
        .begin_write()
        .map_err(|e| unavailable("starting a checkpoint", e))?;
    tx.commit()
        .map_err(|e| unavailable("committing a checkpoint", e))?;
    log.wal.restart();
    log.broken = false;
    Ok(())
}

/// Opens the log at `path` and applies its records past redb's last durable group commit,
/// in order, as one durable commit; the log then starts again.
fn replay(db: &Database, path: &Path, usage_retention_ms: u64) -> Result<Log, OpenError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        OpenError::Prepare(format!("{what} {}: {e}", path.display()))
    };
    let durable = {
        let tx = db
            .begin_read()
            .map_err(|e| OpenError::Prepare(e.to_string()))?;
        let meta = tx
            .open_table(META)
            .map_err(|e| OpenError::Prepare(e.to_string()))?;
        let seq = meta
            .get(WAL_SEQ)
            .map_err(|e| OpenError::Prepare(e.to_string()))?;
        seq.map_or(0, |v| v.value())
    };
    let (wal, records) = Wal::open(path).map_err(|e| failed("cannot open the log", &e))?;
    let mut batch = Vec::new();
    let mut last = durable;
    let mut past = records.iter().filter(|r| r.seq > durable).peekable();
    if let Some(first) = past.peek().filter(|r| r.seq != durable + 1) {
        // Never written so: a record is missing, and the ones after it are applied anyway.
        tracing::error!(
            durable,
            first = first.seq,
            "the write-ahead log skips group commits"
        );
    }
    for record in past {
        let pools: Vec<(u64, Vec<Change>)> =
            decode(&record.payload).map_err(|e| failed("a record is unreadable in", &e))?;
        batch.extend(pools.into_iter().map(|(pool, changes)| PoolCommit {
            pool: PoolId(pool),
            changes,
        }));
        last = record.seq;
    }
    if last > durable {
        // Pools refused at the time (not stored) are refused again: the state is the same.
        apply_batch(
            db,
            &batch,
            last,
            redb::Durability::Immediate,
            usage_retention_ms,
        )
        .map_err(|e| failed("cannot apply the log", &e))?;
        tracing::info!(
            records = last - durable,
            "applied the write-ahead log's records"
        );
    }
    let mut log = Log {
        wal,
        next_seq: last + 1,
        broken: false,
    };
    log.wal.restart();
    Ok(log)
}

fn load_pool(db: &Database, pool: PoolId) -> Result<Option<PoolSnapshot>, StoreError> {
    let tx = read_tx(db)?;
    let open = |e: redb::TableError| unavailable("opening a table", e);
    let pools = tx.open_table(POOLS).map_err(open)?;
    let Some(row) = pools
        .get(pool.0)
        .map_err(|e| unavailable("reading a pool", e))?
    else {
        return Ok(None);
    };
    let header: PoolHeader = decode(row.value())?;
    let read = |e: redb::StorageError| unavailable("reading a pool's rows", e);
    let seats: Vec<SeatRecord> = tx
        .open_table(SEATS)
        .map_err(open)?
        .range((pool.0, 0)..=(pool.0, u64::MAX))
        .map_err(read)?
        .map(|entry| entry.map_err(read).and_then(|(_, v)| decode(v.value())))
        .collect::<Result<_, _>>()?;
    let tombstones: Vec<Tombstone> = tx
        .open_table(TOMBSTONES)
        .map_err(open)?
        .range((pool.0, 0, 0)..=(pool.0, u64::MAX, u64::MAX))
        .map_err(read)?
        .map(|entry| entry.map_err(read).and_then(|(_, v)| decode(v.value())))
        .collect::<Result<_, _>>()?;
    let usage: Option<UsageRecord> = tx
        .open_table(USAGE)
        .map_err(open)?
        .range((pool.0, 0)..=(pool.0, u64::MAX))
        .map_err(read)?
        .next_back()
        .transpose()
        .map_err(read)?
        .map(|(_, v)| decode(v.value()))
        .transpose()?;
    Ok(Some(PoolSnapshot {
        pool: header.pool,
        owner: header.owner,
        licenses: header.licenses,
        settings: header.settings,
        seats,
        blocked: header.blocked,
        next_seat_id: header.next_seat_id,
        tombstones,
        usage,
        trial: header.trial,
    }))
}

impl PoolStore for EmbeddedStore {
    fn create_pool(&self, snapshot: PoolSnapshot) -> StoreFuture<'_, Result<(), StoreError>> {
        let usage_retention_ms = self.usage_retention_ms;
        Box::pin(self.blocking(move |db| {
            let tx = db
                .begin_write()
                .map_err(|e| unavailable("starting a transaction", e))?;
            {
                let open = |e: redb::TableError| unavailable("opening a table", e);
                let mut pools = tx.open_table(POOLS).map_err(open)?;
                let exists = pools
                    .get(snapshot.pool.0)
                    .map_err(|e| unavailable("reading a pool", e))?
                    .is_some();
                if exists {
                    return Err(StoreError::PoolExists(snapshot.pool));
                }
                let header = PoolHeader {
                    pool: snapshot.pool,
                    owner: snapshot.owner,
                    licenses: snapshot.licenses.clone(),
                    settings: snapshot.settings.clone(),
                    blocked: Vec::new(),
                    next_seat_id: snapshot.next_seat_id,
                    seats_held: 0,
                    trial: snapshot.trial.clone(),
                };
                pools
                    .insert(snapshot.pool.0, encode(&header)?.as_slice())
                    .map_err(|e| unavailable("writing a pool", e))?;
                let mut tables = WriteTables {
                    usage_retention_ms,
                    pools,
                    seats: tx.open_table(SEATS).map_err(open)?,
                    tombstones: tx.open_table(TOMBSTONES).map_err(open)?,
                    usage: tx.open_table(USAGE).map_err(open)?,
                };
                // Anything else the snapshot holds is written as the changes that made it.
                let changes = snapshot.contents_as_changes();
                tables.apply(&PoolCommit {
                    pool: snapshot.pool,
                    changes,
                })??;
            }
            tx.commit()
                .map_err(|e| unavailable("committing a transaction", e))
        }))
    }

    fn load(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolSnapshot>, StoreError>> {
        Box::pin(self.blocking(move |db| load_pool(db, pool)))
    }

    fn commit<'a>(
        &'a self,
        batch: &'a [PoolCommit],
    ) -> StoreFuture<'a, Vec<Result<(), StoreError>>> {
        let owned = batch.to_vec();
        let len = batch.len();
        Box::pin(async move {
            let retention = self.usage_retention_ms;
            let log = self.log.clone();
            match self
                .blocking(move |db| Ok(commit_batch(db, &log, &owned, retention)))
                .await
            {
                Ok(results) => results,
                Err(e) => (0..len).map(|_| Err(e.clone())).collect(),
            }
        })
    }

    fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(|db| {
            let tx = read_tx(db)?;
            tx.open_table(POOLS)
                .map_err(|e| unavailable("opening a table", e))?;
            Ok(())
        }))
    }

    fn blocking_commit(&self) -> Option<&dyn BlockingCommit> {
        Some(self)
    }

    fn usage(
        &self,
        pool: PoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'_, Result<Vec<UsageRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let usage = tx.open_table(USAGE).map_err(open_err)?;
            let records = usage
                .range((pool.0, from.as_millis())..(pool.0, to.as_millis()))
                .map_err(io_err)?
                .map(|entry| entry.map_err(io_err).and_then(|(_, v)| decode(v.value())))
                .collect::<Result<_, _>>()?;
            Ok(records)
        }))
    }

    fn live_pools(&self) -> StoreFuture<'_, Result<Vec<PoolId>, StoreError>> {
        Box::pin(self.blocking(|db| {
            let tx = read_tx(db)?;
            let pools = tx
                .open_table(POOLS)
                .map_err(|e| unavailable("opening a table", e))?;
            let mut live = Vec::new();
            for entry in pools.iter().map_err(|e| unavailable("listing pools", e))? {
                let (_, v) = entry.map_err(|e| unavailable("listing pools", e))?;
                let header: PoolHeader = decode(v.value())?;
                if header.seats_held > 0 {
                    live.push(header.pool);
                }
            }
            Ok(live)
        }))
    }
}

impl BlockingCommit for EmbeddedStore {
    fn commit_blocking(&self, batch: &[PoolCommit]) -> Vec<Result<(), StoreError>> {
        commit_batch(&self.db, &self.log, batch, self.usage_retention_ms)
    }
}

impl AccountStore for EmbeddedStore {
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>> {
        Box::pin(async move {
            self.blocking(move |db| {
                let tx = db
                    .begin_write()
                    .map_err(|e| unavailable("starting a transaction", e))?;
                {
                    let open = |e: redb::TableError| unavailable("opening a table", e);
                    let mut accounts = tx.open_table(ACCOUNTS).map_err(open)?;
                    let mut emails = tx.open_table(EMAILS).map_err(open)?;
                    let read = |e: redb::StorageError| unavailable("reading accounts", e);
                    if accounts.get(account.id.0).map_err(read)?.is_some() {
                        return Ok(Err(CreateAccountError::IdTaken));
                    }
                    if emails
                        .get(account.email_key.as_str())
                        .map_err(read)?
                        .is_some()
                    {
                        return Ok(Err(CreateAccountError::EmailTaken));
                    }
                    let write = |e: redb::StorageError| unavailable("writing an account", e);
                    accounts
                        .insert(account.id.0, encode(&account)?.as_slice())
                        .map_err(write)?;
                    emails
                        .insert(account.email_key.as_str(), account.id.0)
                        .map_err(write)?;
                }
                tx.commit()
                    .map_err(|e| unavailable("committing a transaction", e))?;
                Ok(Ok(()))
            })
            .await?
        })
    }

    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| read_account(db, id)))
    }

    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let id = {
                let tx = read_tx(db)?;
                let emails = tx
                    .open_table(EMAILS)
                    .map_err(|e| unavailable("opening a table", e))?;
                let row = emails
                    .get(email_key.as_str())
                    .map_err(|e| unavailable("reading emails", e))?;
                row.map(|v| v.value())
            };
            match id {
                Some(id) => read_account(db, AccountId(id)),
                None => Ok(None),
            }
        }))
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        Box::pin(async move {
            self.blocking(move |db| {
                write(db, |tx| {
                    let mut licenses = tx.open_table(LICENSES).map_err(open_err)?;
                    let mut keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
                    if licenses.get(license.id.0).map_err(io_err)?.is_some()
                        || keys.get(license.key).map_err(io_err)?.is_some()
                    {
                        return Ok(Err(CreateLicenseError::Taken));
                    }
                    licenses
                        .insert(license.id.0, encode(&license)?.as_slice())
                        .map_err(io_err)?;
                    keys.insert(license.key, license.id.0).map_err(io_err)?;
                    if let Some(holder) = license.activated_by {
                        tx.open_table(HOLDINGS)
                            .map_err(open_err)?
                            .insert((holder.0, license.id.0), ())
                            .map_err(io_err)?;
                    }
                    Ok(Ok(()))
                })
            })
            .await?
        })
    }

    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
            let Some(id) = keys.get(key).map_err(io_err)?.map(|v| v.value()) else {
                return Ok(None);
            };
            let licenses = tx.open_table(LICENSES).map_err(open_err)?;
            let row = licenses.get(id).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
                let Some(id) = keys.get(key).map_err(io_err)?.map(|v| v.value()) else {
                    return Ok(Claim::Unknown);
                };
                let mut licenses = tx.open_table(LICENSES).map_err(open_err)?;
                let row = licenses
                    .get(id)
                    .map_err(io_err)?
                    .map(|v| v.value().to_vec());
                let Some(bytes) = row else {
                    return Ok(Claim::Unknown);
                };
                let mut license: LicenseRecord = decode(&bytes)?;
                match license.activated_by {
                    Some(holder) if holder == account => Ok(Claim::AlreadyMine(license)),
                    Some(_) => Ok(Claim::HeldByOther),
                    None => {
                        license.activated_by = Some(account);
                        licenses
                            .insert(id, encode(&license)?.as_slice())
                            .map_err(io_err)?;
                        tx.open_table(HOLDINGS)
                            .map_err(open_err)?
                            .insert((account.0, id), ())
                            .map_err(io_err)?;
                        Ok(Claim::Claimed(license))
                    }
                }
            })
        }))
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let holdings = tx.open_table(HOLDINGS).map_err(open_err)?;
            let licenses = tx.open_table(LICENSES).map_err(open_err)?;
            let mut out = Vec::new();
            for entry in holdings
                .range((account.0, 0)..=(account.0, u32::MAX))
                .map_err(io_err)?
            {
                let (k, _) = entry.map_err(io_err)?;
                let (_, id) = k.value();
                if let Some(v) = licenses.get(id).map_err(io_err)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        }))
    }

    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(POOL_RECORDS)
                    .map_err(open_err)?
                    .insert(pool.pool.0, encode(&pool)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(POOL_RECORDS).map_err(open_err)?;
            let row = table.get(pool.0).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut invites = tx.open_table(INVITES).map_err(open_err)?;
                let mut current = tx.open_table(POOL_INVITES).map_err(open_err)?;
                let holder = invites.get(code).map_err(io_err)?.map(|v| v.value());
                if holder.is_some_and(|p| p != pool.0) {
                    return Ok(false);
                }
                let old = current.get(pool.0).map_err(io_err)?.map(|v| v.value());
                if let Some(old) = old.filter(|o| *o != code) {
                    invites.remove(old).map_err(io_err)?;
                }
                invites.insert(code, pool.0).map_err(io_err)?;
                current.insert(pool.0, code).map_err(io_err)?;
                Ok(true)
            })
        }))
    }

    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(POOL_INVITES).map_err(open_err)?;
            let code = table.get(pool.0).map_err(io_err)?.map(|v| v.value());
            Ok(code)
        }))
    }

    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(INVITES).map_err(open_err)?;
            let pool = table.get(code).map_err(io_err)?.map(|v| PoolId(v.value()));
            Ok(pool)
        }))
    }

    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut members = tx.open_table(MEMBERS).map_err(open_err)?;
                let old: Option<MembershipRecord> = members
                    .get((m.pool.0, m.account.0))
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                let mut index = tx.open_table(MEMBER_OF).map_err(open_err)?;
                if let Some(old) = old {
                    index
                        .remove((old.account.0, old.joined_at.as_millis(), old.pool.0))
                        .map_err(io_err)?;
                }
                index
                    .insert((m.account.0, m.joined_at.as_millis(), m.pool.0), ())
                    .map_err(io_err)?;
                members
                    .insert((m.pool.0, m.account.0), encode(&m)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut members = tx.open_table(MEMBERS).map_err(open_err)?;
                let old: Option<MembershipRecord> = members
                    .remove((pool.0, account.0))
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                let Some(old) = old else {
                    return Ok(false);
                };
                tx.open_table(MEMBER_OF)
                    .map_err(open_err)?
                    .remove((account.0, old.joined_at.as_millis(), pool.0))
                    .map_err(io_err)?;
                Ok(true)
            })
        }))
    }

    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let row = members.get((pool.0, account.0)).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let index = tx.open_table(MEMBER_OF).map_err(open_err)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let mut out = Vec::new();
            for entry in index
                .range((account.0, 0, 0)..=(account.0, u64::MAX, u64::MAX))
                .map_err(io_err)?
            {
                let (k, _) = entry.map_err(io_err)?;
                let (_, _, pool) = k.value();
                if let Some(v) = members.get((pool, account.0)).map_err(io_err)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        }))
    }

    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let mut out: Vec<MembershipRecord> = members
                .range((pool.0, 0)..=(pool.0, u32::MAX))
                .map_err(io_err)?
                .map(|entry| entry.map_err(io_err).and_then(|(_, v)| decode(v.value())))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|m| (m.joined_at, m.account));
            Ok(out)
        }))
    }

    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let key = (
                    trial.account.0,
                    trial.started_at.as_millis(),
                    trial.license.0,
                );
                tx.open_table(TRIALS)
                    .map_err(open_err)?
                    .insert(key, encode(&trial)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let trials = tx.open_table(TRIALS).map_err(open_err)?;
            let found: Vec<TrialRecord> = trials
                .range((account.0, 0, 0)..=(account.0, u64::MAX, u32::MAX))
                .map_err(io_err)?
                .map(|entry| entry.map_err(io_err).and_then(|(_, v)| decode(v.value())))
                .collect::<Result<_, _>>()?;
            Ok(found)
        }))
    }

    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(SESSIONS)
                    .map_err(open_err)?
                    .insert(session.key.as_slice(), encode(&session)?.as_slice())
                    .map_err(io_err)?;
                tx.open_table(SESSIONS_OF)
                    .map_err(open_err)?
                    .insert((session.account.0, session.key.as_slice()), ())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let sessions = tx.open_table(SESSIONS).map_err(open_err)?;
            let row = sessions.get(key.as_slice()).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut sessions = tx.open_table(SESSIONS).map_err(open_err)?;
                let old: Option<SessionRecord> = sessions
                    .remove(key.as_slice())
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                if let Some(old) = old {
                    tx.open_table(SESSIONS_OF)
                        .map_err(open_err)?
                        .remove((old.account.0, key.as_slice()))
                        .map_err(io_err)?;
                }
                Ok(())
            })
        }))
    }

    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut index = tx.open_table(SESSIONS_OF).map_err(open_err)?;
                let keys: Vec<Vec<u8>> = index
                    .range((account.0, [].as_slice())..=(account.0, [0xFF; 33].as_slice()))
                    .map_err(io_err)?
                    .map(|entry| entry.map(|(k, _)| k.value().1.to_vec()).map_err(io_err))
                    .collect::<Result<_, _>>()?;
                let mut sessions = tx.open_table(SESSIONS).map_err(open_err)?;
                for key in &keys {
                    sessions.remove(key.as_slice()).map_err(io_err)?;
                    index.remove((account.0, key.as_slice())).map_err(io_err)?;
                }
                Ok(keys.len())
            })
        }))
    }

    fn update_account(&self, account: AccountRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(ACCOUNTS)
                    .map_err(open_err)?
                    .insert(account.id.0, encode(&account)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(REVOCATIONS)
                    .map_err(open_err)?
                    .insert(account.0, before.as_millis())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn token_revocations(
        &self,
    ) -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(REVOCATIONS).map_err(open_err)?;
            table
                .iter()
                .map_err(io_err)?
                .map(|entry| {
                    entry
                        .map(|(k, v)| (AccountId(k.value()), Timestamp(v.value())))
                        .map_err(io_err)
                })
                .collect()
        }))
    }

    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut links = tx.open_table(LINKS).map_err(open_err)?;
                let mut live = tx.open_table(LINK_OF).map_err(open_err)?;
                let slot = (link.account.0, link.purpose.code());
                let older: Option<Vec<u8>> =
                    live.get(slot).map_err(io_err)?.map(|v| v.value().to_vec());
                if let Some(older) = older {
                    links.remove(older.as_slice()).map_err(io_err)?;
                }
                links
                    .insert(link.key.as_slice(), encode(&link)?.as_slice())
                    .map_err(io_err)?;
                live.insert(slot, link.key.as_slice()).map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut links = tx.open_table(LINKS).map_err(open_err)?;
                let link: Option<LinkRecord> = links
                    .remove(key.as_slice())
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                if let Some(link) = &link {
                    let mut live = tx.open_table(LINK_OF).map_err(open_err)?;
                    let slot = (link.account.0, link.purpose.code());
                    let points_here = live
                        .get(slot)
                        .map_err(io_err)?
                        .is_some_and(|v| v.value() == key.as_slice());
                    if points_here {
                        live.remove(slot).map_err(io_err)?;
                    }
                }
                Ok(link)
            })
        }))
    }

    fn signing_key(&self, candidate: Vec<u8>) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = db
                .begin_write()
                .map_err(|e| unavailable("starting a transaction", e))?;
            let key = {
                let mut secrets = tx
                    .open_table(SECRETS)
                    .map_err(|e| unavailable("opening a table", e))?;
                let stored = secrets
                    .get(SIGNING_KEY)
                    .map_err(|e| unavailable("reading secrets", e))?
                    .map(|v| v.value().to_vec());
                match stored {
                    Some(key) => key,
                    None => {
                        secrets
                            .insert(SIGNING_KEY, candidate.as_slice())
                            .map_err(|e| unavailable("writing secrets", e))?;
                        candidate
                    }
                }
            };
            tx.commit()
                .map_err(|e| unavailable("committing a transaction", e))?;
            Ok(key)
        }))
    }
}

/// A read transaction.
fn read_tx(db: &Database) -> Result<redb::ReadTransaction, StoreError> {
    db.begin_read()
        .map_err(|e| unavailable("starting a read", e))
}

/// Runs `f` in one write transaction and commits it when `f` succeeds.
fn write<T>(
    db: &Database,
    f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = db
        .begin_write()
        .map_err(|e| unavailable("starting a transaction", e))?;
    let out = f(&tx)?;
    tx.commit()
        .map_err(|e| unavailable("committing a transaction", e))?;
    Ok(out)
}

fn open_err(e: redb::TableError) -> StoreError {
    unavailable("opening a table", e)
}

fn io_err(e: redb::StorageError) -> StoreError {
    unavailable("reading or writing the store", e)
}

fn read_account(db: &Database, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
    let tx = read_tx(db)?;
    let accounts = tx
        .open_table(ACCOUNTS)
        .map_err(|e| unavailable("opening a table", e))?;
    let row = accounts
        .get(id.0)
        .map_err(|e| unavailable("reading accounts", e))?;
    row.map(|v| decode(v.value())).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_actors::store::conformance;

    #[actix_rt::test]
    async fn embedded_store_passes_the_conformance_tests() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        conformance::run_all(&store, 100).await;
    }

    #[actix_rt::test]
    async fn embedded_store_passes_the_account_conformance_tests() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        crate::store::conformance::run_all(&store, 1_000).await;
    }

    #[actix_rt::test]
    async fn everything_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = EmbeddedStore::open(dir.path()).expect("open");
            conformance::committed_changes_load_as_applied_in_order(&store, 7).await;
        }
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        let snapshot = store.load(PoolId(7)).await.expect("load").expect("stored");
        assert_eq!(snapshot.seats.len(), 1);
        assert_eq!(store.live_pools().await, Ok(vec![PoolId(7)]));
    }

    fn grant(pool: u64, id: u64) -> PoolCommit {
        PoolCommit {
            pool: PoolId(pool),
            changes: vec![Change::SeatGranted(conformance::seat(id, 1))],
        }
    }

    /// What a power cut leaves of redb: its file as it was at the last durable commit.
    struct DurableCopy(Vec<u8>);

    impl DurableCopy {
        fn take(dir: &Path) -> Self {
            DurableCopy(std::fs::read(dir.join("seatbroker.redb")).expect("read the file"))
        }

        fn restore(&self, dir: &Path) {
            std::fs::write(dir.join("seatbroker.redb"), &self.0).expect("write the file");
        }
    }

    /// A store in a directory of its own, keeping usage `usage_retention_days`, holding
    /// pool 1.
    async fn store_with_pool(usage_retention_days: u32) -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            EmbeddedStore::open_with_retention(dir.path(), usage_retention_days).expect("open");
        store
            .create_pool(PoolSnapshot::new(PoolId(1), AccountId(1), Vec::new()))
            .await
            .expect("create");
        (dir, store)
    }

    /// The start of day `d` of the usage tests.
    fn day(d: u64) -> Timestamp {
        Timestamp(1_800_000_000_000)
            .day_start()
            .plus_secs(d * 86_400)
    }

    /// Pool 1's usage of the hour `hour`: one grant to `account`.
    fn usage(hour: Timestamp, account: u32) -> PoolCommit {
        PoolCommit {
            pool: PoolId(1),
            changes: vec![Change::Usage(UsageRecord {
                hour,
                grants: 1,
                accounts: vec![AccountId(account)],
                ..UsageRecord::default()
            })],
        }
    }

    async fn seat_ids(store: &EmbeddedStore, pool: u64) -> Vec<u64> {
        let snapshot = store
            .load(PoolId(pool))
            .await
            .expect("load")
            .expect("stored");
        let mut ids: Vec<u64> = snapshot.seats.iter().map(|s| s.id.0).collect();
        ids.sort_unstable();
        ids
    }

    /// Group commits are durable through the log alone: with redb's file as it was before
    /// them (its commits since were not synced), reopening applies the log's records.
    #[actix_rt::test]
    async fn s1_acknowledged_grants_survive_a_crash_that_loses_the_unsynced_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let durable = {
            let store = EmbeddedStore::open(dir.path()).expect("open");
            for pool in [1, 2] {
                store
                    .create_pool(PoolSnapshot::new(PoolId(pool), AccountId(1), Vec::new()))
                    .await
                    .expect("create");
            }
            let durable = DurableCopy::take(dir.path());
            assert_eq!(
                store.commit(&[grant(1, 1), grant(2, 1)]).await,
                vec![Ok(()), Ok(())]
            );
            assert_eq!(store.commit_blocking(&[grant(1, 2)]), vec![Ok(())]);
            durable
        };
        // Without its log, that file holds none of the grants.
        let bare = tempfile::tempdir().expect("temp dir");
        durable.restore(bare.path());
        let store = EmbeddedStore::open(bare.path()).expect("open the bare file");
        assert!(seat_ids(&store, 1).await.is_empty());
        drop(store);
        durable.restore(dir.path());
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        assert_eq!(seat_ids(&store, 1).await, vec![1, 2]);
        assert_eq!(seat_ids(&store, 2).await, vec![1]);
        // The replay was made durable and the numbering goes on: a later crash replays only
        // what came after it.
        let durable = DurableCopy::take(dir.path());
        assert_eq!(store.commit_blocking(&[grant(1, 3)]), vec![Ok(())]);
        drop(store);
        durable.restore(dir.path());
        let store = EmbeddedStore::open(dir.path()).expect("reopen again");
        assert_eq!(seat_ids(&store, 1).await, vec![1, 2, 3]);
    }

    /// After a checkpoint the log starts again; a crash after it replays only the records
    /// written since, onto the checkpointed file.
    #[actix_rt::test]
    async fn a_checkpoint_makes_the_log_start_again_and_a_crash_after_it_loses_nothing() {
        let (dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
        let mut id = 0;
        let mut logged = 0;
        loop {
            id += 1;
            assert_eq!(store.commit_blocking(&[grant(1, id)]), vec![Ok(())]);
            let now = store.log.lock().expect("log").wal.len();
            if now < logged {
                break;
            }
            logged = now;
            assert!(id < 100_000, "no checkpoint after {id} commits");
        }
        assert!(logged >= CHECKPOINT_BYTES - 1_000, "{logged}");
        let durable = DurableCopy::take(dir.path());
        for more in 1..=3 {
            assert_eq!(store.commit_blocking(&[grant(1, id + more)]), vec![Ok(())]);
        }
        drop(store);
        durable.restore(dir.path());
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        let ids = seat_ids(&store, 1).await;
        assert_eq!(ids, (1..=id + 3).collect::<Vec<_>>());
    }

    /// A commit that panicked while holding the log leaves it poisoned: the next commit
    /// checkpoints first, succeeds, and clears the poison.
    #[actix_rt::test]
    async fn a_commit_after_one_that_panicked_checkpoints_and_goes_on() {
        let (dir, store) = store_with_pool(DEFAULT_USAGE_RETENTION_DAYS).await;
        assert_eq!(store.commit_blocking(&[grant(1, 1)]), vec![Ok(())]);
        let log = store.log.clone();
        let panicked = std::thread::spawn(move || {
            let _held = log.lock();
            panic!("a commit panics half-way");
        })
        .join();
        assert!(panicked.is_err() && store.log.is_poisoned());
        assert_eq!(store.commit_blocking(&[grant(1, 2)]), vec![Ok(())]);
        assert!(!store.log.is_poisoned());
        // The checkpoint made seat 1 durable in the file; seat 2 is in the log.
        let durable = DurableCopy::take(dir.path());
        drop(store);
        durable.restore(dir.path());
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        assert_eq!(seat_ids(&store, 1).await, vec![1, 2]);
    }

    #[actix_rt::test]
    async fn w4_usage_past_the_retention_is_forgotten() {
        let (_dir, store) = store_with_pool(2).await;
        for (d, account) in [(0, 1), (1, 2), (5, 3)] {
            assert_eq!(store.commit(&[usage(day(d), account)]).await, vec![Ok(())]);
        }
        let kept = store
            .usage(PoolId(1), day(0), day(10))
            .await
            .expect("usage");
        let hours: Vec<Timestamp> = kept.iter().map(|r| r.hour).collect();
        assert_eq!(
            hours,
            vec![day(5)],
            "days more than 2 before the newest are gone"
        );
    }

    /// The log's replay keeps usage as long as the store was told to, not the default.
    #[actix_rt::test]
    async fn w4_a_replayed_log_keeps_usage_for_the_configured_retention() {
        let (dir, store) = store_with_pool(1_000).await;
        let durable = DurableCopy::take(dir.path());
        for d in [0, 500] {
            assert_eq!(store.commit_blocking(&[usage(day(d), 1)]), vec![Ok(())]);
        }
        drop(store);
        durable.restore(dir.path());
        let store = EmbeddedStore::open_with_retention(dir.path(), 1_000).expect("reopen");
        let kept = store
            .usage(PoolId(1), day(0), day(600))
            .await
            .expect("usage");
        let hours: Vec<Timestamp> = kept.iter().map(|r| r.hour).collect();
        assert_eq!(hours, vec![day(0), day(500)]);
    }

    #[actix_rt::test]
    async fn a_second_broker_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _first = EmbeddedStore::open(dir.path()).expect("open");
        let second = EmbeddedStore::open(dir.path());
        assert!(
            matches!(second, Err(OpenError::Database { .. })),
            "{second:?}"
        );
    }

    #[actix_rt::test]
    async fn an_unreadable_record_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        {
            let tx = store.db.begin_write().expect("tx");
            tx.open_table(POOLS)
                .expect("table")
                .insert(9, b"\xc1 not msgpack".as_slice())
                .expect("insert");
            tx.commit().expect("commit");
        }
        assert!(matches!(
            store.load(PoolId(9)).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
