//! A stable device id for `AcquireRequest::device_id` (S2: the same device gets the same
//! seat back): the machine's id hashed together with the application's name, so the raw
//! machine id never leaves the machine and two applications see different ids. Where the
//! machine has no id, a random one is generated once and kept in a file the caller names.
//! Nothing here talks to the broker.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Where Linux and other systemd or D-Bus systems keep the machine id, in the order tried.
const MACHINE_ID_FILES: [&str; 2] = ["/etc/machine-id", "/var/lib/dbus/machine-id"];

/// A stable id of this device for `app_name`: 64 hex digits of SHA-256 over the machine id
/// (`/etc/machine-id`, then `/var/lib/dbus/machine-id`) and `app_name`. Without a machine
/// id, a random id is generated and kept in `fallback_file` (its directory is created), and
/// read from there next time. Fails only when that file can be neither read nor written.
pub fn stable_device_id(app_name: &str, fallback_file: &Path) -> io::Result<String> {
    let candidates = MACHINE_ID_FILES.map(Path::new);
    device_id_from(app_name, &candidates, fallback_file)
}

/// `stable_device_id` with the machine id files given (for tests and unusual systems).
pub fn device_id_from(
    app_name: &str,
    machine_id_files: &[&Path],
    fallback_file: &Path,
) -> io::Result<String> {
    let machine = machine_id_files.iter().find_map(|path| read_id(path));
    let raw = match machine {
        Some(id) => id,
        None => fallback_id(fallback_file)?,
    };
    Ok(hashed(app_name, &raw))
}

/// The id in `path`, when it holds a usable one (systemd writes `uninitialized` early in
/// the boot of a new machine).
fn read_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    (!id.is_empty() && id != "uninitialized").then(|| id.to_owned())
}

/// The id kept in `path`, generated and written first when there is none.
fn fallback_id(path: &Path) -> io::Result<String> {
    if let Some(id) = read_id(path) {
        return Ok(id);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    let id = hex(&bytes);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, format!("{id}\n"))?;
    Ok(id)
}

fn hashed(app_name: &str, raw: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"seatbroker-device-id\0");
    h.update(app_name.as_bytes());
    h.update(b"\0");
    h.update(raw.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s2_machine_id_is_hashed_per_application_and_stable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let machine = dir.path().join("machine-id");
        std::fs::write(&machine, "0123456789abcdef0123456789abcdef\n").expect("write");
        let fallback = dir.path().join("never-written");
        let a = device_id_from("app-a", &[&machine], &fallback).expect("id");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!a.contains("0123456789abcdef"), "the raw id does not leave");
        assert_eq!(
            a,
            device_id_from("app-a", &[&machine], &fallback).expect("id")
        );
        assert_ne!(
            a,
            device_id_from("app-b", &[&machine], &fallback).expect("id")
        );
        assert!(!fallback.exists());
    }

    #[test]
    fn s2_without_a_machine_id_a_generated_id_is_kept_in_the_fallback_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("no-machine-id");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "uninitialized\n").expect("write");
        let fallback = dir.path().join("state/device-id");
        let first = device_id_from("app", &[&missing, &empty], &fallback).expect("id");
        assert!(fallback.exists());
        let second = device_id_from("app", &[&missing, &empty], &fallback).expect("id");
        assert_eq!(first, second);
    }

    #[test]
    fn an_unwritable_fallback_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("write");
        let missing = dir.path().join("no-machine-id");
        // A directory cannot be created under a regular file.
        let fallback = file.join("device-id");
        assert!(device_id_from("app", &[&missing], &fallback).is_err());
    }
}
