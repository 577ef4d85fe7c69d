//! The seat engine of seatbroker: the pure `SeatTable` state machine that holds every seat
//! rule of one pool, the `PoolActor` that owns one table and persists its changes, the
//! `PoolRegistry` that finds or starts a pool's actor, the single `Committer` that carries
//! every pool's changes to the store in group commits, and the `PoolStore` trait the stores
//! implement. No HTTP and no storage client live here: the service crate brings those.

#![warn(missing_docs)]

pub mod actor;
pub mod committer;
mod env;
pub mod error;
pub mod ids;
pub mod messages;
pub mod model;
pub mod order;
pub mod registry;
pub mod stats;
pub mod store;
pub mod table;
pub mod time;
mod usage;

#[cfg(test)]
mod actor_tests;

pub use error::EngineError;
pub use ids::{AccountId, DeviceId, LicenseId, Platform, Policy, PoolId, SeatId, WaiterId};
pub use model::*;
pub use registry::{DeviceMigration, EngineConfig, EngineStats, PoolHandle, PoolRegistry};
pub use store::{MemoryStore, PoolCommit, PoolStore, StoreError};
pub use table::SeatTable;
pub use time::{Clock, SystemClock, Timestamp, TokioClock};
pub use usage::USAGE_FLUSH_MS;
