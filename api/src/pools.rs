//! Pools and what their owner manages: the pool object and its settings, the invitation,
//! members, and the rows of the usage report (W4).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::{Account, License};

/// The owner's settings of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct PoolSettings {
    /// The heartbeat timeout of its seats, in seconds (S4).
    pub timeout_s: u32,
    /// The longest offline reservation, in days (S11).
    pub offline_max_days: u32,
    /// Idle seats are reclaimed after this many seconds (W2); null when off.
    pub idle_reclaim_s: Option<u32>,
    /// Only accounts of this email domain may join (I4); null when anyone may.
    pub join_email_domain: Option<String>,
}

/// A pool object (`GET /v1/pools/{pool}`); the owner's view adds `licenses` and `settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Pool {
    /// The pool's id, `P-...`.
    pub id: String,
    /// Its owner.
    pub owner: Account,
    /// The type of its licenses.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub kind: Cow<'static, str>,
    /// Seats of its live licenses.
    pub capacity: u32,
    /// Capacity in use.
    pub in_use: u32,
    /// Requests waiting for a seat (W1).
    pub queue_length: usize,
    /// The heartbeat timeout of its seats, in seconds (S4).
    pub timeout_s: u32,
    /// Its licenses (the owner's view only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<License>>,
    /// Its settings (the owner's view only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<PoolSettings>,
}

/// A pool's invitation (`GET /v1/pools/{pool}/invite` and its rotation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Invite {
    /// The invite code, `I-...`.
    pub code: String,
    /// The invite URL carrying it, `{server.public_url}/join/{code}`.
    pub url: String,
}

/// Whether a member may take seats in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// May take seats.
    Active,
    /// Blocked by the owner (S10).
    Blocked,
}

impl MemberStatus {
    /// The API's name: `active` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Blocked => "blocked",
        }
    }
}

/// A member as the owner's list shows it (`GET /v1/pools/{pool}/members`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Member {
    /// The member's account, `A-...`.
    pub account_id: String,
    /// The member's email.
    pub email: String,
    /// The member's display name.
    pub name: String,
    /// `active` or `blocked`.
    pub status: MemberStatus,
    /// Seats the member holds in the pool.
    pub seats_in_use: usize,
}

/// One bucket of a pool's usage report (`GET /v1/pools/{pool}/usage`, W4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct UsageRow {
    /// The bucket's start (RFC 3339).
    pub start: String,
    /// The most capacity in use at once.
    pub peak_in_use: u32,
    /// The largest capacity.
    pub capacity: u32,
    /// Seats granted.
    pub grants: u32,
    /// Seats given back by their holders.
    pub releases: u32,
    /// Requests refused.
    pub refusals: u32,
    /// Seats freed by timeout.
    pub expirations: u32,
    /// Seats taken away.
    pub revocations: u32,
    /// Accounts that held a seat in the bucket.
    pub distinct_accounts: u32,
}

/// A pool's history of one UTC day (`GET /v1/pools/{pool}/history`, issue 16): each seat
/// granted and each request refused, oldest first, besides the day's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct PoolHistory {
    /// The pool, `P-...`.
    pub pool_id: String,
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Seats granted that day.
    pub grants: u32,
    /// Requests refused that day.
    pub refusals: u32,
    /// Whether some grants or refusals are counted but not listed (a pool keeps at most
    /// 1,000 of them per hour one by one).
    pub truncated: bool,
    /// The grants and refusals, oldest first.
    pub events: Vec<PoolHistoryEvent>,
}

/// One grant or refusal in a pool's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct PoolHistoryEvent {
    /// When (RFC 3339).
    pub at: String,
    /// `granted` or `refused`.
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub kind: Cow<'static, str>,
    /// The account that asked, `A-...`.
    pub account_id: String,
    /// Its email; null when the account was deleted since.
    pub email: Option<String>,
    /// The device's fingerprint (the broker keeps no device ids).
    pub device: String,
    /// `windows`, `mac` or `web`.
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub platform: Cow<'static, str>,
    /// The seat granted; null for a refusal.
    pub seat_id: Option<String>,
    /// The refusal's code (`no_seat_available`, `member_blocked`, ...); null for a grant.
    pub code: Option<String>,
}
