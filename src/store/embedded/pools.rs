//! The pools' side of the embedded store (`PoolStore`): group commits through the
//! write-ahead log and redb, checkpoints, the log's replay at open, and loading a pool.

use super::*;

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
            return Ok(Err(not_stored(pool)));
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

/// Applies `batch` in one redb transaction committed without fsync (or, while a checkpoint
/// runs, holds it back for when it ends), then makes it durable as one log record (or, when
/// the log fails, with a checkpoint). One result per pool.
fn commit_batch(
    db: &Arc<Database>,
    shared: &Arc<Shared>,
    batch: &[PoolCommit],
    usage_retention_ms: u64,
) -> Vec<Result<(), StoreError>> {
    let log = shared.lock();
    let (_log, outcome) = commit_locked(db, shared, log, batch, usage_retention_ms);
    match outcome {
        Ok(results) => results,
        Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
    }
}

/// One result per pool, or the error that fails the whole batch.
type BatchOutcome = Result<Vec<Result<(), StoreError>>, StoreError>;

/// `commit_batch` with the log held; the guard comes back, as waiting for a checkpoint
/// lets go of it in between.
fn commit_locked<'a>(
    db: &Arc<Database>,
    shared: &'a Arc<Shared>,
    mut log: MutexGuard<'a, Log>,
    batch: &[PoolCommit],
    usage_retention_ms: u64,
) -> (MutexGuard<'a, Log>, BatchOutcome) {
    if log.broken {
        // A checkpoint in progress may yet fail to apply what it held back: wait for it.
        log = shared.settled(log);
    }
    if let Some(e) = &log.failed {
        let e = e.clone();
        return (log, Err(e));
    }
    if log.broken {
        if let Err(e) = checkpoint(db, &mut log) {
            return (log, Err(e));
        }
    }
    let seq = log.next_seq;
    let payload = match encode(&logged(batch)) {
        Ok(payload) => payload,
        Err(e) => return (log, Err(e)),
    };
    let results = if log.checkpointing {
        // redb's writer is the checkpoint's: the log alone makes these durable, and they
        // reach redb when it ends. Pools not stored are refused now, as `apply` would.
        match stored(db, batch) {
            Ok(results) => {
                for (commit, result) in batch.iter().zip(&results) {
                    if result.is_ok() {
                        log.deferred.push_back((seq, commit.clone()));
                    }
                }
                results
            }
            Err(e) => return (log, Err(e)),
        }
    } else {
        match apply_batch(db, batch, seq, redb::Durability::None, usage_retention_ms) {
            Ok(results) => results,
            Err(e) => return (log, Err(e)),
        }
    };
    log.next_seq += 1;
    let active = log.active;
    match log.wals[active].append(seq, &payload) {
        Ok(()) => {
            if log.wals[active].len() >= CHECKPOINT_BYTES && !log.checkpointing {
                start_checkpoint(db, shared, &mut log, usage_retention_ms);
            }
        }
        Err(e) => {
            // redb holds the commit (or will, when the checkpoint in progress ends) but the
            // log does not: only a checkpoint makes it durable, and no later record may go
            // in before one.
            log.broken = true;
            tracing::warn!(%e, "the write-ahead log failed; checkpointing instead");
            log = shared.settled(log);
            if let Some(e) = &log.failed {
                let e = e.clone();
                return (log, Err(e));
            }
            if let Err(e) = checkpoint(db, &mut log) {
                return (log, Err(e));
            }
        }
    }
    (log, Ok(results))
}

/// How a commit to a pool the store does not hold is refused.
fn not_stored(pool: PoolId) -> StoreError {
    StoreError::Unavailable(format!("pool {pool} is not stored"))
}

/// One result per pool of `batch`: refused when the pool is not stored.
fn stored(db: &Database, batch: &[PoolCommit]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let tx = read_tx(db)?;
    let pools = tx.open_table(POOLS).map_err(open_err)?;
    batch
        .iter()
        .map(|commit| {
            let found = pools
                .get(commit.pool.0)
                .map_err(|e| unavailable("reading a pool", e))?
                .is_some();
            Ok(if found {
                Ok(())
            } else {
                Err(not_stored(commit.pool))
            })
        })
        .collect()
}

/// Switches the log to its other file and starts a checkpoint of everything so far on a
/// thread of its own; without a thread, checkpoints here.
fn start_checkpoint(
    db: &Arc<Database>,
    shared: &Arc<Shared>,
    log: &mut Log,
    usage_retention_ms: u64,
) {
    log.checkpointing = true;
    log.active ^= 1;
    let (db_, shared_) = (db.clone(), shared.clone());
    let spawned = std::thread::Builder::new()
        .name(CHECKPOINT_THREAD.to_owned())
        .spawn(move || finish_checkpoint(db_, &shared_, usage_retention_ms));
    if let Err(e) = spawned {
        tracing::warn!(%e, "no thread for a checkpoint; checkpointing on the writer's");
        log.checkpointing = false;
        log.active ^= 1;
        if let Err(e) = checkpoint(db, log) {
            tracing::warn!(%e, "checkpoint of the embedded store failed");
        }
    }
}

/// The checkpoint thread: commits redb durably (the writer goes on meanwhile), starts the
/// file it covered again, applies the group commits held back, and says it has ended.
fn finish_checkpoint(db: Arc<Database>, shared: &Shared, usage_retention_ms: u64) {
    #[cfg(test)]
    let gate = shared.gate.lock();
    let committed = commit_durably(&db);
    #[cfg(test)]
    drop(gate);
    let mut log = shared.lock();
    match committed {
        Ok(()) => {
            let covered = log.active ^ 1;
            log.wals[covered].restart();
        }
        Err(e) => {
            // The file it covered keeps its records; the next commit checkpoints first.
            tracing::warn!(%e, "checkpoint of the embedded store failed");
            log.broken = true;
        }
    }
    // The held-back commits go to redb a chunk at a time with the log let go, so the writer
    // logs (and holds back) new commits meanwhile instead of waiting for all of them: after
    // a minute's usage records came due in thousands of pools at once, one apply took
    // 114 ms under the lock (issue 19, target 6). Their order is kept: nothing reaches redb
    // but through here until `deferred` is empty.
    while !log.deferred.is_empty() && log.failed.is_none() {
        let take = log.deferred.len().min(APPLY_CHUNK);
        let chunk: Vec<(u64, PoolCommit)> = log.deferred.drain(..take).collect();
        drop(log);
        let seq = chunk.last().map_or(0, |(seq, _)| *seq);
        let commits: Vec<PoolCommit> = chunk.into_iter().map(|(_, commit)| commit).collect();
        let applied = apply_batch(
            &db,
            &commits,
            seq,
            redb::Durability::None,
            usage_retention_ms,
        );
        log = shared.lock();
        if let Err(e) = applied {
            tracing::error!(%e, "acknowledged group commits could not be applied to the store; refusing commits until a restart replays the log");
            log.failed = Some(e);
            log.deferred.clear();
        }
    }
    // The database is let go before anyone hears the checkpoint ended (a store dropped
    // after `settle` closes its file).
    drop(db);
    log.checkpointing = false;
    shared.settled.notify_all();
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

/// Makes every commit so far durable in redb on the calling thread, then starts both of
/// the log's files again. No checkpoint may be in progress.
fn checkpoint(db: &Database, log: &mut Log) -> Result<(), StoreError> {
    commit_durably(db)?;
    for wal in &mut log.wals {
        wal.restart();
    }
    log.broken = false;
    Ok(())
}

/// A checkpoint's redb side: an empty durable commit, which makes every commit before it
/// durable; its time goes to the metrics.
fn commit_durably(db: &Database) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    db.begin_write()
        .map_err(|e| unavailable("starting a checkpoint", e))?
        .commit()
        .map_err(|e| unavailable("committing a checkpoint", e))?;
    super::CHECKPOINT_SECONDS.observe(started.elapsed().as_secs_f64());
    Ok(())
}

/// Opens the log's two files in `dir` and applies their records past redb's last durable
/// group commit, in order, as one durable commit; the log then starts again.
pub(super) fn replay(db: &Database, dir: &Path, usage_retention_ms: u64) -> Result<Log, OpenError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        OpenError::Prepare(format!("{what} {}: {e}", dir.join(WAL_FILES[0]).display()))
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
    let (first, mut records) =
        Wal::open(&dir.join(WAL_FILES[0])).map_err(|e| failed("cannot open the log", &e))?;
    let (second, more) =
        Wal::open(&dir.join(WAL_FILES[1])).map_err(|e| failed("cannot open the log", &e))?;
    // Each file's records follow one another; a checkpoint's records and those written
    // during it are in different files.
    records.extend(more);
    records.sort_by_key(|r| r.seq);
    records.dedup_by_key(|r| r.seq);
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
        wals: [first, second],
        active: 0,
        next_seq: last + 1,
        broken: false,
        checkpointing: false,
        deferred: Default::default(),
        failed: None,
    };
    for wal in &mut log.wals {
        wal.restart();
    }
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
        Box::pin(self.settled(move |db| load_pool(db, pool)))
    }

    fn commit<'a>(
        &'a self,
        batch: &'a [PoolCommit],
    ) -> StoreFuture<'a, Vec<Result<(), StoreError>>> {
        let owned = batch.to_vec();
        let len = batch.len();
        Box::pin(async move {
            let store = self.clone();
            match self
                .blocking(move |_| Ok(store.commit_blocking(&owned)))
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
        Box::pin(self.settled(move |db| {
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
        Box::pin(self.settled(|db| {
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
        commit_batch(&self.db, &self.shared, batch, self.usage_retention_ms)
    }
}
