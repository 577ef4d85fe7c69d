//! Activation in the portal: `/activate` (a license key or an invite code, typed or pasted,
//! with the same rules and messages as `POST /v1/activations`), and `/join/{code}`, the
//! invite URL's landing page: it shows whose pool the code opens and its type, asks a
//! visitor to log in or register first (coming back after), and joins with one button.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::i18n::{Lang, Tr};
use super::page::{refusal_message, require, signed_in_form, Chrome, PageError};
use super::session::Viewer;
use crate::domain::codes::{ActivationCode, InviteCode};
use crate::http::error::ApiError;
use crate::service::activations::{self, Activated};
use crate::service::error::ActivationRefusal;
use crate::service::{members, AppState, Novelty, ServiceError};

/// The activation form, with the outcome of the last activation.
#[derive(Template)]
#[template(path = "activate.html")]
struct ActivatePage {
    c: Chrome,
    title: String,
    error: Option<String>,
    done: Option<String>,
    code: String,
}

/// The invite URL's page.
#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    c: Chrome,
    title: String,
    code: String,
    owner: String,
    kind: String,
    signed_in: bool,
    error: Option<String>,
    done: Option<String>,
    next: String,
}

/// What an activation added, in a sentence.
fn added(t: &Tr, activated: &Activated) -> String {
    match activated {
        Activated::License {
            license, novelty, ..
        } => {
            let args = [
                ("license", license.id.to_string()),
                ("type", t.get(&format!("type-{}", license.kind.as_str()))),
                ("seats", license.seats.to_string()),
            ];
            match novelty {
                Novelty::New => t.with("activate-added-license", &args),
                Novelty::Repeated => t.with("activate-license-already", &args),
            }
        }
        Activated::Membership { pool, novelty } => {
            let owner = pool.owner.name.clone();
            match novelty {
                Novelty::New => t.with1("activate-joined", "owner", owner),
                Novelty::Repeated => t.with1("activate-member-already", "owner", owner),
            }
        }
    }
}

/// Whether a failure is a refusal to show on the form (not a broken store).
fn is_refusal(err: &ServiceError) -> bool {
    matches!(
        err,
        ServiceError::Activation(_) | ServiceError::EmailUnconfirmed | ServiceError::Limited(_)
    )
}

/// GET /activate
pub async fn activate_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    require(&req, viewer)?;
    let c = Chrome::new(&state, &req, viewer).await?;
    let page = ActivatePage {
        title: c.t.get("activate-title"),
        error: None,
        done: None,
        code: String::new(),
        c,
    };
    page.c.respond(StatusCode::OK, &page)
}

/// POST /activate
pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/activate")?;
    let typed = form.text("code").to_owned();
    let outcome = match ActivationCode::parse(&typed) {
        Ok(code) => activations::activate(&state, signed_in.account, code).await,
        Err(e) => Err(ActivationRefusal::from(e).into()),
    };
    let c = Chrome::new(&state, &req, viewer).await?;
    let (status, done, error, code) = match outcome {
        Ok(activated) => {
            let status = match &activated {
                Activated::License { novelty, .. } | Activated::Membership { novelty, .. } => {
                    if *novelty == Novelty::New {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    }
                }
            };
            (status, Some(added(&c.t, &activated)), None, String::new())
        }
        Err(e) if is_refusal(&e) => (
            refusal_status(&e),
            None,
            Some(refusal_message(&c.t, e)),
            typed,
        ),
        Err(e) => return Err(PageError::service(lang, e)),
    };
    let page = ActivatePage {
        title: c.t.get("activate-title"),
        error,
        done,
        code,
        c,
    };
    page.c.respond(status, &page)
}

/// The status of a refused activation: the API's.
fn refusal_status(err: &ServiceError) -> StatusCode {
    match err {
        ServiceError::Activation(refusal) => {
            ResponseError::status_code(&ApiError::from(refusal.clone()))
        }
        ServiceError::EmailUnconfirmed => StatusCode::FORBIDDEN,
        ServiceError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The invite code of a `/join/{code}` path; 404 when it is not one or opens no pool.
async fn invited(
    state: &AppState,
    lang: Lang,
    raw: &str,
) -> Result<(InviteCode, crate::store::PoolRecord), PageError> {
    let not_found = || PageError::new(StatusCode::NOT_FOUND, lang, "join-unknown");
    let code = InviteCode::parse(raw).map_err(|_| not_found())?;
    match members::invited_pool(state, code).await {
        Ok(record) => Ok((code, record)),
        Err(ServiceError::Activation(_)) => Err(not_found()),
        Err(e) => Err(PageError::service(lang, e)),
    }
}

async fn join_page(
    state: &AppState,
    req: &HttpRequest,
    viewer: Viewer,
    raw: &str,
    outcome: Option<Result<String, String>>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of_request(req);
    let (code, record) = invited(state, lang, raw).await?;
    let owner = crate::service::accounts::current(state, record.owner)
        .await
        .map_err(|e| PageError::service(lang, e))?;
    let c = Chrome::new(state, req, viewer).await?;
    let (done, error) = match outcome {
        Some(Ok(done)) => (Some(done), None),
        Some(Err(error)) => (None, Some(error)),
        None => (None, None),
    };
    let page = JoinPage {
        title: c.t.get("join-title"),
        code: code.to_string(),
        owner: owner.name,
        kind: c.t.get(&format!("type-{}", record.kind.as_str())),
        signed_in: viewer.0.is_some(),
        error,
        done,
        next: format!("/join/{code}"),
        c,
    };
    page.c.respond(status, &page)
}

/// GET /join/{code}
pub async fn join_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    join_page(&state, &req, viewer, &path, None, StatusCode::OK).await
}

/// POST /join/{code}: joins the pool (I2).
pub async fn join(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let back = format!("/join/{}", path.as_str());
    let (lang, signed_in, _) = signed_in_form(&req, viewer, &body, &back)?;
    let (code, _) = invited(&state, lang, &path).await?;
    let t = Tr::new(lang);
    let (outcome, status) = match activations::activate(
        &state,
        signed_in.account,
        ActivationCode::Invite(code),
    )
    .await
    {
        Ok(activated) => (Ok(added(&t, &activated)), StatusCode::OK),
        Err(e) if is_refusal(&e) => {
            let status = refusal_status(&e);
            (Err(refusal_message(&t, e)), status)
        }
        Err(e) => return Err(PageError::service(lang, e)),
    };
    join_page(&state, &req, viewer, &path, Some(outcome), status).await
}
