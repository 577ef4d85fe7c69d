//! `GET /v1/pools/{pool}` (L5, I5): the pool as the caller may see it (owner or member), and
//! how a pool named in a path is read.

use actix_web::{web, HttpResponse};
use seatbroker_actors::{AccountId, PoolId};

use super::auth::Authenticated;
use super::error::ApiError;
use super::views::{self, PoolJson};
use crate::domain::ids::parse_pool;
use crate::service::pools;
use crate::service::AppState;
use crate::store::PoolRecord;

/// A pool id from a path: 404 when it is not one.
pub fn pool_path(raw: &str) -> Result<PoolId, ApiError> {
    parse_pool(raw).map_err(|_| ApiError::not_found("pool"))
}

/// The owner's record of the pool named in a path; 403 `not_owner` for a member.
pub async fn owned_path(
    state: &AppState,
    raw: &str,
    who: AccountId,
) -> Result<PoolRecord, ApiError> {
    Ok(pools::owned(state, pool_path(raw)?, who).await?)
}

/// GET /v1/pools/{pool} (owner or member).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{id, owner, type, capacity, in_use, queue_length, timeout_s}; the owner also sees licenses and settings", body = PoolJson),
        (status = 403, description = "not_a_member"),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn get(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let details = pools::describe(&state, pool_path(&path)?, who.0).await?;
    Ok(HttpResponse::Ok().json(views::pool(&details)))
}
