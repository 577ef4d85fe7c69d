//! `seatbroker-load`: parses the command line, raises the open-file limit, runs the command.

use clap::Parser;

/// mimalloc keeps the generator's own cost per request low (malloc and free were a sixth
/// of its CPU on the system allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = seatbroker_load::cli::Cli::parse();
    if let Err(e) = seatbroker_load::limits::raise_open_files() {
        eprintln!("seatbroker-load: cannot raise the open-file limit: {e}");
    }
    std::process::exit(seatbroker_load::cli::execute(cli));
}
