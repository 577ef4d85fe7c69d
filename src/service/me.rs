//! The caller's own view across its pools: its account, its own pool and the pools shared
//! with it, its seats, and "free up my seats" (S7).

use seatbroker_actors::{AccountId, EngineError, PoolId, SeatView};

use super::account_pools;
use super::pools::{self, PoolDetails};
use super::{accounts, AppState, ServiceResult};
use crate::store::AccountRecord;

/// What `GET /v1/me` and the portal's start page show.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The account.
    pub account: AccountRecord,
    /// Its own pool, once it activated a license or started a trial.
    pub own_pool: Option<PoolDetails>,
    /// The pools it is a member of, in join order.
    pub memberships: Vec<PoolDetails>,
    /// Its seats, with the pool each is in.
    pub seats: Vec<(PoolId, SeatView)>,
}

/// Every seat `account` holds, with its pool, own pool first.
pub async fn seats(state: &AppState, account: AccountId) -> ServiceResult<Vec<(PoolId, SeatView)>> {
    let pools = account_pools(state, account).await?;
    let mut out = Vec::new();
    for pool in pools.all() {
        match state.engine.seats(pool, Some(account)).await {
            Ok(seats) => out.extend(seats.into_iter().map(|s| (pool, s))),
            Err(EngineError::PoolNotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The account, its pools and its seats.
pub async fn overview(state: &AppState, account: AccountId) -> ServiceResult<Overview> {
    let record = accounts::current(state, account).await?;
    let mine = account_pools(state, account).await?;
    let own_pool = match mine.own {
        Some(pool) => Some(pools::describe(state, pool, account).await?),
        None => None,
    };
    let mut memberships = Vec::with_capacity(mine.shared.len());
    for pool in &mine.shared {
        memberships.push(pools::describe(state, *pool, account).await?);
    }
    Ok(Overview {
        account: record,
        own_pool,
        memberships,
        seats: seats(state, account).await?,
    })
}

/// Frees every seat the account holds, everywhere (S7); answers how many.
pub async fn release_all(state: &AppState, account: AccountId) -> ServiceResult<usize> {
    let mine = account_pools(state, account).await?;
    let mut released = 0;
    for pool in mine.all() {
        match state.engine.release_all(pool, account).await {
            Ok(seats) => released += seats.len(),
            Err(EngineError::PoolNotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(released)
}

/// Frees one of the account's seats from anywhere (the portal's "Release"): as logging out
/// on that device (S6); its holder hears `released`.
pub async fn release(
    state: &AppState,
    account: AccountId,
    pool: PoolId,
    seat: seatbroker_actors::SeatId,
) -> ServiceResult<()> {
    super::seats::act(state, account, pool, seat, super::seats::SeatAction::Logout)
        .await
        .map(|_| ())
}
