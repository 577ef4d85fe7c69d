//! Accounts and sign-in (A1–A4): creating an account from parsed fields, and checking a
//! password under the A3 lockout. What a successful sign-in hands out (an API token, a
//! portal session) is the caller's choice.

use std::net::IpAddr;

use seatbroker_actors::store::StoreError;
use seatbroker_actors::AccountId;

use super::{random, within, AppState, ServiceError, ServiceResult};
use crate::auth::lockout::login_key;
use crate::auth::secret;
use crate::cluster::bus::Change;
use crate::domain::account::{AccountFieldError, DisplayName, Email, Password};
use crate::limits::address_key;
use crate::store::{AccountRecord, CreateAccountError, LinkPurpose, LinkRecord};

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

/// Creates an account (A1, A2) for a client at `ip`: refused when the address created too
/// many accounts this hour (issue 18) or the email is taken. `confirmed` says whether its
/// email counts as confirmed from the start (the API's accounts) or must be confirmed
/// through an emailed link first (the portal's).
pub async fn register(
    state: &AppState,
    ip: IpAddr,
    email: Email,
    password: Password,
    name: DisplayName,
    confirmed: bool,
) -> ServiceResult<AccountRecord> {
    within(state, state.limits.accounts.check(&address_key(ip)))?;
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
            email_confirmed: confirmed,
            language: None,
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

/// Checks `password` for the account of `email`, from client address `ip` (A3): an address
/// over its sign-ins of the hour (issue 18) and locked out addresses are refused before the
/// password is looked at, a wrong password or an unknown email answer alike, and a success
/// resets the count.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> ServiceResult<AccountRecord> {
    within(state, state.limits.login.check(&address_key(ip)))?;
    let email_key = lookup_key(email);
    let now = state.registry.now();
    let counted = login_key(&email_key, ip);
    if let Err(retry_after_s) = state.lockouts.check_shared(&counted, now).await? {
        return Err(ServiceError::TooManyAttempts { retry_after_s });
    }
    let account = state.accounts.account_by_email(email_key.clone()).await?;
    let matches = state
        .hasher
        .verify(password, account.as_ref().map(|a| a.password_hash.as_str()))
        .await
        .map_err(|_| ServiceError::Internal("password check failed"))?;
    let Some(account) = account.filter(|_| matches) else {
        let locked_out = state.lockouts.failure_shared(&counted, now).await?;
        state.metrics.login_failed(locked_out);
        return Err(ServiceError::InvalidCredentials);
    };
    state.lockouts.success_shared(&counted).await?;
    Ok(account)
}

/// The form emails are looked up by, for an address as typed (which may not parse).
fn lookup_key(typed: &str) -> String {
    typed.trim().to_lowercase()
}

/// Issue 18: refused when the client at `ip` asked for too many confirmation or reset
/// emails this hour, whatever the addresses it gave.
pub fn may_ask_for_email(state: &AppState, ip: IpAddr) -> ServiceResult<()> {
    within(
        state,
        state.limits.emails_from_address.check(&address_key(ip)),
    )
}

/// Issue 18: whether one more confirmation or reset email may go to `account` this hour. A
/// refusal is counted but not told: forms that send mail answer alike either way.
pub fn may_email(state: &AppState, account: AccountId) -> bool {
    within(state, state.limits.emails_to_account.check(&account)).is_ok()
}

/// The account of an email address as typed, if any (A1: compared case-insensitively).
pub async fn by_email(state: &AppState, typed: &str) -> ServiceResult<Option<AccountRecord>> {
    Ok(state.accounts.account_by_email(lookup_key(typed)).await?)
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

async fn hash(state: &AppState, password: &Password) -> ServiceResult<String> {
    state
        .hasher
        .hash(password)
        .await
        .map_err(|_| ServiceError::Internal("password hashing failed"))
}

/// Changes the password after checking the current one; sessions and tokens stay.
pub async fn change_password(
    state: &AppState,
    account: AccountId,
    current: &str,
    new: &str,
) -> ServiceResult<()> {
    let new = Password::parse(new).map_err(|error| ServiceError::AccountField {
        field: "new_password",
        error,
    })?;
    modify_account(state, account, async |record: &mut AccountRecord| {
        let matches = state
            .hasher
            .verify(current, Some(&record.password_hash))
            .await
            .map_err(|_| ServiceError::Internal("password check failed"))?;
        if !matches {
            return Err(ServiceError::WrongPassword);
        }
        record.password_hash = hash(state, &new).await?;
        Ok(true)
    })
    .await?;
    Ok(())
}

/// Checks that `password` is the account's (before the account deletes itself).
pub async fn check_password(
    state: &AppState,
    account: AccountId,
    password: &str,
) -> ServiceResult<()> {
    let record = current(state, account).await?;
    let matches = state
        .hasher
        .verify(password, Some(&record.password_hash))
        .await
        .map_err(|_| ServiceError::Internal("password check failed"))?;
    if matches {
        Ok(())
    } else {
        Err(ServiceError::WrongPassword)
    }
}

/// How often a change of an account is tried again when it was written meanwhile.
const ACCOUNT_WRITE_ATTEMPTS: usize = 5;

/// Changes `account`'s record with `change` (which answers whether it changed anything) and
/// writes it only if nobody wrote the record meanwhile (another request, another node);
/// else reads it afresh and tries again. The record as written (or found unchanged).
async fn modify_account(
    state: &AppState,
    account: AccountId,
    mut change: impl AsyncFnMut(&mut AccountRecord) -> ServiceResult<bool>,
) -> ServiceResult<AccountRecord> {
    for _ in 0..ACCOUNT_WRITE_ATTEMPTS {
        let before = current(state, account).await?;
        let mut after = before.clone();
        if !change(&mut after).await? {
            return Ok(after);
        }
        if state
            .accounts
            .replace_account(before, after.clone())
            .await?
        {
            return Ok(after);
        }
    }
    Err(StoreError::Unavailable("the account kept changing while it was written".into()).into())
}

/// "Log out everywhere": every portal session of the account ends and every API token issued
/// until now stops working (A4).
pub async fn log_out_everywhere(state: &AppState, account: AccountId) -> ServiceResult<()> {
    let now = state.registry.now();
    state.accounts.revoke_tokens(account, now).await?;
    state.revocations.revoke(account, now);
    super::tell_nodes(state, &[Change::Revoked(account, now)]).await;
    state.accounts.delete_sessions_of(account).await?;
    Ok(())
}

/// Remembers the portal language the person chose.
pub async fn set_language(state: &AppState, account: AccountId, lang: &str) -> ServiceResult<()> {
    modify_account(state, account, async |record: &mut AccountRecord| {
        let changed = record.language.as_deref() != Some(lang);
        record.language = Some(lang.to_owned());
        Ok(changed)
    })
    .await?;
    Ok(())
}

/// A one-time link's token for `account`, valid `ttl_s` seconds; the account's older link of
/// the same purpose stops working.
pub async fn issue_link(
    state: &AppState,
    account: AccountId,
    purpose: LinkPurpose,
    ttl_s: u64,
) -> ServiceResult<String> {
    let (token, key) = secret::fresh().map_err(|_| ServiceError::Internal("no randomness"))?;
    state
        .accounts
        .put_link(LinkRecord {
            key,
            account,
            purpose,
            expires_at: state.registry.now().plus_secs(ttl_s),
        })
        .await?;
    Ok(token)
}

/// Uses a one-time link's token: the account it acts for, once, before it expires.
pub async fn use_link(
    state: &AppState,
    token: &str,
    purpose: LinkPurpose,
) -> ServiceResult<AccountId> {
    let key = secret::key_of(token).ok_or(ServiceError::LinkInvalid)?;
    let link = state
        .accounts
        .take_link(key)
        .await?
        .ok_or(ServiceError::LinkInvalid)?;
    if link.purpose != purpose || link.expires_at <= state.registry.now() {
        return Err(ServiceError::LinkInvalid);
    }
    Ok(link.account)
}

/// Marks the account's email confirmed (by its emailed link, or by the operator).
pub async fn confirm_email(state: &AppState, account: AccountId) -> ServiceResult<AccountRecord> {
    if state.accounts.account(account).await?.is_none() {
        return Err(ServiceError::NotFound("account"));
    }
    modify_account(state, account, async |record: &mut AccountRecord| {
        let changed = !record.email_confirmed;
        record.email_confirmed = true;
        Ok(changed)
    })
    .await
}

/// Sets a new password through a reset link: every session ends and every token stops.
pub async fn reset_password(state: &AppState, account: AccountId, new: &str) -> ServiceResult<()> {
    let new = Password::parse(new).map_err(|error| ServiceError::AccountField {
        field: "new_password",
        error,
    })?;
    let password_hash = hash(state, &new).await?;
    modify_account(state, account, async |record: &mut AccountRecord| {
        record.password_hash = password_hash.clone();
        Ok(true)
    })
    .await?;
    log_out_everywhere(state, account).await
}
