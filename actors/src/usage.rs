//! W4 usage counting for one pool: per UTC hour, the peak of seats in use, the capacity, the
//! counts of each seat event and the distinct accounts, kept in memory by the seat table and
//! handed out as `UsageRecord` changes at most once a minute while something changed, and at
//! each hour's end. Reports (sums per day, distinct accounts per day) are built elsewhere from
//! the persisted records.

use hashbrown::HashSet;

use crate::ids::{AccountId, SeatId};
use crate::model::{GoneReason, PoolEvent, PoolEventKind, UsageRecord, EVENTS_PER_HOUR};
use crate::time::{Timestamp, HOUR_MS, SECOND_MS};

/// How often the counts of an hour are persisted while they change (W4: a crash may lose at
/// most the last minute).
pub const USAGE_FLUSH_MS: u64 = 60 * SECOND_MS;

/// The counts of the current hour and the accounts seen so far this hour and this day.
/// Records carry only the accounts first seen since the previous record, so a record's size
/// follows what changed, not the pool's size.
#[derive(Debug)]
pub(crate) struct UsageCounter {
    current: UsageRecord,
    accounts: HashSet<AccountId>,
    day_accounts: HashSet<AccountId>,
    new_accounts: Vec<AccountId>,
    new_day_accounts: Vec<AccountId>,
    /// Something changed since the last record handed out.
    dirty: bool,
    last_flush: Timestamp,
}

impl UsageCounter {
    /// Counts starting in the hour of `now`, continuing `saved` when it is of that hour.
    pub(crate) fn new(now: Timestamp, saved: Option<UsageRecord>) -> Self {
        let hour = now.hour_start();
        let mut counter = UsageCounter {
            current: UsageRecord {
                hour,
                ..UsageRecord::default()
            },
            accounts: HashSet::new(),
            day_accounts: HashSet::new(),
            new_accounts: Vec::new(),
            new_day_accounts: Vec::new(),
            dirty: false,
            last_flush: now,
        };
        if let Some(saved) = saved {
            if saved.hour.day_start() == hour.day_start() {
                counter
                    .day_accounts
                    .extend(saved.day_accounts.iter().copied());
            }
            if saved.hour == hour {
                counter.accounts.extend(saved.accounts.iter().copied());
                // The saved events are in the store already; only new ones are handed out.
                counter.current = UsageRecord {
                    accounts: Vec::new(),
                    day_accounts: Vec::new(),
                    events: Vec::new(),
                    ..saved
                };
            }
        }
        counter
    }

    /// The hour being counted.
    pub(crate) fn hour(&self) -> Timestamp {
        self.current.hour
    }

    /// When the next record is due: a minute after the last one while something changed.
    pub(crate) fn flush_due(&self) -> Option<Timestamp> {
        self.dirty
            .then(|| self.last_flush.plus_millis(USAGE_FLUSH_MS))
    }

    /// The end of the hour being counted.
    pub(crate) fn hour_end(&self) -> Timestamp {
        self.current.hour.plus_millis(HOUR_MS)
    }

    /// Moves to the hour of `t` when it is a later one. Returns the closed hour's final
    /// record when it has anything to say. `holders` are the accounts holding seats now: they
    /// hold one during the new hour too.
    pub(crate) fn roll_to(
        &mut self,
        t: Timestamp,
        in_use: u32,
        capacity: u32,
        holders: impl Iterator<Item = AccountId>,
    ) -> Option<UsageRecord> {
        let hour = t.hour_start();
        if hour <= self.current.hour {
            return None;
        }
        let closing = (self.dirty || self.current.peak_in_use > 0).then(|| self.record());
        let new_day = hour.day_start() != self.current.hour.day_start();
        self.current = UsageRecord {
            hour,
            peak_in_use: in_use,
            capacity,
            ..UsageRecord::default()
        };
        self.accounts.clear();
        self.new_accounts.clear();
        if new_day {
            self.day_accounts.clear();
            self.new_day_accounts.clear();
        }
        for account in holders {
            self.holder(account);
        }
        self.dirty = in_use > 0;
        closing
    }

    /// The hour's counts so far with every account seen in the hour and in its day, and the
    /// events not handed out yet (what a report or a history shows of the hour still being
    /// counted, besides what the store holds); hands nothing out.
    pub(crate) fn current(&self) -> UsageRecord {
        let mut rec = self.current.clone();
        rec.accounts = self.accounts.iter().copied().collect();
        rec.accounts.sort_unstable();
        rec.day_accounts = self.day_accounts.iter().copied().collect();
        rec.day_accounts.sort_unstable();
        rec
    }

    /// The record of the hour so far, marking the counts as handed out at `now`.
    pub(crate) fn flush(&mut self, now: Timestamp) -> UsageRecord {
        self.dirty = false;
        self.last_flush = now;
        self.record()
    }

    /// The counts so far with the accounts first seen, and the events, since the previous
    /// record.
    fn record(&mut self) -> UsageRecord {
        let events = std::mem::take(&mut self.current.events);
        let mut rec = self.current.clone();
        rec.events = events;
        rec.accounts = std::mem::take(&mut self.new_accounts);
        rec.accounts.sort_unstable();
        rec.day_accounts = std::mem::take(&mut self.new_day_accounts);
        rec.day_accounts.sort_unstable();
        rec
    }

    /// Notes the capacity and capacity in use after a change. A new peak is worth a record;
    /// a capacity alone rides along with the next one.
    pub(crate) fn observe(&mut self, in_use: u32, capacity: u32) {
        self.current.capacity = self.current.capacity.max(capacity);
        if in_use > self.current.peak_in_use {
            self.current.peak_in_use = in_use;
            self.dirty = true;
        }
    }

    /// Notes that `account` holds a seat (a grant or an S2 restart).
    pub(crate) fn holder(&mut self, account: AccountId) {
        if self.accounts.insert(account) {
            self.new_accounts.push(account);
            self.dirty = true;
        }
        if self.day_accounts.insert(account) {
            self.new_day_accounts.push(account);
            self.dirty = true;
        }
    }

    /// Notes a new seat, and the event while the hour keeps events one by one.
    pub(crate) fn grant(&mut self, event: impl FnOnce() -> PoolEvent) {
        self.keep(event);
        self.current.grants += 1;
        self.dirty = true;
    }

    /// Notes a refused request, and the event while the hour keeps events one by one.
    pub(crate) fn refusal(&mut self, event: impl FnOnce() -> PoolEvent) {
        self.keep(event);
        self.current.refusals += 1;
        self.dirty = true;
    }

    /// Keeps an event unless the hour holds `EVENTS_PER_HOUR` already (counted by its
    /// grants and refusals, which a restart carries on from the saved record).
    fn keep(&mut self, event: impl FnOnce() -> PoolEvent) {
        if self.current.grants + self.current.refusals < EVENTS_PER_HOUR {
            self.current.events.push(event());
        }
    }

    /// Notes a seat that ended, by why it ended.
    pub(crate) fn ended(&mut self, reason: GoneReason) {
        match reason {
            GoneReason::Released => self.current.releases += 1,
            GoneReason::Expired => self.current.expirations += 1,
            GoneReason::Revoked | GoneReason::CapacityReduced | GoneReason::MemberBlocked => {
                self.current.revocations += 1
            }
        }
        self.dirty = true;
    }

    /// Takes back a grant that was never acknowledged (its commit failed), and its event
    /// when it was not handed out yet.
    pub(crate) fn undo_grant(&mut self, seat: SeatId) {
        self.current.grants = self.current.grants.saturating_sub(1);
        if let Some(i) = self
            .current
            .events
            .iter()
            .rposition(|e| matches!(e.kind, PoolEventKind::Granted { seat: s } if s == seat))
        {
            self.current.events.remove(i);
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::DAY_MS;

    const T0: Timestamp = Timestamp(DAY_MS * 20_000);

    fn granted(seat: u64) -> impl FnOnce() -> PoolEvent {
        move || PoolEvent {
            at: T0.plus_millis(seat),
            account: AccountId(1),
            device: crate::ids::DeviceId::parse("pc").expect("device"),
            platform: crate::ids::Platform::Windows,
            kind: PoolEventKind::Granted { seat: SeatId(seat) },
        }
    }

    fn refused() -> PoolEvent {
        PoolEvent {
            at: T0,
            account: AccountId(2),
            device: crate::ids::DeviceId::parse("pc").expect("device"),
            platform: crate::ids::Platform::Mac,
            kind: PoolEventKind::Refused {
                code: "no_seat_available".into(),
            },
        }
    }

    #[test]
    fn w4_events_are_handed_out_once_in_order_and_kept_up_to_the_cap() {
        let mut u = UsageCounter::new(T0, None);
        u.grant(granted(1));
        u.refusal(refused);
        assert_eq!(u.current().events.len(), 2, "the live record shows them");
        let first = u.flush(T0.plus_millis(10));
        assert_eq!(
            first.events.iter().map(|e| &e.kind).collect::<Vec<_>>(),
            [&PoolEventKind::Granted { seat: SeatId(1) }, &refused().kind]
        );
        assert!(u.current().events.is_empty(), "handed out once");
        for seat in 2..=u64::from(EVENTS_PER_HOUR) + 5 {
            u.grant(granted(seat));
        }
        let rest = u.flush(T0.plus_millis(20));
        assert_eq!(rest.grants, EVENTS_PER_HOUR + 5);
        assert_eq!(
            rest.events.len() + first.events.len(),
            EVENTS_PER_HOUR as usize,
            "past the cap only the counts grow"
        );
    }

    #[test]
    fn w4_a_grant_taken_back_takes_its_event_along() {
        let mut u = UsageCounter::new(T0, None);
        u.grant(granted(1));
        u.grant(granted(2));
        u.undo_grant(SeatId(1));
        let rec = u.flush(T0);
        assert_eq!(rec.grants, 1);
        assert_eq!(
            rec.events.iter().map(|e| &e.kind).collect::<Vec<_>>(),
            [&PoolEventKind::Granted { seat: SeatId(2) }]
        );
    }

    #[test]
    fn w4_hour_roll_closes_the_hour_and_carries_holders() {
        let mut u = UsageCounter::new(T0, None);
        u.grant(granted(1));
        u.holder(AccountId(1));
        u.observe(1, 5);
        let closed = u
            .roll_to(T0.plus_millis(HOUR_MS), 1, 5, [AccountId(1)].into_iter())
            .expect("the closed hour has a record");
        assert_eq!(closed.grants, 1);
        assert_eq!(
            closed.events.len(),
            1,
            "the closed hour hands its events out"
        );
        assert_eq!(closed.peak_in_use, 1);
        assert_eq!(closed.accounts, vec![AccountId(1)]);
        let next = u.flush(T0.plus_millis(HOUR_MS));
        assert_eq!(next.grants, 0);
        assert_eq!(
            next.peak_in_use, 1,
            "a seat held into the new hour is in use there"
        );
        assert_eq!(next.accounts, vec![AccountId(1)]);
    }

    #[test]
    fn w4_day_accounts_accumulate_over_the_day_and_reset_at_midnight() {
        let mut u = UsageCounter::new(T0, None);
        u.holder(AccountId(1));
        u.roll_to(T0.plus_millis(HOUR_MS), 0, 5, std::iter::empty());
        u.holder(AccountId(2));
        u.holder(AccountId(1));
        let rec = u.flush(T0.plus_millis(HOUR_MS));
        assert_eq!(rec.accounts, vec![AccountId(1), AccountId(2)]);
        assert_eq!(
            rec.day_accounts,
            vec![AccountId(2)],
            "account 1 was counted for the day in the first hour"
        );
        u.roll_to(T0.plus_millis(DAY_MS), 0, 5, std::iter::empty());
        u.holder(AccountId(1));
        assert_eq!(
            u.flush(T0.plus_millis(DAY_MS)).day_accounts,
            vec![AccountId(1)]
        );
    }

    #[test]
    fn w4_records_carry_only_accounts_new_since_the_last_one() {
        let mut u = UsageCounter::new(T0, None);
        u.holder(AccountId(7));
        assert_eq!(u.flush(T0).accounts, vec![AccountId(7)]);
        u.holder(AccountId(7));
        u.holder(AccountId(8));
        assert_eq!(u.flush(T0).accounts, vec![AccountId(8)]);
    }

    #[test]
    fn w4_restart_in_the_same_hour_continues_the_counts() {
        let mut u = UsageCounter::new(T0, None);
        u.grant(granted(1));
        u.holder(AccountId(7));
        // The store merges records into the hour's full sets (PoolSnapshot::apply).
        let mut stored =
            crate::model::PoolSnapshot::new(crate::ids::PoolId(1), AccountId(0), Vec::new());
        stored.apply(&[crate::model::Change::Usage(u.flush(T0))]);
        assert_eq!(stored.usage.as_ref().map(|u| u.events.len()), Some(1));
        let mut again = UsageCounter::new(T0.plus_millis(1_000), stored.usage);
        again.grant(granted(2));
        again.holder(AccountId(7));
        let rec = again.flush(T0.plus_millis(2_000));
        assert_eq!(rec.grants, 2);
        assert_eq!(
            rec.events.len(),
            1,
            "the stored event is not handed out again"
        );
        assert!(
            rec.accounts.is_empty(),
            "account 7 was counted before the restart"
        );
    }

    #[test]
    fn w4_flush_is_due_a_minute_after_the_last_while_dirty() {
        let mut u = UsageCounter::new(T0, None);
        assert_eq!(u.flush_due(), None);
        u.refusal(refused);
        assert_eq!(u.flush_due(), Some(T0.plus_millis(USAGE_FLUSH_MS)));
        u.flush(T0.plus_millis(5));
        assert_eq!(u.flush_due(), None);
    }
}
