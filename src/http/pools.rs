//! Pools (L5, I5): who may see a pool, `GET /v1/pools/{pool}`, and the pool description other
//! routes answer with. The owner sees licenses and settings; a member sees the public part.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use seatbroker_actors::store::StoreError;
use seatbroker_actors::{AccountId, PoolId, PoolSettings, PoolSnapshot};
use serde_json::Value;

use super::auth::Authenticated;
use super::error::ApiError;
use super::{store_error, views, AppState};
use crate::domain::ids::{owner_of, parse_pool, pool_of};
use crate::domain::license::LicenseKind;
use crate::store::{MembershipRecord, PoolRecord};

/// How the caller stands to a pool.
#[derive(Debug, Clone)]
pub enum Access {
    /// The owner.
    Owner(PoolRecord),
    /// A member (active or blocked).
    Member(PoolRecord, MembershipRecord),
}

impl Access {
    /// The pool's record.
    pub fn record(&self) -> &PoolRecord {
        match self {
            Access::Owner(r) | Access::Member(r, _) => r,
        }
    }
}

/// 403 `not_a_member`.
pub fn not_a_member() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_a_member",
        "you are not a member of this pool",
    )
}

/// How `viewer` stands to `pool`: 404 for an unknown pool, 403 `not_a_member` for strangers.
pub async fn access(state: &AppState, pool: PoolId, viewer: AccountId) -> Result<Access, ApiError> {
    let record = state
        .accounts
        .pool(pool)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    if record.owner == viewer {
        return Ok(Access::Owner(record));
    }
    match state
        .accounts
        .membership(pool, viewer)
        .await
        .map_err(store_error)?
    {
        Some(m) => Ok(Access::Member(record, m)),
        None => Err(not_a_member()),
    }
}

/// The owner's record of a pool named in a path; 403 `not_owner` for a member.
pub async fn owned(state: &AppState, raw: &str, who: AccountId) -> Result<PoolRecord, ApiError> {
    let pool = parse_pool(raw).map_err(|_| ApiError::not_found("pool"))?;
    match access(state, pool, who).await? {
        Access::Owner(record) => Ok(record),
        Access::Member(..) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_owner",
            "only the pool's owner may do this",
        )),
    }
}

/// The pool as `viewer` may see it.
pub async fn describe(
    state: &AppState,
    pool: PoolId,
    viewer: AccountId,
) -> Result<Value, ApiError> {
    let access = access(state, pool, viewer).await?;
    let record = access.record();
    let owner = state
        .accounts
        .account(record.owner)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let description = state.registry.describe(pool).await?;
    let licenses = match access {
        Access::Owner(_) => Some(super::trials::pool_licenses(
            &state
                .accounts
                .licenses_of(owner_of(pool))
                .await
                .map_err(store_error)?,
            record.kind,
        )),
        Access::Member(..) => None,
    };
    Ok(views::pool(
        record,
        &owner,
        &description.status,
        &description.settings,
        licenses.as_deref(),
    ))
}

/// Creates the account's pool for licenses of `kind` (at its first activation or trial):
/// the service's record, and the engine's pool with the default settings. Repeating it after
/// a failure half-way is harmless.
pub async fn create(state: &AppState, owner: AccountId, kind: LicenseKind) -> Result<(), ApiError> {
    let pool = pool_of(owner);
    state
        .accounts
        .put_pool(PoolRecord {
            pool,
            owner,
            kind,
            join_email_domain: None,
        })
        .await
        .map_err(store_error)?;
    let mut snapshot = PoolSnapshot::new(pool, owner, Vec::new());
    snapshot.settings = PoolSettings {
        timeout_s: state.settings.seats.default_timeout_s,
        offline_max_days: state.settings.pools.default_offline_max_days,
        idle_reclaim_s: None,
    };
    match state.store.create_pool(snapshot).await {
        Ok(()) | Err(StoreError::PoolExists(_)) => {}
        Err(e) => return Err(store_error(e)),
    }
    state.account_pools.forget(owner);
    Ok(())
}

/// GET /v1/pools/{pool} (owner or member).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{id, owner, type, capacity, in_use, queue_length, timeout_s}; the owner also sees licenses and settings"),
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
    let pool = parse_pool(&path).map_err(|_| ApiError::not_found("pool"))?;
    Ok(HttpResponse::Ok().json(describe(&state, pool, who.0).await?))
}
