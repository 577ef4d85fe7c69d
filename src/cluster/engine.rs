//! `Engine`: what the service layer calls to reach a pool's actor, wherever it runs. On one
//! node it is the `PoolRegistry`. With several nodes (`cluster.secret` set) each operation
//! runs where the pool's lease is: here when this node holds it or can take it, else
//! forwarded once to the owner over HTTP (`rpc`). Every operation is a `PoolCall` value, so
//! the local path and the forwarded path run the same `execute`.
//!
//! The seat rules are not here (they are in the engine crate); neither is the lease
//! bookkeeping (`leases`) nor the wire format of a forward (`rpc`).

use std::sync::Arc;
use std::time::Duration;

use seatbroker_actors::model::{
    AcquireOutcome, AcquireRequest, CloseOutcome, License, MemberError, PoolDescription,
    PoolSettings, PoolStatus, SeatError, SeatView, UsageRecord,
};
use seatbroker_actors::{
    AccountId, DeviceId, EngineError, Platform, PoolId, PoolRegistry, SeatId, Timestamp,
};
use serde::{Deserialize, Serialize};

use super::Cluster;

/// One operation on one pool, as a value: run here by `execute` or sent to the owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PoolCall {
    /// S2, S3, S9, W1: take a seat, waiting up to `wait_ms`.
    Acquire {
        /// Who asks, for which device and platform.
        req: AcquireRequest,
        /// How long the request may wait for a seat.
        wait_ms: Option<u64>,
    },
    /// Issue 16: take an offline-file seat for an air-gapped computer; never waits.
    TakeOfflineFile {
        /// Who asks.
        account: AccountId,
        /// The air-gapped computer.
        device: DeviceId,
        /// Its platform (the web is refused).
        platform: Platform,
    },
    /// S4, W2: a heartbeat.
    Heartbeat {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
        /// Whether the application is in use (idle reclaim).
        active: Option<bool>,
    },
    /// S5: the application closed.
    Close {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
    },
    /// S6: log out on that device.
    Logout {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
    },
    /// S7: free up every seat of an account in this pool.
    ReleaseAll {
        /// The account.
        account: AccountId,
    },
    /// S11: reserve a seat for offline use.
    ReserveOffline {
        /// The seat.
        seat: SeatId,
        /// Its holder.
        account: AccountId,
        /// The end of the reservation.
        until: Timestamp,
    },
    /// W3: the owner or an operator releases a seat.
    AdminRelease {
        /// The seat.
        seat: SeatId,
    },
    /// S10, I3: block a member.
    Block {
        /// The member.
        account: AccountId,
    },
    /// I3: unblock a member.
    Unblock {
        /// The member.
        account: AccountId,
    },
    /// I3: delete a member.
    RemoveMember {
        /// The member.
        account: AccountId,
    },
    /// L5, S10: the pool's licenses changed.
    SetLicenses {
        /// Every license of the pool now.
        licenses: Vec<License>,
    },
    /// The pool's settings changed.
    UpdateSettings {
        /// The new settings.
        settings: PoolSettings,
    },
    /// Capacity, seats in use and queue length.
    Status,
    /// L6: make the pool a trial pool.
    StartTrial {
        /// Its active days.
        days: u8,
    },
    /// L5: end the pool's trial.
    EndTrial,
    /// Status and settings.
    Describe,
    /// W4: the counts of the hour being counted.
    UsageNow,
    /// The pool's seats, or only one account's.
    Seats {
        /// Only this account's seats, when set.
        account: Option<AccountId>,
    },
}

/// What a `PoolCall` answered, one variant per kind of answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PoolAnswer {
    /// `Acquire`, `TakeOfflineFile`.
    Acquired(AcquireOutcome),
    /// `Heartbeat`, `ReserveOffline`.
    Seat(Result<SeatView, SeatError>),
    /// `Close`, `Logout`.
    Closed(Result<CloseOutcome, SeatError>),
    /// `ReleaseAll`.
    Released(Vec<SeatId>),
    /// `AdminRelease`.
    AdminReleased(Result<(), SeatError>),
    /// `Block`, `RemoveMember`: the seats it freed.
    MemberSeats(Result<usize, MemberError>),
    /// `Unblock`.
    Unblocked(Result<(), MemberError>),
    /// `SetLicenses`, `UpdateSettings`, `StartTrial`, `EndTrial`.
    Done,
    /// `Status`.
    Status(PoolStatus),
    /// `Describe`.
    Described(PoolDescription),
    /// `UsageNow`.
    Usage(UsageRecord),
    /// `Seats`.
    Seats(Vec<SeatView>),
}

/// Runs `call` on this node's actor of `pool` (starting it, and so taking the pool's lease,
/// when needed).
pub async fn execute(
    registry: &PoolRegistry,
    pool: PoolId,
    call: PoolCall,
) -> Result<PoolAnswer, EngineError> {
    Ok(match call {
        PoolCall::Acquire { req, wait_ms } => PoolAnswer::Acquired(
            registry
                .acquire(pool, req, wait_ms.map(Duration::from_millis))
                .await?,
        ),
        PoolCall::TakeOfflineFile {
            account,
            device,
            platform,
        } => PoolAnswer::Acquired(
            registry
                .take_offline_file(pool, account, device, platform)
                .await?,
        ),
        PoolCall::Heartbeat {
            seat,
            account,
            active,
        } => PoolAnswer::Seat(registry.heartbeat(pool, seat, account, active).await?),
        PoolCall::Close { seat, account } => {
            PoolAnswer::Closed(registry.close(pool, seat, account).await?)
        }
        PoolCall::Logout { seat, account } => {
            PoolAnswer::Closed(registry.logout(pool, seat, account).await?)
        }
        PoolCall::ReleaseAll { account } => {
            PoolAnswer::Released(registry.release_all(pool, account).await?)
        }
        PoolCall::ReserveOffline {
            seat,
            account,
            until,
        } => PoolAnswer::Seat(registry.reserve_offline(pool, seat, account, until).await?),
        PoolCall::AdminRelease { seat } => {
            PoolAnswer::AdminReleased(registry.admin_release(pool, seat).await?)
        }
        PoolCall::Block { account } => {
            PoolAnswer::MemberSeats(registry.block(pool, account).await?)
        }
        PoolCall::Unblock { account } => {
            PoolAnswer::Unblocked(registry.unblock(pool, account).await?)
        }
        PoolCall::RemoveMember { account } => {
            PoolAnswer::MemberSeats(registry.remove_member(pool, account).await?)
        }
        PoolCall::SetLicenses { licenses } => {
            registry.set_licenses(pool, licenses).await?;
            PoolAnswer::Done
        }
        PoolCall::UpdateSettings { settings } => {
            registry.update_settings(pool, settings).await?;
            PoolAnswer::Done
        }
        PoolCall::Status => PoolAnswer::Status(registry.status(pool).await?),
        PoolCall::StartTrial { days } => {
            registry.start_trial(pool, days).await?;
            PoolAnswer::Done
        }
        PoolCall::EndTrial => {
            registry.end_trial(pool).await?;
            PoolAnswer::Done
        }
        PoolCall::Describe => PoolAnswer::Described(registry.describe(pool).await?),
        PoolCall::UsageNow => PoolAnswer::Usage(registry.usage_now(pool).await?),
        PoolCall::Seats { account } => PoolAnswer::Seats(registry.seats(pool, account).await?),
    })
}

/// The pools' engine as the service sees it: this node's registry, and the cluster when
/// there are several nodes.
#[derive(Clone)]
pub struct Engine {
    registry: PoolRegistry,
    cluster: Option<Arc<Cluster>>,
}

/// An answer of the wrong kind: a peer running other code. Never expected; answered 503.
fn mismatch(call: &'static str) -> EngineError {
    tracing::error!(call, "a pool call got an answer of another kind");
    EngineError::PoolUnavailable
}

impl Engine {
    /// The engine of a single node, or of a node of `cluster`.
    pub fn new(registry: PoolRegistry, cluster: Option<Arc<Cluster>>) -> Self {
        Engine { registry, cluster }
    }

    /// This node's registry.
    pub fn registry(&self) -> &PoolRegistry {
        &self.registry
    }

    /// The cluster this node belongs to, with several nodes.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Runs `call` where the pool is owned.
    async fn dispatch(&self, pool: PoolId, call: PoolCall) -> Result<PoolAnswer, EngineError> {
        match &self.cluster {
            None => execute(&self.registry, pool, call).await,
            Some(cluster) => cluster.dispatch(&self.registry, pool, call).await,
        }
    }

    /// S2, S3, S9, W1: takes a seat, waiting up to `wait` for one.
    pub async fn acquire(
        &self,
        pool: PoolId,
        req: AcquireRequest,
        wait: Option<Duration>,
    ) -> Result<AcquireOutcome, EngineError> {
        let wait_ms = wait.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX));
        match self
            .dispatch(pool, PoolCall::Acquire { req, wait_ms })
            .await?
        {
            PoolAnswer::Acquired(outcome) => Ok(outcome),
            _ => Err(mismatch("acquire")),
        }
    }

    /// Issue 16: takes an offline-file seat for an air-gapped computer (or makes the seat the
    /// same account, device and platform holds one); never waits in the queue.
    pub async fn take_offline_file(
        &self,
        pool: PoolId,
        account: AccountId,
        device: DeviceId,
        platform: Platform,
    ) -> Result<AcquireOutcome, EngineError> {
        let call = PoolCall::TakeOfflineFile {
            account,
            device,
            platform,
        };
        match self.dispatch(pool, call).await? {
            PoolAnswer::Acquired(outcome) => Ok(outcome),
            _ => Err(mismatch("take_offline_file")),
        }
    }

    /// S4, W2: a heartbeat.
    pub async fn heartbeat(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
        active: Option<bool>,
    ) -> Result<Result<SeatView, SeatError>, EngineError> {
        let call = PoolCall::Heartbeat {
            seat,
            account,
            active,
        };
        match self.dispatch(pool, call).await? {
            PoolAnswer::Seat(r) => Ok(r),
            _ => Err(mismatch("heartbeat")),
        }
    }

    /// S5: the application closed.
    pub async fn close(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
    ) -> Result<Result<CloseOutcome, SeatError>, EngineError> {
        match self
            .dispatch(pool, PoolCall::Close { seat, account })
            .await?
        {
            PoolAnswer::Closed(r) => Ok(r),
            _ => Err(mismatch("close")),
        }
    }

    /// S6: log out on that device.
    pub async fn logout(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
    ) -> Result<Result<CloseOutcome, SeatError>, EngineError> {
        match self
            .dispatch(pool, PoolCall::Logout { seat, account })
            .await?
        {
            PoolAnswer::Closed(r) => Ok(r),
            _ => Err(mismatch("logout")),
        }
    }

    /// S7: free up every seat of an account in this pool.
    pub async fn release_all(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Vec<SeatId>, EngineError> {
        match self
            .dispatch(pool, PoolCall::ReleaseAll { account })
            .await?
        {
            PoolAnswer::Released(seats) => Ok(seats),
            _ => Err(mismatch("release_all")),
        }
    }

    /// S11: reserve a seat for offline use until `until`.
    pub async fn reserve_offline(
        &self,
        pool: PoolId,
        seat: SeatId,
        account: AccountId,
        until: Timestamp,
    ) -> Result<Result<SeatView, SeatError>, EngineError> {
        let call = PoolCall::ReserveOffline {
            seat,
            account,
            until,
        };
        match self.dispatch(pool, call).await? {
            PoolAnswer::Seat(r) => Ok(r),
            _ => Err(mismatch("reserve_offline")),
        }
    }

    /// W3: the owner or an operator releases a seat.
    pub async fn admin_release(
        &self,
        pool: PoolId,
        seat: SeatId,
    ) -> Result<Result<(), SeatError>, EngineError> {
        match self.dispatch(pool, PoolCall::AdminRelease { seat }).await? {
            PoolAnswer::AdminReleased(r) => Ok(r),
            _ => Err(mismatch("admin_release")),
        }
    }

    /// S10, I3: block a member.
    pub async fn block(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<usize, MemberError>, EngineError> {
        match self.dispatch(pool, PoolCall::Block { account }).await? {
            PoolAnswer::MemberSeats(r) => Ok(r),
            _ => Err(mismatch("block")),
        }
    }

    /// I3: unblock a member.
    pub async fn unblock(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<(), MemberError>, EngineError> {
        match self.dispatch(pool, PoolCall::Unblock { account }).await? {
            PoolAnswer::Unblocked(r) => Ok(r),
            _ => Err(mismatch("unblock")),
        }
    }

    /// I3: delete a member.
    pub async fn remove_member(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> Result<Result<usize, MemberError>, EngineError> {
        match self
            .dispatch(pool, PoolCall::RemoveMember { account })
            .await?
        {
            PoolAnswer::MemberSeats(r) => Ok(r),
            _ => Err(mismatch("remove_member")),
        }
    }

    /// L5, S10: tell the pool its licenses changed.
    pub async fn set_licenses(
        &self,
        pool: PoolId,
        licenses: Vec<License>,
    ) -> Result<(), EngineError> {
        match self
            .dispatch(pool, PoolCall::SetLicenses { licenses })
            .await?
        {
            PoolAnswer::Done => Ok(()),
            _ => Err(mismatch("set_licenses")),
        }
    }

    /// Tell the pool its settings changed.
    pub async fn update_settings(
        &self,
        pool: PoolId,
        settings: PoolSettings,
    ) -> Result<(), EngineError> {
        match self
            .dispatch(pool, PoolCall::UpdateSettings { settings })
            .await?
        {
            PoolAnswer::Done => Ok(()),
            _ => Err(mismatch("update_settings")),
        }
    }

    /// Capacity, seats in use and queue length, as of now.
    pub async fn status(&self, pool: PoolId) -> Result<PoolStatus, EngineError> {
        match self.dispatch(pool, PoolCall::Status).await? {
            PoolAnswer::Status(s) => Ok(s),
            _ => Err(mismatch("status")),
        }
    }

    /// L6: makes the pool a trial pool with `days` active days.
    pub async fn start_trial(&self, pool: PoolId, days: u8) -> Result<(), EngineError> {
        match self.dispatch(pool, PoolCall::StartTrial { days }).await? {
            PoolAnswer::Done => Ok(()),
            _ => Err(mismatch("start_trial")),
        }
    }

    /// L5: ends the pool's trial (a regular license was activated).
    pub async fn end_trial(&self, pool: PoolId) -> Result<(), EngineError> {
        match self.dispatch(pool, PoolCall::EndTrial).await? {
            PoolAnswer::Done => Ok(()),
            _ => Err(mismatch("end_trial")),
        }
    }

    /// Status and settings, as of now.
    pub async fn describe(&self, pool: PoolId) -> Result<PoolDescription, EngineError> {
        match self.dispatch(pool, PoolCall::Describe).await? {
            PoolAnswer::Described(d) => Ok(d),
            _ => Err(mismatch("describe")),
        }
    }

    /// W4: the counts of the hour being counted.
    pub async fn usage_now(&self, pool: PoolId) -> Result<UsageRecord, EngineError> {
        match self.dispatch(pool, PoolCall::UsageNow).await? {
            PoolAnswer::Usage(u) => Ok(u),
            _ => Err(mismatch("usage_now")),
        }
    }

    /// The pool's seats, or only `account`'s.
    pub async fn seats(
        &self,
        pool: PoolId,
        account: Option<AccountId>,
    ) -> Result<Vec<SeatView>, EngineError> {
        match self.dispatch(pool, PoolCall::Seats { account }).await? {
            PoolAnswer::Seats(seats) => Ok(seats),
            _ => Err(mismatch("seats")),
        }
    }
}
