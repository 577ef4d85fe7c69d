//! Rule S8 across pools: in which order the service asks pools for a seat. The account's own
//! pool comes first, then the pools shared with it in the order it joined them; a client may
//! name one pool, and then only that one is tried. This is a pure function; trying the pools
//! (and stopping at the first grant) is the service's job.

use crate::ids::PoolId;

/// Why a requested pool cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolOrderError {
    /// The named pool is neither the account's own nor shared with it.
    #[error("not a member of pool {0}")]
    NotAMember(PoolId),
    /// The account owns no pool and is a member of none.
    #[error("no pool holds a license for this account")]
    NoPool,
}

/// The pools to try for a seat, in order (S8). `shared` lists the pools the account is an
/// active member of, in the order it joined them; `requested` is the pool the client named.
pub fn pool_order(
    own: Option<PoolId>,
    shared: &[PoolId],
    requested: Option<PoolId>,
) -> Result<Vec<PoolId>, PoolOrderError> {
    if let Some(pool) = requested {
        return if own == Some(pool) || shared.contains(&pool) {
            Ok(vec![pool])
        } else {
            Err(PoolOrderError::NotAMember(pool))
        };
    }
    let mut order = Vec::with_capacity(shared.len() + 1);
    order.extend(own);
    for pool in shared {
        if !order.contains(pool) {
            order.push(*pool);
        }
    }
    if order.is_empty() {
        return Err(PoolOrderError::NoPool);
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: PoolId = PoolId(1);
    const A: PoolId = PoolId(2);
    const B: PoolId = PoolId(3);

    #[test]
    fn s8_own_pool_first_then_shared_in_join_order() {
        assert_eq!(pool_order(Some(OWN), &[A, B], None), Ok(vec![OWN, A, B]));
        assert_eq!(pool_order(None, &[B, A], None), Ok(vec![B, A]));
    }

    #[test]
    fn s8_a_named_pool_is_the_only_one_tried() {
        assert_eq!(pool_order(Some(OWN), &[A, B], Some(B)), Ok(vec![B]));
        assert_eq!(pool_order(Some(OWN), &[A], Some(OWN)), Ok(vec![OWN]));
    }

    #[test]
    fn s8_a_named_pool_the_account_may_not_use_is_refused() {
        assert_eq!(
            pool_order(Some(OWN), &[A], Some(B)),
            Err(PoolOrderError::NotAMember(B))
        );
    }

    #[test]
    fn s8_no_pool_at_all_is_refused() {
        assert_eq!(pool_order(None, &[], None), Err(PoolOrderError::NoPool));
    }

    #[test]
    fn s8_a_pool_listed_twice_is_tried_once() {
        assert_eq!(pool_order(Some(OWN), &[OWN, A, A], None), Ok(vec![OWN, A]));
    }
}
