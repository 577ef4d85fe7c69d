//! Several broker nodes on one Redis (`cluster.secret` set). Each pool is owned by one node at
//! a time through a lease in Redis (`store::redis` takes it in the same script that raises
//! the pool's fencing epoch), so a pool's seats are still decided by exactly one actor:
//!
//! - `engine`: what the service calls for any pool operation; runs it here or forwards it.
//! - `rpc`: the forward on the wire: an internal route, authenticated by an HMAC of the
//!   cluster secret, carrying one `PoolCall` and its answer as MessagePack.
//! - `bus`: changes of the service's records that nodes cache, told to every node through
//!   Redis pub/sub.
//! - `leases`: the background loop that renews this node's leases, gives up those of stopped
//!   actors, and adopts live pools nobody owns.
//!
//! Routing (`Cluster::dispatch`): a pool whose owner this node learned within a lease is
//! forwarded there; otherwise the operation runs here, which loads the pool and takes its
//! lease when the lease is free; when another node holds it, its holder's address is read
//! from the lease and the operation forwarded once. A forwarded operation never travels
//! further: the receiving node runs it or answers `PoolOwnedElsewhere` (503, retried).
//! Safety does not depend on timing: a node that lost its lease (paused, cut off) may still
//! try to write, but every commit carries the epoch it loaded and Redis refuses a stale one.
//!
//! Accounts, sessions and the other service records need no owner: any node writes them, and
//! what nodes hold of them in memory is kept fresh through `bus`.

pub mod bus;
pub mod engine;
pub mod leases;
pub mod rpc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use seatbroker_actors::{EngineError, PoolId, PoolRegistry};
use secrecy::SecretString;

use crate::store::redis::RedisStore;
use engine::{execute, PoolAnswer, PoolCall};

pub use engine::Engine;

/// How long before its lease runs out a node stops trusting it without asking Redis.
const LEASE_MARGIN: Duration = Duration::from_millis(200);

/// This node's place among the nodes sharing a Redis.
pub struct Cluster {
    /// A random id for this process, so a restarted node on the same address is another node.
    node: String,
    /// How other nodes reach this one.
    url: String,
    /// Authenticates forwards between nodes.
    secret: SecretString,
    store: Arc<RedisStore>,
    http: reqwest::Client,
    /// Owners learned from leases: the address, and when it was read.
    owners: DashMap<PoolId, (Arc<str>, Instant)>,
    lease: Duration,
    renew: Duration,
    stats: ClusterStats,
}

/// What the cluster counts, for `/metrics`.
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Operations forwarded to the owning node.
    pub forwards: AtomicU64,
    /// Forwards that found no answer (the owner dead, paused or unreachable).
    pub forward_failures: AtomicU64,
    /// Pools this node lost to another node while it held them.
    pub leases_lost: AtomicU64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// The cluster as node `node` at `url` sees it, over `store`.
    pub fn new(
        node: String,
        url: String,
        secret: SecretString,
        store: Arc<RedisStore>,
        lease: Duration,
        renew: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .connect_timeout(lease.min(Duration::from_secs(1)))
            .build()
            .unwrap_or_default();
        Cluster {
            node,
            url,
            secret,
            store,
            http,
            owners: DashMap::new(),
            lease,
            renew,
            stats: ClusterStats::default(),
        }
    }

    /// The lease holder this node writes into Redis: `node-id url`.
    pub fn holder(node: &str, url: &str) -> String {
        format!("{node} {url}")
    }

    /// How other nodes reach this one.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The secret that authenticates forwards.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The store the leases live in.
    pub fn store(&self) -> &Arc<RedisStore> {
        &self.store
    }

    /// What the cluster counted so far.
    pub fn stats(&self) -> &ClusterStats {
        &self.stats
    }

    /// How often leases are renewed.
    pub fn renew_every(&self) -> Duration {
        self.renew
    }

    /// Runs `call` on the node that owns `pool`: see the module documentation.
    pub async fn dispatch(
        &self,
        registry: &PoolRegistry,
        pool: PoolId,
        call: PoolCall,
    ) -> Result<PoolAnswer, EngineError> {
        if let Some(owner) = self.known_owner(pool) {
            match self.forward(&owner, pool, &call).await {
                Some(Err(EngineError::PoolOwnedElsewhere)) | None => {
                    self.owners.remove(&pool);
                }
                Some(answer) => return answer,
            }
        }
        match self.run_here(registry, pool, call.clone()).await {
            Err(EngineError::PoolOwnedElsewhere) => {}
            answer => return answer,
        }
        let Some(owner) = self.owner_from_lease(pool).await else {
            return Err(EngineError::PoolOwnedElsewhere);
        };
        self.owners.insert(pool, (owner.clone(), Instant::now()));
        match self.forward(&owner, pool, &call).await {
            Some(answer) => answer,
            None => {
                self.owners.remove(&pool);
                Err(EngineError::PoolOwnedElsewhere)
            }
        }
    }

    /// Runs `call` on this node's actor of `pool`, never forwarding it: what a forwarded call
    /// does on its receiving node. A pool held here whose lease was not renewed for nearly a
    /// lease (this node was paused) is checked with Redis first, and let go when lost.
    pub async fn run_here(
        &self,
        registry: &PoolRegistry,
        pool: PoolId,
        call: PoolCall,
    ) -> Result<PoolAnswer, EngineError> {
        if registry.is_loaded(pool) && !self.store.lease_fresh(pool, LEASE_MARGIN) {
            if !self.store.holds_lease(pool) {
                // An actor without a lease (its lease was given up or lost meanwhile): it
                // must not answer; the call below loads the pool afresh, or finds its owner.
                self.lost(registry, &[pool]);
            } else if let Ok(lost) = self.store.renew_leases(&[pool]).await {
                self.lost(registry, &lost);
            }
        }
        execute(registry, pool, call).await
    }

    /// Lets go of pools another node took: their actors stop.
    pub(crate) fn lost(&self, registry: &PoolRegistry, pools: &[PoolId]) {
        for pool in pools {
            tracing::warn!(%pool, "another node holds this pool's lease now; letting go");
            self.stats.leases_lost.fetch_add(1, Ordering::Relaxed);
            registry.evict(*pool);
        }
    }

    /// The owner learned within the last lease, if any.
    fn known_owner(&self, pool: PoolId) -> Option<Arc<str>> {
        let entry = self.owners.get(&pool)?;
        let (url, learned) = entry.value();
        (learned.elapsed() < self.lease).then(|| url.clone())
    }

    /// The address of the node holding `pool`'s lease, unless it is none, this node's own
    /// address (an earlier run of this node, whose lease has not lapsed yet) or unreadable.
    async fn owner_from_lease(&self, pool: PoolId) -> Option<Arc<str>> {
        let holder = self.store.lease_holder(pool).await.ok()??;
        let (_, url) = holder.split_once(' ')?;
        (url != self.url).then(|| Arc::from(url))
    }

    /// Sends `call` to the node at `owner`; `None` when no answer came (the node is dead,
    /// paused, unreachable, or answered something other than a call's answer).
    async fn forward(
        &self,
        owner: &str,
        pool: PoolId,
        call: &PoolCall,
    ) -> Option<Result<PoolAnswer, EngineError>> {
        self.stats.forwards.fetch_add(1, Ordering::Relaxed);
        let answer = rpc::send(self, owner, pool, call).await;
        if let Err(err) = &answer {
            self.stats.forward_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%pool, owner, %err, "forwarding to the pool's owner failed");
        }
        answer.ok()
    }
}
