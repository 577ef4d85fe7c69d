//! The null broker: the broker's seat routes and JSON shapes with nothing behind them, the
//! ceiling a real broker is measured against (PERF.md). It verifies every bearer token
//! exactly as the broker does (the broker's own `TokenKey`, HMAC-SHA256, with the time read
//! per request), parses the same bodies, and answers the same seat object built the same way
//! (`seatbroker_api::Seat`, RFC 3339 times), so what it costs is HTTP, auth and JSON alone: no
//! actor, no seat table, no storage, no state. The setup routes the scenarios call (accounts,
//! login, operator licenses, activations, me, invite, pool) answer plausible objects derived
//! from their input, so the same scenario runs against it unchanged. It never refuses a seat,
//! so only scenarios whose every take is granted (hot-pool at capacity = clients) compare.

// Helpers hand the refusal back as the response the handler returns as it is; boxing it
// would add an allocation per refusal for nothing.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use seatbroker::auth::token::TokenKey;
use seatbroker::domain::ids::{format_pool, format_seat, parse_pool, parse_seat, pool_of};
use seatbroker::domain::time::format as rfc3339;
use seatbroker_actors::{AccountId, PoolId, SeatId, Timestamp};
use seatbroker_api::{
    Account, Activation, ActivationKind, ErrorBody, ErrorObject, Invite, License, Me, Platform,
    Policy, Pool, Seat, Session,
};
use serde::Deserialize;
use serde_json::json;

/// Lifetime of the tokens it issues.
const TOKEN_TTL_S: u64 = 86_400;
/// Heartbeat timeout of every pool it pretends to have (the broker's default: 8 hours).
const TIMEOUT_S: u32 = 28_800;

/// What every handler shares: the token key and the operator token.
struct NullState {
    tokens: TokenKey,
    operator_token: String,
}

fn now() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_millis() as u64)
}

fn error(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: ErrorObject {
            code: Cow::Borrowed(code),
            message: message.to_owned(),
            details: serde_json::Map::new(),
        },
    })
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

fn pool_json(pool: PoolId) -> Pool {
    Pool {
        id: format_pool(pool),
        owner: Account {
            id: AccountId(pool.0 as u32).to_string(),
            name: "Owner".into(),
            email: "owner@null.example".into(),
        },
        kind: Cow::Borrowed("educational"),
        capacity: 100_000,
        in_use: 0,
        queue_length: 0,
        timeout_s: TIMEOUT_S,
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

/// The seat object, field for field as the broker writes it.
fn seat_json(
    pool: PoolId,
    seat: SeatId,
    account: AccountId,
    device: &str,
    platform: Platform,
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
        expires_at: Some(rfc3339(now.plus_secs(u64::from(TIMEOUT_S)))),
        offline_until: None,
        offline_file: false,
        heartbeat_interval_s: TIMEOUT_S / 3,
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

async fn take_seat(
    req: HttpRequest,
    state: web::Data<NullState>,
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
    HttpResponse::Created().json(seat_json(pool, seat, account, &body.device_id, platform))
}

#[derive(Deserialize, Default)]
struct Beat {
    #[allow(dead_code)]
    active: Option<bool>,
}

async fn heartbeat(
    req: HttpRequest,
    state: web::Data<NullState>,
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
    match parse_seat(&path) {
        Ok((pool, seat)) => {
            HttpResponse::Ok().json(seat_json(pool, seat, account, "device", Platform::Windows))
        }
        Err(_) => error(StatusCode::NOT_FOUND, "not_found", "no such seat"),
    }
}

async fn close(
    req: HttpRequest,
    state: web::Data<NullState>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(res) = authenticate(&req, &state) {
        return res;
    }
    match parse_seat(&path) {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(_) => error(StatusCode::NOT_FOUND, "not_found", "no such seat"),
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

async fn issue_license(
    req: HttpRequest,
    state: web::Data<NullState>,
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
    HttpResponse::Created().json(License {
        id: format!("L-{:03X}-{:03X}", n >> 12, n & 0xFFF),
        key: format!("R-{:03X}-{:03X}-000-000-000-000", n >> 12, n & 0xFFF),
        kind: Cow::Owned(body.kind),
        seats: body.seats,
        expires_at: None,
    })
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn activate(req: HttpRequest, state: web::Data<NullState>, body: web::Bytes) -> HttpResponse {
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
        return HttpResponse::Created().json(Activation {
            kind: ActivationKind::Membership,
            license: None,
            pool: pool_json(pool),
            warning: None,
        });
    }
    HttpResponse::Created().json(Activation {
        kind: ActivationKind::License,
        license: Some(License {
            id: "L-000-001".into(),
            key: body.code,
            kind: Cow::Borrowed("educational"),
            seats: 100_000,
            expires_at: None,
        }),
        pool: pool_json(pool_of(account)),
        warning: None,
    })
}

async fn me(req: HttpRequest, state: web::Data<NullState>) -> HttpResponse {
    let account = match authenticate(&req, &state) {
        Ok(a) => a,
        Err(res) => return res,
    };
    HttpResponse::Ok().json(Me {
        account: Account {
            id: account.to_string(),
            email: "someone@null.example".into(),
            name: "Load".into(),
        },
        own_pool: Some(pool_json(pool_of(account))),
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

async fn pool(
    req: HttpRequest,
    state: web::Data<NullState>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Err(res) = authenticate(&req, &state) {
        return res;
    }
    match parse_pool(&path) {
        Ok(pool) => HttpResponse::Ok().json(pool_json(pool)),
        Err(_) => error(StatusCode::NOT_FOUND, "not_found", "no such pool"),
    }
}

/// Binds the null broker on `listen` (port 0 for a free one) with `workers` worker threads
/// (the broker uses one per core); its port and the server to run. Must run inside an actix
/// system.
pub fn serve(listen: &str, operator_token: &str, workers: usize) -> std::io::Result<(u16, Server)> {
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
            .route("/healthz", web::get().to(HttpResponse::Ok))
            .route("/v1/accounts", web::post().to(create_account))
            .route("/v1/auth/login", web::post().to(login))
            .route("/v1/operator/licenses", web::post().to(issue_license))
            .route("/v1/activations", web::post().to(activate))
            .route("/v1/me", web::get().to(me))
            .route("/v1/pools/{pool}", web::get().to(pool))
            .route("/v1/pools/{pool}", web::patch().to(pool))
            .route("/v1/pools/{pool}/invite", web::get().to(invite))
            .route("/v1/seats", web::post().to(take_seat))
            .route("/v1/seats/{seat}/heartbeat", web::post().to(heartbeat))
            .route("/v1/seats/{seat}/close", web::post().to(close))
            .route("/v1/seats/{seat}", web::delete().to(close))
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
    /// Address to listen on (port 0: a free one; the port is printed as {"port": N} on stderr).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The operator token it accepts for issuing licenses.
    #[arg(long, default_value = crate::procs::OPERATOR_TOKEN)]
    pub operator_token: String,
    /// Worker threads; by default what the broker starts with `server.workers = 0` (the
    /// cores less one, at least one).
    #[arg(long)]
    pub workers: Option<usize>,
}

/// Serves until killed; the exit code.
pub fn main_with(args: NullArgs) -> i32 {
    let workers = args
        .workers
        .unwrap_or_else(seatbroker::settings::default_http_workers);
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let (port, server) = serve(&args.listen, &args.operator_token, workers)?;
        eprintln!(
            "{}",
            json!({"message": "null broker listening", "port": port})
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
            eprintln!("null broker: {e}");
            2
        }
    }
}
