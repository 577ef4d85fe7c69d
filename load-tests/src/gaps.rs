//! `GapWatch`: how long the clients went without an answer after a moment the `failover`
//! command marks (the kill of a node): the time from that moment to the first successful
//! answer, and the worst gap between consecutive successful answers from then on (the first
//! gap being the one from the mark to the first answer). Only attempts sent at or after the
//! mark count, so an answer the dead node wrote before it died, read a little later, does
//! not close the gap. It sends nothing and reads no clock: the client tasks hand it the
//! times (`scenario::Ctx`), and it keeps them in atomics, one `fetch_max` per answer, so the
//! scenarios that never mark a moment pay one relaxed load per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// No moment marked (`kill_at`), or no answer yet (`first`).
const NONE: u64 = u64::MAX;

/// The answers after a marked moment, shared by the client tasks of one run.
#[derive(Debug)]
pub struct GapWatch {
    /// Times are kept as nanoseconds since this instant.
    base: Instant,
    /// The marked moment, or `NONE`.
    mark: AtomicU64,
    /// The first successful answer to an attempt sent after the mark, or `NONE`.
    first: AtomicU64,
    /// The latest successful answer after the mark (the mark itself before the first).
    last: AtomicU64,
    /// The worst gap so far, ns.
    worst: AtomicU64,
    /// Successful answers to attempts sent after the mark.
    answers: AtomicU64,
}

/// An attempt sent after the mark (`GapWatch::sent`), whose answer counts.
#[derive(Debug, Clone, Copy)]
pub struct Watched(());

/// What a `GapWatch` saw after its mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaps {
    /// The marked moment.
    pub mark: Instant,
    /// From the mark to the first successful answer; `None` when none came.
    pub first_answer_after: Option<Duration>,
    /// The worst gap between consecutive successful answers from the mark on (the first
    /// counted from the mark); `None` when no answer came.
    pub worst_gap: Option<Duration>,
    /// Successful answers to attempts sent after the mark.
    pub answers: u64,
}

impl GapWatch {
    /// A watch with no moment marked; `base` is any instant no later than the times it will
    /// be handed.
    pub fn new(base: Instant) -> GapWatch {
        GapWatch {
            base,
            mark: AtomicU64::new(NONE),
            first: AtomicU64::new(NONE),
            last: AtomicU64::new(0),
            worst: AtomicU64::new(0),
            answers: AtomicU64::new(0),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        let ns = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(ns).unwrap_or(NONE - 1).min(NONE - 1)
    }

    /// Marks `at` (the kill) and forgets what an earlier mark saw.
    pub fn mark(&self, at: Instant) {
        let at = self.nanos(at);
        self.first.store(NONE, Ordering::Relaxed);
        self.last.store(at, Ordering::Relaxed);
        self.worst.store(0, Ordering::Relaxed);
        self.answers.store(0, Ordering::Relaxed);
        self.mark.store(at, Ordering::Release);
    }

    /// Forgets the mark and what it saw.
    pub fn clear(&self) {
        self.mark.store(NONE, Ordering::Release);
        self.first.store(NONE, Ordering::Relaxed);
        self.worst.store(0, Ordering::Relaxed);
        self.answers.store(0, Ordering::Relaxed);
    }

    /// Whether a moment is marked (one relaxed load: callers skip reading the clock when not).
    pub fn marked(&self) -> bool {
        self.mark.load(Ordering::Relaxed) != NONE
    }

    /// An attempt is sent `now`: `Some` when its answer counts (a mark is set, and `now` is
    /// not before it).
    pub fn sent(&self, now: Instant) -> Option<Watched> {
        let mark = self.mark.load(Ordering::Acquire);
        (mark != NONE && self.nanos(now) >= mark).then_some(Watched(()))
    }

    /// The attempt `_sent` was answered successfully `now`.
    pub fn answered(&self, _sent: Watched, now: Instant) {
        let now = self.nanos(now);
        self.answers.fetch_add(1, Ordering::Relaxed);
        self.first.fetch_min(now, Ordering::Relaxed);
        // `fetch_max` keeps `last` moving forward when two tasks record out of order; the
        // later of them then sees no gap, so a gap is never made larger than it was.
        let previous = self.last.fetch_max(now, Ordering::Relaxed);
        self.worst
            .fetch_max(now.saturating_sub(previous), Ordering::Relaxed);
    }

    /// What was seen since the mark; `None` when no moment is marked.
    pub fn gaps(&self) -> Option<Gaps> {
        let mark = self.mark.load(Ordering::Acquire);
        if mark == NONE {
            return None;
        }
        let first = self.first.load(Ordering::Relaxed);
        let answered = first != NONE;
        Some(Gaps {
            mark: self.base + Duration::from_nanos(mark),
            first_answer_after: answered.then(|| Duration::from_nanos(first - mark)),
            worst_gap: answered.then(|| Duration::from_nanos(self.worst.load(Ordering::Relaxed))),
            answers: self.answers.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_is_watched_before_a_mark() {
        let t0 = Instant::now();
        let watch = GapWatch::new(t0);
        assert!(!watch.marked());
        assert!(watch.sent(t0 + ms(5)).is_none());
        assert_eq!(watch.gaps(), None);
    }

    #[test]
    fn the_first_answer_and_the_worst_gap_count_from_the_kill() {
        let t0 = Instant::now();
        let watch = GapWatch::new(t0);
        let kill = t0 + ms(1_000);
        watch.mark(kill);
        for (sent, answered) in [
            (1_010, 1_600),
            (1_600, 1_650),
            (1_650, 2_450),
            (2_450, 2_460),
        ] {
            let token = watch.sent(t0 + ms(sent)).expect("sent after the kill");
            watch.answered(token, t0 + ms(answered));
        }
        let gaps = watch.gaps().expect("marked");
        assert_eq!(gaps.mark, kill);
        assert_eq!(gaps.first_answer_after, Some(ms(600)));
        assert_eq!(gaps.worst_gap, Some(ms(800)));
        assert_eq!(gaps.answers, 4);
    }

    #[test]
    fn an_attempt_sent_before_the_kill_does_not_close_the_gap() {
        let t0 = Instant::now();
        let watch = GapWatch::new(t0);
        watch.mark(t0 + ms(100));
        assert!(watch.sent(t0 + ms(99)).is_none());
        let gaps = watch.gaps().expect("marked");
        assert_eq!(gaps.first_answer_after, None);
        assert_eq!(gaps.worst_gap, None);
    }

    #[test]
    fn answers_recorded_out_of_order_never_widen_a_gap() {
        let t0 = Instant::now();
        let watch = GapWatch::new(t0);
        watch.mark(t0);
        let token = watch.sent(t0).expect("watched");
        watch.answered(token, t0 + ms(300));
        watch.answered(token, t0 + ms(200));
        watch.answered(token, t0 + ms(350));
        let gaps = watch.gaps().expect("marked");
        assert_eq!(gaps.first_answer_after, Some(ms(200)));
        assert_eq!(gaps.worst_gap, Some(ms(300)));
    }

    #[test]
    fn clearing_forgets_the_mark() {
        let t0 = Instant::now();
        let watch = GapWatch::new(t0);
        watch.mark(t0);
        watch.clear();
        assert_eq!(watch.gaps(), None);
        assert!(watch.sent(t0 + ms(1)).is_none());
    }
}
