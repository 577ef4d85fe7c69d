//! `seatbroker-null`: the null broker as a process of its own, on the system allocator like
//! the broker (the tester's binary runs on mimalloc).

use clap::Parser;

fn main() {
    let args = seatbroker_load::null_broker::NullArgs::parse();
    std::process::exit(seatbroker_load::null_broker::main_with(args));
}
