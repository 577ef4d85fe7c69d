//! Seats, the hot path (S2–S9, S12, W1): take a seat in the pools an account may use, in
//! S8's order, with S9's one web session per account across pools; and the operations on one
//! seat by its holder. Nothing here reads storage unless a refusal needs the owner's contact.

use std::time::Duration;

use seatbroker_actors::order::{pool_order, PoolOrderError};
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, DeviceId, EngineError, Platform, PoolId, Refusal,
    SeatError, SeatId, SeatView, Timestamp,
};

use super::account_pools;
use super::error::OwnerContact;
use super::{AppState, ServiceError, ServiceResult};
use crate::domain::ids::{owner_of, pool_of};

/// A request for a seat, parsed.
#[derive(Debug, Clone)]
pub struct SeatRequest {
    /// The device, as the client sent it (`take` stores only its keyed hash).
    pub device: DeviceId,
    /// Its platform.
    pub platform: Platform,
    /// The pool named in the request (no fallback, S8).
    pub pool: Option<PoolId>,
    /// How long to wait in the last pool's queue (W1), already checked against the limit.
    pub wait_s: u32,
}

/// A seat granted.
#[derive(Debug, Clone)]
pub struct Granted {
    /// The pool it is in.
    pub pool: PoolId,
    /// The seat.
    pub seat: SeatView,
    /// The device's seat already (S2).
    pub reused: bool,
}

/// The pools `account` may take a seat in, in S8's order: its own, then the pools shared
/// with it in join order (from memory, see `account_pools`).
pub(crate) async fn pools_for(
    state: &AppState,
    account: AccountId,
    requested: Option<PoolId>,
) -> ServiceResult<Vec<PoolId>> {
    let pools = account_pools(state, account).await?;
    pool_order(pools.own, &pools.shared, requested).map_err(|e| {
        let refusal = match e {
            PoolOrderError::NotAMember(_) => Refusal::NotAMember,
            PoolOrderError::NoPool => Refusal::NoLicense,
        };
        ServiceError::refused(refusal, pool_of(account))
    })
}

async fn owner_contact(state: &AppState, pool: PoolId) -> Option<OwnerContact> {
    let owner = state.accounts.account(owner_of(pool)).await.ok()??;
    Some(OwnerContact {
        name: owner.name,
        email: owner.email,
    })
}

/// Takes a seat for `account` (S2, S3, S8, S9, W1).
pub async fn take(
    state: &AppState,
    account: AccountId,
    request: SeatRequest,
) -> ServiceResult<Granted> {
    if request.wait_s > 0 && state.is_shutting_down() {
        return Err(ServiceError::ShuttingDown);
    }
    let order = pools_for(state, account, request.pool).await?;
    // Issue 16, privacy: from here on the device is its keyed hash; the sent id is not kept.
    let device = &state.devices.hash(&request.device);
    if request.platform == Platform::Web {
        web_session_elsewhere(state, account, device).await?;
    }
    let last = order.len().saturating_sub(1);
    let granted = first_granted(state, account, &order, |i, pool| {
        let wait =
            (i == last && request.wait_s > 0).then(|| Duration::from_secs(request.wait_s.into()));
        let req = AcquireRequest {
            account,
            device: device.clone(),
            platform: request.platform,
            wait: None,
        };
        state.engine.acquire(pool, req, wait)
    })
    .await?;
    if request.platform == Platform::Web && !granted.reused {
        web_session_settled(state, account, device, granted.pool, granted.seat.id).await?;
    }
    Ok(granted)
}

/// S8, S12: asks `pools` in order with `ask` (given each pool's place in the order) and
/// answers the first seat granted; else the last pool's refusal, with the owner's contact
/// when that pool is full. A pool that does not exist (no license activated yet) is no
/// free seat, and a waiter still queued counts as throttled.
pub(crate) async fn first_granted<F, Fut>(
    state: &AppState,
    account: AccountId,
    pools: &[PoolId],
    mut ask: F,
) -> ServiceResult<Granted>
where
    F: FnMut(usize, PoolId) -> Fut,
    Fut: std::future::Future<Output = Result<AcquireOutcome, EngineError>>,
{
    let mut last = None;
    for (i, pool) in pools.iter().enumerate() {
        match ask(i, *pool).await {
            Ok(AcquireOutcome::Granted { seat, reused }) => {
                return Ok(Granted {
                    pool: *pool,
                    seat,
                    reused,
                })
            }
            Ok(AcquireOutcome::Refused(refusal)) => last = Some((*pool, refusal)),
            Ok(AcquireOutcome::Queued { .. }) => last = Some((*pool, Refusal::Throttled)),
            Err(EngineError::PoolNotFound) => last = Some((*pool, Refusal::NoLicense)),
            Err(e) => return Err(e.into()),
        }
    }
    let (pool, refusal) = last.unwrap_or((pool_of(account), Refusal::NoLicense));
    let owner = match refusal {
        Refusal::NoSeatAvailable(_) => owner_contact(state, pool).await,
        _ => None,
    };
    Err(ServiceError::SeatRefused {
        refusal,
        pool,
        owner,
    })
}

/// S9 across pools, after a new web seat was granted in `pool`: the account's web grants
/// check, one at a time, that no other device holds a web seat in another pool; a grant
/// that finds one is given back and refused. Two requests racing in two pools both get
/// their seat before either checks; whichever checks second yields, so at most one stays.
/// The check before the grant (`web_session_elsewhere`) still refuses the common case
/// without taking a seat.
async fn web_session_settled(
    state: &AppState,
    account: AccountId,
    device: &DeviceId,
    pool: PoolId,
    seat: SeatId,
) -> ServiceResult<()> {
    // The lock is held until the seat is given back.
    let (refusal, _one_at_a_time) = match state.account_locks.lock(account).await {
        Ok(held) => match web_session_elsewhere(state, account, device).await {
            Ok(()) => return Ok(()),
            Err(refusal) => (refusal, Some(held)),
        },
        // Not checked (another node held the account's lock too long): the seat is given
        // back rather than risk two web sessions, and the client tries again.
        Err(busy) => (busy, None),
    };
    if let Err(e) = state.engine.logout(pool, seat, account).await {
        tracing::warn!(%pool, %e, "a web seat refused by S9 could not be given back");
    }
    Err(refusal)
}

/// S9 across pools: one web session per account. Each pool refuses a second web device
/// itself; this looks in the account's other pools for a web seat on another device.
async fn web_session_elsewhere(
    state: &AppState,
    account: AccountId,
    device: &DeviceId,
) -> ServiceResult<()> {
    let pools = account_pools(state, account).await?;
    for pool in pools.all() {
        let seats = match state.engine.seats(pool, Some(account)).await {
            Ok(seats) => seats,
            Err(EngineError::PoolNotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(open) = seats
            .iter()
            .find(|s| s.platform == Platform::Web && s.device != *device)
        {
            return Err(ServiceError::refused(
                Refusal::WebSessionActiveElsewhere { seat: open.id },
                pool,
            ));
        }
    }
    Ok(())
}

/// What the holder of a seat does with it.
#[derive(Debug, Clone, Copy)]
pub enum SeatAction {
    /// A heartbeat, with user activity when known (S4, W2).
    Heartbeat(Option<bool>),
    /// The application closed (S5).
    Close,
    /// Logging out on that device (S6).
    Logout,
    /// Reserving the seat for offline use until then (S11).
    Offline(Timestamp),
}

/// Does `action` on the seat `seat` of `pool` for its holder; the seat as it is after, when
/// the action keeps it.
pub async fn act(
    state: &AppState,
    account: AccountId,
    pool: PoolId,
    seat: SeatId,
    action: SeatAction,
) -> ServiceResult<Option<SeatView>> {
    let engine = &state.engine;
    let outcome: Result<Result<Option<SeatView>, SeatError>, EngineError> = match action {
        SeatAction::Heartbeat(active) => engine
            .heartbeat(pool, seat, account, active)
            .await
            .map(|r| r.map(Some)),
        SeatAction::Close => engine
            .close(pool, seat, account)
            .await
            .map(|r| r.map(|_| None)),
        SeatAction::Logout => engine
            .logout(pool, seat, account)
            .await
            .map(|r| r.map(|_| None)),
        SeatAction::Offline(until) => engine
            .reserve_offline(pool, seat, account, until)
            .await
            .map(|r| r.map(Some)),
    };
    match outcome {
        Ok(result) => Ok(result?),
        // A pool that does not exist means the seat does not.
        Err(EngineError::PoolNotFound) => Err(ServiceError::NotFound("seat")),
        Err(e) => Err(e.into()),
    }
}
