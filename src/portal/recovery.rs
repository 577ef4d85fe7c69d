//! What is done through emailed one-time links: confirming a new account's address
//! (`/verify/{token}`, sent at registration and again on request from `/verify`) and
//! setting a forgotten password (`/forgot` sends `/reset/{token}`, valid one hour). A link
//! opens a page with one button, so a mail scanner that opens links uses none up. Forms that
//! send mail answer the same whether the address has an account or not.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::i18n::{Lang, Tr};
use super::page::{checked_form, refusal_message, Chrome, PageError};
use super::session::Viewer;
use crate::email::Email;
use crate::http::auth::client_ip;
use crate::service::{accounts, AppState, ServiceError};
use crate::store::{AccountRecord, LinkPurpose};

/// A reset link works this long (one hour).
pub const RESET_LINK_TTL_S: u64 = 3_600;

/// A page with one message and, optionally, a form of one button or one field.
#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    c: Chrome,
    title: String,
    notice: Option<String>,
    error: Option<String>,
    /// Where the form posts; no form when empty.
    action: String,
    /// The field's label, when the form has one (`email` or `password`).
    field: Option<Field>,
    button: String,
    /// A link below the form.
    after: Option<(String, String)>,
}

/// The form's one field.
struct Field {
    name: &'static str,
    kind: &'static str,
    label: String,
    autocomplete: &'static str,
    hint: Option<String>,
}

impl LinkPage {
    fn new(c: Chrome, title_key: &str) -> LinkPage {
        LinkPage {
            title: c.t.get(title_key),
            c,
            notice: None,
            error: None,
            action: String::new(),
            field: None,
            button: String::new(),
            after: None,
        }
    }

    fn email_field(mut self) -> Self {
        self.field = Some(Field {
            name: "email",
            kind: "email",
            label: self.c.t.get("field-email"),
            autocomplete: "email",
            hint: None,
        });
        self
    }

    fn respond(self, status: StatusCode) -> Result<HttpResponse, PageError> {
        self.c.respond(status, &self)
    }
}

/// The language of an account's emails: its choice, else the page's.
fn mail_lang(account: &AccountRecord, page: Lang) -> Lang {
    account
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(page)
}

/// Emails `account` a link of `purpose`, unless the account had its emails of the hour
/// (issue 18). A mail that cannot be sent is logged, not shown: the page answers the same
/// either way, and the person can ask again.
async fn send_link(state: &AppState, account: &AccountRecord, purpose: LinkPurpose, lang: Lang) {
    if !accounts::may_email(state, account.id) {
        return;
    }
    let (ttl_s, path, prefix) = match purpose {
        LinkPurpose::VerifyEmail => (
            state.settings.portal.verify_link_ttl_s,
            "verify",
            "mail-verify",
        ),
        LinkPurpose::ResetPassword => (RESET_LINK_TTL_S, "reset", "mail-reset"),
    };
    let token = match accounts::issue_link(state, account.id, purpose, ttl_s).await {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(%e, "no link could be made");
            return;
        }
    };
    let base = state.settings.server.public_url.trim_end_matches('/');
    let t = Tr::new(mail_lang(account, lang));
    let args = [
        ("name", account.name.clone()),
        ("link", format!("{base}/{path}/{token}")),
        ("hours", ttl_s.div_ceil(3_600).to_string()),
    ];
    let email = Email {
        to: account.email.clone(),
        to_name: account.name.clone(),
        subject: t.get(&format!("{prefix}-subject")),
        text: t.with(&format!("{prefix}-body"), &args),
    };
    if let Err(e) = state.mailer.send(email).await {
        tracing::warn!(%e, "an email could not be sent");
    }
}

/// Issue 18: refused when this client asked for too many emails this hour.
fn may_ask(state: &AppState, req: &HttpRequest) -> Result<(), ServiceError> {
    accounts::may_ask_for_email(state, client_ip(req, &state.trusted_proxies))
}

/// The page of a form that sends mail, refused by a rate limit: 429, with how long to wait.
async fn refused_page(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    title_key: &str,
    refused: ServiceError,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(state, req, viewer).await?;
    let mut page = LinkPage::new(c, title_key);
    page.error = Some(refusal_message(&page.c.t, refused));
    page.respond(StatusCode::TOO_MANY_REQUESTS)
}

/// Sends the confirmation link to a new account (at registration).
pub async fn send_confirmation(state: &AppState, account: &AccountRecord, lang: Lang) {
    send_link(state, account, LinkPurpose::VerifyEmail, lang).await;
}

/// GET /verify: the form that sends the confirmation link again.
pub async fn resend_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = LinkPage::new(c, "verify-resend-title").email_field();
    page.action = "/verify".into();
    page.button = page.c.t.get("verify-resend-button");
    page.respond(StatusCode::OK)
}

/// POST /verify: sends the confirmation link again, to an unconfirmed account of that email
/// (a signed-in account's own when the form has no email).
pub async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let form = checked_form(&req, &body, lang)?;
    if let Err(refused) = may_ask(&state, &req) {
        return refused_page(&state, &req, viewer, "verify-resend-title", refused).await;
    }
    let account = match (form.get("email").filter(|e| !e.trim().is_empty()), viewer.0) {
        (Some(email), _) => accounts::by_email(&state, email)
            .await
            .map_err(|e| PageError::service(lang, e))?,
        (None, Some(signed_in)) => Some(
            accounts::current(&state, signed_in.account)
                .await
                .map_err(|e| PageError::service(lang, e))?,
        ),
        (None, None) => None,
    };
    if let Some(account) = account.filter(|a| !a.email_confirmed) {
        send_link(&state, &account, LinkPurpose::VerifyEmail, lang).await;
    }
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = LinkPage::new(c, "verify-resend-title");
    page.notice = Some(page.c.t.get("verify-resent"));
    page.respond(StatusCode::OK)
}

/// GET /verify/{token}: one button confirms.
pub async fn verify_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = LinkPage::new(c, "verify-title");
    page.action = format!("/verify/{}", path.as_str());
    page.button = page.c.t.get("verify-button");
    page.respond(StatusCode::OK)
}

/// The page of a link that no longer works, with a way to ask for a new one.
fn expired(c: Chrome, again: &str, again_key: &str) -> Result<HttpResponse, PageError> {
    let mut page = LinkPage::new(c, "link-expired-title");
    page.error = Some(page.c.t.get("link-expired"));
    page.after = Some((again.to_owned(), page.c.t.get(again_key)));
    page.respond(StatusCode::GONE)
}

/// POST /verify/{token}: confirms the account's email.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    checked_form(&req, &body, lang)?;
    let used = accounts::use_link(&state, &path, LinkPurpose::VerifyEmail).await;
    let c = Chrome::new(&state, &req, viewer).await?;
    let account = match used {
        Ok(account) => account,
        Err(ServiceError::LinkInvalid) => return expired(c, "/verify", "verify-resend-title"),
        Err(e) => return Err(PageError::service(lang, e)),
    };
    accounts::confirm_email(&state, account)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let mut page = LinkPage::new(c, "verify-title");
    page.notice = Some(page.c.t.get("verify-done"));
    page.after = Some(match viewer.0 {
        Some(_) => ("/activate".to_owned(), page.c.t.get("activate-title")),
        None => ("/login".to_owned(), page.c.t.get("nav-login")),
    });
    page.respond(StatusCode::OK)
}

/// GET /forgot
pub async fn forgot_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = LinkPage::new(c, "forgot-title").email_field();
    page.notice = Some(page.c.t.get("forgot-lead"));
    page.action = "/forgot".into();
    page.button = page.c.t.get("forgot-button");
    page.respond(StatusCode::OK)
}

/// POST /forgot: emails a reset link when an account has that address; answers the same
/// either way, so the form tells nobody which addresses have accounts.
pub async fn forgot(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let form = checked_form(&req, &body, lang)?;
    if let Err(refused) = may_ask(&state, &req) {
        return refused_page(&state, &req, viewer, "forgot-title", refused).await;
    }
    let account = accounts::by_email(&state, form.text("email"))
        .await
        .map_err(|e| PageError::service(lang, e))?;
    if let Some(account) = account {
        send_link(&state, &account, LinkPurpose::ResetPassword, lang).await;
    }
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = LinkPage::new(c, "forgot-title");
    page.notice = Some(page.c.t.get("forgot-sent"));
    page.respond(StatusCode::OK)
}

fn reset_page(c: Chrome, token: &str, error: Option<String>) -> LinkPage {
    let t = c.t.clone();
    let mut page = LinkPage::new(c, "reset-title");
    page.error = error;
    page.action = format!("/reset/{token}");
    page.field = Some(Field {
        name: "password",
        kind: "password",
        label: t.get("reset-field"),
        autocomplete: "new-password",
        hint: Some(t.get("password-hint")),
    });
    page.button = t.get("reset-button");
    page
}

/// GET /reset/{token}
pub async fn reset_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let c = Chrome::new(&state, &req, viewer).await?;
    reset_page(c, &path, None).respond(StatusCode::OK)
}

/// POST /reset/{token}: sets the new password; every session ends and every API token of
/// the account stops working. The link works once.
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(&req);
    let form = checked_form(&req, &body, lang)?;
    let password = form.text("password");
    let c = Chrome::new(&state, &req, viewer).await?;
    // A password that would be refused is refused before the link is used up.
    if let Err(e) = crate::domain::account::Password::parse(password) {
        let message = refusal_message(
            &c.t,
            ServiceError::AccountField {
                field: "password",
                error: e,
            },
        );
        return reset_page(c, &path, Some(message)).respond(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let account = match accounts::use_link(&state, &path, LinkPurpose::ResetPassword).await {
        Ok(account) => account,
        Err(ServiceError::LinkInvalid) => return expired(c, "/forgot", "forgot-title"),
        Err(e) => return Err(PageError::service(lang, e)),
    };
    accounts::reset_password(&state, account, password)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    // This browser's session ended with the others: it shows the page signed out.
    let c = Chrome::new(&state, &req, Viewer(None)).await?;
    let mut page = LinkPage::new(c, "reset-title");
    page.notice = Some(page.c.t.get("reset-done"));
    page.after = Some(("/login".to_owned(), page.c.t.get("nav-login")));
    let mut res = page.respond(StatusCode::OK)?;
    let _ = res.add_cookie(&super::session::removal(
        &state,
        super::session::SESSION_COOKIE,
    ));
    Ok(res)
}
