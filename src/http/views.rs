//! The JSON bodies of API.md's answers, built here from service values: the seat, license,
//! account, pool, member, invite and usage objects are `seatbroker_api`'s shared types (the
//! client, `seatbroker report` and the null broker read the same ones), so every route
//! answers the same fields and `/openapi.json` describes each body exactly. This module only
//! converts (engine and store values to ids, RFC 3339 times and API names); the shapes live
//! in `seatbroker_api`. The `...Json` names are the ones the route modules use.

use std::borrow::Cow;

use seatbroker_actors::{PoolId, SeatView, Timestamp};
use seatbroker_api::{
    Account, Invite, License, Member, MemberStatus as ApiMemberStatus, Platform, Policy, Pool,
    PoolSettings, Seat, UsageRow as ApiUsageRow,
};

pub use seatbroker_api::{
    Account as AccountJson, Invite as InviteJson, License as LicenseJson, Me as MeJson,
    Member as MemberJson, Pool as PoolJson, PoolSettings as PoolSettingsJson,
    Released as ReleasedJson, Seat as SeatJson, Session as LoginJson, Trial as TrialJson,
    UsageRow as UsageRowJson,
};

use crate::domain::codes::LicenseKey;
use crate::domain::device::fingerprint;
use crate::domain::ids::{format_pool, format_seat};
use crate::domain::time;
use crate::domain::usage::UsageRow;
use crate::service::members::{Invite as ServiceInvite, Member as ServiceMember};
use crate::service::pools::PoolDetails;
use crate::store::{AccountRecord, LicenseRecord, MemberStatus};

/// A license expiring within this many days is announced with `license_expires_soon`.
const EXPIRES_SOON_DAYS: u64 = 14;

/// A seat object; `device_id` shows the device's fingerprint (the sent id is not kept), which
/// the answer to the request that sent the id replaces with it. The hot path answers one per take: its codes are static strings and enums,
/// so the only allocations are its ids and times (and the warnings' list when there are any).
pub fn seat(pool: PoolId, seat: &SeatView, now: Timestamp) -> Seat {
    let mut warnings = Vec::new();
    if seat
        .license_expires_at
        .is_some_and(|end| end <= now.plus_secs(EXPIRES_SOON_DAYS * 86_400))
    {
        warnings.push(Cow::Borrowed("license_expires_soon"));
    }
    if seat.trial_days_left.is_some() {
        warnings.push(Cow::Borrowed("trial_days_left"));
    }
    let print = fingerprint(&seat.device);
    Seat {
        seat_id: format_seat(pool, seat.id),
        pool_id: format_pool(pool),
        account_id: seat.account.to_string(),
        device_id: print.clone(),
        device_fingerprint: print,
        platform: platform(seat.platform),
        policy: match seat.policy {
            seatbroker_actors::Policy::Owner => Policy::Owner,
            seatbroker_actors::Policy::Member => Policy::Member,
        },
        granted_at: time::format(seat.granted_at),
        expires_at: seat.expires_at.map(time::format),
        offline_until: seat.offline_until.map(time::format),
        offline_file: seat.offline_file,
        heartbeat_interval_s: seat.heartbeat_interval_s,
        license_expires_at: seat.license_expires_at.map(time::format),
        trial_days_left: seat.trial_days_left,
        warnings,
    }
}

/// The engine's platform as the API names it.
pub fn platform(p: seatbroker_actors::Platform) -> Platform {
    match p {
        seatbroker_actors::Platform::Windows => Platform::Windows,
        seatbroker_actors::Platform::Mac => Platform::Mac,
        seatbroker_actors::Platform::Web => Platform::Web,
    }
}

/// Seat objects of one pool.
pub fn seats(pool: PoolId, seats: &[SeatView], now: Timestamp) -> Vec<Seat> {
    seats.iter().map(|s| seat(pool, s, now)).collect()
}

/// A license object.
pub fn license(rec: &LicenseRecord) -> License {
    License {
        id: rec.id.to_string(),
        key: LicenseKey::from_bits(rec.key).to_string(),
        kind: Cow::Borrowed(rec.kind.as_str()),
        seats: rec.seats,
        expires_at: rec.expires_at.map(time::format),
    }
}

/// An account object: id, email, name.
pub fn account(rec: &AccountRecord) -> Account {
    Account {
        id: rec.id.to_string(),
        email: rec.email.clone(),
        name: rec.name.clone(),
    }
}

/// A pool object; the owner's view (`d.licenses` present) adds `licenses` and `settings`.
pub fn pool(d: &PoolDetails) -> Pool {
    let owner_view = d.licenses.as_ref().map(|licenses| {
        (
            licenses.iter().map(license).collect(),
            PoolSettings {
                timeout_s: d.settings.timeout_s,
                offline_max_days: d.settings.offline_max_days,
                idle_reclaim_s: d.settings.idle_reclaim_s,
                join_email_domain: d.record.join_email_domain.clone(),
            },
        )
    });
    let (licenses, settings) = owner_view.unzip();
    Pool {
        id: format_pool(d.record.pool),
        owner: account(&d.owner),
        kind: Cow::Borrowed(d.record.kind.as_str()),
        capacity: d.status.capacity,
        in_use: d.status.in_use,
        queue_length: d.status.queue_length,
        timeout_s: d.settings.timeout_s,
        licenses,
        settings,
    }
}

/// An invite object.
pub fn invite(i: &ServiceInvite) -> Invite {
    Invite {
        code: i.code.to_string(),
        url: i.url.clone(),
    }
}

/// A member object.
pub fn member(m: &ServiceMember) -> Member {
    Member {
        account_id: m.membership.account.to_string(),
        email: m.email.clone(),
        name: m.name.clone(),
        status: match m.membership.status {
            MemberStatus::Active => ApiMemberStatus::Active,
            MemberStatus::Blocked => ApiMemberStatus::Blocked,
        },
        seats_in_use: m.seats_in_use,
    }
}

/// A usage row.
pub fn usage_row(r: &UsageRow) -> ApiUsageRow {
    ApiUsageRow {
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

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_api::{Activation, ActivationKind};

    fn a_pool() -> Pool {
        Pool {
            id: "P-000-001".into(),
            owner: Account {
                id: "A-000-001".into(),
                email: "prof@uni.edu".into(),
                name: "Prof".into(),
            },
            kind: Cow::Borrowed("educational"),
            capacity: 15,
            in_use: 2,
            queue_length: 0,
            timeout_s: 28_800,
            licenses: None,
            settings: None,
        }
    }

    #[test]
    fn an_activation_answers_api_md_s_shape() {
        let membership = Activation {
            kind: ActivationKind::Membership,
            license: None,
            pool: a_pool(),
            warning: Some(Cow::Borrowed("already_active")),
        };
        let sent = serde_json::to_value(&membership).unwrap();
        assert_eq!(sent["kind"], "membership");
        assert_eq!(sent["warning"], "already_active");
        assert!(sent.get("license").is_none(), "no license for a membership");
        assert_eq!(
            serde_json::from_value::<Activation>(sent).unwrap(),
            membership
        );

        let license = Activation {
            kind: ActivationKind::License,
            license: Some(License {
                id: "L-AD6-FB6".into(),
                key: "R-61F-5C0-587-0F5-3A5-CBA".into(),
                kind: Cow::Borrowed("educational"),
                seats: 15,
                expires_at: None,
            }),
            pool: a_pool(),
            warning: None,
        };
        let sent = serde_json::to_value(&license).unwrap();
        assert_eq!(sent["kind"], "license");
        assert_eq!(sent["license"]["type"], "educational");
        assert!(sent.get("warning").is_none(), "no warning when new");
        assert_eq!(serde_json::from_value::<Activation>(sent).unwrap(), license);
    }
}
