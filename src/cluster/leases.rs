//! The lease loop of a node in a cluster: every `cluster.renew_ms` it renews the leases of
//! the pools whose actors run here (one pipelined round trip), stops the actors of pools
//! another node took, and gives up the leases of pools whose actors stopped (idle), so any
//! node may take them at once. Every few renewals it also loads the live pools (those holding
//! seats) that no node owns, so a dead node's seats keep expiring (S4) without a request.
//! At shutdown `release_all` gives up every lease this node holds.

use std::sync::Arc;
use std::time::Duration;

use seatbroker_actors::PoolRegistry;

use super::Cluster;

/// Renewals between two looks for live pools nobody owns.
const ADOPT_EVERY: u32 = 20;
/// Live pools loaded at once when adopting.
const ADOPT_CONCURRENCY: usize = 8;

/// Runs until the process ends; spawn it on the actix system (it may start actors).
pub async fn run(cluster: Arc<Cluster>, registry: PoolRegistry) {
    let mut tick = tokio::time::interval(cluster.renew_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = 0u32;
    loop {
        tick.tick().await;
        renew_once(&cluster, &registry).await;
        round = round.wrapping_add(1);
        if round % ADOPT_EVERY == 0 && registry.is_ready() {
            registry.load_live_pools(ADOPT_CONCURRENCY).await;
        }
    }
}

/// One renewal: renew what runs here, let go of what was lost (or runs here without a
/// lease), give up what stopped.
pub async fn renew_once(cluster: &Cluster, registry: &PoolRegistry) {
    let store = cluster.store();
    let running = registry.loaded_pools();
    let (held, orphans): (Vec<_>, Vec<_>) =
        running.into_iter().partition(|p| store.holds_lease(*p));
    cluster.lost(registry, &orphans);
    match store.renew_leases(&held).await {
        Ok(lost) => cluster.lost(registry, &lost),
        Err(err) => tracing::warn!(%err, "renewing this node's leases failed"),
    }
    // A pool being loaded has its lease before its actor runs: only a pool with neither is
    // stopped.
    let stopped: Vec<_> = store
        .held_leases()
        .into_iter()
        .filter(|pool| !registry.is_present(*pool))
        .collect();
    if !stopped.is_empty() {
        if let Err(err) = store.release_leases(&stopped).await {
            tracing::warn!(%err, "giving up leases of stopped pools failed");
        }
    }
}

/// Shutdown, after every actor committed and stopped: gives up every lease this node holds,
/// within `patience`, so the other nodes take its pools at once.
pub async fn release_all(cluster: &Cluster, patience: Duration) {
    let store = cluster.store();
    let held = store.held_leases();
    if held.is_empty() {
        return;
    }
    match tokio::time::timeout(patience, store.release_leases(&held)).await {
        Ok(Ok(())) => tracing::info!(pools = held.len(), "gave up this node's leases"),
        Ok(Err(err)) => tracing::warn!(%err, "giving up this node's leases failed"),
        Err(_) => tracing::warn!("giving up this node's leases took too long"),
    }
}
