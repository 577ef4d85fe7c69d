//! Several nodes: what one node changes in the service's records that the others hold in
//! memory (pool records and memberships in `CachedRecords`, each account's pools, token
//! revocations) is published on the Redis channel `sb:{r}:changes`, and every node applies
//! what it hears. A node that lost its subscription may have missed changes: it forgets
//! every cached record and reads the revocations again, at once and then every half second
//! until it is subscribed again, so nothing it holds is stale by more than a second.
//!
//! What a node does with a change is the `Listener`'s business (the service implements it);
//! this file only carries changes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use seatbroker_actors::{AccountId, PoolId, Timestamp};

use crate::store::redis::RedisStore;

/// The channel changes travel on.
pub const CHANNEL: &str = "sb:{r}:changes";
/// How often a node without a subscription forgets what it holds, and tries again.
const MISSED_EVERY: Duration = Duration::from_millis(500);

/// A change of a record that nodes hold in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A pool's service record (owner, type, join restriction).
    PoolRecord(PoolId),
    /// An account's membership of a pool (joined, blocked, unblocked, removed).
    Membership(PoolId, AccountId),
    /// The pools an account may use (S8).
    AccountPools(AccountId),
    /// The account's API tokens issued up to this time are void (A4).
    Revoked(AccountId, Timestamp),
}

impl Change {
    /// The change as a message: a letter, then numbers, separated by spaces.
    pub fn encode(&self) -> String {
        match self {
            Change::PoolRecord(p) => format!("p {}", p.0),
            Change::Membership(p, a) => format!("m {} {}", p.0, a.0),
            Change::AccountPools(a) => format!("a {}", a.0),
            Change::Revoked(a, at) => format!("r {} {}", a.0, at.as_millis()),
        }
    }

    /// A message as a change; `None` for anything else.
    pub fn decode(message: &str) -> Option<Change> {
        let mut parts = message.split(' ');
        let kind = parts.next()?;
        let mut number = || parts.next()?.parse::<u64>().ok();
        let change = match kind {
            "p" => Change::PoolRecord(PoolId(number()?)),
            "m" => {
                let pool = PoolId(number()?);
                Change::Membership(pool, AccountId(u32::try_from(number()?).ok()?))
            }
            "a" => Change::AccountPools(AccountId(u32::try_from(number()?).ok()?)),
            "r" => {
                let account = AccountId(u32::try_from(number()?).ok()?);
                Change::Revoked(account, Timestamp(number()?))
            }
            _ => return None,
        };
        parts.next().is_none().then_some(change)
    }
}

/// What a node does with the changes it hears.
pub trait Listener: Send + Sync + 'static {
    /// Applies one change another node (or this one) made.
    fn apply(&self, change: Change);
    /// Changes may have been missed: forget every cached record, read revocations again.
    fn missed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Publishes this node's changes.
#[derive(Debug, Clone)]
pub struct Bus {
    store: Arc<RedisStore>,
}

impl Bus {
    /// The bus on `store`'s Redis.
    pub fn new(store: Arc<RedisStore>) -> Self {
        Bus { store }
    }

    /// Tells every node about `change`. When Redis does not take it, the other nodes have
    /// lost their subscriptions too, and forget everything when they are back (see the
    /// module documentation); so a failure is logged, not returned.
    pub async fn publish(&self, change: Change) {
        if let Err(err) = self.store.publish(CHANNEL, &change.encode()).await {
            tracing::warn!(%err, ?change, "telling the other nodes about a change failed");
        }
    }

    /// Listens until the process ends: subscribes, applies every change heard, and after a
    /// lost subscription forgets what it holds (see the module documentation).
    pub async fn listen(self, listener: Arc<dyn Listener>) {
        loop {
            let subscribed = async {
                let mut pubsub = self.store.client().get_async_pubsub().await?;
                pubsub.subscribe(CHANNEL).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let mut pubsub = match subscribed.await {
                Ok(pubsub) => pubsub,
                Err(err) => {
                    tracing::warn!(%err, "subscribing to the other nodes' changes failed");
                    listener.missed().await;
                    tokio::time::sleep(MISSED_EVERY).await;
                    continue;
                }
            };
            // Whatever changed before the subscription may not have been heard.
            listener.missed().await;
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                let Ok(text) = message.get_payload::<String>() else {
                    continue;
                };
                match Change::decode(&text) {
                    Some(change) => listener.apply(change),
                    None => tracing::warn!(text, "an unreadable change on the bus"),
                }
            }
            tracing::warn!("the subscription to the other nodes' changes ended");
            listener.missed().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_survives_its_message() {
        for change in [
            Change::PoolRecord(PoolId(u64::MAX)),
            Change::Membership(PoolId(5), AccountId(7)),
            Change::AccountPools(AccountId(u32::MAX)),
            Change::Revoked(AccountId(3), Timestamp(1_764_000_000_000)),
        ] {
            assert_eq!(Change::decode(&change.encode()), Some(change));
        }
    }

    #[test]
    fn unreadable_messages_are_no_change() {
        for message in [
            "",
            "x 1",
            "p",
            "p one",
            "m 1",
            "a 4294967296",
            "r 1 2 3",
            "p 1 ",
        ] {
            assert_eq!(Change::decode(message), None, "{message:?}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_text};
    use proptest::prelude::*;

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            any::<u64>().prop_map(|p| Change::PoolRecord(PoolId(p))),
            (any::<u64>(), any::<u32>())
                .prop_map(|(p, a)| Change::Membership(PoolId(p), AccountId(a))),
            any::<u32>().prop_map(|a| Change::AccountPools(AccountId(a))),
            (any::<u32>(), any::<u64>())
                .prop_map(|(a, t)| Change::Revoked(AccountId(a), Timestamp(t))),
        ]
    }

    proptest! {
        #[test]
        fn every_change_round_trips_through_its_message(change in change()) {
            prop_assert_eq!(Change::decode(&change.encode()), Some(change));
        }

        #[test]
        fn reading_any_message_never_panics(
            message in prop_oneof![any_text(), near_text(change().prop_map(|c| c.encode()))],
        ) {
            if let Some(change) = Change::decode(&message) {
                prop_assert_eq!(Change::decode(&change.encode()), Some(change));
            }
        }
    }
}
