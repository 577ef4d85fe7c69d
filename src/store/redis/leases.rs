//! Several nodes on one Redis: each pool's lease (`sb:{P-…}:lease`, a string holding
//! `node-id url` that expires after the lease length). Loading a pool takes its lease in the
//! same script that raises its epoch (`lua::LOAD`), so a takeover and a new epoch are one
//! step; this file renews the leases a node holds, gives them up, and tells who holds one.
//! When and why to renew is the cluster's business (`crate::cluster`), not the store's.

use std::time::Instant;

use super::*;

/// How this node holds leases: who it is and how long a lease lasts.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// `node-id url`: this process, and where other nodes reach it.
    pub holder: String,
    /// How long a lease lasts unless renewed, in milliseconds.
    pub lease_ms: u64,
}

/// The key of a pool's lease.
pub(super) fn lease_key(pool: PoolId) -> String {
    format!("sb:{{{pool}}}:lease")
}

impl RedisStore {
    /// Several nodes: from now on every load takes the pool's lease as `lease.holder`, and is
    /// refused (`PoolOwnedElsewhere`) while another node holds it.
    pub fn hold_leases(mut self, lease: LeaseOptions) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The node id part of this node's lease holder, when it holds leases.
    pub fn lease_holder_id(&self) -> Option<String> {
        let lease = self.lease.as_ref()?;
        Some(lease.holder.split(' ').next()?.to_owned())
    }

    /// The lease arguments of the load script: the holder and the lease length, or "" when
    /// this node takes no leases.
    pub(super) fn lease_args(&self) -> (String, String) {
        match &self.lease {
            Some(l) => (l.holder.clone(), l.lease_ms.to_string()),
            None => (String::new(), String::new()),
        }
    }

    /// Whether this node's lease on `pool` was renewed less than a lease ago minus `margin`
    /// (by its own clock): while it is, no other node can have taken the pool.
    pub fn lease_fresh(&self, pool: PoolId, margin: Duration) -> bool {
        let Some(lease) = &self.lease else {
            return true;
        };
        let length = Duration::from_millis(lease.lease_ms).saturating_sub(margin);
        self.leases
            .get(&pool)
            .is_some_and(|renewed| renewed.elapsed() < length)
    }

    /// Whether this node holds `pool`'s lease (as far as it last heard from Redis); always
    /// true on a single node.
    pub fn holds_lease(&self, pool: PoolId) -> bool {
        self.lease.is_none() || self.leases.contains_key(&pool)
    }

    /// The pools whose lease this node holds (or held when it last heard from Redis).
    pub fn held_leases(&self) -> Vec<PoolId> {
        self.leases.iter().map(|e| *e.key()).collect()
    }

    /// Renews the leases of `pools` in one round trip; answers the pools whose lease another
    /// node holds now (lost: their actors must stop). A pool this node holds no lease on is
    /// skipped. While Redis (or, on a cluster, the pool's master) does not answer, nothing is
    /// renewed and nothing is lost.
    pub async fn renew_leases(&self, pools: &[PoolId]) -> Result<Vec<PoolId>, StoreError> {
        let Some(lease) = &self.lease else {
            return Ok(Vec::new());
        };
        let held: Vec<(PoolId, u64)> = pools
            .iter()
            .filter(|p| self.leases.contains_key(p))
            .filter_map(|p| self.epochs.get(p).map(|e| (*p, *e)))
            .collect();
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let sent = Instant::now();
        let answers = self
            .lease_pipeline(
                "renewing leases",
                &held,
                lua::RENEW_LEASE,
                |cmd, pool, epoch| {
                    cmd.arg(2)
                        .arg(lease_key(pool))
                        .arg(pool_keys(pool)[0].as_str())
                        .arg(lease.holder.as_str())
                        .arg(lease.lease_ms)
                        .arg(epoch);
                },
            )
            .await?;
        let mut lost = Vec::new();
        for ((pool, _), held) in held.into_iter().zip(answers) {
            match held {
                Ok(1) => {
                    self.leases.insert(pool, sent);
                }
                Ok(_) => {
                    self.leases.remove(&pool);
                    self.epochs.remove(&pool);
                    lost.push(pool);
                }
                Err(_) => {}
            }
        }
        Ok(lost)
    }

    /// Gives up this node's leases on `pools` (their actors stopped, or the node is
    /// stopping), so another node may take them at once instead of after a lease.
    pub async fn release_leases(&self, pools: &[PoolId]) -> Result<(), StoreError> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        // Only the load seen now is given up: a pool loaded again meanwhile (its actor
        // restarted right after it stopped) has a newer epoch, which this leaves alone, here
        // and in Redis.
        let held: Vec<(PoolId, u64)> = pools
            .iter()
            .filter_map(|p| {
                let epoch = *self.epochs.get(p)?;
                self.epochs.remove_if(p, |_, e| *e == epoch)?;
                self.leases.remove(p);
                Some((*p, epoch))
            })
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        self.lease_pipeline(
            "giving up leases",
            &held,
            lua::RELEASE_LEASE,
            |cmd, pool, epoch| {
                cmd.arg(2)
                    .arg(lease_key(pool))
                    .arg(pool_keys(pool)[0].as_str())
                    .arg(lease.holder.as_str())
                    .arg(epoch);
            },
        )
        .await?
        .into_iter()
        .try_for_each(|released| released.map(|_| ()))
    }

    /// Who holds the lease on `pool` (`node-id url`), if anyone.
    pub async fn lease_holder(&self, pool: PoolId) -> Result<Option<String>, StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(lease_key(pool));
        self.query("reading a lease", get).await
    }

    /// One script per pool in one pipeline (`pipeline_each`: on a cluster, one pipeline per
    /// slot, all at once), loading the script first when Redis forgot it, with one answer
    /// per pool (on a cluster, a master that does not answer fails its pools only); `args`
    /// adds the number of keys, the keys (the lease first) and the arguments of each call.
    async fn lease_pipeline(
        &self,
        what: &str,
        pools: &[(PoolId, u64)],
        source: &str,
        args: impl Fn(&mut redis::Cmd, PoolId, u64),
    ) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
        let script = Script::new(source);
        let keys: Vec<String> = pools.iter().map(|(pool, _)| lease_key(*pool)).collect();
        for _ in 0..2 {
            let calls = pools
                .iter()
                .zip(&keys)
                .map(|((pool, epoch), key)| {
                    let mut cmd = redis::cmd("EVALSHA");
                    cmd.arg(script.get_hash());
                    args(&mut cmd, *pool, *epoch);
                    (key.as_str(), cmd)
                })
                .collect();
            let answers = self.pipeline_each::<i64>(what, calls).await?;
            let no_script = |e: &RedisError| {
                e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
            };
            if answers.iter().any(|a| a.as_ref().is_err_and(no_script)) {
                let mut load = redis::cmd("SCRIPT");
                load.arg("LOAD").arg(source);
                self.query::<String>(what, load).await?;
                continue;
            }
            return Ok(answers
                .into_iter()
                .map(|a| a.map_err(|e| unavailable(what, e)))
                .collect());
        }
        Err(unavailable(what, "Redis keeps forgetting its scripts"))
    }
}
