//! The JSON objects of the broker's API (API.md) as Rust values: seats, pools, accounts,
//! licenses, and the request of a seat. The wire shapes are `seatbroker_api`'s, shared with
//! the broker; each answer is read as its shared type and converted here, in one place, into
//! this crate's typed values (times as `OffsetDateTime`, counts as `u64`). Types whose wire
//! shape is already what a caller wants (`Account`, `Invite`, `Platform`, `Policy`) are the
//! shared ones. Only shapes live here; the calls that send and receive them are in `client`,
//! the errors in `error`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{read_time, Error};

pub use seatbroker_api::{Account, Invite, Platform, Policy};

/// A pool's owner, as members see it: the account object (S12's `owner_contact` has the same
/// fields but the id).
pub use seatbroker_api::Account as PoolOwner;

/// A time or null of the wire type's `field`, parsed.
fn read_optional_time(field: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, Error> {
    raw.map(|raw| read_time(field, raw)).transpose()
}

/// RFC 3339 times read straight into `OffsetDateTime`, for `Heartbeat`, which skips the
/// shared seat type to read its three fields without allocating (and without turning on
/// `time`'s serde feature for the whole workspace).
mod rfc3339 {
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

    /// A time or null.
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        d.deserialize_option(OptionalVisitor)
    }
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

/// A seat object, as `POST /v1/seats` and `GET /v1/me/seats` answer it (read as
/// `seatbroker_api::Seat`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "seatbroker_api::Seat")]
pub struct Seat {
    /// The seat's id, `S-...`.
    pub seat_id: String,
    /// The pool it belongs to, `P-...`.
    pub pool_id: String,
    /// The account holding it.
    pub account_id: String,
    /// The device it is bound to: the id this client sent in the answer to a seat request,
    /// the device's fingerprint in listings (the broker keeps only a keyed hash of the id).
    pub device_id: String,
    /// The device's fingerprint (`3fa9-1c2b-77de`): what the portal and support show of this
    /// device, for the application to show its user too.
    pub device_fingerprint: String,
    /// The device's platform.
    pub platform: Platform,
    /// Owner or member rules.
    pub policy: Policy,
    /// When it was first granted.
    pub granted_at: OffsetDateTime,
    /// The heartbeat deadline; `None` while it needs no heartbeat.
    pub expires_at: Option<OffsetDateTime>,
    /// The end of its offline reservation (S11), if any.
    pub offline_until: Option<OffsetDateTime>,
    /// How often to heartbeat, in seconds (a third of the pool's timeout).
    pub heartbeat_interval_s: u64,
    /// The latest expiry among the pool's live licenses; `None` when one is permanent.
    pub license_expires_at: Option<OffsetDateTime>,
    /// Days left of a trial, when the seat is a trial's.
    pub trial_days_left: Option<u32>,
    /// Warning codes such as `license_expires_soon` and `trial_days_left`.
    pub warnings: Vec<String>,
}

impl TryFrom<seatbroker_api::Seat> for Seat {
    type Error = Error;

    fn try_from(wire: seatbroker_api::Seat) -> Result<Seat, Error> {
        Ok(Seat {
            granted_at: read_time("granted_at", &wire.granted_at)?,
            expires_at: read_optional_time("expires_at", wire.expires_at.as_deref())?,
            offline_until: read_optional_time("offline_until", wire.offline_until.as_deref())?,
            license_expires_at: read_optional_time(
                "license_expires_at",
                wire.license_expires_at.as_deref(),
            )?,
            seat_id: wire.seat_id,
            pool_id: wire.pool_id,
            account_id: wire.account_id,
            device_id: wire.device_id,
            device_fingerprint: wire.device_fingerprint,
            platform: wire.platform,
            policy: wire.policy,
            heartbeat_interval_s: u64::from(wire.heartbeat_interval_s),
            trial_days_left: wire.trial_days_left.map(u32::from),
            warnings: wire.warnings.into_iter().map(|w| w.into_owned()).collect(),
        })
    }
}

/// A granted seat and whether it was the device's seat already (S2).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The seat.
    pub seat: Seat,
    /// `true` when the broker answered 200 with the seat this device already held (S2).
    pub reused: bool,
}

/// What a heartbeat answer says: three fields of the seat object (`seatbroker_api::Seat`),
/// read without its strings so a beat allocates little.
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

/// The answer of a login (read as `seatbroker_api::Session`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "seatbroker_api::Session")]
pub struct Login {
    /// The bearer token (the client keeps it for its later calls).
    pub token: String,
    /// The account logged in.
    pub account_id: String,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
}

impl TryFrom<seatbroker_api::Session> for Login {
    type Error = Error;

    fn try_from(wire: seatbroker_api::Session) -> Result<Login, Error> {
        Ok(Login {
            expires_at: read_time("expires_at", &wire.expires_at)?,
            token: wire.token,
            account_id: wire.account_id,
        })
    }
}

/// A pool object (`GET /v1/pools/{pool}`), without the owner-only extras (read as
/// `seatbroker_api::Pool`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "seatbroker_api::Pool")]
pub struct Pool {
    /// `P-...`
    pub id: String,
    /// Its owner.
    pub owner: PoolOwner,
    /// The license type of its licenses.
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

impl From<seatbroker_api::Pool> for Pool {
    fn from(wire: seatbroker_api::Pool) -> Pool {
        Pool {
            id: wire.id,
            owner: wire.owner,
            kind: wire.kind.into_owned(),
            capacity: u64::from(wire.capacity),
            in_use: u64::from(wire.in_use),
            queue_length: wire.queue_length as u64,
            timeout_s: u64::from(wire.timeout_s),
        }
    }
}

/// The caller's own view, `GET /v1/me` (read as `seatbroker_api::Me`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "seatbroker_api::Me")]
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

impl TryFrom<seatbroker_api::Me> for Me {
    type Error = Error;

    fn try_from(wire: seatbroker_api::Me) -> Result<Me, Error> {
        Ok(Me {
            account: wire.account,
            own_pool: wire.own_pool.map(Pool::from),
            memberships: wire.memberships.into_iter().map(Pool::from).collect(),
            seats: wire
                .seats
                .into_iter()
                .map(Seat::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A license (`POST /v1/operator/licenses`, and inside an activation; read as
/// `seatbroker_api::License`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "seatbroker_api::License")]
pub struct License {
    /// `L-...`
    pub id: String,
    /// The key to activate it with, `R-...`.
    pub key: String,
    /// Its type: commercial, educational, government, student, semester, trial.
    pub kind: String,
    /// Its seats.
    pub seats: u32,
    /// Its expiry; `None` when permanent.
    pub expires_at: Option<OffsetDateTime>,
}

impl TryFrom<seatbroker_api::License> for License {
    type Error = Error;

    fn try_from(wire: seatbroker_api::License) -> Result<License, Error> {
        Ok(License {
            expires_at: read_optional_time("expires_at", wire.expires_at.as_deref())?,
            id: wire.id,
            key: wire.key,
            kind: wire.kind.into_owned(),
            seats: wire.seats,
        })
    }
}

/// The answer of `POST /v1/activations` (read as `seatbroker_api::Activation`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "seatbroker_api::Activation")]
pub struct Activation {
    /// `license` (a key was activated) or `membership` (an invite code was used).
    pub kind: String,
    /// The license activated, for a key.
    pub license: Option<License>,
    /// The pool the account now owns or belongs to.
    pub pool: Pool,
    /// `already_active` when the activation was repeated.
    pub warning: Option<String>,
}

impl TryFrom<seatbroker_api::Activation> for Activation {
    type Error = Error;

    fn try_from(wire: seatbroker_api::Activation) -> Result<Activation, Error> {
        Ok(Activation {
            kind: wire.kind.as_str().to_owned(),
            license: wire.license.map(License::try_from).transpose()?,
            pool: Pool::from(wire.pool),
            warning: wire.warning.map(|w| w.into_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn wire_seat() -> seatbroker_api::Seat {
        seatbroker_api::Seat {
            seat_id: "S-000-001-00000001".into(),
            pool_id: "P-000-001".into(),
            account_id: "A-000-002".into(),
            device_id: "laptop".into(),
            device_fingerprint: "3fa9-1c2b-77de".into(),
            platform: Platform::Mac,
            policy: Policy::Member,
            granted_at: "2027-03-01T08:00:00Z".into(),
            expires_at: Some("2027-03-01T16:00:00Z".into()),
            offline_until: None,
            offline_file: false,
            heartbeat_interval_s: 300,
            license_expires_at: Some("2027-03-10T00:00:00Z".into()),
            trial_days_left: None,
            warnings: vec![Cow::Borrowed("license_expires_soon")],
        }
    }

    #[test]
    fn a_seat_as_the_broker_writes_it_reads_as_a_seat_and_as_a_heartbeat() {
        let json = serde_json::to_vec(&wire_seat()).unwrap();
        let seat: Seat = serde_json::from_slice(&json).unwrap();
        assert_eq!(seat.platform, Platform::Mac);
        assert_eq!(seat.granted_at.hour(), 8);
        assert_eq!(seat.expires_at.map(|t| t.hour()), Some(16));
        assert_eq!(seat.offline_until, None);
        assert_eq!(seat.warnings, ["license_expires_soon"]);
        let beat: Heartbeat = serde_json::from_slice(&json).unwrap();
        assert_eq!(beat.heartbeat_interval_s, 300);
        assert_eq!(beat.expires_at, seat.expires_at);
        assert_eq!(beat.offline_until, None);
    }

    #[test]
    fn a_time_that_is_not_rfc_3339_is_refused_naming_its_field() {
        let mut wire = wire_seat();
        wire.expires_at = Some("tomorrow".into());
        let json = serde_json::to_vec(&wire).unwrap();
        let err = serde_json::from_slice::<Seat>(&json).unwrap_err();
        assert!(err.to_string().contains("expires_at"), "{err}");
    }
}
