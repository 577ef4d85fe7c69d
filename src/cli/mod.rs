//! The command line (clap): `seatbroker serve [--config FILE]`, `seatbroker license issue
//! --type T --seats N [--expires DATE] [--url URL] [--config FILE]`, `seatbroker account
//! confirm-email|show ACCOUNT|deregister-device ACCOUNT DEVICE [--url URL] [--config FILE]`,
//! `seatbroker audit [--since TIME] [--limit N]`, `seatbroker keys show|rotate [--url URL]
//! [--config FILE]` and `seatbroker report
//! --pool P [--from ..] [--to ..] [--bucket hour|day] [--format table|csv|json] [--chart FILE]`.
//! Each command's arguments and work are in its own file; `broker.rs` is how they reach a
//! running broker.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use broker::ConfigArg;

use crate::settings::Settings;
use crate::startup::Application;
use crate::telemetry;

pub mod account;
pub mod audit;
pub mod broker;
pub mod history;
pub mod keys;
pub mod license;
pub mod ownership;
pub mod report;

/// seatbroker: concurrent license seats for pooled licenses.
#[derive(Debug, Parser)]
#[command(name = "seatbroker", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the broker (defaults: 127.0.0.1:8080, data under ./data).
    Serve(ConfigArg),
    /// Licenses, through a running broker's operator API.
    License {
        /// What to do with licenses.
        #[command(subcommand)]
        command: LicenseCommand,
    },
    /// Accounts, through a running broker's operator API (support).
    Account {
        /// What to do with an account.
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// The support actions of the audit log, oldest first, through a running broker's
    /// operator API.
    Audit(audit::AuditArgs),
    /// The keys that sign offline license files, through a running broker.
    Keys {
        /// What to do with the keys.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Pools, through a running broker's operator API (support).
    Pool {
        /// What to read of a pool.
        #[command(subcommand)]
        command: PoolCommand,
    },
    /// A pool's usage per hour or day (W4), through a running broker's API, as the pool's
    /// owner: a token in --token or SEATBROKER_TOKEN, or --email with SEATBROKER_PASSWORD.
    Report(report::ReportArgs),
}

/// The license commands.
#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Issue a license and print its key (needs the operator token in the settings).
    Issue(license::IssueArgs),
}

/// The account commands (support).
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Confirm an account's email by hand (needs the operator token in the settings).
    ConfirmEmail(account::ConfirmArgs),
    /// Show an account found by id or email: its licenses, pools, devices and seats
    /// (needs the operator token in the settings).
    Show(account::ShowArgs),
    /// Release every seat of an account on one device, a lost laptop's (offline license
    /// files included; needs the operator token in the settings).
    DeregisterDevice(account::DeregisterArgs),
    /// Move licenses to another account: one (--license), or all of them with the pool's
    /// members; capacity moves with them (needs the operator token in the settings).
    Transfer(ownership::TransferArgs),
    /// Delete an account: its seats released, memberships ended, email free again; refused
    /// while it holds licenses unless --transfer-to takes them (needs the operator token).
    Delete(ownership::DeleteArgs),
}

/// The pool commands (support).
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// A pool's grants and refusals of one UTC day, one line each: when, who, the device's
    /// fingerprint, the seat or why it was refused (needs the operator token).
    History(history::HistoryArgs),
}

/// The offline signing key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the public key that verifies offline license files (give it to the client
    /// library), and the retired keys whose files still verify.
    Show(keys::KeysArgs),
    /// Sign offline license files with a new key from now on; files signed by the old key
    /// keep verifying (needs the operator token in the settings).
    Rotate(keys::KeysArgs),
}

/// Runs the command line; the exit code is 0 on success, 2 for a bad setting, 1 otherwise.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => serve(config.config),
        Command::License {
            command: LicenseCommand::Issue(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            license::issue(settings, &args)
        }),
        Command::Account {
            command: AccountCommand::ConfirmEmail(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            account::confirm_email(settings, &args)
        }),
        Command::Account {
            command: AccountCommand::Show(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            account::show(settings, &args)
        }),
        Command::Account {
            command: AccountCommand::DeregisterDevice(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            account::deregister_device(settings, &args)
        }),
        Command::Account {
            command: AccountCommand::Transfer(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            ownership::transfer(settings, &args)
        }),
        Command::Account {
            command: AccountCommand::Delete(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            ownership::delete(settings, &args)
        }),
        Command::Pool {
            command: PoolCommand::History(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            history::history(settings, &args)
        }),
        Command::Audit(args) => with_settings(args.broker.config.config.clone(), |settings| {
            audit::audit(settings, &args)
        }),
        Command::Keys {
            command: KeysCommand::Show(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            keys::show(settings, &args)
        }),
        Command::Keys {
            command: KeysCommand::Rotate(args),
        } => with_settings(args.broker.config.config.clone(), |settings| {
            keys::rotate(settings, &args)
        }),
        Command::Report(args) => with_settings(args.broker.config.config.clone(), |settings| {
            report::report(settings, &args)
        }),
    }
}

/// Runs a command with the settings, or exits 2 naming the bad one.
fn with_settings(config: Option<PathBuf>, command: impl FnOnce(&Settings) -> ExitCode) -> ExitCode {
    match Settings::load(config.as_deref()) {
        Ok(settings) => command(&settings),
        Err(err) => {
            eprintln!("seatbroker: {err}");
            ExitCode::from(2)
        }
    }
}

fn serve(config: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("seatbroker: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let system = actix_rt::System::new();
    let outcome = system.block_on(async move {
        let listen = settings.server.listen.clone();
        let app = Application::build(settings).await?;
        app.run_until_signal()
            .await
            .map_err(|e| crate::startup::StartupError::Bind {
                addr: listen,
                source: e,
            })
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(crate::startup::StartupError::Settings(err)) => {
            eprintln!("seatbroker: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("seatbroker: {err}");
            ExitCode::from(1)
        }
    }
}
