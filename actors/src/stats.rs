//! Counters the engine keeps for metrics: plain atomics that pool actors and the committer
//! bump on their own threads (no lock), read by the service's metrics collector at scrape
//! time. `AtomicHistogram` counts observations into fixed buckets the same way. The metrics
//! format (Prometheus) is the service's business, not the engine's.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{Change, GoneReason};

/// A histogram of fixed buckets, updated with atomics.
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [f64],
    /// One count per bound (observations at or under it, not cumulative), then the rest.
    counts: Vec<AtomicU64>,
    /// The sum of observations, in millionths of their unit.
    sum_micros: AtomicU64,
}

/// What an `AtomicHistogram` held when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Upper bounds and the number of observations at or under each (cumulative).
    pub buckets: Vec<(f64, u64)>,
    /// Observations in all.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl AtomicHistogram {
    /// A histogram with these ascending upper bounds.
    pub fn new(bounds: &'static [f64]) -> Self {
        AtomicHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, value: f64) {
        let i = self.bounds.partition_point(|b| *b < value);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.bounds.len());
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            buckets.push((*bound, cumulative));
        }
        let rest = self.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
        HistogramSnapshot {
            buckets,
            count: cumulative + rest,
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Seconds a store commit may take, as the commit histogram's buckets.
pub const COMMIT_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Pool commits carried by one store call, as the batch-size histogram's buckets.
pub const BATCH_SIZES: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Why seats were taken away, in the order `SeatEvents::revoked` counts them.
pub const REVOKE_REASONS: [GoneReason; 3] = [
    GoneReason::Revoked,
    GoneReason::CapacityReduced,
    GoneReason::MemberBlocked,
];

/// Seat events the engine decides on its own (not answers to a request): expiries and
/// revocations, and requests that joined a waiting queue.
#[derive(Debug, Default)]
pub struct SeatEvents {
    /// Seats freed by their heartbeat timeout (S4) or the end of an offline period.
    pub expired: AtomicU64,
    /// Seats taken away, per `REVOKE_REASONS`.
    pub revoked: [AtomicU64; 3],
    /// Seat requests that joined a pool's waiting queue (W1).
    pub queued: AtomicU64,
}

impl SeatEvents {
    /// Counts the removals among a table's changes.
    pub(crate) fn count(&self, changes: &[Change]) {
        for change in changes {
            if let Change::SeatRemoved(tomb) = change {
                match tomb.reason {
                    GoneReason::Expired => {
                        self.expired.fetch_add(1, Ordering::Relaxed);
                    }
                    GoneReason::Released => {}
                    reason => {
                        if let Some(i) = REVOKE_REASONS.iter().position(|r| *r == reason) {
                            self.revoked[i].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_counts_into_cumulative_buckets() {
        let h = AtomicHistogram::new(&[1.0, 2.0, 4.0]);
        for v in [0.5, 1.0, 1.5, 3.0, 9.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(1.0, 2), (2.0, 3), (4.0, 4)]);
        assert_eq!(s.count, 5);
        assert!((s.sum - 15.0).abs() < 1e-9);
    }
}
