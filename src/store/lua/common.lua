-- What both scripts share. KEYS[1] = {P}:sums, KEYS[2] = {P}:live (schema.ts names every key,
-- field prefix and separator used here).
local SUMS, LIVE = KEYS[1], KEYS[2]

-- The shortest of %.15g, %.16g, %.17g that reads back as exactly x (Lua's tostring keeps 14
-- digits; %.17g always round-trips but writes 0.1 as 0.10000000000000001).
local function fmt(x)
  local s = string.format('%.15g', x)
  if tonumber(s) ~= x then s = string.format('%.16g', x) end
  if tonumber(s) ~= x then s = string.format('%.17g', x) end
  return s
end

-- One Redis call per {{CHUNK}} arguments: unpack's C-stack limit is about 8,000.
local function chunks(cmd, key, list)
  for i = 1, #list, {{CHUNK}} do
    redis.call(cmd, key, unpack(list, i, math.min(i + {{CHUNK}} - 1, #list)))
  end
end

local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Every {P}:live value starts with the server ms it stops counting at.
local function expiry(v)
  return tonumber(string.match(v, '^%d+'))
end

-- A sums value: the server second of its last write (nil when it has none: written before
-- stamps) and the value itself.
local function unstamp(v)
  local p = string.find(v, {{SEP_STAMP}}, 1, true)
  if p and p > 1 and not string.find(string.sub(v, 1, p - 1), '%D') then
    return tonumber(string.sub(v, 1, p - 1)), string.sub(v, p + 1)
  end
  return nil, v
end

-- The series-count field a sums field counts against (~n<type><metric>), or nil for fields
-- that are no series of their own: layouts, native buckets (they go with their histogram
-- series), bookkeeping.
local function count_field(f)
  local t = string.sub(f, 1, 1)
  local cut
  if t == {{F_COUNTER}} or t == {{F_SUMMARY}} then
    cut = string.find(f, '[', 2, true)
  elseif t == {{F_HISTOGRAM}} then
    cut = string.find(f, {{SEP_LAYOUT}}, 2, true)
  end
  if cut then return {{F_SERIES_COUNT}} .. t .. string.sub(f, 2, cut - 1) end
  return nil
end
