//! Support's ownership changes (issue 16, operator token): moving a license or a whole pool
//! to another account, and deleting an account (its licenses handed over first when
//! `transfer_to` names a taker). Parsing and answers only; the rules are in
//! `service::ownership`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::json::ApiJson;
use super::operator::Operator;
use super::views;
use crate::domain::codes::LicenseKey;
use crate::service::ownership::{self, Transferred};
use crate::service::{support, AppState};
use seatbroker_api::License;

/// The body of `POST /v1/admin/accounts/{account}/transfer`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferBody {
    /// The account that takes the licenses: its id or its email.
    to: String,
    /// One license's key (`R-…`); without it, every license the account holds moves, with
    /// its pool's members.
    license: Option<String>,
}

/// What a transfer moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferredJson {
    /// The giver, `A-…`.
    from: String,
    /// The taker, `A-…`.
    to: String,
    /// The licenses moved, now the taker's.
    licenses: Vec<License>,
    /// Members of the giver's pool who are now members of the taker's.
    members_moved: usize,
}

impl TransferredJson {
    fn new(t: &Transferred) -> Self {
        TransferredJson {
            from: t.from.to_string(),
            to: t.to.to_string(),
            licenses: t.licenses.iter().map(views::license).collect(),
            members_moved: t.members_moved,
        }
    }
}

/// POST /v1/admin/accounts/{account}/transfer: moves one license, or every license of the
/// account with its pool's members, to another account; written to the audit log.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{account}/transfer",
    tag = "admin",
    params(("account" = String, Path, description = "the giver: account id, or its email")),
    request_body = TransferBody,
    responses(
        (status = 200, description = "What moved", body = TransferredJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found: an account, or a license the giver does not hold"),
        (status = 409, description = "license_type_mismatch, nothing_to_transfer, trial_not_transferable"),
        (status = 422, description = "invalid_value: a malformed key, or the same account")
    ),
    security(("operator" = []))
)]
pub async fn transfer(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let from = support::find(&state, &path).await?;
    let to = support::find(&state, &body.to).await?;
    let only = match &body.license {
        Some(raw) => Some(
            LicenseKey::parse(raw)
                .map_err(|e| ApiError::invalid("license", format!("license: {e}")))?,
        ),
        None => None,
    };
    let moved = ownership::transfer(&state, support::OPERATOR, from.id, to.id, only).await?;
    Ok(HttpResponse::Ok().json(TransferredJson::new(&moved)))
}

/// The query of `DELETE /v1/admin/accounts/{account}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// The account that takes the deleted account's licenses and pool (id or email); without
    /// it an account holding licenses is not deleted.
    transfer_to: Option<String>,
}

/// What deleting an account did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedJson {
    /// The account that is gone, `A-…`.
    account_id: String,
    /// Seats released.
    seats_released: usize,
    /// Memberships ended: the pools it had joined, and its own pool's members.
    memberships_ended: usize,
    /// The transfer that came first; null when it held no licenses.
    transferred: Option<TransferredJson>,
}

/// DELETE /v1/admin/accounts/{account}: deletes an account (its seats released, its
/// memberships ended, logged out everywhere, its email free again); refused while it holds
/// licenses unless `transfer_to` takes them. Written to the audit log.
#[utoipa::path(
    delete,
    path = "/v1/admin/accounts/{account}",
    tag = "admin",
    params(
        ("account" = String, Path, description = "the account id, or its email"),
        DeleteQuery
    ),
    responses(
        (status = 200, description = "Deleted", body = DeletedJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found"),
        (status = 409, description = "account_owns_licenses (with `licenses`), license_type_mismatch"),
        (status = 422, description = "invalid_value: transfer_to is the account itself")
    ),
    security(("operator" = []))
)]
pub async fn delete(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: DeleteQuery = super::json::query(&req)?;
    let account = support::find(&state, &path).await?;
    let taker = match &query.transfer_to {
        Some(who) => Some(support::find(&state, who).await?.id),
        None => None,
    };
    let done = ownership::delete_account(&state, support::OPERATOR, account.id, taker).await?;
    Ok(HttpResponse::Ok().json(DeletedJson {
        account_id: done.account.id.to_string(),
        seats_released: done.seats_released,
        memberships_ended: done.memberships_ended,
        transferred: done.transferred.as_ref().map(TransferredJson::new),
    }))
}
