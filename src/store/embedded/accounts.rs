//! The service's records in the embedded store (`AccountStore`): accounts, the signing key,
//! licenses, pool records, invitations, memberships, trials, sessions, token revocations and
//! one-time links, each write a durable redb commit of its own.

use super::*;
use seatbroker_actors::LicenseId;

impl AccountStore for EmbeddedStore {
    fn create_account(
        &self,
        account: AccountRecord,
    ) -> StoreFuture<'_, Result<(), CreateAccountError>> {
        Box::pin(async move {
            self.blocking(move |db| {
                let tx = db
                    .begin_write()
                    .map_err(|e| unavailable("starting a transaction", e))?;
                {
                    let open = |e: redb::TableError| unavailable("opening a table", e);
                    let mut accounts = tx.open_table(ACCOUNTS).map_err(open)?;
                    let mut emails = tx.open_table(EMAILS).map_err(open)?;
                    let read = |e: redb::StorageError| unavailable("reading accounts", e);
                    if accounts.get(account.id.0).map_err(read)?.is_some() {
                        return Ok(Err(CreateAccountError::IdTaken));
                    }
                    if emails
                        .get(account.email_key.as_str())
                        .map_err(read)?
                        .is_some()
                    {
                        return Ok(Err(CreateAccountError::EmailTaken));
                    }
                    let write = |e: redb::StorageError| unavailable("writing an account", e);
                    accounts
                        .insert(account.id.0, encode(&account)?.as_slice())
                        .map_err(write)?;
                    emails
                        .insert(account.email_key.as_str(), account.id.0)
                        .map_err(write)?;
                }
                tx.commit()
                    .map_err(|e| unavailable("committing a transaction", e))?;
                Ok(Ok(()))
            })
            .await?
        })
    }

    fn account(&self, id: AccountId) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| read_account(db, id)))
    }

    fn account_by_email(
        &self,
        email_key: String,
    ) -> StoreFuture<'_, Result<Option<AccountRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let id = {
                let tx = read_tx(db)?;
                let emails = tx
                    .open_table(EMAILS)
                    .map_err(|e| unavailable("opening a table", e))?;
                let row = emails
                    .get(email_key.as_str())
                    .map_err(|e| unavailable("reading emails", e))?;
                row.map(|v| v.value())
            };
            match id {
                Some(id) => read_account(db, AccountId(id)),
                None => Ok(None),
            }
        }))
    }

    fn create_license(
        &self,
        license: LicenseRecord,
    ) -> StoreFuture<'_, Result<(), CreateLicenseError>> {
        Box::pin(async move {
            self.blocking(move |db| {
                write(db, |tx| {
                    let mut licenses = tx.open_table(LICENSES).map_err(open_err)?;
                    let mut keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
                    if licenses.get(license.id.0).map_err(io_err)?.is_some()
                        || keys.get(license.key).map_err(io_err)?.is_some()
                    {
                        return Ok(Err(CreateLicenseError::Taken));
                    }
                    licenses
                        .insert(license.id.0, encode(&license)?.as_slice())
                        .map_err(io_err)?;
                    keys.insert(license.key, license.id.0).map_err(io_err)?;
                    if let Some(holder) = license.activated_by {
                        tx.open_table(HOLDINGS)
                            .map_err(open_err)?
                            .insert((holder.0, license.id.0), ())
                            .map_err(io_err)?;
                    }
                    Ok(Ok(()))
                })
            })
            .await?
        })
    }

    fn license_by_key(
        &self,
        key: u128,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
            let Some(id) = keys.get(key).map_err(io_err)?.map(|v| v.value()) else {
                return Ok(None);
            };
            let licenses = tx.open_table(LICENSES).map_err(open_err)?;
            let row = licenses.get(id).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn claim_license(
        &self,
        key: u128,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Claim, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let keys = tx.open_table(LICENSE_KEYS).map_err(open_err)?;
                let Some(id) = keys.get(key).map_err(io_err)?.map(|v| v.value()) else {
                    return Ok(Claim::Unknown);
                };
                let mut licenses = tx.open_table(LICENSES).map_err(open_err)?;
                let row = licenses
                    .get(id)
                    .map_err(io_err)?
                    .map(|v| v.value().to_vec());
                let Some(bytes) = row else {
                    return Ok(Claim::Unknown);
                };
                let mut license: LicenseRecord = decode(&bytes)?;
                match license.activated_by {
                    Some(holder) if holder == account => Ok(Claim::AlreadyMine(license)),
                    Some(_) => Ok(Claim::HeldByOther),
                    None => {
                        license.activated_by = Some(account);
                        licenses
                            .insert(id, encode(&license)?.as_slice())
                            .map_err(io_err)?;
                        tx.open_table(HOLDINGS)
                            .map_err(open_err)?
                            .insert((account.0, id), ())
                            .map_err(io_err)?;
                        Ok(Claim::Claimed(license))
                    }
                }
            })
        }))
    }

    fn transfer_license(
        &self,
        id: LicenseId,
        from: AccountId,
        to: AccountId,
    ) -> StoreFuture<'_, Result<Option<LicenseRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut licenses = tx.open_table(LICENSES).map_err(open_err)?;
                let row = licenses
                    .get(id.0)
                    .map_err(io_err)?
                    .map(|v| v.value().to_vec());
                let Some(bytes) = row else {
                    return Ok(None);
                };
                let mut license: LicenseRecord = decode(&bytes)?;
                if license.activated_by != Some(from) {
                    return Ok(None);
                }
                license.activated_by = Some(to);
                licenses
                    .insert(id.0, encode(&license)?.as_slice())
                    .map_err(io_err)?;
                let mut holdings = tx.open_table(HOLDINGS).map_err(open_err)?;
                holdings.remove((from.0, id.0)).map_err(io_err)?;
                holdings.insert((to.0, id.0), ()).map_err(io_err)?;
                Ok(Some(license))
            })
        }))
    }

    fn licenses_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<LicenseRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let holdings = tx.open_table(HOLDINGS).map_err(open_err)?;
            let licenses = tx.open_table(LICENSES).map_err(open_err)?;
            let mut out = Vec::new();
            for entry in holdings
                .range((account.0, 0)..=(account.0, u32::MAX))
                .map_err(io_err)?
            {
                let (k, _) = entry.map_err(io_err)?;
                let (_, id) = k.value();
                if let Some(v) = licenses.get(id).map_err(io_err)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        }))
    }

    fn put_pool(&self, pool: PoolRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(POOL_RECORDS)
                    .map_err(open_err)?
                    .insert(pool.pool.0, encode(&pool)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn pool(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<PoolRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(POOL_RECORDS).map_err(open_err)?;
            let row = table.get(pool.0).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn set_invite(&self, pool: PoolId, code: u64) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut invites = tx.open_table(INVITES).map_err(open_err)?;
                let mut current = tx.open_table(POOL_INVITES).map_err(open_err)?;
                let holder = invites.get(code).map_err(io_err)?.map(|v| v.value());
                if holder.is_some_and(|p| p != pool.0) {
                    return Ok(false);
                }
                let old = current.get(pool.0).map_err(io_err)?.map(|v| v.value());
                if let Some(old) = old.filter(|o| *o != code) {
                    invites.remove(old).map_err(io_err)?;
                }
                invites.insert(code, pool.0).map_err(io_err)?;
                current.insert(pool.0, code).map_err(io_err)?;
                Ok(true)
            })
        }))
    }

    fn invite_of(&self, pool: PoolId) -> StoreFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(POOL_INVITES).map_err(open_err)?;
            let code = table.get(pool.0).map_err(io_err)?.map(|v| v.value());
            Ok(code)
        }))
    }

    fn invite_pool(&self, code: u64) -> StoreFuture<'_, Result<Option<PoolId>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(INVITES).map_err(open_err)?;
            let pool = table.get(code).map_err(io_err)?.map(|v| PoolId(v.value()));
            Ok(pool)
        }))
    }

    fn put_membership(&self, m: MembershipRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut members = tx.open_table(MEMBERS).map_err(open_err)?;
                let old: Option<MembershipRecord> = members
                    .get((m.pool.0, m.account.0))
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                let mut index = tx.open_table(MEMBER_OF).map_err(open_err)?;
                if let Some(old) = old {
                    index
                        .remove((old.account.0, old.joined_at.as_millis(), old.pool.0))
                        .map_err(io_err)?;
                }
                index
                    .insert((m.account.0, m.joined_at.as_millis(), m.pool.0), ())
                    .map_err(io_err)?;
                members
                    .insert((m.pool.0, m.account.0), encode(&m)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn remove_membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut members = tx.open_table(MEMBERS).map_err(open_err)?;
                let old: Option<MembershipRecord> = members
                    .remove((pool.0, account.0))
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                let Some(old) = old else {
                    return Ok(false);
                };
                tx.open_table(MEMBER_OF)
                    .map_err(open_err)?
                    .remove((account.0, old.joined_at.as_millis(), pool.0))
                    .map_err(io_err)?;
                Ok(true)
            })
        }))
    }

    fn membership(
        &self,
        pool: PoolId,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Option<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let row = members.get((pool.0, account.0)).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn memberships_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let index = tx.open_table(MEMBER_OF).map_err(open_err)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let mut out = Vec::new();
            for entry in index
                .range((account.0, 0, 0)..=(account.0, u64::MAX, u64::MAX))
                .map_err(io_err)?
            {
                let (k, _) = entry.map_err(io_err)?;
                let (_, _, pool) = k.value();
                if let Some(v) = members.get((pool, account.0)).map_err(io_err)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        }))
    }

    fn members_of(
        &self,
        pool: PoolId,
    ) -> StoreFuture<'_, Result<Vec<MembershipRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let members = tx.open_table(MEMBERS).map_err(open_err)?;
            let mut out: Vec<MembershipRecord> = members
                .range((pool.0, 0)..=(pool.0, u32::MAX))
                .map_err(io_err)?
                .map(|entry| entry.map_err(io_err).and_then(|(_, v)| decode(v.value())))
                .collect::<Result<_, _>>()?;
            out.sort_by_key(|m| (m.joined_at, m.account));
            Ok(out)
        }))
    }

    fn add_trial(&self, trial: TrialRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let key = (
                    trial.account.0,
                    trial.started_at.as_millis(),
                    trial.license.0,
                );
                tx.open_table(TRIALS)
                    .map_err(open_err)?
                    .insert(key, encode(&trial)?.as_slice())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn trials_of(
        &self,
        account: AccountId,
    ) -> StoreFuture<'_, Result<Vec<TrialRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let trials = tx.open_table(TRIALS).map_err(open_err)?;
            let found: Vec<TrialRecord> = trials
                .range((account.0, 0, 0)..=(account.0, u64::MAX, u32::MAX))
                .map_err(io_err)?
                .map(|entry| entry.map_err(io_err).and_then(|(_, v)| decode(v.value())))
                .collect::<Result<_, _>>()?;
            Ok(found)
        }))
    }

    fn put_session(&self, session: SessionRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                tx.open_table(SESSIONS)
                    .map_err(open_err)?
                    .insert(session.key.as_slice(), encode(&session)?.as_slice())
                    .map_err(io_err)?;
                tx.open_table(SESSIONS_OF)
                    .map_err(open_err)?
                    .insert((session.account.0, session.key.as_slice()), ())
                    .map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let sessions = tx.open_table(SESSIONS).map_err(open_err)?;
            let row = sessions.get(key.as_slice()).map_err(io_err)?;
            row.map(|v| decode(v.value())).transpose()
        }))
    }

    fn delete_session(&self, key: [u8; 32]) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut sessions = tx.open_table(SESSIONS).map_err(open_err)?;
                let old: Option<SessionRecord> = sessions
                    .remove(key.as_slice())
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                if let Some(old) = old {
                    tx.open_table(SESSIONS_OF)
                        .map_err(open_err)?
                        .remove((old.account.0, key.as_slice()))
                        .map_err(io_err)?;
                }
                Ok(())
            })
        }))
    }

    fn delete_sessions_of(&self, account: AccountId) -> StoreFuture<'_, Result<usize, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut index = tx.open_table(SESSIONS_OF).map_err(open_err)?;
                let keys: Vec<Vec<u8>> = index
                    .range((account.0, [].as_slice())..=(account.0, [0xFF; 33].as_slice()))
                    .map_err(io_err)?
                    .map(|entry| entry.map(|(k, _)| k.value().1.to_vec()).map_err(io_err))
                    .collect::<Result<_, _>>()?;
                let mut sessions = tx.open_table(SESSIONS).map_err(open_err)?;
                for key in &keys {
                    sessions.remove(key.as_slice()).map_err(io_err)?;
                    index.remove((account.0, key.as_slice())).map_err(io_err)?;
                }
                Ok(keys.len())
            })
        }))
    }

    fn replace_account(
        &self,
        before: AccountRecord,
        after: AccountRecord,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut accounts = tx.open_table(ACCOUNTS).map_err(open_err)?;
                if !is_stored(&accounts, &before)? {
                    return Ok(false);
                }
                accounts
                    .insert(after.id.0, encode(&after)?.as_slice())
                    .map_err(io_err)?;
                Ok(true)
            })
        }))
    }

    fn delete_account(&self, before: AccountRecord) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut accounts = tx.open_table(ACCOUNTS).map_err(open_err)?;
                if !is_stored(&accounts, &before)? {
                    return Ok(false);
                }
                accounts.remove(before.id.0).map_err(io_err)?;
                let mut emails = tx.open_table(EMAILS).map_err(open_err)?;
                let owner = emails
                    .get(before.email_key.as_str())
                    .map_err(io_err)?
                    .map(|v| v.value());
                if owner == Some(before.id.0) {
                    emails.remove(before.email_key.as_str()).map_err(io_err)?;
                }
                Ok(true)
            })
        }))
    }

    fn revoke_tokens(
        &self,
        account: AccountId,
        before: Timestamp,
    ) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut revocations = tx.open_table(REVOCATIONS).map_err(open_err)?;
                let stored = revocations
                    .get(account.0)
                    .map_err(io_err)?
                    .map(|v| v.value());
                if stored.is_none_or(|ms| ms < before.as_millis()) {
                    revocations
                        .insert(account.0, before.as_millis())
                        .map_err(io_err)?;
                }
                Ok(())
            })
        }))
    }

    fn token_revocations(
        &self,
    ) -> StoreFuture<'_, Result<Vec<(AccountId, Timestamp)>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = read_tx(db)?;
            let table = tx.open_table(REVOCATIONS).map_err(open_err)?;
            table
                .iter()
                .map_err(io_err)?
                .map(|entry| {
                    entry
                        .map(|(k, v)| (AccountId(k.value()), Timestamp(v.value())))
                        .map_err(io_err)
                })
                .collect()
        }))
    }

    fn put_link(&self, link: LinkRecord) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut links = tx.open_table(LINKS).map_err(open_err)?;
                let mut live = tx.open_table(LINK_OF).map_err(open_err)?;
                let slot = (link.account.0, link.purpose.code());
                let older: Option<Vec<u8>> =
                    live.get(slot).map_err(io_err)?.map(|v| v.value().to_vec());
                if let Some(older) = older {
                    links.remove(older.as_slice()).map_err(io_err)?;
                }
                links
                    .insert(link.key.as_slice(), encode(&link)?.as_slice())
                    .map_err(io_err)?;
                live.insert(slot, link.key.as_slice()).map_err(io_err)?;
                Ok(())
            })
        }))
    }

    fn take_link(&self, key: [u8; 32]) -> StoreFuture<'_, Result<Option<LinkRecord>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            write(db, |tx| {
                let mut links = tx.open_table(LINKS).map_err(open_err)?;
                let link: Option<LinkRecord> = links
                    .remove(key.as_slice())
                    .map_err(io_err)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                if let Some(link) = &link {
                    let mut live = tx.open_table(LINK_OF).map_err(open_err)?;
                    let slot = (link.account.0, link.purpose.code());
                    let points_here = live
                        .get(slot)
                        .map_err(io_err)?
                        .is_some_and(|v| v.value() == key.as_slice());
                    if points_here {
                        live.remove(slot).map_err(io_err)?;
                    }
                }
                Ok(link)
            })
        }))
    }

    fn secret(
        &self,
        name: &'static str,
        candidate: Vec<u8>,
    ) -> StoreFuture<'_, Result<Vec<u8>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = db
                .begin_write()
                .map_err(|e| unavailable("starting a transaction", e))?;
            let key = {
                let mut secrets = tx
                    .open_table(SECRETS)
                    .map_err(|e| unavailable("opening a table", e))?;
                let stored = secrets
                    .get(name)
                    .map_err(|e| unavailable("reading secrets", e))?
                    .map(|v| v.value().to_vec());
                match stored {
                    Some(key) => key,
                    None => {
                        secrets
                            .insert(name, candidate.as_slice())
                            .map_err(|e| unavailable("writing secrets", e))?;
                        candidate
                    }
                }
            };
            tx.commit()
                .map_err(|e| unavailable("committing a transaction", e))?;
            Ok(key)
        }))
    }

    fn append_audit(&self, entry: AuditEntry) -> StoreFuture<'_, Result<(), StoreError>> {
        Box::pin(self.blocking(move |db| {
            let bytes = encode(&entry)?;
            let tx = db
                .begin_write()
                .map_err(|e| unavailable("starting a transaction", e))?;
            {
                let mut audit = tx
                    .open_table(AUDIT)
                    .map_err(|e| unavailable("opening a table", e))?;
                // The count of entries so far makes every key unique, even for equal times.
                let n = redb::ReadableTableMetadata::len(&audit)
                    .map_err(|e| unavailable("reading the audit log", e))?;
                audit
                    .insert((entry.at.as_millis(), n), bytes.as_slice())
                    .map_err(|e| unavailable("writing the audit log", e))?;
            }
            tx.commit()
                .map_err(|e| unavailable("committing a transaction", e))
        }))
    }

    fn audit(
        &self,
        since: Option<Timestamp>,
        limit: usize,
    ) -> StoreFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = db
                .begin_read()
                .map_err(|e| unavailable("starting a transaction", e))?;
            let audit = tx
                .open_table(AUDIT)
                .map_err(|e| unavailable("opening a table", e))?;
            let from = (since.map_or(0, Timestamp::as_millis), 0u64);
            let mut out = Vec::new();
            for row in audit
                .range(from..)
                .map_err(|e| unavailable("reading the audit log", e))?
                .take(limit)
            {
                let (_, value) = row.map_err(|e| unavailable("reading the audit log", e))?;
                out.push(decode::<AuditEntry>(value.value())?);
            }
            Ok(out)
        }))
    }

    fn replace_secret(
        &self,
        name: &'static str,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> StoreFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.blocking(move |db| {
            let tx = db
                .begin_write()
                .map_err(|e| unavailable("starting a transaction", e))?;
            let replaced = {
                let mut secrets = tx
                    .open_table(SECRETS)
                    .map_err(|e| unavailable("opening a table", e))?;
                let current = secrets
                    .get(name)
                    .map_err(|e| unavailable("reading secrets", e))?
                    .is_some_and(|v| v.value() == before.as_slice());
                if current {
                    secrets
                        .insert(name, after.as_slice())
                        .map_err(|e| unavailable("writing secrets", e))?;
                }
                current
            };
            tx.commit()
                .map_err(|e| unavailable("committing a transaction", e))?;
            Ok(replaced)
        }))
    }
}

/// An account's record, read in a transaction of its own.
fn read_account(db: &Database, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
    let tx = read_tx(db)?;
    let accounts = tx
        .open_table(ACCOUNTS)
        .map_err(|e| unavailable("opening a table", e))?;
    let row = accounts
        .get(id.0)
        .map_err(|e| unavailable("reading accounts", e))?;
    row.map(|v| decode(v.value())).transpose()
}

/// Whether the account's stored record is still `before` (a compare-and-set's check).
fn is_stored(
    accounts: &redb::Table<'_, u32, &[u8]>,
    before: &AccountRecord,
) -> Result<bool, StoreError> {
    let stored: Option<AccountRecord> = accounts
        .get(before.id.0)
        .map_err(io_err)?
        .map(|v| decode(v.value()))
        .transpose()?;
    Ok(stored.as_ref() == Some(before))
}
