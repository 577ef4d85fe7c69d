//! The seatbroker service: what turns the seat engine (crate `seatbroker-actors`) into a
//! broker. Today it holds the embedded store; the HTTP layer, settings and the command line
//! follow (see README.md). The seat rules are not here: they live in the engine.

#![warn(missing_docs)]

pub mod store;
