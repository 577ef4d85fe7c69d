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

/// Every operation of API.md, as (method, path template).
const API_OPERATIONS: &[(&str, &str)] = &[
    ("post", "/v1/accounts"),
    ("post", "/v1/auth/login"),
    ("get", "/v1/me"),
    ("post", "/v1/operator/licenses"),
    ("post", "/v1/activations"),
    ("post", "/v1/trials"),
    ("get", "/v1/pools/{pool}"),
    ("patch", "/v1/pools/{pool}"),
    ("get", "/v1/pools/{pool}/invite"),
    ("post", "/v1/pools/{pool}/invite/rotate"),
    ("get", "/v1/pools/{pool}/members"),
    ("post", "/v1/pools/{pool}/members/{account}/block"),
    ("post", "/v1/pools/{pool}/members/{account}/unblock"),
    ("delete", "/v1/pools/{pool}/members/{account}"),
    ("get", "/v1/pools/{pool}/seats"),
    ("get", "/v1/pools/{pool}/usage"),
    ("delete", "/v1/pools/{pool}/seats/{seat}"),
    ("post", "/v1/seats"),
    ("post", "/v1/seats/{seat}/heartbeat"),
    ("post", "/v1/seats/{seat}/close"),
    ("delete", "/v1/seats/{seat}"),
    ("post", "/v1/seats/{seat}/offline"),
    ("get", "/v1/me/seats"),
    ("post", "/v1/me/seats/release"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// Operations of API.md this build does not serve yet. Each must be described the moment it
/// is served.
const NOT_SERVED_YET: &[(&str, &str)] = &[];

#[actix_rt::test]
async fn openapi_describes_every_operation_of_the_api() {
    let broker = spawn_broker().await;
    let res = broker.get("/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    for (method, path) in API_OPERATIONS {
        let described = doc["paths"][path][method].is_object();
        if NOT_SERVED_YET.contains(&(method, path)) {
            let served = broker
                .client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{path}", broker.address),
                )
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(
                served, 404,
                "{method} {path} is served now: describe it and drop it from NOT_SERVED_YET"
            );
            continue;
        }
        assert!(
            described,
            "{method} {path} is not described in /openapi.json"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["TakeSeat"].is_object());
}
