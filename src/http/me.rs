//! The caller's own view: `GET /v1/me`, `GET /v1/me/seats` and "free up my seats"
//! (`POST /v1/me/seats/release`, S7), across the account's own pool and the pools shared
//! with it (`service::me`).

use actix_web::{web, HttpResponse};
use seatbroker_actors::{PoolId, SeatView};

use super::auth::Authenticated;
use super::error::ApiError;
use super::views::{self, MeJson, ReleasedJson, SeatJson};
use crate::service::me;
use crate::service::AppState;

fn seat_list(state: &AppState, seats: &[(PoolId, SeatView)]) -> Vec<SeatJson> {
    let now = state.registry.now();
    seats
        .iter()
        .map(|(pool, s)| views::seat(*pool, s, now))
        .collect()
}

/// GET /v1/me: `{account, own_pool, memberships, seats}`.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "accounts",
    responses(
        (status = 200, description = "{account, own_pool, memberships, seats}", body = MeJson),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn get(who: Authenticated, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let me = me::overview(&state, who.0).await?;
    Ok(HttpResponse::Ok().json(MeJson {
        account: views::account(&me.account),
        own_pool: me.own_pool.as_ref().map(views::pool),
        memberships: me.memberships.iter().map(views::pool).collect(),
        seats: seat_list(&state, &me.seats),
    }))
}

/// GET /v1/me/seats: every seat the account holds.
#[utoipa::path(
    get,
    path = "/v1/me/seats",
    tag = "seats",
    responses(
        (status = 200, description = "[seat]", body = Vec<SeatJson>),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn seats(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let seats = me::seats(&state, who.0).await?;
    Ok(HttpResponse::Ok().json(seat_list(&state, &seats)))
}

/// POST /v1/me/seats/release: frees every seat the account holds, everywhere (S7).
#[utoipa::path(
    post,
    path = "/v1/me/seats/release",
    tag = "seats",
    responses(
        (status = 200, description = "{released} (S7)", body = ReleasedJson),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn release_all(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let released = me::release_all(&state, who.0).await?;
    Ok(HttpResponse::Ok().json(ReleasedJson { released }))
}
