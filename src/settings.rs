//! The broker's settings: one typed struct per section of `config/default.toml`, loaded in
//! layers (the defaults compiled into the binary, then the `--config` file, then
//! `SEATBROKER__SECTION__KEY` environment variables) and checked before anything starts.
//! Every default is documented in `config/default.toml` and nowhere else.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod limits;
pub use limits::LimitsSettings;

/// The defaults, compiled in so the broker runs from any directory.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// A setting out of its bounds.
fn invalid(key: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        problem: problem.into(),
    }
}

/// Every setting of the broker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`
    pub server: ServerSettings,
    /// `[operator]`
    #[serde(default)]
    pub operator: OperatorSettings,
    /// `[storage]`
    pub storage: StorageSettings,
    /// `[seats]`
    pub seats: SeatSettings,
    /// `[pools]`
    pub pools: PoolDefaults,
    /// `[auth]`
    pub auth: AuthSettings,
    /// `[trials]`
    pub trials: TrialSettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[engine]`
    pub engine: EngineSettings,
    /// `[metrics]`
    pub metrics: MetricsSettings,
    /// `[usage]`
    pub usage: UsageSettings,
    /// `[portal]`
    pub portal: PortalSettings,
    /// `[email]`
    pub email: EmailSettings,
    /// `[cluster]`
    pub cluster: ClusterSettings,
    /// `[limits]`
    pub limits: LimitsSettings,
}

/// `[cluster]`: several broker nodes on one Redis, each pool owned by one node at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Unset: a single node. Set: this node joins every node on the same Redis with the same
    /// secret, which also authenticates the forwards between them.
    pub secret: Option<SecretString>,
    /// How other nodes reach this one; unset means `http://` + `server.listen`.
    pub advertise_url: Option<String>,
    /// How long a pool's lease lasts unless renewed, in milliseconds.
    pub lease_ms: u64,
    /// How often a node renews its leases, in milliseconds.
    pub renew_ms: u64,
}

/// `[server]`: where the broker listens and how it is reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port to listen on (port 0 picks a free one).
    pub listen: String,
    /// Base of invite URLs.
    pub public_url: String,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// HTTP worker threads; 0 picks the cores less one (see `Settings::http_workers`).
    #[serde(default)]
    pub workers: usize,
    /// How long a client may take to send a request's head, milliseconds (slow clients).
    pub client_request_timeout_ms: u64,
}

/// `[operator]`: the operator credential.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorSettings {
    /// Operator endpoints are refused while this is unset.
    pub token: Option<SecretString>,
}

/// Which storage backend keeps the broker's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Backend {
    /// The embedded file store under `storage.path`.
    Embedded,
    /// A Redis server at `storage.redis_url`.
    Redis,
}

impl TryFrom<String> for Backend {
    type Error = String;

    fn try_from(v: String) -> Result<Self, String> {
        match v.as_str() {
            "embedded" => Ok(Backend::Embedded),
            "redis" => Ok(Backend::Redis),
            _ => Err(format!("{v:?} is not a backend; allowed: embedded, redis")),
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// The backend.
    pub backend: Backend,
    /// Directory of the embedded store.
    pub path: PathBuf,
    /// Redis URL of the redis backend.
    pub redis_url: SecretString,
    /// The longest a Redis command may take before it counts as failed, milliseconds.
    pub redis_timeout_ms: u64,
    /// How long a command may take while Redis is known to be down, milliseconds.
    pub redis_down_timeout_ms: u64,
    /// The most Redis requests in flight at once.
    pub redis_max_in_flight: usize,
    /// The embedded store's page cache (redb), MiB.
    pub cache_mib: u32,
}

impl StorageSettings {
    /// The embedded store's page cache in bytes.
    pub fn cache_bytes(&self) -> usize {
        self.cache_mib as usize * (1 << 20)
    }
}

/// `[seats]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatSettings {
    /// Heartbeat timeout of a new pool, seconds.
    pub default_timeout_s: u32,
    /// Longest `wait_s` a client may ask for.
    pub max_wait_s: u32,
    /// W1 queue bound per pool.
    pub max_waiters_per_pool: usize,
}

/// `[pools]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDefaults {
    /// Offline limit of a new pool, days.
    pub default_offline_max_days: u32,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of a login token, seconds.
    pub token_ttl_s: u64,
    /// Key that signs tokens; generated and stored when unset.
    pub signing_key: Option<SecretString>,
    /// A3: failures before a lockout.
    pub lockout_threshold: u32,
    /// A3: length of a lockout, seconds.
    pub lockout_s: u64,
    /// A2: argon2id memory, KiB.
    pub argon2_m_kib: u32,
    /// A2: argon2id iterations.
    pub argon2_t: u32,
    /// A2: argon2id parallelism.
    pub argon2_p: u32,
}

/// `[trials]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialSettings {
    /// L6: days between an account's trials.
    pub cooldown_days: u32,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// For people.
    Pretty,
    /// For log collectors.
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(v: String) -> Result<Self, String> {
        match v.as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{v:?} is not a log format; allowed: pretty, json")),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Pretty or JSON lines.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `seatbroker=debug,info`.
    pub filter: String,
}

/// `[usage]`: the W4 usage records behind the usage report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageSettings {
    /// Days usage records are kept.
    pub retention_days: u32,
}

/// `[portal]`: the web portal's sign-in sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// A session unused for this many seconds ends.
    pub session_idle_s: u64,
    /// A session ends this many seconds after sign-in, used or not.
    pub session_max_s: u64,
    /// An emailed link that confirms an address works this many seconds.
    pub verify_link_ttl_s: u64,
}

/// How outgoing mail leaves the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum EmailTransport {
    /// One `.eml` file per message under `storage.path/outbox`; no mail server needed.
    File,
    /// An SMTP server at `email.smtp_host`.
    Smtp,
}

impl TryFrom<String> for EmailTransport {
    type Error = String;

    fn try_from(v: String) -> Result<Self, String> {
        match v.as_str() {
            "file" => Ok(EmailTransport::File),
            "smtp" => Ok(EmailTransport::Smtp),
            _ => Err(format!(
                "{v:?} is not an email transport; allowed: file, smtp"
            )),
        }
    }
}

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SmtpTls {
    /// Plain text throughout: only for a relay on the same machine or a test server.
    None,
    /// Plain text upgraded with STARTTLS, which the server must offer (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl TryFrom<String> for SmtpTls {
    type Error = String;

    fn try_from(v: String) -> Result<Self, String> {
        match v.as_str() {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::Starttls),
            "tls" => Ok(SmtpTls::Tls),
            _ => Err(format!(
                "{v:?} is not an SMTP TLS mode; allowed: none, starttls, tls"
            )),
        }
    }
}

/// `[email]`: outgoing mail (see `crate::email`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// File (the outbox) or SMTP.
    pub transport: EmailTransport,
    /// The sender, as a mailbox such as `seatbroker <no-reply@example.com>`.
    pub from: String,
    /// SMTP server name or address.
    pub smtp_host: String,
    /// SMTP server port.
    pub smtp_port: u16,
    /// Encryption of the SMTP connection.
    pub smtp_tls: SmtpTls,
    /// SMTP user name; no authentication while unset.
    pub smtp_user: Option<String>,
    /// SMTP password, set exactly when `smtp_user` is.
    pub smtp_password: Option<SecretString>,
}

/// Leaves the password out, so that settings can be logged.
impl std::fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSettings")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_user", &self.smtp_user)
            .field("smtp_password", &self.smtp_password)
            .finish()
    }
}

/// `[metrics]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Pools with series of their own at `/metrics`; the rest are summed as `_other`.
    pub max_pool_series: usize,
}

/// `[engine]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Requests one pool's mailbox holds before 429.
    pub mailbox_capacity: usize,
    /// Seconds a pool holding nothing stays loaded.
    pub idle_stop_s: u64,
}

/// A setting that cannot be used, naming the key and what it accepts.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The sources could not be read or do not fit the settings' types.
    #[error("{0}")]
    Load(String),
    /// A value of the right type is out of range.
    #[error("setting {key}: {problem}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// What is wrong and what is accepted.
        problem: String,
    },
}

/// The cores less one, at least one: the HTTP workers `server.workers = 0` starts (and the
/// load tester's null broker too, so that `compare` measures the same HTTP layer).
pub fn default_http_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

impl Settings {
    /// Loads the defaults, then `file` when given, then the `SEATBROKER__` variables of the
    /// process environment, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like `load`, with the environment given (tests pass their own).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        use config::{Config, Environment, File, FileFormat};
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError::Load(format!(
                    "the settings file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        let vars: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("SEATBROKER__"))
            .collect();
        // Credentials are taken as written: the environment source below would read a
        // password or token such as "0123" as the number 123.
        let credentials: Vec<(&str, String)> = vars
            .iter()
            .filter_map(|(k, v)| {
                let key = match k.to_ascii_uppercase().as_str() {
                    "SEATBROKER__EMAIL__SMTP_USER" => "email.smtp_user",
                    "SEATBROKER__EMAIL__SMTP_PASSWORD" => "email.smtp_password",
                    "SEATBROKER__OPERATOR__TOKEN" => "operator.token",
                    "SEATBROKER__AUTH__SIGNING_KEY" => "auth.signing_key",
                    _ => return None,
                };
                Some((key, v.clone()))
            })
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("SEATBROKER")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("server.trusted_proxies")
                .try_parsing(true)
                .source(Some(vars)),
        );
        for (key, value) in credentials {
            builder = builder
                .set_override(key, value)
                .map_err(|e| SettingsError::Load(e.to_string()))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| SettingsError::Load(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// The HTTP worker threads to start: `server.workers`, or when it is 0 the cores less
    /// one, at least one. The core left over runs the store's writer thread and the
    /// kernel's network work; pool actors run on the workers.
    pub fn http_workers(&self) -> usize {
        match self.server.workers {
            0 => default_http_workers(),
            n => n,
        }
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr, SettingsError> {
        self.server
            .listen
            .parse()
            .map_err(|_| SettingsError::Invalid {
                key: "server.listen",
                problem: format!(
                    "{:?} is not an address and port, such as 127.0.0.1:8080",
                    self.server.listen
                ),
            })
    }

    /// The proxies whose `X-Forwarded-For` is believed.
    pub fn trusted_proxies(&self) -> Result<Vec<IpAddr>, SettingsError> {
        self.server
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse().map_err(|_| SettingsError::Invalid {
                    key: "server.trusted_proxies",
                    problem: format!("{p:?} is not an IP address"),
                })
            })
            .collect()
    }

    /// Every setting within its bounds, section by section; the first one out is named.
    fn check(&self) -> Result<(), SettingsError> {
        self.check_server()?;
        self.check_portal()?;
        self.check_server_limits()?;
        self.check_operator()?;
        self.check_seats()?;
        self.check_auth()?;
        self.check_storage()?;
        self.check_engine()?;
        self.check_email()?;
        self.check_cluster()?;
        self.limits.check()?;
        Ok(())
    }

    /// Several nodes: this node's address as other nodes reach it (`None` on one node).
    pub fn advertise_url(&self) -> Option<String> {
        self.cluster.secret.as_ref()?;
        Some(match &self.cluster.advertise_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.server.listen),
        })
    }

    /// The cluster's secret, lease and renewal.
    fn check_cluster(&self) -> Result<(), SettingsError> {
        let Some(secret) = &self.cluster.secret else {
            return Ok(());
        };
        if secret.expose_secret().len() < 16 {
            return Err(invalid(
                "cluster.secret",
                "must have at least 16 characters, or be unset",
            ));
        }
        if self.storage.backend != Backend::Redis {
            return Err(invalid(
                "cluster.secret",
                "several nodes share one Redis: set storage.backend = \"redis\" too",
            ));
        }
        if let Some(url) = &self.cluster.advertise_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(invalid(
                    "cluster.advertise_url",
                    format!("{url:?} must be an http:// or https:// URL"),
                ));
            }
        }
        if !(200..=60_000).contains(&self.cluster.lease_ms) {
            return Err(invalid(
                "cluster.lease_ms",
                "must be 200 to 60000 milliseconds",
            ));
        }
        if !(50..=self.cluster.lease_ms / 3).contains(&self.cluster.renew_ms) {
            return Err(invalid(
                "cluster.renew_ms",
                "must be 50 milliseconds to a third of cluster.lease_ms",
            ));
        }
        Ok(())
    }

    /// The server's address, proxies and public URL.
    fn check_server(&self) -> Result<(), SettingsError> {
        self.listen_addr()?;
        self.trusted_proxies()?;
        let url = &self.server.public_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(invalid(
                "server.public_url",
                format!("{url:?} must be an http:// or https:// URL"),
            ));
        }
        Ok(())
    }

    /// The portal's session and link lifetimes.
    fn check_portal(&self) -> Result<(), SettingsError> {
        if !(60..=2_592_000).contains(&self.portal.session_idle_s) {
            return Err(invalid(
                "portal.session_idle_s",
                "must be 60 to 2592000 seconds (30 days)",
            ));
        }
        if !(self.portal.session_idle_s..=31_536_000).contains(&self.portal.session_max_s) {
            return Err(invalid(
                "portal.session_max_s",
                "must be at least portal.session_idle_s and at most 31536000 seconds (a year)",
            ));
        }
        if !(60..=2_592_000).contains(&self.portal.verify_link_ttl_s) {
            return Err(invalid(
                "portal.verify_link_ttl_s",
                "must be 60 to 2592000 seconds (30 days)",
            ));
        }
        Ok(())
    }

    /// Worker threads and the body limit.
    fn check_server_limits(&self) -> Result<(), SettingsError> {
        if self.server.workers > 1_024 {
            return Err(invalid(
                "server.workers",
                "must be 0 (the cores less one) to 1024",
            ));
        }
        if !(1_024..=16 * 1024 * 1024).contains(&self.server.max_body_bytes) {
            return Err(invalid(
                "server.max_body_bytes",
                "must be 1024 to 16777216 bytes",
            ));
        }
        if !(100..=600_000).contains(&self.server.client_request_timeout_ms) {
            return Err(invalid(
                "server.client_request_timeout_ms",
                "must be 100 to 600000 milliseconds",
            ));
        }
        Ok(())
    }

    /// The operator token.
    fn check_operator(&self) -> Result<(), SettingsError> {
        if self
            .operator
            .token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            return Err(invalid(
                "operator.token",
                "must have at least 16 characters, or be unset",
            ));
        }
        Ok(())
    }

    /// Seat and pool defaults and bounds.
    fn check_seats(&self) -> Result<(), SettingsError> {
        if !(1..=2_592_000).contains(&self.seats.default_timeout_s) {
            return Err(invalid(
                "seats.default_timeout_s",
                "must be 1 to 2592000 seconds (30 days)",
            ));
        }
        if self.seats.max_wait_s > 3_600 {
            return Err(invalid("seats.max_wait_s", "must be 0 to 3600 seconds"));
        }
        if !(1..=1_000_000).contains(&self.seats.max_waiters_per_pool) {
            return Err(invalid(
                "seats.max_waiters_per_pool",
                "must be 1 to 1000000",
            ));
        }
        if self.pools.default_offline_max_days > 365 {
            return Err(invalid(
                "pools.default_offline_max_days",
                "must be 0 to 365 days",
            ));
        }
        Ok(())
    }

    /// Tokens, the signing key, the lockout and argon2's cost.
    fn check_auth(&self) -> Result<(), SettingsError> {
        if !(60..=31_536_000).contains(&self.auth.token_ttl_s) {
            return Err(invalid(
                "auth.token_ttl_s",
                "must be 60 to 31536000 seconds (a year)",
            ));
        }
        if self
            .auth
            .signing_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < 32)
        {
            return Err(invalid(
                "auth.signing_key",
                "must have at least 32 characters, or be unset",
            ));
        }
        if self.auth.lockout_threshold == 0 {
            return Err(invalid("auth.lockout_threshold", "must be at least 1"));
        }
        if !(8..=4 * 1024 * 1024).contains(&self.auth.argon2_m_kib)
            || !(1..=100).contains(&self.auth.argon2_t)
            || !(1..=64).contains(&self.auth.argon2_p)
            || self.auth.argon2_m_kib < 8 * self.auth.argon2_p
        {
            return Err(invalid(
                "auth.argon2_m_kib",
                "argon2 cost must be m 8 to 4194304 KiB (at least 8 per lane), t 1 to 100, p 1 to 64",
            ));
        }
        Ok(())
    }

    /// The Redis store's deadlines and bounds.
    fn check_storage(&self) -> Result<(), SettingsError> {
        if !(10..=60_000).contains(&self.storage.redis_timeout_ms) {
            return Err(invalid(
                "storage.redis_timeout_ms",
                "must be 10 to 60000 milliseconds",
            ));
        }
        if !(1..=self.storage.redis_timeout_ms).contains(&self.storage.redis_down_timeout_ms) {
            return Err(invalid(
                "storage.redis_down_timeout_ms",
                "must be 1 millisecond to storage.redis_timeout_ms",
            ));
        }
        if !(1..=65_536).contains(&self.storage.cache_mib) {
            return Err(invalid("storage.cache_mib", "must be 1 to 65536 (MiB)"));
        }
        if !(1..=100_000).contains(&self.storage.redis_max_in_flight) {
            return Err(invalid(
                "storage.redis_max_in_flight",
                "must be 1 to 100000",
            ));
        }
        Ok(())
    }

    /// Usage retention, metric series and mailboxes.
    fn check_engine(&self) -> Result<(), SettingsError> {
        if !(1..=3_650).contains(&self.usage.retention_days) {
            return Err(invalid("usage.retention_days", "must be 1 to 3650 days"));
        }
        if !(1..=100_000).contains(&self.metrics.max_pool_series) {
            return Err(invalid("metrics.max_pool_series", "must be 1 to 100000"));
        }
        if !(1..=1_000_000).contains(&self.engine.mailbox_capacity) {
            return Err(invalid("engine.mailbox_capacity", "must be 1 to 1000000"));
        }
        Ok(())
    }

    /// Outgoing mail.
    fn check_email(&self) -> Result<(), SettingsError> {
        if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "email.from",
                format!(
                    "{:?} is not a mailbox, such as \"seatbroker <no-reply@example.com>\"",
                    self.email.from
                ),
            ));
        }
        if self.email.smtp_host.trim().is_empty() {
            return Err(invalid("email.smtp_host", "must be a host name or address"));
        }
        if self.email.smtp_port == 0 {
            return Err(invalid("email.smtp_port", "must be 1 to 65535"));
        }
        if self.email.smtp_user.is_some() != self.email.smtp_password.is_some() {
            return Err(invalid(
                "email.smtp_user",
                "email.smtp_user and email.smtp_password must be set together, or both unset",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_api_contract() {
        let s = Settings::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.server.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.server.max_body_bytes, 65_536);
        assert_eq!(s.server.workers, 0);
        assert_eq!(s.http_workers(), default_http_workers());
        assert!(s.http_workers() >= 1);
        assert!(s.operator.token.is_none());
        assert_eq!(s.storage.backend, Backend::Embedded);
        assert_eq!(s.storage.path, PathBuf::from("./data"));
        assert_eq!(
            s.storage.cache_bytes(),
            crate::store::embedded::DEFAULT_CACHE_BYTES
        );
        assert_eq!(
            s.storage.redis_url.expose_secret(),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(s.seats.default_timeout_s, 28_800);
        assert_eq!(s.seats.max_wait_s, 60);
        assert_eq!(s.seats.max_waiters_per_pool, 1_000);
        assert_eq!(s.pools.default_offline_max_days, 14);
        assert_eq!(s.auth.token_ttl_s, 2_592_000);
        assert!(s.auth.signing_key.is_none());
        assert_eq!((s.auth.lockout_threshold, s.auth.lockout_s), (10, 900));
        let l = &s.limits;
        assert_eq!(
            (
                l.login_per_address_per_hour,
                l.accounts_per_address_per_hour,
                l.emails_per_address_per_hour,
                l.emails_per_account_per_hour,
                l.activation_failures_per_account_per_hour,
                l.offline_per_account_per_hour
            ),
            (1_000, 100, 3, 3, 20, 60)
        );
        assert_eq!(
            (s.auth.argon2_m_kib, s.auth.argon2_t, s.auth.argon2_p),
            (19_456, 2, 1)
        );
        assert_eq!(s.trials.cooldown_days, 365);
        assert_eq!(s.log.format, LogFormat::Pretty);
    }

    #[test]
    fn a_file_then_the_environment_override_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("broker.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:9000\"\n[seats]\nmax_wait_s = 5\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            env(&[
                ("SEATBROKER__SEATS__MAX_WAIT_S", "7"),
                ("SEATBROKER__OPERATOR__TOKEN", "operator-token-123456"),
                ("SEATBROKER__SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
                ("OTHER__SEATS__MAX_WAIT_S", "99"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.server.listen, "127.0.0.1:9000", "from the file");
        assert_eq!(s.seats.max_wait_s, 7, "the environment wins");
        assert_eq!(
            s.operator.token.as_ref().map(ExposeSecret::expose_secret),
            Some("operator-token-123456")
        );
        assert_eq!(s.trusted_proxies().unwrap().len(), 2);
    }

    #[test]
    fn email_defaults_to_the_outbox_and_takes_smtp_from_the_environment() {
        let s = Settings::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(s.email.transport, EmailTransport::File);
        assert_eq!(s.email.from, "seatbroker <no-reply@localhost>");
        assert_eq!(s.email.smtp_host, "127.0.0.1");
        assert_eq!(s.email.smtp_port, 25);
        assert_eq!(s.email.smtp_tls, SmtpTls::Starttls);
        assert!(s.email.smtp_user.is_none() && s.email.smtp_password.is_none());

        let s = Settings::load_from(
            None,
            env(&[
                ("SEATBROKER__EMAIL__TRANSPORT", "smtp"),
                ("SEATBROKER__EMAIL__FROM", "Lizenzen <lizenzen@example.com>"),
                ("SEATBROKER__EMAIL__SMTP_HOST", "mail.example.com"),
                ("SEATBROKER__EMAIL__SMTP_PORT", "465"),
                ("SEATBROKER__EMAIL__SMTP_TLS", "tls"),
                ("SEATBROKER__EMAIL__SMTP_USER", "broker"),
                // Digits only: the loader parses it as a number, and it must stay a string.
                ("SEATBROKER__EMAIL__SMTP_PASSWORD", "0123456789"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.email.transport, EmailTransport::Smtp);
        assert_eq!(s.email.from, "Lizenzen <lizenzen@example.com>");
        assert_eq!(s.email.smtp_host, "mail.example.com");
        assert_eq!(s.email.smtp_port, 465);
        assert_eq!(s.email.smtp_tls, SmtpTls::Tls);
        assert_eq!(s.email.smtp_user.as_deref(), Some("broker"));
        assert_eq!(
            s.email
                .smtp_password
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Some("0123456789")
        );
        assert!(
            !format!("{s:?}").contains("0123456789"),
            "the password is not logged"
        );
    }

    #[test]
    fn secrets_are_taken_as_written_and_never_shown_by_debug() {
        let s = Settings::load_from(
            None,
            env(&[
                ("SEATBROKER__OPERATOR__TOKEN", "0123456789012345"),
                (
                    "SEATBROKER__AUTH__SIGNING_KEY",
                    "00000000000000000000000000000042",
                ),
                (
                    "SEATBROKER__STORAGE__REDIS_URL",
                    "redis://:hunter2secret@127.0.0.1:6379",
                ),
            ]),
        )
        .expect("loads");
        assert_eq!(
            s.operator.token.as_ref().map(ExposeSecret::expose_secret),
            Some("0123456789012345"),
            "a token of digits keeps its leading zero"
        );
        assert_eq!(
            s.auth.signing_key.as_ref().map(ExposeSecret::expose_secret),
            Some("00000000000000000000000000000042")
        );
        let shown = format!("{s:?}");
        for secret in ["0123456789012345", "000000000042", "hunter2secret"] {
            assert!(!shown.contains(secret), "{secret} is not shown: {shown}");
        }
    }

    #[test]
    fn bad_email_settings_name_the_key_and_what_is_allowed() {
        let cases: [(&[(&str, &str)], &str); 7] = [
            (
                &[("SEATBROKER__EMAIL__TRANSPORT", "pigeon")],
                "allowed: file, smtp",
            ),
            (
                &[("SEATBROKER__EMAIL__SMTP_TLS", "ssl")],
                "allowed: none, starttls, tls",
            ),
            (
                &[("SEATBROKER__EMAIL__FROM", "not a mailbox")],
                "email.from",
            ),
            (&[("SEATBROKER__EMAIL__SMTP_HOST", " ")], "email.smtp_host"),
            (&[("SEATBROKER__EMAIL__SMTP_PORT", "0")], "email.smtp_port"),
            (
                &[("SEATBROKER__EMAIL__SMTP_USER", "broker")],
                "email.smtp_password",
            ),
            (
                &[("SEATBROKER__EMAIL__SMTP_PASSWORD", "secret")],
                "email.smtp_user",
            ),
        ];
        for (vars, named) in cases {
            let err = Settings::load_from(None, env(vars))
                .expect_err(named)
                .to_string();
            assert!(err.contains(named), "{vars:?}: {err}");
        }
    }

    #[test]
    fn bad_settings_name_the_key_and_what_is_allowed() {
        let cases = [
            (
                "SEATBROKER__STORAGE__BACKEND",
                "postgres",
                "allowed: embedded, redis",
            ),
            (
                "SEATBROKER__STORAGE__BACKEND",
                "postgres",
                "storage.backend",
            ),
            (
                "SEATBROKER__SERVER__LISTEN",
                "not-an-address",
                "server.listen",
            ),
            (
                "SEATBROKER__SEATS__DEFAULT_TIMEOUT_S",
                "0",
                "seats.default_timeout_s",
            ),
            ("SEATBROKER__SEATS__MAX_WAIT_S", "soon", "seats.max_wait_s"),
            ("SEATBROKER__LOG__FORMAT", "xml", "log.format"),
            ("SEATBROKER__LOG__FORMAT", "xml", "allowed: pretty, json"),
            ("SEATBROKER__SERVER__NOPE", "1", "nope"),
            ("SEATBROKER__SERVER__WORKERS", "5000", "server.workers"),
            ("SEATBROKER__SERVER__WORKERS", "many", "workers"),
            ("SEATBROKER__STORAGE__CACHE_MIB", "0", "storage.cache_mib"),
            ("SEATBROKER__STORAGE__CACHE_MIB", "lots", "cache_mib"),
        ];
        for (key, value, named) in cases {
            let err = Settings::load_from(None, env(&[(key, value)]))
                .expect_err(key)
                .to_string();
            assert!(err.contains(named), "{key}={value}: {err}");
        }
        let err = Settings::load_from(Some(Path::new("/nonexistent/x.toml")), env(&[]))
            .expect_err("missing file")
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}

#[cfg(test)]
mod proptests;
