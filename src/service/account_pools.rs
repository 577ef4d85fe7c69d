//! Which pools an account may take seats in (S8): its own, then those shared with it in join
//! order. Kept in memory so that `POST /v1/seats` reads no storage: filled from the store on
//! first use and forgotten for an account whenever this broker changes its pools (a first
//! activation, a join, a deletion from a pool); with several nodes, also when another node
//! tells it so (`cluster::bus`). Reading them is `service::account_pools`.

use std::sync::Arc;

use seatbroker_actors::{AccountId, PoolId};

use crate::store::cached::ReadThrough;

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

/// The cache: each account's pools, read through from the store.
pub type AccountPoolsCache = ReadThrough<AccountId, Arc<AccountPools>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn forgetting_drops_the_entry_and_a_read_that_raced_a_forget_is_not_kept() {
        let cache = AccountPoolsCache::default();
        let pools = Arc::new(AccountPools {
            own: None,
            shared: vec![PoolId(3)],
        });
        let read = cache
            .get(AccountId(1), async { Ok::<_, ()>(pools.clone()) })
            .await;
        assert_eq!(read, Ok(pools.clone()));
        assert!(cache.holds(AccountId(1)));
        cache.forget(AccountId(1));
        assert!(!cache.holds(AccountId(1)));
        // A forget while the store is read: the value read is answered, not kept.
        let raced = cache
            .get(AccountId(1), async {
                cache.forget(AccountId(1));
                Ok::<_, ()>(pools.clone())
            })
            .await;
        assert_eq!(raced, Ok(pools));
        assert!(!cache.holds(AccountId(1)));
    }
}
