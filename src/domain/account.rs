//! What a person types when creating an account (A1): an email, compared case-insensitively;
//! a password of at least 8 characters; a display name. Each parses once at the HTTP edge.

use std::fmt;

/// The longest email accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// The longest password accepted: argon2 hashes any length, but a megabyte password is an
/// attack, not a password.
const MAX_PASSWORD_BYTES: usize = 1_024;
/// The longest display name.
const MAX_NAME_CHARS: usize = 100;

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountFieldError {
    /// Not an email address.
    #[error("this is not an email address")]
    InvalidEmail,
    /// A password under 8 characters (`weak_password`).
    #[error("the password must have at least 8 characters")]
    WeakPassword,
    /// A password too long to be one.
    #[error("the password must have at most 1024 bytes")]
    PasswordTooLong,
    /// An empty or too long name, or one with control characters.
    #[error("the name must have 1 to 100 printable characters")]
    InvalidName,
}

/// An email address as the person typed it, compared by its lower-cased form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    display: String,
    key: String,
}

impl Email {
    /// Checks the address's shape: one `@`, a local part, a domain with a dot, no spaces.
    pub fn parse(raw: &str) -> Result<Self, AccountFieldError> {
        let display = raw.trim();
        let key = display.to_lowercase();
        // Both forms within the limit: lower case can take more bytes (Ⱥ 2, ⱥ 3), and the key
        // must read back as an email of its own.
        let ok = display.len() <= MAX_EMAIL
            && key.len() <= MAX_EMAIL
            && !display.chars().any(|c| c.is_whitespace() || c.is_control())
            && match display.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if !ok {
            return Err(AccountFieldError::InvalidEmail);
        }
        Ok(Email {
            display: display.to_owned(),
            key,
        })
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The form emails are compared by (A1: case-insensitive).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The domain, lower-cased (I4 join restrictions).
    pub fn domain(&self) -> &str {
        self.key.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A password, never logged or shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// At least 8 characters, at most 1024 bytes.
    pub fn parse(raw: &str) -> Result<Self, AccountFieldError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(AccountFieldError::PasswordTooLong);
        }
        if raw.chars().count() < 8 {
            return Err(AccountFieldError::WeakPassword);
        }
        Ok(Password(raw.to_owned()))
    }

    /// The password, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: 1 to 100 printable characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and checks the name.
    pub fn parse(raw: &str) -> Result<Self, AccountFieldError> {
        let name = raw.trim();
        let count = name.chars().count();
        if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AccountFieldError::InvalidName);
        }
        Ok(DisplayName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a1_emails_compare_case_insensitively() {
        let a = Email::parse(" Ada@Example.ORG ").unwrap();
        let b = Email::parse("ada@example.org").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Ada@Example.ORG", "shown as typed");
        assert_eq!(a.domain(), "example.org");
    }

    #[test]
    fn a1_malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "ada@@example.org",
            "ada@example..org",
            "ada@.example.org",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(AccountFieldError::InvalidEmail),
                "{bad:?}"
            );
        }
        assert!(Email::parse(&format!("{}@example.org", "a".repeat(250))).is_err());
        // 120 two-byte letters whose lower case takes three bytes each: 246 bytes as typed,
        // 366 as compared.
        assert!(Email::parse(&format!("{}@a.org", "Ⱥ".repeat(120))).is_err());
    }

    #[test]
    fn passwords_under_8_characters_are_weak_and_never_printed() {
        assert_eq!(
            Password::parse("1234567"),
            Err(AccountFieldError::WeakPassword)
        );
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("éééééééé").is_ok(), "characters, not bytes");
        assert_eq!(
            Password::parse(&"x".repeat(1_025)),
            Err(AccountFieldError::PasswordTooLong)
        );
        let p = Password::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(raw in ".{0,300}") {
            let _ = Email::parse(&raw);
            let _ = Password::parse(&raw);
            let _ = DisplayName::parse(&raw);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    /// A valid address: ASCII or not, any case, maybe with spaces around.
    fn email_text() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                "[A-Za-z0-9._%+-]{1,20}",
                "[^@\\s\\p{Cc}]{1,12}",
                // Letters whose lower case takes more bytes (Ⱥ is 2, ⱥ 3), up to the length limit.
                "[ȺȾa]{60,125}",
            ],
            prop_oneof![
                "[A-Za-z0-9-]{1,10}(\\.[A-Za-z0-9-]{1,10}){1,3}",
                "[^@.\\s\\p{Cc}]{1,8}\\.[^@.\\s\\p{Cc}]{1,8}"
            ],
            prop::sample::select(vec!["", " ", "\t", "\u{3000}"]),
        )
            .prop_map(|(local, domain, around)| format!("{around}{local}@{domain}{around}"))
    }

    fn email_like() -> impl Strategy<Value = String> {
        prop_oneof![any_text(), email_text(), near_text(email_text())]
    }

    proptest! {
        #[test]
        fn email_parse_never_panics(raw in email_like()) {
            if let Ok(email) = Email::parse(&raw) {
                let _ = email.domain();
            }
        }

        #[test]
        fn a1_an_email_round_trips_through_display(raw in email_like()) {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(&email.to_string()), Ok(email.clone()));
                prop_assert_eq!(email.to_string(), raw.trim());
            }
        }

        #[test]
        fn a1_the_comparison_key_of_an_email_is_idempotent(raw in email_like()) {
            if let Ok(email) = Email::parse(&raw) {
                let again = Email::parse(email.key());
                prop_assert_eq!(again.as_ref().map(Email::key), Ok(email.key()));
                prop_assert_eq!(again.as_ref().map(Email::domain), Ok(email.domain()));
            }
        }

        #[test]
        fn a_display_name_or_password_round_trips(raw in prop_oneof![any_text(), near_text("[ -~]{1,100}".prop_map(String::from))]) {
            if let Ok(name) = DisplayName::parse(&raw) {
                prop_assert_eq!(DisplayName::parse(name.as_str()), Ok(name));
            }
            if let Ok(password) = Password::parse(&raw) {
                prop_assert_eq!(password.expose(), raw.as_str());
                prop_assert_eq!(Password::parse(password.expose()), Ok(password));
            }
        }
    }
}
