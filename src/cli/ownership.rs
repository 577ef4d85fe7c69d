//! `seatbroker account transfer FROM --to TO [--license KEY]` and `seatbroker account delete
//! ACCOUNT [--transfer-to TO]`: support moves licenses (one, or an account's whole pool with
//! its members) to another account, and deletes accounts, through a running broker's
//! operator API (the operator token from the same settings as the broker's).

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
use crate::settings::Settings;

/// What to move, from whom to whom, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// The account giving: its id (A-3F9-C21) or its email.
    pub account: String,
    /// The account taking: its id or its email.
    #[arg(long)]
    pub to: String,
    /// Only this license (its key, R-…); without it every license moves, with the pool's
    /// members.
    #[arg(long)]
    pub license: Option<String>,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Which account to delete, who takes its licenses, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    /// The account: its id (A-3F9-C21) or its email.
    pub account: String,
    /// The account that takes its licenses and its pool's members (id or email); an
    /// account holding licenses is not deleted without it.
    #[arg(long)]
    pub transfer_to: Option<String>,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// A path segment or query value, percent-encoded.
fn encoded(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.trim().as_bytes()).collect()
}

/// `account transfer`: prints what moved.
pub fn transfer(settings: &Settings, args: &TransferArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let body = serde_json::json!({ "to": args.to.trim(), "license": args.license });
    let request = reqwest::Client::new()
        .post(format!(
            "{base}/v1/admin/accounts/{}/transfer",
            encoded(&args.account)
        ))
        .bearer_auth(token.expose_secret())
        .json(&body);
    match block_on(call_broker(request, &base)) {
        Ok(done) => {
            let keys: Vec<&str> = done["licenses"]
                .as_array()
                .map(|ls| ls.iter().filter_map(|l| l["key"].as_str()).collect())
                .unwrap_or_default();
            println!(
                "{} license(s) moved from {} to {}: {}; {} member(s) moved",
                keys.len(),
                done["from"].as_str().unwrap_or_default(),
                done["to"].as_str().unwrap_or_default(),
                keys.join(", "),
                done["members_moved"]
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}

/// `account delete`: prints what went.
pub fn delete(settings: &Settings, args: &DeleteArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let mut endpoint = format!("{base}/v1/admin/accounts/{}", encoded(&args.account));
    if let Some(taker) = &args.transfer_to {
        endpoint.push_str(&format!("?transfer_to={}", encoded(taker)));
    }
    let request = reqwest::Client::new()
        .delete(endpoint)
        .bearer_auth(token.expose_secret());
    match block_on(call_broker(request, &base)) {
        Ok(done) => {
            let moved = match done["transferred"]["to"].as_str() {
                Some(to) => format!("; its licenses went to {to}"),
                None => String::new(),
            };
            println!(
                "{} deleted: {} seat(s) released, {} membership(s) ended{moved}",
                done["account_id"].as_str().unwrap_or_default(),
                done["seats_released"],
                done["memberships_ended"]
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}
