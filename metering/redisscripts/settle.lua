-- settle.lua: correct one reservation's counters from its estimate to the actual usage.
--
-- KEYS[1]            the request id's idempotency record
-- KEYS[2..n+1]       the counters in the reservation's windows
-- KEYS[n+2..2n+1]    the same counters in the current windows (equal keys while the
--                    reservation's window is still current)
-- ARGV[1]            record TTL, ms
-- per counter i, from a = 2 + 3(i-1):
--   ARGV[a]          what the reservation charged, as the caller knows it ("-1": nothing);
--                    used only when the record is gone (expired, or Reserve failed open)
--   ARGV[a+1]        the actual amount
--   ARGV[a+2]        current counter TTL, ms
--
-- The record's charged amounts win over the caller's: they are what was really charged,
-- even when the caller never saw Reserve's reply. A correction goes to the reservation's
-- window while it is current; once it has closed, an increase goes to the current window
-- and a decrease is dropped. Counters never go below zero. Settling twice does nothing.
-- Returns the number of counters changed.
--
-- As in reserve.lua, numbers stay strings; INCRBY and DECRBY do the arithmetic.

local function greater(x, y) -- non-negative decimal integers
  if #x ~= #y then return #x > #y end
  return x > y
end

local rec = redis.call('GET', KEYS[1])
if rec == 's' then
  return 0
end

local n = (#KEYS - 1) / 2
local charged = {}
if rec then
  local list = string.match(rec, '^r:%d+:(.*)$') or ''
  for c in string.gmatch(list, '[^,]+') do
    charged[#charged + 1] = c
  end
end
if #charged ~= n then
  charged = {}
  for i = 1, n do
    charged[i] = ARGV[2 + 3 * (i - 1)]
  end
end

local changed = 0
for i = 1, n do
  local a = 2 + 3 * (i - 1)
  local c, actual = charged[i], ARGV[a + 1]
  if c ~= '-1' and c ~= actual then
    local key
    if KEYS[1 + i] == KEYS[1 + n + i] then
      key = KEYS[1 + i]
    elseif greater(actual, c) then
      key = KEYS[1 + n + i]
    end
    if key then
      redis.call('SET', key, '0', 'PX', ARGV[a + 2], 'NX')
      redis.call('INCRBY', key, actual)
      if redis.call('DECRBY', key, c) < 0 then
        redis.call('SET', key, '0', 'KEEPTTL')
      end
      changed = changed + 1
    end
  end
end
redis.call('SET', KEYS[1], 's', 'PX', ARGV[1])
return changed
