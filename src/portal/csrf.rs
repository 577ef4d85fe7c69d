//! CSRF protection of every portal form (double submit): the browser holds a random token in
//! an HttpOnly, SameSite=Strict cookie, every form carries the same token in a hidden
//! `csrf` field, and a POST whose two copies differ (or lack) is refused with 403. A page
//! from another site can make the browser send the cookie but cannot read it, so it cannot
//! fill in the field.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::service::{random, AppState, ServiceResult};

/// The cookie holding the token.
pub const CSRF_COOKIE: &str = "sb_csrf";

/// The token a page puts into its forms, and the cookie to set when the browser has none yet.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    /// The token.
    pub value: String,
    /// A new cookie to send with the page, when the browser had no token.
    pub new_cookie: Option<Cookie<'static>>,
}

/// The request's token, or a new one (with its cookie).
pub fn token(state: &AppState, req: &HttpRequest) -> ServiceResult<CsrfToken> {
    if let Some(existing) = req.cookie(CSRF_COOKIE).filter(|c| well_formed(c.value())) {
        return Ok(CsrfToken {
            value: existing.value().to_owned(),
            new_cookie: None,
        });
    }
    let value = hex::encode(random::<32>()?);
    let cookie = super::session::cookie(state, CSRF_COOKIE, value.clone(), SameSite::Strict);
    Ok(CsrfToken {
        value,
        new_cookie: Some(cookie),
    })
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a form's `csrf` field matches the request's cookie (compared in constant time).
pub fn valid(req: &HttpRequest, field: Option<&str>) -> bool {
    let (Some(cookie), Some(field)) = (req.cookie(CSRF_COOKIE), field) else {
        return false;
    };
    well_formed(cookie.value())
        && crate::auth::secret::same(field.as_bytes(), cookie.value().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_form_passes_only_with_the_cookies_token() {
        let token = "ab".repeat(32);
        let req = TestRequest::default()
            .cookie(Cookie::new(CSRF_COOKIE, token.clone()))
            .to_http_request();
        assert!(valid(&req, Some(&token)));
        assert!(!valid(&req, Some(&"cd".repeat(32))));
        assert!(!valid(&req, Some("")));
        assert!(!valid(&req, None));
        let without_cookie = TestRequest::default().to_http_request();
        assert!(!valid(&without_cookie, Some(&token)));
    }
}
