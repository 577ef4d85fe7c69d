//! A3 with several nodes: failed-login counts per (email, address) in Redis, so that a load
//! balancer spreading attempts over the nodes gives no one more than the threshold. Each pair
//! is the hash `sb:{r}:lockout:<sha256 hex>` (`count`, and `until` once locked out),
//! forgotten a lockout period after its last failure. What the counts mean is
//! `auth::lockout`'s business.

use crate::auth::lockout::SharedLockouts;

use super::*;

fn lockout_key(key: &str) -> String {
    format!("{R}lockout:{key}")
}

impl SharedLockouts for RedisStore {
    fn locked_until(&self, key: &str) -> StoreFuture<'_, Result<Option<Timestamp>, StoreError>> {
        let mut get = redis::cmd("HGET");
        get.arg(lockout_key(key)).arg("until");
        Box::pin(async move {
            let until: Option<u64> = self.query("reading a lockout", get).await?;
            Ok(until.map(Timestamp))
        })
    }

    fn count_failure(
        &self,
        key: &str,
        now: Timestamp,
        threshold: u32,
        lockout_ms: u64,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        let key = lockout_key(key);
        Box::pin(async move {
            let reached: i64 = self
                .script(
                    "counting a failed login",
                    &Script::new(lua::COUNT_LOGIN_FAILURE),
                    &[key.as_str()],
                    &[
                        now.as_millis().to_string().as_bytes(),
                        threshold.to_string().as_bytes(),
                        lockout_ms.max(1).to_string().as_bytes(),
                    ],
                )
                .await?;
            Ok(reached == 1)
        })
    }

    fn clear(&self, key: &str) -> StoreFuture<'_, Result<(), StoreError>> {
        let mut del = redis::cmd("DEL");
        del.arg(lockout_key(key));
        Box::pin(async move {
            self.query::<i64>("clearing failed logins", del).await?;
            Ok(())
        })
    }
}
