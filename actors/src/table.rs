//! `SeatTable`: every seat rule of one pool (S1–S11, W1–W3, the events of W4, the active days
//! of L6) as a pure state machine. It does no I/O and reads no clock: each operation takes
//! `now` and returns its outcome, and leaves behind the changes to persist (`take_changes`)
//! and what parked waiters must be told (`take_notices`). The pool actor owns exactly one
//! table, persists its changes and answers; it never decides a rule, and this module never
//! sends a message.
//!
//! Time only moves forward inside a table: every operation first processes, in time order,
//! everything that fell due up to `now` (seat deadlines, license expiries, waits that ended,
//! idle reclaim, usage hours, trial days), so the answer is right even when a timer fired late.
//!
//! Data structures are sized for a pool with a million held seats: seats by id and by holder
//! in hash maps, deadlines in an ordered set holding one entry per seat. A heartbeat only
//! moves the seat's deadline field; the entry is moved lazily when it falls due (or at once
//! when the deadline moved earlier), so heartbeats touch no ordered structure.

use std::collections::{BTreeSet, VecDeque};
use std::hash::BuildHasher;

use hashbrown::{HashMap, HashSet};

use crate::ids::{AccountId, DeviceId, Platform, Policy, PoolId, SeatId, WaiterId};
use crate::model::{
    AcquireOutcome, AcquireRequest, Change, CloseOutcome, GoneReason, License, MemberError,
    NoSeatDetails, Notice, PoolSettings, PoolSnapshot, PoolStatus, Refusal, SeatError, SeatRecord,
    SeatSummary, SeatView, TableLimits, Tombstone, TrialDays,
};
use crate::time::{Timestamp, DAY_MS};
use crate::usage::UsageCounter;

mod slab;

use slab::{counter_above, seat_id, DeviceBuf, Keyed, SeatSlab};

/// The index key of a seat's holder for S2 (one seat per account, device and platform): the
/// device is hashed, and the rare collision is resolved through the account's seats.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct HolderKey {
    account: AccountId,
    platform: Platform,
    device_hash: u64,
}

#[derive(Debug)]
struct Seat {
    id: SeatId,
    account: AccountId,
    device: DeviceBuf,
    platform: Platform,
    policy: Policy,
    granted_at: Timestamp,
    /// Heartbeat deadline; never for the owner's kept seat.
    deadline: When,
    offline_until: When,
    last_active: Timestamp,
    /// Where the seat sits in `expiry`; never later than `deadline`.
    scheduled: When,
    /// Where the seat sits in `idle`; never later than `last_active + idle_reclaim`.
    idle_scheduled: When,
    /// The deadline last handed out to be persisted.
    persisted_deadline: When,
}

/// An optional moment in 8 bytes instead of 16, to keep a million seats small.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
struct When(u64);

impl When {
    const NEVER: When = When(u64::MAX);

    fn get(self) -> Option<Timestamp> {
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
    fn holds(&self, platform: Platform, device: &str) -> bool {
        self.platform == platform && self.device.as_str() == device
    }

    fn offline_at(&self, t: Timestamp) -> bool {
        self.offline_until.get().is_some_and(|until| t < until)
    }

    fn record(&self) -> SeatRecord {
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
        }
    }

    /// The W2 idle-reclaim key, for member seats only.
    fn idle_key(&self, idle_ms: u64) -> Option<Timestamp> {
        (self.policy == Policy::Member).then(|| {
            let idle_from = self.last_active.plus_millis(idle_ms);
            match self.offline_until.get() {
                Some(until) => idle_from.max(until),
                None => idle_from,
            }
        })
    }
}

/// The seats of one account: almost always one, so the common case allocates nothing.
#[derive(Debug)]
#[allow(
    clippy::box_collection,
    reason = "a thin box keeps the map's value at 16 bytes for the one-seat common case"
)]
enum SeatList {
    One(SeatId),
    Many(Box<Vec<SeatId>>),
}

impl SeatList {
    fn as_slice(&self) -> &[SeatId] {
        match self {
            SeatList::One(id) => std::slice::from_ref(id),
            SeatList::Many(v) => v,
        }
    }

    fn push(&mut self, id: SeatId) {
        match self {
            SeatList::One(first) => *self = SeatList::Many(Box::new(vec![*first, id])),
            SeatList::Many(v) => v.push(id),
        }
    }

    /// Removes `id`; true when the list is now empty.
    fn remove(&mut self, id: SeatId) -> bool {
        match self {
            SeatList::One(only) => *only == id,
            SeatList::Many(v) => {
                v.retain(|s| *s != id);
                v.is_empty()
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Waiter {
    id: WaiterId,
    account: AccountId,
    device: DeviceId,
    platform: Platform,
    until: Timestamp,
}

/// What became of a waiter the queue tried to serve.
enum Served {
    Yes,
    Refused(Refusal),
    NoCapacity,
}

/// Something that falls due at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    SeatDeadline(SeatId),
    LicenseExpiry,
    WaitEnds(WaiterId),
    IdleReclaim,
    HourEnds,
    UsageFlush,
    TrialDayEnds,
}

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
    by_holder: HashMap<HolderKey, SeatId>,
    device_hasher: hashbrown::DefaultHashBuilder,
    /// Tests make every device hash collide, to prove the collision path.
    #[cfg(test)]
    colliding_hashes: bool,
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
            by_holder: HashMap::with_capacity(snapshot.seats.len()),
            device_hasher: hashbrown::DefaultHashBuilder::default(),
            #[cfg(test)]
            colliding_hashes: false,
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
            let deadline = match rec.deadline {
                Some(d) if d.plus_millis(timeout / 10) > now => Some(d.max(now.plus_millis(grace))),
                Some(_) => {
                    expired.push(rec.id);
                    rec.deadline
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
                persisted_deadline: rec.deadline.into(),
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
            return self.refuse(refusal);
        }
        let policy = self.policy_of(req.account);
        if policy == Policy::Member && self.blocked.contains(&req.account) {
            return self.refuse(Refusal::MemberBlocked);
        }
        if let Some(id) = self.find_holder(req.account, req.platform, req.device.as_str()) {
            let seat = self.restart(id, now);
            return AcquireOutcome::Granted { seat, reused: true };
        }
        if let Some(seat) = self.web_elsewhere(req.account, req.platform, &req.device) {
            return self.refuse(Refusal::WebSessionActiveElsewhere { seat });
        }
        let need = self.need(policy, req.platform);
        if need == 0 || (self.queue.is_empty() && self.free() >= need) {
            if let Some(seat) = self.grant(req.account, &req.device, req.platform, policy, now) {
                return AcquireOutcome::Granted {
                    seat,
                    reused: false,
                };
            }
        }
        match req.wait {
            Some((waiter, until)) if until > now => {
                if self.queue.len() >= self.limits.max_waiters {
                    return self.refuse(Refusal::Throttled);
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
                self.refuse(Refusal::NoSeatAvailable(details))
            }
        }
    }

    /// S4, W2: a heartbeat keeps the seat alive and reports whether the user is active
    /// (`None` counts as active). The hot path: one hash lookup, no ordered index touched
    /// unless the deadline moved earlier.
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
        if active != Some(false) {
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
    /// owner's desktop seat and an offline reservation are kept. Repeating it is harmless.
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
    /// harmless.
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
        self.remove_seat(id, GoneReason::Released, now);
        self.serve_queue(now);
        Ok(CloseOutcome::Freed)
    }

    /// S7: "free up my seats" in this pool; returns the seats released.
    pub fn release_all(&mut self, account: AccountId, now: Timestamp) -> Vec<SeatId> {
        let now = self.advance(now);
        let ids = self.account_seats(account).to_vec();
        for &id in &ids {
            self.remove_seat(id, GoneReason::Released, now);
        }
        self.serve_queue(now);
        ids
    }

    /// S11: reserves the seat for offline use until `until`, at most the pool's
    /// `offline_max_days` ahead and never past the latest expiry of its live licenses.
    pub fn reserve_offline(
        &mut self,
        id: SeatId,
        account: AccountId,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<SeatView, SeatError> {
        let now = self.advance(now);
        self.holder_seat(id, account)?;
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
                    self.usage.undo_grant();
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

    // ----- time --------------------------------------------------------------------------

    /// Moves the table to `now` (never backwards), processing what fell due in time order.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        let now = now.max(self.now);
        while let Some((t, due)) = self.next_due() {
            if t > now {
                break;
            }
            self.roll_usage(t);
            self.now = t.max(self.now);
            self.process(due, t);
        }
        self.roll_usage(now);
        self.now = now;
        now
    }

    fn next_due(&self) -> Option<(Timestamp, Due)> {
        let mut best: Option<(Timestamp, Due)> = None;
        let mut consider = |t: Option<Timestamp>, due: Due| {
            if let Some(t) = t {
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, due));
                }
            }
        };
        if let Some(&(t, id)) = self.expiry.first() {
            consider(Some(t), Due::SeatDeadline(id));
        }
        consider(self.next_license_expiry, Due::LicenseExpiry);
        if self.trial_day_counts() {
            consider(self.trial_day_end(), Due::TrialDayEnds);
        }
        if let Some(&(t, w)) = self.wait_ends.first() {
            consider(Some(t), Due::WaitEnds(w));
        }
        if !self.queue.is_empty() {
            consider(self.idle.first().map(|(t, _)| *t), Due::IdleReclaim);
        }
        if !self.seats.is_empty() {
            consider(Some(self.usage.hour_end()), Due::HourEnds);
        }
        consider(self.usage.flush_due(), Due::UsageFlush);
        best
    }

    fn process(&mut self, due: Due, t: Timestamp) {
        match due {
            Due::SeatDeadline(id) => {
                let Some(seat) = self.seats.get(&id) else {
                    // A removed seat leaves no entry behind; should one remain, drop it.
                    self.expiry.remove(&(t, id));
                    return;
                };
                let scheduled = seat.scheduled.get();
                match seat.deadline.get() {
                    Some(d) if d > t => {
                        // A heartbeat moved the deadline: move the entry now.
                        if let Some(s) = scheduled {
                            self.expiry.remove(&(s, id));
                        }
                        self.expiry.insert((d, id));
                        if let Some(seat) = self.seats.get_mut(&id) {
                            seat.scheduled = d.into();
                        }
                    }
                    Some(_) => {
                        self.remove_seat(id, GoneReason::Expired, t);
                        self.serve_queue(t);
                    }
                    None => {
                        if let Some(s) = scheduled {
                            self.expiry.remove(&(s, id));
                        }
                        if let Some(seat) = self.seats.get_mut(&id) {
                            seat.scheduled = When::NEVER;
                        }
                    }
                }
            }
            Due::LicenseExpiry => {
                self.recompute_capacity(t);
                self.enforce_capacity(t);
                self.usage.observe(self.in_use(), self.capacity);
                self.serve_queue(t);
            }
            Due::WaitEnds(waiter) => {
                if let Some(i) = self.queue.iter().position(|w| w.id == waiter) {
                    if let Some(w) = self.queue.remove(i) {
                        self.wait_ends.remove(&(w.until, w.id));
                        let details = self.no_seat_details(w.account, Some(i + 1));
                        self.usage.refusal();
                        self.notices.push(Notice::WaiterRefused {
                            waiter,
                            refusal: Refusal::NoSeatAvailable(details),
                        });
                    }
                } else {
                    self.wait_ends.retain(|(_, w)| *w != waiter);
                }
                self.serve_queue(t);
            }
            // The head is waiting for capacity: serve_queue reclaims the seats idle at `t`
            // and moves the entries of seats active since past `t`.
            Due::IdleReclaim => self.serve_queue(t),
            Due::HourEnds => self.roll_usage(t),
            Due::TrialDayEnds => self.trial_day_ends(t),
            Due::UsageFlush => self.record_usage(t),
        }
    }

    /// Hands out the hour's counts so far as a change to persist.
    fn record_usage(&mut self, t: Timestamp) {
        let rec = self.usage.flush(t);
        self.changes.push(Change::Usage(rec));
    }

    fn roll_usage(&mut self, t: Timestamp) {
        if t.hour_start() <= self.usage.hour() {
            return;
        }
        let (in_use, capacity) = (self.in_use(), self.capacity);
        let holders = self.by_account.keys().copied();
        if let Some(rec) = self.usage.roll_to(t, in_use, capacity, holders) {
            self.changes.push(Change::Usage(rec));
        }
    }

    // ----- capacity and the queue ----------------------------------------------------------

    fn recompute_capacity(&mut self, t: Timestamp) {
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

    fn availability(&self) -> Result<(), Refusal> {
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

    // ----- trial days (L6) ------------------------------------------------------------------

    fn set_trial(&mut self, trial: Option<TrialDays>) {
        self.trial = trial;
        self.changes.push(Change::Trial(self.trial.clone()));
    }

    /// Whether the application runs somewhere in this trial pool: a seat that needs heartbeats
    /// (or is reserved offline). The owner's desktop seat kept after closing (S5) is not a
    /// running session and consumes no day; starting it again does. Trial pools hold a
    /// handful of seats, so looking at them all is cheap.
    fn trial_session_running(&self) -> bool {
        self.trial.is_some() && self.seats.values().any(|s| s.deadline != When::NEVER)
    }

    /// Whether the end of the current trial day matters: a running session consumes another
    /// day then, and with no day left any seat still held (even a kept one) goes.
    fn trial_day_counts(&self) -> bool {
        let no_day_left = self.trial.as_ref().is_some_and(|tr| tr.days_left == 0);
        self.trial_session_running() || (no_day_left && !self.seats.is_empty())
    }

    /// The end of the day consumed last; `None` before the first day or outside a trial.
    fn trial_day_end(&self) -> Option<Timestamp> {
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
    fn trial_exhausted(&self, t: Timestamp) -> bool {
        self.trial.as_ref().is_some_and(|tr| tr.days_left == 0) && self.trial_day_due(t)
    }

    /// Starting the application at `t` (a grant or an S2 restart) consumes a day unless one
    /// was consumed less than 24 hours ago. `availability` refused the start when a day is
    /// due and none is left, so a due day is always there to take.
    fn start_application(&mut self, t: Timestamp) {
        if !self.trial_day_due(t) {
            return;
        }
        self.consume_trial_day(t);
    }

    /// A session still running 24 hours after the last consumed day consumes another at `t`;
    /// with none left the trial has expired: every seat goes (S10's `capacity_reduced`) and
    /// the waiting requests are refused.
    fn trial_day_ends(&mut self, t: Timestamp) {
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

    fn free(&self) -> u32 {
        self.capacity.saturating_sub(self.in_use())
    }

    fn policy_of(&self, account: AccountId) -> Policy {
        if account == self.owner {
            Policy::Owner
        } else {
            Policy::Member
        }
    }

    /// Capacity a new seat would use: the owner's second desktop device shares a seat (S9).
    fn need(&self, policy: Policy, platform: Platform) -> u32 {
        if policy == Policy::Owner && platform.is_desktop() && self.owner_desktops % 2 == 1 {
            0
        } else {
            1
        }
    }

    /// S10: revokes seats over capacity: members' before the owner's, offline reservations
    /// last, and within each group the most recently granted first.
    fn enforce_capacity(&mut self, t: Timestamp) {
        if self.in_use() <= self.capacity {
            return;
        }
        let mut order: Vec<(u8, std::cmp::Reverse<(Timestamp, SeatId)>)> = self
            .seats
            .values()
            .map(|s| {
                let group = match (s.offline_at(t), s.policy) {
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

    /// W1: hands free capacity to the head of the queue, in order, reclaiming idle seats
    /// (W2) when the head cannot be served. Half a seat freed among the owner's desktops
    /// (S9), which the head cannot use, goes to the first owner desktop waiting.
    fn serve_queue(&mut self, t: Timestamp) {
        while let Some(head) = self.queue.front() {
            let head = head.clone();
            match self.serve_waiter(&head, t) {
                Served::Yes => {
                    self.pop_head();
                    continue;
                }
                Served::Refused(refusal) => {
                    self.pop_head();
                    self.usage.refusal();
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
        if let Some(id) = self.find_holder(w.account, w.platform, w.device.as_str()) {
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
        let Some(seat) = self.grant(w.account, &w.device, w.platform, policy, t) else {
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

    fn idle_ms(&self) -> Option<u64> {
        self.settings
            .idle_reclaim_s
            .map(|s| u64::from(s.max(1)) * 1_000)
    }

    fn refuse_waiters_of(&mut self, account: AccountId, refusal: Refusal) {
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for w in std::mem::take(&mut self.queue) {
            if w.account == account {
                self.wait_ends.remove(&(w.until, w.id));
                self.usage.refusal();
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

    fn refuse(&mut self, refusal: Refusal) -> AcquireOutcome {
        self.usage.refusal();
        AcquireOutcome::Refused(refusal)
    }

    fn no_seat_details(&self, account: AccountId, position: Option<usize>) -> NoSeatDetails {
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

    // ----- seats -------------------------------------------------------------------------

    fn account_seats(&self, account: AccountId) -> &[SeatId] {
        self.by_account
            .get(&account)
            .map_or(&[], SeatList::as_slice)
    }

    /// S9: the account's web seat on another device, if any.
    fn web_elsewhere(
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

    /// The seat exists and `account` holds it.
    fn holder_seat(&self, id: SeatId, account: AccountId) -> Result<(), SeatError> {
        match self.seats.get(&id) {
            Some(seat) if seat.account == account => Ok(()),
            _ => Err(self.missing(id, account)),
        }
    }

    /// Why `account` holds no seat `id`: gone for a reason it may hear, or unknown to it.
    fn missing(&self, id: SeatId, account: AccountId) -> SeatError {
        match self.tombstones.get(&id) {
            Some(t) if t.account == account && !self.seats.contains_key(&id) => {
                SeatError::Gone(t.reason)
            }
            _ => SeatError::NotFound,
        }
    }

    /// A close or logout repeated by the holder after the seat was released succeeds again.
    fn repeated_release(&self, id: SeatId, err: SeatError) -> Result<CloseOutcome, SeatError> {
        match err {
            SeatError::Gone(GoneReason::Released) if self.tombstones.contains_key(&id) => {
                Ok(CloseOutcome::AlreadyReleased)
            }
            _ => Err(err),
        }
    }

    /// A new seat; `None` only when the table holds the most seats it can.
    fn grant(
        &mut self,
        account: AccountId,
        device: &DeviceId,
        platform: Platform,
        policy: Policy,
        t: Timestamp,
    ) -> Option<SeatView> {
        let id = seat_id(counter_above(self.id_bound), self.seats.vacant_slot()?);
        self.id_bound = id.0 + 1;
        self.start_application(t);
        let deadline = t.plus_millis(self.settings.timeout_ms());
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
        };
        let view = self.view(&seat);
        self.changes.push(Change::SeatGranted(seat.record()));
        self.insert_seat(seat);
        self.usage.grant();
        self.usage.holder(account);
        self.usage.observe(self.in_use(), self.capacity);
        Some(view)
    }

    /// S2: the application started again on the same device; the seat runs again.
    fn restart(&mut self, id: SeatId, t: Timestamp) -> SeatView {
        let timeout = self.settings.timeout_ms();
        if self.seats.contains_key(&id) {
            self.start_application(t);
        }
        let Some(seat) = self.seats.get_mut(&id) else {
            return self.view_of(id);
        };
        seat.last_active = t;
        let account = seat.account;
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

    /// Stores a seat in every index. False, and nothing stored, when its slot is taken.
    fn insert_seat(&mut self, mut seat: Seat) -> bool {
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
    fn find_holder(&self, account: AccountId, platform: Platform, device: &str) -> Option<SeatId> {
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

    /// Removes a seat, remembers why and records the change.
    fn remove_seat(&mut self, id: SeatId, reason: GoneReason, t: Timestamp) {
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

    /// Takes a seat out of every index, leaving no trace.
    fn drop_seat(&mut self, id: SeatId) -> Option<Seat> {
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

    fn evict_account(&mut self, account: AccountId, reason: GoneReason, t: Timestamp) -> usize {
        let ids = self.account_seats(account).to_vec();
        for &id in &ids {
            self.remove_seat(id, reason, t);
        }
        ids.len()
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

    fn remember(&mut self, tomb: Tombstone) {
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

    /// Sets a seat's deadline, keeping its entry in `expiry` no later than the deadline: a
    /// later deadline leaves the entry where it is (it is moved when it falls due).
    fn set_deadline(&mut self, id: SeatId, deadline: Option<Timestamp>) {
        let Some(seat) = self.seats.get_mut(&id) else {
            return;
        };
        seat.deadline = deadline.into();
        match (seat.scheduled.get(), deadline) {
            (Some(s), Some(d)) if d >= s => {}
            (scheduled, deadline) => {
                if let Some(s) = scheduled {
                    self.expiry.remove(&(s, id));
                }
                seat.scheduled = deadline.into();
                if let Some(d) = deadline {
                    self.expiry.insert((d, id));
                }
            }
        }
    }

    fn reschedule_idle(&mut self, id: SeatId) {
        let Some(idle_ms) = self.idle_ms() else {
            return;
        };
        let Some(seat) = self.seats.get_mut(&id) else {
            return;
        };
        let key = seat.idle_key(idle_ms);
        if seat.idle_scheduled.get() == key {
            return;
        }
        if let Some(s) = seat.idle_scheduled.get() {
            self.idle.remove(&(s, id));
        }
        seat.idle_scheduled = key.into();
        if let Some(k) = key {
            self.idle.insert((k, id));
        }
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

    fn persist(&mut self, id: SeatId) {
        if let Some(seat) = self.seats.get_mut(&id) {
            seat.persisted_deadline = seat.deadline;
            self.changes.push(Change::SeatUpdated(seat.record()));
        }
    }

    /// The view of a seat the caller just checked or inserted.
    fn view_of(&self, id: SeatId) -> SeatView {
        self.view(&self.seats[&id])
    }

    fn view(&self, seat: &Seat) -> SeatView {
        let days_left = self.trial.as_ref().map(|tr| tr.days_left);
        seat_view(
            seat,
            self.now,
            &self.settings,
            self.license_latest,
            days_left,
        )
    }

    /// Makes every device hash collide (tests of the collision path).
    #[cfg(test)]
    pub(crate) fn collide_device_hashes(&mut self) {
        assert!(self.seats.is_empty(), "set before any seat is held");
        self.colliding_hashes = true;
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut singles = 0;
        let mut desktops = 0;
        for seat in self.seats.values() {
            let id = &seat.id;
            assert_eq!(
                self.find_holder(seat.account, seat.platform, seat.device.as_str()),
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

#[cfg(test)]
mod proptests;
/// A seat as its holder sees it at `now`.
fn seat_view(
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
    }
}

#[cfg(test)]
mod tests;
