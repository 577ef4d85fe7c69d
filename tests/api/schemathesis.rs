//! The API against its own description (issue 18): schemathesis (PyPI) reads a live broker's
//! `/openapi.json` and sends every operation generated requests, valid and invalid, with an
//! owner's token (and the operator token on operator routes), in every phase it has
//! (examples, coverage, fuzzing, and the stateful phase over the links it finds). Its default
//! checks must all pass: no server error, and no status code, content type, header or body
//! the description does not allow; valid bodies accepted and invalid ones refused. When it
//! fails, the spec is fixed where it is wrong, not this test.
//!
//! scripts/test installs the pinned schemathesis into `target/schemathesis` and names it in
//! `SEATBROKER_SCHEMATHESIS`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::helpers::{BrokerProcess, TestBroker, OPERATOR_TOKEN};

/// Test cases per operation and phase (schemathesis' `--max-examples`).
const EXAMPLES_PER_OPERATION: u32 = 25;
/// A fixed seed, so that a failure can be reproduced with the same command.
const SEED: u64 = 18;

/// The schemathesis executable scripts/test installed.
fn schemathesis() -> PathBuf {
    match std::env::var_os("SEATBROKER_SCHEMATHESIS") {
        Some(path) if PathBuf::from(&path).is_file() => PathBuf::from(path),
        Some(path) => panic!(
            "SEATBROKER_SCHEMATHESIS names {path:?}, which is not a file: run scripts/test, which installs schemathesis there"
        ),
        None => panic!(
            "SEATBROKER_SCHEMATHESIS is not set: run scripts/test, which installs schemathesis from PyPI into target/schemathesis and sets it"
        ),
    }
}

/// Schemathesis' configuration: which token each security scheme of `/openapi.json` takes.
/// Operator routes (scheme `operator`) get the operator token, every other route the
/// owner's; `DELETE /v1/pools/{pool}/seats/{seat}` takes either and gets the owner's.
///
/// Three operations refuse with 422 some bodies that their schema allows, for rules JSON
/// Schema cannot state, so for them a 422 to a schema-valid body is no failure (every other
/// check stays on): an offline request is a signed file's text (checked by its signature
/// and age); a license's `expires_at` must be in the future and a personal license has
/// exactly one seat; a seat's offline `until` must be in the future and within the pool's
/// and its licenses' limits.
fn config(owner_token: &str) -> String {
    format!(
        r#"[auth]
auto-signup = false

[auth.openapi.bearer]
bearer = "{owner_token}"

[auth.openapi.operator]
bearer = "{OPERATOR_TOKEN}"

[[operations]]
include-name = ["POST /v1/offline/activations", "POST /v1/operator/licenses", "POST /v1/seats/{{seat}}/offline"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]
"#
    )
}

#[actix_rt::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_spec() {
    let schemathesis = schemathesis();
    let data = tempfile::tempdir().expect("temp dir");
    let process = BrokerProcess::start(&data.path().join("broker"));
    let broker = TestBroker::at(&process.address);
    // An owner with a large pool, so that no seat request waits for a free seat.
    let (owner_token, _pool) = broker
        .owner_with_license("fuzz-owner@example.com", 10_000)
        .await;
    let work = data.path().join("schemathesis");
    std::fs::create_dir_all(&work).expect("work dir");
    let config_file = work.join("schemathesis.toml");
    std::fs::write(&config_file, config(&owner_token)).expect("config written");

    let started = Instant::now();
    let out = Command::new(&schemathesis)
        .current_dir(&work)
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(format!("{}/openapi.json", process.address))
        .args(["--max-examples", &EXAMPLES_PER_OPERATION.to_string()])
        .args(["--seed", &SEED.to_string()])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .env("HOME", &work)
        .output()
        .expect("schemathesis runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found problems ({:?}, after {:?}):\n{output}",
        out.status,
        started.elapsed()
    );
    println!("schemathesis passed in {:?}:\n{output}", started.elapsed());
}
