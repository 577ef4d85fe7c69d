//! The web portal: server-rendered pages (askama templates under `templates/`, strings from
//! `locales/`, one embedded stylesheet) for the people of the seat rules: students register,
//! sign in and see their pools; license administrators manage theirs. Pages call the same
//! `service` functions as the JSON API, never the API over HTTP and never the store
//! directly (sessions aside, which are the portal's own). Forms post and redirect, so every
//! core flow works without JavaScript. This module holds the route table and the two routes
//! that are no page (the stylesheet, the language switch); `page.rs` what every page is built
//! from; each group of pages has its own module.

pub mod account;
pub mod activate;
pub mod csrf;
pub mod home;
pub mod i18n;
pub mod invitations;
pub mod offline;
pub mod page;
pub mod pools;
pub mod profile;
pub mod recovery;
pub mod seats;
pub mod session;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::service::{accounts, AppState};
use i18n::Lang;
use page::{form_pairs, local_path, redirect, security_headers};
use session::Viewer;

pub use page::{not_found, wants_page};

/// The stylesheet, embedded.
const CSS: &str = include_str!("assets/portal.css");

/// A portal resource: its pages carry the security headers. (A macro: a wrapped resource's
/// type names the middleware's future.)
macro_rules! page {
    ($path:expr) => {
        web::resource($path).wrap(from_fn(security_headers))
    };
}

/// Every portal route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page!("/").route(web::get().to(home::start)))
        .service(
            page!("/register")
                .route(web::get().to(account::register_form))
                .route(web::post().to(account::register)),
        )
        .service(
            page!("/login")
                .route(web::get().to(account::login_form))
                .route(web::post().to(account::login)),
        )
        .service(page!("/logout").route(web::post().to(account::logout)))
        .service(
            page!("/activate")
                .route(web::get().to(activate::activate_form))
                .route(web::post().to(activate::activate)),
        )
        .service(
            page!("/join/{code}")
                .route(web::get().to(activate::join_form))
                .route(web::post().to(activate::join)),
        )
        .service(
            page!("/verify")
                .route(web::get().to(recovery::resend_form))
                .route(web::post().to(recovery::resend)),
        )
        .service(
            page!("/verify/{token}")
                .route(web::get().to(recovery::verify_form))
                .route(web::post().to(recovery::verify)),
        )
        .service(
            page!("/forgot")
                .route(web::get().to(recovery::forgot_form))
                .route(web::post().to(recovery::forgot)),
        )
        .service(
            page!("/reset/{token}")
                .route(web::get().to(recovery::reset_form))
                .route(web::post().to(recovery::reset)),
        )
        .service(
            page!("/offline")
                .route(web::get().to(offline::show))
                .route(web::post().to(offline::accept)),
        )
        .service(page!("/invitations").route(web::get().to(invitations::show)))
        .service(page!("/invitations/leave").route(web::post().to(invitations::leave)))
        .service(page!("/seats").route(web::get().to(seats::show)))
        .service(page!("/seats/release").route(web::post().to(seats::release)))
        .service(page!("/profile").route(web::get().to(profile::show)))
        .service(page!("/profile/password").route(web::post().to(profile::change_password)))
        .service(page!("/profile/language").route(web::post().to(profile::set_language)))
        .service(page!("/profile/delete").route(web::post().to(profile::delete_account)))
        .service(page!("/logout-everywhere").route(web::post().to(profile::log_out_everywhere)))
        .service(page!("/language").route(web::get().to(language)))
        .configure(pools::routes)
        .service(page!("/assets/portal.css").route(web::get().to(stylesheet)))
        .service(page!("/assets/portal.js").route(web::get().to(pools::script)));
}

/// GET /assets/portal.css
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

/// GET /language?lang=de&next=/path: remembers the chosen language (in this browser, and on
/// the account when signed in) and goes back.
async fn language(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer) -> HttpResponse {
    let query = form_pairs(req.query_string().as_bytes());
    let next = local_path(query.get("next"));
    let mut res = redirect(&next);
    if let Some(lang) = query.get("lang").and_then(Lang::parse) {
        if let Some(signed_in) = viewer.0 {
            // A store that does not answer keeps the choice in this browser only.
            if let Err(e) = accounts::set_language(&state, signed_in.account, lang.tag()).await {
                tracing::warn!(%e, "a language could not be remembered on the account");
            }
        }
        let _ = res.add_cookie(&profile::language_cookie(&state, lang));
    }
    res
}
