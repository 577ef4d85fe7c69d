//! The public text forms of ids (API.md: accounts `A-3F9-C21`, licenses `L-AD6-FB6`, pools
//! `P-3F9-C21`, seats `S-3F9C21-1000003`) and their parsing. A pool is its owner's, so its id
//! carries the owner's digits; a seat id carries its pool, so `/v1/seats/{seat}` reaches the
//! pool's actor without a lookup.

use seatbroker_actors::{AccountId, LicenseId, PoolId, SeatId};

/// An id in the wrong form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct BadId;

/// Parses `X-ABC-DEF` (the prefix, then 24 bits as two groups of three hex digits).
fn parse_24(raw: &str, prefix: char) -> Result<u32, BadId> {
    let rest = raw.strip_prefix(prefix).ok_or(BadId)?;
    let rest = rest.strip_prefix('-').ok_or(BadId)?;
    let (a, b) = rest.split_once('-').ok_or(BadId)?;
    if a.len() != 3 || b.len() != 3 {
        return Err(BadId);
    }
    let hi = u32::from_str_radix(a, 16).map_err(|_| BadId)?;
    let lo = u32::from_str_radix(b, 16).map_err(|_| BadId)?;
    if !a.chars().chain(b.chars()).all(|c| c.is_ascii_hexdigit()) {
        return Err(BadId);
    }
    Ok((hi << 12) | lo)
}

/// `A-3F9-C21`
pub fn parse_account(raw: &str) -> Result<AccountId, BadId> {
    parse_24(&raw.to_ascii_uppercase(), 'A').map(AccountId)
}

/// `L-AD6-FB6`
pub fn parse_license(raw: &str) -> Result<LicenseId, BadId> {
    parse_24(&raw.to_ascii_uppercase(), 'L').map(LicenseId)
}

/// The pool owned by `owner`.
pub fn pool_of(owner: AccountId) -> PoolId {
    PoolId(u64::from(owner.0))
}

/// The owner of `pool`.
pub fn owner_of(pool: PoolId) -> AccountId {
    AccountId(pool.0 as u32)
}

/// `P-3F9-C21`
pub fn format_pool(pool: PoolId) -> String {
    let v = pool.0 as u32;
    format!("P-{:03X}-{:03X}", (v >> 12) & 0xFFF, v & 0xFFF)
}

/// `P-3F9-C21`
pub fn parse_pool(raw: &str) -> Result<PoolId, BadId> {
    parse_24(&raw.to_ascii_uppercase(), 'P').map(|v| PoolId(u64::from(v)))
}

/// `S-3F9C21-1000003`: the pool's digits, then the seat's.
pub fn format_seat(pool: PoolId, seat: SeatId) -> String {
    format!("S-{:06X}-{:X}", pool.0 as u32, seat.0)
}

/// The pool and seat of `S-3F9C21-1000003`.
pub fn parse_seat(raw: &str) -> Result<(PoolId, SeatId), BadId> {
    let raw = raw.to_ascii_uppercase();
    let rest = raw.strip_prefix("S-").ok_or(BadId)?;
    let (pool, seat) = rest.split_once('-').ok_or(BadId)?;
    if pool.len() != 6 || seat.is_empty() || seat.len() > 16 {
        return Err(BadId);
    }
    if !pool
        .chars()
        .chain(seat.chars())
        .all(|c| c.is_ascii_hexdigit())
    {
        return Err(BadId);
    }
    let pool = u32::from_str_radix(pool, 16).map_err(|_| BadId)?;
    let seat = u64::from_str_radix(seat, 16).map_err(|_| BadId)?;
    Ok((PoolId(u64::from(pool)), SeatId(seat)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_have_their_public_forms() {
        assert_eq!(parse_account("A-3F9-C21"), Ok(AccountId(0x3F9C21)));
        assert_eq!(AccountId(0x3F9C21).to_string(), "A-3F9-C21");
        assert_eq!(parse_license("L-AD6-FB6"), Ok(LicenseId(0xAD6FB6)));
        let pool = pool_of(AccountId(0x3F9C21));
        assert_eq!(format_pool(pool), "P-3F9-C21");
        assert_eq!(parse_pool("P-3F9-C21"), Ok(pool));
        assert_eq!(owner_of(pool), AccountId(0x3F9C21));
        assert_eq!(format_seat(pool, SeatId(0x1000003)), "S-3F9C21-1000003");
        assert_eq!(
            parse_seat("S-3F9C21-1000003"),
            Ok((pool, SeatId(0x1000003)))
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "A-3F9",
            "A-3F9-C2",
            "B-3F9-C21",
            "A-3F9-C2G",
            "A-+F9-C21",
            "A3F9C21",
        ] {
            assert_eq!(parse_account(bad), Err(BadId), "{bad:?}");
        }
        for bad in [
            "S-3F9C21",
            "S-3F9C2-1",
            "S-3F9C21-",
            "S-3F9C21-12345678901234567",
            "S-3F9C21-+1",
        ] {
            assert_eq!(parse_seat(bad), Err(BadId), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn seat_ids_round_trip(pool in 0u32..(1 << 24), seat in any::<u64>()) {
            let p = PoolId(u64::from(pool));
            prop_assert_eq!(parse_seat(&format_seat(p, SeatId(seat))), Ok((p, SeatId(seat))));
            prop_assert_eq!(parse_pool(&format_pool(p)), Ok(p));
        }

        #[test]
        fn parsing_any_text_never_panics(raw in ".{0,40}") {
            let _ = parse_account(&raw);
            let _ = parse_seat(&raw);
            let _ = parse_pool(&raw);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    /// The text of a valid id of any kind.
    fn id_text() -> impl Strategy<Value = String> {
        let digits = 0u32..(1 << 24);
        prop_oneof![
            digits.clone().prop_map(|v| AccountId(v).to_string()),
            digits.clone().prop_map(|v| LicenseId(v).to_string()),
            digits
                .clone()
                .prop_map(|v| format_pool(PoolId(u64::from(v)))),
            (digits, any::<u64>()).prop_map(|(p, s)| format_seat(PoolId(u64::from(p)), SeatId(s))),
        ]
    }

    /// Text near an id, or any text.
    fn id_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any_text(),
            near_text(id_text()),
            id_text().prop_map(|t| t.to_lowercase())
        ]
    }

    proptest! {
        #[test]
        fn id_parsers_never_panic(raw in id_like()) {
            let _ = parse_account(&raw);
            let _ = parse_license(&raw);
            let _ = parse_pool(&raw);
            let _ = parse_seat(&raw);
        }

        #[test]
        fn parsed_ids_round_trip_through_their_printers(raw in id_like()) {
            if let Ok(account) = parse_account(&raw) {
                prop_assert_eq!(parse_account(&account.to_string()), Ok(account));
            }
            if let Ok(license) = parse_license(&raw) {
                prop_assert_eq!(parse_license(&license.to_string()), Ok(license));
            }
            if let Ok(pool) = parse_pool(&raw) {
                prop_assert_eq!(parse_pool(&format_pool(pool)), Ok(pool));
            }
            if let Ok((pool, seat)) = parse_seat(&raw) {
                prop_assert_eq!(parse_seat(&format_seat(pool, seat)), Ok((pool, seat)));
            }
        }

        #[test]
        fn account_and_license_ids_round_trip(v in 0u32..(1 << 24)) {
            prop_assert_eq!(parse_account(&AccountId(v).to_string()), Ok(AccountId(v)));
            prop_assert_eq!(parse_account(&AccountId(v).to_string().to_lowercase()), Ok(AccountId(v)));
            prop_assert_eq!(parse_license(&LicenseId(v).to_string()), Ok(LicenseId(v)));
            prop_assert_eq!(owner_of(pool_of(AccountId(v))), AccountId(v));
        }
    }
}
