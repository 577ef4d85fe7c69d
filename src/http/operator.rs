//! The operator's side (L7): the operator credential and `POST /v1/operator/licenses`.

use secrecy::ExposeSecret;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::json::ApiJson;
use super::views::{self, LicenseJson};
use crate::domain::license::LicenseKind;
use crate::domain::time;
use crate::service::licenses;
use crate::service::AppState;

/// Most seats one license may carry.
const MAX_SEATS: u32 = 100_000;

/// The request carries the operator token (`operator.token`).
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(operator(req))
    }
}

fn operator(req: &HttpRequest) -> Result<Operator, ApiError> {
    let expected = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.settings.operator.token.clone())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "operator_disabled",
                "operator endpoints are off: operator.token is not set",
            )
        })?;
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().as_bytes().to_vec())
        .unwrap_or_default();
    if crate::auth::secret::same(&given, expected.expose_secret().as_bytes()) {
        Ok(Operator)
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this needs Authorization: Bearer <operator token>",
        ))
    }
}

/// The body of `POST /v1/operator/licenses`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IssueLicense {
    /// The license type (`trial` is refused: trials come only from `POST /v1/trials`).
    #[serde(rename = "type")]
    #[schema(pattern = "^(commercial|educational|government|student|semester)$")]
    kind: String,
    /// 1 to 100,000; exactly 1 for the personal types (student, semester). Read wide, so an
    /// out-of-range count is `invalid_license` like any other.
    #[schema(value_type = u32, minimum = 1, maximum = 100_000)]
    seats: i64,
    /// When it expires (RFC 3339), in the future; without it, never.
    #[schema(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    expires_at: Option<String>,
}

fn invalid_license(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_license", message).with("field", field)
}

/// POST /v1/operator/licenses: 201 `{id, key, type, seats, expires_at}`.
#[utoipa::path(
    post,
    path = "/v1/operator/licenses",
    tag = "licenses",
    request_body = IssueLicense,
    responses(
        (status = 201, description = "{id, key, type, seats, expires_at}", body = LicenseJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 422, description = "invalid_license")
    ),
    security(("operator" = []))
)]
pub async fn issue(
    _: Operator,
    state: web::Data<AppState>,
    body: ApiJson<IssueLicense>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let kind: LicenseKind = serde_json::from_value(serde_json::Value::from(body.kind.clone()))
        .map_err(|_| {
            invalid_license(
                "type",
                "type must be commercial, educational, government, student or semester",
            )
        })?;
    if kind == LicenseKind::Trial {
        return Err(invalid_license(
            "type",
            "trials are not issued by operators; accounts start them with POST /v1/trials",
        ));
    }
    let seats = match u32::try_from(body.seats) {
        Ok(n) if (1..=MAX_SEATS).contains(&n) => n,
        _ => return Err(invalid_license("seats", "seats must be 1 to 100000")),
    };
    if !kind.is_shareable() && seats != 1 {
        return Err(invalid_license(
            "seats",
            "student and semester licenses have exactly one seat",
        ));
    }
    let now = state.registry.now();
    let expires_at = match &body.expires_at {
        Some(raw) => {
            let t = time::parse(raw).map_err(|e| invalid_license("expires_at", &e.to_string()))?;
            if t <= now {
                return Err(invalid_license(
                    "expires_at",
                    "expires_at must be in the future",
                ));
            }
            Some(t)
        }
        None => None,
    };
    let record = licenses::issue(&state, kind, seats, expires_at, None).await?;
    Ok(HttpResponse::Created().json(views::license(&record)))
}
