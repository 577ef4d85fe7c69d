//! The Lua scripts of the Redis store. Each runs atomically inside Redis, so a pool's commit is
//! all or nothing and its ownership epoch is checked in the same step that writes. Every key a
//! pool script touches is passed in `KEYS` and shares the pool's hash tag, so a script stays
//! inside one Redis Cluster slot. The service's scripts also build keys from what they read
//! (`ACCOUNT_BY_EMAIL`, `LICENSE_BY_KEY`, ...): those share the tag `{r}` with the script's
//! `KEYS`, so a Redis Cluster runs them on the one node of that slot. No logic of the seat
//! rules lives here: the scripts only apply the operations the Rust side encoded (see
//! `redis/mod.rs` for the layout).

/// Applies one pool's changes if the caller still owns the pool.
///
/// KEYS: pool, seats, tombstones, blocked, usage, usage_accounts, day_accounts, usage_hours,
/// usage_events.
/// ARGV: epoch, next seat id (20 digits, or ""), newest removal ms (or ""), tombstone
/// retention ms, tombstones kept, usage retention ms, then operations, each a letter and
/// its arguments:
/// `G id record` (a seat granted or updated), `R id entry` (a seat removed; `entry` is
/// the removal time as 20 digits followed by the `Tombstone`, appended to the tombstone
/// list, which is in the order of removal),
/// `B account` / `U account` (blocked / unblocked), `H hour day record n accounts... m
/// day_accounts... events` (usage counts of an hour; `events` the hour's events since its
/// previous record, or "" for none: the time of the first as 20 digits, then their
/// MessagePack list, added to `usage_events` scored by the hour, so a commit sent again
/// adds nothing twice), `L licenses`, `S settings`, `T trial`,
/// `N` (no trial).
/// Returns `ok`, `fenced` (a newer owner loaded the pool) or `missing` (no such pool).
pub const COMMIT: &str = r#"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return 'missing' end
if epoch ~= ARGV[1] then return 'fenced' end
if ARGV[2] ~= '' then
  local next = redis.call('HGET', KEYS[1], 'next_seat_id')
  if (not next) or next < ARGV[2] then
    redis.call('HSET', KEYS[1], 'next_seat_id', ARGV[2])
  end
end
local i = 7
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'G' then
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'R' then
    redis.call('HDEL', KEYS[2], ARGV[i + 1])
    redis.call('RPUSH', KEYS[3], ARGV[i + 2])
    i = i + 3
  elseif op == 'B' then
    redis.call('SADD', KEYS[4], ARGV[i + 1])
    i = i + 2
  elseif op == 'U' then
    redis.call('SREM', KEYS[4], ARGV[i + 1])
    i = i + 2
  elseif op == 'H' then
    local hour, day = ARGV[i + 1], ARGV[i + 2]
    redis.call('HSET', KEYS[5], hour, ARGV[i + 3])
    redis.call('ZADD', KEYS[8], hour, hour)
    local latest = redis.call('HGET', KEYS[1], 'usage_hour')
    if (not latest) or latest < hour then
      redis.call('HSET', KEYS[1], 'usage_hour', hour)
      -- A new hour: what is past the retention goes.
      local cutoff = tonumber(hour) - tonumber(ARGV[6])
      if cutoff > 0 then
        for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', '(' .. cutoff)) do
          redis.call('HDEL', KEYS[5], old)
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. cutoff)
        redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', '(' .. cutoff)
        redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. (cutoff - cutoff % 86400000))
        redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', '(' .. cutoff)
      end
    end
    local count = tonumber(ARGV[i + 4])
    i = i + 5
    for _ = 1, count do
      redis.call('ZADD', KEYS[6], hour, hour .. ':' .. ARGV[i])
      i = i + 1
    end
    count = tonumber(ARGV[i])
    i = i + 1
    for _ = 1, count do
      redis.call('ZADD', KEYS[7], day, day .. ':' .. ARGV[i])
      i = i + 1
    end
    if ARGV[i] ~= '' then redis.call('ZADD', KEYS[9], hour, ARGV[i]) end
    i = i + 1
  elseif op == 'L' then
    redis.call('HSET', KEYS[1], 'licenses', ARGV[i + 1])
    i = i + 2
  elseif op == 'S' then
    redis.call('HSET', KEYS[1], 'settings', ARGV[i + 1])
    i = i + 2
  elseif op == 'T' then
    redis.call('HSET', KEYS[1], 'trial', ARGV[i + 1])
    i = i + 2
  elseif op == 'N' then
    redis.call('HDEL', KEYS[1], 'trial')
    i = i + 1
  else
    return redis.error_reply('seatbroker: unknown operation ' .. tostring(op))
  end
end
if ARGV[3] ~= '' then
  -- The oldest first: those past the retention go, then all but the newest kept.
  local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[4])
  while cutoff > 0 do
    local oldest = redis.call('LINDEX', KEYS[3], 0)
    if (not oldest) or tonumber(string.sub(oldest, 1, 20)) >= cutoff then break end
    redis.call('LPOP', KEYS[3])
  end
  local kept = tonumber(ARGV[5])
  local held = redis.call('LLEN', KEYS[3])
  if held >= 2 * kept then
    redis.call('LTRIM', KEYS[3], held - kept, -1)
  end
end
return 'ok'
"#;

/// The usage records of the hours in a range. KEYS: usage, usage_hours, usage_accounts,
/// day_accounts, usage_events. ARGV: from (ms), to (ms, excluded), the start of from's day.
/// Returns `{hours, records, hour:account members, day:account members, event batches and
/// their hours, alternating}`.
pub const USAGE_RANGE: &str = r#"
local hours = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '(' .. ARGV[2])
local records = {}
for i, hour in ipairs(hours) do
  records[i] = redis.call('HGET', KEYS[1], hour) or ''
end
return {hours, records, redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[1], '(' .. ARGV[2]),
  redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[3], '(' .. ARGV[2]),
  redis.call('ZRANGEBYSCORE', KEYS[5], ARGV[1], '(' .. ARGV[2], 'WITHSCORES')}
"#;

/// Takes ownership of a pool (a new epoch) and reads everything needed to rebuild it.
///
/// KEYS: pool, seats, tombstones, blocked, usage, usage_accounts, day_accounts, usage_hours,
/// usage_events, lease. ARGV: the lease's holder (`node-id url`, or "" on a single node), lease ms.
/// With several nodes the load also takes the pool's lease, and is refused while another
/// node holds it: `{'owned', holder}`.
/// Returns `false` for an unknown pool, else `{epoch, owner, licenses, settings, trial or
/// false, next seat id, seats, tombstones, blocked, usage record or false, usage accounts,
/// day accounts}`.
pub const LOAD: &str = r#"
if ARGV[1] ~= '' then
  local held = redis.call('GET', KEYS[10])
  if held and held ~= ARGV[1] then return {'owned', held} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] ~= '' then redis.call('SET', KEYS[10], ARGV[1], 'PX', ARGV[2]) end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
-- Tombstones written before they were a list were a sorted set scored by removal time.
if redis.call('TYPE', KEYS[3]).ok == 'zset' then
  local old = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
  redis.call('DEL', KEYS[3])
  for j = 1, #old, 2 do
    local at = old[j + 1]
    redis.call('RPUSH', KEYS[3], string.rep('0', 20 - #at) .. at .. old[j])
  end
end
local f = redis.call('HMGET', KEYS[1], 'owner', 'licenses', 'settings', 'trial',
  'next_seat_id', 'usage_hour')
local usage, accounts, day_accounts = false, {}, {}
if f[6] then
  usage = redis.call('HGET', KEYS[5], f[6])
  accounts = redis.call('ZRANGEBYSCORE', KEYS[6], f[6], f[6])
  local day = tostring(tonumber(f[6]) - tonumber(f[6]) % 86400000)
  day_accounts = redis.call('ZRANGEBYSCORE', KEYS[7], day, day)
end
return {epoch, f[1], f[2], f[3], f[4], f[5], redis.call('HVALS', KEYS[2]),
  redis.call('LRANGE', KEYS[3], 0, -1), redis.call('SMEMBERS', KEYS[4]), usage, accounts,
  day_accounts}
"#;

/// Creates a pool unless it exists. KEYS: pool. ARGV: owner, licenses, settings, next seat
/// id, trial (or ""). Returns 1 when created, 0 when it existed.
pub const CREATE_POOL: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'licenses', ARGV[2], 'settings', ARGV[3],
  'next_seat_id', ARGV[4], 'epoch', 0)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'trial', ARGV[5]) end
return 1
"#;

/// Creates an account when its id and email are both unused.
/// KEYS: account, emails. ARGV: email key, account id, record.
/// Returns `ok`, `id_taken` or `email_taken`.
pub const CREATE_ACCOUNT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id_taken' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'email_taken' end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'ok'
"#;

/// The account with an email. KEYS: emails. ARGV: email key, prefix of account keys.
pub const ACCOUNT_BY_EMAIL: &str = r#"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('GET', ARGV[2] .. id)
"#;

/// Stores a license whose id and key are both unused.
/// KEYS: license, license_keys, license_holders, holdings of the holder (or any key).
/// ARGV: key bits, license id, record, holder (or "").
/// Returns 1 when stored, 0 when the id or key is taken.
pub const CREATE_LICENSE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[2])
end
return 1
"#;

/// The license with a key and its holder. KEYS: license_keys, license_holders.
/// ARGV: key bits, prefix of license keys. Returns false or `{record, holder or false}`.
pub const LICENSE_BY_KEY: &str = r#"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
local record = redis.call('GET', ARGV[2] .. id)
if not record then return false end
return {record, redis.call('HGET', KEYS[2], id)}
"#;

/// Makes an account the holder of a license unless another holds it (L3).
/// KEYS: license_keys, license_holders, holdings of the account.
/// ARGV: key bits, account, prefix of license keys.
/// Returns `{"unknown"}`, `{"other"}`, `{"mine", record}` or `{"claimed", record}`.
pub const CLAIM_LICENSE: &str = r#"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {'unknown'} end
local record = redis.call('GET', ARGV[3] .. id)
if not record then return {'unknown'} end
local holder = redis.call('HGET', KEYS[2], id)
if holder == ARGV[2] then return {'mine', record} end
if holder then return {'other'} end
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('ZADD', KEYS[3], id, id)
return {'claimed', record}
"#;

/// The licenses an account holds, in the order of their ids.
/// KEYS: holdings of the account. ARGV: prefix of license keys.
pub const LICENSES_OF: &str = r#"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then out[#out + 1] = record end
end
return out
"#;

/// Makes a code the pool's invite code, retiring its previous one (I1, I4).
/// KEYS: invites, pool_invites. ARGV: code, pool. Returns 1, or 0 when another pool has it.
pub const SET_INVITE: &str = r#"
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
local old = redis.call('HGET', KEYS[2], ARGV[2])
if old and old ~= ARGV[1] then redis.call('HDEL', KEYS[1], old) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1
"#;

/// Deletes a membership and its index entry. KEYS: members of the pool, member_of of the
/// account. ARGV: account, pool. Returns 1 when there was one.
pub const REMOVE_MEMBERSHIP: &str = r#"
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return removed
"#;

/// Several nodes: renews this node's lease on a pool. KEYS: lease, pool. ARGV: holder,
/// lease ms, the epoch this node loaded. A lease that lapsed is taken again only while no
/// other node loaded the pool since (the epoch is still ours). Returns 1 when held, else 0.
pub const RENEW_LEASE: &str = r#"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not held and redis.call('HGET', KEYS[2], 'epoch') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Several nodes: gives up this node's lease on a pool, unless the pool was loaded again
/// since (a newer epoch: this node took the lease again meanwhile). KEYS: lease, pool.
/// ARGV: holder, the epoch given up. Returns 1 when it was held, else 0.
pub const RELEASE_LEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1]
    and redis.call('HGET', KEYS[2], 'epoch') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// Replaces an account's record if it is still the one read. KEYS: account. ARGV: the
/// record as read, the new record. Returns 1 when written, 0 when it had changed.
pub const REPLACE_ACCOUNT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"#;

/// Deletes an account if its record is still the one read, and frees its email.
/// KEYS: the account, emails. ARGV: the record read, its email key, the account id.
pub const DELETE_ACCOUNT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1
"#;

/// Moves a license from one holder to another, if the first holds it (a support transfer).
/// KEYS: license_holders, holdings of the giver, holdings of the taker, the license.
/// ARGV: license id, giver, taker. Returns the license's record, or nil.
pub const TRANSFER_LICENSE: &str = r#"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
local record = redis.call('GET', KEYS[4])
if not record then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
return record
"#;

/// A4: voids an account's tokens issued before a time, unless a later time is stored.
/// KEYS: revocations. ARGV: account id, time (ms).
pub const REVOKE_TOKENS: &str = r#"
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > stored then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"#;

/// A3 with several nodes: counts a failed login. KEYS: the pair's counts. ARGV: now (ms),
/// threshold, lockout ms. Returns 1 for the failure that reached the threshold, else 0.
pub const COUNT_LOGIN_FAILURE: &str = r#"
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
if count >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'until', tonumber(ARGV[1]) + tonumber(ARGV[3]))
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if count == tonumber(ARGV[2]) then return 1 end
return 0
"#;

/// Issue 16: appends an entry to the audit log, a sorted set by time whose members are a
/// 20-digit sequence number and the entry, so equal times keep their order and no entry
/// replaces another. KEYS: audit, audit sequence. ARGV: time (ms), the entry's bytes.
pub const APPEND_AUDIT: &str = r#"
local n = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020d', n) .. ARGV[2])
return n
"#;
