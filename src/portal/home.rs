//! The start page `/`: for a visitor, what the portal is and where to sign in; signed in,
//! "My licenses and pools": each pool the account owns or belongs to, with its type,
//! capacity, seats in use, its licenses' expiries (owner) and the account's seats on it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use seatbroker_actors::PoolId;

use super::i18n::{Lang, Tr};
use super::page::{Chrome, PageError};
use super::session::Viewer;
use crate::domain::ids::format_pool;
use crate::domain::time;
use crate::service::me;
use crate::service::pools::PoolDetails;
use crate::service::AppState;
use crate::store::LicenseRecord;

/// A pool as the start page lists it.
struct PoolCard {
    id: String,
    kind: String,
    owner: String,
    own: bool,
    capacity: u32,
    in_use: u32,
    licenses: Vec<LicenseLine>,
    my_seats: Vec<SeatLine>,
}

/// One license of an owned pool, as the start page and the pool's page list it.
pub(super) struct LicenseLine {
    /// `L-...`.
    pub id: String,
    /// Its seats.
    pub seats: u32,
    /// Its expiry, or "Never".
    pub expires: String,
}

/// The lines of a pool's licenses (none for a member, who does not see them).
pub(super) fn license_lines(t: &Tr, licenses: Option<&Vec<LicenseRecord>>) -> Vec<LicenseLine> {
    licenses
        .into_iter()
        .flatten()
        .map(|l| LicenseLine {
            id: l.id.to_string(),
            seats: l.seats,
            expires: l
                .expires_at
                .map_or_else(|| t.get("license-permanent"), when),
        })
        .collect()
}

/// One of the account's seats.
struct SeatLine {
    device: String,
    platform: String,
    since: String,
}

/// The visitor's start page.
#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    c: Chrome,
    title: String,
}

/// The signed-in start page.
#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    title: String,
    pools: Vec<PoolCard>,
    /// The address still to confirm, when it is not confirmed yet.
    unconfirmed: Option<String>,
}

/// A time as the portal shows it: `2027-07-31 23:59 UTC`.
pub fn when(t: seatbroker_actors::Timestamp) -> String {
    let full = time::format(t);
    match (full.get(..10), full.get(11..16)) {
        (Some(date), Some(hm)) => format!("{date} {hm} UTC"),
        _ => full,
    }
}

fn card(
    t: &Tr,
    d: &PoolDetails,
    own: bool,
    seats: &[(PoolId, seatbroker_actors::SeatView)],
) -> PoolCard {
    PoolCard {
        id: format_pool(d.record.pool),
        kind: t.get(&format!("type-{}", d.record.kind.as_str())),
        owner: d.owner.name.clone(),
        own,
        capacity: d.status.capacity,
        in_use: d.status.in_use,
        licenses: license_lines(t, d.licenses.as_ref()),
        my_seats: seats
            .iter()
            .filter(|(pool, _)| *pool == d.record.pool)
            .map(|(_, s)| SeatLine {
                device: crate::domain::device::fingerprint(&s.device),
                platform: t.get(&format!("platform-{}", s.platform.as_str())),
                since: when(s.granted_at),
            })
            .collect(),
    }
}

/// GET /
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(&state, &req, viewer).await?;
    let Some(signed_in) = viewer.0 else {
        let page = WelcomePage {
            title: c.t.get("welcome-title"),
            c,
        };
        return page.c.respond(StatusCode::OK, &page);
    };
    let lang = Lang::of_request(&req);
    let overview = me::overview(&state, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let mut pools = Vec::new();
    if let Some(own) = &overview.own_pool {
        pools.push(card(&c.t, own, true, &overview.seats));
    }
    for shared in &overview.memberships {
        pools.push(card(&c.t, shared, false, &overview.seats));
    }
    let page = HomePage {
        title: c.t.get("home-title"),
        pools,
        unconfirmed: (!overview.account.email_confirmed).then(|| overview.account.email.clone()),
        c,
    };
    page.c.respond(StatusCode::OK, &page)
}
