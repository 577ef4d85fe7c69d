//! A real broker in this test's actix system on a free port, with its own temporary data
//! directory and a low argon2 cost, and the setup a seat test needs: an owner with a pool,
//! members who joined it with its invite code. Setup goes through the library's own calls;
//! the owner's administration (PATCH, block, revoke), which the library does not wrap, is
//! sent with plain reqwest. Two test binaries include this file (`api` and `restart`),
//! each using part of it.
#![allow(dead_code)]

use std::time::Duration;

use seatbroker::settings::Settings;
use seatbroker::startup::Application;
use seatbroker_client::{Client, Error, SeatGuard, SeatState};

/// The operator token every test broker is given.
pub const OPERATOR_TOKEN: &str = "operator-token-for-client-tests";

/// A broker running in this test's actix system.
pub struct Broker {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// The connections every client of this test shares.
    pub http: reqwest::Client,
    data: tempfile::TempDir,
}

/// An account logged in through the library.
pub struct User {
    /// A client with this user's session.
    pub client: Client,
    /// The bearer token, for the raw administration calls.
    pub token: String,
    /// `A-...`
    pub account_id: String,
}

/// Starts a broker on `listen` keeping its data in `data_dir`, with the test settings, some
/// of them changed (`("SEATBROKER__X__Y", "v")`); its port and its serving task.
pub async fn start_app(
    data_dir: &std::path::Path,
    listen: &str,
    overrides: &[(&str, &str)],
) -> Result<(u16, tokio::task::JoinHandle<std::io::Result<()>>), seatbroker::startup::StartupError>
{
    let mut env: Vec<(String, String)> = [
        ("SEATBROKER__SERVER__LISTEN", listen.to_owned()),
        ("SEATBROKER__STORAGE__PATH", data_dir.display().to_string()),
        ("SEATBROKER__AUTH__ARGON2_M_KIB", "8".to_owned()),
        ("SEATBROKER__AUTH__ARGON2_T", "1".to_owned()),
        ("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN.to_owned()),
        ("SEATBROKER__LOG__FORMAT", "json".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let settings = Settings::load_from(None, env).expect("test settings");
    let app = Application::build(settings).await?;
    let port = app.port();
    Ok((port, actix_rt::spawn(app.run_until_signal())))
}

/// Starts a broker on a free port with a fresh data directory and the test settings, some
/// of them changed (`("SEATBROKER__X__Y", "v")`).
pub async fn spawn_broker_with(overrides: &[(&str, &str)]) -> Broker {
    let data = tempfile::tempdir().expect("temp dir");
    let (port, _serving) = start_app(data.path(), "127.0.0.1:0", overrides)
        .await
        .expect("broker starts");
    Broker {
        url: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
        data,
    }
}

/// A `Broker` for one started with `start_app` on `data`.
pub fn broker_on(port: u16, data: tempfile::TempDir) -> Broker {
    Broker {
        url: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
        data,
    }
}

/// Starts a broker with the test settings.
pub async fn spawn_broker() -> Broker {
    spawn_broker_with(&[]).await
}

impl Broker {
    /// The broker's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// A client of this broker, not logged in, on the shared connections.
    pub fn client(&self) -> Client {
        Client::with_http(&self.url, self.http.clone()).expect("client")
    }

    /// A new account, logged in.
    pub async fn user(&self, email: &str) -> User {
        let client = self.client();
        client
            .create_account(email, "correct horse", "Test")
            .await
            .expect("account created");
        let login = client
            .login(email, "correct horse")
            .await
            .expect("logged in");
        User {
            client,
            token: login.token,
            account_id: login.account_id,
        }
    }

    /// An owner with an educational license of `seats` seats and its heartbeat timeout set
    /// to `timeout_s`; returns the owner and the pool's id.
    pub async fn owner_with_pool(&self, email: &str, seats: u32, timeout_s: u64) -> (User, String) {
        let owner = self.user(email).await;
        let license = owner
            .client
            .issue_license(OPERATOR_TOKEN, "educational", seats, None)
            .await
            .expect("license issued");
        owner
            .client
            .activate(&license.key)
            .await
            .expect("license activated");
        let me = owner.client.me().await.expect("me");
        let pool = me.own_pool.expect("an own pool").id;
        self.patch_pool(&owner, &pool, serde_json::json!({"timeout_s": timeout_s}))
            .await;
        (owner, pool)
    }

    /// Changes the pool's settings as its owner (`PATCH /v1/pools/{pool}`).
    pub async fn patch_pool(&self, owner: &User, pool: &str, settings: serde_json::Value) {
        let res = self
            .http
            .patch(format!("{}/v1/pools/{pool}", self.url))
            .bearer_auth(&owner.token)
            .json(&settings)
            .send()
            .await
            .expect("patch reaches the broker");
        assert_eq!(res.status(), 200, "pool settings {settings} set");
    }

    /// A new account that joined `pool` with its invite code.
    pub async fn member(&self, owner: &User, pool: &str, email: &str) -> User {
        let invite = owner.client.invite(pool).await.expect("invite code");
        let member = self.user(email).await;
        let joined = member
            .client
            .activate(&invite.code)
            .await
            .expect("joined with the code");
        assert_eq!(joined.kind, "membership");
        member
    }

    /// Sends `method path` with `token`; the status.
    pub async fn admin(&self, method: reqwest::Method, path: &str, token: &str) -> u16 {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("request reaches the broker")
            .status()
            .as_u16()
    }
}

/// Waits (generously) until the guard's state is not `Held`; that state.
pub async fn next_fate(guard: &SeatGuard) -> SeatState {
    let mut fate = guard.watch();
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        fate.wait_for(|s| *s != SeatState::Held),
    )
    .await
    .expect("the seat's fate changes within 10 s")
    .expect("the guard's state is published")
    .clone();
    state
}

/// The code of a refusal, for assertion messages.
pub fn code(result: &Result<impl std::fmt::Debug, Error>) -> Option<String> {
    result
        .as_ref()
        .err()
        .and_then(|e| e.code().map(str::to_owned))
}
