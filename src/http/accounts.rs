//! Accounts and sessions (A1–A4): `POST /v1/accounts` and `POST /v1/auth/login`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use seatbroker_actors::AccountId;
use serde::Deserialize;
use serde_json::json;

use super::auth::client_ip;
use super::error::ApiError;
use super::json::ApiJson;
use super::{internal, store_error, AppState};
use crate::domain::account::{AccountFieldError, DisplayName, Email, Password};
use crate::domain::time;
use crate::store::{AccountRecord, CreateAccountError};

/// How often a new account id is drawn when the one drawn is taken.
const ID_DRAWS: usize = 16;

/// The body of `POST /v1/accounts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    email: String,
    password: String,
    name: String,
}

/// The body of `POST /v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    email: String,
    password: String,
}

fn field_error(field: &str, err: AccountFieldError) -> ApiError {
    let code = match err {
        AccountFieldError::InvalidEmail => "invalid_email",
        AccountFieldError::WeakPassword => "weak_password",
        AccountFieldError::PasswordTooLong | AccountFieldError::InvalidName => "invalid_value",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, err.to_string()).with("field", field)
}

/// A random 24-bit account id (A1: short, checked for uniqueness on create).
fn draw_account_id() -> Result<AccountId, ApiError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|_| internal("no randomness"))?;
    Ok(AccountId(u32::from_le_bytes(bytes) & 0xFF_FFFF))
}

/// POST /v1/accounts: 201 `{id, email, name}`.
#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    request_body = NewAccount,
    responses(
        (status = 201, description = "{id, email, name}"),
        (status = 400, description = "malformed_request"),
        (status = 409, description = "email_taken"),
        (status = 422, description = "invalid_email, weak_password, invalid_value")
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    body: ApiJson<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let email = Email::parse(&body.email).map_err(|e| field_error("email", e))?;
    let password = Password::parse(&body.password).map_err(|e| field_error("password", e))?;
    let name = DisplayName::parse(&body.name).map_err(|e| field_error("name", e))?;
    let taken = state
        .accounts
        .account_by_email(email.key().to_owned())
        .await
        .map_err(store_error)?;
    if taken.is_some() {
        return Err(email_taken());
    }
    let password_hash = state
        .hasher
        .hash(&password)
        .await
        .map_err(|_| internal("password hashing failed"))?;
    for _ in 0..ID_DRAWS {
        let record = AccountRecord {
            id: draw_account_id()?,
            email: email.as_str().to_owned(),
            email_key: email.key().to_owned(),
            name: name.as_str().to_owned(),
            password_hash: password_hash.clone(),
            created_at: state.registry.now(),
        };
        match state.accounts.create_account(record.clone()).await {
            Ok(()) => {
                return Ok(HttpResponse::Created().json(json!({
                    "id": record.id.to_string(),
                    "email": record.email,
                    "name": record.name,
                })))
            }
            Err(CreateAccountError::IdTaken) => continue,
            Err(CreateAccountError::EmailTaken) => return Err(email_taken()),
            Err(CreateAccountError::Store(e)) => return Err(store_error(e)),
        }
    }
    Err(internal("no free account id after many draws"))
}

fn email_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "email_taken",
        "an account with this email exists; log in instead",
    )
    .with("field", "email")
}

/// POST /v1/auth/login: 200 `{token, account_id, expires_at}`.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "accounts",
    request_body = Login,
    responses(
        (status = 200, description = "{token, account_id, expires_at}"),
        (status = 401, description = "invalid_credentials"),
        (status = 429, description = "too_many_attempts, with Retry-After")
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<Login>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let ip = client_ip(&req, &state.trusted_proxies);
    let email_key = body.email.trim().to_lowercase();
    let now = state.registry.now();
    if let Err(retry_after) = state.lockouts.check(&email_key, ip, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins from this address; try again later",
        )
        .retry_after(retry_after));
    }
    let account = state
        .accounts
        .account_by_email(email_key.clone())
        .await
        .map_err(store_error)?;
    let matches = state
        .hasher
        .verify(
            &body.password,
            account.as_ref().map(|a| a.password_hash.as_str()),
        )
        .await
        .map_err(|_| internal("password check failed"))?;
    let Some(account) = account.filter(|_| matches) else {
        let locked_out = state.lockouts.failure(&email_key, ip, now);
        state.metrics.login_failed(locked_out);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the email or the password is wrong",
        ));
    };
    state.lockouts.success(&email_key, ip);
    let expires_at = now.plus_secs(state.settings.auth.token_ttl_s);
    let token = state.tokens.issue(account.id, expires_at);
    Ok(HttpResponse::Ok().json(json!({
        "token": token,
        "account_id": account.id.to_string(),
        "expires_at": time::format(expires_at),
    })))
}
