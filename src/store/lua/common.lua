-- What both scripts share. KEYS[1] = {P}:sums, KEYS[2] = {P}:live (see scripts.ts).
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
