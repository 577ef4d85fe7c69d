//! `GET /openapi.json`: the OpenAPI 3 description of the API, generated (utoipa) from the
//! annotations on the handlers, so it cannot drift from the routes it describes. The
//! response bodies are `seatbroker_api`'s shared types, registered here with the request bodies.

use actix_web::HttpResponse;
use seatbroker_api as api;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, Schema, Type};
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
    modifiers(&Security, &CommonErrors)
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

/// Adds to every operation the refusals API.md's general table says any route of its kind
/// can answer (a body that is not JSON, a missing token, an unknown id in the path, storage
/// down...), where the operation's own annotation does not name them already, and gives
/// every refusal the error body's schema and 429 and 503 their `Retry-After`. A route's
/// annotation names what is particular to it; this names what all of them share, so a new
/// route cannot forget one (schemathesis checks both against the live broker).
struct CommonErrors;

/// Which credential an operation takes.
fn credentials(op: &Operation) -> (bool, bool) {
    let names: Vec<String> = op
        .security
        .iter()
        .flatten()
        .filter_map(|req| serde_json::to_value(req).ok())
        .filter_map(|v| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect();
    let bearer = names.iter().any(|n| n == "bearer");
    let operator = names.iter().any(|n| n == "operator");
    (bearer, operator)
}

/// The refusals an operation can answer whatever it does.
fn common_refusals(path: &str, op: &Operation) -> Vec<(&'static str, &'static str)> {
    let (bearer, operator) = credentials(op);
    let has_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    let mut refusals = Vec::new();
    if op.request_body.is_some() {
        refusals.push((
            "400",
            "malformed_request (with field): not JSON, not an object, a field missing or of the wrong type",
        ));
        refusals.push(("413", "body_too_large: over server.max_body_bytes"));
        refusals.push((
            "422",
            "invalid_value (with field): the right type, an invalid value",
        ));
    } else if has_query {
        refusals.push(("400", "malformed_request: the query is unreadable"));
    }
    match (bearer, operator) {
        (true, true) => {
            refusals.push((
                "401",
                "unauthenticated: neither a valid user token nor the operator token",
            ));
        }
        (true, false) => refusals.push((
            "401",
            "unauthenticated: no token, or a bad, tampered, expired or revoked one",
        )),
        (false, true) => {
            refusals.push(("401", "unauthenticated: not the operator token"));
            refusals.push(("403", "operator_disabled: operator.token is not set"));
        }
        (false, false) => {}
    }
    if path.contains('{') {
        refusals.push(("404", "not_found (with resource): no such id"));
    }
    let static_answer = ["/healthz", "/metrics", "/openapi.json"].contains(&path);
    if !static_answer {
        refusals.push((
            "503",
            "storage_unavailable, shutting_down or pool_owned_elsewhere, with Retry-After",
        ));
    }
    refusals
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error_body = || {
            Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(
                "ErrorBody",
            ))))
        };
        let retry_after = || {
            let mut header = Header::new(utoipa::openapi::schema::Object::with_type(Type::Integer));
            header.description = Some("Seconds to wait before trying again".to_owned());
            header
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for (status, description) in common_refusals(path, op) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(Response::new(description)));
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let refusal = status.starts_with('4') || status.starts_with('5');
                    if refusal && response.content.is_empty() {
                        response
                            .content
                            .insert("application/json".to_owned(), error_body());
                    }
                    if status == "429" || status == "503" {
                        response
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(retry_after);
                    }
                }
            }
        }
    }
}

/// OpenAPI links from a granted seat (`POST /v1/seats`, 201 and 200) to what can be done
/// with it: heartbeat, close, offline, logout, and the owner's forced release. Clients can
/// follow them, and schemathesis' stateful phase drives real seats through them. Written
/// into the JSON: utoipa 5.5 serialises its `Link` with snake-case keys (`operation_ref`),
/// which no reader knows.
fn add_seat_links(doc: &mut serde_json::Value) {
    let follow_ups = [
        ("Heartbeat", "/v1/seats/{seat}/heartbeat", "post"),
        ("Close", "/v1/seats/{seat}/close", "post"),
        ("Offline", "/v1/seats/{seat}/offline", "post"),
        ("Logout", "/v1/seats/{seat}", "delete"),
        ("Release", "/v1/pools/{pool}/seats/{seat}", "delete"),
    ];
    let mut links = serde_json::Map::new();
    for (name, path, method) in follow_ups {
        let mut parameters = serde_json::json!({"seat": "$response.body#/seat_id"});
        if path.contains("{pool}") {
            parameters["pool"] = "$response.body#/pool_id".into();
        }
        links.insert(
            name.to_owned(),
            serde_json::json!({
                "operationRef": format!("#/paths/{}/{method}", path.replace('/', "~1")),
                "parameters": parameters,
            }),
        );
    }
    for status in ["200", "201"] {
        if let Some(response) = doc
            .pointer_mut(&format!("/paths/~1v1~1seats/post/responses/{status}"))
            .and_then(serde_json::Value::as_object_mut)
        {
            response.insert("links".to_owned(), serde_json::Value::Object(links.clone()));
        }
    }
}

/// The description as JSON.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    add_seat_links(&mut doc);
    doc
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
    fn every_operation_documents_the_refusals_its_kind_can_answer() {
        let doc = super::document();
        let responses = |method: &str, path: &str| doc["paths"][path][method]["responses"].clone();
        let heartbeat = responses("post", "/v1/seats/{seat}/heartbeat");
        for status in ["400", "401", "404", "413", "503"] {
            assert!(
                heartbeat[status].is_object(),
                "heartbeat documents {status}"
            );
        }
        let login = responses("post", "/v1/auth/login");
        assert!(login["400"].is_object(), "login documents 400");
        assert!(login["401"].is_object(), "login documents 401");
        for (method, path) in [
            ("post", "/v1/accounts"),
            ("post", "/v1/auth/login"),
            ("post", "/v1/activations"),
            ("post", "/v1/offline/activations"),
        ] {
            let limited = &responses(method, path)["429"];
            let description = limited["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("rate_limited") && description.contains("too_many_attempts"),
                "{method} {path}: {description}"
            );
            assert!(limited["headers"]["Retry-After"].is_object(), "{path}");
        }
        let issue = responses("post", "/v1/operator/licenses");
        assert!(issue["401"].is_object() && issue["403"].is_object());
        assert_eq!(
            issue["422"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert!(responses("get", "/healthz")["503"].is_null());
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
