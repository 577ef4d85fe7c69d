//! The real binary: exit codes, SIGTERM, and restarting on the same data directory.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::BrokerProcess;

#[test]
fn a_bad_setting_exits_2_naming_the_key_and_the_allowed_values() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_seatbroker"))
        .arg("serve")
        .env("SEATBROKER__STORAGE__PATH", data.path())
        .env("SEATBROKER__STORAGE__BACKEND", "postgres")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage.backend"), "{stderr}");
    assert!(stderr.contains("embedded, redis"), "{stderr}");
}

#[test]
fn sigterm_stops_the_broker_with_exit_0_within_10_s() {
    let data = tempfile::tempdir().unwrap();
    let mut broker = BrokerProcess::start(data.path());
    let health = reqwest::blocking_get(&format!("{}/healthz", broker.address));
    assert_eq!(health, 200);
    let asked = Instant::now();
    broker.signal("TERM");
    let code = broker.wait_exit(Duration::from_secs(10));
    assert_eq!(
        code,
        Some(0),
        "exit 0 within 10 s (took {:?})",
        asked.elapsed()
    );
}

#[test]
fn the_broker_starts_again_on_the_same_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let mut first = BrokerProcess::start(data.path());
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(10)), Some(0));
    let second = BrokerProcess::start(data.path());
    assert_eq!(
        reqwest::blocking_get(&format!("{}/healthz", second.address)),
        200
    );
}

/// A tiny blocking GET for process tests (no async runtime here); returns the status.
mod reqwest {
    pub fn blocking_get(url: &str) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            ::reqwest::get(url)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }
}
