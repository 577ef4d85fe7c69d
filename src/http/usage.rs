//! `GET /v1/pools/{pool}/usage` (owner only): the W4 usage report of a pool, per hour or per
//! UTC day (`service::usage`). This module reads the query.

use actix_web::{web, HttpRequest, HttpResponse};
use seatbroker_actors::Timestamp;
use serde::Deserialize;

use super::auth::Authenticated;
use super::error::ApiError;
use super::pools::owned_path;
use super::views::{self, UsageRowJson};
use crate::domain::time;
use crate::domain::usage::Bucket;
use crate::service::usage;
use crate::service::AppState;

/// The query of a usage report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// The first bucket holds this time: an RFC 3339 time (1970 or later), or a date
    /// (its start, UTC).
    /// Default: 30 days before `to` for days, 24 hours for hours.
    #[param(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub from: Option<String>,
    /// The report ends before this time (same forms). Default: now.
    #[param(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub to: Option<String>,
    /// `hour` or `day` (default).
    #[param(pattern = "^(hour|day)$")]
    pub bucket: Option<String>,
}

/// An RFC 3339 time, or a date meaning the start of that day in UTC.
fn parse_time(field: &str, raw: &str) -> Result<Timestamp, ApiError> {
    time::parse_date(raw)
        .or_else(|_| time::parse(raw))
        .map_err(|_| {
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
        (status = 200, description = "[{start, peak_in_use, capacity, grants, releases, refusals, expirations, revocations, distinct_accounts}], one per bucket, oldest first", body = Vec<UsageRowJson>),
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
    let record = owned_path(&state, &path, who.0).await?;
    let query: UsageQuery = super::json::query(&req)?;
    let bucket = match query.bucket.as_deref() {
        None => Bucket::Day,
        Some(raw) => Bucket::parse(raw)
            .ok_or_else(|| ApiError::invalid("bucket", "bucket must be hour or day"))?,
    };
    let to = query
        .to
        .as_deref()
        .map(|raw| parse_time("to", raw))
        .transpose()?;
    let from = query
        .from
        .as_deref()
        .map(|raw| parse_time("from", raw))
        .transpose()?;
    let rows = usage::report(&state, &record, from, to, bucket).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(views::usage_row).collect::<Vec<_>>()))
}
