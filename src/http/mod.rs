//! The stateless HTTP layer of the JSON API: one module per resource of API.md, the route
//! table, and the per-request tracing span. Handlers parse and authenticate, call one
//! function of `service`, and turn its answer into JSON (`views`); they hold no state of
//! their own, decide no rule and never call each other.

pub mod accounts;
pub mod activations;
pub mod admin;
pub mod auth;
pub mod error;
pub mod history;
pub mod internal;
pub mod json;
pub mod me;
pub mod members;
pub mod offline;
pub mod openapi;
pub mod operator;
pub mod ops;
pub mod ownership;
pub mod pool_admin;
pub mod pools;
pub mod seats;
pub mod trials;
pub mod usage;
pub mod views;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use tracing::Instrument;

use crate::service::AppState;
use error::ApiError;

/// A resource whose other methods answer 405 in the API's error shape.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::method_not_allowed())
    }))
}

/// Every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The hot path first: the router tries resources in order, and each one with a `{..}`
    // segment costs a pattern match.
    cfg.service(resource("/v1/seats").route(web::post().to(seats::acquire)))
        .service(resource("/v1/seats/{seat}/heartbeat").route(web::post().to(seats::heartbeat)))
        .service(resource("/v1/seats/{seat}/close").route(web::post().to(seats::close)))
        .service(resource("/v1/seats/{seat}/offline").route(web::post().to(seats::offline)))
        .service(resource("/v1/seats/{seat}").route(web::delete().to(seats::logout)))
        .service(resource("/internal/v1/pools/{n}/call").route(web::post().to(internal::call)))
        .service(resource("/healthz").route(web::get().to(ops::healthz)))
        .service(resource("/readyz").route(web::get().to(ops::readyz)))
        .service(resource("/metrics").route(web::get().to(ops::metrics)))
        .service(resource("/openapi.json").route(web::get().to(openapi::openapi_json)))
        .service(resource("/v1/accounts").route(web::post().to(accounts::create)))
        .service(resource("/v1/auth/login").route(web::post().to(accounts::login)))
        .service(resource("/v1/operator/licenses").route(web::post().to(operator::issue)))
        .service(
            resource("/v1/admin/accounts/{account}")
                .route(web::get().to(admin::show))
                .route(web::delete().to(ownership::delete)),
        )
        .service(
            resource("/v1/admin/accounts/{account}/transfer")
                .route(web::post().to(ownership::transfer)),
        )
        .service(
            resource("/v1/admin/accounts/{account}/devices/{device}/deregister")
                .route(web::post().to(admin::deregister_device)),
        )
        .service(resource("/v1/admin/audit").route(web::get().to(admin::audit)))
        .service(
            resource("/v1/admin/accounts/{account}/confirm-email")
                .route(web::post().to(admin::confirm_email)),
        )
        .service(resource("/v1/offline/public-key").route(web::get().to(offline::public_key)))
        .service(resource("/v1/offline/activations").route(web::post().to(offline::activate)))
        .service(resource("/v1/admin/offline-keys/rotate").route(web::post().to(offline::rotate)))
        .service(resource("/v1/activations").route(web::post().to(activations::activate)))
        .service(resource("/v1/trials").route(web::post().to(trials::start)))
        .service(resource("/v1/me").route(web::get().to(me::get)))
        .service(resource("/v1/me/seats").route(web::get().to(me::seats)))
        .service(resource("/v1/me/seats/release").route(web::post().to(me::release_all)))
        .service(
            resource("/v1/pools/{pool}")
                .route(web::get().to(pools::get))
                .route(web::patch().to(pool_admin::patch)),
        )
        .service(resource("/v1/pools/{pool}/seats").route(web::get().to(pool_admin::seats)))
        .service(resource("/v1/pools/{pool}/usage").route(web::get().to(usage::get)))
        .service(resource("/v1/pools/{pool}/history").route(web::get().to(history::owner)))
        .service(resource("/v1/admin/pools/{pool}/history").route(web::get().to(history::operator)))
        .service(
            resource("/v1/pools/{pool}/seats/{seat}").route(web::delete().to(pool_admin::release)),
        )
        .service(resource("/v1/pools/{pool}/invite").route(web::get().to(members::get_invite)))
        .service(
            resource("/v1/pools/{pool}/invite/rotate")
                .route(web::post().to(members::rotate_invite)),
        )
        .service(resource("/v1/pools/{pool}/members").route(web::get().to(members::list)))
        .service(
            resource("/v1/pools/{pool}/members/{account}/block")
                .route(web::post().to(members::block)),
        )
        .service(
            resource("/v1/pools/{pool}/members/{account}/unblock")
                .route(web::post().to(members::unblock)),
        )
        .service(
            resource("/v1/pools/{pool}/members/{account}").route(web::delete().to(members::remove)),
        );
}

/// Unknown routes: 404 in the API's error shape, or the portal's 404 page for a browser.
pub async fn unknown_route(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    if crate::portal::wants_page(&req) {
        return Ok(crate::portal::not_found(&req));
    }
    Err(ApiError::not_found("route"))
}

static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// Wraps each request in a debug-level span (request id, method, route template), logs its
/// status and duration (at debug level, or warn with the same fields for a 5xx) and counts it
/// in the HTTP metrics. Never logs bodies or headers, so passwords and tokens stay out of
/// logs. The span is at debug level because at info its fields were formatted for every
/// request (1.6 % of the broker's CPU under load, README "Performance").
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::debug_span!("request", request_id, %method, route = %route);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros() as u64;
    if let Some(state) = state {
        state.metrics.http_request(
            &route,
            method.as_str(),
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
    }
    if status.is_server_error() {
        tracing::warn!(
            request_id,
            %method,
            route = %route,
            status = status.as_u16(),
            micros,
            "request failed"
        );
    } else {
        let _entered = span.enter();
        tracing::debug!(status = status.as_u16(), micros, "request");
    }
    result
}
