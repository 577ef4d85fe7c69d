//! The JSON objects of the broker's API (API.md) as Rust values: seats, pools, accounts,
//! licenses, and the request of a seat. Only shapes live here; the calls that send and
//! receive them are in `client`, the errors in `error`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// RFC 3339 times as the API writes them, without turning on `time`'s serde feature for the
/// whole workspace.
pub(crate) mod rfc3339 {
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    /// Parses a string however serde hands it over (borrowed, transient or owned), so that
    /// reading a time allocates nothing.
    struct TimeVisitor;

    impl<'de> Visitor<'de> for TimeVisitor {
        type Value = OffsetDateTime;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 time")
        }

        fn visit_str<E: de::Error>(self, raw: &str) -> Result<OffsetDateTime, E> {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(E::custom)
        }
    }

    /// A time or null.
    struct OptionalVisitor;

    impl<'de> Visitor<'de> for OptionalVisitor {
        type Value = Option<OffsetDateTime>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 time or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(TimeVisitor).map(Some)
        }
    }

    /// A required time.
    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        d.deserialize_str(TimeVisitor)
    }

    /// A time or null.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        d.deserialize_option(OptionalVisitor)
    }
}

/// The platform a seat is taken for (S9: desktop devices and web sessions differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// A Windows desktop.
    Windows,
    /// A macOS desktop.
    Mac,
    /// A web session.
    Web,
}

impl Platform {
    /// The platform of the machine this runs on: `Mac` on macOS, `Windows` otherwise.
    pub fn desktop() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Mac
        } else {
            Platform::Windows
        }
    }
}

/// Whose rules a seat follows: the pool owner's (kept on close, S5) or a member's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The owner's seat on its own pool.
    Owner,
    /// A member's seat.
    Member,
}

/// A request for a seat (`POST /v1/seats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireRequest {
    /// The pool to take the seat in; `None` lets the broker choose (S8: own pool first).
    pub pool: Option<String>,
    /// A stable id of this device, 1 to 128 printable characters (see `device`).
    pub device_id: String,
    /// The platform of this device.
    pub platform: Platform,
    /// How long to wait in the pool's queue when it is full (W1); `None` does not wait.
    pub wait: Option<Duration>,
}

impl AcquireRequest {
    /// A request for a seat on `device_id` in any pool, without waiting.
    pub fn new(device_id: impl Into<String>, platform: Platform) -> Self {
        AcquireRequest {
            pool: None,
            device_id: device_id.into(),
            platform,
            wait: None,
        }
    }

    /// Names the pool (a named pool has no fallback, S8).
    pub fn in_pool(mut self, pool: impl Into<String>) -> Self {
        self.pool = Some(pool.into());
        self
    }

    /// Waits up to `wait` in the pool's queue (W1); whole seconds are sent.
    pub fn waiting(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }
}

/// The body of `POST /v1/seats`, borrowed from the request so it allocates nothing.
#[derive(Serialize)]
pub(crate) struct AcquireBody<'a> {
    pub device_id: &'a str,
    pub platform: Platform,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_s: Option<u64>,
}

/// A seat object, as `POST /v1/seats` and `GET /v1/me/seats` answer it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Seat {
    /// The seat's id, `S-...`.
    pub seat_id: String,
    /// The pool it belongs to, `P-...`.
    pub pool_id: String,
    /// The account holding it.
    pub account_id: String,
    /// The device it is bound to.
    pub device_id: String,
    /// The device's platform.
    pub platform: Platform,
    /// Owner or member rules.
    pub policy: Policy,
    /// When it was first granted.
    #[serde(deserialize_with = "rfc3339::required")]
    pub granted_at: OffsetDateTime,
    /// The heartbeat deadline; `None` while it needs no heartbeat.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub expires_at: Option<OffsetDateTime>,
    /// The end of its offline reservation (S11), if any.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub offline_until: Option<OffsetDateTime>,
    /// How often to heartbeat, in seconds (a third of the pool's timeout).
    pub heartbeat_interval_s: u64,
    /// The latest expiry among the pool's live licenses; `None` when one is permanent.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub license_expires_at: Option<OffsetDateTime>,
    /// Days left of a trial, when the seat is a trial's.
    #[serde(default)]
    pub trial_days_left: Option<u32>,
    /// Warning codes such as `license_expires_soon` and `trial_days_left`.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A granted seat and whether it was the device's seat already (S2).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The seat.
    pub seat: Seat,
    /// `true` when the broker answered 200 with the seat this device already held (S2).
    pub reused: bool,
}

/// What a heartbeat answer says, read without the seat's strings so a beat allocates little.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Heartbeat {
    /// How often to heartbeat from now on, in seconds.
    pub heartbeat_interval_s: u64,
    /// The new heartbeat deadline; `None` while the seat needs no heartbeat.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub expires_at: Option<OffsetDateTime>,
    /// The end of the seat's offline reservation, if any.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub offline_until: Option<OffsetDateTime>,
}

/// The answer of a login.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Login {
    /// The bearer token (the client keeps it for its later calls).
    pub token: String,
    /// The account logged in.
    pub account_id: String,
    /// When the token stops working.
    #[serde(deserialize_with = "rfc3339::required")]
    pub expires_at: OffsetDateTime,
}

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// `A-...`
    pub id: String,
    /// The account's email.
    pub email: String,
    /// The display name.
    pub name: String,
}

/// A pool's owner, as members see it (S12's `owner_contact` has the same fields but the id).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PoolOwner {
    /// `A-...`
    pub id: String,
    /// The owner's display name.
    pub name: String,
    /// The owner's email.
    pub email: String,
}

/// A pool object (`GET /v1/pools/{pool}`), without the owner-only extras.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pool {
    /// `P-...`
    pub id: String,
    /// Its owner.
    pub owner: PoolOwner,
    /// The license type of its licenses.
    #[serde(rename = "type")]
    pub kind: String,
    /// Seats it has now.
    pub capacity: u64,
    /// Capacity in use.
    pub in_use: u64,
    /// Requests waiting for a seat (W1).
    pub queue_length: u64,
    /// Heartbeat timeout of its seats, in seconds (S4).
    pub timeout_s: u64,
}

/// The caller's own view, `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    /// The account.
    pub account: Account,
    /// Its own pool, once it activated a license or a trial.
    pub own_pool: Option<Pool>,
    /// Pools shared with it.
    pub memberships: Vec<Pool>,
    /// Every seat it holds.
    pub seats: Vec<Seat>,
}

/// A license (`POST /v1/operator/licenses`, and inside an activation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct License {
    /// `L-...`
    pub id: String,
    /// The key to activate it with, `R-...`.
    pub key: String,
    /// Its type: commercial, educational, government, student, semester, trial.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its seats.
    pub seats: u32,
    /// Its expiry; `None` when permanent.
    #[serde(default, deserialize_with = "rfc3339::optional")]
    pub expires_at: Option<OffsetDateTime>,
}

/// The answer of `POST /v1/activations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Activation {
    /// `license` (a key was activated) or `membership` (an invite code was used).
    pub kind: String,
    /// The license activated, for a key.
    #[serde(default)]
    pub license: Option<License>,
    /// The pool the account now owns or belongs to.
    pub pool: Pool,
    /// `already_active` when the activation was repeated.
    #[serde(default)]
    pub warning: Option<String>,
}

/// A pool's invitation (`GET /v1/pools/{pool}/invite`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invite {
    /// The invite code, `I-...`.
    pub code: String,
    /// The invite URL carrying it.
    pub url: String,
}

/// The answer of "free up my seats" (S7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct Released {
    pub released: u64,
}
