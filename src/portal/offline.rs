//! `/offline` (issue 16): the page an offline request file sends its user to, with the
//! request in the link (`?request=...`) or pasted into the form. It shows what is asked
//! (pool, platform, device, when), and "Accept" takes the seat for that computer and hands
//! over the signed license file to carry back: a download, and the same text to copy.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use seatbroker_api::offline::OfflineRequest;

use super::home::when;
use super::i18n::Tr;
use super::page::{form_pairs, refusal, require, signed_in_form, Chrome, PageError};
use super::session::Viewer;
use crate::service::error::OfflineRequestError;
use crate::service::{offline, AppState, ServiceError};

/// What an offline request asks, as the page shows it.
struct Asked {
    request: String,
    pool: String,
    platform: String,
    device: String,
    requested_at: String,
}

/// The license file handed over.
struct LicenseFile {
    device: String,
    license: String,
    file_name: String,
}

/// The page.
#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    c: Chrome,
    title: String,
    request: String,
    asked: Option<Asked>,
    file: Option<LicenseFile>,
    error: Option<String>,
}

/// The sentence for a request that cannot be accepted.
fn request_error(t: &Tr, err: &OfflineRequestError) -> String {
    match err {
        OfflineRequestError::Unreadable(_) => t.get("offline-unreadable"),
        OfflineRequestError::TooOld => t.get("offline-too-old"),
    }
}

fn asked(t: &Tr, text: &str, request: &OfflineRequest) -> Asked {
    let pool = match (&request.pool, &request.invite_code) {
        (Some(pool), _) => pool.clone(),
        (None, Some(code)) => t.with1("offline-pool-invite", "code", code.clone()),
        (None, None) => t.get("offline-pool-any"),
    };
    Asked {
        request: text.trim().to_owned(),
        pool,
        platform: t.get(&format!("platform-{}", request.platform.as_str())),
        device: request.device_id.clone(),
        requested_at: when(seatbroker_actors::Timestamp(request.created_at_ms)),
    }
}

/// GET /offline[?request=...]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    require(&req, viewer)?;
    let query = form_pairs(req.query_string().as_bytes());
    let text = query.get("request").unwrap_or_default().trim().to_owned();
    let c = Chrome::new(&state, &req, viewer).await?;
    let (status, asked, error) = if text.is_empty() {
        (StatusCode::OK, None, None)
    } else {
        match offline::read_request(&text, state.registry.now()) {
            Ok(request) => (StatusCode::OK, Some(asked(&c.t, &text, &request)), None),
            Err(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(request_error(&c.t, &e)),
            ),
        }
    };
    let page = OfflinePage {
        title: c.t.get("offline-title"),
        request: text,
        asked,
        file: None,
        error,
        c,
    };
    page.c.respond(status, &page)
}

/// POST /offline: accepts the request and hands over the license file.
pub async fn accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (lang, signed_in, form) = signed_in_form(&req, viewer, &body, "/offline")?;
    let text = form.text("request").trim().to_owned();
    let now = state.registry.now();
    let outcome = offline::accept(&state, signed_in.account, &text, now).await;
    let c = Chrome::new(&state, &req, viewer).await?;
    let mut page = OfflinePage {
        title: c.t.get("offline-title"),
        request: text.clone(),
        asked: None,
        file: None,
        error: None,
        c,
    };
    let status = match outcome {
        Ok(grant) => {
            page.file = Some(LicenseFile {
                device: grant.device_id.clone(),
                license: grant.license,
                file_name: grant.file_name,
            });
            StatusCode::CREATED
        }
        Err(ServiceError::OfflineRequest(e)) => {
            page.error = Some(request_error(&page.c.t, &e));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(
            e @ (ServiceError::SeatRefused { .. }
            | ServiceError::Activation(_)
            | ServiceError::Limited(_)),
        ) => {
            let (status, message) = refusal(&page.c.t, e);
            page.asked = offline::read_request(&text, now)
                .ok()
                .map(|r| asked(&page.c.t, &text, &r));
            page.error = Some(message);
            status
        }
        Err(e) => return Err(PageError::service(lang, e)),
    };
    page.c.respond(status, &page)
}
