//! Issue 16, offline activation, on the offline computer's side: making an offline request,
//! the small HTML file that carries it to a computer that is online (it opens the broker
//! portal's `/offline` page with the request filled in, with no script and no server needed
//! to read it), and `OfflineActivation`, which keeps the pending request and, once the user
//! brings the broker's answer back, the signed license in a directory the application
//! chooses. The license is checked with no network against the broker's public keys, which
//! the application takes from its settings (`OfflineKeys`), and checked again each time it
//! is read, so a file changed on disk is refused. The formats themselves, and their strict
//! reading, are `seatbroker_api::offline`'s, shared with the broker; nothing here talks to
//! the broker or reads the clock (callers pass `now`).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use seatbroker_api::offline::{decode_public_key, OfflineFormatError, MAX_REQUEST_AGE_MS};
use time::OffsetDateTime;

pub use ed25519_dalek::VerifyingKey;
pub use seatbroker_api::offline::{OfflineLicense, OfflineRequest};

use crate::Platform;

/// The pending request in an `OfflineActivation`'s directory (JSON).
pub const PENDING_FILE: &str = "offline-request.json";

/// The request file for the user to carry, in the same directory (HTML).
pub const REQUEST_HTML_FILE: &str = "offline-request.html";

/// The license the broker signed, in the same directory (its text as received).
pub const LICENSE_FILE: &str = "offline-license.sblic";

/// The most of a stored file read: far above any real one, so a huge file is refused at once.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// A query value: everything but RFC 3986's unreserved characters is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the offline seat is to be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfflineTarget {
    /// In the pool the broker picks for the account (S8's order).
    Any,
    /// In this pool, `P-...`.
    Pool(String),
    /// In the pool this invite code opens, joining it first.
    InviteCode(String),
}

/// Why an offline activation step failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The license is not one the broker signed as it reads now: changed, cut or not a license.
    #[error("the offline license file is damaged or has been changed")]
    Tampered,
    /// The license is signed by a key not among the configured ones (its key id).
    #[error(
        "the offline license is signed by an unknown key ({0}); check the broker's public keys"
    )]
    UnknownKey(String),
    /// No request is waiting for this license, or it answers another request.
    #[error("this offline license does not answer the request waiting on this computer")]
    Replayed,
    /// The license is for another device or platform.
    #[error("this offline license is for another device")]
    ForeignDevice,
    /// The request it answers is more than 7 days old, or was answered more than 7 days late.
    #[error("the offline request this license answers is more than 7 days old; make a new one")]
    Expired,
    /// A request cannot be made from these values (the reason says which).
    #[error("cannot make an offline request: {0}")]
    InvalidRequest(String),
    /// A configured public key cannot be read (the reason says why).
    #[error("an offline public key cannot be read: {0}")]
    BadPublicKey(String),
    /// Reading or writing the directory failed.
    #[error("offline activation storage: {0}")]
    Io(#[from] io::Error),
}

impl From<OfflineFormatError> for OfflineError {
    fn from(e: OfflineFormatError) -> OfflineError {
        match e {
            OfflineFormatError::UnknownKey(id) => OfflineError::UnknownKey(id),
            OfflineFormatError::Malformed(_) | OfflineFormatError::BadSignature => {
                OfflineError::Tampered
            }
        }
    }
}

/// The broker's public keys that offline licenses are checked against: the current one and
/// the retired ones of `GET /v1/offline/public-key`. Derefs to the slice the checks take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineKeys(Vec<VerifyingKey>);

impl OfflineKeys {
    /// Reads keys as the broker publishes them (base64url, 32 bytes), from a setting.
    pub fn parse<S: AsRef<str>>(keys: &[S]) -> Result<OfflineKeys, OfflineError> {
        keys.iter()
            .map(|text| {
                decode_public_key(text.as_ref()).map_err(|e| match e {
                    OfflineFormatError::Malformed(reason) => OfflineError::BadPublicKey(reason),
                    other => OfflineError::BadPublicKey(other.to_string()),
                })
            })
            .collect::<Result<_, _>>()
            .map(OfflineKeys)
    }

    /// The keys.
    pub fn as_slice(&self) -> &[VerifyingKey] {
        &self.0
    }
}

impl Deref for OfflineKeys {
    type Target = [VerifyingKey];

    fn deref(&self) -> &[VerifyingKey] {
        &self.0
    }
}

/// A new offline request for this device at `now`, with a fresh random nonce; refused when
/// the broker would refuse it (an empty or overlong device id, a web platform, ...).
pub fn new_request(
    device_id: &str,
    platform: Platform,
    target: &OfflineTarget,
    now: OffsetDateTime,
) -> Result<OfflineRequest, OfflineError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let (pool, invite_code) = match target {
        OfflineTarget::Any => (None, None),
        OfflineTarget::Pool(pool) => (Some(pool.clone()), None),
        OfflineTarget::InviteCode(code) => (None, Some(code.clone())),
    };
    let request = OfflineRequest {
        v: 1,
        nonce: hex(&nonce),
        device_id: device_id.to_owned(),
        platform,
        pool,
        invite_code,
        created_at_ms: unix_ms(now),
    };
    // The broker reads the text with these very rules: check them here, where the user can
    // still be told, not after a trip to another computer.
    match OfflineRequest::decode(&request.encode()) {
        Ok(_) => Ok(request),
        Err(OfflineFormatError::Malformed(reason)) => Err(OfflineError::InvalidRequest(reason)),
        Err(other) => Err(OfflineError::InvalidRequest(other.to_string())),
    }
}

/// The request file for the user to carry: a self-contained HTML page (no script, nothing
/// fetched) saying what it is, with a link to `{portal_url}/offline?request=...` and the
/// request's text to paste by hand. `portal_url` is the portal's `http(s)://` address.
pub fn request_file_html(request: &OfflineRequest, portal_url: &str) -> String {
    let text = request.encode();
    let page = format!("{}/offline", portal_url.trim_end_matches('/'));
    let link = format!("{page}?request={}", utf8_percent_encode(&text, QUERY_VALUE));
    let target = match (&request.pool, &request.invite_code) {
        (Some(pool), _) => format!("<dt>Pool</dt>\n<dd>{}</dd>\n", escape(pool)),
        (None, Some(code)) => format!("<dt>Invite code</dt>\n<dd>{}</dd>\n", escape(code)),
        (None, None) => "<dt>Pool</dt>\n<dd>Chosen by the broker for your account</dd>\n".into(),
    };
    let (machine_time, shown_time) = times(request.created_at_ms);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Offline activation request for seatbroker</title>
<style>
body {{ margin: 0; background: #ffffff; color: #1f1f1f; font: 1rem/1.5 system-ui, sans-serif; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem; }}
h1 {{ font-size: 1.6rem; }}
h2 {{ font-size: 1.2rem; margin-top: 2rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0; overflow-wrap: anywhere; }}
a.action {{ display: inline-block; padding: 0.6rem 1.2rem; border-radius: 0.3rem;
  background: #0b4f8a; color: #ffffff; font-weight: 600; text-decoration: none; }}
a.action:hover {{ background: #083a66; text-decoration: underline; }}
a.action:focus-visible {{ outline: 3px solid #1f1f1f; outline-offset: 3px; }}
code {{ overflow-wrap: anywhere; }}
label {{ display: block; font-weight: 600; margin-bottom: 0.25rem; }}
textarea {{ box-sizing: border-box; width: 100%; padding: 0.5rem; border: 1px solid #5c5c5c;
  background: #f7f7f7; color: #1f1f1f; font: 0.9rem/1.4 ui-monospace, monospace;
  word-break: break-all; }}
textarea:focus-visible {{ outline: 3px solid #0b4f8a; outline-offset: 1px; }}
</style>
</head>
<body>
<main>
<h1>Offline activation request for seatbroker</h1>
<p>This file was made by an application on a computer without an internet connection. It asks
the seatbroker license service for a seat for that computer. It holds no password and no
license: only what is listed below.</p>
<h2>What to do</h2>
<ol>
<li>On a computer that is online, select the link below. It opens the activation page with this
request filled in.</li>
<li>Log in and accept the request. You get a license file back.</li>
<li>Take the license file to the offline computer and open it in the application there.</li>
</ol>
<p><a class="action" href="{link}">Open the activation page</a></p>
<h2>Request details</h2>
<dl>
<dt>Device</dt>
<dd>{device}</dd>
<dt>Platform</dt>
<dd>{platform}</dd>
{target}<dt>Made at</dt>
<dd><time datetime="{machine_time}">{shown_time}</time></dd>
</dl>
<p>The request must be accepted within 7 days of being made.</p>
<h2>If the link does not work</h2>
<p>Open <code>{page}</code> in a web browser, log in, and paste the text below into it.</p>
<label for="offline-request">Offline request</label>
<textarea id="offline-request" rows="5" readonly spellcheck="false">{text}</textarea>
</main>
</body>
</html>
"#,
        link = escape(&link),
        device = escape(&request.device_id),
        platform = platform_name(request.platform),
        page = escape(&page),
        text = escape(&text),
    )
}

/// An application's offline activation, kept in one directory of its choosing: the pending
/// request, the request file for the user, and the license once the broker answered.
/// The files are written whole or not at all (a temporary file renamed into place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineActivation {
    dir: PathBuf,
}

impl OfflineActivation {
    /// The offline activation kept in `dir` (created when something is first written).
    pub fn new(dir: impl Into<PathBuf>) -> OfflineActivation {
        OfflineActivation { dir: dir.into() }
    }

    /// The directory it is kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes a new request for this device at `now`, keeps it as the pending one (an earlier
    /// pending request is forgotten), and writes the request file for the user; its path.
    pub fn begin(
        &self,
        device_id: &str,
        platform: Platform,
        target: &OfflineTarget,
        portal_url: &str,
        now: OffsetDateTime,
    ) -> Result<PathBuf, OfflineError> {
        let scheme_ok = ["https://", "http://"].iter().any(|scheme| {
            portal_url
                .get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
        if !scheme_ok {
            return Err(OfflineError::InvalidRequest(
                "the portal's address must start with https:// or http://".into(),
            ));
        }
        let request = new_request(device_id, platform, target, now)?;
        fs::create_dir_all(&self.dir)?;
        let pending = serde_json::to_vec_pretty(&request).map_err(io::Error::other)?;
        write_atomically(&self.dir.join(PENDING_FILE), &pending)?;
        let html_path = self.dir.join(REQUEST_HTML_FILE);
        write_atomically(
            &html_path,
            request_file_html(&request, portal_url).as_bytes(),
        )?;
        Ok(html_path)
    }

    /// The request waiting for its license, if any.
    pub fn pending(&self) -> Result<Option<OfflineRequest>, OfflineError> {
        let Some(bytes) = read_limited(&self.dir.join(PENDING_FILE))? else {
            return Ok(None);
        };
        let request = serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(Some(request))
    }

    /// Applies the license the user brought back: checks its signature against `keys`, that
    /// it answers the pending request of this device and is not older than 7 days at `now`,
    /// then keeps it and forgets the pending request. The license it checked.
    pub fn complete(
        &self,
        license_text: &str,
        keys: &[VerifyingKey],
        now: OffsetDateTime,
    ) -> Result<OfflineLicense, OfflineError> {
        let license = OfflineLicense::verify(license_text, keys)?;
        let request = self.pending()?.ok_or(OfflineError::Replayed)?;
        if license.device_id != request.device_id || license.platform != request.platform {
            return Err(OfflineError::ForeignDevice);
        }
        if license.nonce != request.nonce || license.request_created_at_ms != request.created_at_ms
        {
            return Err(OfflineError::Replayed);
        }
        let age = unix_ms(now).saturating_sub(request.created_at_ms);
        let answered_after = license
            .issued_at_ms
            .saturating_sub(license.request_created_at_ms);
        if age > MAX_REQUEST_AGE_MS || answered_after > MAX_REQUEST_AGE_MS {
            return Err(OfflineError::Expired);
        }
        // Kept as received, so that `current` checks the very bytes the broker signed.
        write_atomically(&self.dir.join(LICENSE_FILE), license_text.as_bytes())?;
        remove_if_present(&self.dir.join(PENDING_FILE))?;
        remove_if_present(&self.dir.join(REQUEST_HTML_FILE))?;
        Ok(license)
    }

    /// The kept license of `device_id`, checked again against `keys`; none before `complete`.
    pub fn current(
        &self,
        keys: &[VerifyingKey],
        device_id: &str,
    ) -> Result<Option<OfflineLicense>, OfflineError> {
        let Some(bytes) = read_limited(&self.dir.join(LICENSE_FILE))? else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes).map_err(|_| OfflineError::Tampered)?;
        let license = OfflineLicense::verify(&text, keys)?;
        if license.device_id != device_id {
            return Err(OfflineError::ForeignDevice);
        }
        Ok(Some(license))
    }
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// A request's time for machines (RFC 3339) and for people (`2027-03-01 08:00 UTC`).
fn times(ms: u64) -> (String, String) {
    let at = i128::from(ms)
        .checked_mul(1_000_000)
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok());
    match at {
        Some(at) => {
            let date = format!(
                "{:04}-{:02}-{:02}",
                at.year(),
                u8::from(at.month()),
                at.day()
            );
            let clock = format!("{:02}:{:02}", at.hour(), at.minute());
            (
                format!("{date}T{clock}:{:02}Z", at.second()),
                format!("{date} {clock} UTC"),
            )
        }
        // Out of `time`'s range: no real clock says so, but show what the request says.
        None => (String::new(), format!("{ms} ms after 1970 (UTC)")),
    }
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Windows => "Windows",
        Platform::Mac => "macOS",
        Platform::Web => "Web browser",
    }
}

/// `text` safe inside HTML text and double- or single-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so a reader
/// sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{:016x}.tmp", fastrand::u64(..)));
    let written = File::create_new(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    });
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // Make the rename itself durable where directories can be synced.
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The bytes of `path`, none when it does not exist; a file larger than any real one is
/// cut at the limit (the checks then refuse it).
fn read_limited(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> OfflineRequest {
        OfflineRequest {
            v: 1,
            nonce: "0123456789abcdef0123456789abcdef".into(),
            device_id: "lab <pc> & \"co\"".into(),
            platform: Platform::Mac,
            pool: None,
            invite_code: Some("I-'7K2M9Q'".into()),
            created_at_ms: 1_800_000_000_000,
        }
    }

    #[test]
    fn the_request_file_escapes_what_it_shows_and_links_to_the_portal() {
        let html = request_file_html(&request(), "https://portal.example/");
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<title>Offline activation request for seatbroker</title>"));
        assert!(html.contains("<dd>lab &lt;pc&gt; &amp; &quot;co&quot;</dd>"));
        assert!(html.contains("<dd>I-&#39;7K2M9Q&#39;</dd>"));
        assert!(html.contains("<dd>macOS</dd>"));
        assert!(html.contains(">2027-01-15 08:00 UTC</time>"));
        let text = request().encode();
        let href = format!(
            "href=\"https://portal.example/offline?request={text}\">Open the activation page</a>"
        );
        assert!(html.contains(&href), "{html}");
        assert!(html.contains(&format!("readonly spellcheck=\"false\">{text}</textarea>")));
        assert!(html.contains("<label for=\"offline-request\">Offline request</label>"));
        for absent in ["<script", "src=", "<link", "url(", "@import"] {
            assert!(!html.contains(absent), "{absent}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded_beyond_base64url() {
        assert_eq!(
            utf8_percent_encode("SBOR1.aZ09-_~+/=&", QUERY_VALUE).to_string(),
            "SBOR1.aZ09-_~%2B%2F%3D%26"
        );
    }

    #[test]
    fn a_new_request_is_refused_here_when_the_broker_would_refuse_it() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let ok = new_request("pc", Platform::Windows, &OfflineTarget::Any, now).unwrap();
        assert_eq!((ok.v, ok.nonce.len(), ok.created_at_ms), (1, 32, 0));
        let other = new_request("pc", Platform::Windows, &OfflineTarget::Any, now).unwrap();
        assert_ne!(ok.nonce, other.nonce);
        for (device, platform) in [("", Platform::Mac), ("pc", Platform::Web)] {
            assert!(matches!(
                new_request(device, platform, &OfflineTarget::Any, now),
                Err(OfflineError::InvalidRequest(_))
            ));
        }
    }
}
