//! Times on the wire: RFC 3339 in UTC (API.md), to and from the engine's `Timestamp`.

use seatbroker_actors::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A time the API could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 time such as 2027-07-31T23:59:59Z")]
pub struct BadTime;

/// `2026-11-23T14:38:43.123Z`
pub fn format(ts: Timestamp) -> String {
    let nanos = i128::from(ts.as_millis()) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

/// Reads an RFC 3339 time (any offset); times before 1970 are refused.
pub fn parse(raw: &str) -> Result<Timestamp, BadTime> {
    let t = OffsetDateTime::parse(raw.trim(), &Rfc3339).map_err(|_| BadTime)?;
    // Rounded down, not toward zero: the last nanoseconds of 1969 are before 1970 too.
    let millis = t.unix_timestamp_nanos().div_euclid(1_000_000);
    u64::try_from(millis).map(Timestamp).map_err(|_| BadTime)
}

/// Reads a date, `YYYY-MM-DD`, as the start of that day in UTC.
pub fn parse_date(raw: &str) -> Result<Timestamp, BadTime> {
    let raw = raw.trim();
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(BadTime);
    }
    parse(&format!("{raw}T00:00:00Z"))
}

/// The date of a time, `YYYY-MM-DD` (UTC).
pub fn format_date(ts: Timestamp) -> String {
    format(ts).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_in_utc() {
        let day = parse_date("2027-03-01").expect("a date");
        assert_eq!(day, parse("2027-03-01T00:00:00Z").expect("a time"));
        assert_eq!(format_date(day.plus_secs(86_399)), "2027-03-01");
        assert_eq!(parse_date("2027-3-1"), Err(BadTime));
        assert_eq!(parse_date("yesterday"), Err(BadTime));
        assert_eq!(parse_date("2027-02-30"), Err(BadTime));
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        let t = Timestamp(1_795_444_723_123);
        let text = format(t);
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(parse(&text), Ok(t));
        assert_eq!(
            parse("2027-07-31T23:59:59+02:00"),
            parse("2027-07-31T21:59:59Z")
        );
        assert_eq!(parse("yesterday"), Err(BadTime));
        assert_eq!(parse("1960-01-01T00:00:00Z"), Err(BadTime));
        assert_eq!(parse("1969-12-31T23:59:59.9995Z"), Err(BadTime));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;
    use time::UtcOffset;

    /// The last millisecond RFC 3339 can write: 9999-12-31T23:59:59.999Z.
    const LAST_MS: u64 = 253_402_300_799_999;

    /// A moment from 1900 to 2100 (or within seconds or milliseconds of the epoch) in
    /// nanoseconds since the
    /// epoch, and an offset in whole minutes to write it in, as RFC 3339 can.
    fn moment() -> impl Strategy<Value = (i128, UtcOffset)> {
        let nanos = prop_oneof![
            -2_208_988_800_000_000_000i128..4_102_444_800_000_000_000,
            -5_000_000_000i128..5_000_000_000,
            -2_000_000i128..2_000_000,
        ];
        let offset = prop_oneof![
            Just(UtcOffset::UTC),
            (-1_439i32..=1_439)
                .prop_map(|m| UtcOffset::from_whole_seconds(m * 60).unwrap_or(UtcOffset::UTC))
        ];
        (nanos, offset)
    }

    fn rfc3339(nanos: i128, offset: UtcOffset) -> Option<String> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()?
            .to_offset(offset)
            .format(&Rfc3339)
            .ok()
    }

    fn time_text() -> impl Strategy<Value = String> {
        moment().prop_filter_map("not writable", |(n, o)| rfc3339(n, o))
    }

    fn date_text() -> impl Strategy<Value = String> {
        (0..=LAST_MS).prop_map(|ms| format_date(Timestamp(ms)))
    }

    proptest! {
        #[test]
        fn time_and_date_parsers_never_panic(
            raw in prop_oneof![any_text(), near_text(time_text()), near_text(date_text())],
        ) {
            let _ = parse(&raw);
            let _ = parse_date(&raw);
        }

        #[test]
        fn a_time_round_trips_through_its_text(ms in prop_oneof![0..=LAST_MS, Just(LAST_MS), 0u64..10_000]) {
            prop_assert_eq!(parse(&format(Timestamp(ms))), Ok(Timestamp(ms)));
            let day = Timestamp(ms).day_start();
            prop_assert_eq!(parse_date(&format_date(Timestamp(ms))), Ok(day));
        }

        #[test]
        fn times_past_year_9999_still_print_as_a_readable_time(ms in LAST_MS..=u64::MAX) {
            prop_assert!(parse(&format(Timestamp(ms))).is_ok());
        }

        #[test]
        fn a_parsed_time_is_the_millisecond_holding_that_moment((nanos, offset) in moment()) {
            let Some(text) = rfc3339(nanos, offset) else { return Ok(()) };
            let expected = u64::try_from(nanos.div_euclid(1_000_000)).map(Timestamp).map_err(|_| BadTime);
            prop_assert_eq!(parse(&text), expected, "{}", text);
            if let Ok(t) = parse(&text) {
                prop_assert_eq!(parse(&format(t)), Ok(t));
            }
        }

        #[test]
        fn a_parsed_date_round_trips(raw in prop_oneof![date_text(), near_text(date_text())]) {
            if let Ok(day) = parse_date(&raw) {
                prop_assert_eq!(day, day.day_start());
                prop_assert_eq!(parse_date(&format_date(day)), Ok(day));
            }
        }
    }
}
