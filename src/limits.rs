//! Rate limits (issue 18): how often one client address or one account may sign in, create
//! accounts, have emails sent, send offline requests, and fail to activate a code. Request
//! rates are counted per node in memory with governor's GCRA: a burst of the hour's quota,
//! then one more every hour / quota; each limiter keeps at most `MAX_KEYS` keys, forgets a
//! key an hour after its bucket refilled, and past the bound counts new keys together in one
//! shared bucket, so a flood from many addresses cannot grow memory. Failed activations are
//! counted like A3's failed logins (`auth::lockout`), in Redis when there are several nodes.
//! What a refusal looks like to a client is `http::error`'s and the portal's business; the
//! service layer asks here before it does the work.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use seatbroker_actors::store::StoreError;
use seatbroker_actors::{AccountId, Timestamp};

use crate::auth::lockout::Lockouts;
use crate::settings::LimitsSettings;

/// Keys one limiter tracks before new keys share the overflow bucket.
pub const MAX_KEYS: usize = 100_000;

/// Checks between two sweeps of forgotten keys.
const SWEEP_EVERY: u64 = 10_000;

/// The same while the limiter holds `MAX_KEYS` keys.
const FULL_SWEEP_EVERY: u64 = 1_000;

/// What was limited, for the refusal's `limit` field, the metrics and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Sign-ins from one client address.
    Login,
    /// Accounts created from one client address.
    Accounts,
    /// Confirmation and reset emails asked for from one client address.
    EmailsFromAddress,
    /// Confirmation and reset emails sent to one account.
    EmailsToAccount,
    /// Offline requests of one account.
    Offline,
    /// Failed activations of one account.
    Activations,
}

impl Limit {
    /// Every limit, so that each one's refusal count is exported from the start (at 0).
    pub const ALL: [Limit; 6] = [
        Limit::Login,
        Limit::Accounts,
        Limit::EmailsFromAddress,
        Limit::EmailsToAccount,
        Limit::Offline,
        Limit::Activations,
    ];

    /// The name clients and dashboards see.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Login => "login",
            Limit::Accounts => "accounts",
            Limit::EmailsFromAddress => "emails_from_address",
            Limit::EmailsToAccount => "emails_to_account",
            Limit::Offline => "offline",
            Limit::Activations => "activations",
        }
    }
}

/// A refusal: which limit, and the seconds until one more attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The limit that refused.
    pub limit: Limit,
    /// Seconds until the next attempt may succeed (`Retry-After`), at least 1.
    pub retry_after_s: u64,
}

/// The key of a client address: an IPv4 address, or an IPv6 address's /64 network (one
/// household or host is given a whole /64, so single IPv6 addresses are free to an attacker).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        },
    }
}

/// Where a key is counted: its own bucket, or the overflow bucket once the limiter is full.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Slot<K> {
    Own(K),
    Overflow,
}

/// governor's map of buckets, shared with `RateLimit`, which asks it whether a key is
/// tracked (governor's limiter owns its store and does not say).
struct Buckets<K: Hash + Eq + Clone>(Arc<DashMapStateStore<Slot<K>>>);

impl<K: Hash + Eq + Clone> StateStore for Buckets<K> {
    type Key = Slot<K>;

    fn measure_and_replace<T, F, E>(&self, key: &Self::Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<Slot<K>> for Buckets<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.0);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// governor's keyed limiter over our buckets.
type Limiter<K, C> = RateLimiter<Slot<K>, Buckets<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One request-rate limit over keys `K` (addresses or accounts), off when the quota is 0.
pub struct RateLimit<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limit: Limit,
    limiter: Option<Limiter<K, C>>,
    buckets: Arc<DashMapStateStore<Slot<K>>>,
    clock: C,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// `per_hour` attempts an hour per key (a burst of all of them), or none limited when 0.
    pub fn per_hour(limit: Limit, per_hour: u32) -> Self {
        Self::with_clock(limit, per_hour, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> RateLimit<K, C> {
    /// The same on `clock` (tests move a fake one).
    pub fn with_clock(limit: Limit, per_hour: u32, clock: C) -> Self {
        let buckets = Arc::new(DashMapStateStore::default());
        let limiter = NonZeroU32::new(per_hour).map(|n| {
            RateLimiter::new(
                Quota::per_hour(n),
                Buckets(Arc::clone(&buckets)),
                clock.clone(),
            )
        });
        RateLimit {
            limit,
            limiter,
            buckets,
            clock,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt of `key`; refused when its bucket is empty.
    pub fn check(&self, key: &K) -> Result<(), Refused> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let checks = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        // A sweep scans every key: never on each check, even while full (a flood from many
        // addresses would make every request pay for 100,000 keys).
        let full = limiter.len() >= MAX_KEYS;
        if checks % SWEEP_EVERY == 0 || (full && checks % FULL_SWEEP_EVERY == 0) {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let own = Slot::Own(key.clone());
        // A key already tracked keeps its bucket; a new one past the bound shares one.
        let slot = if limiter.len() >= MAX_KEYS && !self.buckets.contains_key(&own) {
            Slot::Overflow
        } else {
            own
        };
        limiter.check_key(&slot).map_err(|not_until| Refused {
            limit: self.limit,
            retry_after_s: not_until
                .wait_time_from(self.clock.now())
                .as_secs()
                .saturating_add(1),
        })
    }

    /// Keys tracked now.
    pub fn keys(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }
}

/// Every limit of the broker, built from `[limits]`.
pub struct Limits {
    /// Sign-ins per client address.
    pub login: RateLimit<IpAddr>,
    /// Accounts created per client address.
    pub accounts: RateLimit<IpAddr>,
    /// Emails asked for per client address.
    pub emails_from_address: RateLimit<IpAddr>,
    /// Emails sent per account.
    pub emails_to_account: RateLimit<AccountId>,
    /// Offline requests per account.
    pub offline: RateLimit<AccountId>,
    /// Failed activations per account, counted like A3's failed logins.
    pub activations: Lockouts,
    activations_on: bool,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

/// The failure count of one account's activations.
fn activation_key(account: AccountId) -> String {
    format!("activations\n{account}")
}

impl Limits {
    /// The limits `settings` ask for; `activations` is where failed activations are counted
    /// (shared in Redis when there are several nodes).
    pub fn new(settings: &LimitsSettings, activations: Lockouts) -> Self {
        Limits {
            login: RateLimit::per_hour(Limit::Login, settings.login_per_address_per_hour),
            accounts: RateLimit::per_hour(Limit::Accounts, settings.accounts_per_address_per_hour),
            emails_from_address: RateLimit::per_hour(
                Limit::EmailsFromAddress,
                settings.emails_per_address_per_hour,
            ),
            emails_to_account: RateLimit::per_hour(
                Limit::EmailsToAccount,
                settings.emails_per_account_per_hour,
            ),
            offline: RateLimit::per_hour(Limit::Offline, settings.offline_per_account_per_hour),
            activations,
            activations_on: settings.activation_failures_per_account_per_hour > 0,
        }
    }

    /// The failed-activation counts `settings` ask for: that many failures, each within an
    /// hour of the one before, refuse the account's activations for an hour.
    pub fn activation_counts(settings: &LimitsSettings) -> Lockouts {
        Lockouts::new(
            settings.activation_failures_per_account_per_hour.max(1),
            3_600,
        )
    }

    /// Refused while `account` failed too many activations.
    pub async fn check_activation(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Result<(), Refused>, StoreError> {
        if !self.activations_on {
            return Ok(Ok(()));
        }
        Ok(self
            .activations
            .check_shared(&activation_key(account), now)
            .await?
            .map_err(|retry_after_s| Refused {
                limit: Limit::Activations,
                retry_after_s,
            }))
    }

    /// Counts a failed activation of `account`; true for the failure that starts the refusal.
    pub async fn activation_failed(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if !self.activations_on {
            return Ok(false);
        }
        self.activations
            .failure_shared(&activation_key(account), now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_of_the_quota_then_one_more_per_interval() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(Limit::EmailsFromAddress, 3, clock.clone());
        let me = ip("198.51.100.7");
        for _ in 0..3 {
            assert_eq!(limit.check(&me), Ok(()));
        }
        let refused = limit.check(&me).unwrap_err();
        assert_eq!(refused.limit, Limit::EmailsFromAddress);
        assert!(
            (1_199..=1_201).contains(&refused.retry_after_s),
            "one email comes back every 20 minutes: {refused:?}"
        );
        assert_eq!(
            limit.check(&ip("198.51.100.8")),
            Ok(()),
            "others unaffected"
        );
        clock.advance(Duration::from_secs(1_199));
        assert!(limit.check(&me).is_err());
        clock.advance(Duration::from_secs(2));
        assert_eq!(limit.check(&me), Ok(()));
        assert!(limit.check(&me).is_err(), "only one came back");
    }

    #[test]
    fn a_quota_of_0_limits_nothing() {
        let limit: RateLimit<IpAddr> = RateLimit::per_hour(Limit::Login, 0);
        for _ in 0..10_000 {
            assert_eq!(limit.check(&ip("127.0.0.1")), Ok(()));
        }
        assert_eq!(limit.keys(), 0);
    }

    #[test]
    fn keys_are_forgotten_an_hour_after_their_bucket_refilled() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(Limit::Login, 60, clock.clone());
        for n in 0..1_000u32 {
            limit.check(&n).unwrap();
        }
        assert_eq!(limit.keys(), 1_000);
        // governor forgets a key an hour (its burst's tolerance) after its bucket refilled.
        clock.advance(Duration::from_secs(3_600 + 61));
        for _ in 0..SWEEP_EVERY {
            limit.check(&u32::MAX).unwrap_or(());
        }
        assert_eq!(limit.keys(), 1, "only the key still in use is kept");
    }

    #[test]
    fn past_the_bound_new_keys_share_one_bucket_and_memory_stays_bounded() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(Limit::Accounts, 2, clock);
        for n in 0..MAX_KEYS as u32 {
            limit.check(&n).unwrap();
        }
        // Two new keys share the overflow bucket of 2; the third is refused.
        assert_eq!(limit.check(&(u32::MAX - 1)), Ok(()));
        assert_eq!(limit.check(&(u32::MAX - 2)), Ok(()));
        assert!(limit.check(&(u32::MAX - 3)).is_err());
        assert!(limit.keys() <= MAX_KEYS + 1, "{}", limit.keys());
        // Keys tracked before keep their own bucket.
        assert_eq!(limit.check(&7), Ok(()));
        assert!(limit.check(&7).is_err());
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[actix_rt::test]
    async fn twenty_failed_activations_refuse_the_account_for_an_hour() {
        let settings = LimitsSettings {
            activation_failures_per_account_per_hour: 20,
            ..LimitsSettings::off()
        };
        let limits = Limits::new(&settings, Limits::activation_counts(&settings));
        let (ada, bo) = (AccountId(1), AccountId(2));
        let now = Timestamp(1_800_000_000_000);
        for n in 1..=20 {
            assert_eq!(limits.check_activation(ada, now).await.unwrap(), Ok(()));
            assert_eq!(limits.activation_failed(ada, now).await.unwrap(), n == 20);
        }
        let refused = limits
            .check_activation(ada, now)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            refused,
            Refused {
                limit: Limit::Activations,
                retry_after_s: 3_600
            }
        );
        assert_eq!(limits.check_activation(bo, now).await.unwrap(), Ok(()));
        let later = now.plus_secs(3_600);
        assert_eq!(limits.check_activation(ada, later).await.unwrap(), Ok(()));
    }
}
