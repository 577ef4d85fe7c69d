//! A seat's life in the table: granted, started again on the same device (S2), persisted,
//! removed, and remembered after it went (the tombstones that tell a late heartbeat why its
//! seat is `gone`). How a seat is stored is in `records`; how it is found and counted, in
//! `index`; its place among the ordered deadlines, in `schedule`.

use crate::ids::{AccountId, DeviceId, Platform, Policy, SeatId};
use crate::model::{
    Change, CloseOutcome, GoneReason, PoolEvent, PoolEventKind, SeatError, SeatView, Tombstone,
};
use crate::time::Timestamp;

use super::records::{seat_view, Seat, SeatKind, When};
use super::slab::{counter_above, seat_id, DeviceBuf};
use super::SeatTable;

impl SeatTable {
    /// The seat exists and `account` holds it.
    pub(super) fn holder_seat(&self, id: SeatId, account: AccountId) -> Result<(), SeatError> {
        match self.seats.get(&id) {
            Some(seat) if seat.account == account => Ok(()),
            _ => Err(self.missing(id, account)),
        }
    }

    /// Why `account` holds no seat `id`: gone for a reason it may hear, or unknown to it.
    pub(super) fn missing(&self, id: SeatId, account: AccountId) -> SeatError {
        match self.tombstones.get(&id) {
            Some(t) if t.account == account && !self.seats.contains_key(&id) => {
                SeatError::Gone(t.reason)
            }
            _ => SeatError::NotFound,
        }
    }

    /// A close or logout repeated by the holder after the seat was released succeeds again.
    pub(super) fn repeated_release(
        &self,
        id: SeatId,
        err: SeatError,
    ) -> Result<CloseOutcome, SeatError> {
        match err {
            SeatError::Gone(GoneReason::Released) if self.tombstones.contains_key(&id) => {
                Ok(CloseOutcome::AlreadyReleased)
            }
            _ => Err(err),
        }
    }

    /// A new seat; `None` only when the table holds the most seats it can. An offline-file
    /// seat (issue 16) is granted with no deadline.
    pub(super) fn grant(
        &mut self,
        account: AccountId,
        device: &DeviceId,
        platform: Platform,
        policy: Policy,
        kind: SeatKind,
        t: Timestamp,
    ) -> Option<SeatView> {
        let id = seat_id(counter_above(self.id_bound), self.seats.vacant_slot()?);
        self.id_bound = id.0 + 1;
        self.start_application(t);
        let offline_file = kind == SeatKind::OfflineFile;
        let deadline = (!offline_file).then(|| t.plus_millis(self.settings.timeout_ms()));
        let seat = Seat {
            id,
            account,
            device: DeviceBuf::new(device),
            platform,
            policy,
            granted_at: t,
            deadline: deadline.into(),
            offline_until: When::NEVER,
            last_active: t,
            scheduled: When::NEVER,
            idle_scheduled: When::NEVER,
            persisted_deadline: deadline.into(),
            offline_file,
        };
        let view = self.view(&seat);
        self.changes.push(Change::SeatGranted(seat.record()));
        self.insert_seat(seat);
        self.usage.grant(|| PoolEvent {
            at: t,
            account,
            device: device.clone(),
            platform,
            kind: PoolEventKind::Granted { seat: id },
        });
        self.usage.holder(account);
        self.usage.observe(self.in_use(), self.capacity);
        Some(view)
    }

    /// S2: the application started again on the same device; the seat runs again. An
    /// offline-file seat stays as it is: it never takes a deadline (issue 16).
    pub(super) fn restart(&mut self, id: SeatId, t: Timestamp) -> SeatView {
        let timeout = self.settings.timeout_ms();
        if self.seats.contains_key(&id) {
            self.start_application(t);
        }
        let Some(seat) = self.seats.get_mut(&id) else {
            return self.view_of(id);
        };
        let account = seat.account;
        if seat.offline_file {
            self.usage.holder(account);
            return self.view_of(id);
        }
        seat.last_active = t;
        let mut deadline = t.plus_millis(timeout);
        if let Some(until) = seat.offline_until.get().filter(|u| t < *u) {
            deadline = deadline.max(until.plus_millis(timeout));
        }
        let was_kept = seat.deadline == When::NEVER;
        self.set_deadline(id, Some(deadline));
        if was_kept {
            self.persist(id);
        } else {
            self.persist_deadline_if_moved(id);
        }
        self.usage.holder(account);
        self.view_of(id)
    }

    /// Issue 16, S2: the seat held by the same (account, device, platform) becomes an
    /// offline-file seat: no deadline from now on (any S11 reservation is superseded), out of
    /// idle reclaim. Not a new grant. Taking it again changes nothing.
    pub(super) fn make_offline_file(&mut self, id: SeatId, t: Timestamp) -> SeatView {
        let Some(seat) = self.seats.get_mut(&id) else {
            return self.view_of(id);
        };
        let account = seat.account;
        if !seat.offline_file {
            seat.offline_file = true;
            seat.offline_until = When::NEVER;
            seat.last_active = t;
            self.set_deadline(id, None);
            self.reschedule_idle(id);
            self.persist(id);
        }
        self.usage.holder(account);
        self.view_of(id)
    }

    /// Removes a seat, remembers why and records the change.
    pub(super) fn remove_seat(&mut self, id: SeatId, reason: GoneReason, t: Timestamp) {
        let Some(seat) = self.drop_seat(id) else {
            return;
        };
        let tomb = Tombstone {
            seat: id,
            account: seat.account,
            reason,
            at: t,
        };
        self.remember(tomb.clone());
        self.changes.push(Change::SeatRemoved(tomb));
        self.usage.ended(reason);
    }

    pub(super) fn evict_account(
        &mut self,
        account: AccountId,
        reason: GoneReason,
        t: Timestamp,
    ) -> usize {
        let ids = self.account_seats(account).to_vec();
        for &id in &ids {
            self.remove_seat(id, reason, t);
        }
        ids.len()
    }

    pub(super) fn remember(&mut self, tomb: Tombstone) {
        if self.limits.max_tombstones == 0 {
            return;
        }
        while self.tombstone_order.len() >= self.limits.max_tombstones {
            if let Some(old) = self.tombstone_order.pop_front() {
                self.tombstones.remove(&old);
            }
        }
        self.tombstone_order.push_back(tomb.seat);
        self.tombstones.insert(tomb.seat, tomb);
    }

    /// Persists a seat whose deadline moved by more than a tenth of the timeout since it was
    /// last persisted; smaller moves cost no write (recovery grants that much grace).
    fn persist_deadline_if_moved(&mut self, id: SeatId) {
        let tenth = self.settings.timeout_ms() / 10;
        let Some(seat) = self.seats.get(&id) else {
            return;
        };
        let moved = match (seat.persisted_deadline.get(), seat.deadline.get()) {
            (Some(p), Some(d)) => d.as_millis().abs_diff(p.as_millis()) > tenth,
            (p, d) => p != d,
        };
        if moved {
            self.persist(id);
        }
    }

    pub(super) fn persist(&mut self, id: SeatId) {
        if let Some(seat) = self.seats.get_mut(&id) {
            seat.persisted_deadline = seat.deadline;
            self.changes.push(Change::SeatUpdated(seat.record()));
        }
    }

    /// The view of a seat the caller just checked or inserted.
    pub(super) fn view_of(&self, id: SeatId) -> SeatView {
        self.view(&self.seats[&id])
    }

    pub(super) fn view(&self, seat: &Seat) -> SeatView {
        let days_left = self.trial.as_ref().map(|tr| tr.days_left);
        seat_view(
            seat,
            self.now,
            &self.settings,
            self.license_latest,
            days_left,
        )
    }
}
