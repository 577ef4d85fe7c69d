//! Which pools an account may take seats in (S8): its own, then those shared with it in join
//! order. Kept in memory so that `POST /v1/seats` reads no storage: filled from the store on
//! first use and forgotten for an account whenever this broker changes its pools (a first
//! activation, a join, a deletion from a pool). One broker node writes these, so nothing
//! else can change them behind its back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use seatbroker_actors::{AccountId, PoolId};

use super::{AppState, ServiceResult};
use crate::domain::ids::pool_of;

/// Entries kept before the cache starts afresh, so memory stays bounded.
const MAX_ENTRIES: usize = 1_000_000;

/// An account's pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPools {
    /// Its own pool, once it has activated a license.
    pub own: Option<PoolId>,
    /// The pools shared with it, in the order it joined them.
    pub shared: Vec<PoolId>,
}

impl AccountPools {
    /// Every pool, own first.
    pub fn all(&self) -> impl Iterator<Item = PoolId> + '_ {
        self.own.into_iter().chain(self.shared.iter().copied())
    }
}

/// The cache.
#[derive(Debug, Default)]
pub struct AccountPoolsCache {
    entries: DashMap<AccountId, Arc<AccountPools>>,
    /// Counts forgets: a load that saw one happen while it read the store does not cache
    /// what it read, which may predate the change.
    generation: AtomicU64,
}

impl AccountPoolsCache {
    /// Forgets what is known of `account`'s pools (after changing them).
    pub fn forget(&self, account: AccountId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&account);
    }
}

/// The pools of `account`, from the cache or the store.
pub async fn account_pools(
    state: &AppState,
    account: AccountId,
) -> ServiceResult<Arc<AccountPools>> {
    let cache = &state.account_pools;
    if let Some(known) = cache.entries.get(&account) {
        return Ok(known.clone());
    }
    let generation = cache.generation.load(Ordering::Acquire);
    let own = pool_of(account);
    let owns = state.accounts.pool(own).await?.is_some();
    let shared = state
        .accounts
        .memberships_of(account)
        .await?
        .into_iter()
        .map(|m| m.pool)
        .collect();
    let pools = Arc::new(AccountPools {
        own: owns.then_some(own),
        shared,
    });
    if cache.entries.len() >= MAX_ENTRIES {
        cache.entries.clear();
    }
    cache.entries.insert(account, pools.clone());
    // A forget since the store was read may predate this entry: withdraw it then. A forget
    // after this line removes it anyway.
    if cache.generation.load(Ordering::Acquire) != generation {
        cache
            .entries
            .remove_if(&account, |_, cached| Arc::ptr_eq(cached, &pools));
    }
    Ok(pools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_bumps_the_generation_and_drops_the_entry() {
        let cache = AccountPoolsCache::default();
        let pools = Arc::new(AccountPools {
            own: None,
            shared: vec![PoolId(3)],
        });
        cache.entries.insert(AccountId(1), pools);
        let before = cache.generation.load(Ordering::Acquire);
        cache.forget(AccountId(1));
        assert!(cache.entries.get(&AccountId(1)).is_none());
        assert_eq!(cache.generation.load(Ordering::Acquire), before + 1);
    }
}
