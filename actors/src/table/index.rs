//! The table's lookups of held seats: by holder (account, platform and device, S2) through a
//! hashed key whose rare collisions are resolved through the account's seats, by account,
//! and the counts of capacity in use (members' and web seats one each, the
//! owner's desktops two to a seat, S9) kept as seats enter and leave. Every seat enters and
//! leaves through `insert_seat` and `drop_seat`, which keep all indexes, the ordered
//! deadlines and the counts in step. What capacity the licenses give is in `capacity`.

use std::hash::BuildHasher;

use crate::ids::{AccountId, DeviceId, Platform, Policy, SeatId};

use super::records::{HolderKey, Seat, SeatList};
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
            self.seats.get(id).is_some_and(|s| {
                s.platform == Platform::Web && s.device.as_str() != device.as_str()
            })
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
        let key = self.holder_key(seat.account, seat.platform, seat.device.as_str());
        // On a hash collision the first seat keeps the entry; `find_holder` finds the other
        // through the account's seats.
        self.by_holder.entry(key).or_insert(id);
        match self.by_account.get_mut(&seat.account) {
            Some(list) => list.push(id),
            None => {
                self.by_account.insert(seat.account, SeatList::One(id));
            }
        }
        self.seats.insert(seat)
    }

    fn holder_key(&self, account: AccountId, platform: Platform, device: &str) -> HolderKey {
        #[cfg(test)]
        if self.colliding_hashes {
            return HolderKey {
                account,
                platform,
                device_hash: 0,
            };
        }
        HolderKey {
            account,
            platform,
            device_hash: self.device_hasher.hash_one(device),
        }
    }

    /// S2: the seat held by (account, platform, device), if any.
    pub(super) fn find_holder(
        &self,
        account: AccountId,
        platform: Platform,
        device: &str,
    ) -> Option<SeatId> {
        let id = *self
            .by_holder
            .get(&self.holder_key(account, platform, device))?;
        if self
            .seats
            .get(&id)
            .is_some_and(|s| s.holds(platform, device))
        {
            return Some(id);
        }
        // Another device of this account hashed alike: look through the account's seats.
        self.account_seats(account).iter().copied().find(|id| {
            self.seats
                .get(id)
                .is_some_and(|s| s.holds(platform, device))
        })
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
        let key = self.holder_key(seat.account, seat.platform, seat.device.as_str());
        if self.by_holder.get(&key) == Some(&id) {
            self.by_holder.remove(&key);
            // A colliding seat of the same account takes the entry over.
            let twin = self
                .account_seats(seat.account)
                .iter()
                .copied()
                .find(|other| {
                    self.seats.get(other).is_some_and(|s| {
                        s.platform == seat.platform
                            && self.holder_key(s.account, s.platform, s.device.as_str()) == key
                    })
                });
            if let Some(twin) = twin {
                self.by_holder.insert(key, twin);
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
        self.colliding_hashes = true;
    }
}
