//! The client library against a real broker started in-process on a free port: background
//! heartbeats, closing and dropping, lost seats, refusals with their details, and retries.
//! Tests are named after the rules of SEAT_RULES.md they exercise. `offline` needs no broker:
//! it signs offline licenses as the broker would (issue 16).

mod guard;
mod helpers;
mod offline;
mod raw;
mod refusals;
mod retry;
