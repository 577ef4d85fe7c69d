//! `/healthz`, `/readyz`, and the error shape of unknown routes and methods.

use serde_json::Value;

use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn healthz_answers_while_the_process_runs() {
    let broker = spawn_broker().await;
    let res = broker.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[actix_rt::test]
async fn readyz_answers_once_storage_answers_and_pools_are_loaded() {
    let broker = spawn_broker().await;
    let mut status = 0;
    for _ in 0..200 {
        status = broker.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, 200);
}

#[actix_rt::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let broker = spawn_broker().await;
    let res = broker.get("/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["resource"], "route");

    let res = broker
        .client
        .post(format!("{}/healthz", broker.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}
