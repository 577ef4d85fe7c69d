//! Issuing licenses (L7, and trials for L6): a fresh id and key, drawn again while taken.
//! The operator's checks of what may be issued are made where the request is read.

use seatbroker_actors::{AccountId, LicenseId, Timestamp};

use super::{random, AppState, ServiceError, ServiceResult};
use crate::domain::codes::LicenseKey;
use crate::domain::license::LicenseKind;
use crate::store::{CreateLicenseError, LicenseRecord};

/// How often a fresh id and key are drawn when the ones drawn are taken.
const DRAWS: usize = 16;

/// Stores a license with a fresh id and key, held by `holder` from the start when given
/// (a trial).
pub async fn issue(
    state: &AppState,
    kind: LicenseKind,
    seats: u32,
    expires_at: Option<Timestamp>,
    holder: Option<AccountId>,
) -> ServiceResult<LicenseRecord> {
    for _ in 0..DRAWS {
        let record = LicenseRecord {
            id: LicenseId(u32::from_le_bytes(random()?) & 0xFF_FFFF),
            key: LicenseKey::from_bits(u128::from_le_bytes(random()?)).bits(),
            kind,
            seats,
            expires_at,
            issued_at: state.registry.now(),
            activated_by: holder,
        };
        match state.accounts.create_license(record.clone()).await {
            Ok(()) => return Ok(record),
            Err(CreateLicenseError::Taken) => continue,
            Err(CreateLicenseError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Internal(
        "no free license id after many draws",
    ))
}
