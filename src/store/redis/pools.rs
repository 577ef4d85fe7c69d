//! The pools' side of the Redis store (`PoolStore`): each pool's changes as one fenced Lua
//! script, pipelined across pools in one round trip (on a Redis Cluster, one pipeline per
//! slot, sent at once); loading a pool; usage reads; and finding the pools that hold seats at
//! start (on every master of a cluster).

use super::*;
use seatbroker_actors::PoolEvent;

impl RedisStore {
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
                        events: Vec::new(),
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
                    // Led by the first event's time: batches of an hour read back in order,
                    // and the same batch sent again is the same member.
                    ops.push(match rec.events.first() {
                        None => Vec::new(),
                        Some(first) => {
                            let mut member = text(padded(first.at.as_millis()));
                            member.extend(encode(&rec.events)?);
                            member
                        }
                    });
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

    /// Commit scripts, one per pool, pipelined in one round trip (`pipeline_each`: on a
    /// cluster, one pipeline per slot, all at once), one answer per pool.
    async fn commit_pipeline(
        &self,
        calls: &[PoolCall],
    ) -> Result<Vec<RedisResult<String>>, StoreError> {
        let sha = self.scripts.commit.get_hash();
        let cmds = calls
            .iter()
            .map(|PoolCall { keys, args, .. }| {
                let mut cmd = redis::cmd("EVALSHA");
                cmd.arg(sha).arg(keys.len());
                for key in keys {
                    cmd.arg(key);
                }
                for arg in args {
                    cmd.arg(arg.as_slice());
                }
                (keys[0].as_str(), cmd)
            })
            .collect();
        self.pipeline_each("committing", cmds).await
    }

    async fn commit_batch(&self, batch: &[PoolCommit]) -> Vec<Result<(), StoreError>> {
        let mut results: Vec<Option<Result<(), StoreError>>> = vec![None; batch.len()];
        let mut calls = Vec::with_capacity(batch.len());
        for (i, commit) in batch.iter().enumerate() {
            if self.lease.is_none() && self.lost.contains(&commit.pool) {
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
                        self.leases.remove(&pool);
                        self.fenced.fetch_add(1, Ordering::Relaxed);
                        if self.lease.is_none() {
                            self.lost.insert(pool);
                        }
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
        if self.lease.is_none() && self.lost.contains(&pool) {
            return Err(StoreError::PoolOwnedElsewhere(pool));
        }
        let keys = pool_keys(pool);
        let lease = leases::lease_key(pool);
        let mut key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        key_refs.push(&lease);
        let (holder, lease_ms) = self.lease_args();
        let taken = std::time::Instant::now();
        let reply: Value = self
            .script(
                "loading a pool",
                &self.scripts.load,
                &key_refs,
                &[holder.as_bytes(), lease_ms.as_bytes()],
            )
            .await?;
        let Value::Array(parts) = reply else {
            return Ok(None);
        };
        if parts.len() == 2 {
            // Another node holds the pool's lease.
            return Err(StoreError::PoolOwnedElsewhere(pool));
        }
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
        if self.lease.is_some() {
            self.leases.insert(pool, taken);
            self.takeovers.fetch_add(1, Ordering::Relaxed);
        }
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
        let reply: UsageRangeReply = self
            .script(
                "reading usage",
                &self.scripts.usage_range,
                &[&keys[4], &keys[7], &keys[5], &keys[6], &keys[8]],
                &[
                    from.as_millis().to_string().as_bytes(),
                    to.as_millis().to_string().as_bytes(),
                    from.day_start().as_millis().to_string().as_bytes(),
                ],
            )
            .await?;
        let (_hours, records, hour_members, day_members, event_batches) = reply;
        // Batches of events, each followed by its hour; a batch is led by the 20 digits of
        // its first event's time (`COMMIT`), so they come back in order.
        let mut events_by_hour: HashMap<u64, Vec<PoolEvent>> = HashMap::new();
        for pair in event_batches.chunks(2) {
            let [member, score] = pair else { continue };
            let hour: u64 = std::str::from_utf8(score)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map_or(0, |f| f as u64);
            let Some(blob) = member.get(20..) else {
                continue;
            };
            let batch: Vec<PoolEvent> = decode(blob)?;
            events_by_hour.entry(hour).or_default().extend(batch);
        }
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
            rec.events = events_by_hour.remove(&h).unwrap_or_default();
            out.push(rec);
        }
        Ok(out)
    }

    /// The pools holding seats: a SCAN for their `seats` keys on every master (each master
    /// of a cluster holds its own slots' keys), each master's cursor to its end.
    async fn scan_live(&self) -> Result<Vec<PoolId>, StoreError> {
        let what = "listing live pools";
        let scan = |cursor: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg("sb:{P-*}:seats")
                .arg("COUNT")
                .arg(10_000);
            cmd
        };
        let mut live = Vec::new();
        for (node, first) in self.on_every_master(what, scan(0)).await? {
            let mut page: (u64, Vec<String>) =
                redis::from_redis_value(first).map_err(|e| unavailable(what, e))?;
            loop {
                let (next, keys) = page;
                live.extend(keys.iter().filter_map(|k| {
                    let hex = k.strip_prefix("sb:{P-")?.strip_suffix("}:seats")?;
                    u64::from_str_radix(hex, 16).ok().map(PoolId)
                }));
                if next == 0 {
                    break;
                }
                page = self.on_master(what, &node, scan(next)).await?;
            }
        }
        live.sort_unstable();
        live.dedup();
        Ok(live)
    }
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

    /// PING; on a Redis Cluster, every master's (`ping_every_master`).
    fn ping(&self) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if let Connection::Cluster(_) = self.conn {
                return self.ping_every_master().await;
            }
            self.query::<String>("ping", redis::cmd("PING")).await?;
            Ok(())
        })
    }
}

/// What `USAGE_RANGE` answers: the hours, their records, the hour and day account members,
/// and the event batches with their hours.
type UsageRangeReply = (
    Vec<String>,
    Vec<Vec<u8>>,
    Vec<String>,
    Vec<String>,
    Vec<Vec<u8>>,
);
