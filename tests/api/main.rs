//! Black-box tests of the broker: the real server on a free port with its own data directory
//! (`helpers::spawn_broker`), or the real debug binary where a process is what is tested
//! (signals, exit codes, restarts). One test binary, so the suite links once.

mod accounts;
mod cluster;
mod email;
mod engine_on_embedded_store;
mod expiry;
mod grafana;
mod helpers;
mod history;
mod licenses;
mod limits;
mod members;
mod metrics;
mod offline;
mod ops;
mod ownership;
mod pool_admin;
mod portal;
mod privacy;
mod process;
mod races;
mod redis_backend;
mod redis_cluster;
mod redis_store;
mod schemathesis;
mod seats;
mod slow_clients;
mod support;
mod trials;
mod usage;
