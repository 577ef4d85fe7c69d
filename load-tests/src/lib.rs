//! The seatbroker load tester: scenarios that drive a broker through the client library
//! (`seatbroker-client`), the invariant checks made while they run, the null broker and the
//! Redis-semaphore peer they are compared against, the `compare`, `sweep` and `failover`
//! commands, and the brokers a run spreads its requests over (`targets`). The command line
//! is in `cli`; everything here is also callable from tests.

#![warn(missing_docs)]

pub mod checker;
pub mod cli;
pub mod compare;
pub mod failover;
pub mod gaps;
pub mod limits;
pub mod null_broker;
pub mod peer;
pub mod procs;
pub mod runner;
pub mod scenario;
pub mod setup;
pub mod stats;
pub mod sweep;
pub mod targets;
