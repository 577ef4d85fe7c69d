//! Invitations and members (I1–I5), owner only: the pool's invite code and URL, rotating it,
//! and the member list with block, unblock and delete. Joining is an activation
//! (`POST /v1/activations`). The rules are in `service::members`.

use actix_web::{web, HttpResponse};
use seatbroker_actors::AccountId;

use super::auth::Authenticated;
use super::error::ApiError;
use super::pools::owned_path;
use super::views::{self, InviteJson, MemberJson};
use crate::domain::ids::parse_account;
use crate::service::members;
use crate::service::AppState;
use crate::store::MemberStatus;

/// GET /v1/pools/{pool}/invite: the code and URL, made on first use (I1).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/invite",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{code, url}", body = InviteJson),
        (status = 403, description = "license_not_shareable, not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn get_invite(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path, who.0).await?;
    let invite = members::get_invite(&state, &record).await?;
    Ok(HttpResponse::Ok().json(views::invite(&invite)))
}

/// POST /v1/pools/{pool}/invite/rotate: a new code; the old one stops at once (I4).
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/invite/rotate",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{code, url}; the old code stops at once", body = InviteJson),
        (status = 403, description = "license_not_shareable, not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn rotate_invite(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path, who.0).await?;
    let invite = members::rotate_invite(&state, &record).await?;
    Ok(HttpResponse::Ok().json(views::invite(&invite)))
}

/// GET /v1/pools/{pool}/members: every member with its seats in use; not the owner (I3).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/members",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "[{account_id, email, name, status, seats_in_use}]", body = Vec<MemberJson>),
        (status = 403, description = "not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn list(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path, who.0).await?;
    let members = members::list(&state, &record).await?;
    Ok(HttpResponse::Ok().json(members.iter().map(views::member).collect::<Vec<_>>()))
}

fn member_path(raw: &str) -> Result<AccountId, ApiError> {
    parse_account(raw).map_err(|_| ApiError::not_found("member"))
}

async fn set_status(
    state: &AppState,
    who: AccountId,
    path: &(String, String),
    status: MemberStatus,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(state, &path.0, who).await?;
    let member = members::set_status(state, &record, member_path(&path.1)?, status).await?;
    Ok(HttpResponse::Ok().json(views::member(&member)))
}

/// POST /v1/pools/{pool}/members/{account}/block: its seats are revoked at once (S10).
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/members/{account}/block",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The member; its seats are revoked", body = MemberJson),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn block(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, who.0, &path, MemberStatus::Blocked).await
}

/// POST /v1/pools/{pool}/members/{account}/unblock.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/members/{account}/unblock",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The member", body = MemberJson),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn unblock(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, who.0, &path, MemberStatus::Active).await
}

/// DELETE /v1/pools/{pool}/members/{account}: gone from the list; may join again (I3).
#[utoipa::path(
    delete,
    path = "/v1/pools/{pool}/members/{account}",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("account" = String, Path, description = "the account id")),
    responses(
        (status = 204, description = "Deleted; may join again"),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let record = owned_path(&state, &path.0, who.0).await?;
    members::remove(&state, &record, member_path(&path.1)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
