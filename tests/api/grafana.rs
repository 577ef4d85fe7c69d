//! The Grafana files of `grafana/`: every dashboard is well formed, names the provisioned
//! Prometheus data source and uses only metric families a real broker exports at `/metrics`.
//! What Grafana itself would draw is not tested here (Grafana is not installed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_broker, TestBroker};

/// The uid of the data source of `grafana/provisioning/datasources/prometheus.yaml`.
const DATASOURCE_UID: &str = "seatbroker-prometheus";

/// The panel types the dashboards use; rows only group them.
const PANEL_TYPES: &[&str] = &["timeseries", "stat", "bargauge"];

/// Grafana's own variables the queries may use.
const GRAFANA_VARIABLES: &[&str] = &["__rate_interval", "__range", "__interval"];

/// Panels (dashboard file, title) each query of which must show data after traffic: request
/// rate, seat request latency, seats in use, capacity, store commit latency.
const CORE_PANELS: &[(&str, &str)] = &[
    ("overview.json", "Request rate"),
    ("overview.json", "Seat request latency p50 / p99"),
    ("overview.json", "Seats in use"),
    ("overview.json", "Capacity"),
    (
        "overview.json",
        "Seats in use against capacity, busiest pools",
    ),
    ("overview.json", "Store commit latency p50 / p99"),
    ("pool.json", "Seats in use"),
    ("pool.json", "Capacity"),
    ("pool.json", "Seats in use against capacity"),
];

/// Panels that the check's traffic (a refusal, an expiry, a revocation, a lockout) feeds, so
/// that one of their queries at least must show it.
const TRAFFIC_PANELS: &[(&str, &str)] = &[
    ("overview.json", "Refusals by reason"),
    ("overview.json", "Heartbeats, expiries and revocations"),
    ("overview.json", "Login failures and lockouts"),
];

fn grafana_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana")
}

/// Every dashboard of `grafana/dashboards`, by file name, parsed.
fn dashboards() -> Vec<(String, Value)> {
    let dir = grafana_dir().join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "an overview and a per-pool dashboard");
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("dashboard readable");
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, value)
        })
        .collect()
}

/// The panels of a dashboard, those of rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// One query of one panel.
struct Query {
    dashboard: String,
    panel: String,
    expr: String,
}

/// Every target of every non-row panel.
fn queries(dashboards: &[(String, Value)]) -> Vec<Query> {
    let mut out = Vec::new();
    for (file, dashboard) in dashboards {
        for panel in panels(dashboard) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(Query {
                    dashboard: file.clone(),
                    panel: panel["title"].as_str().unwrap_or_default().to_owned(),
                    expr: target["expr"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    out
}

/// The names of dashboard variables (`templating.list[].name`).
fn variables(dashboard: &Value) -> Vec<String> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect()
}

/// The metric names an expression uses (`seatbroker_[a-z_]+`).
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("seatbroker_") {
        let preceded_by_word = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        if !preceded_by_word {
            out.push(tail[..len].to_owned());
        }
        rest = &tail[len..];
    }
    out
}

/// `expr` with Grafana's variables (`$name`, `${name}`) replaced by `values`; an error names
/// a variable it does not know. `$1` and `${1}` are regular expression groups
/// (`label_replace`), left as they are.
fn substitute(expr: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("unclosed ${{ in {expr}"))?;
                (&braced[..end], end + 2)
            }
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&rest[at..at + 1 + used]);
        } else {
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("unknown variable ${name} in {expr}"))?;
            out.push_str(value.1);
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The series names a broker exports: each family of `/metrics`, a histogram as its
/// `_bucket`, `_sum` and `_count` series.
async fn exported_series(broker: &TestBroker) -> HashSet<String> {
    let res = broker.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let mut names = HashSet::new();
    for line in text.lines() {
        let Some(typed) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = typed.split_once(' ').expect("# TYPE name kind");
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        } else {
            names.insert(name.to_owned());
        }
    }
    names
}

async fn take(b: &TestBroker, token: &str, device: &str) -> reqwest::Response {
    b.call(
        Method::POST,
        "/v1/seats",
        token,
        Some(json!({"device_id": device, "platform": "windows"})),
    )
    .await
}

#[actix_rt::test]
async fn dashboards_are_well_formed_and_use_only_exported_metrics() {
    let b = spawn_broker().await;
    // One seat, so that the per-pool gauges and the route-labelled HTTP families have series.
    let (owner, _pool) = b.owner_with_license("own@example.org", 2).await;
    assert_eq!(take(&b, &owner, "pc").await.status(), 201);
    let exported = exported_series(&b).await;

    let datasource =
        std::fs::read_to_string(grafana_dir().join("provisioning/datasources/prometheus.yaml"))
            .expect("the data source file");
    for needle in [
        "type: prometheus",
        &format!("uid: {DATASOURCE_UID}"),
        "url: http://127.0.0.1:9090",
    ] {
        assert!(datasource.contains(needle), "data source: {needle}");
    }
    let provider =
        std::fs::read_to_string(grafana_dir().join("provisioning/dashboards/seatbroker.yaml"))
            .expect("the dashboards provider file");
    assert!(provider.contains("type: file") && provider.contains("path: "));

    let dashboards = dashboards();
    let mut problems = Vec::new();
    let mut uids = HashSet::new();
    for (file, dashboard) in &dashboards {
        let uid = dashboard["uid"].as_str().unwrap_or_default();
        if uid.is_empty() || !uids.insert(uid.to_owned()) {
            problems.push(format!("{file}: uid {uid:?} missing or not unique"));
        }
        if dashboard["title"].as_str().unwrap_or_default().is_empty() {
            problems.push(format!("{file}: no title"));
        }
        if dashboard["schemaVersion"].as_u64().unwrap_or(0) < 36 {
            problems.push(format!("{file}: schemaVersion below 36"));
        }
        let mut known: Vec<String> = GRAFANA_VARIABLES.iter().map(|v| v.to_string()).collect();
        known.extend(variables(dashboard));
        let values: Vec<(&str, &str)> = known.iter().map(|v| (v.as_str(), "1m")).collect();
        let mut ids = HashSet::new();
        for panel in panels(dashboard) {
            let title = panel["title"].as_str().unwrap_or_default();
            let kind = panel["type"].as_str().unwrap_or_default();
            let here = format!("{file}, panel {title:?}");
            if !ids.insert(panel["id"].as_u64()) || panel["id"].is_null() {
                problems.push(format!("{here}: id missing or not unique"));
            }
            if kind == "row" {
                continue;
            }
            if !PANEL_TYPES.contains(&kind) {
                problems.push(format!("{here}: type {kind:?}"));
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{here}: no targets"));
            }
            for source in std::iter::once(&panel["datasource"])
                .chain(targets.iter().map(|t| &t["datasource"]))
            {
                if *source != json!({"type": "prometheus", "uid": DATASOURCE_UID}) {
                    problems.push(format!("{here}: data source {source}"));
                }
            }
            for target in &targets {
                let expr = target["expr"].as_str().unwrap_or_default();
                if expr.trim().is_empty() {
                    problems.push(format!("{here}: a target without expr"));
                    continue;
                }
                if let Err(e) = substitute(expr, &values) {
                    problems.push(format!("{here}: {e}"));
                }
                let names = metric_names(expr);
                if names.is_empty() {
                    problems.push(format!("{here}: {expr} uses no broker metric"));
                }
                for name in names {
                    if !exported.contains(&name) {
                        problems.push(format!("{here}: {name} is not exported by the broker"));
                    }
                }
            }
        }
    }
    for (file, title) in CORE_PANELS.iter().chain(TRAFFIC_PANELS) {
        let found = dashboards.iter().any(|(f, d)| {
            f == file
                && panels(d)
                    .iter()
                    .any(|p| p["title"] == *title && p["type"] != "row")
        });
        if !found {
            problems.push(format!("{file}: no panel {title:?}"));
        }
    }

    let (_, pool) = dashboards
        .iter()
        .find(|(f, _)| f == "pool.json")
        .expect("a per-pool dashboard");
    let variable = pool["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "pool");
    match variable {
        Some(v) => {
            assert_eq!(v["type"], "query");
            assert_eq!(v["datasource"]["uid"], DATASOURCE_UID);
            assert_eq!(
                v["definition"],
                "label_values(seatbroker_pool_capacity, pool)"
            );
        }
        None => problems.push("pool.json: no variable pool".into()),
    }
    let uses_pool = queries(&dashboards)
        .iter()
        .filter(|q| q.dashboard == "pool.json")
        .all(|q| q.expr.contains("$pool") || q.panel.ends_with(", all pools"));
    if !uses_pool {
        problems.push("pool.json: a per-pool panel does not filter by $pool".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
