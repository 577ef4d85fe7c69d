//! `Error`: everything a call can end with, and the parsing of the API's one error shape
//! `{"error": {"code", "message", ...details}}` into it. Which errors are retried, and how
//! long to wait, is decided in `retry`, not here.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use seatbroker_api::OwnerContact;

/// Why a seat was lost: the `reason` of a 410 `seat_gone`, or what else ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LossReason {
    /// No heartbeat within the pool's timeout (S4).
    Expired,
    /// Freed by logout, "free up my seats" (S7) or a close elsewhere.
    Released,
    /// Released by the pool's owner or an operator (W3).
    Revoked,
    /// Revoked because the pool's capacity dropped (S10).
    CapacityReduced,
    /// Revoked because the owner blocked this member (S10).
    MemberBlocked,
    /// Another code: a reason this version does not know, or the code of a refusal
    /// (`unauthenticated`, `not_found`) that ended the heartbeats.
    Other(String),
}

impl LossReason {
    /// The reason from its API code.
    pub fn from_code(code: &str) -> LossReason {
        match code {
            "expired" => LossReason::Expired,
            "released" => LossReason::Released,
            "revoked" => LossReason::Revoked,
            "capacity_reduced" => LossReason::CapacityReduced,
            "member_blocked" => LossReason::MemberBlocked,
            other => LossReason::Other(other.to_owned()),
        }
    }

    /// The API code of the reason.
    pub fn code(&self) -> &str {
        match self {
            LossReason::Expired => "expired",
            LossReason::Released => "released",
            LossReason::Revoked => "revoked",
            LossReason::CapacityReduced => "capacity_reduced",
            LossReason::MemberBlocked => "member_blocked",
            LossReason::Other(code) => code,
        }
    }
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One of the account's own seats on another device (S12), which "free up my seats" releases
/// (read as `seatbroker_api::SeatElsewhere`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "seatbroker_api::SeatElsewhere")]
pub struct SeatElsewhere {
    /// The seat's id.
    pub seat_id: String,
    /// Its pool.
    pub pool_id: String,
    /// The device holding it, as its fingerprint.
    pub device_id: String,
    /// The device's fingerprint (`3fa9-1c2b-77de`), as `Seat::device_fingerprint`.
    pub device_fingerprint: String,
    /// That device's platform, as the API names it.
    pub platform: String,
    /// When it was granted.
    pub granted_at: OffsetDateTime,
}

impl TryFrom<seatbroker_api::SeatElsewhere> for SeatElsewhere {
    type Error = Error;

    fn try_from(wire: seatbroker_api::SeatElsewhere) -> Result<SeatElsewhere, Error> {
        let granted_at = read_time("granted_at", &wire.granted_at)?;
        Ok(SeatElsewhere {
            seat_id: wire.seat_id,
            pool_id: wire.pool_id,
            device_id: wire.device_id,
            device_fingerprint: wire.device_fingerprint,
            platform: wire.platform.as_str().to_owned(),
            granted_at,
        })
    }
}

/// The details of a `no_seat_available` refusal (S12, W1), with its message: the error
/// object's fields but `code` (read as `seatbroker_api::NoSeatDetails` and a message).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "NoSeatWire")]
pub struct NoSeatDetails {
    /// The sentence for people.
    pub message: String,
    /// The pool's capacity.
    pub capacity: u64,
    /// Capacity in use.
    pub in_use: u64,
    /// The account's own seats on other devices.
    pub own_seats_elsewhere: Vec<SeatElsewhere>,
    /// The pool's owner, when known.
    pub owner_contact: Option<OwnerContact>,
    /// Where a waiting request stood when its wait ended; `None` when it did not wait.
    pub queue_position: Option<u64>,
}

/// The error object of a `no_seat_available` refusal as it comes: a message beside the
/// shared details.
#[derive(Deserialize)]
struct NoSeatWire {
    #[serde(default)]
    message: String,
    #[serde(flatten)]
    details: seatbroker_api::NoSeatDetails,
}

impl TryFrom<NoSeatWire> for NoSeatDetails {
    type Error = Error;

    fn try_from(wire: NoSeatWire) -> Result<NoSeatDetails, Error> {
        let d = wire.details;
        Ok(NoSeatDetails {
            message: wire.message,
            capacity: u64::from(d.capacity),
            in_use: u64::from(d.in_use),
            own_seats_elsewhere: d
                .own_seats_elsewhere
                .into_iter()
                .map(SeatElsewhere::try_from)
                .collect::<Result<_, _>>()?,
            owner_contact: d.owner_contact,
            queue_position: d.queue_position.map(|p| p as u64),
        })
    }
}

/// Everything a call of this crate can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 409 `no_seat_available`: the pool is full (S12 details inside).
    #[error("no seat available: {} of {} in use", .0.in_use, .0.capacity)]
    NoSeatAvailable(Box<NoSeatDetails>),
    /// 410 `seat_gone`: the seat was taken back, and why.
    #[error("the seat is gone: {reason}")]
    SeatGone {
        /// Why it went.
        reason: LossReason,
    },
    /// 429 after the retry policy gave up; `retry_after` is the broker's last `Retry-After`.
    #[error("throttled ({code}): {message}")]
    Throttled {
        /// `too_many_attempts` or `throttled`.
        code: String,
        /// The sentence for people.
        message: String,
        /// When the broker said to come back.
        retry_after: Option<Duration>,
    },
    /// 503 after the retry policy gave up (storage down, shutting down, pool elsewhere).
    #[error("broker unavailable ({code}): {message}")]
    Unavailable {
        /// `storage_unavailable`, `shutting_down` or `pool_owned_elsewhere`.
        code: String,
        /// The sentence for people.
        message: String,
        /// When the broker said to come back.
        retry_after: Option<Duration>,
    },
    /// Any other refusal of the API, with its stable code and its details.
    #[error("refused {status} {code}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The stable machine-readable code, such as `member_blocked`.
        code: String,
        /// The sentence for people.
        message: String,
        /// The fields beside `code` and `message` (`field`, `reason`, `seat_id`, ...).
        details: Map<String, Value>,
    },
    /// An answer that is not what the API promises (not JSON, not the error shape).
    #[error("unexpected answer {status}: {body}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A success answer whose JSON did not have the expected fields.
    #[error("cannot read the broker's answer: {0}")]
    Decode(#[from] serde_json::Error),
    /// The broker's URL is not a usable base URL.
    #[error("invalid broker URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A time that cannot be written as RFC 3339 (a year beyond 9999, an offset with seconds),
    /// or a time in an answer that is not RFC 3339.
    #[error("invalid time: {0}")]
    InvalidTime(String),
    /// The token is not a valid header value.
    #[error("the token contains characters not allowed in an HTTP header")]
    InvalidToken,
    /// The request could not be sent or its answer not read (connection, timeout, TLS).
    #[error("HTTP error: {0}")]
    Http(#[from] reqwest::Error),
}

impl Error {
    /// The API's error code, when the broker answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::NoSeatAvailable(_) => Some("no_seat_available"),
            Error::SeatGone { .. } => Some("seat_gone"),
            Error::Throttled { code, .. }
            | Error::Unavailable { code, .. }
            | Error::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the same request may succeed later without anything changing on the
    /// caller's side: 429, 503, and failures to reach the broker.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Unavailable { .. } => true,
            Error::Http(e) => is_transient_http(e),
            _ => false,
        }
    }

    /// The broker's `Retry-After`, for a 429 or a 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } | Error::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The error for a non-success answer with this status, `Retry-After` and body.
    pub(crate) fn from_answer(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
        let Ok(seatbroker_api::ErrorBody { error }) = serde_json::from_slice(body) else {
            return Error::UnexpectedResponse {
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            };
        };
        let seatbroker_api::ErrorObject {
            code,
            message,
            mut details,
        } = error;
        let code = code.into_owned();
        match (status, code.as_str()) {
            (_, "no_seat_available") => {
                details.insert("message".into(), Value::String(message.clone()));
                match serde_json::from_value::<NoSeatDetails>(Value::Object(details.clone())) {
                    Ok(d) => Error::NoSeatAvailable(Box::new(d)),
                    Err(_) => {
                        details.remove("message");
                        Error::Refused {
                            status,
                            code,
                            message,
                            details,
                        }
                    }
                }
            }
            (_, "seat_gone") => Error::SeatGone {
                reason: LossReason::from_code(
                    details
                        .get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown"),
                ),
            },
            (429, _) => Error::Throttled {
                code,
                message,
                retry_after,
            },
            (503, _) => Error::Unavailable {
                code,
                message,
                retry_after,
            },
            _ => Error::Refused {
                status,
                code,
                message,
                details,
            },
        }
    }
}

/// Whether a transport error may go away by itself: the broker could not be reached, the
/// request could not be sent, or the answer did not come in time.
pub(crate) fn is_transient_http(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request()
}

/// A required time of the wire type's `field`, parsed.
pub(crate) fn read_time(field: &str, raw: &str) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|e| Error::InvalidTime(format!("{field}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s12_no_seat_available_carries_its_details() {
        let body = br#"{"error": {"code": "no_seat_available", "message": "all 1 seats",
            "capacity": 1, "in_use": 1, "queue_position": null,
            "owner_contact": {"name": "Prof", "email": "prof@uni.edu"},
            "own_seats_elsewhere": [{"seat_id": "S-1", "pool_id": "P-1", "device_id": "d",
                "platform": "mac", "granted_at": "2026-01-01T00:00:00Z"}]}}"#;
        let Error::NoSeatAvailable(d) = Error::from_answer(409, None, body) else {
            panic!("no_seat_available");
        };
        assert_eq!((d.capacity, d.in_use, d.queue_position), (1, 1, None));
        assert_eq!(d.message, "all 1 seats");
        assert_eq!(d.own_seats_elsewhere[0].seat_id, "S-1");
        assert_eq!(
            d.owner_contact.map(|o| o.email).as_deref(),
            Some("prof@uni.edu")
        );
    }

    #[test]
    fn seat_gone_keeps_its_reason_and_other_codes_are_kept() {
        let gone = br#"{"error": {"code": "seat_gone", "message": "x", "reason": "revoked"}}"#;
        assert!(matches!(
            Error::from_answer(410, None, gone),
            Error::SeatGone {
                reason: LossReason::Revoked
            }
        ));
        let other = br#"{"error": {"code": "invalid_value", "message": "m", "field": "wait_s"}}"#;
        let err = Error::from_answer(422, None, other);
        assert_eq!(err.code(), Some("invalid_value"));
        let Error::Refused {
            status, details, ..
        } = err
        else {
            panic!("refused");
        };
        assert_eq!(status, 422);
        assert_eq!(details["field"], "wait_s");
    }

    #[test]
    fn throttled_and_unavailable_keep_retry_after_and_are_transient() {
        let body = br#"{"error": {"code": "throttled", "message": "busy"}}"#;
        let err = Error::from_answer(429, Some(Duration::from_secs(1)), body);
        assert!(err.is_transient());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
        let body = br#"{"error": {"code": "shutting_down", "message": "bye"}}"#;
        assert!(matches!(
            Error::from_answer(503, None, body),
            Error::Unavailable { .. }
        ));
        assert!(matches!(
            Error::from_answer(502, None, b"<html>bad gateway</html>"),
            Error::UnexpectedResponse { status: 502, .. }
        ));
    }
}
