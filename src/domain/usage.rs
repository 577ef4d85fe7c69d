//! The W4 usage report: hourly usage records (from the store, plus the hour still being
//! counted in memory) turned into the rows of `GET /v1/pools/{pool}/usage` and `seatbroker
//! report`, per hour or per UTC day. An hour's row is its record; a day sums its hours'
//! counts, takes the maximum of their peaks and capacities, and counts distinct accounts
//! over the whole day. Buckets without a record are there too, with nothing counted and the
//! capacity last seen, so a chart of the range has no holes. No I/O here.

use seatbroker_actors::model::union;
use seatbroker_actors::time::{DAY_MS, HOUR_MS};
use seatbroker_actors::{Timestamp, UsageRecord};

/// The size of a report's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// One row per UTC hour.
    Hour,
    /// One row per UTC day.
    Day,
}

impl Bucket {
    /// Reads `hour` or `day`.
    pub fn parse(raw: &str) -> Option<Bucket> {
        match raw {
            "hour" => Some(Bucket::Hour),
            "day" => Some(Bucket::Day),
            _ => None,
        }
    }

    /// The start of the bucket holding `t`.
    pub fn start_of(self, t: Timestamp) -> Timestamp {
        match self {
            Bucket::Hour => t.hour_start(),
            Bucket::Day => t.day_start(),
        }
    }

    fn length_ms(self) -> u64 {
        match self {
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRow {
    /// The bucket's start.
    pub start: Timestamp,
    /// The most seats in use at once (capacity used, S9).
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

/// The rows of the buckets starting in `[bucket.start_of(from), to)`. `stored` are the
/// store's records of that range, oldest first; `live` the hour being counted, which
/// replaces the store's record of its hour (it holds everything that one does and more).
pub fn report(
    mut stored: Vec<UsageRecord>,
    live: Option<UsageRecord>,
    from: Timestamp,
    to: Timestamp,
    bucket: Bucket,
) -> Vec<UsageRow> {
    if let Some(live) = live.filter(|l| l.hour >= from.hour_start() && l.hour < to) {
        stored.retain(|r| r.hour != live.hour);
        stored.push(live);
        stored.sort_by_key(|r| r.hour);
    }
    let mut rows = Vec::new();
    let mut records = stored.into_iter().peekable();
    let mut capacity = 0;
    let mut start = bucket.start_of(from);
    while start < to {
        let end = start.plus_millis(bucket.length_ms());
        let mut row = UsageRow {
            start,
            capacity,
            ..UsageRow::default()
        };
        let mut accounts = Vec::new();
        let mut seen = false;
        while let Some(rec) = records.next_if(|r| r.hour < end) {
            if rec.hour < start {
                continue;
            }
            if !seen {
                row.capacity = 0;
                seen = true;
            }
            row.peak_in_use = row.peak_in_use.max(rec.peak_in_use);
            row.capacity = row.capacity.max(rec.capacity);
            row.grants += rec.grants;
            row.releases += rec.releases;
            row.refusals += rec.refusals;
            row.expirations += rec.expirations;
            row.revocations += rec.revocations;
            accounts = union(&accounts, &rec.accounts);
            if bucket == Bucket::Day {
                accounts = union(&accounts, &rec.day_accounts);
            }
        }
        row.distinct_accounts = accounts.len() as u32;
        capacity = row.capacity;
        rows.push(row);
        start = end;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_actors::AccountId;

    const DAY0: Timestamp = Timestamp(20_000 * DAY_MS);

    fn hour(h: u64) -> Timestamp {
        DAY0.plus_millis(h * HOUR_MS)
    }

    fn rec(h: u64, peak: u32, grants: u32, accounts: &[u32], day: &[u32]) -> UsageRecord {
        UsageRecord {
            hour: hour(h),
            peak_in_use: peak,
            capacity: 10,
            grants,
            releases: 1,
            refusals: 2,
            expirations: 3,
            revocations: 4,
            accounts: accounts.iter().map(|a| AccountId(*a)).collect(),
            day_accounts: day.iter().map(|a| AccountId(*a)).collect(),
            events: Vec::new(),
        }
    }

    #[test]
    fn w4_an_hours_row_is_its_record_and_empty_hours_keep_the_capacity() {
        let rows = report(
            vec![rec(1, 3, 5, &[1, 2], &[1, 2])],
            None,
            hour(0),
            hour(3),
            Bucket::Hour,
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            UsageRow {
                start: hour(0),
                ..UsageRow::default()
            }
        );
        assert_eq!(rows[1].peak_in_use, 3);
        assert_eq!(rows[1].grants, 5);
        assert_eq!(rows[1].distinct_accounts, 2);
        assert_eq!(rows[2].capacity, 10, "the capacity last seen");
        assert_eq!(rows[2].grants, 0);
    }

    #[test]
    fn w4_a_day_sums_counts_takes_the_peak_and_counts_accounts_over_the_day() {
        let rows = report(
            vec![
                rec(1, 3, 5, &[1, 2], &[1, 2]),
                rec(2, 7, 1, &[2, 3], &[1, 2, 3]),
                rec(25, 1, 1, &[9], &[9]),
            ],
            None,
            hour(0),
            hour(48),
            Bucket::Day,
        );
        assert_eq!(rows.len(), 2);
        let day = &rows[0];
        assert_eq!(day.start, DAY0);
        assert_eq!(day.peak_in_use, 7, "the largest peak, not a sum");
        assert_eq!(day.capacity, 10);
        assert_eq!(day.grants, 6);
        assert_eq!(
            (day.releases, day.refusals, day.expirations, day.revocations),
            (2, 4, 6, 8)
        );
        assert_eq!(day.distinct_accounts, 3, "1, 2 and 3, each once");
        assert_eq!(rows[1].distinct_accounts, 1);
    }

    #[test]
    fn w4_the_hour_being_counted_replaces_the_stored_one() {
        let rows = report(
            vec![rec(1, 1, 1, &[1], &[1])],
            Some(rec(1, 4, 6, &[1, 2], &[1, 2])),
            hour(1),
            hour(2),
            Bucket::Hour,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].peak_in_use, rows[0].grants), (4, 6));
        assert_eq!(rows[0].distinct_accounts, 2);
    }

    #[test]
    fn w4_buckets_start_at_the_bucket_of_from_and_end_before_to() {
        let rows = report(
            Vec::new(),
            None,
            hour(5).plus_millis(7),
            hour(30),
            Bucket::Day,
        );
        let starts: Vec<Timestamp> = rows.iter().map(|r| r.start).collect();
        assert_eq!(starts, vec![DAY0, DAY0.plus_millis(DAY_MS)]);
    }
}
