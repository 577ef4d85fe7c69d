//! Compact identifiers and small value types shared by the seat table, the actor and the
//! stores. Parsing of the public text forms (with the normalisation of rule L2) belongs to
//! the service's domain types; this module only holds the compact forms the engine works
//! with and their display.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// An account, the compact form of `A-3F9-C21` (24 bits of hex digits).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct AccountId(pub u32);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A-{:03X}-{:03X}", (self.0 >> 12) & 0xFFF, self.0 & 0xFFF)
    }
}

/// A license pool: the licenses activated under one owner account.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct PoolId(pub u64);

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P-{:X}", self.0)
    }
}

/// A seat, unique within its pool and never reused by it (the counter is persisted).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct SeatId(pub u64);

impl fmt::Display for SeatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{:X}", self.0)
    }
}

/// A license, the compact form of `L-AD6-FB6`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct LicenseId(pub u32);

impl fmt::Display for LicenseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L-{:03X}-{:03X}", (self.0 >> 12) & 0xFFF, self.0 & 0xFFF)
    }
}

/// A parked request waiting for a seat (W1); chosen by the caller, unique per pool.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct WaiterId(pub u64);

/// The longest device id a client may send (API.md: 1 to 128 printable characters).
pub const MAX_DEVICE_ID_CHARS: usize = 128;

/// A client's device id: 1 to 128 printable characters, shared cheaply between indexes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DeviceId(Arc<str>);

/// Why a device id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    /// The id is empty.
    #[error("device_id must not be empty")]
    Empty,
    /// The id has more than 128 characters.
    #[error("device_id must have at most 128 characters")]
    TooLong,
    /// The id holds a control character.
    #[error("device_id must hold printable characters only")]
    NotPrintable,
}

impl DeviceId {
    /// Checks the API's rule for device ids and keeps the id.
    pub fn parse(raw: &str) -> Result<Self, DeviceIdError> {
        if raw.is_empty() {
            return Err(DeviceIdError::Empty);
        }
        if raw.chars().count() > MAX_DEVICE_ID_CHARS {
            return Err(DeviceIdError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(DeviceIdError::NotPrintable);
        }
        Ok(DeviceId(Arc::from(raw)))
    }

    /// An id copied from one that was parsed already.
    pub(crate) fn from_checked(id: Arc<str>) -> Self {
        DeviceId(id)
    }

    /// The id as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        DeviceId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The platform a seat is taken on; desktops and web sessions follow different rules (S5, S9).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// The Windows desktop application.
    Windows,
    /// The macOS desktop application.
    Mac,
    /// A browser session.
    Web,
}

impl Platform {
    /// Whether this is a desktop application (windows or mac).
    pub fn is_desktop(self) -> bool {
        !matches!(self, Platform::Web)
    }

    /// The API's name of the platform.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::Mac => "mac",
            Platform::Web => "web",
        }
    }
}

/// Whose seat it is on this pool: the pool owner's or a member's (API field `policy`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The pool owner's seat on its own pool.
    Owner,
    /// A member's seat.
    Member,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_displays_in_its_public_form() {
        assert_eq!(AccountId(0x3F9C21).to_string(), "A-3F9-C21");
        assert_eq!(LicenseId(0xAD6FB6).to_string(), "L-AD6-FB6");
    }

    #[test]
    fn device_id_accepts_printable_up_to_128_chars() {
        assert!(DeviceId::parse("laptop-7").is_ok());
        assert!(DeviceId::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            DeviceId::parse(&"x".repeat(129)),
            Err(DeviceIdError::TooLong)
        );
        assert_eq!(DeviceId::parse(""), Err(DeviceIdError::Empty));
        assert_eq!(DeviceId::parse("a\nb"), Err(DeviceIdError::NotPrintable));
    }

    #[test]
    fn device_id_deserialisation_checks_the_rule() {
        let bad: Result<DeviceId, _> = serde_json::from_str("\"\"");
        assert!(bad.is_err());
        let good: DeviceId = serde_json::from_str("\"pc-1\"").unwrap();
        assert_eq!(good.as_str(), "pc-1");
    }
}
