//! Compact storage for a table's seats, sized for a million of them: `SeatSlab`, a dense
//! array indexed by the slot encoded in each seat id (one memory access per lookup, no
//! hashing), and `DeviceBuf`, a device id kept inside the seat itself. The seat rules are not
//! here; the table's other rooms use these as they would a map.

use std::sync::Arc;

use crate::ids::{DeviceId, SeatId};

/// Bits of a seat id that name its slot; the bits above count grants, so ids never repeat
/// and grow with every grant.
pub(super) const SLOT_BITS: u32 = 24;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// The most seats one table holds at once.
pub(super) const MAX_SLOTS: usize = 1 << SLOT_BITS;

/// The seat id for grant number `counter` stored in `slot`.
pub(super) fn seat_id(counter: u64, slot: u32) -> SeatId {
    SeatId((counter << SLOT_BITS) | u64::from(slot))
}

/// The first grant counter whose ids are all at or above `bound`.
pub(super) fn counter_above(bound: u64) -> u64 {
    bound.div_ceil(1 << SLOT_BITS).max(1)
}

fn slot_of(id: SeatId) -> usize {
    (id.0 & SLOT_MASK) as usize
}

/// Anything stored in the slab knows its id.
pub(super) trait Keyed {
    fn key(&self) -> SeatId;
}

/// Seats by slot, with a list of free slots reused last-freed first (warm in cache).
#[derive(Debug)]
pub(super) struct SeatSlab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T: Keyed> SeatSlab<T> {
    pub(super) fn new() -> Self {
        SeatSlab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A free slot for a new seat; `None` when the table holds `MAX_SLOTS` seats.
    pub(super) fn vacant_slot(&self) -> Option<u32> {
        if let Some(slot) = self.free.last() {
            return Some(*slot);
        }
        (self.slots.len() < MAX_SLOTS).then_some(self.slots.len() as u32)
    }

    /// Stores a seat in the slot its id names. False (and nothing stored) when that slot is
    /// taken, which only corrupt persisted data can cause.
    pub(super) fn insert(&mut self, seat: T) -> bool {
        let slot = slot_of(seat.key());
        while self.slots.len() <= slot {
            self.free.push(self.slots.len() as u32);
            self.slots.push(None);
        }
        if self.slots[slot].is_some() {
            return false;
        }
        if self.free.last() == Some(&(slot as u32)) {
            self.free.pop();
        } else if let Some(i) = self.free.iter().rposition(|s| *s as usize == slot) {
            // Only while restoring, when seats arrive in any order.
            self.free.swap_remove(i);
        }
        self.slots[slot] = Some(seat);
        self.len += 1;
        true
    }

    pub(super) fn get(&self, id: &SeatId) -> Option<&T> {
        self.slots
            .get(slot_of(*id))?
            .as_ref()
            .filter(|s| s.key() == *id)
    }

    pub(super) fn get_mut(&mut self, id: &SeatId) -> Option<&mut T> {
        self.slots
            .get_mut(slot_of(*id))?
            .as_mut()
            .filter(|s| s.key() == *id)
    }

    /// Whether the slot `id` names holds a seat (any seat).
    pub(super) fn slot_taken(&self, id: SeatId) -> bool {
        self.slots.get(slot_of(id)).is_some_and(Option::is_some)
    }

    pub(super) fn contains_key(&self, id: &SeatId) -> bool {
        self.get(id).is_some()
    }

    pub(super) fn remove(&mut self, id: &SeatId) -> Option<T> {
        let slot = slot_of(*id);
        let entry = self.slots.get_mut(slot)?;
        if entry.as_ref().is_none_or(|s| s.key() != *id) {
            return None;
        }
        self.free.push(slot as u32);
        self.len -= 1;
        entry.take()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = SeatId> + '_ {
        self.values().map(Keyed::key)
    }
}

impl<T: Keyed> std::ops::Index<&SeatId> for SeatSlab<T> {
    type Output = T;

    /// The seat `id`, which the caller has just checked or stored: a missing one is a broken
    /// invariant of the table (caught at the actor boundary), never a client's doing.
    fn index(&self, id: &SeatId) -> &T {
        match self.get(id) {
            Some(seat) => seat,
            None => panic!("seat {id} is not in the table"),
        }
    }
}

/// Bytes of a device id kept inside the seat; longer ids are shared on the heap.
const INLINE_DEVICE: usize = 46;

/// A device id stored in the seat, so a heartbeat touches no other allocation. Ids up to 46
/// bytes (UUIDs, 128-bit hashes in hex) are inline.
#[derive(Clone, Debug)]
pub(super) enum DeviceBuf {
    Inline { len: u8, bytes: [u8; INLINE_DEVICE] },
    Shared(DeviceId),
}

impl DeviceBuf {
    pub(super) fn new(device: &DeviceId) -> Self {
        let s = device.as_str();
        if s.len() > INLINE_DEVICE {
            return DeviceBuf::Shared(device.clone());
        }
        let mut bytes = [0; INLINE_DEVICE];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        DeviceBuf::Inline {
            len: s.len() as u8,
            bytes,
        }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `str`, so they are valid UTF-8.
            DeviceBuf::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            DeviceBuf::Shared(d) => d.as_str(),
        }
    }

    pub(super) fn to_device_id(&self) -> DeviceId {
        match self {
            DeviceBuf::Inline { .. } => DeviceId::from_checked(Arc::from(self.as_str())),
            DeviceBuf::Shared(d) => d.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Item(SeatId);

    impl Keyed for Item {
        fn key(&self) -> SeatId {
            self.0
        }
    }

    #[test]
    fn ids_carry_their_slot_and_grow_with_every_grant() {
        let a = seat_id(1, 5);
        let b = seat_id(2, 0);
        assert!(b > a);
        assert_eq!(slot_of(a), 5);
        assert!(seat_id(counter_above(b.0 + 1), 0).0 > b.0);
    }

    #[test]
    fn slab_reuses_freed_slots_and_rejects_stale_ids() {
        let mut slab = SeatSlab::new();
        let slot = slab.vacant_slot().unwrap();
        let first = seat_id(1, slot);
        assert!(slab.insert(Item(first)));
        let slot2 = slab.vacant_slot().unwrap();
        assert_ne!(slot, slot2);
        assert!(slab.remove(&first).is_some());
        assert_eq!(slab.vacant_slot(), Some(slot));
        let second = seat_id(2, slot);
        assert!(slab.insert(Item(second)));
        assert!(
            slab.get(&first).is_none(),
            "an old id does not reach the new seat"
        );
        assert!(slab.remove(&first).is_none());
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn slab_restores_seats_in_any_order_and_refuses_a_taken_slot() {
        let mut slab = SeatSlab::new();
        assert!(slab.insert(Item(seat_id(9, 7))));
        assert!(slab.insert(Item(seat_id(3, 2))));
        assert!(!slab.insert(Item(seat_id(4, 2))));
        assert_eq!(slab.len(), 2);
        let mut vacant = Vec::new();
        while let Some(s) = slab.vacant_slot() {
            if vacant.len() == 6 {
                break;
            }
            vacant.push(s);
            assert!(slab.insert(Item(seat_id(100 + s as u64, s))));
        }
        vacant.sort();
        assert_eq!(vacant, vec![0, 1, 3, 4, 5, 6]);
    }

    #[test]
    fn device_ids_round_trip_inline_and_shared() {
        for raw in ["pc-1", &"x".repeat(46), &"y".repeat(47), &"é".repeat(30)] {
            let id = DeviceId::parse(raw).unwrap();
            assert_eq!(DeviceBuf::new(&id).as_str(), raw);
            assert_eq!(DeviceBuf::new(&id).to_device_id(), id);
        }
        assert_eq!(std::mem::size_of::<DeviceBuf>(), 48);
    }
}
