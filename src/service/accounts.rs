//! Accounts and sign-in (A1–A4): creating an account from parsed fields, and checking a
//! password under the A3 lockout. What a successful sign-in hands out (an API token, a
//! portal session) is the caller's choice.

use std::net::IpAddr;

use seatbroker_actors::AccountId;

use super::{random, AppState, ServiceError, ServiceResult};
use crate::domain::account::{AccountFieldError, DisplayName, Email, Password};
use crate::store::{AccountRecord, CreateAccountError};

/// How often a new account id is drawn when the one drawn is taken.
const ID_DRAWS: usize = 16;

/// A new account's fields as typed, each parsed (A1): the first bad one is refused.
pub fn parse_new_account(
    email: &str,
    password: &str,
    name: &str,
) -> ServiceResult<(Email, Password, DisplayName)> {
    let field = |field: &'static str| {
        move |error: AccountFieldError| ServiceError::AccountField { field, error }
    };
    Ok((
        Email::parse(email).map_err(field("email"))?,
        Password::parse(password).map_err(field("password"))?,
        DisplayName::parse(name).map_err(field("name"))?,
    ))
}

/// Creates an account (A1, A2): refused when the email is taken.
pub async fn register(
    state: &AppState,
    email: Email,
    password: Password,
    name: DisplayName,
) -> ServiceResult<AccountRecord> {
    if state
        .accounts
        .account_by_email(email.key().to_owned())
        .await?
        .is_some()
    {
        return Err(ServiceError::EmailTaken);
    }
    let password_hash = state
        .hasher
        .hash(&password)
        .await
        .map_err(|_| ServiceError::Internal("password hashing failed"))?;
    for _ in 0..ID_DRAWS {
        let record = AccountRecord {
            id: AccountId(u32::from_le_bytes(random()?) & 0xFF_FFFF),
            email: email.as_str().to_owned(),
            email_key: email.key().to_owned(),
            name: name.as_str().to_owned(),
            password_hash: password_hash.clone(),
            created_at: state.registry.now(),
        };
        match state.accounts.create_account(record.clone()).await {
            Ok(()) => return Ok(record),
            Err(CreateAccountError::IdTaken) => continue,
            Err(CreateAccountError::EmailTaken) => return Err(ServiceError::EmailTaken),
            Err(CreateAccountError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal(
        "no free account id after many draws",
    ))
}

/// Checks `password` for the account of `email`, from client address `ip` (A3): locked out
/// addresses are refused before the password is looked at, a wrong password or an unknown
/// email answer alike, and a success resets the count.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> ServiceResult<AccountRecord> {
    let email_key = email.trim().to_lowercase();
    let now = state.registry.now();
    if let Err(retry_after_s) = state.lockouts.check(&email_key, ip, now) {
        return Err(ServiceError::TooManyAttempts { retry_after_s });
    }
    let account = state.accounts.account_by_email(email_key.clone()).await?;
    let matches = state
        .hasher
        .verify(password, account.as_ref().map(|a| a.password_hash.as_str()))
        .await
        .map_err(|_| ServiceError::Internal("password check failed"))?;
    let Some(account) = account.filter(|_| matches) else {
        let locked_out = state.lockouts.failure(&email_key, ip, now);
        state.metrics.login_failed(locked_out);
        return Err(ServiceError::InvalidCredentials);
    };
    state.lockouts.success(&email_key, ip);
    Ok(account)
}

/// The account behind an authenticated request.
pub async fn current(state: &AppState, account: AccountId) -> ServiceResult<AccountRecord> {
    state
        .accounts
        .account(account)
        .await?
        .ok_or(ServiceError::Internal(
            "an authenticated account is missing",
        ))
}
