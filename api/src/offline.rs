//! Issue 16, offline activation: the two files that carry a seat to a computer with no
//! network, and the bodies of the HTTP calls around them. The offline computer writes a
//! request (`SBOR1.` and the base64url JSON of an `OfflineRequest`); the broker answers with
//! a license (`SBOL1.`, the base64url JSON of an `OfflineLicense`, `.`, and the base64url
//! Ed25519 signature over exactly those JSON bytes), which the client library checks against
//! the broker's published public keys with no network. Encoding, decoding and the signature
//! check live here, beside the shapes, so that the broker and the client read every byte the
//! same way; decoding is strict (exact prefixes, canonical base64url without padding) so that
//! one license has exactly one text. No I/O and no clock: callers pass the time and keep the
//! files. Which request deserves a seat is the broker's business, which license this device
//! keeps is the client library's.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Platform, Seat};

/// The start of an offline request's text: version 1 of the format.
pub const REQUEST_PREFIX: &str = "SBOR1.";

/// The start of an offline license's text: version 1 of the format.
pub const LICENSE_PREFIX: &str = "SBOL1.";

/// How old a request may be when the broker accepts it, and when its license is applied.
pub const MAX_REQUEST_AGE_MS: u64 = 7 * 24 * 3600 * 1000;

/// The longest request text `OfflineRequest::decode` reads, in characters.
const MAX_REQUEST_CHARS: usize = 4096;

/// The longest license text `OfflineLicense::verify` reads, in bytes: far above any license
/// the broker writes (its fields are short), low enough to refuse a huge file at once.
const MAX_LICENSE_BYTES: usize = 16 * 1024;

/// The longest device id, in characters, as the seat API allows it.
const MAX_DEVICE_ID_CHARS: usize = 128;

/// The longest pool id or invite code a request may name, in characters.
const MAX_TARGET_CHARS: usize = 64;

/// The format version both files carry.
const VERSION: u8 = 1;

/// What an offline computer asks for: a seat for this device, in a pool or through an invite
/// code or (neither) in the pool the broker picks for the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineRequest {
    /// The format version, 1.
    pub v: u8,
    /// 32 lowercase hex digits (128 random bits) naming this request alone.
    pub nonce: String,
    /// The device id, 1 to 128 printable characters, as in `POST /v1/seats`.
    pub device_id: String,
    /// The device's platform: Windows or Mac (a web session has no offline computer).
    pub platform: Platform,
    /// The pool to take the seat in, `P-...`, if the application names one.
    pub pool: Option<String>,
    /// An invite code to join a pool with and take the seat there, if any.
    pub invite_code: Option<String>,
    /// When the request was made, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

impl OfflineRequest {
    /// The request's text: `SBOR1.` and the base64url (no padding) of its JSON.
    pub fn encode(&self) -> String {
        format!("{REQUEST_PREFIX}{}", URL_SAFE_NO_PAD.encode(to_json(self)))
    }

    /// Reads a request's text (surrounding whitespace ignored), refusing anything that is not
    /// a valid version 1 request.
    pub fn decode(text: &str) -> Result<OfflineRequest, OfflineFormatError> {
        let text = text.trim();
        if text.chars().count() > MAX_REQUEST_CHARS {
            return Err(malformed(format!(
                "the request is longer than {MAX_REQUEST_CHARS} characters"
            )));
        }
        let encoded = text.strip_prefix(REQUEST_PREFIX).ok_or_else(|| {
            malformed(format!("the request does not start with {REQUEST_PREFIX}"))
        })?;
        let json = decode_base64("the request", encoded)?;
        let request: OfflineRequest = serde_json::from_slice(&json)
            .map_err(|e| malformed(format!("the request's content cannot be read: {e}")))?;
        request.validate()?;
        Ok(request)
    }

    /// Every rule a decoded request must meet.
    fn validate(&self) -> Result<(), OfflineFormatError> {
        if self.v != VERSION {
            return Err(malformed(format!(
                "request version {} is not supported",
                self.v
            )));
        }
        let nonce_ok = self.nonce.len() == 32
            && self
                .nonce
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !nonce_ok {
            return Err(malformed("the nonce is not 32 lowercase hex digits"));
        }
        check_text("device_id", &self.device_id, MAX_DEVICE_ID_CHARS)?;
        if self.platform == Platform::Web {
            return Err(malformed("a web session cannot be activated offline"));
        }
        if self.pool.is_some() && self.invite_code.is_some() {
            return Err(malformed(
                "a request names either a pool or an invite code, not both",
            ));
        }
        if let Some(pool) = &self.pool {
            check_text("pool", pool, MAX_TARGET_CHARS)?;
        }
        if let Some(code) = &self.invite_code {
            check_text("invite_code", code, MAX_TARGET_CHARS)?;
        }
        Ok(())
    }
}

/// The broker's answer to one offline request: the seat it holds for that device for good,
/// signed so the offline computer can check it with no network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineLicense {
    /// The format version, 1.
    pub v: u8,
    /// The `key_id` of the key that signed it.
    pub key_id: String,
    /// The nonce of the request it answers.
    pub nonce: String,
    /// The device id of that request.
    pub device_id: String,
    /// The platform of that request.
    pub platform: Platform,
    /// The pool the seat is in, `P-...`.
    pub pool_id: String,
    /// The seat, `S-...`.
    pub seat_id: String,
    /// The account holding the seat, `A-...`.
    pub account_id: String,
    /// `created_at_ms` of the request it answers.
    pub request_created_at_ms: u64,
    /// When the broker signed it, in milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
}

impl OfflineLicense {
    /// The license's text signed with `key`, whose `key_id` this license must already carry.
    pub fn sign(&self, key: &SigningKey) -> String {
        let json = to_json(self);
        let signature = key.sign(&json);
        format!(
            "{LICENSE_PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// Reads a license's text (one trailing newline allowed, nothing else around it), checks
    /// its signature with the one of `keys` its `key_id` names, and answers its content.
    pub fn verify(text: &str, keys: &[VerifyingKey]) -> Result<OfflineLicense, OfflineFormatError> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.len() > MAX_LICENSE_BYTES {
            return Err(malformed("the license is far too long"));
        }
        let rest = text.strip_prefix(LICENSE_PREFIX).ok_or_else(|| {
            malformed(format!("the license does not start with {LICENSE_PREFIX}"))
        })?;
        let (payload, signature) = rest
            .split_once('.')
            .ok_or_else(|| malformed("the license has no signature"))?;
        let json = decode_base64("the license", payload)?;
        let signature: [u8; 64] = decode_base64("the license's signature", signature)?
            .try_into()
            .map_err(|_| malformed("the license's signature is not 64 bytes"))?;
        // Only to pick the key: nothing else of the content is trusted before the check.
        let claimed: SignedBy = serde_json::from_slice(&json)
            .map_err(|e| malformed(format!("the license's content cannot be read: {e}")))?;
        let key = keys
            .iter()
            .find(|key| key_id(key) == claimed.key_id)
            .ok_or(OfflineFormatError::UnknownKey(claimed.key_id))?;
        key.verify_strict(&json, &Signature::from_bytes(&signature))
            .map_err(|_| OfflineFormatError::BadSignature)?;
        let license: OfflineLicense = serde_json::from_slice(&json)
            .map_err(|e| malformed(format!("the license's content cannot be read: {e}")))?;
        if license.v != VERSION {
            return Err(malformed(format!(
                "license version {} is not supported",
                license.v
            )));
        }
        Ok(license)
    }
}

/// The one field of a license read before its signature is checked.
#[derive(Deserialize)]
struct SignedBy {
    key_id: String,
}

/// A public key's short name: lowercase hex of the first 8 bytes of SHA-256 of its 32 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut id = String::with_capacity(16);
    for b in &digest[..8] {
        // Writing to a String cannot fail.
        let _ = write!(id, "{b:02x}");
    }
    id
}

/// A public key as text: the base64url (no padding) of its 32 bytes.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Reads a public key written by `encode_public_key` (surrounding whitespace ignored).
pub fn decode_public_key(text: &str) -> Result<VerifyingKey, OfflineFormatError> {
    let bytes: [u8; 32] = decode_base64("the public key", text.trim())?
        .try_into()
        .map_err(|_| malformed("the public key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| malformed("the public key is not an Ed25519 key"))?;
    if key.is_weak() {
        return Err(malformed("the public key is a weak Ed25519 key"));
    }
    Ok(key)
}

/// Why an offline file or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineFormatError {
    /// Not a file of this format, or a rule of it broken; the reason is for people.
    #[error("not a valid offline file: {0}")]
    Malformed(String),
    /// Signed by a key that is not among the given ones (its `key_id`).
    #[error("the license is signed by an unknown key ({0})")]
    UnknownKey(String),
    /// The signature does not match the content.
    #[error("the license's signature does not match its content")]
    BadSignature,
}

/// The body of `POST /v1/offline/activations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OfflineActivationBody {
    /// The request's text, `SBOR1.`...
    pub request: String,
}

/// The answer of `POST /v1/offline/activations`: the license file and its seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OfflineActivation {
    /// The license's text, `SBOL1.`...
    pub license: String,
    /// A name to save it under.
    pub file_name: String,
    /// The seat it holds.
    pub seat: Seat,
}

/// The answer of `GET /v1/offline/public-key`: the key that signs licenses now, and the
/// retired ones whose licenses still count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OfflinePublicKey {
    /// The signature algorithm, `ed25519`.
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub algorithm: Cow<'static, str>,
    /// The current key's `key_id`.
    pub key_id: String,
    /// The current key, base64url without padding.
    pub public_key: String,
    /// Earlier keys, oldest first.
    pub retired: Vec<OfflineRetiredKey>,
}

/// A retired signing key's public half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OfflineRetiredKey {
    /// Its `key_id`.
    pub key_id: String,
    /// The key, base64url without padding.
    pub public_key: String,
}

fn malformed(reason: impl Into<String>) -> OfflineFormatError {
    OfflineFormatError::Malformed(reason.into())
}

/// Canonical base64url without padding: non-zero trailing bits and `=` are refused, so one
/// content has exactly one text.
fn decode_base64(what: &str, text: &str) -> Result<Vec<u8>, OfflineFormatError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| malformed(format!("{what} is not base64url: {e}")))
}

/// The JSON of a file's content.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // These structs hold only strings, integers and an enum: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// `value` is 1 to `max` printable characters.
fn check_text(field: &str, value: &str, max: usize) -> Result<(), OfflineFormatError> {
    if value.is_empty() {
        return Err(malformed(format!("{field} is empty")));
    }
    if value.chars().count() > max {
        return Err(malformed(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(malformed(format!(
            "{field} holds characters that cannot be printed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn request() -> OfflineRequest {
        OfflineRequest {
            v: 1,
            nonce: "0123456789abcdef0123456789abcdef".into(),
            device_id: "laptop-1".into(),
            platform: Platform::Windows,
            pool: Some("P-3F9C21".into()),
            invite_code: None,
            created_at_ms: 1_800_000_000_000,
        }
    }

    fn license(key: &SigningKey) -> OfflineLicense {
        OfflineLicense {
            v: 1,
            key_id: key_id(&key.verifying_key()),
            nonce: "0123456789abcdef0123456789abcdef".into(),
            device_id: "laptop-1".into(),
            platform: Platform::Mac,
            pool_id: "P-3F9C21".into(),
            seat_id: "S-3F9C21-1000003".into(),
            account_id: "A-000002".into(),
            request_created_at_ms: 1_800_000_000_000,
            issued_at_ms: 1_800_000_060_000,
        }
    }

    /// A request's text with its JSON replaced.
    fn request_text(json: serde_json::Value) -> String {
        format!(
            "{REQUEST_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(json.to_string())
        )
    }

    fn is_malformed<T: std::fmt::Debug>(result: Result<T, OfflineFormatError>) -> bool {
        matches!(result, Err(OfflineFormatError::Malformed(_)))
    }

    #[test]
    fn a_request_round_trips_through_its_text_with_whitespace_around() {
        let text = request().encode();
        assert!(text.starts_with("SBOR1."));
        assert_eq!(OfflineRequest::decode(&text), Ok(request()));
        assert_eq!(
            OfflineRequest::decode(&format!("  \r\n{text}\n\t")),
            Ok(request())
        );
        let neither = OfflineRequest {
            pool: None,
            ..request()
        };
        assert_eq!(OfflineRequest::decode(&neither.encode()), Ok(neither));
        let invited = OfflineRequest {
            pool: None,
            invite_code: Some("I-7K2M9Q".into()),
            platform: Platform::Mac,
            ..request()
        };
        assert_eq!(OfflineRequest::decode(&invited.encode()), Ok(invited));
    }

    #[test]
    fn a_request_breaking_a_rule_is_refused() {
        let broken = [
            OfflineRequest { v: 2, ..request() },
            OfflineRequest {
                nonce: "0123456789ABCDEF0123456789ABCDEF".into(),
                ..request()
            },
            OfflineRequest {
                nonce: "0123456789abcdef".into(),
                ..request()
            },
            OfflineRequest {
                nonce: "0123456789abcdef0123456789abcdeg".into(),
                ..request()
            },
            OfflineRequest {
                device_id: String::new(),
                ..request()
            },
            OfflineRequest {
                device_id: "d".repeat(129),
                ..request()
            },
            OfflineRequest {
                device_id: "tab\there".into(),
                ..request()
            },
            OfflineRequest {
                platform: Platform::Web,
                ..request()
            },
            OfflineRequest {
                invite_code: Some("I-7K2M9Q".into()),
                ..request()
            },
            OfflineRequest {
                pool: Some("P".repeat(65)),
                ..request()
            },
            OfflineRequest {
                pool: Some(String::new()),
                ..request()
            },
            OfflineRequest {
                pool: None,
                invite_code: Some("line\nbreak".into()),
                ..request()
            },
        ];
        for request in broken {
            assert!(
                is_malformed(OfflineRequest::decode(&request.encode())),
                "{request:?}"
            );
        }
        // The limits themselves are allowed, counted in characters.
        let longest = OfflineRequest {
            device_id: "é".repeat(128),
            pool: Some("P".repeat(64)),
            ..request()
        };
        assert_eq!(OfflineRequest::decode(&longest.encode()), Ok(longest));
    }

    #[test]
    fn a_request_text_that_is_not_the_format_is_refused() {
        let text = request().encode();
        let encoded = &text[REQUEST_PREFIX.len()..];
        let mut json = serde_json::to_value(request()).unwrap();
        json.as_object_mut().unwrap().remove("nonce");
        for bad in [
            String::new(),
            encoded.to_owned(),
            format!("sbor1.{encoded}"),
            format!("SBOL1.{encoded}"),
            format!("{text}="),
            format!("{text}!"),
            text.replace('.', ". "),
            format!("{text}{}", "A".repeat(4096)),
            format!("{REQUEST_PREFIX}{}", URL_SAFE_NO_PAD.encode("not json")),
            request_text(json),
            request_text(serde_json::json!({"v": 1})),
        ] {
            assert!(is_malformed(OfflineRequest::decode(&bad)), "{bad}");
        }
    }

    #[test]
    fn a_license_verifies_with_its_key_among_others() {
        let key = signing_key(7);
        let text = license(&key).sign(&key);
        assert!(text.starts_with("SBOL1.") && !text.ends_with('\n'));
        let keys = [
            signing_key(1).verifying_key(),
            key.verifying_key(),
            signing_key(2).verifying_key(),
        ];
        assert_eq!(OfflineLicense::verify(&text, &keys), Ok(license(&key)));
        assert_eq!(
            OfflineLicense::verify(&format!("{text}\n"), &keys),
            Ok(license(&key))
        );
    }

    #[test]
    fn a_license_signed_by_another_key_is_refused_as_unknown() {
        let key = signing_key(7);
        let text = license(&key).sign(&key);
        let other = signing_key(8).verifying_key();
        assert_eq!(
            OfflineLicense::verify(&text, &[other]),
            Err(OfflineFormatError::UnknownKey(key_id(&key.verifying_key())))
        );
        assert!(matches!(
            OfflineLicense::verify(&text, &[]),
            Err(OfflineFormatError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_license_naming_a_key_it_was_not_signed_with_has_a_bad_signature() {
        let trusted = signing_key(7);
        let forger = signing_key(9);
        let text = license(&trusted).sign(&forger);
        assert_eq!(
            OfflineLicense::verify(&text, &[trusted.verifying_key()]),
            Err(OfflineFormatError::BadSignature)
        );
    }

    #[test]
    fn a_license_text_that_is_not_strictly_the_format_is_refused() {
        let key = signing_key(7);
        let keys = [key.verifying_key()];
        let text = license(&key).sign(&key);
        let (payload, signature) = text[LICENSE_PREFIX.len()..].split_once('.').unwrap();
        let unsupported = OfflineLicense {
            v: 2,
            ..license(&key)
        }
        .sign(&key);
        for bad in [
            format!("{text}\n\n"),
            format!("{text}\r\n"),
            format!("{text} "),
            format!(" {text}"),
            format!("sbol1.{payload}.{signature}"),
            format!("{LICENSE_PREFIX}{payload}"),
            format!("{LICENSE_PREFIX}{payload}.{signature}.{signature}"),
            format!("{LICENSE_PREFIX}{payload}=.{signature}"),
            format!("{LICENSE_PREFIX}{payload}.{}", &signature[..80]),
            format!("{text}AA"),
            unsupported,
        ] {
            assert!(is_malformed(OfflineLicense::verify(&bad, &keys)), "{bad}");
        }
    }

    #[test]
    fn non_canonical_base64_is_refused_though_it_would_decode_to_the_same_bytes() {
        let key = signing_key(7);
        let text = license(&key).sign(&key);
        // 64 signature bytes are 86 characters, the last carrying 2 bits of them and 4 unused
        // ones; setting an unused bit makes a second text of the same bytes.
        let last = text.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        let twin = alphabet.as_bytes()[index ^ 1] as char;
        let forged = format!("{}{twin}", &text[..text.len() - 1]);
        assert!(is_malformed(OfflineLicense::verify(
            &forged,
            &[key.verifying_key()]
        )));
    }

    #[test]
    fn a_public_key_round_trips_and_names_itself_by_sha_256() {
        let key = signing_key(7).verifying_key();
        let text = encode_public_key(&key);
        assert_eq!(text.len(), 43);
        assert_eq!(decode_public_key(&text), Ok(key));
        assert_eq!(decode_public_key(&format!(" {text}\n")), Ok(key));
        let id = key_id(&key);
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let digest = Sha256::digest(key.as_bytes());
        assert_eq!(
            u64::from_str_radix(&id, 16).unwrap().to_be_bytes(),
            digest[..8]
        );
        assert_ne!(id, key_id(&signing_key(8).verifying_key()));
        for bad in [
            String::new(),
            format!("{text}A"),
            text[..42].to_owned(),
            format!("{text}="),
            // The identity point: a weak key.
            URL_SAFE_NO_PAD.encode({
                let mut identity = [0u8; 32];
                identity[0] = 1;
                identity
            }),
        ] {
            assert!(is_malformed(decode_public_key(&bad)), "{bad}");
        }
    }

    #[test]
    fn the_wire_bodies_read_and_write_their_field_names() {
        let keys = OfflinePublicKey {
            algorithm: Cow::Borrowed("ed25519"),
            key_id: "0011223344556677".into(),
            public_key: "k".into(),
            retired: vec![OfflineRetiredKey {
                key_id: "8899aabbccddeeff".into(),
                public_key: "old".into(),
            }],
        };
        let json = serde_json::to_value(&keys).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"algorithm": "ed25519", "key_id": "0011223344556677",
                "public_key": "k", "retired": [{"key_id": "8899aabbccddeeff",
                "public_key": "old"}]})
        );
        assert_eq!(
            serde_json::from_value::<OfflinePublicKey>(json).unwrap(),
            keys
        );
        let body: OfflineActivationBody =
            serde_json::from_value(serde_json::json!({"request": "SBOR1.x"})).unwrap();
        assert_eq!(body.request, "SBOR1.x");
    }

    /// A valid request of any shape.
    fn valid_request() -> impl Strategy<Value = OfflineRequest> {
        let target = prop_oneof![
            Just((None, None)),
            "[ -~]{1,64}".prop_map(|pool| (Some(pool), None)),
            "\\PC{1,64}".prop_map(|code| (None, Some(code))),
        ];
        (
            "[0-9a-f]{32}",
            "\\PC{1,128}",
            prop_oneof![Just(Platform::Windows), Just(Platform::Mac)],
            target,
            any::<u64>(),
        )
            .prop_map(
                |(nonce, device_id, platform, (pool, invite_code), created_at_ms)| OfflineRequest {
                    v: 1,
                    nonce,
                    device_id,
                    platform,
                    pool,
                    invite_code,
                    created_at_ms,
                },
            )
    }

    /// `text` after one to four small edits: a character inserted, dropped or replaced, the
    /// text cut short (near-valid input reaches the checks behind the first one).
    fn edited(text: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let tricky = prop_oneof![
            prop::sample::select(vec![
                '.',
                '-',
                '_',
                '=',
                '+',
                '/',
                'A',
                'a',
                '0',
                '"',
                '{',
                '}',
                ':',
                ',',
                '\\',
                '\n',
                ' ',
                '\0',
                '\u{7F}',
                '\u{FEFF}',
                'é',
                '\u{10FFFF}',
            ]),
            any::<char>(),
        ];
        let edit = (0u8..4, any::<prop::sample::Index>(), tricky);
        (text, prop::collection::vec(edit, 1..=4)).prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (kind, at, c) in edits {
                let len = chars.len();
                match kind {
                    0 => chars.insert(at.index(len + 1), c),
                    1 if len > 0 => {
                        chars.remove(at.index(len));
                    }
                    2 if len > 0 => chars[at.index(len)] = c,
                    _ => chars.truncate(at.index(len + 1)),
                }
            }
            chars.into_iter().collect()
        })
    }

    /// A request's text, edited outside or inside its base64 (in its JSON).
    fn near_request_text() -> impl Strategy<Value = String> {
        prop_oneof![
            edited(valid_request().prop_map(|r| r.encode())),
            edited(
                valid_request().prop_map(|r| String::from_utf8(to_json(&r)).unwrap_or_default())
            )
            .prop_map(|json| format!("{REQUEST_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))),
        ]
    }

    proptest! {
        #[test]
        fn flipping_any_byte_of_a_license_text_is_refused(
            position in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            seed in any::<[u8; 32]>(),
            newline in any::<bool>(),
        ) {
            let key = SigningKey::from_bytes(&seed);
            let mut text = license(&key).sign(&key);
            if newline {
                text.push('\n');
            }
            let mut bytes = text.into_bytes();
            let at = position.index(bytes.len());
            bytes[at] ^= flip;
            // A byte flipped into invalid UTF-8 is not even text: no caller can pass it.
            if let Ok(text) = String::from_utf8(bytes) {
                prop_assert!(OfflineLicense::verify(&text, &[key.verifying_key()]).is_err());
            }
        }

        #[test]
        fn decoding_any_text_as_a_request_never_panics(
            text in prop_oneof![
                any::<String>(),
                "\\s*SBOR1\\.[A-Za-z0-9_=-]{0,400}\\s*",
                any::<Vec<u8>>().prop_map(|b| format!("{REQUEST_PREFIX}{}", URL_SAFE_NO_PAD.encode(b))),
            ],
        ) {
            let _ = OfflineRequest::decode(&text);
        }

        #[test]
        fn a_valid_request_round_trips(request in valid_request()) {
            prop_assert_eq!(OfflineRequest::decode(&request.encode()), Ok(request));
        }

        #[test]
        fn decoding_a_near_valid_request_never_panics_and_round_trips(text in near_request_text()) {
            if let Ok(request) = OfflineRequest::decode(&text) {
                prop_assert_eq!(OfflineRequest::decode(&request.encode()), Ok(request));
            }
        }

        #[test]
        fn an_edited_license_text_never_verifies_to_other_content(
            text in edited(Just(license(&signing_key(3)).sign(&signing_key(3)))),
        ) {
            let key = signing_key(3);
            if let Ok(got) = OfflineLicense::verify(&text, &[signing_key(4).verifying_key(), key.verifying_key()]) {
                prop_assert_eq!(got, license(&key), "{}", text);
            }
        }

        #[test]
        fn verifying_any_text_as_a_license_never_panics(
            text in prop_oneof![
                any::<String>(),
                "SBOL1\\.[A-Za-z0-9_-]{0,300}\\.[A-Za-z0-9_-]{0,100}\n?",
                any::<Vec<u8>>().prop_map(|b| format!("{LICENSE_PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(&b), URL_SAFE_NO_PAD.encode([0u8; 64]))),
            ],
        ) {
            prop_assert!(OfflineLicense::verify(&text, &[signing_key(3).verifying_key()]).is_err());
        }

        #[test]
        fn a_public_key_round_trips_and_any_text_never_panics(
            seed in any::<[u8; 32]>(),
            text in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{40,46}", edited("[A-Za-z0-9_-]{43}".prop_map(String::from))],
        ) {
            let key = SigningKey::from_bytes(&seed).verifying_key();
            prop_assert_eq!(decode_public_key(&format!(" {}\n", encode_public_key(&key))), Ok(key));
            if let Ok(read) = decode_public_key(&text) {
                prop_assert_eq!(encode_public_key(&read), text.trim());
            }
        }
    }
}
