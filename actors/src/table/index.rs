//! The table's lookups of held seats: by holder (account, platform and device, S2) through a
//! hash table of slots that compares the seats themselves, by account,
//! and the counts of capacity in use (members' and web seats one each, the
//! owner's desktops two to a seat, S9) kept as seats enter and leave. Every seat enters and
//! leaves through `insert_seat` and `drop_seat`, which keep all indexes, the ordered
//! deadlines and the counts in step. What capacity the licenses give is in `capacity`.

use crate::ids::{AccountId, DeviceId, Platform, Policy, SeatId};

use super::records::{Seat, SeatList};
use super::slab::{slot_index, DeviceForm};
use super::SeatTable;

impl SeatTable {
    pub(super) fn account_seats(&self, account: AccountId) -> &[SeatId] {
        self.by_account
            .get(&account)
            .map_or(&[], SeatList::as_slice)
    }

    /// S9: the account's web seat on another device, if any.
    pub(super) fn web_elsewhere(
        &self,
        account: AccountId,
        platform: Platform,
        device: &DeviceId,
    ) -> Option<SeatId> {
        if platform != Platform::Web {
            return None;
        }
        self.account_seats(account).iter().copied().find(|id| {
            self.seats
                .get(id)
                .is_some_and(|s| s.platform == Platform::Web && !s.device.is(device.as_str()))
        })
    }

    /// Stores a seat in every index. False, and nothing stored, when its slot is taken.
    pub(super) fn insert_seat(&mut self, mut seat: Seat) -> bool {
        let id = seat.id;
        if self.seats.slot_taken(id) {
            return false;
        }
        self.count(&seat, true);
        if let Some(d) = seat.deadline.get() {
            self.expiry.insert((d, id));
        }
        seat.scheduled = seat.deadline;
        if let Some(k) = self.idle_ms().and_then(|ms| seat.idle_key(ms)) {
            self.idle.insert((k, id));
            seat.idle_scheduled = k.into();
        }
        // Should the holder already have a seat, that one keeps the entry; `drop_seat` hands
        // it on.
        let hash = self.holder_hasher.of(&seat);
        if self
            .holder_slot(hash, seat.account, seat.platform, seat.device.form())
            .is_none()
        {
            self.index_holder(hash, slot_index(id));
        }
        match self.by_account.get_mut(&seat.account) {
            Some(list) => list.push(id),
            None => {
                self.by_account.insert(seat.account, SeatList::One(id));
            }
        }
        self.seats.insert(seat)
    }

    /// S2: the seat held by (account, platform, device), if any.
    pub(super) fn find_holder(
        &self,
        account: AccountId,
        platform: Platform,
        device: DeviceForm<'_>,
    ) -> Option<SeatId> {
        let hash = self.holder_hasher.hash(account, platform, device);
        let slot = self.holder_slot(hash, account, platform, device)?;
        self.seats.at_slot(slot).map(|s| s.id)
    }

    /// The slot the holder index keeps under `hash` for (account, platform, device).
    fn holder_slot(
        &self,
        hash: u64,
        account: AccountId,
        platform: Platform,
        device: DeviceForm<'_>,
    ) -> Option<u32> {
        self.by_holder
            .find(hash, |slot| {
                self.seats
                    .at_slot(*slot)
                    .is_some_and(|s| s.account == account && s.holds(platform, device))
            })
            .copied()
    }

    /// Puts `slot` in the holder index under `hash`; a resize rehashes from the seats.
    fn index_holder(&mut self, hash: u64, slot: u32) {
        let (seats, hasher) = (&self.seats, &self.holder_hasher);
        self.by_holder.insert_unique(hash, slot, |s| {
            seats.at_slot(*s).map_or(0, |seat| hasher.of(seat))
        });
    }

    /// Takes a seat out of every index, leaving no trace.
    pub(super) fn drop_seat(&mut self, id: SeatId) -> Option<Seat> {
        let seat = self.seats.remove(&id)?;
        self.count(&seat, false);
        if let Some(list) = self.by_account.get_mut(&seat.account) {
            if list.remove(id) {
                self.by_account.remove(&seat.account);
            }
        }
        let hash = self.holder_hasher.of(&seat);
        let slot = slot_index(id);
        if let Ok(entry) = self.by_holder.find_entry(hash, |s| *s == slot) {
            entry.remove();
            // Another seat of the same holder takes the entry over.
            let twin = self
                .account_seats(seat.account)
                .iter()
                .copied()
                .find(|other| {
                    self.seats
                        .get(other)
                        .is_some_and(|s| s.holds(seat.platform, seat.device.form()))
                });
            if let Some(twin) = twin {
                self.index_holder(hash, slot_index(twin));
            }
        }
        if let Some(s) = seat.scheduled.get() {
            self.expiry.remove(&(s, id));
        }
        if let Some(s) = seat.idle_scheduled.get() {
            self.idle.remove(&(s, id));
        }
        Some(seat)
    }

    fn count(&mut self, seat: &Seat, add: bool) {
        let counter = if seat.policy == Policy::Owner && seat.platform.is_desktop() {
            &mut self.owner_desktops
        } else {
            &mut self.single_seats
        };
        if add {
            *counter += 1;
        } else {
            *counter -= 1;
        }
    }

    /// Makes every device hash collide (tests of the collision path).
    #[cfg(test)]
    pub(crate) fn collide_device_hashes(&mut self) {
        assert!(self.seats.is_empty(), "set before any seat is held");
        self.holder_hasher.colliding = true;
    }
}
