//! Support (issue 16): what the support desk looks up about a person, found by account id
//! or by email (the account, the licenses it holds, the pools it owns or belongs to with a
//! member's standing, every seat it holds and the devices behind them); the repairs it
//! makes (a lost laptop's device deregistered, an email confirmed by hand), each written to
//! the append-only audit log with who, what, when, and the state before and after; and
//! reading that log.

use crate::domain::device::{as_fingerprint, fingerprint, names};
use seatbroker_actors::{
    AccountId, DeviceId, EngineError, PoolId, SeatError, SeatId, SeatView, Timestamp,
};
use serde_json::{json, Value};

use super::{accounts, me, AppState, ServiceError, ServiceResult};
use crate::domain::ids::{format_seat, parse_account, pool_of};
use crate::store::{AccountRecord, AuditEntry, LicenseRecord, MemberStatus};

/// Who acts in the audit log when the operator token was used.
pub const OPERATOR: &str = "operator";

/// Writes one support action to the audit log.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: String,
    before: Option<Value>,
    after: Option<Value>,
) -> ServiceResult<()> {
    let entry = AuditEntry {
        at: state.registry.now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target,
        before: before.map(|v| v.to_string()),
        after: after.map(|v| v.to_string()),
    };
    state.accounts.append_audit(entry).await?;
    Ok(())
}

/// The audit log from `since` on (all of it when `None`), oldest first, at most `limit`.
pub async fn log(
    state: &AppState,
    since: Option<Timestamp>,
    limit: usize,
) -> ServiceResult<Vec<AuditEntry>> {
    let mut entries = state.accounts.audit(since, limit).await?;
    for entry in &mut entries {
        hide_sent_device_ids(state, entry);
    }
    Ok(entries)
}

/// Entries an earlier version wrote when deregistering a device named it as support typed
/// it (possibly the id its application sends); they are read with the device's fingerprint
/// in its place, as newer entries are written (the log itself is never changed).
fn hide_sent_device_ids(state: &AppState, entry: &mut AuditEntry) {
    if entry.action != "deregister_device" {
        return;
    }
    let shown = |typed: &str| -> String {
        match (as_fingerprint(typed), DeviceId::parse(typed)) {
            (Some(print), _) => print,
            (None, Ok(sent)) => fingerprint(&state.devices.hash(&sent)),
            (None, Err(_)) => "-".to_owned(),
        }
    };
    if let Some((account, device)) = entry.target.split_once(' ') {
        entry.target = format!("{account} {}", shown(device));
    }
    let Some(before) = &entry.before else {
        return;
    };
    let Ok(mut value) = serde_json::from_str::<Value>(before) else {
        return;
    };
    if let Some(seats) = value["seats"].as_array_mut() {
        for seat in seats {
            if let Some(device) = seat["device_id"].as_str() {
                seat["device_id"] = Value::from(shown(device));
            }
        }
    }
    entry.before = Some(value.to_string());
}

/// A seat as the audit log keeps it.
fn seat_json(pool: PoolId, seat: &SeatView) -> Value {
    json!({
        "seat_id": format_seat(pool, seat.id),
        "device_id": fingerprint(&seat.device),
        "platform": seat.platform.as_str(),
        "offline_file": seat.offline_file,
    })
}

/// A lost laptop: releases every seat the account holds on `device` (its fingerprint as
/// support sees it, or the id the application sent; any platform, offline license files
/// included), as the owner's forced release does (W3: the holder hears `revoked`), and
/// records it with the device's fingerprint. Answers the seats released.
pub async fn deregister_device(
    state: &AppState,
    actor: &str,
    who: &str,
    device: &str,
) -> ServiceResult<Vec<(PoolId, SeatView)>> {
    let account = find(state, who).await?;
    let sent = DeviceId::parse(device)
        .map_err(|e| ServiceError::invalid("device", format!("device: {e}")))?;
    let hashed = state.devices.hash(&sent);
    let on_device: Vec<(PoolId, SeatView)> = me::seats(state, account.id)
        .await?
        .into_iter()
        .filter(|(_, seat)| seat.device == hashed || names(device, &seat.device))
        .collect();
    // The audit log names the device by its fingerprint, never by what was typed.
    let print = match on_device.first() {
        Some((_, seat)) => fingerprint(&seat.device),
        None => as_fingerprint(device).unwrap_or_else(|| fingerprint(&hashed)),
    };
    let mut released = Vec::with_capacity(on_device.len());
    for (pool, seat) in on_device {
        if force_release(state, pool, seat.id).await? {
            released.push((pool, seat));
        }
    }
    let before: Vec<Value> = released.iter().map(|(p, s)| seat_json(*p, s)).collect();
    record(
        state,
        actor,
        "deregister_device",
        format!("{} {print}", account.id),
        Some(json!({ "seats": before })),
        Some(json!({ "seats": [] })),
    )
    .await?;
    Ok(released)
}

/// Releases a seat as its pool's owner or an operator would (W3: the holder hears
/// `revoked`); false when it was gone meanwhile, with nothing left to release.
pub(crate) async fn force_release(
    state: &AppState,
    pool: PoolId,
    seat: SeatId,
) -> ServiceResult<bool> {
    match state.engine.admin_release(pool, seat).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(SeatError::NotFound | SeatError::Gone(_))) | Err(EngineError::PoolNotFound) => {
            Ok(false)
        }
        Ok(Err(e)) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
}

/// Confirms an account's email by hand, and records it.
pub async fn confirm_email(
    state: &AppState,
    actor: &str,
    account: AccountId,
) -> ServiceResult<AccountRecord> {
    let before = state
        .accounts
        .account(account)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    let after = accounts::confirm_email(state, account).await?;
    record(
        state,
        actor,
        "confirm_email",
        account.to_string(),
        Some(json!({ "email_confirmed": before.email_confirmed })),
        Some(json!({ "email_confirmed": after.email_confirmed })),
    )
    .await?;
    Ok(after)
}

/// One pool of the account as support sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRole {
    /// The pool.
    pub pool: PoolId,
    /// Whether the account owns it (else it is a member).
    pub owner: bool,
    /// A member's standing; `None` for the owner.
    pub status: Option<MemberStatus>,
}

/// Everything support sees of an account.
#[derive(Debug, Clone)]
pub struct AccountCase {
    /// The account.
    pub account: AccountRecord,
    /// The licenses it holds, by id.
    pub licenses: Vec<LicenseRecord>,
    /// Its own pool first, then the pools it joined, in join order.
    pub pools: Vec<PoolRole>,
    /// Its seats, with the pool of each.
    pub seats: Vec<(PoolId, SeatView)>,
}

/// The account `who` names: an account id (`A-3F9-C21`) or an email (case-insensitive).
pub async fn find(state: &AppState, who: &str) -> ServiceResult<AccountRecord> {
    let found = if who.contains('@') {
        accounts::by_email(state, who).await?
    } else {
        let id = parse_account(who.trim()).map_err(|_| ServiceError::NotFound("account"))?;
        state.accounts.account(id).await?
    };
    found.ok_or(ServiceError::NotFound("account"))
}

/// The case of the account `who` names.
pub async fn case(state: &AppState, who: &str) -> ServiceResult<AccountCase> {
    let account = find(state, who).await?;
    let id: AccountId = account.id;
    let licenses = state.accounts.licenses_of(id).await?;
    let mut pools = Vec::new();
    if state.accounts.pool(pool_of(id)).await?.is_some() {
        pools.push(PoolRole {
            pool: pool_of(id),
            owner: true,
            status: None,
        });
    }
    for m in state.accounts.memberships_of(id).await? {
        pools.push(PoolRole {
            pool: m.pool,
            owner: false,
            status: Some(m.status),
        });
    }
    let seats = me::seats(state, id).await?;
    Ok(AccountCase {
        account,
        licenses,
        pools,
        seats,
    })
}
