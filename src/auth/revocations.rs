//! A4 with revocation: "log out everywhere" and a password reset void every API token the
//! account was issued before that moment. The store keeps one time per account that ever
//! revoked; they are all read at start into this map, so checking a token still needs no
//! storage round trip. The map holds only accounts that revoked, so it stays small; with
//! several nodes, each hears the others' revocations through `cluster::bus`.

use dashmap::DashMap;
use seatbroker_actors::{AccountId, Timestamp};

/// Each revoking account's time before which its tokens are void.
#[derive(Debug, Default)]
pub struct TokenRevocations {
    before: DashMap<AccountId, Timestamp>,
}

impl TokenRevocations {
    /// The revocations read from the store.
    pub fn new(all: impl IntoIterator<Item = (AccountId, Timestamp)>) -> Self {
        TokenRevocations {
            before: all.into_iter().collect(),
        }
    }

    /// Voids `account`'s tokens issued up to `at`.
    pub fn revoke(&self, account: AccountId, at: Timestamp) {
        let mut entry = self.before.entry(account).or_insert(at);
        if *entry < at {
            *entry = at;
        }
    }

    /// Whether a token of `account` issued at `issued_at` was revoked. A token issued in the
    /// very millisecond of a revocation counts as revoked.
    pub fn is_revoked(&self, account: AccountId, issued_at: Timestamp) -> bool {
        self.before
            .get(&account)
            .is_some_and(|before| issued_at <= *before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a4_tokens_issued_before_a_revocation_are_void_later_ones_work() {
        let r = TokenRevocations::new([(AccountId(1), Timestamp(1_000))]);
        assert!(r.is_revoked(AccountId(1), Timestamp(999)));
        assert!(r.is_revoked(AccountId(1), Timestamp(1_000)));
        assert!(!r.is_revoked(AccountId(1), Timestamp(1_001)));
        assert!(!r.is_revoked(AccountId(2), Timestamp(0)), "other accounts");
        r.revoke(AccountId(1), Timestamp(500));
        assert!(
            r.is_revoked(AccountId(1), Timestamp(999)),
            "an older revocation does not undo a newer"
        );
        r.revoke(AccountId(2), Timestamp(10));
        assert!(r.is_revoked(AccountId(2), Timestamp(0)));
    }
}
