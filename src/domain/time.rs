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

#[cfg(test)]
mod tests {
    use super::*;

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
