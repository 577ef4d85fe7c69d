//! Support actions under `/v1/admin/...` (the operator token): confirming an account's email
//! by hand, for a person whose confirmation mail never arrived.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::operator::Operator;
use crate::domain::ids::parse_account;
use crate::service::accounts;
use crate::service::AppState;

/// An account as support sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccountJson {
    /// `A-...`.
    id: String,
    /// The email.
    email: String,
    /// The display name.
    name: String,
    /// Whether the email is confirmed.
    email_confirmed: bool,
}

/// POST /v1/admin/accounts/{account}/confirm-email: marks the account's email confirmed.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{account}/confirm-email",
    tag = "admin",
    params(("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The account, confirmed (again when repeated)", body = AdminAccountJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found")
    ),
    security(("operator" = []))
)]
pub async fn confirm_email(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = parse_account(&path).map_err(|_| ApiError::not_found("account"))?;
    let record = accounts::confirm_email(&state, account).await?;
    Ok(HttpResponse::Ok().json(AdminAccountJson {
        id: record.id.to_string(),
        email: record.email,
        name: record.name,
        email_confirmed: record.email_confirmed,
    }))
}
