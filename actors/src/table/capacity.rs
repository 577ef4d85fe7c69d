//! Capacity from the pool's licenses (L5): how many seats the live licenses give, the latest
//! expiry a seat may be reserved offline up to, whether the pool can grant at all, what a new
//! seat would use (the owner's second desktop shares a seat, S9), and S10's revocation of
//! the seats over a lowered capacity. The counts of capacity in use are kept by `index`;
//! when a license expires is decided by `schedule`.

use crate::ids::{AccountId, Platform, Policy, SeatId};
use crate::model::{GoneReason, Refusal};
use crate::time::Timestamp;

use super::SeatTable;

impl SeatTable {
    pub(super) fn recompute_capacity(&mut self, t: Timestamp) {
        self.license_latest = self.license_expires_at(t);
        self.capacity = self
            .licenses
            .iter()
            .filter(|l| l.is_live(t))
            .map(|l| l.seats)
            .fold(0u32, u32::saturating_add);
        self.next_license_expiry = self
            .licenses
            .iter()
            .filter_map(|l| l.expires_at)
            .filter(|end| *end > t)
            .min();
    }

    /// The latest expiry among live licenses; `None` when one is permanent or none is live.
    fn license_expires_at(&self, t: Timestamp) -> Option<Timestamp> {
        let live = self.licenses.iter().filter(|l| l.is_live(t));
        let mut latest = None;
        for license in live {
            match license.expires_at {
                None => return None,
                Some(end) => latest = latest.max(Some(end)),
            }
        }
        latest
    }

    pub(super) fn availability(&self) -> Result<(), Refusal> {
        if self.licenses.is_empty() {
            return Err(Refusal::NoLicense);
        }
        if self.trial_exhausted(self.now) {
            return Err(Refusal::TrialExpired);
        }
        if self.capacity == 0 {
            return Err(if self.licenses.iter().all(|l| l.trial) {
                Refusal::TrialExpired
            } else {
                Refusal::LicenseExpired
            });
        }
        Ok(())
    }

    /// Issue 16: an offline-file seat lives on a computer that never calls again, so nothing
    /// may end it behind the holder's back: the pool must be no trial and every live license
    /// permanent, and the platform no web session (a web session cannot live offline).
    pub(super) fn offline_file_allowed(&self, platform: Platform) -> Result<(), Refusal> {
        let t = self.now;
        let trial = self.trial.is_some() || self.licenses.iter().any(|l| l.trial && l.is_live(t));
        let expiring = self
            .licenses
            .iter()
            .any(|l| l.is_live(t) && l.expires_at.is_some());
        if trial || expiring || platform == Platform::Web {
            return Err(Refusal::OfflineNeedsPermanentLicense);
        }
        Ok(())
    }

    pub(super) fn free(&self) -> u32 {
        self.capacity.saturating_sub(self.in_use())
    }

    pub(super) fn policy_of(&self, account: AccountId) -> Policy {
        if account == self.owner {
            Policy::Owner
        } else {
            Policy::Member
        }
    }

    /// Capacity a new seat would use: the owner's second desktop device shares a seat (S9).
    pub(super) fn need(&self, policy: Policy, platform: Platform) -> u32 {
        if policy == Policy::Owner && platform.is_desktop() && self.owner_desktops % 2 == 1 {
            0
        } else {
            1
        }
    }

    /// S10: revokes seats over capacity: members' before the owner's, offline reservations
    /// (S11's and offline-file seats alike) last, and within each group the most recently
    /// granted first.
    pub(super) fn enforce_capacity(&mut self, t: Timestamp) {
        if self.in_use() <= self.capacity {
            return;
        }
        let mut order: Vec<(u8, std::cmp::Reverse<(Timestamp, SeatId)>)> = self
            .seats
            .values()
            .map(|s| {
                let group = match (s.offline_group_at(t), s.policy) {
                    (false, Policy::Member) => 0,
                    (false, Policy::Owner) => 1,
                    (true, Policy::Member) => 2,
                    (true, Policy::Owner) => 3,
                };
                (group, std::cmp::Reverse((s.granted_at, s.id)))
            })
            .collect();
        order.sort_unstable();
        // First pass: skip the owner's desktops whose removal frees no capacity (an even
        // count shares its seats fully, S9); second pass: whatever is still needed, in order.
        let mut skipped = Vec::new();
        for (_, std::cmp::Reverse((_, id))) in order {
            if self.in_use() <= self.capacity {
                return;
            }
            let owner_desktop = self
                .seats
                .get(&id)
                .is_some_and(|s| s.policy == Policy::Owner && s.platform.is_desktop());
            if owner_desktop && self.owner_desktops % 2 == 0 {
                skipped.push(id);
                continue;
            }
            self.remove_seat(id, GoneReason::CapacityReduced, t);
        }
        for id in skipped {
            if self.in_use() <= self.capacity {
                return;
            }
            self.remove_seat(id, GoneReason::CapacityReduced, t);
        }
    }
}
