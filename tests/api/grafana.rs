//! The Grafana files of `grafana/`: every dashboard is well formed, names the provisioned
//! Prometheus data source and uses only metric families a real broker exports at `/metrics`;
//! and, where a `prometheus` binary is installed (scripts/test installs Debian's package),
//! every panel query is evaluated by a real Prometheus scraping a real broker after traffic
//! of every kind the panels show: each is a valid expression, and the core panels have data.
//! What Grafana itself would draw is not tested here (Grafana is not installed).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_broker, spawn_broker_timed, MovableClock, TestBroker};

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

/// Panels that the check's traffic (a refusal, an expiry, a revocation, a lockout, a rate
/// limit's refusal) feeds, so
/// that one of their queries at least must show it.
const TRAFFIC_PANELS: &[(&str, &str)] = &[
    ("overview.json", "Refusals by reason"),
    ("overview.json", "Heartbeats, expiries and revocations"),
    ("overview.json", "Login failures and lockouts"),
    ("overview.json", "Rate-limit refusals by limit"),
    ("overview.json", "Refusals (429) by route"),
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
    /// Grafana asks Prometheus for an instant vector (stat, bar gauge), not a range.
    instant: bool,
}

impl Query {
    fn is_of(&self, (dashboard, panel): &(&str, &str)) -> bool {
        self.dashboard == *dashboard && self.panel == *panel
    }
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
                    instant: target["instant"].as_bool().unwrap_or(false),
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

async fn heartbeat(b: &TestBroker, token: &str, seat: &str) -> reqwest::StatusCode {
    b.call(
        Method::POST,
        &format!("/v1/seats/{seat}/heartbeat"),
        token,
        None,
    )
    .await
    .status()
}

#[actix_rt::test]
async fn dashboards_are_well_formed_and_use_only_exported_metrics() {
    let b = spawn_broker().await;
    // One seat, so that the per-pool gauges and the route-labelled HTTP families have series.
    let (owner, _pool) = b.owner_with_license("own@example.org", 2).await;
    assert_eq!(b.take_seat(&owner, "pc").await.status(), 201);
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
    // Broker-wide context on the pool dashboard says so in its title.
    let uses_pool = queries(&dashboards)
        .iter()
        .filter(|q| q.dashboard == "pool.json")
        .all(|q| q.expr.contains("$pool") || q.panel.ends_with(", all pools"));
    if !uses_pool {
        problems.push("pool.json: a per-pool panel does not filter by $pool".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A Prometheus server started for a test, killed when dropped (a failing test included).
struct Prometheus {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts `prometheus` on a free loopback port, scraping `target` (`host:port`) every
    /// second; its log goes to a file of its temporary directory.
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: seatbroker\n    static_configs:\n      \
                 - targets: [\"{target}\"]\n"
            ),
        )
        .expect("config written");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            address: format!("http://127.0.0.1:{port}"),
            dir,
            client: reqwest::Client::new(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Waits until `/-/ready` answers 200.
    async fn wait_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}):\n{}", self.log());
            }
            let ready = self
                .client
                .get(format!("{}/-/ready", self.address))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "prometheus not ready within {limit:?}:\n{}",
                self.log()
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The answer of an API call (`status`, `data` or `error`), whatever its HTTP status.
    async fn api(&self, path: &str, params: &[(&str, String)]) -> Value {
        let res = self
            .client
            .get(format!("{}{path}", self.address))
            .query(params)
            .send()
            .await
            .expect("prometheus answers");
        res.json().await.expect("a JSON answer")
    }

    /// An instant query now.
    async fn query(&self, expr: &str) -> Value {
        self.api("/api/v1/query", &[("query", expr.to_owned())])
            .await
    }

    /// The value of the first series of an instant query now, if any.
    async fn value(&self, expr: &str) -> Option<f64> {
        let answer = self.query(expr).await;
        answer["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// Whether a query answer holds a series with a number in it (a range: some point).
fn has_data(answer: &Value) -> bool {
    let number = |v: &Value| {
        v[1].as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    };
    answer["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|series| {
            number(&series["value"])
                || series["values"]
                    .as_array()
                    .is_some_and(|points| points.iter().any(number))
        })
}

#[actix_rt::test]
async fn every_dashboard_query_is_valid_in_a_real_prometheus_and_core_panels_have_data() {
    if Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!(
            "no prometheus on PATH: dashboard queries not evaluated (scripts/test installs it)"
        );
        return;
    }
    let check = Command::new("promtool")
        .args(["check", "config"])
        .arg(grafana_dir().join("prometheus.yml"))
        .output();
    if let Ok(out) = check {
        assert!(
            out.status.success(),
            "promtool check config grafana/prometheus.yml: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let clock = Arc::new(MovableClock::default());
    let b = spawn_broker_timed(
        &[("SEATBROKER__AUTH__LOCKOUT_THRESHOLD", "2")],
        clock.clone(),
    )
    .await;
    let target = b.address.trim_start_matches("http://").to_owned();
    let mut prometheus = Prometheus::start(&target);
    let started = unix_now();

    let (owner, pool) = b.owner_with_license("own@example.org", 1).await;
    let code = b.invite_code(&owner, &pool).await;
    let (_, ann) = b.join_with_code("ann@example.org", &code).await;
    let (_, bob) = b.join_with_code("bob@example.org", &code).await;
    // A second, larger pool, so that "busiest pools" has more than one.
    let (other, _) = b.owner_with_license("other@example.org", 3).await;
    assert_eq!(b.take_seat(&other, "pc").await.status(), 201);

    prometheus.wait_ready(Duration::from_secs(15)).await;
    // One scrape before the traffic, so that every counter below rises between two samples.
    let deadline = Instant::now() + Duration::from_secs(10);
    while prometheus
        .value("up{job=\"seatbroker\"} == 1")
        .await
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the broker not scraped within 10 s:\n{}",
            prometheus.log()
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }

    // A grant, a reuse, a refusal, heartbeats, a revocation, an expiry, a lockout.
    let seat: Value = b.take_seat(&ann, "laptop").await.json().await.unwrap();
    let seat = seat["seat_id"].as_str().unwrap().to_owned();
    assert_eq!(b.take_seat(&ann, "laptop").await.status(), 200);
    assert_eq!(b.take_seat(&bob, "desk").await.status(), 409);
    assert_eq!(heartbeat(&b, &ann, &seat).await, 200);
    b.release_seat(&owner, &pool, &seat).await;
    b.set_timeout(&owner, &pool, 60).await;
    assert_eq!(b.take_seat(&bob, "desk").await.status(), 201);
    clock.advance_secs(120);
    // Bob's seat timed out; the next request to the pool finds it expired.
    let seat: Value = b.take_seat(&ann, "laptop").await.json().await.unwrap();
    let seat = seat["seat_id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let res = b
            .post(
                "/v1/auth/login",
                &json!({"email": "ann@example.org", "password": "wrong password"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    // A rate limit's refusal: an account past its failed activations (issue 18).
    let guesses = (0..21).map(|n| format!("I-000-000-000-{n:03}"));
    let statuses = futures_util::future::join_all(guesses.map(|code| {
        let (b, bob) = (&b, &bob);
        async move {
            b.call(
                Method::POST,
                "/v1/activations",
                bob,
                Some(json!({ "code": code })),
            )
            .await
            .status()
            .as_u16()
        }
    }))
    .await;
    assert!(statuses.contains(&429), "{statuses:?}");

    // A little traffic goes on until Prometheus holds all of the above and a few samples.
    let arrived = [
        "seatbroker_seat_requests_total{outcome=\"refused\",reason=\"no_seat_available\"} >= 1",
        "seatbroker_seats_expired_total >= 1",
        "seatbroker_seats_revoked_total{reason=\"revoked\"} >= 1",
        "seatbroker_lockouts_total >= 1",
        "seatbroker_limit_refusals_total{limit=\"activations\"} >= 1",
        "count_over_time(seatbroker_heartbeats_total[1m]) >= 4",
    ];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert_eq!(heartbeat(&b, &ann, &seat).await, 200);
        assert_eq!(b.take_seat(&ann, "laptop").await.status(), 200);
        let mut missing = None;
        for expr in arrived {
            if prometheus.value(expr).await.is_none() {
                missing = Some(expr);
                break;
            }
        }
        let Some(missing) = missing else { break };
        assert!(
            Instant::now() < deadline,
            "Prometheus has no {missing} within 15 s:\n{}",
            prometheus.log()
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }

    // The pool variable, as Grafana asks for its values.
    let values = prometheus
        .api(
            "/api/v1/label/pool/values",
            &[("match[]", "seatbroker_pool_capacity".to_owned())],
        )
        .await;
    let pools: BTreeSet<&str> = values["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(pools.contains(pool.as_str()), "pool values {values}");

    let dashboards = dashboards();
    let queries = queries(&dashboards);
    let variables = [
        ("__rate_interval", "1m"),
        ("__range", "5m"),
        ("__interval", "1s"),
        ("pool", pool.as_str()),
    ];
    let end = unix_now();
    let mut problems = Vec::new();
    let mut shown = HashSet::new();
    for q in &queries {
        let expr = match substitute(&q.expr, &variables) {
            Ok(expr) => expr,
            Err(e) => {
                problems.push(format!("{}, panel {:?}: {e}", q.dashboard, q.panel));
                continue;
            }
        };
        let answer = if q.instant {
            prometheus
                .api(
                    "/api/v1/query",
                    &[("query", expr.clone()), ("time", end.to_string())],
                )
                .await
        } else {
            prometheus
                .api(
                    "/api/v1/query_range",
                    &[
                        ("query", expr.clone()),
                        ("start", (started - 5.0).to_string()),
                        ("end", end.to_string()),
                        ("step", "1".to_owned()),
                    ],
                )
                .await
        };
        let here = format!("{}, panel {:?}: {expr}", q.dashboard, q.panel);
        if answer["status"] != "success" {
            problems.push(format!("{here}: {}", answer["error"]));
        }
        let core = CORE_PANELS.iter().any(|panel| q.is_of(panel));
        if core && !has_data(&answer) {
            problems.push(format!("{here}: no series with a value in a core panel"));
        }
        if has_data(&answer) {
            shown.insert((q.dashboard.clone(), q.panel.clone()));
        }
    }
    for (file, title) in TRAFFIC_PANELS {
        if !shown.contains(&(file.to_string(), title.to_string())) {
            problems.push(format!(
                "{file}, panel {title:?}: no query shows the traffic"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} queries failed:\n{}",
        problems.len(),
        queries.len(),
        problems.join("\n")
    );
}
