//! Issue 17, rolling restart: every node of three is stopped with SIGTERM, waited for and
//! started again on the same port, one after the other, under load. Clients see nothing but
//! 503s and connection errors, which they retry on the next node; no acknowledged seat is
//! lost and the history checker finds no instant over capacity.

use std::time::{Duration, Instant};

use super::load::{Load, LoadOptions};
use super::ClusterHarness;

#[actix_rt::test]
async fn rolling_restart_under_load_only_retried_errors() {
    let mut cluster = ClusterHarness::start(3).await;
    let pool = cluster.hot_pool(5, 20).await;
    let first_owner = cluster.wait_for_owner(&pool).await;
    eprintln!("{} is owned by node {first_owner}", pool.id);
    let load = Load::start(
        cluster.urls(),
        &pool.id,
        &pool.members,
        LoadOptions::default(),
    );
    load.wait_for_grants(40, load.started(), Duration::from_secs(30))
        .await;

    for node in 0..cluster.len() {
        let asked = Instant::now();
        let owned = cluster.owner_of(&pool.id).await == Some(node);
        let code = cluster.restart(node).await;
        assert_eq!(code, Some(0), "node {node} exits 0 on SIGTERM");
        eprintln!(
            "node {node} (owner: {owned}) serves again {:?} after SIGTERM",
            asked.elapsed()
        );
        load.wait_for_grants(50, Instant::now(), Duration::from_secs(30))
            .await;
    }
    let report = load.finish().await;
    eprintln!(
        "worst gap between answers {:?}, worst wait {:?}\n{}",
        report.worst_gap_since(report.started),
        report.worst_wait_since(report.started),
        report.summary()
    );
    cluster.assert_seats_kept(&pool, &report).await;
    report.assert_only_retried_errors();
}
