//! The checks every backend of `AccountStore` passes: the embedded store runs them now, the
//! Redis store will run the same. Each check uses its own ids and emails, from `seed`.

use seatbroker_actors::{AccountId, LicenseId, PoolId, Timestamp};

use super::{
    AccountRecord, AccountStore, Claim, CreateAccountError, CreateLicenseError, LicenseRecord,
    MemberStatus, MembershipRecord, PoolRecord, SessionRecord, TrialRecord,
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
        email_confirmed: true,
        language: None,
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
    invite_codes_open_one_pool_until_rotated(store, seed + 50).await;
    memberships_are_listed_both_ways_in_join_order(store, seed + 60).await;
    trials_are_kept_per_account_oldest_first(store, seed + 70).await;
    a_license_issued_held_is_its_holders(store, seed + 80).await;
    sessions_are_kept_by_key_and_ended_per_account(store, seed + 90).await;
    accounts_are_updated_in_place(store, seed + 100).await;
    token_revocations_are_kept_per_account(store, seed + 110).await;
    a_link_works_once_and_a_newer_one_ends_the_older(store, seed + 120).await;
    the_audit_log_is_append_only_and_read_in_order(store, seed + 130).await;
    a_license_moves_only_from_its_holder(store, seed + 140).await;
    a_deleted_account_frees_its_email(store, seed + 150).await;
}

/// Issue 16, transfer: a license moves from its holder to another account, listed under
/// the new holder only; from anyone else nothing moves.
pub async fn a_license_moves_only_from_its_holder(store: &dyn AccountStore, seed: u32) {
    let lic = license(seed);
    store.create_license(lic.clone()).await.expect("issue");
    let (giver, taker, stranger) = (AccountId(seed), AccountId(seed + 1), AccountId(seed + 2));
    assert!(matches!(
        store.claim_license(lic.key, giver).await,
        Ok(Claim::Claimed(_))
    ));
    assert_eq!(
        store.transfer_license(lic.id, stranger, taker).await,
        Ok(None)
    );
    assert_eq!(
        store
            .transfer_license(LicenseId(seed + 5), giver, taker)
            .await,
        Ok(None),
        "an unknown license"
    );
    let moved = store
        .transfer_license(lic.id, giver, taker)
        .await
        .expect("transfer")
        .expect("the giver holds it");
    assert_eq!(moved.activated_by, Some(taker));
    assert_eq!(store.licenses_of(giver).await, Ok(vec![]));
    assert_eq!(store.licenses_of(taker).await, Ok(vec![moved.clone()]));
    assert_eq!(store.license_by_key(lic.key).await, Ok(Some(moved)));
    assert_eq!(
        store.claim_license(lic.key, giver).await,
        Ok(Claim::HeldByOther)
    );
    assert_eq!(store.transfer_license(lic.id, giver, taker).await, Ok(None));
}

/// Issue 16, deletion: an account's record goes only if unchanged since read, and its
/// email can be registered again.
pub async fn a_deleted_account_frees_its_email(store: &dyn AccountStore, seed: u32) {
    let email = format!("gone{seed}@uni.edu");
    let ada = account(seed, &email);
    store.create_account(ada.clone()).await.expect("create");
    let mut stale = ada.clone();
    stale.name = "someone else".into();
    assert_eq!(store.delete_account(stale).await, Ok(false));
    assert_eq!(store.account(ada.id).await, Ok(Some(ada.clone())));
    assert_eq!(store.delete_account(ada.clone()).await, Ok(true));
    assert_eq!(store.account(ada.id).await, Ok(None));
    assert_eq!(store.account_by_email(email.clone()).await, Ok(None));
    assert_eq!(
        store.delete_account(ada.clone()).await,
        Ok(false),
        "gone already"
    );
    store
        .create_account(account(seed + 1, &email))
        .await
        .expect("the email is free again");
}

/// Entries come back oldest first, equal times kept apart, from `since` on, at most `limit`.
pub async fn the_audit_log_is_append_only_and_read_in_order(store: &dyn AccountStore, seed: u32) {
    use super::AuditEntry;
    let t0 = Timestamp(1_900_000_000_000 + u64::from(seed) * 10_000_000);
    let entry = |at: Timestamp, action: &str| AuditEntry {
        at,
        actor: "operator".into(),
        action: action.into(),
        target: format!("run {seed}"),
        before: Some("{\"n\":1}".into()),
        after: None,
    };
    let written = [
        entry(t0, "first"),
        entry(t0, "second"),
        entry(t0.plus_secs(10), "third"),
    ];
    for e in &written {
        store.append_audit(e.clone()).await.expect("appended");
    }
    let mine = |entries: Vec<AuditEntry>| -> Vec<AuditEntry> {
        entries
            .into_iter()
            .filter(|e| e.target == format!("run {seed}"))
            .collect()
    };
    let read = mine(store.audit(Some(t0), 100).await.expect("read"));
    assert_eq!(read, written.to_vec());
    let later = mine(store.audit(Some(t0.plus_secs(5)), 100).await.expect("read"));
    assert_eq!(later, vec![written[2].clone()]);
    let one = store.audit(Some(t0), 1).await.expect("read");
    assert_eq!(one, vec![written[0].clone()]);
}

/// An account's record is replaced: its confirmation, language and password change.
pub async fn accounts_are_updated_in_place(store: &dyn AccountStore, seed: u32) {
    let email = format!("update{seed}@uni.edu");
    let mut ada = account(seed, &email);
    ada.email_confirmed = false;
    store.create_account(ada.clone()).await.expect("create");
    assert_eq!(store.account(ada.id).await, Ok(Some(ada.clone())));
    let before = ada.clone();
    ada.email_confirmed = true;
    ada.language = Some("de".into());
    ada.password_hash = "$argon2id$v=19$m=8,t=1,p=1$bmV1$bmV1".into();
    assert_eq!(
        store.replace_account(before.clone(), ada.clone()).await,
        Ok(true)
    );
    assert_eq!(store.account(ada.id).await, Ok(Some(ada.clone())));
    assert_eq!(store.account_by_email(email).await, Ok(Some(ada.clone())));
    // A change read before another was written is refused and writes nothing.
    let mut stale = before;
    stale.language = Some("es".into());
    let mut late = stale.clone();
    late.name = "Ada L.".into();
    assert_eq!(store.replace_account(stale, late).await, Ok(false));
    assert_eq!(store.account(ada.id).await, Ok(Some(ada)));
}

/// A4: revocations are read back, the latest per account.
pub async fn token_revocations_are_kept_per_account(store: &dyn AccountStore, seed: u32) {
    let (a, b) = (AccountId(seed), AccountId(seed + 1));
    store
        .revoke_tokens(a, Timestamp(1_000))
        .await
        .expect("revoke");
    store
        .revoke_tokens(b, Timestamp(2_000))
        .await
        .expect("revoke");
    store
        .revoke_tokens(a, Timestamp(3_000))
        .await
        .expect("revoke again");
    // A late writer with an earlier time (another node) must not shorten a revocation.
    store
        .revoke_tokens(a, Timestamp(2_500))
        .await
        .expect("revoke earlier");
    let all = store.token_revocations().await.expect("read");
    assert!(all.contains(&(a, Timestamp(3_000))), "{all:?}");
    assert!(all.contains(&(b, Timestamp(2_000))), "{all:?}");
    assert!(
        !all.contains(&(a, Timestamp(1_000))),
        "the latest only: {all:?}"
    );
}

/// One-time links: taken once; a newer link of the same purpose ends the older; another
/// purpose's link stays.
pub async fn a_link_works_once_and_a_newer_one_ends_the_older(store: &dyn AccountStore, seed: u32) {
    use super::{LinkPurpose, LinkRecord};
    // Far in the future, so a Redis that expires links keeps these.
    let later = Timestamp(4_000_000_000_000);
    let link = |n: u8, purpose| LinkRecord {
        key: [n ^ (seed as u8); 32],
        account: AccountId(seed),
        purpose,
        expires_at: later,
    };
    let first = link(1, LinkPurpose::ResetPassword);
    let second = link(2, LinkPurpose::ResetPassword);
    let verify = link(3, LinkPurpose::VerifyEmail);
    store.put_link(first.clone()).await.expect("put");
    store.put_link(verify.clone()).await.expect("put");
    store.put_link(second.clone()).await.expect("put");
    assert_eq!(
        store.take_link(first.key).await,
        Ok(None),
        "the newer ends the older"
    );
    assert_eq!(store.take_link(second.key).await, Ok(Some(second.clone())));
    assert_eq!(store.take_link(second.key).await, Ok(None), "once");
    assert_eq!(store.take_link(verify.key).await, Ok(Some(verify)));
}

/// Portal sessions: found by key, replaced by key, ended one by one or all of an account's
/// at once, never another account's.
pub async fn sessions_are_kept_by_key_and_ended_per_account(store: &dyn AccountStore, seed: u32) {
    let session = |n: u8, account: u32| SessionRecord {
        key: [n ^ (seed as u8); 32],
        account: AccountId(account),
        created_at: Timestamp(1_000),
        last_seen: Timestamp(2_000),
    };
    let (a, b) = (seed, seed + 1);
    let (one, two, other) = (session(1, a), session(2, a), session(3, b));
    assert_eq!(store.session(one.key).await, Ok(None));
    for s in [&one, &two, &other] {
        store.put_session(s.clone()).await.expect("put");
    }
    assert_eq!(store.session(one.key).await, Ok(Some(one.clone())));
    let touched = SessionRecord {
        last_seen: Timestamp(3_000),
        ..one.clone()
    };
    store.put_session(touched.clone()).await.expect("touch");
    assert_eq!(store.session(one.key).await, Ok(Some(touched)));
    store.delete_session(two.key).await.expect("delete");
    assert_eq!(store.session(two.key).await, Ok(None));
    store.delete_session(two.key).await.expect("delete again");
    assert_eq!(store.delete_sessions_of(AccountId(a)).await, Ok(1));
    assert_eq!(store.session(one.key).await, Ok(None));
    assert_eq!(store.delete_sessions_of(AccountId(a)).await, Ok(0));
    assert_eq!(
        store.session(other.key).await,
        Ok(Some(other)),
        "another account's session stays"
    );
}

/// L6: an account's trials, oldest first, and nobody else's.
pub async fn trials_are_kept_per_account_oldest_first(store: &dyn AccountStore, seed: u32) {
    let trial = |license: u32, at: u64| TrialRecord {
        account: AccountId(seed),
        license: LicenseId(license),
        started_at: Timestamp(at),
        valid_until: Timestamp(at + 90 * 86_400_000),
    };
    assert_eq!(store.trials_of(AccountId(seed)).await, Ok(vec![]));
    store.add_trial(trial(2, 2_000)).await.expect("add");
    store.add_trial(trial(1, 1_000)).await.expect("add");
    let kept = store.trials_of(AccountId(seed)).await.expect("list");
    assert_eq!(kept, vec![trial(1, 1_000), trial(2, 2_000)]);
    assert_eq!(store.trials_of(AccountId(seed + 1)).await, Ok(vec![]));
}

/// A license stored already held (a trial) is among its holder's licenses.
pub async fn a_license_issued_held_is_its_holders(store: &dyn AccountStore, seed: u32) {
    let mut lic = license(seed);
    lic.kind = LicenseKind::Trial;
    lic.seats = 1;
    lic.activated_by = Some(AccountId(seed));
    store.create_license(lic.clone()).await.expect("issue");
    assert_eq!(store.licenses_of(AccountId(seed)).await, Ok(vec![lic]));
}

/// I1, I4: a code opens its pool; a rotated code stops at once; a code is one pool's.
pub async fn invite_codes_open_one_pool_until_rotated(store: &dyn AccountStore, seed: u32) {
    let (pool, other) = (PoolId(u64::from(seed)), PoolId(u64::from(seed) + 1));
    let (first, second) = (u64::from(seed) << 8, (u64::from(seed) << 8) + 1);
    assert_eq!(store.invite_of(pool).await, Ok(None));
    assert_eq!(store.set_invite(pool, first).await, Ok(true));
    assert_eq!(store.invite_pool(first).await, Ok(Some(pool)));
    assert_eq!(
        store.set_invite(other, first).await,
        Ok(false),
        "taken by another pool"
    );
    assert_eq!(store.set_invite(pool, second).await, Ok(true));
    assert_eq!(
        store.invite_pool(first).await,
        Ok(None),
        "the old code stops at once"
    );
    assert_eq!(store.invite_pool(second).await, Ok(Some(pool)));
    assert_eq!(store.invite_of(pool).await, Ok(Some(second)));
}

/// I2, I3, S8: memberships by pool and by account, in join order; deleting one.
pub async fn memberships_are_listed_both_ways_in_join_order(store: &dyn AccountStore, seed: u32) {
    let member = |pool: u32, account: u32, at: u64| MembershipRecord {
        pool: PoolId(u64::from(pool)),
        account: AccountId(account),
        status: MemberStatus::Active,
        joined_at: Timestamp(1_800_000_000_000 + at),
    };
    let (p1, p2, a, b) = (seed, seed + 1, seed + 2, seed + 3);
    store.put_membership(member(p2, a, 1)).await.expect("put");
    store.put_membership(member(p1, a, 2)).await.expect("put");
    store.put_membership(member(p1, b, 3)).await.expect("put");
    let of_a: Vec<PoolId> = store
        .memberships_of(AccountId(a))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.pool)
        .collect();
    assert_eq!(
        of_a,
        vec![PoolId(u64::from(p2)), PoolId(u64::from(p1))],
        "join order"
    );
    let of_p1: Vec<AccountId> = store
        .members_of(PoolId(u64::from(p1)))
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.account)
        .collect();
    assert_eq!(of_p1, vec![AccountId(a), AccountId(b)]);
    let mut blocked = member(p1, b, 3);
    blocked.status = MemberStatus::Blocked;
    store.put_membership(blocked.clone()).await.expect("put");
    assert_eq!(
        store.membership(PoolId(u64::from(p1)), AccountId(b)).await,
        Ok(Some(blocked))
    );
    assert_eq!(
        store
            .remove_membership(PoolId(u64::from(p1)), AccountId(b))
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .remove_membership(PoolId(u64::from(p1)), AccountId(b))
            .await,
        Ok(false)
    );
    assert_eq!(
        store.membership(PoolId(u64::from(p1)), AccountId(b)).await,
        Ok(None)
    );
    assert_eq!(
        store
            .members_of(PoolId(u64::from(p1)))
            .await
            .map(|v| v.len()),
        Ok(1)
    );
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

/// The first key offered is kept; later offers get it back; a replacement happens only over
/// the value it was read as, and names keep their secrets apart.
pub async fn the_signing_key_is_kept(store: &dyn AccountStore) {
    use super::secrets::{OFFLINE_KEYS, TOKEN_SIGNING_KEY};
    let first = store
        .secret(TOKEN_SIGNING_KEY, vec![1; 32])
        .await
        .expect("key");
    let again = store
        .secret(TOKEN_SIGNING_KEY, vec![2; 32])
        .await
        .expect("key");
    assert_eq!(first, again);
    let offline = store.secret(OFFLINE_KEYS, vec![3; 8]).await.expect("key");
    assert_ne!(offline, first, "each name has its own secret");
    let mut stale = offline.clone();
    stale.push(0);
    assert_eq!(
        store.replace_secret(OFFLINE_KEYS, stale, vec![4; 8]).await,
        Ok(false),
        "replaced over a value it no longer has"
    );
    let mut rotated = offline.clone();
    rotated.extend_from_slice(b"rotated");
    assert_eq!(
        store
            .replace_secret(OFFLINE_KEYS, offline.clone(), rotated.clone())
            .await,
        Ok(true)
    );
    assert_eq!(store.secret(OFFLINE_KEYS, vec![5; 8]).await, Ok(rotated));
    assert_eq!(
        store.secret(TOKEN_SIGNING_KEY, vec![6; 32]).await,
        Ok(first)
    );
}
