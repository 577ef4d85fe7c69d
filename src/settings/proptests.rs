//! Property tests of the settings (issue 18): any environment, numbers at and past every
//! bound, near-valid words and any text, loads or names the problem, and never panics.

use super::*;
use crate::mutations::{any_text, near_text};
use proptest::prelude::*;

/// Every key of `config/default.toml`, as an environment variable.
const KEYS: &[&str] = &[
    "SERVER__LISTEN",
    "SERVER__PUBLIC_URL",
    "SERVER__MAX_BODY_BYTES",
    "SERVER__TRUSTED_PROXIES",
    "SERVER__WORKERS",
    "OPERATOR__TOKEN",
    "STORAGE__BACKEND",
    "STORAGE__PATH",
    "STORAGE__REDIS_URL",
    "STORAGE__REDIS_TIMEOUT_MS",
    "STORAGE__REDIS_DOWN_TIMEOUT_MS",
    "STORAGE__REDIS_MAX_IN_FLIGHT",
    "STORAGE__CACHE_MIB",
    "SEATS__DEFAULT_TIMEOUT_S",
    "SEATS__MAX_WAIT_S",
    "SEATS__MAX_WAITERS_PER_POOL",
    "POOLS__DEFAULT_OFFLINE_MAX_DAYS",
    "AUTH__TOKEN_TTL_S",
    "AUTH__SIGNING_KEY",
    "AUTH__LOCKOUT_THRESHOLD",
    "AUTH__LOCKOUT_S",
    "AUTH__ARGON2_M_KIB",
    "AUTH__ARGON2_T",
    "AUTH__ARGON2_P",
    "TRIALS__COOLDOWN_DAYS",
    "LOG__FORMAT",
    "LOG__FILTER",
    "ENGINE__MAILBOX_CAPACITY",
    "ENGINE__IDLE_STOP_S",
    "METRICS__MAX_POOL_SERIES",
    "PORTAL__SESSION_IDLE_S",
    "PORTAL__SESSION_MAX_S",
    "PORTAL__VERIFY_LINK_TTL_S",
    "USAGE__RETENTION_DAYS",
    "EMAIL__TRANSPORT",
    "EMAIL__FROM",
    "EMAIL__SMTP_HOST",
    "EMAIL__SMTP_PORT",
    "EMAIL__SMTP_TLS",
    "EMAIL__SMTP_USER",
    "EMAIL__SMTP_PASSWORD",
    "CLUSTER__SECRET",
    "CLUSTER__ADVERTISE_URL",
    "CLUSTER__LEASE_MS",
    "CLUSTER__RENEW_MS",
    "NO_SUCH__SETTING",
];

/// A value as an operator might set one: numbers at and past the bounds of every integer
/// type, words the enums know and near them, lists, and any text.
fn value() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "65535",
        "65536",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1e9",
        "NaN",
        "0.5",
        "true",
        "",
        "redis",
        "embedded",
        "json",
        "pretty",
        "smtp",
        "file",
        "tls",
        "starttls",
        "none",
        "127.0.0.1:8080",
        "[::1]:0",
        "10.0.0.1,::1",
        "http://h:1",
        "a <b@c.d>",
        "a long random string shared by the nodes",
    ])
    .prop_map(String::from);
    prop_oneof![
        3 => known.clone(),
        2 => near_text(known),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any_text(),
    ]
}

fn environment() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 1..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| (format!("SEATBROKER__{k}"), v))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn settings_from_any_environment_load_or_name_a_problem_without_panicking(env in environment()) {
        if let Ok(s) = Settings::load_from(None, env) {
            prop_assert!(s.listen_addr().is_ok());
            prop_assert!(s.trusted_proxies().is_ok());
            prop_assert!(s.http_workers() >= 1);
            prop_assert!(s.storage.cache_bytes() >= 1 << 20);
            let _ = s.advertise_url();
            let _ = format!("{s:?}");
        }
    }
}
