//! The W4 usage report of a pool, per hour or per UTC day, from the store's hourly records
//! and the hour the pool's actor is still counting. The arithmetic is in `domain::usage`.

use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{EngineError, Timestamp};

use super::{AppState, ServiceError, ServiceResult};
use crate::domain::usage::{report as build, Bucket, UsageRow};
use crate::store::PoolRecord;

/// The rows of the owner's pool from `from` (default: 30 days before `to` for days, 24
/// hours for hours) to `to` (default: now), within `usage.retention_days`.
pub async fn report(
    state: &AppState,
    record: &PoolRecord,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    bucket: Bucket,
) -> ServiceResult<Vec<UsageRow>> {
    let to = to.unwrap_or_else(|| state.registry.now());
    let from = from.unwrap_or_else(|| {
        Timestamp(to.as_millis().saturating_sub(match bucket {
            Bucket::Hour => DAY_MS,
            Bucket::Day => 30 * DAY_MS,
        }))
    });
    if from >= to {
        return Err(ServiceError::invalid("from", "from must be before to"));
    }
    let retention = u64::from(state.settings.usage.retention_days);
    if to.as_millis() - from.as_millis() > (retention + 1) * DAY_MS {
        return Err(ServiceError::invalid(
            "from",
            format!("a report spans at most {retention} days (usage.retention_days)"),
        ));
    }
    // The live hour first: it answers once the hours that ended are in the store.
    let live = match state.engine.usage_now(record.pool).await {
        Ok(live) => Some(live),
        Err(EngineError::PoolNotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let stored = state
        .store
        .usage(record.pool, bucket.start_of(from), to)
        .await?;
    Ok(build(stored, live, from, to, bucket))
}
