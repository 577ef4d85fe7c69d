//! One test or more per seat rule, with a simulated clock: the table is pure, so every rule is
//! checked deterministically by passing `now`.

use super::*;
use crate::ids::DeviceId;
use crate::model::UsageRecord;
use crate::time::{HOUR_MS, SECOND_MS};

const T0: Timestamp = Timestamp(1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS);
const OWNER: AccountId = AccountId(0x00A_001);
const BO: AccountId = AccountId(0x00B_002);
const CY: AccountId = AccountId(0x00C_003);
const DI: AccountId = AccountId(0x00D_004);

fn license(seats: u32) -> License {
    License {
        id: crate::ids::LicenseId(seats),
        seats,
        expires_at: None,
        trial: false,
    }
}

fn expiring(seats: u32, at: Timestamp) -> License {
    License {
        expires_at: Some(at),
        ..license(seats)
    }
}

fn dev(name: &str) -> DeviceId {
    DeviceId::parse(name).expect("test device ids are valid")
}

/// A pool under test with its own simulated clock.
struct Pool {
    table: SeatTable,
    now: Timestamp,
}

fn pool(seats: u32) -> Pool {
    pool_with(vec![license(seats)], PoolSettings::default())
}

fn pool_with(licenses: Vec<License>, settings: PoolSettings) -> Pool {
    Pool {
        table: SeatTable::new(
            PoolId(1),
            OWNER,
            licenses,
            settings,
            TableLimits::default(),
            T0,
        ),
        now: T0,
    }
}

impl Pool {
    fn advance_secs(&mut self, secs: u64) {
        self.now = self.now.plus_millis(secs * SECOND_MS);
        self.table.expire_due(self.now);
        self.table.check_invariants();
    }

    fn request(&mut self, account: AccountId, device: &str, platform: Platform) -> AcquireOutcome {
        let out = self.table.acquire(
            AcquireRequest {
                account,
                device: dev(device),
                platform,
                wait: None,
            },
            self.now,
        );
        self.table.check_invariants();
        out
    }

    fn wait(&mut self, account: AccountId, device: &str, waiter: u64, secs: u64) -> AcquireOutcome {
        let out = self.table.acquire(
            AcquireRequest {
                account,
                device: dev(device),
                platform: Platform::Windows,
                wait: Some((WaiterId(waiter), self.now.plus_secs(secs))),
            },
            self.now,
        );
        self.table.check_invariants();
        out
    }

    /// Takes a seat that must be granted; returns it.
    fn take(&mut self, account: AccountId, device: &str, platform: Platform) -> SeatView {
        match self.request(account, device, platform) {
            AcquireOutcome::Granted { seat, .. } => seat,
            other => panic!("expected a seat for {account}/{device}, got {other:?}"),
        }
    }

    fn refusal(&mut self, account: AccountId, device: &str, platform: Platform) -> Refusal {
        match self.request(account, device, platform) {
            AcquireOutcome::Refused(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn heartbeat(&mut self, seat: &SeatView) -> Result<SeatView, SeatError> {
        self.table.heartbeat(seat.id, seat.account, None, self.now)
    }

    fn in_use(&self) -> u32 {
        self.table.status().in_use
    }

    fn removed(&mut self) -> Vec<(SeatId, GoneReason)> {
        self.table
            .take_changes()
            .into_iter()
            .filter_map(|c| match c {
                Change::SeatRemoved(t) => Some((t.seat, t.reason)),
                _ => None,
            })
            .collect()
    }

    fn granted_waiters(&mut self) -> Vec<WaiterId> {
        self.table
            .take_notices()
            .into_iter()
            .filter_map(|n| match n {
                Notice::WaiterGranted { waiter, .. } => Some(waiter),
                Notice::WaiterRefused { .. } => None,
            })
            .collect()
    }
}

const WIN: Platform = Platform::Windows;
const MAC: Platform = Platform::Mac;
const WEB: Platform = Platform::Web;

// ----- S1 ------------------------------------------------------------------------------------

#[test]
fn s1_capacity_is_never_exceeded() {
    let mut p = pool(3);
    for i in 0..3 {
        p.take(AccountId(100 + i), "pc", WIN);
    }
    for i in 3..50 {
        let r = p.refusal(AccountId(100 + i), "pc", WIN);
        assert_eq!(r.code(), "no_seat_available");
    }
    assert_eq!(p.in_use(), 3);
    assert_eq!(p.table.status().seats, 3);
}

// ----- S2 ------------------------------------------------------------------------------------

#[test]
fn s2_starting_again_on_the_same_device_returns_the_same_seat() {
    let mut p = pool(1);
    let first = p.take(BO, "laptop", WIN);
    p.advance_secs(60);
    match p.request(BO, "laptop", WIN) {
        AcquireOutcome::Granted { seat, reused } => {
            assert!(reused);
            assert_eq!(seat.id, first.id);
            assert_eq!(
                seat.granted_at, first.granted_at,
                "a restart does not make it newer"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.in_use(), 1);
}

#[test]
fn s2_same_seat_again_after_a_crash_and_restore() {
    let mut p = pool(2);
    let first = p.take(BO, "laptop", WIN);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, vec![license(2)]);
    snapshot.apply(&p.table.take_changes());
    let mut restored = Pool {
        table: SeatTable::restore(snapshot, TableLimits::default(), p.now.plus_secs(5)),
        now: p.now.plus_secs(5),
    };
    let again = restored.take(BO, "laptop", WIN);
    assert_eq!(again.id, first.id);
    let other = restored.take(CY, "pc", WIN);
    assert!(
        other.id > first.id,
        "seat ids are never reused after a restart"
    );
}

#[test]
fn s2_hashed_device_ids_are_packed_and_still_find_their_seat() {
    // The service stores `h1:` and 32 hex digits; the table packs them to 19 bytes.
    let hashed = format!("h1:{}", "0123456789abcdef".repeat(2));
    let neighbour = format!("h1:{}", "0123456789abcdef".repeat(2).replace("ef", "ee"));
    let mut p = pool(3);
    let first = p.take(BO, &hashed, WIN);
    assert_eq!(first.device.as_str(), hashed, "seen as it was sent");
    assert_eq!(p.take(BO, &hashed, WIN).id, first.id, "S2: the same device");
    let other = p.take(BO, &neighbour, WIN);
    assert_ne!(other.id, first.id, "S3: a device one digit away is another");
    p.table.check_invariants();
}

// ----- S3 ------------------------------------------------------------------------------------

#[test]
fn s3_same_account_on_another_device_takes_another_seat() {
    let mut p = pool(5);
    let a = p.take(BO, "laptop", WIN);
    let b = p.take(BO, "desktop", WIN);
    let c = p.take(BO, "laptop", MAC);
    assert_ne!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert_eq!(p.in_use(), 3);
}

#[test]
fn s3_several_accounts_on_one_terminal_server_take_one_seat_each() {
    let mut p = pool(5);
    p.take(BO, "terminal", WIN);
    p.take(CY, "terminal", WIN);
    p.take(DI, "terminal", WIN);
    assert_eq!(p.in_use(), 3);
}

// ----- S4 ------------------------------------------------------------------------------------

#[test]
fn s4_seat_freed_after_heartbeat_timeout() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    assert_eq!(
        seat.expires_at,
        Some(T0.plus_secs(28_800)),
        "default timeout is 8 hours"
    );
    p.advance_secs(28_799);
    assert_eq!(p.in_use(), 1);
    p.advance_secs(1);
    assert_eq!(p.in_use(), 0);
    assert_eq!(p.removed(), vec![(seat.id, GoneReason::Expired)]);
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::Expired))
    );
}

#[test]
fn s4_heartbeats_keep_the_seat() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    for _ in 0..10 {
        p.advance_secs(20_000);
        let hb = p.heartbeat(&seat).expect("alive");
        assert_eq!(hb.expires_at, Some(p.now.plus_secs(28_800)));
    }
    assert_eq!(p.in_use(), 1);
    p.advance_secs(28_800);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s4_a_late_timer_still_expires_before_answering() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    // No expire_due call: the heartbeat itself arrives after the deadline.
    p.now = p.now.plus_secs(30_000);
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::Expired))
    );
    p.take(CY, "pc", WIN);
}

#[test]
fn s4_new_timeout_applies_from_the_next_heartbeat() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    let settings = PoolSettings {
        timeout_s: 60,
        ..PoolSettings::default()
    };
    p.table.update_settings(settings, p.now);
    p.advance_secs(120);
    assert_eq!(p.in_use(), 1, "the old deadline still holds");
    let hb = p.heartbeat(&seat).unwrap();
    assert_eq!(hb.expires_at, Some(p.now.plus_secs(60)));
    assert_eq!(hb.heartbeat_interval_s, 20);
    p.advance_secs(61);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s4_a_heartbeat_is_persisted_only_when_the_deadline_moved_a_tenth() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    p.table.take_changes();
    let seat_changes = |p: &mut Pool| -> Vec<Change> {
        let changes = p.table.take_changes();
        changes
            .into_iter()
            .filter(|c| !matches!(c, Change::Usage(_)))
            .collect()
    };
    p.advance_secs(60);
    p.heartbeat(&seat).unwrap();
    assert!(
        seat_changes(&mut p).is_empty(),
        "a small move costs no write"
    );
    p.advance_secs(2_880);
    p.heartbeat(&seat).unwrap();
    let changes = seat_changes(&mut p);
    assert!(
        matches!(&changes[..], [Change::SeatUpdated(rec)] if rec.deadline == Some(p.now.plus_secs(28_800))),
        "{changes:?}"
    );
}

#[test]
fn s4_recovery_gives_grace_to_seats_whose_saved_deadline_lags() {
    let mut p = pool(3);
    let fresh = p.take(BO, "a", WIN);
    let stale = p.take(CY, "b", WIN);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, vec![license(3)]);
    snapshot.apply(&p.table.take_changes());
    // The broker was down until just past both saved deadlines; `fresh` had heartbeats that
    // were not persisted (under a tenth of the timeout), `stale` had none for long.
    for rec in &mut snapshot.seats {
        if rec.id == stale.id {
            rec.deadline = Some(T0.plus_secs(100));
        }
    }
    let back = T0.plus_secs(28_800 + 60);
    let table = SeatTable::restore(snapshot, TableLimits::default(), back);
    let seat = table
        .seat(fresh.id)
        .expect("within a tenth of the timeout: kept");
    assert!(
        seat.expires_at >= Some(back.plus_secs(300)),
        "at least one heartbeat interval"
    );
    assert!(table.seat(stale.id).is_none());
}

// ----- S5 ------------------------------------------------------------------------------------

#[test]
fn s5_member_seat_freed_on_close() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    assert_eq!(p.table.close(seat.id, BO, p.now), Ok(CloseOutcome::Freed));
    assert_eq!(p.in_use(), 0);
    assert_eq!(p.removed(), vec![(seat.id, GoneReason::Released)]);
}

#[test]
fn s5_owner_desktop_seat_kept_on_close_and_never_expires() {
    let mut p = pool(1);
    let seat = p.take(OWNER, "workstation", WIN);
    assert_eq!(seat.policy, Policy::Owner);
    assert_eq!(p.table.close(seat.id, OWNER, p.now), Ok(CloseOutcome::Kept));
    let kept = p.table.seat(seat.id).unwrap();
    assert_eq!(kept.expires_at, None, "a kept seat needs no heartbeat");
    p.advance_secs(365 * 24 * 3_600);
    assert_eq!(p.in_use(), 1);
    // Starting again on that device returns it, running again with a deadline.
    let again = p.take(OWNER, "workstation", WIN);
    assert_eq!(again.id, seat.id);
    assert!(again.expires_at.is_some());
}

#[test]
fn s5_web_seat_freed_on_close_for_everyone() {
    let mut p = pool(2);
    let owner_web = p.take(OWNER, "browser", WEB);
    assert_eq!(
        p.table.close(owner_web.id, OWNER, p.now),
        Ok(CloseOutcome::Freed)
    );
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s5_repeated_close_is_harmless_but_other_endings_are_reported() {
    let mut p = pool(2);
    let seat = p.take(BO, "laptop", WIN);
    p.table.close(seat.id, BO, p.now).unwrap();
    assert_eq!(
        p.table.close(seat.id, BO, p.now),
        Ok(CloseOutcome::AlreadyReleased)
    );
    assert_eq!(
        p.table.logout(seat.id, BO, p.now),
        Ok(CloseOutcome::AlreadyReleased)
    );
    let other = p.take(CY, "pc", WIN);
    p.table.admin_release(other.id, p.now).unwrap();
    assert_eq!(
        p.table.close(other.id, CY, p.now),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
    assert_eq!(p.table.close(other.id, BO, p.now), Err(SeatError::NotFound));
}

// ----- S6, S7 --------------------------------------------------------------------------------

#[test]
fn s6_logout_frees_the_seat_on_that_device_for_owner_and_member() {
    let mut p = pool(2);
    let owner = p.take(OWNER, "workstation", WIN);
    p.table.close(owner.id, OWNER, p.now).unwrap();
    let member = p.take(BO, "laptop", WIN);
    assert_eq!(
        p.table.logout(owner.id, OWNER, p.now),
        Ok(CloseOutcome::Freed)
    );
    assert_eq!(
        p.table.logout(member.id, BO, p.now),
        Ok(CloseOutcome::Freed)
    );
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s7_free_up_my_seats_releases_every_device() {
    let mut p = pool(5);
    let a = p.take(BO, "laptop", WIN);
    let b = p.take(BO, "desktop", MAC);
    let c = p.take(BO, "browser", WEB);
    let other = p.take(CY, "pc", WIN);
    let mut released = p.table.release_all(BO, p.now);
    released.sort();
    assert_eq!(released, vec![a.id, b.id, c.id]);
    assert_eq!(p.in_use(), 1);
    assert!(p.table.seat(other.id).is_some());
}

// ----- S9 ------------------------------------------------------------------------------------

#[test]
fn s9_owner_desktops_count_two_to_a_seat() {
    let mut p = pool(2);
    let a = p.take(OWNER, "d1", WIN);
    assert_eq!(p.in_use(), 1);
    let b = p.take(OWNER, "d2", MAC);
    assert_eq!(p.in_use(), 1, "two desktops share one seat");
    assert_ne!(a.id, b.id, "each device has its own seat id");
    p.take(OWNER, "d3", WIN);
    assert_eq!(p.in_use(), 2);
    // Full now, yet a fourth desktop fits in the half-used seat.
    assert_eq!(p.refusal(BO, "laptop", WIN).code(), "no_seat_available");
    p.take(OWNER, "d4", WIN);
    assert_eq!(p.in_use(), 2);
    assert_eq!(p.refusal(OWNER, "d5", WIN).code(), "no_seat_available");
    assert_eq!(p.table.status().seats, 4);
}

#[test]
fn s9_owner_web_seats_count_one_each_and_members_desktops_too() {
    let mut p = pool(4);
    p.take(OWNER, "browser", WEB);
    p.take(BO, "d1", WIN);
    p.take(BO, "d2", MAC);
    assert_eq!(p.in_use(), 3);
}

#[test]
fn s9_one_web_session_per_account() {
    let mut p = pool(5);
    let first = p.take(BO, "browser-1", WEB);
    assert_eq!(
        p.refusal(BO, "browser-2", WEB),
        Refusal::WebSessionActiveElsewhere { seat: first.id }
    );
    // The same browser again is the same seat; desktops are not affected.
    assert_eq!(p.take(BO, "browser-1", WEB).id, first.id);
    p.take(BO, "browser-2", WIN);
    p.table.close(first.id, BO, p.now).unwrap();
    p.take(BO, "browser-2", WEB);
}

// ----- S10 -----------------------------------------------------------------------------------

#[test]
fn s10_blocked_member_is_revoked_and_refused() {
    let mut p = pool(3);
    let seat = p.take(BO, "laptop", WIN);
    p.take(CY, "pc", WIN);
    assert_eq!(p.table.block(BO, p.now), Ok(1));
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::MemberBlocked))
    );
    assert_eq!(p.refusal(BO, "laptop", WIN), Refusal::MemberBlocked);
    assert!(p.table.is_blocked(BO));
    p.table.unblock(BO, p.now).unwrap();
    p.take(BO, "laptop", WIN);
    assert_eq!(p.table.block(OWNER, p.now), Err(MemberError::IsOwner));
}

#[test]
fn s10_capacity_drop_revokes_in_rule_order() {
    let end = T0.plus_secs(3_600);
    let mut p = pool_with(vec![license(1), expiring(5, end)], PoolSettings::default());
    let member_old = p.take(BO, "a", WIN);
    p.advance_secs(1);
    let owner_old = p.take(OWNER, "web", WEB);
    p.advance_secs(1);
    let member_offline = p.take(CY, "c", WIN);
    p.table
        .reserve_offline(member_offline.id, CY, end.plus_secs(3_600), p.now)
        .expect("a permanent license sets no expiry limit");
    p.advance_secs(1);
    let member_new = p.take(DI, "d", WIN);
    p.advance_secs(1);
    let owner_new = p.take(OWNER, "web2", WIN);
    assert_eq!(p.in_use(), 5);
    p.table.take_changes();
    // One license expires: capacity 6 -> 1, four seats must go.
    p.now = end;
    p.table.expire_due(end);
    let removed: Vec<SeatId> = p.removed().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        removed,
        vec![member_new.id, member_old.id, owner_new.id, owner_old.id],
        "members newest first, then the owner's, the offline reservation last"
    );
    assert!(p.table.seat(member_offline.id).is_some());
    assert_eq!(p.in_use(), 1);
    assert_eq!(
        p.heartbeat(&member_new),
        Err(SeatError::Gone(GoneReason::CapacityReduced))
    );
}

#[test]
fn s10_offline_reservations_are_revoked_last() {
    let mut p = pool_with(vec![license(1), license(2)], PoolSettings::default());
    let offline = p.take(BO, "a", WIN);
    p.table
        .reserve_offline(offline.id, BO, p.now.plus_secs(3_600), p.now)
        .unwrap();
    p.advance_secs(1);
    let online = p.take(CY, "b", WIN);
    p.table.take_changes();
    p.table.set_licenses(vec![license(1)], p.now);
    assert_eq!(p.removed(), vec![(online.id, GoneReason::CapacityReduced)]);
    assert!(p.table.seat(offline.id).is_some());
}

// ----- S11 -----------------------------------------------------------------------------------

#[test]
fn s11_offline_reservation_needs_no_heartbeat_and_survives_close() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    let until = p.now.plus_secs(10 * 24 * 3_600);
    let view = p.table.reserve_offline(seat.id, BO, until, p.now).unwrap();
    assert_eq!(view.expires_at, None);
    assert_eq!(view.offline_until, Some(until));
    assert_eq!(p.table.close(seat.id, BO, p.now), Ok(CloseOutcome::Kept));
    p.advance_secs(9 * 24 * 3_600);
    assert_eq!(p.in_use(), 1);
    // Heartbeats are answered and do not end it.
    let hb = p.heartbeat(&seat).unwrap();
    assert_eq!(hb.offline_until, Some(until));
    // Restarting on the same device returns it, still offline.
    assert_eq!(p.take(BO, "laptop", WIN).offline_until, Some(until));
}

#[test]
fn s11_after_the_period_s4_applies_from_that_moment() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    let until = p.now.plus_secs(24 * 3_600);
    p.table.reserve_offline(seat.id, BO, until, p.now).unwrap();
    p.advance_secs(24 * 3_600 + 28_799);
    assert_eq!(p.in_use(), 1);
    assert_eq!(
        p.table.seat(seat.id).unwrap().expires_at,
        Some(until.plus_secs(28_800))
    );
    p.advance_secs(1);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s11_period_limited_by_pool_setting_and_license_expiry() {
    let end = T0.plus_secs(5 * 24 * 3_600);
    let mut p = pool_with(vec![expiring(2, end)], PoolSettings::default());
    let seat = p.take(BO, "laptop", WIN);
    assert_eq!(
        p.table
            .reserve_offline(seat.id, BO, end.plus_secs(1), p.now),
        Err(SeatError::OfflinePeriodTooLong { max_until: end })
    );
    p.table.reserve_offline(seat.id, BO, end, p.now).unwrap();

    let mut p = pool(2);
    let seat = p.take(BO, "laptop", WIN);
    let max = p.now.plus_secs(14 * 24 * 3_600);
    assert_eq!(
        p.table
            .reserve_offline(seat.id, BO, max.plus_secs(1), p.now),
        Err(SeatError::OfflinePeriodTooLong { max_until: max })
    );
    assert_eq!(
        p.table.reserve_offline(seat.id, BO, p.now, p.now),
        Err(SeatError::OfflineUntilInPast)
    );
    let web = p.take(BO, "browser", WEB);
    assert_eq!(
        p.table.reserve_offline(web.id, BO, max, p.now),
        Err(SeatError::OfflineNotForWeb)
    );
}

#[test]
fn s11_logout_and_free_up_my_seats_end_it_early() {
    let mut p = pool(2);
    let a = p.take(BO, "a", WIN);
    let b = p.take(BO, "b", WIN);
    let until = p.now.plus_secs(3_600);
    p.table.reserve_offline(a.id, BO, until, p.now).unwrap();
    p.table.reserve_offline(b.id, BO, until, p.now).unwrap();
    assert_eq!(p.table.logout(a.id, BO, p.now), Ok(CloseOutcome::Freed));
    assert_eq!(p.table.release_all(BO, p.now), vec![b.id]);
    assert_eq!(p.in_use(), 0);
}

// ----- S12 -----------------------------------------------------------------------------------

#[test]
fn s12_no_seat_refusal_says_what_would_help() {
    let mut p = pool(2);
    let elsewhere = p.take(BO, "office-pc", WIN);
    p.take(CY, "pc", WIN);
    match p.refusal(BO, "laptop", MAC) {
        Refusal::NoSeatAvailable(d) => {
            assert_eq!((d.capacity, d.in_use), (2, 2));
            assert_eq!(d.own_seats_elsewhere.len(), 1);
            assert_eq!(d.own_seats_elsewhere[0].id, elsewhere.id);
            assert_eq!(d.own_seats_elsewhere[0].device, dev("office-pc"));
            assert_eq!(d.queue_position, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn s12_pools_without_live_licenses_say_why() {
    let mut p = pool_with(vec![], PoolSettings::default());
    assert_eq!(p.refusal(BO, "a", WIN), Refusal::NoLicense);
    let end = T0.plus_secs(10);
    let mut p = pool_with(vec![expiring(1, end)], PoolSettings::default());
    p.advance_secs(10);
    assert_eq!(p.refusal(BO, "a", WIN), Refusal::LicenseExpired);
    let trial = License {
        trial: true,
        ..expiring(1, end)
    };
    let mut p = pool_with(vec![trial], PoolSettings::default());
    p.advance_secs(10);
    assert_eq!(p.refusal(OWNER, "a", WIN), Refusal::TrialExpired);
}

// ----- L5 ------------------------------------------------------------------------------------

#[test]
fn l5_capacity_is_the_sum_of_live_licenses() {
    let mut p = pool_with(
        vec![license(3), expiring(2, T0.plus_secs(60))],
        PoolSettings::default(),
    );
    assert_eq!(p.table.status().capacity, 5);
    p.advance_secs(60);
    assert_eq!(p.table.status().capacity, 3);
    p.table.set_licenses(vec![license(3), license(10)], p.now);
    assert_eq!(p.table.status().capacity, 13);
}

#[test]
fn l5_a_new_license_serves_the_queue() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    assert!(matches!(
        p.wait(CY, "c", 1, 60),
        AcquireOutcome::Queued { position: 1, .. }
    ));
    p.table.set_licenses(vec![license(1), license(1)], p.now);
    assert_eq!(p.granted_waiters(), vec![WaiterId(1)]);
}

// ----- L6 ------------------------------------------------------------------------------------

const DAY_SECS: u64 = 86_400;

/// A trial pool as L6 starts it: one personal seat valid 90 days, with `days` active days.
fn trial_pool(days: u8) -> Pool {
    let trial = License {
        trial: true,
        ..expiring(1, T0.plus_secs(90 * DAY_SECS))
    };
    let mut p = pool_with(vec![trial], PoolSettings::default());
    p.table.start_trial(days, p.now);
    p
}

impl Pool {
    fn days_left(&self) -> Option<u8> {
        self.table.trial().map(|t| t.days_left)
    }

    /// Keeps `seat` running for `secs`, with a heartbeat every hour.
    fn run_for(&mut self, seat: &SeatView, secs: u64) {
        let mut left = secs;
        while left > 0 {
            let step = left.min(3_600);
            self.advance_secs(step);
            left -= step;
            let _ = self.heartbeat(seat);
        }
    }

    fn trial_changes(&mut self) -> Vec<Option<TrialDays>> {
        self.table
            .take_changes()
            .into_iter()
            .filter_map(|c| match c {
                Change::Trial(t) => Some(t),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn l6_the_first_seat_request_consumes_the_first_day() {
    let mut p = trial_pool(5);
    assert_eq!(p.days_left(), Some(5), "a new trial reports 5 active days");
    p.table.take_changes();
    let seat = p.take(OWNER, "laptop", WIN);
    assert_eq!(seat.trial_days_left, Some(4));
    assert_eq!(
        p.table.trial(),
        Some(&TrialDays {
            days_left: 4,
            last_day_at: Some(T0),
        })
    );
    assert_eq!(
        p.trial_changes(),
        vec![Some(TrialDays {
            days_left: 4,
            last_day_at: Some(T0),
        })]
    );
    let mut regular = pool(1);
    assert_eq!(
        regular.take(BO, "pc", WIN).trial_days_left,
        None,
        "outside trial pools there are no days"
    );
}

#[test]
fn l6_a_restart_within_24_hours_consumes_nothing() {
    let mut p = trial_pool(5);
    let first = p.take(OWNER, "laptop", WIN);
    p.table.take_changes();
    p.advance_secs(3_600);
    match p.request(OWNER, "laptop", WIN) {
        AcquireOutcome::Granted { seat, reused } => {
            assert!(reused, "S2: the same seat");
            assert_eq!(seat.id, first.id);
            assert_eq!(seat.trial_days_left, Some(4));
        }
        other => panic!("{other:?}"),
    }
    // Closed and started again later the same day: still the day already consumed.
    p.table.logout(first.id, OWNER, p.now).unwrap();
    p.advance_secs(20 * 3_600);
    assert_eq!(p.take(OWNER, "laptop", WIN).trial_days_left, Some(4));
    assert_eq!(p.trial_changes(), Vec::<Option<TrialDays>>::new());
}

#[test]
fn l6_a_start_24_hours_after_the_last_day_consumes_another() {
    let mut p = trial_pool(5);
    let seat = p.take(OWNER, "laptop", WIN);
    p.table.logout(seat.id, OWNER, p.now).unwrap();
    p.advance_secs(DAY_SECS - 1);
    let again = p.take(OWNER, "laptop", WIN);
    assert_eq!(
        again.trial_days_left,
        Some(4),
        "23:59:59 later: the same day"
    );
    p.table.logout(again.id, OWNER, p.now).unwrap();
    p.advance_secs(1);
    assert_eq!(p.take(OWNER, "laptop", WIN).trial_days_left, Some(3));
    assert_eq!(
        p.table.trial().and_then(|t| t.last_day_at),
        Some(T0.plus_secs(DAY_SECS))
    );
}

#[test]
fn l6_a_restart_of_a_held_seat_24_hours_on_consumes_a_day_once() {
    let mut p = trial_pool(5);
    let seat = p.take(OWNER, "laptop", WIN);
    p.run_for(&seat, DAY_SECS);
    assert_eq!(
        p.days_left(),
        Some(3),
        "the running session consumed the second day"
    );
    // The S2 restart right after falls within the day just consumed.
    match p.request(OWNER, "laptop", WIN) {
        AcquireOutcome::Granted {
            seat: again,
            reused,
        } => {
            assert!(reused);
            assert_eq!(again.trial_days_left, Some(3));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn l6_a_session_running_24_hours_consumes_another_day() {
    let mut p = trial_pool(5);
    let seat = p.take(OWNER, "laptop", WIN);
    p.table.take_changes();
    p.run_for(&seat, DAY_SECS - 3_600);
    assert_eq!(p.days_left(), Some(4));
    assert_eq!(
        p.table.next_deadline(),
        Some(T0.plus_secs(DAY_SECS)),
        "the actor's timer is set for the day's end"
    );
    p.run_for(&seat, 3_600);
    assert_eq!(p.days_left(), Some(3));
    assert_eq!(
        p.table.trial().and_then(|t| t.last_day_at),
        Some(T0.plus_secs(DAY_SECS)),
        "the new day starts when the old one ended"
    );
    assert_eq!(
        p.trial_changes(),
        vec![Some(TrialDays {
            days_left: 3,
            last_day_at: Some(T0.plus_secs(DAY_SECS)),
        })]
    );
    assert_eq!(p.heartbeat(&seat).map(|v| v.trial_days_left), Ok(Some(3)));
    // A session that ended before the day did consumes nothing more.
    p.table.logout(seat.id, OWNER, p.now).unwrap();
    p.advance_secs(3 * DAY_SECS);
    assert_eq!(p.days_left(), Some(3));
}

#[test]
fn l6_a_kept_owner_seat_is_no_running_session_until_started_again() {
    // L6 counts "a session still running"; the owner's desktop seat kept on close (S5) is
    // held but not running.
    let mut p = trial_pool(5);
    let seat = p.take(OWNER, "desk", WIN);
    assert_eq!(p.days_left(), Some(4));
    assert_eq!(p.table.close(seat.id, OWNER, p.now), Ok(CloseOutcome::Kept));
    p.advance_secs(3 * DAY_SECS);
    assert_eq!(
        p.days_left(),
        Some(4),
        "no day while the application is closed"
    );
    assert_eq!(p.take(OWNER, "desk", WIN).id, seat.id);
    assert_eq!(p.days_left(), Some(3), "starting it again consumes one");
}

#[test]
fn l6_a_kept_seat_goes_when_the_last_day_ends() {
    let mut p = trial_pool(1);
    let seat = p.take(OWNER, "desk", WIN);
    assert_eq!(p.days_left(), Some(0), "the only day is consumed");
    p.table.close(seat.id, OWNER, p.now).unwrap();
    p.table.take_changes();
    p.advance_secs(DAY_SECS);
    assert_eq!(p.removed(), vec![(seat.id, GoneReason::CapacityReduced)]);
    assert_eq!(p.refusal(OWNER, "desk", WIN), Refusal::TrialExpired);
}

#[test]
fn l6_when_the_days_are_used_up_the_trial_has_expired() {
    let mut p = trial_pool(2);
    let seat = p.take(OWNER, "laptop", WIN);
    assert_eq!(seat.trial_days_left, Some(1));
    p.run_for(&seat, DAY_SECS);
    assert_eq!(p.days_left(), Some(0), "the last day runs");
    assert_eq!(p.in_use(), 1);
    p.table.take_changes();
    p.run_for(&seat, DAY_SECS);
    assert_eq!(
        p.in_use(),
        0,
        "the held seat is revoked when the last day ends"
    );
    assert_eq!(p.removed(), vec![(seat.id, GoneReason::CapacityReduced)]);
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::CapacityReduced))
    );
    assert_eq!(p.refusal(OWNER, "laptop", WIN), Refusal::TrialExpired);
    assert_eq!(p.refusal(OWNER, "other", MAC), Refusal::TrialExpired);
    assert_eq!(p.in_use(), 0, "no seat granted");
}

#[test]
fn l6_a_start_with_no_day_left_is_refused() {
    let mut p = trial_pool(1);
    let seat = p.take(OWNER, "laptop", WIN);
    assert_eq!(seat.trial_days_left, Some(0));
    p.table.logout(seat.id, OWNER, p.now).unwrap();
    p.advance_secs(3_600);
    // Within the last day a start is still granted.
    let again = p.take(OWNER, "laptop", WIN);
    p.table.logout(again.id, OWNER, p.now).unwrap();
    p.advance_secs(DAY_SECS);
    p.table.take_changes();
    assert_eq!(p.refusal(OWNER, "laptop", WIN), Refusal::TrialExpired);
    assert_eq!(p.in_use(), 0);
    assert!(
        !p.table
            .take_changes()
            .iter()
            .any(|c| matches!(c, Change::SeatGranted(_) | Change::Trial(_))),
        "a refused start neither grants a seat nor consumes anything"
    );
    let mut none = trial_pool(0);
    assert_eq!(none.refusal(OWNER, "laptop", WIN), Refusal::TrialExpired);
}

#[test]
fn l6_a_waiting_request_is_refused_when_the_trial_expires() {
    let mut p = trial_pool(1);
    let seat = p.take(OWNER, "laptop", WIN);
    p.advance_secs(3_600);
    p.heartbeat(&seat).unwrap();
    assert!(matches!(
        p.wait(CY, "c", 1, 2 * DAY_SECS),
        AcquireOutcome::Queued { position: 1, .. }
    ));
    p.run_for(&seat, DAY_SECS);
    assert_eq!(p.in_use(), 0);
    let refused: Vec<Refusal> = p
        .table
        .take_notices()
        .into_iter()
        .filter_map(|n| match n {
            Notice::WaiterRefused { refusal, .. } => Some(refusal),
            Notice::WaiterGranted { .. } => None,
        })
        .collect();
    assert_eq!(refused, vec![Refusal::TrialExpired]);
}

#[test]
fn l6_ending_the_trial_stops_counting_days() {
    let mut p = trial_pool(1);
    let seat = p.take(OWNER, "laptop", WIN);
    p.table.end_trial(p.now);
    assert_eq!(p.table.trial(), None);
    assert_eq!(p.trial_changes().last(), Some(&None));
    p.table.set_licenses(vec![license(1)], p.now);
    p.run_for(&seat, 3 * DAY_SECS);
    assert_eq!(p.in_use(), 1, "a regular license's seat is not revoked");
    assert_eq!(p.heartbeat(&seat).map(|v| v.trial_days_left), Ok(None));
}

#[test]
fn l6_a_trial_started_while_a_seat_is_held_consumes_a_day_at_once() {
    let mut p = pool(1);
    let seat = p.take(OWNER, "laptop", WIN);
    p.table.start_trial(5, p.now);
    assert_eq!(p.days_left(), Some(4));
    p.run_for(&seat, DAY_SECS);
    assert_eq!(p.days_left(), Some(3));
    p.table.start_trial(0, p.now);
    assert_eq!(p.in_use(), 0, "no day to run on");
}

#[test]
fn l6_a_restored_table_continues_the_days() {
    let mut p = trial_pool(5);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, p.table.licenses().to_vec());
    let seat = p.take(OWNER, "laptop", WIN);
    p.run_for(&seat, DAY_SECS);
    assert_eq!(p.days_left(), Some(3));
    snapshot.apply(&p.table.take_changes());
    assert_eq!(snapshot.trial, p.table.trial().cloned());
    let later = p.now.plus_secs(60);
    let mut restored = Pool {
        table: SeatTable::restore(snapshot, TableLimits::default(), later),
        now: later,
    };
    assert_eq!(restored.days_left(), Some(3));
    let again = restored.take(OWNER, "laptop", WIN);
    assert_eq!(again.id, seat.id);
    assert_eq!(
        again.trial_days_left,
        Some(3),
        "the restart falls within the day"
    );
    restored.run_for(&again, DAY_SECS);
    assert_eq!(
        restored.days_left(),
        Some(2),
        "the running session goes on counting"
    );
}

#[test]
fn l6_a_table_restored_after_the_last_day_revokes_its_seats() {
    let mut p = trial_pool(1);
    // A timeout longer than the time the broker is down, so S4 does not free the seat first.
    let settings = PoolSettings {
        timeout_s: 3 * DAY_SECS as u32,
        ..PoolSettings::default()
    };
    p.table.update_settings(settings, p.now);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, p.table.licenses().to_vec());
    let seat = p.take(OWNER, "laptop", WIN);
    snapshot.apply(&p.table.take_changes());
    let later = p.now.plus_secs(2 * DAY_SECS);
    let mut restored = Pool {
        table: SeatTable::restore(snapshot, TableLimits::default(), later),
        now: later,
    };
    assert!(restored.table.next_deadline().is_some_and(|t| t <= later));
    restored.advance_secs(0);
    assert_eq!(restored.in_use(), 0);
    assert_eq!(
        restored.removed(),
        vec![(seat.id, GoneReason::CapacityReduced)]
    );
    assert_eq!(
        restored.refusal(OWNER, "laptop", WIN),
        Refusal::TrialExpired
    );
}

// ----- W1 ------------------------------------------------------------------------------------

#[test]
fn w1_freed_seats_go_to_waiters_in_fifo_order() {
    let mut p = pool(1);
    let held = p.take(BO, "a", WIN);
    assert!(matches!(
        p.wait(CY, "c", 1, 60),
        AcquireOutcome::Queued { position: 1, .. }
    ));
    assert!(matches!(
        p.wait(DI, "d", 2, 60),
        AcquireOutcome::Queued { position: 2, .. }
    ));
    assert_eq!(p.table.status().queue_length, 2);
    p.table.close(held.id, BO, p.now).unwrap();
    assert_eq!(p.granted_waiters(), vec![WaiterId(1)]);
    assert_eq!(p.table.status().queue_length, 1);
}

#[test]
fn w1_a_freed_seat_never_goes_to_a_newcomer_while_someone_waits() {
    let mut p = pool(1);
    let held = p.take(BO, "a", WIN);
    p.wait(CY, "c", 1, 60);
    p.table.close(held.id, BO, p.now).unwrap();
    assert_eq!(p.refusal(DI, "d", WIN).code(), "no_seat_available");
    assert_eq!(p.granted_waiters(), vec![WaiterId(1)]);
}

#[test]
fn w1_a_wait_that_ends_is_refused_with_its_position() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    p.wait(CY, "c", 1, 30);
    p.wait(DI, "d", 2, 10);
    p.advance_secs(10);
    let notices = p.table.take_notices();
    match &notices[..] {
        [Notice::WaiterRefused {
            waiter,
            refusal: Refusal::NoSeatAvailable(d),
        }] => {
            assert_eq!(*waiter, WaiterId(2));
            assert_eq!(d.queue_position, Some(2));
        }
        other => panic!("{other:?}"),
    }
    p.advance_secs(20);
    match &p.table.take_notices()[..] {
        [Notice::WaiterRefused {
            refusal: Refusal::NoSeatAvailable(d),
            ..
        }] => assert_eq!(d.queue_position, Some(1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.table.status().queue_length, 0);
}

#[test]
fn w1_a_waiter_that_disconnects_leaves_the_queue() {
    let mut p = pool(1);
    let held = p.take(BO, "a", WIN);
    p.wait(CY, "c", 1, 60);
    p.wait(DI, "d", 2, 60);
    assert!(p.table.cancel_waiter(WaiterId(1), p.now));
    assert!(!p.table.cancel_waiter(WaiterId(1), p.now));
    p.table.close(held.id, BO, p.now).unwrap();
    assert_eq!(p.granted_waiters(), vec![WaiterId(2)]);
}

#[test]
fn w1_the_queue_is_bounded() {
    let mut p = pool(1);
    p.table.limits.max_waiters = 2;
    p.take(BO, "a", WIN);
    p.wait(CY, "c", 1, 60);
    p.wait(DI, "d", 2, 60);
    assert_eq!(
        p.wait(AccountId(77), "e", 3, 60),
        AcquireOutcome::Refused(Refusal::Throttled)
    );
}

#[test]
fn w1_an_expired_seat_goes_to_the_head_of_the_queue() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    p.advance_secs(28_790);
    p.wait(CY, "c", 1, 60);
    p.advance_secs(10);
    assert_eq!(p.granted_waiters(), vec![WaiterId(1)]);
}

#[test]
fn w1_blocking_a_waiting_member_refuses_its_wait() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    p.wait(CY, "c", 1, 60);
    p.table.block(CY, p.now).unwrap();
    assert_eq!(
        p.table.take_notices(),
        vec![Notice::WaiterRefused {
            waiter: WaiterId(1),
            refusal: Refusal::MemberBlocked
        }]
    );
}

// ----- W2 ------------------------------------------------------------------------------------

fn idle_pool() -> Pool {
    pool_with(
        vec![license(1)],
        PoolSettings {
            idle_reclaim_s: Some(600),
            ..PoolSettings::default()
        },
    )
}

#[test]
fn w2_an_idle_seat_is_reclaimed_only_when_someone_waits() {
    let mut p = idle_pool();
    let idle = p.take(BO, "a", WIN);
    p.advance_secs(300);
    p.table.heartbeat(idle.id, BO, Some(false), p.now).unwrap();
    p.advance_secs(3_600);
    assert_eq!(p.in_use(), 1, "nobody waits: the idle seat stays");
    assert!(matches!(
        p.wait(CY, "c", 1, 60),
        AcquireOutcome::Granted { reused: false, .. }
    ));
    assert_eq!(
        p.heartbeat(&idle),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
}

#[test]
fn w2_an_active_seat_is_not_reclaimed_and_a_wait_reclaims_once_it_goes_idle() {
    let mut p = idle_pool();
    let seat = p.take(BO, "a", WIN);
    p.advance_secs(500);
    p.table.heartbeat(seat.id, BO, Some(true), p.now).unwrap();
    p.advance_secs(200);
    assert!(matches!(
        p.wait(CY, "c", 1, 1_000),
        AcquireOutcome::Queued { .. }
    ));
    p.table.heartbeat(seat.id, BO, Some(false), p.now).unwrap();
    p.advance_secs(399);
    assert!(p.granted_waiters().is_empty());
    p.advance_secs(1);
    assert_eq!(p.granted_waiters(), vec![WaiterId(1)]);
}

#[test]
fn w2_owner_seats_and_offline_reservations_are_not_reclaimed() {
    let mut p = pool_with(
        vec![license(2)],
        PoolSettings {
            idle_reclaim_s: Some(60),
            ..PoolSettings::default()
        },
    );
    p.take(OWNER, "a", WIN);
    let off = p.take(BO, "b", WIN);
    p.table
        .reserve_offline(off.id, BO, p.now.plus_secs(3_600), p.now)
        .unwrap();
    p.advance_secs(600);
    assert!(matches!(
        p.wait(CY, "c", 1, 60),
        AcquireOutcome::Queued { .. }
    ));
    p.advance_secs(60);
    assert_eq!(p.in_use(), 2);
}

// ----- W3, I3 --------------------------------------------------------------------------------

#[test]
fn w3_admin_release_and_the_holder_hears_revoked() {
    let mut p = pool(1);
    let seat = p.take(BO, "a", WIN);
    assert_eq!(p.table.admin_release(seat.id, p.now), Ok(()));
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
    assert_eq!(
        p.table.admin_release(seat.id, p.now),
        Err(SeatError::NotFound)
    );
}

#[test]
fn i3_a_deleted_member_loses_its_seats_and_may_come_back() {
    let mut p = pool(2);
    let seat = p.take(BO, "a", WIN);
    p.table.block(BO, p.now).unwrap();
    assert_eq!(p.table.remove_member(BO, p.now), Ok(0));
    assert!(!p.table.is_blocked(BO), "a deleted member joins afresh");
    p.take(BO, "a", WIN);
    let seat2 = p.take(CY, "c", WIN);
    assert_eq!(p.table.remove_member(CY, p.now), Ok(1));
    assert_eq!(
        p.heartbeat(&seat2),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
    let _ = seat;
}

// ----- W4 ------------------------------------------------------------------------------------

#[test]
fn w4_seat_events_are_counted_per_hour() {
    let mut p = pool(1);
    let a = p.take(BO, "a", WIN);
    p.refusal(CY, "c", WIN);
    p.table.close(a.id, BO, p.now).unwrap();
    let b = p.take(CY, "c", WIN);
    p.table.admin_release(b.id, p.now).unwrap();
    p.take(DI, "d", WIN);
    p.advance_secs(28_800);
    let usage: Vec<UsageRecord> = p
        .table
        .take_changes()
        .into_iter()
        .filter_map(|c| match c {
            Change::Usage(u) => Some(u),
            _ => None,
        })
        .collect();
    let first = usage.iter().find(|u| u.hour == T0).expect("the first hour");
    assert_eq!(
        (
            first.grants,
            first.refusals,
            first.releases,
            first.revocations
        ),
        (3, 1, 1, 1)
    );
    assert_eq!((first.peak_in_use, first.capacity), (1, 1));
    assert_eq!(first.accounts, vec![BO, CY, DI]);
    let expiry_hour = usage
        .iter()
        .find(|u| u.expirations == 1)
        .expect("the expiry is counted in its hour");
    assert_eq!(expiry_hour.hour, T0.plus_secs(28_800).hour_start());
    assert!(usage.iter().all(|u| u.hour <= p.now));
}

#[test]
fn w4_counts_are_handed_out_within_a_minute() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    p.table.take_changes();
    assert_eq!(p.table.next_deadline(), Some(T0.plus_secs(60)));
    p.advance_secs(60);
    assert!(p
        .table
        .take_changes()
        .iter()
        .any(|c| matches!(c, Change::Usage(u) if u.grants == 1)));
}

#[test]
fn w4_flush_usage_hands_out_counts_before_their_minute() {
    let mut p = pool(1);
    p.take(BO, "a", WIN);
    p.table.take_changes();
    p.table.flush_usage(p.now);
    let flushed = p.table.take_changes();
    assert!(
        flushed
            .iter()
            .any(|c| matches!(c, Change::Usage(u) if u.grants == 1)),
        "{flushed:?}"
    );
    p.table.flush_usage(p.now);
    assert!(p.table.take_changes().is_empty(), "nothing new: no record");
    assert_eq!(
        p.table.next_deadline(),
        Some(T0.plus_secs(3_600)),
        "no minute due"
    );
}

// ----- persistence ---------------------------------------------------------------------------

#[test]
fn a_failed_commit_undoes_its_grants_and_keeps_its_releases() {
    let mut p = pool(2);
    let kept = p.take(BO, "a", WIN);
    p.table.take_changes();
    p.table.close(kept.id, BO, p.now).unwrap();
    let lost = p.take(CY, "c", WIN);
    let failed = p.table.take_changes();
    let mut retry = Vec::new();
    let undone = p.table.rollback(failed, &mut retry);
    assert_eq!(undone, vec![lost.id]);
    assert!(p.table.seat(lost.id).is_none());
    assert!(matches!(&retry[..], [Change::SeatRemoved(t), ..] if t.seat == kept.id));
    assert!(!retry.iter().any(|c| matches!(c, Change::SeatGranted(_))));
    assert!(
        retry
            .iter()
            .any(|c| matches!(c, Change::SeatRemoved(t) if t.seat == lost.id)),
        "the undone grant is removed from the store too, in case the failed commit landed"
    );
    assert_eq!(p.in_use(), 0);
    assert_eq!(p.heartbeat(&lost), Err(SeatError::NotFound));
    p.table.check_invariants();
}

#[test]
fn snapshot_and_changes_rebuild_the_same_table() {
    let mut p = pool(3);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, vec![license(3)]);
    let a = p.take(BO, "a", WIN);
    p.take(OWNER, "w", WIN);
    p.take(CY, "c", MAC);
    p.table.close(a.id, BO, p.now).unwrap();
    p.table.block(DI, p.now).unwrap();
    snapshot.apply(&p.table.take_changes());
    let mut mine = p.table.snapshot();
    mine.usage = None;
    snapshot.usage = None;
    assert_eq!(snapshot, mine);
}

#[test]
fn heartbeat_from_another_account_is_not_found() {
    let mut p = pool(1);
    let seat = p.take(BO, "a", WIN);
    assert_eq!(
        p.table.heartbeat(seat.id, CY, None, p.now),
        Err(SeatError::NotFound)
    );
    assert_eq!(
        p.table.heartbeat(SeatId(999), BO, None, p.now),
        Err(SeatError::NotFound)
    );
}

#[test]
fn time_never_goes_backwards_inside_the_table() {
    let mut p = pool(1);
    let seat = p.take(BO, "a", WIN);
    p.now = T0.plus_secs(100);
    p.heartbeat(&seat).unwrap();
    let earlier = T0.plus_secs(50);
    let hb = p.table.heartbeat(seat.id, BO, None, earlier).unwrap();
    assert_eq!(hb.expires_at, Some(T0.plus_secs(100 + 28_800)));
}

#[test]
fn next_deadline_follows_the_earliest_due_event() {
    let mut p = pool(2);
    assert_eq!(p.table.next_deadline(), None);
    let seat = p.take(BO, "a", WIN);
    p.table.take_changes();
    p.advance_secs(60); // usage flushed
    assert_eq!(p.table.next_deadline(), Some(T0.plus_millis(HOUR_MS)));
    p.table.update_settings(
        PoolSettings {
            timeout_s: 10,
            ..PoolSettings::default()
        },
        p.now,
    );
    p.heartbeat(&seat).unwrap();
    assert_eq!(p.table.next_deadline(), Some(p.now.plus_secs(10)));
}

// ----- edge cases found in review ------------------------------------------------------------

#[test]
fn s5_owner_desktop_closed_while_offline_stays_kept() {
    let mut p = pool(1);
    let seat = p.take(OWNER, "desk", WIN);
    let until = p.now.plus_secs(24 * 3_600);
    p.table
        .reserve_offline(seat.id, OWNER, until, p.now)
        .unwrap();
    assert_eq!(p.table.close(seat.id, OWNER, p.now), Ok(CloseOutcome::Kept));
    // The offline day ends, then a full heartbeat timeout passes with the app still closed.
    p.advance_secs(24 * 3_600 + 28_800 + 1);
    assert!(
        p.table.seat(seat.id).is_some(),
        "S5: the owner's kept desktop seat was freed by S4: {:?}",
        p.removed()
    );
}

#[test]
fn s5_kept_owner_seat_reserved_offline_stays_kept() {
    let mut p = pool(1);
    let seat = p.take(OWNER, "desk", WIN);
    assert_eq!(p.table.close(seat.id, OWNER, p.now), Ok(CloseOutcome::Kept));
    let until = p.now.plus_secs(3_600);
    p.table
        .reserve_offline(seat.id, OWNER, until, p.now)
        .unwrap();
    p.advance_secs(3_600 + 28_800 + 1);
    assert!(
        p.table.seat(seat.id).is_some(),
        "S5: the kept seat became subject to S4 after the offline period: {:?}",
        p.removed()
    );
}

#[test]
fn s10_s9_capacity_drop_skips_owner_desktops_that_free_nothing() {
    let end = T0.plus_secs(3_600);
    let mut p = pool_with(vec![license(1), expiring(1, end)], PoolSettings::default());
    let _d1 = p.take(OWNER, "d1", WIN);
    p.advance_secs(1);
    let web = p.take(OWNER, "browser", WEB);
    p.advance_secs(1);
    let _d2 = p.take(OWNER, "d2", MAC);
    assert_eq!(p.in_use(), 2); // d1+d2 share one seat, the web seat is the other
    p.table.take_changes();
    p.now = end;
    p.table.expire_due(end);
    assert_eq!(
        p.removed(),
        vec![(web.id, GoneReason::CapacityReduced)],
        "capacity 2 -> 1: one revocation is enough"
    );
}

#[test]
fn w1_s9_a_freed_half_seat_goes_to_the_waiting_owner_desktop() {
    let mut p = pool(2);
    p.take(OWNER, "d1", WIN);
    let d2 = p.take(OWNER, "d2", WIN);
    p.take(BO, "b", WIN);
    assert!(matches!(
        p.wait(CY, "c", 1, 600),
        AcquireOutcome::Queued { position: 1, .. }
    ));
    assert!(matches!(
        p.wait(OWNER, "d3", 2, 600),
        AcquireOutcome::Queued { position: 2, .. }
    ));
    p.table.logout(d2.id, OWNER, p.now).unwrap(); // frees the half seat d2 used
    assert_eq!(p.granted_waiters(), vec![WaiterId(2)], "d3 waited for it");
    assert_eq!(
        p.table.status().queue_length,
        1,
        "the member still waits for a full seat"
    );
    let newcomer = p.request(OWNER, "d4", WIN);
    assert!(
        !matches!(newcomer, AcquireOutcome::Granted { .. }),
        "no half seat is left for newcomer d4; notices {:?}",
        p.table.take_notices()
    );
}

#[test]
fn rollback_keeps_later_grants_not_yet_taken() {
    let mut p = pool(2);
    p.take(BO, "a", WIN);
    let failed = p.table.take_changes();
    let later = p.take(CY, "c", WIN); // its SeatGranted is still inside the table
    let mut retry = Vec::new();
    p.table.rollback(failed, &mut retry);
    assert!(
        p.table.seat(later.id).is_some(),
        "the later seat is still held"
    );
    retry.extend(p.table.take_changes());
    assert!(
        retry
            .iter()
            .any(|c| matches!(c, Change::SeatGranted(r) if r.id == later.id)),
        "the held seat's grant will never be persisted: {retry:?}"
    );
}

#[test]
fn s2_s3_devices_whose_hashes_collide_keep_their_own_seats() {
    let mut p = pool(5);
    p.table.collide_device_hashes();
    let a = p.take(BO, "laptop", WIN);
    let b = p.take(BO, "desktop", WIN);
    assert_ne!(a.id, b.id, "S3: another device is another seat");
    assert_eq!(
        p.take(BO, "desktop", WIN).id,
        b.id,
        "S2: the same device again"
    );
    // The first seat owned the index entry; when it goes, the second takes it over.
    p.table.logout(a.id, BO, p.now).unwrap();
    assert_eq!(p.take(BO, "desktop", WIN).id, b.id);
    let c = p.take(BO, "laptop", WIN);
    assert_ne!(c.id, a.id);
    p.table.check_invariants();
}

// ----- offline-file seats (issue 16) ---------------------------------------------------------

impl Pool {
    fn offline_file(
        &mut self,
        account: AccountId,
        device: &str,
        platform: Platform,
    ) -> AcquireOutcome {
        let out = self
            .table
            .take_offline_file(account, dev(device), platform, self.now);
        self.table.check_invariants();
        out
    }

    /// Takes an offline-file seat that must be granted as a new seat; returns it.
    fn file_seat(&mut self, account: AccountId, device: &str, platform: Platform) -> SeatView {
        match self.offline_file(account, device, platform) {
            AcquireOutcome::Granted {
                seat,
                reused: false,
            } => seat,
            other => {
                panic!("expected a new offline-file seat for {account}/{device}, got {other:?}")
            }
        }
    }

    fn file_refusal(&mut self, account: AccountId, device: &str, platform: Platform) -> Refusal {
        match self.offline_file(account, device, platform) {
            AcquireOutcome::Refused(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn updated(&mut self) -> Vec<SeatRecord> {
        self.table
            .take_changes()
            .into_iter()
            .filter_map(|c| match c {
                Change::SeatUpdated(rec) => Some(rec),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn s1_offline_file_seat_is_granted_within_capacity_and_never_waits() {
    let mut p = pool(2);
    let seat = p.file_seat(BO, "airgap", WIN);
    assert!(seat.offline_file);
    assert_eq!(seat.expires_at, None, "it needs no heartbeat");
    assert_eq!(seat.offline_until, None);
    let granted: Vec<SeatRecord> = p
        .table
        .take_changes()
        .into_iter()
        .filter_map(|c| match c {
            Change::SeatGranted(rec) => Some(rec),
            _ => None,
        })
        .collect();
    assert_eq!(granted.len(), 1);
    assert!(granted[0].offline_file, "persisted as an offline-file seat");
    assert_eq!(granted[0].deadline, None);
    p.take(CY, "pc", WIN);
    let refusal = p.file_refusal(DI, "airgap", WIN);
    assert_eq!(refusal.code(), "no_seat_available");
    assert_eq!(p.in_use(), 2);
    assert_eq!(p.table.status().queue_length, 0, "it never waits");
}

#[test]
fn w1_offline_file_seat_never_jumps_the_queue() {
    let mut p = pool(1);
    let held = p.take(BO, "a", WIN);
    assert!(matches!(
        p.wait(CY, "c", 1, 600),
        AcquireOutcome::Queued { .. }
    ));
    assert_eq!(
        p.file_refusal(DI, "airgap", WIN).code(),
        "no_seat_available"
    );
    p.table.close(held.id, BO, p.now).unwrap();
    assert_eq!(
        p.granted_waiters(),
        vec![WaiterId(1)],
        "the freed seat goes to the head"
    );
}

#[test]
fn s2_offline_file_makes_the_seat_held_on_that_device_an_offline_file_seat() {
    let mut p = pool(1);
    let running = p.take(BO, "laptop", WIN);
    p.advance_secs(60);
    p.table.take_changes();
    let converted = match p.offline_file(BO, "laptop", WIN) {
        AcquireOutcome::Granted { seat, reused } => {
            assert!(reused, "S2: the same seat");
            seat
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(converted.id, running.id);
    assert_eq!(converted.granted_at, running.granted_at, "not a newer seat");
    assert!(converted.offline_file);
    assert_eq!(converted.expires_at, None);
    let updated = p.updated();
    assert_eq!(updated.len(), 1, "the conversion is persisted");
    assert!(updated[0].offline_file);
    assert_eq!(updated[0].deadline, None);
    assert_eq!(p.in_use(), 1);
    // Taking it again, or starting the application on that device (S2), changes nothing.
    assert!(matches!(
        p.offline_file(BO, "laptop", WIN),
        AcquireOutcome::Granted { reused: true, .. }
    ));
    match p.request(BO, "laptop", WIN) {
        AcquireOutcome::Granted { seat, reused } => {
            assert!(reused);
            assert_eq!(seat, converted);
        }
        other => panic!("{other:?}"),
    }
    assert!(p.updated().is_empty());
    p.advance_secs(28_800 * 3);
    assert_eq!(p.in_use(), 1, "it never times out after a restart either");
}

#[test]
fn s2_offline_file_supersedes_an_offline_reservation() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    p.table
        .reserve_offline(seat.id, BO, p.now.plus_secs(3_600), p.now)
        .unwrap();
    let converted = match p.offline_file(BO, "laptop", WIN) {
        AcquireOutcome::Granted { seat, .. } => seat,
        other => panic!("{other:?}"),
    };
    assert_eq!(converted.offline_until, None);
    assert_eq!(converted.expires_at, None);
    p.advance_secs(3_600 + 28_800 + 1);
    assert_eq!(
        p.in_use(),
        1,
        "the reservation's end brings back no deadline"
    );
}

#[test]
fn s3_offline_file_on_another_device_takes_another_seat() {
    let mut p = pool(4);
    let online = p.take(BO, "laptop", WIN);
    let file = p.file_seat(BO, "airgap", WIN);
    let file_mac = p.file_seat(BO, "airgap", MAC);
    let other_account = p.file_seat(CY, "airgap", WIN);
    assert_ne!(online.id, file.id);
    assert_ne!(file.id, file_mac.id);
    assert_ne!(file.id, other_account.id);
    assert_eq!(
        p.file_refusal(DI, "airgap", WIN).code(),
        "no_seat_available"
    );
    assert_eq!(p.in_use(), 4);
    assert!(p.table.seat(online.id).is_some_and(|s| !s.offline_file));
}

#[test]
fn s9_owner_offline_file_desktops_count_two_to_a_seat() {
    let mut p = pool(1);
    let a = p.file_seat(OWNER, "desk-a", WIN);
    let b = p.file_seat(OWNER, "desk-b", MAC);
    assert_ne!(a.id, b.id);
    assert_eq!(p.in_use(), 1);
    assert_eq!(
        p.file_refusal(BO, "airgap", WIN).code(),
        "no_seat_available"
    );
}

#[test]
fn s10_a_blocked_member_cannot_take_an_offline_file_seat() {
    let mut p = pool(2);
    p.table.block(BO, p.now).unwrap();
    assert_eq!(p.file_refusal(BO, "airgap", WIN), Refusal::MemberBlocked);
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s12_offline_file_in_a_pool_without_live_licenses_says_why() {
    let mut p = pool_with(vec![], PoolSettings::default());
    assert_eq!(p.file_refusal(BO, "airgap", WIN), Refusal::NoLicense);
    let end = T0.plus_secs(60);
    let mut p = pool_with(vec![expiring(2, end)], PoolSettings::default());
    p.advance_secs(60);
    assert_eq!(p.file_refusal(BO, "airgap", WIN), Refusal::LicenseExpired);
}

#[test]
fn s11_offline_file_needs_every_live_license_permanent() {
    let end = T0.plus_secs(3_600);
    let mut p = pool_with(vec![license(2), expiring(2, end)], PoolSettings::default());
    let refusal = p.file_refusal(BO, "airgap", WIN);
    assert_eq!(refusal, Refusal::OfflineNeedsPermanentLicense);
    assert_eq!(refusal.code(), "offline_needs_permanent_license");
    // A held seat is not converted either.
    let seat = p.take(BO, "laptop", WIN);
    assert_eq!(
        p.file_refusal(BO, "laptop", WIN),
        Refusal::OfflineNeedsPermanentLicense
    );
    assert!(p.table.seat(seat.id).is_some_and(|s| !s.offline_file));
    assert_eq!(p.table.usage_now().refusals, 2, "W4: refusals are counted");
    // Once the expiring license is gone, only permanent ones are live.
    p.advance_secs(3_600);
    p.file_seat(BO, "airgap", WIN);
}

#[test]
fn s11_offline_file_is_refused_in_a_trial_pool() {
    let mut p = trial_pool(5);
    assert_eq!(
        p.file_refusal(OWNER, "airgap", WIN),
        Refusal::OfflineNeedsPermanentLicense
    );
    assert_eq!(p.days_left(), Some(5), "a refusal consumes no trial day");
    assert_eq!(p.in_use(), 0);
    // A permanent trial license (never issued that way) is refused too.
    let permanent_trial = License {
        trial: true,
        ..license(1)
    };
    let mut p = pool_with(vec![permanent_trial], PoolSettings::default());
    assert_eq!(
        p.file_refusal(OWNER, "airgap", WIN),
        Refusal::OfflineNeedsPermanentLicense
    );
}

#[test]
fn s11_offline_file_is_refused_for_the_web() {
    let mut p = pool(3);
    assert_eq!(
        p.file_refusal(BO, "browser", WEB),
        Refusal::OfflineNeedsPermanentLicense
    );
    let web = p.take(BO, "browser", WEB);
    assert_eq!(
        p.file_refusal(BO, "browser", WEB),
        Refusal::OfflineNeedsPermanentLicense
    );
    assert!(p.table.seat(web.id).is_some_and(|s| !s.offline_file));
    assert_eq!(p.in_use(), 1);
}

#[test]
fn s11_offline_file_seat_never_times_out() {
    let mut p = pool_with(
        vec![license(1)],
        PoolSettings {
            timeout_s: 60,
            ..PoolSettings::default()
        },
    );
    let seat = p.file_seat(BO, "airgap", WIN);
    for _ in 0..90 {
        p.advance_secs(DAY_SECS);
    }
    assert_eq!(p.in_use(), 1);
    let now = p.table.seat(seat.id).expect("still held");
    assert_eq!(now.expires_at, None);
    assert!(now.offline_file);
    assert!(p.removed().is_empty());
}

#[test]
fn s4_a_heartbeat_on_an_offline_file_seat_is_answered_and_changes_nothing() {
    let mut p = pool(1);
    let seat = p.file_seat(BO, "airgap", WIN);
    p.table.take_changes();
    p.advance_secs(3_600);
    for active in [None, Some(true), Some(false)] {
        let hb = p
            .table
            .heartbeat(seat.id, BO, active, p.now)
            .expect("answered");
        assert_eq!(hb, seat);
    }
    assert!(p.updated().is_empty());
    assert_eq!(p.table.seat(seat.id), Some(seat));
}

#[test]
fn s5_offline_file_seat_is_kept_on_close() {
    let mut p = pool(1);
    let member = p.file_seat(BO, "airgap", WIN);
    assert_eq!(p.table.close(member.id, BO, p.now), Ok(CloseOutcome::Kept));
    assert_eq!(p.table.close(member.id, BO, p.now), Ok(CloseOutcome::Kept));
    assert_eq!(p.table.seat(member.id), Some(member));
    assert!(p.removed().is_empty());
}

#[test]
fn s6_offline_file_seat_is_kept_on_logout() {
    let mut p = pool(2);
    let member = p.file_seat(BO, "airgap", WIN);
    let owner = p.file_seat(OWNER, "airgap", WIN);
    assert_eq!(p.table.logout(member.id, BO, p.now), Ok(CloseOutcome::Kept));
    assert_eq!(
        p.table.logout(owner.id, OWNER, p.now),
        Ok(CloseOutcome::Kept)
    );
    assert_eq!(p.in_use(), 2);
    assert!(p.removed().is_empty());
}

#[test]
fn s7_free_up_my_seats_skips_offline_file_seats() {
    let mut p = pool(3);
    let file = p.file_seat(BO, "airgap", WIN);
    let online = p.take(BO, "laptop", WIN);
    let web = p.take(BO, "browser", WEB);
    let mut released = p.table.release_all(BO, p.now);
    released.sort();
    let mut expected = vec![online.id, web.id];
    expected.sort();
    assert_eq!(released, expected, "the offline-file seat is not listed");
    assert_eq!(p.table.seats_of(BO), vec![file.clone()]);
    assert_eq!(p.table.release_all(BO, p.now), Vec::<SeatId>::new());
    assert_eq!(p.table.seat(file.id), Some(file));
}

#[test]
fn s11_reserve_offline_on_an_offline_file_seat_answers_it_as_it_is() {
    let mut p = pool(1);
    let seat = p.file_seat(BO, "airgap", WIN);
    p.table.take_changes();
    let answer = p
        .table
        .reserve_offline(seat.id, BO, p.now.plus_secs(3_600), p.now);
    assert_eq!(answer, Ok(seat.clone()));
    assert!(p.updated().is_empty());
    p.advance_secs(3_600 + 28_800 + 1);
    assert_eq!(p.table.seat(seat.id), Some(seat));
}

#[test]
fn w2_an_offline_file_seat_is_never_reclaimed_idle() {
    let mut p = pool_with(
        vec![license(2)],
        PoolSettings {
            idle_reclaim_s: Some(60),
            ..PoolSettings::default()
        },
    );
    let file = p.file_seat(BO, "airgap", WIN);
    // A seat that was idle-reclaimable before it became an offline-file seat is no more.
    let converted = p.take(CY, "laptop", WIN);
    p.advance_secs(30);
    assert!(matches!(
        p.offline_file(CY, "laptop", WIN),
        AcquireOutcome::Granted { reused: true, .. }
    ));
    p.advance_secs(3_600);
    assert!(matches!(
        p.wait(DI, "d", 1, 600),
        AcquireOutcome::Queued { .. }
    ));
    p.advance_secs(300);
    assert_eq!(p.in_use(), 2);
    assert!(p.table.seat(file.id).is_some());
    assert!(p.table.seat(converted.id).is_some());
    assert!(p.granted_waiters().is_empty());
}

#[test]
fn w3_admin_release_ends_an_offline_file_seat() {
    let mut p = pool(1);
    let seat = p.file_seat(BO, "airgap", WIN);
    assert_eq!(p.table.admin_release(seat.id, p.now), Ok(()));
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
    assert_eq!(p.in_use(), 0);
    p.file_seat(CY, "airgap", WIN);
}

#[test]
fn s10_blocking_a_member_ends_its_offline_file_seat() {
    let mut p = pool(2);
    let seat = p.file_seat(BO, "airgap", WIN);
    assert_eq!(p.table.block(BO, p.now), Ok(1));
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::MemberBlocked))
    );
    assert_eq!(p.in_use(), 0);
}

#[test]
fn i3_removing_a_member_ends_its_offline_file_seat() {
    let mut p = pool(2);
    let seat = p.file_seat(BO, "airgap", WIN);
    assert_eq!(p.table.remove_member(BO, p.now), Ok(1));
    assert_eq!(
        p.heartbeat(&seat),
        Err(SeatError::Gone(GoneReason::Revoked))
    );
    assert_eq!(p.in_use(), 0);
}

#[test]
fn s10_capacity_drop_revokes_offline_file_seats_last_newest_first() {
    let mut p = pool_with(vec![license(2), license(3)], PoolSettings::default());
    let member_file_old = p.file_seat(BO, "a", WIN);
    p.advance_secs(1);
    let member_online = p.take(CY, "c", WIN);
    p.advance_secs(1);
    let owner_online = p.take(OWNER, "web", WEB);
    p.advance_secs(1);
    let member_file_new = p.file_seat(DI, "d", WIN);
    p.advance_secs(1);
    let owner_file = p.file_seat(OWNER, "desk", WIN);
    assert_eq!(p.in_use(), 5);
    p.table.take_changes();
    p.table.set_licenses(vec![license(2)], p.now);
    assert_eq!(
        p.removed(),
        vec![
            (member_online.id, GoneReason::CapacityReduced),
            (owner_online.id, GoneReason::CapacityReduced),
            (member_file_new.id, GoneReason::CapacityReduced),
        ],
        "members' online seats, the owner's, then offline-file seats newest first"
    );
    p.table.set_licenses(vec![license(1)], p.now);
    assert_eq!(
        p.removed(),
        vec![(member_file_old.id, GoneReason::CapacityReduced)],
        "a member's offline-file seat before the owner's"
    );
    assert!(p.table.seat(owner_file.id).is_some());
    assert_eq!(
        p.heartbeat(&member_file_new),
        Err(SeatError::Gone(GoneReason::CapacityReduced))
    );
}

#[test]
fn s10_offline_file_seats_and_offline_reservations_share_the_last_group() {
    for file_first in [true, false] {
        let mut p = pool_with(vec![license(1), license(1)], PoolSettings::default());
        let (older, newer);
        if file_first {
            older = p.file_seat(BO, "a", WIN);
            p.advance_secs(1);
            newer = p.take(CY, "c", WIN);
            p.table
                .reserve_offline(newer.id, CY, p.now.plus_secs(3_600), p.now)
                .unwrap();
        } else {
            older = p.take(CY, "c", WIN);
            p.table
                .reserve_offline(older.id, CY, p.now.plus_secs(3_600), p.now)
                .unwrap();
            p.advance_secs(1);
            newer = p.file_seat(BO, "a", WIN);
        }
        p.table.take_changes();
        p.table.set_licenses(vec![license(1)], p.now);
        assert_eq!(
            p.removed(),
            vec![(newer.id, GoneReason::CapacityReduced)],
            "the most recent grant goes first (file first: {file_first})"
        );
        assert!(p.table.seat(older.id).is_some());
    }
}

#[test]
fn s10_an_expiring_license_added_later_ends_offline_file_seats_when_it_expires() {
    let mut p = pool(2);
    let old = p.file_seat(BO, "a", WIN);
    p.advance_secs(1);
    let new = p.file_seat(CY, "c", WIN);
    let end = p.now.plus_secs(3_600);
    p.table
        .set_licenses(vec![license(1), expiring(1, end)], p.now);
    p.table.take_changes();
    p.advance_secs(3_600);
    assert_eq!(p.removed(), vec![(new.id, GoneReason::CapacityReduced)]);
    assert!(p.table.seat(old.id).is_some());
}

#[test]
fn w4_an_offline_file_seat_counts_as_a_grant_and_a_conversion_does_not() {
    let mut p = pool(3);
    p.file_seat(BO, "airgap", WIN);
    p.take(CY, "laptop", WIN);
    p.offline_file(CY, "laptop", WIN);
    p.offline_file(CY, "laptop", WIN);
    p.file_refusal(DI, "browser", WEB);
    let usage = p.table.usage_now();
    assert_eq!((usage.grants, usage.refusals), (2, 1));
    assert_eq!(usage.peak_in_use, 2);
    assert_eq!(usage.accounts, vec![BO, CY]);
}

#[test]
fn s11_offline_file_seat_survives_a_snapshot_reload() {
    let mut p = pool(3);
    let mut snapshot = PoolSnapshot::new(PoolId(1), OWNER, vec![license(3)]);
    let file = p.file_seat(BO, "airgap", WIN);
    p.take(CY, "laptop", WIN);
    p.advance_secs(10);
    let converted = match p.offline_file(CY, "laptop", WIN) {
        AcquireOutcome::Granted { seat, .. } => seat,
        other => panic!("{other:?}"),
    };
    let online = p.take(DI, "pc", WIN);
    snapshot.apply(&p.table.take_changes());
    assert_eq!(
        snapshot.seats.iter().filter(|s| s.offline_file).count(),
        2,
        "both offline-file seats are persisted as such"
    );
    let mut mine = p.table.snapshot();
    mine.usage = None;
    snapshot.usage = None;
    assert_eq!(snapshot, mine);
    // Restored a month later: the offline-file seats are still there, the other expired.
    let later = p.now.plus_secs(30 * DAY_SECS);
    let mut restored = Pool {
        table: SeatTable::restore(snapshot, TableLimits::default(), later),
        now: later,
    };
    restored.table.check_invariants();
    assert_eq!(restored.table.seat(file.id), Some(file.clone()));
    assert_eq!(restored.table.seat(converted.id), Some(converted.clone()));
    assert!(restored.table.seat(online.id).is_none());
    assert_eq!(
        restored.table.close(file.id, BO, restored.now),
        Ok(CloseOutcome::Kept)
    );
    assert_eq!(restored.table.release_all(CY, restored.now), vec![]);
    restored.advance_secs(30 * DAY_SECS);
    assert_eq!(restored.in_use(), 2);
}

#[test]
fn an_offline_file_record_with_a_stray_deadline_is_restored_without_one() {
    let mut p = pool(1);
    let seat = p.file_seat(BO, "airgap", WIN);
    let mut snapshot = p.table.snapshot();
    snapshot.seats[0].deadline = Some(p.now.plus_secs(1));
    let later = p.now.plus_secs(DAY_SECS);
    let restored = SeatTable::restore(snapshot, TableLimits::default(), later);
    restored.check_invariants();
    assert_eq!(restored.seat(seat.id).map(|s| s.expires_at), Some(None));
}

#[test]
fn seat_records_written_before_offline_files_decode_as_ordinary_seats() {
    let mut p = pool(1);
    p.take(BO, "laptop", WIN);
    let rec = p.table.snapshot().seats.remove(0);
    let mut value = serde_json::to_value(&rec).expect("encodes");
    let fields = value
        .as_object_mut()
        .expect("a record is a map of named fields");
    assert_eq!(
        fields.remove("offline_file"),
        Some(serde_json::Value::Bool(false))
    );
    let old: SeatRecord = serde_json::from_value(value).expect("an old record decodes");
    assert_eq!(old, rec);
}

/// The history's events of the hour so far, as (account, device, code or seat).
fn history(p: &Pool) -> Vec<(AccountId, String, String)> {
    p.table
        .usage_now()
        .events
        .into_iter()
        .map(|e| {
            let what = match e.kind {
                crate::model::PoolEventKind::Granted { seat } => format!("seat {}", seat.0),
                crate::model::PoolEventKind::Refused { code } => code,
            };
            (e.account, e.device.to_string(), what)
        })
        .collect()
}

#[test]
fn w4_the_history_keeps_each_grant_and_refusal_with_who_and_why() {
    let mut p = pool(1);
    let seat = p.take(BO, "laptop", WIN);
    // S2: the same device again is no new grant.
    p.take(BO, "laptop", WIN);
    assert!(matches!(
        p.refusal(CY, "desk", MAC),
        Refusal::NoSeatAvailable(_)
    ));
    p.table.block(DI, p.now).expect("blocked");
    assert_eq!(p.refusal(DI, "tablet", WIN), Refusal::MemberBlocked);
    assert_eq!(
        history(&p),
        vec![
            (BO, "laptop".to_owned(), format!("seat {}", seat.id.0)),
            (CY, "desk".to_owned(), "no_seat_available".to_owned()),
            (DI, "tablet".to_owned(), "member_blocked".to_owned()),
        ]
    );
    let usage = p.table.usage_now();
    assert_eq!((usage.grants, usage.refusals), (1, 2));
}

#[test]
fn w1_w4_a_wait_that_ends_is_in_the_history_as_a_refusal() {
    let mut p = pool(1);
    p.take(BO, "laptop", WIN);
    assert!(matches!(
        p.wait(CY, "desk", 1, 30),
        AcquireOutcome::Queued { .. }
    ));
    assert!(
        history(&p).iter().all(|(a, _, _)| *a == BO),
        "queued, not refused"
    );
    p.advance_secs(31);
    let events = history(&p);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1],
        (CY, "desk".to_owned(), "no_seat_available".to_owned())
    );
}

#[test]
fn w4_a_grant_undone_by_a_failed_commit_leaves_no_event_in_the_history() {
    let mut p = pool(2);
    let kept = p.take(BO, "a", WIN);
    p.table.take_changes();
    let lost = p.take(CY, "c", WIN);
    p.table.flush_usage(p.now);
    let failed = p.table.take_changes();
    let granted = |changes: &[Change]| -> Vec<SeatId> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Usage(u) => Some(u.events.iter().filter_map(|e| match e.kind {
                    crate::model::PoolEventKind::Granted { seat } => Some(seat),
                    crate::model::PoolEventKind::Refused { .. } => None,
                })),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(granted(&failed), vec![kept.id, lost.id]);
    let mut retry = Vec::new();
    assert_eq!(p.table.rollback(failed, &mut retry), vec![lost.id]);
    assert_eq!(
        granted(&retry),
        vec![kept.id],
        "the grant taken back never happened"
    );
}
