//! `GET /openapi.json`: the OpenAPI 3 description of the API, generated (utoipa) from the
//! annotations on the handlers, so it cannot drift from the routes it describes.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, activations, admin, me, members, operator, ops, pool_admin, pools, seats, trials,
    usage, views,
};

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "seatbroker", description = "Concurrent license seats for pooled licenses (HTTP API v1)."),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        openapi_json,
        accounts::create,
        accounts::login,
        me::get,
        me::seats,
        me::release_all,
        operator::issue,
        admin::confirm_email,
        activations::activate,
        trials::start,
        pools::get,
        pool_admin::patch,
        pool_admin::seats,
        usage::get,
        pool_admin::release,
        members::get_invite,
        members::rotate_invite,
        members::list,
        members::block,
        members::unblock,
        members::remove,
        seats::acquire,
        seats::heartbeat,
        seats::close,
        seats::logout,
        seats::offline,
    ),
    components(schemas(
        views::SeatJson,
        views::LicenseJson,
        views::AccountJson,
        views::PoolJson,
        views::PoolSettingsJson,
        views::ActivationJson,
        views::TrialJson,
        views::LoginJson,
        views::MeJson,
        views::ReleasedJson,
        views::InviteJson,
        views::MemberJson,
        views::UsageRowJson,
        admin::AdminAccountJson,
        accounts::NewAccount,
        accounts::Login,
        operator::IssueLicense,
        activations::Activate,
        pool_admin::PoolPatch,
        seats::TakeSeat,
        seats::Beat,
        seats::Offline,
    )),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// Adds the two credentials: a user's bearer token and the operator token.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("bearer", bearer());
        components.add_security_scheme("operator", bearer());
    }
}

/// The description as JSON.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// GET /openapi.json: the OpenAPI 3 description of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, description = "This document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
