//! `seatbroker-load`: parses the command line, raises the open-file limit, runs the command.

use clap::Parser;

fn main() {
    let cli = seatbroker_load::cli::Cli::parse();
    if let Err(e) = seatbroker_load::limits::raise_open_files() {
        eprintln!("seatbroker-load: cannot raise the open-file limit: {e}");
    }
    std::process::exit(seatbroker_load::cli::execute(cli));
}
