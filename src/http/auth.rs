//! Request extractors for who is asking: the client's address (the socket peer, or the
//! address a trusted proxy forwarded) for A3, and the account a bearer token speaks for (A4),
//! verified without a storage round trip.

use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use seatbroker_actors::AccountId;

use super::error::ApiError;
use crate::service::AppState;

/// The client's address: the socket peer, unless the peer is a trusted proxy, then the last
/// address in `X-Forwarded-For` that is not one of the trusted proxies.
pub fn client_ip(req: &HttpRequest, trusted: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    req.headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The account a valid bearer token speaks for; 401 `unauthenticated` otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub AccountId);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| unauthenticated("authentication is not available"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthenticated("this needs Authorization: Bearer <token>"))?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| unauthenticated("this needs Authorization: Bearer <token>"))?;
    let claims = state
        .tokens
        .verify_claims(token, state.registry.now())
        .map_err(|e| unauthenticated(&format!("the token was refused: {e}; log in again")))?;
    if state
        .revocations
        .is_revoked(claims.account, claims.issued_at)
    {
        return Err(unauthenticated(
            "the token was refused: revoked (logged out everywhere or password reset); log in again",
        ));
    }
    Ok(Authenticated(claims.account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a3_the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 10.0.0.1"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(&req, &[]),
            proxy,
            "an untrusted peer's header is ignored"
        );
        let direct = TestRequest::default()
            .peer_addr("198.51.100.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(
            client_ip(&direct, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "a client cannot pick its own address"
        );
    }
}
