//! Assembles the broker in one place: opens the store, starts the engine, binds the HTTP server
//! (which may bind port 0 so that tests get a free port) with `server.workers` workers, and loads
//! the pools holding seats in the background. Pool actors run on the HTTP workers' own
//! arbiters, spread over them in turn, so a worker's requests to the pools on its thread
//! reach them without a thread switch.

use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use seatbroker_actors::store::PoolStore;
use seatbroker_actors::{Clock, EngineConfig, PoolRegistry, SystemClock, TableLimits};

use crate::auth::lockout::Lockouts;
use crate::auth::password::PasswordHasher;
use crate::auth::revocations::TokenRevocations;
use crate::auth::token::TokenKey;
use crate::cluster::bus::Bus;
use crate::cluster::{Cluster, Engine};
use crate::domain::device::DeviceKey;
use crate::http;
use crate::limits::Limits;
use crate::service::locks::AccountLocks;
use crate::service::AppState;
use crate::settings::{Backend, Settings, SettingsError};
use crate::store::cached::CachedRecords;
use crate::store::embedded::EmbeddedStore;
use crate::store::embedded::OpenError;
use crate::store::redis::RedisStore;
use crate::store::redis::{LeaseOptions, RedisOpenError, RedisOptions};
use crate::store::AccountStore;

/// Connections the kernel holds for the broker to accept (capped by `net.core.somaxconn`).
/// std's 128 overflowed when a lecture's clients connected at once: the kernel dropped their
/// SYNs and each waited a second to retry (issue 18's 10,000 connections showed it).
const LISTEN_BACKLOG: i32 = 4_096;

/// How long in-flight requests may take to finish after SIGTERM (API.md: exit within 10 s).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The embedded store could not open.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Password hashing or the token key could not be set up.
    #[error("authentication setup: {0}")]
    Auth(String),
    /// The metrics could not be set up.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// Redis could not be reached or its URL is unusable.
    #[error(transparent)]
    Redis(#[from] RedisOpenError),
    /// The mail transport could not be set up (the outbox directory, the sender).
    #[error(transparent)]
    Email(#[from] crate::email::EmailError),
}

/// A broker ready to serve: its server, its engine and the port it listens on.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Builds the broker from its settings. Must run inside an actix system.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Like `build`, reading time from `clock` (tests move it forward to expire licenses).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let (store, accounts, redis) = open_stores(&settings).await?;
        let hasher = password_hasher(&settings)?;
        let signing_key = signing_key(&settings, accounts.as_ref()).await?;
        let devices = device_key(accounts.as_ref()).await?;
        let mut lockouts = Lockouts::new(settings.auth.lockout_threshold, settings.auth.lockout_s);
        let mut activation_counts = Limits::activation_counts(&settings.limits);
        let mailer = crate::email::Mailer::new(&settings.email, &settings.storage.path)?;
        let revocations = TokenRevocations::new(
            accounts
                .token_revocations()
                .await
                .map_err(|e| StartupError::Auth(e.to_string()))?,
        );
        let trusted_proxies = settings.trusted_proxies()?;
        let workers = settings.http_workers();
        let registry = PoolRegistry::new(
            store.clone(),
            clock,
            engine_config(&settings, &devices),
            Vec::new(),
        );
        let cluster = join_cluster(&settings, redis);
        if let Some(cluster) = &cluster {
            // A3 across nodes: a load balancer may send each attempt to another node.
            lockouts = lockouts.shared(cluster.store().clone());
            activation_counts = activation_counts.shared(cluster.store().clone());
        }
        let limits = Limits::new(&settings.limits, activation_counts);
        let engine = Engine::new(registry.clone(), cluster.clone());
        let (listener, addr) = bind(&settings)?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                addr: addr.to_string(),
                source,
            })?
            .port();
        let max_body = settings.server.max_body_bytes;
        let request_timeout = Duration::from_millis(settings.server.client_request_timeout_ms);
        let metrics = crate::metrics::Metrics::new(
            registry.clone(),
            cluster.clone(),
            settings.metrics.max_pool_series,
        )?;
        let records = Arc::new(CachedRecords::new(accounts));
        let bus = cluster.as_ref().map(|c| Bus::new(c.store().clone()));
        let state = web::Data::new(AppState {
            settings,
            registry,
            engine,
            store,
            accounts: records.clone(),
            records,
            bus: bus.clone(),
            hasher,
            tokens: TokenKey::new(signing_key),
            devices,
            revocations,
            mailer,
            lockouts,
            limits,
            trusted_proxies,
            account_pools: Default::default(),
            account_locks: account_locks(cluster.as_ref()),
            shutting_down: AtomicBool::new(false),
            metrics,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            // Runs once on each worker's thread as it starts.
            app_state.registry.adopt_current_arbiter();
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(middleware::from_fn(http::trace_requests))
                .configure(http::routes)
                .configure(crate::portal::routes)
                .default_service(web::to(http::unknown_route))
        })
        .workers(workers)
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(DRAIN_TIMEOUT.as_secs())
        // A request's head may take this long to arrive (slow clients; config/default.toml
        // says why the default is 30 s).
        .client_request_timeout(request_timeout)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: addr.to_string(),
            source,
        })?
        .run();
        // After `run`, which returns once every worker has started and adopted its arbiter,
        // so no pool starts on this (the main) thread.
        let loader = state.registry.clone();
        actix_rt::spawn(async move { loader.load_live_pools(64).await });
        if let Some(cluster) = cluster {
            let registry = state.registry.clone();
            actix_rt::spawn(crate::cluster::leases::run(cluster, registry));
        }
        if let Some(bus) = bus {
            actix_rt::spawn(bus.listen(state.clone().into_inner()));
        }
        Ok(Application {
            port,
            server,
            state,
        })
    }

    /// The port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The seat engine, for benchmarks and tests that read its counters.
    pub fn registry(&self) -> &PoolRegistry {
        &self.state.registry
    }

    /// Serves until SIGTERM or Ctrl-C, then drains (see `shutdown`).
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        crate::shutdown::serve_until_signal(self.server, self.state, self.port).await
    }
}

/// The stores a node opens: the pools', the service records', and the Redis store itself
/// when that is the backend (the cluster keeps its leases there).
type Stores = (
    Arc<dyn PoolStore>,
    Arc<dyn AccountStore>,
    Option<Arc<RedisStore>>,
);

/// The store of the pools and the store of the service's records: one embedded store, or one
/// Redis (with a warning when it does not fsync every write). With several nodes, loading a
/// pool from Redis takes its lease as this node.
async fn open_stores(settings: &Settings) -> Result<Stores, StartupError> {
    match settings.storage.backend {
        Backend::Embedded => {
            let embedded = Arc::new(EmbeddedStore::open_with_options(
                &settings.storage.path,
                settings.usage.retention_days,
                settings.storage.cache_bytes(),
            )?);
            Ok((embedded.clone(), embedded, None))
        }
        Backend::Redis => {
            let options = RedisOptions {
                url: settings.storage.redis_url.expose_secret().to_owned(),
                timeout: Duration::from_millis(settings.storage.redis_timeout_ms),
                down_timeout: Duration::from_millis(settings.storage.redis_down_timeout_ms),
                max_in_flight: settings.storage.redis_max_in_flight,
                usage_retention_days: settings.usage.retention_days,
            };
            let mut redis = RedisStore::connect(&options).await?;
            if let Some(url) = settings.advertise_url() {
                redis = redis.hold_leases(LeaseOptions {
                    holder: Cluster::holder(&node_id(), &url),
                    lease_ms: settings.cluster.lease_ms,
                });
            }
            let redis = Arc::new(redis);
            match redis.durability_warning().await {
                Some(warning) => tracing::warn!(redis = redis.target(), "{warning}"),
                None => tracing::info!(
                    redis = redis.target(),
                    "Redis fsyncs every write (appendfsync always)"
                ),
            }
            Ok((redis.clone(), redis.clone(), Some(redis)))
        }
    }
}

/// The account locks: shared through Redis with several nodes.
fn account_locks(cluster: Option<&Arc<Cluster>>) -> AccountLocks {
    let locks = AccountLocks::default();
    match cluster {
        Some(cluster) => locks.shared(cluster.store().clone()),
        None => locks,
    }
}

/// A random id for this process, so that a node restarted on the same address is told apart
/// from its earlier run.
fn node_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness, the process id and the time still differ between runs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes = (u64::from(std::process::id()) << 32 | u64::from(nanos)).to_be_bytes();
    }
    hex::encode(bytes)
}

/// Several nodes (`cluster.secret` set, on Redis): this node's place among them.
fn join_cluster(settings: &Settings, redis: Option<Arc<RedisStore>>) -> Option<Arc<Cluster>> {
    let secret = settings.cluster.secret.clone()?;
    let url = settings.advertise_url()?;
    let redis = redis?;
    let node = redis.lease_holder_id()?;
    tracing::info!(node, url, "joining the nodes on this Redis");
    Some(Arc::new(Cluster::new(
        node,
        url,
        secret,
        redis,
        Duration::from_millis(settings.cluster.lease_ms),
        Duration::from_millis(settings.cluster.renew_ms),
    )))
}

/// A2: argon2id at the configured cost, on all cores but one.
fn password_hasher(settings: &Settings) -> Result<PasswordHasher, StartupError> {
    let auth = &settings.auth;
    PasswordHasher::new(
        auth.argon2_m_kib,
        auth.argon2_t,
        auth.argon2_p,
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
    )
    .map_err(|e| StartupError::Auth(e.to_string()))
}

/// A4's key: `auth.signing_key`, or the one kept in the store (made on first start).
async fn signing_key(
    settings: &Settings,
    accounts: &dyn AccountStore,
) -> Result<Vec<u8>, StartupError> {
    match &settings.auth.signing_key {
        Some(key) => Ok(key.expose_secret().as_bytes().to_vec()),
        None => {
            let mut fresh = vec![0u8; 32];
            getrandom::fill(&mut fresh).map_err(|e| StartupError::Auth(e.to_string()))?;
            accounts
                .secret(crate::store::secrets::TOKEN_SIGNING_KEY, fresh)
                .await
                .map_err(|e| StartupError::Auth(e.to_string()))
        }
    }
}

/// The key that turns device ids into stored ones (issue 16, privacy): kept in the store,
/// made on first start, the same for every node.
async fn device_key(accounts: &dyn AccountStore) -> Result<DeviceKey, StartupError> {
    let mut fresh = vec![0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| StartupError::Auth(e.to_string()))?;
    accounts
        .secret(crate::store::secrets::DEVICE_ID_KEY, fresh)
        .await
        .map(DeviceKey::new)
        .map_err(|e| StartupError::Auth(e.to_string()))
}

/// The engine's bounds from the settings; pools that load migrate the device ids an earlier
/// version stored raw to keyed hashes under `devices`.
fn engine_config(settings: &Settings, devices: &DeviceKey) -> EngineConfig {
    EngineConfig {
        device_migration: Some(Arc::new(devices.clone())),
        limits: TableLimits {
            max_waiters: settings.seats.max_waiters_per_pool,
            ..TableLimits::default()
        },
        mailbox_capacity: settings.engine.mailbox_capacity,
        idle_stop_after: Duration::from_secs(settings.engine.idle_stop_s),
        ..EngineConfig::default()
    }
}

/// The listening socket at `server.listen` (port 0 picks a free one).
fn bind(settings: &Settings) -> Result<(TcpListener, std::net::SocketAddr), StartupError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr = settings.listen_addr()?;
    let listen = || {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(LISTEN_BACKLOG)?;
        Ok::<_, std::io::Error>(TcpListener::from(socket))
    };
    let listener = listen().map_err(|source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    Ok((listener, addr))
}
