//! Ownership changes (issue 16): support moves a license, or an account's whole pool, to
//! another account; an account is deleted by support or by its owner. A transfer moves the
//! licenses' holder, so the capacity moves with them: the giver's pool is told its smaller
//! set of licenses and its seats in use drain as S10 says, the taker's pool (made at the
//! first license, as an activation would) grows, and from then on the taker's own seats
//! come first there (S8). A whole pool's members move along, a blocked member still
//! blocked. Types never mix (L5), and a trial stays with whoever started it. A deletion is
//! refused while the account holds licenses, unless they are transferred first; it releases
//! every seat, ends every membership, logs the account out everywhere and frees its email.
//! Each one is written to the audit log. Who may ask (operator token, the account itself in
//! the portal) is the caller's business.

use seatbroker_actors::{AccountId, EngineError, PoolId};
use serde_json::json;

use super::error::OwnershipRefusal;
use super::{accounts, me, members, pools, support, AppState, ServiceError, ServiceResult};
use crate::cluster::bus::Change;
use crate::domain::codes::LicenseKey;
use crate::domain::ids::pool_of;
use crate::domain::license::LicenseKind;
use crate::domain::trial::pool_licenses;
use crate::store::{AccountRecord, LicenseRecord, MemberStatus, MembershipRecord, PoolRecord};

/// What a transfer moved.
#[derive(Debug, Clone)]
pub struct Transferred {
    /// The giver.
    pub from: AccountId,
    /// The taker.
    pub to: AccountId,
    /// The licenses moved, as they are now (held by `to`).
    pub licenses: Vec<LicenseRecord>,
    /// The members who moved from the giver's pool to the taker's.
    pub members_moved: usize,
}

/// What a deletion did.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The account that is gone.
    pub account: AccountRecord,
    /// Seats released.
    pub seats_released: usize,
    /// Memberships ended (the pools it had joined, and its own pool's members).
    pub memberships_ended: usize,
    /// The transfer that came first, when licenses were handed over.
    pub transferred: Option<Transferred>,
}

/// The licenses of `held` that a transfer may move: all but trials.
fn transferable(held: &[LicenseRecord]) -> Vec<LicenseRecord> {
    held.iter()
        .filter(|l| l.kind != LicenseKind::Trial)
        .cloned()
        .collect()
}

/// Moves the license `only` (its key), or every license `from` holds (its whole pool, with
/// its members), to `to`, and records it as `actor`.
pub async fn transfer(
    state: &AppState,
    actor: &str,
    from: AccountId,
    to: AccountId,
    only: Option<LicenseKey>,
) -> ServiceResult<Transferred> {
    if from == to {
        return Err(OwnershipRefusal::SameAccount.into());
    }
    let _locks = state.account_locks.lock_two(from, to).await?;
    let giver = existing(state, from).await?;
    let taker = existing(state, to).await?;
    let held = state.accounts.licenses_of(from).await?;
    let moving = match only {
        Some(key) => {
            let license = held
                .iter()
                .find(|l| l.key == key.bits())
                .ok_or(ServiceError::NotFound("license"))?;
            if license.kind == LicenseKind::Trial {
                return Err(OwnershipRefusal::TrialNotTransferable.into());
            }
            vec![license.clone()]
        }
        None => transferable(&held),
    };
    let Some(kind) = moving.first().map(|l| l.kind) else {
        // A transfer stopped half-way (the licenses moved, a pool not told) is repaired by
        // asking again: both pools hear what their owners hold now.
        resync(state, from, to).await?;
        return Err(OwnershipRefusal::NothingToTransfer.into());
    };
    let taker_pool = pool_of(to);
    let existing_pool = state.accounts.pool(taker_pool).await?;
    // L5 as at an activation: a regular license ends the taker's running trial, and a pool
    // left with no license of its type (all given away) takes the new type; otherwise types
    // never mix.
    let taker_held = state.accounts.licenses_of(to).await?;
    let retype = match &existing_pool {
        Some(r) if r.kind == LicenseKind::Trial => true,
        Some(r) if r.kind != kind && pool_licenses(&taker_held, r.kind).is_empty() => true,
        Some(r) if r.kind != kind => {
            return Err(OwnershipRefusal::TypeMismatch {
                pool: r.kind,
                license: kind,
            }
            .into());
        }
        _ => false,
    };

    let mut moved = Vec::with_capacity(moving.len());
    for license in &moving {
        // `None`: no longer the giver's (another request moved it meanwhile).
        if let Some(now) = state
            .accounts
            .transfer_license(license.id, from, to)
            .await?
        {
            moved.push(now);
        }
    }
    if moved.is_empty() {
        resync(state, from, to).await?;
        return Err(OwnershipRefusal::NothingToTransfer.into());
    }
    match &existing_pool {
        None => pools::create(state, to, kind).await?,
        Some(record) if retype => {
            state
                .accounts
                .put_pool(PoolRecord {
                    kind,
                    ..record.clone()
                })
                .await?;
            super::tell_nodes(state, &[Change::PoolRecord(taker_pool)]).await;
            if record.kind == LicenseKind::Trial {
                state.engine.end_trial(taker_pool).await?;
            }
        }
        Some(_) => {}
    }
    // The giver's pool shrinks first (S10 drains it), then the taker's grows: in between
    // the seats are in neither pool, never in both.
    let giver_pool = state.accounts.pool(pool_of(from)).await?;
    if let Some(record) = &giver_pool {
        let left = state.accounts.licenses_of(from).await?;
        pools::tell_licenses(state, from, &left, record.kind).await?;
    }
    let taker_held = state.accounts.licenses_of(to).await?;
    pools::tell_licenses(state, to, &taker_held, kind).await?;
    let members_moved = match (only, giver_pool) {
        (None, Some(record)) => {
            // The old invite URL would lead to an empty pool: it opens nothing any more.
            if state.accounts.invite_of(record.pool).await?.is_some() {
                members::new_code(state, record.pool).await?;
            }
            move_members(state, &record, taker_pool).await?
        }
        _ => 0,
    };
    state.account_pools.forget(from);
    state.account_pools.forget(to);
    super::tell_nodes(
        state,
        &[Change::AccountPools(from), Change::AccountPools(to)],
    )
    .await;

    let keys: Vec<String> = moved
        .iter()
        .map(|l| LicenseKey::from_bits(l.key).to_string())
        .collect();
    support::record(
        state,
        actor,
        if only.is_some() {
            "transfer_license"
        } else {
            "transfer_pool"
        },
        format!("{} -> {}", giver.id, taker.id),
        Some(json!({ "holder": giver.id.to_string(), "licenses": keys })),
        Some(json!({
            "holder": taker.id.to_string(),
            "licenses": keys,
            "members_moved": members_moved,
        })),
    )
    .await?;
    tracing::info!(from = %from, to = %to, licenses = moved.len(), members_moved, "licenses transferred");
    Ok(Transferred {
        from,
        to,
        licenses: moved,
        members_moved,
    })
}

/// Tells the giver's and the taker's pools (those that exist) the licenses their owners
/// hold now, the giver's first.
async fn resync(state: &AppState, from: AccountId, to: AccountId) -> ServiceResult<()> {
    for owner in [from, to] {
        if let Some(record) = state.accounts.pool(pool_of(owner)).await? {
            let held = state.accounts.licenses_of(owner).await?;
            pools::tell_licenses(state, owner, &held, record.kind).await?;
        }
    }
    Ok(())
}

/// The account, or `NotFound`.
async fn existing(state: &AppState, id: AccountId) -> ServiceResult<AccountRecord> {
    state
        .accounts
        .account(id)
        .await?
        .ok_or(ServiceError::NotFound("account"))
}

/// A whole pool's transfer: every member of `giver`'s pool becomes a member of the taker's
/// pool with the same standing and join time (unless it is one already, or it is the taker
/// itself), and leaves the giver's pool. Answers how many moved.
async fn move_members(
    state: &AppState,
    giver: &PoolRecord,
    taker_pool: PoolId,
) -> ServiceResult<usize> {
    let taker = crate::domain::ids::owner_of(taker_pool);
    let mut moved = 0;
    for m in state.accounts.members_of(giver.pool).await? {
        if m.account != taker
            && state
                .accounts
                .membership(taker_pool, m.account)
                .await?
                .is_none()
        {
            state
                .accounts
                .put_membership(MembershipRecord {
                    pool: taker_pool,
                    ..m.clone()
                })
                .await?;
            if m.status == MemberStatus::Blocked {
                // The taker's pool learns the block before the member can ask it for a seat.
                let _ = state.engine.block(taker_pool, m.account).await?;
            }
            moved += 1;
        }
        end_membership(state, giver.pool, m.account).await?;
        super::tell_nodes(state, &[Change::Membership(taker_pool, m.account)]).await;
    }
    Ok(moved)
}

/// Ends `account`'s membership of `pool`: its seats there go, and so does the record.
async fn end_membership(state: &AppState, pool: PoolId, account: AccountId) -> ServiceResult<()> {
    match state.engine.remove_member(pool, account).await {
        // A pool without a table yet, or a member the table never saw: nothing to revoke.
        Ok(_) | Err(EngineError::PoolNotFound) => {}
        Err(e) => return Err(e.into()),
    }
    state.accounts.remove_membership(pool, account).await?;
    state.account_pools.forget(account);
    super::tell_nodes(
        state,
        &[
            Change::Membership(pool, account),
            Change::AccountPools(account),
        ],
    )
    .await;
    Ok(())
}

/// Deletes `account` as `actor`: refused while it holds licenses, unless `transfer_to`
/// takes them (and its pool's members) first. Releases its seats, ends its memberships and
/// its own pool's, logs it out everywhere, frees its email, and records it.
pub async fn delete_account(
    state: &AppState,
    actor: &str,
    account: AccountId,
    transfer_to: Option<AccountId>,
) -> ServiceResult<Deleted> {
    let held = transferable(&state.accounts.licenses_of(account).await?);
    let transferred = match (held.is_empty(), transfer_to) {
        (true, _) => None,
        (false, None) => {
            return Err(OwnershipRefusal::OwnsLicenses { count: held.len() }.into());
        }
        (false, Some(to)) => Some(transfer(state, actor, account, to, None).await?),
    };
    let _serialised = state.account_locks.lock(account).await?;
    let record = existing(state, account).await?;
    if !transferable(&state.accounts.licenses_of(account).await?).is_empty() {
        // A license activated meanwhile.
        return Err(OwnershipRefusal::OwnsLicenses { count: 1 }.into());
    }

    // Logged out first, so that no application takes a seat again while the rest goes.
    accounts::log_out_everywhere(state, account).await?;
    let mut seats_released = 0;
    for (pool, seat) in me::seats(state, account).await? {
        if support::force_release(state, pool, seat.id).await? {
            seats_released += 1;
        }
    }
    let mut memberships_ended = 0;
    let joined: Vec<PoolId> = state
        .accounts
        .memberships_of(account)
        .await?
        .into_iter()
        .map(|m| m.pool)
        .collect();
    for pool in joined {
        end_membership(state, pool, account).await?;
        memberships_ended += 1;
    }
    let own = pool_of(account);
    // Its invite code opens nothing any more: a fresh one nobody knows replaces it.
    if state.accounts.invite_of(own).await?.is_some() {
        members::new_code(state, own).await?;
    }
    for m in state.accounts.members_of(own).await? {
        end_membership(state, own, m.account).await?;
        memberships_ended += 1;
    }
    // The record read under the lock; a change by another node meanwhile is read again.
    let mut current = record.clone();
    let mut deleted = false;
    for _ in 0..3 {
        if state.accounts.delete_account(current.clone()).await? {
            deleted = true;
            break;
        }
        match state.accounts.account(account).await? {
            Some(now) => current = now,
            None => break,
        }
    }
    if !deleted {
        return Err(ServiceError::NotFound("account"));
    }
    state.account_pools.forget(account);
    super::tell_nodes(state, &[Change::AccountPools(account)]).await;
    support::record(
        state,
        actor,
        "delete_account",
        account.to_string(),
        // Only counts: the log is kept for good, the person's email and name are not.
        Some(json!({
            "seats": seats_released,
            "memberships": memberships_ended,
        })),
        Some(json!({
            "deleted": true,
            "transferred_to": transferred.as_ref().map(|t| t.to.to_string()),
        })),
    )
    .await?;
    tracing::info!(%account, seats_released, memberships_ended, "account deleted");
    Ok(Deleted {
        account: record,
        seats_released,
        memberships_ended,
        transferred,
    })
}
