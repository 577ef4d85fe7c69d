//! How a command (`license issue`, `account`, `report`) talks to a running broker: on a
//! runtime of its own, answering the broker's JSON or a sentence saying why there is none;
//! and the arguments every such command takes (`--url`, `--config`).

use std::path::PathBuf;

use clap::Args;

use crate::settings::Settings;

/// The settings file a command reads, as for `serve`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// A settings file (TOML, the sections of config/default.toml); SEATBROKER__SECTION__KEY
    /// variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Where a command finds a running broker, and the settings it reads.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// The broker's URL (server.public_url by default).
    #[arg(long)]
    pub url: Option<String>,
    /// The settings.
    #[command(flatten)]
    pub config: ConfigArg,
}

impl BrokerArgs {
    /// The broker's URL: `--url`, else `server.public_url`, without a trailing slash.
    pub fn base(&self, settings: &Settings) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| settings.server.public_url.clone())
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The operator token a support command sends, from the settings; when it is not set, says
/// how to set it and answers the exit code for a bad setting (2).
pub(crate) fn operator_token(
    settings: &Settings,
) -> Result<secrecy::SecretString, std::process::ExitCode> {
    settings.operator.token.clone().ok_or_else(|| {
        eprintln!(
            "seatbroker: no operator token: set operator.token in the --config file or SEATBROKER__OPERATOR__TOKEN"
        );
        std::process::ExitCode::from(2)
    })
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
