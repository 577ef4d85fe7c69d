//! Signing up and in: `/register` (create an account and sign in), `/login` (A3's lockout
//! says how long to wait), and `POST /logout` (ends this browser's session). The account
//! rules are `service::accounts`'; this module reads the forms and renders the pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::i18n::{Lang, Tr};
use super::page::{checked_form, local_path, redirect, refusal_message, Chrome, PageError};
use super::session::{self, Viewer};
use crate::http::auth::client_ip;
use crate::service::{accounts, AppState, ServiceError};

/// The registration form.
#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Chrome,
    title: String,
    error: Option<String>,
    email: String,
    name: String,
    next: String,
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    title: String,
    error: Option<String>,
    email: String,
    next: String,
}

fn next_of(req: &HttpRequest) -> String {
    let query = super::page::form_pairs(req.query_string().as_bytes());
    local_path(query.get("next"))
}

/// GET /register
pub async fn register_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    if viewer.0.is_some() {
        return Ok(redirect(&next_of(&req)));
    }
    let c = Chrome::new(&state, &req, viewer).await?;
    let page = RegisterPage {
        title: c.t.get("register-title"),
        error: None,
        email: String::new(),
        name: String::new(),
        next: next_of(&req),
        c,
    };
    page.c.respond(StatusCode::OK, &page)
}

/// POST /register: creates the account and signs it in.
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = checked_form(&req, &body, Lang::of_request(&req))?;
    let next = local_path(form.get("next"));
    let created = match accounts::parse_new_account(
        form.text("email"),
        form.text("password"),
        form.text("name"),
    ) {
        Ok((email, password, name)) => {
            let ip = client_ip(&req, &state.trusted_proxies);
            accounts::register(&state, ip, email, password, name, false).await
        }
        Err(e) => Err(e),
    };
    let refusal = match created {
        Ok(account) => {
            let lang = Lang::of_request(&req);
            super::recovery::send_confirmation(&state, &account, lang).await;
            return signed_in(&state, account.id, &next, lang).await;
        }
        Err(
            e @ (ServiceError::AccountField { .. }
            | ServiceError::EmailTaken
            | ServiceError::Limited(_)),
        ) => e,
        Err(e) => return Err(PageError::service(Lang::of_request(&req), e)),
    };
    let c = Chrome::new(&state, &req, viewer).await?;
    let status = match refusal {
        ServiceError::EmailTaken => StatusCode::CONFLICT,
        ServiceError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = RegisterPage {
        title: c.t.get("register-title"),
        error: Some(refusal_message(&c.t, refusal)),
        email: form.text("email").to_owned(),
        name: form.text("name").to_owned(),
        next,
        c,
    };
    page.c.respond(status, &page)
}

/// GET /login
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    if viewer.0.is_some() {
        return Ok(redirect(&next_of(&req)));
    }
    let c = Chrome::new(&state, &req, viewer).await?;
    let page = LoginPage {
        title: c.t.get("login-title"),
        error: None,
        email: String::new(),
        next: next_of(&req),
        c,
    };
    page.c.respond(StatusCode::OK, &page)
}

/// What a refused login tells the person: its status, the sentence, and when to come back.
fn login_refusal(
    t: &Tr,
    err: ServiceError,
) -> Result<(StatusCode, String, Option<u64>), ServiceError> {
    match err {
        ServiceError::InvalidCredentials => {
            Ok((StatusCode::UNAUTHORIZED, t.get("login-invalid"), None))
        }
        ServiceError::TooManyAttempts { retry_after_s } => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            t.with1("login-locked", "minutes", retry_after_s.div_ceil(60)),
            Some(retry_after_s),
        )),
        ServiceError::Limited(refused) => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            t.with1(
                "err-rate-limited",
                "minutes",
                refused.retry_after_s.div_ceil(60),
            ),
            Some(refused.retry_after_s),
        )),
        other => Err(other),
    }
}

/// POST /login: signs in and goes back where the person came from.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let form = checked_form(&req, &body, lang)?;
    let next = local_path(form.get("next"));
    let ip = client_ip(&req, &state.trusted_proxies);
    let err = match accounts::sign_in(&state, form.text("email"), form.text("password"), ip).await {
        Ok(account) => {
            let mut res = signed_in(&state, account.id, &next, lang).await?;
            // The language the account chose follows it to this browser.
            if let Some(chosen) = account.language.as_deref().and_then(Lang::parse) {
                let _ = res.add_cookie(&super::profile::language_cookie(&state, chosen));
            }
            return Ok(res);
        }
        Err(e) => e,
    };
    let c = Chrome::new(&state, &req, viewer).await?;
    let (status, message, retry_after) =
        login_refusal(&c.t, err).map_err(|e| PageError::service(lang, e))?;
    let page = LoginPage {
        title: c.t.get("login-title"),
        error: Some(message),
        email: form.text("email").to_owned(),
        next,
        c,
    };
    let mut res = page.c.respond(status, &page)?;
    if let Some(seconds) = retry_after {
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(seconds),
        );
    }
    Ok(res)
}

/// Starts a session for `account` and goes on to `next`.
async fn signed_in(
    state: &AppState,
    account: seatbroker_actors::AccountId,
    next: &str,
    lang: Lang,
) -> Result<HttpResponse, PageError> {
    let cookie = session::start(state, account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let mut res = redirect(next);
    res.add_cookie(&cookie)
        .map_err(|_| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error-internal"))?;
    Ok(res)
}

/// POST /logout: ends this browser's session.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    checked_form(&req, &body, lang)?;
    if let Some(signed_in) = viewer.0 {
        session::end(&state, signed_in)
            .await
            .map_err(|e| PageError::service(lang, e))?;
    }
    let mut res = redirect("/login");
    res.add_cookie(&session::removal(&state, session::SESSION_COOKIE))
        .map_err(|_| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error-internal"))?;
    Ok(res)
}
