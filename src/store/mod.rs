//! Storage backends of the broker and the contract they fulfil. The engine's contract
//! (`PoolStore`: pools, seats, member status, tombstones, usage counts) lives in the engine
//! crate; the service's own records (accounts, the token-signing key, licenses, pool records,
//! memberships, invite codes, trials and portal sessions) are `AccountStore` here. `embedded` and `redis`
//! implement both; every backend runs the checks in `conformance`. `cached` keeps the
//! records every pool request reads in memory in front of either.

pub mod cached;
pub mod conformance;
pub mod embedded;
pub mod redis;
mod redis_scripts;
mod wal;

use seatbroker_actors::store::{StoreError, StoreFuture};
use seatbroker_actors::{AccountId, LicenseId, PoolId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::license::LicenseKind;

/// A store error saying what failed and why.
pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {e}"))
}

/// A record as both backends keep it: MessagePack with field names, so that a record can
/// gain fields in a later version.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(value).map_err(|e| unavailable("encoding a record", e))
}

/// How deep a stored record may nest: the deepest, a usage record with its events, nests 5.
/// rmp-serde's own limit, 1,024, lets bytes that are not one of our records (a value nested
/// a thousand deep in a field no record has) overflow a thread's stack before it is reached.
const MAX_RECORD_DEPTH: usize = 32;

/// Reads a record written by `encode`.
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(MAX_RECORD_DEPTH);
    T::deserialize(&mut de).map_err(|e| unavailable("a stored record is unreadable", e))
}

/// An account as stored (A1, A2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's id.
    pub id: AccountId,
    /// The email as the person typed it.
    pub email: String,
    /// The lower-cased email that must be unique.
    pub email_key: String,
    /// The display name.
    pub name: String,
    /// The argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    /// When the account was created.
    pub created_at: Timestamp,
    /// Whether the email's owner confirmed it: accounts registered in the portal start
    /// unconfirmed and cannot activate or join until confirmed; accounts created through
    /// `POST /v1/accounts` (API v1 has no confirmation step) and records written before
    /// confirmation existed count as confirmed.
    #[serde(default = "confirmed")]
    pub email_confirmed: bool,
    /// The portal language the person chose (`en`, `de`, `es`), if any.
    #[serde(default)]
    pub language: Option<String>,
}

fn confirmed() -> bool {
    true
}

/// What a one-time link sent by email is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkPurpose {
    /// Confirms the account's email (`/verify/{token}`).
    VerifyEmail,
    /// Sets a new password (`/reset/{token}`).
    ResetPassword,
}

impl LinkPurpose {
    /// A small number naming the purpose in keys.
    pub fn code(self) -> u8 {
        match self {
            LinkPurpose::VerifyEmail => 1,
            LinkPurpose::ResetPassword => 2,
        }
    }
}

/// A one-time link, kept by the SHA-256 of its token like a session. An account has at most
/// one live link per purpose: sending a new one ends the older.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// SHA-256 of the token the link carries.
    pub key: [u8; 32],
    /// The account it acts for.
    pub account: AccountId,
    /// What it does.
    pub purpose: LinkPurpose,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// A portal session (a signed-in browser), kept by the SHA-256 of its cookie's secret so
/// that the store never holds a usable session id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SHA-256 of the session id the cookie carries.
    pub key: [u8; 32],
    /// The signed-in account.
    pub account: AccountId,
    /// When it signed in.
    pub created_at: Timestamp,
    /// The last request seen (written at most once a minute); the idle timeout counts from it.
    pub last_seen: Timestamp,
}

/// Why an account could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateAccountError {
    /// Another account has this email (compared case-insensitively).
    #[error("the email is taken")]
    EmailTaken,
    /// Another account has this id (the caller draws another).
    #[error("the account id is taken")]
    IdTaken,
    /// The store did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A license as issued by an operator (L1, L4, L7) and, once activated, its holder (L3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseRecord {
    /// The license's id.
    pub id: LicenseId,
    /// The 72 bits of its key (`R-...`).
    pub key: u128,
    /// Its type.
    pub kind: LicenseKind,
    /// Seats it adds to a pool.
    pub seats: u32,
    /// When it stops counting; `None` for a permanent license.
    pub expires_at: Option<Timestamp>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The account that activated it (L3: exactly one).
    pub activated_by: Option<AccountId>,
}

/// Why a license could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateLicenseError {
    /// The id or the key drawn is taken (the caller draws again).
    #[error("the license id or key is taken")]
    Taken,
    /// The store did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What claiming a license for an account found (L3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Now held by the account.
    Claimed(LicenseRecord),
    /// Held by the account already.
    AlreadyMine(LicenseRecord),
    /// Held by another account.
    HeldByOther,
    /// No license has this key.
    Unknown,
}

/// The service's side of a pool: its owner, its license type and what governs joining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRecord {
    /// The pool.
    pub pool: PoolId,
    /// Its owner.
    pub owner: AccountId,
    /// The type of all its licenses (L5).
    pub kind: LicenseKind,
    /// I4: only emails of this domain (and its subdomains) may join; `None`: anyone.
    pub join_email_domain: Option<String>,
}

/// A trial an account started (L6), kept for the cooldown between trials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Who started it.
    pub account: AccountId,
    /// Its license (type trial, one seat).
    pub license: LicenseId,
    /// When it started.
    pub started_at: Timestamp,
    /// The end of its 90 days.
    pub valid_until: Timestamp,
}

/// A member's standing in a pool (I3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// May take seats.
    Active,
    /// Kept in the list, may not take seats.
    Blocked,
}

/// An account's membership of a pool shared with it (I2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecord {
    /// The pool.
    pub pool: PoolId,
    /// The member.
    pub account: AccountId,
    /// Active or blocked.
    pub status: MemberStatus,
    /// When it joined (S8: shared pools are tried in join order).
    pub joined_at: Timestamp,
}

/// One support action, as the append-only audit log keeps it (issue 16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it was done.
    pub at: Timestamp,
    /// Who did it: `operator`, or the account id (`A-...`) of a person acting on their own
    /// account.
    pub actor: String,
    /// What was done: `confirm_email`, `deregister_device`, `rotate_offline_key`, ...
    pub action: String,
    /// What it was done to: an account id, a device, the offline keys...
    pub target: String,
    /// The state before, as compact JSON text; `None` when there was nothing.
    pub before: Option<String>,
    /// The state after, as compact JSON text; `None` when nothing is left.
    pub after: Option<String>,
}

/// The names of the secrets the broker keeps in its store (`AccountStore::secret`).
pub mod secrets {
    /// A4: the key that signs API tokens, unless `auth.signing_key` is set.
    pub const TOKEN_SIGNING_KEY: &str = "token_signing_key";
    /// Issue 16: the Ed25519 keys that sign offline license files (the current one and the
    /// public halves of the retired ones), as an `OfflineKeyring`.
    pub const OFFLINE_KEYS: &str = "offline_signing_keys";
    /// Issue 16, privacy: the HMAC-SHA256 key under which device ids are stored.
    pub const DEVICE_ID_KEY: &str = "device_id_key";
}

/// Several nodes: locks that every node sees (Redis), each held under a random token until
/// it is given back or its time runs out.
pub trait SharedLocks: Send + Sync {
    /// Takes `name`'s lock as `token` for at most `ttl_ms`, unless another holds it.
    fn try_lock(
        &self,
        name: &str,
        token: &str,
        ttl_ms: u64,
    ) -> StoreFuture<'_, Result<bool, StoreError>>;
    /// Gives `name`'s lock back, if `token` still holds it.
    fn unlock(&self, name: &str, token: &str) -> StoreFuture<'_, Result<(), StoreError>>;
}

/// Accounts, licenses, pools' service records and the secret that signs tokens.
pub trait AccountStore: Send + Sync + 'static {
    /// Creates an account whose id and email key are both unused, atomically.
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>>;

    /// The account with this id.
    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>>;

    /// The account with this lower-cased email.
    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>>;

    /// A secret kept in the store (named in `secrets`): the stored one, or `candidate` stored
    /// now when there is none, so every node and every restart agrees on it.
    fn secret(
        &self,
        name: &'static str,
        candidate: Vec<u8>,
    ) -> StoreFuture<'_, Result<Vec<u8>, StoreError>>;

    /// Appends a support action to the audit log; entries are never changed or removed.
    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, Result<(), StoreError>>;

    /// The audit log's entries at or after `since` (all when `None`), oldest first, at most
    /// `limit` of them.
    fn audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> StoreFuture<'_, Result<Vec<AuditEntry>, StoreError>>;

    /// Replaces a stored secret with `after` only if it is still `before`; false, and nothing
    /// written, when it changed meanwhile or is not there (a key rotation on another node).
    fn replace_secret(
        &self,
        name: &'static str,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// Stores a newly issued license whose id and key are both unused; one issued already
    /// held (a trial) is listed among its holder's licenses.
    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>>;

    /// The license with this key.
    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>>;

    /// Makes `account` the holder of the license with this key, unless another holds it.
    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>>;

    /// Makes `to` the holder of license `id` if `from` holds it (a support transfer): the
    /// license as it is now, or `None`, with nothing written, when `from` does not hold it.
    fn transfer_license(
        &self,
        id: LicenseId,
        from: AccountId,
        to: AccountId,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>>;

    /// The licenses `account` holds, in the order of their ids.
    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>>;

    /// Creates or replaces a pool's service record.
    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>>;

    /// A pool's service record.
    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>>;

    /// Makes `code` the pool's invite code, retiring its previous one at once (I1, I4).
    /// False when another pool has this code (the caller draws another).
    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// The pool's current invite code.
    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>>;

    /// The pool an invite code opens.
    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>>;

    /// Creates or replaces a membership.
    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Deletes a membership; false when there was none.
    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// The account's membership of the pool.
    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>>;

    /// The pools shared with the account, in the order it joined them.
    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>>;

    /// The members of a pool, in the order they joined.
    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>>;

    /// Records a trial.
    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>>;

    /// The account's trials, oldest first.
    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>>;

    /// Keeps a portal session, replacing the one with the same key.
    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>>;

    /// The portal session with this key.
    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>>;

    /// Ends one portal session (nothing when there is none).
    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Ends every portal session of the account; answers how many there were.
    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>>;

    /// Replaces an existing account's record (its id and email stay) with `after`, only if
    /// the stored record is still `before`; false, and nothing written, when it changed
    /// meanwhile (another node, or another request, wrote it). No read-modify-write of an
    /// account loses another's change.
    fn replace_account(
        &self,
        before: AccountRecord,
        after: AccountRecord,
    ) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// Deletes an account's record and frees its email for a new registration, only if the
    /// stored record is still `before`; false, and nothing written, when it changed or is
    /// gone. Its licenses, memberships and sessions are the caller's to end first.
    fn delete_account(&self, before: AccountRecord) -> StoreFuture<'_, Result<bool, StoreError>>;

    /// Voids the account's API tokens issued before `before` (log out everywhere, a reset).
    /// An earlier time than the one stored changes nothing: revocations only grow.
    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Every account's token revocation, read at start so that checking a token needs no
    /// storage round trip (A4).
    fn token_revocations(&self)
        -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>>;

    /// Keeps a one-time link, ending the account's older link of the same purpose.
    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>>;

    /// Takes (reads and ends, at once) the link with this key, so it works once.
    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>>;

    /// `account`, for a read that only shows the record (a pool's owner, its members): while
    /// the store is unavailable, a cache in front of it may answer the record it last read
    /// (R3). Never for a decision or a read-modify-write.
    fn account_to_show(
        &self,
        id: AccountId,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        self.account(id)
    }

    /// `licenses_of`, for a read that only shows them, as `account_to_show`.
    fn licenses_to_show(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        self.licenses_of(account)
    }

    /// `members_of`, for a read that only shows them, as `account_to_show`.
    fn members_to_show(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        self.members_of(pool)
    }
}

#[cfg(test)]
mod proptests {
    //! Every record a backend reads back (from redb or from Redis) through `decode`: bytes
    //! that are not a record, or a record cut or edited, give an error and never a panic, and
    //! every record reads back as it was written.

    use super::*;
    use crate::mutations::near_bytes;
    use proptest::prelude::*;
    use seatbroker_actors::model::{PoolEvent, PoolEventKind, TrialDays};
    use seatbroker_actors::{
        DeviceId, GoneReason, License, Platform, Policy, PoolSettings, SeatId, SeatRecord,
        Tombstone, UsageRecord,
    };
    use std::fmt::Debug;

    fn ts() -> impl Strategy<Value = Timestamp> {
        any::<u64>().prop_map(Timestamp)
    }

    fn account() -> impl Strategy<Value = AccountId> {
        any::<u32>().prop_map(AccountId)
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,12}", "[a-z_]{0,12}"]
    }

    fn device() -> impl Strategy<Value = DeviceId> {
        "\\PC{1,40}".prop_map(|d| DeviceId::parse(&d).unwrap())
    }

    fn platform() -> impl Strategy<Value = Platform> {
        prop::sample::select(vec![Platform::Windows, Platform::Mac, Platform::Web])
    }

    fn kind() -> impl Strategy<Value = LicenseKind> {
        prop::sample::select(vec![
            LicenseKind::Commercial,
            LicenseKind::Educational,
            LicenseKind::Government,
            LicenseKind::Student,
            LicenseKind::Semester,
            LicenseKind::Trial,
        ])
    }

    fn account_record() -> impl Strategy<Value = AccountRecord> {
        (
            account(),
            text(),
            text(),
            text(),
            text(),
            ts(),
            any::<bool>(),
            prop::option::of(text()),
        )
            .prop_map(
                |(
                    id,
                    email,
                    email_key,
                    name,
                    password_hash,
                    created_at,
                    email_confirmed,
                    language,
                )| AccountRecord {
                    id,
                    email,
                    email_key,
                    name,
                    password_hash,
                    created_at,
                    email_confirmed,
                    language,
                },
            )
    }

    fn license_record() -> impl Strategy<Value = LicenseRecord> {
        (
            any::<u32>(),
            any::<u128>(),
            kind(),
            any::<u32>(),
            prop::option::of(ts()),
            ts(),
            prop::option::of(account()),
        )
            .prop_map(
                |(id, key, kind, seats, expires_at, issued_at, activated_by)| LicenseRecord {
                    id: LicenseId(id),
                    key,
                    kind,
                    seats,
                    expires_at,
                    issued_at,
                    activated_by,
                },
            )
    }

    fn seat_record() -> impl Strategy<Value = SeatRecord> {
        (
            any::<u64>(),
            account(),
            device(),
            platform(),
            any::<bool>(),
            ts(),
            prop::option::of(ts()),
            prop::option::of(ts()),
            ts(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    id,
                    account,
                    device,
                    platform,
                    owner,
                    granted_at,
                    deadline,
                    offline_until,
                    last_active,
                    offline_file,
                )| {
                    SeatRecord {
                        id: SeatId(id),
                        account,
                        device,
                        platform,
                        policy: if owner { Policy::Owner } else { Policy::Member },
                        granted_at,
                        deadline,
                        offline_until,
                        last_active,
                        offline_file,
                    }
                },
            )
    }

    fn tombstone() -> impl Strategy<Value = Tombstone> {
        let reason = prop::sample::select(vec![
            GoneReason::Expired,
            GoneReason::Released,
            GoneReason::Revoked,
            GoneReason::CapacityReduced,
            GoneReason::MemberBlocked,
        ]);
        (any::<u64>(), account(), reason, ts()).prop_map(|(seat, account, reason, at)| Tombstone {
            seat: SeatId(seat),
            account,
            reason,
            at,
        })
    }

    fn pool_event() -> impl Strategy<Value = PoolEvent> {
        let kind = prop_oneof![
            any::<u64>().prop_map(|s| PoolEventKind::Granted { seat: SeatId(s) }),
            text().prop_map(|code| PoolEventKind::Refused { code }),
        ];
        (ts(), account(), device(), platform(), kind).prop_map(
            |(at, account, device, platform, kind)| PoolEvent {
                at,
                account,
                device,
                platform,
                kind,
            },
        )
    }

    fn usage_record() -> impl Strategy<Value = UsageRecord> {
        (
            ts(),
            any::<[u32; 7]>(),
            prop::collection::vec(account(), 0..4),
            prop::collection::vec(account(), 0..4),
            prop::collection::vec(pool_event(), 0..3),
        )
            .prop_map(|(hour, n, accounts, day_accounts, events)| UsageRecord {
                hour,
                peak_in_use: n[0],
                capacity: n[1],
                grants: n[2],
                releases: n[3],
                refusals: n[4],
                expirations: n[5],
                revocations: n[6],
                accounts,
                day_accounts,
                events,
            })
    }

    fn licenses() -> impl Strategy<Value = Vec<License>> {
        prop::collection::vec(
            (
                any::<u32>(),
                any::<u32>(),
                prop::option::of(ts()),
                any::<bool>(),
            )
                .prop_map(|(id, seats, expires_at, trial)| License {
                    id: LicenseId(id),
                    seats,
                    expires_at,
                    trial,
                }),
            0..4,
        )
    }

    fn pool_settings() -> impl Strategy<Value = PoolSettings> {
        (any::<u32>(), any::<u32>(), prop::option::of(any::<u32>())).prop_map(
            |(timeout_s, offline_max_days, idle_reclaim_s)| PoolSettings {
                timeout_s,
                offline_max_days,
                idle_reclaim_s,
            },
        )
    }

    fn trial_days() -> impl Strategy<Value = TrialDays> {
        (any::<u8>(), prop::option::of(ts())).prop_map(|(days_left, last_day_at)| TrialDays {
            days_left,
            last_day_at,
        })
    }

    fn small_records() -> impl Strategy<
        Value = (
            PoolRecord,
            TrialRecord,
            MembershipRecord,
            AuditEntry,
            LinkRecord,
            SessionRecord,
        ),
    > {
        (
            (any::<u64>(), account(), kind(), prop::option::of(text())).prop_map(
                |(pool, owner, kind, join_email_domain)| PoolRecord {
                    pool: PoolId(pool),
                    owner,
                    kind,
                    join_email_domain,
                },
            ),
            (account(), any::<u32>(), ts(), ts()).prop_map(
                |(account, license, started_at, valid_until)| TrialRecord {
                    account,
                    license: LicenseId(license),
                    started_at,
                    valid_until,
                },
            ),
            (any::<u64>(), account(), any::<bool>(), ts()).prop_map(
                |(pool, account, active, joined_at)| MembershipRecord {
                    pool: PoolId(pool),
                    account,
                    status: if active {
                        MemberStatus::Active
                    } else {
                        MemberStatus::Blocked
                    },
                    joined_at,
                },
            ),
            (
                ts(),
                text(),
                text(),
                text(),
                prop::option::of(text()),
                prop::option::of(text()),
            )
                .prop_map(|(at, actor, action, target, before, after)| AuditEntry {
                    at,
                    actor,
                    action,
                    target,
                    before,
                    after,
                }),
            (any::<[u8; 32]>(), account(), any::<bool>(), ts()).prop_map(
                |(key, account, verify, expires_at)| LinkRecord {
                    key,
                    account,
                    purpose: if verify {
                        LinkPurpose::VerifyEmail
                    } else {
                        LinkPurpose::ResetPassword
                    },
                    expires_at,
                },
            ),
            (any::<[u8; 32]>(), account(), ts(), ts()).prop_map(
                |(key, account, created_at, last_seen)| SessionRecord {
                    key,
                    account,
                    created_at,
                    last_seen,
                },
            ),
        )
    }

    /// The bytes of a record of any kind the stores keep.
    fn any_record_bytes() -> impl Strategy<Value = Vec<u8>> {
        fn bytes<T: Serialize>(value: T) -> Vec<u8> {
            encode(&value).unwrap()
        }
        prop_oneof![
            account_record().prop_map(bytes),
            license_record().prop_map(bytes),
            seat_record().prop_map(bytes),
            tombstone().prop_map(bytes),
            usage_record().prop_map(bytes),
            prop::collection::vec(pool_event(), 0..4).prop_map(bytes),
            licenses().prop_map(bytes),
            pool_settings().prop_map(bytes),
            trial_days().prop_map(bytes),
            small_records().prop_map(|(p, t, m, a, l, s)| match p.pool.0 % 6 {
                0 => bytes(p),
                1 => bytes(t),
                2 => bytes(m),
                3 => bytes(a),
                4 => bytes(l),
                _ => bytes(s),
            }),
        ]
    }

    /// `decode` as every record type; a record that reads must write and read back the same.
    fn decode_as_every_record(bytes: &[u8]) -> Result<(), TestCaseError> {
        fn one<T: Serialize + serde::de::DeserializeOwned + PartialEq + Debug>(
            bytes: &[u8],
        ) -> Result<(), TestCaseError> {
            if let Ok(value) = decode::<T>(bytes) {
                prop_assert_eq!(decode::<T>(&encode(&value).unwrap()).ok(), Some(value));
            }
            Ok(())
        }
        one::<AccountRecord>(bytes)?;
        one::<LicenseRecord>(bytes)?;
        one::<PoolRecord>(bytes)?;
        one::<TrialRecord>(bytes)?;
        one::<MembershipRecord>(bytes)?;
        one::<AuditEntry>(bytes)?;
        one::<LinkRecord>(bytes)?;
        one::<SessionRecord>(bytes)?;
        one::<SeatRecord>(bytes)?;
        one::<Tombstone>(bytes)?;
        one::<UsageRecord>(bytes)?;
        one::<Vec<PoolEvent>>(bytes)?;
        one::<Vec<License>>(bytes)?;
        one::<PoolSettings>(bytes)?;
        one::<TrialDays>(bytes)?;
        Ok(())
    }

    fn round_trips<T: Serialize + serde::de::DeserializeOwned + PartialEq + Debug>(
        value: T,
    ) -> Result<(), TestCaseError> {
        let bytes = encode(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decode::<T>(&bytes).ok(), Some(value));
        Ok(())
    }

    proptest! {
        #[test]
        fn every_stored_record_round_trips_through_its_bytes(
            account in account_record(),
            license in license_record(),
            seat in seat_record(),
            tomb in tombstone(),
            usage in usage_record(),
            (licenses, settings, trial) in (licenses(), pool_settings(), trial_days()),
            (pool, trial_record, member, audit, link, session) in small_records(),
        ) {
            round_trips(account)?;
            round_trips(license)?;
            round_trips(seat)?;
            round_trips(tomb)?;
            round_trips(usage)?;
            round_trips(licenses)?;
            round_trips(settings)?;
            round_trips(trial)?;
            round_trips(pool)?;
            round_trips(trial_record)?;
            round_trips(member)?;
            round_trips(audit)?;
            round_trips(link)?;
            round_trips(session)?;
        }

        #[test]
        fn decoding_any_bytes_as_a_stored_record_never_panics(
            bytes in prop_oneof![any::<Vec<u8>>(), near_bytes(any_record_bytes())],
        ) {
            decode_as_every_record(&bytes)?;
        }
    }

    #[test]
    fn a_deeply_nested_or_huge_claimed_record_is_an_error_not_a_crash() {
        // An unknown field holding arrays nested 1,000 and 100,000 deep: skipping it must not
        // overflow the stack (rmp-serde's own limit, 1,024 deep, did in a debug build).
        for depth in [1_000, 100_000] {
            let mut deep = vec![0x81, 0xA1, b'x'];
            deep.extend(std::iter::repeat_n(0x91, depth));
            deep.push(0xC0);
            assert!(decode::<AccountRecord>(&deep).is_err());
            assert!(decode_as_every_record(&deep).is_ok());
        }
        // A map claiming 4 billion fields, and a string claiming 4 GiB: no allocation up front.
        assert!(decode_as_every_record(&[0xDF, 0xFF, 0xFF, 0xFF, 0xFF]).is_ok());
        assert!(decode_as_every_record(&[0x81, 0xDB, 0xFF, 0xFF, 0xFF, 0xFF]).is_ok());
        assert!(decode_as_every_record(&[0xDD, 0xFF, 0xFF, 0xFF, 0xFF]).is_ok());
    }
}
