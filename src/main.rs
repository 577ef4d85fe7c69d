//! The `seatbroker` binary. The HTTP service (`seatbroker serve`) is built in the next
//! milestone on top of the seat engine in `actors/`; until then the binary only says so.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "seatbroker {}: the HTTP service (`seatbroker serve`) is not built yet; \
         this release contains the seat engine (crate seatbroker-actors) and its tests. \
         See README.md.",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
