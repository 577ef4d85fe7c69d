//! `RedisServer`: a private `redis-server` on a free loopback port in a directory of its
//! own, for the test suites, benchmarks and load tests that need a real Redis without
//! depending on one that happens to run. It is started, waited for (PING), killed and
//! restarted from its append-only file; it dies with the thread that started it, so a test
//! process that crashes leaves no server behind. `RedisCluster` starts several of them as the
//! masters of a Redis Cluster (`redis-cli --cluster create`). The broker itself never starts
//! Redis.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer PING, and a new cluster to be formed.
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A running `redis-server` of our own.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    durable: bool,
    password: Option<String>,
    tls: Option<Tls>,
    /// A node of a Redis Cluster: the port of its cluster bus.
    cluster_bus: Option<u16>,
}

/// The TLS side of a server: its port and the files it presents.
#[derive(Debug, Clone)]
struct Tls {
    port: u16,
    cert: PathBuf,
    key: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` in `dir` on a free port. `durable`: append-only file with
    /// `appendfsync always` (an acknowledged write survives a Redis crash); otherwise
    /// nothing is kept on disk.
    pub fn start(dir: &Path, durable: bool) -> std::io::Result<RedisServer> {
        Self::start_with_password(dir, durable, None)
    }

    /// Like `start`, refusing clients that do not give `password` (`requirepass`).
    pub fn start_with_password(
        dir: &Path,
        durable: bool,
        password: Option<&str>,
    ) -> std::io::Result<RedisServer> {
        Self::start_inner(dir, durable, password, None, false)
    }

    /// Like `start`, also listening for TLS on a second port with this certificate and key
    /// (PEM files); clients need no certificate of their own.
    pub fn start_with_tls(dir: &Path, cert: &Path, key: &Path) -> std::io::Result<RedisServer> {
        let tls = Tls {
            port: 0,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        };
        Self::start_inner(dir, false, None, Some(tls), false)
    }

    fn start_inner(
        dir: &Path,
        durable: bool,
        password: Option<&str>,
        tls: Option<Tls>,
        cluster_node: bool,
    ) -> std::io::Result<RedisServer> {
        std::fs::create_dir_all(dir)?;
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = RedisServer {
                child: None,
                port,
                dir: dir.to_path_buf(),
                durable,
                password: password.map(str::to_owned),
                tls: match &tls {
                    Some(tls) => Some(Tls {
                        port: free_port()?,
                        ..tls.clone()
                    }),
                    None => None,
                },
                cluster_bus: if cluster_node {
                    Some(free_port()?)
                } else {
                    None
                },
            };
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("redis-server did not start")))
    }

    /// `redis://127.0.0.1:PORT`, with `:password@` when it has one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// `rediss://127.0.0.1:PORT` of its TLS port, when it has one.
    pub fn tls_url(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|tls| format!("rediss://127.0.0.1:{}", tls.port))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (reading its append-only file
    /// when durable).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.launch()
    }

    fn launch(&mut self) -> std::io::Result<()> {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", "", "--daemonize", "no", "--protected-mode", "yes"])
            .args(["--logfile", "redis.log"]);
        if self.durable {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        if let Some(password) = &self.password {
            cmd.args(["--requirepass", password]);
        }
        if let Some(bus) = self.cluster_bus {
            // The bus port is set, not port + 10,000, which may be past 65,535 for a free
            // port; the node's identity and view of the cluster live in its own directory.
            cmd.args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args(["--cluster-port", &bus.to_string()])
            .args(["--cluster-node-timeout", "5000"]);
        }
        if let Some(tls) = &self.tls {
            cmd.args(["--tls-port", &tls.port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .args(["--tls-auth-clients", "no"]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot run redis-server (is it installed?): {e}"),
            )
        })?;
        let started = Instant::now();
        while started.elapsed() < START_PATIENCE {
            if let Some(status) = child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "redis-server exited at start ({status}); see {}",
                    self.dir.join("redis.log").display()
                )));
            }
            if ping(self.port, self.password.as_deref()) {
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(std::io::Error::other("redis-server did not answer PING"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The masters of a Redis Cluster of our own, each a `RedisServer` in a directory of its own
/// (`node-0`, `node-1`, …) on free loopback ports, with no replicas.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` cluster-enabled servers under `dir` (`durable` as for
    /// `RedisServer::start`), joins them into one cluster sharing the 16,384 slots
    /// (`redis-cli --cluster create`), and waits until every node says `cluster_state:ok`.
    pub fn start(dir: &Path, masters: usize, durable: bool) -> std::io::Result<RedisCluster> {
        if masters < 3 {
            return Err(std::io::Error::other(
                "a Redis Cluster needs 3 masters or more",
            ));
        }
        let nodes = (0..masters)
            .map(|i| {
                RedisServer::start_inner(&dir.join(format!("node-{i}")), durable, None, None, true)
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let cluster = RedisCluster { nodes };
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        create.args(
            cluster
                .nodes
                .iter()
                .map(|n| format!("127.0.0.1:{}", n.port)),
        );
        create.args(["--cluster-replicas", "0", "--cluster-yes"]);
        create
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut create);
        let mut child = create.spawn().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot run redis-cli (is it installed?): {e}"),
            )
        })?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    return Err(std::io::Error::other(format!(
                        "redis-cli --cluster create failed ({status})"
                    )));
                }
                break;
            }
            if started.elapsed() > START_PATIENCE {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::other("redis-cli --cluster create hangs"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    /// Waits until every node says `cluster_state:ok` (every slot served, as it sees it).
    pub fn wait_until_ok(&self) -> std::io::Result<()> {
        let started = Instant::now();
        while started.elapsed() < START_PATIENCE {
            if self.nodes.iter().all(|n| cluster_state_ok(n.port)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::io::Error::other(
            "the Redis Cluster did not reach cluster_state:ok",
        ))
    }

    /// Every node's URL, comma-separated: `storage.redis_url` for this cluster.
    pub fn url(&self) -> String {
        self.urls().join(",")
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes (masters), in the order they were started.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// One node, to kill or restart.
    pub fn node_mut(&mut self, i: usize) -> &mut RedisServer {
        &mut self.nodes[i]
    }

    /// Moves `slots` hash slots (and their keys) from node `from` to node `to`, as an
    /// operator resharding the cluster would (`redis-cli --cluster reshard`).
    pub fn move_slots(&self, from: usize, to: usize, slots: u16) -> std::io::Result<()> {
        let (from, to) = (self.node_id(from)?, self.node_id(to)?);
        let status = Command::new("redis-cli")
            .args(["--cluster", "reshard"])
            .arg(format!("127.0.0.1:{}", self.nodes[0].port))
            .args(["--cluster-from", &from, "--cluster-to", &to])
            .args(["--cluster-slots", &slots.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "redis-cli --cluster reshard failed ({status})"
            )));
        }
        self.wait_until_ok()
    }

    /// The cluster's id of node `i` (`CLUSTER MYID`).
    fn node_id(&self, i: usize) -> std::io::Result<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.nodes[i].port.to_string(), "CLUSTER", "MYID"])
            .stdin(Stdio::null())
            .output()?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || id.is_empty() {
            return Err(std::io::Error::other("redis-cli CLUSTER MYID failed"));
        }
        Ok(id)
    }
}

/// Whether the cluster node on `port` answers `CLUSTER INFO` with `cluster_state:ok`.
fn cluster_state_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"CLUSTER INFO\r\n").is_err() {
        return false;
    }
    // The state is the first line of the answer.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while !answer.windows(14).any(|w| w == b"cluster_state:") || !answer.ends_with(b"\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
        if answer.len() > 64 * 1024 {
            return false;
        }
    }
    String::from_utf8_lossy(&answer).contains("cluster_state:ok")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether a Redis on `port` answers PING (after AUTH when it has a password).
fn ping(port: u16, password: Option<&str>) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut request = Vec::new();
    let mut expected = Vec::new();
    if let Some(password) = password {
        request.extend_from_slice(format!("AUTH {password}\r\n").as_bytes());
        expected.extend_from_slice(b"+OK\r\n");
    }
    request.extend_from_slice(b"PING\r\n");
    expected.extend_from_slice(b"+PONG\r\n");
    if stream.write_all(&request).is_err() {
        return false;
    }
    let mut answer = vec![0u8; expected.len()];
    stream.read_exact(&mut answer).is_ok() && answer == expected
}

/// Asks Linux to kill the server when the thread that started it ends, so that a test
/// process that dies never leaves a server running.
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
