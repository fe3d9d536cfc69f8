-- reserve.lua: admit one request against every counter it touches, atomically.
--
-- KEYS[1]       the request id's idempotency record
-- KEYS[2..n+1]  the counters, one per (limit kind, window, scope, value)
-- ARGV[1]       record TTL, ms
-- ARGV[2]       reservation time, Unix ms (kept in the record)
-- per counter i, from a = 3 + 4(i-1):
--   ARGV[a]     amount this request adds (decimal integer >= 0)
--   ARGV[a+1]   headroom: the limit minus the amount; the counter admits when it holds
--               no more than this. A leading '-' means the request alone is too big.
--   ARGV[a+2]   mode: hard, soft or shadow
--   ARGV[a+3]   counter TTL, ms (to the window's end plus slack)
--
-- Returns one of
--   {0, used_1..used_n, charged_1..charged_n}  admitted
--   {1, i, used_i}                             denied by hard counter i; nothing charged
--   {2, record}                                the request id was seen before
-- used values are the counters before this request, as strings; charged is the amount
-- charged or "-1" where a shadow limit would have denied.
--
-- Numbers stay decimal strings: Lua's numbers are doubles, exact only to 2^53, and money
-- is counted in picodollars. Redis does the int64 arithmetic (INCRBY); the script only
-- compares non-negative integers, which it does as strings.

-- exceeds reports whether the counter value v would go over headroom h.
local function exceeds(v, h)
  if string.byte(h, 1) == 45 then return true end -- '-': over on its own
  if #v ~= #h then return #v > #h end
  return v > h
end

local rec = redis.call('GET', KEYS[1])
if rec then
  return {2, rec}
end

local n = #KEYS - 1
local used = {}
for i = 1, n do
  local a = 3 + 4 * (i - 1)
  used[i] = redis.call('GET', KEYS[i + 1]) or false
  if ARGV[a + 2] == 'hard' and exceeds(used[i] or '0', ARGV[a + 1]) then
    return {1, i, used[i] or '0'}
  end
end

local out, charged = {0}, {}
for i = 1, n do
  local a = 3 + 4 * (i - 1)
  local v = used[i] or '0'
  if ARGV[a + 2] == 'shadow' and exceeds(v, ARGV[a + 1]) then
    charged[i] = '-1'
  else
    charged[i] = ARGV[a]
    if ARGV[a] ~= '0' then
      redis.call('INCRBY', KEYS[i + 1], ARGV[a])
      if not used[i] then
        redis.call('PEXPIRE', KEYS[i + 1], ARGV[a + 3])
      end
    end
  end
  out[i + 1] = v
  out[n + i + 1] = charged[i]
end
redis.call('SET', KEYS[1], 'r:' .. ARGV[2] .. ':' .. table.concat(charged, ','), 'PX', ARGV[1])
return out
