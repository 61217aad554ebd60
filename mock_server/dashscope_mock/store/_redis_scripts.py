"""The Lua scripts of the Redis store (``store.redis``): every read-modify-write that must be atomic across
processes, in one round trip each.

JSON blobs stay opaque strings here (Lua's cjson would round floats); counters and versions are separate fields.
Scores, leases and times arrive as Python ``repr`` strings and are handed to Redis as they came, so that no float
goes through a Lua number (except the clock offset, formatted back with ``%.17g``, which round-trips a double).
Work items are ``state:limit:lane`` in the items hash, state ``w`` (waiting for a lane slot), ``r`` (ready) or
``c`` (claimed). A few key names (a lane's waiting list) are built inside the scripts from a prefix argument: fine
on one Redis server, not on Redis Cluster.
"""

from __future__ import annotations

import re

__all__ = [
    "ADD_ITEM",
    "ADD_TASK",
    "ADVANCE_CLOCK",
    "BEGIN_REQUEST",
    "CLAIM",
    "FINISH",
    "FIRE_FAULT",
    "HIT_RATE",
    "JOURNAL_AFTER",
    "PICK_FAULTS",
    "READ_CLOCK",
    "RECORD_JOURNAL",
    "RENEW",
    "REPLACE_TASK",
    "TAKE_SCENARIO",
]

# KEYS: task hash, all-tasks zset, key's zset, queue zset, work items, lane counters, ready list, lane's waiting list
# ARGV: task id, version, JSON, seq, TTL seconds, has work (1/0), lane, limit
ADD_TASK = """
local id = ARGV[1]
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
for i = 2, 4 do
  redis.call('ZADD', KEYS[i], ARGV[4], id)
  redis.call('EXPIRE', KEYS[i], ARGV[5])  -- an index outlives none of its tasks: refreshed by every add
end
if ARGV[6] ~= '1' then return 1 end
local lane, limit = ARGV[7], ARGV[8]
local waiting = lane ~= '' and tonumber(redis.call('HGET', KEYS[6], lane) or '0') >= tonumber(limit)
if waiting then
  redis.call('HSET', KEYS[5], id, 'w:' .. limit .. ':' .. lane)
  redis.call('RPUSH', KEYS[8], id)
  return 1
end
redis.call('HSET', KEYS[5], id, 'r:' .. limit .. ':' .. lane)
if lane ~= '' then redis.call('HINCRBY', KEYS[6], lane, 1) end
redis.call('RPUSH', KEYS[7], id)
return 1
"""

# KEYS: task hash. ARGV: expected version, new version, JSON (carrying the new version). HSET keeps the TTL.
REPLACE_TASK = """
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
return 1
"""

# KEYS: claimed zset (by lease end), owners hash, ready list, items hash. ARGV: owner, now, lease end.
CLAIM = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 1)
if #expired > 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], expired[1])
  redis.call('HSET', KEYS[2], expired[1], ARGV[1])
  return expired[1]
end
while true do
  local id = redis.call('LPOP', KEYS[3])
  if not id then return false end
  local item = redis.call('HGET', KEYS[4], id)
  -- the ready list may hold ids finished while ready: skipped here
  if item and string.sub(item, 1, 1) == 'r' then
    redis.call('HSET', KEYS[4], id, 'c' .. string.sub(item, 2))
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    redis.call('HSET', KEYS[2], id, ARGV[1])
    return id
  end
end
"""

# KEYS: claimed zset, owners hash. ARGV: owner, lease end, task ids...
RENEW = """
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
  end
end
return 1
"""

# KEYS: items hash, claimed zset, owners hash, lane counters, ready list. ARGV: task id, waiting-list key prefix.
FINISH = """
local id = ARGV[1]
local item = redis.call('HGET', KEYS[1], id)
if not item then return 0 end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
local state, lane = string.match(item, '^(%a):%d*:(.*)$')
-- a waiting item held no slot; its id is skipped when the lane's list reaches it
if state == 'w' or lane == '' then return 1 end
local waiting = ARGV[2] .. lane
local active = redis.call('HINCRBY', KEYS[4], lane, -1)
while true do
  local next_id = redis.call('LPOP', waiting)
  if not next_id then break end
  local following = redis.call('HGET', KEYS[1], next_id)
  if following and string.sub(following, 1, 1) == 'w' then
    redis.call('HSET', KEYS[1], next_id, 'r' .. string.sub(following, 2))
    active = redis.call('HINCRBY', KEYS[4], lane, 1)
    redis.call('RPUSH', KEYS[5], next_id)
    break
  end
end
if active <= 0 then redis.call('HDEL', KEYS[4], lane) end
return 1
"""

# KEYS: items hash (fields j:<id> JSON, counters beside), id counter. ARGV: JSON. The new id.
ADD_ITEM = """
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'j:' .. id, ARGV[1])
return id
"""

# KEYS: scenarios hash. ARGV: (id, JSON, times) per candidate, in order. The first candidate still stored (same
# JSON: not cleared and re-added under the same id) with uses left gets one more use: {id, used}, or nil.
TAKE_SCENARIO = """
for i = 1, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], 'j:' .. id) == ARGV[i + 1] then
    local used = tonumber(redis.call('HGET', KEYS[1], 'u:' .. id) or '0')
    if used < tonumber(ARGV[i + 2]) then
      return {id, redis.call('HINCRBY', KEYS[1], 'u:' .. id, 1)}
    end
  end
end
return false
"""

# KEYS: faults hash (j:<id> JSON, m:<id> matches, f:<id> firings). ARGV per candidate, in id order: id, JSON, kind,
# times ('' = unbounded), the match index Python expected, and whether its draw for that index fires (1/0).
# Returns {{id, fired, ...}} or, when another process matched a candidate in between (the draw was for the wrong
# index), {{id, fired, ...}, id, index} and stops there: Python draws for that index and goes on.
PICK_FAULTS = """
local chosen, fired = {}, {}
for i = 1, #ARGV, 6 do
  local id, kind = ARGV[i], ARGV[i + 2]
  if not chosen[kind] and redis.call('HGET', KEYS[1], 'j:' .. id) == ARGV[i + 1] then
    local times = tonumber(ARGV[i + 3])
    if times == nil or tonumber(redis.call('HGET', KEYS[1], 'f:' .. id) or '0') < times then
      local index = redis.call('HINCRBY', KEYS[1], 'm:' .. id, 1) - 1
      if index ~= tonumber(ARGV[i + 4]) then return {fired, id, index} end
      if ARGV[i + 5] == '1' then
        chosen[kind] = true
        fired[#fired + 1] = id
        fired[#fired + 1] = redis.call('HINCRBY', KEYS[1], 'f:' .. id, 1)
      end
    end
  end
end
return {fired}
"""

# KEYS: faults hash. ARGV: id, JSON, times ('' = unbounded). Counts one firing unless used up: the new count or nil.
FIRE_FAULT = """
if redis.call('HGET', KEYS[1], 'j:' .. ARGV[1]) ~= ARGV[2] then return false end
local times = tonumber(ARGV[3])
if times ~= nil and tonumber(redis.call('HGET', KEYS[1], 'f:' .. ARGV[1]) or '0') >= times then return false end
return redis.call('HINCRBY', KEYS[1], 'f:' .. ARGV[1], 1)
"""

# KEYS: seq counter, journal list[, a rate window]. ARGV: the entry's JSON object without its seq, max entries kept[,
# the member to take out of the window: a query's early rate hit (BEGIN_REQUEST) its handler never made]. The seq.
RECORD_JOURNAL = """
local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2))
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[3]) end
return seq
"""

# KEYS: seq counter, journal list. ARGV: a seq. The entries recorded after it (seqs are consecutive along the list,
# the newest last: the last `counter - seq` items), read in one step with the counter.
JOURNAL_AFTER = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
if count <= 0 then return {} end
return redis.call('LRANGE', KEYS[2], -count, -1)
"""

# KEYS: the key's window zset. ARGV: cutoff (events at or before it left the window), limit, now, a unique member,
# the zset's TTL in ms (renewed by every hit, refused ones too). 1 when counted.
HIT_RATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if redis.call('ZCARD', KEYS[1]) >= (tonumber(ARGV[2]) or math.huge) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

# KEYS: the offset. ARGV: seconds to add. A double's sum, as the memory store adds (INCRBYFLOAT would add in long
# double and print 17 decimals: 0.1 + 0.2 would read back 0.3); %.17g round-trips the double.
# The clock offset never goes backwards silently. KEYS: clock, re-seeded marker. ARGV: this process's floor (the
# latest offset it read or wrote). An absent offset is one Redis lost (clear() writes 0): the floor re-seeds it and
# the marker says so; while the marker stays (until a clear), a process that knew a later offset raises it to that.
READ_CLOCK = """
local value = redis.call('GET', KEYS[1])
if not value or (tonumber(value) < tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[2]) == 1) then
  if tonumber(ARGV[1]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1])
    redis.call('SET', KEYS[2], '1')
  end
  return ARGV[1]
end
return value
"""

# A request's first round trip: the clock offset (as READ_CLOCK), whether any fault is set, the queried task, the
# state's secret (it signs result links), and a task query's rate hit (as HIT_RATE) when the offset is still the
# floor (the `now` Python computed with it holds): 1 counted, 0 refused, -1 not tried.
# KEYS: clock, re-seeded marker, faults hash, task hash (the clock key again when none), secret, rate window (the
# clock key again when none). ARGV: floor, 1 with a task, then with a rate hit HIT_RATE's ARGV (else nothing).
BEGIN_REQUEST = (
    "local offset = (function()\n"
    + READ_CLOCK
    + "end)()\nlocal hit = -1\nif ARGV[3] and offset == ARGV[1] then hit = (function()\n"
    + re.sub(r"ARGV\[(\d)\]", lambda arg: f"ARGV[{int(arg[1]) + 2}]", HIT_RATE.replace("KEYS[1]", "KEYS[6]"))
    + """end)() end
local task = false
if ARGV[2] == '1' then task = redis.call('HGET', KEYS[4], 'd') end
return {offset, redis.call('HLEN', KEYS[3]), task, redis.call('GET', KEYS[5]), hit}
"""
)

# KEYS: clock, re-seeded marker. ARGV: seconds, this process's floor (as READ_CLOCK).
ADVANCE_CLOCK = """
local value = redis.call('GET', KEYS[1])
local base = tonumber(value or ARGV[2])
if not value or (base < tonumber(ARGV[2]) and redis.call('EXISTS', KEYS[2]) == 1) then
  base = tonumber(ARGV[2])
  if base > 0 then redis.call('SET', KEYS[2], '1') end
end
local text = string.format('%.17g', base + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], text)
return text
"""
