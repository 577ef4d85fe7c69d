//! The broker's Prometheus metrics, served as text at `GET /metrics`. The names are a contract
//! (dashboards and alerts depend on them; README.md lists them). Handlers record with
//! labelled children created once and kept (no label lookup per request); what the engine
//! counts (expiries, revocations, queued requests, commits, pools) is read from its atomics
//! and actors' published status at scrape time, so recording on the hot path takes no lock
//! shared by all pools. Per-pool series are bounded: the `metrics.max_pool_series` busiest
//! pools get their own, the rest are summed under `pool="_other"`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use seatbroker_actors::stats::{HistogramSnapshot, REVOKE_REASONS};
use seatbroker_actors::PoolRegistry;

use crate::cluster::Cluster;
use crate::domain::ids::format_pool;

/// Seconds a request may take, as the request histograms' buckets.
const REQUEST_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// The refusal reasons of `seatbroker_seat_requests_total{outcome="refused"}`: the seat
/// rules' codes, then the engine's (busy, storage down, shutting down, elsewhere).
const REFUSAL_REASONS: &[&str] = &[
    "no_seat_available",
    "web_session_active_elsewhere",
    "member_blocked",
    "not_a_member",
    "no_license",
    "license_expired",
    "trial_expired",
    "throttled",
    "storage_unavailable",
    "shutting_down",
    "pool_owned_elsewhere",
    "pool_unavailable",
];

/// How a seat request ended, for `seatbroker_seat_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatOutcome<'a> {
    /// A new seat.
    Granted,
    /// The same seat again (S2).
    Reused,
    /// Refused with this code.
    Refused(&'a str),
}

/// One route's HTTP children: its latency histogram and its counters by method and status
/// (a route sees few of either, so a list is faster than a map).
struct RouteMetrics {
    seconds: Histogram,
    counters: std::sync::RwLock<Vec<(String, u16, IntCounter)>>,
}

impl RouteMetrics {
    /// Counts one request of (method, status); false when that counter was not made yet.
    fn count(&self, method: &str, status: u16) -> bool {
        let counters = self.counters.read().unwrap_or_else(|e| e.into_inner());
        match find(&counters, method, status) {
            Some(counter) => {
                counter.inc();
                true
            }
            None => false,
        }
    }

    /// Keeps (method, status)'s new counter, unless another request kept it first, and
    /// counts one request on the one kept.
    fn add(&self, method: &str, status: u16, counter: IntCounter) {
        let mut counters = self.counters.write().unwrap_or_else(|e| e.into_inner());
        match find(&counters, method, status) {
            Some(kept) => kept.inc(),
            None => {
                counter.inc();
                counters.push((method.to_owned(), status, counter));
            }
        }
    }
}

/// The counter of (method, status) in a route's list.
fn find<'a>(
    counters: &'a [(String, u16, IntCounter)],
    method: &str,
    status: u16,
) -> Option<&'a IntCounter> {
    counters
        .iter()
        .find(|(m, s, _)| m == method && *s == status)
        .map(|(_, _, counter)| counter)
}

/// Every metric of the broker, in families by what they watch.
pub struct Metrics {
    registry: Registry,
    engine: PoolRegistry,
    max_pool_series: usize,
    seats: SeatMetrics,
    http: HttpMetrics,
    pools: PoolGauges,
    store_errors: Synced,
    mailbox_full: Synced,
    login_failures: IntCounter,
    lockouts: IntCounter,
    /// Issue 18: requests a rate limit refused, by limit.
    limit_refusals: IntCounterVec,
    /// Several nodes: ownership, takeovers, forwards and fenced writes.
    cluster: ClusterMetrics,
    /// One scrape at a time: the per-pool gauges are reset and set again for each.
    scraping: std::sync::Mutex<()>,
}

/// Issue 18's refusals by limit, registered in `registry`, every limit's series at 0.
fn limit_refusals(registry: &Registry) -> Result<IntCounterVec, MetricsError> {
    let c = IntCounterVec::new(
        Opts::new(
            "seatbroker_limit_refusals_total",
            "Requests refused by a rate limit (issue 18), by limit; by route: \
             seatbroker_http_requests_total{status=\"429\"}",
        ),
        &["limit"],
    )?;
    for limit in crate::limits::Limit::ALL {
        c.with_label_values(&[limit.name()]);
    }
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

/// A counter registered in `registry`.
fn counter(registry: &Registry, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
    let c = IntCounter::new(name, help)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

/// Seat requests, heartbeats, expiries and revocations.
struct SeatMetrics {
    granted: IntCounter,
    reused: IntCounter,
    refused: Vec<(&'static str, IntCounter)>,
    queued: Synced,
    seconds: Histogram,
    heartbeats: IntCounter,
    expired: Synced,
    revoked: Vec<Synced>,
}

impl SeatMetrics {
    fn new(registry: &Registry) -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "seatbroker_seat_requests_total",
                "Seat requests (POST /v1/seats) by outcome, and by reason for refusals",
            ),
            &["outcome", "reason"],
        )?;
        let seconds = Histogram::with_opts(
            HistogramOpts::new(
                "seatbroker_seat_request_duration_seconds",
                "Time to answer a seat request, waiting included",
            )
            .buckets(REQUEST_SECONDS.to_vec()),
        )?;
        let revoked = IntCounterVec::new(
            Opts::new(
                "seatbroker_seats_revoked_total",
                "Seats taken away from their holders, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        registry.register(Box::new(revoked.clone()))?;
        Ok(SeatMetrics {
            granted: requests.with_label_values(&["granted", ""]),
            reused: requests.with_label_values(&["reused", ""]),
            queued: Synced::new(requests.with_label_values(&["queued", ""])),
            refused: REFUSAL_REASONS
                .iter()
                .map(|r| (*r, requests.with_label_values(&["refused", r])))
                .collect(),
            seconds,
            heartbeats: counter(
                registry,
                "seatbroker_heartbeats_total",
                "Heartbeats answered",
            )?,
            expired: Synced::new(counter(
                registry,
                "seatbroker_seats_expired_total",
                "Seats freed because their heartbeats stopped (S4)",
            )?),
            revoked: REVOKE_REASONS
                .iter()
                .map(|r| Synced::new(revoked.with_label_values(&[r.code()])))
                .collect(),
        })
    }
}

/// HTTP requests by route template, method and status, and their latency.
struct HttpMetrics {
    requests: IntCounterVec,
    seconds: HistogramVec,
    routes: DashMap<String, RouteMetrics>,
}

impl HttpMetrics {
    fn new(registry: &Registry) -> Result<Self, MetricsError> {
        let requests = IntCounterVec::new(
            Opts::new(
                "seatbroker_http_requests_total",
                "HTTP requests by route template, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let seconds = HistogramVec::new(
            HistogramOpts::new(
                "seatbroker_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template",
            )
            .buckets(REQUEST_SECONDS.to_vec()),
            &["route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        Ok(HttpMetrics {
            requests,
            seconds,
            routes: DashMap::new(),
        })
    }
}

/// Each pool's capacity, seats in use and queue, and the actors running.
struct PoolGauges {
    capacity: IntGaugeVec,
    in_use: IntGaugeVec,
    queue: IntGaugeVec,
    actors: IntGauge,
}

impl PoolGauges {
    fn new(registry: &Registry) -> Result<Self, MetricsError> {
        let gauge = |name: &str, help: &str| -> Result<IntGaugeVec, MetricsError> {
            let g = IntGaugeVec::new(Opts::new(name, help), &["pool"])?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let actors = IntGauge::new("seatbroker_pool_actors", "Pool actors running")?;
        registry.register(Box::new(actors.clone()))?;
        Ok(PoolGauges {
            capacity: gauge(
                "seatbroker_pool_capacity",
                "Seats a pool's live licenses give",
            )?,
            in_use: gauge(
                "seatbroker_pool_seats_in_use",
                "Capacity in use (the owner's desktops count two to a seat)",
            )?,
            queue: gauge(
                "seatbroker_pool_queue_length",
                "Requests waiting for a seat",
            )?,
            actors,
        })
    }

    /// Sets the gauges from the pools' statuses: the `max_series` busiest pools each on
    /// their own, the rest summed under `pool="_other"`.
    fn set(
        &self,
        mut pools: Vec<(seatbroker_actors::PoolId, seatbroker_actors::PoolStatus)>,
        max_series: usize,
    ) {
        // The busiest first: seats in use, then waiting requests, then capacity.
        pools.sort_unstable_by(|(a_id, a), (b_id, b)| {
            (b.in_use, b.queue_length, b.capacity, a_id.0).cmp(&(
                a.in_use,
                a.queue_length,
                a.capacity,
                b_id.0,
            ))
        });
        self.capacity.reset();
        self.in_use.reset();
        self.queue.reset();
        let (shown, rest) = pools.split_at(pools.len().min(max_series));
        for (pool, status) in shown {
            let label = format_pool(*pool);
            self.capacity
                .with_label_values(&[&label])
                .set(i64::from(status.capacity));
            self.in_use
                .with_label_values(&[&label])
                .set(i64::from(status.in_use));
            self.queue
                .with_label_values(&[&label])
                .set(status.queue_length as i64);
        }
        if !rest.is_empty() {
            let sum = |f: fn(&seatbroker_actors::PoolStatus) -> i64| -> i64 {
                rest.iter().map(|(_, s)| f(s)).sum()
            };
            self.capacity
                .with_label_values(&["_other"])
                .set(sum(|s| i64::from(s.capacity)));
            self.in_use
                .with_label_values(&["_other"])
                .set(sum(|s| i64::from(s.in_use)));
            self.queue
                .with_label_values(&["_other"])
                .set(sum(|s| s.queue_length as i64));
        }
    }
}

/// What a node of several counts (`seatbroker_pool_owned` and `seatbroker_cluster_*`); on a
/// single node the pools it owns are the pools it runs and the rest stays 0.
struct ClusterMetrics {
    cluster: Option<Arc<Cluster>>,
    owned: IntGauge,
    takeovers: Synced,
    forwards: Synced,
    forward_failures: Synced,
    fenced: Synced,
    leases_lost: Synced,
}

impl ClusterMetrics {
    fn new(registry: &Registry, cluster: Option<Arc<Cluster>>) -> Result<Self, MetricsError> {
        let owned = IntGauge::new(
            "seatbroker_pool_owned",
            "Pools this node owns now (their actors run here)",
        )?;
        registry.register(Box::new(owned.clone()))?;
        let counter = |name: &str, help: &str| -> Result<Synced, MetricsError> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(Synced::new(c))
        };
        Ok(ClusterMetrics {
            cluster,
            owned,
            takeovers: counter(
                "seatbroker_cluster_takeovers_total",
                "Pools this node took (loads that took the pool's lease)",
            )?,
            forwards: counter(
                "seatbroker_cluster_forwards_total",
                "Pool operations forwarded to the pool's owner",
            )?,
            forward_failures: counter(
                "seatbroker_cluster_forward_failures_total",
                "Forwards that got no answer (the owner dead, paused or unreachable)",
            )?,
            fenced: counter(
                "seatbroker_cluster_fenced_writes_total",
                "Commits refused because another node had taken the pool (a stale epoch)",
            )?,
            leases_lost: counter(
                "seatbroker_cluster_leases_lost_total",
                "Pools this node lost to another node while it held them",
            )?,
        })
    }

    fn sync(&self, engine: &PoolRegistry) {
        self.owned.set(engine.loaded_pools().len() as i64);
        let Some(cluster) = &self.cluster else {
            return;
        };
        let stats = cluster.stats();
        self.takeovers.sync(cluster.store().takeovers());
        self.fenced.sync(cluster.store().fenced_writes());
        self.forwards.sync(stats.forwards.load(Ordering::Relaxed));
        self.forward_failures
            .sync(stats.forward_failures.load(Ordering::Relaxed));
        self.leases_lost
            .sync(stats.leases_lost.load(Ordering::Relaxed));
    }
}

/// A counter that mirrors an engine atomic: it moves by what the atomic moved since the
/// previous scrape.
struct Synced {
    counter: IntCounter,
    seen: AtomicU64,
}

impl Synced {
    fn new(counter: IntCounter) -> Self {
        Synced {
            counter,
            seen: AtomicU64::new(0),
        }
    }

    fn sync(&self, now: u64) {
        let before = self.seen.swap(now, Ordering::AcqRel);
        self.counter.inc_by(now.saturating_sub(before));
    }
}

/// Why the metrics could not be set up (a name registered twice: a bug, found by the tests).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Store requests that failed outside the group commits (reads, account writes).
static STORE_ERRORS_OUTSIDE_COMMITS: AtomicU64 = AtomicU64::new(0);

/// Counts a store error met by a request handler (a read or an account write).
pub fn count_store_error() {
    STORE_ERRORS_OUTSIDE_COMMITS.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// The metrics of a broker whose engine is `engine`, a node of `cluster` when set.
    pub fn new(
        engine: PoolRegistry,
        cluster: Option<Arc<Cluster>>,
        max_pool_series: usize,
    ) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        registry.register(Box::new(CommitCollector::new(engine.clone())?))?;
        Ok(Metrics {
            seats: SeatMetrics::new(&registry)?,
            http: HttpMetrics::new(&registry)?,
            pools: PoolGauges::new(&registry)?,
            cluster: ClusterMetrics::new(&registry, cluster)?,
            store_errors: Synced::new(counter(
                &registry,
                "seatbroker_store_errors_total",
                "Store requests that failed (pool commits and other requests)",
            )?),
            mailbox_full: Synced::new(counter(
                &registry,
                "seatbroker_actor_mailbox_full_total",
                "Requests refused because a pool's mailbox was full",
            )?),
            login_failures: counter(
                &registry,
                "seatbroker_login_failures_total",
                "Failed logins (A3)",
            )?,
            lockouts: counter(
                &registry,
                "seatbroker_lockouts_total",
                "Lockouts of an account from an address after failed logins (A3)",
            )?,
            limit_refusals: limit_refusals(&registry)?,
            registry,
            engine,
            max_pool_series,
            scraping: std::sync::Mutex::new(()),
        })
    }

    /// Counts a seat request's outcome and how long it took.
    pub fn seat_request(&self, outcome: SeatOutcome<'_>, seconds: f64) {
        let seats = &self.seats;
        seats.seconds.observe(seconds);
        match outcome {
            SeatOutcome::Granted => seats.granted.inc(),
            SeatOutcome::Reused => seats.reused.inc(),
            SeatOutcome::Refused(code) => {
                if let Some((_, c)) = seats.refused.iter().find(|(r, _)| *r == code) {
                    c.inc();
                }
            }
        }
    }

    /// Counts an answered heartbeat.
    pub fn heartbeat(&self) {
        self.seats.heartbeats.inc();
    }

    /// Counts a failed login, and the lockout it started.
    pub fn login_failed(&self, locked_out: bool) {
        self.login_failures.inc();
        if locked_out {
            self.lockouts.inc();
        }
    }

    /// Counts a request that a rate limit refused.
    pub fn limit_refused(&self, limit: crate::limits::Limit) {
        self.limit_refusals.with_label_values(&[limit.name()]).inc();
    }

    /// Counts an HTTP request by route template, method and status. Once a route, method
    /// and status were seen, this allocates nothing: the route's children are found by
    /// `&str`, its (method, status) counters in a short list.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let http = &self.http;
        let children = match http.routes.get(route) {
            Some(children) => children,
            None => http
                .routes
                .entry(route.to_owned())
                .or_insert_with(|| RouteMetrics {
                    seconds: http.seconds.with_label_values(&[route]),
                    counters: Default::default(),
                })
                .downgrade(),
        };
        children.seconds.observe(seconds);
        if !children.count(method, status) {
            let counter = http
                .requests
                .with_label_values(&[route, method, &status.to_string()]);
            children.add(method, status, counter);
        }
    }

    /// Everything in the Prometheus text format.
    pub fn render(&self) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|e| e.into_inner());
        self.sync_engine();
        let mut out = Vec::new();
        // Encoding into memory cannot fail for metrics this module made.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(%e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// Reads the engine's counters and the pools' status into the metrics.
    fn sync_engine(&self) {
        let stats = self.engine.stats();
        let seats = &self.seats;
        seats
            .queued
            .sync(stats.seats.queued.load(Ordering::Relaxed));
        seats
            .expired
            .sync(stats.seats.expired.load(Ordering::Relaxed));
        for (synced, count) in seats.revoked.iter().zip(&stats.seats.revoked) {
            synced.sync(count.load(Ordering::Relaxed));
        }
        self.mailbox_full
            .sync(stats.mailbox_full.load(Ordering::Relaxed));
        let commit_failures = self.engine.commit_stats().failures.load(Ordering::Relaxed);
        self.store_errors
            .sync(commit_failures + STORE_ERRORS_OUTSIDE_COMMITS.load(Ordering::Relaxed));
        self.pools
            .actors
            .set(stats.live_actors.load(Ordering::Relaxed) as i64);
        self.cluster.sync(&self.engine);
        self.pools.set(self.engine.statuses(), self.max_pool_series);
    }
}

/// The committer's histograms, read from its atomics at scrape time.
struct CommitCollector {
    engine: PoolRegistry,
    descs: Vec<Desc>,
}

const COMMIT_SECONDS_NAME: &str = "seatbroker_store_commit_duration_seconds";
const COMMIT_SECONDS_HELP: &str = "Time of one store call of the group committer";
const CHECKPOINT_SECONDS_NAME: &str = "seatbroker_store_checkpoint_duration_seconds";
const CHECKPOINT_SECONDS_HELP: &str =
    "Time of one checkpoint of the embedded store (a durable redb commit on a thread of its own; group commits go on)";
const BATCH_SIZE_NAME: &str = "seatbroker_store_batch_size";
const BATCH_SIZE_HELP: &str = "Pool commits carried by one store call";

impl CommitCollector {
    fn new(engine: PoolRegistry) -> Result<Self, prometheus::Error> {
        let desc = |name: &str, help: &str| {
            Desc::new(name.into(), help.into(), vec![], Default::default())
        };
        Ok(CommitCollector {
            engine,
            descs: vec![
                desc(COMMIT_SECONDS_NAME, COMMIT_SECONDS_HELP)?,
                desc(BATCH_SIZE_NAME, BATCH_SIZE_HELP)?,
                desc(CHECKPOINT_SECONDS_NAME, CHECKPOINT_SECONDS_HELP)?,
            ],
        })
    }
}

fn histogram_family(name: &str, help: &str, snapshot: HistogramSnapshot) -> MetricFamily {
    let mut h = proto::Histogram::default();
    h.set_sample_count(snapshot.count);
    h.set_sample_sum(snapshot.sum);
    h.set_bucket(
        snapshot
            .buckets
            .into_iter()
            .map(|(bound, count)| {
                let mut b = proto::Bucket::default();
                b.set_upper_bound(bound);
                b.set_cumulative_count(count);
                b
            })
            .collect(),
    );
    let mut metric = proto::Metric::default();
    metric.set_histogram(h);
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(MetricType::HISTOGRAM);
    family.set_metric(vec![metric]);
    family
}

impl Collector for CommitCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let stats = self.engine.commit_stats();
        vec![
            histogram_family(
                COMMIT_SECONDS_NAME,
                COMMIT_SECONDS_HELP,
                stats.seconds.snapshot(),
            ),
            histogram_family(
                BATCH_SIZE_NAME,
                BATCH_SIZE_HELP,
                stats.batch_sizes.snapshot(),
            ),
            histogram_family(
                CHECKPOINT_SECONDS_NAME,
                CHECKPOINT_SECONDS_HELP,
                crate::store::embedded::CHECKPOINT_SECONDS.snapshot(),
            ),
        ]
    }
}
