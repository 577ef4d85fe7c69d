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
    let millis = t.unix_timestamp_nanos() / 1_000_000;
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
    }
}
