//! Starting brokers for tests: in-process on port 0 (`spawn_broker`), or as the real binary
//! (`BrokerProcess`), each with its own temporary data directory and a low argon2 cost.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seatbroker::redis_server::RedisServer;
use seatbroker::settings::Settings;
use seatbroker::startup::Application;

/// An error answer's status and its `error` object.
pub async fn error(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.expect("an error body");
    (status, body["error"].clone())
}

/// The operator token every test broker is given.
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

/// The backend the suite runs on: `SEATBROKER_TEST_BACKEND=redis` runs every broker of the
/// suite on a Redis of its own; anything else (or nothing) on the embedded store.
pub fn redis_suite() -> bool {
    std::env::var("SEATBROKER_TEST_BACKEND").is_ok_and(|b| b == "redis")
}

/// The Redis of a data directory in the Redis suite: started on first use, kept for the
/// rest of the test so that a restarted broker finds its data, and gone with the test's
/// thread.
fn redis_for(data_dir: &Path) -> String {
    static SERVERS: std::sync::Mutex<Vec<(std::path::PathBuf, RedisServer)>> =
        std::sync::Mutex::new(Vec::new());
    let mut servers = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, server)) = servers.iter().find(|(dir, _)| dir == data_dir) {
        return server.url();
    }
    let server = RedisServer::start(&data_dir.join("redis"), true).expect("redis-server starts");
    let url = server.url();
    servers.push((data_dir.to_path_buf(), server));
    url
}

/// Settings every test broker uses, as environment variables.
pub fn test_env(data_dir: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    if redis_suite() {
        env.push(("SEATBROKER__STORAGE__BACKEND".into(), "redis".into()));
        env.push(("SEATBROKER__STORAGE__REDIS_URL".into(), redis_for(data_dir)));
    }
    env.extend(
        [
            ("SEATBROKER__SERVER__LISTEN", "127.0.0.1:0".to_string()),
            ("SEATBROKER__STORAGE__PATH", data_dir.display().to_string()),
            ("SEATBROKER__AUTH__ARGON2_M_KIB", "8".to_string()),
            ("SEATBROKER__AUTH__ARGON2_T", "1".to_string()),
            (
                "SEATBROKER__OPERATOR__TOKEN",
                "operator-token-for-tests".to_string(),
            ),
            ("SEATBROKER__LOG__FORMAT", "json".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v)),
    );
    env
}

/// A broker running in this test's actix system.
pub struct TestBroker {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// A client for it.
    pub client: reqwest::Client,
    _data: Option<tempfile::TempDir>,
}

impl TestBroker {
    /// The helpers of this type for a broker running elsewhere (a `BrokerProcess`).
    pub fn at(address: &str) -> TestBroker {
        TestBroker {
            address: address.to_owned(),
            client: reqwest::Client::new(),
            _data: None,
        }
    }

    /// The messages the broker wrote to its outbox (`email.transport = "file"`), oldest first.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self
            ._data
            .as_ref()
            .map(|d| seatbroker::email::outbox(d.path()))
            .expect("a broker of this test with its own data directory");
        seatbroker::email::read_outbox(&dir).unwrap_or_default()
    }

    /// POST a JSON body to `path`.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .expect("request reaches the broker")
    }

    /// POST raw bytes to `path`.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the broker")
    }

    /// Creates an account; returns its id.
    pub async fn create_account(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/v1/accounts",
                &serde_json::json!({"email": email, "password": password, "name": "Test"}),
            )
            .await;
        assert_eq!(res.status(), 201, "account {email} created");
        let body: serde_json::Value = res.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Sends `method path` with a bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request reaches the broker")
    }

    /// POST /v1/seats for a windows device of the token's account.
    pub async fn take_seat(&self, token: &str, device: &str) -> reqwest::Response {
        self.call(
            reqwest::Method::POST,
            "/v1/seats",
            token,
            Some(serde_json::json!({"device_id": device, "platform": "windows"})),
        )
        .await
    }

    /// W3: the owner (or an operator) releases a seat of a pool; asserts 204.
    pub async fn release_seat(&self, token: &str, pool: &str, seat: &str) {
        let path = format!("/v1/pools/{pool}/seats/{seat}");
        let res = self.call(reqwest::Method::DELETE, &path, token, None).await;
        assert_eq!(res.status(), 204, "DELETE {path}");
    }

    /// Sets a pool's heartbeat timeout (S4); asserts 200.
    pub async fn set_timeout(&self, token: &str, pool: &str, secs: u64) {
        let path = format!("/v1/pools/{pool}");
        let body = serde_json::json!({ "timeout_s": secs });
        let res = self
            .call(reqwest::Method::PATCH, &path, token, Some(body))
            .await;
        assert_eq!(res.status(), 200, "PATCH {path}");
    }

    /// Logs in; returns the token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 200, "login {email}");
        let body: serde_json::Value = res.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Issues a license with the operator token; returns its key.
    pub async fn issue_license(&self, kind: &str, seats: u32) -> String {
        let res = self
            .call(
                reqwest::Method::POST,
                "/v1/operator/licenses",
                OPERATOR_TOKEN,
                Some(serde_json::json!({"type": kind, "seats": seats})),
            )
            .await;
        assert_eq!(res.status(), 201, "license issued");
        let body: serde_json::Value = res.json().await.expect("json");
        body["key"].as_str().expect("key").to_owned()
    }

    /// A new account with an activated license of `seats` seats; returns (token, pool id).
    pub async fn owner_with_license(&self, email: &str, seats: u32) -> (String, String) {
        self.create_account(email, "correct horse").await;
        let token = self.login(email, "correct horse").await;
        let key = self.issue_license("educational", seats).await;
        let res = self
            .call(
                reqwest::Method::POST,
                "/v1/activations",
                &token,
                Some(serde_json::json!({"code": key})),
            )
            .await;
        assert_eq!(res.status(), 201, "activated");
        let body: serde_json::Value = res.json().await.expect("json");
        (
            token,
            body["pool"]["id"].as_str().expect("pool id").to_owned(),
        )
    }

    /// The pool's invite code, as its owner gets it.
    pub async fn invite_code(&self, owner: &str, pool: &str) -> String {
        let res = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/pools/{pool}/invite"),
                owner,
                None,
            )
            .await;
        assert_eq!(res.status(), 200, "invite code of {pool}");
        let body: serde_json::Value = res.json().await.expect("json");
        body["code"].as_str().expect("code").to_owned()
    }

    /// A new account that joins a pool with `code`; returns (account id, token).
    pub async fn join_with_code(&self, email: &str, code: &str) -> (String, String) {
        let id = self.create_account(email, "correct horse").await;
        let token = self.login(email, "correct horse").await;
        let res = self
            .call(
                reqwest::Method::POST,
                "/v1/activations",
                &token,
                Some(serde_json::json!({"code": code})),
            )
            .await;
        let status = res.status();
        assert_eq!(
            status,
            201,
            "{email} joins: {}",
            res.text().await.unwrap_or_default()
        );
        (id, token)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request reaches the broker")
    }
}

/// Starts a broker in-process on a free port with a fresh data directory.
pub async fn spawn_broker() -> TestBroker {
    spawn_broker_with(&[]).await
}

/// The wall clock plus an offset that a test moves forward.
#[derive(Debug, Default)]
pub struct MovableClock {
    offset_ms: std::sync::atomic::AtomicU64,
}

impl MovableClock {
    /// Moves time forward by `days`.
    pub fn advance_days(&self, days: u64) {
        self.advance_secs(days * 86_400);
    }

    /// Moves time forward by `secs`.
    pub fn advance_secs(&self, secs: u64) {
        self.offset_ms
            .fetch_add(secs * 1_000, std::sync::atomic::Ordering::SeqCst);
    }
}

impl seatbroker_actors::Clock for MovableClock {
    fn now(&self) -> seatbroker_actors::Timestamp {
        let offset = self.offset_ms.load(std::sync::atomic::Ordering::SeqCst);
        seatbroker_actors::Clock::now(&seatbroker_actors::SystemClock).plus_millis(offset)
    }
}

/// Like `spawn_broker`, with some settings changed (`("SEATBROKER__X__Y", "value")`).
pub async fn spawn_broker_with(overrides: &[(&str, &str)]) -> TestBroker {
    spawn_broker_timed(overrides, std::sync::Arc::new(MovableClock::default())).await
}

/// Like `spawn_broker_with`, on a clock the test holds.
pub async fn spawn_broker_timed(
    overrides: &[(&str, &str)],
    clock: std::sync::Arc<MovableClock>,
) -> TestBroker {
    let data = tempfile::tempdir().expect("temp dir");
    let mut env = test_env(data.path());
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let settings = Settings::load_from(None, env).expect("test settings");
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("broker starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_rt::spawn(app.run_until_signal());
    TestBroker {
        address,
        client: reqwest::Client::new(),
        _data: Some(data),
    }
}

/// The real `seatbroker` binary, serving on a free port.
pub struct BrokerProcess {
    /// The running process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// Every line it wrote to standard error so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl BrokerProcess {
    /// Starts `seatbroker serve` on `data_dir` and waits until it says which port it serves.
    pub fn start(data_dir: &Path) -> BrokerProcess {
        Self::start_with(data_dir, &[])
    }

    /// Like `start`, with some settings changed.
    pub fn start_with(data_dir: &Path, overrides: &[(&str, &str)]) -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_seatbroker"))
            .arg("serve")
            .envs(test_env(data_dir))
            .envs(
                overrides
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut kept) = lines.lock() {
                    kept.push(line.clone());
                }
                let port = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["port"].as_u64());
                if let Some(port) = port {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the broker says which port it serves within 30 s");
        BrokerProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Sends a signal (`TERM`, `KILL`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit; its exit code, or `None` when it did not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
