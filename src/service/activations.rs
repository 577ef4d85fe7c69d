//! Activation (L1–L5, I2): a license key joins the account's pool, creating the pool at the
//! first activation; an invite code makes the account a member of the pool it opens.
//! Repeating an activation is harmless and repairs one that stopped half-way (the license
//! claimed but the pool not yet told).

use seatbroker_actors::AccountId;

use super::error::ActivationRefusal;
use super::pools::{self, PoolDetails};
use super::{members, AppState, Novelty, ServiceError, ServiceResult};
use crate::cluster::bus::Change;
use crate::domain::codes::{ActivationCode, LicenseKey};
use crate::domain::ids::pool_of;
use crate::domain::license::LicenseKind;
use crate::domain::trial::pool_licenses;
use crate::store::{Claim, LicenseRecord, PoolRecord};

/// What an activation did.
#[derive(Debug, Clone)]
pub enum Activated {
    /// A license joined the account's own pool.
    License {
        /// The license.
        license: LicenseRecord,
        /// The account's pool as its owner sees it now.
        pool: PoolDetails,
        /// New, or activated by this account before.
        novelty: Novelty,
    },
    /// The account became a member of a pool.
    Membership {
        /// The pool as its member sees it.
        pool: PoolDetails,
        /// New, or a member before.
        novelty: Novelty,
    },
}

/// Activates what `code` is, for `account`, holding the account's lock.
pub async fn activate(
    state: &AppState,
    account: AccountId,
    code: ActivationCode,
) -> ServiceResult<Activated> {
    let _serialised = state.account_locks.lock(account).await?;
    if !super::accounts::current(state, account)
        .await?
        .email_confirmed
    {
        return Err(ServiceError::EmailUnconfirmed);
    }
    let now = state.registry.now();
    super::within(state, state.limits.check_activation(account, now).await?)?;
    let activated = match code {
        ActivationCode::License(key) => activate_license(state, account, key).await,
        ActivationCode::Invite(code) => members::join(state, account, code)
            .await
            .map(|(pool, novelty)| Activated::Membership { pool, novelty }),
    };
    // Issue 18: every code refused counts, found or not (a key activated by another account
    // tells a guesser as much as a key that works); storage failures do not.
    if let Err(ServiceError::Activation(_)) = &activated {
        state.limits.activation_failed(account, now).await?;
    }
    activated
}

/// L3, L5: the account claims the license and its pool is told.
async fn activate_license(
    state: &AppState,
    account: AccountId,
    key: LicenseKey,
) -> ServiceResult<Activated> {
    let license = claimable(state, account, key).await?;
    let repeated = license.activated_by == Some(account);
    let pool = pool_of(account);
    let existing = state.accounts.pool(pool).await?;
    // L5: a regular license ends a running trial, and a pool whose licenses were all
    // transferred away (issue 16) takes the new type; otherwise types never mix.
    let ends_trial = existing
        .as_ref()
        .is_some_and(|r| r.kind == LicenseKind::Trial && license.kind != LicenseKind::Trial);
    let emptied = match &existing {
        Some(r) if r.kind != license.kind && !ends_trial => {
            pool_licenses(&state.accounts.licenses_of(account).await?, r.kind).is_empty()
        }
        _ => false,
    };
    let retype = ends_trial || emptied;
    if let Some(record) = existing.as_ref().filter(|_| !retype) {
        if record.kind != license.kind {
            return Err(ActivationRefusal::TypeMismatch {
                pool: record.kind,
                license: license.kind,
            }
            .into());
        }
    }
    let license = match state.accounts.claim_license(key.bits(), account).await? {
        Claim::Claimed(rec) | Claim::AlreadyMine(rec) => rec,
        Claim::HeldByOther => return Err(ActivationRefusal::AlreadyActivated.into()),
        Claim::Unknown => return Err(ActivationRefusal::UnknownKey.into()),
    };
    if existing.is_none() {
        pools::create(state, account, license.kind).await?;
    }
    if retype {
        state
            .accounts
            .put_pool(PoolRecord {
                pool,
                owner: account,
                kind: license.kind,
                join_email_domain: existing.as_ref().and_then(|r| r.join_email_domain.clone()),
            })
            .await?;
        super::tell_nodes(state, &[Change::PoolRecord(pool)]).await;
        if ends_trial {
            state.engine.end_trial(pool).await?;
        }
    }
    // The pool's licenses are all the account holds of the pool's type.
    let kind = match &existing {
        Some(record) if !retype => record.kind,
        _ => license.kind,
    };
    let held = state.accounts.licenses_of(account).await?;
    pools::tell_licenses(state, account, &held, kind).await?;
    Ok(Activated::License {
        license,
        pool: pools::describe(state, pool, account).await?,
        novelty: if repeated {
            Novelty::Repeated
        } else {
            Novelty::New
        },
    })
}

/// The license a key names, if `account` may claim it: unknown keys, keys another account
/// holds and expired licenses are refused (a repeat by the holder is not).
async fn claimable(
    state: &AppState,
    account: AccountId,
    key: LicenseKey,
) -> ServiceResult<LicenseRecord> {
    let license = state
        .accounts
        .license_by_key(key.bits())
        .await?
        .ok_or(ActivationRefusal::UnknownKey)?;
    if license.activated_by.is_some_and(|a| a != account) {
        return Err(ActivationRefusal::AlreadyActivated.into());
    }
    let repeated = license.activated_by == Some(account);
    let now = state.registry.now();
    if !repeated && license.expires_at.is_some_and(|end| end <= now) {
        return Err(ActivationRefusal::Expired.into());
    }
    Ok(license)
}
