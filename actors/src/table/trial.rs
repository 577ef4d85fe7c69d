//! The trial's active days (L6): a running session consumes one day per 24 hours from the
//! moment it starts; when none is left, every seat goes and waiting requests are refused.
//! Starting and ending a trial are public operations in the table's file; when the current
//! day ends is scheduled by `schedule`.

use crate::ids::SeatId;
use crate::model::{Change, GoneReason, TrialDays};
use crate::time::{Timestamp, DAY_MS};

use super::records::When;
use super::SeatTable;

impl SeatTable {
    pub(super) fn set_trial(&mut self, trial: Option<TrialDays>) {
        self.trial = trial;
        self.changes.push(Change::Trial(self.trial.clone()));
    }

    /// Whether the application runs somewhere in this trial pool: a seat that needs heartbeats
    /// (or is reserved offline). The owner's desktop seat kept after closing (S5) is not a
    /// running session and consumes no day; starting it again does. Trial pools hold a
    /// handful of seats, so looking at them all is cheap.
    pub(super) fn trial_session_running(&self) -> bool {
        self.trial.is_some() && self.seats.values().any(|s| s.deadline != When::NEVER)
    }

    /// Whether the end of the current trial day matters: a running session consumes another
    /// day then, and with no day left any seat still held (even a kept one) goes.
    pub(super) fn trial_day_counts(&self) -> bool {
        let no_day_left = self.trial.as_ref().is_some_and(|tr| tr.days_left == 0);
        self.trial_session_running() || (no_day_left && !self.seats.is_empty())
    }

    /// The end of the day consumed last; `None` before the first day or outside a trial.
    pub(super) fn trial_day_end(&self) -> Option<Timestamp> {
        self.trial
            .as_ref()?
            .last_day_at
            .map(|at| at.plus_millis(DAY_MS))
    }

    /// Whether starting the application at `t` consumes a day: none was consumed yet, or the
    /// last one was consumed 24 hours ago or more.
    fn trial_day_due(&self, t: Timestamp) -> bool {
        self.trial.is_some() && self.trial_day_end().is_none_or(|end| t >= end)
    }

    /// Whether the trial's days are used up at `t`: a start would need a day and none is left.
    pub(super) fn trial_exhausted(&self, t: Timestamp) -> bool {
        self.trial.as_ref().is_some_and(|tr| tr.days_left == 0) && self.trial_day_due(t)
    }

    /// Starting the application at `t` (a grant or an S2 restart) consumes a day unless one
    /// was consumed less than 24 hours ago. `availability` refused the start when a day is
    /// due and none is left, so a due day is always there to take.
    pub(super) fn start_application(&mut self, t: Timestamp) {
        if !self.trial_day_due(t) {
            return;
        }
        self.consume_trial_day(t);
    }

    /// A session still running 24 hours after the last consumed day consumes another at `t`;
    /// with none left the trial has expired: every seat goes (S10's `capacity_reduced`) and
    /// the waiting requests are refused.
    pub(super) fn trial_day_ends(&mut self, t: Timestamp) {
        if self.trial.is_none() || (self.trial_session_running() && self.consume_trial_day(t)) {
            return;
        }
        if self.trial.as_ref().is_some_and(|tr| tr.days_left > 0) {
            // Nothing runs and days are left: the day ends quietly.
            return;
        }
        let ids: Vec<SeatId> = self.seats.keys().collect();
        for id in ids {
            self.remove_seat(id, GoneReason::CapacityReduced, t);
        }
        self.serve_queue(t);
    }

    /// Consumes a day starting at `t`; false, and nothing consumed, when none is left.
    fn consume_trial_day(&mut self, t: Timestamp) -> bool {
        let Some(days_left) = self
            .trial
            .as_ref()
            .and_then(|tr| tr.days_left.checked_sub(1))
        else {
            return false;
        };
        self.set_trial(Some(TrialDays {
            days_left,
            last_day_at: Some(t),
        }));
        true
    }
}
