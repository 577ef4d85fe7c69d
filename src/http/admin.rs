//! Support actions under `/v1/admin/...` (the operator token): confirming an account's email
//! by hand, for a person whose confirmation mail never arrived; looking an account up by id
//! or email with its licenses, pools, seats and devices (`seatbroker account show`);
//! deregistering a lost device; and reading the audit log every repair is written to.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::operator::Operator;
use super::views;
use crate::domain::ids::format_pool;
use crate::domain::ids::parse_account;
use crate::service::support;
use crate::service::AppState;
use crate::store::MemberStatus;

/// An account as support sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccountJson {
    /// `A-...`.
    id: String,
    /// The email.
    email: String,
    /// The display name.
    name: String,
    /// Whether the email is confirmed.
    email_confirmed: bool,
}

/// POST /v1/admin/accounts/{account}/confirm-email: marks the account's email confirmed.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{account}/confirm-email",
    tag = "admin",
    params(("account" = String, Path, description = "the account id")),
    responses(
        (status = 200, description = "The account, confirmed (again when repeated)", body = AdminAccountJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found")
    ),
    security(("operator" = []))
)]
pub async fn confirm_email(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = parse_account(&path).map_err(|_| ApiError::not_found("account"))?;
    let record = support::confirm_email(&state, support::OPERATOR, account).await?;
    Ok(HttpResponse::Ok().json(AdminAccountJson {
        id: record.id.to_string(),
        email: record.email,
        name: record.name,
        email_confirmed: record.email_confirmed,
    }))
}

/// One pool of the account: owner or member, and a member's standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPoolRole {
    /// `P-...`.
    pool_id: String,
    /// `owner` or `member`.
    role: &'static str,
    /// A member's `active` or `blocked`; null for the owner.
    status: Option<&'static str>,
}

/// A device of the account and how many seats it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminDevice {
    /// The device's fingerprint (the id its application sent is kept only as a keyed hash);
    /// `POST .../devices/{device}/deregister` takes it.
    device_id: String,
    /// `windows`, `mac` or `web`.
    platform: seatbroker_api::Platform,
    /// Seats it holds now, over every pool.
    seats: usize,
}

/// An account as support looks it up.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccountCase {
    /// The account.
    account: AdminAccountJson,
    /// When it was created (RFC 3339).
    created_at: String,
    /// The licenses it holds.
    licenses: Vec<seatbroker_api::License>,
    /// Its own pool first, then the pools it joined.
    pools: Vec<AdminPoolRole>,
    /// Every seat it holds.
    seats: Vec<seatbroker_api::Seat>,
    /// The devices behind those seats.
    devices: Vec<AdminDevice>,
}

/// GET /v1/admin/accounts/{account}: the account an id (`A-...`) or an email names, with
/// its licenses, pools, seats and devices.
#[utoipa::path(
    get,
    path = "/v1/admin/accounts/{account}",
    tag = "admin",
    params(("account" = String, Path, description = "the account id, or its email")),
    responses(
        (status = 200, description = "The account's case", body = AdminAccountCase),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found")
    ),
    security(("operator" = []))
)]
pub async fn show(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let case = support::case(&state, &path).await?;
    let now = state.registry.now();
    let mut devices: Vec<AdminDevice> = Vec::new();
    for (_, seat) in &case.seats {
        let platform = views::platform(seat.platform);
        let print = crate::domain::device::fingerprint(&seat.device);
        match devices
            .iter_mut()
            .find(|d| d.device_id == print && d.platform == platform)
        {
            Some(d) => d.seats += 1,
            None => devices.push(AdminDevice {
                device_id: print,
                platform,
                seats: 1,
            }),
        }
    }
    let record = &case.account;
    Ok(HttpResponse::Ok().json(AdminAccountCase {
        account: AdminAccountJson {
            id: record.id.to_string(),
            email: record.email.clone(),
            name: record.name.clone(),
            email_confirmed: record.email_confirmed,
        },
        created_at: crate::domain::time::format(record.created_at),
        licenses: case.licenses.iter().map(views::license).collect(),
        pools: case
            .pools
            .iter()
            .map(|p| AdminPoolRole {
                pool_id: format_pool(p.pool),
                role: if p.owner { "owner" } else { "member" },
                status: p.status.map(|s| match s {
                    MemberStatus::Active => "active",
                    MemberStatus::Blocked => "blocked",
                }),
            })
            .collect(),
        seats: case
            .seats
            .iter()
            .map(|(pool, seat)| views::seat(*pool, seat, now))
            .collect(),
        devices,
    }))
}

/// What deregistering a device released.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDeregistered {
    /// How many seats were released.
    released: usize,
    /// The seats released (their holder hears `revoked`).
    seats: Vec<seatbroker_api::Seat>,
}

/// POST /v1/admin/accounts/{account}/devices/{device}/deregister: a lost laptop. Releases
/// every seat the account holds on that device, offline license files included, and writes
/// it to the audit log.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{account}/devices/{device}/deregister",
    tag = "admin",
    params(
        ("account" = String, Path, description = "the account id, or its email"),
        ("device" = String, Path, description = "the device's fingerprint (as the account's case lists it), or the id its application sent (1 to 128 characters, no control characters); percent-encoded", min_length = 1, max_length = 128, pattern = r"^[^\\x00-\\x1f\\x7f-\\x9f]+$")
    ),
    responses(
        (status = 200, description = "The seats released (none when the device held none)", body = DeviceDeregistered),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 404, description = "not_found"),
        (status = 422, description = "invalid_value: not a device id")
    ),
    security(("operator" = []))
)]
pub async fn deregister_device(
    _: Operator,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (account, device) = path.into_inner();
    let released = support::deregister_device(&state, support::OPERATOR, &account, &device).await?;
    let now = state.registry.now();
    Ok(HttpResponse::Ok().json(DeviceDeregistered {
        released: released.len(),
        seats: released
            .iter()
            .map(|(pool, seat)| views::seat(*pool, seat, now))
            .collect(),
    }))
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryJson {
    /// When (RFC 3339).
    at: String,
    /// `operator`, or the account that acted on itself.
    actor: String,
    /// What was done (`confirm_email`, `deregister_device`, `rotate_offline_key`).
    action: String,
    /// What it was done to.
    target: String,
    /// The state before, as JSON; null when there was none.
    #[schema(value_type = Object)]
    before: Option<serde_json::Value>,
    /// The state after, as JSON; null when nothing is left.
    #[schema(value_type = Object)]
    after: Option<serde_json::Value>,
}

/// The audit log as `GET /v1/admin/audit` answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogJson {
    /// Oldest first.
    entries: Vec<AuditEntryJson>,
}

/// The query of `GET /v1/admin/audit`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this time (RFC 3339, 1970 or later).
    #[param(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    since: Option<String>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// GET /v1/admin/audit: the support actions, oldest first (from `since`).
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "The audit log", body = AuditLogJson),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "operator_disabled"),
        (status = 422, description = "invalid_value")
    ),
    security(("operator" = []))
)]
pub async fn audit(
    _: Operator,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query: AuditQuery = super::json::query(&req)?;
    let since = match &query.since {
        Some(raw) => Some(
            crate::domain::time::parse(raw)
                .map_err(|e| ApiError::invalid("since", e.to_string()))?,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be 1 to 1000"));
    }
    let entries = support::log(&state, since, limit).await?;
    let parse = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
    Ok(HttpResponse::Ok().json(AuditLogJson {
        entries: entries
            .iter()
            .map(|e| AuditEntryJson {
                at: crate::domain::time::format(e.at),
                actor: e.actor.clone(),
                action: e.action.clone(),
                target: e.target.clone(),
                before: parse(&e.before),
                after: parse(&e.after),
            })
            .collect(),
    }))
}
