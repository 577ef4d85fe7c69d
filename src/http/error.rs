//! `ApiError`: the one place where anything that goes wrong becomes an HTTP status and the
//! error body of API.md, `{"error": {"code", "message", ...details}}`. Service errors, engine
//! errors, rule refusals and malformed requests are all mapped here and nowhere else. A 5xx means our
//! fault or storage down, never the client's input.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use seatbroker_actors::store::StoreError;
use seatbroker_actors::{EngineError, PoolId, Refusal, SeatError};
use serde_json::{json, Map, Value};

use crate::domain::ids::{format_pool, format_seat};
use crate::domain::time;
use crate::service::error::{ActivationRefusal, OwnerContact, OwnershipRefusal};
use crate::service::ServiceError;

/// An error answer: status, stable code, a sentence for people, and details.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Map<String, Value>,
    retry_after_s: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message, and no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_s: None,
        }
    }

    /// Adds a detail field next to `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Asks the client to come back after this many seconds (`Retry-After`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// The seconds `Retry-After` asks the client to wait, if it does.
    pub fn retry_after_s(&self) -> Option<u64> {
        self.retry_after_s
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// A detail given beside the code, such as `field`.
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.get(key)
    }

    /// 400 `malformed_request`: not JSON, not an object, a field missing or of the wrong type.
    pub fn malformed(message: impl Into<String>, field: Option<&str>) -> Self {
        let err = ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message);
        match field {
            Some(f) => err.with("field", f),
            None => err,
        }
    }

    /// 422 `invalid_value`: the right type, an invalid value.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message)
            .with("field", field)
    }

    /// 404 `not_found` for an unknown id or route.
    pub fn not_found(resource: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {resource}"),
        )
        .with("resource", resource)
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    }

    /// 413 `body_too_large`.
    pub fn body_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
        .with("limit_bytes", limit)
    }

    /// 503 `shutting_down`, with `Retry-After: 1`.
    pub fn shutting_down() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the broker is shutting down; try again in a moment",
        )
        .retry_after(1)
    }

    /// 503 `storage_unavailable`, with `Retry-After: 1`.
    pub fn storage_unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "storage is unavailable; nothing was changed; try again shortly",
        )
        .retry_after(1)
    }
}

impl ApiError {
    /// A seat request refused by the rules (S9, S10, S12, W1), with what would help.
    pub fn refusal(refusal: Refusal, pool: PoolId, owner: Option<OwnerContact>) -> Self {
        let forbidden = |code, message: &str| ApiError::new(StatusCode::FORBIDDEN, code, message);
        match refusal {
            Refusal::NoSeatAvailable(d) => {
                let elsewhere: Vec<Value> = d
                    .own_seats_elsewhere
                    .iter()
                    .map(|s| {
                        let print = crate::domain::device::fingerprint(&s.device);
                        json!({
                            "seat_id": format_seat(pool, s.id),
                            "pool_id": format_pool(pool),
                            "device_id": print,
                            "device_fingerprint": print,
                            "platform": s.platform.as_str(),
                            "granted_at": time::format(s.granted_at),
                        })
                    })
                    .collect();
                let mut message = format!(
                    "all {} seats of the pool are in use ({} in use)",
                    d.capacity, d.in_use
                );
                if !elsewhere.is_empty() {
                    message.push_str(
                        "; you hold seats on other devices, which \"free up my seats\" would release",
                    );
                }
                ApiError::new(StatusCode::CONFLICT, "no_seat_available", message)
                    .with("capacity", d.capacity)
                    .with("in_use", d.in_use)
                    .with("own_seats_elsewhere", elsewhere)
                    .with(
                        "owner_contact",
                        owner.map_or(Value::Null, |o| json!({"name": o.name, "email": o.email})),
                    )
                    .with("queue_position", d.queue_position)
            }
            Refusal::WebSessionActiveElsewhere { seat } => ApiError::new(
                StatusCode::CONFLICT,
                "web_session_active_elsewhere",
                "a web session of this account is open on another device; close it first",
            )
            .with("seat_id", format_seat(pool, seat)),
            Refusal::MemberBlocked => forbidden(
                "member_blocked",
                "the pool's owner has blocked you from taking seats",
            ),
            Refusal::NotAMember => forbidden("not_a_member", "you are not a member of this pool"),
            Refusal::NoLicense => forbidden(
                "no_license",
                "no license: activate a license key, join a pool with an invite code, or start a trial",
            ),
            Refusal::LicenseExpired => forbidden(
                "license_expired",
                "every license of the pool has expired; the pool's owner can renew",
            ),
            Refusal::TrialExpired => forbidden(
                "trial_expired",
                "your trial has ended; activate a license to go on",
            ),
            Refusal::Throttled => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many requests are waiting for this pool; try again shortly",
            )
            .retry_after(1),
            Refusal::OfflineNeedsPermanentLicense => forbidden(
                "offline_needs_permanent_license",
                "an offline license file needs a pool of permanent licenses and a desktop platform",
            ),
        }
    }

    /// An operation on one seat that failed.
    pub fn seat(err: SeatError) -> Self {
        match err {
            SeatError::NotFound => ApiError::not_found("seat"),
            SeatError::Gone(reason) => ApiError::new(
                StatusCode::GONE,
                "seat_gone",
                format!("the seat is gone: {}", reason.code()),
            )
            .with("reason", reason.code()),
            SeatError::OfflinePeriodTooLong { max_until } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "offline_period_too_long",
                "the offline period is longer than the pool or its licenses allow",
            )
            .with("field", "until")
            .with("max_until", time::format(max_until)),
            SeatError::OfflineUntilInPast => {
                ApiError::invalid("until", "the offline period must end in the future")
            }
            SeatError::OfflineNotForWeb => {
                ApiError::invalid("seat", "web sessions cannot be reserved for offline use")
            }
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = Map::new();
        body.insert("code".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message.clone()));
        for (k, v) in &self.details {
            body.insert(k.clone(), v.clone());
        }
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not worth reading: close instead (issue 18).
            response.force_close();
        }
        if let Some(seconds) = self.retry_after_s {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(serde_json::json!({ "error": Value::Object(body) }))
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Throttled => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "the pool is busy; try again shortly",
            )
            .retry_after(1),
            EngineError::StoreUnavailable => ApiError::storage_unavailable(),
            EngineError::PoolOwnedElsewhere => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "pool_owned_elsewhere",
                "this pool is served by another node",
            )
            .retry_after(5),
            EngineError::PoolNotFound => ApiError::not_found("pool"),
            EngineError::PoolUnavailable | EngineError::Retired => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the pool is being reloaded; try again shortly",
            )
            .retry_after(1),
            EngineError::ShuttingDown => ApiError::shutting_down(),
        }
    }
}

impl From<StoreError> for ApiError {
    /// 503 for a store that did not answer (logged and counted).
    fn from(err: StoreError) -> Self {
        tracing::warn!(%err, "store error");
        crate::metrics::count_store_error();
        ApiError::storage_unavailable()
    }
}

/// 500: our fault (logged), never the client's input.
pub fn internal(what: &str) -> ApiError {
    tracing::error!(what, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "something went wrong on our side; nothing was changed",
    )
}

impl From<ActivationRefusal> for ApiError {
    fn from(refusal: ActivationRefusal) -> Self {
        let status = match &refusal {
            ActivationRefusal::Code(_) | ActivationRefusal::Expired => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ActivationRefusal::UnknownKey | ActivationRefusal::UnknownInvite => {
                StatusCode::NOT_FOUND
            }
            ActivationRefusal::AlreadyActivated
            | ActivationRefusal::TypeMismatch { .. }
            | ActivationRefusal::OwnPool => StatusCode::CONFLICT,
            ActivationRefusal::MemberBlocked | ActivationRefusal::JoinRestricted { .. } => {
                StatusCode::FORBIDDEN
            }
        };
        ApiError::new(status, activation_code(&refusal), refusal.to_string()).with("field", "code")
    }
}

/// The stable code of an activation refusal.
pub fn activation_code(refusal: &ActivationRefusal) -> &'static str {
    match refusal {
        ActivationRefusal::Code(crate::domain::codes::CodeError::Legacy) => "legacy_license_key",
        ActivationRefusal::Code(crate::domain::codes::CodeError::Malformed) => "malformed_code",
        ActivationRefusal::UnknownKey | ActivationRefusal::UnknownInvite => "unknown_code",
        ActivationRefusal::AlreadyActivated => "license_already_activated",
        ActivationRefusal::Expired => "license_expired",
        ActivationRefusal::TypeMismatch { .. } => "license_type_mismatch",
        ActivationRefusal::OwnPool => "own_pool",
        ActivationRefusal::MemberBlocked => "member_blocked",
        ActivationRefusal::JoinRestricted { .. } => "join_restricted",
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Store(e) => e.into(),
            ServiceError::Engine(e) => e.into(),
            ServiceError::NotFound(resource) => ApiError::not_found(resource),
            ServiceError::NotAMember => {
                ApiError::new(StatusCode::FORBIDDEN, "not_a_member", err.to_string())
            }
            ServiceError::NotOwner => {
                ApiError::new(StatusCode::FORBIDDEN, "not_owner", err.to_string())
            }
            ServiceError::NotShareable(_) => ApiError::new(
                StatusCode::FORBIDDEN,
                "license_not_shareable",
                err.to_string(),
            ),
            ServiceError::Activation(refusal) => refusal.into(),
            ServiceError::Trial(refusal) => {
                let api = ApiError::new(
                    StatusCode::CONFLICT,
                    "trial_not_allowed",
                    refusal.to_string(),
                )
                .with("reason", refusal.reason());
                match refusal {
                    crate::domain::trial::TrialRefusal::RecentTrial { next } => {
                        api.with("next_trial_at", time::format(next))
                    }
                    _ => api,
                }
            }
            ServiceError::AccountField { field, error } => {
                use crate::domain::account::AccountFieldError as E;
                let code = match error {
                    E::InvalidEmail => "invalid_email",
                    E::WeakPassword => "weak_password",
                    E::PasswordTooLong | E::InvalidName => "invalid_value",
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
                    .with("field", field)
            }
            ServiceError::EmailTaken => {
                ApiError::new(StatusCode::CONFLICT, "email_taken", err.to_string())
                    .with("field", "email")
            }
            ServiceError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                err.to_string(),
            ),
            ServiceError::WrongPassword => {
                ApiError::new(StatusCode::FORBIDDEN, "wrong_password", err.to_string())
                    .with("field", "current_password")
            }
            ServiceError::LinkInvalid => {
                ApiError::new(StatusCode::GONE, "link_invalid", err.to_string())
            }
            ServiceError::EmailUnconfirmed => {
                ApiError::new(StatusCode::FORBIDDEN, "email_unconfirmed", err.to_string())
            }
            ServiceError::TooManyAttempts { retry_after_s } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                err.to_string(),
            )
            .retry_after(retry_after_s),
            ServiceError::Limited(refused) => {
                let code = match refused.limit {
                    crate::limits::Limit::Activations => "too_many_attempts",
                    _ => "rate_limited",
                };
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, err.to_string())
                    .with("limit", refused.limit.name())
                    .retry_after(refused.retry_after_s)
            }
            ServiceError::Invalid { field, message } => ApiError::invalid(field, message),
            ServiceError::OfflineRequest(e) => {
                let code = match e {
                    crate::service::error::OfflineRequestError::Unreadable(_) => {
                        "invalid_offline_request"
                    }
                    crate::service::error::OfflineRequestError::TooOld => "offline_request_expired",
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
                    .with("field", "request")
            }
            ServiceError::Ownership(refusal) => {
                let message = refusal.to_string();
                match refusal {
                    OwnershipRefusal::SameAccount => ApiError::invalid("to", message),
                    OwnershipRefusal::OwnsLicenses { count } => {
                        ApiError::new(StatusCode::CONFLICT, "account_owns_licenses", &message)
                            .with("licenses", count)
                    }
                    OwnershipRefusal::NothingToTransfer => {
                        ApiError::new(StatusCode::CONFLICT, "nothing_to_transfer", &message)
                    }
                    OwnershipRefusal::TypeMismatch { .. } => {
                        ApiError::new(StatusCode::CONFLICT, "license_type_mismatch", &message)
                    }
                    OwnershipRefusal::TrialNotTransferable => {
                        ApiError::new(StatusCode::CONFLICT, "trial_not_transferable", &message)
                    }
                }
            }
            ServiceError::SeatRefused {
                refusal,
                pool,
                owner,
            } => ApiError::refusal(refusal, pool, owner),
            ServiceError::Seat(e) => ApiError::seat(e),
            ServiceError::ShuttingDown => ApiError::shutting_down(),
            ServiceError::Internal(what) => internal(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_rt::test]
    async fn errors_have_the_api_shape_and_retry_after() {
        let response = ApiError::from(EngineError::Throttled).error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let body = to_bytes(response.into_body()).await.unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "throttled");
        assert!(json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    #[actix_rt::test]
    async fn details_sit_beside_code_and_message() {
        let response = ApiError::malformed("missing field", Some("email")).error_response();
        let body = to_bytes(response.into_body()).await.unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "malformed_request");
        assert_eq!(json["error"]["field"], "email");
    }

    #[test]
    fn every_engine_error_maps_to_a_retryable_status_or_not_found() {
        for err in [
            EngineError::Throttled,
            EngineError::StoreUnavailable,
            EngineError::PoolOwnedElsewhere,
            EngineError::PoolNotFound,
            EngineError::PoolUnavailable,
            EngineError::ShuttingDown,
            EngineError::Retired,
        ] {
            let api = ApiError::from(err);
            let status = api.status_code().as_u16();
            assert!([404, 429, 503].contains(&status), "{err:?} -> {status}");
            if status != 404 {
                assert!(api.retry_after_s.is_some(), "{err:?} says when to retry");
            }
        }
    }
}
