//! The Redis-semaphore peer (issue 19): the broker's seat routes and JSON served the way a
//! team would build a seat broker without us, the yardstick of PERF.md's "at equal
//! durability" target. Everything but the seats is the null broker's (`null_broker`: the
//! routes, token check, bodies, setup answers and errors); the seats are a counting
//! semaphore in Redis, as the `redis-semaphore` package keeps one:
//!
//! - one sorted set per pool, `sem:{POOL}:holders`, member the seat, score the time of its
//!   grant or last heartbeat (ms), and a hash `sem:{POOL}` with the pool's `capacity` (the
//!   seats of its licenses, added at activation) and `timeout_s` (set by the owner's PATCH);
//!   a license's seats wait under `sem:license:KEY` from issue to activation;
//! - take: one Lua script (`ACQUIRE`) drops holders older than the timeout and adds the
//!   caller when fewer than capacity hold the pool, else answers 409 `no_seat_available`
//!   with the capacity and the count held;
//! - heartbeat: `ZADD XX` of the seat with the time now, in a script that first drops the
//!   holders whose deadline passed (`REFRESH`, as `redis-semaphore` refreshes), so that an
//!   expired seat answers 410 instead of coming back; close and logout: `ZREM`.
//!
//! Each HTTP worker has its own multiplexed connection (the `redis` crate pipelines the
//! commands of concurrent requests on it), as each worker process of a Node cluster has its
//! own ioredis client; the Redis behind it is expected with `appendonly yes` and
//! `appendfsync always` (`procs::start_peer_with_workers` starts one so). It keeps no
//! waiting queue: `wait_s` is ignored and a full pool refuses at once, so it compares on the
//! scenarios that do not wait (hot-pool, many-pools, heartbeat-storm). Nothing here is
//! tuned beyond what a team would write; it is what the broker should beat.

use std::time::Duration;

use actix_web::dev::Server;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script, ScriptInvocation};
use seatbroker_actors::{PoolId, SeatId, Timestamp};

use crate::null_broker::{
    run_until_signalled, serve_with, PoolState, SeatStore, ServerArgs, StoreUnavailable, Take,
    TIMEOUT_S,
};

/// How long a Redis call may take before the request is answered 503 (the broker's default
/// `storage.redis_timeout_ms`; the crate's own 500 ms would fail requests behind an fsync
/// under load).
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Take a seat: KEYS[1] the holders, KEYS[2] the pool's hash; ARGV[1] now (ms), ARGV[2] the
/// seat, ARGV[3] the timeout of a pool that set none (s). Answers `{granted, in_use,
/// capacity, timeout_s}`; `granted` is 1, 0 (full) or -1 (the pool has no license).
const ACQUIRE: &str = r"
local conf = redis.call('HMGET', KEYS[2], 'capacity', 'timeout_s')
local capacity = tonumber(conf[1])
if not capacity then return {-1, 0, 0, 0} end
local timeout_s = tonumber(conf[2]) or tonumber(ARGV[3])
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - timeout_s * 1000)
local in_use = redis.call('ZCARD', KEYS[1])
if in_use < capacity then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  return {1, in_use + 1, capacity, timeout_s}
end
return {0, in_use, capacity, timeout_s}
";

/// A heartbeat: KEYS and ARGV as `ACQUIRE`'s. Answers the pool's timeout (s), or -1 when the
/// seat is no longer held.
const REFRESH: &str = r"
local timeout_s = tonumber(redis.call('HGET', KEYS[2], 'timeout_s')) or tonumber(ARGV[3])
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - timeout_s * 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', now, ARGV[2])
  return timeout_s
end
return -1
";

/// An activation: KEYS[1] the license's seats, KEYS[2] the pool's set of licenses, KEYS[3]
/// the pool's hash; ARGV[1] the key. Adds the license's seats to the pool's capacity the
/// first time; answers its seats, or -1 for an unknown key.
const ACTIVATE: &str = r"
local seats = tonumber(redis.call('GET', KEYS[1]))
if not seats then return -1 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'capacity', seats)
end
return seats
";

/// A pool's state without changing it: KEYS[1] the holders, KEYS[2] the pool's hash;
/// ARGV[1] now (ms), ARGV[2] the default timeout (s). Answers `{capacity, in_use,
/// timeout_s}`, counting only holders within the timeout.
const STATUS: &str = r"
local conf = redis.call('HMGET', KEYS[2], 'capacity', 'timeout_s')
local timeout_s = tonumber(conf[2]) or tonumber(ARGV[2])
local live = redis.call('ZCOUNT', KEYS[1], '(' .. (tonumber(ARGV[1]) - timeout_s * 1000), '+inf')
return {tonumber(conf[1]) or 0, live, timeout_s}
";

impl From<redis::RedisError> for StoreUnavailable {
    fn from(e: redis::RedisError) -> Self {
        StoreUnavailable(e.to_string())
    }
}

/// One HTTP worker's seats in Redis: its multiplexed connection and the scripts.
pub struct RedisSeats {
    conn: MultiplexedConnection,
    acquire: Script,
    refresh: Script,
    activate: Script,
    status: Script,
}

/// The sorted set of a pool's holders.
fn holders(pool: PoolId) -> String {
    format!("sem:{{{}}}:holders", pool.0)
}

/// The hash of a pool's capacity and timeout.
fn conf(pool: PoolId) -> String {
    format!("sem:{{{}}}", pool.0)
}

/// The set of license keys activated into a pool.
fn licenses(pool: PoolId) -> String {
    format!("sem:{{{}}}:licenses", pool.0)
}

/// `script` (`ACQUIRE` or `REFRESH`) for `seat` of `pool` at `now`, with their keys and
/// arguments.
fn seat_call(script: &Script, pool: PoolId, seat: SeatId, now: Timestamp) -> ScriptInvocation<'_> {
    let mut call = script.key(holders(pool));
    call.key(conf(pool)).arg(now.0).arg(seat.0).arg(TIMEOUT_S);
    call
}

impl RedisSeats {
    /// Connects to the Redis at `url` (a multiplexed connection driven by the calling
    /// runtime).
    pub async fn connect(url: &str) -> Result<RedisSeats, StoreUnavailable> {
        let client = redis::Client::open(url)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(RedisSeats {
            conn,
            acquire: Script::new(ACQUIRE),
            refresh: Script::new(REFRESH),
            activate: Script::new(ACTIVATE),
            status: Script::new(STATUS),
        })
    }
}

impl SeatStore for RedisSeats {
    async fn license_issued(&self, key: &str, seats: u32) -> Result<(), StoreUnavailable> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(format!("sem:license:{key}"))
            .arg(seats)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn activate(&self, key: &str, pool: PoolId) -> Result<Option<u32>, StoreUnavailable> {
        let mut conn = self.conn.clone();
        let seats: i64 = self
            .activate
            .key(format!("sem:license:{key}"))
            .key(licenses(pool))
            .key(conf(pool))
            .arg(key)
            .invoke_async(&mut conn)
            .await?;
        Ok(u32::try_from(seats).ok())
    }

    async fn set_timeout(&self, pool: PoolId, timeout_s: u32) -> Result<(), StoreUnavailable> {
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(conf(pool))
            .arg("timeout_s")
            .arg(timeout_s.max(1))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn pool(&self, pool: PoolId) -> Result<PoolState, StoreUnavailable> {
        let mut conn = self.conn.clone();
        let (capacity, in_use, timeout_s): (u32, u32, u32) = self
            .status
            .key(holders(pool))
            .key(conf(pool))
            .arg(crate::null_broker::now().0)
            .arg(TIMEOUT_S)
            .invoke_async(&mut conn)
            .await?;
        Ok(PoolState {
            capacity,
            in_use,
            timeout_s,
        })
    }

    async fn take(
        &self,
        pool: PoolId,
        seat: SeatId,
        now: Timestamp,
    ) -> Result<Take, StoreUnavailable> {
        let mut conn = self.conn.clone();
        let (granted, in_use, capacity, timeout_s): (i64, u32, u32, u32) =
            seat_call(&self.acquire, pool, seat, now)
                .invoke_async(&mut conn)
                .await?;
        Ok(match granted {
            1 => Take::Granted { timeout_s },
            0 => Take::Full { capacity, in_use },
            _ => Take::NoLicense,
        })
    }

    async fn heartbeat(
        &self,
        pool: PoolId,
        seat: SeatId,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreUnavailable> {
        let mut conn = self.conn.clone();
        let timeout_s: i64 = seat_call(&self.refresh, pool, seat, now)
            .invoke_async(&mut conn)
            .await?;
        Ok(u32::try_from(timeout_s).ok())
    }

    async fn release(&self, pool: PoolId, seat: SeatId) -> Result<(), StoreUnavailable> {
        let mut conn = self.conn.clone();
        redis::cmd("ZREM")
            .arg(holders(pool))
            .arg(seat.0)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }
}

/// Binds the peer on `listen` (port 0 for a free one) with `workers` worker threads, each
/// with its own connection to the Redis at `redis_url`; its port and the server to run.
/// Must run inside an actix system.
pub fn serve(
    listen: &str,
    operator_token: &str,
    workers: usize,
    redis_url: &str,
) -> std::io::Result<(u16, Server)> {
    let url = redis_url.to_owned();
    serve_with(listen, operator_token, workers, move || {
        let url = url.clone();
        async move { RedisSeats::connect(&url).await }
    })
}

/// The peer's command line (binary `seatbroker-peer`).
#[derive(Debug, clap::Parser)]
#[command(
    name = "seatbroker-peer",
    version,
    about = "The Redis-semaphore peer: the seat routes and JSON on a sorted set per pool in Redis"
)]
pub struct PeerArgs {
    /// Where and how it serves.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The Redis holding the seats (append-only with `appendfsync always` for a fair
    /// comparison).
    #[arg(long)]
    pub redis_url: String,
}

/// Serves until killed; the exit code (2 when Redis cannot be reached at start).
pub fn main_with(args: PeerArgs) -> i32 {
    let workers = args.server.workers();
    run_until_signalled("peer", async move {
        // Reached once before serving, so that an unreachable Redis ends the process with
        // its reason rather than in a worker that fails to start.
        RedisSeats::connect(&args.redis_url)
            .await
            .map_err(std::io::Error::other)?;
        serve(
            &args.server.listen,
            &args.server.operator_token,
            workers,
            &args.redis_url,
        )
    })
}
