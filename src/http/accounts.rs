//! Accounts and sessions (A1–A4): `POST /v1/accounts` and `POST /v1/auth/login`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::client_ip;
use super::error::ApiError;
use super::json::ApiJson;
use super::views::{self, AccountJson, LoginJson};
use crate::domain::time;
use crate::service::accounts;
use crate::service::AppState;

/// The body of `POST /v1/accounts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    /// An email address: one `@`, a domain with a dot, no white space; at most 254 bytes.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters (`weak_password` below), at most 1024 bytes.
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    /// 1 to 100 characters once trimmed, none of them a control character.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
}

/// The body of `POST /v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    email: String,
    password: String,
}

/// POST /v1/accounts: 201 `{id, email, name}`.
#[utoipa::path(
    post,
    path = "/v1/accounts",
    tag = "accounts",
    request_body = NewAccount,
    responses(
        (status = 201, description = "{id, email, name}", body = AccountJson),
        (status = 409, description = "email_taken"),
        (status = 422, description = "invalid_email, weak_password, invalid_value (with field)"),
        (status = 429, description = "rate_limited or too_many_attempts, with Retry-After", body = seatbroker_api::ErrorBody)
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let (email, password, name) =
        accounts::parse_new_account(&body.email, &body.password, &body.name)?;
    let ip = client_ip(&req, &state.trusted_proxies);
    // API v1 has no confirmation step: its accounts count as confirmed.
    let record = accounts::register(&state, ip, email, password, name, true).await?;
    Ok(HttpResponse::Created().json(views::account(&record)))
}

/// POST /v1/auth/login: 200 `{token, account_id, expires_at}`.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "accounts",
    request_body = Login,
    responses(
        (status = 200, description = "{token, account_id, expires_at}", body = LoginJson),
        (status = 401, description = "invalid_credentials"),
        (status = 429, description = "rate_limited or too_many_attempts, with Retry-After", body = seatbroker_api::ErrorBody)
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<Login>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.trusted_proxies);
    let account = accounts::sign_in(&state, &body.0.email, &body.0.password, ip).await?;
    let now = state.registry.now();
    let expires_at = now.plus_secs(state.settings.auth.token_ttl_s);
    Ok(HttpResponse::Ok().json(LoginJson {
        token: state.tokens.issue(account.id, now, expires_at),
        account_id: account.id.to_string(),
        expires_at: time::format(expires_at),
    }))
}
