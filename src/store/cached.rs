//! `CachedRecords`: an `AccountStore` that keeps the records every pool request reads (a
//! pool's service record, and one account's membership of a pool) in memory in front of any
//! backend, so that access checks read no storage after the first time, and keep working
//! while Redis is down. Every write goes through it (one broker node writes the records), so
//! it updates what it holds; nothing else is cached here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use seatbroker_actors::store::{StoreError, StoreFuture};
use seatbroker_actors::{AccountId, PoolId, Timestamp};

use super::{
    AccountRecord, AccountStore, Claim, CreateAccountError, CreateLicenseError, LicenseRecord,
    LinkRecord, MembershipRecord, PoolRecord, SessionRecord, TrialRecord,
};

/// Entries a read-through map keeps before it starts afresh, so memory stays bounded.
const MAX_ENTRIES: usize = 1_000_000;

/// A map of values read through from the store on first use and forgotten when their record
/// is written. A read that saw a forget happen while it read the store does not keep what it
/// read, which may predate the write. Used here for pool records and memberships, and by the
/// service for each account's pools (S8).
pub struct ReadThrough<K, V> {
    entries: DashMap<K, V>,
    writes: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> Default for ReadThrough<K, V> {
    fn default() -> Self {
        ReadThrough {
            entries: DashMap::new(),
            writes: AtomicU64::new(0),
        }
    }
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> std::fmt::Debug for ReadThrough<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadThrough({} entries)", self.entries.len())
    }
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> ReadThrough<K, V> {
    /// The value of `key`: the one held, or what `read` reads from the store (kept unless a
    /// forget happened meanwhile).
    pub async fn get<E>(
        &self,
        key: K,
        read: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        if let Some(known) = self.entries.get(&key) {
            return Ok(known.clone());
        }
        let writes = self.writes.load(Ordering::Acquire);
        let value = read.await?;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, value.clone());
        // A forget since the store was read may predate this entry: withdraw it then. A
        // forget after this line removes it anyway.
        if self.writes.load(Ordering::Acquire) != writes {
            self.entries.remove(&key);
        }
        Ok(value)
    }

    /// Forgets `key` after its record was written (or a write failed half-way).
    pub fn forget(&self, key: K) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&key);
    }

    /// Whether a value of `key` is held.
    pub fn holds(&self, key: K) -> bool {
        self.entries.contains_key(&key)
    }
}

/// The caching decorator.
pub struct CachedRecords {
    inner: Arc<dyn AccountStore>,
    pools: ReadThrough<PoolId, Option<PoolRecord>>,
    memberships: ReadThrough<(PoolId, AccountId), Option<MembershipRecord>>,
}

impl CachedRecords {
    /// Caches the records of `inner`.
    pub fn new(inner: Arc<dyn AccountStore>) -> Self {
        CachedRecords {
            inner,
            pools: ReadThrough::default(),
            memberships: ReadThrough::default(),
        }
    }
}

impl AccountStore for CachedRecords {
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>> {
        self.inner.create_account(account)
    }

    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        self.inner.account(id)
    }

    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        self.inner.account_by_email(email_key)
    }

    fn signing_key(&self, candidate: Vec<u8>) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        self.inner.signing_key(candidate)
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        self.inner.create_license(license)
    }

    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        self.inner.license_by_key(key)
    }

    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>> {
        self.inner.claim_license(key, account)
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        self.inner.licenses_of(account)
    }

    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let id = pool.pool;
            let written = self.inner.put_pool(pool).await;
            self.pools.forget(id);
            written
        })
    }

    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>> {
        Box::pin(self.pools.get(pool, self.inner.pool(pool)))
    }

    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>> {
        self.inner.set_invite(pool, code)
    }

    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>> {
        self.inner.invite_of(pool)
    }

    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>> {
        self.inner.invite_pool(code)
    }

    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let key = (m.pool, m.account);
            let written = self.inner.put_membership(m).await;
            self.memberships.forget(key);
            written
        })
    }

    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let removed = self.inner.remove_membership(pool, account).await;
            self.memberships.forget((pool, account));
            removed
        })
    }

    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>> {
        Box::pin(
            self.memberships
                .get((pool, account), self.inner.membership(pool, account)),
        )
    }

    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        self.inner.memberships_of(account)
    }

    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        self.inner.members_of(pool)
    }

    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.add_trial(trial)
    }

    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>> {
        self.inner.trials_of(account)
    }

    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.put_session(session)
    }

    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>> {
        self.inner.session(key)
    }

    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.delete_session(key)
    }

    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>> {
        self.inner.delete_sessions_of(account)
    }

    fn update_account(&self, account: AccountRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.update_account(account)
    }

    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.revoke_tokens(account, before)
    }

    fn token_revocations(
        &self,
    ) -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>> {
        self.inner.token_revocations()
    }

    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.put_link(link)
    }

    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>> {
        self.inner.take_link(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::LicenseKind;
    use crate::store::embedded::EmbeddedStore;
    use seatbroker_actors::Timestamp;

    fn record(pool: u64, domain: Option<&str>) -> PoolRecord {
        PoolRecord {
            pool: PoolId(pool),
            owner: AccountId(pool as u32),
            kind: LicenseKind::Educational,
            join_email_domain: domain.map(str::to_owned),
        }
    }

    #[actix_rt::test]
    async fn cached_records_pass_the_account_conformance_tests() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
        crate::store::conformance::run_all(&CachedRecords::new(store), 1_000).await;
    }

    #[actix_rt::test]
    async fn a_write_replaces_what_the_cache_holds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
        let cached = CachedRecords::new(store.clone());
        assert_eq!(cached.pool(PoolId(5)).await, Ok(None), "cached as absent");
        cached.put_pool(record(5, None)).await.expect("put");
        assert_eq!(cached.pool(PoolId(5)).await, Ok(Some(record(5, None))));
        cached
            .put_pool(record(5, Some("uni.edu")))
            .await
            .expect("put");
        assert_eq!(
            cached.pool(PoolId(5)).await,
            Ok(Some(record(5, Some("uni.edu"))))
        );
        let member = MembershipRecord {
            pool: PoolId(5),
            account: AccountId(9),
            status: crate::store::MemberStatus::Active,
            joined_at: Timestamp(1),
        };
        assert_eq!(cached.membership(PoolId(5), AccountId(9)).await, Ok(None));
        cached.put_membership(member.clone()).await.expect("put");
        assert_eq!(
            cached.membership(PoolId(5), AccountId(9)).await,
            Ok(Some(member))
        );
        cached
            .remove_membership(PoolId(5), AccountId(9))
            .await
            .expect("remove");
        assert_eq!(cached.membership(PoolId(5), AccountId(9)).await, Ok(None));
    }
}
