//! Issue 16, offline activation: the keyring that signs offline license files (read from the
//! store on each use, so every node signs with the same key right after a rotation on any of
//! them), its rotation, and accepting an offline request: the seat is taken for the device
//! named in the request and a license file signed for that request alone. The formats are
//! `seatbroker_api::offline`; the seat rules of an offline-file seat are the engine's.

use seatbroker_actors::{AccountId, DeviceId, Platform, PoolId, SeatView, Timestamp};
use seatbroker_api::offline::{key_id, OfflineLicense, OfflineRequest, MAX_REQUEST_AGE_MS};

use super::error::{ActivationRefusal, OfflineRequestError};
use super::{activations, random, seats, AppState, ServiceError, ServiceResult};
use crate::domain::codes::{ActivationCode, InviteCode};
use crate::domain::ids::{format_pool, format_seat, parse_pool, pool_of};
use crate::domain::offline::Keyring;
use crate::store::secrets::OFFLINE_KEYS;

/// The offline keyring: the stored one, or a new one stored now on first use.
pub async fn keyring(state: &AppState, now: Timestamp) -> ServiceResult<Keyring> {
    Ok(stored_keyring(state, now).await?.1)
}

/// The keyring with the bytes it is stored as (a rotation replaces exactly those).
async fn stored_keyring(state: &AppState, now: Timestamp) -> ServiceResult<(Vec<u8>, Keyring)> {
    let candidate = Keyring::new(random::<32>()?, now).encode();
    let stored = state.accounts.secret(OFFLINE_KEYS, candidate).await?;
    let ring =
        Keyring::decode(&stored).map_err(|_| ServiceError::Internal("offline keys unreadable"))?;
    Ok((stored, ring))
}

/// `seatbroker keys rotate`: a new current key signs from now on; the old one's public half
/// stays published, so license files it signed keep verifying. Answers the new keyring.
pub async fn rotate(state: &AppState, now: Timestamp) -> ServiceResult<Keyring> {
    for _ in 0..5 {
        let (stored, before) = stored_keyring(state, now).await?;
        let after = before.rotated(random::<32>()?, now);
        if state
            .accounts
            .replace_secret(OFFLINE_KEYS, stored, after.encode())
            .await?
        {
            tracing::info!(?after, "offline signing key rotated");
            let id = |ring: &Keyring| key_id(&ring.verifying_key());
            super::support::record(
                state,
                super::support::OPERATOR,
                "rotate_offline_key",
                "offline-keys".to_owned(),
                Some(serde_json::json!({ "key_id": id(&before) })),
                Some(serde_json::json!({ "key_id": id(&after), "retired": after.retired().len() })),
            )
            .await?;
            return Ok(after);
        }
    }
    // Five rotations by others in between: someone is rotating in a loop.
    Err(ServiceError::Internal("offline key rotation kept racing"))
}

/// An offline request accepted: the license file for the offline computer, and its seat.
#[derive(Debug, Clone)]
pub struct OfflineGrant {
    /// The pool the seat is in.
    pub pool: PoolId,
    /// The seat, now an offline-file seat.
    pub seat: SeatView,
    /// The signed license file's text (`SBOL1.`...).
    pub license: String,
    /// A file name for it, naming the device's platform and the seat.
    pub file_name: String,
    /// The device id as the request sent it (the seat keeps only its keyed hash).
    pub device_id: String,
}

/// Accepts the offline request `text` for `account` at `now` (`read_request`; at most
/// `limits.offline_per_account_per_hour` an hour, issue 18), takes (or
/// turns) the device's seat into an offline-file seat in the pool the request names (its
/// invite code joins the account first; neither: S8's order), and signs the license file
/// for this request alone. A repeated request gets the same seat and a fresh signature.
pub async fn accept(
    state: &AppState,
    account: AccountId,
    text: &str,
    now: Timestamp,
) -> ServiceResult<OfflineGrant> {
    super::within(state, state.limits.offline.check(&account))?;
    let request = read_request(text, now)?;
    // Issue 16, privacy: the seat keeps the device's keyed hash; the file names the sent id.
    let device = state.devices.hash(&device_of(&request)?);
    let platform = platform_of(&request)?;
    let pools = pools_to_try(state, account, &request).await?;
    let seats::Granted { pool, seat, .. } =
        seats::first_granted(state, account, &pools, |_, pool| {
            state
                .engine
                .take_offline_file(pool, account, device.clone(), platform)
        })
        .await?;
    let ring = keyring(state, now).await?;
    let key = ring.signing_key();
    let seat_id = format_seat(pool, seat.id);
    let license = OfflineLicense {
        v: 1,
        key_id: key_id(&key.verifying_key()),
        nonce: request.nonce.clone(),
        device_id: request.device_id.clone(),
        platform: request.platform,
        pool_id: format_pool(pool),
        seat_id: seat_id.clone(),
        account_id: account.to_string(),
        request_created_at_ms: request.created_at_ms,
        issued_at_ms: now.as_millis(),
    }
    .sign(&key);
    tracing::info!(%pool, seat = %seat_id, "offline license file issued");
    Ok(OfflineGrant {
        pool,
        file_name: format!("seatbroker-offline-{}-{seat_id}.sblic", platform.as_str()),
        seat,
        license,
        device_id: request.device_id,
    })
}

/// The pools an offline request may take its seat in: the one it names, the one its invite
/// code opens (joining it first, as an activation of the code does), or S8's order.
async fn pools_to_try(
    state: &AppState,
    account: AccountId,
    request: &OfflineRequest,
) -> ServiceResult<Vec<PoolId>> {
    if let Some(raw) = &request.invite_code {
        let code = InviteCode::parse(raw)
            .map_err(|_| ServiceError::invalid("request", "the invite code cannot be read"))?;
        return match activations::activate(state, account, ActivationCode::Invite(code)).await {
            Ok(activations::Activated::Membership { pool, .. }) => Ok(vec![pool.record.pool]),
            Ok(activations::Activated::License { pool, .. }) => Ok(vec![pool.record.pool]),
            // The owner's own code names the owner's own pool.
            Err(ServiceError::Activation(ActivationRefusal::OwnPool)) => Ok(vec![pool_of(account)]),
            Err(e) => Err(e),
        };
    }
    let named = match &request.pool {
        Some(raw) => {
            Some(parse_pool(raw).map_err(|_| ServiceError::invalid("request", "no such pool id"))?)
        }
        None => None,
    };
    seats::pools_for(state, account, named).await
}

/// Reads an offline request file's text as it was pasted or carried in a link, refusing one
/// more than 7 days old at `now`.
pub fn read_request(text: &str, now: Timestamp) -> Result<OfflineRequest, OfflineRequestError> {
    let request =
        OfflineRequest::decode(text).map_err(|e| OfflineRequestError::Unreadable(e.to_string()))?;
    if now.as_millis().saturating_sub(request.created_at_ms) > MAX_REQUEST_AGE_MS {
        return Err(OfflineRequestError::TooOld);
    }
    device_of(&request)?;
    platform_of(&request)?;
    Ok(request)
}

fn device_of(request: &OfflineRequest) -> Result<DeviceId, OfflineRequestError> {
    DeviceId::parse(&request.device_id)
        .map_err(|e| OfflineRequestError::Unreadable(format!("device_id: {e}")))
}

fn platform_of(request: &OfflineRequest) -> Result<Platform, OfflineRequestError> {
    match request.platform {
        seatbroker_api::Platform::Windows => Ok(Platform::Windows),
        seatbroker_api::Platform::Mac => Ok(Platform::Mac),
        seatbroker_api::Platform::Web => Err(OfflineRequestError::Unreadable(
            "web sessions cannot be used offline".into(),
        )),
    }
}
