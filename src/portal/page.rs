//! What every portal page is built from: the headers it carries (`security_headers`), what
//! it shows around its content (`Chrome`), reading and CSRF-checking forms, sending a visitor
//! to log in and back, the sentences for the service's refusals, and the error pages
//! (`PageError`). The route table and the pages themselves are elsewhere in `portal/`.

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::csrf;
use super::i18n::{Lang, Tr};
use super::session::{SignedIn, Viewer};
use crate::http::error::ApiError;
use crate::service::{accounts, AppState, ServiceError};

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script or
/// style, forms post only here, and no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers every page carries: CSP, no framing, no sniffing, no referrer beyond
/// this origin, and no caching of pages that may show an account.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// A place inside the portal to go back to: a local path, never another site. Browsers drop
/// tabs and line breaks from addresses and read `\` as `/`, so a path with either, with any
/// white space or control character, or starting `//`, is refused.
pub fn local_path(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// 303 to `path` (after a form post).
pub fn redirect(path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, path))
        .finish()
}

/// The fields of a URL-encoded form or query.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or empty.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
}

/// Reads URL-encoded pairs; never fails (what is not a pair is skipped).
pub fn form_pairs(bytes: &[u8]) -> Fields {
    Fields(
        form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// A posted form whose CSRF token matched; otherwise the request is refused with 403.
pub fn checked_form(req: &HttpRequest, body: &[u8], lang: Lang) -> Result<Fields, PageError> {
    let fields = form_pairs(body);
    if csrf::valid(req, fields.get("csrf")) {
        Ok(fields)
    } else {
        Err(PageError::new(StatusCode::FORBIDDEN, lang, "error-csrf"))
    }
}

/// A language switch entry.
#[derive(Debug, Clone)]
pub struct LangLink {
    /// The language's tag.
    pub tag: &'static str,
    /// Its name in itself.
    pub name: &'static str,
    /// The link that switches to it and comes back here.
    pub href: String,
    /// Whether it is the page's language.
    pub current: bool,
}

/// What every page shows around its content: the language, the navigation for a signed-in
/// account or a visitor, the language switch, and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's translations.
    pub t: Tr,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// The signed-in account's name, if any.
    pub account_name: Option<String>,
    /// The language switch.
    pub langs: Vec<LangLink>,
    /// This page's address, URL-encoded, for the visitor's "Log in" and "Create account"
    /// links to come back to (empty on the start, login and registration pages).
    pub back: String,
    /// Cookies to send with the page (a new CSRF token).
    cookies: Vec<Cookie<'static>>,
}

impl Chrome {
    /// The chrome of a page at `req` for `viewer`.
    pub async fn new(
        state: &AppState,
        req: &HttpRequest,
        viewer: Viewer,
    ) -> Result<Chrome, PageError> {
        let lang = Lang::of_request(req);
        let token = csrf::token(state, req).map_err(|e| PageError::service(lang, e))?;
        let account_name = match viewer.0 {
            Some(signed_in) => Some(
                accounts::current(state, signed_in.account)
                    .await
                    .map_err(|e| PageError::service(lang, e))?
                    .name,
            ),
            None => None,
        };
        let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        let langs = Lang::ALL
            .into_iter()
            .map(|l| LangLink {
                tag: l.tag(),
                name: l.name(),
                href: format!("/language?lang={}&next={next}", l.tag()),
                current: l == lang,
            })
            .collect();
        let back = match req.path() {
            "/" | "/login" | "/register" => String::new(),
            _ => next.clone(),
        };
        Ok(Chrome {
            t: Tr::new(lang),
            csrf: token.value,
            account_name,
            langs,
            back,
            cookies: token.new_cookie.into_iter().collect(),
        })
    }

    /// The page's language tag.
    pub fn lang(&self) -> &'static str {
        self.t.lang().tag()
    }

    /// The page as a response with `status`.
    pub fn respond(
        &self,
        status: StatusCode,
        page: &impl Template,
    ) -> Result<HttpResponse, PageError> {
        let body = page.render().map_err(|_| {
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                self.t.lang(),
                "error-internal",
            )
        })?;
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8");
        for c in &self.cookies {
            res.cookie(c.clone());
        }
        Ok(res.body(body))
    }
}

/// The signed-in account, or a redirect to the login page that comes back to the page
/// `back`.
pub fn require_at(viewer: Viewer, back: &str) -> Result<SignedIn, PageError> {
    viewer.0.ok_or_else(|| {
        let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        PageError::redirect(format!("/login?next={next}"))
    })
}

/// The signed-in account, or a redirect to the login page that comes back to this page.
pub fn require(req: &HttpRequest, viewer: Viewer) -> Result<SignedIn, PageError> {
    require_at(
        viewer,
        req.uri().path_and_query().map_or("/", |p| p.as_str()),
    )
}

/// A form a signed-in account posted from the page `back` (where a visitor whose session
/// ended comes back to after logging in), with its CSRF token checked; and the language.
pub fn signed_in_form(
    req: &HttpRequest,
    viewer: Viewer,
    body: &[u8],
    back: &str,
) -> Result<(Lang, SignedIn, Fields), PageError> {
    let lang = Lang::of_request(req);
    let signed_in = require_at(viewer, back)?;
    let form = checked_form(req, body, lang)?;
    Ok((lang, signed_in, form))
}

/// The sentence for a refusal of the service, in the page's language: the message of its
/// API code (`err-<code>`), or a general one.
pub fn refusal_message(t: &Tr, err: ServiceError) -> String {
    refusal(t, err).1
}

/// The API's status for a refusal of the service, and its sentence as `refusal_message`.
pub fn refusal(t: &Tr, err: ServiceError) -> (StatusCode, String) {
    let api = ApiError::from(err);
    let key = format!("err-{}", api.code().replace('_', "-"));
    // A rate limit's refusal says how long to wait (issue 18).
    let text = match api.retry_after_s() {
        Some(seconds) if api.status_code() == StatusCode::TOO_MANY_REQUESTS => {
            t.with1(&key, "minutes", seconds.div_ceil(60))
        }
        _ => t.get(&key),
    };
    let status = actix_web::ResponseError::status_code(&api);
    if text == key {
        (status, t.get("error-general"))
    } else {
        (status, text)
    }
}

/// An error page (403, 404, 500, an expired link) in the portal's layout, with a way back;
/// or a redirect (to the login page).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    lang: Lang,
    message_key: &'static str,
    location: Option<String>,
}

impl PageError {
    /// An error page with `status` saying the message `message_key`.
    pub fn new(status: StatusCode, lang: Lang, message_key: &'static str) -> PageError {
        PageError {
            status,
            lang,
            message_key,
            location: None,
        }
    }

    /// A redirect instead of a page.
    pub fn redirect(location: String) -> PageError {
        PageError {
            status: StatusCode::SEE_OTHER,
            lang: Lang::En,
            message_key: "error-general",
            location: Some(location),
        }
    }

    /// The page for a service failure: storage down is a 503, anything else our fault.
    pub fn service(lang: Lang, err: ServiceError) -> PageError {
        match ApiError::from(err).status_code() {
            StatusCode::SERVICE_UNAVAILABLE => {
                PageError::new(StatusCode::SERVICE_UNAVAILABLE, lang, "error-unavailable")
            }
            StatusCode::NOT_FOUND => PageError::new(StatusCode::NOT_FOUND, lang, "error-not-found"),
            StatusCode::FORBIDDEN => PageError::new(StatusCode::FORBIDDEN, lang, "error-forbidden"),
            StatusCode::TOO_MANY_REQUESTS => {
                PageError::new(StatusCode::TOO_MANY_REQUESTS, lang, "error-too-many")
            }
            _ => PageError::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "error-internal"),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message_key)
    }
}

/// The error page's template.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    title: String,
    message: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(location) = &self.location {
            return redirect(location);
        }
        let t = Tr::new(self.lang);
        let page = ErrorPage {
            title: t.get("error-title"),
            message: t.get(self.message_key),
            t,
        };
        let mut res = HttpResponse::build(self.status);
        res.content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        match page.render() {
            Ok(body) => res.body(body),
            Err(_) => res.body(self.message_key),
        }
    }
}

/// Whether a request that matched no route is a browser's (it accepts HTML and is not for
/// the API), so it hears the portal's 404 page instead of the API's JSON.
pub fn wants_page(req: &HttpRequest) -> bool {
    let path = req.path();
    let api = path.starts_with("/v1/") || path == "/v1";
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    html && !api
}

/// The portal's 404 page.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    PageError::new(
        StatusCode::NOT_FOUND,
        Lang::of_request(req),
        "error-not-found",
    )
    .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_back_stays_on_this_site() {
        assert_eq!(local_path(Some("/pools/P-1?x=1")), "/pools/P-1?x=1");
        for foreign in [
            Some("https://evil.example/"),
            Some("//evil.example/"),
            Some("/\\evil.example"),
            Some("/\t/evil.example"),
            Some("/\n/evil.example"),
            Some("/ /evil.example"),
            Some("javascript:alert(1)"),
            None,
        ] {
            assert_eq!(local_path(foreign), "/", "{foreign:?}");
        }
    }
}
