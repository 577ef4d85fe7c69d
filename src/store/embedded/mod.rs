//! `EmbeddedStore`: the default backend, an ACID file store (redb) under `storage.path`, so
//! the broker runs with no other service. A group commit is one redb write transaction
//! committed without fsync plus one record in the write-ahead log (`wal.rs`), durable with
//! one `fdatasync` before it returns. After each `CHECKPOINT_BYTES` of log, a checkpoint (a
//! durable redb commit carrying everything so far) runs on a thread of its own while group
//! commits go on into the log's other file (`seatbroker.wal`, `seatbroker.wal.1` in turn)
//! and wait to be applied to redb until it ends, a chunk at a time in their order; then the
//! file it covered starts again. At
//! open, the records of both files past redb's last durable sequence number
//! (`meta`/`wal_seq`) are applied again, so a crash loses no acknowledged change. Every
//! other write is a durable redb commit of its own. Group commits run on the committer's
//! own writer thread (`BlockingCommit`); every other call runs on tokio's blocking pool, so
//! an fsync never stalls an arbiter thread.
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
//! | `audit` | (at ms, entries before it) | `AuditEntry`, append-only |
//! | `secrets` | name (`token_signing_key`, `offline_signing_keys`) | bytes |
//! | `licenses` | license | `LicenseRecord` |
//! | `license_keys` | key bits | license |
//! | `holdings` | (account, license) | nothing: the licenses an account holds |
//! | `pool_records` | pool | `PoolRecord` (owner, type, join restriction) |
//! | `invites` | invite code bits | pool |
//! | `pool_invites` | pool | its current invite code bits |
//! | `members` | (pool, account) | `MembershipRecord` |
//! | `member_of` | (account, joined at ms, pool) | nothing: the pools shared with an account, in join order |
//! | `trials` | (account, started at ms, license) | `TrialRecord` |
//! | `sessions`, `sessions_of` | SHA-256 of a session id; (account, that key) | `SessionRecord`; nothing |
//! | `revocations` | account | the time (ms) before which its API tokens are void |
//! | `links`, `link_of` | SHA-256 of a link's token; (account, purpose) | `LinkRecord`; the live link's key |
//! | `meta` | `wal_seq` | the sequence number of the last group commit applied |
//!
//! `pools.rs` holds the pools' side (group commits through the log, loads, usage), and
//! `accounts.rs` the service's records; this file opens the store and holds what both use.

mod accounts;
mod pools;
use pools::replay;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use seatbroker_actors::store::{BlockingCommit, PoolCommit, PoolStore, StoreError, StoreFuture};

use super::{
    decode, encode, unavailable, AccountRecord, AccountStore, AuditEntry, Claim,
    CreateAccountError, CreateLicenseError, LicenseRecord, LinkRecord, MembershipRecord,
    PoolRecord, SessionRecord, TrialRecord,
};
use seatbroker_actors::stats::{AtomicHistogram, COMMIT_SECONDS};
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
const AUDIT: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("audit");
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
/// redb's page cache unless told otherwise: 16 MiB, where redb's own default (1 GiB) kept
/// every page a million seats were written to resident (issue 19, target 4).
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;
/// How long the checkpoints of this process took (a durable redb commit each, on a thread
/// of its own while group commits go on), seconds: read by the metrics.
pub static CHECKPOINT_SECONDS: std::sync::LazyLock<AtomicHistogram> =
    std::sync::LazyLock::new(|| AtomicHistogram::new(COMMIT_SECONDS));
/// Log bytes after which a group commit starts a checkpoint.
const CHECKPOINT_BYTES: u64 = 1 << 20;

/// Held-back group commits applied to redb in one transaction after a checkpoint, the log
/// let go in between (issue 19).
const APPLY_CHUNK: usize = 256;
/// The name of the thread a checkpoint runs on (seen in `top -H` and in profiles).
const CHECKPOINT_THREAD: &str = "seatbroker-checkpoint";
/// The log's two files in `storage.path`, written in turn from one checkpoint to the next.
const WAL_FILES: [&str; 2] = ["seatbroker.wal", "seatbroker.wal.1"];

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
    shared: Arc<Shared>,
}

/// The log behind its lock, and the signal that a checkpoint has ended.
#[derive(Debug)]
struct Shared {
    log: Mutex<Log>,
    settled: Condvar,
    /// Tests hold this to keep a checkpoint from committing, so they can commit during it.
    #[cfg(test)]
    gate: Mutex<()>,
}

/// The write-ahead log's two files and the group commits' sequence numbers.
#[derive(Debug)]
struct Log {
    /// Group commits go to `wals[active]`; the other file holds what a checkpoint in
    /// progress makes durable in redb, and starts again when it has.
    wals: [Wal; 2],
    active: usize,
    /// The next group commit's number.
    next_seq: u64,
    /// A commit reached redb but not the log, or a checkpoint failed: no record goes in
    /// before a checkpoint on the writer's thread.
    broken: bool,
    /// A checkpoint runs on its thread: group commits are logged and acknowledged, and wait
    /// in `deferred` (each with its group commit's number) to be applied to redb when it
    /// ends, in chunks, while later ones still wait here.
    checkpointing: bool,
    deferred: std::collections::VecDeque<(u64, PoolCommit)>,
    /// Applying deferred commits to redb failed: redb lacks acknowledged changes that only
    /// the log holds, so every later commit is refused until a restart replays the log.
    failed: Option<StoreError>,
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

    /// `open_with_retention` with redb's page cache the default `DEFAULT_CACHE_BYTES`.
    pub fn open_with_retention(dir: &Path, usage_retention_days: u32) -> Result<Self, OpenError> {
        Self::open_with_options(dir, usage_retention_days, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store in `dir`, keeping usage records `usage_retention_days`
    /// days from the newest hour counted; the log's replay at open keeps them as long.
    /// redb keeps at most `cache_bytes` of its pages in memory.
    pub fn open_with_options(
        dir: &Path,
        usage_retention_days: u32,
        cache_bytes: usize,
    ) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let file = dir.join("seatbroker.redb");
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(&file)
            .map_err(|source| OpenError::Database {
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
            tx.open_table(AUDIT).map_err(prepare)?;
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
        let log = replay(&db, dir, usage_retention_ms)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            usage_retention_ms,
            shared: Arc::new(Shared::new(log)),
        })
    }

    /// `blocking` once no checkpoint holds group commits back: for reads of what the group
    /// commits write (pools, seats, usage).
    async fn settled<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = self.shared.clone();
        self.blocking(move |db| {
            shared.settle();
            f(db)
        })
        .await
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

impl Shared {
    fn new(log: Log) -> Self {
        Shared {
            log: Mutex::new(log),
            settled: Condvar::new(),
            #[cfg(test)]
            gate: Mutex::new(()),
        }
    }

    /// The log. A commit that panicked half-way leaves it marked broken, so the next one
    /// checkpoints first: whatever it did, a checkpoint settles it.
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|poisoned| {
            self.log.clear_poison();
            let mut log = poisoned.into_inner();
            log.broken = true;
            log
        })
    }

    /// Returns once no checkpoint is in progress and the group commits it held back are
    /// applied, so that what redb reads includes every acknowledged commit.
    fn settle(&self) {
        drop(self.settled(self.lock()));
    }

    /// `log` once no checkpoint is in progress.
    fn settled<'a>(&'a self, mut log: MutexGuard<'a, Log>) -> MutexGuard<'a, Log> {
        while log.checkpointing {
            log = self
                .settled
                .wait(log)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        log
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
