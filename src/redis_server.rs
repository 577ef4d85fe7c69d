//! `RedisServer`: a private `redis-server` on a free loopback port in a directory of its
//! own, for the test suites, benchmarks and load tests that need a real Redis without
//! depending on one that happens to run. It is started, waited for (PING), killed and
//! restarted from its append-only file; it dies with the thread that started it, so a test
//! process that crashes leaves no server behind. The broker itself never starts Redis.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer PING.
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
        Self::start_inner(dir, durable, password, None)
    }

    /// Like `start`, also listening for TLS on a second port with this certificate and key
    /// (PEM files); clients need no certificate of their own.
    pub fn start_with_tls(dir: &Path, cert: &Path, key: &Path) -> std::io::Result<RedisServer> {
        let tls = Tls {
            port: 0,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        };
        Self::start_inner(dir, false, None, Some(tls))
    }

    fn start_inner(
        dir: &Path,
        durable: bool,
        password: Option<&str>,
        tls: Option<Tls>,
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
