//! A3: ten consecutive failed logins for one account from one client address block that
//! address for that account for a while; the tenth failure is still a 401, every attempt after
//! it a 429 with `Retry-After`, even with the right password, until the period ends. A
//! success resets the count; other addresses are not affected. Unknown emails are counted
//! the same way, so they answer exactly like wrong passwords. Kept in memory: a restart
//! forgets lockouts, which only ever favours the person locked out.

use std::net::IpAddr;

use dashmap::DashMap;
use seatbroker_actors::Timestamp;

/// Entries kept before old ones are dropped, so a flood of logins cannot grow memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    locked_until: Option<Timestamp>,
}

/// The failure counts per (email, client address).
#[derive(Debug)]
pub struct Lockouts {
    threshold: u32,
    lockout_ms: u64,
    failures: DashMap<(String, IpAddr), Failures>,
}

impl Lockouts {
    /// `threshold` failures lock the address out for `lockout_s` seconds.
    pub fn new(threshold: u32, lockout_s: u64) -> Self {
        Lockouts {
            threshold: threshold.max(1),
            lockout_ms: lockout_s.saturating_mul(1_000),
            failures: DashMap::new(),
        }
    }

    /// `Err(seconds)` while the address is locked out for this email.
    pub fn check(&self, email_key: &str, ip: IpAddr, now: Timestamp) -> Result<(), u64> {
        let key = (email_key.to_owned(), ip);
        match self.failures.get(&key).and_then(|f| f.locked_until) {
            Some(until) if now < until => Err(until.since(now).as_secs().max(1)),
            Some(_) => {
                self.failures.remove(&key);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failed login; the failure that reaches the threshold starts the lockout,
    /// and then the answer is true.
    pub fn failure(&self, email_key: &str, ip: IpAddr, now: Timestamp) -> bool {
        if self.failures.len() >= MAX_ENTRIES {
            let stale = now.as_millis().saturating_sub(self.lockout_ms);
            self.failures.retain(|_, f| {
                f.last.as_millis() > stale || f.locked_until.is_some_and(|u| u > now)
            });
        }
        let mut entry = self
            .failures
            .entry((email_key.to_owned(), ip))
            .or_insert(Failures {
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

    /// A successful login resets the count.
    pub fn success(&self, email_key: &str, ip: IpAddr) {
        self.failures.remove(&(email_key.to_owned(), ip));
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
            assert_eq!(l.check("ada@x.org", ip(1), NOW), Ok(()));
            l.failure("ada@x.org", ip(1), NOW);
        }
        assert_eq!(
            l.check("ada@x.org", ip(1), NOW),
            Ok(()),
            "the tenth is still tried"
        );
        l.failure("ada@x.org", ip(1), NOW);
        assert_eq!(l.check("ada@x.org", ip(1), NOW), Err(900));
        assert_eq!(l.check("ada@x.org", ip(1), NOW.plus_secs(899)), Err(1));
        assert_eq!(l.check("ada@x.org", ip(1), NOW.plus_secs(900)), Ok(()));
    }

    #[test]
    fn a3_other_addresses_and_accounts_are_not_affected() {
        let l = Lockouts::new(2, 60);
        l.failure("ada@x.org", ip(1), NOW);
        l.failure("ada@x.org", ip(1), NOW);
        assert!(l.check("ada@x.org", ip(1), NOW).is_err());
        assert_eq!(l.check("ada@x.org", ip(2), NOW), Ok(()));
        assert_eq!(l.check("bo@x.org", ip(1), NOW), Ok(()));
    }

    #[test]
    fn a3_a_success_resets_the_count() {
        let l = Lockouts::new(2, 60);
        l.failure("ada@x.org", ip(1), NOW);
        l.success("ada@x.org", ip(1));
        l.failure("ada@x.org", ip(1), NOW);
        assert_eq!(l.check("ada@x.org", ip(1), NOW), Ok(()));
    }
}
