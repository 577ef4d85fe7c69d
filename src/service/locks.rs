//! Serialises the account-level writes that read, check and then write several records:
//! activations (keys and invite codes), trials, an owner's administration of its pool
//! (invite code, settings, members), and S9's settling of web sessions. Without it two
//! simultaneous requests of one account can both pass a check (a type mismatch, a running
//! trial, an existing membership, a missing invite code) and both write. Seat operations
//! never take these locks: they are serialised by their pool's actor.
//!
//! On one node an in-process lock is enough; the locks are striped, so memory stays fixed
//! whatever the number of accounts. With several nodes the same requests may reach two
//! nodes, so the account's lock is also taken in Redis (`SharedLocks`): held under a random
//! token for at most `SHARED_TTL` (a node that dies holding it delays the account's next
//! such request by that much at most), waited for up to `SHARED_PATIENCE`, then refused
//! with 503 so the client tries again.

use std::sync::Arc;
use std::time::Duration;

use seatbroker_actors::store::StoreError;
use seatbroker_actors::AccountId;
use tokio::sync::{Mutex, MutexGuard};

use super::ServiceResult;
use crate::store::SharedLocks;

/// How many locks accounts share.
const STRIPES: usize = 1_024;
/// How long a node holds an account's shared lock at most.
const SHARED_TTL: Duration = Duration::from_secs(10);
/// How long a request waits for an account's shared lock before it is refused.
const SHARED_PATIENCE: Duration = Duration::from_secs(5);
/// The first pause between two tries of a shared lock (doubled up to 100 ms).
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// The striped locks, and with several nodes the shared ones.
pub struct AccountLocks {
    stripes: Vec<Mutex<()>>,
    shared: Option<Arc<dyn SharedLocks>>,
}

impl std::fmt::Debug for AccountLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountLocks")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for AccountLocks {
    fn default() -> Self {
        AccountLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            shared: None,
        }
    }
}

/// An account's lock, held until dropped.
pub struct AccountGuard<'a> {
    /// `None` for the second account of `lock_two` when both share a stripe.
    _local: Option<MutexGuard<'a, ()>>,
    /// Several nodes: the shared lock's holder, given back on drop.
    shared: Option<(Arc<dyn SharedLocks>, String, String)>,
}

impl Drop for AccountGuard<'_> {
    fn drop(&mut self) {
        let Some((locks, name, token)) = self.shared.take() else {
            return;
        };
        // Given back in the background; if that fails, the lock runs out by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = locks.unlock(&name, &token).await {
                    tracing::warn!(%err, name, "giving an account's lock back failed");
                }
            });
        }
    }
}

impl AccountLocks {
    /// Several nodes: also takes each account's lock in `shared`.
    pub fn shared(mut self, shared: Arc<dyn SharedLocks>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Holds `account`'s lock until the guard is dropped. With several nodes, refused with a
    /// store error (503) when the lock stays taken or Redis does not answer.
    pub async fn lock(&self, account: AccountId) -> ServiceResult<AccountGuard<'_>> {
        let local = self.stripes[stripe(account)].lock().await;
        self.take_shared(account, Some(local)).await
    }

    /// Holds the locks of two different accounts (a transfer from one to the other), taken
    /// in one order everywhere (stripe, then id), so two transfers in opposite directions
    /// cannot each hold one and wait for the other.
    pub async fn lock_two(
        &self,
        a: AccountId,
        b: AccountId,
    ) -> ServiceResult<(AccountGuard<'_>, AccountGuard<'_>)> {
        let (first, second) = if (stripe(a), a.0) <= (stripe(b), b.0) {
            (a, b)
        } else {
            (b, a)
        };
        let first_guard = self.lock(first).await?;
        let second_guard = if stripe(first) == stripe(second) {
            // The stripe is held already: only the shared lock is left to take.
            self.take_shared(second, None).await?
        } else {
            self.lock(second).await?
        };
        Ok((first_guard, second_guard))
    }

    /// With several nodes, takes `account`'s shared lock too; the guard keeps `local`.
    async fn take_shared<'a>(
        &'a self,
        account: AccountId,
        local: Option<MutexGuard<'a, ()>>,
    ) -> ServiceResult<AccountGuard<'a>> {
        let Some(locks) = &self.shared else {
            return Ok(AccountGuard {
                _local: local,
                shared: None,
            });
        };
        let name = account.0.to_string();
        let token = hex::encode(super::random::<16>()?);
        let started = tokio::time::Instant::now();
        let mut pause = FIRST_PAUSE;
        let ttl_ms = u64::try_from(SHARED_TTL.as_millis()).unwrap_or(u64::MAX);
        while !locks.try_lock(&name, &token, ttl_ms).await? {
            if started.elapsed() >= SHARED_PATIENCE {
                return Err(StoreError::Unavailable(
                    "another node holds the account's lock; try again".into(),
                )
                .into());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        Ok(AccountGuard {
            _local: local,
            shared: Some((locks.clone(), name, token)),
        })
    }
}

/// The stripe of an account's local lock.
fn stripe(account: AccountId) -> usize {
    account.0 as usize % STRIPES
}
