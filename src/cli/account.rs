//! `seatbroker account confirm-email ACCOUNT` and `seatbroker account show ACCOUNT|EMAIL`:
//! support confirms an account's email by hand, for a person whose confirmation mail never
//! arrived, and looks an account up (licenses, pools, devices, seats), through a running
//! broker's operator API (the operator token from the same settings as the broker's).

use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;

use super::broker::{block_on, call_broker, operator_token, BrokerArgs};
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
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
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

/// Which account to show (an id or an email), and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// The account: its id (A-3F9-C21) or its email.
    pub account: String,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// `account show`: prints the account, its licenses, pools, devices and seats.
pub fn show(settings: &Settings, args: &ShowArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let path: String = form_urlencoded::byte_serialize(args.account.trim().as_bytes()).collect();
    let request = reqwest::Client::new()
        .get(format!("{base}/v1/admin/accounts/{path}"))
        .bearer_auth(token.expose_secret());
    match block_on(call_broker(request, &base)) {
        Ok(case) => {
            print!("{}", describe(&case));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}

/// The account's case as lines for a person.
fn describe(case: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let account = &case["account"];
    let mut out = format!(
        "{} {} <{}>, email {}, created {}\n",
        text(&account["id"]),
        text(&account["name"]),
        text(&account["email"]),
        if account["email_confirmed"] == true {
            "confirmed"
        } else {
            "NOT confirmed"
        },
        text(&case["created_at"]),
    );
    let list = |key: &str| case[key].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("licenses ({}):\n", list("licenses").len()));
    for l in list("licenses") {
        out.push_str(&format!(
            "  {} {} seats {} expires {}\n",
            text(&l["id"]),
            text(&l["type"]),
            l["seats"],
            l["expires_at"].as_str().unwrap_or("never")
        ));
    }
    out.push_str(&format!("pools ({}):\n", list("pools").len()));
    for p in list("pools") {
        out.push_str(&format!(
            "  {} {}{}\n",
            text(&p["pool_id"]),
            text(&p["role"]),
            p["status"]
                .as_str()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ));
    }
    out.push_str(&format!("devices ({}):\n", list("devices").len()));
    for d in list("devices") {
        out.push_str(&format!(
            "  {} {} seats {}\n",
            text(&d["device_id"]),
            text(&d["platform"]),
            d["seats"]
        ));
    }
    out.push_str(&format!("seats ({}):\n", list("seats").len()));
    for s in list("seats") {
        out.push_str(&format!(
            "  {} {} {} since {}{}\n",
            text(&s["seat_id"]),
            text(&s["device_id"]),
            text(&s["platform"]),
            text(&s["granted_at"]),
            if s["offline_file"] == true {
                " (offline license file)"
            } else {
                ""
            }
        ));
    }
    out
}

/// Which account's device to deregister, and where the broker is.
#[derive(Debug, Clone, Args)]
pub struct DeregisterArgs {
    /// The account: its id (A-3F9-C21) or its email.
    pub account: String,
    /// The device: its fingerprint as `account show` lists it (`3fa9-1c2b-77de`), or the id
    /// its application sends.
    pub device: String,
    /// The broker and the settings.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// `account deregister-device`: releases every seat of the account on that device.
pub fn deregister_device(settings: &Settings, args: &DeregisterArgs) -> ExitCode {
    let token = match operator_token(settings) {
        Ok(token) => token,
        Err(code) => return code,
    };
    let base = args.broker.base(settings);
    let segment =
        |raw: &str| -> String { form_urlencoded::byte_serialize(raw.trim().as_bytes()).collect() };
    let request = reqwest::Client::new()
        .post(format!(
            "{base}/v1/admin/accounts/{}/devices/{}/deregister",
            segment(&args.account),
            segment(&args.device)
        ))
        .bearer_auth(token.expose_secret());
    match block_on(call_broker(request, &base)) {
        Ok(done) => {
            println!(
                "{} seat(s) of {} on {} released",
                done["released"],
                args.account.trim(),
                args.device.trim()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("seatbroker: {message}");
            ExitCode::from(1)
        }
    }
}
