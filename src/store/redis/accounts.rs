//! The service's records in the Redis store (`AccountStore`): accounts, the signing key,
//! licenses, pool records, invitations, memberships, trials, sessions, token revocations and
//! one-time links, under the records' hash tag `{r}`.

use super::*;
use seatbroker_actors::LicenseId;

fn account_key(id: AccountId) -> String {
    format!("{R}account:{}", id.0)
}

fn license_key(id: seatbroker_actors::LicenseId) -> String {
    format!("{R}license:{}", id.0)
}

/// A license record with its holder filled in from `license_holders`.
fn with_holder(bytes: &[u8], holder: Option<u32>) -> Result<LicenseRecord, StoreError> {
    let mut license: LicenseRecord = decode(bytes)?;
    license.activated_by = holder.map(AccountId).or(license.activated_by);
    Ok(license)
}

/// The digits of the sequence number before each audit entry's bytes (`APPEND_AUDIT`).
const AUDIT_SEQ_DIGITS: usize = 20;

impl RedisStore {
    /// The account's stored bytes while they still decode to `before` (a compare-and-set's
    /// check). The bytes are compared in the script, not a fresh encoding of `before`: a
    /// record written by an older version may encode differently yet decode the same.
    async fn stored_account(
        &self,
        key: &str,
        before: &AccountRecord,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(key);
        let stored = self
            .query::<Option<Vec<u8>>>("reading an account", get)
            .await?;
        match stored {
            Some(bytes) if decode::<AccountRecord>(&bytes)? == *before => Ok(Some(bytes)),
            _ => Ok(None),
        }
    }
}

impl AccountStore for RedisStore {
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>> {
        Box::pin(async move {
            let key = account_key(account.id);
            let emails = format!("{R}emails");
            let answer: String = self
                .script(
                    "creating an account",
                    &self.scripts.create_account,
                    &[&key, &emails],
                    &[
                        account.email_key.as_bytes(),
                        account.id.0.to_string().as_bytes(),
                        &encode(&account)?,
                    ],
                )
                .await?;
            match answer.as_str() {
                "ok" => Ok(()),
                "id_taken" => Err(CreateAccountError::IdTaken),
                _ => Err(CreateAccountError::EmailTaken),
            }
        })
    }

    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(account_key(id));
            let found: Option<Vec<u8>> = self.query("reading an account", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(async move {
            let emails = format!("{R}emails");
            let prefix = format!("{R}account:");
            let found: Option<Vec<u8>> = self
                .script(
                    "reading an account",
                    &self.scripts.account_by_email,
                    &[&emails],
                    &[email_key.as_bytes(), prefix.as_bytes()],
                )
                .await?;
            let Some(bytes) = found else {
                return Ok(None);
            };
            // The emails hash holds the numeric id; the record is read through it.
            Ok(Some(decode(&bytes)?))
        })
    }

    fn secret(
        &self,
        name: &'static str,
        candidate: Vec<u8>,
    ) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        Box::pin(async move {
            let key = format!("{R}secret:{name}");
            let mut pipe = redis::pipe();
            pipe.cmd("SET").arg(&key).arg(candidate).arg("NX").ignore();
            pipe.cmd("GET").arg(&key);
            let mut conn = self.conn.clone();
            let (stored,): (Vec<u8>,) = self
                .run("reading a secret", async move {
                    pipe.query_async(&mut conn).await
                })
                .await?;
            Ok(stored)
        })
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let keys = [format!("{R}audit"), format!("{R}audit_seq")];
            self.script::<i64>(
                "appending to the audit log",
                &Script::new(lua::APPEND_AUDIT),
                &[keys[0].as_str(), keys[1].as_str()],
                &[
                    entry.at.as_millis().to_string().as_bytes(),
                    encode(&entry)?.as_slice(),
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> StoreFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZRANGEBYSCORE");
            cmd.arg(format!("{R}audit"))
                .arg(since.map_or(0, Timestamp::as_millis))
                .arg("+inf")
                .arg("LIMIT")
                .arg(0)
                .arg(limit);
            let members: Vec<Vec<u8>> = self.query("reading the audit log", cmd).await?;
            members
                .iter()
                .map(|m| decode::<AuditEntry>(m.get(AUDIT_SEQ_DIGITS..).unwrap_or_default()))
                .collect()
        })
    }

    fn replace_secret(
        &self,
        name: &'static str,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = format!("{R}secret:{name}");
            // The compare-and-set of accounts works on any string key.
            let written: i64 = self
                .script(
                    "replacing a secret",
                    &Script::new(lua::REPLACE_ACCOUNT),
                    &[key.as_str()],
                    &[before.as_slice(), after.as_slice()],
                )
                .await?;
            Ok(written == 1)
        })
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        Box::pin(async move {
            let key = license_key(license.id);
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let holdings = match license.activated_by {
                Some(holder) => format!("{R}holdings:{}", holder.0),
                None => format!("{R}holdings:none"),
            };
            let holder = license
                .activated_by
                .map(|a| a.0.to_string())
                .unwrap_or_default();
            let stored: i64 = self
                .script(
                    "storing a license",
                    &self.scripts.create_license,
                    &[&key, &keys, &holders, &holdings],
                    &[
                        license.key.to_string().as_bytes(),
                        license.id.0.to_string().as_bytes(),
                        &encode(&license)?,
                        holder.as_bytes(),
                    ],
                )
                .await?;
            if stored == 1 {
                Ok(())
            } else {
                Err(CreateLicenseError::Taken)
            }
        })
    }

    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let prefix = format!("{R}license:");
            let found: Option<(Vec<u8>, Option<u32>)> = self
                .script(
                    "reading a license",
                    &self.scripts.license_by_key,
                    &[&keys, &holders],
                    &[key.to_string().as_bytes(), prefix.as_bytes()],
                )
                .await?;
            found
                .map(|(bytes, holder)| with_holder(&bytes, holder))
                .transpose()
        })
    }

    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>> {
        Box::pin(async move {
            let keys = format!("{R}license_keys");
            let holders = format!("{R}license_holders");
            let holdings = format!("{R}holdings:{}", account.0);
            let prefix = format!("{R}license:");
            let answer: Vec<Vec<u8>> = self
                .script(
                    "claiming a license",
                    &self.scripts.claim_license,
                    &[&keys, &holders, &holdings],
                    &[
                        key.to_string().as_bytes(),
                        account.0.to_string().as_bytes(),
                        prefix.as_bytes(),
                    ],
                )
                .await?;
            match answer.as_slice() {
                [tag, record] if tag == b"mine" => {
                    Ok(Claim::AlreadyMine(with_holder(record, Some(account.0))?))
                }
                [tag, record] if tag == b"claimed" => {
                    Ok(Claim::Claimed(with_holder(record, Some(account.0))?))
                }
                [tag] if tag == b"other" => Ok(Claim::HeldByOther),
                _ => Ok(Claim::Unknown),
            }
        })
    }

    fn transfer_license(
        &self,
        id: LicenseId,
        from: AccountId,
        to: AccountId,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let holders = format!("{R}license_holders");
            let giver = format!("{R}holdings:{}", from.0);
            let taker = format!("{R}holdings:{}", to.0);
            let license = format!("{R}license:{}", id.0);
            let record: Option<Vec<u8>> = self
                .script(
                    "transferring a license",
                    &Script::new(lua::TRANSFER_LICENSE),
                    &[&holders, &giver, &taker, &license],
                    &[
                        id.0.to_string().as_bytes(),
                        from.0.to_string().as_bytes(),
                        to.0.to_string().as_bytes(),
                    ],
                )
                .await?;
            record
                .map(|bytes| with_holder(&bytes, Some(to.0)))
                .transpose()
        })
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        Box::pin(async move {
            let holdings = format!("{R}holdings:{}", account.0);
            let prefix = format!("{R}license:");
            let records: Vec<Vec<u8>> = self
                .script(
                    "listing licenses",
                    &self.scripts.licenses_of,
                    &[&holdings],
                    &[prefix.as_bytes()],
                )
                .await?;
            records
                .iter()
                .map(|r| with_holder(r, Some(account.0)))
                .collect()
        })
    }

    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{R}pool_record:{}", pool.pool.0))
                .arg(encode(&pool)?);
            self.query::<()>("writing a pool record", cmd).await
        })
    }

    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(format!("{R}pool_record:{}", pool.0));
            let found: Option<Vec<u8>> = self.query("reading a pool record", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let set: i64 = self
                .script(
                    "setting an invite code",
                    &self.scripts.set_invite,
                    &[&format!("{R}invites"), &format!("{R}pool_invites")],
                    &[code.to_string().as_bytes(), pool.0.to_string().as_bytes()],
                )
                .await?;
            Ok(set == 1)
        })
    }

    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}pool_invites")).arg(pool.0);
            self.query("reading an invite code", cmd).await
        })
    }

    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}invites")).arg(code);
            let pool: Option<u64> = self.query("reading an invite code", cmd).await?;
            Ok(pool.map(PoolId))
        })
    }

    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("HSET")
                .arg(format!("{R}members:{}", m.pool.0))
                .arg(m.account.0)
                .arg(encode(&m)?)
                .ignore();
            pipe.cmd("ZADD")
                .arg(format!("{R}member_of:{}", m.account.0))
                .arg(m.joined_at.as_millis())
                .arg(format!("{:016x}", m.pool.0))
                .ignore();
            let mut conn = self.conn.clone();
            self.run("writing a membership", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let removed: i64 = self
                .script(
                    "removing a membership",
                    &self.scripts.remove_membership,
                    &[
                        &format!("{R}members:{}", pool.0),
                        &format!("{R}member_of:{}", account.0),
                    ],
                    &[
                        account.0.to_string().as_bytes(),
                        format!("{:016x}", pool.0).as_bytes(),
                    ],
                )
                .await?;
            Ok(removed == 1)
        })
    }

    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGET");
            cmd.arg(format!("{R}members:{}", pool.0)).arg(account.0);
            let found: Option<Vec<u8>> = self.query("reading a membership", cmd).await?;
            found.as_deref().map(decode).transpose()
        })
    }

    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(format!("{R}member_of:{}", account.0))
                .arg(0)
                .arg(-1);
            let pools: Vec<String> = self.query("listing memberships", cmd).await?;
            if pools.is_empty() {
                return Ok(Vec::new());
            }
            let mut pipe = redis::pipe();
            for hex in &pools {
                let pool = u64::from_str_radix(hex, 16)
                    .map_err(|e| unavailable("a stored membership is unreadable", e))?;
                pipe.cmd("HGET")
                    .arg(format!("{R}members:{pool}"))
                    .arg(account.0);
            }
            let mut conn = self.conn.clone();
            let records: Vec<Option<Vec<u8>>> = self
                .run("listing memberships", async move {
                    pipe.query_async(&mut conn).await
                })
                .await?;
            records.iter().flatten().map(|r| decode(r)).collect()
        })
    }

    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HVALS");
            cmd.arg(format!("{R}members:{}", pool.0));
            let records: Vec<Vec<u8>> = self.query("listing members", cmd).await?;
            let mut out: Vec<MembershipRecord> = records
                .iter()
                .map(|r| decode(r))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|m| (m.joined_at, m.account));
            Ok(out)
        })
    }

    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZADD");
            cmd.arg(format!("{R}trials:{}", trial.account.0))
                .arg(trial.started_at.as_millis())
                .arg(encode(&trial)?);
            self.query::<()>("recording a trial", cmd).await
        })
    }

    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("ZRANGE");
            cmd.arg(format!("{R}trials:{}", account.0)).arg(0).arg(-1);
            let records: Vec<Vec<u8>> = self.query("listing trials", cmd).await?;
            let mut out: Vec<TrialRecord> = records
                .iter()
                .map(|r| decode(r))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|t| (t.started_at, t.license));
            Ok(out)
        })
    }

    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let id = hex_key(&session.key);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("SET")
                .arg(format!("{R}session:{id}"))
                .arg(encode(&session)?)
                .ignore();
            pipe.cmd("SADD")
                .arg(format!("{R}sessions_of:{}", session.account.0))
                .arg(&id)
                .ignore();
            let mut conn = self.conn.clone();
            self.run("writing a session", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(format!("{R}session:{}", hex_key(&key)));
            let raw: Option<Vec<u8>> = self.query("reading a session", cmd).await?;
            raw.map(|r| decode(&r)).transpose()
        })
    }

    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(session) = self.session(key).await? else {
                return Ok(());
            };
            let id = hex_key(&key);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("DEL").arg(format!("{R}session:{id}")).ignore();
            pipe.cmd("SREM")
                .arg(format!("{R}sessions_of:{}", session.account.0))
                .arg(&id)
                .ignore();
            let mut conn = self.conn.clone();
            self.run("ending a session", async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
        })
    }

    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            // One script, so a session written meanwhile is either ended or not yet listed.
            // Every key shares the records' hash tag, so the script stays on one slot.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local ids = redis.call('SMEMBERS', KEYS[1]) \
                 for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end \
                 redis.call('DEL', KEYS[1]) return #ids",
            )
            .arg(1)
            .arg(format!("{R}sessions_of:{}", account.0))
            .arg(format!("{R}session:"));
            let ended: i64 = self.query("ending an account's sessions", cmd).await?;
            Ok(usize::try_from(ended).unwrap_or(0))
        })
    }

    fn replace_account(
        &self,
        before: AccountRecord,
        after: AccountRecord,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = account_key(before.id);
            let Some(stored) = self.stored_account(&key, &before).await? else {
                return Ok(false);
            };
            let written: i64 = self
                .script(
                    "updating an account",
                    &Script::new(lua::REPLACE_ACCOUNT),
                    &[key.as_str()],
                    &[stored.as_slice(), &encode(&after)?],
                )
                .await?;
            Ok(written == 1)
        })
    }

    fn delete_account(&self, before: AccountRecord) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = account_key(before.id);
            let Some(stored) = self.stored_account(&key, &before).await? else {
                return Ok(false);
            };
            let emails = format!("{R}emails");
            let deleted: i64 = self
                .script(
                    "deleting an account",
                    &Script::new(lua::DELETE_ACCOUNT),
                    &[key.as_str(), emails.as_str()],
                    &[
                        stored.as_slice(),
                        before.email_key.as_bytes(),
                        before.id.0.to_string().as_bytes(),
                    ],
                )
                .await?;
            Ok(deleted == 1)
        })
    }

    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let key = format!("{R}revocations");
            self.script::<i64>(
                "revoking tokens",
                &Script::new(lua::REVOKE_TOKENS),
                &[key.as_str()],
                &[
                    account.0.to_string().as_bytes(),
                    before.as_millis().to_string().as_bytes(),
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn token_revocations(
        &self,
    ) -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("HGETALL");
            cmd.arg(format!("{R}revocations"));
            let all: Vec<(u32, u64)> = self.query("reading token revocations", cmd).await?;
            Ok(all
                .into_iter()
                .map(|(a, t)| (AccountId(a), Timestamp(t)))
                .collect())
        })
    }

    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            // The account's older link of this purpose ends with the new one's arrival. Every
            // key shares the records' hash tag, so the script stays on one slot.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local older = redis.call('GET', KEYS[1]) \
                 if older then redis.call('DEL', ARGV[1] .. older) end \
                 redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'PXAT', ARGV[4]) \
                 redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[4]) return 1",
            )
            .arg(1)
            .arg(format!(
                "{R}link_of:{}:{}",
                link.account.0,
                link.purpose.code()
            ))
            .arg(format!("{R}link:"))
            .arg(hex::encode(link.key))
            .arg(encode(&link)?)
            // Redis forgets the link when it expires.
            .arg(link.expires_at.as_millis().max(1));
            self.query::<()>("writing a link", cmd).await
        })
    }

    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "local v = redis.call('GET', KEYS[1]) \
                 if v then redis.call('DEL', KEYS[1]) end return v",
            )
            .arg(1)
            .arg(format!("{R}link:{}", hex::encode(key)));
            let raw: Option<Vec<u8>> = self.query("taking a link", cmd).await?;
            let Some(link) = raw.map(|r| decode::<LinkRecord>(&r)).transpose()? else {
                return Ok(None);
            };
            // The account's pointer to its live link goes too, unless a newer link replaced it.
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end \
                 return 1",
            )
            .arg(1)
            .arg(format!(
                "{R}link_of:{}:{}",
                link.account.0,
                link.purpose.code()
            ))
            .arg(hex::encode(key));
            self.query::<()>("ending a link", cmd).await?;
            Ok(Some(link))
        })
    }
}

/// A session key as Redis names it.
fn hex_key(key: &[u8; 32]) -> String {
    hex::encode(key)
}
