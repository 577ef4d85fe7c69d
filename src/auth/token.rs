//! A4: bearer tokens verified without a storage round trip. A token is
//! `v1.<account hex>.<expiry unix seconds>.<HMAC-SHA256 hex>`, signed with a key kept in the
//! store (or set in the settings), so tokens survive a restart. Verification compares the MAC
//! in constant time.

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

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

impl TokenKey {
    /// A key from its bytes.
    pub fn new(key: Vec<u8>) -> Self {
        TokenKey { key }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(payload.as_bytes());
        mac
    }

    /// A token for `account` valid until `expires_at` (rounded down to the second).
    pub fn issue(&self, account: AccountId, expires_at: Timestamp) -> String {
        let payload = format!("v1.{:06x}.{}", account.0, expires_at.as_millis() / 1_000);
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", hex(&tag))
    }

    /// The account a token speaks for, if it is ours, untampered and not expired at `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AccountId, TokenError> {
        let (payload, tag) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(account), Some(expiry), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let tag = unhex(tag).ok_or(TokenError::Malformed)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let account = u32::from_str_radix(account, 16).map_err(|_| TokenError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if now >= Timestamp::from_secs(expiry) {
            return Err(TokenError::Expired);
        }
        Ok(AccountId(account))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
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
        let token = key().issue(AccountId(0x3F9C21), NOW.plus_secs(60));
        assert_eq!(key().verify(&token, NOW), Ok(AccountId(0x3F9C21)));
        assert_eq!(
            key().verify(&token, NOW.plus_secs(60)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a4_tampered_and_foreign_tokens_are_refused() {
        let token = key().issue(AccountId(1), NOW.plus_secs(60));
        let forged = token.replacen("v1.000001", "v1.000002", 1);
        assert_eq!(key().verify(&forged, NOW), Err(TokenError::BadSignature));
        let longer = token.replacen(
            &format!(".{}.", (NOW.plus_secs(60).as_millis() / 1_000)),
            ".9999999999.",
            1,
        );
        assert_eq!(key().verify(&longer, NOW), Err(TokenError::BadSignature));
        let other = TokenKey::new(vec![8; 32]);
        assert_eq!(other.verify(&token, NOW), Err(TokenError::BadSignature));
        for bad in ["", "v1", "v1.1.2", "v2.000001.1.00", "v1.000001.1.zz"] {
            assert!(key().verify(bad, NOW).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a4_no_string_panics_or_passes_without_the_key(raw in ".{0,120}") {
            prop_assert!(key().verify(&raw, NOW).is_err());
        }
    }
}
