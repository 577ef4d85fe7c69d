//! Pools (L5): `GET /v1/pools/{pool}`, and the pool description other routes answer with.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use seatbroker_actors::{AccountId, PoolId};
use serde_json::Value;

use super::auth::Authenticated;
use super::error::ApiError;
use super::{store_error, views, AppState};
use crate::domain::ids::{owner_of, parse_pool};

/// The pool as `viewer` may see it: 404 for an unknown pool, 403 `not_a_member` for an
/// account that is neither its owner nor a member.
pub async fn describe(
    state: &AppState,
    pool: PoolId,
    viewer: AccountId,
) -> Result<Value, ApiError> {
    let record = state
        .accounts
        .pool(pool)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    if record.owner != viewer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_member",
            "you are not a member of this pool",
        ));
    }
    let owner = state
        .accounts
        .account(record.owner)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let description = state.registry.describe(pool).await?;
    let licenses = state
        .accounts
        .licenses_of(owner_of(pool))
        .await
        .map_err(store_error)?;
    Ok(views::pool(
        &record,
        &owner,
        &description.status,
        &description.settings,
        Some(&licenses),
    ))
}

/// GET /v1/pools/{pool} (owner; members come with memberships).
pub async fn get(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pool = parse_pool(&path).map_err(|_| ApiError::not_found("pool"))?;
    Ok(HttpResponse::Ok().json(describe(&state, pool, who.0).await?))
}
