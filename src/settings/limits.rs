//! `[limits]`: issue 18's rate limits, as counts per hour (0: not limited). Their meaning and
//! defaults are documented in `config/default.toml`; how they are counted is `crate::limits`'s
//! business.

use serde::Deserialize;

use super::{invalid, SettingsError};

/// The largest count per hour a limit may have.
const MOST_PER_HOUR: u32 = 1_000_000;

/// `[limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// Sign-ins per client address an hour.
    pub login_per_address_per_hour: u32,
    /// Accounts created per client address an hour.
    pub accounts_per_address_per_hour: u32,
    /// Confirmation and reset emails asked for per client address an hour.
    pub emails_per_address_per_hour: u32,
    /// Confirmation and reset emails sent per account an hour.
    pub emails_per_account_per_hour: u32,
    /// Failed activations per account before its activations are refused for an hour.
    pub activation_failures_per_account_per_hour: u32,
    /// Offline requests per account an hour.
    pub offline_per_account_per_hour: u32,
}

impl LimitsSettings {
    /// Every limit off (tests that count something else).
    #[cfg(test)]
    pub fn off() -> Self {
        LimitsSettings {
            login_per_address_per_hour: 0,
            accounts_per_address_per_hour: 0,
            emails_per_address_per_hour: 0,
            emails_per_account_per_hour: 0,
            activation_failures_per_account_per_hour: 0,
            offline_per_account_per_hour: 0,
        }
    }

    /// Each count is 0 to a million.
    pub(super) fn check(&self) -> Result<(), SettingsError> {
        let counts = [
            (
                "limits.login_per_address_per_hour",
                self.login_per_address_per_hour,
            ),
            (
                "limits.accounts_per_address_per_hour",
                self.accounts_per_address_per_hour,
            ),
            (
                "limits.emails_per_address_per_hour",
                self.emails_per_address_per_hour,
            ),
            (
                "limits.emails_per_account_per_hour",
                self.emails_per_account_per_hour,
            ),
            (
                "limits.activation_failures_per_account_per_hour",
                self.activation_failures_per_account_per_hour,
            ),
            (
                "limits.offline_per_account_per_hour",
                self.offline_per_account_per_hour,
            ),
        ];
        for (key, count) in counts {
            if count > MOST_PER_HOUR {
                return Err(invalid(key, "must be 0 (not limited) to 1000000 an hour"));
            }
        }
        Ok(())
    }
}
