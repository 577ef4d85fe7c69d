//! `CachedRecords`: an `AccountStore` that keeps the records every pool request reads (a
//! pool's service record, and one account's membership of a pool) in memory in front of any
//! backend, so that access checks read no storage after the first time, and keep working
//! while Redis is down. Every write of this node goes through it, so it updates what it
//! holds; with several nodes, the others' writes arrive through `cluster::bus` and are
//! forgotten (`forget_pool`, `forget_membership`, `forget_everything`). Nothing else is
//! cached here. Besides, what a pool's description
//! and member list only show (its owner's account and licenses, its members and their
//! accounts) is remembered as last read, and answered only while the store is unavailable
//! (`LastKnown`, R3): while the store answers, those reads go to it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use seatbroker_actors::store::{StoreError, StoreFuture};
use seatbroker_actors::{AccountId, LicenseId, PoolId, Timestamp};

use super::{
    AccountRecord, AccountStore, AuditEntry, Claim, CreateAccountError, CreateLicenseError,
    LicenseRecord, LinkRecord, MembershipRecord, PoolRecord, SessionRecord, TrialRecord,
};

/// Entries a read-through map keeps before it starts afresh, so memory stays bounded.
const MAX_ENTRIES: usize = 1_000_000;

/// A map of values read through from the store on first use and forgotten when their record
/// is written. A read that saw a forget happen while it read the store does not keep what it
/// read, which may predate the write. Used here for pool records and memberships, and by the
/// service for each account's pools (S8). `forget_everything` (a node that may have missed
/// other nodes' changes) keeps what it forgot as unverified: answered only when reading the
/// store fails (Redis down, R3), never while the store answers.
pub struct ReadThrough<K, V> {
    entries: DashMap<K, V>,
    unverified: DashMap<K, V>,
    writes: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> Default for ReadThrough<K, V> {
    fn default() -> Self {
        ReadThrough {
            entries: DashMap::new(),
            unverified: DashMap::new(),
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
    /// forget happened meanwhile); when that read fails, an unverified value if there is one.
    pub async fn get<E>(
        &self,
        key: K,
        read: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        if let Some(known) = self.entries.get(&key) {
            return Ok(known.clone());
        }
        let writes = self.writes.load(Ordering::Acquire);
        let value = match read.await {
            Ok(value) => value,
            Err(e) => return self.unverified.get(&key).map(|v| v.clone()).ok_or(e),
        };
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.unverified.remove(&key);
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
        self.unverified.remove(&key);
    }

    /// Forgets every value (changes may have been missed: several nodes, `cluster::bus`), so
    /// the next reads go to the store; what was held stays as unverified, for reads while the
    /// store fails (the bus misses changes exactly while Redis is down).
    pub fn forget_everything(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        if self.unverified.len() >= MAX_ENTRIES {
            self.unverified.clear();
        }
        self.entries.retain(|key, value| {
            self.unverified.insert(*key, value.clone());
            false
        });
    }

    /// Whether a value of `key` is held.
    pub fn holds(&self, key: K) -> bool {
        self.entries.contains_key(&key)
    }
}

/// Values as last read from the store, answered instead of the store's error only while it
/// is unavailable (R3: an owner node keeps answering reads while Redis is down). While the
/// store answers, its answer is the one given, so nothing here is ever staler than the store
/// but during an outage, and then no staler than this node's last read before it. A read
/// that saw a forget happen while it read the store does not keep what it read.
pub struct LastKnown<K, V> {
    entries: DashMap<K, V>,
    writes: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> Default for LastKnown<K, V> {
    fn default() -> Self {
        LastKnown {
            entries: DashMap::new(),
            writes: AtomicU64::new(0),
        }
    }
}

impl<K: std::hash::Hash + Eq + Copy, V: Clone> LastKnown<K, V> {
    /// What `read` reads from the store, kept for later; while the store is unavailable, the
    /// value kept, if any.
    pub async fn read(
        &self,
        key: K,
        read: impl std::future::Future<Output = Result<V, StoreError>>,
    ) -> Result<V, StoreError> {
        let writes = self.writes.load(Ordering::Acquire);
        match read.await {
            Ok(value) => {
                if self.entries.len() >= MAX_ENTRIES {
                    self.entries.clear();
                }
                self.entries.insert(key, value.clone());
                if self.writes.load(Ordering::Acquire) != writes {
                    self.entries.remove(&key);
                }
                Ok(value)
            }
            Err(StoreError::Unavailable(why)) => match self.entries.get(&key) {
                Some(known) => Ok(known.clone()),
                None => Err(StoreError::Unavailable(why)),
            },
            Err(other) => Err(other),
        }
    }

    /// Forgets `key` after its record was written (or a write failed half-way).
    pub fn forget(&self, key: K) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.entries.remove(&key);
    }
}

/// The caching decorator.
pub struct CachedRecords {
    inner: Arc<dyn AccountStore>,
    pools: ReadThrough<PoolId, Option<PoolRecord>>,
    memberships: ReadThrough<(PoolId, AccountId), Option<MembershipRecord>>,
    accounts_shown: LastKnown<AccountId, Option<AccountRecord>>,
    licenses_shown: LastKnown<AccountId, Vec<LicenseRecord>>,
    members_shown: LastKnown<PoolId, Vec<MembershipRecord>>,
}

impl CachedRecords {
    /// Several nodes: another node wrote `pool`'s record; the next read takes it from the
    /// store.
    pub fn forget_pool(&self, pool: PoolId) {
        self.pools.forget(pool);
    }

    /// Several nodes: another node wrote `account`'s membership of `pool`.
    pub fn forget_membership(&self, pool: PoolId, account: AccountId) {
        self.memberships.forget((pool, account));
        self.members_shown.forget(pool);
    }

    /// Several nodes: changes may have been missed; every record is read again. What is
    /// shown only while the store is unavailable (`LastKnown`) is never staler than the store
    /// while it answers, so it stays.
    pub fn forget_everything(&self) {
        self.pools.forget_everything();
        self.memberships.forget_everything();
    }

    /// Caches the records of `inner`.
    pub fn new(inner: Arc<dyn AccountStore>) -> Self {
        CachedRecords {
            inner,
            pools: ReadThrough::default(),
            memberships: ReadThrough::default(),
            accounts_shown: LastKnown::default(),
            licenses_shown: LastKnown::default(),
            members_shown: LastKnown::default(),
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

    fn secret(
        &self,
        name: &'static str,
        candidate: Vec<u8>,
    ) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        self.inner.secret(name, candidate)
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, Result<(), StoreError>> {
        self.inner.append_audit(entry)
    }

    fn audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> StoreFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        self.inner.audit(since, limit)
    }

    fn replace_secret(
        &self,
        name: &'static str,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        self.inner.replace_secret(name, before, after)
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        Box::pin(async move {
            let holder = license.activated_by;
            let created = self.inner.create_license(license).await;
            if let Some(holder) = holder {
                self.licenses_shown.forget(holder);
            }
            created
        })
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
        Box::pin(async move {
            let claimed = self.inner.claim_license(key, account).await;
            self.licenses_shown.forget(account);
            claimed
        })
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        self.inner.licenses_of(account)
    }

    fn transfer_license(
        &self,
        id: LicenseId,
        from: AccountId,
        to: AccountId,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let moved = self.inner.transfer_license(id, from, to).await;
            self.licenses_shown.forget(from);
            self.licenses_shown.forget(to);
            moved
        })
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
            self.members_shown.forget(key.0);
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
            self.members_shown.forget(pool);
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

    fn replace_account(
        &self,
        before: AccountRecord,
        after: AccountRecord,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let id = after.id;
            let written = self.inner.replace_account(before, after).await;
            self.accounts_shown.forget(id);
            written
        })
    }

    fn delete_account(&self, before: AccountRecord) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let id = before.id;
            let deleted = self.inner.delete_account(before).await;
            self.accounts_shown.forget(id);
            self.licenses_shown.forget(id);
            deleted
        })
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

    fn account_to_show(
        &self,
        id: AccountId,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(self.accounts_shown.read(id, self.inner.account(id)))
    }

    fn licenses_to_show(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        Box::pin(
            self.licenses_shown
                .read(account, self.inner.licenses_of(account)),
        )
    }

    fn members_to_show(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(self.members_shown.read(pool, self.inner.members_of(pool)))
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

    fn down() -> StoreError {
        StoreError::Unavailable("Redis is down".into())
    }

    #[actix_rt::test]
    async fn r3_last_known_answers_the_store_while_it_answers_and_the_last_read_only_while_down() {
        let shown = LastKnown::<u32, &str>::default();
        assert_eq!(shown.read(1, async { Err(down()) }).await, Err(down()));
        assert_eq!(shown.read(1, async { Ok("old") }).await, Ok("old"));
        assert_eq!(
            shown.read(1, async { Ok("new") }).await,
            Ok("new"),
            "the store's answer, not the one kept"
        );
        assert_eq!(shown.read(1, async { Err(down()) }).await, Ok("new"));
        let owned = StoreError::PoolOwnedElsewhere(PoolId(1));
        assert_eq!(
            shown.read(1, async { Err(owned.clone()) }).await,
            Err(owned),
            "only unavailability falls back"
        );
        shown.forget(1);
        assert_eq!(shown.read(1, async { Err(down()) }).await, Err(down()));
        // A write while the store is read: the value read may predate it and is not kept.
        let raced = shown.read(1, async {
            shown.forget(1);
            Ok("before the write")
        });
        assert_eq!(raced.await, Ok("before the write"));
        assert_eq!(shown.read(1, async { Err(down()) }).await, Err(down()));
    }

    #[actix_rt::test]
    async fn r3_after_forgetting_everything_the_store_answers_and_while_it_fails_the_old_value() {
        let cache = ReadThrough::<u32, &str>::default();
        assert_eq!(cache.get(1, async { Ok::<_, ()>("old") }).await, Ok("old"));
        cache.forget_everything();
        assert!(!cache.holds(1));
        assert_eq!(
            cache.get(1, async { Ok::<_, ()>("new") }).await,
            Ok("new"),
            "the store's answer while it answers"
        );
        cache.forget_everything();
        assert_eq!(
            cache.get(1, async { Err(()) }).await,
            Ok("new"),
            "the value held before, while the store fails"
        );
        assert!(!cache.holds(1), "and it is not held as verified");
        cache.forget(1);
        assert_eq!(
            cache.get(1, async { Err(()) }).await,
            Err(()),
            "a write forgets it for good"
        );
    }

    #[actix_rt::test]
    async fn r3_writes_forget_what_is_shown_from_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
        let cached = CachedRecords::new(store);
        cached.members_shown.entries.insert(PoolId(5), Vec::new());
        cached.accounts_shown.entries.insert(AccountId(9), None);
        cached
            .licenses_shown
            .entries
            .insert(AccountId(9), Vec::new());
        let member = MembershipRecord {
            pool: PoolId(5),
            account: AccountId(9),
            status: crate::store::MemberStatus::Blocked,
            joined_at: Timestamp(1),
        };
        cached.put_membership(member).await.expect("put");
        assert!(!cached.members_shown.entries.contains_key(&PoolId(5)));
        cached.members_shown.entries.insert(PoolId(5), Vec::new());
        cached
            .remove_membership(PoolId(5), AccountId(9))
            .await
            .expect("remove");
        assert!(!cached.members_shown.entries.contains_key(&PoolId(5)));
        let _ = cached.claim_license(7, AccountId(9)).await;
        assert!(!cached.licenses_shown.entries.contains_key(&AccountId(9)));
        let record = AccountRecord {
            id: AccountId(9),
            email: "a@b.org".into(),
            email_key: "a@b.org".into(),
            name: "A".into(),
            password_hash: String::new(),
            created_at: Timestamp(1),
            email_confirmed: true,
            language: None,
        };
        let _ = cached.replace_account(record.clone(), record).await;
        assert!(!cached.accounts_shown.entries.contains_key(&AccountId(9)));
    }
}
