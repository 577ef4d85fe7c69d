//! `POST /v1/activations` (L1–L5, I2): a license key or an invite code, parsed here and
//! activated by `service::activations`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::ApiJson;
use super::views;
use crate::domain::codes::ActivationCode;
use crate::service::activations::{self, Activated};
use crate::service::error::ActivationRefusal;
use crate::service::AppState;
use crate::service::Novelty;
use seatbroker_api::{Activation, ActivationKind};

/// The body of `POST /v1/activations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Activate {
    /// A license key (`R-61F-5C0-587-0F5-3A5-CBA`) or an invite code (`I-123-456-789-ABC`);
    /// letters in either case, dashes optional (L2: white space, zero-width characters and
    /// other dashes are forgiven too).
    #[schema(pattern = r"^(?:[Rr](?:-?[0-9A-Fa-f]{3}){6}|[Ii](?:-?[0-9A-Fa-f]{3}){4})$")]
    code: String,
}

/// POST /v1/activations: 201 `{kind: "license", license, pool}` or `{kind: "membership",
/// pool}`, or 200 with `warning: "already_active"` when repeated.
#[utoipa::path(
    post,
    path = "/v1/activations",
    tag = "licenses",
    request_body = Activate,
    responses(
        (status = 200, description = "Repeated: warning already_active", body = Activation),
        (status = 201, description = "{kind: license, license, pool} or {kind: membership, pool}", body = Activation),
        (status = 403, description = "join_restricted, member_blocked"),
        (status = 404, description = "unknown_code"),
        (status = 409, description = "license_already_activated, license_type_mismatch, own_pool"),
        (status = 422, description = "legacy_license_key, malformed_code, license_expired"),
        (status = 429, description = "rate_limited or too_many_attempts, with Retry-After", body = seatbroker_api::ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    who: Authenticated,
    state: web::Data<AppState>,
    body: ApiJson<Activate>,
) -> Result<HttpResponse, ApiError> {
    let code = ActivationCode::parse(&body.0.code).map_err(ActivationRefusal::from)?;
    let (json, novelty) = match activations::activate(&state, who.0, code).await? {
        Activated::License {
            license,
            pool,
            novelty,
        } => (
            Activation {
                kind: ActivationKind::License,
                license: Some(views::license(&license)),
                pool: views::pool(&pool),
                warning: None,
            },
            novelty,
        ),
        Activated::Membership { pool, novelty } => (
            Activation {
                kind: ActivationKind::Membership,
                license: None,
                pool: views::pool(&pool),
                warning: None,
            },
            novelty,
        ),
    };
    Ok(match novelty {
        Novelty::New => HttpResponse::Created().json(json),
        Novelty::Repeated => HttpResponse::Ok().json(Activation {
            warning: Some("already_active".into()),
            ..json
        }),
    })
}
