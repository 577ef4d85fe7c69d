//! License keys and invite codes (L1, L2, I1): their public forms, the normalisation of rule
//! L2 (white space and zero-width characters dropped, non-ASCII dashes mapped to `-`, letters
//! upper-cased, dashes optional), and the recognition of legacy keys of the older product
//! generation. Parsed once at the HTTP edge; the rest of the code holds these types.

use std::fmt;

/// Why a code typed by a person was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A key of the older product generation (`12345-67890-ABCDE-FGHIJ-KLMNO`).
    #[error("this key belongs to an older product generation and cannot be activated here")]
    Legacy,
    /// Neither a license key nor an invite code.
    #[error("this is not a license key (R-XXX-XXX-XXX-XXX-XXX-XXX) or an invite code (I-XXX-XXX-XXX-XXX)")]
    Malformed,
}

/// A license key `R-61F-5C0-587-0F5-3A5-CBA`: 72 bits in six groups of three hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct LicenseKey(u128);

/// An invite code `I-123-456-789-ABC`: 48 bits in four groups of three hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct InviteCode(u64);

/// What `POST /v1/activations` was given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ActivationCode {
    /// A license key.
    License(LicenseKey),
    /// An invite code.
    Invite(InviteCode),
}

const LICENSE_GROUPS: usize = 6;
const INVITE_GROUPS: usize = 4;

/// Rule L2: the characters that matter, upper-cased, with every dash kept as `-`.
fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && !is_zero_width(*c))
        .map(|c| if is_dash(c) { '-' } else { c })
        .flat_map(char::to_uppercase)
        .collect()
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' | '\u{2043}'
    )
}

/// The value of the hex digits after `prefix`, when there are exactly `groups` groups of
/// three. Dashes are optional anywhere (people type spaces, or nothing, between groups).
fn hex_body(normal: &str, prefix: char, groups: usize) -> Option<u128> {
    let rest = normal.strip_prefix(prefix)?;
    let digits: String = rest.chars().filter(|c| *c != '-').collect();
    if digits.len() != groups * 3 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&digits, 16).ok()
}

fn is_legacy(normal: &str) -> bool {
    let parts: Vec<&str> = normal.split('-').collect();
    let grouped = parts.len() == 5
        && parts
            .iter()
            .all(|p| p.len() == 5 && p.chars().all(|c| c.is_ascii_alphanumeric()));
    let bare = normal.len() == 25 && normal.chars().all(|c| c.is_ascii_alphanumeric());
    grouped || bare
}

fn write_groups(
    f: &mut fmt::Formatter<'_>,
    prefix: char,
    value: u128,
    groups: usize,
) -> fmt::Result {
    write!(f, "{prefix}")?;
    for i in (0..groups).rev() {
        write!(f, "-{:03X}", (value >> (12 * i)) & 0xFFF)?;
    }
    Ok(())
}

impl LicenseKey {
    /// The key with these 72 bits (the rest are ignored).
    pub fn from_bits(bits: u128) -> Self {
        LicenseKey(bits & ((1 << 72) - 1))
    }

    /// Its 72 bits.
    pub fn bits(self) -> u128 {
        self.0
    }

    /// Parses a key as a person typed it (L2); legacy keys are named as such (L1).
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let normal = normalise(raw);
        if let Some(bits) = hex_body(&normal, 'R', LICENSE_GROUPS) {
            return Ok(LicenseKey(bits));
        }
        if is_legacy(&normal) {
            return Err(CodeError::Legacy);
        }
        Err(CodeError::Malformed)
    }
}

impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_groups(f, 'R', self.0, LICENSE_GROUPS)
    }
}

impl InviteCode {
    /// The code with these 48 bits (the rest are ignored).
    pub fn from_bits(bits: u64) -> Self {
        InviteCode(bits & ((1 << 48) - 1))
    }

    /// Its 48 bits.
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Parses a code as a person typed it (L2).
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        hex_body(&normalise(raw), 'I', INVITE_GROUPS)
            .map(|bits| InviteCode(bits as u64))
            .ok_or(CodeError::Malformed)
    }
}

impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_groups(f, 'I', u128::from(self.0), INVITE_GROUPS)
    }
}

impl ActivationCode {
    /// A license key or an invite code, as a person typed it.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let normal = normalise(raw);
        if let Some(bits) = hex_body(&normal, 'I', INVITE_GROUPS) {
            return Ok(ActivationCode::Invite(InviteCode(bits as u64)));
        }
        LicenseKey::parse(raw).map(ActivationCode::License)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn l1_keys_and_codes_have_their_public_forms() {
        let key = LicenseKey::parse("R-61F-5C0-587-0F5-3A5-CBA").unwrap();
        assert_eq!(key.to_string(), "R-61F-5C0-587-0F5-3A5-CBA");
        let code = InviteCode::parse("I-123-456-789-ABC").unwrap();
        assert_eq!(code.to_string(), "I-123-456-789-ABC");
    }

    #[test]
    fn l2_keys_are_normalised_before_use() {
        let canonical = LicenseKey::parse("R-61F-5C0-587-0F5-3A5-CBA").unwrap();
        for typed in [
            "  r-61f-5c0-587-0f5-3a5-cba  ",
            "R 61F 5C0-587-0F5-3A5-CBA",
            "R\u{2013}61F\u{2014}5C0\u{2212}587-0F5-3A5-CBA",
            "R-61F\u{200B}-5C0-587-0F5-3A5-CBA\u{FEFF}",
            "R61F5C05870F53A5CBA",
            "r-61f5c05870f53a5cba",
        ] {
            assert_eq!(LicenseKey::parse(typed), Ok(canonical), "{typed:?}");
        }
        assert_eq!(
            InviteCode::parse("i123456789abc"),
            InviteCode::parse("I-123-456-789-ABC")
        );
    }

    #[test]
    fn l1_legacy_keys_are_recognised() {
        assert_eq!(
            LicenseKey::parse("12345-67890-ABCDE-FGHIJ-KLMNO"),
            Err(CodeError::Legacy)
        );
        assert_eq!(
            ActivationCode::parse("12345 67890 abcde fghij klmno"),
            Err(CodeError::Legacy)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "R-61F",
            "R-61F-5C0-587-0F5-3A5-CBX",
            "I-123-456-789",
            "X-123-456-789-ABC",
            "R-61F-5C0-587-0F5-3A5-CBA-000",
        ] {
            assert_eq!(
                LicenseKey::parse(bad).and(Ok(())),
                Err(CodeError::Malformed),
                "{bad:?}"
            );
        }
        assert!(ActivationCode::parse("hello").is_err());
    }

    #[test]
    fn activation_codes_tell_keys_from_invites() {
        assert!(matches!(
            ActivationCode::parse("I-123-456-789-ABC"),
            Ok(ActivationCode::Invite(_))
        ));
        assert!(matches!(
            ActivationCode::parse("R-61F-5C0-587-0F5-3A5-CBA"),
            Ok(ActivationCode::License(_))
        ));
    }

    proptest! {
        #[test]
        fn l2_printing_then_parsing_gives_the_same_key(bits in any::<u128>(), lower in any::<bool>(), bare in any::<bool>()) {
            let key = LicenseKey::from_bits(bits);
            let mut typed = key.to_string();
            if lower { typed = typed.to_lowercase(); }
            if bare { typed = typed.replace('-', ""); }
            prop_assert_eq!(LicenseKey::parse(&typed), Ok(key));
            let code = InviteCode::from_bits(bits as u64);
            prop_assert_eq!(InviteCode::parse(&code.to_string()), Ok(code));
        }

        #[test]
        fn parsing_any_text_never_panics(raw in ".{0,64}") {
            let _ = ActivationCode::parse(&raw);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text, tricky_char};
    use proptest::prelude::*;

    /// A valid key or invite code as a person might type it: any case, dashes kept, dropped
    /// or typed as other dashes, white space and zero-width characters here and there (no
    /// dash before the prefix letter: that is not a code any more).
    fn typed(canonical: String) -> impl Strategy<Value = String> {
        let noise = prop::sample::select(vec![
            "", "", "", " ", "\u{200B}", "\u{FEFF}", "\u{2013}", "-", "\t", "\u{3000}",
        ]);
        (
            Just(canonical.clone()),
            any::<bool>(),
            prop::collection::vec(noise, canonical.len() + 1),
        )
            .prop_map(|(text, lower, noise)| {
                let text = if lower { text.to_lowercase() } else { text };
                let mut out = String::new();
                for (i, (c, extra)) in text.chars().zip(&noise).enumerate() {
                    if i > 0 || !extra.chars().any(is_dash) {
                        out.push_str(extra);
                    }
                    if c != '-' {
                        out.push(c);
                    }
                }
                out.push_str(noise[noise.len() - 1]);
                out
            })
    }

    /// A key and a way a person typed it.
    fn typed_key() -> impl Strategy<Value = (LicenseKey, String)> {
        any::<u128>().prop_flat_map(|bits| {
            let key = LicenseKey::from_bits(bits);
            (Just(key), typed(key.to_string()))
        })
    }

    /// An invite code and a way a person typed it.
    fn typed_invite() -> impl Strategy<Value = (InviteCode, String)> {
        any::<u64>().prop_flat_map(|bits| {
            let code = InviteCode::from_bits(bits);
            (Just(code), typed(code.to_string()))
        })
    }

    fn key_text() -> impl Strategy<Value = String> {
        any::<u128>().prop_map(|b| LicenseKey::from_bits(b).to_string())
    }

    fn invite_text() -> impl Strategy<Value = String> {
        any::<u64>().prop_map(|b| InviteCode::from_bits(b).to_string())
    }

    fn legacy_text() -> impl Strategy<Value = String> {
        "[0-9A-Za-z]{5}(-[0-9A-Za-z]{5}){4}"
    }

    /// Text near any of the three forms, or any text at all.
    fn code_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any_text(),
            near_text(key_text()),
            near_text(invite_text()),
            near_text(legacy_text()),
            typed_key().prop_map(|(_, text)| text),
            typed_invite().prop_map(|(_, text)| text),
        ]
    }

    proptest! {
        #[test]
        fn license_key_and_invite_code_parse_never_panic(raw in code_like()) {
            let _ = LicenseKey::parse(&raw);
            let _ = InviteCode::parse(&raw);
            let _ = ActivationCode::parse(&raw);
        }

        #[test]
        fn a_parsed_license_key_round_trips_through_display(raw in code_like()) {
            if let Ok(key) = LicenseKey::parse(&raw) {
                prop_assert_eq!(LicenseKey::parse(&key.to_string()), Ok(key));
                prop_assert_eq!(ActivationCode::parse(&key.to_string()), Ok(ActivationCode::License(key)));
            }
        }

        #[test]
        fn a_parsed_invite_code_round_trips_through_display(raw in code_like()) {
            if let Ok(code) = InviteCode::parse(&raw) {
                prop_assert_eq!(InviteCode::parse(&code.to_string()), Ok(code));
                prop_assert_eq!(ActivationCode::parse(&raw), Ok(ActivationCode::Invite(code)));
            }
        }

        #[test]
        fn l2_a_typed_key_or_code_parses_to_its_canonical_value(
            (key, key_typed) in typed_key(),
            (code, code_typed) in typed_invite(),
        ) {
            prop_assert_eq!(LicenseKey::parse(&key_typed), Ok(key));
            prop_assert_eq!(ActivationCode::parse(&key_typed), Ok(ActivationCode::License(key)));
            prop_assert_eq!(InviteCode::parse(&code_typed), Ok(code));
            prop_assert_eq!(ActivationCode::parse(&code_typed), Ok(ActivationCode::Invite(code)));
        }

        #[test]
        fn l2_normalising_is_idempotent_and_changes_no_outcome(
            raw in prop_oneof![code_like(), prop::collection::vec(tricky_char(), 0..30).prop_map(String::from_iter)],
        ) {
            let once = normalise(&raw);
            prop_assert_eq!(normalise(&once), once.clone());
            prop_assert_eq!(LicenseKey::parse(&once), LicenseKey::parse(&raw));
            prop_assert_eq!(InviteCode::parse(&once), InviteCode::parse(&raw));
            prop_assert_eq!(ActivationCode::parse(&once), ActivationCode::parse(&raw));
        }
    }
}
