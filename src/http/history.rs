//! A pool's history of one UTC day (issue 16): `GET /v1/pools/{pool}/history` for the
//! pool's owner and `GET /v1/admin/pools/{pool}/history` for support (operator token). This
//! module reads the day and writes the answer; `service::history` builds it.

use actix_web::{web, HttpRequest, HttpResponse};
use seatbroker_actors::{PoolId, Timestamp};
use seatbroker_api::{PoolHistory, PoolHistoryEvent};
use serde::Deserialize;

use super::auth::Authenticated;
use super::error::ApiError;
use super::operator::Operator;
use super::pools::{owned_path, pool_path};
use super::views;
use crate::domain::ids::{format_pool, format_seat};
use crate::domain::time;
use crate::service::{history, AppState, ServiceError};

/// The query of a pool's history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The UTC day, `YYYY-MM-DD` (1970 or later); default: today.
    #[param(format = Date, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub day: Option<String>,
}

/// The day a query names (its start), or today's.
fn day_of(req: &HttpRequest, state: &AppState) -> Result<Timestamp, ApiError> {
    let query: HistoryQuery = super::json::query(req)?;
    let Some(raw) = query.day else {
        return Ok(state.registry.now().day_start());
    };
    time::parse_date(&raw)
        .map_err(|_| ApiError::invalid("day", "day must be a date such as 2027-03-01"))
}

/// The answer for `pool` on `day`.
async fn answer(state: &AppState, pool: PoolId, day: Timestamp) -> Result<HttpResponse, ApiError> {
    let h = history::of_day(state, pool, day).await?;
    Ok(HttpResponse::Ok().json(PoolHistory {
        pool_id: format_pool(h.pool),
        day: time::format_date(h.day),
        grants: h.grants,
        refusals: h.refusals,
        truncated: h.truncated,
        events: h
            .events
            .into_iter()
            .map(|e| PoolHistoryEvent {
                at: time::format(e.at),
                kind: if e.seat.is_some() {
                    "granted"
                } else {
                    "refused"
                }
                .into(),
                account_id: e.account.to_string(),
                email: e.email,
                device: e.device,
                platform: views::platform(e.platform).as_str().into(),
                seat_id: e.seat.map(|s| format_seat(h.pool, s)),
                code: e.code,
            })
            .collect(),
    }))
}

/// GET /v1/pools/{pool}/history: the owner reads the pool's grants and refusals of a day.
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/history",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), HistoryQuery),
    responses(
        (status = 200, description = "The day's grants and refusals, oldest first", body = PoolHistory),
        (status = 403, description = "not_owner, not_a_member"),
        (status = 404, description = "not_found"),
        (status = 422, description = "invalid_value (day)")
    ),
    security(("bearer" = []))
)]
pub async fn owner(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path, who.0).await?;
    let day = day_of(&req, &state)?;
    answer(&state, record.pool, day).await
}

/// GET /v1/admin/pools/{pool}/history: support reads any pool's grants and refusals of a day.
#[utoipa::path(
    get,
    path = "/v1/admin/pools/{pool}/history",
    tag = "admin",
    params(("pool" = String, Path, description = "the pool id"), HistoryQuery),
    responses(
        (status = 200, description = "The day's grants and refusals, oldest first", body = PoolHistory),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found"),
        (status = 422, description = "invalid_value (day)")
    ),
    security(("operator" = []))
)]
pub async fn operator(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let pool = pool_path(&path)?;
    let day = day_of(&req, &state)?;
    if state
        .accounts
        .pool(pool)
        .await
        .map_err(ServiceError::from)?
        .is_none()
    {
        return Err(ApiError::not_found("pool"));
    }
    answer(&state, pool, day).await
}
