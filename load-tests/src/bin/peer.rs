//! `seatbroker-peer`: the Redis-semaphore peer as a process of its own, on the system
//! allocator like the broker and the null broker.

use clap::Parser;

fn main() {
    let args = seatbroker_load::peer::PeerArgs::parse();
    std::process::exit(seatbroker_load::peer::main_with(args));
}
