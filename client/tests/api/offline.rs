//! Issue 16, offline activation on the offline computer, with no broker: the test signs the
//! license as the broker would (`seatbroker_api::offline::OfflineLicense::sign` with a test
//! key), and the library makes the request, checks the license, keeps it and reads it back.
//! Each typed refusal has its test. The round trip through a real broker and a browser is
//! tested with the portal.

use std::path::Path;

use ed25519_dalek::SigningKey;
use seatbroker_api::offline::{encode_public_key, key_id, OfflineLicense, OfflineRequest};
use seatbroker_client::offline::{LICENSE_FILE, PENDING_FILE};
use seatbroker_client::{OfflineActivation, OfflineError, OfflineKeys, OfflineTarget, Platform};
use time::{Duration, OffsetDateTime};

const DEVICE: &str = "lab-pc-7";
const PORTAL: &str = "https://portal.example";

/// The broker's signing key in these tests.
fn broker_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// The keys the application is configured with, from their published text.
fn configured_keys() -> OfflineKeys {
    OfflineKeys::parse(&[encode_public_key(&broker_key().verifying_key())]).expect("keys")
}

fn monday() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time")
}

fn ms(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).expect("after 1970")
}

/// What the broker answers to `request` at `issued`, signed with `key`.
fn broker_answer(request: &OfflineRequest, key: &SigningKey, issued: OffsetDateTime) -> String {
    let license = OfflineLicense {
        v: 1,
        key_id: key_id(&key.verifying_key()),
        nonce: request.nonce.clone(),
        device_id: request.device_id.clone(),
        platform: request.platform,
        pool_id: "P-3F9C21".into(),
        seat_id: "S-3F9C21-1000003".into(),
        account_id: "A-000002".into(),
        request_created_at_ms: request.created_at_ms,
        issued_at_ms: ms(issued),
    };
    format!("{}\n", license.sign(key))
}

/// A directory with a request begun at `monday()`, and that request.
fn begun(dir: &Path) -> (OfflineActivation, OfflineRequest) {
    let offline = OfflineActivation::new(dir.join("offline"));
    offline
        .begin(
            DEVICE,
            Platform::Windows,
            &OfflineTarget::Pool("P-3F9C21".into()),
            PORTAL,
            monday(),
        )
        .expect("begun");
    let request = offline.pending().expect("readable").expect("pending");
    (offline, request)
}

#[test]
fn issue16_request_to_license_round_trip_without_a_broker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let offline = OfflineActivation::new(dir.path().join("offline"));
    let keys = configured_keys();
    assert!(offline.current(&keys, DEVICE).expect("readable").is_none());

    let html_path = offline
        .begin(
            DEVICE,
            Platform::Windows,
            &OfflineTarget::Pool("P-3F9C21".into()),
            PORTAL,
            monday(),
        )
        .expect("begun");
    let request = offline.pending().expect("readable").expect("pending");
    assert_eq!(
        (
            request.device_id.as_str(),
            request.platform,
            request.pool.as_deref()
        ),
        (DEVICE, Platform::Windows, Some("P-3F9C21"))
    );
    assert_eq!(request.created_at_ms, ms(monday()));
    // The user's file carries the request to the portal, as the broker reads it.
    let html = std::fs::read_to_string(&html_path).expect("the request file");
    let text = request.encode();
    assert!(html.contains(&format!("{PORTAL}/offline?request={text}")));
    assert_eq!(OfflineRequest::decode(&text).expect("decodes"), request);

    let answer = broker_answer(&request, &broker_key(), monday() + Duration::hours(3));
    let later = monday() + Duration::days(1);
    let license = offline.complete(&answer, &keys, later).expect("applied");
    assert_eq!(license.seat_id, "S-3F9C21-1000003");
    assert_eq!(license.nonce, request.nonce);
    assert!(offline.pending().expect("readable").is_none());
    assert!(!html_path.exists());
    assert_eq!(
        offline.current(&keys, DEVICE).expect("checked"),
        Some(license)
    );
}

#[test]
fn issue16_a_tampered_license_is_refused_when_applied_and_when_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, request) = begun(dir.path());
    let keys = configured_keys();
    let answer = broker_answer(&request, &broker_key(), monday());
    let forged = answer.replacen("SBOL1.", "SBOL1.e", 1);
    // A bit of the payload's 14th character: inside the field name `key_id`.
    let mut flipped = answer.clone().into_bytes();
    flipped[20] ^= 0x01;
    let flipped = String::from_utf8(flipped).expect("still text");
    for bad in [forged, flipped, answer[..answer.len() - 5].to_owned()] {
        assert!(matches!(
            offline.complete(&bad, &keys, monday()),
            Err(OfflineError::Tampered)
        ));
    }
    offline
        .complete(&answer, &keys, monday())
        .expect("the real one");

    // One byte of the signature changed on disk afterwards.
    let stored = offline.dir().join(LICENSE_FILE);
    let mut bytes = std::fs::read(&stored).expect("stored");
    let in_signature = bytes.len() - 10;
    bytes[in_signature] ^= 0x02;
    std::fs::write(&stored, bytes).expect("tampered");
    assert!(matches!(
        offline.current(&keys, DEVICE),
        Err(OfflineError::Tampered)
    ));
    std::fs::write(&stored, [0xff, 0xfe]).expect("not even text");
    assert!(matches!(
        offline.current(&keys, DEVICE),
        Err(OfflineError::Tampered)
    ));
}

#[test]
fn issue16_a_license_signed_by_another_key_is_refused_as_unknown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, request) = begun(dir.path());
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let answer = broker_answer(&request, &stranger, monday());
    let err = offline
        .complete(&answer, &configured_keys(), monday())
        .expect_err("refused");
    assert!(
        matches!(&err, OfflineError::UnknownKey(id) if *id == key_id(&stranger.verifying_key())),
        "{err:?}"
    );
    // Once the application is given that key too (say, after a rotation), it is accepted.
    let both = OfflineKeys::parse(&[
        encode_public_key(&broker_key().verifying_key()),
        encode_public_key(&stranger.verifying_key()),
    ])
    .expect("keys");
    offline
        .complete(&answer, &both, monday())
        .expect("accepted");
    // The stored license is checked against the keys of each read.
    assert!(matches!(
        offline.current(&configured_keys(), DEVICE),
        Err(OfflineError::UnknownKey(_))
    ));
}

#[test]
fn issue16_the_same_license_applied_twice_is_a_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, request) = begun(dir.path());
    let keys = configured_keys();
    let answer = broker_answer(&request, &broker_key(), monday());
    offline.complete(&answer, &keys, monday()).expect("first");
    assert!(matches!(
        offline.complete(&answer, &keys, monday()),
        Err(OfflineError::Replayed)
    ));
    assert!(offline.dir().join(LICENSE_FILE).exists());
}

#[test]
fn issue16_a_license_for_an_older_request_is_a_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, older) = begun(dir.path());
    let keys = configured_keys();
    // The user made a second request, which replaces the first.
    offline
        .begin(
            DEVICE,
            Platform::Windows,
            &OfflineTarget::Any,
            PORTAL,
            monday() + Duration::hours(1),
        )
        .expect("begun again");
    let answer = broker_answer(&older, &broker_key(), monday() + Duration::hours(2));
    assert!(matches!(
        offline.complete(&answer, &keys, monday() + Duration::hours(2)),
        Err(OfflineError::Replayed)
    ));
    assert!(offline.dir().join(PENDING_FILE).exists());
    assert!(offline.current(&keys, DEVICE).expect("readable").is_none());
}

#[test]
fn issue16_a_license_for_another_device_or_platform_is_foreign() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, request) = begun(dir.path());
    let keys = configured_keys();
    let elsewhere = OfflineRequest {
        device_id: "someone-elses-pc".into(),
        ..request.clone()
    };
    let on_a_mac = OfflineRequest {
        platform: Platform::Mac,
        ..request.clone()
    };
    for other in [elsewhere, on_a_mac] {
        let answer = broker_answer(&other, &broker_key(), monday());
        assert!(matches!(
            offline.complete(&answer, &keys, monday()),
            Err(OfflineError::ForeignDevice)
        ));
    }
    // A license kept in a directory copied to another device is foreign there.
    let answer = broker_answer(&request, &broker_key(), monday());
    offline.complete(&answer, &keys, monday()).expect("applied");
    assert!(matches!(
        offline.current(&keys, "another-device"),
        Err(OfflineError::ForeignDevice)
    ));
}

#[test]
fn issue16_a_license_for_a_request_older_than_7_days_is_expired() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (offline, request) = begun(dir.path());
    let keys = configured_keys();
    let week = Duration::days(7);

    // Issued in time, applied too late.
    let answer = broker_answer(&request, &broker_key(), monday() + Duration::days(1));
    assert!(matches!(
        offline.complete(&answer, &keys, monday() + week + Duration::minutes(1)),
        Err(OfflineError::Expired)
    ));
    // Issued more than 7 days after its request (the broker's clock ahead of this one).
    let late = broker_answer(
        &request,
        &broker_key(),
        monday() + week + Duration::hours(1),
    );
    assert!(matches!(
        offline.complete(&late, &keys, monday() + Duration::days(2)),
        Err(OfflineError::Expired)
    ));
    // Exactly 7 days is still in time.
    offline
        .complete(&answer, &keys, monday() + week)
        .expect("in time");
}

#[test]
fn issue16_bad_settings_and_requests_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(matches!(
        OfflineKeys::parse(&["not a key"]),
        Err(OfflineError::BadPublicKey(_))
    ));
    let offline = OfflineActivation::new(dir.path().join("offline"));
    for (device, platform, target, portal) in [
        ("", Platform::Windows, OfflineTarget::Any, PORTAL),
        (DEVICE, Platform::Web, OfflineTarget::Any, PORTAL),
        (
            DEVICE,
            Platform::Mac,
            OfflineTarget::InviteCode("x".repeat(65)),
            PORTAL,
        ),
        (
            DEVICE,
            Platform::Mac,
            OfflineTarget::Any,
            "javascript:alert(1)",
        ),
    ] {
        assert!(matches!(
            offline.begin(device, platform, &target, portal, monday()),
            Err(OfflineError::InvalidRequest(_))
        ));
    }
    assert!(!offline.dir().exists());
}
