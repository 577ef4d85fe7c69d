//! The invariants a run checks while it runs, from what the clients see:
//!
//! - **S1, never more seats than capacity.** A seat counts as held from the moment its grant
//!   is received until just before its close is sent (or, for a client that vanished, until
//!   the heartbeat deadline the broker last gave it). The broker certainly held each such
//!   seat during that interval, so more of them at once than the pool's capacity proves that
//!   the broker granted too many; the count never raises a false alarm.
//! - **No 5xx** answer, ever.
//! - **Every `no_seat_available` carries its details** (S12): capacity (the pool's), in use,
//!   the owner's contact; a refusal without them is a violation.
//!
//! The same counts tell whether a take certainly did not wait in a queue: when the seats
//! held, being closed and being asked for (this one included) fit in the capacity, the
//! broker had a free seat for every request in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use seatbroker_client::{Error, NoSeatDetails};

/// How many violation messages a run keeps (the count goes on).
const KEPT_VIOLATIONS: usize = 50;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    held: u64,
    taking: u64,
    closing: u64,
    peak_held: u64,
}

/// One pool as the checker sees it.
#[derive(Debug)]
struct PoolCheck {
    capacity: u64,
    counts: Mutex<Counts>,
}

/// The checker of one run: per pool counts, and the violations seen.
#[derive(Debug)]
pub struct Checker {
    /// When checking began: each violation says how long after it happened.
    started: Instant,
    pools: Vec<PoolCheck>,
    violations: Mutex<Vec<String>>,
    violation_count: AtomicU64,
}

/// What `begin_take` found: whether the broker certainly had a free seat for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakeTicket {
    /// The pool's index.
    pub pool: usize,
    /// Seats held + being closed + being asked for (this one included) ≤ capacity.
    pub surely_free: bool,
}

impl Checker {
    /// A checker for pools of these capacities (indexed as the scenario numbers its pools).
    pub fn new(capacities: &[u64]) -> Checker {
        Checker {
            started: Instant::now(),
            pools: capacities
                .iter()
                .map(|&capacity| PoolCheck {
                    capacity,
                    counts: Mutex::new(Counts::default()),
                })
                .collect(),
            violations: Mutex::new(Vec::new()),
            violation_count: AtomicU64::new(0),
        }
    }

    fn counts(&self, pool: usize) -> std::sync::MutexGuard<'_, Counts> {
        self.pools[pool]
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Records a broken invariant, led by the time since checking began (`+12.345s`).
    pub fn violation(&self, message: String) {
        self.violation_count.fetch_add(1, Ordering::Relaxed);
        let at = self.started.elapsed().as_secs_f64();
        let mut kept = self.violations.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < KEPT_VIOLATIONS {
            kept.push(format!("+{at:.3}s {message}"));
        }
    }

    /// A take of a seat in `pool` is about to be sent.
    pub fn begin_take(&self, pool: usize) -> TakeTicket {
        let capacity = self.pools[pool].capacity;
        let mut c = self.counts(pool);
        c.taking += 1;
        TakeTicket {
            pool,
            surely_free: c.held + c.closing + c.taking <= capacity,
        }
    }

    /// The take was granted: the seat is held from now on.
    pub fn granted(&self, ticket: TakeTicket) {
        let capacity = self.pools[ticket.pool].capacity;
        let held = {
            let mut c = self.counts(ticket.pool);
            c.taking = c.taking.saturating_sub(1);
            c.held += 1;
            c.peak_held = c.peak_held.max(c.held);
            c.held
        };
        if held > capacity {
            self.violation(format!(
                "S1: pool #{} has {held} seats held by clients at once, capacity {capacity}",
                ticket.pool
            ));
        }
    }

    /// The take ended without a seat (refused or failed).
    pub fn not_granted(&self, ticket: TakeTicket) {
        let mut c = self.counts(ticket.pool);
        c.taking = c.taking.saturating_sub(1);
    }

    /// A close (or logout) of a held seat is about to be sent: from now on the seat may be
    /// free at any moment.
    pub fn begin_close(&self, pool: usize) {
        let mut c = self.counts(pool);
        c.held = c.held.saturating_sub(1);
        c.closing += 1;
    }

    /// The close was answered (or failed).
    pub fn closed(&self, pool: usize) {
        let mut c = self.counts(pool);
        c.closing = c.closing.saturating_sub(1);
    }

    /// A held seat may be gone from now on without a close (its holder vanished and its
    /// deadline passed, or the broker said it is gone).
    pub fn released(&self, pool: usize) {
        let mut c = self.counts(pool);
        c.held = c.held.saturating_sub(1);
    }

    /// Checks the details of a `no_seat_available` refusal from `pool` (S12).
    pub fn check_no_seat(&self, pool: usize, details: &NoSeatDetails, waited: bool) {
        let capacity = self.pools[pool].capacity;
        let mut missing = Vec::new();
        if details.capacity != capacity {
            missing.push(format!(
                "capacity {} (expected {capacity})",
                details.capacity
            ));
        }
        if details.in_use > details.capacity {
            missing.push(format!(
                "in_use {} over capacity {}",
                details.in_use, details.capacity
            ));
        }
        if details.owner_contact.is_none() {
            missing.push("no owner_contact".to_owned());
        }
        if details.message.is_empty() {
            missing.push("no message".to_owned());
        }
        if waited && details.queue_position.is_none() {
            missing.push("a wait that ended without queue_position".to_owned());
        }
        if !waited && details.queue_position.is_some() {
            missing.push("queue_position on a request that did not wait".to_owned());
        }
        if !missing.is_empty() {
            self.violation(format!(
                "S12: no_seat_available from pool #{pool} with bad details: {}",
                missing.join(", ")
            ));
        }
    }

    /// Checks an error answer: a 5xx, or a `no_seat_available` the client could not read as
    /// one (its details missing), is a violation. Returns the code to count it under.
    pub fn check_error(&self, what: &str, error: &Error) -> String {
        let status = match error {
            Error::Refused { status, .. } | Error::UnexpectedResponse { status, .. } => {
                Some(*status)
            }
            Error::Unavailable { .. } => Some(503),
            _ => None,
        };
        if let Some(status) = status.filter(|s| *s >= 500) {
            self.violation(format!("5xx: {what} answered {status}: {error}"));
        }
        if error.code() == Some("no_seat_available") && !matches!(error, Error::NoSeatAvailable(_))
        {
            self.violation(format!(
                "S12: {what} refused no_seat_available without its details: {error}"
            ));
        }
        match error {
            Error::Http(_) => "http".to_owned(),
            Error::Decode(_) => "decode".to_owned(),
            other => other.code().unwrap_or("unexpected").to_owned(),
        }
    }

    /// The most seats held at once in `pool`, as counted by the clients.
    pub fn peak_held(&self, pool: usize) -> u64 {
        self.counts(pool).peak_held
    }

    /// Seats held now in `pool`, as counted by the clients.
    pub fn held(&self, pool: usize) -> u64 {
        self.counts(pool).held
    }

    /// The violations kept and their total.
    pub fn violations(&self) -> (Vec<String>, u64) {
        (
            self.violations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            self.violation_count.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_client::OwnerContact;

    fn details(capacity: u64, in_use: u64) -> NoSeatDetails {
        NoSeatDetails {
            message: "full".into(),
            capacity,
            in_use,
            own_seats_elsewhere: Vec::new(),
            owner_contact: Some(OwnerContact {
                name: "O".into(),
                email: "o@x.example".into(),
            }),
            queue_position: None,
        }
    }

    #[test]
    fn s1_a_grant_over_capacity_fails_the_run() {
        let c = Checker::new(&[2]);
        for _ in 0..2 {
            let t = c.begin_take(0);
            assert!(t.surely_free);
            c.granted(t);
        }
        assert_eq!(c.violations().1, 0);
        let third = c.begin_take(0);
        assert!(!third.surely_free);
        c.granted(third);
        let (kept, n) = c.violations();
        assert_eq!(n, 1);
        assert!(kept[0].contains("3 seats held"), "{kept:?}");
        assert!(
            kept[0].starts_with('+') && kept[0].contains("s S1:"),
            "led by the time since checking began: {kept:?}"
        );
        assert_eq!(c.peak_held(0), 3);
    }

    #[test]
    fn s1_a_seat_being_closed_is_not_held_so_a_fast_regrant_is_no_false_alarm() {
        let c = Checker::new(&[1]);
        let t = c.begin_take(0);
        c.granted(t);
        c.begin_close(0);
        // Another client's take is granted before our close is answered: allowed.
        let t2 = c.begin_take(0);
        assert!(!t2.surely_free, "the seat being closed may not be free yet");
        c.granted(t2);
        c.closed(0);
        assert_eq!(c.violations().1, 0);
    }

    #[test]
    fn s12_refusals_without_details_are_violations() {
        let c = Checker::new(&[5]);
        c.check_no_seat(0, &details(5, 5), false);
        assert_eq!(c.violations().1, 0);
        let mut bad = details(4, 5);
        bad.owner_contact = None;
        c.check_no_seat(0, &bad, false);
        c.check_no_seat(0, &details(5, 5), true);
        let (kept, n) = c.violations();
        assert_eq!(n, 2);
        assert!(kept[0].contains("owner_contact") && kept[0].contains("capacity 4"));
        assert!(kept[1].contains("queue_position"));
    }

    #[test]
    fn five_hundreds_are_violations_and_other_refusals_are_not() {
        let c = Checker::new(&[1]);
        let refused = |status: u16, code: &str| Error::Refused {
            status,
            code: code.into(),
            message: "m".into(),
            details: Default::default(),
        };
        assert_eq!(
            c.check_error("take", &refused(403, "member_blocked")),
            "member_blocked"
        );
        assert_eq!(c.violations().1, 0);
        c.check_error("take", &refused(500, "internal"));
        c.check_error(
            "take",
            &Error::UnexpectedResponse {
                status: 502,
                body: "bad gateway".into(),
            },
        );
        c.check_error("take", &refused(409, "no_seat_available"));
        assert_eq!(c.violations().1, 3);
    }
}
