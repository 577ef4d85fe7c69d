//! `seatbroker keys show` and `seatbroker keys rotate`: the Ed25519 keys that sign offline
//! license files (issue 16), through a running broker. `show` prints the current public key,
//! which applications give the client library as a setting, and the retired ones whose files
//! still verify; `rotate` (the operator token from the same settings as the broker's) makes a
//! new key sign from now on and keeps the old public key published.

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
use crate::settings::Settings;

/// Where the broker is.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Prints the keys as `GET /v1/offline/public-key` (or a rotation) answers them.
fn print_keys(keys: &serde_json::Value) {
    println!(
        "current  {} {} {}",
        keys["algorithm"].as_str().unwrap_or("ed25519"),
        keys["key_id"].as_str().unwrap_or_default(),
        keys["public_key"].as_str().unwrap_or_default()
    );
    for retired in keys["retired"].as_array().into_iter().flatten() {
        println!(
            "retired  {} {} {}",
            keys["algorithm"].as_str().unwrap_or("ed25519"),
            retired["key_id"].as_str().unwrap_or_default(),
            retired["public_key"].as_str().unwrap_or_default()
        );
    }
}

/// `keys show`: prints the current public key and the retired ones.
pub fn show(settings: &Settings, args: &KeysArgs) -> ExitCode {
    let base = args.broker.base(settings);
    let request = reqwest::Client::new().get(format!("{base}/v1/offline/public-key"));
    finish(block_on(call_broker(request, &base)))
}

/// `keys rotate`: a new signing key; prints the keys after the rotation.
pub fn rotate(settings: &Settings, args: &KeysArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let request = reqwest::Client::new()
        .post(format!("{base}/v1/admin/offline-keys/rotate"))
        .bearer_auth(token.expose_secret());
    finish(block_on(call_broker(request, &base)))
}

fn finish(answer: Result<serde_json::Value, String>) -> ExitCode {
    match answer {
        Ok(keys) => {
            print_keys(&keys);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}
