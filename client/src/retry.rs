//! `RetryPolicy`: how many times and how long a call is tried again after a 429 or a 503
//! (and, for idempotent calls, after the broker could not be reached), and how long to wait
//! in between: the broker's `Retry-After` when it gave one, otherwise capped exponential
//! backoff with jitter. Which answers count as retryable is decided by the caller in
//! `client`; nothing here sends a request or sleeps.

use std::time::Duration;

/// How a call is retried after a 429, a 503 or (idempotent calls only) a connection error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 never retries.
    pub max_attempts: u32,
    /// No retry starts later than this after the first attempt started.
    pub max_elapsed: Duration,
    /// The first backoff when the broker gave no `Retry-After`.
    pub base_delay: Duration,
    /// The longest backoff between two attempts (a longer `Retry-After` ends the retries).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts within 30 s, backoff from 200 ms up to 5 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(30),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: every 429 and 503 reaches the caller at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts (from 1) took
    /// `elapsed`; `None` when the policy gives up. `random` is a number in [0, 1).
    pub fn delay_after(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        random: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            // Never earlier than asked; a little later, so that clients told the same
            // second do not all come back in the same millisecond.
            Some(asked) if asked > self.max_delay => return None,
            Some(asked) => asked + (asked / 10).min(Duration::from_millis(250)).mul_f64(random),
            None => self.backoff(attempt, random),
        };
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }

    /// Exponential backoff after `attempt` failures, capped, with jitter: a uniform wait
    /// between half and all of `base_delay * 2^(attempt - 1)`.
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        exp / 2 + (exp / 2).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// `Retry-After` in seconds, as the broker sends it; the HTTP-date form is not used by the
/// broker and is ignored (the backoff applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let raw = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn retry_after_is_honoured_never_earlier_and_at_most_a_tenth_later() {
        let p = RetryPolicy::default();
        let asked = Some(Duration::from_secs(1));
        assert_eq!(
            p.delay_after(1, MS, asked, 0.0),
            Some(Duration::from_secs(1))
        );
        let latest = p.delay_after(1, MS, asked, 0.999).expect("a retry");
        assert!(latest >= Duration::from_secs(1) && latest <= Duration::from_millis(1100));
    }

    #[test]
    fn a_retry_after_beyond_the_cap_or_the_budget_gives_up() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay_after(1, MS, Some(Duration::from_secs(900)), 0.5),
            None
        );
        assert_eq!(
            p.delay_after(
                1,
                Duration::from_secs(29),
                Some(Duration::from_secs(2)),
                0.5
            ),
            None
        );
        assert_eq!(p.delay_after(6, MS, None, 0.5), None, "attempts used up");
        assert_eq!(RetryPolicy::none().delay_after(1, MS, None, 0.5), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(5));
        assert!(p.backoff(30, 0.0) >= Duration::from_millis(2500));
    }

    #[test]
    fn retry_after_header_in_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
