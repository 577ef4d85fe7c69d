//! What the registry shares with every pool actor it starts: the store, the committer, the
//! clock, the engine's settings (`EngineConfig`) and counters (`EngineStats`), and the way back
//! to the registry for an actor that stops (`PoolDirectory`). Finding and starting actors is
//! in `registry`; what an actor does with these is in `actor`. Neither is named here, so the
//! actor and the registry both depend on this module and not on each other.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use crate::committer::Committer;
use crate::ids::{DeviceId, PoolId};
use crate::model::TableLimits;
use crate::store::PoolStore;
use crate::time::Clock;

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Bounds of each pool's table (waiting queue, tombstones).
    pub limits: TableLimits,
    /// Messages a pool's mailbox holds before requests hear `Throttled`.
    pub mailbox_capacity: usize,
    /// How long an actor holding nothing stays before it stops.
    pub idle_stop_after: Duration,
    /// The most pool commits in one store call.
    pub max_batch: usize,
    /// Rewrites device ids stored by an earlier version when a pool loads (the service's
    /// device privacy: raw ids become keyed hashes); `None` keeps them as they are.
    pub device_migration: Option<Arc<dyn DeviceMigration>>,
}

/// How a pool's stored device ids are brought to the current form when it loads.
pub trait DeviceMigration: Send + Sync + std::fmt::Debug {
    /// The current form of `stored`, or `None` when it is current already.
    fn migrate(&self, stored: &DeviceId) -> Option<DeviceId>;
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            limits: TableLimits::default(),
            mailbox_capacity: 1_000,
            idle_stop_after: Duration::from_secs(300),
            max_batch: 1_024,
            device_migration: None,
        }
    }
}

/// Counters of the engine, for metrics.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Pool actors running.
    pub live_actors: AtomicU64,
    /// Requests refused because a pool's mailbox was full.
    pub mailbox_full: AtomicU64,
    /// Panics caught at the actor boundary.
    pub table_panics: AtomicU64,
    /// Pools reloaded from the store after a panic.
    pub pool_reloads: AtomicU64,
    /// Expiries, revocations and queued requests.
    pub seats: crate::stats::SeatEvents,
}

/// The registry's list of running actors, as an actor sees it: all it may do is leave.
pub(crate) trait PoolDirectory: Send + Sync {
    /// Removes a pool's actor from the registry, if it is still that generation.
    fn forget(&self, pool: PoolId, generation: u64);
}

/// What the registry and its actors share.
pub(crate) struct Env {
    pub(crate) store: Arc<dyn PoolStore>,
    pub(crate) committer: Committer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EngineConfig,
    pub(crate) stats: Arc<EngineStats>,
    /// The registry's running actors.
    pub(crate) directory: Arc<dyn PoolDirectory>,
}

impl Env {
    /// Removes a pool's actor from the registry, if it is still that generation.
    pub(crate) fn forget(&self, pool: PoolId, generation: u64) {
        self.directory.forget(pool, generation);
    }
}
