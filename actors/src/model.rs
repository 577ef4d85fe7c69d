//! The values that cross the seat table's boundary: what a pool is made of (licenses,
//! settings), what it persists (seat records, changes, snapshots, usage records) and what its
//! operations answer (seat views, refusals, errors). No logic lives here beyond small derived
//! values; the rules are in `table.rs`.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, DeviceId, LicenseId, Platform, Policy, PoolId, SeatId, WaiterId};
use crate::time::Timestamp;

/// One license of a pool (L5): its own seat count and optional expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    /// The license's id.
    pub id: LicenseId,
    /// Seats it adds to the pool's capacity while it is live.
    pub seats: u32,
    /// The moment it stops counting; `None` for a permanent license.
    pub expires_at: Option<Timestamp>,
    /// Whether it is a trial (L6): an expired trial is refused as `trial_expired`.
    pub trial: bool,
}

impl License {
    /// Whether the license counts at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// A pool's settings that the seat rules read (API.md `PATCH /v1/pools/{pool}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSettings {
    /// S4: seconds without a heartbeat before a seat is freed.
    pub timeout_s: u32,
    /// S11: longest offline reservation, in days.
    pub offline_max_days: u32,
    /// W2: seconds without user activity after which a seat may be reclaimed for a waiter.
    pub idle_reclaim_s: Option<u32>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            timeout_s: 28_800,
            offline_max_days: 14,
            idle_reclaim_s: None,
        }
    }
}

impl PoolSettings {
    /// The heartbeat interval a client is told: a third of the timeout, 1 to 300 seconds.
    pub fn heartbeat_interval_s(&self) -> u32 {
        (self.timeout_s / 3).clamp(1, 300)
    }

    pub(crate) fn timeout_ms(&self) -> u64 {
        u64::from(self.timeout_s.max(1)) * 1_000
    }
}

/// Bounds of one table that are engine settings rather than pool settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLimits {
    /// W1: the longest waiting queue; past it a request is refused as `Throttled`.
    pub max_waiters: usize,
    /// How many removed seats are remembered so that their holders learn why (`seat_gone`).
    pub max_tombstones: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        TableLimits {
            max_waiters: 1_000,
            max_tombstones: STORED_TOMBSTONES,
        }
    }
}

/// A held seat as it is persisted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatRecord {
    /// The seat's id.
    pub id: SeatId,
    /// The holder.
    pub account: AccountId,
    /// The holder's device.
    pub device: DeviceId,
    /// The holder's platform.
    pub platform: Platform,
    /// Owner's or member's seat.
    pub policy: Policy,
    /// The original grant (an S2 restart does not change it).
    pub granted_at: Timestamp,
    /// The heartbeat deadline; `None` while the seat needs none (the owner's kept seat, an
    /// offline-file seat).
    pub deadline: Option<Timestamp>,
    /// The end of an offline reservation (S11).
    pub offline_until: Option<Timestamp>,
    /// The last heartbeat that reported user activity (W2).
    pub last_active: Timestamp,
    /// An offline-file seat (issue 16): taken for an air-gapped computer through a signed
    /// license file; it never times out and only W3, S10 and I3 end it. Absent in records
    /// written before it existed, which are ordinary seats.
    #[serde(default)]
    pub offline_file: bool,
}

/// Why a seat ended, as its holder hears it (`seat_gone` with `reason`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoneReason {
    /// No heartbeat within the timeout (S4).
    Expired,
    /// The holder closed it, logged out or freed its seats (S5, S6, S7).
    Released,
    /// The owner or an operator released it, the member was deleted, or it was reclaimed
    /// for a waiter while idle (W2, W3, I3).
    Revoked,
    /// The pool's capacity dropped below the seats in use (S10).
    CapacityReduced,
    /// The holder was blocked by the owner (S10).
    MemberBlocked,
}

impl GoneReason {
    /// The stable code of the API.
    pub fn code(self) -> &'static str {
        match self {
            GoneReason::Expired => "expired",
            GoneReason::Released => "released",
            GoneReason::Revoked => "revoked",
            GoneReason::CapacityReduced => "capacity_reduced",
            GoneReason::MemberBlocked => "member_blocked",
        }
    }
}

/// A removed seat, remembered so that a late heartbeat hears why it went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The removed seat.
    pub seat: SeatId,
    /// Who held it.
    pub account: AccountId,
    /// Why it went.
    pub reason: GoneReason,
    /// When it went.
    pub at: Timestamp,
}

/// W4 counts of one pool for one UTC hour, persisted at least once a minute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The start of the hour.
    pub hour: Timestamp,
    /// The most seats in use at once during the hour (capacity used, S9).
    pub peak_in_use: u32,
    /// The largest capacity during the hour.
    pub capacity: u32,
    /// New seats granted.
    pub grants: u32,
    /// Seats given back by their holders.
    pub releases: u32,
    /// Requests refused.
    pub refusals: u32,
    /// Seats freed by timeout.
    pub expirations: u32,
    /// Seats taken away (revoked, capacity reduced, member blocked).
    pub revocations: u32,
    /// Accounts that held a seat at some time during the hour, sorted. In a `Change`: only
    /// those first seen since the hour's previous record; a store adds them to the hour's
    /// set, and a snapshot carries the whole set.
    pub accounts: Vec<AccountId>,
    /// Accounts that held a seat at some time during the hour's UTC day, sorted, likewise:
    /// new ones in a `Change`, all of them so far in a snapshot. A day counts distinct
    /// accounts over the whole day from this set.
    pub day_accounts: Vec<AccountId>,
    /// The hour's grants and refusals one by one, in order, at most `EVENTS_PER_HOUR` (then
    /// only the counts grow). In a `Change` and in the live record: only those not handed
    /// out before; a store appends them to the hour's (issue 16: a pool's history).
    #[serde(default)]
    pub events: Vec<PoolEvent>,
}

/// The most grants and refusals a pool keeps one by one per hour (its history); past it,
/// only the hour's counts grow.
pub const EVENTS_PER_HOUR: u32 = 1_000;

/// One grant or refusal of a seat request, as a pool's history keeps it (issue 16).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolEvent {
    /// When.
    pub at: Timestamp,
    /// Who asked.
    pub account: AccountId,
    /// From which device (as stored: the service keeps only keyed hashes).
    pub device: DeviceId,
    /// On which platform.
    pub platform: Platform,
    /// What happened.
    pub kind: PoolEventKind,
}

/// What happened to a seat request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PoolEventKind {
    /// A new seat was granted.
    Granted {
        /// The seat.
        seat: SeatId,
    },
    /// The request was refused, with the API's code (`no_seat_available`, ...).
    Refused {
        /// The refusal's code (`Refusal::code`).
        code: String,
    },
}

/// One change of a pool's persisted state, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A new seat was granted.
    SeatGranted(SeatRecord),
    /// A held seat changed (deadline, kept, offline reservation).
    SeatUpdated(SeatRecord),
    /// A seat was removed; the tombstone says why.
    SeatRemoved(Tombstone),
    /// A member was blocked (S10, I3).
    MemberBlocked(AccountId),
    /// A member was unblocked (I3).
    MemberUnblocked(AccountId),
    /// A member was deleted from the pool (I3).
    MemberRemoved(AccountId),
    /// The usage counts of an hour so far (W4).
    Usage(UsageRecord),
    /// The pool's licenses now (L5): one was activated or changed.
    Licenses(Vec<License>),
    /// The pool's settings now.
    Settings(PoolSettings),
    /// The pool's trial now (L6): started, a day consumed, or ended (`None`).
    Trial(Option<TrialDays>),
}

/// L6: the active days of a trial pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialDays {
    /// Active days not yet consumed.
    pub days_left: u8,
    /// When the last day was consumed; `None` before the first seat request.
    pub last_day_at: Option<Timestamp>,
}

/// How many tombstones a stored pool keeps at least (the newest ones), so that a holder
/// learns why its seat went even after a restart. Matches the table's default bound.
pub const STORED_TOMBSTONES: usize = 100_000;

/// Everything needed to rebuild a pool's table after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSnapshot {
    /// The pool.
    pub pool: PoolId,
    /// The owner account (its seats follow the owner's rules, S5 and S9).
    pub owner: AccountId,
    /// The pool's licenses (L5).
    pub licenses: Vec<License>,
    /// The pool's settings.
    pub settings: PoolSettings,
    /// Seats held.
    pub seats: Vec<SeatRecord>,
    /// Blocked members.
    pub blocked: Vec<AccountId>,
    /// The next seat id to hand out: above every id the pool ever persisted.
    pub next_seat_id: u64,
    /// Recently removed seats.
    pub tombstones: Vec<Tombstone>,
    /// The usage counts of the latest hour persisted.
    pub usage: Option<UsageRecord>,
    /// The trial's active days (L6); `None` outside trial pools.
    #[serde(default)]
    pub trial: Option<TrialDays>,
}

impl PoolSnapshot {
    /// A pool with no seats yet.
    pub fn new(pool: PoolId, owner: AccountId, licenses: Vec<License>) -> Self {
        PoolSnapshot {
            pool,
            owner,
            licenses,
            settings: PoolSettings::default(),
            seats: Vec::new(),
            blocked: Vec::new(),
            next_seat_id: 1,
            tombstones: Vec::new(),
            usage: None,
            trial: None,
        }
    }

    /// What a store writes besides a new pool's header, as the changes that would have made
    /// it: its seats, blocked members, tombstones and usage counts.
    pub fn contents_as_changes(&self) -> Vec<Change> {
        let mut changes: Vec<Change> = self
            .seats
            .iter()
            .cloned()
            .map(Change::SeatGranted)
            .collect();
        changes.extend(self.blocked.iter().copied().map(Change::MemberBlocked));
        changes.extend(self.tombstones.iter().cloned().map(Change::SeatRemoved));
        changes.extend(self.usage.iter().cloned().map(Change::Usage));
        changes
    }

    /// Applies persisted changes in order, as a store does; the reference for every backend.
    pub fn apply(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::SeatGranted(rec) | Change::SeatUpdated(rec) => {
                    self.next_seat_id = self.next_seat_id.max(rec.id.0 + 1);
                    match self.seats.iter_mut().find(|s| s.id == rec.id) {
                        Some(slot) => *slot = rec.clone(),
                        None => self.seats.push(rec.clone()),
                    }
                }
                Change::SeatRemoved(tomb) => {
                    self.seats.retain(|s| s.id != tomb.seat);
                    self.tombstones.push(tomb.clone());
                    // Keep the newest tombstones only; trimming in halves keeps it O(1)
                    // amortised per removal.
                    if self.tombstones.len() >= 2 * STORED_TOMBSTONES {
                        self.tombstones.drain(..STORED_TOMBSTONES);
                    }
                }
                Change::MemberBlocked(account) => {
                    if !self.blocked.contains(account) {
                        self.blocked.push(*account);
                    }
                }
                Change::MemberUnblocked(account) | Change::MemberRemoved(account) => {
                    self.blocked.retain(|a| a != account);
                }
                Change::Usage(rec) => self.apply_usage(rec),
                Change::Licenses(licenses) => self.licenses = licenses.clone(),
                Change::Settings(settings) => self.settings = settings.clone(),
                Change::Trial(trial) => self.trial = trial.clone(),
            }
        }
    }
}

impl PoolSnapshot {
    /// Merges a usage record into the latest hour's counts and account sets.
    fn apply_usage(&mut self, rec: &UsageRecord) {
        if self.usage.as_ref().is_some_and(|old| old.hour > rec.hour) {
            return;
        }
        self.usage = Some(rec.merged_after(self.usage.as_ref()));
    }
}

impl UsageRecord {
    /// How a store merges this record (as a `Change` carries it) with what it holds:
    /// `before` is its record of the same hour, or else its latest earlier one. The hour's
    /// accounts are united with those of the same hour; the day's continue within the day;
    /// the hour's events are appended.
    pub fn merged_after(&self, before: Option<&UsageRecord>) -> UsageRecord {
        let mut merged = self.clone();
        if let Some(old) = before {
            if old.hour == self.hour {
                merged.accounts = union(&old.accounts, &self.accounts);
            }
            if old.hour.day_start() == self.hour.day_start() {
                merged.day_accounts = union(&old.day_accounts, &self.day_accounts);
            }
            if old.hour == self.hour {
                merged.events = old.events.clone();
                merged.events.extend(self.events.iter().cloned());
            }
        }
        merged
    }
}

/// The sorted union of two sorted account lists (how stores merge usage records).
pub fn union(a: &[AccountId], b: &[AccountId]) -> Vec<AccountId> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out.sort_unstable();
    out.dedup();
    out
}

/// A seat as its holder and the pool's owner see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    /// The seat's id.
    pub id: SeatId,
    /// The holder.
    pub account: AccountId,
    /// The holder's device.
    pub device: DeviceId,
    /// The holder's platform.
    pub platform: Platform,
    /// Owner's or member's seat.
    pub policy: Policy,
    /// The original grant.
    pub granted_at: Timestamp,
    /// The heartbeat deadline; `None` while the seat needs no heartbeat.
    pub expires_at: Option<Timestamp>,
    /// The end of the offline reservation, while one runs.
    pub offline_until: Option<Timestamp>,
    /// How often the client should send heartbeats.
    pub heartbeat_interval_s: u32,
    /// The latest expiry among the pool's live licenses; `None` when one is permanent.
    pub license_expires_at: Option<Timestamp>,
    /// L6: the trial's active days left; `None` outside trial pools.
    pub trial_days_left: Option<u8>,
    /// An offline-file seat (issue 16): needs no heartbeat and is kept on close, logout and
    /// "free up my seats"; only W3, S10 and I3 end it.
    pub offline_file: bool,
}

/// One of the account's seats on another device (S12's `own_seats_elsewhere`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSummary {
    /// The seat's id.
    pub id: SeatId,
    /// Its device.
    pub device: DeviceId,
    /// Its platform.
    pub platform: Platform,
    /// When it was granted.
    pub granted_at: Timestamp,
}

/// The details of a `no_seat_available` refusal (S12).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoSeatDetails {
    /// The pool's capacity.
    pub capacity: u32,
    /// Capacity in use.
    pub in_use: u32,
    /// The account's own seats on other devices, which "free up my seats" would release.
    pub own_seats_elsewhere: Vec<SeatSummary>,
    /// Where a waiting request stood when its wait ended; `None` when it did not wait.
    pub queue_position: Option<usize>,
}

/// Why a seat request was refused, with a stable code (S12).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Every seat is in use (and the wait, if any, ended).
    NoSeatAvailable(NoSeatDetails),
    /// The account has a web session open on another device (S9).
    WebSessionActiveElsewhere {
        /// The seat of that other web session.
        seat: SeatId,
    },
    /// The owner blocked this member (S10).
    MemberBlocked,
    /// The account is no longer a member of the pool (I3).
    NotAMember,
    /// The pool holds no license.
    NoLicense,
    /// Every license of the pool has expired.
    LicenseExpired,
    /// The pool's trial has expired (L6).
    TrialExpired,
    /// The waiting queue is full (W1); try again later.
    Throttled,
    /// An offline-file seat (issue 16) needs a pool of permanent licenses only: the pool is
    /// a trial pool, one of its live licenses has an expiry, or the platform is the web (a
    /// web session cannot live offline).
    OfflineNeedsPermanentLicense,
}

impl Refusal {
    /// The stable code of the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoSeatAvailable(_) => "no_seat_available",
            Refusal::WebSessionActiveElsewhere { .. } => "web_session_active_elsewhere",
            Refusal::MemberBlocked => "member_blocked",
            Refusal::NotAMember => "not_a_member",
            Refusal::NoLicense => "no_license",
            Refusal::LicenseExpired => "license_expired",
            Refusal::TrialExpired => "trial_expired",
            Refusal::Throttled => "throttled",
            Refusal::OfflineNeedsPermanentLicense => "offline_needs_permanent_license",
        }
    }
}

/// A request for a seat (S2): who, on which device and platform, and how long it may wait.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcquireRequest {
    /// The account asking.
    pub account: AccountId,
    /// Its device.
    pub device: DeviceId,
    /// Its platform.
    pub platform: Platform,
    /// W1: wait for a seat until this moment, under this waiter id; `None` for no wait.
    pub wait: Option<(WaiterId, Timestamp)>,
}

/// What a seat request got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcquireOutcome {
    /// A seat: new, or the same one again (`reused`, S2).
    Granted {
        /// The seat.
        seat: SeatView,
        /// Whether it was already held by this (account, device, platform).
        reused: bool,
    },
    /// No seat now; the request waits in the queue at this 1-based position (W1).
    Queued {
        /// The waiter, as the request named it.
        waiter: WaiterId,
        /// Its place in the queue, 1 for the head.
        position: usize,
    },
    /// Refused, with the reason and what would help.
    Refused(Refusal),
}

/// What closing the application did to its seat (S5, S11).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseOutcome {
    /// The seat was freed.
    Freed,
    /// The seat was kept (the owner's desktop seat, an offline reservation, an offline-file
    /// seat).
    Kept,
    /// The seat had already been released by its holder: a repeated close.
    AlreadyReleased,
}

/// Why an operation on one seat failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SeatError {
    /// No such seat for this account.
    #[error("no such seat")]
    NotFound,
    /// The seat went, for this reason.
    #[error("the seat is gone: {}", .0.code())]
    Gone(GoneReason),
    /// An offline reservation past the pool's limit or the licenses' expiry (S11).
    #[error("offline period too long; the latest allowed end is {max_until:?}")]
    OfflinePeriodTooLong {
        /// The latest end allowed now.
        max_until: Timestamp,
    },
    /// An offline reservation that ends before it starts.
    #[error("the offline period must end in the future")]
    OfflineUntilInPast,
    /// Web sessions cannot be reserved for offline use: they are freed on close (S5).
    #[error("web sessions cannot be reserved for offline use")]
    OfflineNotForWeb,
}

/// Why an operation on a member failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MemberError {
    /// The owner is not a member of its own pool and cannot be blocked or removed.
    #[error("the owner is not a member of its own pool")]
    IsOwner,
}

/// Something a parked waiter learns later, outside the operation that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A seat was handed to this waiter.
    WaiterGranted {
        /// The waiter.
        waiter: WaiterId,
        /// Its seat.
        seat: SeatView,
        /// Whether the seat was already held by the same (account, device, platform): a
        /// seat granted meanwhile to a twin request, not one granted for this waiter.
        reused: bool,
    },
    /// The waiter's wait ended without a seat, or it can no longer wait.
    WaiterRefused {
        /// The waiter.
        waiter: WaiterId,
        /// Why.
        refusal: Refusal,
    },
}

/// What `GET /v1/pools/{pool}` shows of the engine's side of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolDescription {
    /// Capacity, seats in use and queue.
    pub status: PoolStatus,
    /// The pool's settings.
    pub settings: PoolSettings,
    /// The trial's active days, in a trial pool (L6).
    pub trial: Option<TrialDays>,
}

/// A cheap summary of a pool for metrics, status pages and `GET /v1/pools/{pool}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStatus {
    /// Capacity now (L5).
    pub capacity: u32,
    /// Capacity in use (S9 counts the owner's desktops two to a seat).
    pub in_use: u32,
    /// Seats held (each device its own seat).
    pub seats: usize,
    /// Requests waiting (W1).
    pub queue_length: usize,
}
