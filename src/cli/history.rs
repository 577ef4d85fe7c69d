//! `seatbroker pool history POOL [--day DATE] [--json]`: a pool's grants and refusals of one
//! UTC day (issue 16, for support), one line each, through a running broker's operator API
//! (the operator token from the same settings as the broker's).

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
use crate::settings::Settings;

/// Which pool and day, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The pool (P-…).
    pub pool: String,
    /// The UTC day, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub day: Option<String>,
    /// Print the broker's JSON answer instead of lines.
    #[arg(long)]
    pub json: bool,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Prints the day's counts, then one line per grant or refusal: when, what, account (and
/// email), device fingerprint, platform, the seat or the refusal's code.
pub fn history(settings: &Settings, args: &HistoryArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let pool: String = form_urlencoded::byte_serialize(args.pool.trim().as_bytes()).collect();
    let mut request = reqwest::Client::new()
        .get(format!("{base}/v1/admin/pools/{pool}/history"))
        .bearer_auth(token.expose_secret());
    if let Some(day) = &args.day {
        request = request.query(&[("day", day)]);
    }
    match block_on(call_broker(request, &base)) {
        Ok(h) if args.json => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Ok(h) => {
            println!(
                "{} {}: {} granted, {} refused{}",
                h["pool_id"].as_str().unwrap_or("-"),
                h["day"].as_str().unwrap_or("-"),
                h["grants"],
                h["refusals"],
                if h["truncated"] == true {
                    " (more than 1,000 in an hour: the rest are counted only)"
                } else {
                    ""
                }
            );
            for e in h["events"].as_array().into_iter().flatten() {
                let what = e["seat_id"]
                    .as_str()
                    .or_else(|| e["code"].as_str())
                    .unwrap_or("-");
                let email = e["email"].as_str().unwrap_or("(deleted)");
                println!(
                    "{} {} {} {} {} {} {}",
                    e["at"].as_str().unwrap_or("-"),
                    e["kind"].as_str().unwrap_or("-"),
                    e["account_id"].as_str().unwrap_or("-"),
                    email,
                    e["device"].as_str().unwrap_or("-"),
                    e["platform"].as_str().unwrap_or("-"),
                    what
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
