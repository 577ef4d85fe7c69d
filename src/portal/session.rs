//! Portal sessions: a signed-in browser holds an HttpOnly, SameSite=Lax cookie with a random
//! session id; the store keeps the session under the id's SHA-256, so neither a copy of the
//! store nor a log holds a usable id. A session ends when unused for
//! `portal.session_idle_s`, `portal.session_max_s` after sign-in, on "log out", and on "log
//! out everywhere" or a password reset (every session of the account). The cookie is
//! `Secure` when `server.public_url` is https.

use std::future::Future;
use std::pin::Pin;

use crate::auth::secret;
use crate::service::{AppState, ServiceError, ServiceResult};
use crate::store::SessionRecord;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use seatbroker_actors::{AccountId, Timestamp};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sb_session";
/// A session's `last_seen` is written at most this often (milliseconds).
const TOUCH_EVERY_MS: u64 = 60_000;

/// Whether cookies must be `Secure`.
pub fn secure(state: &AppState) -> bool {
    state.settings.server.public_url.starts_with("https://")
}

/// A cookie of the portal: HttpOnly, path `/`, `Secure` over https.
pub fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(same_site)
        .finish()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new(), SameSite::Lax);
    c.make_removal();
    c
}

/// Starts a session for `account`; answers the cookie that carries it.
pub async fn start(state: &AppState, account: AccountId) -> ServiceResult<Cookie<'static>> {
    let (id, key) = secret::fresh().map_err(|_| ServiceError::Internal("no randomness"))?;
    let now = state.registry.now();
    state
        .accounts
        .put_session(SessionRecord {
            key,
            account,
            created_at: now,
            last_seen: now,
        })
        .await?;
    Ok(cookie(state, SESSION_COOKIE, id, SameSite::Lax))
}

/// The signed-in account of a request, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    /// The account.
    pub account: AccountId,
    /// The store's key of the session.
    pub key: [u8; 32],
}

/// Who is asking: a signed-in account or nobody. A session that is unknown, idle too long
/// or past its lifetime is nobody (and ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer(pub Option<SignedIn>);

impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let key = req
            .cookie(SESSION_COOKIE)
            .and_then(|c| secret::key_of(c.value()));
        Box::pin(async move {
            let (Some(state), Some(key)) = (state, key) else {
                return Ok(Viewer(None));
            };
            // A store that does not answer makes the viewer nobody, so public pages still
            // show; pages that need an account say so.
            Ok(Viewer(resolve(&state, key).await.unwrap_or(None)))
        })
    }
}

/// The live session with this key, touched when its `last_seen` is a minute old.
async fn resolve(state: &AppState, key: [u8; 32]) -> ServiceResult<Option<SignedIn>> {
    let Some(mut session) = state.accounts.session(key).await? else {
        return Ok(None);
    };
    let now = state.registry.now();
    if !alive(&session, now, &state.settings.portal) {
        state.accounts.delete_session(key).await?;
        return Ok(None);
    }
    if now
        .as_millis()
        .saturating_sub(session.last_seen.as_millis())
        >= TOUCH_EVERY_MS
    {
        session.last_seen = now;
        state.accounts.put_session(session.clone()).await?;
    }
    Ok(Some(SignedIn {
        account: session.account,
        key,
    }))
}

/// Whether a session is still within its idle timeout and its lifetime.
pub fn alive(
    session: &SessionRecord,
    now: Timestamp,
    limits: &crate::settings::PortalSettings,
) -> bool {
    now < session.last_seen.plus_secs(limits.session_idle_s)
        && now < session.created_at.plus_secs(limits.session_max_s)
}

/// Ends one session ("log out").
pub async fn end(state: &AppState, signed_in: SignedIn) -> ServiceResult<()> {
    Ok(state.accounts.delete_session(signed_in.key).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PortalSettings;

    const LIMITS: PortalSettings = PortalSettings {
        session_idle_s: 3_600,
        session_max_s: 86_400,
        verify_link_ttl_s: 86_400,
    };

    fn session(created_s: u64, seen_s: u64) -> SessionRecord {
        SessionRecord {
            key: [0; 32],
            account: AccountId(1),
            created_at: Timestamp(created_s * 1_000),
            last_seen: Timestamp(seen_s * 1_000),
        }
    }

    #[test]
    fn a_session_ends_when_idle_too_long() {
        assert!(alive(&session(0, 100), Timestamp(3_699_000), &LIMITS));
        assert!(!alive(&session(0, 100), Timestamp(3_700_000), &LIMITS));
    }

    #[test]
    fn a_session_ends_after_its_lifetime_however_busy() {
        assert!(alive(&session(0, 86_000), Timestamp(86_399_000), &LIMITS));
        assert!(!alive(&session(0, 86_399), Timestamp(86_400_000), &LIMITS));
    }
}
