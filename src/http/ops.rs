//! Operations endpoints: `/healthz` (the process runs), `/readyz` (storage answers and the
//! pools held at start are loaded) and `/metrics` (Prometheus text). The OpenAPI description
//! is in `openapi`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::ApiError;
use crate::service::AppState;

/// How long `/readyz` waits for the store before calling it unavailable.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(1);

/// GET /healthz: 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "The process runs")
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// GET /readyz: 200 when storage answers and the pools held at start are loaded.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Storage answers and the pools held at start are loaded"),
        (status = 503, description = "Not ready: storage_unavailable, not_ready or shutting_down, with Retry-After")
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    let store_ok = matches!(
        tokio::time::timeout(STORE_PING_TIMEOUT, state.store.ping()).await,
        Ok(Ok(()))
    );
    if !store_ok {
        return Err(ApiError::storage_unavailable());
    }
    if !state.registry.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the pools holding seats are still loading",
        )
        .retry_after(1));
    }
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// GET /metrics: every metric in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format, version 0.0.4", content_type = "text/plain")
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
