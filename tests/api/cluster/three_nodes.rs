//! Issue 17, first point: three nodes serve one pool. A seat taken through one node is seen,
//! heartbeated and released through the others, and under load from clients spread over
//! every node the pool never holds more seats than its capacity (the history checker), with
//! no 503, 429 or refused connection while every node runs (API.md: a burst on one pool is
//! answered without them).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::load::{Load, LoadOptions};
use super::ClusterHarness;

#[actix_rt::test]
async fn three_nodes_serve_one_pool_a_seat_crosses_nodes_and_s1_holds_under_load() {
    let cluster = ClusterHarness::start(3).await;
    let pool = cluster.hot_pool(5, 21).await;
    let owner = cluster.wait_for_owner(&pool).await;
    eprintln!("{} is owned by node {owner}", pool.id);

    // The last member walks one seat through the three nodes.
    let walker = pool.members.last().expect("a member");
    let body = json!({"device_id": "walker", "platform": "windows", "pool": pool.id});
    let (status, seat) = cluster
        .call(
            0,
            Method::POST,
            "/v1/seats",
            Some(&walker.token),
            Some(&body),
        )
        .await;
    assert_eq!(status, 201, "taken through node 0: {seat}");
    let seat_id = seat["seat_id"].as_str().expect("seat id").to_owned();
    for node in 0..3 {
        let listing = cluster.list_seats_via(node, &pool).await;
        assert!(
            listing.seats.contains(&seat_id),
            "node {node} lists {seat_id}: {:?}",
            listing.seats
        );
    }
    let path = format!("/v1/seats/{seat_id}/heartbeat");
    let beat = json!({"active": true});
    let (status, beaten) = cluster
        .call(1, Method::POST, &path, Some(&walker.token), Some(&beat))
        .await;
    assert_eq!(status, 200, "heartbeat through node 1: {beaten}");
    assert_eq!(beaten["seat_id"], seat_id.as_str());
    let path = format!("/v1/seats/{seat_id}/close");
    let (status, closed) = cluster
        .call(2, Method::POST, &path, Some(&walker.token), None)
        .await;
    assert_eq!(status, 204, "closed through node 2: {closed}");
    for node in 0..3 {
        let listing = cluster.list_seats_via(node, &pool).await;
        assert!(
            !listing.seats.contains(&seat_id),
            "node {node} no longer lists {seat_id}"
        );
    }

    let clients = &pool.members[..20];
    let load = Load::start(cluster.urls(), &pool.id, clients, LoadOptions::default());
    load.wait_for_grants(300, load.started(), Duration::from_secs(40))
        .await;
    let report = load.finish().await;
    eprintln!("{}", report.summary());
    cluster.assert_seats_kept(&pool, &report).await;
    report.assert_only_retried_errors();
    // A slow test machine may let an attempt time out; anything else is the cluster's.
    assert!(
        report.retried.keys().all(|kind| kind == "timeout"),
        "no 503, 429 or connection error while every node runs: {:?}",
        report.retried
    );
}
