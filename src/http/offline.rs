//! Offline activation (issue 16): `GET /v1/offline/public-key` (the keys license files are
//! checked with, for anyone: they are public), `POST /v1/offline/activations` (an account
//! accepts an offline request and gets the license file) and the operator's
//! `POST /v1/admin/offline-keys/rotate`.

use std::borrow::Cow;

use actix_web::{web, HttpResponse};
use seatbroker_api::offline::{
    encode_public_key, key_id, OfflineActivation, OfflineActivationBody, OfflinePublicKey,
    OfflineRetiredKey,
};

use super::auth::Authenticated;
use super::error::ApiError;
use super::json::ApiJson;
use super::operator::Operator;
use super::views;
use crate::domain::offline::Keyring;
use crate::service::{offline, AppState};

/// The keys as the API shows them: the current one, and the public halves of retired ones.
fn public_keys(ring: &Keyring) -> OfflinePublicKey {
    let current = ring.verifying_key();
    OfflinePublicKey {
        algorithm: Cow::Borrowed("ed25519"),
        key_id: key_id(&current),
        public_key: encode_public_key(&current),
        retired: ring
            .retired_keys()
            .iter()
            .map(|key| OfflineRetiredKey {
                key_id: key_id(key),
                public_key: encode_public_key(key),
            })
            .collect(),
    }
}

/// GET /v1/offline/public-key: the Ed25519 key that signs offline license files, and the
/// retired keys whose files still verify.
#[utoipa::path(
    get,
    path = "/v1/offline/public-key",
    tag = "offline",
    responses(
        (status = 200, description = "The current key and the retired ones", body = OfflinePublicKey),
        (status = 503, description = "storage_unavailable", body = seatbroker_api::ErrorBody)
    )
)]
pub async fn public_key(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ring = offline::keyring(&state, state.registry.now()).await?;
    Ok(HttpResponse::Ok().json(public_keys(&ring)))
}

/// POST /v1/admin/offline-keys/rotate: a new key signs from now on; the old one is retired
/// and stays published, so the license files it signed keep working.
#[utoipa::path(
    post,
    path = "/v1/admin/offline-keys/rotate",
    tag = "admin",
    responses(
        (status = 200, description = "The keys after the rotation", body = OfflinePublicKey),
        (status = 401, description = "unauthenticated", body = seatbroker_api::ErrorBody),
        (status = 403, description = "operator_disabled", body = seatbroker_api::ErrorBody)
    ),
    security(("operator" = []))
)]
pub async fn rotate(_: Operator, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ring = offline::rotate(&state, state.registry.now()).await?;
    Ok(HttpResponse::Ok().json(public_keys(&ring)))
}

/// POST /v1/offline/activations: accepts an offline request (the text of the request file
/// the offline computer wrote) for the signed-in account; 201 with the license file's text
/// and its seat, which never times out and only the owner or an operator can release.
#[utoipa::path(
    post,
    path = "/v1/offline/activations",
    tag = "offline",
    request_body = OfflineActivationBody,
    responses(
        (status = 201, description = "The license file for the offline computer, and its seat", body = OfflineActivation),
        (status = 401, description = "unauthenticated", body = seatbroker_api::ErrorBody),
        (status = 403, description = "offline_needs_permanent_license, no_license, member_blocked, not_a_member, join_restricted", body = seatbroker_api::ErrorBody),
        (status = 404, description = "unknown_code", body = seatbroker_api::ErrorBody),
        (status = 409, description = "no_seat_available", body = seatbroker_api::ErrorBody),
        (status = 422, description = "invalid_offline_request (not a request file's text), offline_request_expired (made more than 7 days ago)", body = seatbroker_api::ErrorBody),
        (status = 429, description = "rate_limited or too_many_attempts, with Retry-After", body = seatbroker_api::ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    who: Authenticated,
    state: web::Data<AppState>,
    body: ApiJson<OfflineActivationBody>,
) -> Result<HttpResponse, ApiError> {
    let now = state.registry.now();
    let grant = offline::accept(&state, who.0, &body.0.request, now).await?;
    Ok(HttpResponse::Created().json(OfflineActivation {
        seat: seatbroker_api::Seat {
            // The request named the device; the answer names it the same way.
            device_id: grant.device_id.clone(),
            ..views::seat(grant.pool, &grant.seat, now)
        },
        license: grant.license,
        file_name: grant.file_name,
    }))
}
