//! The caller's own view: `GET /v1/me`, `GET /v1/me/seats` and "free up my seats"
//! (`POST /v1/me/seats/release`, S7), across the account's own pool and the pools shared
//! with it.

use actix_web::{web, HttpResponse};
use seatbroker_actors::{AccountId, EngineError};
use serde_json::{json, Value};

use super::account_pools::account_pools;
use super::auth::Authenticated;
use super::error::ApiError;
use super::{internal, pools, store_error, views, AppState};

async fn my_seats(state: &AppState, account: AccountId) -> Result<Vec<views::SeatJson>, ApiError> {
    let pools = account_pools(state, account).await?;
    let now = state.registry.now();
    let mut out = Vec::new();
    for pool in pools.all() {
        match state.registry.seats(pool, Some(account)).await {
            Ok(seats) => out.extend(seats.iter().map(|s| views::seat(pool, s, now))),
            Err(EngineError::PoolNotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// GET /v1/me: `{account, own_pool, memberships, seats}`.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "accounts",
    responses(
        (status = 200, description = "{account, own_pool, memberships, seats}"),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn get(who: Authenticated, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let account = state
        .accounts
        .account(who.0)
        .await
        .map_err(store_error)?
        .ok_or_else(|| internal("an authenticated account is missing"))?;
    let mine = account_pools(&state, who.0).await?;
    let own_pool = match mine.own {
        Some(pool) => pools::describe(&state, pool, who.0).await?,
        None => Value::Null,
    };
    let mut memberships = Vec::with_capacity(mine.shared.len());
    for pool in &mine.shared {
        memberships.push(pools::describe(&state, *pool, who.0).await?);
    }
    Ok(HttpResponse::Ok().json(json!({
        "account": {"id": account.id.to_string(), "email": account.email, "name": account.name},
        "own_pool": own_pool,
        "memberships": memberships,
        "seats": my_seats(&state, who.0).await?,
    })))
}

/// GET /v1/me/seats: every seat the account holds.
#[utoipa::path(
    get,
    path = "/v1/me/seats",
    tag = "seats",
    responses(
        (status = 200, description = "[seat]"),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn seats(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(my_seats(&state, who.0).await?))
}

/// POST /v1/me/seats/release: frees every seat the account holds, everywhere (S7).
#[utoipa::path(
    post,
    path = "/v1/me/seats/release",
    tag = "seats",
    responses(
        (status = 200, description = "{released} (S7)"),
        (status = 401, description = "unauthenticated")
    ),
    security(("bearer" = []))
)]
pub async fn release_all(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mine = account_pools(&state, who.0).await?;
    let mut released = 0;
    for pool in mine.all() {
        match state.registry.release_all(pool, who.0).await {
            Ok(seats) => released += seats.len(),
            Err(EngineError::PoolNotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "released": released })))
}
