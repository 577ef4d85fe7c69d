//! The seat object of the hot path (`POST /v1/seats`, heartbeats, seat lists), the two enums
//! it carries, and the answer of "free up my seats".

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The platform a seat is taken for (S9: desktop applications and web sessions differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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
    /// The API's name: `windows`, `mac` or `web`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Windows => "windows",
            Platform::Mac => "mac",
            Platform::Web => "web",
        }
    }

    /// The platform the API names so, if any.
    pub fn from_name(name: &str) -> Option<Platform> {
        match name {
            "windows" => Some(Platform::Windows),
            "mac" => Some(Platform::Mac),
            "web" => Some(Platform::Web),
            _ => None,
        }
    }

    /// The desktop platform of the machine this runs on: `Mac` on macOS, `Windows` otherwise.
    pub fn desktop() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Mac
        } else {
            Platform::Windows
        }
    }
}

/// Whose rules a seat follows: the pool owner's (kept on close, S5) or a member's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The owner's seat on its own pool.
    Owner,
    /// A member's seat.
    Member,
}

impl Policy {
    /// The API's name: `owner` or `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Owner => "owner",
            Policy::Member => "member",
        }
    }
}

/// A seat object, as `POST /v1/seats`, heartbeats and the seat lists answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Seat {
    /// The seat's id, `S-...`.
    pub seat_id: String,
    /// The pool it belongs to, `P-...`.
    pub pool_id: String,
    /// The account holding it, `A-...`.
    pub account_id: String,
    /// The device it is bound to: in the answer to `POST /v1/seats` (and to an offline
    /// activation) the id the client sent; everywhere else the device's fingerprint, because
    /// the broker keeps only a keyed hash of the id (README, "What is stored").
    pub device_id: String,
    /// The device's fingerprint (`3fa9-1c2b-77de`), the same in every answer.
    #[serde(default)]
    pub device_fingerprint: String,
    /// The device's platform.
    pub platform: Platform,
    /// Owner or member rules.
    pub policy: Policy,
    /// When it was first granted (RFC 3339).
    pub granted_at: String,
    /// The heartbeat deadline; null while the seat needs no heartbeat.
    pub expires_at: Option<String>,
    /// The end of its offline reservation (S11); null when it has none.
    pub offline_until: Option<String>,
    /// Held by an offline license file (issue 16): it never times out, and only the pool's
    /// owner or an operator can release it.
    #[serde(default)]
    pub offline_file: bool,
    /// How often to heartbeat, in seconds: a third of the pool's timeout, 1 to 300.
    pub heartbeat_interval_s: u32,
    /// The latest expiry among the pool's live licenses; null when one of them is permanent.
    pub license_expires_at: Option<String>,
    /// Active days left, in a trial's pool; null elsewhere.
    pub trial_days_left: Option<u8>,
    /// Warning codes such as `license_expires_soon` and `trial_days_left`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schema(value_type = Vec<String>))]
    pub warnings: Vec<Cow<'static, str>>,
}

/// The answer of "free up my seats" (`POST /v1/me/seats/release`, S7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Released {
    /// How many seats were freed.
    pub released: usize,
}
