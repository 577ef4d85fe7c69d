//! The owner's administration of a pool: `PATCH /v1/pools/{pool}` (settings and the join
//! restriction), `GET /v1/pools/{pool}/seats`, and the forced release of a seat
//! (`DELETE /v1/pools/{pool}/seats/{seat}`, W3, by the owner or with the operator token).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use seatbroker_actors::{AccountId, PoolSettings};
use serde_json::{Map, Value};

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::ApiJson;
use super::operator::Operator;
use super::pools::{describe, owned};
use super::{store_error, views, AppState};
use crate::domain::ids::{parse_pool, parse_seat};

/// Longest heartbeat timeout (30 days).
const MAX_TIMEOUT_S: u64 = 2_592_000;
/// Longest offline period a pool may allow.
const MAX_OFFLINE_DAYS: u64 = 365;
/// Longest idle-reclaim time (a day).
const MAX_IDLE_RECLAIM_S: u64 = 86_400;

fn int_in(
    body: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<Option<u64>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => match n.as_u64().filter(|v| range.contains(v)) {
            Some(v) => Ok(Some(Some(v))),
            None => Err(ApiError::invalid(
                key,
                format!("{key} must be {} to {}", range.start(), range.end()),
            )),
        },
        Some(_) => Err(ApiError::malformed(
            format!("{key} must be a number"),
            Some(key),
        )),
    }
}

/// A join restriction as the owner typed it: a domain such as `uni.edu`.
fn domain(raw: &str) -> Result<String, ApiError> {
    let d = raw.trim().trim_start_matches('@').to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && !d.starts_with('.')
        && !d.ends_with('.')
        && !d.contains("..")
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(d)
    } else {
        Err(ApiError::invalid(
            "join_email_domain",
            "join_email_domain must be a domain such as uni.edu, or null for anyone",
        ))
    }
}

/// The body of `PATCH /v1/pools/{pool}`, as described to clients; absent keys stay, `null`
/// turns a restriction off. The handler reads it field by field to tell absent from null.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PoolPatch {
    /// Heartbeat timeout, 1 to 2,592,000 seconds.
    timeout_s: Option<u64>,
    /// A domain such as uni.edu, or null for anyone.
    join_email_domain: Option<String>,
    /// 0 to 365 days.
    offline_max_days: Option<u64>,
    /// 1 to 86,400 seconds, or null for off.
    idle_reclaim_s: Option<u64>,
}

/// PATCH /v1/pools/{pool}: `{timeout_s?, join_email_domain?, offline_max_days?,
/// idle_reclaim_s?}`; absent keys stay, `null` turns a restriction off. 200 with the pool.
#[utoipa::path(
    patch,
    path = "/v1/pools/{pool}",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    request_body = PoolPatch,
    responses(
        (status = 200, description = "The pool"),
        (status = 403, description = "not_owner, not_a_member"),
        (status = 422, description = "invalid_value")
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    let mut record = owned(&state, &path, who.0).await?;
    let body = body.0;
    let timeout = int_in(&body, "timeout_s", 1..=MAX_TIMEOUT_S)?;
    let offline = int_in(&body, "offline_max_days", 0..=MAX_OFFLINE_DAYS)?;
    let idle = int_in(&body, "idle_reclaim_s", 1..=MAX_IDLE_RECLAIM_S)?;
    if matches!(timeout, Some(None)) {
        return Err(ApiError::invalid("timeout_s", "timeout_s cannot be null"));
    }
    if matches!(offline, Some(None)) {
        return Err(ApiError::invalid(
            "offline_max_days",
            "offline_max_days cannot be null",
        ));
    }
    let join = match body.get("join_email_domain") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(domain(s)?)),
        Some(_) => {
            return Err(ApiError::malformed(
                "join_email_domain must be a string or null",
                Some("join_email_domain"),
            ))
        }
    };
    let current = state.registry.describe(record.pool).await?.settings;
    let settings = PoolSettings {
        timeout_s: timeout.flatten().map_or(current.timeout_s, |v| v as u32),
        offline_max_days: offline
            .flatten()
            .map_or(current.offline_max_days, |v| v as u32),
        idle_reclaim_s: match idle {
            None => current.idle_reclaim_s,
            Some(v) => v.map(|v| v as u32),
        },
    };
    if settings != current {
        state
            .registry
            .update_settings(record.pool, settings)
            .await?;
    }
    if let Some(join) = join {
        record.join_email_domain = join;
        state
            .accounts
            .put_pool(record.clone())
            .await
            .map_err(store_error)?;
    }
    Ok(HttpResponse::Ok().json(describe(&state, record.pool, who.0).await?))
}

/// GET /v1/pools/{pool}/seats: every seat of the pool (owner).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/seats",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "[seat]"),
        (status = 403, description = "not_owner, not_a_member")
    ),
    security(("bearer" = []))
)]
pub async fn seats(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned(&state, &path, who.0).await?;
    let now = state.registry.now();
    let seats: Vec<views::SeatJson> = state
        .registry
        .seats(record.pool, None)
        .await?
        .iter()
        .map(|s| views::seat(record.pool, s, now))
        .collect();
    Ok(HttpResponse::Ok().json(seats))
}

/// The pool's owner (a user token) or the operator (the operator token).
#[derive(Debug, Clone, Copy)]
pub enum OwnerOrOperator {
    /// An account, to be checked as the pool's owner.
    Account(AccountId),
    /// The operator.
    Operator,
}

impl FromRequest for OwnerOrOperator {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let operator = Operator::from_request(req, payload);
        let user = Authenticated::from_request(req, payload);
        Box::pin(async move {
            match user.await {
                Ok(Authenticated(account)) => Ok(OwnerOrOperator::Account(account)),
                Err(user_err) => operator
                    .await
                    .map(|_| OwnerOrOperator::Operator)
                    .map_err(|_| user_err),
            }
        })
    }
}

/// DELETE /v1/pools/{pool}/seats/{seat}: 204; the holder hears `revoked` (W3).
#[utoipa::path(
    delete,
    path = "/v1/pools/{pool}/seats/{seat}",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("seat" = String, Path, description = "the seat id")),
    responses(
        (status = 204, description = "Released; the holder hears revoked (W3)"),
        (status = 403, description = "not_owner"),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []), ("operator" = []))
)]
pub async fn release(
    who: OwnerOrOperator,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let pool = match who {
        OwnerOrOperator::Account(account) => owned(&state, &path.0, account).await?.pool,
        OwnerOrOperator::Operator => {
            parse_pool(&path.0).map_err(|_| ApiError::not_found("pool"))?
        }
    };
    let (seat_pool, seat) = parse_seat(&path.1).map_err(|_| ApiError::not_found("seat"))?;
    if seat_pool != pool {
        return Err(ApiError::not_found("seat"));
    }
    state
        .registry
        .admin_release(pool, seat)
        .await
        .map_err(|e| match e {
            seatbroker_actors::EngineError::PoolNotFound => ApiError::not_found("pool"),
            other => other.into(),
        })?
        .map_err(ApiError::seat)?;
    Ok(HttpResponse::NoContent().finish())
}
