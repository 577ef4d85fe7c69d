//! Privacy of devices: the broker never keeps the device id a client sends. The service turns
//! it into a keyed hash (HMAC-SHA256 under a secret kept in the store) before anything else
//! sees it, and people are shown a short fingerprint of that hash. What lives here: the hash,
//! the stored form (`h1:` and 32 hex digits), the fingerprint, and recognising a stored id of
//! an older version (the raw id) so that it can be migrated. No I/O: the key comes from the
//! caller.

use hmac::{Hmac, Mac};
use seatbroker_actors::DeviceId;
use sha2::Sha256;

/// What a stored (hashed) device id starts with; anything else was stored by an earlier
/// version as the client sent it.
pub const HASHED_PREFIX: &str = "h1:";

/// How many bytes of the HMAC a stored id keeps: 128 bits, so that no two devices of an
/// account collide, and short enough (35 characters) for the seat table to keep inline.
const HASH_BYTES: usize = 16;

/// How many hex digits of the hash a fingerprint shows (48 bits: distinct among one
/// account's devices, and too short to be looked up anywhere).
const FINGERPRINT_DIGITS: usize = 12;

/// The key that turns sent device ids into stored ones.
#[derive(Clone)]
pub struct DeviceKey {
    /// HMAC already keyed: each id then costs its own blocks only, not the key's two.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceKey(..)")
    }
}

impl DeviceKey {
    /// A key from the secret kept in the store.
    pub fn new(key: Vec<u8>) -> Self {
        let keyed = match Hmac::<Sha256>::new_from_slice(&key) {
            Ok(mac) => mac,
            // HMAC takes a key of any length; this arm is never taken.
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        DeviceKey { keyed }
    }

    /// The stored form of a device id as a client sent it: `h1:` and the first 32 hex
    /// digits (128 bits) of HMAC-SHA256(key, id). The same id always gives the same stored id (S2 finds the seat
    /// again), and the stored id says nothing about the sent one without the key.
    pub fn hash(&self, sent: &DeviceId) -> DeviceId {
        let mut mac = self.keyed.clone();
        mac.update(sent.as_str().as_bytes());
        let digest = hex::encode(&mac.finalize().into_bytes()[..HASH_BYTES]);
        match DeviceId::parse(&format!("{HASHED_PREFIX}{digest}")) {
            Ok(id) => id,
            // 35 printable characters always pass the 128-character rule.
            Err(_) => unreachable!("a hashed device id is a valid device id"),
        }
    }

    /// The stored form of `stored` when it was kept raw by an earlier version (the
    /// migration of existing data); `None` when it is hashed already.
    pub fn migrate(&self, stored: &DeviceId) -> Option<DeviceId> {
        (!is_hashed(stored)).then(|| self.hash(stored))
    }
}

impl seatbroker_actors::DeviceMigration for DeviceKey {
    fn migrate(&self, stored: &DeviceId) -> Option<DeviceId> {
        DeviceKey::migrate(self, stored)
    }
}

/// Whether a stored device id is in the hashed form.
pub fn is_hashed(stored: &DeviceId) -> bool {
    stored
        .as_str()
        .strip_prefix(HASHED_PREFIX)
        .is_some_and(|hex| {
            hex.len() == 2 * HASH_BYTES && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// What people are shown of a stored device id: the first 12 hex digits of its hash in three
/// groups (`3fa9-1c2b-77de`). A stored id that is not hashed yet (before its pool was loaded
/// and migrated) is shown through an unkeyed SHA-256, never as it was sent.
pub fn fingerprint(stored: &DeviceId) -> String {
    let digits: String = match stored.as_str().strip_prefix(HASHED_PREFIX) {
        Some(hex) if is_hashed(stored) => hex[..FINGERPRINT_DIGITS].to_owned(),
        _ => {
            use sha2::Digest;
            hex::encode(Sha256::digest(stored.as_str().as_bytes()))[..FINGERPRINT_DIGITS].to_owned()
        }
    };
    format!("{}-{}-{}", &digits[0..4], &digits[4..8], &digits[8..12])
}

/// `typed` as a fingerprint when it is one (12 hex digits, dashes anywhere, any case).
pub fn as_fingerprint(typed: &str) -> Option<String> {
    let digits: String = typed
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (digits.len() == FINGERPRINT_DIGITS && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("{}-{}-{}", &digits[0..4], &digits[4..8], &digits[8..12]))
}

/// Whether `candidate` (what a person typed: a fingerprint, with or without its dashes, or a
/// whole stored id) names the stored device id `stored`.
pub fn names(candidate: &str, stored: &DeviceId) -> bool {
    candidate.trim() == stored.as_str()
        || as_fingerprint(candidate).is_some_and(|print| print == fingerprint(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> DeviceId {
        DeviceId::parse(raw).expect("a valid id")
    }

    #[test]
    fn a_sent_id_is_stored_as_a_keyed_hash_that_does_not_contain_it() {
        let key = DeviceKey::new(b"k1".to_vec());
        let stored = key.hash(&id("alice-laptop"));
        assert!(is_hashed(&stored));
        assert!(!stored.as_str().contains("alice"));
        // Short enough for the seat table to keep inline (46 bytes).
        assert_eq!(stored.as_str().len(), 35);
        assert_eq!(
            stored,
            key.hash(&id("alice-laptop")),
            "S2 finds the seat again"
        );
        assert_ne!(stored, key.hash(&id("alice-desktop")));
        assert_ne!(
            stored,
            DeviceKey::new(b"k2".to_vec()).hash(&id("alice-laptop"))
        );
    }

    #[test]
    fn only_raw_ids_of_an_earlier_version_are_migrated() {
        let key = DeviceKey::new(b"k".to_vec());
        let raw = id("old-device");
        let migrated = key.migrate(&raw).expect("a raw id is migrated");
        assert_eq!(migrated, key.hash(&raw));
        assert_eq!(
            key.migrate(&migrated),
            None,
            "migrating twice changes nothing"
        );
        assert!(key.migrate(&id("h1:not-hex")).is_some());
    }

    #[test]
    fn a_fingerprint_is_short_and_names_its_device() {
        let key = DeviceKey::new(b"k".to_vec());
        let stored = key.hash(&id("laptop"));
        let print = fingerprint(&stored);
        assert_eq!(print.len(), 14);
        assert_eq!(&print.replace('-', ""), &stored.as_str()[3..15]);
        assert!(names(&print, &stored));
        assert!(names(&print.replace('-', "").to_uppercase(), &stored));
        assert!(names(stored.as_str(), &stored));
        assert!(!names("laptop", &stored));
        assert_eq!(
            as_fingerprint(" 3FA91C2B77DE"),
            Some("3fa9-1c2b-77de".into())
        );
        assert_eq!(as_fingerprint("3fa9-1c2b-77d"), None);
        let raw = id("never-shown");
        assert!(!fingerprint(&raw).contains("never"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    fn stored_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "h1:[0-9a-f]{32}",
            near_text("h1:[0-9a-f]{32}".prop_map(String::from)),
            "\\PC{1,128}",
            any_text(),
        ]
    }

    proptest! {
        #[test]
        fn device_id_parse_never_panics_and_round_trips(raw in stored_text()) {
            if let Ok(id) = DeviceId::parse(&raw) {
                prop_assert_eq!(id.as_str(), raw.as_str());
                prop_assert_eq!(DeviceId::parse(&id.to_string()), Ok(id.clone()));
                let json = serde_json::to_string(&id).unwrap();
                prop_assert_eq!(serde_json::from_str::<DeviceId>(&json).unwrap(), id);
            }
        }

        #[test]
        fn a_fingerprint_of_any_stored_id_is_a_fingerprint_that_names_it(raw in stored_text()) {
            if let Ok(stored) = DeviceId::parse(&raw) {
                let print = fingerprint(&stored);
                prop_assert_eq!(as_fingerprint(&print), Some(print.clone()));
                prop_assert!(names(&print, &stored));
                let key = DeviceKey::new(raw.clone().into_bytes());
                let hashed = key.hash(&stored);
                prop_assert!(is_hashed(&hashed));
                prop_assert_eq!(key.migrate(&hashed), None);
            }
        }

        #[test]
        fn reading_a_typed_fingerprint_is_idempotent(
            raw in prop_oneof![any_text(), "[0-9a-fA-F-]{10,16}", near_text("[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}".prop_map(String::from))],
        ) {
            if let Some(print) = as_fingerprint(&raw) {
                prop_assert_eq!(as_fingerprint(&print), Some(print.clone()));
            }
        }
    }
}
