//! The command line (clap): `seatbroker serve [--config FILE]`, `seatbroker license issue
//! --type T --seats N [--expires DATE] [--url URL] [--config FILE]`, `seatbroker account
//! confirm-email ACCOUNT [--url URL] [--config FILE]` and `seatbroker report
//! --pool P [--from ..] [--to ..] [--bucket hour|day] [--format table|csv|json] [--chart FILE]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::settings::Settings;
use crate::startup::Application;
use crate::telemetry;

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
    Serve {
        /// A settings file (TOML, the sections of config/default.toml); SEATBROKER__SECTION__KEY
        /// variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
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
    /// A pool's usage per hour or day (W4), through a running broker's API, as the pool's
    /// owner: a token in --token or SEATBROKER_TOKEN, or --email with SEATBROKER_PASSWORD.
    Report {
        /// The pool (P-3F9-C21).
        #[arg(long)]
        pool: String,
        /// First bucket: a date (its start, UTC) or an RFC 3339 time; the broker's default
        /// (30 days, or 24 hours for hours) when absent.
        #[arg(long)]
        from: Option<String>,
        /// End, excluded: a date or an RFC 3339 time; now when absent.
        #[arg(long)]
        to: Option<String>,
        /// Bucket size.
        #[arg(long, default_value = "day", value_parser = ["hour", "day"])]
        bucket: String,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
        format: String,
        /// Also draw peak seats in use against capacity into this SVG file.
        #[arg(long)]
        chart: Option<PathBuf>,
        /// The broker's URL (server.public_url by default).
        #[arg(long)]
        url: Option<String>,
        /// The owner's token (or SEATBROKER_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// The owner's email, to log in with the password in SEATBROKER_PASSWORD.
        #[arg(long)]
        email: Option<String>,
        /// A settings file, as for `serve`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The license commands.
#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Issue a license and print its key (needs the operator token in the settings).
    Issue {
        /// commercial, educational, government, student or semester.
        #[arg(long = "type", value_parser = ["commercial", "educational", "government", "student", "semester"])]
        kind: String,
        /// Seats (1 to 100,000; exactly 1 for student and semester).
        #[arg(long)]
        seats: u32,
        /// A date (the end of that day in UTC) or an RFC 3339 time; permanent when absent.
        #[arg(long)]
        expires: Option<String>,
        /// The broker's URL (server.public_url by default).
        #[arg(long)]
        url: Option<String>,
        /// A settings file, as for `serve`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The account commands (support).
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Confirm an account's email by hand (needs the operator token in the settings).
    ConfirmEmail {
        /// The account (A-3F9-C21).
        account: String,
        /// The broker's URL (server.public_url by default).
        #[arg(long)]
        url: Option<String>,
        /// A settings file, as for `serve`.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs the command line; the exit code is 0 on success, 2 for a bad setting, 1 otherwise.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::License {
            command:
                LicenseCommand::Issue {
                    kind,
                    seats,
                    expires,
                    url,
                    config,
                },
        } => with_settings(config, |settings| {
            crate::license_cli::issue(
                settings,
                crate::license_cli::IssueArgs {
                    kind,
                    seats,
                    expires,
                    url,
                },
            )
        }),
        Command::Account {
            command:
                AccountCommand::ConfirmEmail {
                    account,
                    url,
                    config,
                },
        } => with_settings(config, |settings| {
            crate::account_cli::confirm_email(settings, &account, url)
        }),
        Command::Report {
            pool,
            from,
            to,
            bucket,
            format,
            chart,
            url,
            token,
            email,
            config,
        } => with_settings(config, |settings| {
            crate::report_cli::report(
                settings,
                crate::report_cli::ReportArgs {
                    pool,
                    from,
                    to,
                    bucket,
                    format,
                    chart,
                    url,
                    token,
                    email,
                },
            )
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

/// Runs a command's calls to a running broker on a runtime of its own; what they answer, or
/// why not.
pub(crate) fn block_on<T>(
    calls: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime for the broker's calls: {e}"))?
        .block_on(calls)
}

/// Sends a request of a command (`license issue`, `account`, `report`) to a running broker: its JSON
/// answer, or a sentence saying why there is none (unreachable, or the API's error code).
pub(crate) async fn call_broker(
    request: reqwest::RequestBuilder,
    base: &str,
) -> Result<serde_json::Value, String> {
    let res = request
        .send()
        .await
        .map_err(|e| format!("cannot reach the broker at {base}: {e}"))?;
    let status = res.status();
    let answer: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        Ok(answer)
    } else {
        Err(format!(
            "the broker refused ({status}): {} {}",
            answer["error"]["code"].as_str().unwrap_or("?"),
            answer["error"]["message"].as_str().unwrap_or("")
        ))
    }
}
