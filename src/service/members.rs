//! Invitations and members (I1–I5): the pool's invite code (made on first use, rotated on
//! request), joining with it, and the owner's member list with block, unblock and delete.
//! Blocking tells the pool's actor first, so the member's seats go at once (S10). The
//! owner-only functions take the owner's `PoolRecord` (see `pools::owned`).

use std::collections::HashMap;

use seatbroker_actors::{AccountId, PoolId};

use super::error::ActivationRefusal;
use super::pools::{self, PoolDetails};
use super::{random, AppState, Novelty, ServiceError, ServiceResult};
use crate::cluster::bus::Change;
use crate::domain::account::Email;
use crate::domain::codes::InviteCode;
use crate::domain::join::domain_allows;
use crate::store::{MemberStatus, MembershipRecord, PoolRecord};

/// How often a fresh code is drawn when the one drawn is taken.
const DRAWS: usize = 16;

/// A pool's invite (I1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The code.
    pub code: InviteCode,
    /// `{server.public_url}/join/{code}`.
    pub url: String,
}

/// A member as the owner's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The membership.
    pub membership: MembershipRecord,
    /// The member's email (empty if the account went).
    pub email: String,
    /// The member's name (empty if the account went).
    pub name: String,
    /// Seats the member holds in the pool now.
    pub seats_in_use: usize,
}

fn invite(state: &AppState, code: InviteCode) -> Invite {
    let base = state.settings.server.public_url.trim_end_matches('/');
    Invite {
        code,
        url: format!("{base}/join/{code}"),
    }
}

fn shareable(record: &PoolRecord) -> ServiceResult<()> {
    if record.kind.is_shareable() {
        Ok(())
    } else {
        Err(ServiceError::NotShareable(record.kind))
    }
}

/// Draws a fresh invite code for `pool`, retiring its previous one (I1, I4); the caller
/// holds the owner's lock.
pub(crate) async fn new_code(state: &AppState, pool: PoolId) -> ServiceResult<InviteCode> {
    for _ in 0..DRAWS {
        let code = InviteCode::from_bits(u64::from_le_bytes(random()?));
        if state.accounts.set_invite(pool, code.bits()).await? {
            return Ok(code);
        }
    }
    Err(ServiceError::Internal(
        "no free invite code after many draws",
    ))
}

/// The owner's invite code and URL, made on first use (I1).
pub async fn get_invite(state: &AppState, record: &PoolRecord) -> ServiceResult<Invite> {
    let _serialised = state.account_locks.lock(record.owner).await?;
    shareable(record)?;
    let code = match state.accounts.invite_of(record.pool).await? {
        Some(bits) => InviteCode::from_bits(bits),
        None => new_code(state, record.pool).await?,
    };
    Ok(invite(state, code))
}

/// A new code; the old one stops at once (I4).
pub async fn rotate_invite(state: &AppState, record: &PoolRecord) -> ServiceResult<Invite> {
    let _serialised = state.account_locks.lock(record.owner).await?;
    shareable(record)?;
    Ok(invite(state, new_code(state, record.pool).await?))
}

/// The pool an invite code opens, for a page that shows it before joining; `UnknownInvite`
/// when no pool has the code.
pub async fn invited_pool(state: &AppState, code: InviteCode) -> ServiceResult<PoolRecord> {
    let unknown = || ServiceError::from(ActivationRefusal::UnknownInvite);
    let pool = state
        .accounts
        .invite_pool(code.bits())
        .await?
        .ok_or_else(unknown)?;
    state.accounts.pool(pool).await?.ok_or_else(unknown)
}

/// I2: joins the pool an invite code opens. The caller holds the account's lock.
pub async fn join(
    state: &AppState,
    account: AccountId,
    code: InviteCode,
) -> ServiceResult<(PoolDetails, Novelty)> {
    let record = invited_pool(state, code).await?;
    let pool = record.pool;
    if record.owner == account {
        return Err(ActivationRefusal::OwnPool.into());
    }
    let novelty = match state.accounts.membership(pool, account).await? {
        Some(m) if m.status == MemberStatus::Blocked => {
            return Err(ActivationRefusal::MemberBlocked.into())
        }
        Some(_) => Novelty::Repeated,
        None => Novelty::New,
    };
    if novelty == Novelty::New {
        if let Some(domain) = &record.join_email_domain {
            let me = state
                .accounts
                .account(account)
                .await?
                .ok_or(ServiceError::Internal(
                    "an authenticated account is missing",
                ))?;
            let email = Email::parse(&me.email)
                .map_err(|_| ServiceError::Internal("a stored email is invalid"))?;
            if !domain_allows(domain, &email) {
                return Err(ActivationRefusal::JoinRestricted {
                    domain: domain.clone(),
                }
                .into());
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
            .await?;
        state.account_pools.forget(account);
        let changes = [
            Change::Membership(pool, account),
            Change::AccountPools(account),
        ];
        super::tell_nodes(state, &changes).await;
    }
    Ok((pools::describe(state, pool, account).await?, novelty))
}

async fn member(
    state: &AppState,
    m: MembershipRecord,
    seats_in_use: usize,
) -> ServiceResult<Member> {
    let account = state.accounts.account_to_show(m.account).await?;
    let (email, name) = account.map_or((String::new(), String::new()), |a| (a.email, a.name));
    Ok(Member {
        membership: m,
        email,
        name,
        seats_in_use,
    })
}

/// Every member with its seats in use; not the owner (I3).
pub async fn list(state: &AppState, record: &PoolRecord) -> ServiceResult<Vec<Member>> {
    let members = state.accounts.members_to_show(record.pool).await?;
    let mut seats: HashMap<AccountId, usize> = HashMap::new();
    for seat in state.engine.seats(record.pool, None).await? {
        *seats.entry(seat.account).or_default() += 1;
    }
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let in_use = seats.get(&m.account).copied().unwrap_or(0);
        out.push(member(state, m, in_use).await?);
    }
    Ok(out)
}

async fn membership(
    state: &AppState,
    record: &PoolRecord,
    account: AccountId,
) -> ServiceResult<MembershipRecord> {
    state
        .accounts
        .membership(record.pool, account)
        .await?
        .ok_or(ServiceError::NotFound("member"))
}

/// Blocks (its seats are revoked at once, S10) or unblocks a member (I3).
pub async fn set_status(
    state: &AppState,
    record: &PoolRecord,
    account: AccountId,
    status: MemberStatus,
) -> ServiceResult<Member> {
    let _serialised = state.account_locks.lock(record.owner).await?;
    let mut m = membership(state, record, account).await?;
    let outcome = match status {
        MemberStatus::Blocked => state
            .engine
            .block(record.pool, m.account)
            .await?
            .map(|_| ()),
        MemberStatus::Active => state.engine.unblock(record.pool, m.account).await?,
    };
    outcome.map_err(|_| ServiceError::NotFound("member"))?;
    m.status = status;
    state.accounts.put_membership(m.clone()).await?;
    super::tell_nodes(state, &[Change::Membership(record.pool, m.account)]).await;
    let seats = state
        .engine
        .seats(record.pool, Some(m.account))
        .await?
        .len();
    member(state, m, seats).await
}

/// Deletes a member: gone from the list, may join again with the code (I3).
pub async fn remove(
    state: &AppState,
    record: &PoolRecord,
    account: AccountId,
) -> ServiceResult<()> {
    let _serialised = state.account_locks.lock(record.owner).await?;
    let m = membership(state, record, account).await?;
    state
        .engine
        .remove_member(record.pool, m.account)
        .await?
        .map_err(|_| ServiceError::NotFound("member"))?;
    state
        .accounts
        .remove_membership(record.pool, m.account)
        .await?;
    state.account_pools.forget(m.account);
    let changes = [
        Change::Membership(record.pool, m.account),
        Change::AccountPools(m.account),
    ];
    super::tell_nodes(state, &changes).await;
    Ok(())
}

/// A member leaves a pool on its own: its seats in the pool go and it may join again with
/// the code. A blocked member cannot leave, or leaving and joining again would lift the
/// block (I2).
pub async fn leave(state: &AppState, account: AccountId, pool: PoolId) -> ServiceResult<()> {
    let record = state
        .accounts
        .pool(pool)
        .await?
        .ok_or(ServiceError::NotFound("pool"))?;
    match state.accounts.membership(pool, account).await? {
        None => Err(ServiceError::NotAMember),
        Some(m) if m.status == MemberStatus::Blocked => {
            Err(ActivationRefusal::MemberBlocked.into())
        }
        Some(_) => remove(state, &record, account).await,
    }
}

/// The pools `account` is a member of, with its membership of each, in join order.
pub async fn memberships(
    state: &AppState,
    account: AccountId,
) -> ServiceResult<Vec<(PoolDetails, MembershipRecord)>> {
    let mut out = Vec::new();
    for m in state.accounts.memberships_of(account).await? {
        match pools::describe(state, m.pool, account).await {
            Ok(details) => out.push((details, m)),
            // A pool deleted meanwhile is not listed.
            Err(ServiceError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
