//! Outgoing mail: the `Mailer` that sends a plain-text `Email` the way `[email]` says, either
//! into the outbox (one `.eml` file per message under `storage.path/outbox`, so that the broker
//! runs with no mail server) or through an SMTP server, with lettre's async transports on the
//! tokio runtime the caller runs on. What is sent, to whom and in which words is decided by the
//! portal, not here; this module only puts a message together and hands it over.

use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

use lettre::address::AddressError;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{
    Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::settings::{EmailSettings, EmailTransport, SmtpTls};

/// One plain-text message to one recipient; any Unicode in the name, subject and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address, such as `ada@example.com`.
    pub to: String,
    /// The recipient's name as shown by mail readers; empty for none. One line: control
    /// characters, line breaks among them, become spaces.
    pub to_name: String,
    /// The subject line, made one line like `to_name`.
    pub subject: String,
    /// The body, plain text.
    pub text: String,
}

/// Why a mailer could not be built or a message not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// `email.from` is not a mailbox.
    #[error("the sender {from:?} is not a mailbox: {source}")]
    InvalidSender {
        /// The sender as configured.
        from: String,
        /// What is wrong with it.
        #[source]
        source: AddressError,
    },
    /// The recipient is not an email address.
    #[error("the recipient {to:?} is not an email address: {source}")]
    InvalidRecipient {
        /// The recipient as given.
        to: String,
        /// What is wrong with it.
        #[source]
        source: AddressError,
    },
    /// Only one of `email.smtp_user` and `email.smtp_password` is set.
    #[error("email.smtp_user and email.smtp_password must be set together, or both unset")]
    IncompleteCredentials,
    /// The message could not be put together.
    #[error("the message cannot be built: {0}")]
    Message(#[from] lettre::error::Error),
    /// The outbox directory could not be created.
    #[error("the outbox {} cannot be created: {source}", path.display())]
    Outbox {
        /// The outbox directory.
        path: PathBuf,
        /// Why it could not be created.
        #[source]
        source: std::io::Error,
    },
    /// The message could not be written into the outbox.
    #[error("the message cannot be written into the outbox: {0}")]
    File(#[from] lettre::transport::file::Error),
    /// The SMTP server could not be reached or refused the message, or TLS failed.
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// Sends `Email`s from `email.from` through the transport `[email]` chose.
#[derive(Debug, Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

/// Where messages go. The SMTP transport opens a connection per message (no pool, see
/// Cargo.toml), so that a mailer shared by the HTTP workers holds no socket of one worker's
/// runtime.
#[derive(Debug, Clone)]
enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// A mailer for `settings`; the file transport creates `outbox(storage_path)` if missing.
    pub fn new(settings: &EmailSettings, storage_path: &Path) -> Result<Mailer, EmailError> {
        let from = settings
            .from
            .parse()
            .map_err(|source| EmailError::InvalidSender {
                from: settings.from.clone(),
                source,
            })?;
        let transport = match settings.transport {
            EmailTransport::File => {
                let path = outbox(storage_path);
                std::fs::create_dir_all(&path).map_err(|source| EmailError::Outbox {
                    path: path.clone(),
                    source,
                })?;
                Transport::File(AsyncFileTransport::new(path))
            }
            EmailTransport::Smtp => Transport::Smtp(smtp_transport(settings)?),
        };
        Ok(Mailer { from, transport })
    }

    /// Sends `email`: written into the outbox, or accepted by the SMTP server, when this
    /// returns `Ok`.
    pub async fn send(&self, email: Email) -> Result<(), EmailError> {
        let message = self.message(email)?;
        match &self.transport {
            Transport::File(file) => {
                file.send(message).await?;
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
        }
        Ok(())
    }

    /// `email` as a MIME message: lettre encodes a non-ASCII name or subject as RFC 2047
    /// encoded words and picks a transfer encoding for the UTF-8 body that any server takes.
    fn message(&self, email: Email) -> Result<Message, EmailError> {
        let address: Address = email
            .to
            .parse()
            .map_err(|source| EmailError::InvalidRecipient {
                to: email.to.clone(),
                source,
            })?;
        let name = one_line(&email.to_name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), address);
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&email.subject))
            .header(ContentType::TEXT_PLAIN)
            .body(email.text)?)
    }
}

/// `text` as one header line: control characters (line breaks among them) become spaces,
/// and the ends are trimmed. A header cannot hold a line break, and lettre panics on one in a
/// display name rather than encoding it.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The SMTP transport of `settings`: TLS (rustls on ring, certificates checked against the
/// webpki roots) as `email.smtp_tls` says, and credentials when set.
fn smtp_transport(
    settings: &EmailSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, EmailError> {
    type Smtp = AsyncSmtpTransport<Tokio1Executor>;
    let host = settings.smtp_host.as_str();
    let builder = match settings.smtp_tls {
        SmtpTls::None => Smtp::builder_dangerous(host),
        SmtpTls::Starttls => Smtp::starttls_relay(host)?,
        SmtpTls::Tls => Smtp::relay(host)?,
    };
    let builder = builder.port(settings.smtp_port);
    let builder = match (&settings.smtp_user, &settings.smtp_password) {
        (Some(user), Some(password)) => builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        )),
        (None, None) => builder,
        _ => return Err(EmailError::IncompleteCredentials),
    };
    Ok(builder.build())
}

/// The outbox of the file transport: `outbox` under the storage directory.
pub fn outbox(storage_path: &Path) -> PathBuf {
    storage_path.join("outbox")
}

/// The `.eml` messages in `dir`, oldest first by modification time (then by file name, as
/// files written within one clock tick share a time); for tests, and for operators who run
/// without SMTP and want to see what would have been sent.
pub fn read_outbox(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") && entry.file_type()?.is_file() {
            messages.push((entry.metadata()?.modified()?, path));
        }
    }
    messages.sort();
    messages
        .into_iter()
        .map(|(_, path)| std::fs::read_to_string(path))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    /// The default `[email]` settings with the given variables on top.
    fn settings(vars: &[(&str, &str)]) -> EmailSettings {
        let env = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load_from(None, env).expect("settings load").email
    }

    fn email(to: &str, to_name: &str, subject: &str, text: &str) -> Email {
        Email {
            to: to.into(),
            to_name: to_name.into(),
            subject: subject.into(),
            text: text.into(),
        }
    }

    /// The header lines of a raw message, unfolded.
    fn headers(raw: &str) -> Vec<String> {
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match lines.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => lines.push(line.to_owned()),
            }
        }
        lines
    }

    fn body(raw: &str) -> &str {
        raw.split_once("\r\n\r\n").map_or("", |(_, body)| body)
    }

    #[actix_rt::test]
    async fn the_file_transport_writes_one_eml_per_message_into_the_outbox() {
        let storage = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&settings(&[]), storage.path()).expect("mailer");
        assert!(outbox(storage.path()).is_dir(), "the outbox is created");

        mailer
            .send(email(
                "ada@example.com",
                "Ada Lovelace",
                "Your invite",
                "Join pool alpha.\nSee you there.",
            ))
            .await
            .expect("sent");
        mailer
            .send(email("joerg@example.com", "Jörg", "Grüße", "Schöne Grüße"))
            .await
            .expect("sent");

        let messages = read_outbox(&outbox(storage.path())).expect("outbox read");
        assert_eq!(messages.len(), 2, "{messages:#?}");
        let find = |to: &str| {
            messages
                .iter()
                .find(|m| {
                    headers(m)
                        .iter()
                        .any(|h| h.starts_with("To: ") && h.contains(to))
                })
                .unwrap_or_else(|| panic!("a message to {to}: {messages:#?}"))
        };

        let ascii = find("<ada@example.com>");
        let ascii_headers = headers(ascii);
        assert!(
            ascii_headers.contains(&"From: seatbroker <no-reply@localhost>".to_owned()),
            "{ascii}"
        );
        assert!(
            ascii_headers.contains(&"To: \"Ada Lovelace\" <ada@example.com>".to_owned()),
            "{ascii}"
        );
        assert!(
            ascii_headers.contains(&"Subject: Your invite".to_owned()),
            "{ascii}"
        );
        assert_eq!(body(ascii), "Join pool alpha.\r\nSee you there.", "{ascii}");

        // Non-ASCII travels encoded, here all as base64 of the UTF-8 bytes (checked with
        // coreutils' base64): "Jörg" and "Grüße" as RFC 2047 encoded words, the body "Schöne
        // Grüße" with Content-Transfer-Encoding base64. The API test has a real mail parser
        // decode a message.
        let utf8 = find("<joerg@example.com>");
        let utf8_headers = headers(utf8);
        assert!(
            utf8_headers.contains(&"To: =?utf-8?b?SsO2cmc=?= <joerg@example.com>".to_owned()),
            "{utf8}"
        );
        assert!(
            utf8_headers.contains(&"Subject: =?utf-8?b?R3LDvMOfZQ==?=".to_owned()),
            "{utf8}"
        );
        assert!(
            utf8_headers.contains(&"Content-Type: text/plain; charset=utf-8".to_owned()),
            "{utf8}"
        );
        assert_eq!(body(utf8), "U2Now7ZuZSBHcsO8w59l", "{utf8}");
    }

    #[actix_rt::test]
    async fn an_invalid_recipient_is_refused_with_a_typed_error() {
        let storage = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&settings(&[]), storage.path()).expect("mailer");
        for to in [
            "",
            "not an address",
            "ada@",
            "@example.com",
            "ada@exa mple.com",
            "a\r\nb@example.com",
        ] {
            let err = mailer
                .send(email(to, "Ada", "Hello", "Hello"))
                .await
                .expect_err(to);
            assert!(
                matches!(&err, EmailError::InvalidRecipient { to: given, .. } if given == to),
                "{to:?}: {err:?}"
            );
        }
        assert!(read_outbox(&outbox(storage.path())).unwrap().is_empty());
    }

    #[actix_rt::test]
    async fn line_breaks_in_the_name_or_subject_add_no_header() {
        let storage = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&settings(&[]), storage.path()).expect("mailer");
        mailer
            .send(email(
                "ada@example.com",
                "Ada\r\nBcc: eve@example.com",
                "Hello\r\nBcc: eve@example.com",
                "Hello",
            ))
            .await
            .expect("sent");
        let messages = read_outbox(&outbox(storage.path())).unwrap();
        assert_eq!(messages.len(), 1);
        assert!(
            !headers(&messages[0]).iter().any(|h| h.starts_with("Bcc")),
            "{}",
            messages[0]
        );
    }

    #[test]
    fn smtp_mailers_build_for_every_tls_mode_and_refuse_half_credentials() {
        let storage = tempfile::tempdir().unwrap();
        for tls in ["none", "starttls", "tls"] {
            let s = settings(&[
                ("SEATBROKER__EMAIL__TRANSPORT", "smtp"),
                ("SEATBROKER__EMAIL__SMTP_TLS", tls),
                ("SEATBROKER__EMAIL__SMTP_USER", "broker"),
                ("SEATBROKER__EMAIL__SMTP_PASSWORD", "secret"),
            ]);
            Mailer::new(&s, storage.path()).unwrap_or_else(|e| panic!("{tls}: {e}"));
        }
        assert!(!outbox(storage.path()).exists(), "SMTP needs no outbox");

        let mut s = settings(&[("SEATBROKER__EMAIL__TRANSPORT", "smtp")]);
        s.smtp_user = Some("broker".into());
        assert!(matches!(
            Mailer::new(&s, storage.path()),
            Err(EmailError::IncompleteCredentials)
        ));
        let mut s = settings(&[]);
        s.from = "no mailbox".into();
        assert!(matches!(
            Mailer::new(&s, storage.path()),
            Err(EmailError::InvalidSender { .. })
        ));
    }
}
