//! `POST /v1/trials` (L6): a personal trial of one seat, valid 90 days with 5 active days
//! (counted by the pool's seat table). Refused to an account that holds a regular license, has
//! an active trial, or had one within `trials.cooldown_days`. A retry after a failure reuses
//! the trial license already issued, so an account never ends up with two.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use seatbroker_actors::{LicenseId, Timestamp};
use serde_json::json;

use super::activations::engine_license;
use super::auth::Authenticated;
use super::error::ApiError;
use super::operator::new_license;
use super::{pools, store_error, views, AppState};
use crate::domain::ids::pool_of;
use crate::domain::license::LicenseKind;
use crate::domain::time;
use crate::store::{LicenseRecord, TrialRecord};

/// Active days of a trial.
pub const TRIAL_DAYS: u8 = 5;
/// Calendar days a trial is valid.
pub const TRIAL_VALID_DAYS: u64 = 90;
const DAY_S: u64 = 86_400;

fn not_allowed(reason: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "trial_not_allowed", message).with("reason", reason)
}

/// L6: why an account may not start a trial now, if it may not: it holds a regular
/// license, its last trial still runs (valid and with days left), or that trial started
/// within the cooldown.
pub fn refusal(
    held: &[LicenseRecord],
    trials: &[TrialRecord],
    days_left: Option<u8>,
    now: Timestamp,
    cooldown_s: u64,
) -> Option<ApiError> {
    if held.iter().any(|l| l.kind != LicenseKind::Trial) {
        return Some(not_allowed(
            "licensed",
            "you hold a license; trials are for accounts without one",
        ));
    }
    let last = trials.last()?;
    if last.valid_until > now && days_left.is_some_and(|d| d > 0) {
        return Some(not_allowed("trial_active", "your trial is running"));
    }
    let next = last.started_at.plus_secs(cooldown_s);
    if now < next {
        return Some(
            not_allowed(
                "recent_trial",
                "you had a trial recently; activate a license to go on",
            )
            .with("next_trial_at", time::format(next)),
        );
    }
    None
}

/// The licenses that make up a pool of `kind`: a trial pool counts its trials, any other
/// pool its regular licenses (L5: a regular license ends the trial).
pub fn pool_licenses(held: &[LicenseRecord], kind: LicenseKind) -> Vec<LicenseRecord> {
    held.iter()
        .filter(|l| (l.kind == LicenseKind::Trial) == (kind == LicenseKind::Trial))
        .cloned()
        .collect()
}

/// POST /v1/trials: 201 `{license, pool, active_days_left, valid_until}`.
#[utoipa::path(
    post,
    path = "/v1/trials",
    tag = "licenses",
    responses(
        (status = 201, description = "{license, pool, active_days_left: 5, valid_until}"),
        (status = 409, description = "trial_not_allowed with reason: licensed, trial_active or recent_trial")
    ),
    security(("bearer" = []))
)]
pub async fn start(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _serialised = state.account_locks.lock(who.0).await;
    let account = who.0;
    let now = state.registry.now();
    let held = state
        .accounts
        .licenses_of(account)
        .await
        .map_err(store_error)?;
    let trials = state
        .accounts
        .trials_of(account)
        .await
        .map_err(store_error)?;
    let pool = pool_of(account);
    let days_left = match trials.last() {
        Some(_) => match state.registry.describe(pool).await {
            Ok(d) => d.trial.map(|t| t.days_left),
            Err(_) => None,
        },
        None => None,
    };
    let cooldown_s = u64::from(state.settings.trials.cooldown_days) * DAY_S;
    if let Some(refusal) = refusal(&held, &trials, days_left, now, cooldown_s) {
        return Err(refusal);
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
            new_license(&state, LicenseKind::Trial, 1, expires_at, Some(account)).await?
        }
    };
    if state
        .accounts
        .pool(pool)
        .await
        .map_err(store_error)?
        .is_none()
    {
        pools::create(&state, account, LicenseKind::Trial).await?;
    }
    let mut all = held.clone();
    if !all.iter().any(|l| l.id == license.id) {
        all.push(license.clone());
    }
    let live: Vec<_> = pool_licenses(&all, LicenseKind::Trial)
        .iter()
        .map(engine_license)
        .collect();
    state.registry.set_licenses(pool, live).await?;
    state.registry.start_trial(pool, TRIAL_DAYS).await?;
    let valid_until = license.expires_at.unwrap_or(now);
    state
        .accounts
        .add_trial(TrialRecord {
            account,
            license: license.id,
            started_at: now,
            valid_until,
        })
        .await
        .map_err(store_error)?;
    Ok(HttpResponse::Created().json(json!({
        "license": views::license(&license),
        "pool": pools::describe(&state, pool, account).await?,
        "active_days_left": TRIAL_DAYS,
        "valid_until": time::format(valid_until),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_actors::AccountId;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);
    const YEAR_S: u64 = 365 * DAY_S;

    fn license(kind: LicenseKind) -> LicenseRecord {
        LicenseRecord {
            id: LicenseId(1),
            key: 1,
            kind,
            seats: 1,
            expires_at: None,
            issued_at: NOW,
            activated_by: Some(AccountId(1)),
        }
    }

    fn trial(started_days_ago: u64) -> TrialRecord {
        let started_at = Timestamp(NOW.as_millis() - started_days_ago * DAY_S * 1_000);
        TrialRecord {
            account: AccountId(1),
            license: LicenseId(1),
            started_at,
            valid_until: started_at.plus_secs(TRIAL_VALID_DAYS * DAY_S),
        }
    }

    fn reason(err: Option<ApiError>) -> Option<String> {
        err.and_then(|e| {
            e.detail("reason")
                .and_then(|r| r.as_str().map(str::to_owned))
        })
    }

    #[test]
    fn l6_a_first_trial_is_allowed() {
        assert!(refusal(&[], &[], None, NOW, YEAR_S).is_none());
    }

    #[test]
    fn l6_holding_a_regular_license_refuses_licensed() {
        let held = [license(LicenseKind::Educational)];
        assert_eq!(
            reason(refusal(&held, &[], None, NOW, YEAR_S)).as_deref(),
            Some("licensed")
        );
    }

    #[test]
    fn l6_a_running_trial_refuses_trial_active() {
        let held = [license(LicenseKind::Trial)];
        assert_eq!(
            reason(refusal(&held, &[trial(10)], Some(3), NOW, YEAR_S)).as_deref(),
            Some("trial_active")
        );
    }

    #[test]
    fn l6_a_used_up_or_ended_trial_within_the_cooldown_refuses_recent_trial() {
        let used_up = refusal(&[], &[trial(10)], Some(0), NOW, YEAR_S);
        assert_eq!(reason(used_up).as_deref(), Some("recent_trial"));
        let ended = refusal(&[], &[trial(100)], None, NOW, YEAR_S);
        assert_eq!(reason(ended).as_deref(), Some("recent_trial"));
    }

    #[test]
    fn l6_after_the_cooldown_a_new_trial_is_allowed() {
        assert!(refusal(&[], &[trial(366)], Some(0), NOW, YEAR_S).is_none());
    }
}
