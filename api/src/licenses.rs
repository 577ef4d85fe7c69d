//! Licenses, activations and trials: the license object and the answers of
//! `POST /v1/activations` and `POST /v1/trials`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::Pool;

/// A license object (`POST /v1/operator/licenses`, and inside activations, trials and pools).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct License {
    /// The license's id, `L-...`.
    pub id: String,
    /// The key to activate it with, `R-...`.
    pub key: String,
    /// Its type: `commercial`, `educational`, `government`, `student`, `semester` or `trial`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schema", schema(value_type = String))]
    pub kind: Cow<'static, str>,
    /// Its concurrent seats.
    pub seats: u32,
    /// Its end (RFC 3339); null when permanent.
    pub expires_at: Option<String>,
}

/// What an activation code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ActivationKind {
    /// A license key, activated into the account's own pool.
    License,
    /// An invite code: the account joined the pool.
    Membership,
}

impl ActivationKind {
    /// The API's name: `license` or `membership`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivationKind::License => "license",
            ActivationKind::Membership => "membership",
        }
    }
}

/// The answer of `POST /v1/activations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Activation {
    /// `license` (a key was activated) or `membership` (an invite code was used).
    pub kind: ActivationKind,
    /// The license activated, for `kind: license`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    /// The pool: the account's own, or the one joined.
    pub pool: Pool,
    /// `already_active` when the activation was repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schema(value_type = Option<String>))]
    pub warning: Option<Cow<'static, str>>,
}

/// The answer of `POST /v1/trials` (L6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Trial {
    /// The trial's license.
    pub license: License,
    /// The account's pool.
    pub pool: Pool,
    /// Active days left: 5 at the start.
    pub active_days_left: u8,
    /// The end of the trial's calendar period (RFC 3339).
    pub valid_until: String,
}
