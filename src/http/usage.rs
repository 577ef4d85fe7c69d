//! `GET /v1/pools/{pool}/usage` (owner only): the W4 usage report of a pool, per hour or per
//! UTC day, from the store's hourly records and the hour the pool's actor is still counting.
//! The arithmetic is in `domain::usage`; this module reads the query and the data.

use actix_web::{web, HttpRequest, HttpResponse};
use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{EngineError, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Authenticated;
use super::error::ApiError;
use super::pools::owned;
use super::{store_error, AppState};
use crate::domain::time;
use crate::domain::usage::{report, Bucket};

/// The query of a usage report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// The first bucket holds this time: an RFC 3339 time or a date (its start, UTC).
    /// Default: 30 days before `to` for days, 24 hours for hours.
    pub from: Option<String>,
    /// The report ends before this time (same forms). Default: now.
    pub to: Option<String>,
    /// `hour` or `day` (default).
    pub bucket: Option<String>,
}

/// An RFC 3339 time, or a date meaning the start of that day in UTC.
fn parse_time(field: &str, raw: &str) -> Result<Timestamp, ApiError> {
    let raw = raw.trim();
    let is_date = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    let full = if is_date {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    time::parse(&full).map_err(|_| {
        ApiError::invalid(
            field,
            format!("{field} must be a date such as 2027-03-01 or an RFC 3339 time"),
        )
    })
}

/// GET /v1/pools/{pool}/usage: the pool's usage per hour or per day (W4).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/usage",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), UsageQuery),
    responses(
        (status = 200, description = "[{start, peak_in_use, capacity, grants, releases, refusals, expirations, revocations, distinct_accounts}], one per bucket, oldest first"),
        (status = 403, description = "not_owner, not_a_member"),
        (status = 404, description = "not_found"),
        (status = 422, description = "invalid_value (from, to, bucket)")
    ),
    security(("bearer" = []))
)]
pub async fn get(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = owned(&state, &path, who.0).await?;
    let query = web::Query::<UsageQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::malformed(format!("the query is unreadable: {e}"), None))?
        .into_inner();
    let bucket = match query.bucket.as_deref() {
        None => Bucket::Day,
        Some(raw) => Bucket::parse(raw)
            .ok_or_else(|| ApiError::invalid("bucket", "bucket must be hour or day"))?,
    };
    let to = match &query.to {
        Some(raw) => parse_time("to", raw)?,
        None => state.registry.now(),
    };
    let from = match &query.from {
        Some(raw) => parse_time("from", raw)?,
        None => Timestamp(to.as_millis().saturating_sub(match bucket {
            Bucket::Hour => DAY_MS,
            Bucket::Day => 30 * DAY_MS,
        })),
    };
    if from >= to {
        return Err(ApiError::invalid("from", "from must be before to"));
    }
    let retention = u64::from(state.settings.usage.retention_days);
    if to.as_millis() - from.as_millis() > (retention + 1) * DAY_MS {
        return Err(ApiError::invalid(
            "from",
            format!("a report spans at most {retention} days (usage.retention_days)"),
        ));
    }
    // The live hour first: it answers once the hours that ended are in the store.
    let live = match state.registry.usage_now(record.pool).await {
        Ok(live) => Some(live),
        Err(EngineError::PoolNotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let stored = state
        .store
        .usage(record.pool, bucket.start_of(from), to)
        .await
        .map_err(store_error)?;
    let rows: Vec<Value> = report(stored, live, from, to, bucket)
        .into_iter()
        .map(|r| {
            json!({
                "start": time::format(r.start),
                "peak_in_use": r.peak_in_use,
                "capacity": r.capacity,
                "grants": r.grants,
                "releases": r.releases,
                "refusals": r.refusals,
                "expirations": r.expirations,
                "revocations": r.revocations,
                "distinct_accounts": r.distinct_accounts,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}
