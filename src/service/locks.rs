//! Serialises the account-level writes that read, check and then write several records:
//! activations (keys and invite codes), trials, and an owner's administration of its pool
//! (invite code, settings, members). Without it two simultaneous requests of one account can
//! both pass a check (a type mismatch, a running trial, an existing membership, a missing
//! invite code) and both write. Seat operations never take these locks: they are serialised
//! by their pool's actor. One broker node writes these records, so an in-process lock is
//! enough; the locks are striped, so memory stays fixed whatever the number of accounts.

use seatbroker_actors::AccountId;
use tokio::sync::{Mutex, MutexGuard};

/// How many locks accounts share.
const STRIPES: usize = 1_024;

/// The striped locks.
#[derive(Debug)]
pub struct AccountLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for AccountLocks {
    fn default() -> Self {
        AccountLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl AccountLocks {
    /// Holds `account`'s lock until the guard is dropped.
    pub async fn lock(&self, account: AccountId) -> MutexGuard<'_, ()> {
        self.stripes[account.0 as usize % STRIPES].lock().await
    }
}
