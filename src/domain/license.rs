//! License types (L4): which are shared through a pool and which are personal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a license (L4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseKind {
    /// Shareable.
    Commercial,
    /// Shareable.
    Educational,
    /// Shareable.
    Government,
    /// Personal: never shared, exactly one seat.
    Student,
    /// Personal: never shared, exactly one seat.
    Semester,
    /// Personal, issued only by `POST /v1/trials` (L6).
    Trial,
}

impl LicenseKind {
    /// Whether licenses of this type are shared with invited members (I1).
    pub fn is_shareable(self) -> bool {
        matches!(
            self,
            LicenseKind::Commercial | LicenseKind::Educational | LicenseKind::Government
        )
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseKind::Commercial => "commercial",
            LicenseKind::Educational => "educational",
            LicenseKind::Government => "government",
            LicenseKind::Student => "student",
            LicenseKind::Semester => "semester",
            LicenseKind::Trial => "trial",
        }
    }
}

impl fmt::Display for LicenseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4_shareable_and_personal_types() {
        assert!(LicenseKind::Educational.is_shareable());
        assert!(!LicenseKind::Student.is_shareable());
        assert!(!LicenseKind::Trial.is_shareable());
        let parsed: LicenseKind = serde_json::from_str("\"government\"").unwrap();
        assert_eq!(parsed, LicenseKind::Government);
        assert!(serde_json::from_str::<LicenseKind>("\"pirate\"").is_err());
    }
}
