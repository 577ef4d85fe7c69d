//! Child processes of `compare`, `sweep` and `failover`: the release `seatbroker` binary
//! (built when it is missing), started on a free loopback port with its embedded store in a
//! temporary directory or on a private `redis-server`; several of them as the nodes of one
//! cluster on one durable `redis-server` (`Cluster`, issue 17); the null broker (the
//! `seatbroker-null` binary beside this one); and the Redis-semaphore peer
//! (`seatbroker-peer`, on a private durable `redis-server` of its own). Each says which port
//! it serves in a JSON line carrying `"port"` on standard error; a child is killed when its
//! handle is dropped, and by the kernel when the thread that started it ends (a tester
//! killed with -9 leaves none).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seatbroker::redis_server::RedisServer;

/// The operator token `compare` gives the brokers it starts.
pub const OPERATOR_TOKEN: &str = "operator-token-of-the-load-tester";

/// The `cluster.secret` the nodes of a `Cluster` share.
pub const CLUSTER_SECRET: &str = "cluster-secret-of-the-load-tester";

/// How long a cluster node may take from its start to answering `/readyz` 200.
const READY_PATIENCE: Duration = Duration::from_secs(30);

/// Which store the started broker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded store in a temporary directory.
    Embedded,
    /// A private `redis-server` (append-only, `appendfsync always`).
    Redis,
}

impl Backend {
    /// Its name in reports: `embedded` or `redis`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Redis => "redis",
        }
    }
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Spawning or building failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The child did not say its port in time.
    #[error("{0} did not say which port it serves within 30 s")]
    NoPort(String),
    /// A cluster node did not answer `/readyz` 200 in time.
    #[error("{0} was not ready within 30 s")]
    NotReady(String),
    /// `cargo build` failed.
    #[error("building {0}")]
    Build(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SpawnError {
    let what = what.into();
    move |source| SpawnError::Io { what, source }
}

/// A server process of ours; killed when dropped.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    /// The port it serves.
    pub port: u16,
    /// The last lines it wrote to standard error (at most `KEPT_LOG_LINES`).
    log: LogLines,
    _data: Option<tempfile::TempDir>,
    _redis: Option<(RedisServer, tempfile::TempDir)>,
}

impl Spawned {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL of the redis-server started for it (`--backend redis`, the peer), if any.
    pub fn redis_url(&self) -> Option<String> {
        self._redis.as_ref().map(|(server, _)| server.url())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines it wrote to standard error, oldest first (`compare` keeps them
    /// beside its report).
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// CPU time (user + system) it has used so far, from /proc.
    pub fn cpu(&self) -> Duration {
        process_cpu_of(self.pid()).unwrap_or_default()
    }

    /// Kills it at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of `pid` from `/proc/PID/stat`.
pub fn process_cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as u64 } else { 100 };
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

/// How many of a child's last standard-error lines are kept.
const KEPT_LOG_LINES: usize = 20_000;

/// The child's last lines of standard error.
type LogLines = Arc<Mutex<VecDeque<String>>>;

/// Starts `cmd` and waits for its JSON line carrying `"port"` on standard error.
fn start(mut cmd: Command, what: &str) -> Result<(Child, u16, LogLines), SpawnError> {
    die_with_parent(&mut cmd);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io(format!("starting {what}")))?;
    let Some(stderr) = child.stderr.take() else {
        return Err(SpawnError::NoPort(what.to_owned()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let log: LogLines = Arc::new(Mutex::new(VecDeque::new()));
    let kept = log.clone();
    std::thread::spawn(move || {
        // Keeps reading after the port, so the child never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let port = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["port"].as_u64());
            if let Some(port) = port {
                let _ = tx.send(port as u16);
            }
            let mut lines = kept.lock().unwrap_or_else(|e| e.into_inner());
            if lines.len() == KEPT_LOG_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(port) => Ok((child, port, log)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(SpawnError::NoPort(what.to_owned()))
        }
    }
}

/// The workspace this tester was built in (where `compare` finds or builds the broker).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The release `seatbroker` binary of this workspace, built when it is missing or older
/// than its sources: `cargo build` runs every time (about a second when nothing changed), so
/// a stale binary is never measured. Without cargo, an existing binary is used as it is.
pub fn broker_binary(given: Option<&Path>) -> Result<PathBuf, SpawnError> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("release").join("seatbroker");
    eprintln!("building the release seatbroker binary when it is missing or stale (cargo build --release -p seatbroker --bin seatbroker)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "seatbroker",
            "--bin",
            "seatbroker",
        ])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .status();
    match status {
        Ok(status) if status.success() && binary.exists() => Ok(binary),
        Ok(status) => Err(SpawnError::Build(format!(
            "the release seatbroker binary failed ({status})"
        ))),
        Err(e) if binary.exists() => {
            eprintln!(
                "cannot run cargo ({e}); using {} as it is",
                binary.display()
            );
            Ok(binary)
        }
        Err(e) => Err(io("running cargo build")(e)),
    }
}

/// The `seatbroker-null` binary beside this executable, built (with the profile this tester
/// was built with) when it is missing: `cargo run -p seatbroker-load` builds only the tester.
fn null_broker_binary() -> Result<PathBuf, SpawnError> {
    sibling_binary("seatbroker-null", "the null broker")
}

/// The `seatbroker-peer` binary beside this executable, built as `null_broker_binary` is.
fn peer_binary() -> Result<PathBuf, SpawnError> {
    sibling_binary("seatbroker-peer", "the Redis-semaphore peer")
}

/// The binary `name` of this package beside this executable, built (with the profile this
/// tester was built with) when it is missing; `what` names it in messages.
fn sibling_binary(name: &str, what: &str) -> Result<PathBuf, SpawnError> {
    let exe = std::env::current_exe().map_err(io("finding this executable"))?;
    let beside = exe.with_file_name(name);
    if beside.exists() {
        return Ok(beside);
    }
    // target/<profile>/seatbroker-load, or target/<profile>/deps/... for a test binary.
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        dir
    };
    // A test binary in deps/ finds the one cargo built beside the profile's binaries.
    let built = profile_dir.join(name);
    if built.exists() {
        return Ok(built);
    }
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let target = profile_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut args = vec!["build", "-p", "seatbroker-load", "--bin", name];
    if release {
        args.push("--release");
    }
    eprintln!("building {what} (cargo {})", args.join(" "));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(io("running cargo build"))?;
    if !status.success() || !built.exists() {
        return Err(SpawnError::Build(format!(
            "{what} {name} failed ({status})"
        )));
    }
    Ok(built)
}

/// `binary serve` on `listen` with its data in `data`, a low argon2 cost and no limit on
/// accounts and sign-ins per address (so setup of thousands of accounts from this one
/// address is quick), the operator token and JSON logs.
fn broker_command(binary: &Path, listen: &str, data: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .env("SEATBROKER__SERVER__LISTEN", listen)
        .env("SEATBROKER__STORAGE__PATH", data)
        .env("SEATBROKER__AUTH__ARGON2_M_KIB", "8")
        .env("SEATBROKER__AUTH__ARGON2_T", "1")
        .env("SEATBROKER__LIMITS__ACCOUNTS_PER_ADDRESS_PER_HOUR", "0")
        .env("SEATBROKER__LIMITS__LOGIN_PER_ADDRESS_PER_HOUR", "0")
        .env("SEATBROKER__OPERATOR__TOKEN", OPERATOR_TOKEN)
        .env("SEATBROKER__LOG__FORMAT", "json")
        .env_remove("RUST_LOG");
    cmd
}

/// Starts the broker `binary` on a free loopback port (`broker_command`) with the chosen
/// backend.
pub fn start_broker(binary: &Path, backend: Backend) -> Result<Spawned, SpawnError> {
    start_broker_with_workers(binary, backend, None)
}

/// `start_broker` with `server.workers` set (`None`: the broker's default).
pub fn start_broker_with_workers(
    binary: &Path,
    backend: Backend,
    workers: Option<usize>,
) -> Result<Spawned, SpawnError> {
    let data = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
    let mut cmd = broker_command(binary, "127.0.0.1:0", data.path());
    if let Some(w) = workers {
        cmd.env("SEATBROKER__SERVER__WORKERS", w.to_string());
    }
    let redis = match backend {
        Backend::Embedded => None,
        Backend::Redis => {
            let dir = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
            let server =
                RedisServer::start(dir.path(), true).map_err(io("starting redis-server"))?;
            cmd.env("SEATBROKER__STORAGE__BACKEND", "redis")
                .env("SEATBROKER__STORAGE__REDIS_URL", server.url());
            Some((server, dir))
        }
    };
    let (child, port, log) = start(cmd, "the broker")?;
    Ok(Spawned {
        child,
        port,
        log,
        _data: Some(data),
        _redis: redis,
    })
}

/// The null broker's or the peer's `binary` on a free loopback port with the operator token
/// and `workers` worker threads (`None`: its default); their shared `ServerArgs`.
fn yardstick_command(binary: PathBuf, workers: Option<usize>) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--operator-token",
        OPERATOR_TOKEN,
    ]);
    if let Some(w) = workers {
        cmd.args(["--workers", &w.to_string()]);
    }
    cmd
}

/// Starts the null broker (the `seatbroker-null` binary beside this executable, built when
/// it is missing) on a free port.
pub fn start_null_broker() -> Result<Spawned, SpawnError> {
    start_null_broker_with_workers(None)
}

/// `start_null_broker` with this many worker threads (`None`: its default, as the broker's).
pub fn start_null_broker_with_workers(workers: Option<usize>) -> Result<Spawned, SpawnError> {
    let cmd = yardstick_command(null_broker_binary()?, workers);
    let (child, port, log) = start(cmd, "the null broker (seatbroker-null)")?;
    Ok(Spawned {
        child,
        port,
        log,
        _data: None,
        _redis: None,
    })
}

/// Starts the Redis-semaphore peer (the `seatbroker-peer` binary beside this executable,
/// built when it is missing) on a free port with `workers` worker threads (`None`: its
/// default, as the broker's), on a private `redis-server` of its own (append-only,
/// `appendfsync always`, as `--backend redis` starts the broker's).
pub fn start_peer_with_workers(workers: Option<usize>) -> Result<Spawned, SpawnError> {
    let mut cmd = yardstick_command(peer_binary()?, workers);
    let dir = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
    let server = RedisServer::start(dir.path(), true).map_err(io("starting redis-server"))?;
    cmd.args(["--redis-url", &server.url()]);
    let (child, port, log) = start(cmd, "the Redis-semaphore peer (seatbroker-peer)")?;
    Ok(Spawned {
        child,
        port,
        log,
        _data: None,
        _redis: Some((server, dir)),
    })
}

/// Broker nodes on one Redis (issue 17): one durable `redis-server` (append-only file,
/// `appendfsync always`) and N `seatbroker serve` processes sharing `CLUSTER_SECRET`, each
/// on a loopback port picked before it starts (so that its default `cluster.advertise_url`,
/// `http://` + `server.listen`, is the URL the tester uses, and the one a lease names).
/// Dropping it kills the nodes still running, then Redis (fields drop in order), then
/// removes the temporary directory.
#[derive(Debug)]
pub struct Cluster {
    /// Each node's process; `None` once killed.
    nodes: Vec<Option<Spawned>>,
    urls: Vec<String>,
    redis: RedisServer,
    _root: tempfile::TempDir,
}

impl Cluster {
    /// Starts Redis and `nodes` brokers from `binary`, and waits until every node answers
    /// `/readyz` 200. Redis is started on the calling thread and dies with it.
    pub async fn start(binary: &Path, nodes: usize) -> Result<Cluster, SpawnError> {
        let root = tempfile::tempdir().map_err(io("creating a temporary directory"))?;
        let redis = RedisServer::start(&root.path().join("redis"), true)
            .map_err(io("starting redis-server"))?;
        let ports = free_ports(nodes).map_err(io("finding free loopback ports"))?;
        let mut cluster = Cluster {
            nodes: Vec::with_capacity(nodes),
            urls: ports
                .iter()
                .map(|port| format!("http://127.0.0.1:{port}"))
                .collect(),
            redis,
            _root: root,
        };
        for (i, port) in ports.iter().enumerate() {
            let data = cluster._root.path().join(format!("node-{i}"));
            std::fs::create_dir_all(&data).map_err(io("creating a node's directory"))?;
            let mut cmd = broker_command(binary, &format!("127.0.0.1:{port}"), &data);
            cmd.env("SEATBROKER__SERVER__PUBLIC_URL", &cluster.urls[i])
                .env("SEATBROKER__STORAGE__BACKEND", "redis")
                .env("SEATBROKER__STORAGE__REDIS_URL", cluster.redis.url())
                .env("SEATBROKER__CLUSTER__SECRET", CLUSTER_SECRET);
            let (child, port, log) = start(cmd, &format!("broker node {i}"))?;
            cluster.nodes.push(Some(Spawned {
                child,
                port,
                log,
                _data: None,
                _redis: None,
            }));
        }
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    /// Every node's base URL, in node order (the killed ones too).
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The URL of the cluster's Redis.
    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// The node whose base URL is `url`, if one is.
    pub fn node_at(&self, url: &str) -> Option<usize> {
        let url = url.trim().trim_end_matches('/');
        self.urls.iter().position(|u| u == url)
    }

    /// Node `i`'s process id, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes.get(i)?.as_ref().map(Spawned::pid)
    }

    /// Kills node `i` at once (SIGKILL) and reaps it; when the kill was sent, or `None` when
    /// the node was not running.
    pub fn kill(&mut self, i: usize) -> Option<Instant> {
        let mut node = self.nodes.get_mut(i)?.take()?;
        let at = Instant::now();
        node.kill();
        Some(at)
    }

    /// Waits until every running node answers `/readyz` 200.
    async fn wait_ready(&self) -> Result<(), SpawnError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| io("building an HTTP client")(std::io::Error::other(e)))?;
        let started = Instant::now();
        for (i, url) in self.urls.iter().enumerate() {
            loop {
                let ready = http.get(format!("{url}/readyz")).send().await;
                if ready.is_ok_and(|r| r.status() == 200) {
                    break;
                }
                if started.elapsed() > READY_PATIENCE {
                    return Err(SpawnError::NotReady(format!("broker node {i} ({url})")));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }
}

/// `n` distinct free loopback ports (all bound at once, then released for the nodes).
fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// Asks Linux to kill a child when the thread that started it ends, so that a tester that
/// dies (even of SIGKILL, which runs no `Drop`) leaves no broker running.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}
