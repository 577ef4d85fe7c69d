//! Support (issue 16): what the support desk looks up about a person, found by account id
//! or by email: the account, the licenses it holds, the pools it owns or belongs to (with a
//! member's standing) and every seat it holds, with the devices behind them. Read-only; the
//! operator's repairs are elsewhere.

use seatbroker_actors::{AccountId, PoolId, SeatView};

use super::{accounts, me, AppState, ServiceError, ServiceResult};
use crate::domain::ids::{parse_account, pool_of};
use crate::store::{AccountRecord, LicenseRecord, MemberStatus};

/// One pool of the account as support sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRole {
    /// The pool.
    pub pool: PoolId,
    /// Whether the account owns it (else it is a member).
    pub owner: bool,
    /// A member's standing; `None` for the owner.
    pub status: Option<MemberStatus>,
}

/// Everything support sees of an account.
#[derive(Debug, Clone)]
pub struct AccountCase {
    /// The account.
    pub account: AccountRecord,
    /// The licenses it holds, by id.
    pub licenses: Vec<LicenseRecord>,
    /// Its own pool first, then the pools it joined, in join order.
    pub pools: Vec<PoolRole>,
    /// Its seats, with the pool of each.
    pub seats: Vec<(PoolId, SeatView)>,
}

/// The account `who` names: an account id (`A-3F9-C21`) or an email (case-insensitive).
pub async fn find(state: &AppState, who: &str) -> ServiceResult<AccountRecord> {
    let found = if who.contains('@') {
        accounts::by_email(state, who).await?
    } else {
        let id = parse_account(who.trim()).map_err(|_| ServiceError::NotFound("account"))?;
        state.accounts.account(id).await?
    };
    found.ok_or(ServiceError::NotFound("account"))
}

/// The case of the account `who` names.
pub async fn case(state: &AppState, who: &str) -> ServiceResult<AccountCase> {
    let account = find(state, who).await?;
    let id: AccountId = account.id;
    let licenses = state.accounts.licenses_of(id).await?;
    let mut pools = Vec::new();
    if state.accounts.pool(pool_of(id)).await?.is_some() {
        pools.push(PoolRole {
            pool: pool_of(id),
            owner: true,
            status: None,
        });
    }
    for m in state.accounts.memberships_of(id).await? {
        pools.push(PoolRole {
            pool: m.pool,
            owner: false,
            status: Some(m.status),
        });
    }
    let seats = me::seats(state, id).await?;
    Ok(AccountCase {
        account,
        licenses,
        pools,
        seats,
    })
}
