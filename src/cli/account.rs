//! `seatbroker account confirm-email ACCOUNT`: support confirms an account's email by hand
//! through a running broker's operator API (the operator token from the same settings as
//! the broker's), for a person whose confirmation mail never arrived.

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, BrokerArgs};
use crate::settings::Settings;

/// Which account, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct ConfirmArgs {
    /// The account (A-3F9-C21).
    pub account: String,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Runs the command: prints the confirmed account, or says what went wrong.
pub fn confirm_email(settings: &Settings, args: &ConfirmArgs) -> ExitCode {
    let Some(token) = settings.operator.token.clone() else {
        eprintln!(
            "seatbroker: no operator token: set operator.token in the --config file or SEATBROKER__OPERATOR__TOKEN"
        );
        return ExitCode::from(2);
    };
    let base = args.broker.base(settings);
    let path: String = form_urlencoded::byte_serialize(args.account.trim().as_bytes()).collect();
    let endpoint = format!("{base}/v1/admin/accounts/{path}/confirm-email");
    let request = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token.expose_secret());
    match block_on(call_broker(request, &base)) {
        Ok(confirmed) => {
            println!(
                "{} {} <{}>: email confirmed",
                confirmed["id"].as_str().unwrap_or_default(),
                confirmed["name"].as_str().unwrap_or_default(),
                confirmed["email"].as_str().unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}
