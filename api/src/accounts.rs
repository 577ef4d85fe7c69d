//! Accounts and sessions: the account object, the answer of a login, and `GET /v1/me`.

use serde::{Deserialize, Serialize};

use crate::{Pool, Seat};

/// An account as the API shows it (also a pool's `owner`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Account {
    /// The account's id, `A-...`.
    pub id: String,
    /// The email as typed at registration.
    pub email: String,
    /// The display name.
    pub name: String,
}

/// The answer of `POST /v1/auth/login`: a bearer token and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Session {
    /// The bearer token for the later calls.
    pub token: String,
    /// The account logged in, `A-...`.
    pub account_id: String,
    /// When the token stops working (RFC 3339).
    pub expires_at: String,
}

/// The answer of `GET /v1/me`: the caller's own view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Me {
    /// The account.
    pub account: Account,
    /// Its own pool; null before its first activation or trial.
    pub own_pool: Option<Pool>,
    /// The pools shared with it.
    pub memberships: Vec<Pool>,
    /// Every seat it holds.
    pub seats: Vec<Seat>,
}
