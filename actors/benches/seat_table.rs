//! Benchmarks of the pure seat table (release build: `cargo bench -p seatbroker-actors
//! --bench seat_table`): an acquire+release pair with 100,000 seats held, a heartbeat with
//! 1,000,000 seats held, and the memory a table with 1,000,000 held seats takes, measured by
//! a counting global allocator and printed before the timings.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{criterion_group, Criterion};
use seatbroker_actors::{
    AccountId, AcquireOutcome, AcquireRequest, DeviceId, License, LicenseId, Platform, PoolId,
    PoolSettings, SeatId, SeatTable, TableLimits, Timestamp,
};

/// Counts the bytes currently allocated, so the bench can report a table's real footprint.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T0: Timestamp = Timestamp(1_800_000_000_000);
const OWNER: AccountId = AccountId(0xFFF_FFF);

/// A table holding `held` member seats, one account each, with device ids as the service
/// stores them (`h1:` and 32 hex digits).
fn table_with(held: u32, capacity: u32) -> (SeatTable, Vec<SeatId>) {
    let mut table = SeatTable::new(
        PoolId(1),
        OWNER,
        vec![License {
            id: LicenseId(1),
            seats: capacity,
            expires_at: None,
            trial: false,
        }],
        PoolSettings::default(),
        TableLimits::default(),
        T0,
    );
    let mut ids = Vec::with_capacity(held as usize);
    for i in 0..held {
        match table.acquire(request(i, &device(i)), T0) {
            AcquireOutcome::Granted { seat, .. } => ids.push(seat.id),
            other => panic!("{other:?}"),
        }
        if i % 4_096 == 0 {
            table.take_changes();
        }
    }
    table.take_changes();
    (table, ids)
}

fn device(i: u32) -> String {
    // What the service stores: `h1:` and 128 bits of HMAC in hex.
    format!("h1:{i:08x}5c0e4a6b9d1f3e2a7b8c9d0e")
}

fn request(account: u32, device: &str) -> AcquireRequest {
    AcquireRequest {
        account: AccountId(account),
        device: DeviceId::parse(device).expect("valid device id"),
        platform: Platform::Windows,
        wait: None,
    }
}

fn memory_report() {
    let before = ALLOCATED.load(Ordering::Relaxed);
    let (table, ids) = table_with(1_000_000, 2_000_000);
    drop(ids);
    let after = ALLOCATED.load(Ordering::Relaxed);
    let bytes = (after - before) as f64;
    println!(
        "memory: a table with 1,000,000 held seats takes {:.1} MiB ({:.0} bytes per seat)",
        bytes / (1024.0 * 1024.0),
        bytes / 1_000_000.0
    );
    black_box(&table);
}

fn acquire_release_pair(c: &mut Criterion) {
    let (mut table, _) = table_with(100_000, 200_000);
    let dev = device(u32::MAX);
    let req = request(0xABCDEF, &dev);
    let mut now = T0;
    c.bench_function("table: acquire+release pair, 100k seats held", |b| {
        b.iter(|| {
            now = now.plus_millis(1);
            let seat = match table.acquire(req.clone(), now) {
                AcquireOutcome::Granted { seat, .. } => seat.id,
                other => panic!("{other:?}"),
            };
            let closed = table.close(seat, AccountId(0xABCDEF), now);
            black_box(closed.is_ok());
            black_box(table.take_changes());
        })
    });
}

fn heartbeat(c: &mut Criterion) {
    let (mut table, ids) = table_with(1_000_000, 2_000_000);
    let mut i: u64 = 0;
    let mut n: u64 = 0;
    let mut now = T0;
    c.bench_function("table: heartbeat, 1M seats held", |b| {
        b.iter(|| {
            // A stride coprime with 1,000,000 visits every seat, out of order.
            i = (i + 7_919) % 1_000_000;
            n += 1;
            if n % 4_096 == 0 {
                // The actor takes the changes after every operation; do it now and then.
                black_box(table.take_changes());
            }
            now = now.plus_millis(1);
            let hb = table.heartbeat(ids[i as usize], AccountId(i as u32), None, now);
            assert!(hb.is_ok(), "every heartbeat reaches a held seat");
            let _ = black_box(hb);
        })
    });
    black_box(table.take_changes().len());
}

criterion_group!(benches, acquire_release_pair, heartbeat);

fn main() {
    memory_report();
    if std::env::var_os("BENCH_MEMORY_ONLY").is_some() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
