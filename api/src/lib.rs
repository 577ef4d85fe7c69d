//! The JSON bodies of the seatbroker's HTTP API (API.md) as plain serde types: one set that
//! the broker serialises (building them from its engine's values in `src/http/views.rs`) and
//! that the client library, `seatbroker report` and the load tester's null broker read or
//! write, so both sides of the wire agree on every field by construction and the broker's
//! `/openapi.json` describes each body exactly. Ids and times stay strings as the API writes
//! them (`S-...`, RFC 3339 in UTC); parsing them into richer types is each reader's business.
//! Closed sets that API.md names (platform, policy, member status, activation kind) are
//! enums; open lists of codes (warnings, license types, error codes) are `Cow<'static, str>`,
//! which the broker fills from its static tables without allocating and a reader owns. Apart
//! from `offline` below, only shapes live here: no I/O, no validation, no conversion from the
//! engine's types. Readers ignore fields they do not know, since the API may add some. The
//! `schema` feature derives `utoipa::ToSchema` for the broker; clients leave it off and do
//! not build utoipa.
//!
//! One module goes beyond shapes: `offline` (issue 16). Its request and license files are
//! part of the wire too, carried by hand between an offline computer and the broker, so
//! their encoding, decoding and signature check live here, beside the shapes, and both sides
//! read every byte of them identically.

#![warn(missing_docs)]

mod accounts;
mod errors;
mod licenses;
pub mod offline;
mod pools;
mod seats;

pub use accounts::{Account, Me, Session};
pub use errors::{ErrorBody, ErrorObject, NoSeatDetails, OwnerContact, SeatElsewhere};
pub use licenses::{Activation, ActivationKind, License, Trial};
pub use pools::{
    Invite, Member, MemberStatus, Pool, PoolHistory, PoolHistoryEvent, PoolSettings, UsageRow,
};
pub use seats::{Platform, Policy, Released, Seat};

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::{json, Value};

    use super::*;

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
            in_use: 0,
            queue_length: 0,
            timeout_s: 28_800,
            licenses: None,
            settings: None,
        }
    }

    #[test]
    fn a_seat_writes_every_field_of_api_md_with_nulls_and_codes_as_names() {
        let seat = Seat {
            seat_id: "S-000-001-00000001".into(),
            pool_id: "P-000-001".into(),
            account_id: "A-000-002".into(),
            device_id: "laptop".into(),
            device_fingerprint: "3fa9-1c2b-77de".into(),
            platform: Platform::Web,
            policy: Policy::Owner,
            granted_at: "2027-03-01T08:00:00Z".into(),
            expires_at: None,
            offline_until: None,
            offline_file: false,
            heartbeat_interval_s: 300,
            license_expires_at: None,
            trial_days_left: Some(5),
            warnings: vec![Cow::Borrowed("trial_days_left")],
        };
        let json = serde_json::to_value(&seat).unwrap();
        assert_eq!(
            json,
            json!({
                "seat_id": "S-000-001-00000001", "pool_id": "P-000-001",
                "account_id": "A-000-002", "device_id": "laptop",
                "device_fingerprint": "3fa9-1c2b-77de", "platform": "web",
                "policy": "owner", "granted_at": "2027-03-01T08:00:00Z", "expires_at": null,
                "offline_until": null, "offline_file": false, "heartbeat_interval_s": 300,
                "license_expires_at": null, "trial_days_left": 5,
                "warnings": ["trial_days_left"],
            })
        );
        assert_eq!(serde_json::from_value::<Seat>(json).unwrap(), seat);
    }

    #[test]
    fn the_owner_only_fields_of_a_pool_are_absent_for_members_and_unknown_fields_are_ignored() {
        let json = serde_json::to_value(a_pool()).unwrap();
        assert!(json.get("licenses").is_none() && json.get("settings").is_none());
        let mut newer = json.clone();
        newer["added_in_a_later_version"] = Value::from(1);
        assert_eq!(serde_json::from_value::<Pool>(newer).unwrap(), a_pool());
    }

    #[test]
    fn an_error_keeps_its_details_beside_code_and_message() {
        let raw = json!({"error": {"code": "no_seat_available", "message": "all 1 seats",
            "capacity": 1, "in_use": 1, "queue_position": null, "owner_contact": null,
            "own_seats_elsewhere": [{"seat_id": "S-1", "pool_id": "P-1", "device_id": "d",
                "platform": "mac", "granted_at": "2027-01-01T00:00:00Z"}]}});
        let body: ErrorBody = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(body.error.code, "no_seat_available");
        assert_eq!(body.error.details["capacity"], 1);
        assert_eq!(serde_json::to_value(&body).unwrap(), raw);
        let details: NoSeatDetails =
            serde_json::from_value(Value::Object(body.error.details)).unwrap();
        assert_eq!(details.own_seats_elsewhere[0].platform, Platform::Mac);
        assert_eq!((details.capacity, details.queue_position), (1, None));
    }

    #[test]
    fn enums_read_and_write_the_names_of_api_md() {
        for p in [Platform::Windows, Platform::Mac, Platform::Web] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(Platform::from_name(p.as_str()), Some(p));
        }
        assert_eq!(Platform::from_name("linux"), None);
        for k in [ActivationKind::License, ActivationKind::Membership] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for s in [MemberStatus::Active, MemberStatus::Blocked] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(serde_json::to_value(Policy::Member).unwrap(), "member");
    }
}
