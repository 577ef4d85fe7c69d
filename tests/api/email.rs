//! Outgoing mail through a real SMTP server: Python's aiosmtpd (scripts/test installs Debian's
//! python3-aiosmtpd) on a free loopback port, keeping what it receives in a Maildir. Python's
//! own email parser reads the message back, so the test sees it as a mail reader decodes it,
//! not as lettre encoded it.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seatbroker::email::{outbox, Email, Mailer};
use seatbroker::settings::Settings;
use serde_json::Value;

/// How long a starting server may take to greet, and a sent message to show up.
const PATIENCE: Duration = Duration::from_secs(30);

/// Prints every message of the Maildir `argv[1]` as a JSON list, decoded by Python's email
/// package: the envelope recipients aiosmtpd recorded, the From and To headers, the subject
/// and the text.
const READ_MAILDIR: &str = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
out = []
for key in sorted(box.keys()):
    with box.get_file(key) as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    to = m["To"].addresses[0]
    out.append({
        "rcpt_to": m["X-RcptTo"],
        "from": m["From"].addresses[0].addr_spec,
        "to": to.addr_spec,
        "to_name": to.display_name,
        "subject": m["Subject"],
        "text": m.get_content(),
    })
json.dump(out, sys.stdout)
"#;

/// A running aiosmtpd of our own, killed on drop.
struct SmtpServer {
    child: Child,
    python: &'static str,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts aiosmtpd on a free port and waits for its greeting; another free port if the
    /// first was taken before the server bound it.
    async fn start() -> SmtpServer {
        let python = python_with_aiosmtpd();
        let mut last_log = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let log = std::fs::File::create(dir.path().join("aiosmtpd.log")).expect("log file");
            let child = Command::new(python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.path().join("maildir"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{python} -m aiosmtpd starts: {e}"));
            let mut server = SmtpServer {
                child,
                python,
                port,
                dir,
            };
            if server.wait_ready().await {
                return server;
            }
            last_log = server.log();
        }
        panic!("aiosmtpd did not start on any of 5 ports:\n{last_log}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("aiosmtpd.log")).unwrap_or_default()
    }

    /// Waits until the server greets with `220`; false if it exited (its port was taken).
    async fn wait_ready(&mut self) -> bool {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut greeting = String::new();
                if BufReader::new(stream).read_line(&mut greeting).is_ok()
                    && greeting.starts_with("220")
                {
                    return true;
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "aiosmtpd not ready within {PATIENCE:?}:\n{}",
                self.log()
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages received so far, decoded by Python's email package.
    fn received(&self) -> Vec<Value> {
        let maildir = self.dir.path().join("maildir");
        let out = Command::new(self.python)
            .args(["-c", READ_MAILDIR])
            .arg(&maildir)
            .output()
            .expect("python reads the maildir");
        assert!(
            out.status.success(),
            "reading {}: {}",
            maildir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("a JSON list of messages")
    }

    /// Waits until `count` messages have arrived, and returns them.
    async fn wait_for(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{count} messages not received within {PATIENCE:?}, only {received:?}:\n{}",
                self.log()
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first Python that imports aiosmtpd: the one on PATH, or Debian's, where
/// python3-aiosmtpd installs it when PATH leads to another Python.
fn python_with_aiosmtpd() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or_else(|| {
            panic!(
                "no python3 imports aiosmtpd: run scripts/test once, which installs Debian's \
                 python3-aiosmtpd"
            )
        })
}

#[actix_rt::test]
async fn email_sent_through_a_real_smtp_server_arrives_with_subject_and_body() {
    let server = SmtpServer::start().await;
    let port = server.port.to_string();
    let env = [
        ("SEATBROKER__EMAIL__TRANSPORT", "smtp"),
        ("SEATBROKER__EMAIL__FROM", "Lizenzen <lizenzen@example.com>"),
        ("SEATBROKER__EMAIL__SMTP_HOST", "127.0.0.1"),
        ("SEATBROKER__EMAIL__SMTP_PORT", port.as_str()),
        ("SEATBROKER__EMAIL__SMTP_TLS", "none"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let settings = Settings::load_from(None, env).expect("settings");
    let storage = tempfile::tempdir().expect("temp dir");
    let mailer = Mailer::new(&settings.email, storage.path()).expect("mailer");

    let text = "Hallo Jörg,\n\nIhre Einladung für den Pool „Straßenbau“ ist da.\n";
    mailer
        .send(Email {
            to: "joerg@example.com".into(),
            to_name: "Jörg Müller".into(),
            subject: "Grüße vom Lizenzserver".into(),
            text: text.into(),
        })
        .await
        .expect("the server accepts the message");

    let received = server.wait_for(1).await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let message = &received[0];
    assert_eq!(message["rcpt_to"], "joerg@example.com", "{message:#}");
    assert_eq!(message["from"], "lizenzen@example.com", "{message:#}");
    assert_eq!(message["to"], "joerg@example.com", "{message:#}");
    assert_eq!(message["to_name"], "Jörg Müller", "{message:#}");
    assert_eq!(message["subject"], "Grüße vom Lizenzserver", "{message:#}");
    let got = message["text"]
        .as_str()
        .unwrap_or_default()
        .replace("\r\n", "\n");
    assert_eq!(got.trim_end(), text.trim_end(), "{message:#}");
    assert!(
        !outbox(storage.path()).exists(),
        "nothing goes to the outbox when sending through SMTP"
    );
}
