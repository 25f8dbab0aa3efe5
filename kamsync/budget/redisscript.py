"""The shared ledger's one script on the Redis server: every decision that must be atomic across machines.

Redis runs a script alone, so settling the ledger, deciding and recording happen as one step, on the server's
clock (``TIME``): machines whose clocks disagree count alike. ``DECIDE`` mirrors ``budget.windows.grant`` (and
``earliest_send``) line by line; ``tests/test_redis_decide.py`` runs the same table through both.

Keys (one credential): ``log`` a sorted set of counted requests (member: who sent it, score: its arrival),
``pending`` the requests in flight (score: when granted), ``resv``/``resv_exp`` the reservations of priced runs
(remaining count / expiry), ``hold`` a wait Kameleoon imposed (``until``, ``reason``), ``meta`` how far back
arrivals are kept. ARGV[1] names the operation, ARGV[2..4] are the pending timeout and what to keep.

Numbers leave the script as strings (``%.17g``): Redis would truncate a Lua number to an integer.
"""

from __future__ import annotations

__all__ = ["DECIDE", "DECIDE_ONLY", "SCRIPT"]

DECIDE = r"""
local POLL = 0.02

local function earliest(arr, inflight, reserved, wins, quota, now, at)
  local e = now
  local n = #arr
  for i, w in ipairs(wins) do
    local total = n + inflight
    if i == quota then total = total + reserved end
    if total >= w[1] then
      local index = total - w[1] + 1
      local t = at
      if index <= n then t = arr[index] end
      if t + w[2] > e then e = t + w[2] end
    end
  end
  return e
end

local function decide(arr, inflight, reserved, wins, quota, now, not_before)
  local exact = earliest(arr, inflight, reserved, wins, quota, now, math.huge)
  if not_before and not_before > exact then exact = not_before end
  if exact <= now then return 0, false end
  local bound = earliest(arr, inflight, reserved, wins, quota, now, now)
  local imposed = false
  if not_before and not_before >= bound then
    bound = not_before
    imposed = true
  end
  local wait = bound - now
  if wait < POLL then wait = POLL end
  return wait, imposed
end

local function num(x)
  return string.format('%.17g', x)
end

local function parse_windows(spec)
  local wins = {}
  for limit, seconds in string.gmatch(spec, '([%d]+):([%d%.eE%+%-]+)') do
    table.insert(wins, {tonumber(limit), tonumber(seconds)})
  end
  return wins
end
"""

# The table test's entry point: the same ``decide`` on arguments instead of keys.
# ARGV: arrivals (comma list), in_flight, reserved, windows ("N:S,…"), quota (1-based), now, not_before or "".
DECIDE_ONLY = (
    DECIDE
    + r"""
local arr = {}
for t in string.gmatch(ARGV[1], '[^,]+') do table.insert(arr, tonumber(t)) end
table.sort(arr)
local nb = nil
if ARGV[7] ~= '' then nb = tonumber(ARGV[7]) end
local wait, imposed = decide(arr, tonumber(ARGV[2]), tonumber(ARGV[3]), parse_windows(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6]), nb)
return {num(wait), imposed and 1 or 0}
"""
)

SCRIPT = (
    DECIDE
    + r"""
local LOG, PENDING, RESV, RESV_EXP, HOLD, META = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
-- Redis before 5 replicates a script by its text unless told otherwise, and then refuses writes after TIME.
if redis.replicate_commands then redis.replicate_commands() end
local op = ARGV[1]
local timeout = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

local keep = math.max(tonumber(ARGV[3]), tonumber(redis.call('HGET', META, 'keep_seconds') or 0))
local keep_count = math.max(tonumber(ARGV[4]), tonumber(redis.call('HGET', META, 'keep_count') or 0))
redis.call('HMSET', META, 'keep_seconds', num(keep), 'keep_count', keep_count)

-- Settle: overdue requests count as arrived at their grant plus the timeout (later than the server can have
-- counted them: the safe side), old arrivals go, expired reservations and holds are forgotten.
local overdue = redis.call('ZRANGEBYSCORE', PENDING, '-inf', '(' .. num(now - timeout), 'WITHSCORES')
for i = 1, #overdue, 2 do
  redis.call('ZADD', LOG, num(tonumber(overdue[i + 1]) + timeout), overdue[i])
end
redis.call('ZREMRANGEBYSCORE', PENDING, '-inf', '(' .. num(now - timeout))
redis.call('ZREMRANGEBYSCORE', LOG, '-inf', num(now - keep))
redis.call('ZREMRANGEBYRANK', LOG, 0, -(keep_count + 1))
local expired = redis.call('ZRANGEBYSCORE', RESV_EXP, '-inf', num(now))
for _, id in ipairs(expired) do redis.call('HDEL', RESV, id) end
redis.call('ZREMRANGEBYSCORE', RESV_EXP, '-inf', num(now))
local until_ = tonumber(redis.call('HGET', HOLD, 'until') or '')
if until_ and until_ <= now then
  redis.call('DEL', HOLD)
  until_ = nil
end

local function reserved_by_others(own)
  local total = 0
  local all = redis.call('HGETALL', RESV)
  for i = 1, #all, 2 do
    if all[i] ~= own then total = total + tonumber(all[i + 1]) end
  end
  return total
end

local function touch()
  local ms = math.floor((keep + timeout) * 1000)
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ms) end
end

local result
if op == 'grant' then
  -- ARGV: 5 member, 6 reservation id (or ''), 7 windows "N:S,…", 8 quota window (1-based)
  local member, own, wins = ARGV[5], ARGV[6], parse_windows(ARGV[7])
  local longest = 0
  for _, w in ipairs(wins) do if w[2] > longest then longest = w[2] end end
  local raw = redis.call('ZRANGEBYSCORE', LOG, '(' .. num(now - longest), '+inf', 'WITHSCORES')
  local arr = {}
  for i = 2, #raw, 2 do table.insert(arr, tonumber(raw[i])) end
  local wait, imposed = decide(arr, redis.call('ZCARD', PENDING), reserved_by_others(own), wins,
    tonumber(ARGV[8]), now, until_)
  if wait <= 0 then
    redis.call('ZADD', PENDING, num(now), member)
    if own ~= '' and tonumber(redis.call('HGET', RESV, own) or 0) > 0 then
      redis.call('HINCRBY', RESV, own, -1)
    end
    result = {1, num(now)}
  else
    result = {0, num(wait), imposed and 1 or 0, redis.call('HGET', HOLD, 'reason') or ''}
  end
elseif op == 'settle' then
  -- ARGV: 5 member. A request already settled as overdue keeps the later of its two arrivals.
  local member = ARGV[5]
  redis.call('ZREM', PENDING, member)
  local before = tonumber(redis.call('ZSCORE', LOG, member) or '')
  local at = now
  if before and before > at then at = before end
  redis.call('ZADD', LOG, num(at), member)
  result = {1, num(now)}
elseif op == 'hold' then
  -- ARGV: 5 seconds to wait from now, 6 reason
  local wanted = now + tonumber(ARGV[5])
  if not until_ or wanted > until_ then
    redis.call('HMSET', HOLD, 'until', num(wanted), 'reason', ARGV[6])
    result = {1, num(now)}
  else
    result = {0, num(now)}
  end
elseif op == 'reserve' then
  -- ARGV: 5 reservation id, 6 requests, 7 ttl, 8 quota limit, 9 quota seconds. Fits as budget.pricing.quote
  -- decides: the requests counted in the quota window (in flight ones too) plus every reservation.
  local id, needed, ttl = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  local used = redis.call('ZCOUNT', LOG, '(' .. num(now - tonumber(ARGV[9])), '+inf')
    + redis.call('ZCARD', PENDING) + reserved_by_others('')
  if used + needed <= tonumber(ARGV[8]) then
    redis.call('HINCRBY', RESV, id, needed)
    redis.call('ZADD', RESV_EXP, num(now + ttl), id)
    result = {1, num(now), used}
  else
    result = {0, num(now), used}
  end
elseif op == 'renew' then
  -- ARGV: 5 reservation id, 6 ttl
  if redis.call('HEXISTS', RESV, ARGV[5]) == 1 then
    redis.call('ZADD', RESV_EXP, num(now + tonumber(ARGV[6])), ARGV[5])
    result = {1, num(now)}
  else
    result = {0, num(now)}
  end
elseif op == 'release' then
  redis.call('HDEL', RESV, ARGV[5])
  redis.call('ZREM', RESV_EXP, ARGV[5])
  result = {1, num(now)}
elseif op == 'view' then
  -- ARGV: 5 reservation id of the asking run (its own reservation is not "others'")
  local log = redis.call('ZRANGEBYSCORE', LOG, '-inf', '+inf', 'WITHSCORES')
  local pending = redis.call('ZRANGEBYSCORE', PENDING, '-inf', '+inf', 'WITHSCORES')
  local hold = {'', ''}
  if until_ then hold = {num(until_), redis.call('HGET', HOLD, 'reason') or ''} end
  result = {1, num(now), log, pending, reserved_by_others(ARGV[5]), hold[1], hold[2]}
elseif op == 'forget' then
  local reason = redis.call('HGET', HOLD, 'reason') or ''
  redis.call('DEL', HOLD)
  if until_ then result = {1, num(now), num(until_), reason} else result = {0, num(now)} end
else
  return redis.error_reply('kamsync ledger: unknown operation ' .. tostring(op))
end
touch()
return result
"""
)
