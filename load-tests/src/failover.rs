//! `failover` (issue 17): starts its own cluster (`procs::Cluster`: one durable Redis, N
//! broker nodes), sets the scenario up through the first node, drives it over every node in
//! turn, and part-way through kills (SIGKILL) the node that owns the first pool, found from
//! the pool's lease in Redis (`sb:{P-…}:lease` = `<node-id> <url>`). Clients wait out the
//! takeover as real ones would: a request every node turns away (connection refused, or 503
//! `pool_owned_elsewhere` while the dead owner's lease runs out) goes round them all again
//! every `RETRY_PAUSE` for up to `Knobs::patience`. The report is the run's usual one plus
//! the gap the kill left (`gaps::GapWatch`: from the kill to the first successful answer,
//! and the worst gap between successful answers after it) and when the lease moved.
//! Killing a node this command did not start is not its job: against a cluster of your own,
//! use `run --targets` and kill a node by hand.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use crate::procs::{Cluster, SpawnError, OPERATOR_TOKEN};
use crate::runner::{drive_watched, prepare, DriveStarted, RunConfig, RunError};
use crate::stats::Report;

/// How often the lease is read while waiting for an owner, before and after the kill.
const LEASE_POLL: Duration = Duration::from_millis(20);

/// How long the command waits for a node to own the pool before the kill.
const OWNER_PATIENCE: Duration = Duration::from_secs(5);

/// A failover run: the cluster to start, the scenario to drive over it, when to kill.
#[derive(Debug, Clone)]
pub struct FailoverConfig {
    /// The scenario, its knobs (the patience included), duration and rate; its URLs are
    /// replaced by the cluster's nodes.
    pub run: RunConfig,
    /// Broker nodes to start (2 or more).
    pub nodes: usize,
    /// When to kill the owner, from the start of the measured phase.
    pub kill_after: Duration,
    /// The run fails (exit code 1) when the worst gap after the kill is longer.
    pub max_gap: Option<Duration>,
}

/// Why a failover run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FailoverError {
    /// The flags do not describe a failover.
    #[error("{0}")]
    Flags(String),
    /// The cluster did not start.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Setup failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The pool's lease could not be read or named no node of ours.
    #[error("the owner of {pool}: {reason}")]
    Owner {
        /// The pool.
        pool: String,
        /// What went wrong.
        reason: String,
    },
}

/// What a failover run measured: the run's report (its fields at the top level of the JSON)
/// and the kill's.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FailoverReport {
    /// The run's usual report; with several targets its `extra` counts the `failovers`
    /// (`failovers_on_503`, `failovers_on_connection_error`) and `rounds_repeated`.
    #[serde(flatten)]
    pub report: Report,
    /// Broker nodes started.
    pub nodes: usize,
    /// The pool whose owner was killed (the first, the hot pool).
    pub pool: String,
    /// The node killed (its URL), the pool's owner at the time.
    pub killed: String,
    /// When it was killed, seconds from the start of the measured phase.
    pub kill_at_s: f64,
    /// From the kill to the first successful answer (to a request sent after the kill);
    /// `null` when none came before the run ended.
    pub first_success_after_kill_ms: Option<f64>,
    /// The worst gap between consecutive successful answers from the kill on (the first
    /// counted from the kill); `null` when no answer came.
    pub worst_gap_after_kill_ms: Option<f64>,
    /// Successful answers to requests sent after the kill.
    pub successes_after_kill: u64,
    /// The node whose lease on the pool was first seen after the kill, if one was.
    pub new_owner: Option<String>,
    /// From the kill to that lease being seen (read every 20 ms), ms.
    pub new_owner_after_ms: Option<f64>,
    /// The bound of `--max-gap`, ms, when one was given.
    pub max_gap_ms: Option<f64>,
}

impl FailoverReport {
    /// Whether every invariant held, an answer came after the kill, and the worst gap kept
    /// within `max_gap_ms` when given.
    pub fn passed(&self) -> bool {
        let within = match (self.worst_gap_after_kill_ms, self.max_gap_ms) {
            (Some(gap), Some(max)) => gap <= max,
            (gap, _) => gap.is_some(),
        };
        self.report.passed() && within
    }

    /// The final table, for people: the run's, then the kill's lines.
    pub fn table(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("none".to_owned(), |v| format!("{v:.1} ms"));
        let mut s = self.report.table();
        s.push_str(&format!(
            "failover: {} nodes; killed {}, the owner of {}\n",
            self.nodes, self.killed, self.pool
        ));
        s.push_str(&format!(
            "kill_at_s {:.3}  first_success_after_kill_ms {}  worst_gap_after_kill_ms {}  \
             successes_after_kill {}\n",
            self.kill_at_s,
            ms(self.first_success_after_kill_ms),
            ms(self.worst_gap_after_kill_ms),
            self.successes_after_kill
        ));
        s.push_str(&format!(
            "new owner {} after {}\n",
            self.new_owner.as_deref().unwrap_or("none seen"),
            ms(self.new_owner_after_ms)
        ));
        if let (Some(gap), Some(max)) = (self.worst_gap_after_kill_ms, self.max_gap_ms) {
            if gap > max {
                s.push_str(&format!(
                    "GAP TOO LONG: {gap:.1} ms after the kill, bound {max:.1} ms\n"
                ));
            }
        }
        if self.first_success_after_kill_ms.is_none() {
            s.push_str("NO SUCCESSFUL ANSWER after the kill\n");
        }
        s
    }
}

/// What the killer did.
struct Kill {
    /// The killed node's URL.
    node: String,
    /// When the kill was sent.
    at: Instant,
    /// When the measured phase started, and the run's recorder, whose gap watch was marked
    /// at the kill.
    started_with: DriveStarted,
    /// The node whose lease was seen next, and when.
    new_owner: Option<(String, Instant)>,
}

/// Starts a cluster of `config.nodes` nodes from `binary`, runs the scenario over it, kills
/// the pool's owner after `config.kill_after`, and reports. Every process it started is
/// stopped before it returns, on error and on panic too (`Cluster`'s `Drop`).
pub async fn failover(
    binary: &Path,
    config: FailoverConfig,
) -> Result<FailoverReport, FailoverError> {
    if config.nodes < 2 {
        return Err(FailoverError::Flags(
            "--nodes: a failover needs 2 nodes or more".to_owned(),
        ));
    }
    if config.kill_after >= config.run.duration {
        return Err(FailoverError::Flags(format!(
            "--kill-after {:?} is not within --duration {:?}",
            config.kill_after, config.run.duration
        )));
    }
    let mut cluster = Cluster::start(binary, config.nodes).await?;
    let mut run = config.run.clone();
    run.url = cluster.urls()[0].clone();
    run.more_targets = cluster.urls()[1..].to_vec();
    run.operator_token = OPERATOR_TOKEN.to_owned();
    let (rate, duration) = (run.rate, run.duration);
    let prepared = prepare(run).await?;
    let pool = prepared.pools[0].id.clone();
    let key = lease_key(&pool)?;
    let (tell, told) = oneshot::channel();
    let (report, kill) = tokio::join!(
        drive_watched(&prepared, rate, duration, Some(tell)),
        kill_owner(&mut cluster, &key, told, config.kill_after, duration),
    );
    let kill = kill.map_err(|reason| FailoverError::Owner {
        pool: pool.clone(),
        reason,
    })?;
    let gaps = kill.started_with.rec.gaps.gaps();
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    Ok(FailoverReport {
        report,
        nodes: config.nodes,
        pool,
        killed: kill.node,
        kill_at_s: (kill.at - kill.started_with.at).as_secs_f64(),
        first_success_after_kill_ms: gaps.and_then(|g| g.first_answer_after).map(ms),
        worst_gap_after_kill_ms: gaps.and_then(|g| g.worst_gap).map(ms),
        successes_after_kill: gaps.map_or(0, |g| g.answers),
        new_owner_after_ms: kill.new_owner.as_ref().map(|(_, at)| ms(*at - kill.at)),
        new_owner: kill.new_owner.map(|(url, _)| url),
        max_gap_ms: config.max_gap.map(ms),
    })
}

/// The Redis key of `pool`'s lease: the pool id as the store writes it (`PoolId`'s
/// `Display`, `P-` and hex digits) inside the pool's hash tag.
pub fn lease_key(pool: &str) -> Result<String, FailoverError> {
    let id = seatbroker::domain::ids::parse_pool(pool).map_err(|_| FailoverError::Owner {
        pool: pool.to_owned(),
        reason: "not a pool id".to_owned(),
    })?;
    Ok(format!("sb:{{{id}}}:lease"))
}

/// Waits for the measured phase to start and then `kill_after`; kills the node the lease of
/// `key` names and marks the moment in the run's gap watch; then reads the lease until
/// another node holds it or the run is over.
async fn kill_owner(
    cluster: &mut Cluster,
    key: &str,
    told: oneshot::Receiver<DriveStarted>,
    kill_after: Duration,
    duration: Duration,
) -> Result<Kill, String> {
    let started_with = told
        .await
        .map_err(|_| "the run ended before it started".to_owned())?;
    let started = started_with.at;
    tokio::time::sleep_until((started + kill_after).into()).await;
    let redis = cluster.redis_url();
    let deadline = Instant::now() + OWNER_PATIENCE;
    let owner = loop {
        let holder = lease_holder(&redis, key).await?;
        if let Some(node) = holder.as_deref().and_then(|url| cluster.node_at(url)) {
            break node;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no node of ours held {key} within {OWNER_PATIENCE:?} (it names {holder:?})"
            ));
        }
        tokio::time::sleep(LEASE_POLL).await;
    };
    let node = cluster.urls()[owner].clone();
    let Some(at) = cluster.kill(owner) else {
        return Err(format!("node {node} was not running"));
    };
    started_with.rec.gaps.mark(at);
    let end = started + duration;
    let mut new_owner = None;
    while Instant::now() < end {
        let holder = lease_holder(&redis, key).await?;
        if let Some(url) = holder.filter(|url| cluster.node_at(url) != Some(owner)) {
            new_owner = Some((url, Instant::now()));
            break;
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
    Ok(Kill {
        node,
        at,
        started_with,
        new_owner,
    })
}

/// The URL in the lease record at `key` (`<node-id> <url>`), or `None` when no lease is held.
async fn lease_holder(redis_url: &str, key: &str) -> Result<Option<String>, String> {
    let (redis_url, key) = (redis_url.to_owned(), key.to_owned());
    let value = tokio::task::spawn_blocking(move || redis_get(&redis_url, &key))
        .await
        .map_err(|e| format!("reading the lease: {e}"))?
        .map_err(|e| format!("reading the lease: {e}"))?;
    Ok(value.map(|v| match v.split_once(' ') {
        Some((_, url)) => url.trim().to_owned(),
        None => v,
    }))
}

/// `GET key` on the Redis at `redis://HOST:PORT` in plain RESP (the tester needs nothing else
/// of Redis, so no client library): the string, or `None` when the key does not exist.
fn redis_get(redis_url: &str, key: &str) -> std::io::Result<Option<String>> {
    use std::io::{BufRead, BufReader, Read, Write};
    let address = redis_url
        .trim_start_matches("redis://")
        .trim_end_matches('/');
    let address: std::net::SocketAddr = address
        .parse()
        .map_err(|e| std::io::Error::other(format!("{redis_url}: {e}")))?;
    let mut conn = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    conn.set_read_timeout(Some(Duration::from_secs(1)))?;
    conn.write_all(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes())?;
    let mut reader = BufReader::new(conn);
    let mut head = String::new();
    reader.read_line(&mut head)?;
    let head = head.trim_end();
    let Some(length) = head.strip_prefix('$') else {
        return Err(std::io::Error::other(format!(
            "GET {key} answered {head:?}"
        )));
    };
    let Ok(length) = usize::try_from(length.parse::<i64>().unwrap_or(-1)) else {
        return Ok(None);
    };
    let mut value = vec![0u8; length + 2];
    reader.read_exact(&mut value)?;
    value.truncate(length);
    String::from_utf8(value)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("GET {key}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_key_carries_the_pool_id_as_the_store_writes_it() {
        let key = lease_key("P-CB9-5B8").expect("a pool id");
        assert!(
            key.starts_with("sb:{P-") && key.ends_with("}:lease"),
            "{key}"
        );
        let id = &key["sb:{P-".len()..key.len() - "}:lease".len()];
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{key}"
        );
        assert!(lease_key("not-a-pool").is_err());
    }

    #[test]
    fn a_failover_report_passes_only_with_an_answer_after_the_kill_within_the_bound() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "scenario": "hot-pool", "url": "http://a", "clients": 1, "rate": null,
            "elapsed_s": 1.0, "pairs": 1, "pairs_per_s": 1.0, "p50_ms": 1.0, "p99_ms": 1.0,
            "refusals": 0, "requests": 1, "ops": {}, "errors": {}, "violations": [],
            "violation_count": 0, "client_cpu_us_per_request": 1.0, "extra": {}
        }))
        .expect("a report");
        let mut failover = FailoverReport {
            report,
            nodes: 3,
            pool: "P-CB9-5B8".to_owned(),
            killed: "http://b".to_owned(),
            kill_at_s: 1.5,
            first_success_after_kill_ms: Some(1_600.0),
            worst_gap_after_kill_ms: Some(1_700.0),
            successes_after_kill: 10,
            new_owner: Some("http://c".to_owned()),
            new_owner_after_ms: Some(1_590.0),
            max_gap_ms: None,
        };
        assert!(failover.passed());
        let json = serde_json::to_value(&failover).expect("json");
        assert_eq!(json["kill_at_s"], 1.5);
        assert_eq!(
            json["scenario"], "hot-pool",
            "the run's fields at the top level"
        );
        failover.max_gap_ms = Some(1_000.0);
        assert!(!failover.passed());
        assert!(failover.table().contains("GAP TOO LONG"));
        failover.max_gap_ms = None;
        failover.first_success_after_kill_ms = None;
        failover.worst_gap_after_kill_ms = None;
        assert!(!failover.passed());
    }
}
