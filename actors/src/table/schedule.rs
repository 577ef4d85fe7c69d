//! The table's clock: moving to `now` and processing, in time order, everything that fell
//! due (seat deadlines, license expiries, waits that ended, idle reclaim, usage hours and
//! flushes, trial days); keeping each seat's entry in the ordered deadlines (`expiry`) and in
//! the idle-reclaim order (`idle`); rolling the hourly usage counts (W4). What happens when
//! something falls due is decided by the rule's own room (`queue`, `trial`, `capacity`); the
//! actor's one timer asks `next_deadline` in the table's file.

use crate::ids::{SeatId, WaiterId};
use crate::model::{Change, GoneReason, Notice, Refusal};
use crate::time::Timestamp;

use super::records::When;
use super::SeatTable;

/// Something that falls due at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    SeatDeadline(SeatId),
    LicenseExpiry,
    WaitEnds(WaiterId),
    IdleReclaim,
    HourEnds,
    UsageFlush,
    TrialDayEnds,
}

impl SeatTable {
    /// Moves the table to `now` (never backwards), processing what fell due in time order.
    pub(super) fn advance(&mut self, now: Timestamp) -> Timestamp {
        let now = now.max(self.now);
        while let Some((t, due)) = self.next_due() {
            if t > now {
                break;
            }
            self.roll_usage(t);
            self.now = t.max(self.now);
            self.process(due, t);
        }
        self.roll_usage(now);
        self.now = now;
        now
    }

    pub(super) fn next_due(&self) -> Option<(Timestamp, Due)> {
        let mut best: Option<(Timestamp, Due)> = None;
        let mut consider = |t: Option<Timestamp>, due: Due| {
            if let Some(t) = t {
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, due));
                }
            }
        };
        if let Some(&(t, id)) = self.expiry.first() {
            consider(Some(t), Due::SeatDeadline(id));
        }
        consider(self.next_license_expiry, Due::LicenseExpiry);
        if self.trial_day_counts() {
            consider(self.trial_day_end(), Due::TrialDayEnds);
        }
        if let Some(&(t, w)) = self.wait_ends.first() {
            consider(Some(t), Due::WaitEnds(w));
        }
        if !self.queue.is_empty() {
            consider(self.idle.first().map(|(t, _)| *t), Due::IdleReclaim);
        }
        if !self.seats.is_empty() {
            consider(Some(self.usage.hour_end()), Due::HourEnds);
        }
        consider(self.usage.flush_due(), Due::UsageFlush);
        best
    }

    fn process(&mut self, due: Due, t: Timestamp) {
        match due {
            Due::SeatDeadline(id) => {
                let Some(seat) = self.seats.get(&id) else {
                    // A removed seat leaves no entry behind; should one remain, drop it.
                    self.expiry.remove(&(t, id));
                    return;
                };
                let scheduled = seat.scheduled.get();
                match seat.deadline.get() {
                    Some(d) if d > t => {
                        // A heartbeat moved the deadline: move the entry now.
                        if let Some(s) = scheduled {
                            self.expiry.remove(&(s, id));
                        }
                        self.expiry.insert((d, id));
                        if let Some(seat) = self.seats.get_mut(&id) {
                            seat.scheduled = d.into();
                        }
                    }
                    Some(_) => {
                        self.remove_seat(id, GoneReason::Expired, t);
                        self.serve_queue(t);
                    }
                    None => {
                        if let Some(s) = scheduled {
                            self.expiry.remove(&(s, id));
                        }
                        if let Some(seat) = self.seats.get_mut(&id) {
                            seat.scheduled = When::NEVER;
                        }
                    }
                }
            }
            Due::LicenseExpiry => {
                self.recompute_capacity(t);
                self.enforce_capacity(t);
                self.usage.observe(self.in_use(), self.capacity);
                self.serve_queue(t);
            }
            Due::WaitEnds(waiter) => {
                if let Some(i) = self.queue.iter().position(|w| w.id == waiter) {
                    if let Some(w) = self.queue.remove(i) {
                        self.wait_ends.remove(&(w.until, w.id));
                        let details = self.no_seat_details(w.account, Some(i + 1));
                        let refusal = Refusal::NoSeatAvailable(details);
                        self.note_refusal(w.account, &w.device, w.platform, &refusal);
                        self.notices.push(Notice::WaiterRefused { waiter, refusal });
                    }
                } else {
                    self.wait_ends.retain(|(_, w)| *w != waiter);
                }
                self.serve_queue(t);
            }
            // The head is waiting for capacity: serve_queue reclaims the seats idle at `t`
            // and moves the entries of seats active since past `t`.
            Due::IdleReclaim => self.serve_queue(t),
            Due::HourEnds => self.roll_usage(t),
            Due::TrialDayEnds => self.trial_day_ends(t),
            Due::UsageFlush => self.record_usage(t),
        }
    }

    /// Hands out the hour's counts so far as a change to persist.
    pub(super) fn record_usage(&mut self, t: Timestamp) {
        let rec = self.usage.flush(t);
        self.changes.push(Change::Usage(rec));
    }

    pub(super) fn roll_usage(&mut self, t: Timestamp) {
        if t.hour_start() <= self.usage.hour() {
            return;
        }
        let (in_use, capacity) = (self.in_use(), self.capacity);
        let holders = self.by_account.keys().copied();
        if let Some(rec) = self.usage.roll_to(t, in_use, capacity, holders) {
            self.changes.push(Change::Usage(rec));
        }
    }

    /// Sets a seat's deadline, keeping its entry in `expiry` no later than the deadline: a
    /// later deadline leaves the entry where it is (it is moved when it falls due).
    pub(super) fn set_deadline(&mut self, id: SeatId, deadline: Option<Timestamp>) {
        let Some(seat) = self.seats.get_mut(&id) else {
            return;
        };
        seat.deadline = deadline.into();
        match (seat.scheduled.get(), deadline) {
            (Some(s), Some(d)) if d >= s => {}
            (scheduled, deadline) => {
                if let Some(s) = scheduled {
                    self.expiry.remove(&(s, id));
                }
                seat.scheduled = deadline.into();
                if let Some(d) = deadline {
                    self.expiry.insert((d, id));
                }
            }
        }
    }

    pub(super) fn reschedule_idle(&mut self, id: SeatId) {
        let Some(idle_ms) = self.idle_ms() else {
            return;
        };
        let Some(seat) = self.seats.get_mut(&id) else {
            return;
        };
        let key = seat.idle_key(idle_ms);
        if seat.idle_scheduled.get() == key {
            return;
        }
        if let Some(s) = seat.idle_scheduled.get() {
            self.idle.remove(&(s, id));
        }
        seat.idle_scheduled = key.into();
        if let Some(k) = key {
            self.idle.insert((k, id));
        }
    }
}
