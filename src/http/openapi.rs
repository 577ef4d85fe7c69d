//! `GET /openapi.json`: the OpenAPI 3 description of the API, generated (utoipa) from the
//! annotations on the handlers, so it cannot drift from the routes it describes. The
//! response bodies are `seatbroker_api`'s shared types, registered here with the request bodies.

use actix_web::HttpResponse;
use seatbroker_api as api;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, activations, admin, history, me, members, offline, operator, ops, ownership,
    pool_admin, pools, seats, trials, usage,
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
        admin::show,
        admin::deregister_device,
        admin::audit,
        ownership::transfer,
        ownership::delete,
        offline::public_key,
        offline::rotate,
        offline::activate,
        activations::activate,
        trials::start,
        pools::get,
        pool_admin::patch,
        pool_admin::seats,
        usage::get,
        history::owner,
        history::operator,
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
        api::Seat,
        api::Platform,
        api::Policy,
        api::License,
        api::Account,
        api::Pool,
        api::PoolSettings,
        api::ActivationKind,
        api::Trial,
        api::Session,
        api::Me,
        api::Released,
        api::Invite,
        api::Member,
        api::MemberStatus,
        api::UsageRow,
        api::PoolHistory,
        api::PoolHistoryEvent,
        api::ErrorBody,
        api::ErrorObject,
        api::NoSeatDetails,
        api::SeatElsewhere,
        api::OwnerContact,
        api::offline::OfflinePublicKey,
        api::offline::OfflineRetiredKey,
        api::offline::OfflineActivation,
        api::offline::OfflineActivationBody,
        admin::AdminAccountJson,
        admin::AdminAccountCase,
        admin::AdminPoolRole,
        admin::AdminDevice,
        admin::DeviceDeregistered,
        admin::AuditEntryJson,
        admin::AuditLogJson,
        ownership::TransferBody,
        ownership::TransferredJson,
        ownership::DeletedJson,
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every `$ref` under `node`.
    fn refs<'a>(node: &'a Value, found: &mut Vec<&'a str>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_response_body_is_a_shared_schema_and_every_reference_resolves() {
        let doc = super::document();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Seat",
            "Platform",
            "Policy",
            "License",
            "Account",
            "Pool",
            "PoolSettings",
            "Activation",
            "ActivationKind",
            "Trial",
            "Session",
            "Me",
            "Released",
            "Invite",
            "Member",
            "MemberStatus",
            "UsageRow",
            "PoolHistory",
            "PoolHistoryEvent",
            "ErrorBody",
            "NoSeatDetails",
        ] {
            assert!(schemas[name].is_object(), "schema {name} is registered");
        }
        let seat = &schemas["Seat"];
        assert_eq!(
            seat["properties"]["platform"]["$ref"],
            "#/components/schemas/Platform"
        );
        assert_eq!(
            doc["paths"]["/v1/seats"]["post"]["responses"]["201"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/Seat"
        );
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for target in found {
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(schemas[name].is_object(), "{target} resolves");
        }
    }
}
