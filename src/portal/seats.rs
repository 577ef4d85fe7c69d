//! `/seats` ("My seats"): every device holding a seat of the account, in every pool (platform,
//! pool, since, last heartbeat, offline until), "Release" per seat, and "Free up my seats"
//! (S7) when any is in use. A released device hears why on its next heartbeat.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::home::when;
use super::i18n::Lang;
use super::page::{redirect, require, signed_in_form, Chrome, PageError};
use super::session::Viewer;
use crate::domain::ids::{format_pool, format_seat, parse_seat};
use crate::service::{me, AppState, ServiceError};

/// One seat as the page lists it.
struct SeatLine {
    id: String,
    device: String,
    platform: String,
    pool: String,
    owner: String,
    since: String,
    last_heartbeat: String,
    offline_until: String,
    /// Held by an offline license file: only the pool's owner releases it (issue 16).
    offline_file: bool,
    /// The pool's administration page, when the viewer owns the pool (where it releases
    /// an offline-file seat).
    admin: Option<String>,
}

/// The page.
#[derive(Template)]
#[template(path = "seats.html")]
struct SeatsPage {
    c: Chrome,
    title: String,
    seats: Vec<SeatLine>,
    /// Some seat is one "Free up my seats" would release (offline license files are not).
    releasable: bool,
    done: Option<String>,
}

/// GET /seats
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let signed_in = require(&req, viewer)?;
    let overview = me::overview(&state, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let c = Chrome::new(&state, &req, viewer).await?;
    let none = c.t.get("seats-none-value");
    let pools: Vec<_> = overview
        .own_pool
        .iter()
        .chain(overview.memberships.iter())
        .collect();
    let seats: Vec<SeatLine> = overview
        .seats
        .iter()
        .map(|(pool, s)| {
            let details = pools.iter().find(|d| d.record.pool == *pool);
            // The deadline is the last heartbeat plus the pool's timeout (exact unless the
            // owner changed the timeout since that heartbeat).
            let timeout_s = details.map_or(0, |d| u64::from(d.settings.timeout_s));
            let last = s.expires_at.map(|deadline| {
                seatbroker_actors::Timestamp(deadline.as_millis().saturating_sub(timeout_s * 1_000))
            });
            SeatLine {
                id: format_seat(*pool, s.id),
                device: crate::domain::device::fingerprint(&s.device),
                platform: c.t.get(&format!("platform-{}", s.platform.as_str())),
                pool: format_pool(*pool),
                owner: details.map_or_else(String::new, |d| d.owner.name.clone()),
                since: when(s.granted_at),
                last_heartbeat: last.map_or_else(|| none.clone(), when),
                offline_until: if s.offline_file {
                    c.t.get("seats-offline-file")
                } else {
                    s.offline_until.map_or_else(|| none.clone(), when)
                },
                offline_file: s.offline_file,
                admin: (crate::domain::ids::owner_of(*pool) == signed_in.account)
                    .then(|| format!("/pools/{}", format_pool(*pool))),
            }
        })
        .collect();
    let query = super::page::form_pairs(req.query_string().as_bytes());
    let done = match (query.get("released"), query.get("freed")) {
        (Some(seat), _) => Some(c.t.with1("seats-released", "seat", seat)),
        (None, Some(n)) => Some(c.t.with1("seats-freed", "count", n)),
        _ => None,
    };
    let releasable = seats.iter().any(|s| !s.offline_file);
    let page = SeatsPage {
        title: c.t.get("seats-title"),
        releasable,
        seats,
        done,
        c,
    };
    page.c.respond(StatusCode::OK, &page)
}

/// POST /seats/release: frees one seat of the account (`seat`), or all of them (S7, no
/// `seat`).
pub async fn release(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/seats")?;
    let Some(raw) = form.get("seat") else {
        let freed = me::release_all(&state, signed_in.account)
            .await
            .map_err(|e| PageError::service(lang, e))?;
        return Ok(redirect(&format!("/seats?freed={freed}")));
    };
    let not_found = || PageError::new(StatusCode::NOT_FOUND, lang, "error-not-found");
    let (pool, seat) = parse_seat(raw).map_err(|_| not_found())?;
    match me::release(&state, signed_in.account, pool, seat).await {
        // A seat that went meanwhile is as good as released.
        Ok(()) | Err(ServiceError::Seat(_)) => Ok(redirect(&format!(
            "/seats?released={}",
            format_seat(pool, seat)
        ))),
        Err(ServiceError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(PageError::service(lang, e)),
    }
}
