//! The waiting queue (W1) and idle reclaim (W2): free capacity goes to the head of the queue
//! in order; when the head cannot be served, the member seat idle longest is taken back for
//! it. Also the refusals the queue hands out, with the details a client shows. Parking a
//! request and cancelling it are public operations in the table's file; when a wait ends is
//! scheduled by `schedule`.

use std::collections::VecDeque;

use crate::ids::{AccountId, DeviceId, Platform, Policy};
use crate::model::{
    AcquireOutcome, GoneReason, NoSeatDetails, Notice, PoolEvent, PoolEventKind, Refusal,
    SeatSummary,
};
use crate::time::Timestamp;

use super::records::{SeatKind, Waiter, When};
use super::slab::DeviceForm;
use super::SeatTable;

/// What became of a waiter the queue tried to serve.
enum Served {
    Yes,
    Refused(Refusal),
    NoCapacity,
}

impl SeatTable {
    /// W1: hands free capacity to the head of the queue, in order, reclaiming idle seats
    /// (W2) when the head cannot be served. Half a seat freed among the owner's desktops
    /// (S9), which the head cannot use, goes to the first owner desktop waiting.
    pub(super) fn serve_queue(&mut self, t: Timestamp) {
        while let Some(head) = self.queue.front() {
            let head = head.clone();
            match self.serve_waiter(&head, t) {
                Served::Yes => {
                    self.pop_head();
                    continue;
                }
                Served::Refused(refusal) => {
                    self.pop_head();
                    self.note_refusal(head.account, &head.device, head.platform, &refusal);
                    self.notices.push(Notice::WaiterRefused {
                        waiter: head.id,
                        refusal,
                    });
                    continue;
                }
                Served::NoCapacity => {}
            }
            if self.need(Policy::Owner, Platform::Windows) == 0 {
                let owner_desktop = self
                    .queue
                    .iter()
                    .position(|w| w.account == self.owner && w.platform.is_desktop());
                if let Some(i) = owner_desktop {
                    if let Some(w) = self.queue.remove(i) {
                        self.wait_ends.remove(&(w.until, w.id));
                        if let Served::Refused(refusal) = self.serve_waiter(&w, t) {
                            self.notices.push(Notice::WaiterRefused {
                                waiter: w.id,
                                refusal,
                            });
                        }
                    }
                    continue;
                }
            }
            if !self.reclaim_one_idle(t) {
                return;
            }
        }
    }

    /// Grants a waiter its seat when it can have one now; the caller takes it off the queue
    /// unless there is no capacity for it.
    fn serve_waiter(&mut self, w: &Waiter, t: Timestamp) -> Served {
        if let Err(refusal) = self.availability() {
            return Served::Refused(refusal);
        }
        let policy = self.policy_of(w.account);
        if policy == Policy::Member && self.blocked.contains(&w.account) {
            return Served::Refused(Refusal::MemberBlocked);
        }
        if let Some(seat) = self.web_elsewhere(w.account, w.platform, &w.device) {
            return Served::Refused(Refusal::WebSessionActiveElsewhere { seat });
        }
        if let Some(id) = self.find_holder(w.account, w.platform, DeviceForm::of(w.device.as_str()))
        {
            let seat = self.restart(id, t);
            self.notices.push(Notice::WaiterGranted {
                waiter: w.id,
                seat,
                reused: true,
            });
            return Served::Yes;
        }
        if self.free() < self.need(policy, w.platform) {
            return Served::NoCapacity;
        }
        let Some(seat) = self.grant(
            w.account,
            &w.device,
            w.platform,
            policy,
            SeatKind::Running,
            t,
        ) else {
            return Served::NoCapacity;
        };
        self.notices.push(Notice::WaiterGranted {
            waiter: w.id,
            seat,
            reused: false,
        });
        Served::Yes
    }

    fn pop_head(&mut self) {
        if let Some(w) = self.queue.pop_front() {
            self.wait_ends.remove(&(w.until, w.id));
        }
    }

    /// W2: takes back the member seat idle longest, if one is idle at `t`. Entries whose
    /// seat was active since are moved to their new time. True when a seat was taken back.
    fn reclaim_one_idle(&mut self, t: Timestamp) -> bool {
        let Some(idle_ms) = self.idle_ms() else {
            return false;
        };
        while let Some(&(at, id)) = self.idle.first() {
            if at > t {
                return false;
            }
            self.idle.remove(&(at, id));
            let Some(seat) = self.seats.get_mut(&id) else {
                continue;
            };
            seat.idle_scheduled = When::NEVER;
            match seat.idle_key(idle_ms) {
                Some(key) if key <= t => {
                    self.remove_seat(id, GoneReason::Revoked, t);
                    return true;
                }
                Some(key) => {
                    seat.idle_scheduled = key.into();
                    self.idle.insert((key, id));
                }
                None => {}
            }
        }
        false
    }

    pub(super) fn idle_ms(&self) -> Option<u64> {
        self.settings
            .idle_reclaim_s
            .map(|s| u64::from(s.max(1)) * 1_000)
    }

    pub(super) fn refuse_waiters_of(&mut self, account: AccountId, refusal: Refusal) {
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for w in std::mem::take(&mut self.queue) {
            if w.account == account {
                self.wait_ends.remove(&(w.until, w.id));
                self.note_refusal(w.account, &w.device, w.platform, &refusal);
                self.notices.push(Notice::WaiterRefused {
                    waiter: w.id,
                    refusal: refusal.clone(),
                });
            } else {
                kept.push_back(w);
            }
        }
        self.queue = kept;
    }

    /// Refuses a request of (account, device, platform), counting it (W4) with its event.
    pub(super) fn refuse(
        &mut self,
        account: AccountId,
        device: &DeviceId,
        platform: Platform,
        refusal: Refusal,
    ) -> AcquireOutcome {
        self.note_refusal(account, device, platform, &refusal);
        AcquireOutcome::Refused(refusal)
    }

    /// Counts a refusal (W4) and keeps its event for the pool's history, at the table's time.
    pub(super) fn note_refusal(
        &mut self,
        account: AccountId,
        device: &DeviceId,
        platform: Platform,
        refusal: &Refusal,
    ) {
        let at = self.now;
        self.usage.refusal(|| PoolEvent {
            at,
            account,
            device: device.clone(),
            platform,
            kind: PoolEventKind::Refused {
                code: refusal.code().to_owned(),
            },
        });
    }

    pub(super) fn no_seat_details(
        &self,
        account: AccountId,
        position: Option<usize>,
    ) -> NoSeatDetails {
        let mut own_seats_elsewhere: Vec<SeatSummary> = self
            .account_seats(account)
            .iter()
            .filter_map(|id| self.seats.get(id))
            .map(|s| SeatSummary {
                id: s.id,
                device: s.device.to_device_id(),
                platform: s.platform,
                granted_at: s.granted_at,
            })
            .collect();
        own_seats_elsewhere.sort_by_key(|s| (s.granted_at, s.id));
        NoSeatDetails {
            capacity: self.capacity,
            in_use: self.in_use(),
            own_seats_elsewhere,
            queue_position: position,
        }
    }
}
