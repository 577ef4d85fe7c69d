//! Issue 17, account-level state with several writers: what one node changes is right on
//! every other node at once. A member removed through one node is refused by the nodes that
//! had cached the membership (they hear it through Redis pub/sub), failed logins spread over
//! the nodes by a load balancer count together (A3), and a trial asked of every node at
//! once starts once (the account's lock is shared through Redis).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{ClusterHarness, PASSWORD};

/// How long a node may keep serving a change it has not heard of (the issue: a second).
const STALE_AT_MOST: Duration = Duration::from_secs(1);

#[actix_rt::test]
async fn i3_a_member_removed_through_one_node_is_refused_by_every_node_within_a_second() {
    let cluster = ClusterHarness::start(3).await;
    let pool = cluster.hot_pool(2, 1).await;
    let member = &pool.members[0];
    let pool_path = format!("/v1/pools/{}", pool.id);
    // Every node reads the membership once, so every node holds it in its cache.
    for node in 0..3 {
        let (status, body) = cluster
            .call(node, Method::GET, &pool_path, Some(&member.token), None)
            .await;
        assert_eq!(
            status, 200,
            "node {node} shows the pool to the member: {body}"
        );
    }
    let (status, me) = cluster
        .call(1, Method::GET, "/v1/me", Some(&member.token), None)
        .await;
    assert_eq!(status, 200, "{me}");
    let account = me["account"]["id"].as_str().expect("account id").to_owned();

    let members_path = format!("/v1/pools/{}/members/{account}", pool.id);
    let (status, body) = cluster
        .call(
            0,
            Method::DELETE,
            &members_path,
            Some(&pool.owner_token),
            None,
        )
        .await;
    assert_eq!(status, 204, "removed through node 0: {body}");
    let removed = Instant::now();

    for node in 1..3 {
        loop {
            let (status, body) = cluster
                .call(node, Method::GET, &pool_path, Some(&member.token), None)
                .await;
            if status == 403 {
                assert_eq!(body["error"]["code"], "not_a_member", "{body}");
                break;
            }
            assert!(
                removed.elapsed() < STALE_AT_MOST,
                "node {node} still shows the pool to a removed member after {:?}: {status} {body}",
                removed.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eprintln!(
        "every node refused the removed member {:?} after the removal",
        removed.elapsed()
    );
}

#[actix_rt::test]
async fn a3_failed_logins_spread_over_three_nodes_lock_the_address_out_together() {
    let cluster = ClusterHarness::start(3).await;
    let http = reqwest::Client::new();
    let email = "spread@example.org";
    let (status, body) = cluster
        .call(
            0,
            Method::POST,
            "/v1/accounts",
            None,
            Some(&json!({"email": email, "password": PASSWORD, "name": "Spread"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let login = |node: usize, password: &'static str| {
        let request = http
            .post(format!("{}/v1/auth/login", cluster.url(node)))
            .json(&json!({"email": email, "password": password}));
        async move {
            let res = request.send().await.expect("the node answers");
            (
                res.status().as_u16(),
                res.headers().get("retry-after").is_some(),
            )
        }
    };
    // The default threshold is ten failures; each node sees only three or four of them.
    for attempt in 0..10 {
        let (status, _) = login(attempt % 3, "a wrong password").await;
        assert_eq!(
            status,
            401,
            "failure {} through node {}",
            attempt + 1,
            attempt % 3
        );
    }
    for node in 0..3 {
        let (status, retry_after) = login(node, PASSWORD).await;
        assert_eq!(
            status, 429,
            "node {node} refuses even the right password after ten failures on all nodes"
        );
        assert!(retry_after, "with Retry-After");
    }
}

#[actix_rt::test]
async fn l6_a_trial_asked_of_three_nodes_at_once_starts_once() {
    let cluster = ClusterHarness::start(3).await;
    let token = super::create_and_login(
        &reqwest::Client::new(),
        &cluster.url(0),
        &cluster.url(1),
        "trier",
    )
    .await;
    let http = reqwest::Client::new();
    let asks: Vec<_> = (0..3)
        .map(|node| {
            let request = http
                .post(format!("{}/v1/trials", cluster.url(node)))
                .bearer_auth(&token);
            actix_rt::spawn(async move {
                let res = request.send().await.expect("the node answers");
                let status = res.status().as_u16();
                (
                    status,
                    res.json::<serde_json::Value>().await.unwrap_or_default(),
                )
            })
        })
        .collect();
    let mut started = Vec::new();
    for ask in asks {
        let (status, body) = ask.await.expect("the request ran");
        assert!(
            [201, 409, 503].contains(&status),
            "a trial is started, refused as running, or asked again later: {status} {body}"
        );
        if status == 201 {
            started.push(body);
        }
    }
    let licenses: Vec<&serde_json::Value> = started.iter().map(|b| &b["license"]["id"]).collect();
    assert_eq!(licenses.len(), 1, "exactly one trial starts: {licenses:?}");
    let pool = started[0]["pool"]["id"]
        .as_str()
        .expect("pool id")
        .to_owned();
    for node in 0..3 {
        let (status, body) = cluster
            .call(
                node,
                Method::GET,
                &format!("/v1/pools/{pool}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["capacity"], 1,
            "one trial seat, seen by node {node}: {body}"
        );
    }
}
