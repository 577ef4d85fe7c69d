//! `SeatTable`: every seat rule of one pool (S1–S11, W1–W3, the events of W4, the active days
//! of L6, the offline-file seats of issue 16) as a pure state machine. It does no I/O and
//! reads no clock: each operation takes `now` and returns its outcome, and leaves behind the
//! changes to persist (`take_changes`) and what parked waiters must be told (`take_notices`).
//! The pool actor owns exactly one table, persists its changes and answers; it never decides
//! a rule, and this module never sends a message.
//!
//! Time only moves forward inside a table: every operation first processes, in time order,
//! everything that fell due up to `now` (seat deadlines, license expiries, waits that ended,
//! idle reclaim, usage hours, trial days), so the answer is right even when a timer fired late.
//!
//! Data structures are sized for a pool with a million held seats: seats by id and by holder
//! in hash maps, deadlines in an ordered set holding one entry per seat. A heartbeat only
//! moves the seat's deadline field; the entry is moved lazily when it falls due (or at once
//! when the deadline moved earlier), so heartbeats touch no ordered structure.
//!
//! This file holds the table, its constructors and every public operation; the rules they
//! share live in one room each: `schedule` (the clock: what falls due and in which order,
//! seat deadlines and idle-reclaim entries, the hourly usage roll), `lifecycle` (one seat's
//! life: grant, restart, persistence, removal and tombstone), `index` (the lookups by holder
//! and by account, and the counts of capacity in use they keep), `capacity` (capacity from
//! the licenses, L5, and revocation over it, S10), `queue` (the waiting queue, W1, and idle
//! reclaim, W2) and `trial` (the trial's active days, L6). The plain data they work on is in
//! `records` (seats, waiters, index keys) and `slab` (the compact storage of the seats).
//! Those two never name `SeatTable`, so no two files here import each other.

use std::collections::{BTreeSet, VecDeque};

use hashbrown::{HashMap, HashSet, HashTable};

use crate::ids::{AccountId, DeviceId, Platform, Policy, PoolId, SeatId, WaiterId};
use crate::model::{
    AcquireOutcome, AcquireRequest, Change, CloseOutcome, GoneReason, License, MemberError, Notice,
    PoolSettings, PoolSnapshot, PoolStatus, Refusal, SeatError, SeatRecord, SeatView, TableLimits,
    Tombstone, TrialDays,
};
use crate::time::{Timestamp, DAY_MS};
use crate::usage::UsageCounter;

mod capacity;
mod index;
mod lifecycle;
mod queue;
mod records;
mod schedule;
mod slab;
mod trial;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use records::{seat_view, HolderHasher, Seat, SeatKind, SeatList, Waiter, When};
use slab::{DeviceBuf, DeviceForm, SeatSlab};

/// One pool's seats, waiting queue and member status: the seat rules as a pure state machine.
#[derive(Debug)]
pub struct SeatTable {
    pool: PoolId,
    owner: AccountId,
    settings: PoolSettings,
    limits: TableLimits,
    licenses: Vec<License>,
    /// Capacity as of `now` (L5), recomputed when a license is added or expires.
    capacity: u32,
    /// The latest expiry among live licenses; `None` when one is permanent or none is live.
    license_latest: Option<Timestamp>,
    next_license_expiry: Option<Timestamp>,
    seats: SeatSlab<Seat>,
    /// S2: the slot of each holder's seat (the first one, should a holder have two).
    by_holder: HashTable<u32>,
    holder_hasher: HolderHasher,
    by_account: HashMap<AccountId, SeatList>,
    expiry: BTreeSet<(Timestamp, SeatId)>,
    idle: BTreeSet<(Timestamp, SeatId)>,
    /// Capacity used by members' seats and the owner's web seats: one each.
    single_seats: u32,
    /// The owner's desktop seats on its own pool: two to a seat (S9).
    owner_desktops: u32,
    blocked: HashSet<AccountId>,
    queue: VecDeque<Waiter>,
    wait_ends: BTreeSet<(Timestamp, WaiterId)>,
    tombstones: HashMap<SeatId, Tombstone>,
    tombstone_order: VecDeque<SeatId>,
    /// Above every seat id the pool ever handed out; new ids take the next grant counter
    /// above it as their high bits, so ids never repeat.
    id_bound: u64,
    usage: UsageCounter,
    /// The trial's active days (L6); `None` outside trial pools.
    trial: Option<TrialDays>,
    changes: Vec<Change>,
    notices: Vec<Notice>,
    now: Timestamp,
}

impl SeatTable {
    /// A new, empty pool.
    pub fn new(
        pool: PoolId,
        owner: AccountId,
        licenses: Vec<License>,
        settings: PoolSettings,
        limits: TableLimits,
        now: Timestamp,
    ) -> Self {
        let mut snapshot = PoolSnapshot::new(pool, owner, licenses);
        snapshot.settings = settings;
        Self::restore(snapshot, limits, now)
    }

    /// Rebuilds a pool from its persisted state. Heartbeats are persisted only when a deadline
    /// moved by more than a tenth of the timeout, so a saved deadline may lag the real one by
    /// that much: a seat whose saved deadline plus a tenth of the timeout is still ahead gets
    /// at least one heartbeat interval of grace; the others expire now.
    pub fn restore(snapshot: PoolSnapshot, limits: TableLimits, now: Timestamp) -> Self {
        let mut table = SeatTable {
            pool: snapshot.pool,
            owner: snapshot.owner,
            settings: snapshot.settings,
            limits,
            licenses: snapshot.licenses,
            capacity: 0,
            license_latest: None,
            next_license_expiry: None,
            seats: SeatSlab::new(),
            by_holder: HashTable::with_capacity(snapshot.seats.len()),
            holder_hasher: HolderHasher::default(),
            by_account: HashMap::new(),
            expiry: BTreeSet::new(),
            idle: BTreeSet::new(),
            single_seats: 0,
            owner_desktops: 0,
            blocked: snapshot.blocked.into_iter().collect(),
            queue: VecDeque::new(),
            wait_ends: BTreeSet::new(),
            tombstones: HashMap::new(),
            tombstone_order: VecDeque::new(),
            id_bound: snapshot.next_seat_id,
            usage: UsageCounter::new(now, snapshot.usage),
            trial: snapshot.trial,
            changes: Vec::new(),
            notices: Vec::new(),
            now,
        };
        // Every new id must be above every id the pool ever handed out.
        let mut id_bound = table.id_bound;
        let mut tombstones = snapshot.tombstones;
        tombstones.sort_by_key(|t| t.at);
        for tomb in tombstones {
            id_bound = id_bound.max(tomb.seat.0 + 1);
            table.remember(tomb);
        }
        let timeout = table.settings.timeout_ms();
        let grace = u64::from(table.settings.heartbeat_interval_s()) * 1_000;
        let mut expired = Vec::new();
        let mut unplaceable = Vec::new();
        for rec in snapshot.seats {
            id_bound = id_bound.max(rec.id.0 + 1);
            // An offline-file seat never has a deadline, whatever its record says.
            let saved_deadline = rec.deadline.filter(|_| !rec.offline_file);
            let deadline = match saved_deadline {
                Some(d) if d.plus_millis(timeout / 10) > now => Some(d.max(now.plus_millis(grace))),
                Some(_) => {
                    expired.push(rec.id);
                    saved_deadline
                }
                None => None,
            };
            let seat = Seat {
                id: rec.id,
                account: rec.account,
                device: DeviceBuf::new(&rec.device),
                platform: rec.platform,
                policy: rec.policy,
                granted_at: rec.granted_at,
                deadline: deadline.into(),
                offline_until: rec.offline_until.into(),
                last_active: rec.last_active,
                scheduled: When::NEVER,
                idle_scheduled: When::NEVER,
                persisted_deadline: saved_deadline.into(),
                offline_file: rec.offline_file,
            };
            if !table.insert_seat(seat) {
                unplaceable.push((rec.id, rec.account));
            }
        }
        table.id_bound = id_bound;
        for id in expired {
            table.remove_seat(id, GoneReason::Expired, now);
        }
        for (seat, account) in unplaceable {
            // Two stored seats in one slot: only corrupt data does that. The second is
            // dropped from the store rather than left to haunt it.
            let tomb = Tombstone {
                seat,
                account,
                reason: GoneReason::Revoked,
                at: now,
            };
            table.changes.push(Change::SeatRemoved(tomb.clone()));
            table.remember(tomb);
        }
        table.recompute_capacity(now);
        table.enforce_capacity(now);
        table.usage.observe(table.in_use(), table.capacity);
        table
    }

    // ----- reads -------------------------------------------------------------------------

    /// The pool this table serves.
    pub fn pool(&self) -> PoolId {
        self.pool
    }

    /// The pool's owner.
    pub fn owner(&self) -> AccountId {
        self.owner
    }

    /// The pool's settings.
    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    /// The pool's licenses.
    pub fn licenses(&self) -> &[License] {
        &self.licenses
    }

    /// The trial's active days (L6); `None` outside trial pools.
    pub fn trial(&self) -> Option<&TrialDays> {
        self.trial.as_ref()
    }

    /// Capacity in use: members' and web seats one each, the owner's desktops two to a seat.
    pub fn in_use(&self) -> u32 {
        self.single_seats + self.owner_desktops.div_ceil(2)
    }

    /// Capacity, queue and seat counts as of the last operation.
    pub fn status(&self) -> PoolStatus {
        PoolStatus {
            capacity: self.capacity,
            in_use: self.in_use(),
            seats: self.seats.len(),
            queue_length: self.queue.len(),
        }
    }

    /// Whether the table holds nothing that needs it to stay in memory.
    pub fn is_idle(&self) -> bool {
        self.seats.is_empty()
            && self.queue.is_empty()
            && self.changes.is_empty()
            && self.usage.flush_due().is_none()
    }

    /// Whether `account` is blocked from this pool.
    pub fn is_blocked(&self, account: AccountId) -> bool {
        self.blocked.contains(&account)
    }

    /// W4: the counts of the hour being counted, with every account seen in it and in its
    /// day; the hours before are in the store.
    pub fn usage_now(&self) -> crate::model::UsageRecord {
        self.usage.current()
    }

    /// Every held seat, oldest grant first.
    pub fn seats(&self) -> Vec<SeatView> {
        let mut views: Vec<SeatView> = self.seats.values().map(|s| self.view(s)).collect();
        views.sort_by_key(|v| (v.granted_at, v.id));
        views
    }

    /// The seats `account` holds, oldest grant first.
    pub fn seats_of(&self, account: AccountId) -> Vec<SeatView> {
        let mut views: Vec<SeatView> = self
            .account_seats(account)
            .iter()
            .filter_map(|id| self.seats.get(id))
            .map(|s| self.view(s))
            .collect();
        views.sort_by_key(|v| (v.granted_at, v.id));
        views
    }

    /// The seat `id` as its holder sees it.
    pub fn seat(&self, id: SeatId) -> Option<SeatView> {
        self.seats.get(&id).map(|s| self.view(s))
    }

    /// Every seat as it would be persisted now, with the table's other persisted state.
    pub fn snapshot(&self) -> PoolSnapshot {
        let mut seats: Vec<SeatRecord> = self.seats.values().map(Seat::record).collect();
        seats.sort_by_key(|s| s.id);
        let mut blocked: Vec<AccountId> = self.blocked.iter().copied().collect();
        blocked.sort_unstable();
        PoolSnapshot {
            pool: self.pool,
            owner: self.owner,
            licenses: self.licenses.clone(),
            settings: self.settings.clone(),
            seats,
            blocked,
            next_seat_id: self.id_bound,
            tombstones: self
                .tombstone_order
                .iter()
                .filter_map(|id| self.tombstones.get(id).cloned())
                .collect(),
            usage: None,
            trial: self.trial.clone(),
        }
    }

    /// The next moment something falls due; the actor sets its one timer for it.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.next_due().map(|(t, _)| t)
    }

    /// The changes made since the last call, in order, to be persisted.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// W4 at shutdown: hands out the usage counts not yet recorded (refusals, heartbeats'
    /// activity), so they go with the next commit instead of waiting for the minute's record.
    pub fn flush_usage(&mut self, now: Timestamp) {
        self.roll_usage(now);
        if self.usage.flush_due().is_some() {
            self.record_usage(now);
        }
    }

    /// Whether changes are waiting to be taken.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// What parked waiters must be told since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    // ----- seat operations ---------------------------------------------------------------

    /// S2, S3, S8–S10, W1: a seat for (account, device, platform), the same one again while
    /// held, a place in the queue when the request may wait, or a refusal saying why.
    pub fn acquire(&mut self, req: AcquireRequest, now: Timestamp) -> AcquireOutcome {
        let now = self.advance(now);
        if let Err(refusal) = self.availability() {
            return self.refuse(req.account, &req.device, req.platform, refusal);
        }
        let policy = self.policy_of(req.account);
        if policy == Policy::Member && self.blocked.contains(&req.account) {
            return self.refuse(
                req.account,
                &req.device,
                req.platform,
                Refusal::MemberBlocked,
            );
        }
        if let Some(id) = self.find_holder(
            req.account,
            req.platform,
            DeviceForm::of(req.device.as_str()),
        ) {
            let seat = self.restart(id, now);
            return AcquireOutcome::Granted { seat, reused: true };
        }
        if let Some(seat) = self.web_elsewhere(req.account, req.platform, &req.device) {
            return self.refuse(
                req.account,
                &req.device,
                req.platform,
                Refusal::WebSessionActiveElsewhere { seat },
            );
        }
        let need = self.need(policy, req.platform);
        if need == 0 || (self.queue.is_empty() && self.free() >= need) {
            if let Some(seat) = self.grant(
                req.account,
                &req.device,
                req.platform,
                policy,
                SeatKind::Running,
                now,
            ) {
                return AcquireOutcome::Granted {
                    seat,
                    reused: false,
                };
            }
        }
        match req.wait {
            Some((waiter, until)) if until > now => {
                if self.queue.len() >= self.limits.max_waiters {
                    return self.refuse(req.account, &req.device, req.platform, Refusal::Throttled);
                }
                self.queue.push_back(Waiter {
                    id: waiter,
                    account: req.account,
                    device: req.device,
                    platform: req.platform,
                    until,
                });
                self.wait_ends.insert((until, waiter));
                self.serve_queue(now);
                // Idle reclaim (W2) may have handed a seat to this very request at once.
                let granted = self.notices.iter().position(
                    |n| matches!(n, Notice::WaiterGranted { waiter: w, .. } if *w == waiter),
                );
                if let Some(i) = granted {
                    if let Notice::WaiterGranted { seat, .. } = self.notices.remove(i) {
                        return AcquireOutcome::Granted {
                            seat,
                            reused: false,
                        };
                    }
                }
                let position = self
                    .queue
                    .iter()
                    .position(|w| w.id == waiter)
                    .map_or(self.queue.len(), |i| i + 1);
                AcquireOutcome::Queued { waiter, position }
            }
            _ => {
                let details = self.no_seat_details(req.account, None);
                self.refuse(
                    req.account,
                    &req.device,
                    req.platform,
                    Refusal::NoSeatAvailable(details),
                )
            }
        }
    }

    /// Issue 16: an offline-file seat for an air-gapped computer, which gets it through a
    /// signed license file and never calls again. Granted by acquire's rules (S1, S3, S9,
    /// S10's blocked members, no license), counted as a grant (W4), and never waiting in the
    /// queue: with no free seat, or someone already waiting (W1), it is refused
    /// `no_seat_available`. The seat already held by the same (account, device, platform)
    /// becomes the offline-file seat (S2, `reused`; not a new grant). Refused
    /// `offline_needs_permanent_license` in a trial pool, when a live license has an expiry
    /// (nothing could end the seat when it does) and for the web. The seat needs no
    /// heartbeat and is kept on close (S5), logout (S6) and "free up my seats" (S7), and
    /// never reclaimed idle (W2); a forced release (W3), blocking or removing the member
    /// (S10, I3) and a capacity drop (S10, among the offline reservations) end it.
    pub fn take_offline_file(
        &mut self,
        account: AccountId,
        device: DeviceId,
        platform: Platform,
        now: Timestamp,
    ) -> AcquireOutcome {
        let now = self.advance(now);
        if let Err(refusal) = self.availability() {
            return self.refuse(account, &device, platform, refusal);
        }
        let policy = self.policy_of(account);
        if policy == Policy::Member && self.blocked.contains(&account) {
            return self.refuse(account, &device, platform, Refusal::MemberBlocked);
        }
        if let Err(refusal) = self.offline_file_allowed(platform) {
            return self.refuse(account, &device, platform, refusal);
        }
        if let Some(id) = self.find_holder(account, platform, DeviceForm::of(device.as_str())) {
            let seat = self.make_offline_file(id, now);
            return AcquireOutcome::Granted { seat, reused: true };
        }
        let need = self.need(policy, platform);
        if need == 0 || (self.queue.is_empty() && self.free() >= need) {
            if let Some(seat) = self.grant(
                account,
                &device,
                platform,
                policy,
                SeatKind::OfflineFile,
                now,
            ) {
                return AcquireOutcome::Granted {
                    seat,
                    reused: false,
                };
            }
        }
        let details = self.no_seat_details(account, None);
        self.refuse(
            account,
            &device,
            platform,
            Refusal::NoSeatAvailable(details),
        )
    }

    /// S4, W2: a heartbeat keeps the seat alive and reports whether the user is active
    /// (`None` counts as active). The hot path: one hash lookup, no ordered index touched
    /// unless the deadline moved earlier. An offline-file seat is answered as it is.
    pub fn heartbeat(
        &mut self,
        id: SeatId,
        account: AccountId,
        active: Option<bool>,
        now: Timestamp,
    ) -> Result<SeatView, SeatError> {
        let now = self.advance(now);
        let timeout = self.settings.timeout_ms();
        let Some(seat) = self.seats.get_mut(&id).filter(|s| s.account == account) else {
            return Err(self.missing(id, account));
        };
        // An offline-file seat answers and changes nothing (issue 16).
        if active != Some(false) && !seat.offline_file {
            seat.last_active = now;
        }
        if seat.deadline != When::NEVER {
            let mut deadline = now.plus_millis(timeout);
            if let Some(until) = seat.offline_until.get().filter(|u| now < *u) {
                deadline = deadline.max(until.plus_millis(timeout));
            }
            seat.deadline = deadline.into();
            match seat.scheduled.get() {
                Some(s) if deadline >= s => {}
                scheduled => {
                    if let Some(s) = scheduled {
                        self.expiry.remove(&(s, id));
                    }
                    self.expiry.insert((deadline, id));
                    seat.scheduled = deadline.into();
                }
            }
            // Small moves cost no write: recovery grants a tenth of the timeout of grace.
            let moved = seat
                .persisted_deadline
                .get()
                .is_none_or(|p| deadline.as_millis().abs_diff(p.as_millis()) > timeout / 10);
            if moved {
                seat.persisted_deadline = deadline.into();
                self.changes.push(Change::SeatUpdated(seat.record()));
            }
        }
        let days_left = self.trial.as_ref().map(|tr| tr.days_left);
        Ok(seat_view(
            seat,
            now,
            &self.settings,
            self.license_latest,
            days_left,
        ))
    }

    /// S5, S11: the application closed. A member's seat and any web seat are freed; the
    /// owner's desktop seat, an offline reservation and an offline-file seat (issue 16) are
    /// kept. Repeating it is harmless.
    pub fn close(
        &mut self,
        id: SeatId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<CloseOutcome, SeatError> {
        let now = self.advance(now);
        if let Err(err) = self.holder_seat(id, account) {
            return self.repeated_release(id, err);
        }
        let seat = &self.seats[&id];
        if seat.offline_file {
            return Ok(CloseOutcome::Kept);
        }
        if seat.platform == Platform::Web
            || (seat.policy == Policy::Member && !seat.offline_at(now))
        {
            self.remove_seat(id, GoneReason::Released, now);
            self.serve_queue(now);
            return Ok(CloseOutcome::Freed);
        }
        if seat.policy == Policy::Owner && seat.deadline != When::NEVER {
            // The owner's desktop seat on its own pool is kept and needs no heartbeat, also
            // once an offline period it is in has ended.
            self.set_deadline(id, None);
            self.persist(id);
        }
        Ok(CloseOutcome::Kept)
    }

    /// S6: logging out frees the seat on that device, whoever holds it. Repeating it is
    /// harmless. An offline-file seat is kept (issue 16): its computer holds a license file
    /// that a logout elsewhere cannot take back.
    pub fn logout(
        &mut self,
        id: SeatId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<CloseOutcome, SeatError> {
        let now = self.advance(now);
        if let Err(err) = self.holder_seat(id, account) {
            return self.repeated_release(id, err);
        }
        if self.seats[&id].offline_file {
            return Ok(CloseOutcome::Kept);
        }
        self.remove_seat(id, GoneReason::Released, now);
        self.serve_queue(now);
        Ok(CloseOutcome::Freed)
    }

    /// S7: "free up my seats" in this pool; returns the seats released. Offline-file seats
    /// (issue 16) are kept and not listed.
    pub fn release_all(&mut self, account: AccountId, now: Timestamp) -> Vec<SeatId> {
        let now = self.advance(now);
        let ids: Vec<SeatId> = self
            .account_seats(account)
            .iter()
            .copied()
            .filter(|id| self.seats.get(id).is_some_and(|s| !s.offline_file))
            .collect();
        for &id in &ids {
            self.remove_seat(id, GoneReason::Released, now);
        }
        self.serve_queue(now);
        ids
    }

    /// S11: reserves the seat for offline use until `until`, at most the pool's
    /// `offline_max_days` ahead and never past the latest expiry of its live licenses. An
    /// offline-file seat (issue 16) is offline for good already: it is answered as it is and
    /// nothing changes.
    pub fn reserve_offline(
        &mut self,
        id: SeatId,
        account: AccountId,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<SeatView, SeatError> {
        let now = self.advance(now);
        self.holder_seat(id, account)?;
        if self.seats[&id].offline_file {
            return Ok(self.view_of(id));
        }
        if self.seats[&id].platform == Platform::Web {
            return Err(SeatError::OfflineNotForWeb);
        }
        if until <= now {
            return Err(SeatError::OfflineUntilInPast);
        }
        let mut max_until = now.plus_millis(u64::from(self.settings.offline_max_days) * DAY_MS);
        if let Some(latest) = self.license_latest {
            max_until = max_until.min(latest);
        }
        if until > max_until {
            return Err(SeatError::OfflinePeriodTooLong { max_until });
        }
        let deadline = until.plus_millis(self.settings.timeout_ms());
        let kept = self
            .seats
            .get(&id)
            .is_some_and(|s| s.deadline == When::NEVER);
        if let Some(seat) = self.seats.get_mut(&id) {
            seat.offline_until = until.into();
        }
        if !kept {
            // A kept owner seat stays kept; any other seat needs heartbeats again after.
            self.set_deadline(id, Some(deadline));
        }
        self.reschedule_idle(id);
        self.persist(id);
        Ok(self.view_of(id))
    }

    /// W3: the owner or an operator releases any seat; its holder hears `revoked`.
    pub fn admin_release(&mut self, id: SeatId, now: Timestamp) -> Result<(), SeatError> {
        let now = self.advance(now);
        if !self.seats.contains_key(&id) {
            return Err(SeatError::NotFound);
        }
        self.remove_seat(id, GoneReason::Revoked, now);
        self.serve_queue(now);
        Ok(())
    }

    /// A waiter left the queue (its client disconnected). True when it was waiting.
    pub fn cancel_waiter(&mut self, waiter: WaiterId, now: Timestamp) -> bool {
        let now = self.advance(now);
        let Some(i) = self.queue.iter().position(|w| w.id == waiter) else {
            return false;
        };
        if let Some(w) = self.queue.remove(i) {
            self.wait_ends.remove(&(w.until, w.id));
        }
        // The head may have changed to a request that needs less (S9).
        self.serve_queue(now);
        true
    }

    // ----- members, licenses, settings ---------------------------------------------------

    /// S10, I3: blocks a member; its seats are revoked at once and its waits refused. Returns
    /// the seats revoked.
    pub fn block(&mut self, account: AccountId, now: Timestamp) -> Result<usize, MemberError> {
        let now = self.advance(now);
        if account == self.owner {
            return Err(MemberError::IsOwner);
        }
        if self.blocked.insert(account) {
            self.changes.push(Change::MemberBlocked(account));
        }
        let revoked = self.evict_account(account, GoneReason::MemberBlocked, now);
        self.refuse_waiters_of(account, Refusal::MemberBlocked);
        self.serve_queue(now);
        Ok(revoked)
    }

    /// I3: lets a blocked member take seats again.
    pub fn unblock(&mut self, account: AccountId, now: Timestamp) -> Result<(), MemberError> {
        self.advance(now);
        if account == self.owner {
            return Err(MemberError::IsOwner);
        }
        if self.blocked.remove(&account) {
            self.changes.push(Change::MemberUnblocked(account));
        }
        Ok(())
    }

    /// I3: deletes a member: its seats are revoked and its waits refused; it may join again.
    pub fn remove_member(
        &mut self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<usize, MemberError> {
        let now = self.advance(now);
        if account == self.owner {
            return Err(MemberError::IsOwner);
        }
        self.blocked.remove(&account);
        self.changes.push(Change::MemberRemoved(account));
        let revoked = self.evict_account(account, GoneReason::Revoked, now);
        self.refuse_waiters_of(account, Refusal::NotAMember);
        self.serve_queue(now);
        Ok(revoked)
    }

    /// L5, S10: replaces the pool's licenses (one activated, one changed). A lower capacity
    /// revokes the seats over it in S10's order; a higher one serves the queue.
    pub fn set_licenses(&mut self, licenses: Vec<License>, now: Timestamp) {
        let now = self.advance(now);
        self.changes.push(Change::Licenses(licenses.clone()));
        self.licenses = licenses;
        self.recompute_capacity(now);
        self.enforce_capacity(now);
        self.usage.observe(self.in_use(), self.capacity);
        self.serve_queue(now);
    }

    /// Changes the pool's settings. A new timeout applies to each seat from its next
    /// heartbeat; a new idle-reclaim time applies at once.
    pub fn update_settings(&mut self, settings: PoolSettings, now: Timestamp) {
        let now = self.advance(now);
        let idle_changed = settings.idle_reclaim_s != self.settings.idle_reclaim_s;
        self.changes.push(Change::Settings(settings.clone()));
        self.settings = settings;
        if idle_changed {
            self.idle.clear();
            let ids: Vec<SeatId> = self.seats.keys().collect();
            for id in ids {
                if let Some(seat) = self.seats.get_mut(&id) {
                    seat.idle_scheduled = When::NEVER;
                }
                self.reschedule_idle(id);
            }
        }
        self.serve_queue(now);
    }

    /// L6: makes the pool a trial pool with `days` active days, none consumed yet. Seats held
    /// already count as started now: they consume the first day, or go when there is none.
    pub fn start_trial(&mut self, days: u8, now: Timestamp) {
        let now = self.advance(now);
        self.set_trial(Some(TrialDays {
            days_left: days,
            last_day_at: None,
        }));
        if self.trial_day_counts() {
            self.trial_day_ends(now);
        }
        self.serve_queue(now);
    }

    /// L6, L5: ends the pool's trial (a regular license was activated); seats no longer
    /// consume days.
    pub fn end_trial(&mut self, now: Timestamp) {
        let now = self.advance(now);
        self.set_trial(None);
        self.serve_queue(now);
    }

    /// Processes everything due up to `now`: expiries (S4, S11), license expiries (S10),
    /// waits that ended (W1), idle reclaim (W2), trial days (L6) and usage records (W4).
    pub fn expire_due(&mut self, now: Timestamp) {
        self.advance(now);
    }

    /// Undoes what a failed commit carried: its grants are taken back (nobody was told of
    /// them) and its other changes are put, in order, in front of `later` (the changes made
    /// since, not yet committed), so they go first into the next commit. Updates of the
    /// seats taken back are dropped from both, and their removal goes with the retry (the
    /// failed commit may have landed after all). Returns the seats taken back.
    pub fn rollback(&mut self, failed: Vec<Change>, later: &mut Vec<Change>) -> Vec<SeatId> {
        let mut undone = Vec::new();
        let mut forget = Vec::new();
        for change in &failed {
            if let Change::SeatGranted(rec) = change {
                if self.drop_seat(rec.id).is_some() {
                    self.usage.undo_grant(rec.id);
                    undone.push(rec.id);
                    // A commit that failed may still have landed (Redis wrote it and the
                    // reply was lost), so the retry also removes the seat from the store:
                    // the store never keeps a seat this table forgot, and the capacity it
                    // frees is reused only in the same or a later commit.
                    forget.push(Change::SeatRemoved(Tombstone {
                        seat: rec.id,
                        account: rec.account,
                        reason: GoneReason::Revoked,
                        at: self.now,
                    }));
                }
            }
        }
        let keep = |c: &Change| match c {
            Change::SeatGranted(_) => false,
            Change::SeatUpdated(rec) => !undone.contains(&rec.id),
            _ => true,
        };
        let mut retry: Vec<Change> = failed.into_iter().filter(keep).collect();
        // A usage record sent with the failed commit names the grants taken back among its
        // events (the pool's history): they never happened.
        for change in &mut retry {
            if let Change::Usage(rec) = change {
                rec.events.retain(|e| {
                    !matches!(e.kind, crate::model::PoolEventKind::Granted { seat } if undone.contains(&seat))
                });
            }
        }
        retry.extend(forget);
        retry.extend(std::mem::take(later).into_iter().filter(|c| {
            // A later grant is not part of the failure: it stays.
            matches!(c, Change::SeatGranted(_)) || keep(c)
        }));
        *later = retry;
        self.changes
            .retain(|c| matches!(c, Change::SeatGranted(_)) || keep(c));
        let now = self.now;
        self.serve_queue(now);
        undone
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut singles = 0;
        let mut desktops = 0;
        for seat in self.seats.values() {
            let id = &seat.id;
            assert_eq!(
                self.find_holder(seat.account, seat.platform, seat.device.form()),
                Some(*id)
            );
            assert!(self.account_seats(seat.account).contains(id));
            if seat.policy == Policy::Owner && seat.platform.is_desktop() {
                desktops += 1;
            } else {
                singles += 1;
            }
            match (seat.scheduled.get(), seat.deadline.get()) {
                (Some(s), Some(d)) => {
                    assert!(s <= d, "entry after the deadline");
                    assert!(self.expiry.contains(&(s, *id)));
                }
                (None, None) => {}
                other => panic!("seat {id} scheduled/deadline mismatch: {other:?}"),
            }
        }
        assert!(self.by_holder.len() <= self.seats.len());
        assert_eq!(
            self.expiry.len(),
            self.seats
                .values()
                .filter(|s| s.deadline != When::NEVER)
                .count()
        );
        assert_eq!(
            (singles, desktops),
            (self.single_seats, self.owner_desktops)
        );
        assert!(self.in_use() <= self.capacity, "S1: over capacity");
        if let Some(trial) = &self.trial {
            if self.trial_session_running() {
                assert!(
                    self.trial_day_end().is_some_and(|end| self.now < end),
                    "L6: a session runs outside a consumed trial day: {trial:?}"
                );
            }
        }
        assert_eq!(self.wait_ends.len(), self.queue.len());
    }
}
