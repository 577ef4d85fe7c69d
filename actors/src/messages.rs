//! The messages a `PoolActor` answers, one per pool operation, each carrying the `Reply` its
//! answer goes to. Plain data: the actor's handlers are in `actor`, the typed async method
//! that sends each message is in `registry`. `CancelWaiter`, `Drain` and `Stop` are the
//! engine's own (a waiter gone, shutdown); `Poison`, `Stall` and `WhichThread` exist in tests
//! only.

#[cfg(test)]
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::error::EngineError;
use crate::ids::{AccountId, DeviceId, Platform, SeatId, WaiterId};
use crate::model::{
    AcquireOutcome, AcquireRequest, CloseOutcome, License, MemberError, PoolSettings, PoolStatus,
    SeatError, SeatView,
};
use crate::time::Timestamp;

/// Where an operation's answer goes.
pub type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

macro_rules! pool_message {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? } -> $out:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)*
            /// Where the answer goes.
            pub reply: Reply<$out>,
        }

        impl Message for $name {
            type Result = ();
        }
    };
}

pool_message!(
    /// S2, W1: take a seat, waiting for one when the request allows.
    Acquire {
        /// The request.
        req: AcquireRequest,
    } -> AcquireOutcome
);
pool_message!(
    /// Issue 16: take an offline-file seat for an air-gapped computer; never waits.
    TakeOfflineFile {
        /// The account asking.
        account: AccountId,
        /// The air-gapped computer.
        device: DeviceId,
        /// Its platform (never the web).
        platform: Platform,
    } -> AcquireOutcome
);
pool_message!(
    /// S4, W2: keep a seat alive.
    Heartbeat {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
        /// Whether the user was active.
        active: Option<bool>,
    } -> Result<SeatView, SeatError>
);
pool_message!(
    /// S5: the application closed.
    Close {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
    } -> Result<CloseOutcome, SeatError>
);
pool_message!(
    /// S6: log out on that device.
    Logout {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
    } -> Result<CloseOutcome, SeatError>
);
pool_message!(
    /// S7: free up every seat of an account in this pool.
    ReleaseAll {
        /// The account.
        account: AccountId,
    } -> Vec<SeatId>
);
pool_message!(
    /// S11: reserve a seat for offline use.
    ReserveOffline {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
        /// The end of the reservation.
        until: Timestamp,
    } -> Result<SeatView, SeatError>
);
pool_message!(
    /// W3: the owner or an operator releases a seat.
    AdminRelease {
        /// The seat.
        seat: SeatId,
    } -> Result<(), SeatError>
);
pool_message!(
    /// S10, I3: block a member.
    Block {
        /// The member.
        account: AccountId,
    } -> Result<usize, MemberError>
);
pool_message!(
    /// I3: unblock a member.
    Unblock {
        /// The member.
        account: AccountId,
    } -> Result<(), MemberError>
);
pool_message!(
    /// I3: delete a member.
    RemoveMember {
        /// The member.
        account: AccountId,
    } -> Result<usize, MemberError>
);
pool_message!(
    /// L5, S10: the pool's licenses changed (the service persisted them first).
    SetLicenses {
        /// Every license of the pool.
        licenses: Vec<License>,
    } -> ()
);
pool_message!(
    /// The pool's settings changed (the service persisted them first).
    UpdateSettings {
        /// The new settings.
        settings: PoolSettings,
    } -> ()
);
pool_message!(
    /// Capacity, seats in use and queue length.
    GetStatus {} -> PoolStatus
);
pool_message!(
    /// L6: makes the pool a trial pool with this many active days.
    StartTrial {
        /// Active days of the trial.
        days: u8,
    } -> ()
);
pool_message!(
    /// L5: a regular license ended the pool's trial.
    EndTrial {} -> ()
);
pool_message!(
    /// Status and settings, as of now.
    Describe {} -> crate::model::PoolDescription
);
pool_message!(
    /// W4: the counts of the hour being counted, as of now; answered once the records of
    /// the hours that ended meanwhile are in the store.
    UsageNow {} -> crate::model::UsageRecord
);
pool_message!(
    /// The pool's seats, or one account's.
    ListSeats {
        /// Only this account's seats, when set.
        account: Option<AccountId>,
    } -> Vec<SeatView>
);

/// W1: a waiting client went away; its place in the queue is given up. Not counted against
/// the mailbox bound: it must get through when the pool is busiest.
#[derive(Debug)]
pub struct CancelWaiter {
    /// The waiter.
    pub waiter: WaiterId,
}

impl Message for CancelWaiter {
    type Result = ();
}

/// Shutdown: answer every waiter `ShuttingDown`, refuse new waits, and answer once every
/// pending change is committed.
#[derive(Debug)]
pub struct Drain {
    /// Told when nothing is left to commit.
    pub done: oneshot::Sender<()>,
}

impl Message for Drain {
    type Result = ();
}

/// The node lost the pool's lease to another node: the actor answers what waits with
/// `PoolOwnedElsewhere`, drops what it had not committed (a newer owner fences it off
/// anyway) and stops.
#[derive(Debug)]
pub struct Evict;

impl Message for Evict {
    type Result = ();
}

/// Stops the actor at shutdown: it refuses new work (`ShuttingDown`), commits what is
/// pending, then stops and lets go of the pool and the store.
#[derive(Debug)]
pub struct Stop;

impl Message for Stop {
    type Result = ();
}

/// Makes the next table call panic, before or after it changed the table: how tests prove a
/// panic stays inside its pool and leaves nothing behind.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Poison {
    pub(crate) after_change: bool,
}

#[cfg(test)]
impl Message for Poison {
    type Result = ();
}

/// Blocks the actor's thread for a while: how tests fill a mailbox deterministically.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Stall(pub(crate) Duration);

#[cfg(test)]
impl Message for Stall {
    type Result = ();
}

/// Answers the thread the actor runs on: how tests see where the registry placed it.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct WhichThread(pub(crate) oneshot::Sender<std::thread::ThreadId>);

#[cfg(test)]
impl Message for WhichThread {
    type Result = ();
}
