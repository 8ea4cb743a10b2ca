-- The Redis side of native histograms, as Lua to paste into the flush script (Redis 7.0,
-- Lua 5.1; pure string and table code, no redis.call). It merges one flush's packed delta
-- (src/native/packed.ts: the format) into the packed value of a hash field by the rule of the
-- TypeScript model (test/native/merge-model.ts), so every instance adds into one global
-- histogram and Redis keeps it within max_buckets. test/native/lua.test.ts runs both on the
-- same inputs and expects identical strings or errors.
--
--   local merged, err = native_merge(old, delta, max_buckets)
--     old: the field's current value, or nil/false when the field does not exist.
--     delta: the packed delta. max_buckets: the histogram's bucket cap (a number).
--     Returns the merged packed string, or nil and "bad native histogram: …" when either input
--     is malformed, the sum is not finite or a count passes 2^53: refuse the field then,
--     before any write.
--
-- Cost: reads both strings a character at a time and writes the result, O(length) plus a sort
-- per side.
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

-- The packed format: self-delimiting numbers, a continuation digit (value 62–88 here: base 27,
-- most significant first) until a terminal one (0–61). Unsigned u = prefix·62 + t; signed
-- s = ±(prefix·31 + floor(t/2)), negative when t is odd. Every number is at most 2^53; the
-- comparisons below are exact for integers up to there (rounding is monotonic).
local NATIVE_MAX, NATIVE_DIGITS = 2 ^ 53,
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%'()*+,-./:;=?@[]^_`{|}~"
local native_value = {}
for k = 1, #NATIVE_DIGITS do native_value[string.byte(NATIVE_DIGITS, k)] = k - 1 end

local function native_number(v, signed)
  local base = signed and 31 or 62
  local m = v < 0 and -v or v
  local prefix = math.floor(m / base)
  local t = m - prefix * base
  if signed then t = 2 * t + (v < 0 and 1 or 0) end
  local out = string.sub(NATIVE_DIGITS, t + 1, t + 1)
  while prefix > 0 do
    local c = prefix % 27
    out = string.sub(NATIVE_DIGITS, 63 + c, 63 + c) .. out
    prefix = math.floor(prefix / 27)
  end
  return out
end

-- x = m·2^e with m odd (exact: frexp's fraction times 2^53 is an integer); 0 as "00".
local function native_float(x)
  if x == 0 then return '00' end
  local m, e = math.frexp(x)
  m, e = m * 2 ^ 53, e - 53
  while m % 2 == 0 do m, e = m / 2, e + 1 end
  return native_number(m, true) .. native_number(e, true)
end

-- { schema, zero threshold, zero count, count, sum, pos = {index = count}, neg = … }; raises an
-- error (native_merge catches it) at the first malformed number.
local function native_parse(s)
  local at = 1
  local function read(signed)
    local prefix = 0
    while true do
      local d = native_value[string.byte(s, at) or 0]
      if not d then error() end
      at = at + 1
      local base, t = 27, d - 62
      if d < 62 then base, t = signed and 31 or 62, signed and math.floor(d / 2) or d end
      if prefix * base > NATIVE_MAX - t then error() end
      prefix = prefix * base + t
      if d < 62 then return signed and d % 2 == 1 and -prefix or prefix end
    end
  end
  local function float()
    local m, e = read(true), read(true)
    local x = m * 2 ^ e
    if e < -1074 or e > 1023 or x ~= x or x == math.huge or x == -math.huge then error() end
    return x + 0
  end
  local h = { read(true), float(), read(), read(), float() }
  if h[1] < -4 or h[1] > 8 then error() end
  if h[2] < 0 then error() end
  local low, high = math.ceil(-1074 * 2 ^ h[1]), math.ceil(1024 * 2 ^ h[1]) + 1
  for _, side in ipairs({ 'pos', 'neg' }) do
    local b, i, n = {}, 0, 0
    h[side] = b
    for _ = 1, read() do
      i = i + read(true)
      for _ = 1, read() do
        local delta = read(true)
        if delta < -n or delta > NATIVE_MAX - n or i < low or i > high then error() end
        n = n + delta
        b[i] = (b[i] or 0) + n
        i = i + 1
      end
    end
  end
  if at <= #s then error() end
  return h
end

local function native_merge(old, delta, max_buckets)
  local ok, d = pcall(native_parse, delta)
  local o = ok and old
  if o then ok, o = pcall(native_parse, old) end
  if not ok then return nil, 'bad native histogram: malformed' end
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
  local out = { native_number(schema, true), native_float(zt), native_number(zero), native_number(count),
    native_float(sum) }
  for s = 1, 2 do
    -- Spans of ascending indices; a gap of one empty bucket stays inside a span (a zero count).
    local side, indices, spans, k, next_index, previous = sides[s], {}, 0, 1, 0, 0
    for i in pairs(side) do indices[#indices + 1] = i end
    table.sort(indices)
    local at = #out + 1
    out[at] = ''
    while indices[k] do
      local j = k
      while indices[j + 1] and indices[j + 1] - indices[j] <= 2 do j = j + 1 end
      out[#out + 1] = native_number(indices[k] - next_index, true) .. native_number(indices[j] - indices[k] + 1)
      for i = indices[k], indices[j] do
        local n = side[i] or 0
        if n > NATIVE_MAX then return nil, 'bad native histogram: count too large' end
        out[#out + 1] = native_number(n - previous, true)
        previous = n
      end
      spans, next_index, k = spans + 1, indices[j] + 1, j + 1
    end
    out[at] = native_number(spans)
  end
  return table.concat(out)
end
