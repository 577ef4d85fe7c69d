//! The one error shape of API.md, `{"error": {"code", "message", ...details}}`, and the
//! details of the refusal a client most often has to explain, `no_seat_available` (S12, W1).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Platform;

/// Every error answer: the error object under `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorObject,
}

/// A stable machine-readable code, a sentence for people, and details beside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ErrorObject {
    /// The stable code, such as `no_seat_available` or `malformed_request`.
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub code: Cow<'static, str>,
    /// A sentence for people.
    #[serde(default)]
    pub message: String,
    /// The code's details (`field`, `reason`, `resource`, ...), beside `code` and `message`.
    #[serde(flatten)]
    #[cfg_attr(feature = "schema", schema(value_type = Object))]
    pub details: Map<String, Value>,
}

/// The details of a `no_seat_available` refusal, beside its code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct NoSeatDetails {
    /// The pool's capacity.
    pub capacity: u32,
    /// Capacity in use.
    pub in_use: u32,
    /// The account's own seats on other devices, which "free up my seats" would release.
    #[serde(default)]
    pub own_seats_elsewhere: Vec<SeatElsewhere>,
    /// How to reach the pool's owner; null when unknown.
    #[serde(default)]
    pub owner_contact: Option<OwnerContact>,
    /// Where a waiting request stood when its wait ended; null when it did not wait.
    #[serde(default)]
    pub queue_position: Option<usize>,
}

/// One of the account's own seats on another device (S12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SeatElsewhere {
    /// The seat's id, `S-...`.
    pub seat_id: String,
    /// Its pool, `P-...`.
    pub pool_id: String,
    /// The device holding it, as its fingerprint (the broker keeps no device ids).
    pub device_id: String,
    /// The device's fingerprint (`3fa9-1c2b-77de`), as in seat objects.
    #[serde(default)]
    pub device_fingerprint: String,
    /// That device's platform.
    pub platform: Platform,
    /// When it was granted (RFC 3339).
    pub granted_at: String,
}

/// How to reach a pool's owner (S12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct OwnerContact {
    /// The owner's display name.
    pub name: String,
    /// The owner's email.
    pub email: String,
}
