//! I4's join restriction: an email domain such as `uni.edu`, as an owner types it, and
//! whether an email falls under it (the domain itself or one of its subdomains).

use crate::domain::account::Email;

/// A domain a pool restricts joins to, lower-cased, without a leading `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinDomain(String);

/// Why a typed domain was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("join_email_domain must be a domain such as uni.edu, or null for anyone")]
pub struct BadDomain;

impl JoinDomain {
    /// Reads a domain as an owner typed it (`uni.edu`, ` @Uni.edu `).
    pub fn parse(raw: &str) -> Result<Self, BadDomain> {
        let d = raw.trim().trim_start_matches('@').to_lowercase();
        let ok = d.len() <= 253
            && d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && !d.contains("..")
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if ok {
            Ok(JoinDomain(d))
        } else {
            Err(BadDomain)
        }
    }

    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// I4: whether `email` may join a pool restricted to `domain` (the domain or a subdomain).
/// `domain` is a stored restriction, normalised again so older records compare the same.
pub fn domain_allows(domain: &str, email: &Email) -> bool {
    let domain = domain.trim().trim_start_matches('@').to_lowercase();
    let own = email.domain();
    own == domain || own.ends_with(&format!(".{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i4_a_domain_admits_itself_and_its_subdomains() {
        let at = |e: &str| Email::parse(e).unwrap();
        assert!(domain_allows("uni.edu", &at("a@uni.edu")));
        assert!(domain_allows("uni.edu", &at("a@cs.UNI.edu")));
        assert!(domain_allows("@uni.edu", &at("a@uni.edu")));
        assert!(!domain_allows("uni.edu", &at("a@notuni.edu")));
        assert!(!domain_allows("uni.edu", &at("a@uni.edu.evil.com")));
    }

    #[test]
    fn i4_a_typed_domain_is_normalised_or_refused() {
        assert_eq!(JoinDomain::parse(" @Uni.EDU ").unwrap().as_str(), "uni.edu");
        for bad in [
            "",
            "uni",
            ".uni.edu",
            "uni.edu.",
            "uni..edu",
            "uni edu.com",
            "ü.de",
        ] {
            assert_eq!(JoinDomain::parse(bad), Err(BadDomain), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    fn domain_text() -> impl Strategy<Value = String> {
        "\\s?@?[A-Za-z0-9-]{1,10}(\\.[A-Za-z0-9-]{1,10}){1,3}\\s?"
    }

    proptest! {
        #[test]
        fn i4_join_domain_parse_never_panics_and_is_idempotent(
            raw in prop_oneof![any_text(), domain_text(), near_text(domain_text())],
        ) {
            if let Ok(domain) = JoinDomain::parse(&raw) {
                prop_assert_eq!(JoinDomain::parse(domain.as_str()), Ok(domain.clone()));
                let member = Email::parse(&format!("someone@{}", domain.as_str()));
                prop_assert!(member.is_ok_and(|m| domain_allows(&raw, &m)));
            }
        }
    }
}
