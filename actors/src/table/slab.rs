//! Compact storage for a table's seats, sized for a million of them: `SeatSlab`, a dense
//! array indexed by the slot encoded in each seat id (one memory access per lookup, no
//! hashing), and `DeviceBuf`, a device id kept inside the seat itself (packed when it is a
//! 128-bit hash in hex). The seat rules are not
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

/// The slot a seat id names, as the holder index keeps it.
pub(super) fn slot_index(id: SeatId) -> u32 {
    (id.0 & SLOT_MASK) as u32
}

fn slot_of(id: SeatId) -> usize {
    slot_index(id) as usize
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

    /// The seat in `slot`, whatever its id.
    pub(super) fn at_slot(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize)?.as_ref()
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

/// Bytes of a device id kept inside the seat as they are; longer ids are packed or shared
/// on the heap.
const INLINE_DEVICE: usize = 22;
/// Length of a packed id: a three-byte tag and 128 bits in lowercase hex, the form the
/// service stores (`h1:` and an HMAC of the sent id).
const HEX_DEVICE: usize = 3 + 32;

/// A device id stored in the seat, so a heartbeat touches no other allocation: 24 bytes.
/// Ids of three bytes and 32 lowercase hex digits (what the service stores) are packed to
/// 19 bytes; other ids up to 22 bytes are inline; longer ones are shared on the heap.
#[derive(Clone, Debug)]
pub(super) enum DeviceBuf {
    Inline { len: u8, bytes: [u8; INLINE_DEVICE] },
    Hex([u8; 19]),
    Shared(DeviceId),
}

/// A device id in a form that is equal, and hashes alike, exactly when the ids are equal,
/// whichever way each is kept: how the table compares a stored device with a sent one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum DeviceForm<'a> {
    Hex([u8; 19]),
    Text(&'a str),
}

impl<'a> DeviceForm<'a> {
    pub(super) fn of(s: &'a str) -> Self {
        pack_hex(s).map_or(DeviceForm::Text(s), DeviceForm::Hex)
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The packed form of a three-byte tag and 32 lowercase hex digits, if `s` is one.
fn pack_hex(s: &str) -> Option<[u8; 19]> {
    let b = s.as_bytes();
    if b.len() != HEX_DEVICE || !b[..3].is_ascii() {
        return None;
    }
    let mut out = [0u8; 19];
    out[..3].copy_from_slice(&b[..3]);
    for (i, pair) in b[3..].chunks_exact(2).enumerate() {
        out[3 + i] = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
    }
    Some(out)
}

fn unpack_hex(packed: &[u8; 19]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(HEX_DEVICE);
    // The tag was checked to be ASCII when it was packed.
    s.extend(packed[..3].iter().map(|&c| char::from(c)));
    for &byte in &packed[3..] {
        s.push(char::from(DIGITS[usize::from(byte >> 4)]));
        s.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    s
}

impl DeviceBuf {
    pub(super) fn new(device: &DeviceId) -> Self {
        let s = device.as_str();
        if let Some(packed) = pack_hex(s) {
            return DeviceBuf::Hex(packed);
        }
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

    /// The form to compare and hash by.
    pub(super) fn form(&self) -> DeviceForm<'_> {
        match self {
            // The bytes were copied from a `str`, so they are valid UTF-8.
            DeviceBuf::Inline { len, bytes } => DeviceForm::Text(
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            ),
            DeviceBuf::Hex(packed) => DeviceForm::Hex(*packed),
            DeviceBuf::Shared(d) => DeviceForm::Text(d.as_str()),
        }
    }

    /// Whether this is the device `s`.
    pub(super) fn is(&self, s: &str) -> bool {
        self.form() == DeviceForm::of(s)
    }

    pub(super) fn to_device_id(&self) -> DeviceId {
        match (self, self.form()) {
            (DeviceBuf::Shared(d), _) => d.clone(),
            (_, DeviceForm::Text(s)) => DeviceId::from_checked(Arc::from(s)),
            (_, DeviceForm::Hex(packed)) => DeviceId::from_checked(Arc::from(unpack_hex(&packed))),
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
    fn device_ids_round_trip_inline_packed_and_shared() {
        let hashed = format!("h1:{}", "0123456789abcdef".repeat(2));
        let upper = format!("h1:{}", "0123456789ABCDEF".repeat(2));
        for raw in [
            "pc-1",
            &"x".repeat(22),
            &"y".repeat(23),
            &"é".repeat(30),
            &hashed,
            &upper,
            "3fa9-1c2b-77de-4e0f-9a8b-7c6d5e4f3a2b1",
        ] {
            let id = DeviceId::from_checked(Arc::from(raw));
            let buf = DeviceBuf::new(&id);
            assert!(buf.is(raw), "{raw}");
            assert_eq!(buf.to_device_id(), id);
        }
        assert!(matches!(
            DeviceBuf::new(&DeviceId::from_checked(Arc::from(hashed.as_str()))),
            DeviceBuf::Hex(_)
        ));
        assert!(!DeviceBuf::new(&DeviceId::from_checked(Arc::from(hashed.as_str()))).is(&upper));
        assert!(!DeviceBuf::new(&DeviceId::from_checked(Arc::from("pc-1"))).is("pc-2"));
        assert_eq!(std::mem::size_of::<DeviceBuf>(), 24);
    }
}
