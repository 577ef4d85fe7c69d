//! A3: ten consecutive failed logins for one account from one client address block that
//! address for that account for a while; the tenth failure is still a 401, every attempt after
//! it a 429 with `Retry-After`, even with the right password, until the period ends. A
//! success resets the count; other addresses are not affected. Unknown emails are counted
//! the same way, so they answer exactly like wrong passwords. On one node the counts are
//! kept in memory: a restart forgets lockouts, which only ever favours the person locked
//! out. With several nodes (a load balancer may send each attempt to another node) they are
//! kept in Redis through `SharedLockouts`, so ten failures lock out across all nodes.
//! Issue 18 counts an account's failed activations (guessed keys and invite codes) the same
//! way, under keys of its own (`limits`), and never resets them on a success.

use std::net::IpAddr;
use std::sync::Arc;

use dashmap::DashMap;
use seatbroker_actors::store::{StoreError, StoreFuture};
use seatbroker_actors::Timestamp;
use sha2::{Digest, Sha256};

/// Failure counts kept where every node sees them (several nodes: Redis). `key` names what
/// is counted (an (email, address) pair, an account's activations) without it in clear.
pub trait SharedLockouts: Send + Sync {
    /// Until when `key` is locked out, if it is.
    fn locked_until(&self, key: &str) -> StoreFuture<'_, Result<Option<Timestamp>, StoreError>>;
    /// Counts a failure at `now`; at `threshold` failures the key is locked out for
    /// `lockout_ms`. Counts and lockouts are forgotten `lockout_ms` after the last failure.
    /// True for the failure that reached the threshold.
    fn count_failure(
        &self,
        key: &str,
        now: Timestamp,
        threshold: u32,
        lockout_ms: u64,
    ) -> StoreFuture<'_, Result<bool, StoreError>>;
    /// Forgets `key`'s failures (a successful login).
    fn clear(&self, key: &str) -> StoreFuture<'_, Result<(), StoreError>>;
}

/// Entries kept before old ones are dropped, so a flood of logins cannot grow memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    locked_until: Option<Timestamp>,
}

/// Failure counts by key: A3's per (email, client address), issue 18's activation failures
/// per account. Callers name what they count with `login_key` or a key of their own.
pub struct Lockouts {
    threshold: u32,
    lockout_ms: u64,
    failures: DashMap<String, Failures>,
    /// Several nodes: where the counts are kept instead of `failures`.
    shared: Option<Arc<dyn SharedLockouts>>,
}

impl std::fmt::Debug for Lockouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockouts")
            .field("threshold", &self.threshold)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// What A3 counts: the failed logins of one email from one client address.
pub fn login_key(email_key: &str, ip: IpAddr) -> String {
    format!("{email_key}\n{ip}")
}

/// The shared counts' name of a key: its SHA-256 in hex, so no email is stored in clear.
fn shared_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Lockouts {
    /// `threshold` failures lock the address out for `lockout_s` seconds.
    pub fn new(threshold: u32, lockout_s: u64) -> Self {
        Lockouts {
            threshold: threshold.max(1),
            lockout_ms: lockout_s.saturating_mul(1_000),
            failures: DashMap::new(),
            shared: None,
        }
    }

    /// Several nodes: keeps the counts in `shared` instead of this node's memory.
    pub fn shared(mut self, shared: Arc<dyn SharedLockouts>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// `Ok(Err(seconds))` while `key` is locked out.
    pub async fn check_shared(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Result<(), u64>, StoreError> {
        let Some(shared) = &self.shared else {
            return Ok(self.check(key, now));
        };
        Ok(match shared.locked_until(&shared_key(key)).await? {
            Some(until) if now < until => Err(until.since(now).as_secs().max(1)),
            _ => Ok(()),
        })
    }

    /// Counts a failure (see `failure`), wherever the counts are kept.
    pub async fn failure_shared(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        match &self.shared {
            None => Ok(self.failure(key, now)),
            Some(shared) => {
                let key = shared_key(key);
                shared
                    .count_failure(&key, now, self.threshold, self.lockout_ms)
                    .await
            }
        }
    }

    /// A success resets the count (a login; never an activation), wherever it is kept.
    pub async fn success_shared(&self, key: &str) -> Result<(), StoreError> {
        match &self.shared {
            None => {
                self.success(key);
                Ok(())
            }
            Some(shared) => shared.clear(&shared_key(key)).await,
        }
    }

    /// `Err(seconds)` while `key` is locked out (this node's counts).
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        match self.failures.get(key).and_then(|f| f.locked_until) {
            Some(until) if now < until => Err(until.since(now).as_secs().max(1)),
            Some(_) => {
                self.failures.remove(key);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failure; the failure that reaches the threshold starts the lockout, and then
    /// the answer is true.
    pub fn failure(&self, key: &str, now: Timestamp) -> bool {
        if self.failures.len() >= MAX_ENTRIES {
            let stale = now.as_millis().saturating_sub(self.lockout_ms);
            self.failures.retain(|_, f| {
                f.last.as_millis() > stale || f.locked_until.is_some_and(|u| u > now)
            });
        }
        let mut entry = self.failures.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        entry.count += 1;
        entry.last = now;
        if entry.count >= self.threshold {
            entry.locked_until = Some(now.plus_millis(self.lockout_ms));
        }
        entry.count == self.threshold
    }

    /// A success resets the count.
    pub fn success(&self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a3_ten_failures_lock_that_address_out_for_the_period() {
        let l = Lockouts::new(10, 900);
        for _ in 0..9 {
            assert_eq!(l.check(&login_key("ada@x.org", ip(1)), NOW), Ok(()));
            l.failure(&login_key("ada@x.org", ip(1)), NOW);
        }
        assert_eq!(
            l.check(&login_key("ada@x.org", ip(1)), NOW),
            Ok(()),
            "the tenth is still tried"
        );
        l.failure(&login_key("ada@x.org", ip(1)), NOW);
        assert_eq!(l.check(&login_key("ada@x.org", ip(1)), NOW), Err(900));
        assert_eq!(
            l.check(&login_key("ada@x.org", ip(1)), NOW.plus_secs(899)),
            Err(1)
        );
        assert_eq!(
            l.check(&login_key("ada@x.org", ip(1)), NOW.plus_secs(900)),
            Ok(())
        );
    }

    #[test]
    fn a3_other_addresses_and_accounts_are_not_affected() {
        let l = Lockouts::new(2, 60);
        l.failure(&login_key("ada@x.org", ip(1)), NOW);
        l.failure(&login_key("ada@x.org", ip(1)), NOW);
        assert!(l.check(&login_key("ada@x.org", ip(1)), NOW).is_err());
        assert_eq!(l.check(&login_key("ada@x.org", ip(2)), NOW), Ok(()));
        assert_eq!(l.check(&login_key("bo@x.org", ip(1)), NOW), Ok(()));
    }

    #[test]
    fn a3_a_success_resets_the_count() {
        let l = Lockouts::new(2, 60);
        l.failure(&login_key("ada@x.org", ip(1)), NOW);
        l.success(&login_key("ada@x.org", ip(1)));
        l.failure(&login_key("ada@x.org", ip(1)), NOW);
        assert_eq!(l.check(&login_key("ada@x.org", ip(1)), NOW), Ok(()));
    }
}
