//! Seats, the hot path (S2–S9, S12, W1): take a seat, keep it alive, close it, log out. Each
//! route parses its input, finds the pool (a seat id carries its pool) and asks the pool's
//! actor; nothing here reads storage unless a refusal needs the owner's contact.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use seatbroker_actors::order::{pool_order, PoolOrderError};
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, DeviceId, EngineError, Platform, PoolId, Refusal,
};
use serde::Deserialize;

use super::auth::Authenticated;
use super::error::{ApiError, OwnerContact};
use super::json::{ApiJson, ApiJsonOrEmpty};
use super::{views, AppState};
use crate::domain::ids::{owner_of, parse_pool, parse_seat, pool_of};
use crate::metrics::SeatOutcome;

/// The body of `POST /v1/seats`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TakeSeat {
    device_id: String,
    /// windows, mac or web.
    #[schema(value_type = String)]
    platform: Platform,
    pool: Option<String>,
    wait_s: Option<u32>,
}

/// The body of a heartbeat.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Beat {
    active: Option<bool>,
}

/// The pools `account` may take a seat in, in S8's order: its own, then the pools shared
/// with it in join order (from memory, see `account_pools`).
async fn pools_for(
    state: &AppState,
    account: AccountId,
    requested: Option<PoolId>,
) -> Result<Vec<PoolId>, ApiError> {
    let pools = super::account_pools::account_pools(state, account).await?;
    pool_order(pools.own, &pools.shared, requested).map_err(|e| match e {
        PoolOrderError::NotAMember(_) => {
            ApiError::refusal(Refusal::NotAMember, pool_of(account), None)
        }
        PoolOrderError::NoPool => ApiError::refusal(Refusal::NoLicense, pool_of(account), None),
    })
}

async fn owner_contact(state: &AppState, pool: PoolId) -> Option<OwnerContact> {
    let owner = state.accounts.account(owner_of(pool)).await.ok()??;
    Some(OwnerContact {
        name: owner.name,
        email: owner.email,
    })
}

/// POST /v1/seats: 201 with a new seat, 200 with the same seat again (S2).
#[utoipa::path(
    post,
    path = "/v1/seats",
    tag = "seats",
    request_body = TakeSeat,
    responses(
        (status = 200, description = "The same seat again (S2)"),
        (status = 201, description = "A new seat"),
        (status = 403, description = "member_blocked, no_license, license_expired, trial_expired, not_a_member"),
        (status = 409, description = "no_seat_available with {capacity, in_use, own_seats_elsewhere, owner_contact, queue_position}; web_session_active_elsewhere"),
        (status = 422, description = "invalid_value"),
        (status = 429, description = "throttled"),
        (status = 503, description = "shutting_down, storage_unavailable")
    ),
    security(("bearer" = []))
)]
pub async fn acquire(
    who: Authenticated,
    state: web::Data<AppState>,
    body: ApiJson<TakeSeat>,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let answer = take_seat(who, &state, body.0).await;
    let outcome = match &answer {
        Ok(res) if res.status() == actix_web::http::StatusCode::CREATED => SeatOutcome::Granted,
        Ok(_) => SeatOutcome::Reused,
        Err(e) => SeatOutcome::Refused(e.code()),
    };
    state
        .metrics
        .seat_request(outcome, started.elapsed().as_secs_f64());
    answer
}

/// What `acquire` answers, before it is counted.
async fn take_seat(
    who: Authenticated,
    state: &AppState,
    body: TakeSeat,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId::parse(&body.device_id)
        .map_err(|e| ApiError::invalid("device_id", e.to_string()))?;
    let max_wait = state.settings.seats.max_wait_s;
    let wait_s = body.wait_s.unwrap_or(0);
    if wait_s > max_wait {
        return Err(ApiError::invalid(
            "wait_s",
            format!("wait_s must be 0 to {max_wait}"),
        ));
    }
    if wait_s > 0 && state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    let requested = match &body.pool {
        Some(raw) => Some(parse_pool(raw).map_err(|_| ApiError::not_found("pool"))?),
        None => None,
    };
    let order = pools_for(state, who.0, requested).await?;
    if body.platform == Platform::Web {
        web_session_elsewhere(state, who.0, &device).await?;
    }
    let mut last = None;
    for (i, pool) in order.iter().enumerate() {
        let wait = (i + 1 == order.len() && wait_s > 0).then(|| Duration::from_secs(wait_s.into()));
        let req = AcquireRequest {
            account: who.0,
            device: device.clone(),
            platform: body.platform,
            wait: None,
        };
        match state.registry.acquire(*pool, req, wait).await {
            Ok(AcquireOutcome::Granted { seat, reused }) => {
                if body.platform == Platform::Web && !reused {
                    web_session_settled(state, who.0, &device, *pool, seat.id).await?;
                }
                let json = views::seat(*pool, &seat, state.registry.now());
                return Ok(if reused {
                    HttpResponse::Ok().json(json)
                } else {
                    HttpResponse::Created().json(json)
                });
            }
            Ok(AcquireOutcome::Refused(refusal)) => last = Some((*pool, refusal)),
            Ok(AcquireOutcome::Queued { .. }) => {
                last = Some((*pool, Refusal::Throttled));
            }
            // S8: a pool that does not exist (no license activated yet) is no free seat.
            Err(EngineError::PoolNotFound) => last = Some((*pool, Refusal::NoLicense)),
            Err(e) => return Err(e.into()),
        }
    }
    let (pool, refusal) = last.unwrap_or((pool_of(who.0), Refusal::NoLicense));
    let contact = match refusal {
        Refusal::NoSeatAvailable(_) => owner_contact(state, pool).await,
        _ => None,
    };
    Err(ApiError::refusal(refusal, pool, contact))
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
    seat: seatbroker_actors::SeatId,
) -> Result<(), ApiError> {
    let _one_at_a_time = state.account_locks.lock(account).await;
    let Err(refusal) = web_session_elsewhere(state, account, device).await else {
        return Ok(());
    };
    if let Err(e) = state.registry.logout(pool, seat, account).await {
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
) -> Result<(), ApiError> {
    let pools = super::account_pools::account_pools(state, account).await?;
    for pool in pools.all() {
        let seats = match state.registry.seats(pool, Some(account)).await {
            Ok(seats) => seats,
            Err(EngineError::PoolNotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(open) = seats
            .iter()
            .find(|s| s.platform == Platform::Web && s.device != *device)
        {
            return Err(ApiError::refusal(
                Refusal::WebSessionActiveElsewhere { seat: open.id },
                pool,
                None,
            ));
        }
    }
    Ok(())
}

fn seat_path(raw: &str) -> Result<(PoolId, seatbroker_actors::SeatId), ApiError> {
    parse_seat(raw).map_err(|_| ApiError::not_found("seat"))
}

/// An engine error on a seat route: a pool that does not exist means the seat does not.
fn seat_engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::PoolNotFound => ApiError::not_found("seat"),
        other => other.into(),
    }
}

/// POST /v1/seats/{seat}/heartbeat: 200 with the seat (S4, W2).
#[utoipa::path(
    post,
    path = "/v1/seats/{seat}/heartbeat",
    tag = "seats",
    params(("seat" = String, Path, description = "the seat id")),
    request_body = Beat,
    responses(
        (status = 200, description = "The seat"),
        (status = 404, description = "not_found"),
        (status = 410, description = "seat_gone with reason")
    ),
    security(("bearer" = []))
)]
pub async fn heartbeat(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJsonOrEmpty<Beat>,
) -> Result<HttpResponse, ApiError> {
    let (pool, seat) = seat_path(&path)?;
    let view = state
        .registry
        .heartbeat(pool, seat, who.0, body.0.active)
        .await
        .map_err(seat_engine_error)?
        .map_err(ApiError::seat)?;
    state.metrics.heartbeat();
    Ok(HttpResponse::Ok().json(views::seat(pool, &view, state.registry.now())))
}

/// POST /v1/seats/{seat}/close: 204 (S5: a member's seat and any web seat are freed, the
/// owner's desktop seat and an offline reservation are kept).
#[utoipa::path(
    post,
    path = "/v1/seats/{seat}/close",
    tag = "seats",
    params(("seat" = String, Path, description = "the seat id")),
    responses(
        (status = 204, description = "Closed (S5); again when repeated"),
        (status = 404, description = "not_found"),
        (status = 410, description = "seat_gone")
    ),
    security(("bearer" = []))
)]
pub async fn close(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (pool, seat) = seat_path(&path)?;
    state
        .registry
        .close(pool, seat, who.0)
        .await
        .map_err(seat_engine_error)?
        .map_err(ApiError::seat)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /v1/seats/{seat}/offline`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Offline {
    until: String,
}

/// POST /v1/seats/{seat}/offline: 200 with the seat reserved until `until` (S11).
#[utoipa::path(
    post,
    path = "/v1/seats/{seat}/offline",
    tag = "seats",
    params(("seat" = String, Path, description = "the seat id")),
    request_body = Offline,
    responses(
        (status = 200, description = "The seat, reserved offline (S11)"),
        (status = 404, description = "not_found"),
        (status = 410, description = "seat_gone"),
        (status = 422, description = "offline_period_too_long, invalid_value")
    ),
    security(("bearer" = []))
)]
pub async fn offline(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<Offline>,
) -> Result<HttpResponse, ApiError> {
    let (pool, seat) = seat_path(&path)?;
    let until = crate::domain::time::parse(&body.0.until)
        .map_err(|e| ApiError::invalid("until", e.to_string()))?;
    let view = state
        .registry
        .reserve_offline(pool, seat, who.0, until)
        .await
        .map_err(seat_engine_error)?
        .map_err(ApiError::seat)?;
    Ok(HttpResponse::Ok().json(views::seat(pool, &view, state.registry.now())))
}

/// DELETE /v1/seats/{seat}: 204 (S6: logging out frees the seat on that device).
#[utoipa::path(
    delete,
    path = "/v1/seats/{seat}",
    tag = "seats",
    params(("seat" = String, Path, description = "the seat id")),
    responses(
        (status = 204, description = "Logged out (S6); again when repeated"),
        (status = 404, description = "not_found"),
        (status = 410, description = "seat_gone")
    ),
    security(("bearer" = []))
)]
pub async fn logout(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (pool, seat) = seat_path(&path)?;
    state
        .registry
        .logout(pool, seat, who.0)
        .await
        .map_err(seat_engine_error)?
        .map_err(ApiError::seat)?;
    Ok(HttpResponse::NoContent().finish())
}
