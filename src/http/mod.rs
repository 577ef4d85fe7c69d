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

/// A resource whose other methods answer 405 in the API's error shape, with the `Allow`
/// header RFC 9110 asks of a 405 (`allow`: the methods routed below, such as `"GET, PATCH"`).
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response =
            actix_web::ResponseError::error_response(&ApiError::method_not_allowed());
        response.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        response
    }))
}

/// Every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The hot path first: the router tries resources in order, and each one with a `{..}`
    // segment costs a pattern match.
    cfg.service(resource("/v1/seats", "POST").route(web::post().to(seats::acquire)))
        .service(
            resource("/v1/seats/{seat}/heartbeat", "POST").route(web::post().to(seats::heartbeat)),
        )
        .service(resource("/v1/seats/{seat}/close", "POST").route(web::post().to(seats::close)))
        .service(resource("/v1/seats/{seat}/offline", "POST").route(web::post().to(seats::offline)))
        .service(resource("/v1/seats/{seat}", "DELETE").route(web::delete().to(seats::logout)))
        .service(
            resource("/internal/v1/pools/{n}/call", "POST").route(web::post().to(internal::call)),
        )
        .service(resource("/healthz", "GET").route(web::get().to(ops::healthz)))
        .service(resource("/readyz", "GET").route(web::get().to(ops::readyz)))
        .service(resource("/metrics", "GET").route(web::get().to(ops::metrics)))
        .service(resource("/openapi.json", "GET").route(web::get().to(openapi::openapi_json)))
        .service(resource("/v1/accounts", "POST").route(web::post().to(accounts::create)))
        .service(resource("/v1/auth/login", "POST").route(web::post().to(accounts::login)))
        .service(resource("/v1/operator/licenses", "POST").route(web::post().to(operator::issue)))
        .service(
            resource("/v1/admin/accounts/{account}", "GET, DELETE")
                .route(web::get().to(admin::show))
                .route(web::delete().to(ownership::delete)),
        )
        .service(
            resource("/v1/admin/accounts/{account}/transfer", "POST")
                .route(web::post().to(ownership::transfer)),
        )
        .service(
            resource(
                "/v1/admin/accounts/{account}/devices/{device}/deregister",
                "POST",
            )
            .route(web::post().to(admin::deregister_device)),
        )
        .service(resource("/v1/admin/audit", "GET").route(web::get().to(admin::audit)))
        .service(
            resource("/v1/admin/accounts/{account}/confirm-email", "POST")
                .route(web::post().to(admin::confirm_email)),
        )
        .service(
            resource("/v1/offline/public-key", "GET").route(web::get().to(offline::public_key)),
        )
        .service(
            resource("/v1/offline/activations", "POST").route(web::post().to(offline::activate)),
        )
        .service(
            resource("/v1/admin/offline-keys/rotate", "POST")
                .route(web::post().to(offline::rotate)),
        )
        .service(resource("/v1/activations", "POST").route(web::post().to(activations::activate)))
        .service(resource("/v1/trials", "POST").route(web::post().to(trials::start)))
        .service(resource("/v1/me", "GET").route(web::get().to(me::get)))
        .service(resource("/v1/me/seats", "GET").route(web::get().to(me::seats)))
        .service(resource("/v1/me/seats/release", "POST").route(web::post().to(me::release_all)))
        .service(
            resource("/v1/pools/{pool}", "GET, PATCH")
                .route(web::get().to(pools::get))
                .route(web::patch().to(pool_admin::patch)),
        )
        .service(resource("/v1/pools/{pool}/seats", "GET").route(web::get().to(pool_admin::seats)))
        .service(resource("/v1/pools/{pool}/usage", "GET").route(web::get().to(usage::get)))
        .service(resource("/v1/pools/{pool}/history", "GET").route(web::get().to(history::owner)))
        .service(
            resource("/v1/admin/pools/{pool}/history", "GET")
                .route(web::get().to(history::operator)),
        )
        .service(
            resource("/v1/pools/{pool}/seats/{seat}", "DELETE")
                .route(web::delete().to(pool_admin::release)),
        )
        .service(
            resource("/v1/pools/{pool}/invite", "GET").route(web::get().to(members::get_invite)),
        )
        .service(
            resource("/v1/pools/{pool}/invite/rotate", "POST")
                .route(web::post().to(members::rotate_invite)),
        )
        .service(resource("/v1/pools/{pool}/members", "GET").route(web::get().to(members::list)))
        .service(
            resource("/v1/pools/{pool}/members/{account}/block", "POST")
                .route(web::post().to(members::block)),
        )
        .service(
            resource("/v1/pools/{pool}/members/{account}/unblock", "POST")
                .route(web::post().to(members::unblock)),
        )
        .service(
            resource("/v1/pools/{pool}/members/{account}", "DELETE")
                .route(web::delete().to(members::remove)),
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

#[cfg(test)]
mod tests {
    use actix_web::http::{header, Method, StatusCode};
    use actix_web::{test, App};

    #[actix_rt::test]
    async fn a_method_a_route_does_not_take_is_405_with_allow() {
        let app = test::init_service(App::new().configure(super::routes)).await;
        for (method, path, allow) in [
            (Method::TRACE, "/healthz", "GET"),
            (Method::PUT, "/v1/pools/P-000-001", "GET, PATCH"),
            (Method::GET, "/v1/seats/S-000001-1", "DELETE"),
        ] {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri(path)
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(res.headers().get(header::ALLOW).unwrap(), allow, "{path}");
        }
    }
}
