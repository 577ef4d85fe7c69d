//! The `failover` command as the CLI runs it (issue 17), briefly: it starts a redis-server
//! of its own and three debug broker nodes on free loopback ports, drives hot-pool over all
//! of them, kills -9 the node owning the pool after 1.5 s of a 4 s run, and writes a report
//! naming the kill and the gap it left; every process it started is gone afterwards.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

/// The debug `seatbroker` binary beside this package's own binaries, built when missing.
fn debug_broker_binary() -> PathBuf {
    let null = Path::new(env!("CARGO_BIN_EXE_seatbroker-null"));
    let broker = null.with_file_name("seatbroker");
    if !broker.exists() {
        let built = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "seatbroker", "--bin", "seatbroker"])
            .current_dir(seatbroker_load::procs::workspace_root())
            .status()
            .expect("cargo runs");
        assert!(built.success(), "cargo build -p seatbroker");
    }
    broker
}

/// The children of this process whose command line names `what`.
fn children_running(what: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let parent = stat[stat.rfind(')')? + 2..].split_whitespace().nth(1)?;
            let cmdline = std::fs::read_to_string(entry.path().join("cmdline")).ok()?;
            (parent == me && cmdline.contains(what)).then(|| cmdline.replace('\0', " "))
        })
        .collect()
}

#[test]
fn failover_kills_the_owner_mid_run_and_reports_the_gap_until_answers_resume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("failover.json");
    let broker = debug_broker_binary();
    let cli = seatbroker_load::cli::Cli::parse_from([
        "seatbroker-load",
        "failover",
        "--nodes",
        "3",
        "--clients",
        "20",
        "--capacity",
        "5",
        "--duration",
        "4s",
        "--kill-after",
        "1.5s",
        "--quiet",
        "--broker-bin",
        broker.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    let code = seatbroker_load::cli::execute(cli);
    let text = std::fs::read_to_string(&out).expect("report written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    assert_eq!(code, 0, "{json:#}");

    let field = |name: &str| {
        json[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} is not a number in {json:#}"))
    };
    let kill_at = field("kill_at_s");
    assert!((1.5..2.5).contains(&kill_at), "killed at {kill_at} s");
    let bound = Duration::from_secs(10).as_secs_f64() * 1_000.0;
    let first = field("first_success_after_kill_ms");
    let worst = field("worst_gap_after_kill_ms");
    assert!(first > 0.0 && first < bound, "first success {first} ms");
    assert!(worst >= first && worst < bound, "worst gap {worst} ms");
    assert!(field("successes_after_kill") > 0.0, "{json:#}");
    assert_eq!(json["nodes"], 3);
    assert_eq!(json["targets"].as_array().map(Vec::len), Some(3));
    let killed = json["killed"].as_str().expect("the killed node");
    assert_ne!(json["new_owner"].as_str(), Some(killed), "{json:#}");
    // The killed node's refused connections and the others' 503s were sent on elsewhere.
    assert!(json["extra"]["failovers"].as_f64() > Some(0.0), "{json:#}");
    assert_eq!(json["violation_count"], 0, "{json:#}");
    assert!(json["pairs"].as_f64() > Some(0.0), "{json:#}");

    let left: Vec<String> = ["seatbroker serve", "redis-server"]
        .iter()
        .flat_map(|what| children_running(what))
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");
}
