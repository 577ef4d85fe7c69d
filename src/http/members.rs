//! Invitations and members (I1–I5): the pool's invite code and URL, rotating it, joining with
//! it (through `POST /v1/activations`), and the owner's member list with block, unblock and
//! delete. Blocking tells the pool's actor first, so the member's seats go at once (S10).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use seatbroker_actors::{AccountId, PoolId};
use serde_json::{json, Value};
use std::collections::HashMap;

use super::auth::Authenticated;
use super::error::ApiError;
use super::pools::owned;
use super::{internal, store_error, AppState};
use crate::domain::account::Email;
use crate::domain::codes::InviteCode;
use crate::domain::ids::parse_account;
use crate::store::{MemberStatus, MembershipRecord, PoolRecord};

/// How often a fresh code is drawn when the one drawn is taken.
const DRAWS: usize = 16;

fn invite_body(state: &AppState, code: InviteCode) -> Value {
    let base = state.settings.server.public_url.trim_end_matches('/');
    json!({"code": code.to_string(), "url": format!("{base}/join/{code}")})
}

fn shareable(record: &PoolRecord) -> Result<(), ApiError> {
    if record.kind.is_shareable() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "license_not_shareable",
            format!("{} licenses are personal and cannot be shared", record.kind),
        ))
    }
}

async fn new_code(state: &AppState, pool: PoolId) -> Result<InviteCode, ApiError> {
    for _ in 0..DRAWS {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|_| internal("no randomness"))?;
        let code = InviteCode::from_bits(u64::from_le_bytes(bytes));
        if state
            .accounts
            .set_invite(pool, code.bits())
            .await
            .map_err(store_error)?
        {
            return Ok(code);
        }
    }
    Err(internal("no free invite code after many draws"))
}

/// GET /v1/pools/{pool}/invite: the code and URL, made on first use (I1).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/invite",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{code, url}"),
        (status = 403, description = "license_not_shareable, not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn get_invite(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    let record = owned(&state, &path, who.0).await?;
    shareable(&record)?;
    let code = match state
        .accounts
        .invite_of(record.pool)
        .await
        .map_err(store_error)?
    {
        Some(bits) => InviteCode::from_bits(bits),
        None => new_code(&state, record.pool).await?,
    };
    Ok(HttpResponse::Ok().json(invite_body(&state, code)))
}

/// POST /v1/pools/{pool}/invite/rotate: a new code; the old one stops at once (I4).
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/invite/rotate",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "{code, url}; the old code stops at once"),
        (status = 403, description = "license_not_shareable, not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn rotate_invite(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    let record = owned(&state, &path, who.0).await?;
    shareable(&record)?;
    let code = new_code(&state, record.pool).await?;
    Ok(HttpResponse::Ok().json(invite_body(&state, code)))
}

/// I4: whether `email` may join a pool restricted to `domain` (the domain or a subdomain).
pub fn domain_allows(domain: &str, email: &Email) -> bool {
    let domain = domain.trim().trim_start_matches('@').to_lowercase();
    let own = email.domain();
    own == domain || own.ends_with(&format!(".{domain}"))
}

/// I2: joins the pool an invite code opens. 201 on joining, 200 `already_active` when the
/// account is a member already.
pub async fn join(
    state: &AppState,
    account: AccountId,
    code: InviteCode,
) -> Result<HttpResponse, ApiError> {
    let refuse = |status, code: &'static str, message: &str| {
        ApiError::new(status, code, message).with("field", "code")
    };
    let pool = state
        .accounts
        .invite_pool(code.bits())
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no pool has this invite code",
            )
        })?;
    let record = state
        .accounts
        .pool(pool)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no pool has this invite code",
            )
        })?;
    if record.owner == account {
        return Err(refuse(
            StatusCode::CONFLICT,
            "own_pool",
            "this is your own pool's invite code; share it with others",
        ));
    }
    let existing = state
        .accounts
        .membership(pool, account)
        .await
        .map_err(store_error)?;
    let repeated = match existing.as_ref().map(|m| m.status) {
        Some(MemberStatus::Blocked) => {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "member_blocked",
                "the pool's owner has blocked you",
            ))
        }
        Some(MemberStatus::Active) => true,
        None => false,
    };
    if !repeated {
        if let Some(domain) = &record.join_email_domain {
            let me = state
                .accounts
                .account(account)
                .await
                .map_err(store_error)?
                .ok_or_else(|| internal("an authenticated account is missing"))?;
            let email =
                Email::parse(&me.email).map_err(|_| internal("a stored email is invalid"))?;
            if !domain_allows(domain, &email) {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    "join_restricted",
                    &format!("this pool takes members with {domain} emails only"),
                ));
            }
        }
        state
            .accounts
            .put_membership(MembershipRecord {
                pool,
                account,
                status: MemberStatus::Active,
                joined_at: state.registry.now(),
            })
            .await
            .map_err(store_error)?;
        state.account_pools.forget(account);
    }
    let view = super::pools::describe(state, pool, account).await?;
    let mut body = json!({"kind": "membership", "pool": view});
    if repeated {
        body["warning"] = json!("already_active");
        Ok(HttpResponse::Ok().json(body))
    } else {
        Ok(HttpResponse::Created().json(body))
    }
}

fn member_body(m: &MembershipRecord, email: &str, name: &str, seats_in_use: usize) -> Value {
    json!({
        "account_id": m.account.to_string(),
        "email": email,
        "name": name,
        "status": match m.status { MemberStatus::Active => "active", MemberStatus::Blocked => "blocked" },
        "seats_in_use": seats_in_use,
    })
}

/// GET /v1/pools/{pool}/members: every member with its seats in use; not the owner (I3).
#[utoipa::path(
    get,
    path = "/v1/pools/{pool}/members",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id")),
    responses(
        (status = 200, description = "[{account_id, email, name, status, seats_in_use}]"),
        (status = 403, description = "not_owner")
    ),
    security(("bearer" = []))
)]
pub async fn list(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = owned(&state, &path, who.0).await?;
    let members = state
        .accounts
        .members_of(record.pool)
        .await
        .map_err(store_error)?;
    let mut seats: HashMap<AccountId, usize> = HashMap::new();
    for seat in state.registry.seats(record.pool, None).await? {
        *seats.entry(seat.account).or_default() += 1;
    }
    let mut out = Vec::with_capacity(members.len());
    for m in &members {
        let account = state
            .accounts
            .account(m.account)
            .await
            .map_err(store_error)?;
        let (email, name) = account.map_or((String::new(), String::new()), |a| (a.email, a.name));
        out.push(member_body(
            m,
            &email,
            &name,
            seats.get(&m.account).copied().unwrap_or(0),
        ));
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn member_of(
    state: &AppState,
    who: AccountId,
    pool_raw: &str,
    account_raw: &str,
) -> Result<(PoolRecord, MembershipRecord), ApiError> {
    let record = owned(state, pool_raw, who).await?;
    let account = parse_account(account_raw).map_err(|_| ApiError::not_found("member"))?;
    let m = state
        .accounts
        .membership(record.pool, account)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("member"))?;
    Ok((record, m))
}

async fn set_status(
    state: &AppState,
    who: AccountId,
    path: &(String, String),
    status: MemberStatus,
) -> Result<HttpResponse, ApiError> {
    let (record, mut m) = member_of(state, who, &path.0, &path.1).await?;
    let outcome = match status {
        MemberStatus::Blocked => state
            .registry
            .block(record.pool, m.account)
            .await?
            .map(|_| ()),
        MemberStatus::Active => state.registry.unblock(record.pool, m.account).await?,
    };
    outcome.map_err(|_| ApiError::not_found("member"))?;
    m.status = status;
    state
        .accounts
        .put_membership(m.clone())
        .await
        .map_err(store_error)?;
    let seats = state
        .registry
        .seats(record.pool, Some(m.account))
        .await?
        .len();
    let account = state
        .accounts
        .account(m.account)
        .await
        .map_err(store_error)?;
    let (email, name) = account.map_or((String::new(), String::new()), |a| (a.email, a.name));
    Ok(HttpResponse::Ok().json(member_body(&m, &email, &name, seats)))
}

/// POST /v1/pools/{pool}/members/{account}/block: its seats are revoked at once (S10).
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/members/{account}/block",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The member; its seats are revoked"),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn block(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    set_status(&state, who.0, &path, MemberStatus::Blocked).await
}

/// POST /v1/pools/{pool}/members/{account}/unblock.
#[utoipa::path(
    post,
    path = "/v1/pools/{pool}/members/{account}/unblock",
    tag = "pools",
    params(("pool" = String, Path, description = "the pool id"), ("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The member"),
        (status = 404, description = "not_found")
    ),
    security(("bearer" = []))
)]
pub async fn unblock(
    who: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
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
    let _serialised = state.account_locks.lock(who.0).await;
    let (record, m) = member_of(&state, who.0, &path.0, &path.1).await?;
    state
        .registry
        .remove_member(record.pool, m.account)
        .await?
        .map_err(|_| ApiError::not_found("member"))?;
    state
        .accounts
        .remove_membership(record.pool, m.account)
        .await
        .map_err(store_error)?;
    state.account_pools.forget(m.account);
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i4_a_domain_admits_itself_and_its_subdomains() {
        let at = |e: &str| Email::parse(e).unwrap();
        assert!(domain_allows("uni.edu", &at("a@uni.edu")));
        assert!(domain_allows("uni.edu", &at("a@cs.UNI.edu")));
        assert!(domain_allows("@uni.edu", &at("a@uni.edu")));
        assert!(!domain_allows("uni.edu", &at("a@notuni.edu")));
        assert!(!domain_allows("uni.edu", &at("a@uni.edu.evil.com")));
    }
}
