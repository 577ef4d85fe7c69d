//! Seats, the hot path (S2–S9, S12, W1): take a seat, keep it alive, close it, log out,
//! reserve it offline. Each route parses its input (a seat id carries its pool) and calls
//! `service::seats`.

use actix_web::{web, HttpResponse};
use seatbroker_actors::{DeviceId, Platform, PoolId, SeatId};
use serde::Deserialize;

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::{ApiJson, ApiJsonOrEmpty};
use super::pools::pool_path;
use super::views::{self, SeatJson};
use crate::domain::ids::parse_seat;
use crate::metrics::SeatOutcome;
use crate::service::seats::{self, SeatAction, SeatRequest};
use crate::service::AppState;

/// The body of `POST /v1/seats`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TakeSeat {
    /// The device: 1 to 128 characters, none of them a control character.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]+$"
    )]
    device_id: String,
    /// windows, mac or web.
    #[schema(value_type = seatbroker_api::Platform)]
    platform: Platform,
    /// The pool to take the seat from (`P-...`); without it, the account's own pool first,
    /// then the pools it joined.
    pool: Option<String>,
    /// How long to wait in the queue for a seat, 0 to `seats.max_wait_s` (60 unless
    /// configured otherwise); default 0.
    #[schema(minimum = 0, maximum = 60)]
    wait_s: Option<u32>,
}

/// The body of a heartbeat.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Beat {
    active: Option<bool>,
}

/// POST /v1/seats: 201 with a new seat, 200 with the same seat again (S2).
#[utoipa::path(
    post,
    path = "/v1/seats",
    tag = "seats",
    request_body = TakeSeat,
    responses(
        (status = 200, description = "The same seat again (S2)", body = SeatJson),
        (status = 201, description = "A new seat", body = SeatJson),
        (status = 403, description = "member_blocked, no_license, license_expired, trial_expired, not_a_member"),
        (status = 404, description = "not_found: the pool named in the body"),
        (status = 409, description = "no_seat_available with {capacity, in_use, own_seats_elsewhere, owner_contact, queue_position}; web_session_active_elsewhere"),
        (status = 422, description = "invalid_value"),
        (status = 429, description = "throttled, with Retry-After"),
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
    let pool = match &body.pool {
        Some(raw) => Some(pool_path(raw)?),
        None => None,
    };
    let request = SeatRequest {
        device,
        platform: body.platform,
        pool,
        wait_s,
    };
    let granted = seats::take(state, who.0, request).await?;
    let mut json = views::seat(granted.pool, &granted.seat, state.registry.now());
    // The one answer that may name the device as the client sent it: the client knows it.
    json.device_id = body.device_id;
    Ok(if granted.reused {
        HttpResponse::Ok().json(json)
    } else {
        HttpResponse::Created().json(json)
    })
}

fn seat_path(raw: &str) -> Result<(PoolId, SeatId), ApiError> {
    parse_seat(raw).map_err(|_| ApiError::not_found("seat"))
}

/// Does `action` on the seat named in the path; the seat as it is after, or 204.
async fn act(
    state: &AppState,
    who: Authenticated,
    path: &str,
    action: SeatAction,
) -> Result<HttpResponse, ApiError> {
    let (pool, seat) = seat_path(path)?;
    Ok(match seats::act(state, who.0, pool, seat, action).await? {
        Some(view) => HttpResponse::Ok().json(views::seat(pool, &view, state.registry.now())),
        None => HttpResponse::NoContent().finish(),
    })
}

/// POST /v1/seats/{seat}/heartbeat: 200 with the seat (S4, W2).
#[utoipa::path(
    post,
    path = "/v1/seats/{seat}/heartbeat",
    tag = "seats",
    params(("seat" = String, Path, description = "the seat id")),
    request_body = Beat,
    responses(
        (status = 200, description = "The seat", body = SeatJson),
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
    let answer = act(&state, who, &path, SeatAction::Heartbeat(body.0.active)).await?;
    state.metrics.heartbeat();
    Ok(answer)
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
    act(&state, who, &path, SeatAction::Close).await
}

/// The body of `POST /v1/seats/{seat}/offline`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Offline {
    /// The end of the offline period (RFC 3339), in the future and within the pool's
    /// `offline_max_days` and its licenses' expiry.
    #[schema(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
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
        (status = 200, description = "The seat, reserved offline (S11)", body = SeatJson),
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
    let until = crate::domain::time::parse(&body.0.until)
        .map_err(|e| ApiError::invalid("until", e.to_string()))?;
    act(&state, who, &path, SeatAction::Offline(until)).await
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
    act(&state, who, &path, SeatAction::Logout).await
}
