//! The whole life of a seat in a desktop application: log in, take a seat with a stable
//! device id (waiting a little when the pool is full), keep it while "working", follow its
//! fate on the watch channel, and close it on the way out.
//!
//! ```sh
//! SEATBROKER_URL=http://127.0.0.1:8080 SEATBROKER_EMAIL=student@uni.edu \
//! SEATBROKER_PASSWORD='thesis due' cargo run -p seatbroker-client --example desktop_app
//! ```
//! `SEATBROKER_WORK_S` sets how long the application "works" (default 10 seconds).

use std::time::Duration;

use seatbroker_client::{device, AcquireRequest, Client, Error, Platform, SeatState};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("desktop_app: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::new(&env("SEATBROKER_URL", "http://127.0.0.1:8080"))?;
    let login = client
        .login(
            &env("SEATBROKER_EMAIL", "student@uni.edu"),
            &env("SEATBROKER_PASSWORD", "thesis due"),
        )
        .await?;
    println!("logged in as {}", login.account_id);

    // The same machine gets the same id (and so the same seat, S2) every time it starts.
    let state_file = std::env::temp_dir().join("seatbroker-desktop-app/device-id");
    let device_id = device::stable_device_id("desktop_app", &state_file)?;

    let request =
        AcquireRequest::new(device_id, Platform::desktop()).waiting(Duration::from_secs(10));
    let seat = match client.acquire(request).await {
        Ok(seat) => seat,
        Err(Error::NoSeatAvailable(full)) => {
            println!(
                "no seat: {} of {} in use; queue position {:?}",
                full.in_use, full.capacity, full.queue_position
            );
            for other in &full.own_seats_elsewhere {
                println!(
                    "  you hold {} on {} ({}); \"free up my seats\" would release it",
                    other.seat_id, other.device_id, other.platform
                );
            }
            if let Some(owner) = &full.owner_contact {
                println!("  ask {} <{}> for more seats", owner.name, owner.email);
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "seat {} ({}), heartbeat every {} s",
        seat.seat_id(),
        if seat.reused() {
            "the same as before"
        } else {
            "new"
        },
        seat.seat().heartbeat_interval_s
    );

    let work = Duration::from_secs(env("SEATBROKER_WORK_S", "10").parse().unwrap_or(10));
    let mut fate = seat.watch();
    let deadline = tokio::time::sleep(work);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            changed = fate.changed() => {
                if changed.is_err() {
                    break;
                }
                let state = fate.borrow_and_update().clone();
                match state {
                    SeatState::Lost { reason } => {
                        // Never taken again behind the user's back: tell them and stop.
                        println!("the seat was lost: {reason}; save your work");
                        return Ok(());
                    }
                    SeatState::Unreachable { since, .. } => {
                        println!("the broker is unreachable since {since}; still trying");
                    }
                    other => println!("seat state: {other:?}"),
                }
            }
        }
        // An application would report whether its user did anything lately (W2).
        seat.set_active(true);
    }

    seat.close().await?;
    println!("closed; bye");
    Ok(())
}
