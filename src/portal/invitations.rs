//! `/invitations` ("My Invitations"): the pools the account is a member of, with their
//! owner's name, a "Contact owner" mail link, and "Leave" (after a confirmation page). A
//! blocked member is shown as blocked and cannot leave (leaving and joining again would lift
//! the block).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::i18n::Lang;
use super::page::{redirect, refusal_message, require, signed_in_form, Chrome, PageError};
use super::session::Viewer;
use crate::domain::ids::{format_pool, parse_pool};
use crate::service::{members, AppState, ServiceError};
use crate::store::MemberStatus;

/// A pool the account belongs to.
struct Membership {
    pool: String,
    owner: String,
    owner_email: String,
    kind: String,
    capacity: u32,
    in_use: u32,
    blocked: bool,
}

/// The list.
#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage {
    c: Chrome,
    title: String,
    pools: Vec<Membership>,
    done: Option<String>,
    error: Option<String>,
}

/// "Leave this pool?"
#[derive(Template)]
#[template(path = "leave.html")]
struct LeavePage {
    c: Chrome,
    title: String,
    pool: String,
    owner: String,
}

async fn list(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(req);
    let signed_in = require(req, viewer)?;
    let found = members::memberships(state, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let c = Chrome::new(state, req, viewer).await?;
    let pools = found
        .into_iter()
        .map(|(d, m)| Membership {
            pool: format_pool(d.record.pool),
            owner: d.owner.name,
            owner_email: d.owner.email,
            kind: c.t.get(&format!("type-{}", d.record.kind.as_str())),
            capacity: d.status.capacity,
            in_use: d.status.in_use,
            blocked: m.status == MemberStatus::Blocked,
        })
        .collect();
    let query = super::page::form_pairs(req.query_string().as_bytes());
    let done = query
        .get("left")
        .map(|pool| c.t.with1("invitations-left", "pool", pool));
    let page = InvitationsPage {
        title: c.t.get("invitations-title"),
        pools,
        done,
        error,
        c,
    };
    page.c.respond(status, &page)
}

/// GET /invitations
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    list(&state, &req, viewer, StatusCode::OK, None).await
}

/// POST /invitations/leave: without `confirm`, asks; with it, leaves the pool.
pub async fn leave(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/invitations")?;
    let not_found = || PageError::new(StatusCode::NOT_FOUND, lang, "error-not-found");
    let pool = parse_pool(form.text("pool")).map_err(|_| not_found())?;
    if form.get("confirm") != Some("yes") {
        let details = crate::service::pools::describe(&state, pool, signed_in.account)
            .await
            .map_err(|e| PageError::service(lang, e))?;
        let c = Chrome::new(&state, &req, viewer).await?;
        let page = LeavePage {
            title: c.t.get("leave-title"),
            pool: format_pool(pool),
            owner: details.owner.name,
            c,
        };
        return page.c.respond(StatusCode::OK, &page);
    }
    match members::leave(&state, signed_in.account, pool).await {
        Ok(()) => Ok(redirect(&format!(
            "/invitations?left={}",
            format_pool(pool)
        ))),
        Err(e @ ServiceError::Activation(_)) => {
            let message = refusal_message(&super::i18n::Tr::new(lang), e);
            list(&state, &req, viewer, StatusCode::FORBIDDEN, Some(message)).await
        }
        Err(e) => Err(PageError::service(lang, e)),
    }
}
