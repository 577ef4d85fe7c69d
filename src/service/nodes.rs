//! Several nodes: how this node applies what the others changed (`cluster::bus`): a pool
//! record, a membership or an account's pools is forgotten, so the next read takes it from
//! the store; a revocation is added. After a lost subscription everything cached is
//! forgotten and the revocations are read again.

use std::future::Future;
use std::pin::Pin;

use crate::cluster::bus::{Change, Listener};

use super::AppState;

impl Listener for AppState {
    fn apply(&self, change: Change) {
        match change {
            Change::PoolRecord(pool) => self.records.forget_pool(pool),
            Change::Membership(pool, account) => self.records.forget_membership(pool, account),
            Change::AccountPools(account) => self.account_pools.forget(account),
            Change::Revoked(account, at) => self.revocations.revoke(account, at),
        }
    }

    fn missed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.records.forget_everything();
            self.account_pools.forget_everything();
            match self.accounts.token_revocations().await {
                Ok(all) => {
                    for (account, at) in all {
                        self.revocations.revoke(account, at);
                    }
                }
                Err(err) => tracing::warn!(%err, "reading the token revocations again failed"),
            }
        })
    }
}
