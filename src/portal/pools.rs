//! The owner's page of a pool, `/pools/{id}`: its licenses, the invitation (code and URL,
//! rotated on request, I1 and I4), who may join (I4's email domain), the members with block,
//! unblock and remove (I3, S10), the seats with a forced release (W3), the settings (S4, S11,
//! W2) and the usage of the last 7 and 30 days (W4) as charts with a table under each.
//! Every action is a form that posts and redirects back (`?done=...` says what happened), or
//! shows the page again with the refusal and what was typed; the rules and the bounds are the
//! service's, exactly as the JSON API applies them. Only the pool's owner sees the page: a
//! member hears 403, a stranger 403 or 404, a visitor is asked to log in first.
//!
//! `portal.js`, the portal's only script, lives here too: it shows the "Copy" button of the
//! invite URL and copies it. Without script the URL is still in a readonly field to select.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{AccountId, SeatError, SeatView, Timestamp};

use super::home::{license_lines, when, LicenseLine};
use super::i18n::{Lang, Tr};
use super::page::{checked_form, redirect, security_headers, Chrome, Fields, PageError};
use super::session::{SignedIn, Viewer};
use crate::domain::ids::{format_pool, format_seat, parse_account, parse_pool, parse_seat};
use crate::domain::join::JoinDomain;
use crate::domain::time;
use crate::domain::usage::{Bucket, UsageRow};
use crate::service::members::{self, Member};
use crate::service::pool_admin::{
    self, SettingsChange, MAX_IDLE_RECLAIM_S, MAX_OFFLINE_DAYS, MAX_TIMEOUT_S,
};
use crate::service::{pools, usage, AppState, ServiceError};
use crate::store::{MemberStatus, PoolRecord};

/// The portal's script, embedded.
const JS: &str = include_str!("assets/portal.js");

/// The days the long usage chart covers (the short one shows the last `SHORT_DAYS` of them).
const LONG_DAYS: u64 = 30;
/// The days of the short usage chart.
const SHORT_DAYS: usize = 7;

/// A resource of this module, with the headers of every portal page.
macro_rules! pool_page {
    ($path:expr) => {
        web::resource($path).wrap(from_fn(security_headers))
    };
}

/// The routes of the pool's page and its forms.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(pool_page!("/pools/{pool}").route(web::get().to(show)))
        .service(pool_page!("/pools/{pool}/invite/rotate").route(web::post().to(rotate)))
        .service(pool_page!("/pools/{pool}/join-domain").route(web::post().to(restrict)))
        .service(pool_page!("/pools/{pool}/members/block").route(web::post().to(block)))
        .service(pool_page!("/pools/{pool}/members/unblock").route(web::post().to(unblock)))
        .service(pool_page!("/pools/{pool}/members/remove").route(web::post().to(remove)))
        .service(pool_page!("/pools/{pool}/seats/release").route(web::post().to(release)))
        .service(pool_page!("/pools/{pool}/settings").route(web::post().to(settings)));
}

/// GET /assets/portal.js
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(JS)
}

/// The pool's invitation.
struct InviteView {
    code: String,
    url: String,
}

/// One member.
struct MemberLine {
    /// `A-...`, for the forms.
    account: String,
    email: String,
    name: String,
    blocked: bool,
    status: String,
    seats: usize,
}

/// One seat.
struct SeatLine {
    /// `S-...`, for the form.
    id: String,
    device: String,
    platform: String,
    holder: String,
    since: String,
    deadline: String,
}

/// A horizontal grid line of a chart and its value.
struct Tick {
    y: String,
    label: String,
}

/// A day's bar: the peak of seats in use.
struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    tip: String,
}

/// A mark above a day with refused requests.
struct Marker {
    points: String,
    tip: String,
}

/// A day's label under the chart.
struct XLabel {
    x: String,
    text: String,
}

/// A day's row of the table under a chart.
struct UsageLine {
    date: String,
    peak: u32,
    capacity: u32,
    refusals: u32,
}

/// A usage chart (inline SVG drawn by the template from these coordinates) and its table.
struct Chart {
    /// The element id prefix (`usage-7`).
    id: String,
    heading: String,
    /// The text alternative: what the chart shows, in a sentence.
    summary: String,
    width: u32,
    height: u32,
    plot_left: String,
    plot_right: String,
    baseline: String,
    /// Where the grid's values end (right-aligned).
    tick_x: String,
    /// Where the days' labels sit.
    label_y: String,
    ticks: Vec<Tick>,
    bars: Vec<Bar>,
    capacity: String,
    markers: Vec<Marker>,
    labels: Vec<XLabel>,
    /// Newest first.
    rows: Vec<UsageLine>,
}

/// The settings form's fields as shown: the pool's values, or what was typed.
struct SettingsForm {
    timeout: String,
    offline: String,
    idle: String,
    error: Option<String>,
    /// The field the error is about (`timeout`, `offline`, `idle`), for `aria-invalid`.
    invalid: &'static str,
}

/// The owner's page of a pool.
#[derive(Template)]
#[template(path = "pool.html")]
struct PoolPage {
    c: Chrome,
    title: String,
    id: String,
    kind: String,
    shareable: bool,
    capacity: u32,
    in_use: u32,
    /// How many seats are held and how much capacity they use (S9), in a sentence.
    seats_hint: String,
    queue_length: usize,
    /// A success message and the section it belongs to.
    done: Option<(&'static str, String)>,
    licenses: Vec<LicenseLine>,
    invite: Option<InviteView>,
    join_domain: Option<String>,
    domain_value: String,
    domain_error: Option<String>,
    members: Vec<MemberLine>,
    seats: Vec<SeatLine>,
    settings: SettingsForm,
    max_timeout: u64,
    max_offline: u64,
    max_idle: u64,
    charts: Vec<Chart>,
}

impl PoolPage {
    /// The success message, if it belongs to `section`.
    fn done_in(&self, section: &str) -> Option<&str> {
        self.done
            .as_ref()
            .filter(|(s, _)| *s == section)
            .map(|(_, m)| m.as_str())
    }
}

/// What a re-shown page keeps of a refused form.
#[derive(Default)]
struct Refused {
    domain: Option<(String, String)>,
    settings: Option<SettingsForm>,
}

/// The signed-in account, or a redirect to the login page that comes back to the pool's page
/// (also after a form post: the form's own address answers no GET).
fn signed_in_or_login(viewer: Viewer, raw: &str) -> Result<SignedIn, PageError> {
    let back = match parse_pool(raw) {
        Ok(pool) => format!("/pools/{}", format_pool(pool)),
        Err(_) => "/".to_owned(),
    };
    super::page::require_at(viewer, &back)
}

/// The pool named in the path, if `signed_in` owns it: a member or a stranger hears the
/// service's 403 or 404.
async fn owned_by(
    state: &AppState,
    lang: Lang,
    signed_in: SignedIn,
    raw: &str,
) -> Result<PoolRecord, PageError> {
    let pool = parse_pool(raw).map_err(|_| not_found(lang))?;
    pools::owned(state, pool, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))
}

fn not_found(lang: Lang) -> PageError {
    PageError::new(StatusCode::NOT_FOUND, lang, "error-not-found")
}

/// The pool's page after a successful post, with `done` saying what happened, scrolled to
/// the section the form was in (where the message shows).
fn back_to(record: &PoolRecord, done: &str) -> HttpResponse {
    let section = section_of(done).unwrap_or("main");
    redirect(&format!(
        "/pools/{}?done={done}#{section}",
        format_pool(record.pool)
    ))
}

/// The section of the page a `?done=...` belongs to.
fn section_of(done: &str) -> Option<&'static str> {
    Some(match done {
        "rotated" => "invitation",
        "domain" => "domain",
        "blocked" | "unblocked" | "removed" => "members",
        "released" | "seat-gone" => "seats",
        "settings" => "settings",
        _ => return None,
    })
}

/// The success message of `?done=...` and the section it is shown in; unknown values none.
fn done_message(
    t: &Tr,
    done: Option<&str>,
    invite: Option<&InviteView>,
) -> Option<(&'static str, String)> {
    let done = done?;
    let section = section_of(done)?;
    let message = match done {
        "rotated" => {
            let code = invite.map(|i| i.code.clone()).unwrap_or_default();
            t.with1("pool-admin-done-rotated", "code", code)
        }
        other => t.get(&format!("pool-admin-done-{other}")),
    };
    Some((section, message))
}

/// A number for an SVG attribute.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `2027-03-07` of a day's start.
fn date_of(t: Timestamp) -> String {
    time::format(t).get(..10).unwrap_or_default().to_owned()
}

/// A day under a chart, in the language's pattern (`MM-DD`, `DD.MM.`): a pattern rather than
/// Fluent arguments, which would turn `03` into the number 3.
fn short_date(t: &Tr, month: &str, day: &str) -> String {
    t.get("pool-admin-chart-date")
        .replace("MM", month)
        .replace("DD", day)
}

/// The chart of `rows` (oldest first): a bar per day for its peak of seats in use, a stepped
/// line for the capacity, and a mark above each day with refused requests.
fn chart(t: &Tr, id: &str, heading: String, rows: &[UsageRow]) -> Chart {
    // Small, so that its 13-unit text stays readable on a phone (a 340-unit chart is drawn
    // about 290 px wide there); the stylesheet caps its width on wide screens.
    const WIDTH: u32 = 340;
    const HEIGHT: u32 = 200;
    const LEFT: f64 = 30.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 18.0;
    const BOTTOM: f64 = 26.0;
    let plot_w = f64::from(WIDTH) - LEFT - RIGHT;
    let plot_h = f64::from(HEIGHT) - TOP - BOTTOM;
    let base = TOP + plot_h;

    let highest = rows
        .iter()
        .map(|r| r.capacity.max(r.peak_in_use))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = highest.div_ceil(4).max(1);
    let top_value = step * highest.div_ceil(step);
    let y = |v: u32| base - plot_h * f64::from(v) / f64::from(top_value);
    let ticks = (0..=top_value / step)
        .map(|i| Tick {
            y: n(y(i * step)),
            label: (i * step).to_string(),
        })
        .collect();

    let count = rows.len().max(1);
    let slot = plot_w / count as f64;
    let x = |i: usize| LEFT + slot * i as f64;
    let bar_w = (slot * 0.7).max(2.0);
    let mut bars = Vec::new();
    let mut markers = Vec::new();
    let mut labels = Vec::new();
    let mut capacity = Vec::new();
    // Label every day of a week, every seventh day (ending today) of a month.
    let every = if rows.len() <= SHORT_DAYS { 1 } else { 7 };
    for (i, r) in rows.iter().enumerate() {
        let date = date_of(r.start);
        let centre = x(i) + slot / 2.0;
        let tip = t.with(
            "pool-admin-chart-day",
            &[
                ("date", date.clone()),
                ("peak", r.peak_in_use.to_string()),
                ("capacity", r.capacity.to_string()),
                ("refusals", r.refusals.to_string()),
            ],
        );
        bars.push(Bar {
            x: n(centre - bar_w / 2.0),
            y: n(y(r.peak_in_use)),
            width: n(bar_w),
            height: n(base - y(r.peak_in_use)),
            tip: tip.clone(),
        });
        if r.refusals > 0 {
            let tip_y = y(r.peak_in_use.max(r.capacity)) - 4.0;
            let half = (bar_w / 2.0).clamp(3.0, 6.0);
            markers.push(Marker {
                points: format!(
                    "{},{} {},{} {},{}",
                    n(centre - half),
                    n(tip_y - half * 1.6),
                    n(centre + half),
                    n(tip_y - half * 1.6),
                    n(centre),
                    n(tip_y)
                ),
                tip,
            });
        }
        if (rows.len() - 1 - i) % every == 0 {
            let (month, day) = (date.get(5..7).unwrap_or(""), date.get(8..10).unwrap_or(""));
            // A label is about 36 units wide: the last day's stays inside the chart.
            labels.push(XLabel {
                x: n(centre.min(f64::from(WIDTH) - 19.0)),
                text: short_date(t, month, day),
            });
        }
        capacity.push(format!("{},{}", n(x(i)), n(y(r.capacity))));
        capacity.push(format!("{},{}", n(x(i + 1)), n(y(r.capacity))));
    }

    let peak = rows.iter().map(|r| r.peak_in_use).max().unwrap_or(0);
    let refusals: u32 = rows.iter().map(|r| r.refusals).sum();
    let now_capacity = rows.last().map_or(0, |r| r.capacity);
    let summary = t.with(
        "pool-admin-chart-summary",
        &[
            ("period", heading.clone()),
            ("peak", peak.to_string()),
            ("capacity", now_capacity.to_string()),
            ("refusals", refusals.to_string()),
        ],
    );
    Chart {
        id: id.to_owned(),
        heading,
        summary,
        width: WIDTH,
        height: HEIGHT,
        plot_left: n(LEFT),
        plot_right: n(f64::from(WIDTH) - RIGHT),
        baseline: n(base),
        tick_x: n(LEFT - 5.0),
        label_y: n(f64::from(HEIGHT) - 7.0),
        ticks,
        bars,
        capacity: capacity.join(" "),
        markers,
        labels,
        rows: rows
            .iter()
            .rev()
            .map(|r| UsageLine {
                date: date_of(r.start),
                peak: r.peak_in_use,
                capacity: r.capacity,
                refusals: r.refusals,
            })
            .collect(),
    }
}

/// The seat's deadline as the table shows it: offline until, the heartbeat deadline, or none.
fn deadline(t: &Tr, seat: &SeatView) -> String {
    if seat.offline_file {
        return t.get("seats-offline-file");
    }
    match (seat.offline_until, seat.expires_at) {
        (Some(until), _) => t.with1("pool-admin-seat-offline-until", "time", when(until)),
        (None, Some(deadline)) => when(deadline),
        (None, None) => t.get("pool-admin-seat-no-heartbeat"),
    }
}

/// The line above the pool's seats: what they use, and what releasing an offline-file seat
/// does (issue 16) when there is one.
fn seats_hint(t: &Tr, status: &seatbroker_actors::PoolStatus, seats: &[SeatView]) -> String {
    let hint = t.with(
        "pool-admin-seats-hint",
        &[
            ("held", status.seats.to_string()),
            ("in_use", status.in_use.to_string()),
        ],
    );
    if seats.iter().any(|s| s.offline_file) {
        format!("{hint} {}", t.get("pool-admin-offline-file-note"))
    } else {
        hint
    }
}

/// Renders the page of the owner's pool, with `refused` forms and `done`'s message.
async fn render(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    signed_in: SignedIn,
    record: &PoolRecord,
    refused: Refused,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(req);
    let fail = |e: ServiceError| PageError::service(lang, e);
    let details = pools::describe(state, record.pool, signed_in.account)
        .await
        .map_err(fail)?;
    let record = &details.record;
    let shareable = record.kind.is_shareable();
    let (invite, member_list) = if shareable {
        (
            Some(members::get_invite(state, record).await.map_err(fail)?),
            members::list(state, record).await.map_err(fail)?,
        )
    } else {
        (None, Vec::new())
    };
    let seat_list = pool_admin::seats(state, record).await.map_err(fail)?;
    let now = state.registry.now();
    let days = LONG_DAYS.min(u64::from(state.settings.usage.retention_days) + 1);
    let from = Timestamp(
        now.day_start()
            .as_millis()
            .saturating_sub((days - 1) * DAY_MS),
    );
    let usage_rows = usage::report(state, record, Some(from), Some(now), Bucket::Day)
        .await
        .map_err(fail)?;

    let c = Chrome::new(state, req, viewer).await?;
    let t = &c.t;
    let names: HashMap<AccountId, &Member> = member_list
        .iter()
        .map(|m| (m.membership.account, m))
        .collect();
    let holder = |account: AccountId| -> String {
        if account == record.owner {
            t.with1("pool-admin-seat-owner", "name", &details.owner.name)
        } else {
            match names.get(&account) {
                Some(m) if !m.name.is_empty() => format!("{} ({})", m.name, m.email),
                Some(m) => m.email.clone(),
                None => account.to_string(),
            }
        }
    };
    let seats = seat_list
        .iter()
        .map(|s| SeatLine {
            id: format_seat(record.pool, s.id),
            device: crate::domain::device::fingerprint(&s.device),
            platform: t.get(&format!("platform-{}", s.platform.as_str())),
            holder: holder(s.account),
            since: when(s.granted_at),
            deadline: deadline(t, s),
        })
        .collect();
    let members = member_list
        .iter()
        .map(|m| {
            let blocked = m.membership.status == MemberStatus::Blocked;
            MemberLine {
                account: m.membership.account.to_string(),
                email: m.email.clone(),
                name: m.name.clone(),
                blocked,
                status: t.get(if blocked {
                    "pool-admin-status-blocked"
                } else {
                    "pool-admin-status-active"
                }),
                seats: m.seats_in_use,
            }
        })
        .collect();
    let licenses = license_lines(t, details.licenses.as_ref());
    let invite = invite.map(|i| InviteView {
        code: i.code.to_string(),
        url: i.url,
    });
    let query = super::page::form_pairs(req.query_string().as_bytes());
    let done = done_message(t, query.get("done"), invite.as_ref());
    let short_from = usage_rows.len().saturating_sub(SHORT_DAYS);
    let charts = vec![
        chart(
            t,
            "usage-7",
            t.get("pool-admin-usage-7"),
            &usage_rows[short_from..],
        ),
        chart(
            t,
            "usage-30",
            t.with1("pool-admin-usage-30", "days", usage_rows.len()),
            &usage_rows,
        ),
    ];
    let (domain_value, domain_error) = match refused.domain {
        Some((typed, error)) => (typed, Some(error)),
        None => (record.join_email_domain.clone().unwrap_or_default(), None),
    };
    let settings = refused.settings.unwrap_or_else(|| SettingsForm {
        timeout: details.settings.timeout_s.to_string(),
        offline: details.settings.offline_max_days.to_string(),
        idle: details
            .settings
            .idle_reclaim_s
            .map(|s| s.to_string())
            .unwrap_or_default(),
        error: None,
        invalid: "",
    });
    let id = format_pool(record.pool);
    let page = PoolPage {
        title: t.with1("pool-admin-title", "pool", &id),
        id,
        kind: t.get(&format!("type-{}", record.kind.as_str())),
        shareable,
        capacity: details.status.capacity,
        in_use: details.status.in_use,
        seats_hint: seats_hint(t, &details.status, &seat_list),
        queue_length: details.status.queue_length,
        done,
        licenses,
        invite,
        join_domain: record.join_email_domain.clone(),
        domain_value,
        domain_error,
        members,
        seats,
        settings,
        max_timeout: MAX_TIMEOUT_S,
        max_offline: MAX_OFFLINE_DAYS,
        max_idle: MAX_IDLE_RECLAIM_S,
        charts,
        c,
    };
    page.c.respond(status, &page)
}

/// GET /pools/{pool}
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let signed_in = signed_in_or_login(viewer, &path)?;
    let record = owned_by(&state, lang, signed_in, &path).await?;
    render(
        &state,
        &req,
        viewer,
        signed_in,
        &record,
        Refused::default(),
        StatusCode::OK,
    )
    .await
}

/// A posted form of the pool's page: the owner, the pool and the form, CSRF-checked.
async fn posted(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    raw: &str,
    body: &[u8],
) -> Result<(SignedIn, PoolRecord, Fields), PageError> {
    let lang = Lang::of_request(req);
    let signed_in = signed_in_or_login(viewer, raw)?;
    let form = checked_form(req, body, lang)?;
    let record = owned_by(state, lang, signed_in, raw).await?;
    Ok((signed_in, record, form))
}

/// POST /pools/{pool}/invite/rotate: a new code; the old one stops at once (I4).
pub async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let (_, record, _) = posted(&state, &req, viewer, &path, &body).await?;
    members::rotate_invite(&state, &record)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    Ok(back_to(&record, "rotated"))
}

/// POST /pools/{pool}/join-domain: who may join (I4); empty lets anyone with the code.
pub async fn restrict(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let (signed_in, record, form) = posted(&state, &req, viewer, &path, &body).await?;
    let typed = form.text("domain").to_owned();
    let domain = if typed.trim().is_empty() {
        None
    } else {
        match JoinDomain::parse(&typed) {
            Ok(domain) => Some(domain),
            Err(_) => {
                let refused = Refused {
                    domain: Some((typed, Tr::new(lang).get("pool-admin-domain-invalid"))),
                    settings: None,
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return render(&state, &req, viewer, signed_in, &record, refused, status).await;
            }
        }
    };
    let change = SettingsChange {
        join_email_domain: Some(domain),
        ..SettingsChange::default()
    };
    pool_admin::update(&state, &record, change)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    Ok(back_to(&record, "domain"))
}

/// The member a form names; a malformed id is the 404 page.
fn member_of(form: &Fields, lang: Lang) -> Result<AccountId, PageError> {
    parse_account(form.text("account").trim()).map_err(|_| not_found(lang))
}

async fn set_status(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    raw: &str,
    body: &[u8],
    status: MemberStatus,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(req);
    let (_, record, form) = posted(state, req, viewer, raw, body).await?;
    let account = member_of(&form, lang)?;
    members::set_status(state, &record, account, status)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    Ok(back_to(
        &record,
        match status {
            MemberStatus::Blocked => "blocked",
            MemberStatus::Active => "unblocked",
        },
    ))
}

/// POST /pools/{pool}/members/block: the member's seats are revoked at once (S10).
pub async fn block(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    set_status(&state, &req, viewer, &path, &body, MemberStatus::Blocked).await
}

/// POST /pools/{pool}/members/unblock
pub async fn unblock(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    set_status(&state, &req, viewer, &path, &body, MemberStatus::Active).await
}

/// POST /pools/{pool}/members/remove: gone from the list; may join again (I3).
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let (_, record, form) = posted(&state, &req, viewer, &path, &body).await?;
    let account = member_of(&form, lang)?;
    members::remove(&state, &record, account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    Ok(back_to(&record, "removed"))
}

/// POST /pools/{pool}/seats/release: the holder hears `revoked` (W3). A seat that went
/// meanwhile (closed, timed out) is not an error: the page says it was free already.
pub async fn release(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let (_, record, form) = posted(&state, &req, viewer, &path, &body).await?;
    let (pool, seat) = parse_seat(form.text("seat").trim()).map_err(|_| not_found(lang))?;
    if pool != record.pool {
        return Err(not_found(lang));
    }
    match pool_admin::release(&state, pool, seat).await {
        Ok(()) => Ok(back_to(&record, "released")),
        Err(ServiceError::Seat(SeatError::NotFound | SeatError::Gone(_))) => {
            Ok(back_to(&record, "seat-gone"))
        }
        Err(e) => Err(PageError::service(lang, e)),
    }
}

/// A typed number of the settings form. What is not a whole number is out of every
/// setting's bounds, so the service refuses it with the bounds, as the API does.
fn typed_number(raw: &str) -> u64 {
    raw.trim().parse().unwrap_or(u64::MAX)
}

/// The bounds message of a setting the service refused, in the page's language.
fn bounds_message(t: &Tr, field: &str) -> (&'static str, String) {
    let (invalid, key, lo, hi) = match field {
        "offline_max_days" => ("offline", "pool-admin-bounds-offline", 0, MAX_OFFLINE_DAYS),
        "idle_reclaim_s" => ("idle", "pool-admin-bounds-idle", 1, MAX_IDLE_RECLAIM_S),
        _ => ("timeout", "pool-admin-bounds-timeout", 1, MAX_TIMEOUT_S),
    };
    let message = t.with(key, &[("min", lo.to_string()), ("max", hi.to_string())]);
    (invalid, message)
}

/// POST /pools/{pool}/settings: heartbeat timeout (S4), offline limit (S11), idle reclaim
/// (W2, empty = off), within the service's bounds; out of bounds nothing changes.
pub async fn settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let (signed_in, record, form) = posted(&state, &req, viewer, &path, &body).await?;
    let (timeout, offline, idle) = (
        form.text("timeout_s"),
        form.text("offline_max_days"),
        form.text("idle_reclaim_s"),
    );
    let change = SettingsChange {
        timeout_s: Some(typed_number(timeout)),
        offline_max_days: Some(typed_number(offline)),
        idle_reclaim_s: Some((!idle.trim().is_empty()).then(|| typed_number(idle))),
        join_email_domain: None,
    };
    match pool_admin::update(&state, &record, change).await {
        Ok(_) => Ok(back_to(&record, "settings")),
        Err(ServiceError::Invalid { field, .. }) => {
            let (invalid, message) = bounds_message(&Tr::new(lang), field);
            let refused = Refused {
                domain: None,
                settings: Some(SettingsForm {
                    timeout: timeout.to_owned(),
                    offline: offline.to_owned(),
                    idle: idle.to_owned(),
                    error: Some(message),
                    invalid,
                }),
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, &req, viewer, signed_in, &record, refused, status).await
        }
        Err(e) => Err(PageError::service(lang, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u64, peak: u32, capacity: u32, refusals: u32) -> UsageRow {
        UsageRow {
            start: Timestamp(20_000 * DAY_MS + d * DAY_MS),
            peak_in_use: peak,
            capacity,
            refusals,
            ..UsageRow::default()
        }
    }

    #[test]
    fn w4_the_chart_has_a_bar_per_day_and_marks_the_days_with_refusals() {
        let t = Tr::new(Lang::En);
        let rows: Vec<UsageRow> = (0..7)
            .map(|d| day(d, d as u32, 10, u32::from(d == 3)))
            .collect();
        let c = chart(&t, "usage-7", "Last 7 days".into(), &rows);
        assert_eq!(c.bars.len(), 7);
        assert_eq!(c.labels[0].text, "10-04", "month and day, zero-padded");
        assert_eq!(short_date(&Tr::new(Lang::De), "03", "07"), "07.03.");
        assert_eq!(c.labels.len(), 7, "every day of a week is labelled");
        assert_eq!(c.markers.len(), 1, "one day had a refusal");
        assert_eq!(c.rows[0].peak, 6, "the table starts with the newest day");
        assert_eq!(
            c.ticks.last().map(|t| t.label.as_str()),
            Some("12"),
            "the scale covers the capacity"
        );
        assert!(
            c.summary.contains("6") && c.summary.contains("10"),
            "{}",
            c.summary
        );
        assert_eq!(c.bars[0].height, "0", "no seat in use draws no bar");
    }

    #[test]
    fn w4_a_month_labels_every_seventh_day_ending_today_and_an_empty_report_draws() {
        let t = Tr::new(Lang::En);
        let rows: Vec<UsageRow> = (0..30).map(|d| day(d, 0, 0, 0)).collect();
        let c = chart(&t, "usage-30", "Last 30 days".into(), &rows);
        assert_eq!(c.labels.len(), 5);
        assert_eq!(c.ticks.len(), 2, "0 and 1 when nothing was ever used");
        let empty = chart(&t, "none", "None".into(), &[]);
        assert!(empty.bars.is_empty() && empty.rows.is_empty());
    }

    #[test]
    fn anything_but_a_whole_number_is_out_of_bounds() {
        assert_eq!(typed_number(" 120 "), 120);
        for bad in ["", "-5", "1.5", "10s", "abc"] {
            assert_eq!(typed_number(bad), u64::MAX, "{bad:?}");
        }
    }
}
