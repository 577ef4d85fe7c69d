//! The history checker (rule S1 seen from the clients): simulated clients record every
//! operation on a seat that they saw succeed, with the instant they sent the request and the
//! instant its answer came back, and the checker asserts that at no instant more seats were
//! *certainly* held than the pool's capacity. It knows nothing of nodes, HTTP or Redis: it
//! takes `Observation`s and a capacity, so it is tested here on hand-made histories.
//!
//! Why "certainly": an operation that succeeded took effect at some unknown instant between
//! its sending and its answer. A seat whose first success was answered at `a` and whose last
//! success was sent at `s` was held at some point no later than `a` and at some point no
//! earlier than `s`; seat ids are never reused, so it was held throughout `[a, s]`. Outside
//! that interval the clients cannot tell, and the checker does not guess. Touching intervals
//! (one seat's `s` equal to another's `a`) do not overlap.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a client saw succeed on one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /v1/seats` answered 201 (a new seat) or 200 (the same seat again, S2).
    Grant,
    /// `POST /v1/seats/{seat}/heartbeat` answered 200.
    Heartbeat,
    /// `POST /v1/seats/{seat}/close` (or `DELETE`) answered 204; `sent` is when the *first*
    /// attempt of the release was sent, since a repeated release is answered 204 too.
    Release,
    /// `GET /v1/pools/{pool}/seats` listed the seat.
    Listed,
}

/// One successful operation on a seat, as a client observed it.
#[derive(Debug, Clone)]
pub struct Observation {
    /// What succeeded.
    pub op: Op,
    /// The seat id (`S-…`) the operation was about.
    pub seat: String,
    /// When the client sent the request.
    pub sent: Instant,
    /// When the client had the answer.
    pub answered: Instant,
}

/// The stretch of time over which a seat was certainly held: from `from` to `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The seat id.
    pub seat: String,
    /// The earliest answer of a successful operation on the seat.
    pub from: Instant,
    /// The latest sending of a successful operation on the seat.
    pub until: Instant,
}

/// What a history that kept the capacity looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Distinct seats observed.
    pub seats: usize,
    /// The most seats certainly held at one instant.
    pub peak: usize,
}

/// The first instant at which more seats were certainly held than the capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overbooking {
    /// The instant (the start of the holding that went over).
    pub at: Instant,
    /// `at` measured from the first request of the history, for people.
    pub offset: Duration,
    /// The pool's capacity.
    pub capacity: usize,
    /// The seats certainly held at `at`, sorted.
    pub seats: Vec<String>,
}

impl fmt::Display for Overbooking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S1 broken: {} seats certainly held at +{:.3} s with capacity {}: {}",
            self.seats.len(),
            self.offset.as_secs_f64(),
            self.capacity,
            self.seats.join(", ")
        )
    }
}

/// Every observation of one run, appended by the clients as their answers come in.
#[derive(Debug, Default)]
pub struct History {
    observations: Mutex<Vec<Observation>>,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Records that `op` on `seat`, sent at `sent`, succeeded with an answer at `answered`.
    pub fn record(&self, op: Op, seat: &str, sent: Instant, answered: Instant) {
        self.observations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Observation {
                op,
                seat: seat.to_owned(),
                sent,
                answered,
            });
    }

    /// A copy of what was recorded so far, in recording order.
    pub fn observations(&self) -> Vec<Observation> {
        self.observations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many observations of `op` were recorded so far.
    pub fn count(&self, op: Op) -> usize {
        self.observations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|o| o.op == op)
            .count()
    }

    /// How many observations of `op` were answered after `since`.
    pub fn count_since(&self, op: Op, since: Instant) -> usize {
        self.observations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|o| o.op == op && o.answered > since)
            .count()
    }

    /// Checks the history so far against `capacity` (see `check`).
    pub fn check(&self, capacity: usize) -> Result<Verdict, Overbooking> {
        check(&self.observations(), capacity)
    }
}

/// Each seat's certain holding: from its earliest answer to its latest sending. Seats whose
/// operations overlap in time so that the latter comes before the former held no certain
/// stretch and are left out; the result is sorted by `from`.
pub fn certain_holdings(observations: &[Observation]) -> Vec<Holding> {
    let mut by_seat: HashMap<&str, (Instant, Instant)> = HashMap::new();
    for o in observations {
        by_seat
            .entry(o.seat.as_str())
            .and_modify(|(from, until)| {
                *from = (*from).min(o.answered);
                *until = (*until).max(o.sent);
            })
            .or_insert((o.answered, o.sent));
    }
    let mut holdings: Vec<Holding> = by_seat
        .into_iter()
        .filter(|(_, (from, until))| from < until)
        .map(|(seat, (from, until))| Holding {
            seat: seat.to_owned(),
            from,
            until,
        })
        .collect();
    holdings.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.seat.cmp(&b.seat)));
    holdings
}

/// Sweeps the certain holdings of `observations` in time order and answers the first
/// instant at which more than `capacity` seats were certainly held, or how full it got.
/// At one instant, holdings that end there are counted out before those that start there.
pub fn check(observations: &[Observation], capacity: usize) -> Result<Verdict, Overbooking> {
    let Some(origin) = observations.iter().map(|o| o.sent).min() else {
        return Ok(Verdict { seats: 0, peak: 0 });
    };
    let seats = observations
        .iter()
        .map(|o| o.seat.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    let holdings = certain_holdings(observations);
    // (instant, 0 = end / 1 = start, holding): ends sort before starts at the same instant.
    let mut events: Vec<(Instant, u8, usize)> = Vec::with_capacity(holdings.len() * 2);
    for (i, h) in holdings.iter().enumerate() {
        events.push((h.from, 1, i));
        events.push((h.until, 0, i));
    }
    events.sort_unstable();
    let mut held: BTreeSet<&str> = BTreeSet::new();
    let mut peak = 0;
    for (at, kind, i) in events {
        let seat = holdings[i].seat.as_str();
        if kind == 0 {
            held.remove(seat);
            continue;
        }
        held.insert(seat);
        peak = peak.max(held.len());
        if held.len() > capacity {
            return Err(Overbooking {
                at,
                offset: at.duration_since(origin),
                capacity,
                seats: held.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
    }
    Ok(Verdict { seats, peak })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instants `ms` milliseconds after a common origin.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    fn clock() -> Clock {
        Clock(Instant::now())
    }

    fn obs(c: &Clock, op: Op, seat: &str, sent: u64, answered: u64) -> Observation {
        Observation {
            op,
            seat: seat.to_owned(),
            sent: c.at(sent),
            answered: c.at(answered),
        }
    }

    #[test]
    fn s1_more_seats_than_capacity_is_reported_with_the_instant_and_the_seats() {
        let c = clock();
        let history = vec![
            obs(&c, Op::Grant, "S-1", 0, 10),
            obs(&c, Op::Grant, "S-2", 5, 20),
            obs(&c, Op::Grant, "S-3", 25, 30),
            obs(&c, Op::Heartbeat, "S-1", 40, 45),
            obs(&c, Op::Heartbeat, "S-2", 40, 45),
            obs(&c, Op::Release, "S-3", 50, 55),
        ];
        let over = check(&history, 2).expect_err("three seats held at +30 ms");
        assert_eq!(over.at, c.at(30));
        assert_eq!(over.offset, Duration::from_millis(30));
        assert_eq!(over.capacity, 2);
        assert_eq!(over.seats, ["S-1", "S-2", "S-3"]);
        let said = over.to_string();
        assert!(said.contains("+0.030 s") && said.contains("S-3"), "{said}");
        assert_eq!(check(&history, 3), Ok(Verdict { seats: 3, peak: 3 }));
    }

    #[test]
    fn touching_holdings_do_not_overlap() {
        let c = clock();
        // S-1 is certainly held on [10, 40]; S-2 from 40 on: one seat at a time.
        let history = vec![
            obs(&c, Op::Grant, "S-1", 0, 10),
            obs(&c, Op::Release, "S-1", 40, 60),
            obs(&c, Op::Grant, "S-2", 20, 40),
            obs(&c, Op::Heartbeat, "S-2", 70, 80),
        ];
        assert_eq!(check(&history, 1), Ok(Verdict { seats: 2, peak: 1 }));
    }

    #[test]
    fn s2_a_seat_granted_twice_counts_once() {
        let c = clock();
        let history = vec![
            obs(&c, Op::Grant, "S-1", 0, 10),
            obs(&c, Op::Heartbeat, "S-1", 20, 25),
            // The application starts again on the same device: the same seat (S2).
            obs(&c, Op::Grant, "S-1", 30, 35),
            obs(&c, Op::Heartbeat, "S-1", 40, 45),
            obs(&c, Op::Release, "S-1", 50, 55),
        ];
        assert_eq!(check(&history, 1), Ok(Verdict { seats: 1, peak: 1 }));
        assert_eq!(
            certain_holdings(&history),
            [Holding {
                seat: "S-1".into(),
                from: c.at(10),
                until: c.at(50),
            }]
        );
    }

    #[test]
    fn a_seat_is_certainly_held_only_from_its_first_answer_to_its_last_sending() {
        let c = clock();
        let mut history = vec![
            obs(&c, Op::Grant, "S-1", 0, 10),
            obs(&c, Op::Heartbeat, "S-1", 20, 30),
            // The release may have taken effect as early as 40.
            obs(&c, Op::Release, "S-1", 40, 50),
            // Granted somewhere in [35, 45]: maybe after S-1 went, so no proof of two.
            obs(&c, Op::Grant, "S-2", 35, 45),
            obs(&c, Op::Heartbeat, "S-2", 60, 65),
            // A grant with nothing after it proves no stretch at all.
            obs(&c, Op::Grant, "S-9", 12, 15),
        ];
        assert_eq!(check(&history, 1), Ok(Verdict { seats: 3, peak: 1 }));
        // Answered at 38, before S-1's release was sent: both certainly held at 38.
        history.push(obs(&c, Op::Grant, "S-3", 32, 38));
        history.push(obs(&c, Op::Listed, "S-3", 70, 75));
        let over = check(&history, 1).expect_err("S-1 and S-3 at +38 ms");
        assert_eq!(
            (over.at, over.seats),
            (c.at(38), vec!["S-1".into(), "S-3".into()])
        );
    }

    #[test]
    fn the_order_of_recording_does_not_matter() {
        let c = clock();
        let history = History::new();
        history.record(Op::Release, "S-2", c.at(50), c.at(55));
        history.record(Op::Heartbeat, "S-1", c.at(40), c.at(41));
        history.record(Op::Grant, "S-2", c.at(0), c.at(5));
        history.record(Op::Grant, "S-1", c.at(1), c.at(6));
        assert_eq!(history.count(Op::Grant), 2);
        assert_eq!(history.count_since(Op::Grant, c.at(5)), 1);
        assert_eq!(history.check(2), Ok(Verdict { seats: 2, peak: 2 }));
        let over = history.check(1).expect_err("two seats at +6 ms");
        assert_eq!(over.at, c.at(6));
        assert_eq!(over.offset, Duration::from_millis(6));
    }

    #[test]
    fn an_empty_history_keeps_any_capacity() {
        assert_eq!(check(&[], 0), Ok(Verdict { seats: 0, peak: 0 }));
    }
}
