//! The internal route between nodes of a cluster: `POST /internal/v1/pools/{n}/call`, a
//! forwarded `PoolCall` (see `cluster::rpc` for the wire format and its authentication). It
//! runs the call on this node and never forwards it again. On a single node, and for a
//! request whose MAC does not verify, it is refused like any unknown or unauthenticated
//! request.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use seatbroker_actors::PoolId;

use super::error::ApiError;
use crate::cluster::rpc;
use crate::service::AppState;

/// Runs a forwarded call on this node's actor of the pool.
pub async fn call(
    state: web::Data<AppState>,
    req: HttpRequest,
    pool: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(cluster) = state.engine.cluster() else {
        return Err(ApiError::not_found("route"));
    };
    let pool = pool
        .parse()
        .map(PoolId)
        .map_err(|_| ApiError::not_found("pool"))?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    rpc::verify(
        cluster.secret(),
        header(rpc::TIME_HEADER),
        header(rpc::MAC_HEADER),
        pool,
        &body,
    )
    .map_err(|refusal| {
        tracing::warn!(%pool, %refusal, "refused a forward");
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            refusal.to_string(),
        )
    })?;
    let call = rpc::decode_call(&body).map_err(|e| ApiError::malformed(e.to_string(), None))?;
    let answer = cluster.run_here(state.engine.registry(), pool, call).await;
    let bytes = rpc::encode_answer(&answer).map_err(|e| {
        tracing::error!(%pool, %e, "cannot encode a forward's answer");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "pool_owned_elsewhere",
            "this node cannot answer for the pool now",
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/msgpack")
        .body(bytes))
}
