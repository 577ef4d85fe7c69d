//! The service layer: what the JSON API (`http/`) and the portal (`portal/`) both do, as
//! functions on the shared `AppState` that take parsed values and return data or a typed
//! `ServiceError`. Rules that need no I/O live in `domain/`; the seat rules live in the engine.
//! Nothing here knows HTTP: status codes, JSON bodies and HTML are the callers' business, and
//! `http::error` is the one place that maps a `ServiceError` to a status and an error body.

pub mod account_pools;
pub mod accounts;
pub mod activations;
pub mod error;
pub mod history;
pub mod licenses;
pub mod locks;
pub mod me;
pub mod members;
pub mod nodes;
pub mod offline;
pub mod ownership;
pub mod pool_admin;
pub mod pools;
pub mod seats;
pub mod support;
pub mod trials;
pub mod usage;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use seatbroker_actors::store::PoolStore;
use seatbroker_actors::{AccountId, PoolRegistry};

use crate::auth::lockout::Lockouts;
use crate::auth::password::PasswordHasher;
use crate::auth::revocations::TokenRevocations;
use crate::auth::token::TokenKey;
use crate::settings::Settings;
use crate::store::AccountStore;

pub use error::ServiceError;

/// What every request may use: the settings, the engine and the store. Shared, read-only
/// but for the shutdown flag and the caches, which own their own synchronisation.
pub struct AppState {
    /// The broker's settings.
    pub settings: Settings,
    /// The pool actors of this node.
    pub registry: PoolRegistry,
    /// Every pool operation goes through here: run on this node, or on the pool's owner.
    pub engine: crate::cluster::Engine,
    /// The store behind them.
    pub store: Arc<dyn PoolStore>,
    /// Accounts and the signing key.
    pub accounts: Arc<dyn AccountStore>,
    /// A2: password hashing off the arbiters.
    pub hasher: PasswordHasher,
    /// A4: signs and verifies tokens.
    pub tokens: TokenKey,
    /// Issue 16: turns the device ids clients send into the keyed hashes that are stored.
    pub devices: crate::domain::device::DeviceKey,
    /// A4: the accounts whose earlier tokens were revoked.
    pub revocations: TokenRevocations,
    /// A3: failed logins per (email, address).
    pub lockouts: Lockouts,
    /// Issue 18: the rate limits per client address and per account.
    pub limits: crate::limits::Limits,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// S8: which pools each account may use, without a storage read.
    pub account_pools: account_pools::AccountPoolsCache,
    /// Serialises each account's activations, trials and pool administration.
    pub account_locks: locks::AccountLocks,
    /// Set when SIGTERM or Ctrl-C arrived: readiness fails, new waits are refused.
    pub shutting_down: AtomicBool,
    /// What `/metrics` serves.
    pub metrics: crate::metrics::Metrics,
    /// Sends the portal's emails (confirmation and reset links).
    pub mailer: crate::email::Mailer,
    /// The cache in front of `accounts` (the same store), which `nodes` tells of changes.
    pub records: Arc<crate::store::cached::CachedRecords>,
    /// Several nodes: tells the others what this node changed (`None` on one node).
    pub bus: Option<crate::cluster::bus::Bus>,
}

impl AppState {
    /// Whether the broker is draining.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

/// What a service function answers.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Issue 18: a rate limit's answer as the service's, a refusal counted in the metrics.
pub fn within(state: &AppState, answer: Result<(), crate::limits::Refused>) -> ServiceResult<()> {
    answer.map_err(|refused| {
        state.metrics.limit_refused(refused.limit);
        tracing::debug!(limit = refused.limit.name(), "rate limited");
        ServiceError::Limited(refused)
    })
}

/// Whether an action created something or found it done already (a repeated activation,
/// a second join): the API answers 201 or 200 with `warning: "already_active"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Novelty {
    /// Done now.
    New,
    /// Done before; nothing changed.
    Repeated,
}

/// The pools of `account`, from the cache or the store.
pub async fn account_pools(
    state: &AppState,
    account: AccountId,
) -> ServiceResult<Arc<account_pools::AccountPools>> {
    let read = async {
        let own = crate::domain::ids::pool_of(account);
        let owns = state.accounts.pool(own).await?.is_some();
        let shared = state
            .accounts
            .memberships_of(account)
            .await?
            .into_iter()
            .map(|m| m.pool)
            .collect();
        Ok::<_, ServiceError>(Arc::new(account_pools::AccountPools {
            own: owns.then_some(own),
            shared,
        }))
    };
    state.account_pools.get(account, read).await
}

/// Several nodes: tells every other node that `changes` happened, once this node applied
/// them to its own caches. Nothing on a single node.
pub async fn tell_nodes(state: &AppState, changes: &[crate::cluster::bus::Change]) {
    if let Some(bus) = &state.bus {
        for change in changes {
            bus.publish(*change).await;
        }
    }
}

/// Random bytes for ids, keys and codes.
pub(crate) fn random<const N: usize>() -> ServiceResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| ServiceError::Internal("no randomness"))?;
    Ok(bytes)
}
