//! `seatbroker audit [--since TIME] [--limit N]`: the support actions of the append-only
//! audit log (who, what, when, before and after), oldest first, through a running broker's
//! operator API (the operator token from the same settings as the broker's).

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
use crate::settings::Settings;

/// Which entries, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Entries at or after this time (RFC 3339, e.g. 2026-12-04T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many entries (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Prints one line per entry: when, who, what, to what, before → after.
pub fn audit(settings: &Settings, args: &AuditArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let mut query = vec![("limit", args.limit.to_string())];
    if let Some(since) = &args.since {
        query.push(("since", since.clone()));
    }
    let request = reqwest::Client::new()
        .get(format!("{base}/v1/admin/audit"))
        .query(&query)
        .bearer_auth(token.expose_secret());
    match block_on(call_broker(request, &base)) {
        Ok(log) => {
            for e in log["entries"].as_array().into_iter().flatten() {
                println!(
                    "{} {} {} {} {} -> {}",
                    e["at"].as_str().unwrap_or("-"),
                    e["actor"].as_str().unwrap_or("-"),
                    e["action"].as_str().unwrap_or("-"),
                    e["target"].as_str().unwrap_or("-"),
                    e["before"],
                    e["after"]
                );
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}
