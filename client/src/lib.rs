//! The seatbroker client library: what a desktop or web application embeds to take a seat
//! when it starts, keep it alive while it runs and give it back when it closes, and what the
//! load tester builds on. `Client` holds one broker URL and a shared `reqwest::Client`;
//! `Client::acquire` returns a `SeatGuard` that heartbeats in the background and publishes
//! the seat's fate on a watch channel; the raw seat calls (`take_seat`, `heartbeat`,
//! `close`, `logout`) are there too for callers that drive them themselves. 429 and 503 are
//! retried honouring `Retry-After` (`RetryPolicy`); every other refusal is a typed `Error`
//! carrying the API's code and details. There is no global state: every value lives in a
//! `Client` or a `SeatGuard`. The server itself is not here (the `seatbroker` crate).
//! For a computer with no network, `offline` makes the offline request file the user carries
//! to the broker's portal, and checks and keeps the signed license file brought back
//! (`OfflineActivation`), with no network and against the broker's public keys.
//!
//! ```no_run
//! # async fn run() -> Result<(), seatbroker_client::Error> {
//! use seatbroker_client::{AcquireRequest, Client, Platform};
//! let client = Client::new("http://127.0.0.1:8080")?;
//! client.login("student@uni.edu", "thesis due").await?;
//! let seat = client
//!     .acquire(AcquireRequest::new("laptop-1", Platform::Windows))
//!     .await?;
//! // ... the application runs; seat.watch() says if the seat is lost ...
//! seat.close().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
pub mod device;
mod error;
mod guard;
mod model;
pub mod offline;
mod retry;

pub use client::Client;
pub use error::{Error, LossReason, NoSeatDetails, OwnerContact, SeatElsewhere};
pub use guard::{SeatGuard, SeatState};
pub use model::{
    Account, AcquireRequest, Activation, Grant, Heartbeat, Invite, License, Login, Me, Platform,
    Policy, Pool, PoolOwner, Seat,
};
pub use offline::{OfflineActivation, OfflineError, OfflineKeys, OfflineTarget};
pub use retry::RetryPolicy;
