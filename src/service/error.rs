//! `ServiceError`: every way a service function can refuse or fail, typed, with the sentence
//! people read. The stable API codes and HTTP statuses are chosen in `http::error`; the portal
//! turns the same values into its translated messages.

use seatbroker_actors::store::StoreError;
use seatbroker_actors::{EngineError, PoolId, Refusal, SeatError};

use crate::domain::account::AccountFieldError;
use crate::domain::codes::CodeError;
use crate::domain::license::LicenseKind;
use crate::domain::trial::TrialRefusal;

/// Who to ask about a full pool (S12's `owner_contact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerContact {
    /// The owner's display name.
    pub name: String,
    /// The owner's email.
    pub email: String,
}

/// Why an activation (a license key or an invite code) was refused (L1–L5, I2, I4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationRefusal {
    /// The code could not be read, or is a legacy key (L1).
    #[error(transparent)]
    Code(#[from] CodeError),
    /// No license has this key.
    #[error("no license has this key")]
    UnknownKey,
    /// No pool has this invite code (never had, or rotated away).
    #[error("no pool has this invite code")]
    UnknownInvite,
    /// L3: another account holds the license.
    #[error("another account has activated this license")]
    AlreadyActivated,
    /// The license expired before it was activated.
    #[error("this license has expired")]
    Expired,
    /// L5: the pool holds licenses of another type.
    #[error("your pool holds {pool} licenses; a {license} license cannot join it")]
    TypeMismatch {
        /// The type of the pool's licenses.
        pool: LicenseKind,
        /// The type of the license refused.
        license: LicenseKind,
    },
    /// I2: the owner's own invite code.
    #[error("this is your own pool's invite code; share it with others")]
    OwnPool,
    /// I2: a blocked member stays blocked.
    #[error("the pool's owner has blocked you")]
    MemberBlocked,
    /// I4: the pool takes members of one email domain.
    #[error("this pool takes members with {domain} emails only")]
    JoinRestricted {
        /// The domain the pool admits.
        domain: String,
    },
}

/// Why an offline request (issue 16) cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineRequestError {
    /// Not the text of an offline request file, or a field of it is invalid.
    #[error("this is not an offline request: {0}")]
    Unreadable(String),
    /// Made more than 7 days ago: the offline computer makes a new one.
    #[error(
        "this offline request is more than 7 days old; make a new one on the offline computer"
    )]
    TooOld,
}

/// A refusal or failure of a service function.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store did not answer.
    #[error("storage is unavailable: {0}")]
    Store(#[from] StoreError),
    /// The engine refused or failed outside a rule (throttled, shutting down, ...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An unknown id: `pool`, `member`, `seat`, `account`.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Neither the pool's owner nor one of its members.
    #[error("you are not a member of this pool")]
    NotAMember,
    /// A member on an owner-only action.
    #[error("only the pool's owner may do this")]
    NotOwner,
    /// Personal licenses have no invite code (L4).
    #[error("{0} licenses are personal and cannot be shared")]
    NotShareable(LicenseKind),
    /// An activation refused.
    #[error(transparent)]
    Activation(#[from] ActivationRefusal),
    /// A trial refused (L6).
    #[error(transparent)]
    Trial(#[from] TrialRefusal),
    /// A field of a new account that is not acceptable (A1).
    #[error("{field}: {error}")]
    AccountField {
        /// `email`, `password` or `name`.
        field: &'static str,
        /// What is wrong with it.
        error: AccountFieldError,
    },
    /// A1: emails are unique.
    #[error("an account with this email exists; log in instead")]
    EmailTaken,
    /// A3: the email or the password is wrong (never which).
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A one-time link that is unknown, used, replaced by a newer one, or expired.
    #[error("this link is no longer valid")]
    LinkInvalid,
    /// An account registered in the portal must confirm its email before it activates or
    /// joins.
    #[error("confirm your email address first: follow the link we sent you")]
    EmailUnconfirmed,
    /// A3: this address is locked out of this account for a while.
    #[error("too many failed logins from this address; try again later")]
    TooManyAttempts {
        /// Seconds until the lockout ends.
        retry_after_s: u64,
    },
    /// Issue 18: a rate limit refused the request.
    #[error("{}", limited(.0))]
    Limited(crate::limits::Refused),
    /// A value of the right type outside its bounds.
    #[error("{message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What it accepts.
        message: String,
    },
    /// An offline request that cannot be accepted.
    #[error(transparent)]
    OfflineRequest(#[from] OfflineRequestError),
    /// A transfer or an account's deletion refused (issue 16).
    #[error(transparent)]
    Ownership(#[from] OwnershipRefusal),
    /// A seat request refused by the rules (S9, S10, S12, W1), in `pool`.
    #[error("{refusal:?}")]
    SeatRefused {
        /// Why.
        refusal: Refusal,
        /// The pool that refused (the last one tried).
        pool: PoolId,
        /// Whom to ask for a seat, for `no_seat_available`.
        owner: Option<OwnerContact>,
    },
    /// An operation on one seat that failed.
    #[error(transparent)]
    Seat(#[from] SeatError),
    /// The broker is draining.
    #[error("the broker is shutting down; try again in a moment")]
    ShuttingDown,
    /// Our fault: logged where it is mapped, never the client's input.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl ServiceError {
    /// A 422 for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// A seat refusal with no owner contact.
    pub fn refused(refusal: Refusal, pool: PoolId) -> Self {
        ServiceError::SeatRefused {
            refusal,
            pool,
            owner: None,
        }
    }
}

/// Why a transfer of licenses or the deletion of an account is refused (issue 16).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnershipRefusal {
    /// The account holds licenses: they go to another account first (`transfer_to`).
    #[error(
        "the account holds {count} license(s); transfer them to another account first \
         (transfer_to)"
    )]
    OwnsLicenses {
        /// How many.
        count: usize,
    },
    /// The giver holds no license a transfer could move.
    #[error("the account holds no license that can be transferred")]
    NothingToTransfer,
    /// L5: the taker's pool holds licenses of another type.
    #[error("{license} licenses cannot join the receiving pool of {pool} licenses")]
    TypeMismatch {
        /// The taker's pool's type.
        pool: LicenseKind,
        /// The moving licenses' type.
        license: LicenseKind,
    },
    /// A trial stays with the account that started it (L6).
    #[error("a trial belongs to the account that started it and cannot be transferred")]
    TrialNotTransferable,
    /// Giver and taker are the same account.
    #[error("an account cannot transfer licenses to itself")]
    SameAccount,
}

/// The sentence of a rate limit's refusal.
fn limited(refused: &crate::limits::Refused) -> String {
    use crate::limits::Limit;
    let who = match refused.limit {
        Limit::Login | Limit::Accounts | Limit::EmailsFromAddress => "from this address",
        Limit::EmailsToAccount | Limit::Offline => "for this account",
        Limit::Activations => {
            return format!(
                "too many codes that did not work; try again in {} minutes",
                refused.retry_after_s.div_ceil(60)
            )
        }
    };
    format!(
        "too many requests {who}; try again in {} seconds",
        refused.retry_after_s
    )
}
