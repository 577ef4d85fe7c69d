//! The null broker: the broker's seat routes and JSON shapes with nothing behind them, the
//! ceiling a real broker is measured against (PERF.md). It verifies every bearer token
//! exactly as the broker does (the broker's own `TokenKey`, HMAC-SHA256, with the time read
//! per request), parses the same bodies, and answers the same seat object built the same way
//! (`seatbroker_api::Seat`, RFC 3339 times), so what it costs is HTTP, auth and JSON alone: no
//! actor, no seat table, no storage, no state. The setup routes the scenarios call (accounts,
//! login, operator licenses, activations, me, invite, pool) answer plausible objects derived
//! from their input, so the same scenario runs against it unchanged. It never refuses a seat,
//! so only scenarios whose every take is granted (hot-pool at capacity = clients) compare.
//!
//! The HTTP side is shared with the Redis-semaphore peer (`crate::peer`): every handler is
//! generic over a `SeatStore`, what stands behind the routes. The null broker's is `NoSeats`
//! (nothing: every seat granted, every pool as large as a license can be); the peer's keeps
//! holders and capacities in Redis. Routes, token check, bodies, JSON and errors are this
//! module's alone, so the two servers differ only in their store.

// Helpers hand the refusal back as the response the handler returns as it is; boxing it
// would add an allocation per refusal for nothing.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use seatbroker::auth::token::TokenKey;
use seatbroker::domain::ids::{format_pool, format_seat, parse_pool, parse_seat, pool_of};
use seatbroker::domain::time::format as rfc3339;
use seatbroker_actors::{AccountId, PoolId, SeatId, Timestamp};
use seatbroker_api::{
    Account, Activation, ActivationKind, ErrorBody, ErrorObject, Invite, License, Me,
    NoSeatDetails, OwnerContact, Platform, Policy, Pool, Seat, Session,
};
use serde::Deserialize;
use serde_json::json;

/// Lifetime of the tokens it issues.
const TOKEN_TTL_S: u64 = 86_400;
/// Heartbeat timeout of a pool that was given none (the broker's default: 8 hours).
pub(crate) const TIMEOUT_S: u32 = 28_800;
/// Seats of every license and pool of the null broker (the most a license may have).
const NULL_CAPACITY: u32 = 100_000;
/// The owner every pool names (the contact of a `no_seat_available` refusal too).
const OWNER_NAME: &str = "Owner";
/// The owner's email.
const OWNER_EMAIL: &str = "owner@null.example";

/// The store behind the seat routes could not be reached: answered 503
/// `storage_unavailable`, as the broker answers when its store is down.
#[derive(Debug, thiserror::Error)]
#[error("storage unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// A pool as its store knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolState {
    /// Seats of its licenses together.
    pub capacity: u32,
    /// Seats held now.
    pub in_use: u32,
    /// Its heartbeat timeout, seconds.
    pub timeout_s: u32,
}

/// What a take of a seat came to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Take {
    /// Granted; the pool's heartbeat timeout.
    Granted {
        /// Seconds.
        timeout_s: u32,
    },
    /// Every seat held (409 `no_seat_available`).
    Full {
        /// The pool's capacity.
        capacity: u32,
        /// Seats held.
        in_use: u32,
    },
    /// The pool has no license (403 `no_license`).
    NoLicense,
}

/// What stands behind the routes: `NoSeats` for the null broker, Redis for the peer. The
/// handlers call it once per request at most; each HTTP worker builds its own (so a store
/// may hold a connection of that worker's runtime).
pub(crate) trait SeatStore: 'static {
    /// The operator issued a license of `seats` under `key`.
    async fn license_issued(&self, key: &str, seats: u32) -> Result<(), StoreUnavailable>;
    /// `key` is activated into `pool`: the license's seats, `None` when the key is unknown.
    async fn activate(&self, key: &str, pool: PoolId) -> Result<Option<u32>, StoreUnavailable>;
    /// The owner set the pool's heartbeat timeout.
    async fn set_timeout(&self, pool: PoolId, timeout_s: u32) -> Result<(), StoreUnavailable>;
    /// The pool now.
    async fn pool(&self, pool: PoolId) -> Result<PoolState, StoreUnavailable>;
    /// Takes `seat` in `pool` at `now` when a seat is free.
    async fn take(
        &self,
        pool: PoolId,
        seat: SeatId,
        now: Timestamp,
    ) -> Result<Take, StoreUnavailable>;
    /// A heartbeat of `seat` at `now`: the pool's timeout, or `None` when the seat is gone.
    async fn heartbeat(
        &self,
        pool: PoolId,
        seat: SeatId,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreUnavailable>;
    /// Gives `seat` back (also when it is already gone).
    async fn release(&self, pool: PoolId, seat: SeatId) -> Result<(), StoreUnavailable>;
}

/// The null broker's store: nothing. Every seat is granted, every pool holds
/// `NULL_CAPACITY` seats of which none is in use, every heartbeat finds its seat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoSeats;

impl SeatStore for NoSeats {
    async fn license_issued(&self, _: &str, _: u32) -> Result<(), StoreUnavailable> {
        Ok(())
    }

    async fn activate(&self, _: &str, _: PoolId) -> Result<Option<u32>, StoreUnavailable> {
        Ok(Some(NULL_CAPACITY))
    }

    async fn set_timeout(&self, _: PoolId, _: u32) -> Result<(), StoreUnavailable> {
        Ok(())
    }

    async fn pool(&self, _: PoolId) -> Result<PoolState, StoreUnavailable> {
        Ok(PoolState {
            capacity: NULL_CAPACITY,
            in_use: 0,
            timeout_s: TIMEOUT_S,
        })
    }

    async fn take(&self, _: PoolId, _: SeatId, _: Timestamp) -> Result<Take, StoreUnavailable> {
        Ok(Take::Granted {
            timeout_s: TIMEOUT_S,
        })
    }

    async fn heartbeat(
        &self,
        _: PoolId,
        _: SeatId,
        _: Timestamp,
    ) -> Result<Option<u32>, StoreUnavailable> {
        Ok(Some(TIMEOUT_S))
    }

    async fn release(&self, _: PoolId, _: SeatId) -> Result<(), StoreUnavailable> {
        Ok(())
    }
}

/// What every handler shares: the token key and the operator token.
struct NullState {
    tokens: TokenKey,
    operator_token: String,
}

/// The time now, as the broker reads it.
pub(crate) fn now() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_millis() as u64)
}

fn error(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    error_with(status, code, message, serde_json::Map::new())
}

fn error_with(
    status: StatusCode,
    code: &'static str,
    message: &str,
    details: serde_json::Map<String, serde_json::Value>,
) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: ErrorObject {
            code: Cow::Borrowed(code),
            message: message.to_owned(),
            details,
        },
    })
}

/// 503 `storage_unavailable` with `Retry-After: 1`, as the broker answers when its store is
/// down.
fn unavailable(e: &StoreUnavailable) -> HttpResponse {
    let mut res = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        &e.to_string(),
    );
    res.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    res
}

/// 409 `no_seat_available` with the details of API.md, as the broker writes them.
fn no_seat(capacity: u32, in_use: u32) -> HttpResponse {
    let details = NoSeatDetails {
        capacity,
        in_use,
        own_seats_elsewhere: Vec::new(),
        owner_contact: Some(OwnerContact {
            name: OWNER_NAME.into(),
            email: OWNER_EMAIL.into(),
        }),
        queue_position: None,
    };
    let details = match serde_json::to_value(details) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    error_with(
        StatusCode::CONFLICT,
        "no_seat_available",
        &format!("all {capacity} seats of the pool are in use ({in_use} in use)"),
        details,
    )
}

/// The account a bearer token speaks for, verified as the broker does.
fn authenticate(req: &HttpRequest, state: &NullState) -> Result<AccountId, HttpResponse> {
    let unauthenticated = || {
        error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this needs a valid token",
        )
    };
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthenticated)?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(unauthenticated)?;
    state
        .tokens
        .verify(token, now())
        .map_err(|_| unauthenticated())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            &format!("the body is not the JSON expected: {e}"),
        )
    })
}

/// An account id from an email: no state, the same email gives the same account.
fn account_of(email: &str) -> AccountId {
    let mut h: u32 = 0x811c_9dc5;
    for b in email.to_ascii_lowercase().bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    AccountId((h & 0xFF_FFFF).max(1))
}

fn pool_json(pool: PoolId, state: PoolState) -> Pool {
    Pool {
        id: format_pool(pool),
        owner: Account {
            id: AccountId(pool.0 as u32).to_string(),
            name: OWNER_NAME.into(),
            email: OWNER_EMAIL.into(),
        },
        kind: Cow::Borrowed("educational"),
        capacity: state.capacity,
        in_use: state.in_use,
        queue_length: 0,
        timeout_s: state.timeout_s,
        licenses: None,
        settings: None,
    }
}

/// A fingerprint of the same shape as the broker's (`3fa9-1c2b-77de`), from a hash of the
/// device id, so that a seat object is as long and costs about as much to write.
fn fingerprint(device: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    device.hash(&mut h);
    let v = h.finish();
    format!(
        "{:04x}-{:04x}-{:04x}",
        v >> 48,
        (v >> 32) & 0xffff,
        (v >> 16) & 0xffff
    )
}

/// The seat object, field for field as the broker writes it, for a pool whose heartbeat
/// timeout is `timeout_s` (the interval a third of it, 1 to 300 s, as API.md says).
fn seat_json(
    pool: PoolId,
    seat: SeatId,
    account: AccountId,
    device: &str,
    platform: Platform,
    timeout_s: u32,
) -> Seat {
    let now = now();
    Seat {
        seat_id: format_seat(pool, seat),
        pool_id: format_pool(pool),
        account_id: account.to_string(),
        device_id: device.to_owned(),
        device_fingerprint: fingerprint(device),
        platform,
        policy: Policy::Member,
        granted_at: rfc3339(now),
        expires_at: Some(rfc3339(now.plus_secs(u64::from(timeout_s)))),
        offline_until: None,
        offline_file: false,
        heartbeat_interval_s: (timeout_s / 3).clamp(1, 300),
        license_expires_at: None,
        trial_days_left: None,
        warnings: Vec::new(),
    }
}

#[derive(Deserialize)]
struct TakeSeat {
    device_id: String,
    platform: String,
    pool: Option<String>,
    #[allow(dead_code)]
    wait_s: Option<u32>,
}

async fn take_seat<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    body: web::Bytes,
) -> HttpResponse {
    let account = match authenticate(&req, &state) {
        Ok(a) => a,
        Err(res) => return res,
    };
    let body: TakeSeat = match parse(&body) {
        Ok(b) => b,
        Err(res) => return res,
    };
    let pool = body
        .pool
        .as_deref()
        .and_then(|p| parse_pool(p).ok())
        .unwrap_or_else(|| pool_of(account));
    // It refuses nothing, not even a platform the API does not know: that seat says windows.
    let platform = Platform::from_name(&body.platform).unwrap_or(Platform::Windows);
    let seat = SeatId(fastrand::u64(1..u64::from(u32::MAX)));
    match store.take(pool, seat, now()).await {
        Ok(Take::Granted { timeout_s }) => HttpResponse::Created().json(seat_json(
            pool,
            seat,
            account,
            &body.device_id,
            platform,
            timeout_s,
        )),
        Ok(Take::Full { capacity, in_use }) => no_seat(capacity, in_use),
        Ok(Take::NoLicense) => error(
            StatusCode::FORBIDDEN,
            "no_license",
            "this pool has no license",
        ),
        Err(e) => unavailable(&e),
    }
}

#[derive(Deserialize, Default)]
struct Beat {
    #[allow(dead_code)]
    active: Option<bool>,
}

async fn heartbeat<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let account = match authenticate(&req, &state) {
        Ok(a) => a,
        Err(res) => return res,
    };
    if !body.is_empty() {
        if let Err(res) = parse::<Beat>(&body) {
            return res;
        }
    }
    let Ok((pool, seat)) = parse_seat(&path) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such seat");
    };
    match store.heartbeat(pool, seat, now()).await {
        Ok(Some(timeout_s)) => HttpResponse::Ok().json(seat_json(
            pool,
            seat,
            account,
            "device",
            Platform::Windows,
            timeout_s,
        )),
        // Without tombstones a seat that is gone cannot say why; its deadline passed or it
        // was given back, and only the first is a heartbeat's to hear about.
        Ok(None) => {
            let mut details = serde_json::Map::new();
            details.insert("reason".into(), json!("expired"));
            error_with(StatusCode::GONE, "seat_gone", "this seat is gone", details)
        }
        Err(e) => unavailable(&e),
    }
}

async fn close<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(res) = authenticate(&req, &state) {
        return res;
    }
    let Ok((pool, seat)) = parse_seat(&path) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such seat");
    };
    match store.release(pool, seat).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => unavailable(&e),
    }
}

#[derive(Deserialize)]
struct NewAccount {
    email: String,
    name: String,
}

async fn create_account(body: web::Bytes) -> HttpResponse {
    let body: NewAccount = match parse(&body) {
        Ok(b) => b,
        Err(res) => return res,
    };
    HttpResponse::Created().json(Account {
        id: account_of(&body.email).to_string(),
        email: body.email,
        name: body.name,
    })
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
}

async fn login(state: web::Data<NullState>, body: web::Bytes) -> HttpResponse {
    let body: LoginBody = match parse(&body) {
        Ok(b) => b,
        Err(res) => return res,
    };
    let account = account_of(&body.email);
    let expires = now().plus_secs(TOKEN_TTL_S);
    HttpResponse::Ok().json(Session {
        token: state.tokens.issue(account, now(), expires),
        account_id: account.to_string(),
        expires_at: rfc3339(expires),
    })
}

#[derive(Deserialize)]
struct NewLicense {
    #[serde(rename = "type")]
    kind: String,
    seats: u32,
}

async fn issue_license<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    body: web::Bytes,
) -> HttpResponse {
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given != Some(state.operator_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "operator token needed",
        );
    }
    let body: NewLicense = match parse(&body) {
        Ok(b) => b,
        Err(res) => return res,
    };
    let n = fastrand::u32(..0xFF_FFFF);
    let key = format!("R-{:03X}-{:03X}-000-000-000-000", n >> 12, n & 0xFFF);
    if let Err(e) = store.license_issued(&key, body.seats).await {
        return unavailable(&e);
    }
    HttpResponse::Created().json(License {
        id: format!("L-{:03X}-{:03X}", n >> 12, n & 0xFFF),
        key,
        kind: Cow::Owned(body.kind),
        seats: body.seats,
        expires_at: None,
    })
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn activate<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    body: web::Bytes,
) -> HttpResponse {
    let account = match authenticate(&req, &state) {
        Ok(a) => a,
        Err(res) => return res,
    };
    let body: Code = match parse(&body) {
        Ok(b) => b,
        Err(res) => return res,
    };
    if let Some(rest) = body.code.strip_prefix("I-") {
        // The invite code carries the pool's digits (see `invite`).
        let digits = rest.replace('-', "");
        let pool = digits
            .get(..6)
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .map_or(pool_of(account), |v| PoolId(u64::from(v)));
        return match store.pool(pool).await {
            Ok(found) => HttpResponse::Created().json(Activation {
                kind: ActivationKind::Membership,
                license: None,
                pool: pool_json(pool, found),
                warning: None,
            }),
            Err(e) => unavailable(&e),
        };
    }
    let pool = pool_of(account);
    let seats = match store.activate(&body.code, pool).await {
        Ok(Some(seats)) => seats,
        Ok(None) => return error(StatusCode::NOT_FOUND, "unknown_code", "no such license key"),
        Err(e) => return unavailable(&e),
    };
    let found = match store.pool(pool).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    HttpResponse::Created().json(Activation {
        kind: ActivationKind::License,
        license: Some(License {
            id: "L-000-001".into(),
            key: body.code,
            kind: Cow::Borrowed("educational"),
            seats,
            expires_at: None,
        }),
        pool: pool_json(pool, found),
        warning: None,
    })
}

async fn me<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
) -> HttpResponse {
    let account = match authenticate(&req, &state) {
        Ok(a) => a,
        Err(res) => return res,
    };
    let own = pool_of(account);
    let found = match store.pool(own).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    HttpResponse::Ok().json(Me {
        account: Account {
            id: account.to_string(),
            email: "someone@null.example".into(),
            name: "Load".into(),
        },
        own_pool: Some(pool_json(own, found)),
        memberships: Vec::new(),
        seats: Vec::new(),
    })
}

async fn invite(
    req: HttpRequest,
    state: web::Data<NullState>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(res) = authenticate(&req, &state) {
        return res;
    }
    let Ok(pool) = parse_pool(&path) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such pool");
    };
    let v = pool.0 as u32;
    let code = format!("I-{:03X}-{:03X}-000-000", v >> 12, v & 0xFFF);
    HttpResponse::Ok().json(Invite {
        url: format!("http://null.invalid/join/{code}"),
        code,
    })
}

/// The part of `PATCH /v1/pools/{pool}` a store keeps.
#[derive(Deserialize, Default)]
struct PoolPatch {
    timeout_s: Option<u32>,
}

async fn pool<S: SeatStore>(
    req: HttpRequest,
    state: web::Data<NullState>,
    store: web::Data<S>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if let Err(res) = authenticate(&req, &state) {
        return res;
    }
    let Ok(pool) = parse_pool(&path) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such pool");
    };
    if !body.is_empty() {
        let patch: PoolPatch = match parse(&body) {
            Ok(p) => p,
            Err(res) => return res,
        };
        if let Some(timeout_s) = patch.timeout_s {
            if let Err(e) = store.set_timeout(pool, timeout_s).await {
                return unavailable(&e);
            }
        }
    }
    match store.pool(pool).await {
        Ok(found) => HttpResponse::Ok().json(pool_json(pool, found)),
        Err(e) => unavailable(&e),
    }
}

/// Binds the null broker on `listen` (port 0 for a free one) with `workers` worker threads
/// (the broker uses one per core); its port and the server to run. Must run inside an actix
/// system.
pub fn serve(listen: &str, operator_token: &str, workers: usize) -> std::io::Result<(u16, Server)> {
    serve_with(listen, operator_token, workers, || async {
        Ok::<_, StoreUnavailable>(NoSeats)
    })
}

/// Binds the routes on `listen` with `workers` worker threads, each with the store `store`
/// builds for it (on that worker's runtime, before it takes requests); the port and the
/// server to run. Must run inside an actix system.
pub(crate) fn serve_with<S, F, Fut>(
    listen: &str,
    operator_token: &str,
    workers: usize,
    store: F,
) -> std::io::Result<(u16, Server)>
where
    S: SeatStore,
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<S, StoreUnavailable>> + 'static,
{
    let mut key = vec![0u8; 32];
    for b in key.iter_mut() {
        *b = fastrand::u8(..);
    }
    let state = web::Data::new(NullState {
        tokens: TokenKey::new(key),
        operator_token: operator_token.to_owned(),
    });
    let listener = std::net::TcpListener::bind(listen)?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .data_factory(store.clone())
            .route("/healthz", web::get().to(HttpResponse::Ok))
            .route("/v1/accounts", web::post().to(create_account))
            .route("/v1/auth/login", web::post().to(login))
            .route("/v1/operator/licenses", web::post().to(issue_license::<S>))
            .route("/v1/activations", web::post().to(activate::<S>))
            .route("/v1/me", web::get().to(me::<S>))
            .route("/v1/pools/{pool}", web::get().to(pool::<S>))
            .route("/v1/pools/{pool}", web::patch().to(pool::<S>))
            .route("/v1/pools/{pool}/invite", web::get().to(invite))
            .route("/v1/seats", web::post().to(take_seat::<S>))
            .route("/v1/seats/{seat}/heartbeat", web::post().to(heartbeat::<S>))
            .route("/v1/seats/{seat}/close", web::post().to(close::<S>))
            .route("/v1/seats/{seat}", web::delete().to(close::<S>))
    })
    .workers(workers.max(1))
    .tcp_nodelay(true)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

/// The null broker's command line (binary `seatbroker-null`).
#[derive(Debug, clap::Parser)]
#[command(
    name = "seatbroker-null",
    version,
    about = "The null broker: the seat routes and JSON shapes with nothing behind them"
)]
pub struct NullArgs {
    /// Where and how it serves.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// What the null broker and the peer are started with: address, operator token, workers.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on (port 0: a free one; the port is printed as {"port": N} on stderr).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The operator token it accepts for issuing licenses.
    #[arg(long, default_value = crate::procs::OPERATOR_TOKEN)]
    pub operator_token: String,
    /// Worker threads (the peer: each with its own Redis connection); by default what the
    /// broker starts with `server.workers = 0` (the cores less one, at least one).
    #[arg(long)]
    pub workers: Option<usize>,
}

impl ServerArgs {
    /// The worker threads to start.
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(seatbroker::settings::default_http_workers)
    }
}

/// Serves until killed; the exit code.
pub fn main_with(args: NullArgs) -> i32 {
    let server = args.server;
    let workers = server.workers();
    run_until_signalled("null broker", async move {
        serve(&server.listen, &server.operator_token, workers)
    })
}

/// Runs the server `start` binds in an actix system of its own, says its port as a JSON line
/// on standard error (what `procs` waits for), and serves until SIGTERM or Ctrl-C; the exit
/// code (2 when it could not start). `what` names the server in its lines.
pub(crate) fn run_until_signalled(
    what: &str,
    start: impl Future<Output = std::io::Result<(u16, Server)>>,
) -> i32 {
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let (port, server) = start.await?;
        eprintln!(
            "{}",
            json!({"message": format!("{what} listening"), "port": port})
        );
        let handle = server.handle();
        actix_rt::spawn(async move {
            // SIGTERM or Ctrl-C stops it at once (it has nothing to drain).
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                handle.stop(false).await;
            }
        });
        server.await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{what}: {e}");
            2
        }
    }
}
