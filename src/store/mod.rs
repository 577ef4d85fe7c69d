//! Storage backends of the broker and the contract they fulfil. The engine's contract
//! (`PoolStore`: pools, seats, member status, tombstones, usage counts) lives in the engine
//! crate; the service's own records (accounts and the token-signing key so far; licenses,
//! memberships, invite codes and trials next) are `AccountStore` here. `embedded` implements
//! both; every backend runs the checks in `conformance`.

pub mod conformance;
pub mod embedded;

use seatbroker_actors::store::{StoreError, StoreFuture};
use seatbroker_actors::{AccountId, Timestamp};
use serde::{Deserialize, Serialize};

pub use embedded::EmbeddedStore;

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

/// Accounts and the secret that signs tokens.
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

    /// The token-signing key: the stored one, or `candidate` stored now when there is none.
    fn signing_key(&self, candidate: Vec<u8>) -> StoreFuture<'_, Result<Vec<u8>, StoreError>>;
}
