//! `SeatGuard`: a held seat and the background task that keeps it alive. The task
//! heartbeats a little before each interval the broker gave (with jitter), sends the
//! application's `active` flag (W2), follows the interval and offline period of each
//! answer, and publishes the seat's fate on a `watch` channel: `Held`, `Unreachable` while
//! the broker cannot be reached, `Offline` during a reservation (S11), `Lost` with the
//! reason of a 410, `Closed`. It never takes a seat again by itself: a lost seat stays lost
//! until the application decides what to do. The raw calls are on `Client`.
//!
//! The guard owns its task: the task holds only clones of the client, the flag and the
//! state sender, and stops when told to, when the guard is dropped, or when the seat is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::{Error, LossReason};
use crate::model::{AcquireRequest, Grant, Seat};
use crate::retry::RetryPolicy;

/// The fate of a held seat, as the guard's watch channel publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatState {
    /// Held: the last heartbeat (or the grant) was answered.
    Held,
    /// Heartbeats fail for a transient reason (503, 429, no connection) since `since`; the
    /// seat may still be held. They are retried, more often as the deadline nears and on
    /// past it, until the broker answers: a 410 then says whether the seat was lost.
    Unreachable {
        /// When the first failing heartbeat was sent.
        since: OffsetDateTime,
        /// The heartbeat deadline the broker gave last; past it the seat has most likely
        /// expired (S4). `None` when the seat needed no heartbeat.
        expires_at: Option<OffsetDateTime>,
    },
    /// Reserved for offline use until `until` (S11): no heartbeats until then.
    Offline {
        /// The end of the reservation.
        until: OffsetDateTime,
    },
    /// The broker took the seat back; heartbeats have stopped.
    Lost {
        /// Why (`revoked`, `expired`, `member_blocked`, ...).
        reason: LossReason,
    },
    /// Closed or logged out by the application.
    Closed,
}

/// What the guard tells its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Go on heartbeating.
    Run,
    /// Stop heartbeating until this time (S11).
    Offline(OffsetDateTime),
    /// Stop for good.
    Stop,
}

/// A held seat, heartbeated in the background until `close`, `logout` or drop.
///
/// Dropping a guard without `close` aborts the heartbeats and, when the current thread
/// runs inside a tokio runtime, spawns a best-effort close on it (which may not run if the
/// runtime is shutting down). Outside a runtime nothing is sent: a member's seat is then
/// freed by its heartbeat timeout (S4), an owner's desktop seat is kept as on close (S5).
/// Call `close().await` to be sure the broker heard it.
#[derive(Debug)]
pub struct SeatGuard {
    client: Client,
    seat: Seat,
    reused: bool,
    seat_id: Arc<str>,
    active: Arc<AtomicBool>,
    state: Arc<watch::Sender<SeatState>>,
    command: watch::Sender<Command>,
    task: Option<JoinHandle<()>>,
    finished: bool,
}

impl SeatGuard {
    /// Starts the heartbeats of a granted seat on the current tokio runtime.
    pub(crate) fn start(client: Client, grant: Grant) -> SeatGuard {
        let Grant { seat, reused } = grant;
        let seat_id: Arc<str> = Arc::from(seat.seat_id.as_str());
        let active = Arc::new(AtomicBool::new(true));
        let now = OffsetDateTime::now_utc();
        let initial = match seat.offline_until {
            Some(until) if until > now => SeatState::Offline { until },
            _ => SeatState::Held,
        };
        let state = Arc::new(watch::Sender::new(initial));
        let (command, commands) = watch::channel(Command::Run);
        let beat = Beater {
            client: client.clone(),
            seat_id: seat_id.clone(),
            active: active.clone(),
            state: state.clone(),
            interval: interval_of(seat.heartbeat_interval_s),
            expires_at: seat.expires_at,
            offline_until: seat.offline_until,
        };
        let task = tokio::spawn(beat.run(commands));
        SeatGuard {
            client,
            seat,
            reused,
            seat_id,
            active,
            state,
            command,
            task: Some(task),
            finished: false,
        }
    }

    /// The seat as it was granted.
    pub fn seat(&self) -> &Seat {
        &self.seat
    }

    /// The seat's id.
    pub fn seat_id(&self) -> &str {
        &self.seat_id
    }

    /// Whether the broker answered with the seat this device already held (S2).
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// The seat's state now.
    pub fn state(&self) -> SeatState {
        self.state.borrow().clone()
    }

    /// A receiver of the seat's state: `changed().await` wakes on every new state.
    pub fn watch(&self) -> watch::Receiver<SeatState> {
        self.state.subscribe()
    }

    /// Tells the next heartbeats whether the user is active (W2 idle reclaim).
    pub fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Relaxed);
    }

    /// The flag the heartbeats read, for an application that sets it from elsewhere.
    pub fn active_flag(&self) -> Arc<AtomicBool> {
        self.active.clone()
    }

    /// Reserves the seat for offline use until `until` (S11); heartbeats pause until then.
    pub async fn reserve_offline(&self, until: OffsetDateTime) -> Result<Seat, Error> {
        match self.client.reserve_offline(&self.seat_id, until).await {
            Ok(seat) => {
                let until = seat.offline_until.unwrap_or(until);
                self.command.send_replace(Command::Offline(until));
                publish(&self.state, SeatState::Offline { until });
                Ok(seat)
            }
            Err(Error::SeatGone { reason }) => {
                self.command.send_replace(Command::Stop);
                publish(
                    &self.state,
                    SeatState::Lost {
                        reason: reason.clone(),
                    },
                );
                Err(Error::SeatGone { reason })
            }
            Err(e) => Err(e),
        }
    }

    /// Stops the heartbeats and closes the seat (S5), waiting for the broker's answer.
    /// A seat already lost answers `SeatGone` with its reason, without a request.
    pub async fn close(self) -> Result<(), Error> {
        self.finish(false).await
    }

    /// Stops the heartbeats and logs out on this device (S6), freeing the seat even when
    /// it is the owner's or reserved offline.
    pub async fn logout(self) -> Result<(), Error> {
        self.finish(true).await
    }

    /// Cancel-safe: when this future is dropped before the broker answered, the guard's
    /// drop sends the best-effort close.
    async fn finish(mut self, logout: bool) -> Result<(), Error> {
        self.command.send_replace(Command::Stop);
        if let Some(task) = self.task.take() {
            // Waiting for the task means no heartbeat is sent after the close; a task that
            // panicked or was cancelled has nothing left to send either.
            let _ = task.await;
        }
        if let SeatState::Lost { reason } = self.state() {
            self.finished = true;
            return Err(Error::SeatGone { reason });
        }
        let answer = if logout {
            self.client.logout(&self.seat_id).await
        } else {
            self.client.close(&self.seat_id).await
        };
        self.finished = true;
        match answer {
            Ok(()) => {
                publish(&self.state, SeatState::Closed);
                Ok(())
            }
            Err(Error::SeatGone { reason }) => {
                publish(
                    &self.state,
                    SeatState::Lost {
                        reason: reason.clone(),
                    },
                );
                Err(Error::SeatGone { reason })
            }
            Err(e) => Err(e),
        }
    }
}

impl Drop for SeatGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.command.send_replace(Command::Stop);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if matches!(*self.state.borrow(), SeatState::Lost { .. }) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let seat_id = self.seat_id.clone();
        let state = self.state.clone();
        runtime.spawn(async move {
            match client.close(&seat_id).await {
                Ok(()) => publish(&state, SeatState::Closed),
                Err(Error::SeatGone { reason }) => publish(&state, SeatState::Lost { reason }),
                Err(_) => {}
            }
        });
    }
}

/// Publishes `next` when it differs from the current state.
fn publish(state: &watch::Sender<SeatState>, next: SeatState) {
    state.send_if_modified(|current| {
        if *current == next {
            false
        } else {
            *current = next;
            true
        }
    });
}

fn interval_of(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

/// Time from now until `t`, zero when it has passed.
fn until(t: OffsetDateTime) -> Duration {
    Duration::try_from(t - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
}

/// The background task's own state.
struct Beater {
    client: Client,
    seat_id: Arc<str>,
    active: Arc<AtomicBool>,
    state: Arc<watch::Sender<SeatState>>,
    interval: Duration,
    expires_at: Option<OffsetDateTime>,
    offline_until: Option<OffsetDateTime>,
}

impl Beater {
    /// The wait before the next heartbeat: during an offline period until its end; after
    /// `failures` transient failures the broker's `Retry-After` or a backoff capped at the
    /// interval, and at half the time left before the deadline (so that attempts still land
    /// before it); otherwise 80 to 90 % of the interval.
    fn next_delay(&self, failures: u32, asked: Option<Duration>) -> Duration {
        if let Some(end) = self
            .offline_until
            .filter(|&u| u > OffsetDateTime::now_utc())
        {
            return until(end);
        }
        if failures > 0 {
            let backoff = RetryPolicy {
                max_attempts: u32::MAX,
                max_elapsed: Duration::MAX,
                base_delay: Duration::from_millis(250).min(self.interval),
                max_delay: self.interval,
            };
            let delay = asked
                .map(|a| a.min(self.interval))
                .unwrap_or_else(|| backoff.backoff(failures, fastrand::f64()));
            let left = self.expires_at.map_or(Duration::ZERO, until);
            return if left > Duration::ZERO {
                delay.min((left / 2).max(Duration::from_millis(50)))
            } else {
                delay
            };
        }
        self.interval.mul_f64(0.8 + 0.1 * fastrand::f64())
    }

    async fn run(mut self, mut commands: watch::Receiver<Command>) {
        let mut failures = 0u32;
        let mut asked = None;
        loop {
            let delay = self.next_delay(failures, asked);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                changed = commands.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let command = *commands.borrow_and_update();
                    match command {
                        Command::Stop => return,
                        Command::Offline(end) => self.offline_until = Some(end),
                        Command::Run => {}
                    }
                    continue;
                }
            }
            let active = self.active.load(Ordering::Relaxed);
            // The guard retries on its own schedule, bounded by the seat's deadline, so each
            // attempt is a single request.
            match self
                .client
                .heartbeat_with(&self.seat_id, active, RetryPolicy::none())
                .await
            {
                Ok(beat) => {
                    failures = 0;
                    asked = None;
                    self.interval = interval_of(beat.heartbeat_interval_s);
                    self.expires_at = beat.expires_at;
                    self.offline_until = beat.offline_until;
                    let now = OffsetDateTime::now_utc();
                    let next = match beat.offline_until {
                        Some(end) if end > now => SeatState::Offline { until: end },
                        _ => SeatState::Held,
                    };
                    publish(&self.state, next);
                }
                Err(Error::SeatGone { reason }) => {
                    publish(&self.state, SeatState::Lost { reason });
                    return;
                }
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    asked = e.retry_after();
                    if failures == 1 {
                        publish(
                            &self.state,
                            SeatState::Unreachable {
                                since: OffsetDateTime::now_utc(),
                                expires_at: self.expires_at,
                            },
                        );
                    }
                }
                Err(e) => {
                    // A refusal that will not go away (the token expired, the seat is
                    // unknown): the seat cannot be kept, say why and stop.
                    let code = e.code().unwrap_or("heartbeat_failed").to_owned();
                    publish(
                        &self.state,
                        SeatState::Lost {
                            reason: LossReason::Other(code),
                        },
                    );
                    return;
                }
            }
        }
    }
}

/// Where a client's seat becomes a guard (here, so that `client.rs` need not know guards).
impl Client {
    /// Takes a seat and keeps it: a `SeatGuard` heartbeating in the background until it is
    /// closed or dropped. Must be called within a tokio runtime. Asking again on the same
    /// device answers the same seat (S2), so keep one guard per device: closing or dropping
    /// either of two guards closes the seat of both.
    pub async fn acquire(&self, request: AcquireRequest) -> Result<SeatGuard, Error> {
        let grant = self.take_seat(&request).await?;
        Ok(SeatGuard::start(self.clone(), grant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Platform, Policy};

    /// A seat as the broker would grant it, on a broker that is not there.
    fn grant_on_a_dead_port() -> (Client, Grant) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let client = Client::new(&format!("http://127.0.0.1:{port}"))
            .expect("client")
            .with_request_timeout(Duration::from_millis(500));
        let now = OffsetDateTime::now_utc();
        let seat = Seat {
            seat_id: "S-000-001".into(),
            pool_id: "P-1".into(),
            account_id: "A-000-001".into(),
            device_id: "laptop".into(),
            device_fingerprint: "3fa9-1c2b-77de".into(),
            platform: Platform::Windows,
            policy: Policy::Member,
            granted_at: now,
            expires_at: Some(now + time::Duration::seconds(3)),
            offline_until: None,
            heartbeat_interval_s: 1,
            license_expires_at: None,
            trial_days_left: None,
            warnings: Vec::new(),
        };
        (
            client,
            Grant {
                seat,
                reused: false,
            },
        )
    }

    #[tokio::test]
    async fn s4_an_unreachable_broker_is_reported_and_the_seat_is_not_taken_again() {
        let (client, grant) = grant_on_a_dead_port();
        let deadline = grant.seat.expires_at;
        let guard = SeatGuard::start(client, grant);
        let mut fate = guard.watch();
        let state = tokio::time::timeout(
            Duration::from_secs(5),
            fate.wait_for(|s| matches!(s, SeatState::Unreachable { .. })),
        )
        .await
        .expect("reported within 5 s")
        .expect("published")
        .clone();
        let SeatState::Unreachable { expires_at, .. } = state else {
            unreachable!("waited for Unreachable");
        };
        assert_eq!(expires_at, deadline);
        // Retries go on without giving the seat up or asking for another one.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(matches!(guard.state(), SeatState::Unreachable { .. }));
    }

    #[test]
    fn a_beat_comes_a_little_early_and_retries_land_before_the_deadline() {
        let (client, grant) = grant_on_a_dead_port();
        let (tx, _rx) = watch::channel(SeatState::Held);
        let mut beater = Beater {
            client,
            seat_id: Arc::from("S-000-001"),
            active: Arc::new(AtomicBool::new(true)),
            state: Arc::new(tx),
            interval: Duration::from_secs(10),
            expires_at: grant.seat.expires_at,
            offline_until: None,
        };
        for _ in 0..100 {
            let d = beater.next_delay(0, None);
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(9),
                "{d:?}"
            );
            let retry = beater.next_delay(5, Some(Duration::from_secs(5)));
            assert!(
                retry <= Duration::from_millis(1_500),
                "half of 3 s left: {retry:?}"
            );
        }
        beater.offline_until = Some(OffsetDateTime::now_utc() + time::Duration::hours(1));
        assert!(beater.next_delay(0, None) > Duration::from_secs(3_500));
    }
}
