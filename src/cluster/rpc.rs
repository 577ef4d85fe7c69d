//! A forward between nodes on the wire: `POST /internal/v1/pools/{n}/call` (`n` the pool id's
//! number) carrying one
//! `PoolCall` as MessagePack, answered 200 with the call's `Result<PoolAnswer, EngineError>`
//! as MessagePack. The request is authenticated by `x-seatbroker-cluster-mac`, the hex
//! HMAC-SHA256 under the cluster secret of the time (`x-seatbroker-cluster-time`, Unix
//! milliseconds), the pool and the body; a request more than a minute off this node's clock is
//! refused, so a captured forward cannot be replayed later. The route's handler is in
//! `http::internal`; what a call does is in `engine`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use seatbroker_actors::{EngineError, PoolId};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::engine::{PoolAnswer, PoolCall};
use super::Cluster;

/// The header carrying the forward's time.
pub const TIME_HEADER: &str = "x-seatbroker-cluster-time";
/// The header carrying the forward's MAC.
pub const MAC_HEADER: &str = "x-seatbroker-cluster-mac";
/// How far a forward's time may be from the receiving node's clock.
const MAX_SKEW_MS: u64 = 60_000;

type HmacSha256 = Hmac<Sha256>;

/// Why a forward got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The call could not be encoded or the answer decoded.
    #[error("cannot encode or decode a forward: {0}")]
    Codec(String),
    /// The owner did not answer in time, or the connection failed.
    #[error("the owner did not answer: {0}")]
    Transport(String),
    /// The owner answered with another status than 200.
    #[error("the owner refused the forward with status {0}")]
    Refused(u16),
}

/// Why a received forward is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ForwardRefusal {
    /// No time or MAC header, or unreadable ones.
    #[error("the forward carries no readable time and MAC")]
    Missing,
    /// The time is more than a minute off.
    #[error("the forward's time is more than a minute off")]
    Stale,
    /// The MAC does not match: another secret, or a changed request.
    #[error("the forward's MAC does not match")]
    BadMac,
}

fn mac(secret: &SecretString, time_ms: u64, pool: PoolId, body: &[u8]) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes a key of any length.
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(format!("{time_ms}\n{pool}\n").as_bytes());
    mac.update(body);
    mac
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The MAC header's value for a forward of `body` about `pool` at `time_ms`.
pub fn sign(secret: &SecretString, time_ms: u64, pool: PoolId, body: &[u8]) -> String {
    hex::encode(mac(secret, time_ms, pool, body).finalize().into_bytes())
}

/// Checks a received forward's time and MAC (in constant time).
pub fn verify(
    secret: &SecretString,
    time: Option<&str>,
    tag: Option<&str>,
    pool: PoolId,
    body: &[u8],
) -> Result<(), ForwardRefusal> {
    let time_ms: u64 = time
        .and_then(|t| t.parse().ok())
        .ok_or(ForwardRefusal::Missing)?;
    let tag = tag
        .and_then(|t| hex::decode(t).ok())
        .ok_or(ForwardRefusal::Missing)?;
    if now_ms().abs_diff(time_ms) > MAX_SKEW_MS {
        return Err(ForwardRefusal::Stale);
    }
    mac(secret, time_ms, pool, body)
        .verify_slice(&tag)
        .map_err(|_| ForwardRefusal::BadMac)
}

/// A call as the body of a forward.
pub fn encode_call(call: &PoolCall) -> Result<Vec<u8>, RpcError> {
    rmp_serde::to_vec_named(call).map_err(|e| RpcError::Codec(e.to_string()))
}

/// A forward's body as a call.
pub fn decode_call(body: &[u8]) -> Result<PoolCall, RpcError> {
    rmp_serde::from_slice(body).map_err(|e| RpcError::Codec(e.to_string()))
}

/// An answer as the body of the forward's response.
pub fn encode_answer(answer: &Result<PoolAnswer, EngineError>) -> Result<Vec<u8>, RpcError> {
    rmp_serde::to_vec_named(answer).map_err(|e| RpcError::Codec(e.to_string()))
}

/// Sends `call` to the node at `owner` and waits for its answer: at most a lease, plus the
/// wait of a seat request that may wait.
pub async fn send(
    cluster: &Cluster,
    owner: &str,
    pool: PoolId,
    call: &PoolCall,
) -> Result<Result<PoolAnswer, EngineError>, RpcError> {
    let body = encode_call(call)?;
    let time_ms = now_ms();
    let tag = sign(&cluster.secret, time_ms, pool, &body);
    let wait = match call {
        PoolCall::Acquire {
            wait_ms: Some(ms), ..
        } => Duration::from_millis(*ms),
        _ => Duration::ZERO,
    };
    let response = cluster
        .http
        .post(format!("{owner}/internal/v1/pools/{}/call", pool.0))
        .header(TIME_HEADER, time_ms.to_string())
        .header(MAC_HEADER, tag)
        .header(reqwest::header::CONTENT_TYPE, "application/msgpack")
        .timeout(cluster.lease + wait)
        .body(body)
        .send()
        .await
        .map_err(|e| RpcError::Transport(e.to_string()))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(RpcError::Refused(response.status().as_u16()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| RpcError::Transport(e.to_string()))?;
    rmp_serde::from_slice(&bytes).map_err(|e| RpcError::Codec(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("a cluster secret of some length")
    }

    #[test]
    fn a_signed_forward_verifies() {
        let pool = PoolId(7);
        let now = now_ms();
        let tag = sign(&secret(), now, pool, b"body");
        let time = now.to_string();
        assert_eq!(
            verify(&secret(), Some(&time), Some(&tag), pool, b"body"),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_pool_or_secret_is_refused() {
        let pool = PoolId(7);
        let now = now_ms();
        let tag = sign(&secret(), now, pool, b"body");
        let time = now.to_string();
        let check =
            |s: &SecretString, p: PoolId, b: &[u8]| verify(s, Some(&time), Some(&tag), p, b);
        assert_eq!(check(&secret(), pool, b"bodY"), Err(ForwardRefusal::BadMac));
        assert_eq!(
            check(&secret(), PoolId(8), b"body"),
            Err(ForwardRefusal::BadMac)
        );
        let other = SecretString::from("another secret of some length");
        assert_eq!(check(&other, pool, b"body"), Err(ForwardRefusal::BadMac));
    }

    #[test]
    fn an_old_or_unsigned_forward_is_refused() {
        let pool = PoolId(7);
        let old = now_ms() - 2 * MAX_SKEW_MS;
        let tag = sign(&secret(), old, pool, b"body");
        let time = old.to_string();
        assert_eq!(
            verify(&secret(), Some(&time), Some(&tag), pool, b"body"),
            Err(ForwardRefusal::Stale)
        );
        assert_eq!(
            verify(&secret(), None, Some(&tag), pool, b"body"),
            Err(ForwardRefusal::Missing)
        );
        assert_eq!(
            verify(&secret(), Some(&time), Some("not hex"), pool, b"body"),
            Err(ForwardRefusal::Missing)
        );
    }

    #[test]
    fn calls_and_answers_survive_the_wire() {
        let call = PoolCall::Seats {
            account: Some(seatbroker_actors::AccountId(3)),
        };
        let decoded = decode_call(&encode_call(&call).unwrap()).unwrap();
        assert!(matches!(
            decoded,
            PoolCall::Seats {
                account: Some(seatbroker_actors::AccountId(3))
            }
        ));
        let answer: Result<PoolAnswer, EngineError> = Err(EngineError::Throttled);
        let bytes = encode_answer(&answer).unwrap();
        let back: Result<PoolAnswer, EngineError> = rmp_serde::from_slice(&bytes).unwrap();
        assert!(matches!(back, Err(EngineError::Throttled)));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::mutations::{any_text, near_bytes};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_forward_of_any_bytes_and_headers_is_refused_without_panicking(
            body in prop_oneof![any::<Vec<u8>>(), near_bytes(Just(encode_call(&PoolCall::Status).unwrap()))],
            time in prop::option::of(prop_oneof![any_text(), any::<u64>().prop_map(|n| n.to_string())]),
            tag in prop::option::of(prop_oneof![any_text(), "[0-9a-fA-F]{0,70}"]),
        ) {
            let _ = decode_call(&body);
            let secret = SecretString::from("a cluster secret of some length");
            prop_assert!(verify(&secret, time.as_deref(), tag.as_deref(), PoolId(1), &body).is_err());
        }
    }
}
