//! The owner's administration of a pool: its settings and join restriction (I4, S4, S11,
//! W2), its seats, and the forced release of a seat (W3, by the owner or the operator). The
//! bounds of each setting are here, so the API and the portal accept the same values.

use seatbroker_actors::{EngineError, PoolId, PoolSettings, SeatId, SeatView};

use super::pools::{self, PoolDetails};
use super::{AppState, ServiceError, ServiceResult};
use crate::cluster::bus::Change;
use crate::domain::join::JoinDomain;
use crate::store::PoolRecord;

/// Longest heartbeat timeout (30 days).
pub const MAX_TIMEOUT_S: u64 = 2_592_000;
/// Longest offline period a pool may allow.
pub const MAX_OFFLINE_DAYS: u64 = 365;
/// Longest idle-reclaim time (a day).
pub const MAX_IDLE_RECLAIM_S: u64 = 86_400;

/// A change of a pool's settings: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// S4's timeout, 1 to `MAX_TIMEOUT_S` seconds.
    pub timeout_s: Option<u64>,
    /// S11's limit, 0 to `MAX_OFFLINE_DAYS`.
    pub offline_max_days: Option<u64>,
    /// W2: `Some(None)` turns idle reclaim off, `Some(Some(s))` sets 1 to
    /// `MAX_IDLE_RECLAIM_S` seconds.
    pub idle_reclaim_s: Option<Option<u64>>,
    /// I4: `Some(None)` lets anyone join.
    pub join_email_domain: Option<Option<JoinDomain>>,
}

fn bounded(field: &'static str, value: u64, lo: u64, hi: u64) -> ServiceResult<u32> {
    if (lo..=hi).contains(&value) {
        // Every bound is far below u32::MAX.
        Ok(value as u32)
    } else {
        Err(ServiceError::invalid(
            field,
            format!("{field} must be {lo} to {hi}"),
        ))
    }
}

/// Applies `change` to the owner's pool and answers the pool as its owner sees it. The
/// record is read again under the owner's lock, so an activation running at the same time
/// (which may change the pool's type) is not undone by writing back an older record.
pub async fn update(
    state: &AppState,
    pool: &PoolRecord,
    change: SettingsChange,
) -> ServiceResult<PoolDetails> {
    let _serialised = state.account_locks.lock(pool.owner).await?;
    let mut record = pools::owned(state, pool.pool, pool.owner).await?;
    let timeout = change
        .timeout_s
        .map(|v| bounded("timeout_s", v, 1, MAX_TIMEOUT_S))
        .transpose()?;
    let offline = change
        .offline_max_days
        .map(|v| bounded("offline_max_days", v, 0, MAX_OFFLINE_DAYS))
        .transpose()?;
    let idle = match change.idle_reclaim_s {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => Some(Some(bounded("idle_reclaim_s", v, 1, MAX_IDLE_RECLAIM_S)?)),
    };
    let current = state.engine.describe(record.pool).await?.settings;
    let settings = PoolSettings {
        timeout_s: timeout.unwrap_or(current.timeout_s),
        offline_max_days: offline.unwrap_or(current.offline_max_days),
        idle_reclaim_s: idle.unwrap_or(current.idle_reclaim_s),
    };
    if settings != current {
        state.engine.update_settings(record.pool, settings).await?;
    }
    if let Some(join) = change.join_email_domain {
        record.join_email_domain = join.map(|d| d.as_str().to_owned());
        state.accounts.put_pool(record.clone()).await?;
        super::tell_nodes(state, &[Change::PoolRecord(record.pool)]).await;
    }
    pools::describe(state, record.pool, record.owner).await
}

/// Every seat of the pool.
pub async fn seats(state: &AppState, record: &PoolRecord) -> ServiceResult<Vec<SeatView>> {
    Ok(state.engine.seats(record.pool, None).await?)
}

/// W3: releases `seat` of `pool`; the holder hears `revoked`. The caller checked that the
/// asker is the pool's owner or the operator.
pub async fn release(state: &AppState, pool: PoolId, seat: SeatId) -> ServiceResult<()> {
    match state.engine.admin_release(pool, seat).await {
        Ok(result) => Ok(result?),
        Err(EngineError::PoolNotFound) => Err(ServiceError::NotFound("pool")),
        Err(e) => Err(e.into()),
    }
}
