//! `EngineError`: what can go wrong around a seat rule rather than inside one (the pool is
//! busy, storage is down, the pool is elsewhere). Rule outcomes (`Refusal`, `SeatError`) are
//! values of the operations, not errors of the engine. The service maps both to HTTP in one
//! place.

/// Why the engine could not run an operation on a pool.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum EngineError {
    /// The pool's mailbox is full; try again shortly (HTTP 429 `throttled`).
    #[error("the pool is busy; try again shortly")]
    Throttled,
    /// The store did not commit the change; nothing was acknowledged (HTTP 503).
    #[error("storage unavailable")]
    StoreUnavailable,
    /// Another node owns the pool now; this node lets go until it restarts (HTTP 503).
    #[error("the pool is served by another node")]
    PoolOwnedElsewhere,
    /// The store knows no such pool (HTTP 404).
    #[error("no such pool")]
    PoolNotFound,
    /// The pool is being reloaded after an internal error; try again (HTTP 503).
    #[error("the pool is being reloaded; try again shortly")]
    PoolUnavailable,
    /// The broker is shutting down (HTTP 503 `shutting_down`).
    #[error("the broker is shutting down")]
    ShuttingDown,
    /// The pool's actor stopped while idle; the registry retries with a fresh one and never
    /// returns this to its callers.
    #[error("the pool's actor has stopped")]
    Retired,
}
