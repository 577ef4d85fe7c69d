//! Starting a trial (L6): a personal license of one seat, valid 90 days with 5 active days
//! (counted by the pool's seat table). The rules of who may start one are in
//! `domain::trial`. A retry after a failure reuses the trial license already issued, so an
//! account never ends up with two.

use seatbroker_actors::{AccountId, LicenseId, Timestamp};

use super::pools::{self, PoolDetails};
use super::{licenses, AppState, ServiceResult};
use crate::domain::ids::pool_of;
use crate::domain::license::LicenseKind;
use crate::domain::trial::{refusal, DAY_S, TRIAL_DAYS, TRIAL_VALID_DAYS};
use crate::store::{LicenseRecord, TrialRecord};

/// A trial just started.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The trial's license.
    pub license: LicenseRecord,
    /// The account's pool as its owner sees it now.
    pub pool: PoolDetails,
    /// Active days left (all of them).
    pub active_days_left: u8,
    /// The end of the 90 days.
    pub valid_until: Timestamp,
}

/// Starts a trial for `account`, holding the account's lock.
pub async fn start(state: &AppState, account: AccountId) -> ServiceResult<Trial> {
    let _serialised = state.account_locks.lock(account).await?;
    let now = state.registry.now();
    let held = state.accounts.licenses_of(account).await?;
    let trials = state.accounts.trials_of(account).await?;
    let pool = pool_of(account);
    let days_left = match trials.last() {
        Some(_) => match state.engine.describe(pool).await {
            Ok(d) => d.trial.map(|t| t.days_left),
            Err(_) => None,
        },
        None => None,
    };
    let cooldown_s = u64::from(state.settings.trials.cooldown_days) * DAY_S;
    if let Some(refused) = refusal(&held, &trials, days_left, now, cooldown_s) {
        return Err(refused.into());
    }
    // A trial license issued by an earlier attempt that did not finish is used again.
    let recorded: Vec<LicenseId> = trials.iter().map(|t| t.license).collect();
    let pending = held.iter().find(|l| {
        l.kind == LicenseKind::Trial
            && !recorded.contains(&l.id)
            && l.expires_at.is_some_and(|e| e > now)
    });
    let license = match pending {
        Some(l) => l.clone(),
        None => {
            let expires_at = Some(now.plus_secs(TRIAL_VALID_DAYS * DAY_S));
            licenses::issue(state, LicenseKind::Trial, 1, expires_at, Some(account)).await?
        }
    };
    if state.accounts.pool(pool).await?.is_none() {
        pools::create(state, account, LicenseKind::Trial).await?;
    }
    let mut all = held;
    if !all.iter().any(|l| l.id == license.id) {
        all.push(license.clone());
    }
    pools::tell_licenses(state, account, &all, LicenseKind::Trial).await?;
    state.engine.start_trial(pool, TRIAL_DAYS).await?;
    let valid_until = license.expires_at.unwrap_or(now);
    state
        .accounts
        .add_trial(TrialRecord {
            account,
            license: license.id,
            started_at: now,
            valid_until,
        })
        .await?;
    Ok(Trial {
        license,
        pool: pools::describe(state, pool, account).await?,
        active_days_left: TRIAL_DAYS,
        valid_until,
    })
}
