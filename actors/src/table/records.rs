//! What the table keeps, in the compact forms a pool of a million seats needs: `Seat` (its
//! moments packed into `When`), the holder hasher and per-account list of seats the indexes
//! use, `Waiter` for a request in the queue, and `seat_view`, a seat as its holder sees it.
//! Plain data with no rule: the table's other rooms change them.

use std::hash::BuildHasher;

use crate::ids::{AccountId, DeviceId, Platform, Policy, SeatId, WaiterId};
use crate::model::{PoolSettings, SeatRecord, SeatView};
use crate::time::Timestamp;

use super::slab::{DeviceBuf, DeviceForm, Keyed};

/// A held seat as the table stores it: small, since a pool may hold a million.
#[derive(Debug)]
pub(super) struct Seat {
    pub(super) id: SeatId,
    pub(super) account: AccountId,
    pub(super) device: DeviceBuf,
    pub(super) platform: Platform,
    pub(super) policy: Policy,
    pub(super) granted_at: Timestamp,
    /// Heartbeat deadline; never for the owner's kept seat.
    pub(super) deadline: When,
    pub(super) offline_until: When,
    pub(super) last_active: Timestamp,
    /// Where the seat sits in `expiry`; never later than `deadline`.
    pub(super) scheduled: When,
    /// Where the seat sits in `idle`; never later than `last_active + idle_reclaim`.
    pub(super) idle_scheduled: When,
    /// The deadline last handed out to be persisted.
    pub(super) persisted_deadline: When,
    /// An offline-file seat (issue 16): no deadline, no idle reclaim, kept on close, logout
    /// and S7; only W3, S10 and I3 end it.
    pub(super) offline_file: bool,
}

/// Which kind of seat a grant makes.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) enum SeatKind {
    /// A seat that needs heartbeats (S4).
    Running,
    /// An offline-file seat (issue 16): no deadline, ended only by W3, S10 and I3.
    OfflineFile,
}

/// An optional moment in 8 bytes instead of 16, to keep a million seats small.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) struct When(u64);

impl When {
    pub(super) const NEVER: When = When(u64::MAX);

    pub(super) fn get(self) -> Option<Timestamp> {
        (self != Self::NEVER).then_some(Timestamp(self.0))
    }
}

impl From<Option<Timestamp>> for When {
    fn from(t: Option<Timestamp>) -> Self {
        // The last representable moment is taken as the one before it, not as never.
        t.map_or(When::NEVER, |t| When(t.0.min(u64::MAX - 1)))
    }
}

impl From<Timestamp> for When {
    fn from(t: Timestamp) -> Self {
        Some(t).into()
    }
}

impl Keyed for Seat {
    fn key(&self) -> SeatId {
        self.id
    }
}

impl Seat {
    pub(super) fn holds(&self, platform: Platform, device: DeviceForm<'_>) -> bool {
        self.platform == platform && self.device.form() == device
    }

    pub(super) fn offline_at(&self, t: Timestamp) -> bool {
        self.offline_until.get().is_some_and(|until| t < until)
    }

    /// Whether the seat counts among S10's offline reservations at `t`, which are revoked
    /// last: an S11 reservation running, or an offline-file seat (always).
    pub(super) fn offline_group_at(&self, t: Timestamp) -> bool {
        self.offline_file || self.offline_at(t)
    }

    pub(super) fn record(&self) -> SeatRecord {
        SeatRecord {
            id: self.id,
            account: self.account,
            device: self.device.to_device_id(),
            platform: self.platform,
            policy: self.policy,
            granted_at: self.granted_at,
            deadline: self.deadline.get(),
            offline_until: self.offline_until.get(),
            last_active: self.last_active,
            offline_file: self.offline_file,
        }
    }

    /// The W2 idle-reclaim key, for member seats only; an offline-file seat is never
    /// reclaimed (its computer cannot report activity).
    pub(super) fn idle_key(&self, idle_ms: u64) -> Option<Timestamp> {
        (self.policy == Policy::Member && !self.offline_file).then(|| {
            let idle_from = self.last_active.plus_millis(idle_ms);
            match self.offline_until.get() {
                Some(until) => idle_from.max(until),
                None => idle_from,
            }
        })
    }
}

/// Hashes a seat's holder (account, platform and device, S2) for the holder index, which
/// keeps only slots and compares the seats themselves, so a collision costs a comparison,
/// never a wrong answer.
#[derive(Clone, Default, Debug)]
pub(super) struct HolderHasher {
    state: hashbrown::DefaultHashBuilder,
    /// Tests make every holder hash alike, to prove the collision path.
    #[cfg(test)]
    pub(super) colliding: bool,
}

impl HolderHasher {
    pub(super) fn hash(
        &self,
        account: AccountId,
        platform: Platform,
        device: DeviceForm<'_>,
    ) -> u64 {
        #[cfg(test)]
        if self.colliding {
            return 0;
        }
        self.state.hash_one((account, platform, device))
    }

    pub(super) fn of(&self, seat: &Seat) -> u64 {
        self.hash(seat.account, seat.platform, seat.device.form())
    }
}

/// The seats of one account: almost always one, so the common case allocates nothing.
#[derive(Debug)]
#[allow(
    clippy::box_collection,
    reason = "a thin box keeps the map's value at 16 bytes for the one-seat common case"
)]
pub(super) enum SeatList {
    One(SeatId),
    Many(Box<Vec<SeatId>>),
}

impl SeatList {
    pub(super) fn as_slice(&self) -> &[SeatId] {
        match self {
            SeatList::One(id) => std::slice::from_ref(id),
            SeatList::Many(v) => v,
        }
    }

    pub(super) fn push(&mut self, id: SeatId) {
        match self {
            SeatList::One(first) => *self = SeatList::Many(Box::new(vec![*first, id])),
            SeatList::Many(v) => v.push(id),
        }
    }

    /// Removes `id`; true when the list is now empty.
    pub(super) fn remove(&mut self, id: SeatId) -> bool {
        match self {
            SeatList::One(only) => *only == id,
            SeatList::Many(v) => {
                v.retain(|s| *s != id);
                v.is_empty()
            }
        }
    }
}

/// A request parked in the queue until `until` (W1).
#[derive(Debug, Clone)]
pub(super) struct Waiter {
    pub(super) id: WaiterId,
    pub(super) account: AccountId,
    pub(super) device: DeviceId,
    pub(super) platform: Platform,
    pub(super) until: Timestamp,
}

/// A seat as its holder sees it at `now`.
pub(super) fn seat_view(
    seat: &Seat,
    now: Timestamp,
    settings: &PoolSettings,
    license_latest: Option<Timestamp>,
    trial_days_left: Option<u8>,
) -> SeatView {
    let offline = seat.offline_at(now);
    SeatView {
        id: seat.id,
        account: seat.account,
        device: seat.device.to_device_id(),
        platform: seat.platform,
        policy: seat.policy,
        granted_at: seat.granted_at,
        expires_at: if offline { None } else { seat.deadline.get() },
        offline_until: seat.offline_until.get().filter(|_| offline),
        heartbeat_interval_s: settings.heartbeat_interval_s(),
        license_expires_at: license_latest,
        trial_days_left,
        offline_file: seat.offline_file,
    }
}
