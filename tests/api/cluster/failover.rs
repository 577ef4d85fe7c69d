//! Issue 17, failover: the node owning a hot pool dies (kill -9) or pauses (SIGSTOP for 5 s)
//! under load. Another node takes the pool over from its lease; clients, retrying 503s and
//! connection errors on the next node, are answered again within a couple of seconds; no
//! acknowledged seat is lost and the history checker finds no instant over capacity. A
//! paused owner that resumes has lost the pool and serves it as a forwarder.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::load::{Load, LoadOptions};
use super::ClusterHarness;

/// The issue asks for 2 s; the bound leaves room for a loaded test machine.
const GAP_BOUND: Duration = Duration::from_secs(5);

/// How long the owner stays paused.
const PAUSE: Duration = Duration::from_secs(5);

#[actix_rt::test]
async fn failover_kill_owner_under_load() {
    let mut cluster = ClusterHarness::start(3).await;
    let pool = cluster.hot_pool(5, 20).await;
    let owner = cluster.wait_for_owner(&pool).await;
    let load = Load::start(
        cluster.urls(),
        &pool.id,
        &pool.members,
        LoadOptions::default(),
    );
    load.wait_for_grants(40, load.started(), Duration::from_secs(30))
        .await;

    let killed = Instant::now();
    cluster.kill(owner);
    eprintln!(
        "node {owner} killed at +{:.3} s of the load",
        (killed - load.started()).as_secs_f64()
    );
    let (heir, seen) = cluster
        .wait_for_owner_other_than(&pool.id, owner, Duration::from_secs(15))
        .await;
    eprintln!(
        "node {heir} holds {} {:?} after the kill",
        pool.id,
        seen - killed
    );
    load.wait_for_grants(100, seen, Duration::from_secs(30))
        .await;
    let report = load.finish().await;
    let gap = report.worst_gap_since(killed);
    let wait = report.worst_wait_since(killed);
    eprintln!(
        "after the kill: worst gap between answers {gap:?}, worst wait of a request {wait:?}\n{}",
        report.summary()
    );
    cluster.assert_seats_kept(&pool, &report).await;
    report.assert_only_retried_errors();
    assert!(
        gap < GAP_BOUND,
        "answers stopped for {gap:?} after the kill"
    );
    assert!(wait < GAP_BOUND, "a request waited {wait:?} after the kill");
}

#[actix_rt::test]
async fn failover_sigstop_owner_then_sigcont_it_rejoins_as_forwarder() {
    let mut cluster = ClusterHarness::start(3).await;
    let pool = cluster.hot_pool(5, 21).await;
    let owner = cluster.wait_for_owner(&pool).await;
    let clients = &pool.members[..20];
    let load = Load::start(cluster.urls(), &pool.id, clients, LoadOptions::default());
    load.wait_for_grants(40, load.started(), Duration::from_secs(30))
        .await;

    let stopped = Instant::now();
    cluster.stop(owner);
    eprintln!(
        "node {owner} stopped at +{:.3} s of the load",
        (stopped - load.started()).as_secs_f64()
    );
    let (heir, taken) = cluster
        .wait_for_owner_other_than(&pool.id, owner, PAUSE)
        .await;
    eprintln!(
        "node {heir} holds {} {:?} after the stop",
        pool.id,
        taken - stopped
    );
    // The pool is served while its old owner is stopped (a full pool answers
    // `no_seat_available`: holders stuck on the stopped node keep their seats meanwhile).
    let resume_at = stopped + PAUSE;
    load.wait_for_answers(
        20,
        taken,
        resume_at.saturating_duration_since(Instant::now()),
    )
    .await;
    // The pause itself is the scenario: the owner stays stopped for PAUSE.
    tokio::time::sleep(resume_at.saturating_duration_since(Instant::now())).await;
    cluster.cont(owner);
    let resumed = Instant::now();
    eprintln!(
        "node {owner} resumed at +{:.3} s of the load",
        (resumed - load.started()).as_secs_f64()
    );
    load.wait_for_grants(100, resumed, Duration::from_secs(30))
        .await;
    let report = load.finish().await;
    eprintln!(
        "worst gap between answers from the stop {:?}, worst wait {:?}\n{}",
        report.worst_gap_since(stopped),
        report.worst_wait_since(stopped),
        report.summary()
    );
    let kept = cluster.assert_seats_kept(&pool, &report).await;
    report.assert_only_retried_errors();

    // The resumed node lost the pool and serves it through the new owner.
    let lease = cluster.lease(&pool.id).await;
    assert_ne!(
        lease.as_ref().and_then(|l| l.node),
        Some(owner),
        "the paused node took the pool back: {lease:?}"
    );
    let through_old = cluster.list_seats_via(owner, &pool).await;
    assert_eq!(
        through_old.seats, kept.seats,
        "the old owner lists what the new one does"
    );
    for (client, seat) in &report.held {
        let path = format!("/v1/seats/{seat}/close");
        let member = &pool.members[*client];
        let (status, body) = cluster
            .call(owner, Method::POST, &path, Some(&member.token), None)
            .await;
        assert_eq!(
            status, 204,
            "{}'s {seat} closed through the old owner: {body}",
            member.email
        );
    }
    let spare = pool.members.last().expect("a member");
    let body = json!({"device_id": "spare", "platform": "mac", "pool": pool.id});
    let (status, seat) = cluster
        .call(
            owner,
            Method::POST,
            "/v1/seats",
            Some(&spare.token),
            Some(&body),
        )
        .await;
    assert_eq!(status, 201, "a seat taken through the old owner: {seat}");
    let seat_id = seat["seat_id"].as_str().expect("seat id").to_owned();
    let path = format!("/v1/seats/{seat_id}/heartbeat");
    let beat = json!({"active": true});
    let (status, beaten) = cluster
        .call(owner, Method::POST, &path, Some(&spare.token), Some(&beat))
        .await;
    assert_eq!(status, 200, "heartbeat through the old owner: {beaten}");
    let listed = cluster.list_seats_via(heir, &pool).await;
    assert!(
        listed.seats.contains(&seat_id),
        "the new owner holds the seat taken through the old one: {:?}",
        listed.seats
    );
    let path = format!("/v1/seats/{seat_id}/close");
    let (status, closed) = cluster
        .call(owner, Method::POST, &path, Some(&spare.token), None)
        .await;
    assert_eq!(status, 204, "closed through the old owner: {closed}");
    assert!(cluster.list_seats_via(heir, &pool).await.seats.is_empty());
    assert_eq!(
        cluster.owner_of(&pool.id).await,
        Some(heir),
        "the old owner forwards and does not take the pool back"
    );
}
