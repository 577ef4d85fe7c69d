//! `seatbroker license issue`: issues a license through a running broker's operator API
//! (L7) and prints its key on standard output. The operator token comes from the same
//! settings as the broker's (`operator.token`: the `--config` file or
//! `SEATBROKER__OPERATOR__TOKEN`).

use std::process::ExitCode;

use serde_json::json;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
use crate::domain::time;
use crate::settings::Settings;

/// What to issue, from the command line.
#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    /// commercial, educational, government, student or semester.
    #[arg(long = "type", value_parser = ["commercial", "educational", "government", "student", "semester"])]
    pub kind: String,
    /// Seats (1 to 100,000; exactly 1 for student and semester).
    #[arg(long)]
    pub seats: u32,
    /// A date (the end of that day in UTC) or an RFC 3339 time; permanent when absent.
    #[arg(long)]
    pub expires: Option<String>,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// A date means the end of that day in UTC; a full RFC 3339 time is taken as it is.
pub fn expiry(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let is_date = raw.len() == 10
        && raw.as_bytes()[4] == b'-'
        && raw.as_bytes()[7] == b'-'
        && raw.chars().filter(char::is_ascii_digit).count() == 8;
    let full = if is_date {
        format!("{raw}T23:59:59Z")
    } else {
        raw.to_owned()
    };
    time::parse(&full).map(time::format).map_err(|_| {
        format!("--expires {raw:?}: use a date such as 2027-07-31 or an RFC 3339 time")
    })
}

/// Runs the command; prints the key, or says what went wrong.
pub fn issue(settings: &Settings, args: &IssueArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let expires_at = match args.expires.as_deref().map(expiry).transpose() {
        Ok(e) => e,
        Err(message) => {
            eprintln!("seatbroker: {message}");
            return ExitCode::from(2);
        }
    };
    let base = args.broker.base(settings);
    let url = format!("{base}/v1/operator/licenses");
    let mut body = json!({"type": args.kind, "seats": args.seats});
    if let Some(e) = expires_at {
        body["expires_at"] = json!(e);
    }
    let request = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.expose_secret())
        .json(&body);
    let outcome = block_on(call_broker(request, &base));
    match outcome {
        Ok(license) => {
            println!("{}", license["key"].as_str().unwrap_or_default());
            eprintln!(
                "issued {} ({} license, {} seats, expires {})",
                license["id"].as_str().unwrap_or_default(),
                license["type"].as_str().unwrap_or_default(),
                license["seats"],
                license["expires_at"].as_str().unwrap_or("never")
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l7_a_date_means_the_end_of_that_day_in_utc() {
        assert_eq!(expiry("2027-07-31"), Ok("2027-07-31T23:59:59Z".into()));
        assert_eq!(
            expiry("2027-07-31T12:00:00+02:00"),
            Ok("2027-07-31T10:00:00Z".into())
        );
        assert!(expiry("next year").is_err());
        assert!(expiry("2027-13-01").is_err());
    }
}
