//! `PoolActor`: the actix actor that owns one pool's `SeatTable`. Only this actor mutates the
//! table, so every change to a pool is serialised here without locks, while pools run in
//! parallel on their arbiters. The actor decides no rule: it reads the clock, calls the table,
//! hands the table's changes to the committer, and answers once they are durable.
//!
//! Durable before acknowledged: an answer that depends on a change (a grant, a release, an
//! offline reservation, a member blocked) waits for the commit carrying every change made
//! before it. Heartbeats, refusals and reads answer at once. A failed commit undoes its
//! grants (their callers hear `StoreUnavailable`) and keeps its releases, which go first into
//! the next commit.
//!
//! One timer per actor, set for the table's next deadline. A panic inside the table is caught
//! here: the request hears `PoolUnavailable`, the pool is reloaded from the store after its
//! commit in flight lands, and other pools never notice.
//!
//! The messages it answers are in `messages`; what it shares with the registry (store,
//! committer, clock, settings, counters) is `Env`, in `env`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use hashbrown::HashMap;
use tokio::sync::oneshot;

use crate::committer::CommitResult;
use crate::env::Env;
use crate::error::EngineError;
use crate::ids::{AccountId, PoolId, SeatId, WaiterId};
#[cfg(test)]
use crate::messages::{Poison, Stall, WhichThread};
use crate::model::{AcquireOutcome, Change, Notice, PoolSnapshot, PoolStatus};
use crate::store::StoreError;
use crate::table::SeatTable;
use crate::time::Timestamp;

// The messages were defined here first; they keep their paths under `actor`.
pub use crate::messages::{
    Acquire, AdminRelease, Block, CancelWaiter, Close, Describe, Drain, EndTrial, Evict, GetStatus,
    Heartbeat, ListSeats, Logout, ReleaseAll, RemoveMember, Reply, ReserveOffline, SetLicenses,
    StartTrial, Stop, TakeOfflineFile, Unblock, UpdateSettings, UsageNow,
};

/// How long after a failed commit the actor tries again by itself.
const COMMIT_RETRY_DELAY: Duration = Duration::from_millis(50);
/// How long after a failed load (of a reload) the actor tries again.
const RELOAD_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Capacity, seats and queue of a pool, published after every operation so that metrics and
/// status pages read them without a message round trip.
#[derive(Debug, Default)]
pub struct StatusCell {
    capacity: AtomicU32,
    in_use: AtomicU32,
    seats: AtomicU64,
    queue_length: AtomicU32,
}

impl StatusCell {
    /// The last published status.
    pub fn read(&self) -> PoolStatus {
        PoolStatus {
            capacity: self.capacity.load(Ordering::Relaxed),
            in_use: self.in_use.load(Ordering::Relaxed),
            seats: self.seats.load(Ordering::Relaxed) as usize,
            queue_length: self.queue_length.load(Ordering::Relaxed) as usize,
        }
    }

    fn publish(&self, s: PoolStatus) {
        self.capacity.store(s.capacity, Ordering::Relaxed);
        self.in_use.store(s.in_use, Ordering::Relaxed);
        self.seats.store(s.seats as u64, Ordering::Relaxed);
        self.queue_length
            .store(s.queue_length as u32, Ordering::Relaxed);
    }
}

/// What an actor shares with the handle the registry gives out.
#[derive(Debug, Clone)]
pub(crate) struct ActorShared {
    pub(crate) mailbox: Arc<AtomicUsize>,
    pub(crate) status: Arc<StatusCell>,
    pub(crate) generation: u64,
}

/// An answer waiting for a commit.
struct Ack {
    /// The seat the answer hands out; failed with the commit that undoes its grant.
    seat: Option<SeatId>,
    send: Box<dyn FnOnce(Result<(), EngineError>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Serving,
    /// The table panicked; the pool is reloaded from the store.
    Reloading,
    /// Another node took the pool; every request hears `PoolOwnedElsewhere`.
    Lost,
    /// Stopped while idle; the registry starts a fresh actor.
    Retired,
}

/// The actor that owns one pool's `SeatTable`: see the module documentation.
pub struct PoolActor {
    pool: PoolId,
    table: SeatTable,
    env: Arc<Env>,
    shared: ActorShared,
    state: State,
    pending_changes: Vec<Change>,
    pending_acks: Vec<Ack>,
    in_flight: Option<Vec<Ack>>,
    waiters: HashMap<WaiterId, Reply<AcquireOutcome>>,
    timer: Option<(Timestamp, SpawnHandle)>,
    idle_check: Option<SpawnHandle>,
    retry_scheduled: bool,
    draining: bool,
    drained: Vec<oneshot::Sender<()>>,
    /// Told to stop: refuses new work and stops once nothing is left to commit.
    stopping: bool,
    #[cfg(test)]
    poisoned: Option<bool>,
}

impl PoolActor {
    pub(crate) fn new(snapshot: PoolSnapshot, env: Arc<Env>, shared: ActorShared) -> Self {
        let now = env.clock.now();
        let table = SeatTable::restore(snapshot, env.config.limits.clone(), now);
        PoolActor {
            pool: table.pool(),
            table,
            env,
            shared,
            state: State::Serving,
            pending_changes: Vec::new(),
            pending_acks: Vec::new(),
            in_flight: None,
            waiters: HashMap::new(),
            timer: None,
            idle_check: None,
            retry_scheduled: false,
            draining: false,
            drained: Vec::new(),
            stopping: false,
            #[cfg(test)]
            poisoned: None,
        }
    }

    /// Counts the message out of the mailbox bound and says whether it can be served.
    fn enter(&mut self) -> Result<(), EngineError> {
        self.shared.mailbox.fetch_sub(1, Ordering::AcqRel);
        match self.state {
            State::Serving if self.stopping => Err(EngineError::ShuttingDown),
            State::Serving => Ok(()),
            State::Reloading => Err(EngineError::PoolUnavailable),
            State::Lost => Err(EngineError::PoolOwnedElsewhere),
            State::Retired => Err(EngineError::Retired),
        }
    }

    /// Calls the table, catching a panic at this boundary.
    fn run<R>(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut SeatTable, Timestamp) -> R,
    ) -> Result<R, EngineError> {
        let now = self.env.clock.now();
        #[cfg(test)]
        let poisoned = std::mem::take(&mut self.poisoned);
        let table = &mut self.table;
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            #[cfg(test)]
            if poisoned == Some(false) {
                panic!("poisoned seat table (test)");
            }
            let r = f(table, now);
            #[cfg(test)]
            if poisoned == Some(true) {
                panic!("poisoned seat table after a change (test)");
            }
            r
        }));
        match result {
            Ok(r) => Ok(r),
            Err(_) => {
                self.env.stats.table_panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(pool = %self.pool, "seat table panicked; reloading the pool");
                self.start_reload(ctx);
                Err(EngineError::PoolUnavailable)
            }
        }
    }

    /// Moves the table's changes to the pending commit and tells waiters their news. Does
    /// nothing unless the pool is serving: a table that panicked is never read again.
    fn collect(&mut self, ctx: &mut Context<Self>) {
        while self.state == State::Serving {
            let changes = self.table.take_changes();
            self.env.stats.seats.count(&changes);
            self.pending_changes.extend(changes);
            let notices = self.table.take_notices();
            if notices.is_empty() {
                return;
            }
            // Seats granted for waiters whose clients left; a twin request (same account,
            // device and platform) served later in the same batch takes such a seat over.
            let mut unclaimed: Vec<(SeatId, AccountId)> = Vec::new();
            for notice in notices {
                match notice {
                    Notice::WaiterGranted {
                        waiter,
                        seat,
                        reused,
                    } => match self.waiters.remove(&waiter) {
                        Some(reply) if !reply.is_closed() => {
                            unclaimed.retain(|(id, _)| *id != seat.id);
                            let id = seat.id;
                            let outcome = AcquireOutcome::Granted {
                                seat,
                                reused: false,
                            };
                            self.ack(reply, Ok(outcome), Some(id));
                        }
                        // A seat that existed before is someone's; leave it alone.
                        _ if reused => {}
                        _ => unclaimed.push((seat.id, seat.account)),
                    },
                    Notice::WaiterRefused { waiter, refusal } => {
                        if let Some(reply) = self.waiters.remove(&waiter) {
                            let _ = reply.send(Ok(AcquireOutcome::Refused(refusal)));
                        }
                    }
                }
            }
            for (id, account) in unclaimed {
                // Nobody will use it: give it back so the queue moves on.
                let _ = self.run(ctx, |t, now| t.logout(id, account, now));
            }
        }
    }

    /// Gives up the places of waiters whose clients left, before the queue is served.
    fn prune_departed(&mut self, ctx: &mut Context<Self>) {
        if self.waiters.is_empty() {
            return;
        }
        let departed: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, reply)| reply.is_closed())
            .map(|(w, _)| *w)
            .collect();
        for waiter in departed {
            self.waiters.remove(&waiter);
            let _ = self.run(ctx, |t, now| t.cancel_waiter(waiter, now));
        }
    }

    /// Answers once every change made so far is durable (at once when none is pending).
    fn ack<T: 'static>(
        &mut self,
        reply: Reply<T>,
        value: Result<T, EngineError>,
        seat: Option<SeatId>,
    ) {
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let send: Box<dyn FnOnce(Result<(), EngineError>)> = Box::new(move |r| {
            let _ = reply.send(r.map(|()| value));
        });
        let ack = Ack { seat, send };
        if !self.pending_changes.is_empty() {
            self.pending_acks.push(ack);
        } else if let Some(in_flight) = self.in_flight.as_mut() {
            in_flight.push(ack);
        } else {
            (ack.send)(Ok(()));
        }
    }

    /// After every operation: commit what is pending, set the timer, publish the status.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        self.flush(ctx);
        self.reschedule(ctx);
        self.shared.status.publish(self.table.status());
        self.check_drained();
        self.check_stopping(ctx);
        self.check_idle(ctx);
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.state != State::Serving
            || self.in_flight.is_some()
            || self.retry_scheduled
            || self.pending_changes.is_empty()
        {
            return;
        }
        let changes = std::mem::take(&mut self.pending_changes);
        self.in_flight = Some(std::mem::take(&mut self.pending_acks));
        let done = self.env.committer.submit(self.pool, changes);
        ctx.spawn(
            done.into_actor(self)
                .map(|result, act, ctx| act.commit_done(result.ok(), ctx)),
        );
    }

    fn commit_done(&mut self, done: Option<CommitResult>, ctx: &mut Context<Self>) {
        let acks = self.in_flight.take().unwrap_or_default();
        let Some(CommitResult { changes, result }) = done else {
            // The changes went with the committer: nothing is known of them, so the store's
            // state becomes the truth again.
            acks.into_iter()
                .for_each(|a| (a.send)(Err(EngineError::StoreUnavailable)));
            tracing::error!(pool = %self.pool, "the committer is gone; reloading the pool");
            self.start_reload(ctx);
            return;
        };
        match result {
            Ok(()) => acks.into_iter().for_each(|a| (a.send)(Ok(()))),
            Err(StoreError::PoolOwnedElsewhere(_)) => {
                acks.into_iter()
                    .for_each(|a| (a.send)(Err(EngineError::PoolOwnedElsewhere)));
                self.lose(ctx);
                return;
            }
            Err(err) => {
                tracing::warn!(pool = %self.pool, %err, "commit failed; its grants are undone");
                acks.into_iter()
                    .for_each(|a| (a.send)(Err(EngineError::StoreUnavailable)));
                if self.state == State::Serving {
                    self.undo(changes, ctx);
                }
                self.retry_scheduled = true;
                ctx.run_later(COMMIT_RETRY_DELAY, |act, ctx| {
                    act.retry_scheduled = false;
                    act.settle(ctx);
                });
            }
        }
        if self.state == State::Reloading {
            self.reload(ctx);
            return;
        }
        self.settle(ctx);
    }

    /// Undoes a failed commit's grants; its other changes go first into the next commit.
    fn undo(&mut self, failed: Vec<Change>, ctx: &mut Context<Self>) {
        let mut later = std::mem::take(&mut self.pending_changes);
        let undone = match self.run(ctx, |t, _| {
            let undone = t.rollback(failed, &mut later);
            (undone, later)
        }) {
            Ok((undone, later)) => {
                self.pending_changes = later;
                undone
            }
            Err(_) => return,
        };
        if !undone.is_empty() {
            let (lost, kept): (Vec<Ack>, Vec<Ack>) = std::mem::take(&mut self.pending_acks)
                .into_iter()
                .partition(|a| a.seat.is_some_and(|s| undone.contains(&s)));
            self.pending_acks = kept;
            lost.into_iter()
                .for_each(|a| (a.send)(Err(EngineError::StoreUnavailable)));
        }
        self.collect(ctx);
    }

    fn reschedule(&mut self, ctx: &mut Context<Self>) {
        let next = match self.state {
            State::Serving => self.table.next_deadline(),
            _ => None,
        };
        if next == self.timer.as_ref().map(|(at, _)| *at) {
            return;
        }
        if let Some((_, handle)) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if let Some(at) = next {
            let delay = at.since(self.env.clock.now());
            let handle = ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                if act.state == State::Serving {
                    let _ = act.run(ctx, |t, now| t.expire_due(now));
                    act.collect(ctx);
                }
                act.settle(ctx);
            });
            self.timer = Some((at, handle));
        }
    }

    /// Stops the actor once it has held nothing for the configured idle time.
    fn check_idle(&mut self, ctx: &mut Context<Self>) {
        let idle = self.state == State::Serving
            && self.table.is_idle()
            && self.pending_changes.is_empty()
            && self.in_flight.is_none()
            && self.waiters.is_empty();
        if !idle {
            if let Some(handle) = self.idle_check.take() {
                ctx.cancel_future(handle);
            }
            return;
        }
        if self.idle_check.is_some() {
            return;
        }
        let after = self.env.config.idle_stop_after;
        self.idle_check = Some(ctx.run_later(after, |act, ctx| {
            act.idle_check = None;
            let still_idle = act.state == State::Serving
                && act.table.is_idle()
                && act.in_flight.is_none()
                && act.pending_changes.is_empty()
                && act.waiters.is_empty()
                && act.shared.mailbox.load(Ordering::Acquire) == 0;
            if still_idle {
                act.state = State::Retired;
                let generation = act.shared.generation;
                act.env.forget(act.pool, generation);
                ctx.stop();
            } else {
                act.check_idle(ctx);
            }
        }));
    }

    fn check_drained(&mut self) {
        if self.pending_changes.is_empty() && self.in_flight.is_none() {
            for done in self.drained.drain(..) {
                let _ = done.send(());
            }
        }
    }

    /// Stops a stopping actor once its last commit is done (or it no longer serves); its
    /// `stopped` answers whatever still waits.
    fn check_stopping(&mut self, ctx: &mut Context<Self>) {
        let settled = self.pending_changes.is_empty() && self.in_flight.is_none();
        if self.stopping && (settled || self.state != State::Serving) {
            self.state = State::Retired;
            ctx.stop();
        }
    }

    /// Shutdown: the usage counts not yet recorded go with the next commit (W4).
    fn flush_usage(&mut self, ctx: &mut Context<Self>) {
        if self.state == State::Serving {
            let _ = self.run(ctx, |t, now| t.flush_usage(now));
        }
    }

    fn fail_waiters(&mut self, err: EngineError) {
        for (_, reply) in self.waiters.drain() {
            let _ = reply.send(Err(err));
        }
    }

    /// Another node owns the pool now: every waiting request hears so, and the actor stops
    /// and leaves the registry, so the next request finds the pool's owner afresh.
    fn lose(&mut self, ctx: &mut Context<Self>) {
        tracing::warn!(pool = %self.pool, "another node owns this pool now; letting go");
        self.state = State::Lost;
        self.fail_waiters(EngineError::PoolOwnedElsewhere);
        let in_flight = self.in_flight.take().unwrap_or_default();
        for ack in self.pending_acks.drain(..).chain(in_flight) {
            (ack.send)(Err(EngineError::PoolOwnedElsewhere));
        }
        self.pending_changes.clear();
        self.check_drained();
        self.env.forget(self.pool, self.shared.generation);
        ctx.stop();
    }

    fn start_reload(&mut self, ctx: &mut Context<Self>) {
        if self.state != State::Serving {
            return;
        }
        self.state = State::Reloading;
        self.fail_waiters(EngineError::PoolUnavailable);
        for ack in self.pending_acks.drain(..) {
            (ack.send)(Err(EngineError::PoolUnavailable));
        }
        // Nobody was told of these changes; the store's state is the truth again.
        self.pending_changes.clear();
        if let Some((_, handle)) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if self.in_flight.is_none() {
            self.reload(ctx);
        }
    }

    fn reload(&mut self, ctx: &mut Context<Self>) {
        let env = self.env.clone();
        let pool = self.pool;
        ctx.spawn(
            async move { env.store.load(pool).await }
                .into_actor(self)
                .map(|loaded, act, ctx| match loaded {
                    Ok(Some(snapshot)) => {
                        let now = act.env.clock.now();
                        let limits = act.env.config.limits.clone();
                        let restored = panic::catch_unwind(AssertUnwindSafe(|| {
                            SeatTable::restore(snapshot, limits, now)
                        }));
                        match restored {
                            Ok(table) => {
                                act.table = table;
                                act.pending_changes.clear();
                                act.state = State::Serving;
                                act.env.stats.pool_reloads.fetch_add(1, Ordering::Relaxed);
                                tracing::info!(pool = %act.pool, "pool reloaded from the store");
                                act.collect(ctx);
                                act.settle(ctx);
                            }
                            Err(_) => {
                                ctx.run_later(RELOAD_RETRY_DELAY, |act, ctx| act.reload(ctx));
                            }
                        }
                    }
                    Ok(None) => {
                        act.state = State::Retired;
                        act.env.forget(act.pool, act.shared.generation);
                        ctx.stop();
                    }
                    Err(err) => {
                        tracing::warn!(pool = %act.pool, %err, "reload failed; retrying");
                        ctx.run_later(RELOAD_RETRY_DELAY, |act, ctx| act.reload(ctx));
                    }
                }),
        );
    }

    /// Runs a table operation whose answer waits until its changes are durable.
    fn durable_op<T: 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        reply: Reply<T>,
        op: impl FnOnce(&mut SeatTable, Timestamp) -> T,
    ) {
        if let Err(e) = self.enter() {
            let _ = reply.send(Err(e));
            return;
        }
        self.prune_departed(ctx);
        let result = self.run(ctx, op);
        self.collect(ctx);
        self.ack(reply, result, None);
        self.settle(ctx);
    }

    /// Runs a table operation answered at once (its changes, if any, still get committed).
    fn immediate_op<T>(
        &mut self,
        ctx: &mut Context<Self>,
        reply: Reply<T>,
        op: impl FnOnce(&mut SeatTable, Timestamp) -> T,
    ) {
        if let Err(e) = self.enter() {
            let _ = reply.send(Err(e));
            return;
        }
        self.prune_departed(ctx);
        let result = self.run(ctx, op);
        let _ = reply.send(result);
        self.collect(ctx);
        self.settle(ctx);
    }
}

impl Actor for PoolActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The bound is the registry's counter: actix's own bound is per sender clone.
        ctx.set_mailbox_capacity(0);
        self.env.stats.live_actors.fetch_add(1, Ordering::Relaxed);
        self.collect(ctx);
        self.settle(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.env.stats.live_actors.fetch_sub(1, Ordering::Relaxed);
        self.fail_waiters(EngineError::ShuttingDown);
    }
}

impl Handler<Acquire> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Acquire, ctx: &mut Context<Self>) {
        if let Err(e) = self.enter() {
            let _ = msg.reply.send(Err(e));
            return;
        }
        if self.draining && msg.req.wait.is_some() {
            let _ = msg.reply.send(Err(EngineError::ShuttingDown));
            return;
        }
        self.prune_departed(ctx);
        let outcome = match self.run(ctx, |t, now| t.acquire(msg.req, now)) {
            Ok(outcome) => outcome,
            Err(e) => {
                let _ = msg.reply.send(Err(e));
                return;
            }
        };
        match outcome {
            AcquireOutcome::Granted { seat, reused } => {
                self.collect(ctx);
                let id = seat.id;
                let outcome = AcquireOutcome::Granted { seat, reused };
                self.ack(msg.reply, Ok(outcome), Some(id));
            }
            AcquireOutcome::Queued { waiter, .. } => {
                self.env.stats.seats.queued.fetch_add(1, Ordering::Relaxed);
                // Registered before the news of this call is read: it may concern this waiter.
                self.waiters.insert(waiter, msg.reply);
                self.collect(ctx);
            }
            refused @ AcquireOutcome::Refused(_) => {
                self.collect(ctx);
                let _ = msg.reply.send(Ok(refused));
            }
        }
        self.settle(ctx);
    }
}

/// Issue 16: like a grant of `Acquire` without the wait: the seat (or its conversion) is
/// answered once committed, and fails with a commit that undoes the seat it names; a refusal
/// is answered at once.
impl Handler<TakeOfflineFile> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: TakeOfflineFile, ctx: &mut Context<Self>) {
        if let Err(e) = self.enter() {
            let _ = msg.reply.send(Err(e));
            return;
        }
        self.prune_departed(ctx);
        let TakeOfflineFile {
            account,
            device,
            platform,
            reply,
        } = msg;
        let outcome = self.run(ctx, |t, now| {
            t.take_offline_file(account, device, platform, now)
        });
        self.collect(ctx);
        match outcome {
            Ok(AcquireOutcome::Granted { seat, reused }) => {
                let id = seat.id;
                self.ack(
                    reply,
                    Ok(AcquireOutcome::Granted { seat, reused }),
                    Some(id),
                );
            }
            other => {
                let _ = reply.send(other);
            }
        }
        self.settle(ctx);
    }
}

/// Implements `Handler` for messages that map onto one table call: `durable` ones answer once
/// their changes are committed, `immediate` ones at once.
macro_rules! table_handlers {
    ($($kind:ident $msg:ident => |$t:ident, $now:ident, $m:ident| $call:expr;)*) => {$(
        impl Handler<$msg> for PoolActor {
            type Result = ();

            fn handle(&mut self, $m: $msg, ctx: &mut Context<Self>) {
                table_handlers!(@run $kind self, ctx, $m.reply, |$t: &mut SeatTable, $now| $call);
            }
        }
    )*};
    (@run durable $self:ident, $ctx:ident, $reply:expr, $f:expr) => {
        $self.durable_op($ctx, $reply, $f)
    };
    (@run immediate $self:ident, $ctx:ident, $reply:expr, $f:expr) => {
        $self.immediate_op($ctx, $reply, $f)
    };
}

table_handlers! {
    immediate Heartbeat => |t, now, msg| t.heartbeat(msg.seat, msg.account, msg.active, now);
    durable Close => |t, now, msg| t.close(msg.seat, msg.account, now);
    durable Logout => |t, now, msg| t.logout(msg.seat, msg.account, now);
    durable ReleaseAll => |t, now, msg| t.release_all(msg.account, now);
    durable ReserveOffline => |t, now, msg| t.reserve_offline(msg.seat, msg.account, msg.until, now);
    durable AdminRelease => |t, now, msg| t.admin_release(msg.seat, now);
    durable Block => |t, now, msg| t.block(msg.account, now);
    durable Unblock => |t, now, msg| t.unblock(msg.account, now);
    durable RemoveMember => |t, now, msg| t.remove_member(msg.account, now);
    durable SetLicenses => |t, now, msg| t.set_licenses(msg.licenses, now);
    durable UpdateSettings => |t, now, msg| t.update_settings(msg.settings, now);
    durable StartTrial => |t, now, msg| t.start_trial(msg.days, now);
    durable EndTrial => |t, now, _msg| t.end_trial(now);
    immediate GetStatus => |t, now, _msg| {
        t.expire_due(now);
        t.status()
    };
    immediate Describe => |t, now, _msg| {
        t.expire_due(now);
        crate::model::PoolDescription {
            status: t.status(),
            settings: t.settings().clone(),
            trial: t.trial().cloned(),
        }
    };
    durable UsageNow => |t, now, _msg| {
        t.expire_due(now);
        t.usage_now()
    };
    immediate ListSeats => |t, now, msg| {
        t.expire_due(now);
        match msg.account {
            Some(account) => t.seats_of(account),
            None => t.seats(),
        }
    };
}

impl Handler<CancelWaiter> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: CancelWaiter, ctx: &mut Context<Self>) {
        if self.state != State::Serving || self.waiters.remove(&msg.waiter).is_none() {
            return;
        }
        let _ = self.run(ctx, |t, now| t.cancel_waiter(msg.waiter, now));
        self.collect(ctx);
        self.settle(ctx);
    }
}

impl Handler<Drain> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Drain, ctx: &mut Context<Self>) {
        self.draining = true;
        let waiting: Vec<WaiterId> = self.waiters.keys().copied().collect();
        for waiter in waiting {
            if let Some(reply) = self.waiters.remove(&waiter) {
                let _ = reply.send(Err(EngineError::ShuttingDown));
            }
            if self.state == State::Serving {
                let _ = self.run(ctx, |t, now| t.cancel_waiter(waiter, now));
            }
        }
        self.flush_usage(ctx);
        self.drained.push(msg.done);
        self.collect(ctx);
        self.settle(ctx);
    }
}

impl Handler<Evict> for PoolActor {
    type Result = ();

    fn handle(&mut self, _: Evict, ctx: &mut Context<Self>) {
        if self.state != State::Retired {
            self.lose(ctx);
        }
    }
}

impl Handler<Stop> for PoolActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        self.stopping = true;
        self.flush_usage(ctx);
        self.collect(ctx);
        self.settle(ctx);
    }
}

#[cfg(test)]
impl Handler<WhichThread> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: WhichThread, _: &mut Context<Self>) {
        let _ = msg.0.send(std::thread::current().id());
    }
}

#[cfg(test)]
impl Handler<Stall> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Stall, _: &mut Context<Self>) {
        std::thread::sleep(msg.0);
    }
}

#[cfg(test)]
impl Handler<Poison> for PoolActor {
    type Result = ();

    fn handle(&mut self, msg: Poison, _: &mut Context<Self>) {
        self.poisoned = Some(msg.after_change);
    }
}
