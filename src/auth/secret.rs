//! Secrets handed to a browser or sent by email (session ids, one-time link tokens): 32 random
//! bytes shown as hex, and kept in the store only as their SHA-256, so a copy of the store or
//! a log holds nothing usable; and how every secret given by a client is compared (`same`).

use sha2::{Digest, Sha256};

/// Whether `given` is `expected`, in a time that depends on `expected`'s length alone, so a
/// secret (the operator token, a CSRF token) cannot be guessed byte by byte from how long a
/// refusal takes. HMAC tags are checked by `Mac::verify_slice`, which does the same.
pub fn same(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, b) in expected.iter().enumerate() {
        diff |= b ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

/// A fresh secret: what the browser or the email gets (hex) and the store's key of it.
pub fn fresh() -> Result<(String, [u8; 32]), getrandom::Error> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw)?;
    Ok((hex::encode(raw), key_of_raw(&raw)))
}

/// The store's key of a secret's bytes.
pub fn key_of_raw(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

/// The store's key of a secret as handed out (hex); `None` for what is not one of ours.
pub fn key_of(shown: &str) -> Option<[u8; 32]> {
    if shown.len() != 64 {
        return None;
    }
    hex::decode(shown).ok().map(|raw| key_of_raw(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_is_true_only_for_the_same_bytes() {
        assert!(same(b"operator-token", b"operator-token"));
        assert!(same(b"", b""));
        for other in [
            &b"operator-tokem"[..],
            b"operator-toke",
            b"operator-token!",
            b"",
            b"x",
        ] {
            assert!(!same(other, b"operator-token"), "{other:?}");
        }
        assert!(!same(b"a", b""), "a longer guess of an empty secret");
    }

    #[test]
    fn a_secret_is_found_again_by_its_key_and_the_key_is_not_the_secret() {
        let (shown, key) = fresh().expect("randomness");
        assert_eq!(key_of(&shown), Some(key));
        assert_ne!(hex::encode(key), shown);
        assert_eq!(key_of("not hex"), None);
        assert_eq!(key_of(&shown[..62]), None);
        assert_ne!(fresh().expect("randomness").0, shown);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_shown_secret_reads_back_and_any_text_never_panics(
            raw in any::<[u8; 32]>(),
            text in prop_oneof![any_text(), "[0-9a-fA-F]{62,66}", near_text("[0-9a-f]{64}".prop_map(String::from))],
        ) {
            prop_assert_eq!(key_of(&hex::encode(raw)), Some(key_of_raw(&raw)));
            if let Some(key) = key_of(&text) {
                prop_assert_eq!(hex::decode(&text).ok().map(|b| key_of_raw(&b)), Some(key));
            }
        }
    }
}
