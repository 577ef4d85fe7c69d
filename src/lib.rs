//! The seatbroker service: what turns the seat engine (crate `seatbroker-actors`) into a
//! broker: settings, the command line, the storage backends (embedded and Redis), the service
//! layer, the JSON API, the web portal, startup and graceful shutdown. The seat rules are not here: they live in the engine.

#![warn(missing_docs)]

pub mod auth;
pub mod cli;
pub mod cluster;
pub mod domain;
pub mod email;
pub mod http;
pub mod limits;
pub mod metrics;
#[cfg(test)]
mod mutations;
pub mod portal;
#[cfg(feature = "test-redis")]
pub mod redis_server;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;
