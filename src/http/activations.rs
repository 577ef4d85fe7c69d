//! `POST /v1/activations` (L1–L5): a license key joins the account's pool, creating the pool
//! at the first activation. Repeating an activation is harmless and repairs one that stopped
//! half-way (the license claimed but the pool not yet told).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use seatbroker_actors::{AccountId, License};
use serde::Deserialize;
use serde_json::json;

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::ApiJson;
use super::{pools, store_error, views, AppState};
use crate::domain::codes::{ActivationCode, CodeError, LicenseKey};
use crate::domain::ids::pool_of;
use crate::domain::license::LicenseKind;
use crate::store::{Claim, LicenseRecord, PoolRecord};

/// The body of `POST /v1/activations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Activate {
    code: String,
}

/// The engine's view of a license.
pub fn engine_license(rec: &LicenseRecord) -> License {
    License {
        id: rec.id,
        seats: rec.seats,
        expires_at: rec.expires_at,
        trial: rec.kind == LicenseKind::Trial,
    }
}

fn refuse(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::new(status, code, message).with("field", "code")
}

/// POST /v1/activations: 201 `{kind: "license", license, pool}`, or 200 with
/// `warning: "already_active"` when repeated.
#[utoipa::path(
    post,
    path = "/v1/activations",
    tag = "licenses",
    request_body = Activate,
    responses(
        (status = 200, description = "Repeated: warning already_active"),
        (status = 201, description = "{kind: license, license, pool} or {kind: membership, pool}"),
        (status = 403, description = "join_restricted, member_blocked"),
        (status = 404, description = "unknown_code"),
        (status = 409, description = "license_already_activated, license_type_mismatch, own_pool"),
        (status = 422, description = "legacy_license_key, malformed_code, license_expired")
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    who: Authenticated,
    state: web::Data<AppState>,
    body: ApiJson<Activate>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    let account = who.0;
    let key = match ActivationCode::parse(&body.0.code) {
        Ok(ActivationCode::License(key)) => key,
        Ok(ActivationCode::Invite(code)) => {
            return super::members::join(&state, account, code).await
        }
        Err(CodeError::Legacy) => {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "legacy_license_key",
                &CodeError::Legacy.to_string(),
            ))
        }
        Err(CodeError::Malformed) => {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed_code",
                &CodeError::Malformed.to_string(),
            ))
        }
    };
    activate_license(&state, account, key).await
}

async fn activate_license(
    state: &AppState,
    account: AccountId,
    key: LicenseKey,
) -> Result<HttpResponse, ApiError> {
    let now = state.registry.now();
    let license = state
        .accounts
        .license_by_key(key.bits())
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            refuse(
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no license has this key",
            )
        })?;
    let held_by_other = || {
        refuse(
            StatusCode::CONFLICT,
            "license_already_activated",
            "another account has activated this license",
        )
    };
    if license.activated_by.is_some_and(|a| a != account) {
        return Err(held_by_other());
    }
    let repeated = license.activated_by == Some(account);
    if !repeated && license.expires_at.is_some_and(|end| end <= now) {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "license_expired",
            "this license has expired",
        ));
    }
    let pool = pool_of(account);
    let existing = state.accounts.pool(pool).await.map_err(store_error)?;
    // L5: a regular license ends a running trial; otherwise types never mix.
    let ends_trial = existing
        .as_ref()
        .is_some_and(|r| r.kind == LicenseKind::Trial && license.kind != LicenseKind::Trial);
    if let Some(record) = existing.as_ref().filter(|_| !ends_trial) {
        if record.kind != license.kind {
            return Err(refuse(
                StatusCode::CONFLICT,
                "license_type_mismatch",
                &format!(
                    "your pool holds {} licenses; a {} license cannot join it",
                    record.kind, license.kind
                ),
            ));
        }
    }
    let license = match state
        .accounts
        .claim_license(key.bits(), account)
        .await
        .map_err(store_error)?
    {
        Claim::Claimed(rec) | Claim::AlreadyMine(rec) => rec,
        Claim::HeldByOther => return Err(held_by_other()),
        Claim::Unknown => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no license has this key",
            ))
        }
    };
    if existing.is_none() {
        pools::create(state, account, license.kind).await?;
    }
    if ends_trial {
        state
            .accounts
            .put_pool(PoolRecord {
                pool,
                owner: account,
                kind: license.kind,
                join_email_domain: existing.as_ref().and_then(|r| r.join_email_domain.clone()),
            })
            .await
            .map_err(store_error)?;
        state.registry.end_trial(pool).await?;
    }
    // The pool's licenses are all the account holds of the pool's type; telling the pool is
    // idempotent.
    let held = state
        .accounts
        .licenses_of(account)
        .await
        .map_err(store_error)?;
    let kind = if ends_trial || existing.is_none() {
        license.kind
    } else {
        existing.as_ref().map_or(license.kind, |r| r.kind)
    };
    state
        .registry
        .set_licenses(
            pool,
            super::trials::pool_licenses(&held, kind)
                .iter()
                .map(engine_license)
                .collect(),
        )
        .await?;
    let pool_view = pools::describe(state, pool, account).await?;
    let mut body = json!({
        "kind": "license",
        "license": views::license(&license),
        "pool": pool_view,
    });
    if repeated {
        body["warning"] = json!("already_active");
        Ok(HttpResponse::Ok().json(body))
    } else {
        Ok(HttpResponse::Created().json(body))
    }
}
