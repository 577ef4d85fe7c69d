//! `seatbroker account confirm-email ACCOUNT`: support confirms an account's email by hand
//! through a running broker's operator API (the operator token from the same settings as
//! the broker's), for a person whose confirmation mail never arrived.

use secrecy::ExposeSecret;
use std::process::ExitCode;

use crate::settings::Settings;

/// Runs the command: prints the confirmed account, or says what went wrong.
pub fn confirm_email(settings: &Settings, account: &str, url: Option<String>) -> ExitCode {
    let Some(token) = settings.operator.token.clone() else {
        eprintln!(
            "seatbroker: no operator token: set operator.token in the --config file or SEATBROKER__OPERATOR__TOKEN"
        );
        return ExitCode::from(2);
    };
    let base = url.unwrap_or_else(|| settings.server.public_url.clone());
    let path: String = form_urlencoded::byte_serialize(account.trim().as_bytes()).collect();
    let endpoint = format!(
        "{}/v1/admin/accounts/{path}/confirm-email",
        base.trim_end_matches('/')
    );
    let request = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token.expose_secret());
    match crate::cli::block_on(crate::cli::call_broker(request, &base)) {
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
