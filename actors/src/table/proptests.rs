//! Property test of the seat table: random sequences of every operation, clock jumps, license
//! changes and failed commits never exceed capacity (S1), never keep two seats for one
//! (account, device, platform), never lose a seat that was granted and not released, expired
//! or revoked, and always hand a freed seat to the head of the queue (W1). Trials start and
//! end at random too (L6): their days are consumed and run out under the same invariants.
//! Offline-file seats (issue 16) are taken at random as well, and only a forced release, a
//! member blocked or removed, or a capacity drop ever ends one.

use std::collections::{BTreeSet, VecDeque};

use proptest::prelude::*;

use super::*;
use crate::ids::{DeviceId, LicenseId};

const T0: Timestamp = Timestamp(1_800_000_000_000);
const OWNER: AccountId = AccountId(0);

#[derive(Debug, Clone)]
enum Op {
    Acquire {
        account: u32,
        device: u8,
        platform: u8,
        wait_s: Option<u16>,
    },
    OfflineFile {
        account: u32,
        device: u8,
        platform: u8,
    },
    Heartbeat {
        pick: usize,
        active: Option<bool>,
    },
    Close(usize),
    Logout(usize),
    ReleaseAll(u32),
    Offline {
        pick: usize,
        secs: u32,
    },
    AdminRelease(usize),
    Block(u32),
    Unblock(u32),
    RemoveMember(u32),
    Licenses(Vec<(u32, Option<u32>)>),
    Settings {
        timeout_s: u32,
        idle_s: Option<u32>,
    },
    CancelWaiter(usize),
    StartTrial(u8),
    EndTrial,
    Advance(u32),
    Commit,
    FailCommit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..6, 0u8..3, 0u8..3, prop::option::weighted(0.3, 1u16..120)).prop_map(
            |(account, device, platform, wait_s)| Op::Acquire { account, device, platform, wait_s }
        ),
        2 => (0u32..6, 0u8..3, 0u8..3).prop_map(|(account, device, platform)| Op::OfflineFile {
            account,
            device,
            platform
        }),
        3 => (any::<usize>(), prop::option::of(any::<bool>()))
            .prop_map(|(pick, active)| Op::Heartbeat { pick, active }),
        2 => any::<usize>().prop_map(Op::Close),
        1 => any::<usize>().prop_map(Op::Logout),
        1 => (0u32..6).prop_map(Op::ReleaseAll),
        1 => (any::<usize>(), 1u32..2_000_000).prop_map(|(pick, secs)| Op::Offline { pick, secs }),
        1 => any::<usize>().prop_map(Op::AdminRelease),
        1 => (1u32..6).prop_map(Op::Block),
        1 => (1u32..6).prop_map(Op::Unblock),
        1 => (1u32..6).prop_map(Op::RemoveMember),
        1 => prop::collection::vec((1u32..4, prop::option::of(1u32..50_000)), 0..3)
            .prop_map(Op::Licenses),
        1 => (1u32..40_000, prop::option::of(1u32..3_000))
            .prop_map(|(timeout_s, idle_s)| Op::Settings { timeout_s, idle_s }),
        1 => any::<usize>().prop_map(Op::CancelWaiter),
        1 => (0u8..4).prop_map(Op::StartTrial),
        1 => Just(Op::EndTrial),
        4 => prop_oneof![0u32..120, 0u32..40_000, 0u32..3_000_000].prop_map(Op::Advance),
        2 => Just(Op::Commit),
        1 => Just(Op::FailCommit),
    ]
}

/// What the test believes the table holds, built only from what the table told it.
struct Model {
    held: BTreeSet<SeatId>,
    /// The held seats that are offline-file seats.
    files: BTreeSet<SeatId>,
    /// Waiters in order, with whether each is one of the owner's desktops.
    queue: VecDeque<(WaiterId, bool)>,
    uncommitted: Vec<Change>,
    next_waiter: u64,
}

impl Model {
    fn pick(&self, table: &SeatTable, pick: usize) -> Option<SeatView> {
        let ids: Vec<SeatId> = self.held.iter().copied().collect();
        if ids.is_empty() {
            return None;
        }
        table.seat(ids[pick % ids.len()])
    }

    fn absorb(&mut self, table: &mut SeatTable) {
        for notice in table.take_notices() {
            match notice {
                Notice::WaiterGranted { waiter, seat, .. } => {
                    // W1: a freed seat goes to the head of the queue; half a seat among the
                    // owner's desktops (S9) goes to the first owner desktop waiting.
                    let at = self.queue.iter().position(|(w, _)| *w == waiter);
                    let first_owner_desktop = self.queue.iter().position(|(_, od)| *od);
                    assert!(
                        at == Some(0) || (at.is_some() && at == first_owner_desktop),
                        "W1: {waiter:?} served out of order from {:?}",
                        self.queue
                    );
                    self.queue.retain(|(w, _)| *w != waiter);
                    self.held.insert(seat.id);
                }
                Notice::WaiterRefused { waiter, .. } => {
                    let before = self.queue.len();
                    self.queue.retain(|(w, _)| *w != waiter);
                    assert_eq!(self.queue.len() + 1, before, "refused a waiter not waiting");
                }
            }
        }
        for change in table.take_changes() {
            if let Change::SeatRemoved(t) = &change {
                assert!(self.held.remove(&t.seat), "removed a seat never granted");
                if self.files.remove(&t.seat) {
                    assert!(
                        !matches!(t.reason, GoneReason::Released | GoneReason::Expired),
                        "an offline-file seat ended by {:?}",
                        t.reason
                    );
                }
            }
            self.uncommitted.push(change);
        }
    }
}

fn run(ops: Vec<Op>, colliding_hashes: bool) {
    let mut now = T0;
    let mut table = SeatTable::new(
        PoolId(1),
        OWNER,
        vec![License {
            id: LicenseId(1),
            seats: 3,
            expires_at: None,
            trial: false,
        }],
        PoolSettings {
            timeout_s: 600,
            offline_max_days: 3,
            idle_reclaim_s: Some(300),
        },
        TableLimits {
            max_waiters: 4,
            max_tombstones: 50,
        },
        now,
    );
    if colliding_hashes {
        table.collide_device_hashes();
    }
    let mut model = Model {
        held: BTreeSet::new(),
        files: BTreeSet::new(),
        queue: VecDeque::new(),
        uncommitted: Vec::new(),
        next_waiter: 1,
    };
    let devices = ["a", "b", "c"];
    let platforms = [Platform::Windows, Platform::Mac, Platform::Web];
    for op in ops {
        match op {
            Op::Acquire {
                account,
                device,
                platform,
                wait_s,
            } => {
                let waiter = WaiterId(model.next_waiter);
                model.next_waiter += 1;
                let req = AcquireRequest {
                    account: AccountId(account),
                    device: DeviceId::parse(devices[device as usize]).unwrap(),
                    platform: platforms[platform as usize],
                    wait: wait_s.map(|s| (waiter, now.plus_secs(u64::from(s)))),
                };
                let outcome = table.acquire(req, now);
                // Notices caused by time passing inside the call come first.
                model.absorb(&mut table);
                match outcome {
                    AcquireOutcome::Granted { seat, reused } => {
                        if reused {
                            assert!(model.held.contains(&seat.id), "S2: reuses a held seat");
                        } else {
                            assert!(model.held.insert(seat.id), "a new seat id");
                        }
                    }
                    AcquireOutcome::Queued {
                        waiter: w,
                        position,
                    } => {
                        assert_eq!(w, waiter);
                        let owner_desktop = AccountId(account) == OWNER
                            && platforms[platform as usize].is_desktop();
                        model.queue.push_back((w, owner_desktop));
                        assert_eq!(position, model.queue.len());
                    }
                    AcquireOutcome::Refused(_) => {}
                }
            }
            Op::OfflineFile {
                account,
                device,
                platform,
            } => {
                let outcome = table.take_offline_file(
                    AccountId(account),
                    DeviceId::parse(devices[device as usize]).unwrap(),
                    platforms[platform as usize],
                    now,
                );
                model.absorb(&mut table);
                match outcome {
                    AcquireOutcome::Granted { seat, reused } => {
                        assert!(seat.offline_file && seat.expires_at.is_none());
                        assert_ne!(seat.platform, Platform::Web, "never for the web");
                        if reused {
                            assert!(model.held.contains(&seat.id), "S2: reuses a held seat");
                        } else {
                            assert!(model.held.insert(seat.id), "a new seat id");
                        }
                        model.files.insert(seat.id);
                    }
                    AcquireOutcome::Queued { .. } => panic!("an offline-file seat never waits"),
                    AcquireOutcome::Refused(_) => {}
                }
            }
            Op::Heartbeat { pick, active } => {
                if let Some(seat) = model.pick(&table, pick) {
                    let _ = table.heartbeat(seat.id, seat.account, active, now);
                }
            }
            Op::Close(pick) => {
                if let Some(seat) = model.pick(&table, pick) {
                    let _ = table.close(seat.id, seat.account, now);
                }
            }
            Op::Logout(pick) => {
                if let Some(seat) = model.pick(&table, pick) {
                    let _ = table.logout(seat.id, seat.account, now);
                }
            }
            Op::ReleaseAll(account) => {
                let released = table.release_all(AccountId(account), now);
                assert!(
                    released.iter().all(|id| !model.files.contains(id)),
                    "S7 skips offline-file seats"
                );
            }
            Op::Offline { pick, secs } => {
                if let Some(seat) = model.pick(&table, pick) {
                    let until = now.plus_secs(u64::from(secs));
                    let _ = table.reserve_offline(seat.id, seat.account, until, now);
                }
            }
            Op::AdminRelease(pick) => {
                if let Some(seat) = model.pick(&table, pick) {
                    assert_eq!(table.admin_release(seat.id, now), Ok(()));
                }
            }
            Op::Block(a) => {
                let _ = table.block(AccountId(a), now);
            }
            Op::Unblock(a) => {
                let _ = table.unblock(AccountId(a), now);
            }
            Op::RemoveMember(a) => {
                let _ = table.remove_member(AccountId(a), now);
            }
            Op::Licenses(list) => {
                let licenses = list
                    .into_iter()
                    .enumerate()
                    .map(|(i, (seats, secs))| License {
                        id: LicenseId(i as u32 + 10),
                        seats,
                        expires_at: secs.map(|s| now.plus_secs(u64::from(s))),
                        trial: false,
                    })
                    .collect();
                table.set_licenses(licenses, now);
            }
            Op::Settings { timeout_s, idle_s } => {
                let settings = PoolSettings {
                    timeout_s,
                    offline_max_days: 3,
                    idle_reclaim_s: idle_s,
                };
                table.update_settings(settings, now);
            }
            Op::CancelWaiter(pick) => {
                if !model.queue.is_empty() {
                    let w = model.queue[pick % model.queue.len()].0;
                    // Time passing inside the call may have served or refused it first;
                    // otherwise it left before anyone behind it was served.
                    if table.cancel_waiter(w, now) {
                        model.queue.retain(|(q, _)| *q != w);
                    }
                    model.absorb(&mut table);
                }
            }
            Op::StartTrial(days) => {
                table.start_trial(days, now);
            }
            Op::EndTrial => {
                table.end_trial(now);
            }
            Op::Advance(secs) => {
                now = now.plus_secs(u64::from(secs));
                table.expire_due(now);
            }
            Op::Commit => {
                model.absorb(&mut table);
                model.uncommitted.clear();
            }
            Op::FailCommit => {
                model.absorb(&mut table);
                let failed = std::mem::take(&mut model.uncommitted);
                let mut retry = Vec::new();
                let undone = table.rollback(failed, &mut retry);
                for id in undone {
                    assert!(model.held.remove(&id), "undid a seat never granted");
                    model.files.remove(&id);
                }
                model.uncommitted = retry;
            }
        }
        model.absorb(&mut table);
        table.check_invariants();
        let actual: BTreeSet<SeatId> = table.seats.keys().collect();
        assert_eq!(
            actual, model.held,
            "a held seat was lost or a seat appeared unseen"
        );
        let queue: Vec<WaiterId> = table.queue.iter().map(|w| w.id).collect();
        let expected: Vec<WaiterId> = model.queue.iter().map(|(w, _)| *w).collect();
        assert_eq!(queue, expected, "the queue is FIFO");
        let files: BTreeSet<SeatId> = table
            .seats
            .values()
            .filter(|s| s.offline_file)
            .map(|s| s.id)
            .collect();
        assert_eq!(files, model.files, "offline-file seats stay what they are");
        let status = table.status();
        assert!(status.in_use <= status.capacity, "S1");
        if let Some(trial) = table.trial() {
            let exhausted = trial.days_left == 0
                && trial
                    .last_day_at
                    .is_none_or(|at| at.plus_millis(DAY_MS) <= now);
            assert!(
                !exhausted || table.seats.is_empty(),
                "L6: no seat is held once the trial's days are used up"
            );
        }
        assert!(
            model.queue.is_empty() || status.in_use >= status.capacity,
            "W1: free capacity while someone waits"
        );
    }
}

/// 400 cases in the suite; `PROPTEST_CASES=20000` for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn s1_w1_random_operations_keep_every_invariant(
        ops in prop::collection::vec(op(), 1..80),
        colliding_hashes in any::<bool>(),
    ) {
        run(ops, colliding_hashes);
    }
}
