//! Pools (L5, I5): who may see a pool and as what, the description of a pool a viewer may
//! see, creating an account's pool, and telling a pool's actor which licenses it has.

use seatbroker_actors::store::StoreError;
use seatbroker_actors::{AccountId, License, PoolId, PoolSettings, PoolSnapshot, PoolStatus};

use super::{AppState, ServiceError, ServiceResult};
use crate::cluster::bus::Change;
use crate::domain::ids::{owner_of, pool_of};
use crate::domain::license::LicenseKind;
use crate::domain::trial::pool_licenses;
use crate::store::{AccountRecord, LicenseRecord, MembershipRecord, PoolRecord};

/// How the caller stands to a pool.
#[derive(Debug, Clone)]
pub enum Access {
    /// The owner.
    Owner(PoolRecord),
    /// A member (active or blocked).
    Member(PoolRecord, MembershipRecord),
}

impl Access {
    /// The pool's record.
    pub fn record(&self) -> &PoolRecord {
        match self {
            Access::Owner(r) | Access::Member(r, _) => r,
        }
    }
}

/// A pool as one viewer may see it: the owner sees its licenses and settings too.
#[derive(Debug, Clone)]
pub struct PoolDetails {
    /// The service's record of the pool.
    pub record: PoolRecord,
    /// The owner's account.
    pub owner: AccountRecord,
    /// Capacity, seats in use, queue, from the pool's actor.
    pub status: PoolStatus,
    /// The pool's settings.
    pub settings: PoolSettings,
    /// The pool's licenses, for the owner only.
    pub licenses: Option<Vec<LicenseRecord>>,
}

/// How `viewer` stands to `pool`: `NotFound` for an unknown pool, `NotAMember` for strangers.
pub async fn access(state: &AppState, pool: PoolId, viewer: AccountId) -> ServiceResult<Access> {
    let record = state
        .accounts
        .pool(pool)
        .await?
        .ok_or(ServiceError::NotFound("pool"))?;
    if record.owner == viewer {
        return Ok(Access::Owner(record));
    }
    match state.accounts.membership(pool, viewer).await? {
        Some(m) => Ok(Access::Member(record, m)),
        None => Err(ServiceError::NotAMember),
    }
}

/// The owner's record of `pool`; `NotOwner` for a member.
pub async fn owned(state: &AppState, pool: PoolId, who: AccountId) -> ServiceResult<PoolRecord> {
    match access(state, pool, who).await? {
        Access::Owner(record) => Ok(record),
        Access::Member(..) => Err(ServiceError::NotOwner),
    }
}

/// The pool as `viewer` may see it. It reads only what is shown, so a node that served the
/// pool before answers it from memory while the store is down (R3): the pool's record and
/// the viewer's membership from `CachedRecords`, its owner and licenses as last read, its
/// status and settings from its actor.
pub async fn describe(
    state: &AppState,
    pool: PoolId,
    viewer: AccountId,
) -> ServiceResult<PoolDetails> {
    let access = access(state, pool, viewer).await?;
    let owner = state
        .accounts
        .account_to_show(access.record().owner)
        .await?
        .ok_or(ServiceError::NotFound("pool"))?;
    let description = state.engine.describe(pool).await?;
    let licenses = match &access {
        Access::Owner(record) => Some(pool_licenses(
            &state.accounts.licenses_to_show(owner_of(pool)).await?,
            record.kind,
        )),
        Access::Member(..) => None,
    };
    let record = match access {
        Access::Owner(r) | Access::Member(r, _) => r,
    };
    Ok(PoolDetails {
        record,
        owner,
        status: description.status,
        settings: description.settings,
        licenses,
    })
}

/// Creates the account's pool for licenses of `kind` (at its first activation or trial):
/// the service's record, and the engine's pool with the default settings. Repeating it after
/// a failure half-way is harmless.
pub async fn create(state: &AppState, owner: AccountId, kind: LicenseKind) -> ServiceResult<()> {
    let pool = pool_of(owner);
    state
        .accounts
        .put_pool(PoolRecord {
            pool,
            owner,
            kind,
            join_email_domain: None,
        })
        .await?;
    let mut snapshot = PoolSnapshot::new(pool, owner, Vec::new());
    snapshot.settings = PoolSettings {
        timeout_s: state.settings.seats.default_timeout_s,
        offline_max_days: state.settings.pools.default_offline_max_days,
        idle_reclaim_s: None,
    };
    match state.store.create_pool(snapshot).await {
        Ok(()) | Err(StoreError::PoolExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    state.account_pools.forget(owner);
    let changes = [Change::PoolRecord(pool), Change::AccountPools(owner)];
    super::tell_nodes(state, &changes).await;
    Ok(())
}

/// The engine's view of a license.
pub fn engine_license(rec: &LicenseRecord) -> License {
    License {
        id: rec.id,
        seats: rec.seats,
        expires_at: rec.expires_at,
        trial: rec.kind == LicenseKind::Trial,
    }
}

/// How often `tell_licenses` reads the licenses again to catch another node's activation.
const LICENSE_SETTLE_ROUNDS: usize = 4;

/// Tells `owner`'s pool (of `kind`) every license it holds of that kind: the pool's capacity
/// follows (L5). Idempotent, so a retry repairs a change cut off half-way. With several
/// nodes, another node may activate a license of the same owner at the same time and tell
/// the pool an older list after this one: so the licenses are read again after telling, and
/// told again until the store and the pool agree (licenses are only ever added, so this
/// settles at once in practice).
pub async fn tell_licenses(
    state: &AppState,
    owner: AccountId,
    held: &[LicenseRecord],
    kind: LicenseKind,
) -> ServiceResult<()> {
    let mut told: Vec<License> = pool_licenses(held, kind)
        .iter()
        .map(engine_license)
        .collect();
    for _ in 0..LICENSE_SETTLE_ROUNDS {
        state
            .engine
            .set_licenses(pool_of(owner), told.clone())
            .await?;
        if state.engine.cluster().is_none() {
            break;
        }
        let now: Vec<License> = pool_licenses(&state.accounts.licenses_of(owner).await?, kind)
            .iter()
            .map(engine_license)
            .collect();
        if now == told {
            break;
        }
        told = now;
    }
    Ok(())
}
