//! The JSON bodies of API.md's answers (seat, license, pool, member, ...), one typed struct
//! each, built from service values in one place so every route answers the same fields and
//! `/openapi.json` describes each body exactly (`ToSchema`).

use seatbroker_actors::{PoolId, SeatView, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::codes::LicenseKey;
use crate::domain::ids::{format_pool, format_seat};
use crate::domain::time;
use crate::domain::usage::UsageRow;
use crate::service::members::{Invite, Member};
use crate::service::pools::PoolDetails;
use crate::store::{AccountRecord, LicenseRecord, MemberStatus};

/// A license expiring within this many days is announced with `license_expires_soon`.
const EXPIRES_SOON_DAYS: u64 = 14;

/// A seat object (the hot path answers one per take, so it is serialised field by field).
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatJson {
    /// `S-...`.
    seat_id: String,
    /// `P-...`.
    pool_id: String,
    /// The holder, `A-...`.
    account_id: String,
    /// The device it is bound to.
    device_id: String,
    /// `windows`, `mac` or `web`.
    #[schema(value_type = String)]
    platform: &'static str,
    /// `owner` or `member`.
    #[schema(value_type = String)]
    policy: &'static str,
    /// When it was first granted (RFC 3339).
    granted_at: String,
    /// The heartbeat deadline; null while it needs no heartbeat.
    expires_at: Option<String>,
    /// The end of an offline reservation (S11).
    offline_until: Option<String>,
    /// A third of the pool's timeout, 1 to 300.
    heartbeat_interval_s: u32,
    /// The latest expiry among the pool's live licenses; null when one is permanent.
    license_expires_at: Option<String>,
    /// Active days left, in a trial pool.
    trial_days_left: Option<u8>,
    /// `license_expires_soon`, `trial_days_left`.
    #[schema(value_type = Vec<String>)]
    warnings: Vec<&'static str>,
}

/// A seat object.
pub fn seat(pool: PoolId, seat: &SeatView, now: Timestamp) -> SeatJson {
    let mut warnings = Vec::new();
    if seat
        .license_expires_at
        .is_some_and(|end| end <= now.plus_secs(EXPIRES_SOON_DAYS * 86_400))
    {
        warnings.push("license_expires_soon");
    }
    if seat.trial_days_left.is_some() {
        warnings.push("trial_days_left");
    }
    SeatJson {
        seat_id: format_seat(pool, seat.id),
        pool_id: format_pool(pool),
        account_id: seat.account.to_string(),
        device_id: seat.device.as_str().to_owned(),
        platform: seat.platform.as_str(),
        policy: match seat.policy {
            seatbroker_actors::Policy::Owner => "owner",
            seatbroker_actors::Policy::Member => "member",
        },
        granted_at: time::format(seat.granted_at),
        expires_at: seat.expires_at.map(time::format),
        offline_until: seat.offline_until.map(time::format),
        heartbeat_interval_s: seat.heartbeat_interval_s,
        license_expires_at: seat.license_expires_at.map(time::format),
        trial_days_left: seat.trial_days_left,
        warnings,
    }
}

/// Seat objects of one pool.
pub fn seats(pool: PoolId, seats: &[SeatView], now: Timestamp) -> Vec<SeatJson> {
    seats.iter().map(|s| seat(pool, s, now)).collect()
}

/// A license object.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseJson {
    /// `L-...`.
    id: String,
    /// `R-...`.
    key: String,
    /// The license type.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: &'static str,
    /// Concurrent seats.
    seats: u32,
    /// The end of the license; null when permanent.
    expires_at: Option<String>,
}

/// A license object.
pub fn license(rec: &LicenseRecord) -> LicenseJson {
    LicenseJson {
        id: rec.id.to_string(),
        key: LicenseKey::from_bits(rec.key).to_string(),
        kind: rec.kind.as_str(),
        seats: rec.seats,
        expires_at: rec.expires_at.map(time::format),
    }
}

/// An account as others may see it: id, name, email.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountJson {
    /// `A-...`.
    id: String,
    /// The email as typed at registration.
    email: String,
    /// The display name.
    name: String,
}

/// An account object.
pub fn account(rec: &AccountRecord) -> AccountJson {
    AccountJson {
        id: rec.id.to_string(),
        email: rec.email.clone(),
        name: rec.name.clone(),
    }
}

/// The owner's settings of a pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolSettingsJson {
    /// S4's heartbeat timeout.
    timeout_s: u32,
    /// S11's longest offline reservation.
    offline_max_days: u32,
    /// W2's idle reclaim; null when off.
    idle_reclaim_s: Option<u32>,
    /// I4's join restriction; null when anyone may join.
    join_email_domain: Option<String>,
}

/// A pool object; the owner's view adds `licenses` and `settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolJson {
    /// `P-...`.
    id: String,
    /// The pool's owner.
    owner: AccountJson,
    /// The type of the pool's licenses.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: &'static str,
    /// Seats of the pool's live licenses.
    capacity: u32,
    /// Capacity in use.
    in_use: u32,
    /// Requests waiting (W1).
    queue_length: usize,
    /// S4's heartbeat timeout.
    timeout_s: u32,
    /// The pool's licenses (owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<Vec<LicenseJson>>,
    /// The pool's settings (owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<PoolSettingsJson>,
}

/// A pool object.
pub fn pool(d: &PoolDetails) -> PoolJson {
    let owner_view = d.licenses.as_ref().map(|licenses| {
        (
            licenses.iter().map(license).collect(),
            PoolSettingsJson {
                timeout_s: d.settings.timeout_s,
                offline_max_days: d.settings.offline_max_days,
                idle_reclaim_s: d.settings.idle_reclaim_s,
                join_email_domain: d.record.join_email_domain.clone(),
            },
        )
    });
    let (licenses, settings) = owner_view.unzip();
    PoolJson {
        id: format_pool(d.record.pool),
        owner: account(&d.owner),
        kind: d.record.kind.as_str(),
        capacity: d.status.capacity,
        in_use: d.status.in_use,
        queue_length: d.status.queue_length,
        timeout_s: d.settings.timeout_s,
        licenses,
        settings,
    }
}

/// The answer of `POST /v1/activations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationJson {
    /// `license` or `membership`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The license activated (for `kind: license`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<LicenseJson>,
    /// The pool: the account's own, or the one joined.
    pub pool: PoolJson,
    /// `already_active` when the activation was repeated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub warning: Option<&'static str>,
}

/// The answer of `POST /v1/trials`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialJson {
    /// The trial's license.
    pub license: LicenseJson,
    /// The account's pool.
    pub pool: PoolJson,
    /// 5.
    pub active_days_left: u8,
    /// The end of the 90 days.
    pub valid_until: String,
}

/// The answer of `POST /v1/auth/login`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginJson {
    /// The bearer token.
    pub token: String,
    /// `A-...`.
    pub account_id: String,
    /// When the token stops working.
    pub expires_at: String,
}

/// The answer of `GET /v1/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeJson {
    /// The account.
    pub account: AccountJson,
    /// Its own pool; null before its first activation or trial.
    pub own_pool: Option<PoolJson>,
    /// The pools it is a member of.
    pub memberships: Vec<PoolJson>,
    /// Its seats.
    pub seats: Vec<SeatJson>,
}

/// The answer of "free up my seats".
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasedJson {
    /// How many seats were freed.
    pub released: usize,
}

/// A pool's invite code and URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteJson {
    /// `I-...`.
    code: String,
    /// `{server.public_url}/join/{code}`.
    url: String,
}

/// An invite object.
pub fn invite(i: &Invite) -> InviteJson {
    InviteJson {
        code: i.code.to_string(),
        url: i.url.clone(),
    }
}

/// A member as the owner's list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    /// `A-...`.
    account_id: String,
    /// The member's email.
    email: String,
    /// The member's name.
    name: String,
    /// `active` or `blocked`.
    #[schema(value_type = String)]
    status: &'static str,
    /// Seats the member holds in the pool.
    seats_in_use: usize,
}

/// A member object.
pub fn member(m: &Member) -> MemberJson {
    MemberJson {
        account_id: m.membership.account.to_string(),
        email: m.email.clone(),
        name: m.name.clone(),
        status: match m.membership.status {
            MemberStatus::Active => "active",
            MemberStatus::Blocked => "blocked",
        },
        seats_in_use: m.seats_in_use,
    }
}

/// One bucket of a usage report (W4).
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageRowJson {
    /// The bucket's start.
    start: String,
    /// The most capacity in use at once.
    peak_in_use: u32,
    /// The largest capacity.
    capacity: u32,
    /// Seats granted.
    grants: u32,
    /// Seats given back by their holders.
    releases: u32,
    /// Requests refused.
    refusals: u32,
    /// Seats freed by timeout.
    expirations: u32,
    /// Seats taken away.
    revocations: u32,
    /// Accounts that held a seat in the bucket.
    distinct_accounts: u32,
}

/// A usage row.
pub fn usage_row(r: &UsageRow) -> UsageRowJson {
    UsageRowJson {
        start: time::format(r.start),
        peak_in_use: r.peak_in_use,
        capacity: r.capacity,
        grants: r.grants,
        releases: r.releases,
        refusals: r.refusals,
        expirations: r.expirations,
        revocations: r.revocations,
        distinct_accounts: r.distinct_accounts,
    }
}
