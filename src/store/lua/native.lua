-- The Redis side of native histograms, as Lua to paste into the flush script (Redis 7.0,
-- Lua 5.1; pure string and table code, no redis.call). It merges one flush's packed delta
-- (packed.ts) into the packed value of a hash field by the rule of mergePacked, so every
-- instance adds into one global histogram and Redis keeps it within max_buckets.
-- test/native/lua.test.ts runs both on the same inputs and expects identical strings.
--
--   local merged, err = native_merge(old, delta, max_buckets)
--     old: the field's current value, or nil/false when the field does not exist.
--     delta: the packed delta. max_buckets: the histogram's bucket cap (a number).
--     Returns the merged packed string, or nil and "bad native histogram: …" when either input
--     is malformed, the sum is not finite or a count passes 2^53: refuse the field then,
--     before any write.
--
-- Cost: parses both strings and rewrites the result, O(buckets) (a sort per side).
local native_fractions
local function native_fraction(schema, j)
  if not native_fractions then
    local t, f = { { 0.5 } }, 1.414213562373095
    for s = 1, 8 do
      local cur = {}
      for k, b in ipairs(t[s]) do cur[2 * k - 1], cur[2 * k] = b, b * f end
      t[s + 1], f = cur, math.sqrt(f)
    end
    native_fractions = t
  end
  return native_fractions[schema + 1][j + 1]
end

local function native_inside_zero(i, schema, zf, ze)
  if schema <= 0 then return i * 2 ^ -schema <= ze - 1 end
  local n = 2 ^ schema
  local e = math.floor(i / n) + 1
  return e < ze or (e == ze and native_fraction(schema, i - (e - 1) * n) <= zf)
end

local NATIVE_MAX, NATIVE_FLOAT, NATIVE_COUNT = 2 ^ 53, '^[%d%.eE%+%-]+$', '^%d+$'
local NATIVE_HEAD = { { 'schema', '^%-?%d+$', -4, 8 }, { 'zero threshold', NATIVE_FLOAT, 0, math.huge },
  { 'zero count', NATIVE_COUNT, 0, NATIVE_MAX }, { 'count', NATIVE_COUNT, 0, NATIVE_MAX },
  { 'sum', NATIVE_FLOAT, -math.huge, math.huge } }

local function native_parse(s)
  local tok, h = {}, { pos = {}, neg = {} }
  for t in string.gmatch(s, '[^ ]+') do tok[#tok + 1] = t end
  if #tok < 5 then return nil, 'too few fields' end
  for k, f in ipairs(NATIVE_HEAD) do
    local x = string.find(tok[k], f[2]) and tonumber(tok[k])
    if not x or not (x >= f[3] and x <= f[4]) or x == math.huge or x == -math.huge then
      return nil, f[1] .. ' "' .. tok[k] .. '"'
    end
    h[k] = x + 0
  end
  local low, high = math.ceil(-1074 * 2 ^ h[1]), math.ceil(1024 * 2 ^ h[1]) + 1
  for k = 6, #tok do
    local side, i, n = string.match(tok[k], '^([pn])(%-?%d+):(%d+)$')
    i, n = tonumber(i or ''), tonumber(n or '')
    if not side or i < low or i > high or n > NATIVE_MAX then return nil, 'bucket "' .. tok[k] .. '"' end
    local b = side == 'p' and h.pos or h.neg
    b[i] = (b[i] or 0) + n
  end
  return h
end

local function native_merge(old, delta, max_buckets)
  local d, err = native_parse(delta)
  local o
  if d and old then o, err = native_parse(old) end
  if not d or (old and not o) then return nil, 'bad native histogram: ' .. err end
  o = o or { d[1], d[2], 0, 0, 0, pos = {}, neg = {} }
  local schema, zt = math.min(d[1], o[1]), d[2] > o[2] and d[2] or o[2]
  local zero, count, sum = o[3] + d[3], o[4] + d[4], o[5] + d[5]
  local zf, ze
  if zt > 0 then zf, ze = math.frexp(zt) end
  local sides, buckets = { {}, {} }, 0
  for _, h in ipairs({ o, d }) do
    for s, from in ipairs({ h.pos, h.neg }) do
      for index, n in pairs(from) do
        local i = math.ceil(index / 2 ^ (h[1] - schema)) + 0
        if n == 0 then
        elseif zf and native_inside_zero(i, schema, zf, ze) then
          zero = zero + n
        else
          if not sides[s][i] then buckets = buckets + 1 end
          sides[s][i] = (sides[s][i] or 0) + n
        end
      end
    end
  end
  while buckets > max_buckets and schema > -4 do
    schema, buckets = schema - 1, 0
    for s = 1, 2 do
      local merged = {}
      for index, n in pairs(sides[s]) do
        local i = math.ceil(index / 2) + 0
        if not merged[i] then buckets = buckets + 1 end
        merged[i] = (merged[i] or 0) + n
      end
      sides[s] = merged
    end
  end
  if sum ~= sum or sum == math.huge or sum == -math.huge then return nil, 'bad native histogram: sum not finite' end
  if count > NATIVE_MAX or zero > NATIVE_MAX then return nil, 'bad native histogram: count too large' end
  local out = { string.format('%d %.17g %d %d %.17g', schema, zt, zero, count, sum) }
  for s, prefix in ipairs({ ' p', ' n' }) do
    local indices = {}
    for i in pairs(sides[s]) do indices[#indices + 1] = i end
    table.sort(indices)
    for _, i in ipairs(indices) do out[#out + 1] = string.format('%s%d:%d', prefix, i, sides[s][i]) end
  end
  return table.concat(out)
end
