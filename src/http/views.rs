//! The JSON shapes of API.md's objects (seat, license, pool), built from engine and store
//! values in one place so every route answers the same fields.

use seatbroker_actors::{PoolId, PoolStatus, SeatView, Timestamp};
use serde_json::{json, Value};

use crate::domain::codes::LicenseKey;
use crate::domain::ids::{format_pool, format_seat};
use crate::domain::time;
use crate::store::{AccountRecord, LicenseRecord, PoolRecord};

/// A license expiring within this many days is announced with `license_expires_soon`.
const EXPIRES_SOON_DAYS: u64 = 14;

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::from(time::format(t)))
}

/// A seat object, serialised field by field (the hot path answers one per take, so no
/// intermediate `serde_json::Value` map is built).
#[derive(Debug, serde::Serialize)]
pub struct SeatJson {
    seat_id: String,
    pool_id: String,
    account_id: String,
    device_id: String,
    platform: &'static str,
    policy: &'static str,
    granted_at: String,
    expires_at: Option<String>,
    offline_until: Option<String>,
    heartbeat_interval_s: u32,
    license_expires_at: Option<String>,
    trial_days_left: Option<u8>,
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

/// A license object.
pub fn license(rec: &LicenseRecord) -> Value {
    json!({
        "id": rec.id.to_string(),
        "key": LicenseKey::from_bits(rec.key).to_string(),
        "type": rec.kind.as_str(),
        "seats": rec.seats,
        "expires_at": opt_time(rec.expires_at),
    })
}

/// A pool object; the owner's view adds its licenses and settings.
pub fn pool(
    record: &PoolRecord,
    owner: &AccountRecord,
    status: &PoolStatus,
    settings: &seatbroker_actors::PoolSettings,
    owner_view: Option<&[LicenseRecord]>,
) -> Value {
    let mut v = json!({
        "id": format_pool(record.pool),
        "owner": {"id": owner.id.to_string(), "name": owner.name, "email": owner.email},
        "type": record.kind.as_str(),
        "capacity": status.capacity,
        "in_use": status.in_use,
        "queue_length": status.queue_length,
        "timeout_s": settings.timeout_s,
    });
    if let (Some(licenses), Some(obj)) = (owner_view, v.as_object_mut()) {
        obj.insert(
            "licenses".into(),
            Value::from(licenses.iter().map(license).collect::<Vec<_>>()),
        );
        obj.insert(
            "settings".into(),
            json!({
                "timeout_s": settings.timeout_s,
                "offline_max_days": settings.offline_max_days,
                "idle_reclaim_s": settings.idle_reclaim_s,
                "join_email_domain": record.join_email_domain,
            }),
        );
    }
    v
}
