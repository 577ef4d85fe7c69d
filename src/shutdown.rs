//! Graceful shutdown, in one place: on SIGTERM or Ctrl-C the broker stops accepting, answers
//! waiting seat requests 503 `shutting_down`, lets in-flight requests finish, commits every
//! pending change, stops the engine and returns, well within API.md's 10 seconds.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_rt::Arbiter;
use actix_web::dev::Server;
use actix_web::web;

use crate::http::AppState;

/// How long the engine may take to commit what is pending and stop its actors.
const ENGINE_STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves until a signal arrives, then drains. The signal handlers are installed before the
/// broker says it is serving, so a SIGTERM right after that line always drains.
pub async fn serve_until_signal(
    server: Server,
    state: web::Data<AppState>,
    arbiters: Vec<Arbiter>,
    port: u16,
) -> std::io::Result<()> {
    let handle = server.handle();
    let signals = Signals::install()?;
    let serving = actix_rt::spawn(server);
    tracing::info!(listen = %state.settings.server.listen, port, "seatbroker is serving");
    let signal = signals.wait().await;
    tracing::info!(signal, "shutting down: draining requests and committing");
    state.shutting_down.store(true, Ordering::Release);
    // Stop accepting and wait for in-flight requests; meanwhile answer the waiting ones so
    // they finish at once instead of holding the drain up.
    let stopping = handle.stop(true);
    state.registry.drain().await;
    stopping.await;
    state.registry.shutdown(ENGINE_STOP_TIMEOUT).await;
    for arbiter in arbiters {
        arbiter.stop();
    }
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
