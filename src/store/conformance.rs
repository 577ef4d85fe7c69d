//! The checks every backend of `AccountStore` passes: the embedded store runs them now, the
//! Redis store will run the same. Each check uses its own ids and emails, from `seed`.

use seatbroker_actors::{AccountId, LicenseId, PoolId, Timestamp};

use super::{
    AccountRecord, AccountStore, Claim, CreateAccountError, CreateLicenseError, LicenseRecord,
    PoolRecord,
};
use crate::domain::license::LicenseKind;

fn account(id: u32, email: &str) -> AccountRecord {
    AccountRecord {
        id: AccountId(id),
        email: email.to_owned(),
        email_key: email.to_lowercase(),
        name: "Ada".to_owned(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".to_owned(),
        created_at: Timestamp(1_800_000_000_000),
    }
}

/// Runs every check; panics on the first that fails.
pub async fn run_all(store: &dyn AccountStore, seed: u32) {
    accounts_are_found_by_id_and_email(store, seed).await;
    emails_are_unique_case_insensitively(store, seed + 10).await;
    ids_are_unique(store, seed + 20).await;
    the_signing_key_is_kept(store).await;
    licenses_are_claimed_by_exactly_one_account(store, seed + 30).await;
    pool_records_are_kept(store, seed + 40).await;
}

fn license(id: u32) -> LicenseRecord {
    LicenseRecord {
        id: LicenseId(id),
        key: u128::from(id) * 7_919,
        kind: LicenseKind::Educational,
        seats: 15,
        expires_at: Some(Timestamp(1_900_000_000_000)),
        issued_at: Timestamp(1_800_000_000_000),
        activated_by: None,
    }
}

/// L3: the first account to claim a key holds it; the same account again is told so; any
/// other is refused; an id or key is issued once.
pub async fn licenses_are_claimed_by_exactly_one_account(store: &dyn AccountStore, seed: u32) {
    let lic = license(seed);
    store.create_license(lic.clone()).await.expect("issue");
    assert_eq!(
        store.create_license(lic.clone()).await,
        Err(CreateLicenseError::Taken)
    );
    let mut same_key = license(seed + 1);
    same_key.key = lic.key;
    assert_eq!(
        store.create_license(same_key).await,
        Err(CreateLicenseError::Taken)
    );
    assert_eq!(store.license_by_key(lic.key).await, Ok(Some(lic.clone())));
    assert_eq!(store.license_by_key(lic.key + 1).await, Ok(None));
    let (owner, other) = (AccountId(seed), AccountId(seed + 1));
    let claimed = match store.claim_license(lic.key, owner).await.expect("claim") {
        Claim::Claimed(rec) => rec,
        other => panic!("{other:?}"),
    };
    assert_eq!(claimed.activated_by, Some(owner));
    assert!(matches!(
        store.claim_license(lic.key, owner).await,
        Ok(Claim::AlreadyMine(_))
    ));
    assert_eq!(
        store.claim_license(lic.key, other).await,
        Ok(Claim::HeldByOther)
    );
    assert_eq!(
        store.claim_license(lic.key + 1, other).await,
        Ok(Claim::Unknown)
    );
    assert_eq!(store.licenses_of(owner).await, Ok(vec![claimed]));
    assert_eq!(store.licenses_of(other).await, Ok(vec![]));
}

/// A pool's service record is stored and replaced whole.
pub async fn pool_records_are_kept(store: &dyn AccountStore, seed: u32) {
    let mut rec = PoolRecord {
        pool: PoolId(u64::from(seed)),
        owner: AccountId(seed),
        kind: LicenseKind::Commercial,
        join_email_domain: None,
    };
    assert_eq!(store.pool(rec.pool).await, Ok(None));
    store.put_pool(rec.clone()).await.expect("put");
    assert_eq!(store.pool(rec.pool).await, Ok(Some(rec.clone())));
    rec.join_email_domain = Some("example.org".into());
    store.put_pool(rec.clone()).await.expect("replace");
    assert_eq!(store.pool(rec.pool).await, Ok(Some(rec)));
}

/// A created account is found by its id and by its email key, and nothing else is.
pub async fn accounts_are_found_by_id_and_email(store: &dyn AccountStore, seed: u32) {
    let rec = account(seed, &format!("Ada{seed}@Example.org"));
    store.create_account(rec.clone()).await.expect("create");
    assert_eq!(store.account(rec.id).await, Ok(Some(rec.clone())));
    assert_eq!(
        store.account_by_email(rec.email_key.clone()).await,
        Ok(Some(rec))
    );
    assert_eq!(store.account(AccountId(seed + 1)).await, Ok(None));
    assert_eq!(
        store.account_by_email("nobody@example.org".into()).await,
        Ok(None)
    );
}

/// A second account with the same email in other letters is refused.
pub async fn emails_are_unique_case_insensitively(store: &dyn AccountStore, seed: u32) {
    let email = format!("bo{seed}@example.org");
    store
        .create_account(account(seed, &email))
        .await
        .expect("create");
    assert_eq!(
        store
            .create_account(account(seed + 1, &email.to_uppercase()))
            .await,
        Err(CreateAccountError::EmailTaken)
    );
    assert_eq!(store.account(AccountId(seed + 1)).await, Ok(None));
}

/// A second account with the same id is refused, and the first is unchanged.
pub async fn ids_are_unique(store: &dyn AccountStore, seed: u32) {
    let first = account(seed, &format!("cy{seed}@example.org"));
    store.create_account(first.clone()).await.expect("create");
    assert_eq!(
        store
            .create_account(account(seed, &format!("di{seed}@example.org")))
            .await,
        Err(CreateAccountError::IdTaken)
    );
    assert_eq!(store.account(first.id).await, Ok(Some(first)));
}

/// The first key offered is kept; later offers get it back.
pub async fn the_signing_key_is_kept(store: &dyn AccountStore) {
    let first = store.signing_key(vec![1; 32]).await.expect("key");
    let again = store.signing_key(vec![2; 32]).await.expect("key");
    assert_eq!(first, again);
}
