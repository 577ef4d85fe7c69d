//! Time as the engine sees it: a `Timestamp` in milliseconds since the Unix epoch, passed into
//! the seat table as an argument, and the `Clock` trait the actor reads it from. The table
//! never reads a clock; only the actor does, through this trait, so tests can drive time.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A moment in UTC, in milliseconds since the Unix epoch.
#[derive(
    Copy, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

/// Milliseconds in one second.
pub const SECOND_MS: u64 = 1_000;
/// Milliseconds in one hour.
pub const HOUR_MS: u64 = 3_600 * SECOND_MS;
/// Milliseconds in one day.
pub const DAY_MS: u64 = 24 * HOUR_MS;

impl Timestamp {
    /// The moment `secs` seconds after the epoch.
    pub fn from_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(SECOND_MS))
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// This moment plus `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// This moment plus `secs` seconds (saturating).
    pub fn plus_secs(self, secs: u64) -> Self {
        self.plus_millis(secs.saturating_mul(SECOND_MS))
    }

    /// The time from `earlier` to this moment, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The start of the UTC hour holding this moment.
    pub fn hour_start(self) -> Self {
        Timestamp(self.0 - self.0 % HOUR_MS)
    }

    /// The start of the UTC day holding this moment.
    pub fn day_start(self) -> Self {
        Timestamp(self.0 - self.0 % DAY_MS)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// Where the actor reads the current time from.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The wall clock of the machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(since.as_millis() as u64)
    }
}

/// A clock that starts at a given wall time and then follows tokio's clock, so that tests
/// with a paused tokio runtime (`tokio::time::pause`, `advance`) move the actor's timers and
/// its notion of "now" together.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_wall: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start_wall` now.
    pub fn starting_at(start_wall: Timestamp) -> Self {
        TokioClock {
            start_wall,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().duration_since(self.start);
        self.start_wall.plus_millis(elapsed.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_and_day_starts_are_utc_boundaries() {
        let t = Timestamp(DAY_MS * 3 + HOUR_MS * 5 + 1234);
        assert_eq!(t.hour_start(), Timestamp(DAY_MS * 3 + HOUR_MS * 5));
        assert_eq!(t.day_start(), Timestamp(DAY_MS * 3));
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(Timestamp(u64::MAX).plus_secs(10), Timestamp(u64::MAX));
        assert_eq!(Timestamp(5).since(Timestamp(10)), Duration::ZERO);
    }
}
