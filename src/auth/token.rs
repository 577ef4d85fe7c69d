//! A4: bearer tokens verified without a storage round trip. A token is
//! `v2.<account hex>.<expiry unix seconds>.<issue unix milliseconds>.<HMAC-SHA256 hex>`,
//! signed with a key kept in the store (or set in the settings), so tokens survive a restart.
//! Verification compares the MAC in constant time. The issue time lets "log out everywhere"
//! and a password reset void the tokens issued before them (`revocations`); tokens of the
//! earlier form `v1.<account>.<expiry>.<mac>` are still accepted, as issued at time zero.

use hmac::{Hmac, Mac};
use seatbroker_actors::{AccountId, Timestamp};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused (all answered 401 `unauthenticated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of ours.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match: tampered, or signed with another key.
    #[error("bad signature")]
    BadSignature,
    /// Past its expiry.
    #[error("expired token")]
    Expired,
}

/// What a verified token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// The account it speaks for.
    pub account: AccountId,
    /// When it was issued (time zero for tokens of the first form).
    pub issued_at: Timestamp,
}

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    /// HMAC already keyed: each token then costs its own blocks only, not the key's two.
    keyed: HmacSha256,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

impl TokenKey {
    /// A key from its bytes.
    pub fn new(key: Vec<u8>) -> Self {
        // HMAC accepts keys of any length.
        let keyed = match HmacSha256::new_from_slice(&key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        TokenKey { keyed }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(payload.as_bytes());
        mac
    }

    /// A token for `account` issued at `issued_at`, valid until `expires_at` (rounded down to
    /// the second).
    pub fn issue(&self, account: AccountId, issued_at: Timestamp, expires_at: Timestamp) -> String {
        let payload = format!(
            "v2.{:06x}.{}.{}",
            account.0,
            expires_at.as_millis() / 1_000,
            issued_at.as_millis()
        );
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", hex::encode(tag))
    }

    /// The account a token speaks for, if it is ours, untampered and not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AccountId, TokenError> {
        self.verify_claims(token, now).map(|c| c.account)
    }

    /// What a valid token says: its account and when it was issued.
    pub fn verify_claims(&self, token: &str, now: Timestamp) -> Result<Claims, TokenError> {
        let (payload, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = payload.split('.');
        let (account, expiry, issued) = match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some("v1"), Some(account), Some(expiry), None, None) => (account, expiry, "0"),
            (Some("v2"), Some(account), Some(expiry), Some(issued), None) => {
                (account, expiry, issued)
            }
            _ => return Err(TokenError::Malformed),
        };
        // A MAC is 32 bytes; anything longer is not one of ours (and is not decoded).
        if tag.len() > 128 {
            return Err(TokenError::Malformed);
        }
        let tag = hex::decode(tag).map_err(|_| TokenError::Malformed)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let account = u32::from_str_radix(account, 16).map_err(|_| TokenError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let issued_at: u64 = issued.parse().map_err(|_| TokenError::Malformed)?;
        if now >= Timestamp::from_secs(expiry) {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            account: AccountId(account),
            issued_at: Timestamp(issued_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn key() -> TokenKey {
        TokenKey::new(vec![7; 32])
    }

    #[test]
    fn a4_a_token_speaks_for_its_account_until_it_expires() {
        let token = key().issue(AccountId(0x3F9C21), NOW, NOW.plus_secs(60));
        assert_eq!(key().verify(&token, NOW), Ok(AccountId(0x3F9C21)));
        assert_eq!(
            key().verify_claims(&token, NOW).map(|c| c.issued_at),
            Ok(NOW),
            "the issue time is kept to the millisecond"
        );
        assert_eq!(
            key().verify(&token, NOW.plus_secs(60)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a4_tampered_and_foreign_tokens_are_refused() {
        let token = key().issue(AccountId(1), NOW, NOW.plus_secs(60));
        let forged = token.replacen("v2.000001", "v2.000002", 1);
        assert_eq!(key().verify(&forged, NOW), Err(TokenError::BadSignature));
        let longer = token.replacen(
            &format!(".{}.", (NOW.plus_secs(60).as_millis() / 1_000)),
            ".9999999999.",
            1,
        );
        assert_eq!(key().verify(&longer, NOW), Err(TokenError::BadSignature));
        let other = TokenKey::new(vec![8; 32]);
        assert_eq!(other.verify(&token, NOW), Err(TokenError::BadSignature));
        let later = token.replacen(&format!(".{}.", NOW.as_millis()), ".9999999999999.", 1);
        assert_eq!(key().verify(&later, NOW), Err(TokenError::BadSignature));
        for bad in [
            "",
            "v1",
            "v1.1.2",
            "v2.000001.1.00",
            "v1.000001.1.zz",
            "v3.1.2.3.00",
        ] {
            assert!(key().verify(bad, NOW).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a4_tokens_of_the_first_form_still_work_as_issued_at_time_zero() {
        let payload = format!("v1.{:06x}.{}", 5, NOW.plus_secs(60).as_millis() / 1_000);
        let tag = key().mac(&payload).finalize().into_bytes();
        let old = format!("{payload}.{}", hex::encode(tag));
        assert_eq!(
            key().verify_claims(&old, NOW),
            Ok(Claims {
                account: AccountId(5),
                issued_at: Timestamp(0)
            })
        );
    }

    proptest! {
        #[test]
        fn a4_no_string_panics_or_passes_without_the_key(raw in ".{0,120}") {
            prop_assert!(key().verify(&raw, NOW).is_err());
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    fn key() -> TokenKey {
        TokenKey::new(b"a key of thirty-two bytes or so.".to_vec())
    }

    /// A token's claims and its lifetime: an account, issued some time, valid for a while.
    fn claims() -> impl Strategy<Value = (u32, u64, u64)> {
        (any::<u32>(), 0u64..4_000_000_000_000, 1u64..100_000_000)
    }

    proptest! {
        #[test]
        fn a4_an_issued_token_round_trips_to_its_claims((account, issued, ttl_s) in claims()) {
            let issued_at = Timestamp(issued);
            let token = key().issue(AccountId(account), issued_at, issued_at.plus_secs(ttl_s));
            prop_assert_eq!(
                key().verify_claims(&token, issued_at),
                Ok(Claims { account: AccountId(account), issued_at })
            );
            prop_assert_eq!(key().verify(&token, issued_at.plus_secs(ttl_s)), Err(TokenError::Expired));
        }

        #[test]
        fn a4_an_edited_token_never_speaks_for_other_claims(
            (token, claims) in claims().prop_flat_map(|(account, issued, ttl_s)| {
                let issued_at = Timestamp(issued);
                let token = key().issue(AccountId(account), issued_at, issued_at.plus_secs(ttl_s));
                (near_text(Just(token)), Just(Claims { account: AccountId(account), issued_at }))
            }),
        ) {
            match key().verify_claims(&token, claims.issued_at) {
                Ok(got) => prop_assert_eq!(got, claims, "{}", token),
                Err(e) => prop_assert_ne!(e, TokenError::Expired),
            }
        }

        #[test]
        fn a4_token_verification_never_panics(raw in prop_oneof![any_text(), "v[12](\\.[0-9a-f]{0,10}){2,4}\\.[0-9a-fA-F]{0,130}"]) {
            prop_assert!(key().verify(&raw, Timestamp(0)).is_err());
        }
    }
}
