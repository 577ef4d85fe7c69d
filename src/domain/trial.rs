//! Trials (L6) without I/O: how long they last, and whether an account may start one now
//! given what it holds and the trials it had. The service reads the records and issues the
//! trial; the seat table counts its active days.

use seatbroker_actors::Timestamp;

use crate::domain::license::LicenseKind;
use crate::store::{LicenseRecord, TrialRecord};

/// Active days of a trial.
pub const TRIAL_DAYS: u8 = 5;
/// Calendar days a trial is valid.
pub const TRIAL_VALID_DAYS: u64 = 90;
/// Seconds in a day.
pub const DAY_S: u64 = 86_400;

/// Why an account may not start a trial (the `reason` of `trial_not_allowed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrialRefusal {
    /// It holds a regular license.
    #[error("you hold a license; trials are for accounts without one")]
    Licensed,
    /// Its trial still runs.
    #[error("your trial is running")]
    TrialActive,
    /// It had a trial within the cooldown; a new one may start at `next`.
    #[error("you had a trial recently; activate a license to go on")]
    RecentTrial {
        /// When a new trial becomes possible.
        next: Timestamp,
    },
}

impl TrialRefusal {
    /// The API's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            TrialRefusal::Licensed => "licensed",
            TrialRefusal::TrialActive => "trial_active",
            TrialRefusal::RecentTrial { .. } => "recent_trial",
        }
    }
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
) -> Option<TrialRefusal> {
    if held.iter().any(|l| l.kind != LicenseKind::Trial) {
        return Some(TrialRefusal::Licensed);
    }
    let last = trials.last()?;
    if last.valid_until > now && days_left.is_some_and(|d| d > 0) {
        return Some(TrialRefusal::TrialActive);
    }
    let next = last.started_at.plus_secs(cooldown_s);
    (now < next).then_some(TrialRefusal::RecentTrial { next })
}

/// The licenses that make up a pool of `kind`: a trial pool counts its trials, any other
/// pool its regular licenses (L5: a regular license ends the trial).
pub fn pool_licenses(held: &[LicenseRecord], kind: LicenseKind) -> Vec<LicenseRecord> {
    held.iter()
        .filter(|l| (l.kind == LicenseKind::Trial) == (kind == LicenseKind::Trial))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatbroker_actors::{AccountId, LicenseId};

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

    fn reason(refusal: Option<TrialRefusal>) -> Option<&'static str> {
        refusal.map(TrialRefusal::reason)
    }

    #[test]
    fn l6_a_first_trial_is_allowed() {
        assert!(refusal(&[], &[], None, NOW, YEAR_S).is_none());
    }

    #[test]
    fn l6_holding_a_regular_license_refuses_licensed() {
        let held = [license(LicenseKind::Educational)];
        assert_eq!(
            reason(refusal(&held, &[], None, NOW, YEAR_S)),
            Some("licensed")
        );
    }

    #[test]
    fn l6_a_running_trial_refuses_trial_active() {
        let held = [license(LicenseKind::Trial)];
        assert_eq!(
            reason(refusal(&held, &[trial(10)], Some(3), NOW, YEAR_S)),
            Some("trial_active")
        );
    }

    #[test]
    fn l6_a_used_up_or_ended_trial_within_the_cooldown_refuses_recent_trial() {
        let used_up = refusal(&[], &[trial(10)], Some(0), NOW, YEAR_S);
        assert_eq!(reason(used_up), Some("recent_trial"));
        let ended = refusal(&[], &[trial(100)], None, NOW, YEAR_S);
        assert_eq!(reason(ended), Some("recent_trial"));
    }

    #[test]
    fn l6_after_the_cooldown_a_new_trial_is_allowed() {
        assert!(refusal(&[], &[trial(366)], Some(0), NOW, YEAR_S).is_none());
    }

    #[test]
    fn l5_a_pool_counts_the_licenses_of_its_own_side_of_the_trial_line() {
        let held = [
            license(LicenseKind::Trial),
            license(LicenseKind::Educational),
        ];
        assert_eq!(
            pool_licenses(&held, LicenseKind::Educational)[..],
            held[1..]
        );
        assert_eq!(pool_licenses(&held, LicenseKind::Trial)[..], held[..1]);
    }
}
