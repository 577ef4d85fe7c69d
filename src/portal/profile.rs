//! `/profile`: the account's id (`A-XXX-XXX`), name and email (which only support can
//! change: licenses move instead), its language, "Change password" (the current one
//! needed), "Log out everywhere" (every portal session and every API token of the
//! account) and "Delete my account" (its password needed; refused while it holds licenses,
//! which support transfers first: issue 16).

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::i18n::{Lang, LANG_COOKIE};
use super::page::LangLink;
use super::page::{redirect, refusal_message, require, signed_in_form, Chrome, PageError};
use super::session::{self, Viewer};
use crate::service::error::OwnershipRefusal;
use crate::service::{accounts, ownership, AppState, ServiceError};

/// The profile page.
#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    c: Chrome,
    title: String,
    id: String,
    name: String,
    email: String,
    language: &'static str,
    languages: Vec<LangLink>,
    done: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(req);
    let signed_in = require(req, viewer)?;
    let account = accounts::current(state, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let c = Chrome::new(state, req, viewer).await?;
    let query = super::page::form_pairs(req.query_string().as_bytes());
    let done = match query.get("done") {
        Some("password") => Some(c.t.get("profile-password-changed")),
        Some("language") => Some(c.t.get("profile-language-saved")),
        _ => None,
    };
    let page = ProfilePage {
        title: c.t.get("profile-title"),
        id: account.id.to_string(),
        name: account.name,
        email: account.email,
        language: lang.tag(),
        languages: c.langs.clone(),
        done,
        error,
        c,
    };
    page.c.respond(status, &page)
}

/// GET /profile
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    page(&state, &req, viewer, StatusCode::OK, None).await
}

/// POST /profile/password: changes the password after checking the current one.
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/profile")?;
    let changed = accounts::change_password(
        &state,
        signed_in.account,
        form.text("current_password"),
        form.text("new_password"),
    )
    .await;
    let t = super::i18n::Tr::new(lang);
    let (status, message) = match changed {
        Ok(()) => return Ok(redirect("/profile?done=password")),
        Err(ServiceError::WrongPassword) => {
            (StatusCode::FORBIDDEN, t.get("profile-wrong-password"))
        }
        Err(e @ ServiceError::AccountField { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, refusal_message(&t, e))
        }
        Err(e) => return Err(PageError::service(lang, e)),
    };
    page(&state, &req, viewer, status, Some(message)).await
}

/// POST /profile/language: remembers the language on the account and in this browser.
pub async fn set_language(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/profile")?;
    let Some(chosen) = form.get("language").and_then(Lang::parse) else {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            "error-general",
        ));
    };
    accounts::set_language(&state, signed_in.account, chosen.tag())
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let mut res = redirect("/profile?done=language");
    let _ = res.add_cookie(&language_cookie(&state, chosen));
    Ok(res)
}

/// The page after an account deleted itself.
#[derive(Template)]
#[template(path = "deleted.html")]
struct DeletedPage {
    c: Chrome,
    title: String,
}

/// POST /profile/delete: deletes the account after checking its password (issue 16): its
/// seats are released, its memberships end, it is logged out everywhere and its email is
/// free again. Refused, with nothing changed, while it holds licenses.
pub async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/profile")?;
    let t = super::i18n::Tr::new(lang);
    let checked = accounts::check_password(&state, signed_in.account, form.text("password")).await;
    let deleted = match checked {
        Ok(()) => {
            let actor = signed_in.account.to_string();
            ownership::delete_account(&state, &actor, signed_in.account, None).await
        }
        Err(e) => Err(e),
    };
    let (status, message) = match deleted {
        Ok(_) => {
            let c = Chrome::new(&state, &req, Viewer(None)).await?;
            let page = DeletedPage {
                title: c.t.get("profile-deleted-title"),
                c,
            };
            let mut res = page.c.respond(StatusCode::OK, &page)?;
            let _ = res.add_cookie(&session::removal(&state, session::SESSION_COOKIE));
            return Ok(res);
        }
        Err(ServiceError::WrongPassword) => (
            StatusCode::FORBIDDEN,
            t.get("profile-delete-wrong-password"),
        ),
        Err(ServiceError::Ownership(OwnershipRefusal::OwnsLicenses { .. })) => {
            (StatusCode::CONFLICT, t.get("profile-delete-owns-licenses"))
        }
        Err(e) => return Err(PageError::service(lang, e)),
    };
    page(&state, &req, viewer, status, Some(message)).await
}

/// The cookie that remembers a language in this browser for a year.
pub fn language_cookie(state: &AppState, lang: Lang) -> actix_web::cookie::Cookie<'static> {
    let mut c = session::cookie(state, LANG_COOKIE, lang.tag().to_owned(), SameSite::Lax);
    c.set_max_age(actix_web::cookie::time::Duration::days(365));
    c
}

/// POST /logout-everywhere: ends every session of the account and revokes its API tokens.
pub async fn log_out_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, _) = signed_in_form(&req, viewer, &body, "/profile")?;
    accounts::log_out_everywhere(&state, signed_in.account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let mut res = redirect("/login");
    let _ = res.add_cookie(&session::removal(&state, session::SESSION_COOKIE));
    Ok(res)
}
