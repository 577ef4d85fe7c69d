//! Graceful shutdown, in one place: on SIGTERM or Ctrl-C the broker stops accepting, answers
//! waiting seat requests 503 `shutting_down`, commits every pending change and stops the
//! engine (seat requests that reach it later hear 503 `shutting_down`), lets in-flight
//! requests finish and returns, well within API.md's 10 seconds. The engine stops first
//! because its actors run on the HTTP workers' arbiters, which end with the workers.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;

use crate::service::AppState;

/// How long the engine may take to answer its waiters, commit what is pending and stop its
/// actors; the HTTP drain (`DRAIN_TIMEOUT`) comes after it.
const ENGINE_STOP_TIMEOUT: Duration = Duration::from_secs(1);
/// Several nodes: how long giving up this node's leases may take, after the engine stopped.
const LEASE_RELEASE_TIMEOUT: Duration = Duration::from_millis(500);

/// Serves until a signal arrives, then drains. The signal handlers are installed before the
/// broker says it is serving, so a SIGTERM right after that line always drains.
pub async fn serve_until_signal(
    server: Server,
    state: web::Data<AppState>,
    port: u16,
) -> std::io::Result<()> {
    let handle = server.handle();
    let signals = Signals::install()?;
    let serving = actix_rt::spawn(server);
    tracing::info!(listen = %state.settings.server.listen, port, "seatbroker is serving");
    let signal = signals.wait().await;
    tracing::info!(signal, "shutting down: draining requests and committing");
    state.shutting_down.store(true, Ordering::Release);
    handle.pause().await;
    state.registry.shutdown(ENGINE_STOP_TIMEOUT).await;
    if let Some(cluster) = state.engine.cluster() {
        crate::cluster::leases::release_all(cluster, LEASE_RELEASE_TIMEOUT).await;
    }
    handle.stop(true).await;
    let result = match serving.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(e)),
    };
    tracing::info!("stopped");
    result
}

/// The handlers of SIGTERM and SIGINT (Ctrl-C), installed once.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either; returns its name.
    async fn wait(mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
