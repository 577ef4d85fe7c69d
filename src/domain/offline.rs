//! Issue 16, offline activation: the keyring that signs offline license files, as the store
//! keeps it (one MessagePack record under `store::secrets::OFFLINE_KEYS`), and its rotation.
//! The current key signs; the public halves of retired keys stay published, so a license
//! file signed before a rotation keeps verifying on its computer until its seat is released.
//! Pure: no I/O and no clock (the service reads and writes the record and passes the time).
//! The file formats themselves are in `seatbroker_api::offline`, shared with the client.

use ed25519_dalek::{SigningKey, VerifyingKey};
use seatbroker_actors::Timestamp;
use serde::{Deserialize, Serialize};

/// A retired signing key: only its public half is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredKey {
    /// The 32 bytes of the Ed25519 public key.
    pub public: Vec<u8>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When a newer key replaced it.
    pub retired_at: Timestamp,
}

/// The offline signing keys as stored. Made only by `new`, `decode` and `rotated`, so its
/// seed always has 32 bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// The 32-byte seed of the current Ed25519 signing key.
    current: Vec<u8>,
    /// When the current key was made.
    created_at: Timestamp,
    /// Earlier keys, oldest first.
    retired: Vec<RetiredKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "key_id",
                &seatbroker_api::offline::key_id(&self.verifying_key()),
            )
            .field("retired", &self.retired.len())
            .finish_non_exhaustive()
    }
}

/// Why a stored keyring cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored offline signing keys are unreadable")]
pub struct KeyringUnreadable;

impl Keyring {
    /// A keyring whose current key grows from `seed` (32 random bytes), made at `now`.
    pub fn new(seed: [u8; 32], now: Timestamp) -> Keyring {
        Keyring {
            current: seed.to_vec(),
            created_at: now,
            retired: Vec::new(),
        }
    }

    /// Reads a stored keyring, checking that its keys are keys.
    pub fn decode(bytes: &[u8]) -> Result<Keyring, KeyringUnreadable> {
        // The store's reader, which bounds how deep the bytes may nest.
        let ring: Keyring = crate::store::decode(bytes).map_err(|_| KeyringUnreadable)?;
        let seed_ok = ring.current.len() == 32;
        let retired_ok = ring.retired.iter().all(|r| public_key(&r.public).is_some());
        if seed_ok && retired_ok {
            Ok(ring)
        } else {
            Err(KeyringUnreadable)
        }
    }

    /// The bytes the store keeps.
    pub fn encode(&self) -> Vec<u8> {
        // Encoding a struct of byte vectors and integers into a vector cannot fail.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// The key that signs new license files.
    pub fn signing_key(&self) -> SigningKey {
        let mut seed = [0u8; 32];
        for (to, from) in seed.iter_mut().zip(&self.current) {
            *to = *from;
        }
        SigningKey::from_bytes(&seed)
    }

    /// When the current key was made.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The retired keys, oldest first.
    pub fn retired(&self) -> &[RetiredKey] {
        &self.retired
    }

    /// The public half of the current key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key().verifying_key()
    }

    /// The public halves of the retired keys, oldest first.
    pub fn retired_keys(&self) -> Vec<VerifyingKey> {
        self.retired
            .iter()
            .filter_map(|r| public_key(&r.public))
            .collect()
    }

    /// This keyring after a rotation at `now`: a new current key from `seed`, the current
    /// one retired (its public half kept).
    pub fn rotated(&self, seed: [u8; 32], now: Timestamp) -> Keyring {
        let mut retired = self.retired.clone();
        retired.push(RetiredKey {
            public: self.verifying_key().to_bytes().to_vec(),
            created_at: self.created_at,
            retired_at: now,
        });
        Keyring {
            current: seed.to_vec(),
            created_at: now,
            retired,
        }
    }
}

fn public_key(bytes: &[u8]) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_800_000_000_000);

    #[test]
    fn a_keyring_round_trips_and_rotation_keeps_the_old_public_key() {
        let ring = Keyring::new([7; 32], T0);
        assert_eq!(Keyring::decode(&ring.encode()), Ok(ring.clone()));
        let old = ring.verifying_key();
        let next = ring.rotated([9; 32], T0.plus_secs(60));
        assert_ne!(next.verifying_key(), old);
        assert_eq!(next.retired_keys(), vec![old]);
        assert_eq!(next.retired[0].retired_at, T0.plus_secs(60));
        assert_eq!(next.retired[0].created_at, T0);
        let third = next.rotated([11; 32], T0.plus_secs(120));
        assert_eq!(third.retired_keys().len(), 2);
        assert_eq!(Keyring::decode(&third.encode()), Ok(third));
    }

    #[test]
    fn unreadable_keyrings_are_refused() {
        assert_eq!(Keyring::decode(b"nonsense"), Err(KeyringUnreadable));
        let mut short = Keyring::new([7; 32], T0);
        short.current.pop();
        assert_eq!(Keyring::decode(&short.encode()), Err(KeyringUnreadable));
        let mut bad = Keyring::new([7; 32], T0);
        bad.retired.push(RetiredKey {
            public: vec![1; 31],
            created_at: T0,
            retired_at: T0,
        });
        assert_eq!(Keyring::decode(&bad.encode()), Err(KeyringUnreadable));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::near_bytes;
    use proptest::prelude::*;

    /// A keyring after some rotations.
    fn keyring() -> impl Strategy<Value = Keyring> {
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            prop::collection::vec((any::<[u8; 32]>(), any::<u64>()), 0..4),
        )
            .prop_map(|(seed, at, rotations)| {
                rotations
                    .into_iter()
                    .fold(Keyring::new(seed, Timestamp(at)), |ring, (seed, at)| {
                        ring.rotated(seed, Timestamp(at))
                    })
            })
    }

    #[test]
    fn a_keyring_nested_a_thousand_deep_is_unreadable_not_a_crash() {
        let mut deep = vec![0x81, 0xA1, b'x'];
        deep.extend(std::iter::repeat_n(0x91, 1_000));
        deep.push(0xC0);
        assert_eq!(Keyring::decode(&deep), Err(KeyringUnreadable));
    }

    proptest! {
        #[test]
        fn a_keyring_round_trips_through_its_stored_bytes(ring in keyring()) {
            prop_assert_eq!(Keyring::decode(&ring.encode()), Ok(ring));
        }

        #[test]
        fn decoding_any_bytes_as_a_keyring_never_panics(
            bytes in prop_oneof![any::<Vec<u8>>(), near_bytes(keyring().prop_map(|r| r.encode()))],
        ) {
            if let Ok(ring) = Keyring::decode(&bytes) {
                let _ = format!("{ring:?}");
                prop_assert_eq!(ring.retired_keys().len(), ring.retired().len());
                prop_assert_eq!(Keyring::decode(&ring.encode()), Ok(ring));
            }
        }
    }
}
