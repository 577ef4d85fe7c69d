//! Several nodes: the account locks every node sees (`SharedLocks`), each the string
//! `sb:{r}:lock:<name>` holding its holder's random token, set with NX and an expiry, given
//! back only by its holder (a script compares the token). What is locked and why is the
//! service's business (`service::locks`).

use super::*;
use crate::store::SharedLocks;

/// Gives a lock back if the token still holds it. KEYS: lock. ARGV: token.
const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"#;

fn lock_key(name: &str) -> String {
    format!("{R}lock:{name}")
}

impl SharedLocks for RedisStore {
    fn try_lock(
        &self,
        name: &str,
        token: &str,
        ttl_ms: u64,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        let mut set = redis::cmd("SET");
        set.arg(lock_key(name))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms.max(1));
        Box::pin(async move {
            let taken: Option<String> = self.query("taking a lock", set).await?;
            Ok(taken.is_some())
        })
    }

    fn unlock(&self, name: &str, token: &str) -> StoreFuture<'_, Result<(), StoreError>> {
        let key = lock_key(name);
        let token = token.to_owned();
        Box::pin(async move {
            self.script::<i64>(
                "giving a lock back",
                &Script::new(UNLOCK),
                &[key.as_str()],
                &[token.as_bytes()],
            )
            .await?;
            Ok(())
        })
    }
}
