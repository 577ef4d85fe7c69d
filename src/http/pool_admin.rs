//! The owner's administration of a pool: `PATCH /v1/pools/{pool}` (settings and the join
//! restriction), `GET /v1/pools/{pool}/seats`, and the forced release of a seat
//! (`DELETE /v1/pools/{pool}/seats/{seat}`, W3, by the owner or with the operator token).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use seatbroker_actors::AccountId;
use serde_json::{Map, Value};

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::ApiJson;
use super::operator::Operator;
use super::pools::{owned_path, pool_path};
use super::views::{self, PoolJson, SeatJson};
use crate::domain::ids::parse_seat;
use crate::domain::join::JoinDomain;
use crate::service::pool_admin::{self, SettingsChange};
use crate::service::AppState;

/// A number field of the body: absent, null, or a number (`60.0` is 60, as JSON Schema
/// counts it). A number that is no `u64` (negative, fractional) is out of every setting's bounds, so the service refuses it with
/// the bounds in its message.
fn number(body: &Map<String, Value>, key: &str) -> Result<Option<Option<u64>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Number(n)) => Ok(Some(Some(
            n.as_u64()
                .or_else(|| super::json::integral(n).and_then(|v| v.as_u64()))
                .unwrap_or(u64::MAX),
        ))),
        Some(_) => Err(ApiError::malformed(
            format!("{key} must be a number"),
            Some(key),
        )),
    }
}

/// The change a PATCH body asks for; absent keys stay, `null` turns a restriction off.
fn settings_change(body: &Map<String, Value>) -> Result<SettingsChange, ApiError> {
    let timeout = number(body, "timeout_s")?;
    let offline = number(body, "offline_max_days")?;
    let idle = number(body, "idle_reclaim_s")?;
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
        Some(Value::String(s)) => {
            Some(Some(JoinDomain::parse(s).map_err(|e| {
                ApiError::invalid("join_email_domain", e.to_string())
            })?))
        }
        Some(_) => {
            return Err(ApiError::malformed(
                "join_email_domain must be a string or null",
                Some("join_email_domain"),
            ))
        }
    };
    Ok(SettingsChange {
        timeout_s: timeout.flatten(),
        offline_max_days: offline.flatten(),
        idle_reclaim_s: idle,
        join_email_domain: join,
    })
}

/// The body of `PATCH /v1/pools/{pool}`, as described to clients; absent keys stay, `null`
/// turns a restriction off. The handler reads it field by field to tell absent from null.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PoolPatch {
    /// Heartbeat timeout, 1 to 2,592,000 seconds.
    #[schema(nullable = false, minimum = 1, maximum = 2_592_000)]
    timeout_s: Option<u64>,
    /// A domain such as uni.edu (an `@` before it is forgiven), or null for anyone.
    #[schema(max_length = 253, pattern = r"^@?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]
    join_email_domain: Option<String>,
    /// 0 to 365 days.
    #[schema(nullable = false, minimum = 0, maximum = 365)]
    offline_max_days: Option<u64>,
    /// 1 to 86,400 seconds, or null for off.
    #[schema(minimum = 1, maximum = 86_400)]
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
        (status = 200, description = "The pool", body = PoolJson),
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
    let record = owned_path(&state, &path, who.0).await?;
    let change = settings_change(&body.0)?;
    let details = pool_admin::update(&state, &record, change).await?;
    Ok(HttpResponse::Ok().json(views::pool(&details)))
}

/// GET /v1/pools/{pool}/seats: every seat of the pool (owner).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/seats",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "[seat]", body = Vec<SeatJson>),
        (status = 403, description = "not_owner, not_a_member")
    ),
    security(("bearer" = []))
)]
pub async fn seats(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path, who.0).await?;
    let seats = pool_admin::seats(&state, &record).await?;
    Ok(HttpResponse::Ok().json(views::seats(record.pool, &seats, state.registry.now())))
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
        OwnerOrOperator::Account(account) => owned_path(&state, &path.0, account).await?.pool,
        OwnerOrOperator::Operator => pool_path(&path.0)?,
    };
    let (seat_pool, seat) = parse_seat(&path.1).map_err(|_| ApiError::not_found("seat"))?;
    if seat_pool != pool {
        return Err(ApiError::not_found("seat"));
    }
    pool_admin::release(&state, pool, seat).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(body: Value) -> SettingsChange {
        settings_change(body.as_object().expect("an object")).expect("a valid change")
    }

    #[test]
    fn an_integer_written_with_a_zero_fraction_is_an_integer() {
        // JSON Schema, and so /openapi.json, counts 60.0 as the integer 60.
        let c = change(serde_json::json!({"timeout_s": 60.0, "idle_reclaim_s": 2091.0}));
        assert_eq!(c.timeout_s, Some(60));
        assert_eq!(c.idle_reclaim_s, Some(Some(2091)));
        let c = change(serde_json::json!({"offline_max_days": 1.5}));
        assert_eq!(c.offline_max_days, Some(u64::MAX), "out of every bound");
    }
}
