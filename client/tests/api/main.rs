//! The client library against a real broker started in-process on a free port: background
//! heartbeats, closing and dropping, lost seats, refusals with their details, and retries.
//! Tests are named after the rules of SEAT_RULES.md they exercise.

mod guard;
mod helpers;
mod raw;
mod refusals;
mod retry;
