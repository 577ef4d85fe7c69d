//! A pool's history of one UTC day (issue 16, for support and the pool's owner): every seat
//! granted and every request refused, with when, who (and the account's email while it
//! exists), the device's fingerprint and the platform, from the events the hourly usage
//! records carry (W4; kept `usage.retention_days`) and the ones the pool's actor has not
//! handed to the store yet. The day's counts come with them; past 1,000 events in an hour
//! only the counts grow, and the answer says it is truncated. Who may ask is the caller's
//! business.

use std::collections::{HashMap, HashSet};

use seatbroker_actors::time::DAY_MS;
use seatbroker_actors::{
    AccountId, EngineError, Platform, PoolEvent, PoolEventKind, PoolId, SeatId, Timestamp,
};

use super::{AppState, ServiceResult};
use crate::domain::device::fingerprint;

/// One grant or refusal, as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// When.
    pub at: Timestamp,
    /// Who asked.
    pub account: AccountId,
    /// The account's email; `None` when it was deleted since.
    pub email: Option<String>,
    /// The device's fingerprint.
    pub device: String,
    /// The platform.
    pub platform: Platform,
    /// The seat granted, or `None` for a refusal.
    pub seat: Option<SeatId>,
    /// The refusal's code, or `None` for a grant.
    pub code: Option<String>,
}

/// A pool's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The pool.
    pub pool: PoolId,
    /// The start of the day (UTC).
    pub day: Timestamp,
    /// Seats granted that day.
    pub grants: u32,
    /// Requests refused that day.
    pub refusals: u32,
    /// Grants and refusals, oldest first.
    pub events: Vec<HistoryEvent>,
    /// Some grants or refusals are counted but not listed.
    pub truncated: bool,
}

/// The history of `pool` on the UTC day holding `day`.
pub async fn of_day(state: &AppState, pool: PoolId, day: Timestamp) -> ServiceResult<History> {
    let start = day.day_start();
    let end = start.plus_millis(DAY_MS);
    // The live hour first: it answers once the hours that ended are in the store.
    let live = match state.engine.usage_now(pool).await {
        Ok(live) => Some(live).filter(|l| l.hour >= start && l.hour < end),
        Err(EngineError::PoolNotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let stored = state.store.usage(pool, start, end).await?;
    let (mut grants, mut refusals) = (0, 0);
    let mut events: Vec<PoolEvent> = Vec::new();
    for record in &stored {
        // The live record's counts are the hour's so far; the stored ones are older.
        if live.as_ref().is_none_or(|l| l.hour != record.hour) {
            grants += record.grants;
            refusals += record.refusals;
        }
        events.extend(record.events.iter().cloned());
    }
    if let Some(live) = live {
        grants += live.grants;
        refusals += live.refusals;
        events.extend(live.events);
    }
    events.sort_by_key(|e| e.at);
    // The live hour is read before the store: a record handed to the store in between is
    // in both (the same events, dropped here once).
    let mut seen = HashSet::new();
    events.retain(|e| seen.insert(e.clone()));
    let truncated = u64::from(grants) + u64::from(refusals) > events.len() as u64;
    let mut emails: HashMap<AccountId, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let email = match emails.get(&event.account) {
            Some(known) => known.clone(),
            None => {
                let found = state
                    .accounts
                    .account(event.account)
                    .await?
                    .map(|a| a.email);
                emails.insert(event.account, found.clone());
                found
            }
        };
        let (seat, code) = match event.kind {
            PoolEventKind::Granted { seat } => (Some(seat), None),
            PoolEventKind::Refused { code } => (None, Some(code)),
        };
        out.push(HistoryEvent {
            at: event.at,
            account: event.account,
            email,
            device: fingerprint(&event.device),
            platform: event.platform,
            seat,
            code,
        });
    }
    Ok(History {
        pool,
        day: start,
        grants,
        refusals,
        events: out,
        truncated,
    })
}
