//! Authentication: password hashing (A2), the A3 lockout, signed bearer tokens (A4) and their
//! revocation. Mechanisms only; `service::accounts` and the portal's sessions use them.

pub mod lockout;
pub mod password;
pub mod revocations;
pub mod secret;
pub mod token;
