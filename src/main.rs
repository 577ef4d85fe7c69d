//! The `seatbroker` binary: everything happens in `cli`.

/// mimalloc instead of glibc's malloc: with many threads handing buffers to each other, glibc
/// malloc and free took 12 % of the broker's CPU under load (README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    seatbroker::cli::run()
}
