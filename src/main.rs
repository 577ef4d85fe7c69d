//! The `seatbroker` binary: everything happens in `cli`.

fn main() -> std::process::ExitCode {
    seatbroker::cli::run()
}
